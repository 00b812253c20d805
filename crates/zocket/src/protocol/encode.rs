//! The server's encoders of its hot frames (replies, errors, events). Each
//! is built as one string, with the payload's JSON spliced in as it was
//! serialized; the tests read every frame back with the shared decoder,
//! [`zocket_protocol::ServerFrame`].

use super::RpcError;
use std::fmt::Write as _;

/// Appends `s` as a JSON string literal.
fn push_json_str(out: &mut String, s: &str) {
    // Serializing a `&str` into a `String` cannot fail.
    let quoted = serde_json::to_string(s).unwrap_or_default();
    out.push_str(&quoted);
}

/// `{"type":"__rpc_res","rpcId":...,"payload":...}`.
pub(crate) fn reply_frame(rpc_id: &str, payload_json: &str) -> String {
    let mut out = String::with_capacity(48 + rpc_id.len() + payload_json.len());
    out.push_str(r#"{"type":"__rpc_res","rpcId":"#);
    push_json_str(&mut out, rpc_id);
    out.push_str(r#","payload":"#);
    out.push_str(payload_json);
    out.push('}');
    out
}

/// `__rpc_err` when there is an `rpcId`, else `__error` naming the route.
pub(crate) fn error_frame(rpc_id: Option<&str>, route: Option<&str>, err: &RpcError) -> String {
    let mut out = String::with_capacity(128);
    match rpc_id {
        Some(id) => {
            out.push_str(r#"{"type":"__rpc_err","rpcId":"#);
            push_json_str(&mut out, id);
        }
        None => out.push_str(r#"{"type":"__error""#),
    }
    out.push_str(r#","error":{"code":"#);
    push_json_str(&mut out, err.code().as_str());
    out.push_str(r#","message":"#);
    push_json_str(&mut out, err.message());
    out.push_str(r#","path":"#);
    match err.path() {
        Some(path) => push_json_str(&mut out, path),
        None => out.push_str("null"),
    }
    out.push_str(r#","data":"#);
    match err.data() {
        Some(data) => out.push_str(data.get()),
        None => out.push_str("null"),
    }
    if rpc_id.is_none() {
        out.push_str(r#","route":"#);
        match route {
            Some(route) => push_json_str(&mut out, route),
            None => out.push_str("null"),
        }
    }
    out.push_str("}}");
    out
}

/// An event serialized once: everything but its `seq`, which differs per
/// recipient and is appended by each connection's writer.
#[derive(Debug)]
pub(crate) struct EventFrame {
    prefix: String,
}

impl EventFrame {
    /// Frames an event whose payload is already JSON.
    pub(crate) fn new(name: &str, payload_json: &str) -> Self {
        let mut prefix = String::with_capacity(36 + name.len() + payload_json.len());
        prefix.push_str(r#"{"type":"#);
        push_json_str(&mut prefix, name);
        prefix.push_str(r#","payload":"#);
        prefix.push_str(payload_json);
        prefix.push_str(r#","seq":"#);
        Self { prefix }
    }

    /// The frame's length without its `seq`.
    pub(crate) fn len(&self) -> usize {
        self.prefix.len()
    }

    /// The complete frame for one recipient.
    pub(crate) fn with_seq(&self, seq: u64) -> String {
        let mut out = String::with_capacity(self.prefix.len() + 21);
        out.push_str(&self.prefix);
        let _ = write!(out, "{seq}}}");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};
    use zocket_protocol::{ErrorCode, ErrorObject, ServerFrame};

    fn parse(s: &str) -> Value {
        serde_json::from_str(s).expect("valid JSON")
    }

    #[test]
    fn frames_are_valid_json_of_the_documented_shape() {
        assert_eq!(
            parse(&reply_frame("k\\3", r#"{"a":1}"#)),
            json!({"type":"__rpc_res","rpcId":"k\\3","payload":{"a":1}})
        );
        let err = RpcError::new(ErrorCode::VALIDATION, "bad").with_path("items[2].qty");
        assert_eq!(
            parse(&error_frame(Some("1"), Some("r"), &err)),
            json!({"type":"__rpc_err","rpcId":"1","error":{"code":"VALIDATION","message":"bad","path":"items[2].qty","data":null}})
        );
        assert_eq!(
            parse(&error_frame(None, Some("chat.sned"), &err)),
            json!({"type":"__error","error":{"code":"VALIDATION","message":"bad","path":"items[2].qty","data":null,"route":"chat.sned"}})
        );
        let ev = EventFrame::new("chat.message", r#"{"t":"x"}"#);
        assert_eq!(
            parse(&ev.with_seq(17)),
            json!({"type":"chat.message","payload":{"t":"x"},"seq":17})
        );
    }

    #[test]
    fn the_shared_decoder_reads_back_what_the_encoders_write() {
        let reply = reply_frame("id\"1\u{e9}", r#"{"n":[1,2]}"#);
        match ServerFrame::parse(&reply).expect("decodes") {
            ServerFrame::Reply { rpc_id, payload } => {
                assert_eq!(rpc_id, "id\"1\u{e9}");
                assert_eq!(payload.get(), r#"{"n":[1,2]}"#);
            }
            other => panic!("{other:?}"),
        }
        let err = RpcError::new(ErrorCode::new("OUT_OF_STOCK"), "gone \"now\"")
            .with_path("items[0]")
            .with_data(&json!({"left": 0}));
        match ServerFrame::parse(&error_frame(Some("7"), Some("shop.buy"), &err)).expect("decodes")
        {
            ServerFrame::CallError { rpc_id, error } => {
                assert_eq!(rpc_id, "7");
                assert_eq!(&error, err.as_object());
            }
            other => panic!("{other:?}"),
        }
        match ServerFrame::parse(&error_frame(None, Some("a.b"), &err)).expect("decodes") {
            ServerFrame::Error(error) => {
                let expected: ErrorObject = err.as_object().clone().with_route("a.b");
                assert_eq!(error, expected);
            }
            other => panic!("{other:?}"),
        }
        let event = EventFrame::new("room.msg", r#""hi""#).with_seq(u64::MAX);
        match ServerFrame::parse(&event).expect("decodes") {
            ServerFrame::Event { name, payload, seq } => {
                assert_eq!(
                    (name.as_str(), payload.get(), seq),
                    ("room.msg", r#""hi""#, Some(u64::MAX))
                );
            }
            other => panic!("{other:?}"),
        }
    }
}
