//! The error object of `__rpc_err` and `__error` frames.

use crate::ErrorCode;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;

/// The `error` of an `__rpc_err` or `__error` frame:
///
/// ```json
/// {"code":"VALIDATION","message":"invalid type","path":"items[2].qty","data":null}
/// ```
///
/// `code`, `message`, `path` and `data` are always written (`null` when
/// absent); `route` only on `__error` frames, naming the route of the frame
/// at fault. Servers build it (zocket's `RpcError` wraps it), clients read
/// it (the Rust client's call error wraps it).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ErrorObject {
    code: ErrorCode,
    message: Cow<'static, str>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default, deserialize_with = "data")]
    data: Option<Box<RawValue>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    route: Option<String>,
}

/// `data: null` reads as no data.
fn data<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Box<RawValue>>, D::Error> {
    let raw = Box::<RawValue>::deserialize(d)?;
    Ok((raw.get() != "null").then_some(raw))
}

impl ErrorObject {
    /// An error with a code and a message.
    pub fn new(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            code,
            message: message.into(),
            path: None,
            data: None,
            route: None,
        }
    }

    /// Sets the path of the offending field (`items[2].qty`).
    pub fn with_path(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// Sets the structured details, as JSON.
    pub fn with_data(mut self, data: Box<RawValue>) -> Self {
        self.data = Some(data);
        self
    }

    /// Sets the route of the frame at fault (`__error` frames).
    pub fn with_route(mut self, route: impl Into<String>) -> Self {
        self.route = Some(route.into());
        self
    }

    /// The error code.
    pub fn code(&self) -> &ErrorCode {
        &self.code
    }

    /// The message for humans.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The path of the offending field, for `VALIDATION` errors.
    pub fn path(&self) -> Option<&str> {
        self.path.as_deref()
    }

    /// The structured details, as JSON; `None` when absent or `null`.
    pub fn data(&self) -> Option<&RawValue> {
        self.data.as_deref()
    }

    /// Decodes the structured details; `None` when there are none.
    pub fn data_as<T: serde::de::DeserializeOwned>(&self) -> Option<Result<T, serde_json::Error>> {
        self.data().map(|raw| serde_json::from_str(raw.get()))
    }

    /// The route of the frame at fault, on `__error` frames.
    pub fn route(&self) -> Option<&str> {
        self.route.as_deref()
    }
}

impl PartialEq for ErrorObject {
    fn eq(&self, other: &Self) -> bool {
        self.code == other.code
            && self.message == other.message
            && self.path == other.path
            && self.data.as_ref().map(|d| d.get()) == other.data.as_ref().map(|d| d.get())
            && self.route == other.route
    }
}

impl fmt::Display for ErrorObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)?;
        if let Some(path) = &self.path {
            write!(f, " (at `{path}`)")?;
        }
        if let Some(route) = &self.route {
            write!(f, " (route `{route}`)")?;
        }
        Ok(())
    }
}

impl std::error::Error for ErrorObject {}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn writes_every_key_and_reads_them_back() {
        let data = serde_json::value::to_raw_value(&json!({"sku": "a"})).unwrap();
        let err = ErrorObject::new(ErrorCode::new("OUT_OF_STOCK"), "gone")
            .with_path("sku")
            .with_data(data);
        let text = serde_json::to_string(&err).unwrap();
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&text).unwrap(),
            json!({"code":"OUT_OF_STOCK","message":"gone","path":"sku","data":{"sku":"a"}})
        );
        let back: ErrorObject = serde_json::from_str(&text).unwrap();
        assert_eq!(back, err);
        assert_eq!(
            back.data_as::<serde_json::Value>().unwrap().unwrap(),
            json!({"sku": "a"})
        );
    }

    #[test]
    fn null_data_is_no_data_and_display_names_path_and_route() {
        let err: ErrorObject = serde_json::from_str(
            r#"{"code":"NOT_FOUND","message":"no route x","path":null,"data":null,"route":"x"}"#,
        )
        .unwrap();
        assert!(err.data().is_none());
        assert_eq!(err.to_string(), "NOT_FOUND: no route x (route `x`)");
        let err = ErrorObject::new(ErrorCode::VALIDATION, "bad").with_path("items[2].qty");
        assert_eq!(err.to_string(), "VALIDATION: bad (at `items[2].qty`)");
    }
}
