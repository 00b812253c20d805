//! One schema, normalized for comparison: `$ref`s followed, `allOf` merged,
//! `Option`'s `anyOf [T, null]` folded into "T, nullable", `null` taken out
//! of `type` and `enum`, and the unit variants of a `oneOf` gathered into
//! one set of values.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

/// The schema that accepts everything, for a missing one.
pub(crate) static ANY: Value = Value::Bool(true);

/// A document whose `$ref`s (`#/$defs/Name`) a [`Node`] is resolved against.
#[derive(Clone, Copy)]
pub(crate) struct Doc<'a> {
    root: &'a Value,
}

/// A schema as the comparison sees it. Everything borrows from the document.
pub(crate) struct Node<'a> {
    /// The schema as written, before following its `$ref`.
    pub(crate) raw: &'a Value,
    /// What this node is, for cycle detection: the address of the value a
    /// `$ref` led to (or of `raw`), so a recursive type is compared once.
    pub(crate) id: usize,
    /// Every keyword, the referencing schema's winning over its target's.
    pub(crate) keywords: BTreeMap<&'a str, &'a Value>,
    /// The JSON types accepted, `null` aside; `None` accepts any type.
    pub(crate) types: Option<BTreeSet<&'a str>>,
    /// Whether `null` is accepted besides `types`.
    pub(crate) nullable: bool,
    /// `enum` or `const` values (and a union's unit variants), `null` aside.
    pub(crate) values: Option<Vec<&'a Value>>,
    /// `properties`, merged over `allOf`.
    pub(crate) properties: BTreeMap<&'a str, &'a Value>,
    /// `required`, merged over `allOf`.
    pub(crate) required: BTreeSet<&'a str>,
    /// The alternatives of a `oneOf`/`anyOf` that are neither `null` nor
    /// unit values; `Some` when this node is a union (an `Option<T>` is not).
    pub(crate) branches: Option<Vec<&'a Value>>,
    /// A `$ref` that leads nowhere (or round in a circle of `$ref`s).
    pub(crate) dangling: Option<&'a str>,
}

impl<'a> Doc<'a> {
    /// A document to resolve `$ref`s against.
    pub(crate) fn new(root: &'a Value) -> Self {
        Self { root }
    }

    /// The normalized form of `schema`, a part of this document.
    pub(crate) fn node(self, schema: &'a Value) -> Node<'a> {
        self.build(schema, &mut vec![address(schema)])
    }

    fn resolve(self, reference: &str) -> Option<&'a Value> {
        self.root.pointer(reference.strip_prefix('#')?)
    }

    /// `seen`: the `$ref` targets being built, so `A = allOf [A]` and
    /// `A = B, B = A` end (as dangling references).
    fn build(self, schema: &'a Value, seen: &mut Vec<usize>) -> Node<'a> {
        let mark = seen.len();
        let mut node = Node::new(schema);
        let mut target = schema;
        // Follow a chain of `$ref`s, the first schema's keywords winning.
        loop {
            let Value::Object(object) = target else {
                if target == &Value::Bool(false) {
                    node.types = Some(BTreeSet::new());
                }
                break;
            };
            for (keyword, value) in object {
                node.keywords.entry(keyword.as_str()).or_insert(value);
            }
            let Some(reference) = object.get("$ref").and_then(Value::as_str) else {
                break;
            };
            match self.resolve(reference) {
                Some(next) if !seen.contains(&address(next)) => {
                    node.id = address(next);
                    seen.push(address(next));
                    target = next;
                }
                _ => {
                    node.dangling = Some(reference);
                    break;
                }
            }
        }
        node.extract();
        if let Some(Value::Array(parts)) = node.keywords.get("allOf") {
            for part in parts {
                let part = self.build(part, seen);
                node.absorb(part);
            }
        }
        self.union(&mut node, seen);
        seen.truncate(mark);
        node
    }

    /// Folds `oneOf`/`anyOf`: `null` alternatives make the node nullable,
    /// unit values join `values`, a single remaining alternative beside a
    /// `null` is merged in (`Option<T>`), and any other make a union.
    fn union(self, node: &mut Node<'a>, seen: &mut Vec<usize>) {
        let alternatives: Vec<&'a Value> = ["anyOf", "oneOf"]
            .iter()
            .filter_map(|keyword| node.keywords.get(keyword)?.as_array())
            .flatten()
            .collect();
        if alternatives.is_empty() {
            return;
        }
        let mut structured = Vec::new();
        let mut values = Vec::new();
        let mut types = BTreeSet::new();
        let mut null = false;
        for alternative in alternatives {
            let branch = self.build(alternative, seen);
            if branch.is_null() {
                null = true;
            } else if branch.is_values() {
                node.nullable |= branch.nullable;
                values.extend(branch.values.into_iter().flatten());
                types.extend(branch.types.into_iter().flatten());
            } else {
                structured.push((alternative, branch));
            }
        }
        node.nullable |= null;
        if null && structured.len() == 1 && values.is_empty() {
            // `Option<T>`: T, nullable. (A one-variant enum stays a union,
            // to be matched with the variants of the other side.)
            if let Some((_, branch)) = structured.pop() {
                node.id = branch.id;
                node.absorb(branch);
            }
        } else if structured.is_empty() {
            node.types.get_or_insert(types);
            node.values.get_or_insert_with(Vec::new).extend(values);
        } else {
            node.values = Some(values);
            node.branches = Some(structured.into_iter().map(|(raw, _)| raw).collect());
        }
    }
}

impl<'a> Node<'a> {
    fn new(raw: &'a Value) -> Self {
        Self {
            raw,
            id: address(raw),
            keywords: BTreeMap::new(),
            types: None,
            nullable: false,
            values: None,
            properties: BTreeMap::new(),
            required: BTreeSet::new(),
            branches: None,
            dangling: None,
        }
    }

    /// Reads `type`, `enum`/`const`, `properties` and `required`.
    fn extract(&mut self) {
        match self.keywords.get("type") {
            Some(Value::String(name)) => self.types = Some(BTreeSet::from([name.as_str()])),
            Some(Value::Array(names)) => {
                self.types = Some(names.iter().filter_map(Value::as_str).collect());
            }
            _ => {}
        }
        if let Some(types) = &mut self.types {
            self.nullable = types.remove("null");
        }
        let values: Option<Vec<&'a Value>> =
            match (self.keywords.get("enum"), self.keywords.get("const")) {
                (Some(Value::Array(values)), _) => Some(values.iter().collect()),
                (_, Some(value)) => Some(vec![*value]),
                _ => None,
            };
        if let Some(values) = values {
            let with_null = values.iter().any(|value| value.is_null());
            let values: Vec<&'a Value> = values.into_iter().filter(|v| !v.is_null()).collect();
            if self.types.is_none() {
                self.types = Some(values.iter().map(|value| json_type(value)).collect());
                self.nullable = with_null;
            }
            self.values = Some(values);
        }
        if let Some(Value::Object(properties)) = self.keywords.get("properties") {
            for (name, schema) in properties {
                self.properties.insert(name, schema);
            }
        }
        if let Some(Value::Array(required)) = self.keywords.get("required") {
            self.required
                .extend(required.iter().filter_map(Value::as_str));
        }
    }

    /// Fills in what this node does not say from `other` (an `allOf` part,
    /// or the one alternative of an `Option`).
    fn absorb(&mut self, other: Node<'a>) {
        for (keyword, value) in other.keywords {
            self.keywords.entry(keyword).or_insert(value);
        }
        if self.types.is_none() {
            self.types = other.types;
        }
        self.nullable |= other.nullable;
        if self.values.is_none() {
            self.values = other.values;
        }
        for (name, schema) in other.properties {
            self.properties.entry(name).or_insert(schema);
        }
        self.required.extend(other.required);
        if self.branches.is_none() {
            self.branches = other.branches;
        }
        if self.dangling.is_none() {
            self.dangling = other.dangling;
        }
    }

    /// Accepts `null` only: `{"type": "null"}`.
    pub(crate) fn is_null(&self) -> bool {
        self.nullable
            && self.types.as_ref().is_some_and(BTreeSet::is_empty)
            && self.values.as_ref().is_none_or(Vec::is_empty)
            && self.properties.is_empty()
            && self.branches.is_none()
    }

    /// A set of plain values (a unit enum or a `const`), nothing more.
    pub(crate) fn is_values(&self) -> bool {
        self.values
            .as_ref()
            .is_some_and(|values| !values.is_empty())
            && self.properties.is_empty()
            && self.branches.is_none()
    }

    /// The one value a `const` (or one-value `enum`) allows, if so.
    pub(crate) fn single_value(&self) -> Option<&'a Value> {
        match self.values.as_deref() {
            Some([value]) if !self.nullable => Some(value),
            _ => None,
        }
    }

    /// `string`, `integer | null`, `any value`: the accepted types in words.
    pub(crate) fn describe(&self) -> String {
        if let Some(branches) = &self.branches {
            let plural = if branches.len() == 1 { "" } else { "s" };
            return format!("one of {} alternative{plural}", branches.len());
        }
        match &self.types {
            None => "any value".into(),
            Some(types) => describe_types(types, self.nullable),
        }
    }
}

/// `string | null`; `nothing` for no type at all.
pub(crate) fn describe_types(types: &BTreeSet<&str>, nullable: bool) -> String {
    let mut names: Vec<&str> = types.iter().copied().collect();
    if nullable {
        names.push("null");
    }
    if names.is_empty() {
        return "nothing".into();
    }
    names.join(" | ")
}

/// The JSON Schema type of a value; whole numbers are `integer`.
fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn address(value: &Value) -> usize {
    std::ptr::from_ref(value) as usize
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn an_option_of_a_reference_is_the_target_made_nullable() {
        let root = json!({
            "$defs": { "Ack": { "type": "object", "properties": { "id": { "type": "integer" } } } },
            "field": { "anyOf": [{ "$ref": "#/$defs/Ack" }, { "type": "null" }], "description": "Maybe." }
        });
        let doc = Doc::new(&root);
        let node = doc.node(&root["field"]);
        assert!(node.nullable);
        assert_eq!(node.types, Some(BTreeSet::from(["object"])));
        assert_eq!(node.properties.keys().copied().collect::<Vec<_>>(), ["id"]);
        assert_eq!(node.keywords["description"], "Maybe.");
        assert_eq!(node.id, address(&root["$defs"]["Ack"]));
        assert!(node.branches.is_none());
    }

    #[test]
    fn null_is_taken_out_of_types_and_values() {
        let root = json!({ "type": ["string", "null"], "enum": ["a", "b", null] });
        let node = Doc::new(&root).node(&root);
        assert!(node.nullable);
        assert_eq!(node.types, Some(BTreeSet::from(["string"])));
        assert_eq!(node.values, Some(vec![&json!("a"), &json!("b")]));
    }

    #[test]
    fn documented_unit_variants_are_plain_values() {
        let root = json!({ "oneOf": [
            { "type": "string", "const": "a", "description": "A." },
            { "type": "string", "const": "b", "description": "B." }
        ] });
        let node = Doc::new(&root).node(&root);
        assert!(node.branches.is_none());
        assert_eq!(node.values, Some(vec![&json!("a"), &json!("b")]));
        assert_eq!(node.types, Some(BTreeSet::from(["string"])));
    }

    #[test]
    fn tagged_variants_make_a_union() {
        let root = json!({ "oneOf": [
            { "type": "string", "enum": ["Unit"] },
            { "type": "object", "properties": { "A": { "type": "string" } }, "required": ["A"] },
            { "type": "object", "properties": { "B": { "type": "string" } }, "required": ["B"] }
        ] });
        let node = Doc::new(&root).node(&root);
        assert_eq!(node.branches.as_ref().map(Vec::len), Some(2));
        assert_eq!(node.values, Some(vec![&json!("Unit")]));
    }

    #[test]
    fn circular_references_end() {
        let root = json!({
            "$defs": { "A": { "$ref": "#/$defs/B" }, "B": { "$ref": "#/$defs/A" }, "C": { "allOf": [{ "$ref": "#/$defs/C" }] } },
        });
        let doc = Doc::new(&root);
        assert!(doc.node(&root["$defs"]["A"]).dangling.is_some());
        assert!(doc.node(&root["$defs"]["C"]).dangling.is_some());
    }
}
