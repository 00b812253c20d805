//! The handshake: the `__ready` payload, the body of a refused upgrade,
//! and the parameters of a resume.

use crate::ErrorCode;
use serde::{Deserialize, Serialize};

/// The query parameter carrying the session id to resume: the form of
/// older clients, still accepted; current clients keep secrets out of URLs
/// (see [`SESSION_ID_HEADER`] and [`SESSION_PROTOCOL_PREFIX`]).
pub const SESSION_ID_PARAM: &str = "sessionId";
/// The query parameter carrying the `seq` of the last event the client
/// received (older clients; see [`LAST_SEQ_HEADER`]).
pub const LAST_SEQ_PARAM: &str = "lastSeq";

/// The HTTP header a native client resumes its session with.
pub const SESSION_ID_HEADER: &str = "x-zocket-session";
/// The HTTP header with the `seq` of the last event a native client
/// received.
pub const LAST_SEQ_HEADER: &str = "x-zocket-last-seq";

/// The WebSocket subprotocol of zocket: the only `Sec-WebSocket-Protocol`
/// entry a server echoes back.
pub const SUBPROTOCOL: &str = "zocket.v1";
/// A `Sec-WebSocket-Protocol` entry `zocket.session.<id>` resumes a
/// session from a browser (which cannot set HTTP headers); the server never
/// echoes it.
pub const SESSION_PROTOCOL_PREFIX: &str = "zocket.session.";
/// A `Sec-WebSocket-Protocol` entry `zocket.last-seq.<n>`: the last event
/// `seq` a browser client received.
pub const LAST_SEQ_PROTOCOL_PREFIX: &str = "zocket.last-seq.";

/// A `Sec-WebSocket-Protocol` entry `zocket.headers.<base64url JSON>`:
/// the handshake header fields of a browser client, as a JSON object of
/// flat values encoded in unpadded base64url, so that no field (a token,
/// say) travels in the URL.
pub const HEADERS_PROTOCOL_PREFIX: &str = "zocket.headers.";
/// A `Sec-WebSocket-Protocol` entry asking for refusals a browser can
/// read: a handshake refused with a `4xx` status is then upgraded only to
/// be closed at once with [`RefusalBody::close_code`] and
/// [`RefusalBody::close_reason`] (a browser cannot read an HTTP body).
pub const REFUSALS_PROTOCOL: &str = "zocket.refusals";

/// The longest reason a close frame carries, in bytes (RFC 6455: 125
/// bytes of payload, two of them the code).
pub const MAX_CLOSE_REASON: usize = 123;

/// The payload of `__ready`, the server's first frame on every connection.
/// Its `Debug` shows only a prefix of the session id, a secret.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ready {
    /// This connection's client id (public).
    pub client_id: String,
    /// The secret that resumes the session.
    pub session_id: String,
    /// The server's protocol version ([`PROTOCOL_VERSION`](crate::PROTOCOL_VERSION)).
    pub protocol_version: u32,
    /// Whether a previous session was resumed.
    pub recovered: bool,
    /// The hash of the API's schema ([`schema_hash`]), when the server
    /// knows its schema (servers built from a router definition do).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_hash: Option<String>,
}

/// A stable hash of an API schema: 64-bit FNV-1a of its canonical JSON
/// (object keys sorted at every level, no whitespace), as 16 lowercase hex
/// digits. The same definition gives the same hash on every build and
/// platform; any change to a route, a type, an event or a doc comment
/// gives another.
pub fn schema_hash(schema: &serde_json::Value) -> String {
    let mut canonical = String::new();
    canonicalize(schema, &mut canonical);
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in canonical.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{hash:016x}")
}

fn canonicalize(value: &serde_json::Value, out: &mut String) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_unstable();
            out.push('{');
            for (n, key) in keys.into_iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                canonicalize(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (n, item) in items.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                canonicalize(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

impl std::fmt::Debug for Ready {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = self.session_id.get(..4).unwrap_or_default();
        f.debug_struct("Ready")
            .field("client_id", &self.client_id)
            .field("session_id", &format_args!("{shown}…"))
            .field("protocol_version", &self.protocol_version)
            .field("recovered", &self.recovered)
            .field("schema_hash", &self.schema_hash)
            .finish()
    }
}

impl Ready {
    /// The complete `__ready` frame.
    pub fn to_frame(&self) -> String {
        #[derive(Serialize)]
        struct Frame<'a> {
            #[serde(rename = "type")]
            kind: &'static str,
            payload: &'a Ready,
        }
        let frame = Frame {
            kind: crate::frame::READY,
            payload: self,
        };
        // Strings, a number and a bool: serializing cannot fail.
        serde_json::to_string(&frame).unwrap_or_default()
    }
}

/// One problem with the handshake headers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeaderIssue {
    /// The field, as named in the header schema.
    pub path: String,
    /// What is wrong with it.
    pub message: String,
}

/// The JSON body of a refused upgrade (HTTP 400, 401, 403, 503...):
/// `{"error":{"code":"INVALID_HEADERS","message":"...","issues":[...]}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusalBody {
    /// What was refused and why.
    pub error: RefusalError,
}

/// The `error` of a [`RefusalBody`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusalError {
    /// `INVALID_HEADERS`, `UNAUTHORIZED`, `UNAVAILABLE`, or the
    /// application's code.
    pub code: ErrorCode,
    /// A message for humans.
    pub message: String,
    /// For `INVALID_HEADERS`: one issue per field at fault (absent
    /// otherwise).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub issues: Vec<HeaderIssue>,
}

impl RefusalBody {
    /// The close code of a refusal sent as a close frame: `4000` plus the
    /// HTTP status (`4400` for invalid headers, `4401`, `4403`).
    pub fn close_code(status: u16) -> u16 {
        4000 + status.min(999)
    }

    /// The close reason of a refusal sent as a close frame:
    /// `"<CODE>: <message>"`, cut at a character boundary to the 123 bytes
    /// a close frame can carry.
    pub fn close_reason(&self) -> String {
        let mut reason = format!("{}: {}", self.error.code, self.error.message);
        if reason.len() > MAX_CLOSE_REASON {
            let mut end = MAX_CLOSE_REASON;
            while !reason.is_char_boundary(end) {
                end -= 1;
            }
            reason.truncate(end);
        }
        reason
    }

    /// A refusal with a code and a message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            error: RefusalError {
                code,
                message: message.into(),
                issues: Vec::new(),
            },
        }
    }

    /// `INVALID_HEADERS`, listing every issue in the message too.
    pub fn invalid_headers(issues: Vec<HeaderIssue>) -> Self {
        let listed: Vec<String> = issues
            .iter()
            .map(|issue| format!("{}: {}", issue.path, issue.message))
            .collect();
        Self {
            error: RefusalError {
                code: ErrorCode::INVALID_HEADERS,
                message: format!("invalid headers: {}", listed.join("; ")),
                issues,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn ready_frames_have_the_documented_shape() {
        let ready = Ready {
            client_id: "c\"1".into(),
            session_id: "s".into(),
            protocol_version: 1,
            recovered: true,
            schema_hash: None,
        };
        let frame: Value = serde_json::from_str(&ready.to_frame()).unwrap();
        assert_eq!(
            frame,
            json!({"type":"__ready","payload":{"clientId":"c\"1","sessionId":"s","protocolVersion":1,"recovered":true}})
        );
    }

    #[test]
    fn debug_does_not_show_the_session_id() {
        let ready = Ready {
            client_id: "c".into(),
            session_id: "0123456789abcdef0123456789abcdef".into(),
            protocol_version: 1,
            recovered: false,
            schema_hash: None,
        };
        let shown = format!("{ready:?}");
        assert!(!shown.contains("456789abcdef"), "{shown}");
        assert!(shown.contains("0123…"), "{shown}");
    }

    #[test]
    fn the_schema_hash_ignores_key_order_and_sees_every_change() {
        let a = json!({"routes": {"a": {"kind": "call"}, "b": {"kind": "message"}}, "v": [1, 2]});
        let b: Value = serde_json::from_str(
            r#"{"v":[1,2],"routes":{"b":{"kind":"message"},"a":{"kind":"call"}}}"#,
        )
        .unwrap();
        assert_eq!(schema_hash(&a), schema_hash(&b));
        assert_eq!(schema_hash(&a).len(), 16);
        let changed =
            json!({"routes": {"a": {"kind": "call"}, "b": {"kind": "call"}}, "v": [1, 2]});
        assert_ne!(schema_hash(&a), schema_hash(&changed));
        let reordered =
            json!({"routes": {"a": {"kind": "call"}, "b": {"kind": "message"}}, "v": [2, 1]});
        assert_ne!(
            schema_hash(&a),
            schema_hash(&reordered),
            "array order counts"
        );
        // Pinned (FNV-1a 64 of the canonical text, computed independently):
        // the same input hashes the same on every build and platform.
        assert_eq!(schema_hash(&json!({})), "08f44b07b5901a25");
        assert_eq!(
            schema_hash(&json!({"b": null, "a": [1, "x"]})),
            "5bdfc2b3c9437f06"
        );
    }

    #[test]
    fn refusals_as_close_frames_fit_a_close_frame() {
        assert_eq!(RefusalBody::close_code(400), 4400);
        assert_eq!(RefusalBody::close_code(403), 4403);
        let body = RefusalBody::new(ErrorCode::UNAUTHORIZED, "log in first");
        assert_eq!(body.close_reason(), "UNAUTHORIZED: log in first");
        // A long message is cut at a character boundary, never inside one.
        let long = RefusalBody::new(ErrorCode::FORBIDDEN, "é".repeat(200));
        let reason = long.close_reason();
        assert!(reason.len() <= MAX_CLOSE_REASON && reason.len() >= MAX_CLOSE_REASON - 1);
        assert!(reason.starts_with("FORBIDDEN: é"));
    }

    #[test]
    fn refusal_bodies_list_issues_only_when_there_are_some() {
        let body = RefusalBody::invalid_headers(vec![HeaderIssue {
            path: "name".into(),
            message: "missing required field".into(),
        }]);
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            json!({"error":{"code":"INVALID_HEADERS","message":"invalid headers: name: missing required field","issues":[{"path":"name","message":"missing required field"}]}})
        );
        let body = RefusalBody::new(ErrorCode::UNAUTHORIZED, "log in first");
        let text = serde_json::to_string(&body).unwrap();
        assert_eq!(
            text,
            r#"{"error":{"code":"UNAUTHORIZED","message":"log in first"}}"#
        );
        assert_eq!(serde_json::from_str::<RefusalBody>(&text).unwrap(), body);
    }
}
