//! The same routes written by hand on axum's WebSocket: what an
//! application would write without zocket, and the baseline of every
//! ratio.
//!
//! Each connection is a reader loop plus a writer task draining a bounded
//! queue of 1024 frames, with the 4 KiB read buffer and 8 KiB write buffer
//! zocket uses. Frames have the shapes of `docs/protocol.md`: `__ready`
//! first, `__rpc_res` / `__rpc_err` replies, and events serialized once per
//! publish with a per-connection `seq` appended by the writer. Left out, as
//! a minimal server would: heartbeats, limits other than the queue, the
//! handshake schema, hooks and graceful shutdown.

use crate::wire::{self, Add, Blob, Join, Msg, Publish};
use axum::extract::State;
use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use tokio::sync::mpsc;

/// Frames queued for one connection at most.
const QUEUE: usize = 1024;
/// Frames written per flush at most.
const BATCH: usize = 64;

/// A frame waiting for a connection's writer.
enum Out {
    /// A complete text frame.
    Text(Utf8Bytes),
    /// An event without its `seq`: `{"type":..,"payload":..,"seq":`.
    Event(Arc<str>),
}

/// Rooms: their members' outbound queues by connection number.
#[derive(Default)]
struct Hub {
    rooms: RwLock<HashMap<String, HashMap<u64, mpsc::Sender<Out>>>>,
    next: AtomicU64,
}

/// A client frame (the minimal server reads it too).
#[derive(Deserialize)]
pub(crate) struct Envelope<'a> {
    #[serde(rename = "type", borrow)]
    pub(crate) route: Cow<'a, str>,
    #[serde(borrow, default)]
    pub(crate) payload: Option<&'a RawValue>,
    #[serde(rename = "rpcId", borrow, default)]
    pub(crate) rpc_id: Option<Cow<'a, str>>,
}

/// The raw server's axum app: the WebSocket on every path.
pub fn app() -> axum::Router {
    axum::Router::new()
        .fallback(upgrade)
        .with_state(Arc::new(Hub::default()))
}

async fn upgrade(State(hub): State<Arc<Hub>>, ws: WebSocketUpgrade) -> Response {
    ws.read_buffer_size(2 * 1024)
        .write_buffer_size(8 * 1024)
        .max_message_size(1 << 20)
        .max_frame_size(1 << 20)
        .on_upgrade(move |socket| connection(socket, hub))
}

/// 128 random bits as 32 lowercase hex digits.
fn random_hex() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the operating system's random generator failed");
    bytes.iter().fold(String::with_capacity(32), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

async fn connection(socket: WebSocket, hub: Arc<Hub>) {
    let (sink, mut stream) = socket.split();
    let (tx, rx) = mpsc::channel(QUEUE);
    let id = hub.next.fetch_add(1, Ordering::Relaxed);
    // Built in a block so that no JSON value lives on in the connection.
    let ready = {
        let ready = serde_json::json!({
            "type": "__ready",
            "payload": {
                "clientId": random_hex(),
                "sessionId": random_hex(),
                "protocolVersion": 1,
                "recovered": false,
            }
        });
        ready.to_string()
    };
    let _ = tx.try_send(Out::Text(ready.into()));
    let writer = tokio::spawn(write(sink, rx));
    let mut joined = Vec::new();
    while let Some(Ok(message)) = stream.next().await {
        match message {
            Message::Text(text) => {
                let reply = handle(&hub, id, &tx, &mut joined, text.as_str());
                if let Some(reply) = reply
                    && tx.try_send(Out::Text(reply.into())).is_err()
                {
                    break;
                }
            }
            Message::Close(_) => break,
            _ => {}
        }
    }
    {
        let mut rooms = hub.rooms.write().unwrap_or_else(|p| p.into_inner());
        for room in joined {
            if let Some(members) = rooms.get_mut(&room) {
                members.remove(&id);
                if members.is_empty() {
                    rooms.remove(&room);
                }
            }
        }
    }
    drop(tx);
    let _ = writer.await;
}

/// Drains the queue into the socket, a batch per flush.
async fn write(mut sink: SplitSink<WebSocket, Message>, mut rx: mpsc::Receiver<Out>) {
    let mut seq = 0u64;
    while let Some(out) = rx.recv().await {
        let mut result = sink.feed(frame(out, &mut seq)).await;
        for _ in 1..BATCH {
            if result.is_err() {
                break;
            }
            match rx.try_recv() {
                Ok(out) => result = sink.feed(frame(out, &mut seq)).await,
                Err(_) => break,
            }
        }
        if result.and(sink.flush().await).is_err() {
            return;
        }
    }
    let _ = sink.close().await;
}

fn frame(out: Out, seq: &mut u64) -> Message {
    match out {
        Out::Text(text) => Message::Text(text),
        Out::Event(prefix) => {
            *seq += 1;
            let mut text = String::with_capacity(prefix.len() + 21);
            text.push_str(&prefix);
            let _ = write!(text, "{seq}}}");
            Message::Text(text.into())
        }
    }
}

/// Handles one text frame and returns the reply, if it gets one.
fn handle(
    hub: &Hub,
    id: u64,
    tx: &mpsc::Sender<Out>,
    joined: &mut Vec<String>,
    text: &str,
) -> Option<String> {
    let Ok(envelope) = serde_json::from_str::<Envelope<'_>>(text) else {
        return Some(error(None, "BAD_REQUEST", "frame is not a valid envelope"));
    };
    let rpc_id = envelope.rpc_id.as_deref();
    let payload = envelope.payload.map_or("null", RawValue::get);
    let result = match envelope.route.as_ref() {
        wire::ADD => input::<Add>(payload).and_then(|add| {
            serde_json::to_string(&(add.a + add.b)).map_err(|err| ("INTERNAL", err.to_string()))
        }),
        wire::BLOB => input::<Blob>(payload).and_then(|blob| {
            let reply = blob
                .reply()
                .ok_or(("VALIDATION", "bytes: at most 1 MiB".to_owned()))?;
            serde_json::to_string(&reply).map_err(|err| ("INTERNAL", err.to_string()))
        }),
        wire::JOIN => input::<Join>(payload).map(|join| {
            let mut rooms = hub.rooms.write().unwrap_or_else(|p| p.into_inner());
            rooms
                .entry(join.room.clone())
                .or_default()
                .insert(id, tx.clone());
            if !joined.contains(&join.room) {
                joined.push(join.room);
            }
            "null".to_owned()
        }),
        wire::PUBLISH => input::<Publish>(payload).and_then(|publish| {
            let payload = serde_json::to_string(&Msg { ts: publish.ts })
                .map_err(|err| ("INTERNAL", err.to_string()))?;
            let prefix: Arc<str> =
                format!(r#"{{"type":"{}","payload":{payload},"seq":"#, wire::MSG).into();
            let rooms = hub.rooms.read().unwrap_or_else(|p| p.into_inner());
            for member in rooms
                .get(&publish.room)
                .into_iter()
                .flat_map(|m| m.values())
            {
                let _ = member.try_send(Out::Event(prefix.clone()));
            }
            Ok("null".to_owned())
        }),
        other => Err(("NOT_FOUND", format!("no route {other}"))),
    };
    match (result, rpc_id) {
        (Ok(json), Some(rpc_id)) => {
            let rpc_id = serde_json::to_string(rpc_id).unwrap_or_default();
            Some(format!(
                r#"{{"type":"__rpc_res","rpcId":{rpc_id},"payload":{json}}}"#
            ))
        }
        // Without `rpcId` a frame is a message: no reply.
        (Ok(_), None) => None,
        (Err((code, message)), rpc_id) => Some(error(rpc_id, code, &message)),
    }
}

fn input<T: DeserializeOwned>(payload: &str) -> Result<T, (&'static str, String)> {
    serde_json::from_str(payload).map_err(|err| ("VALIDATION", err.to_string()))
}

fn error(rpc_id: Option<&str>, code: &str, message: &str) -> String {
    let error = serde_json::json!({"code": code, "message": message, "path": null, "data": null});
    match rpc_id {
        Some(rpc_id) => serde_json::json!({"type": "__rpc_err", "rpcId": rpc_id, "error": error}),
        None => serde_json::json!({"type": "__error", "error": error}),
    }
    .to_string()
}
