//! The errors users see: error replies, handshake refusals, close frames.

use crate::protocol::{CloseCode, ErrorCode};
use axum::http::StatusCode;
use serde::Serialize;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;

/// An error reply: what a failed call resolves with (`__rpc_err`) and what a
/// failed message produces (`__error`).
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
#[derive(Clone, Debug)]
pub struct RpcError {
    code: ErrorCode,
    message: Cow<'static, str>,
    path: Option<String>,
    data: Option<Box<RawValue>>,
}

impl RpcError {
    /// An error with a code and a message for the client.
    pub fn new(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            code,
            message: message.into(),
            path: None,
            data: None,
        }
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

    /// `INTERNAL` with a generic message: the details belong in the logs.
    pub fn internal() -> Self {
        Self::new(ErrorCode::INTERNAL, "internal error")
    }

    /// Sets the path of the offending field.
    pub fn with_path(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// Attaches structured data for the client. A value that fails to
    /// serialize is left out (and logged) rather than failing the reply.
    pub fn with_data<T: Serialize + ?Sized>(mut self, data: &T) -> Self {
        match serde_json::value::to_raw_value(data) {
            Ok(raw) => self.data = Some(raw),
            Err(err) => tracing::warn!(%err, code = %self.code, "error data failed to serialize"),
        }
        self
    }

    /// The error code.
    pub fn code(&self) -> &ErrorCode {
        &self.code
    }

    /// The message for the client.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The path of the offending field, if any.
    pub fn path(&self) -> Option<&str> {
        self.path.as_deref()
    }

    /// The structured data, if any.
    pub fn data(&self) -> Option<&RawValue> {
        self.data.as_deref()
    }
}

impl fmt::Display for RpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)?;
        if let Some(path) = &self.path {
            write!(f, " (at {path})")?;
        }
        Ok(())
    }
}

impl std::error::Error for RpcError {}

/// A refusal before the upgrade, from `on_before_connect`: a plain HTTP
/// response with `{"error":{"code":...,"message":...}}`.
#[derive(Clone, Debug)]
pub struct Reject {
    pub(crate) status: StatusCode,
    pub(crate) code: ErrorCode,
    pub(crate) message: Cow<'static, str>,
}

impl Reject {
    /// A refusal with any status, code and message.
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// `401 UNAUTHORIZED`.
    pub fn unauthorized(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, ErrorCode::UNAUTHORIZED, message)
    }

    /// `403 FORBIDDEN`.
    pub fn forbidden(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::FORBIDDEN, ErrorCode::FORBIDDEN, message)
    }
}

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
        let code = if (4000..=4999).contains(&code) {
            code
        } else {
            CloseCode::APPLICATION
        };
        let mut reason = reason.into();
        if reason.len() > 123 {
            let mut end = 123;
            while !reason.is_char_boundary(end) {
                end -= 1;
            }
            reason = Cow::Owned(reason[..end].to_owned());
        }
        Self { code, reason }
    }

    /// A close with code 4000 and a reason.
    pub fn reason(reason: impl Into<Cow<'static, str>>) -> Self {
        Self::new(CloseCode::APPLICATION, reason)
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

/// Why an event could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The payload failed to serialize.
    #[error("event payload failed to serialize: {0}")]
    Serialize(#[from] serde_json::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_codes_stay_in_the_application_range() {
        assert_eq!(Close::new(4321, "x").code(), 4321);
        assert_eq!(Close::new(1000, "x").code(), 4000);
        let long = "é".repeat(100);
        assert!(Close::new(4001, long).reason_text().len() <= 123);
    }
}
