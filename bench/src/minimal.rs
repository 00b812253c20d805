//! The minimal baseline: the least an axum WebSocket server can do for the
//! same routes. One task per connection that reads a frame and writes its
//! answer itself (no writer task, no queue, no batching), a 4 KiB read
//! buffer; `__ready` first (the load generator waits for it), replies to
//! `math.add` and `room.join`, and for `room.publish` the same bytes sent
//! to every member of the room, with no per-recipient `seq`.
//!
//! What zocket does beyond this (its connection shape, heartbeats, limits,
//! sessions, numbering events for recovery) is what the ratios against it
//! cost.

use crate::raw::Envelope;
use crate::wire::{Add, Join, Msg, Publish};
use axum::extract::State;
use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use futures_util::SinkExt;
use serde_json::value::RawValue;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use tokio::sync::mpsc;

const READY: &str = r#"{"type":"__ready","payload":{"clientId":"0","sessionId":"0","protocolVersion":1,"recovered":false}}"#;

/// Rooms: their members' inboxes by connection number.
#[derive(Default)]
struct Rooms {
    members: RwLock<HashMap<String, HashMap<u64, mpsc::UnboundedSender<Utf8Bytes>>>>,
    next: AtomicU64,
}

/// The minimal server's axum app: the WebSocket on every path.
pub fn app() -> axum::Router {
    axum::Router::new()
        .fallback(upgrade)
        .with_state(Arc::new(Rooms::default()))
}

async fn upgrade(State(rooms): State<Arc<Rooms>>, ws: WebSocketUpgrade) -> Response {
    ws.read_buffer_size(4 * 1024)
        .on_upgrade(move |socket| connection(socket, rooms))
}

fn reply(rpc_id: &str, payload: &str) -> Message {
    Message::Text(
        format!(r#"{{"type":"__rpc_res","rpcId":"{rpc_id}","payload":{payload}}}"#).into(),
    )
}

async fn connection(mut socket: WebSocket, rooms: Arc<Rooms>) {
    let me = rooms.next.fetch_add(1, Ordering::Relaxed);
    let (inbox, mut events) = mpsc::unbounded_channel::<Utf8Bytes>();
    let mut joined = Vec::new();
    if socket.send(Message::text(READY)).await.is_ok() {
        loop {
            let message = tokio::select! {
                message = socket.recv() => message,
                Some(event) = events.recv() => {
                    // What else is waiting goes out in the same write.
                    let mut sent = socket.feed(Message::Text(event)).await;
                    while sent.is_ok() && let Ok(event) = events.try_recv() {
                        sent = socket.feed(Message::Text(event)).await;
                    }
                    if sent.and(socket.flush().await).is_err() {
                        break;
                    }
                    continue;
                }
            };
            let Some(Ok(Message::Text(text))) = message else {
                match message {
                    Some(Ok(_)) => continue,
                    _ => break,
                }
            };
            let Ok(envelope) = serde_json::from_str::<Envelope<'_>>(text.as_str()) else {
                continue;
            };
            let payload = envelope.payload.map_or("null", RawValue::get);
            let rpc_id = envelope.rpc_id.as_deref().unwrap_or("");
            let answer = match envelope.route.as_ref() {
                crate::wire::ADD => match serde_json::from_str::<Add>(payload) {
                    Ok(add) => reply(rpc_id, &(add.a + add.b).to_string()),
                    Err(_) => continue,
                },
                crate::wire::JOIN => match serde_json::from_str::<Join>(payload) {
                    Ok(join) => {
                        rooms
                            .members
                            .write()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .entry(join.room.clone())
                            .or_default()
                            .insert(me, inbox.clone());
                        joined.push(join.room);
                        reply(rpc_id, "null")
                    }
                    Err(_) => continue,
                },
                crate::wire::PUBLISH => match serde_json::from_str::<Publish>(payload) {
                    Ok(publish) => {
                        let msg =
                            serde_json::to_string(&Msg { ts: publish.ts }).unwrap_or_default();
                        let event: Utf8Bytes =
                            format!(r#"{{"type":"{}","payload":{msg}}}"#, crate::wire::MSG).into();
                        let members = rooms
                            .members
                            .read()
                            .unwrap_or_else(std::sync::PoisonError::into_inner);
                        for member in members
                            .get(&publish.room)
                            .into_iter()
                            .flat_map(HashMap::values)
                        {
                            let _ = member.send(event.clone());
                        }
                        reply(rpc_id, "null")
                    }
                    Err(_) => continue,
                },
                _ => continue,
            };
            if socket.send(answer).await.is_err() {
                break;
            }
        }
    }
    let mut members = rooms
        .members
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for room in joined {
        if let Some(room) = members.get_mut(&room) {
            room.remove(&me);
        }
    }
}
