//! The message one node publishes per send: who sent it (node id and a
//! per-node sequence number, so receivers skip their own and count what
//! they missed), who it goes to, and the event serialized once.
//!
//! ```text
//! version 2 | node id (16) | seq (8, big-endian) | event id (8) | target kind (1) |
//! policy (1) | target count (2) | targets (len 2 + bytes each) |
//! except count (2) | excepts (len 2 + bytes each) |
//! name (len 2 + bytes) | payload JSON (the rest)
//! ```
//!
//! `seq` numbers the node's messages (their gaps are what a receiver
//! missed); the event id numbers every send of the node, also those that
//! were not published (all their recipients were local), and tells a
//! session moving between nodes which events it got both ways.
//!
//! Messages that move sessions ([`Control`]) are JSON objects, on the
//! same channel (a request to hand a session over) or on a node's own
//! channel (the answer, a forwarded reply).

use zocket::adapter::{EncodedEvent, Target};
use zocket::{ClientId, WhenFull};

const VERSION: u8 = 2;

/// A node's id: 16 random bytes.
pub(crate) type NodeId = [u8; 16];

/// Who a published event goes to, owned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Targets {
    Clients(Vec<ClientId>),
    Rooms(Vec<String>),
    All,
}

impl Targets {
    pub(crate) fn from_target(target: Target<'_>) -> Self {
        match target {
            Target::Clients(ids) => Self::Clients(ids.to_vec()),
            Target::Rooms(rooms) => Self::Rooms(rooms.iter().map(|r| (*r).to_owned()).collect()),
            Target::All => Self::All,
        }
    }
}

/// One published event.
#[derive(Debug)]
pub(crate) struct Message {
    pub(crate) node: NodeId,
    pub(crate) seq: u64,
    pub(crate) id: u64,
    pub(crate) targets: Targets,
    pub(crate) except: Vec<ClientId>,
    pub(crate) event: EncodedEvent,
}

fn policy_byte(policy: WhenFull) -> u8 {
    match policy {
        WhenFull::Close => 0,
        WhenFull::Drop => 1,
        WhenFull::DropOldest => 2,
        WhenFull::Latest => 3,
    }
}

fn policy_of(byte: u8) -> Option<WhenFull> {
    Some(match byte {
        0 => WhenFull::Close,
        1 => WhenFull::Drop,
        2 => WhenFull::DropOldest,
        3 => WhenFull::Latest,
        _ => return None,
    })
}

/// Writes a string with its length; `None` when it is too long for it.
fn push_str(out: &mut Vec<u8>, s: &str) -> Option<()> {
    let len = u16::try_from(s.len()).ok()?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(s.as_bytes());
    Some(())
}

impl Message {
    /// The message's bytes; `None` when a name, an id or a list is longer
    /// than the format holds (65 535 bytes or entries), never cut.
    pub(crate) fn encode(&self) -> Option<Vec<u8>> {
        let payload = self.event.payload_json();
        let mut out = Vec::with_capacity(64 + payload.len());
        out.push(VERSION);
        out.extend_from_slice(&self.node);
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(&self.id.to_be_bytes());
        let (kind, targets): (u8, Vec<&str>) = match &self.targets {
            Targets::All => (0, Vec::new()),
            Targets::Clients(ids) => (1, ids.iter().map(ClientId::as_str).collect()),
            Targets::Rooms(rooms) => (2, rooms.iter().map(String::as_str).collect()),
        };
        out.push(kind);
        out.push(policy_byte(self.event.policy()));
        out.extend_from_slice(&u16::try_from(targets.len()).ok()?.to_be_bytes());
        for target in &targets {
            push_str(&mut out, target)?;
        }
        out.extend_from_slice(&u16::try_from(self.except.len()).ok()?.to_be_bytes());
        for id in &self.except {
            push_str(&mut out, id.as_str())?;
        }
        push_str(&mut out, self.event.name())?;
        out.extend_from_slice(payload.as_bytes());
        Some(out)
    }

    /// Reads a message; `None` when the bytes are not one (another
    /// version, cut short, not UTF-8, or a payload that is not JSON).
    pub(crate) fn decode(bytes: &[u8]) -> Option<Self> {
        let mut r = Reader(bytes);
        if r.u8()? != VERSION {
            return None;
        }
        let node: NodeId = r.take(16)?.try_into().ok()?;
        let seq = u64::from_be_bytes(r.take(8)?.try_into().ok()?);
        let id = u64::from_be_bytes(r.take(8)?.try_into().ok()?);
        let kind = r.u8()?;
        let policy = policy_of(r.u8()?)?;
        let count = r.u16()?;
        let mut targets = Vec::with_capacity(usize::from(count));
        for _ in 0..count {
            targets.push(r.str()?);
        }
        let count = r.u16()?;
        let mut except = Vec::with_capacity(usize::from(count));
        for _ in 0..count {
            except.push(ClientId::from(r.str()?));
        }
        let name = r.str()?;
        let payload = std::str::from_utf8(r.0).ok()?;
        let targets = match kind {
            0 => Targets::All,
            1 => Targets::Clients(targets.into_iter().map(ClientId::from).collect()),
            2 => Targets::Rooms(targets.into_iter().map(str::to_owned).collect()),
            _ => return None,
        };
        let event = EncodedEvent::from_json(name, payload, policy).ok()?;
        Some(Self {
            node,
            seq,
            id,
            targets,
            except,
            event,
        })
    }
}

/// A message that moves a session between nodes.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub(crate) enum Control {
    /// On the events channel: node `from` asks node `holder` for session
    /// `session` (request `request`). After every message `from` received
    /// before it joined the session's rooms.
    Take {
        session: String,
        holder: String,
        from: String,
        request: u64,
    },
    /// On node `from`'s channel: the session's snapshot, or `None` when the
    /// holder no longer has it.
    Give {
        request: u64,
        snapshot: Option<String>,
    },
    /// On the new holder's channel: the reply of a call that was running
    /// on the old one when the session moved.
    Reply {
        session: String,
        rpc_id: String,
        reply: String,
    },
}

impl Control {
    pub(crate) fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// A control message, if `bytes` are one (a JSON object).
    pub(crate) fn decode(bytes: &[u8]) -> Option<Self> {
        if bytes.first() != Some(&b'{') {
            return None;
        }
        serde_json::from_slice(bytes).ok()
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }

    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_be_bytes(self.take(2)?.try_into().ok()?))
    }

    fn str(&mut self) -> Option<&'a str> {
        let len = usize::from(self.u16()?);
        std::str::from_utf8(self.take(len)?).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zocket::Event;

    const NEWS: Event<serde_json::Value> = Event::new("chat.news");

    fn message(targets: Targets, except: Vec<ClientId>) -> Message {
        Message {
            node: [7; 16],
            seq: 42,
            id: 9,
            targets,
            except,
            event: EncodedEvent::new(NEWS, &serde_json::json!({"text": "hé", "n": [1, 2]}))
                .unwrap(),
        }
    }

    #[test]
    fn every_message_reads_back_as_written() {
        for targets in [
            Targets::All,
            Targets::Clients(vec!["a".into(), "b".into()]),
            Targets::Rooms(vec!["general".into(), "".into(), "ünïcode".into()]),
        ] {
            let written = message(targets.clone(), vec!["x".into()]);
            let read = Message::decode(&written.encode().expect("fits")).expect("reads back");
            assert_eq!((read.node, read.seq, read.id), ([7; 16], 42, 9));
            assert_eq!(read.targets, targets);
            assert_eq!(read.except, vec![ClientId::from("x")]);
            assert_eq!(read.event.name(), "chat.news");
            assert_eq!(read.event.payload_json(), written.event.payload_json());
            assert_eq!(read.event.policy(), WhenFull::Close);
        }
    }

    #[test]
    fn anything_else_is_refused_not_trusted() {
        let bytes = message(Targets::All, Vec::new()).encode().expect("fits");
        for cut in 0..bytes.len() - 1 {
            // Cut anywhere before the payload's end: refused (a cut payload
            // is not JSON).
            assert!(Message::decode(&bytes[..cut]).is_none(), "cut at {cut}");
        }
        let mut other = bytes.clone();
        other[0] = 1;
        assert!(Message::decode(&other).is_none(), "another version");
        let mut kind = bytes.clone();
        kind[33] = 9;
        assert!(Message::decode(&kind).is_none(), "an unknown target kind");
        let mut payload = bytes;
        payload.push(b'}');
        assert!(
            Message::decode(&payload).is_none(),
            "a payload that is not JSON"
        );
    }

    #[test]
    fn control_messages_read_back_and_are_told_from_events() {
        let take = Control::Take {
            session: "ab".into(),
            holder: "01".into(),
            from: "02".into(),
            request: 7,
        };
        assert_eq!(Control::decode(&take.encode()), Some(take));
        let event = message(Targets::All, Vec::new()).encode().expect("fits");
        assert_eq!(Control::decode(&event), None);
        assert_eq!(Control::decode(b"{\"t\":\"other\"}"), None);
    }

    #[test]
    fn what_does_not_fit_is_refused_not_cut() {
        let long = "é".repeat(40_000);
        assert!(
            message(Targets::Rooms(vec![long]), Vec::new())
                .encode()
                .is_none()
        );
        let many: Vec<ClientId> = (0..70_000).map(|i| ClientId::from(i.to_string())).collect();
        assert!(message(Targets::All, many).encode().is_none());
    }
}
