//! What [`diff`](crate::diff) returns: a list of changes, breaking first.

use std::fmt;

use serde_json::{Value, json};

/// Whether a change breaks clients built against the old schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// A client built against the old schema can fail against the new one.
    Breaking,
    /// Every client built against the old schema keeps working.
    Compatible,
}

impl Kind {
    /// `"breaking"` or `"compatible"`, as printed and in `--json` reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Breaking => "breaking",
            Self::Compatible => "compatible",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One difference between two schemas.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Change {
    /// Where it is, from the document's root: `routes."chat.send".input.text`.
    /// Names that are not plain identifiers are quoted; `[]` is an array's
    /// items, `[0]` a tuple's element, `[type="text"]` or `[Text]` the
    /// variant of a tagged enum, `.additionalProperties` a map's values.
    pub path: String,
    /// Whether it breaks existing clients.
    pub kind: Kind,
    /// What changed, in a few words: `maxLength lowered from 2000 to 100`.
    pub what: String,
}

impl fmt::Display for Change {
    /// `breaking: routes."chat.send".input.text: maxLength lowered from 2000 to 100`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.kind, self.path, self.what)
    }
}

/// Every change between two schemas, breaking ones first, each once.
///
/// Its [`Display`](fmt::Display) is one line per change and a summary line
/// (`2 breaking, 3 compatible changes`, or `no changes`), each ending in a
/// newline.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// The changes: breaking ones first, then compatible ones, each group in
    /// document order (protocol version, headers, routes, events).
    pub changes: Vec<Change>,
}

impl Report {
    /// Orders `changes` (breaking first, document order kept within each
    /// kind) and drops exact repeats.
    pub fn new(changes: Vec<Change>) -> Self {
        let mut seen = std::collections::HashSet::new();
        let mut changes: Vec<Change> = changes
            .into_iter()
            .filter(|change| seen.insert(change.clone()))
            .collect();
        changes.sort_by_key(|change| change.kind);
        Self { changes }
    }

    /// Whether any change breaks existing clients: the CLI then exits with 1.
    pub fn is_breaking(&self) -> bool {
        self.breaking() > 0
    }

    /// How many changes break existing clients.
    pub fn breaking(&self) -> usize {
        self.count(Kind::Breaking)
    }

    /// How many changes keep existing clients working.
    pub fn compatible(&self) -> usize {
        self.count(Kind::Compatible)
    }

    /// The machine-readable report the CLI prints with `--json`:
    /// `{"breaking": 1, "compatible": 0, "changes": [{"kind", "path", "what"}]}`.
    pub fn to_json(&self) -> Value {
        let changes: Vec<Value> = self
            .changes
            .iter()
            .map(|change| {
                json!({
                    "kind": change.kind.as_str(),
                    "path": change.path,
                    "what": change.what,
                })
            })
            .collect();
        json!({
            "breaking": self.breaking(),
            "compatible": self.compatible(),
            "changes": changes,
        })
    }

    fn count(&self, kind: Kind) -> usize {
        self.changes.iter().filter(|c| c.kind == kind).count()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for change in &self.changes {
            writeln!(f, "{change}")?;
        }
        if self.changes.is_empty() {
            return writeln!(f, "no changes");
        }
        let compatible = self.compatible();
        let plural = if compatible == 1 { "" } else { "s" };
        writeln!(
            f,
            "{} breaking, {compatible} compatible change{plural}",
            self.breaking()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(path: &str, kind: Kind, what: &str) -> Change {
        Change {
            path: path.into(),
            kind,
            what: what.into(),
        }
    }

    #[test]
    fn breaking_changes_come_first_and_repeats_are_dropped() {
        let report = Report::new(vec![
            change("a", Kind::Compatible, "x"),
            change("b", Kind::Breaking, "y"),
            change("a", Kind::Compatible, "x"),
            change("c", Kind::Breaking, "z"),
        ]);
        assert_eq!(
            report.to_string(),
            "breaking: b: y\nbreaking: c: z\ncompatible: a: x\n2 breaking, 1 compatible change\n"
        );
        assert!(report.is_breaking());
    }

    #[test]
    fn an_empty_report_says_no_changes() {
        let report = Report::new(Vec::new());
        assert_eq!(report.to_string(), "no changes\n");
        assert!(!report.is_breaking());
        assert_eq!(
            report.to_json(),
            json!({"breaking": 0, "compatible": 0, "changes": []})
        );
    }
}
