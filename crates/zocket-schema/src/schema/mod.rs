//! Comparing two JSON Schemas in one direction: what clients write
//! ([`Direction::Input`]) or what they read ([`Direction::Output`]).
//!
//! Each difference is an [`Effect`] on the set of values the schema
//! accepts; the direction turns it into a [`Kind`]: a narrowed input
//! rejects what old clients send, a widened output sends what old clients
//! cannot read.

mod keywords;
mod node;
mod object;
mod union;

use std::collections::HashSet;

use serde_json::Value;

pub(crate) use node::ANY;
use node::{Doc, Node};

use crate::report::{Change, Kind};

/// Who writes the values a schema describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    /// Clients write, the server reads: route inputs and headers.
    Input,
    /// The server writes, clients read: route outputs, errors, event payloads.
    Output,
}

/// What a difference does to the set of accepted values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Effect {
    /// Nothing a reader or writer relies on: docs, defaults, an ignored field.
    Neutral,
    /// The new schema accepts less: breaks inputs.
    Narrows,
    /// The new schema accepts more: breaks outputs.
    Widens,
    /// Some values lost, others gained: breaks both.
    Both,
}

impl Effect {
    /// `Narrows`, `Widens`, `Both` or `Neutral`, from the two halves.
    pub(crate) fn of(narrows: bool, widens: bool) -> Self {
        match (narrows, widens) {
            (false, false) => Self::Neutral,
            (true, false) => Self::Narrows,
            (false, true) => Self::Widens,
            (true, true) => Self::Both,
        }
    }

    fn kind(self, direction: Direction) -> Kind {
        match (self, direction) {
            (Self::Both, _)
            | (Self::Narrows, Direction::Input)
            | (Self::Widens, Direction::Output) => Kind::Breaking,
            _ => Kind::Compatible,
        }
    }
}

/// Walks two documents side by side and collects their changes.
pub(crate) struct Comparer<'a> {
    old: Doc<'a>,
    new: Doc<'a>,
    /// The pairs of nodes being compared, to stop at recursive types.
    active: HashSet<(usize, usize)>,
    changes: Vec<Change>,
}

impl<'a> Comparer<'a> {
    /// Compares parts of `old` with parts of `new`, resolving each one's
    /// `$ref`s in its own document.
    pub(crate) fn new(old: &'a Value, new: &'a Value) -> Self {
        Self {
            old: Doc::new(old),
            new: Doc::new(new),
            active: HashSet::new(),
            changes: Vec::new(),
        }
    }

    /// Records a change whose kind does not depend on a direction.
    pub(crate) fn push(&mut self, path: &str, kind: Kind, what: impl Into<String>) {
        self.changes.push(Change {
            path: path.into(),
            kind,
            what: what.into(),
        });
    }

    /// Records a change to a schema read or written as `direction` says.
    fn note(&mut self, path: &str, direction: Direction, effect: Effect, what: impl Into<String>) {
        self.push(path, effect.kind(direction), what);
    }

    /// The changes collected so far, in the order they were found.
    pub(crate) fn finish(self) -> Vec<Change> {
        self.changes
    }

    /// Compares the schema `old` (in the old document) with `new`.
    pub(crate) fn schema(
        &mut self,
        old: &'a Value,
        new: &'a Value,
        path: &str,
        direction: Direction,
    ) {
        let old = self.old.node(old);
        let new = self.new.node(new);
        let pair = (old.id, new.id);
        // Already comparing these two further up: a recursive type, whose
        // changes are reported where the recursion starts.
        if !self.active.insert(pair) {
            return;
        }
        self.nodes(&old, &new, path, direction);
        self.active.remove(&pair);
    }

    fn nodes(&mut self, old: &Node<'a>, new: &Node<'a>, path: &str, direction: Direction) {
        if old.dangling.is_some() || new.dangling.is_some() {
            if old.dangling != new.dangling {
                let name = |node: &Node<'_>| {
                    node.dangling
                        .map_or("a schema".into(), |r| format!("{r:?}"))
                };
                let what = format!(
                    "unresolved $ref: changed from {} to {}",
                    name(old),
                    name(new)
                );
                self.note(path, direction, Effect::Both, what);
            }
            return;
        }
        let union = old.branches.is_some() || new.branches.is_some();
        // A union's types are its alternatives': compared with them.
        if !union && !self.types(old, new, path, direction) {
            // Nothing in common: one change says it all, the old type's
            // constraints and docs say nothing about the new one.
            return;
        }
        self.docs(old, new, path);
        if union {
            self.union(old, new, path, direction);
        } else {
            self.values(old, new, path, direction);
        }
        self.bounds(old, new, path, direction);
        self.pattern(old, new, path, direction);
        if old.types == new.types {
            self.format(old, new, path, direction);
        }
        self.default(old, new, path);
        self.other_keywords(old, new, path, direction);
        self.object(old, new, path, direction);
        self.array(old, new, path, direction);
    }
}

/// `path.name`, quoting a name that is not a plain identifier:
/// `routes."chat.send"`.
pub(crate) fn child(path: &str, name: &str) -> String {
    let plain = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$' || c == '-');
    let name = if plain {
        name.to_owned()
    } else {
        Value::from(name).to_string()
    };
    if path.is_empty() {
        name
    } else {
        format!("{path}.{name}")
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn compare(old: Value, new: Value, direction: Direction) -> Vec<String> {
        let root = json!({ "old": old, "new": new });
        let mut comparer = Comparer::new(&root, &root);
        comparer.schema(&root["old"], &root["new"], "x", direction);
        comparer.finish().iter().map(ToString::to_string).collect()
    }

    #[test]
    fn names_with_dots_are_quoted() {
        assert_eq!(child("routes", "chat.send"), r#"routes."chat.send""#);
        assert_eq!(child("", "headers"), "headers");
        assert_eq!(child("a", "clientId"), "a.clientId");
    }

    #[test]
    fn a_narrowed_input_breaks_and_a_narrowed_output_does_not() {
        let old = json!({ "type": "string", "maxLength": 10 });
        let new = json!({ "type": "string", "maxLength": 5 });
        assert_eq!(
            compare(old.clone(), new.clone(), Direction::Input),
            ["breaking: x: maxLength lowered from 10 to 5"]
        );
        assert_eq!(
            compare(old, new, Direction::Output),
            ["compatible: x: maxLength lowered from 10 to 5"]
        );
    }

    #[test]
    fn integer_is_a_kind_of_number() {
        let (number, integer) = (json!({ "type": "number" }), json!({ "type": "integer" }));
        assert_eq!(
            compare(number.clone(), integer.clone(), Direction::Input),
            ["breaking: x: type narrowed from number to integer"]
        );
        assert_eq!(
            compare(integer, number, Direction::Output),
            ["breaking: x: type widened from integer to number"]
        );
    }

    #[test]
    fn integer_formats_compare_by_range() {
        let u32 = json!({ "type": "integer", "format": "uint32", "minimum": 0 });
        let u64 = json!({ "type": "integer", "format": "uint64", "minimum": 0 });
        assert_eq!(
            compare(u32.clone(), u64.clone(), Direction::Input),
            ["compatible: x: format widened from uint32 to uint64"]
        );
        assert_eq!(
            compare(u32, u64, Direction::Output),
            ["breaking: x: format widened from uint32 to uint64"]
        );
    }

    #[test]
    fn bounds_that_follow_a_format_are_not_repeated() {
        let u8 = json!({ "type": "integer", "format": "uint8", "minimum": 0, "maximum": 255 });
        let u16 = json!({ "type": "integer", "format": "uint16", "minimum": 0, "maximum": 65535 });
        let i32 = json!({ "type": "integer", "format": "int32" });
        assert_eq!(
            compare(u8.clone(), u16, Direction::Input),
            ["compatible: x: format widened from uint8 to uint16"]
        );
        assert_eq!(
            compare(i32, u8, Direction::Input),
            ["breaking: x: format narrowed from int32 to uint8"]
        );
    }

    #[test]
    fn a_bound_written_differently_is_no_change() {
        let old = json!({ "type": "number", "maximum": 10 });
        let new = json!({ "type": "number", "maximum": 10.0 });
        assert!(compare(old, new, Direction::Input).is_empty());
    }

    #[test]
    fn a_tuple_that_changed_length_breaks_both_ways() {
        let pair = json!({ "type": "array", "prefixItems": [{ "type": "string" }, { "type": "integer" }], "minItems": 2, "maxItems": 2 });
        let triple = json!({ "type": "array", "prefixItems": [{ "type": "string" }, { "type": "integer" }, { "type": "boolean" }], "minItems": 3, "maxItems": 3 });
        for direction in [Direction::Input, Direction::Output] {
            assert_eq!(
                compare(pair.clone(), triple.clone(), direction),
                ["breaking: x: tuple length changed from 2 to 3"]
            );
        }
    }

    #[test]
    fn a_pattern_changed_breaks_both_ways() {
        let old = json!({ "type": "string", "pattern": "^a" });
        let new = json!({ "type": "string", "pattern": "^b" });
        assert_eq!(
            compare(old, new, Direction::Output),
            [r#"breaking: x: pattern changed from "^a" to "^b""#]
        );
    }

    #[test]
    fn an_unknown_keyword_changed_is_breaking() {
        let old = json!({ "type": "string", "not": { "const": "a" } });
        let new = json!({ "type": "string", "not": { "const": "b" } });
        assert_eq!(
            compare(old, new, Direction::Output),
            [r#"breaking: x: keyword "not" changed"#]
        );
    }

    #[test]
    fn a_map_compares_its_values() {
        let old = json!({ "type": "object", "additionalProperties": { "type": "integer" } });
        let new = json!({ "type": "object", "additionalProperties": { "type": "string" } });
        assert_eq!(
            compare(old, new, Direction::Output),
            ["breaking: x.additionalProperties: type changed from integer to string"]
        );
    }

    #[test]
    fn a_tuple_compares_its_elements() {
        let old = json!({ "type": "array", "prefixItems": [{ "type": "string" }, { "type": "integer" }], "minItems": 2, "maxItems": 2 });
        let new = json!({ "type": "array", "prefixItems": [{ "type": "string" }, { "type": "boolean" }], "minItems": 2, "maxItems": 2 });
        assert_eq!(
            compare(old, new, Direction::Input),
            ["breaking: x[1]: type changed from integer to boolean"]
        );
    }

    #[test]
    fn a_new_variant_of_an_untagged_union_is_matched_by_position() {
        let old = json!({ "anyOf": [{ "type": "string" }, { "type": "array", "items": { "type": "string" } }] });
        let new = json!({ "anyOf": [{ "type": "string" }, { "type": "array", "items": { "type": "string" } }, { "type": "integer" }] });
        assert_eq!(
            compare(old, new, Direction::Output),
            ["breaking: x: alternative #2 added"]
        );
    }

    #[test]
    fn a_schema_that_became_a_union_is_one_change() {
        let old = json!({ "type": "null" });
        let new = json!({ "oneOf": [
            { "type": "object", "properties": { "A": { "type": "string" } }, "required": ["A"] },
            { "type": "object", "properties": { "B": { "type": "string" } }, "required": ["B"] }
        ] });
        assert_eq!(
            compare(old, new, Direction::Output),
            ["breaking: x: changed from null to one of 2 alternatives"]
        );
    }
}
