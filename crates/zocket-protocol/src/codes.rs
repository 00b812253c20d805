//! Error codes of error replies and close codes of close frames.

use std::borrow::Cow;
use std::fmt;

/// The code of an error reply (`__rpc_err`, `__error`) or of a refused
/// handshake.
///
/// The protocol's codes are the associated constants; applications add
/// their own with [`ErrorCode::new`] (any string, by convention
/// `SCREAMING_CASE`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
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
    /// A per-connection limit of the server (rooms per connection, the
    /// length of a room name); `data` names it: `{"limit": "rooms", "max": 1000}`.
    pub const LIMIT_EXCEEDED: Self = Self::from_static("LIMIT_EXCEEDED");
    /// A resent call that already ran, whose reply was not kept for a
    /// resend (over the reply cache's byte budget): it was not run again.
    pub const REPLY_LOST: Self = Self::from_static("REPLY_LOST");
    /// The client cancelled the call (`__cancel`) before it finished: the
    /// handler was stopped.
    pub const CANCELLED: Self = Self::from_static("CANCELLED");
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

impl PartialEq<str> for ErrorCode {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl serde::Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for ErrorCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Self::new)
    }
}

/// A WebSocket close code (RFC 6455 section 7.4, and the application range
/// 4000-4999).
///
/// [`is_worth_reconnecting`](Self::is_worth_reconnecting) tells a client
/// whether the close was the server going away or failing (try again) or
/// the server's deliberate answer (do not).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CloseCode(pub u16);

impl CloseCode {
    /// Normal close.
    pub const NORMAL: Self = Self(1000);
    /// The server is going away (graceful shutdown).
    pub const GOING_AWAY: Self = Self(1001);
    /// A protocol violation (an oversized control frame, an unmasked client
    /// frame, a reserved opcode).
    pub const PROTOCOL_ERROR: Self = Self(1002);
    /// The connection ended without a close frame; never sent, only
    /// reported by clients.
    pub const ABNORMAL: Self = Self(1006);
    /// A text frame that is not valid UTF-8.
    pub const INVALID_DATA: Self = Self(1007);
    /// Policy: rate-limit abuse, slow consumer, session replaced.
    pub const POLICY: Self = Self(1008);
    /// A message over the size limit.
    pub const TOO_BIG: Self = Self(1009);
    /// An unexpected server error.
    pub const INTERNAL: Self = Self(1011);
    /// The server is restarting.
    pub const SERVICE_RESTART: Self = Self(1012);
    /// The server is overloaded for now.
    pub const TRY_AGAIN_LATER: Self = Self(1013);
    /// A gateway in front of the server failed.
    pub const BAD_GATEWAY: Self = Self(1014);
    /// The application's `disconnect` without a code of its own.
    pub const APPLICATION: Self = Self(4000);

    /// The code as a number.
    pub const fn get(self) -> u16 {
        self.0
    }

    /// Whether a client should reconnect after this close: the server went
    /// away, restarted, was overloaded or failed (`1001`, `1006`, `1011`,
    /// `1012`, `1013`, `1014`). Every other code is the server's deliberate
    /// answer (a normal close, a policy, a size limit, a protocol error, an
    /// application's `4xxx`), which a reconnection would only repeat.
    pub const fn is_worth_reconnecting(self) -> bool {
        matches!(self.0, 1001 | 1006 | 1011 | 1012 | 1013 | 1014)
    }

    /// Whether the code is in the application range, 4000-4999.
    pub const fn is_application(self) -> bool {
        self.0 >= 4000 && self.0 <= 4999
    }
}

impl From<u16> for CloseCode {
    fn from(code: u16) -> Self {
        Self(code)
    }
}

impl From<CloseCode> for u16 {
    fn from(code: CloseCode) -> Self {
        code.0
    }
}

impl PartialEq<u16> for CloseCode {
    fn eq(&self, other: &u16) -> bool {
        self.0 == *other
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_as_strings() {
        let code: ErrorCode = serde_json::from_str(r#""OUT_OF_STOCK""#).unwrap();
        assert_eq!(code, ErrorCode::new("OUT_OF_STOCK"));
        assert_eq!(
            serde_json::to_string(&ErrorCode::VALIDATION).unwrap(),
            r#""VALIDATION""#
        );
        assert_eq!(ErrorCode::NOT_FOUND, "NOT_FOUND");
    }

    #[test]
    fn only_going_away_and_failures_are_worth_a_reconnect() {
        for code in [1001, 1006, 1011, 1012, 1013, 1014] {
            assert!(CloseCode(code).is_worth_reconnecting(), "{code}");
        }
        for code in [1000, 1002, 1007, 1008, 1009, 4000, 4403, 4999] {
            assert!(!CloseCode(code).is_worth_reconnecting(), "{code}");
        }
        assert!(CloseCode(4403).is_application() && !CloseCode::POLICY.is_application());
    }
}
