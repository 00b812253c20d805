//! The keywords of one schema level: types, values, bounds, `pattern`,
//! `format`, `default`, docs, and any keyword this tool does not know.

use std::collections::BTreeSet;

use serde_json::Value;

use super::node::Node;
use super::{Comparer, Direction, Effect};
use crate::report::Kind;

/// Keywords compared elsewhere (or deliberately not at all).
const HANDLED: &[&str] = &[
    "$ref",
    "$schema",
    "$id",
    "$defs",
    "definitions",
    "type",
    "enum",
    "const",
    "anyOf",
    "oneOf",
    "allOf",
    "properties",
    "required",
    "additionalProperties",
    "unevaluatedProperties",
    "items",
    "additionalItems",
    "prefixItems",
    "uniqueItems",
    "pattern",
    "format",
    "default",
];

/// Keywords that only document: a change to one is compatible.
const DOCS: &[&str] = &[
    "description",
    "title",
    "$comment",
    "examples",
    "deprecated",
    "readOnly",
    "writeOnly",
];

/// Bounds that reject more as they rise.
const LOWER_BOUNDS: &[&str] = &[
    "minimum",
    "exclusiveMinimum",
    "minLength",
    "minItems",
    "minProperties",
];

/// Bounds that reject more as they fall.
const UPPER_BOUNDS: &[&str] = &[
    "maximum",
    "exclusiveMaximum",
    "maxLength",
    "maxItems",
    "maxProperties",
];

/// The integer formats schemars writes, with the range each allows.
const INTEGER_FORMATS: &[(&str, f64, f64)] = &[
    ("int8", -128.0, 127.0),
    ("int16", -32_768.0, 32_767.0),
    ("int32", -2_147_483_648.0, 2_147_483_647.0),
    ("int64", -9.223_372_036_854_776e18, 9.223_372_036_854_776e18),
    ("int", -9.223_372_036_854_776e18, 9.223_372_036_854_776e18),
    (
        "int128",
        -1.701_411_834_604_692_3e38,
        1.701_411_834_604_692_3e38,
    ),
    ("uint8", 0.0, 255.0),
    ("uint16", 0.0, 65_535.0),
    ("uint32", 0.0, 4_294_967_295.0),
    ("uint64", 0.0, 1.844_674_407_370_955_2e19),
    ("uint", 0.0, 1.844_674_407_370_955_2e19),
    ("uint128", 0.0, 3.402_823_669_209_385e38),
    // Floats: a `float` fits in a `double`.
    ("float", -3.402_823_5e38, 3.402_823_5e38),
    ("double", f64::MIN, f64::MAX),
];

impl<'a> Comparer<'a> {
    /// Compares `type` (and `null`); false when the two have no type in
    /// common, so nothing else about them is worth comparing.
    pub(super) fn types(
        &mut self,
        old: &Node<'a>,
        new: &Node<'a>,
        path: &str,
        direction: Direction,
    ) -> bool {
        let (old_types, new_types) = match (&old.types, &new.types) {
            (None, None) => return true,
            (None, Some(_)) => {
                let what = format!("type constrained to {}", new.describe());
                self.note(path, direction, Effect::Narrows, what);
                return true;
            }
            (Some(_), None) => {
                let what = format!("type constraint removed (was {})", old.describe());
                self.note(path, direction, Effect::Widens, what);
                return true;
            }
            (Some(old_types), Some(new_types)) => (
                with_null(old_types, old.nullable),
                with_null(new_types, new.nullable),
            ),
        };
        let lost: BTreeSet<&str> = old_types
            .iter()
            .copied()
            .filter(|t| !covers(&new_types, t))
            .collect();
        let gained: BTreeSet<&str> = new_types
            .iter()
            .copied()
            .filter(|t| !covers(&old_types, t))
            .collect();
        let (from, to) = (old.describe(), new.describe());
        let (effect, what) = match (lost.is_empty(), gained.is_empty()) {
            (true, true) => return true,
            _ if lost.is_empty() && gained == BTreeSet::from(["null"]) => {
                (Effect::Widens, "now nullable".into())
            }
            _ if gained.is_empty() && lost == BTreeSet::from(["null"]) => {
                (Effect::Narrows, "no longer nullable".into())
            }
            (true, false) => (Effect::Widens, format!("type widened from {from} to {to}")),
            (false, true) => (
                Effect::Narrows,
                format!("type narrowed from {from} to {to}"),
            ),
            (false, false) => (Effect::Both, format!("type changed from {from} to {to}")),
        };
        self.note(path, direction, effect, what);
        old_types.iter().any(|t| covers(&new_types, t))
            || new_types.iter().any(|t| covers(&old_types, t))
    }

    /// Compares whether `null` is accepted, for unions (whose types are
    /// their alternatives').
    pub(super) fn nullability(
        &mut self,
        old: &Node<'a>,
        new: &Node<'a>,
        path: &str,
        direction: Direction,
    ) {
        match (old.nullable, new.nullable) {
            (false, true) => self.note(path, direction, Effect::Widens, "now nullable"),
            (true, false) => self.note(path, direction, Effect::Narrows, "no longer nullable"),
            _ => {}
        }
    }

    /// Compares `enum`/`const` values.
    pub(super) fn values(
        &mut self,
        old: &Node<'a>,
        new: &Node<'a>,
        path: &str,
        direction: Direction,
    ) {
        // No value but `null` (`{"const": null}`) is the type `null`'s business.
        let some = |node: &Node<'a>| node.values.clone().filter(|values| !values.is_empty());
        match (&some(old), &some(new)) {
            (None, None) => {}
            (None, Some(values)) => {
                let what = format!("enum {} added", list(values));
                self.note(path, direction, Effect::Narrows, what);
            }
            (Some(values), None) => {
                let what = format!("enum {} removed", list(values));
                self.note(path, direction, Effect::Widens, what);
            }
            (Some(_), Some(_)) => match (old.single_value(), new.single_value()) {
                (Some(from), Some(to)) if from != to => {
                    let what = format!("value changed from {from} to {to}");
                    self.note(path, direction, Effect::Both, what);
                }
                _ => self.value_sets(
                    old.values.as_deref(),
                    new.values.as_deref(),
                    path,
                    direction,
                ),
            },
        }
    }

    /// Each value removed (narrows) and added (widens); `None` is empty.
    pub(super) fn value_sets(
        &mut self,
        old: Option<&[&'a Value]>,
        new: Option<&[&'a Value]>,
        path: &str,
        direction: Direction,
    ) {
        let (old, new) = (old.unwrap_or_default(), new.unwrap_or_default());
        for value in old.iter().filter(|value| !new.contains(value)) {
            self.note(
                path,
                direction,
                Effect::Narrows,
                format!("enum value {value} removed"),
            );
        }
        for value in new.iter().filter(|value| !old.contains(value)) {
            self.note(
                path,
                direction,
                Effect::Widens,
                format!("enum value {value} added"),
            );
        }
    }

    /// Compares `minimum`, `maxLength` and the other numeric bounds, and
    /// `uniqueItems`. Bounds that only restate a format (`uint8`'s maximum
    /// 255) or a fixed tuple's length are left to the format or tuple.
    pub(super) fn bounds(
        &mut self,
        old: &Node<'a>,
        new: &Node<'a>,
        path: &str,
        direction: Direction,
    ) {
        for (keywords, lower) in [(LOWER_BOUNDS, true), (UPPER_BOUNDS, false)] {
            for &keyword in keywords {
                let (from, to) = (old.keywords.get(keyword), new.keywords.get(keyword));
                let same = from.and_then(|v| v.as_f64()) == to.and_then(|v| v.as_f64());
                if (from.is_some() == to.is_some() && same) || implied(keyword, old, new) {
                    continue;
                }
                let (effect, what) = match (from, to) {
                    (Some(a), Some(b)) => {
                        let raised = b.as_f64() > a.as_f64();
                        let verb = if raised { "raised" } else { "lowered" };
                        let effect = Effect::of(raised == lower, raised != lower);
                        (effect, format!("{keyword} {verb} from {a} to {b}"))
                    }
                    (None, Some(b)) => (Effect::Narrows, format!("{keyword} {b} added")),
                    (Some(a), None) => (Effect::Widens, format!("{keyword} {a} removed")),
                    (None, None) => continue,
                };
                self.note(path, direction, effect, what);
            }
        }
        let unique =
            |node: &Node<'_>| node.keywords.get("uniqueItems") == Some(&&Value::Bool(true));
        match (unique(old), unique(new)) {
            (false, true) => self.note(path, direction, Effect::Narrows, "uniqueItems added"),
            (true, false) => self.note(path, direction, Effect::Widens, "uniqueItems removed"),
            _ => {}
        }
    }

    /// Compares `pattern`: one the tool cannot compare is a change both ways.
    pub(super) fn pattern(
        &mut self,
        old: &Node<'a>,
        new: &Node<'a>,
        path: &str,
        direction: Direction,
    ) {
        let (effect, what) = match (old.keywords.get("pattern"), new.keywords.get("pattern")) {
            (Some(a), Some(b)) if a == b => return,
            (Some(a), Some(b)) => (Effect::Both, format!("pattern changed from {a} to {b}")),
            (None, Some(b)) => (Effect::Narrows, format!("pattern {b} added")),
            (Some(a), None) => (Effect::Widens, format!("pattern {a} removed")),
            (None, None) => return,
        };
        self.note(path, direction, effect, what);
    }

    /// Compares `format`; integer and float formats by the range they allow.
    pub(super) fn format(
        &mut self,
        old: &Node<'a>,
        new: &Node<'a>,
        path: &str,
        direction: Direction,
    ) {
        let (from, to) = (old.keywords.get("format"), new.keywords.get("format"));
        let (effect, what) = match (from, to) {
            (Some(a), Some(b)) if a == b => return,
            (Some(a), Some(b)) => match (format_range(old), format_range(new)) {
                (Some((a_lo, a_hi)), Some((b_lo, b_hi))) if b_lo <= a_lo && a_hi <= b_hi => (
                    Effect::Widens,
                    format!("format widened from {} to {}", text(a), text(b)),
                ),
                (Some((a_lo, a_hi)), Some((b_lo, b_hi))) if a_lo <= b_lo && b_hi <= a_hi => (
                    Effect::Narrows,
                    format!("format narrowed from {} to {}", text(a), text(b)),
                ),
                _ => (Effect::Both, format!("format changed from {a} to {b}")),
            },
            (None, Some(b)) => (Effect::Narrows, format!("format {b} added")),
            (Some(a), None) => (Effect::Widens, format!("format {a} removed")),
            (None, None) => return,
        };
        self.note(path, direction, effect, what);
    }

    /// Compares `default`: listed, never breaking.
    pub(super) fn default(&mut self, old: &Node<'a>, new: &Node<'a>, path: &str) {
        let what = match (old.keywords.get("default"), new.keywords.get("default")) {
            (Some(a), Some(b)) if a == b => return,
            (Some(a), Some(b)) => format!("default changed from {a} to {b}"),
            (None, Some(b)) => format!("default {b} added"),
            (Some(a), None) => format!("default {a} removed"),
            (None, None) => return,
        };
        self.push(path, Kind::Compatible, what);
    }

    /// Compares `description` and the other documentation keywords.
    pub(super) fn docs(&mut self, old: &Node<'a>, new: &Node<'a>, path: &str) {
        for &keyword in DOCS {
            let (from, to) = (old.keywords.get(keyword), new.keywords.get(keyword));
            let verb = match (from, to) {
                (Some(a), Some(b)) if a == b => continue,
                (Some(_), Some(_)) => "changed",
                (None, Some(_)) => "added",
                (Some(_), None) => "removed",
                (None, None) => continue,
            };
            self.push(path, Kind::Compatible, format!("{keyword} {verb} (docs)"));
        }
    }

    /// Any keyword this tool does not know: a change to it is breaking,
    /// since what it means is unknown.
    pub(super) fn other_keywords(
        &mut self,
        old: &Node<'a>,
        new: &Node<'a>,
        path: &str,
        direction: Direction,
    ) {
        let known = |keyword: &&str| {
            HANDLED.contains(keyword)
                || DOCS.contains(keyword)
                || LOWER_BOUNDS.contains(keyword)
                || UPPER_BOUNDS.contains(keyword)
        };
        let keywords: BTreeSet<&str> = old
            .keywords
            .keys()
            .chain(new.keywords.keys())
            .copied()
            .filter(|k| !known(k))
            .collect();
        for keyword in keywords {
            let verb = match (old.keywords.get(keyword), new.keywords.get(keyword)) {
                (Some(a), Some(b)) if a == b => continue,
                (Some(_), Some(_)) => "changed",
                (None, Some(_)) => "added",
                (Some(_), None) => "removed",
                (None, None) => continue,
            };
            self.note(
                path,
                direction,
                Effect::Both,
                format!("keyword {} {verb}", Value::from(keyword)),
            );
        }
    }
}

/// The range a known numeric `format` allows.
fn format_range(node: &Node<'_>) -> Option<(f64, f64)> {
    let format = node.keywords.get("format")?.as_str()?;
    let &(_, lo, hi) = INTEGER_FORMATS.iter().find(|(name, ..)| *name == format)?;
    Some((lo, hi))
}

/// Whether a change to bound `keyword` only follows another change: a
/// `minimum`/`maximum` that is (or is not, on both sides) the limit of
/// each side's numeric format, or a fixed tuple's `minItems`/`maxItems`.
fn implied(keyword: &str, old: &Node<'_>, new: &Node<'_>) -> bool {
    let limit = |node: &Node<'_>| {
        let (lo, hi) = format_range(node)?;
        let bound = node.keywords.get(keyword).and_then(|v| v.as_f64());
        Some(bound.is_none_or(|bound| bound == if keyword == "minimum" { lo } else { hi }))
    };
    match keyword {
        "minimum" | "maximum" => {
            old.types == new.types
                && old.keywords.get("format") != new.keywords.get("format")
                && limit(old) == Some(true)
                && limit(new) == Some(true)
        }
        "minItems" | "maxItems" => matches!(
            (fixed_tuple(old), fixed_tuple(new)),
            (Some(a), Some(b)) if a != b
        ),
        _ => false,
    }
}

/// The length of a tuple (`prefixItems` with `minItems` and `maxItems`
/// both that long), if the node is one.
pub(super) fn fixed_tuple(node: &Node<'_>) -> Option<usize> {
    let length = node.keywords.get("prefixItems")?.as_array()?.len();
    let bound = |keyword| node.keywords.get(keyword).and_then(|v| v.as_u64());
    let length_u64 = u64::try_from(length).ok()?;
    (bound("minItems") == Some(length_u64) && bound("maxItems") == Some(length_u64))
        .then_some(length)
}

/// A string's text, unquoted.
fn text(value: &Value) -> &str {
    value.as_str().unwrap_or_default()
}

/// Whether a value of type `name` is accepted by `types` (`integer` is a
/// kind of `number`).
fn covers(types: &BTreeSet<&str>, name: &str) -> bool {
    types.contains(name) || (name == "integer" && types.contains("number"))
}

fn with_null<'t>(types: &BTreeSet<&'t str>, nullable: bool) -> BTreeSet<&'t str> {
    let mut types = types.clone();
    if nullable {
        types.insert("null");
    }
    types
}

/// `["a","b"]`.
fn list(values: &[&Value]) -> String {
    let values: Vec<String> = values.iter().map(ToString::to_string).collect();
    format!("[{}]", values.join(","))
}

#[cfg(test)]
mod tests {
    use super::super::node::describe_types;
    use super::*;

    #[test]
    fn types_are_described_with_null_last() {
        assert_eq!(
            describe_types(&BTreeSet::from(["string", "integer"]), true),
            "integer | string | null"
        );
        assert_eq!(describe_types(&BTreeSet::new(), false), "nothing");
    }
}
