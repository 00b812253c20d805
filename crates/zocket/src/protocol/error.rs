//! What a handler fails with ([`RpcError`]) and how the application closes
//! a connection ([`Close`]).

use serde::Serialize;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;
use zocket_protocol::{CloseCode, ErrorCode, ErrorObject};

/// An error reply: what a failed call resolves with (`__rpc_err`) and what a
/// failed message produces (`__error`). It wraps the protocol's
/// [`ErrorObject`].
///
/// Handlers return `Result<T, E>` with `E: Into<RpcError>`, so an
/// application's own error type only needs a `From` impl:
///
/// ```
/// use zocket::{ErrorCode, RpcError};
///
/// enum ShopError { OutOfStock { sku: String } }
///
/// impl From<ShopError> for RpcError {
///     fn from(err: ShopError) -> Self {
///         match err {
///             ShopError::OutOfStock { sku } => RpcError::new(ErrorCode::new("OUT_OF_STOCK"), "out of stock")
///                 .with_data(&serde_json::json!({ "sku": sku })),
///         }
///     }
/// }
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct RpcError(ErrorObject);

impl RpcError {
    /// An error with a code and a message for the client.
    pub fn new(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self(ErrorObject::new(code, message))
    }

    /// `BAD_REQUEST`.
    pub fn bad_request(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::BAD_REQUEST, message)
    }

    /// `NOT_FOUND`.
    pub fn not_found(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::NOT_FOUND, message)
    }

    /// `VALIDATION` on the field at `path` (for example `items[2].qty`).
    pub fn validation(path: impl Into<String>, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::VALIDATION, message).with_path(path)
    }

    /// `UNAUTHORIZED`.
    pub fn unauthorized(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::UNAUTHORIZED, message)
    }

    /// `FORBIDDEN`.
    pub fn forbidden(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::FORBIDDEN, message)
    }

    /// The error of an application error type whose serialized form
    /// names its code: a string (`"NOT_IN_ROOM"`, a unit variant), or an
    /// object `{"code": ..., "data": ...}` (an enum with
    /// `#[serde(tag = "code", content = "data")]`), whose `data` is
    /// attached. So the codes the schema lists (from the type's
    /// `JsonSchema`) are the codes clients get. Anything else is
    /// `INTERNAL`, logged.
    ///
    /// ```
    /// use zocket::RpcError;
    ///
    /// #[derive(serde::Serialize, schemars::JsonSchema)]
    /// #[serde(tag = "code", content = "data", rename_all = "SCREAMING_SNAKE_CASE")]
    /// enum SendError { NotInRoom { room: String } }
    ///
    /// impl From<SendError> for RpcError {
    ///     fn from(err: SendError) -> Self {
    ///         let SendError::NotInRoom { room } = &err;
    ///         let message = format!("not in room {room}");
    ///         RpcError::app(&err, message)
    ///     }
    /// }
    ///
    /// let err = RpcError::from(SendError::NotInRoom { room: "general".into() });
    /// assert_eq!(err.code().as_str(), "NOT_IN_ROOM");
    /// assert_eq!(err.data().unwrap().get(), r#"{"room":"general"}"#);
    /// ```
    pub fn app<E: Serialize + ?Sized>(err: &E, message: impl Into<Cow<'static, str>>) -> Self {
        match serde_json::to_value(err) {
            Ok(serde_json::Value::String(code)) => Self::new(ErrorCode::new(code), message),
            Ok(serde_json::Value::Object(mut object)) => match object.remove("code") {
                Some(serde_json::Value::String(code)) => {
                    let error = Self::new(ErrorCode::new(code), message);
                    match object.remove("data") {
                        Some(data) => error.with_data(&data),
                        // Tagged by `code` without `content`: the other
                        // fields are the data.
                        None if !object.is_empty() => error.with_data(&object),
                        None => error,
                    }
                }
                _ => {
                    tracing::warn!("an application error serialized without a string `code`");
                    Self::internal()
                }
            },
            Ok(_) => {
                tracing::warn!("an application error serialized to neither a code nor an object");
                Self::internal()
            }
            Err(err) => {
                tracing::warn!(%err, "an application error failed to serialize");
                Self::internal()
            }
        }
    }

    /// `INTERNAL` with a generic message: the details belong in the logs.
    pub fn internal() -> Self {
        Self::new(ErrorCode::INTERNAL, "internal error")
    }

    /// Sets the path of the offending field.
    pub fn with_path(self, path: impl Into<String>) -> Self {
        Self(self.0.with_path(path))
    }

    /// Attaches structured data for the client. A value that fails to
    /// serialize is left out (and logged) rather than failing the reply.
    pub fn with_data<T: Serialize + ?Sized>(self, data: &T) -> Self {
        match serde_json::value::to_raw_value(data) {
            Ok(raw) => Self(self.0.with_data(raw)),
            Err(err) => {
                tracing::warn!(%err, code = %self.code(), "error data failed to serialize");
                self
            }
        }
    }

    /// The error code.
    pub fn code(&self) -> &ErrorCode {
        self.0.code()
    }

    /// The message for the client.
    pub fn message(&self) -> &str {
        self.0.message()
    }

    /// The path of the offending field, if any.
    pub fn path(&self) -> Option<&str> {
        self.0.path()
    }

    /// The structured data, if any.
    pub fn data(&self) -> Option<&RawValue> {
        self.0.data()
    }

    /// The error object as it goes on the wire.
    pub fn as_object(&self) -> &ErrorObject {
        &self.0
    }
}

impl From<ErrorObject> for RpcError {
    fn from(object: ErrorObject) -> Self {
        Self(object)
    }
}

impl From<RpcError> for ErrorObject {
    fn from(err: RpcError) -> Self {
        err.0
    }
}

impl fmt::Display for RpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code(), self.message())?;
        if let Some(path) = self.path() {
            write!(f, " (at {path})")?;
        }
        Ok(())
    }
}

impl std::error::Error for RpcError {}

/// A close frame chosen by the application: for a failed `on_connect` and
/// for `disconnect`. Codes are kept in the application range 4000-4999.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Close {
    pub(crate) code: u16,
    pub(crate) reason: Cow<'static, str>,
}

impl Close {
    /// A close with an application code (4000-4999; others become 4000).
    /// The reason is cut to the 123 bytes a close frame can carry.
    pub fn new(code: u16, reason: impl Into<Cow<'static, str>>) -> Self {
        let code = if CloseCode(code).is_application() {
            code
        } else {
            CloseCode::APPLICATION.get()
        };
        Self {
            code,
            reason: cut_reason(reason.into()),
        }
    }

    /// A close with code 4000 and a reason.
    pub fn reason(reason: impl Into<Cow<'static, str>>) -> Self {
        Self::new(CloseCode::APPLICATION.get(), reason)
    }

    /// The close code.
    pub fn code(&self) -> u16 {
        self.code
    }

    /// The reason text.
    pub fn reason_text(&self) -> &str {
        &self.reason
    }
}

/// Cuts a close reason to the 123 bytes a close frame can carry, on a
/// character boundary.
fn cut_reason(mut reason: Cow<'static, str>) -> Cow<'static, str> {
    if reason.len() > 123 {
        let mut end = 123;
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        reason = Cow::Owned(reason[..end].to_owned());
    }
    reason
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_tagged_by_code_without_content_keeps_its_fields_as_data() {
        #[derive(serde::Serialize)]
        #[serde(tag = "code", rename_all = "SCREAMING_SNAKE_CASE")]
        enum Shop {
            OutOfStock { sku: String },
            Closed,
        }
        let err = RpcError::app(&Shop::OutOfStock { sku: "a1".into() }, "gone");
        assert_eq!(err.code().as_str(), "OUT_OF_STOCK");
        assert_eq!(err.data().map(|d| d.get()), Some(r#"{"sku":"a1"}"#));
        let closed = RpcError::app(&Shop::Closed, "shut");
        assert_eq!(
            (closed.code().as_str(), closed.data().is_none()),
            ("CLOSED", true)
        );
    }

    #[test]
    fn close_codes_stay_in_the_application_range() {
        assert_eq!(Close::new(4321, "x").code(), 4321);
        assert_eq!(Close::new(1000, "x").code(), 4000);
        let long = "é".repeat(100);
        assert!(Close::new(4001, long).reason_text().len() <= 123);
    }

    #[test]
    fn rpc_errors_are_the_wire_object() {
        let err = RpcError::validation("items[2].qty", "bad").with_data(&[1, 2]);
        assert_eq!(err.as_object().path(), Some("items[2].qty"));
        assert_eq!(err.data().map(RawValue::get), Some("[1,2]"));
        assert_eq!(err.to_string(), "VALIDATION: bad (at items[2].qty)");
    }
}
