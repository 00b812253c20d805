//! Objects (`properties`, `required`, `additionalProperties`) and arrays
//! (`items`, `prefixItems`).
//!
//! A field's rules depend on who reads it. A reader that is our server
//! ignores fields it does not know (serde's default) unless the schema
//! denies additional properties; a reader that is a client needs every
//! field that was required and ignores new ones.

use serde_json::Value;

use super::keywords::fixed_tuple;
use super::node::Node;
use super::{Comparer, Direction, Effect, child};
use crate::report::Change;

/// What an object says about properties it does not list (or an array
/// about items past its `prefixItems`).
#[derive(Clone, Copy)]
enum Extra<'a> {
    /// Anything: no keyword, or `true`.
    Any,
    /// Nothing: `false` (`#[serde(deny_unknown_fields)]`).
    Denied,
    /// Values of this schema: a map's values, a list's items.
    Schema(&'a Value),
}

impl<'a> Extra<'a> {
    fn of(node: &Node<'a>, keywords: &[&str]) -> Self {
        match keywords
            .iter()
            .find_map(|keyword| node.keywords.get(keyword))
        {
            None | Some(Value::Bool(true)) => Self::Any,
            Some(Value::Bool(false)) => Self::Denied,
            Some(schema) => Self::Schema(schema),
        }
    }

    fn is_denied(self) -> bool {
        matches!(self, Self::Denied)
    }
}

impl<'a> Comparer<'a> {
    /// Compares `properties`, `required` and `additionalProperties`.
    pub(super) fn object(
        &mut self,
        old: &Node<'a>,
        new: &Node<'a>,
        path: &str,
        direction: Direction,
    ) {
        let keywords = ["additionalProperties", "unevaluatedProperties"];
        let (old_extra, new_extra) = (Extra::of(old, &keywords), Extra::of(new, &keywords));
        for (&name, &old_schema) in &old.properties {
            let field = child(path, name);
            let was_required = old.required.contains(name);
            let Some(&new_schema) = new.properties.get(name) else {
                // Old clients may still send it; clients may still expect it.
                let effect = Effect::of(new_extra.is_denied(), was_required);
                let what = if was_required {
                    "required field removed"
                } else {
                    "optional field removed"
                };
                self.note(&field, direction, effect, what);
                continue;
            };
            let start = self.changes.len();
            self.schema(old_schema, new_schema, &field, direction);
            let (effect, what, nullable) = match (was_required, new.required.contains(name)) {
                (true, false) => (Effect::Widens, "now optional", "now nullable"),
                (false, true) => (Effect::Narrows, "now required", "no longer nullable"),
                _ => continue,
            };
            // An `Option<T>` added or removed in Rust: one change, not two.
            let what = match self.changes[start..]
                .iter()
                .position(|c| c.path == field && c.what == nullable)
            {
                Some(index) => {
                    self.changes.remove(start + index);
                    format!("{what} and {}", nullable.trim_start_matches("now "))
                }
                None => what.into(),
            };
            let change = Change {
                path: field,
                kind: effect.kind(direction),
                what,
            };
            self.changes.insert(start, change);
        }
        for (&name, _) in new
            .properties
            .iter()
            .filter(|(name, _)| !old.properties.contains_key(*name))
        {
            // Old clients do not send it; old clients may reject it.
            let required = new.required.contains(name);
            let effect = Effect::of(required, old_extra.is_denied());
            let what = if required {
                "required field added"
            } else {
                "optional field added"
            };
            self.note(&child(path, name), direction, effect, what);
        }
        let (effect, what) = match (old_extra, new_extra) {
            (Extra::Schema(old), Extra::Schema(new)) => {
                self.schema(old, new, &format!("{path}.additionalProperties"), direction);
                return;
            }
            (Extra::Any, Extra::Any) | (Extra::Denied, Extra::Denied) => return,
            (_, Extra::Denied) => (Effect::Narrows, "additional properties no longer allowed"),
            (Extra::Denied, _) => (Effect::Widens, "additional properties now allowed"),
            (Extra::Any, Extra::Schema(_)) => (Effect::Narrows, "additionalProperties constrained"),
            (Extra::Schema(_), Extra::Any) => {
                (Effect::Widens, "additionalProperties constraint removed")
            }
        };
        self.note(path, direction, effect, what);
    }

    /// Compares `prefixItems` (tuples) and `items` (lists).
    pub(super) fn array(
        &mut self,
        old: &Node<'a>,
        new: &Node<'a>,
        path: &str,
        direction: Direction,
    ) {
        let (old_tuple, new_tuple) = (tuple(old), tuple(new));
        if let (Some(from), Some(to)) = (fixed_tuple(old), fixed_tuple(new))
            && from != to
        {
            // `(A, B)` became `(A, B, C)`: no side reads the other's.
            let what = format!("tuple length changed from {from} to {to}");
            self.note(path, direction, Effect::Both, what);
            for (index, (old, new)) in old_tuple.iter().zip(new_tuple).enumerate() {
                self.schema(old, new, &format!("{path}[{index}]"), direction);
            }
            return;
        }
        for index in 0..old_tuple.len().max(new_tuple.len()) {
            let element = format!("{path}[{index}]");
            match (old_tuple.get(index), new_tuple.get(index)) {
                (Some(old), Some(new)) => self.schema(old, new, &element, direction),
                (Some(_), None) => {
                    self.note(&element, direction, Effect::Widens, "tuple element removed")
                }
                (None, Some(_)) => {
                    self.note(&element, direction, Effect::Narrows, "tuple element added")
                }
                (None, None) => {}
            }
        }
        let (effect, what) = match (items(old), items(new)) {
            (Extra::Schema(old), Extra::Schema(new)) => {
                self.schema(old, new, &format!("{path}[]"), direction);
                return;
            }
            (Extra::Any, Extra::Any) | (Extra::Denied, Extra::Denied) => return,
            (_, Extra::Denied) => (Effect::Narrows, "extra items no longer allowed"),
            (Extra::Denied, _) => (Effect::Widens, "extra items now allowed"),
            (Extra::Any, Extra::Schema(_)) => (Effect::Narrows, "items constrained"),
            (Extra::Schema(_), Extra::Any) => (Effect::Widens, "items constraint removed"),
        };
        self.note(path, direction, effect, what);
    }
}

/// A tuple's elements: `prefixItems`, or the draft-07 array form of `items`.
fn tuple<'a>(node: &Node<'a>) -> &'a [Value] {
    ["prefixItems", "items"]
        .iter()
        .find_map(|keyword| node.keywords.get(keyword)?.as_array())
        .map_or(&[], Vec::as_slice)
}

/// The schema of a list's items (past its tuple elements, if any).
fn items<'a>(node: &Node<'a>) -> Extra<'a> {
    match node.keywords.get("items") {
        Some(Value::Array(_)) => Extra::of(node, &["additionalItems"]),
        _ => Extra::of(node, &["items"]),
    }
}
