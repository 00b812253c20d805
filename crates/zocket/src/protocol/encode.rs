//! The server's encoders of its hot frames (replies, errors, events). Each
//! is built as one string, with the payload's JSON spliced in as it was
//! serialized; the tests read every frame back with the shared decoder,
//! [`zocket_protocol::ServerFrame`].

use super::RpcError;
use std::fmt::Write as _;

/// Whether `s` has a character a JSON string literal escapes.
fn needs_escape(s: &str) -> bool {
    s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\')
}

/// Appends `s` as a JSON string literal.
fn push_json_str(out: &mut String, s: &str) {
    // The common case (ids, codes): nothing to escape, nothing to allocate.
    if !needs_escape(s) {
        out.push('"');
        out.push_str(s);
        out.push('"');
        return;
    }
    // Serializing a `&str` into a `String` cannot fail.
    let quoted = serde_json::to_string(s).unwrap_or_default();
    out.push_str(&quoted);
}

/// `{"type":"__rpc_res","rpcId":...,"payload":...}`. A small payload's
/// own buffer has room for the rest (serde_json starts at 128 bytes): the
/// frame is built in it, with no second allocation. A large one is copied
/// once into a new buffer rather than moved three times in its own.
pub(crate) fn reply_frame(rpc_id: &str, payload_json: String) -> String {
    const OPEN: &str = r#"{"type":"__rpc_res","rpcId":""#;
    const CLOSE: &str = r#"","payload":"#;
    let mut out = payload_json;
    let head = OPEN.len() + rpc_id.len() + CLOSE.len();
    if out.len() <= 1024 && out.capacity() - out.len() > head && !needs_escape(rpc_id) {
        out.insert_str(0, CLOSE);
        out.insert_str(0, rpc_id);
        out.insert_str(0, OPEN);
        out.push('}');
        return out;
    }
    let mut frame = String::with_capacity(48 + rpc_id.len() + out.len());
    frame.push_str(r#"{"type":"__rpc_res","rpcId":"#);
    push_json_str(&mut frame, rpc_id);
    frame.push_str(r#","payload":"#);
    frame.push_str(&out);
    frame.push('}');
    frame
}

/// `{"type":"__item","rpcId":...,"n":...,"payload":...}`, item `n` of a stream.
pub(crate) fn item_frame(rpc_id: &str, n: u64, payload_json: &str) -> String {
    let mut out = String::with_capacity(64 + rpc_id.len() + payload_json.len());
    out.push_str(r#"{"type":"__item","rpcId":"#);
    push_json_str(&mut out, rpc_id);
    out.push_str(r#","n":"#);
    out.push_str(&n.to_string());
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

/// What happens to an event that finds a recipient's outbound queue full
/// (the recipient stopped reading while the server pushes to it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum WhenFull {
    /// Close the connection with `1008 slow consumer` (the default). The
    /// event is part of the session's history: numbered (`seq`) and
    /// replayed on resume, exactly once.
    #[default]
    Close,
    /// Drop this event for that recipient.
    Drop,
    /// Drop the oldest queued event of the same kind for that recipient,
    /// to make room for this one.
    DropOldest,
    /// Keep only the latest: queued events of the same kind for that
    /// recipient are replaced by this one (presence, cursors, progress).
    Latest,
}

impl WhenFull {
    /// Whether events of this policy may be dropped; such events carry no
    /// `seq` and are not replayed on resume: they are ephemeral.
    pub const fn is_droppable(self) -> bool {
        !matches!(self, Self::Close)
    }

    /// The name used in the schema and the metrics (`drop_oldest`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Close => "close",
            Self::Drop => "drop",
            Self::DropOldest => "drop_oldest",
            Self::Latest => "latest",
        }
    }
}

/// An event serialized once: everything but its ending, which differs per
/// recipient (its `seq`, or for a droppable event how many of its kind
/// were dropped before it) and is appended by each connection's writer.
#[derive(Debug)]
pub(crate) struct EventFrame {
    /// `{"type":...,"payload":...`, without the closing brace.
    body: String,
    /// The event's name.
    name: Box<str>,
    policy: WhenFull,
    /// Where the payload starts in `body`.
    payload_at: usize,
    /// The send's id in a cluster, given once by its adapter (see
    /// `EncodedEvent::with_origin`).
    origin: std::sync::OnceLock<(u128, u64)>,
}

impl EventFrame {
    /// Frames an event whose payload is already JSON.
    pub(crate) fn new(name: &str, payload_json: &str, policy: WhenFull) -> Self {
        let mut body = String::with_capacity(36 + name.len() + payload_json.len());
        body.push_str(r#"{"type":"#);
        push_json_str(&mut body, name);
        body.push_str(r#","payload":"#);
        let payload_at = body.len();
        body.push_str(payload_json);
        Self {
            body,
            name: name.into(),
            policy,
            payload_at,
            origin: std::sync::OnceLock::new(),
        }
    }

    /// The send's id in a cluster, if its adapter gave it one.
    pub(crate) fn origin(&self) -> Option<(u128, u64)> {
        self.origin.get().copied()
    }

    /// Gives the frame its send's id; `false` when it has another one
    /// already (the same frame sent twice).
    pub(crate) fn set_origin(&self, origin: (u128, u64)) -> bool {
        self.origin.get_or_init(|| origin) == &origin
    }

    /// A copy of the frame, for another send of it.
    pub(crate) fn copy(&self) -> Self {
        Self::new(&self.name, self.payload_json(), self.policy)
    }

    /// The payload's JSON.
    pub(crate) fn payload_json(&self) -> &str {
        self.body.get(self.payload_at..).unwrap_or("null")
    }

    /// The frame's length without its ending.
    pub(crate) fn len(&self) -> usize {
        self.body.len()
    }

    /// The event's name.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// What happens when it finds a queue full.
    pub(crate) fn policy(&self) -> WhenFull {
        self.policy
    }

    /// The complete frame for one recipient: `n` is its `seq`, or for a
    /// droppable event the number of its kind dropped before it.
    pub(crate) fn frame(&self, n: u64) -> String {
        match self.policy.is_droppable() {
            true => self.with_dropped(n),
            false => self.with_seq(n),
        }
    }

    /// The complete frame for one recipient, numbered `seq`.
    pub(crate) fn with_seq(&self, seq: u64) -> String {
        let mut out = String::with_capacity(self.body.len() + 29);
        out.push_str(&self.body);
        out.push_str(r#","seq":"#);
        push_u64(&mut out, seq);
        out.push('}');
        out
    }

    /// The complete frame of a droppable event for one recipient: with
    /// `"dropped"`, the number of events of its kind dropped for it since
    /// the last one delivered, when there were any.
    pub(crate) fn with_dropped(&self, dropped: u64) -> String {
        let mut out = String::with_capacity(self.body.len() + 33);
        out.push_str(&self.body);
        if dropped > 0 {
            let _ = write!(out, r#","dropped":{dropped}"#);
        }
        out.push('}');
        out
    }
}

/// Appends `n` in decimal: once per recipient of every event, without
/// the formatting machinery.
fn push_u64(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    // ASCII digits only.
    out.push_str(std::str::from_utf8(&digits[at..]).unwrap_or("0"));
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
            parse(&reply_frame("k\\3", r#"{"a":1}"#.into())),
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
        let ev = EventFrame::new("chat.message", r#"{"t":"x"}"#, WhenFull::Close);
        assert_eq!(
            parse(&ev.with_seq(17)),
            json!({"type":"chat.message","payload":{"t":"x"},"seq":17})
        );
        let cursor = EventFrame::new("board.cursor", "[1,2]", WhenFull::Latest);
        assert_eq!(
            parse(&cursor.with_dropped(0)),
            json!({"type":"board.cursor","payload":[1,2]})
        );
        assert_eq!(
            parse(&cursor.with_dropped(3)),
            json!({"type":"board.cursor","payload":[1,2],"dropped":3})
        );
    }

    #[test]
    fn the_shared_decoder_reads_back_what_the_encoders_write() {
        let reply = reply_frame("id\"1\u{e9}", r#"{"n":[1,2]}"#.into());
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
        let event = EventFrame::new("room.msg", r#""hi""#, WhenFull::Close).with_seq(u64::MAX);
        match ServerFrame::parse(&event).expect("decodes") {
            ServerFrame::Event {
                name, payload, seq, ..
            } => {
                assert_eq!(
                    (name.as_str(), payload.get(), seq),
                    ("room.msg", r#""hi""#, Some(u64::MAX))
                );
            }
            other => panic!("{other:?}"),
        }
    }

    proptest::proptest! {
        #[test]
        fn strings_are_quoted_as_serde_json_quotes_them(s in "(?s).{0,12}|[ -~]{0,12}") {
            let mut out = String::new();
            push_json_str(&mut out, &s);
            proptest::prop_assert_eq!(out, serde_json::to_string(&s).unwrap());
        }

        #[test]
        fn a_reply_carries_any_id_and_its_payload(id in "(?s).{0,12}|[ -~]{0,128}", n in 0u32..1000) {
            let payload = format!("[{n},\"x\"]");
            let mut spare = String::with_capacity(256);
            spare.push_str(&payload);
            for built in [reply_frame(&id, payload.clone()), reply_frame(&id, spare)] {
                proptest::prop_assert_eq!(
                    parse(&built),
                    json!({"type":"__rpc_res","rpcId":id,"payload":[n,"x"]})
                );
            }
        }
    }

    #[test]
    fn seq_digits_are_written_as_format_would() {
        for n in [
            0,
            1,
            9,
            10,
            99,
            100,
            12_345,
            u64::from(u32::MAX),
            u64::MAX - 1,
            u64::MAX,
        ] {
            let mut out = String::new();
            push_u64(&mut out, n);
            assert_eq!(out, n.to_string());
        }
    }
}
