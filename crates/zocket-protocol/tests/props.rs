//! Property tests of the client frame decoder, [`Envelope::parse`]: a
//! hostile client's text never panics it, every refusal is a structured
//! [`zocket_protocol::EnvelopeError`], and what it accepts is exactly what
//! the protocol says a client frame is.
//!
//! Each property runs 10,000 cases; set `PROPTEST_CASES` for more.

use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::{Map, Number, Value};
use zocket_protocol::{ClientFrame, Envelope};

/// 10,000 cases, or `PROPTEST_CASES` when it is set.
fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    Config::with_cases(cases)
}

/// Short strings of any characters, control characters and non-ASCII
/// included, so that encoding them needs every kind of escape.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z._]{0,8}",
        prop::collection::vec(any::<char>(), 0..12).prop_map(String::from_iter),
    ]
}

/// Object keys, often the envelope's own.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("type".to_owned()),
        Just("payload".to_owned()),
        Just("rpcId".to_owned()),
        text(),
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("not finite", |f| Number::from_f64(f).map(Value::Number)),
        text().prop_map(Value::String),
    ]
}

/// Any JSON value, a few levels deep.
fn json() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..6)
                .prop_map(|entries| Value::Object(entries.into_iter().collect())),
        ]
    })
}

/// Mostly objects with a `type`, a `payload` and an `rpcId` of any kind
/// (often the right one), beside other keys; sometimes any JSON at all.
fn frame_json() -> impl Strategy<Value = Value> {
    let object = (
        prop::collection::vec((key(), json()), 0..3),
        prop::option::of(prop_oneof![text().prop_map(Value::String), json()]),
        prop::option::of(json()),
        prop::option::of(prop_oneof![
            text().prop_map(Value::String),
            Just(Value::Null),
            json(),
        ]),
    )
        .prop_map(|(extra, kind, payload, rpc_id)| {
            let mut object: Map<String, Value> = extra.into_iter().collect();
            for (name, value) in [("type", kind), ("payload", payload), ("rpcId", rpc_id)] {
                if let Some(value) = value {
                    object.insert(name.to_owned(), value);
                }
            }
            Value::Object(object)
        });
    prop_oneof![9 => object, 1 => json()]
}

/// Pieces of JSON, put together in any order.
const TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ":",
    ",",
    " ",
    "\"type\"",
    "\"payload\"",
    "\"rpcId\"",
    "\"a\"",
    "\"\\u0000\"",
    "\"\\ud800\"",
    "\"\\udfff\"",
    "\"\\ud83d\\ude00\"",
    "\"\\\\\"",
    "\"\\q\"",
    "\"",
    "null",
    "true",
    "0",
    "-0",
    "1e999",
    "-1e-999",
    "123456789012345678901234567890",
    "18446744073709551616",
    "1.",
    "é",
    "\u{0}",
];

/// A text frame as a hostile client may send it: any string, bytes made
/// UTF-8 lossily, a soup of JSON tokens, a valid frame with one character
/// inserted, removed or cut off after, or deeply nested arrays and objects.
fn hostile_text() -> impl Strategy<Value = String> {
    let soup = prop::collection::vec(prop::sample::select(TOKENS), 0..24)
        .prop_map(|tokens| tokens.concat());
    let bytes = prop::collection::vec(any::<u8>(), 0..64)
        .prop_map(|bytes| String::from_utf8_lossy(&bytes).into_owned());
    let mutated = (
        frame_json(),
        any::<prop::sample::Index>(),
        any::<char>(),
        0..3u8,
    )
        .prop_map(|(value, at, c, how)| {
            let mut text = value.to_string();
            let boundaries: Vec<usize> = text
                .char_indices()
                .map(|(i, _)| i)
                .chain([text.len()])
                .collect();
            let at = *at.get(&boundaries);
            match how {
                0 => text.insert(at, c),
                1 if at < text.len() => {
                    text.remove(at);
                }
                _ => text.truncate(at),
            }
            text
        });
    let deep = (0..400usize, any::<bool>(), any::<bool>(), any::<bool>()).prop_map(
        |(depth, objects, closed, wrapped)| {
            let (open, close) = if objects {
                ("{\"a\":", "}")
            } else {
                ("[", "]")
            };
            let mut text = open.repeat(depth);
            text.push('1');
            if closed {
                text.push_str(&close.repeat(depth));
            }
            if wrapped {
                text = format!(r#"{{"rpcId":"1","payload":{text}}}"#);
            }
            text
        },
    );
    prop_oneof![any::<String>(), bytes, soup, mutated, deep]
}

/// What the decoder must make of a JSON value: the route and the `rpcId`
/// when it is a valid envelope, else the `rpcId` its error must carry.
fn contract(value: &Value) -> Result<(&str, Option<&str>), Option<&str>> {
    let Some(object) = value.as_object() else {
        return Err(None);
    };
    let rpc_id = match object.get("rpcId") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(id)) => Ok(Some(id.as_str())),
        Some(_) => Err(()),
    };
    match (object.get("type"), rpc_id) {
        (Some(Value::String(route)), Ok(rpc_id)) => Ok((route, rpc_id)),
        (_, Ok(rpc_id)) => Err(rpc_id),
        (_, Err(())) => Err(None),
    }
}

proptest! {
    #![proptest_config(config())]

    /// Whatever the text, the decoder answers without panicking; a refusal
    /// has a message, and an `rpcId` only when the text is an object whose
    /// `rpcId` is that string; what it accepts and `serde_json` can read as
    /// a value is an object whose `type` is the route.
    #[test]
    fn hostile_text_gets_a_structured_answer(text in hostile_text()) {
        let value = serde_json::from_str::<Value>(&text).ok();
        match Envelope::parse(&text) {
            Ok(envelope) => {
                if let Some(value) = &value {
                    prop_assert_eq!(contract(value).ok().map(|(route, _)| route), Some(&*envelope.route));
                }
            }
            Err(err) => {
                prop_assert!(!err.message.is_empty());
                // `serde_json::Value` stops at 128 levels of nesting, the
                // decoder does not: only what the oracle can read is checked.
                if let (Some(id), Some(value)) = (&err.rpc_id, &value) {
                    let object = value.as_object();
                    prop_assert_eq!(
                        object.and_then(|o| o.get("rpcId")).and_then(Value::as_str),
                        Some(id.as_str()),
                        "{}", err.message
                    );
                }
            }
        }
    }

    /// A JSON value is a valid envelope exactly when it is an object whose
    /// `type` is a string and whose `rpcId` is absent, `null` or a string;
    /// `payload` may be any JSON and other keys are ignored. An accepted
    /// value gives back its route, its `rpcId` and its payload's text (none
    /// for an absent or `null` payload); a refused one keeps its `rpcId`
    /// when that is a string.
    #[test]
    fn a_json_value_is_an_envelope_exactly_when_its_type_is_a_string(
        value in frame_json(),
        padded in any::<bool>(),
    ) {
        let text = if padded { format!(" \n{value}\t") } else { value.to_string() };
        match (Envelope::parse(&text), contract(&value)) {
            (Ok(envelope), Ok((route, rpc_id))) => {
                prop_assert_eq!(&*envelope.route, route);
                prop_assert_eq!(envelope.rpc_id.as_deref(), rpc_id);
                let payload = match &value["payload"] {
                    Value::Null => None,
                    payload => Some(payload.to_string()),
                };
                prop_assert_eq!(envelope.payload.map(|p| p.get().to_owned()), payload);
            }
            (Err(err), Err(rpc_id)) => {
                prop_assert!(!err.message.is_empty());
                prop_assert_eq!(err.rpc_id.as_deref(), rpc_id, "{}", err.message);
            }
            (Ok(envelope), Err(_)) => prop_assert!(false, "accepted: {envelope:?}"),
            (Err(err), Ok(_)) => prop_assert!(false, "refused: {err:?}"),
        }
    }

    /// A frame refused for its `type` keeps its string `rpcId`, however
    /// deeply its payload nests.
    #[test]
    fn a_refused_frame_keeps_its_rpc_id_whatever_its_payload(
        depth in 0..300usize,
        kind in prop_oneof![Just(None), Just(Some("3")), Just(Some(r#""a""#))],
        id in text(),
    ) {
        let payload = format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
        let id_json = Value::String(id.clone());
        let text = match kind {
            Some(kind) => format!(r#"{{"type":{kind},"rpcId":{id_json},"payload":{payload}}}"#),
            None => format!(r#"{{"rpcId":{id_json},"payload":{payload}}}"#),
        };
        match Envelope::parse(&text) {
            Ok(envelope) => {
                prop_assert_eq!(kind, Some(r#""a""#));
                prop_assert_eq!(envelope.rpc_id.as_deref(), Some(id.as_str()));
            }
            Err(err) => {
                prop_assert_ne!(kind, Some(r#""a""#), "{}", err.message);
                prop_assert_eq!(err.rpc_id.as_deref(), Some(id.as_str()), "{}", err.message);
            }
        }
    }

    /// What a client writes, the server reads back: the same route, rpc id
    /// and payload text.
    #[test]
    fn client_frames_round_trip(
        route in text(),
        payload in json(),
        rpc_id in prop::option::of(text()),
    ) {
        let text = ClientFrame { route: &route, payload: &payload, rpc_id: rpc_id.as_deref() }
            .encode()
            .unwrap();
        let envelope = Envelope::parse(&text).unwrap();
        prop_assert_eq!(&*envelope.route, route.as_str());
        prop_assert_eq!(envelope.rpc_id.as_deref(), rpc_id.as_deref());
        let expected = (!payload.is_null()).then(|| payload.to_string());
        prop_assert_eq!(envelope.payload.map(|p| p.get().to_owned()), expected);
    }
}
