//! Frames: the reserved frame types, client frames (written by clients,
//! read by servers) and server frames (read by clients).
//!
//! A client frame is `{"type", "payload"?, "rpcId"?}`: a call when it has
//! an `rpcId`, else a message. Server frames are `__ready`, `__rpc_res`,
//! `__rpc_err`, `__error`, and events, whose `type` is the event's name
//! and which carry a `seq`.

use crate::{ErrorObject, Ready};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;

/// The server's first frame: [`Ready`].
pub const READY: &str = "__ready";
/// A call's successful reply.
pub const RPC_RES: &str = "__rpc_res";
/// A call's error reply.
pub const RPC_ERR: &str = "__rpc_err";
/// An error for a frame sent without `rpcId`.
pub const ERROR: &str = "__error";
/// An application-level ping from a client (browsers cannot send
/// WebSocket pings); the server answers with [`PONG`].
pub const PING: &str = "__ping";
/// The server's answer to [`PING`]: `{"type":"__pong"}`.
pub const PONG: &str = "__pong";
/// A client's request to stop a call in flight:
/// `{"type":"__cancel","rpcId":...}`. The server stops the handler and the
/// call's one reply is a `CANCELLED` error; a call already finished (or
/// unknown) is left as it is.
pub const CANCEL: &str = "__cancel";
/// An item of a stream: `{"type":"__item","rpcId":...,"n":1,"payload":...}`,
/// numbered per stream from 1.
pub const ITEM: &str = "__item";
/// A client's grant of credit to a stream: `{"type":"__credit","rpcId":...,
/// "payload":{"received":n,"window":w}}` ([`Credit`]).
pub const CREDIT: &str = "__credit";
/// Frame types starting with this are reserved for the protocol.
pub const RESERVED_PREFIX: &str = "__";

/// A frame to the server: a call when it has an `rpc_id`, else a message.
#[derive(Debug, Serialize)]
pub struct ClientFrame<'a, I: ?Sized> {
    /// The route.
    #[serde(rename = "type")]
    pub route: &'a str,
    /// The input.
    pub payload: &'a I,
    /// The call's id; `None` for a message.
    #[serde(rename = "rpcId", skip_serializing_if = "Option::is_none")]
    pub rpc_id: Option<&'a str>,
}

impl<I: Serialize + ?Sized> ClientFrame<'_, I> {
    /// The frame's JSON text; fails when the payload does not serialize.
    pub fn encode(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }
}

/// The payload of a `__credit` frame: the client has received a stream's
/// items up to number `received`, and the server may send up to
/// `received + window`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credit {
    /// The number (`n`) of the last item received; 0 before the first.
    pub received: u64,
    /// How many items past `received` the server may send.
    pub window: u64,
}

impl Credit {
    /// The `__credit` frame granting this to stream `rpc_id`.
    pub fn to_frame(&self, rpc_id: &str) -> String {
        let rpc_id = serde_json::Value::from(rpc_id);
        format!(
            r#"{{"type":"{CREDIT}","rpcId":{rpc_id},"payload":{{"received":{},"window":{}}}}}"#,
            self.received, self.window
        )
    }
}

/// A client frame as a server reads it, borrowing from the text.
#[derive(Debug, Deserialize)]
pub struct Envelope<'a> {
    /// The route.
    #[serde(rename = "type", borrow)]
    pub route: Cow<'a, str>,
    /// The payload; absent and `null` both mean `null`.
    #[serde(borrow, default)]
    pub payload: Option<&'a RawValue>,
    /// Present on calls: the reply carries it back.
    #[serde(rename = "rpcId", borrow, default)]
    pub rpc_id: Option<Cow<'a, str>>,
}

/// Why a client frame is not a valid envelope: the message of the
/// `BAD_REQUEST` reply, and the frame's `rpcId` when it had a usable one
/// (the reply is then an `__rpc_err` for it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvelopeError {
    /// What is wrong.
    pub message: String,
    /// The frame's `rpcId`, when it had a usable one.
    pub rpc_id: Option<String>,
}

impl fmt::Display for EnvelopeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for EnvelopeError {}

impl<'a> Envelope<'a> {
    /// Parses one text frame: a JSON object (an array of the same fields
    /// is not an envelope).
    pub fn parse(text: &'a str) -> Result<Self, EnvelopeError> {
        if !is_object(text) {
            return Err(explain(text));
        }
        serde_json::from_str(text).map_err(|_| explain(text))
    }
}

/// Whether `text` starts, after JSON whitespace, with `{`.
fn is_object(text: &str) -> bool {
    text.trim_start_matches([' ', '\t', '\n', '\r'])
        .starts_with('{')
}

/// The keys `explain` looks at, read without building the rest: values
/// are skipped as raw JSON, so any depth of nesting is read.
#[derive(Deserialize)]
struct Keys<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<&'a RawValue>,
    #[serde(rename = "rpcId", borrow, default)]
    rpc_id: Option<&'a RawValue>,
}

/// Works out, on the error path only, what is wrong with a frame.
fn explain(text: &str) -> EnvelopeError {
    let error = |message: String, rpc_id: Option<String>| EnvelopeError { message, rpc_id };
    if !is_object(text) {
        return match serde_json::from_str::<&RawValue>(text) {
            Err(err) => error(format!("frame is not valid JSON: {err}"), None),
            Ok(_) => error("frame is not a JSON object".into(), None),
        };
    }
    let keys: Keys<'_> = match serde_json::from_str(text) {
        Ok(keys) => keys,
        Err(err) => return error(format!("frame is not valid JSON: {err}"), None),
    };
    let rpc_id = match keys.rpc_id.map(RawValue::get) {
        None | Some("null") => None,
        Some(raw) => match serde_json::from_str::<String>(raw) {
            Ok(id) => Some(id),
            Err(_) => return error("`rpcId` must be a string".into(), None),
        },
    };
    let message = match keys.kind.map(RawValue::get) {
        None => "frame has no `type`",
        Some(raw) if raw.starts_with('"') => "frame is not a valid envelope",
        Some(_) => "`type` must be a string",
    };
    error(message.into(), rpc_id)
}

/// A frame from the server, as a client reads it.
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
        error: ErrorObject,
    },
    /// An error for a frame sent without `rpcId`.
    Error(ErrorObject),
    /// An item of a stream.
    Item {
        /// The stream's call id.
        rpc_id: String,
        /// The item's number in its stream, from 1.
        n: u64,
        /// The item's JSON.
        payload: Box<RawValue>,
    },
    /// An event.
    Event {
        /// The event's name.
        name: String,
        /// The payload's JSON.
        payload: Box<RawValue>,
        /// The event's number in the session; `None` for an ephemeral
        /// event (one the server may drop when the client's queue is full).
        seq: Option<u64>,
        /// For an ephemeral event: how many of its kind the server dropped
        /// for this client since the last one it delivered (0: none).
        dropped: u64,
    },
    /// A frame of a reserved type (`__...`) this side does not know.
    Unknown {
        /// The frame's `type`.
        kind: String,
    },
}

/// Why a server frame could not be read.
#[derive(Debug)]
#[non_exhaustive]
pub enum FrameError {
    /// Not JSON, or not of any documented shape.
    Malformed(serde_json::Error),
    /// A reply frame without its `rpcId`.
    MissingRpcId(&'static str),
    /// An error frame without its `error`.
    MissingError(&'static str),
    /// An `__item` frame without its number `n`.
    MissingNumber,
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(err) => write!(f, "malformed server frame: {err}"),
            Self::MissingRpcId(kind) => write!(f, "`{kind}` frame without `rpcId`"),
            Self::MissingError(kind) => write!(f, "`{kind}` frame without `error`"),
            Self::MissingNumber => f.write_str("`__item` frame without `n`"),
        }
    }
}

impl std::error::Error for FrameError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Malformed(err) => Some(err),
            _ => None,
        }
    }
}

impl From<serde_json::Error> for FrameError {
    fn from(err: serde_json::Error) -> Self {
        Self::Malformed(err)
    }
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
    error: Option<ErrorObject>,
    #[serde(default)]
    seq: Option<u64>,
    #[serde(default)]
    dropped: u64,
    #[serde(default)]
    n: Option<u64>,
}

fn null() -> Box<RawValue> {
    // `null` is valid JSON; the fallback is never taken.
    RawValue::from_string("null".into()).unwrap_or_else(|_| Box::<RawValue>::default())
}

impl ServerFrame {
    /// Reads one text frame.
    pub fn parse(text: &str) -> Result<Self, FrameError> {
        let raw: Raw = serde_json::from_str(text)?;
        Ok(match raw.kind.as_str() {
            READY => Self::Ready(serde_json::from_str(
                raw.payload.unwrap_or_else(null).get(),
            )?),
            RPC_RES => Self::Reply {
                rpc_id: raw.rpc_id.ok_or(FrameError::MissingRpcId(RPC_RES))?,
                payload: raw.payload.unwrap_or_else(null),
            },
            RPC_ERR => Self::CallError {
                rpc_id: raw.rpc_id.ok_or(FrameError::MissingRpcId(RPC_ERR))?,
                error: raw.error.ok_or(FrameError::MissingError(RPC_ERR))?,
            },
            ERROR => Self::Error(raw.error.ok_or(FrameError::MissingError(ERROR))?),
            ITEM => Self::Item {
                rpc_id: raw.rpc_id.ok_or(FrameError::MissingRpcId(ITEM))?,
                n: raw.n.ok_or(FrameError::MissingNumber)?,
                payload: raw.payload.unwrap_or_else(null),
            },
            reserved if reserved.starts_with(RESERVED_PREFIX) => Self::Unknown { kind: raw.kind },
            _ => Self::Event {
                name: raw.kind,
                payload: raw.payload.unwrap_or_else(null),
                seq: raw.seq,
                dropped: raw.dropped,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_documented_server_frame() {
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
            matches!(err, ServerFrame::CallError { error, .. } if error.path() == Some("a[1]"))
        );
        let event = ServerFrame::parse(r#"{"type":"chat.message","payload":{},"seq":3}"#).unwrap();
        assert!(
            matches!(event, ServerFrame::Event { name, seq: Some(3), dropped: 0, .. } if name == "chat.message")
        );
        let cursor =
            ServerFrame::parse(r#"{"type":"board.cursor","payload":[1],"dropped":4}"#).unwrap();
        assert!(matches!(
            cursor,
            ServerFrame::Event {
                seq: None,
                dropped: 4,
                ..
            }
        ));
        assert!(matches!(
            ServerFrame::parse(r#"{"type":"__rpc_res"}"#),
            Err(FrameError::MissingRpcId(_))
        ));
        assert!(ServerFrame::parse("[]").is_err());
        let item =
            ServerFrame::parse(r#"{"type":"__item","rpcId":"s","n":2,"payload":[1]}"#).unwrap();
        assert!(
            matches!(item, ServerFrame::Item { rpc_id, n: 2, payload } if rpc_id == "s" && payload.get() == "[1]")
        );
        assert!(matches!(
            ServerFrame::parse(r#"{"type":"__item","rpcId":"s","payload":1}"#),
            Err(FrameError::MissingNumber)
        ));
        let frame = ServerFrame::parse(r#"{"type":"__future","payload":1}"#).unwrap();
        assert!(matches!(frame, ServerFrame::Unknown { kind } if kind == "__future"));
    }

    #[test]
    fn writes_credit_grants() {
        let credit = Credit {
            received: 3,
            window: 16,
        };
        assert_eq!(
            credit.to_frame("s1"),
            r#"{"type":"__credit","rpcId":"s1","payload":{"received":3,"window":16}}"#
        );
        assert!(serde_json::from_str::<Credit>(r#"{"received":1}"#).is_err());
        assert!(serde_json::from_str::<Credit>(r#"{"received":-1,"window":2}"#).is_err());
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
    fn envelopes_round_trip_what_clients_write() {
        let text = ClientFrame {
            route: "a.b",
            payload: &serde_json::json!({"x": 1}),
            rpc_id: Some("7"),
        }
        .encode()
        .unwrap();
        let env = Envelope::parse(&text).unwrap();
        assert_eq!(env.route, "a.b");
        assert_eq!(env.payload.unwrap().get(), r#"{"x":1}"#);
        assert_eq!(env.rpc_id.as_deref(), Some("7"));
        let env = Envelope::parse(r#"{"type":"a"}"#).unwrap();
        assert!(env.payload.is_none() && env.rpc_id.is_none());
    }

    #[test]
    fn explains_bad_envelopes() {
        let message = |text: &str| Envelope::parse(text).err().unwrap().message;
        assert!(message("nope").contains("not valid JSON"));
        assert!(message("[1]").contains("not a JSON object"));
        let err = Envelope::parse(r#"{"rpcId":"9"}"#).err().unwrap();
        assert!(err.message.contains("no `type`"));
        assert_eq!(err.rpc_id.as_deref(), Some("9"));
        let err = Envelope::parse(r#"{"type":3,"rpcId":"1"}"#).err().unwrap();
        assert!(err.message.contains("must be a string"));
        assert!(message(r#"{"type":"a","rpcId":5}"#).contains("`rpcId` must be a string"));
        assert_eq!(
            message(r#"["chat.send",{"x":1},"7"]"#),
            "frame is not a JSON object"
        );
        assert_eq!(message(r#" [1]"#), "frame is not a JSON object");
        let deep = format!(
            r#"{{"rpcId":"42","payload":{}1{}}}"#,
            "[".repeat(500),
            "]".repeat(500)
        );
        let err = Envelope::parse(&deep).err().unwrap();
        assert_eq!(
            (err.message.as_str(), err.rpc_id.as_deref()),
            ("frame has no `type`", Some("42"))
        );
    }
}
