//! `oneOf`/`anyOf` with two or more alternatives: the variants of an enum.
//!
//! Alternatives are matched by their tag, not their position: the `const`
//! of a property (`{"type": "text", ...}`, internally or adjacently tagged),
//! else the one required property of an externally tagged variant
//! (`{"Text": ...}`), else their order among the untagged ones. Unit
//! variants are plain values, compared as an `enum`.

use std::collections::HashSet;

use serde_json::Value;

use super::node::{Doc, Node};
use super::{Comparer, Direction, Effect};

/// How an alternative is recognized on both sides.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key {
    /// A property with a single value: `type = "text"`.
    Tag(String, String),
    /// An object with one required property: `{"Text": ...}`.
    External(String),
    /// The n-th alternative without a tag.
    Position(usize),
}

impl Key {
    /// The path segment of the alternative: `[type="text"]`.
    fn segment(&self) -> String {
        match self {
            Self::Tag(name, value) => format!("[{name}={value}]"),
            Self::External(name) => format!("[{name}]"),
            Self::Position(n) => format!("[#{n}]"),
        }
    }

    /// The alternative in words: `variant type="text"`.
    fn name(&self) -> String {
        match self {
            Self::Tag(name, value) => format!("variant {name}={value}"),
            Self::External(name) => format!("variant {name}"),
            Self::Position(n) => format!("alternative #{n}"),
        }
    }
}

impl<'a> Comparer<'a> {
    /// Compares two schemas of which at least one is a union; the other
    /// counts as its only alternative.
    pub(super) fn union(
        &mut self,
        old: &Node<'a>,
        new: &Node<'a>,
        path: &str,
        direction: Direction,
    ) {
        let old_alternatives = alternatives(self.old, old);
        let new_alternatives = alternatives(self.new, new);
        let mut unmatched_new = new_alternatives.clone();
        let mut matched = Vec::new();
        let mut removed = Vec::new();
        for (key, raw) in old_alternatives {
            match unmatched_new.iter().position(|(other, _)| *other == key) {
                Some(index) => {
                    let (_, new_raw) = unmatched_new.remove(index);
                    matched.push((key, raw, new_raw));
                }
                None => removed.push(key),
            }
        }
        let single = old.branches.is_none() || new.branches.is_none();
        let single_is_structured = (old.branches.is_none() && !old.is_values())
            || (new.branches.is_none() && !new.is_values());
        if single && single_is_structured && matched.is_empty() {
            let what = format!("changed from {} to {}", old.describe(), new.describe());
            self.note(path, direction, Effect::Both, what);
            return;
        }
        self.nullability(old, new, path, direction);
        self.value_sets(
            old.values.as_deref(),
            new.values.as_deref(),
            path,
            direction,
        );
        for (key, old_raw, new_raw) in matched {
            self.schema(
                old_raw,
                new_raw,
                &format!("{path}{}", key.segment()),
                direction,
            );
        }
        for key in removed {
            self.note(
                path,
                direction,
                Effect::Narrows,
                format!("{} removed", key.name()),
            );
        }
        for (key, _) in unmatched_new {
            self.note(
                path,
                direction,
                Effect::Widens,
                format!("{} added", key.name()),
            );
        }
    }
}

/// The structured alternatives of `node` with their keys: its branches, or
/// the node itself when it is not a union (and not plain values).
fn alternatives<'a>(doc: Doc<'a>, node: &Node<'a>) -> Vec<(Key, &'a Value)> {
    let raws: Vec<&'a Value> = match &node.branches {
        Some(branches) => branches.clone(),
        None if node.is_values() => Vec::new(),
        None => vec![node.raw],
    };
    let mut seen = HashSet::new();
    let mut position = 0;
    raws.into_iter()
        .map(|raw| {
            let key = key(doc, &doc.node(raw))
                .filter(|key| seen.insert(key.clone()))
                .unwrap_or_else(|| {
                    position += 1;
                    Key::Position(position - 1)
                });
            (key, raw)
        })
        .collect()
}

/// The tag of one alternative, if it has one.
fn key<'a>(doc: Doc<'a>, node: &Node<'a>) -> Option<Key> {
    for (name, schema) in &node.properties {
        if let Some(value) = doc.node(schema).single_value() {
            return Some(Key::Tag((*name).into(), value.to_string()));
        }
    }
    let mut properties = node.properties.keys();
    if let (Some(name), None) = (properties.next(), properties.next())
        && node.required.len() == 1
        && node.required.contains(name)
    {
        return Some(Key::External((*name).into()));
    }
    None
}
