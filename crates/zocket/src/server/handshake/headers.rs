//! The header schema: fields read from query parameters and HTTP headers,
//! converted to their JSON types with the type's JSON Schema as the guide,
//! then deserialized. Every issue is reported with its field path.

use axum::http::HeaderMap;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};
use std::marker::PhantomData;
use zocket_protocol::{HEADERS_PROTOCOL_PREFIX, HeaderIssue};

/// The header type of a server that needs none.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
pub struct NoHeaders {}

impl Headers for NoHeaders {}

/// A handshake header type: a struct whose every field is a flat value
/// ([`HeaderValue`]), since fields arrive as HTTP headers, query parameters
/// or one flat JSON object.
///
/// Derive it (`#[derive(zocket::Headers)]`) beside `Deserialize` and
/// `JsonSchema`: the derive checks each field at compile time, so a nested
/// struct or a list is an error on that field, not a server refusing every
/// connection. `#[serde(flatten)]` fields must be `Headers` themselves;
/// `#[serde(skip)]` fields are not checked.
///
/// ```compile_fail
/// #[derive(serde::Deserialize, schemars::JsonSchema)]
/// struct Profile { age: u8 }
///
/// #[derive(serde::Deserialize, schemars::JsonSchema, zocket::Headers)]
/// struct MyHeaders {
///     name: String,
///     profile: Profile, // error: `Profile` is not a flat header value
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a zocket header type",
    label = "add `#[derive(zocket::Headers)]` to `{Self}`",
    note = "the derive checks at compile time that every header field is a flat value"
)]
pub trait Headers {}

/// A value one header field may have: a string, a number, a boolean, an
/// enum of unit variants (by its serialized names), or an `Option` of one.
///
/// Derive it for your own enums of unit variants, or newtypes over such a
/// value: `#[derive(zocket::HeaderValue)]`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a flat header value",
    label = "a header field is a string, a number, a boolean, an enum of unit variants, or an `Option` of one",
    note = "header fields arrive as HTTP headers, query parameters or one flat JSON object: a nested struct, a list or a map cannot; for an enum of unit variants, add `#[derive(zocket::HeaderValue)]`"
)]
pub trait HeaderValue {}

macro_rules! header_values {
    ($($ty:ty),* $(,)?) => { $(impl HeaderValue for $ty {})* };
}

header_values!(
    String,
    Box<str>,
    std::sync::Arc<str>,
    std::borrow::Cow<'static, str>,
    char,
    bool,
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    f32,
    f64,
);

impl<T: HeaderValue> HeaderValue for Option<T> {}

/// JSON types a field accepts.
#[derive(Default, Clone, Copy, Debug)]
struct Kinds {
    string: bool,
    integer: bool,
    number: bool,
    boolean: bool,
    null: bool,
    /// An object or an array: not a header value.
    nested: bool,
}

impl Kinds {
    fn add(&mut self, name: &str) {
        match name {
            "string" => self.string = true,
            "integer" => self.integer = true,
            "number" => self.number = true,
            "boolean" => self.boolean = true,
            "null" => self.null = true,
            "object" | "array" => self.nested = true,
            _ => {}
        }
    }

    fn describe(&self) -> String {
        let mut names = Vec::new();
        if self.integer {
            names.push("an integer");
        }
        if self.number {
            names.push("a number");
        }
        if self.boolean {
            names.push("`true` or `false`");
        }
        if self.string {
            names.push("a string");
        }
        names.join(" or ")
    }
}

/// What the schema says about one field.
#[derive(Debug, Default)]
struct Field {
    name: String,
    /// Lowercase, without `-` and `_`: how HTTP header names are matched.
    folded: String,
    kinds: Kinds,
    required: bool,
    allowed: Option<Vec<Value>>,
    min_length: Option<u64>,
    max_length: Option<u64>,
    minimum: Option<f64>,
    maximum: Option<f64>,
}

fn fold(name: &str) -> String {
    name.chars()
        .filter(|c| *c != '-' && *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

/// The compiled header schema of `H`.
pub(crate) struct HeaderSchema<H> {
    fields: Vec<Field>,
    _headers: PhantomData<fn() -> H>,
}

impl<H: DeserializeOwned + JsonSchema> HeaderSchema<H> {
    /// The fields that cannot come from a header: objects and arrays
    /// (header values are flat). A server with such headers is not built.
    pub(crate) fn nested_fields(&self) -> Vec<&str> {
        self.fields
            .iter()
            .filter(|field| field.kinds.nested)
            .map(|field| field.name.as_str())
            .collect()
    }

    /// Reads the top-level properties of `H`'s JSON Schema.
    pub(crate) fn new() -> Self {
        let schema = schemars::schema_for!(H);
        let root = schema.as_value();
        let defs = root.get("$defs");
        let required: Vec<&str> = root
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut fields = Vec::new();
        if let Some(props) = root.get("properties").and_then(Value::as_object) {
            for (name, prop) in props {
                let mut field = Field {
                    name: name.clone(),
                    folded: fold(name),
                    required: required.contains(&name.as_str()),
                    ..Field::default()
                };
                describe(prop, defs, &mut field, 0);
                fields.push(field);
            }
        }
        Self {
            fields,
            _headers: PhantomData,
        }
    }

    /// Merges HTTP headers, the fields of a `zocket.headers.` subprotocol
    /// entry and query parameters (in that order of precedence) and
    /// validates the result.
    pub(crate) fn parse(
        &self,
        query: Option<&str>,
        headers: &HeaderMap,
    ) -> Result<H, Vec<HeaderIssue>> {
        let query: Vec<(String, String)> = query
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        let mut issues = Vec::new();
        let from_protocol = match protocol_fields(headers) {
            Ok(fields) => fields,
            Err(issue) => {
                issues.push(issue);
                Map::new()
            }
        };
        let mut object = Map::new();
        for field in &self.fields {
            let from_header = headers.iter().find_map(|(name, value)| {
                // Raw UTF-8 is accepted: the Rust client sends non-ASCII
                // values as they are.
                (fold(name.as_str()) == field.folded)
                    .then(|| std::str::from_utf8(value.as_bytes()).map(str::to_owned))
            });
            let raw = match from_header {
                Some(Ok(value)) => Some(value),
                Some(Err(_)) => {
                    issues.push(issue(&field.name, "header value is not UTF-8"));
                    continue;
                }
                None => match from_protocol.get(&field.name) {
                    Some(Value::String(value)) => Some(value.clone()),
                    Some(value @ (Value::Number(_) | Value::Bool(_))) => Some(value.to_string()),
                    Some(Value::Null) => None,
                    Some(_) => {
                        issues.push(issue(&field.name, "expected a flat value"));
                        continue;
                    }
                    None => query
                        .iter()
                        .find(|(k, _)| *k == field.name)
                        .map(|(_, v)| v.clone()),
                },
            };
            match raw {
                Some(raw) => match convert(field, raw) {
                    Ok(value) => {
                        object.insert(field.name.clone(), value);
                    }
                    Err(message) => issues.push(issue(&field.name, message)),
                },
                None if field.required => issues.push(issue(&field.name, "missing required field")),
                None => {}
            }
        }
        match serde_path_to_error::deserialize::<_, H>(Value::Object(object)) {
            Ok(headers) if issues.is_empty() => Ok(headers),
            Ok(_) => Err(issues),
            Err(err) => {
                let (path, message) = crate::protocol::explain(&err);
                if !issues.iter().any(|i| i.path == path) {
                    issues.push(issue(&path, message));
                }
                Err(issues)
            }
        }
    }
}

/// The fields of a `zocket.headers.<base64url JSON>` subprotocol entry
/// (browser clients), if there is one.
fn protocol_fields(headers: &HeaderMap) -> Result<Map<String, Value>, HeaderIssue> {
    use base64::Engine;
    let entry =
        super::subprotocols(headers).find_map(|entry| entry.strip_prefix(HEADERS_PROTOCOL_PREFIX));
    let Some(encoded) = entry else {
        return Ok(Map::new());
    };
    let unusable = || {
        issue(
            HEADERS_PROTOCOL_PREFIX.trim_end_matches('.'),
            "not a base64url-encoded JSON object",
        )
    };
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(encoded.trim_end_matches('='))
        .map_err(|_| unusable())?;
    match serde_json::from_slice(&json) {
        Ok(Value::Object(fields)) => Ok(fields),
        _ => Err(unusable()),
    }
}

fn issue(path: &str, message: impl Into<String>) -> HeaderIssue {
    HeaderIssue {
        path: path.to_owned(),
        message: message.into(),
    }
}

/// Collects the accepted types and constraints of a property schema,
/// following `$ref`, `anyOf` and `oneOf`.
fn describe(schema: &Value, defs: Option<&Value>, field: &mut Field, depth: u8) {
    if depth > 8 {
        return;
    }
    let Some(obj) = schema.as_object() else {
        return;
    };
    if let Some(target) = obj.get("$ref").and_then(Value::as_str) {
        let name = target.rsplit('/').next().unwrap_or_default();
        if let Some(def) = defs.and_then(|d| d.get(name)) {
            describe(def, defs, field, depth + 1);
        }
    }
    match obj.get("type") {
        Some(Value::String(t)) => field.kinds.add(t),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .for_each(|t| field.kinds.add(t)),
        _ => {}
    }
    if let Some(values) = obj.get("enum").and_then(Value::as_array) {
        field
            .allowed
            .get_or_insert_with(Vec::new)
            .extend(values.iter().cloned());
        values.iter().for_each(|v| add_kind_of(v, field));
    }
    if let Some(value) = obj.get("const") {
        field
            .allowed
            .get_or_insert_with(Vec::new)
            .push(value.clone());
        add_kind_of(value, field);
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(options) = obj.get(key).and_then(Value::as_array) {
            options
                .iter()
                .for_each(|o| describe(o, defs, field, depth + 1));
        }
    }
    let num = |k: &str| obj.get(k).and_then(Value::as_f64);
    let len = |k: &str| obj.get(k).and_then(Value::as_u64);
    field.min_length = field.min_length.or(len("minLength"));
    field.max_length = field.max_length.or(len("maxLength"));
    field.minimum = field.minimum.or(num("minimum"));
    field.maximum = field.maximum.or(num("maximum"));
}

fn add_kind_of(value: &Value, field: &mut Field) {
    match value {
        Value::String(_) => field.kinds.string = true,
        Value::Number(n) if n.is_f64() => field.kinds.number = true,
        Value::Number(_) => field.kinds.integer = true,
        Value::Bool(_) => field.kinds.boolean = true,
        Value::Null => field.kinds.null = true,
        _ => {}
    }
}

/// Turns the string form of a field into the JSON value its schema expects.
fn convert(field: &Field, raw: String) -> Result<Value, String> {
    let k = field.kinds;
    let value = if k.integer
        && let Ok(n) = raw.parse::<i64>()
    {
        Value::from(n)
    } else if k.integer
        && let Ok(n) = raw.parse::<u64>()
    {
        Value::from(n)
    } else if k.number
        && let Some(n) = raw.parse::<f64>().ok().and_then(Number::from_f64)
    {
        Value::Number(n)
    } else if k.boolean && (raw == "true" || raw == "false") {
        Value::Bool(raw == "true")
    } else if k.string || !(k.integer || k.number || k.boolean) {
        Value::String(raw)
    } else {
        return Err(format!("expected {}, got {raw:?}", k.describe()));
    };
    if let Some(allowed) = &field.allowed
        && !allowed.contains(&value)
    {
        let list: Vec<String> = allowed.iter().map(Value::to_string).collect();
        return Err(format!("expected one of {}", list.join(", ")));
    }
    if let Value::String(s) = &value {
        let chars = s.chars().count() as u64;
        if let Some(min) = field.min_length.filter(|min| chars < *min) {
            return Err(format!("must be at least {min} characters"));
        }
        if let Some(max) = field.max_length.filter(|max| chars > *max) {
            return Err(format!("must be at most {max} characters"));
        }
    }
    if let Some(n) = value.as_f64() {
        if let Some(min) = field.minimum.filter(|min| n < *min) {
            return Err(format!("must be at least {min}"));
        }
        if let Some(max) = field.maximum.filter(|max| n > *max) {
            return Err(format!("must be at most {max}"));
        }
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[derive(Debug, Deserialize, JsonSchema, PartialEq)]
    #[serde(rename_all = "lowercase")]
    enum Role {
        Admin,
        Guest,
    }

    fn default_limit() -> u32 {
        10
    }

    #[derive(Debug, Deserialize, JsonSchema)]
    #[serde(rename_all = "camelCase")]
    struct Headers {
        #[schemars(length(min = 1, max = 5))]
        name: String,
        #[serde(default = "default_limit")]
        limit: u32,
        verbose: Option<bool>,
        role: Role,
        auth_token: Option<String>,
    }

    fn parse(query: &str, headers: &[(&'static str, &str)]) -> Result<Headers, Vec<HeaderIssue>> {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        HeaderSchema::<Headers>::new().parse(Some(query), &map)
    }

    fn protocol_entry(json: &str) -> String {
        use base64::Engine;
        let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json);
        format!("zocket.v1, zocket.refusals, zocket.headers.{encoded}")
    }

    #[test]
    fn reads_fields_from_a_subprotocol_entry_between_headers_and_query() {
        let entry = protocol_entry(
            r#"{"name":"ada","limit":7,"verbose":true,"role":"guest","authToken":"t0k"}"#,
        );
        let h = parse("name=bob&limit=3", &[("sec-websocket-protocol", &entry)]).unwrap();
        // The entry wins over the query; numbers and booleans keep their types.
        assert_eq!(
            (
                h.name.as_str(),
                h.limit,
                h.verbose,
                &h.role,
                h.auth_token.as_deref()
            ),
            ("ada", 7, Some(true), &Role::Guest, Some("t0k"))
        );
        let h = parse("", &[("sec-websocket-protocol", &entry), ("name", "cy")]).unwrap();
        assert_eq!(h.name, "cy", "an HTTP header wins over the entry");
        // Its values are checked like any other.
        let entry = protocol_entry(r#"{"name":"toolong","role":"admin","limit":"x"}"#);
        let issues = parse("", &[("sec-websocket-protocol", &entry)]).unwrap_err();
        let paths: Vec<&str> = issues.iter().map(|i| i.path.as_str()).collect();
        assert_eq!(paths, ["limit", "name"], "{issues:?}");
        let entry = protocol_entry(r#"{"name":{"nested":1},"role":"admin"}"#);
        let issues = parse("", &[("sec-websocket-protocol", &entry)]).unwrap_err();
        assert_eq!(issues[0].message, "expected a flat value");
        // An entry that is not base64url JSON is one issue, named after it.
        let issues = parse(
            "name=ada&role=admin",
            &[("sec-websocket-protocol", "zocket.v1, zocket.headers.%%%")],
        )
        .unwrap_err();
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].path, "zocket.headers");
        let not_object = protocol_entry("[1]");
        assert!(
            parse(
                "name=ada&role=admin",
                &[("sec-websocket-protocol", &not_object)]
            )
            .is_err()
        );
    }

    #[test]
    fn reads_typed_fields_from_query_and_headers() {
        let h = parse(
            "name=ada&verbose=true&role=admin&x-zocket-version=0.1.0",
            &[("auth-token", "t")],
        )
        .unwrap();
        assert_eq!(h.name, "ada");
        assert_eq!(h.limit, 10);
        assert_eq!(h.verbose, Some(true));
        assert_eq!(h.role, Role::Admin);
        assert_eq!(h.auth_token.as_deref(), Some("t"));
    }

    #[test]
    fn http_header_wins_over_query() {
        let h = parse("name=query&role=guest&limit=3", &[("Name", "hdr")]).unwrap();
        assert_eq!(h.name, "hdr");
        assert_eq!(h.limit, 3);
    }

    #[test]
    fn header_values_are_utf8_bytes() {
        let mut map = HeaderMap::new();
        map.insert("name", HeaderValue::from_bytes("Zoë".as_bytes()).unwrap());
        map.insert("role", HeaderValue::from_static("guest"));
        let h = HeaderSchema::<Headers>::new().parse(None, &map).unwrap();
        assert_eq!(h.name, "Zoë");
        map.insert("name", HeaderValue::from_bytes(&[0xff, 0xfe]).unwrap());
        let issues = HeaderSchema::<Headers>::new()
            .parse(None, &map)
            .unwrap_err();
        assert_eq!(issues[0].message, "header value is not UTF-8");
    }

    #[test]
    fn lists_every_issue() {
        let issues = parse("name=toolongname&limit=x&verbose=maybe&role=root", &[]).unwrap_err();
        let paths: Vec<&str> = issues.iter().map(|i| i.path.as_str()).collect();
        assert_eq!(paths, ["limit", "name", "role", "verbose"], "{issues:?}");
        let issues = parse("", &[]).unwrap_err();
        assert!(
            issues
                .iter()
                .any(|i| i.path == "name" && i.message.contains("missing"))
        );
        assert!(issues.iter().any(|i| i.path == "role"));
    }
}
