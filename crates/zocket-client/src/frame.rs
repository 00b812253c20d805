//! The protocol's frames as the client sees them: server frames read from
//! text, client frames written to text.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;
use std::fmt;

/// The error object of `__rpc_err` and `__error` frames.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct ErrorBody {
    /// `VALIDATION`, `NOT_FOUND`, or an application's code.
    pub code: String,
    /// A message for humans.
    pub message: String,
    /// The offending field, for `VALIDATION`.
    #[serde(default)]
    pub path: Option<String>,
    /// Structured details.
    #[serde(default)]
    pub data: Option<Value>,
    /// The route, on `__error` frames.
    #[serde(default)]
    pub route: Option<String>,
}

impl fmt::Display for ErrorBody {
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

/// The `__ready` payload.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Ready {
    /// This connection's client id.
    pub client_id: String,
    /// The secret that resumes the session.
    pub session_id: String,
    /// The server's protocol version.
    pub protocol_version: u32,
    /// Whether a previous session was resumed.
    pub recovered: bool,
}

/// A frame from the server.
#[derive(Debug)]
#[non_exhaustive]
pub enum ServerFrame {
    /// The first frame of a connection.
    Ready(Ready),
    /// A call's successful reply.
    Reply {
        /// The call's id.
        rpc_id: String,
        /// The reply's JSON.
        payload: Box<RawValue>,
    },
    /// A call's error reply.
    CallError {
        /// The call's id.
        rpc_id: String,
        /// What went wrong.
        error: ErrorBody,
    },
    /// An error for a frame sent without `rpcId`.
    Error(ErrorBody),
    /// An event.
    Event {
        /// The event's name.
        name: String,
        /// The payload's JSON.
        payload: Box<RawValue>,
        /// The event's number in the session.
        seq: Option<u64>,
    },
    /// A frame of a reserved type (`__...`) this client does not know.
    Unknown {
        /// The frame's `type`.
        kind: String,
    },
}

/// Why a server frame could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// Not JSON, or not of any documented shape.
    #[error("malformed server frame: {0}")]
    Malformed(#[from] serde_json::Error),
    /// A reply frame without its `rpcId`.
    #[error("`{0}` frame without `rpcId`")]
    MissingRpcId(&'static str),
    /// An error frame without its `error`.
    #[error("`{0}` frame without `error`")]
    MissingError(&'static str),
}

#[derive(Deserialize)]
struct Raw {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    payload: Option<Box<RawValue>>,
    #[serde(default, rename = "rpcId")]
    rpc_id: Option<String>,
    #[serde(default)]
    error: Option<ErrorBody>,
    #[serde(default)]
    seq: Option<u64>,
}

fn null() -> Box<RawValue> {
    RawValue::from_string("null".into()).unwrap_or_else(|_| unreachable!("`null` is valid JSON"))
}

impl ServerFrame {
    /// Reads one text frame.
    pub fn parse(text: &str) -> Result<Self, FrameError> {
        let raw: Raw = serde_json::from_str(text)?;
        Ok(match raw.kind.as_str() {
            "__ready" => Self::Ready(serde_json::from_str(
                raw.payload.unwrap_or_else(null).get(),
            )?),
            "__rpc_res" => Self::Reply {
                rpc_id: raw.rpc_id.ok_or(FrameError::MissingRpcId("__rpc_res"))?,
                payload: raw.payload.unwrap_or_else(null),
            },
            "__rpc_err" => Self::CallError {
                rpc_id: raw.rpc_id.ok_or(FrameError::MissingRpcId("__rpc_err"))?,
                error: raw.error.ok_or(FrameError::MissingError("__rpc_err"))?,
            },
            "__error" => Self::Error(raw.error.ok_or(FrameError::MissingError("__error"))?),
            reserved if reserved.starts_with("__") => Self::Unknown { kind: raw.kind },
            _ => Self::Event {
                name: raw.kind,
                payload: raw.payload.unwrap_or_else(null),
                seq: raw.seq,
            },
        })
    }
}

/// A frame to the server: a call when it has an `rpc_id`, else a message.
#[derive(Serialize)]
pub(crate) struct ClientFrame<'a, I: ?Sized> {
    #[serde(rename = "type")]
    pub(crate) route: &'a str,
    pub(crate) payload: &'a I,
    #[serde(rename = "rpcId", skip_serializing_if = "Option::is_none")]
    pub(crate) rpc_id: Option<&'a str>,
}

impl<I: Serialize + ?Sized> ClientFrame<'_, I> {
    /// The frame's JSON text; fails when the payload does not serialize.
    pub(crate) fn encode(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_documented_frame() {
        let ready = r#"{"type":"__ready","payload":{"clientId":"c","sessionId":"s","protocolVersion":1,"recovered":false}}"#;
        assert!(
            matches!(ServerFrame::parse(ready).unwrap(), ServerFrame::Ready(r) if r.client_id == "c" && !r.recovered)
        );
        let reply =
            ServerFrame::parse(r#"{"type":"__rpc_res","rpcId":"1","payload":{"a":1}}"#).unwrap();
        assert!(
            matches!(reply, ServerFrame::Reply { rpc_id, payload } if rpc_id == "1" && payload.get() == r#"{"a":1}"#)
        );
        let err = ServerFrame::parse(
            r#"{"type":"__rpc_err","rpcId":"2","error":{"code":"VALIDATION","message":"m","path":"a[1]","data":null}}"#,
        )
        .unwrap();
        assert!(
            matches!(err, ServerFrame::CallError { error, .. } if error.path.as_deref() == Some("a[1]"))
        );
        let event = ServerFrame::parse(r#"{"type":"chat.message","payload":{},"seq":3}"#).unwrap();
        assert!(
            matches!(event, ServerFrame::Event { name, seq: Some(3), .. } if name == "chat.message")
        );
        assert!(matches!(
            ServerFrame::parse(r#"{"type":"__rpc_res"}"#),
            Err(FrameError::MissingRpcId(_))
        ));
        assert!(ServerFrame::parse("[]").is_err());
    }

    #[test]
    fn reserved_types_it_does_not_know_are_not_events() {
        let frame = ServerFrame::parse(r#"{"type":"__future","payload":1}"#).unwrap();
        assert!(matches!(frame, ServerFrame::Unknown { kind } if kind == "__future"));
    }

    #[test]
    fn writes_calls_and_messages() {
        let call = ClientFrame {
            route: "a.b",
            payload: &serde_json::json!({"x": 1}),
            rpc_id: Some("7"),
        };
        assert_eq!(
            call.encode().unwrap(),
            r#"{"type":"a.b","payload":{"x":1},"rpcId":"7"}"#
        );
        let message = ClientFrame {
            route: "a.b",
            payload: &(),
            rpc_id: None,
        };
        assert_eq!(
            message.encode().unwrap(),
            r#"{"type":"a.b","payload":null}"#
        );
    }

    #[test]
    fn error_bodies_display_code_message_and_path() {
        let body = ErrorBody {
            code: "VALIDATION".into(),
            message: "bad".into(),
            path: Some("items[2].qty".into()),
            data: None,
            route: None,
        };
        assert_eq!(body.to_string(), "VALIDATION: bad (at `items[2].qty`)");
    }
}
