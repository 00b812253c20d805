//! Parsing of client frames (`{"type", "payload"?, "rpcId"?}`).

use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;

/// A client frame, borrowing from the text it was parsed from.
#[derive(Deserialize)]
pub(crate) struct Envelope<'a> {
    /// The route.
    #[serde(rename = "type", borrow)]
    pub(crate) route: Cow<'a, str>,
    /// The payload; absent and `null` both mean `null`.
    #[serde(borrow, default)]
    pub(crate) payload: Option<&'a RawValue>,
    /// Present on calls: the reply carries it back.
    #[serde(rename = "rpcId", borrow, default)]
    pub(crate) rpc_id: Option<Cow<'a, str>>,
}

/// Why a frame is not a valid envelope.
#[derive(Debug)]
pub(crate) struct EnvelopeError {
    /// What is wrong, for the `BAD_REQUEST` error.
    pub(crate) message: String,
    /// The frame's `rpcId`, when it had a usable one.
    pub(crate) rpc_id: Option<String>,
}

impl<'a> Envelope<'a> {
    /// Parses one text frame.
    pub(crate) fn parse(text: &'a str) -> Result<Self, EnvelopeError> {
        serde_json::from_str(text).map_err(|_| explain(text))
    }
}

/// Works out, on the error path only, what is wrong with a frame.
fn explain(text: &str) -> EnvelopeError {
    let value: serde_json::Value = match serde_json::from_str(text) {
        Ok(value) => value,
        Err(err) => {
            return EnvelopeError {
                message: format!("frame is not valid JSON: {err}"),
                rpc_id: None,
            };
        }
    };
    let Some(object) = value.as_object() else {
        return EnvelopeError {
            message: "frame is not a JSON object".into(),
            rpc_id: None,
        };
    };
    let rpc_id = match object.get("rpcId") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(id)) => Some(id.clone()),
        Some(_) => {
            return EnvelopeError {
                message: "`rpcId` must be a string".into(),
                rpc_id: None,
            };
        }
    };
    let message = match object.get("type") {
        None => "frame has no `type`".into(),
        Some(serde_json::Value::String(_)) => "frame is not a valid envelope".into(),
        Some(_) => "`type` must be a string".into(),
    };
    EnvelopeError { message, rpc_id }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_call_and_message() {
        let env = Envelope::parse(r#"{"type":"a.b","payload":{"x":1},"rpcId":"7"}"#).unwrap();
        assert_eq!(env.route, "a.b");
        assert_eq!(env.payload.unwrap().get(), r#"{"x":1}"#);
        assert_eq!(env.rpc_id.as_deref(), Some("7"));
        let env = Envelope::parse(r#"{"type":"a"}"#).unwrap();
        assert!(env.payload.is_none() && env.rpc_id.is_none());
    }

    #[test]
    fn explains_bad_frames() {
        assert!(
            Envelope::parse("nope")
                .err()
                .unwrap()
                .message
                .contains("not valid JSON")
        );
        assert!(
            Envelope::parse("[1]")
                .err()
                .unwrap()
                .message
                .contains("not a JSON object")
        );
        let err = Envelope::parse(r#"{"rpcId":"9"}"#).err().unwrap();
        assert!(err.message.contains("no `type`"));
        assert_eq!(err.rpc_id.as_deref(), Some("9"));
        let err = Envelope::parse(r#"{"type":3,"rpcId":"1"}"#).err().unwrap();
        assert!(err.message.contains("must be a string"));
    }
}
