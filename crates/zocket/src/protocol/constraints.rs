//! The constraints a route input's schema declares beyond its type
//! (lengths, ranges, patterns, item counts), checked before the handler
//! runs, so that the published schema is exactly what the server accepts.
//!
//! Serde already enforces types, required fields and enum variants; an
//! input whose schema declares nothing more gets no validator and pays
//! nothing. One that does is parsed into a JSON tree, which gives the
//! input and is checked against its JSON Schema (2020-12) with the
//! `jsonschema` crate.

use super::RpcError;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// The keywords serde does not check by itself.
const CONSTRAINTS: &[&str] = &[
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minProperties",
    "maxProperties",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
];

/// A compiled check of one input type's declared constraints.
pub(crate) struct Constraints(jsonschema::Validator);

impl Constraints {
    /// The check for `I`, or `None` when its schema declares nothing that
    /// decoding does not already enforce.
    pub(crate) fn of<I: JsonSchema>() -> Option<Self> {
        let schema = schemars::schema_for!(I).to_value();
        if !declares(&schema, 0) {
            return None;
        }
        match jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .build(&schema)
        {
            Ok(validator) => Some(Self(validator)),
            Err(err) => {
                // schemars emits valid schemas; a failure here is a bug to see.
                tracing::error!(%err, input = %I::schema_name(), "the input's schema does not compile: its constraints are not checked");
                None
            }
        }
    }

    /// Decodes a payload as `I` and checks it: the payload is parsed once
    /// into a JSON tree, which gives the input and is checked; a payload
    /// that does not decode gets the same error (with its path) as without
    /// constraints.
    pub(crate) fn decode<I: DeserializeOwned>(&self, json: &str) -> Result<I, RpcError> {
        let Ok(value) = serde_json::from_str::<Value>(json) else {
            return super::decode(json);
        };
        let input = match I::deserialize(&value) {
            Ok(input) => input,
            // What a JSON tree cannot hold exactly (integers past 64 bits)
            // decodes from the text; the tree is still what is checked.
            Err(_) => super::decode(json)?,
        };
        self.check_value(&value)?;
        Ok(input)
    }

    /// Checks a payload that already decoded into the input type: the
    /// first violation is a `VALIDATION` error at its field's path.
    #[cfg(test)]
    pub(crate) fn check(&self, json: &str) -> Result<(), RpcError> {
        let value: Value = serde_json::from_str(json).unwrap_or(Value::Null);
        self.check_value(&value)
    }

    /// Checks a decoded payload's tree.
    fn check_value(&self, value: &Value) -> Result<(), RpcError> {
        match self.0.iter_errors(value).next() {
            None => Ok(()),
            Some(err) => {
                let path = field_path(err.instance_path().as_str());
                // Masked: the message never repeats the client's value.
                let message = err.masked().to_string();
                Err(match path.is_empty() {
                    true => RpcError::new(zocket_protocol::ErrorCode::VALIDATION, message),
                    false => RpcError::validation(path, message),
                })
            }
        }
    }
}

/// Whether a schema declares a constraint anywhere, `minimum` and
/// `maximum` counting only where they narrow what the integer type allows.
fn declares(schema: &Value, depth: u8) -> bool {
    if depth > 64 {
        return false;
    }
    match schema {
        Value::Array(items) => items.iter().any(|item| declares(item, depth + 1)),
        Value::Object(object) => {
            if CONSTRAINTS.iter().any(|key| object.contains_key(*key)) {
                return true;
            }
            let (low, high) = implied_range(object.get("format").and_then(Value::as_str));
            let narrows = |key: &str, implied: Option<f64>| {
                object
                    .get(key)
                    .and_then(Value::as_f64)
                    .is_some_and(|bound| Some(bound) != implied)
            };
            if narrows("minimum", low) || narrows("maximum", high) {
                return true;
            }
            object.values().any(|value| declares(value, depth + 1))
        }
        _ => false,
    }
}

/// The range an integer format allows, which serde enforces already.
fn implied_range(format: Option<&str>) -> (Option<f64>, Option<f64>) {
    let bits = |signed: bool, n: i32| -> (Option<f64>, Option<f64>) {
        let span = 2f64.powi(n);
        match signed {
            true => (Some(-span / 2.0), Some(span / 2.0 - 1.0)),
            false => (Some(0.0), Some(span - 1.0)),
        }
    };
    match format {
        Some("uint8") => bits(false, 8),
        Some("uint16") => bits(false, 16),
        Some("uint32") => bits(false, 32),
        Some("uint64" | "uint" | "uint128") => (Some(0.0), None),
        Some("int8") => bits(true, 8),
        Some("int16") => bits(true, 16),
        Some("int32") => bits(true, 32),
        _ => (None, None),
    }
}

/// A JSON Pointer (`/items/2/qty`) as a field path (`items[2].qty`).
fn field_path(pointer: &str) -> String {
    let mut path = String::new();
    for segment in pointer.split('/').skip(1) {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) {
            path.push('[');
            path.push_str(&segment);
            path.push(']');
        } else {
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(&segment);
        }
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, JsonSchema)]
    #[allow(dead_code)]
    struct Plain {
        name: String,
        count: u32,
        small: u8,
        tags: Vec<String>,
        maybe: Option<i64>,
    }

    #[derive(Deserialize, JsonSchema)]
    #[allow(dead_code)]
    struct Item {
        #[schemars(range(min = 1, max = 10))]
        qty: u32,
    }

    #[derive(Deserialize, JsonSchema)]
    #[allow(dead_code)]
    struct Order {
        #[schemars(length(min = 1, max = 3))]
        code: String,
        #[schemars(regex(pattern = r"^[a-z]+$"))]
        slug: Option<String>,
        #[schemars(length(max = 2))]
        items: Vec<Item>,
    }

    #[test]
    fn an_input_without_declared_constraints_gets_no_check() {
        assert!(Constraints::of::<Plain>().is_none());
        assert!(Constraints::of::<String>().is_none());
        assert!(Constraints::of::<u8>().is_none());
        assert!(Constraints::of::<Order>().is_some());
    }

    #[test]
    fn each_violation_is_reported_at_its_field() {
        let order = Constraints::of::<Order>().expect("constrained");
        let check = |json: &str| {
            order
                .check(json)
                .err()
                .map(|e| (e.path().map(str::to_owned), e.code().as_str().to_owned()))
        };
        assert_eq!(check(r#"{"code":"abc","items":[{"qty":10}]}"#), None);
        let too_long = check(r#"{"code":"toolong","items":[]}"#);
        assert_eq!(too_long, Some((Some("code".into()), "VALIDATION".into())));
        assert_eq!(
            check(r#"{"code":"a","items":[{"qty":1},{"qty":11}]}"#),
            Some((Some("items[1].qty".into()), "VALIDATION".into()))
        );
        assert_eq!(
            check(r#"{"code":"a","slug":"No!","items":[]}"#).map(|e| e.0),
            Some(Some("slug".into()))
        );
        assert_eq!(
            check(r#"{"code":"a","items":[{"qty":1},{"qty":1},{"qty":1}]}"#).map(|e| e.0),
            Some(Some("items".into()))
        );
        // The message names the rule, never the client's value.
        let err = order
            .check(r#"{"code":"s3cretvalue","items":[]}"#)
            .unwrap_err();
        assert!(!err.message().contains("s3cret"), "{}", err.message());
        assert!(err.message().contains('3'), "{}", err.message());
    }

    #[derive(Debug, Deserialize, JsonSchema)]
    #[allow(dead_code)]
    struct Big {
        #[schemars(range(max = 1000))]
        n: u128,
    }

    #[test]
    fn what_a_json_tree_cannot_hold_exactly_is_still_checked() {
        let big = Constraints::of::<Big>().expect("constrained");
        // Past 64 bits: the tree holds a float, the text decodes as u128.
        let err = big
            .decode::<Big>(r#"{"n":100000000000000000000}"#)
            .unwrap_err();
        assert_eq!(err.path(), Some("n"));
        assert_eq!(big.decode::<Big>(r#"{"n":1000}"#).unwrap().n, 1000);
    }

    #[test]
    fn pointers_become_field_paths() {
        assert_eq!(field_path(""), "");
        assert_eq!(field_path("/items/2/qty"), "items[2].qty");
        assert_eq!(field_path("/a~1b/0"), "a/b[0]");
    }
}
