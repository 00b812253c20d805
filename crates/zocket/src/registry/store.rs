//! Sessions across nodes: the types behind [`crate::store`].

use super::ClientId;
use crate::WhenFull;
use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

/// What outlives a node of a session: enough to bring it back elsewhere
/// without its history. Its `Debug` shows no secret: a prefix of the
/// session id, and no context.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
pub struct SessionRecord {
    #[serde(rename = "s")]
    pub(crate) session_id: String,
    #[serde(rename = "c")]
    pub(crate) client_id: String,
    /// The context, as JSON.
    #[serde(rename = "x")]
    pub(crate) context: serde_json::Value,
    #[serde(rename = "r")]
    pub(crate) rooms: Vec<String>,
}

impl std::fmt::Debug for SessionRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionRecord")
            .field(
                "session_id",
                &format_args!("{}…", self.session_id.get(..4).unwrap_or("")),
            )
            .field("client_id", &self.client_id)
            .field("rooms", &self.rooms)
            .finish_non_exhaustive()
    }
}

impl SessionRecord {
    /// The session's secret id: a store keeps it, never logs it.
    pub fn session_id(&self) -> &str {
        &self.session_id
    }

    /// The client's id.
    pub fn client_id(&self) -> ClientId {
        ClientId::from(self.client_id.clone())
    }

    /// The record as bytes (JSON).
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// A record from [`to_bytes`](Self::to_bytes); `None` when the bytes
    /// are not one.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        serde_json::from_slice(bytes).ok()
    }
}

/// One event of a session's history, as it travels.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct KeptEvent {
    pub(crate) seq: u64,
    pub(crate) name: String,
    pub(crate) payload: String,
    pub(crate) policy: u8,
    /// The origin node's id (two halves) and its number for the send.
    pub(crate) origin: Option<(u64, u64, u64)>,
}

/// One call of a session's reply cache, as it travels.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct KeptCall {
    pub(crate) rpc_id: String,
    /// `Some`: its reply. `None`: running (when `running`) or lost.
    pub(crate) reply: Option<String>,
    pub(crate) running: bool,
}

/// A session handed over by the node that held it: its record, the `seq`
/// of its last event, its history and its reply cache. Its `Debug` shows
/// no secret and no payload.
#[derive(Clone, Serialize, Deserialize)]
pub struct SessionSnapshot {
    pub(crate) record: SessionRecord,
    pub(crate) seq: u64,
    pub(crate) history: Vec<KeptEvent>,
    pub(crate) calls: Vec<KeptCall>,
}

impl std::fmt::Debug for SessionSnapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionSnapshot")
            .field("record", &self.record)
            .field("seq", &self.seq)
            .field("events", &self.history.len())
            .field("calls", &self.calls.len())
            .finish()
    }
}

impl SessionSnapshot {
    /// The session's record.
    pub fn record(&self) -> &SessionRecord {
        &self.record
    }

    /// The snapshot as bytes (JSON).
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// A snapshot from [`to_bytes`](Self::to_bytes); `None` when the bytes
    /// are not one.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        serde_json::from_slice(bytes).ok()
    }
}

pub(crate) fn policy_byte(policy: WhenFull) -> u8 {
    match policy {
        WhenFull::Close => 0,
        WhenFull::Drop => 1,
        WhenFull::DropOldest => 2,
        WhenFull::Latest => 3,
    }
}

pub(crate) fn policy_of(byte: u8) -> WhenFull {
    match byte {
        1 => WhenFull::Drop,
        2 => WhenFull::DropOldest,
        3 => WhenFull::Latest,
        _ => WhenFull::Close,
    }
}

/// How [`SessionStore::take`] ended.
#[derive(Debug)]
pub enum Taken {
    /// No node holds the session (it ended, expired, or never was): the
    /// client gets a fresh session.
    NotFound,
    /// The node holding it handed it over.
    Moved(SessionSnapshot),
    /// Its record was found but its node did not answer (it was killed):
    /// the session comes back from the record, without its history.
    Orphaned,
}

/// Sends a reply of a call that was still running when its session moved
/// to the node that has the session now: `(rpc_id, reply frame)`.
pub type ForwardReply = Box<dyn Fn(&str, &str) + Send + Sync>;

/// Builds a session on this node from its records (every record found,
/// the freshest first: its context, and the rooms of all) before the
/// holding node hands it over; `false` when it cannot (a context that
/// does not decode, or another handshake is bringing it here already).
pub type Prepare<'a> = &'a (dyn Fn(&[SessionRecord]) -> bool + Send + Sync);

/// Where sessions go between nodes (see the [module docs](crate::store)). Every
/// method but [`take`](Self::take) is called on a server's own tasks and
/// must not wait: a store that writes to a broker queues the write.
pub trait SessionStore: Send + Sync + 'static {
    /// Gives the store this node's sessions, so that it can hand them over
    /// when another node asks, and how long a session without a connection
    /// is kept. Called once, by [`ServerBuilder::build`](crate::ServerBuilder::build).
    fn bind(&self, sessions: Arc<dyn LocalSessions>, retention: Duration);
    /// A session started, or its rooms changed: keep its record.
    fn save(&self, record: &SessionRecord);
    /// A session ended: forget its record.
    fn forget(&self, session_id: &str);
    /// Takes the session `session_id`, which this node does not hold, from
    /// wherever it is: finds its records, calls `prepare` with them, then
    /// asks the node holding it to hand it over (waiting a bounded time).
    /// What this node sends between `prepare` and the request must reach
    /// the session once: before the request (the holder delivers it) or
    /// after `prepare` (delivered here).
    fn take<'a>(&'a self, session_id: &'a str, prepare: Prepare<'a>) -> BoxFuture<'a, Taken>;
    /// The server has shut down: write out what is queued (the last
    /// sessions handed over, the records forgotten) and leave the cluster.
    /// [`ServerHandle::shutdown`](crate::ServerHandle::shutdown) waits for
    /// it, up to the shutdown timeout. Does nothing by default.
    fn drain(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
}

/// This node's sessions, as a [`SessionStore`] sees them.
pub trait LocalSessions: Send + Sync + 'static {
    /// Takes session `session_id` out of this node for another one: out of
    /// its rooms, its connection (if any) closed as replaced, no
    /// `on_disconnect`. Replies of calls still running go to `forward`.
    /// `None` when this node does not hold it.
    fn hand_over(&self, session_id: &str, forward: ForwardReply) -> Option<SessionSnapshot>;
    /// The reply of a call that was running when its session moved here.
    fn forwarded_reply(&self, session_id: &str, rpc_id: &str, reply: &str);
    /// The records of every session this node holds, for a store that
    /// lost what it kept (a broker restarted without its data).
    fn records(&self) -> Vec<SessionRecord>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_no_secret() {
        let record = SessionRecord {
            session_id: "abcdef0123456789abcdef0123456789".into(),
            client_id: "c1".into(),
            context: serde_json::json!({"token": "hunter2"}),
            rooms: vec!["general".into()],
        };
        let snapshot = SessionSnapshot {
            record: record.clone(),
            seq: 3,
            history: Vec::new(),
            calls: Vec::new(),
        };
        for shown in [format!("{record:?}"), format!("{snapshot:?}")] {
            assert!(!shown.contains("0123456789abcdef"), "{shown}");
            assert!(!shown.contains("hunter2"), "{shown}");
            assert!(
                shown.contains("abcd…") && shown.contains("general"),
                "{shown}"
            );
        }
        let back = SessionRecord::from_bytes(&record.to_bytes()).expect("reads back");
        assert_eq!(back, record);
    }
}
