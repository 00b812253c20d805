//! Decoding JSON into the application's types, with the path of the
//! offending field in the `VALIDATION` error: for route inputs and for
//! handshake headers alike.

use super::RpcError;
use serde::de::DeserializeOwned;
use zocket_protocol::ErrorCode;

/// Decodes a payload, naming the offending field on failure.
pub(crate) fn decode<I: DeserializeOwned>(json: &str) -> Result<I, RpcError> {
    // The fast path: plain serde_json. Only a payload that fails is decoded
    // again, tracking the path to the offending field.
    if let Ok(input) = serde_json::from_str(json) {
        return Ok(input);
    }
    let mut de = serde_json::Deserializer::from_str(json);
    serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let (path, message) = explain(&err);
        let err = RpcError::new(ErrorCode::VALIDATION, message);
        if path.is_empty() {
            err
        } else {
            err.with_path(path)
        }
    })
}

/// The path (`items[2].qty`, empty for the root) and message of a
/// deserialization error. A missing field is reported at its own path.
pub(crate) fn explain<E: std::fmt::Display>(
    err: &serde_path_to_error::Error<E>,
) -> (String, String) {
    let mut path = err.path().to_string();
    if path == "." {
        path.clear();
    }
    let mut message = err.inner().to_string();
    if let Some(at) = message.rfind(" at line ") {
        message.truncate(at);
    }
    if let Some(field) = message
        .strip_prefix("missing field `")
        .and_then(|m| m.strip_suffix('`'))
    {
        path = if path.is_empty() {
            field.to_owned()
        } else {
            format!("{path}.{field}")
        };
    }
    (path, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Order {
        items: Vec<Item>,
    }

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Item {
        qty: u32,
    }

    #[test]
    fn validation_errors_name_the_field() {
        let err = decode::<Order>(r#"{"items":[{"qty":1},{"qty":2},{"qty":"x"}]}"#).unwrap_err();
        assert_eq!(err.path(), Some("items[2].qty"));
        assert!(
            err.message().starts_with("invalid type: string"),
            "{}",
            err.message()
        );
        let err = decode::<Order>(r#"{"items":[{}]}"#).unwrap_err();
        assert_eq!(err.path(), Some("items[0].qty"));
        let err = decode::<Order>("null").unwrap_err();
        assert_eq!(err.path(), None);
    }
}
