//! The `zocket-schema` binary: its report, its exit status (0 compatible,
//! 1 breaking, 2 cannot run) and its one-line errors.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn fixture(case: &str, file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(case)
        .join(file)
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zocket-schema"))
        .args(args)
        .output()
        .expect("zocket-schema runs")
}

fn diff(case: &str, extra: &[&str]) -> Output {
    let (old, new) = (fixture(case, "old.json"), fixture(case, "new.json"));
    let mut args = vec!["diff"];
    args.extend(extra);
    args.push(old.to_str().expect("a UTF-8 path"));
    args.push(new.to_str().expect("a UTF-8 path"));
    run(&args)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("UTF-8 output")
}

fn expected(case: &str) -> String {
    std::fs::read_to_string(fixture(case, "expected.txt")).expect("expected.txt")
}

#[test]
fn a_breaking_change_exits_with_1_and_prints_the_report() {
    let output = diff("input-string-length-narrowed", &[]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        text(&output.stdout),
        expected("input-string-length-narrowed")
    );
    assert!(output.stderr.is_empty());
}

#[test]
fn compatible_changes_exit_with_0_and_are_listed() {
    let output = diff("input-optional-field-added", &[]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(text(&output.stdout), expected("input-optional-field-added"));
}

#[test]
fn a_missing_file_exits_with_2_naming_it() {
    let old = fixture("identical", "old.json");
    let output = run(&[
        "diff",
        old.to_str().expect("a UTF-8 path"),
        "no-such-schema.json",
    ]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("no-such-schema.json"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(output.stdout.is_empty());
}

#[test]
fn a_file_that_is_not_json_exits_with_2_naming_it() {
    let not_json = fixture("identical", "expected.txt");
    let old = fixture("identical", "old.json");
    let output = run(&[
        "diff",
        old.to_str().expect("a UTF-8 path"),
        not_json.to_str().expect("a UTF-8 path"),
    ]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("expected.txt is not valid JSON"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn json_reports_count_and_list_the_changes() {
    let output = diff("output-enum-value-added", &["--json"]);
    assert_eq!(output.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&output.stdout).expect("a JSON report");
    assert_eq!(report["breaking"], 1);
    assert_eq!(report["compatible"], 1);
    assert_eq!(
        report["changes"][0],
        serde_json::json!({
            "kind": "breaking",
            "path": "events.\"chat.message\".payload.kind",
            "what": "enum value \"image\" added",
        })
    );
}

#[test]
fn bad_arguments_exit_with_2_and_help_with_0() {
    for args in [
        &[][..],
        &["diff"],
        &["diff", "a.json"],
        &["merge", "a.json", "b.json"],
        &["diff", "--yaml", "a", "b"],
    ] {
        let output = run(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert_eq!(text(&output.stderr).lines().count(), 1, "{args:?}");
    }
    let help = run(&["--help"]);
    assert_eq!(help.status.code(), Some(0));
    assert!(text(&help.stdout).contains("zocket-schema diff"));
}

#[test]
fn a_dash_reads_the_new_schema_from_standard_input() {
    let old = fixture("route-removed", "old.json");
    let new = std::fs::read(fixture("route-removed", "new.json")).expect("new.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_zocket-schema"))
        .args(["diff", old.to_str().expect("a UTF-8 path"), "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("zocket-schema runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&new)
        .expect("schema written");
    let output = child.wait_with_output().expect("zocket-schema ends");
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(text(&output.stdout), expected("route-removed"));
}
