//! The TypeScript client of an API, generated from its schema: one named
//! type per definition, a map of routes and one of events, and a factory
//! giving one method per route and one subscription per event on the
//! `@zocket/client` runtime.
//!
//! JSON Schema to TypeScript: objects become interfaces (fields not
//! required become optional), `$defs` named types, `enum` and `const`
//! literal unions, `oneOf`/`anyOf` unions (serde's tagged enums become
//! discriminated unions), `additionalProperties` records, arrays and tuples.
//! Integers and floats are both `number`; the doc comment says which, with
//! every declared constraint.

use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt::Write;

/// The module that generated code imports the runtime from.
pub const RUNTIME: &str = "@zocket/client";

/// The TypeScript module of the API `name` (the definition's name, `Chat`)
/// whose schema `Chat::schema()` gives. `Chat::typescript()` calls this.
pub fn typescript(schema: &Value, name: &str) -> String {
    Generator::new(schema, name).module()
}

struct Generator<'a> {
    api: String,
    schema: &'a Value,
    out: String,
}

/// A node of the client object: members at this path, then nested paths.
#[derive(Default)]
struct Node {
    members: Vec<Member>,
    children: BTreeMap<String, Node>,
}

struct Member {
    key: String,
    docs: String,
    ty: String,
    init: String,
}

impl<'a> Generator<'a> {
    fn new(schema: &'a Value, name: &str) -> Self {
        Self {
            api: identifier(name),
            schema,
            out: String::new(),
        }
    }

    fn module(mut self) -> String {
        let api = self.api.clone();
        let hash = zocket_protocol::schema_hash(self.schema);
        let _ = write!(
            self.out,
            "// The typed client of the `{api}` API, generated from its Rust definition\n\
             // by zocket (`{api}::typescript()`). Do not edit: regenerate it instead.\n\n\
             import * as zocket from \"{RUNTIME}\";\n\n"
        );
        doc(
            &mut self.out,
            "",
            "The hash of the API schema this module was generated from; the server sends its own in `__ready.schemaHash`.",
        );
        let _ = writeln!(self.out, "export const schemaHash = \"{hash}\";\n");

        let defs = sorted(self.schema.get("$defs"));
        for (name, def) in &defs {
            if *name == "RpcError" {
                continue;
            }
            self.definition(&identifier(name), def);
        }
        let headers = match self.schema.get("headers") {
            Some(Value::Object(h)) if h.contains_key("$ref") => ty(&Value::Object(h.clone()), 0),
            Some(h) => {
                let name = format!("{api}Headers");
                self.definition(&name, h);
                name
            }
            None => "{ [key: string]: never }".to_owned(),
        };

        let routes = sorted(self.schema.get("routes"));
        let events = sorted(self.schema.get("events"));
        let mut root = Node::default();
        doc(
            &mut self.out,
            "",
            "Every route of the API by name: its kind, input, output (a stream's items) and error codes.",
        );
        let _ = writeln!(self.out, "export interface {api}Routes {{");
        for (name, route) in &routes {
            let kind = route.get("kind").and_then(Value::as_str).unwrap_or("call");
            let input = input_type(route.get("input"));
            // A stream's "output" is the type of its items.
            let output = match route.get("output").or_else(|| route.get("item")) {
                Some(output) => ty(output, 1),
                None => "void".to_owned(),
            };
            let mut codes = Vec::new();
            if let Some(error) = route.get("error") {
                error_codes(error, self.schema.get("$defs"), &mut codes, 0);
            }
            let error = std::iter::once("zocket.ErrorCode".to_owned())
                .chain(codes.iter().map(|code| quote(code)))
                .collect::<Vec<_>>()
                .join(" | ");
            let _ = writeln!(
                self.out,
                "  {}: {{ kind: \"{kind}\"; input: {input}; output: {output}; error: {error} }};",
                key(name)
            );
            let (path, last) = split(name);
            let method = match kind {
                "message" => format!("zocket.MessageMethod<{input}>"),
                "stream" => format!("zocket.StreamMethod<{input}, {output}, {error}>"),
                _ => format!("zocket.CallMethod<{input}, {output}, {error}>"),
            };
            root.at(&path).members.push(Member {
                key: last.to_owned(),
                docs: description(route),
                ty: method,
                init: match kind {
                    "message" => format!("client.method({}, \"message\")", quote(name)),
                    "stream" => format!("client.method({}, \"stream\")", quote(name)),
                    _ => format!("client.method({})", quote(name)),
                },
            });
        }
        self.out.push_str("}\n\n");
        doc(
            &mut self.out,
            "",
            "Every event of the API by name, with its payload.",
        );
        let _ = writeln!(self.out, "export interface {api}Events {{");
        for (name, event) in &events {
            let payload = event.get("payload").map_or("unknown".into(), |p| ty(p, 1));
            let _ = writeln!(self.out, "  {}: {payload};", key(name));
            let (path, last) = split(name);
            let mut docs = description(event);
            if let Some(policy) = event.get("whenFull").and_then(Value::as_str) {
                if !docs.is_empty() {
                    docs.push_str("\n\n");
                }
                let _ = write!(
                    docs,
                    "Ephemeral (`when_full = \"{policy}\"`): the server drops some for a client \
                     that falls behind, and replays none on resume; the listener's `info.dropped` \
                     counts those missed before this one."
                );
            }
            root.at(&path).members.push(Member {
                key: format!("on{}", capitalized(last)),
                docs,
                ty: format!("zocket.Subscribe<{payload}>"),
                init: format!("client.subscriber({})", quote(name)),
            });
        }
        self.out.push_str("}\n\n");

        // The connection itself, under a key no route or namespace uses.
        let client_key = ["client", "connection", "zocketClient"]
            .into_iter()
            .find(|k| !root.children.contains_key(*k) && !root.members.iter().any(|m| m.key == *k))
            .unwrap_or("zocketClient");
        let client_ty = format!("zocket.ZocketClient<{headers}, {api}Routes, {api}Events>");
        root.members.push(Member {
            key: client_key.to_owned(),
            docs: "The connection: its state, events by name, the session, `close()`.".into(),
            ty: client_ty.clone(),
            init: "client".into(),
        });
        doc(
            &mut self.out,
            "",
            &format!(
                "The typed client of the `{api}` API: one method per route, one subscription per event."
            ),
        );
        let _ = writeln!(self.out, "export interface {api}Api {{");
        root.types(&mut self.out, 1);
        self.out.push_str("}\n\n");
        doc(
            &mut self.out,
            "",
            &format!(
                "Connects to a server of the `{api}` API (reconnecting and recovering its session on its own)."
            ),
        );
        let _ = writeln!(
            self.out,
            "export function create{api}Client(options: zocket.ClientOptions<{headers}>): {api}Api {{\n  \
             const client = new {client_ty}({{ schemaHash, ...options }});\n  \
             return {{"
        );
        root.values(&mut self.out, 2);
        self.out.push_str("  };\n}\n");
        self.out
    }

    /// `export interface` or `export type` for one named schema.
    fn definition(&mut self, name: &str, def: &Value) {
        doc(&mut self.out, "", &description(def));
        let plain_object = def.get("properties").is_some()
            && !def.as_object().is_some_and(|d| {
                ["oneOf", "anyOf", "allOf", "enum", "const"]
                    .iter()
                    .any(|k| d.contains_key(*k))
                    || d.get("additionalProperties").is_some_and(Value::is_object)
            });
        if plain_object {
            let _ = writeln!(self.out, "export interface {name} {{");
            fields(&mut self.out, def, 1);
            self.out.push_str("}\n\n");
        } else {
            let text = ty(def, 0);
            let sep = if text.starts_with('\n') { "" } else { " " };
            let _ = writeln!(self.out, "export type {name} ={sep}{text};\n");
        }
    }
}

impl Node {
    fn at(&mut self, path: &[&str]) -> &mut Node {
        path.iter().fold(self, |node, segment| {
            node.children.entry((*segment).to_owned()).or_default()
        })
    }

    fn types(&self, out: &mut String, depth: usize) {
        let pad = "  ".repeat(depth);
        for (name, child) in &self.children {
            let _ = writeln!(out, "{pad}{}: {{", key(name));
            child.types(out, depth + 1);
            let _ = writeln!(out, "{pad}}};");
        }
        for member in &self.members {
            doc(out, &pad, &member.docs);
            let _ = writeln!(out, "{pad}{}: {};", key(&member.key), member.ty);
        }
    }

    fn values(&self, out: &mut String, depth: usize) {
        let pad = "  ".repeat(depth);
        for (name, child) in &self.children {
            let _ = writeln!(out, "{pad}{}: {{", key(name));
            child.values(out, depth + 1);
            let _ = writeln!(out, "{pad}}},");
        }
        for member in &self.members {
            let _ = writeln!(out, "{pad}{}: {},", key(&member.key), member.init);
        }
    }
}

/// The codes an application error type declares: the string values of
/// its schema (unit variants), or of its `code` property (variants tagged
/// by `code`). zocket's own `RpcError` declares none.
fn error_codes(schema: &Value, defs: Option<&Value>, codes: &mut Vec<String>, depth: u8) {
    if depth > 16 {
        return;
    }
    if let Some(target) = schema.get("$ref").and_then(Value::as_str) {
        let name = target.rsplit('/').next().unwrap_or(target);
        if name != "RpcError"
            && let Some(def) = defs.and_then(|d| d.get(name))
        {
            error_codes(def, defs, codes, depth + 1);
        }
        return;
    }
    let mut add = |value: &Value| {
        if let Some(code) = value.as_str()
            && !codes.iter().any(|c| c == code)
        {
            codes.push(code.to_owned());
        }
    };
    if let Some(value) = schema.get("const") {
        add(value);
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        values.iter().for_each(&mut add);
    }
    if let Some(code) = schema.get("properties").and_then(|p| p.get("code")) {
        error_codes(code, defs, codes, depth + 1);
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(options) = schema.get(key).and_then(Value::as_array) {
            for option in options {
                error_codes(option, defs, codes, depth + 1);
            }
        }
    }
}

/// A route name's namespace path and last segment.
fn split(name: &str) -> (Vec<&str>, &str) {
    let mut segments: Vec<&str> = name.split('.').collect();
    let last = segments.pop().unwrap_or(name);
    (segments, last)
}

/// Object entries sorted by key, so the output never depends on how the
/// JSON maps of this build order their keys.
fn sorted(value: Option<&Value>) -> BTreeMap<&str, &Value> {
    value
        .and_then(Value::as_object)
        .map(|map| map.iter().map(|(k, v)| (k.as_str(), v)).collect())
        .unwrap_or_default()
}

/// A route input: `void` when it takes none, so the method needs no
/// argument.
fn input_type(input: Option<&Value>) -> String {
    match input {
        None => "void".into(),
        Some(v)
            if v.get("type").and_then(Value::as_str) == Some("null")
                && v.as_object().is_some_and(|o| o.len() == 1) =>
        {
            "void".into()
        }
        Some(v) => ty(v, 1),
    }
}

/// The fields of an object schema, one per line at `depth`.
fn fields(out: &mut String, schema: &Value, depth: usize) {
    let pad = "  ".repeat(depth);
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for (name, prop) in sorted(schema.get("properties")) {
        let mut text = description(prop);
        let limits = constraints(prop);
        if !limits.is_empty() {
            if !text.is_empty() {
                text.push_str("\n\n");
            }
            text.push_str(&limits);
        }
        doc(out, &pad, &text);
        let optional = if required.contains(&name) { "" } else { "?" };
        let _ = writeln!(out, "{pad}{}{optional}: {};", key(name), ty(prop, depth));
    }
}

/// The TypeScript type of a schema; multi-line parts are indented for
/// `depth`.
fn ty(schema: &Value, depth: usize) -> String {
    let obj = match schema {
        Value::Bool(true) => return "unknown".into(),
        Value::Bool(false) => return "never".into(),
        Value::Object(obj) => obj,
        _ => return "unknown".into(),
    };
    if let Some(target) = obj.get("$ref").and_then(Value::as_str) {
        let named = identifier(target.rsplit('/').next().unwrap_or(target));
        // Fields beside the reference (the tag of an internally tagged
        // newtype variant): both.
        return match obj.contains_key("properties") {
            true => format!("{named} & {}", of_type("object", obj, depth)),
            false => named,
        };
    }
    if let Some(value) = obj.get("const") {
        return value.to_string();
    }
    if let Some(values) = obj.get("enum").and_then(Value::as_array) {
        return union(plain(values.iter().map(Value::to_string)), depth);
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(options) = obj.get(key).and_then(Value::as_array) {
            let members = options
                .iter()
                .map(|option| (description(option), ty(option, depth + 2)))
                .collect();
            let alternatives = union(members, depth);
            // A struct's own fields beside its flattened enum: both.
            return match obj.contains_key("properties") {
                true => format!("{} & ({alternatives})", of_type("object", obj, depth)),
                false => alternatives,
            };
        }
    }
    if let Some(parts) = obj.get("allOf").and_then(Value::as_array) {
        let parts: Vec<String> = parts.iter().map(|p| grouped(ty(p, depth))).collect();
        return parts.join(" & ");
    }
    match obj.get("type") {
        Some(Value::String(kind)) => of_type(kind, obj, depth),
        Some(Value::Array(kinds)) => union(
            plain(
                kinds
                    .iter()
                    .filter_map(Value::as_str)
                    .map(|kind| of_type(kind, obj, depth)),
            ),
            depth,
        ),
        _ if obj.contains_key("properties") => of_type("object", obj, depth),
        _ => "unknown".into(),
    }
}

fn of_type(kind: &str, obj: &Map<String, Value>, depth: usize) -> String {
    match kind {
        "string" => "string".into(),
        "integer" | "number" => "number".into(),
        "boolean" => "boolean".into(),
        "null" => "null".into(),
        "array" => {
            if let Some(items) = obj.get("prefixItems").and_then(Value::as_array) {
                let items: Vec<String> = items.iter().map(|i| ty(i, depth)).collect();
                return format!("[{}]", items.join(", "));
            }
            match obj.get("items") {
                Some(items) => format!("{}[]", grouped(ty(items, depth))),
                None => "unknown[]".into(),
            }
        }
        "object" => {
            let values = obj
                .get("additionalProperties")
                .filter(|v| v.is_object())
                .map(|v| format!("{{ [key: string]: {} }}", ty(v, depth)));
            let has_fields = obj
                .get("properties")
                .and_then(Value::as_object)
                .is_some_and(|p| !p.is_empty());
            let inline = has_fields.then(|| {
                let mut text = String::from("{\n");
                fields(&mut text, &Value::Object(obj.clone()), depth + 1);
                text.push_str(&"  ".repeat(depth));
                text.push('}');
                text
            });
            match (inline, values) {
                (Some(inline), Some(values)) => format!("{inline} & {values}"),
                (Some(inline), None) => inline,
                (None, Some(values)) => values,
                (None, None) => "{ [key: string]: unknown }".into(),
            }
        }
        _ => "unknown".into(),
    }
}

/// A type in parentheses when it is a union or an intersection, so that
/// `[]` or `&` applies to all of it.
fn grouped(ty: String) -> String {
    match ty.contains(" | ") || ty.contains(" & ") || ty.starts_with('\n') {
        true => format!("({ty})"),
        false => ty,
    }
}

/// Union members without doc comments.
fn plain(members: impl Iterator<Item = String>) -> Vec<(String, String)> {
    members.map(|member| (String::new(), member)).collect()
}

/// A union of `(doc, type)` members: on one line when short and without
/// docs, else one member per line, each after its doc comment.
fn union(mut members: Vec<(String, String)>, depth: usize) -> String {
    members.dedup();
    if members.len() == 1 {
        return members.remove(0).1;
    }
    let one_line = members
        .iter()
        .map(|(_, ty)| ty.as_str())
        .collect::<Vec<_>>()
        .join(" | ");
    let documented = members.iter().any(|(docs, _)| !docs.is_empty());
    if one_line.len() <= 80 && !one_line.contains('\n') && !documented {
        return one_line;
    }
    let pad = "  ".repeat(depth + 1);
    let mut text = String::new();
    for (docs, member) in members {
        text.push('\n');
        doc(&mut text, &pad, &docs);
        let _ = write!(text, "{pad}| {member}");
    }
    text
}

/// The description of a schema, if it has one.
fn description(schema: &Value) -> String {
    schema
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// The declared constraints of a field, as a sentence for its doc comment.
fn constraints(schema: &Value) -> String {
    let get = |k: &str| schema.get(k).and_then(Value::as_f64);
    let num = |v: f64| match v.fract() == 0.0 && v.abs() < 1e15 {
        true => format!("{}", v as i64),
        false => v.to_string(),
    };
    let range = |min: Option<f64>, max: Option<f64>, unit: &str| match (min, max) {
        (Some(a), Some(b)) if a == b => Some(format!("exactly {}{unit}", num(a))),
        (Some(a), Some(b)) => Some(format!("{} to {}{unit}", num(a), num(b))),
        (Some(a), None) => Some(format!("at least {}{unit}", num(a))),
        (None, Some(b)) => Some(format!("at most {}{unit}", num(b))),
        (None, None) => None,
    };
    let kinds: Vec<&str> = match schema.get("type") {
        Some(Value::String(k)) => vec![k.as_str()],
        Some(Value::Array(ks)) => ks.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let mut parts: Vec<String> = Vec::new();
    if kinds.contains(&"integer") {
        let mut text = String::from("An integer");
        if let Some(format) = schema.get("format").and_then(Value::as_str) {
            let _ = write!(text, " ({format})");
        }
        if let Some(range) = range(get("minimum"), get("maximum"), "") {
            let _ = write!(text, ", {range}");
        }
        parts.push(text + ".");
    } else if let Some(range) = range(get("minimum"), get("maximum"), "") {
        parts.push(capitalized(&range) + ".");
    }
    if let Some(range) = range(get("minLength"), get("maxLength"), " characters") {
        parts.push(capitalized(&range) + ".");
    }
    if schema.get("prefixItems").is_none()
        && let Some(range) = range(get("minItems"), get("maxItems"), " items")
    {
        parts.push(capitalized(&range) + ".");
    }
    if let Some(pattern) = schema.get("pattern").and_then(Value::as_str) {
        parts.push(format!("Matches `{pattern}`."));
    }
    // `double` and `float` say nothing a `number` does not.
    if !kinds.contains(&"integer")
        && let Some(format) = schema.get("format").and_then(Value::as_str)
        && !matches!(format, "double" | "float")
    {
        parts.push(format!("Format: `{format}`."));
    }
    parts.join(" ")
}

/// A doc comment at `pad`: one line when the text is, else a block.
fn doc(out: &mut String, pad: &str, text: &str) {
    let text = text.trim().replace("*/", "*\\/");
    if text.is_empty() {
        return;
    }
    if !text.contains('\n') {
        let _ = writeln!(out, "{pad}/** {text} */");
        return;
    }
    let _ = writeln!(out, "{pad}/**");
    for line in text.lines() {
        match line.trim_end() {
            "" => {
                let _ = writeln!(out, "{pad} *");
            }
            line => {
                let _ = writeln!(out, "{pad} * {line}");
            }
        }
    }
    let _ = writeln!(out, "{pad} */");
}

/// A property key: bare when it is an identifier, else quoted.
fn key(name: &str) -> String {
    let mut chars = name.chars();
    let bare = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
    match bare {
        true => name.to_owned(),
        false => quote(name),
    }
}

fn quote(text: &str) -> String {
    Value::String(text.to_owned()).to_string()
}

/// A type name from a definition name (`Wrapper<u32>` → `Wrapper_u32_`).
fn identifier(name: &str) -> String {
    let mut id: String = name
        .chars()
        .map(|c| match c.is_ascii_alphanumeric() || c == '_' {
            true => c,
            false => '_',
        })
        .collect();
    if id.starts_with(|c: char| c.is_ascii_digit()) {
        id.insert(0, '_');
    }
    id
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
