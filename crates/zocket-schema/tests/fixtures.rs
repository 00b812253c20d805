//! Every `tests/fixtures/<case>/` holds two versions of the chat example's
//! schema: the report from `old.json` to `new.json` must be exactly
//! `expected.txt`. `UPDATE_FIXTURES=1 cargo test -p zocket-schema --test
//! fixtures` rewrites the expected files instead; read every one of them
//! before committing it.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

fn cases() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut cases: Vec<PathBuf> = fs::read_dir(&root)
        .expect("tests/fixtures")
        .map(|entry| entry.expect("a fixture directory").path())
        .filter(|path| path.is_dir())
        .collect();
    cases.sort();
    cases
}

fn load(path: &Path) -> Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn name(case: &Path) -> String {
    case.file_name()
        .expect("a name")
        .to_string_lossy()
        .into_owned()
}

#[test]
fn every_fixture_reports_what_its_expected_file_says() {
    let update = std::env::var_os("UPDATE_FIXTURES").is_some_and(|value| value == "1");
    let cases = cases();
    assert!(cases.len() >= 15, "only {} fixtures", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let report =
            zocket_schema::diff(&load(&case.join("old.json")), &load(&case.join("new.json")));
        let rendered = report.to_string();
        let expected_file = case.join("expected.txt");
        if update {
            fs::write(&expected_file, &rendered).expect("expected.txt written");
            continue;
        }
        let expected = fs::read_to_string(&expected_file).unwrap_or_default();
        if rendered != expected {
            failures.push(format!(
                "{}:\n--- expected\n{expected}--- reported\n{rendered}",
                name(case)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} fixtures differ:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn a_schema_compared_with_itself_has_no_changes() {
    for case in cases() {
        for file in ["old.json", "new.json"] {
            let schema = load(&case.join(file));
            let report = zocket_schema::diff(&schema, &schema);
            assert!(
                report.changes.is_empty(),
                "{}/{file}:\n{report}",
                name(&case)
            );
        }
    }
}
