//! Why a connection ended, as `on_disconnect` receives it.

use crate::protocol::Close;
use std::fmt;
use zocket_protocol::CloseCode;

/// Why a connection ended.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// The client closed the socket, with its close code when it sent one
    /// (none when the TCP connection just ended).
    ClientClosed {
        /// The client's close code.
        code: Option<u16>,
        /// The client's close reason.
        reason: String,
    },
    /// No frame, not even a pong, arrived within the heartbeat timeout.
    HeartbeatTimeout,
    /// The client sent nothing after the upgrade, not even the pong of the
    /// opening ping, within the open timeout: it never completed its side
    /// of the upgrade. Ends the session.
    OpeningTimeout,
    /// The application called `disconnect`.
    Disconnected(Close),
    /// The server shut down.
    Shutdown,
    /// The outbound queue overflowed (`1008 slow consumer`).
    SlowConsumer,
    /// Too many messages over the rate limit (`1008`).
    RateLimited,
    /// A message over the size limit (`1009`).
    MessageTooLarge,
    /// A newer connection resumed the session (`1008 replaced`).
    Replaced,
    /// A text frame that is not valid UTF-8 (`1007`).
    InvalidUtf8,
    /// A WebSocket protocol violation: an oversized or fragmented control
    /// frame, an unmasked frame, reserved bits or opcodes (`1002`).
    ProtocolViolation(String),
    /// A transport or server error.
    Error(String),
}

impl DisconnectReason {
    /// The close frame the server sends for this reason, if any.
    pub(crate) fn close_frame(&self) -> Option<(u16, String)> {
        match self {
            Self::ClientClosed { .. } | Self::HeartbeatTimeout | Self::OpeningTimeout => None,
            Self::Disconnected(close) => Some((close.code, close.reason.to_string())),
            Self::Shutdown => Some((CloseCode::GOING_AWAY.get(), "server shutting down".into())),
            Self::SlowConsumer => Some((CloseCode::POLICY.get(), "slow consumer".into())),
            Self::RateLimited => Some((CloseCode::POLICY.get(), "rate limit exceeded".into())),
            Self::MessageTooLarge => Some((CloseCode::TOO_BIG.get(), "message too large".into())),
            Self::Error(_) => Some((CloseCode::INTERNAL.get(), "server error".into())),
            Self::Replaced => Some((CloseCode::POLICY.get(), "replaced".into())),
            Self::InvalidUtf8 => Some((CloseCode::INVALID_DATA.get(), "invalid UTF-8".into())),
            Self::ProtocolViolation(_) => {
                Some((CloseCode::PROTOCOL_ERROR.get(), "protocol violation".into()))
            }
        }
    }

    /// Whether the client may come back and resume its session: the
    /// connection was lost rather than closed on purpose (a protocol
    /// violation or invalid data ends the session). A client's `1001`
    /// ("going away": a browser leaving or reloading its page) counts as
    /// lost, so a reloaded page can resume.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::ClientClosed {
                code: None | Some(1001),
                ..
            } | Self::HeartbeatTimeout
                | Self::Error(_)
        )
    }

    /// Whether queued frames go out before the close frame.
    pub(crate) fn flushes(&self) -> bool {
        !matches!(self, Self::SlowConsumer)
    }
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ClientClosed {
                code: Some(code),
                reason,
            } => write!(f, "client closed ({code} {reason})"),
            Self::ClientClosed { code: None, .. } => f.write_str("client went away"),
            Self::HeartbeatTimeout => f.write_str("heartbeat timeout"),
            Self::OpeningTimeout => f.write_str("no answer to the opening ping"),
            Self::Disconnected(close) => {
                write!(f, "disconnected ({} {})", close.code, close.reason)
            }
            Self::Shutdown => f.write_str("server shutdown"),
            Self::SlowConsumer => f.write_str("slow consumer"),
            Self::RateLimited => f.write_str("rate limit exceeded"),
            Self::MessageTooLarge => f.write_str("message too large"),
            Self::Error(err) => write!(f, "error: {err}"),
            Self::Replaced => f.write_str("replaced by a newer connection"),
            Self::InvalidUtf8 => f.write_str("invalid UTF-8 in a text frame"),
            Self::ProtocolViolation(what) => write!(f, "protocol violation: {what}"),
        }
    }
}
