//! Error codes of error replies and close codes of close frames.

use std::borrow::Cow;
use std::fmt;

/// The code of an error reply (`__rpc_err`, `__error`).
///
/// The framework uses the associated constants; applications add their own
/// codes with [`ErrorCode::new`] (any string, by convention `SCREAMING_CASE`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ErrorCode(Cow<'static, str>);

impl ErrorCode {
    /// The frame is not JSON, not an object, has no `type`, or is binary.
    pub const BAD_REQUEST: Self = Self::from_static("BAD_REQUEST");
    /// No route has this name.
    pub const NOT_FOUND: Self = Self::from_static("NOT_FOUND");
    /// The payload does not match the route's input type.
    pub const VALIDATION: Self = Self::from_static("VALIDATION");
    /// The caller is not authenticated.
    pub const UNAUTHORIZED: Self = Self::from_static("UNAUTHORIZED");
    /// The caller may not do this.
    pub const FORBIDDEN: Self = Self::from_static("FORBIDDEN");
    /// The connection sends faster than its rate limit allows.
    pub const RATE_LIMITED: Self = Self::from_static("RATE_LIMITED");
    /// A payload over a size limit.
    pub const PAYLOAD_TOO_LARGE: Self = Self::from_static("PAYLOAD_TOO_LARGE");
    /// The handler did not finish within the call timeout.
    pub const TIMEOUT: Self = Self::from_static("TIMEOUT");
    /// The handler failed or panicked; nothing internal is disclosed.
    pub const INTERNAL: Self = Self::from_static("INTERNAL");
    /// Invalid handshake headers (an HTTP 400 body, never a frame).
    pub const INVALID_HEADERS: Self = Self::from_static("INVALID_HEADERS");
    /// The server refuses new connections (HTTP 503 before the upgrade).
    pub const UNAVAILABLE: Self = Self::from_static("UNAVAILABLE");

    /// An application-defined code.
    pub fn new(code: impl Into<Cow<'static, str>>) -> Self {
        Self(code.into())
    }

    /// A code from a string literal, usable in `const` items.
    pub const fn from_static(code: &'static str) -> Self {
        Self(Cow::Borrowed(code))
    }

    /// The code as it appears on the wire.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl serde::Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// WebSocket close codes used by the server.
pub struct CloseCode;

impl CloseCode {
    /// Normal close.
    pub const NORMAL: u16 = 1000;
    /// The server is going away (graceful shutdown).
    pub const GOING_AWAY: u16 = 1001;
    /// Policy: rate-limit abuse, slow consumer, session replaced.
    pub const POLICY: u16 = 1008;
    /// A message over the size limit.
    pub const TOO_BIG: u16 = 1009;
    /// An unexpected server error.
    pub const INTERNAL: u16 = 1011;
    /// The application's `disconnect` without a code of its own.
    pub const APPLICATION: u16 = 4000;
}
