//! Scenario (x): fan-out across two nodes on one Redis. 1000 members of
//! one room, half on each node; one publisher on the first node. Each
//! member must get every event once, in publishing order. zocket with
//! `zocket-redis`, or socketioxide with `socketioxide-redis`, each node
//! its own process.
//!
//! Flow control as in (c): the publisher keeps at most [`WINDOW`] events
//! ahead of the average member.

use super::Options;
use super::client::{self, READ_TIMEOUT, Stage, Ws};
use super::fanout::{self, Parse, Progress, ROOM, member};
use super::lean;
use super::procfs::CpuMeter;
use super::stats::Latencies;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Map, Value};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::Message;

const WINDOW: u64 = 16;
const SETUP_CONCURRENCY: usize = 100;

/// The protocol of the servers under test.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Proto {
    Zocket,
    /// Engine.IO 4 / Socket.IO 5 over a WebSocket.
    SocketIo,
}

/// A member's connection (written and read by hand, as in scenario c),
/// with its room joined.
async fn member_conn(proto: Proto, addr: SocketAddr) -> Result<lean::Conn, String> {
    if proto == Proto::Zocket {
        return fanout::zocket_member(addr).await;
    }
    let mut conn = lean::Conn::open(lean::Proto::SocketIo, addr).await?;
    let join = format!(r#"420["join","{ROOM}"]"#);
    conn.write(&lean::client_frame(join.as_bytes())).await?;
    loop {
        let packet = conn.text().await?;
        if packet == b"2" {
            conn.write(&lean::client_frame(b"3")).await?;
            continue;
        }
        if !packet.starts_with(b"430") {
            return Err(format!("join: {}", String::from_utf8_lossy(&packet)));
        }
        return Ok(conn);
    }
}

/// Connects: zocket's `__ready`, or Socket.IO's open and connect packets.
async fn connect(proto: Proto, addr: SocketAddr) -> Result<Ws, String> {
    let stage = |(stage, err): (Stage, String)| format!("{stage:?}: {err}");
    match proto {
        Proto::Zocket => client::connect(addr).await.map_err(stage),
        Proto::SocketIo => {
            let mut ws = client::connect_path(addr, "/socket.io/?EIO=4&transport=websocket")
                .await
                .map_err(stage)?;
            let open = client::read_text(&mut ws).await?;
            if !open.starts_with('0') {
                return Err(format!("no Engine.IO open packet: {open}"));
            }
            ws.send(Message::text("40"))
                .await
                .map_err(|err| err.to_string())?;
            let connected = socketio_packet(&mut ws).await?;
            if !connected.starts_with("40") {
                return Err(format!("no Socket.IO connect packet: {connected}"));
            }
            Ok(ws)
        }
    }
}

/// The next Socket.IO packet, answering Engine.IO pings (`2`) on the way.
async fn socketio_packet(ws: &mut Ws) -> Result<String, String> {
    loop {
        let text = client::read_text(ws).await?;
        if text != "2" {
            return Ok(text);
        }
        ws.send(Message::text("3"))
            .await
            .map_err(|err| err.to_string())?;
    }
}

pub(crate) async fn run(options: &Options) -> Result<Map<String, Value>, String> {
    let proto = match options.server.as_str() {
        "zocket" => Proto::Zocket,
        "socketioxide" => Proto::SocketIo,
        other => return Err(format!("x: no cross-node scenario for server {other:?}")),
    };
    let second = options.addr2.ok_or("x needs --addr2, the second node")?;
    let members = options.conns.unwrap_or(1000);
    let events = options.events.unwrap_or(1000) as u64;
    let first = options.addr;
    let mut joining = futures_util::stream::iter(0..members)
        .map(|i| member_conn(proto, if i % 2 == 0 { first } else { second }))
        .buffer_unordered(SETUP_CONCURRENCY);
    let mut sockets = Vec::with_capacity(members);
    while let Some(conn) = joining.next().await {
        sockets.push(conn?);
    }
    drop(joining);
    let publisher = connect(proto, first).await?;
    let progress = Arc::new(Progress {
        delivered: AtomicU64::new(0),
        round: Notify::new(),
        members: members as u64,
    });
    let started = Instant::now();
    let cpu = CpuMeter::start(options.pid);
    let tasks: Vec<_> = sockets
        .into_iter()
        .map(|conn| {
            let parse: Parse = match proto {
                Proto::Zocket => fanout::zocket_event,
                Proto::SocketIo => socketio_event,
            };
            tokio::spawn(member(conn, events, progress.clone(), parse))
        })
        .collect();
    let published = tokio::spawn(publish(proto, publisher, events, progress.clone()));
    let mut latencies = Latencies::default();
    let (mut in_order, mut delivered) = (0u64, 0u64);
    let mut first_error = None;
    for task in tasks {
        let seen = task.await.map_err(|err| format!("member task: {err}"))?;
        delivered += seen.events;
        in_order += u64::from(seen.in_order && seen.events == events);
        latencies.extend(seen.latencies);
        if first_error.is_none() {
            first_error = seen.error;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let mut metrics = Map::new();
    cpu.record(&mut metrics);
    published
        .await
        .map_err(|err| format!("publisher task: {err}"))??;
    if let Some(err) = first_error {
        eprintln!("cross-node fan-out: first member error: {err}");
    }
    let latencies = latencies.sorted();
    metrics.insert(
        "deliveries_per_s".into(),
        Value::from(delivered as f64 / elapsed),
    );
    metrics.insert("p50_us".into(), Value::from(latencies.percentile(50.0)));
    metrics.insert("p99_us".into(), Value::from(latencies.percentile(99.0)));
    metrics.insert("members".into(), Value::from(members));
    metrics.insert("events".into(), Value::from(events));
    metrics.insert("members_complete_in_order".into(), Value::from(in_order));
    metrics.insert(
        "missing_deliveries".into(),
        Value::from(events * members as u64 - delivered),
    );
    Ok(metrics)
}

/// Publishes `events` events (`ts`: the time of sending), each answered.
async fn publish(proto: Proto, ws: Ws, events: u64, progress: Arc<Progress>) -> Result<(), String> {
    let (mut tx, mut rx) = ws.split();
    let replies = tokio::spawn(async move {
        let mut replies = 0u64;
        while replies < events {
            let text = client::read_text(&mut rx).await?;
            let answered = match proto {
                Proto::Zocket => text.contains("__rpc_res"),
                Proto::SocketIo => text.starts_with("43"),
            };
            match (answered, proto) {
                (true, _) => replies += 1,
                // The publisher is a member too on Socket.IO (`within`
                // includes it): its own events are not replies.
                (false, Proto::SocketIo) if text.starts_with("42") || text == "2" => {}
                _ => return Err(format!("publish: {text}")),
            }
        }
        Ok::<_, String>(())
    });
    for k in 0..events {
        let need = k.saturating_sub(WINDOW) * progress.members;
        let wait = async {
            while progress.delivered.load(Ordering::Acquire) < need {
                progress.round.notified().await;
            }
        };
        tokio::time::timeout(READ_TIMEOUT, wait)
            .await
            .map_err(|_| format!("members stalled before event {k}"))?;
        let ts = client::now_us();
        let frame = match proto {
            Proto::Zocket => client::call_frame(
                crate::wire::PUBLISH,
                &format!(r#"{{"room":"{ROOM}","ts":{ts}}}"#),
                k + 1,
            ),
            Proto::SocketIo => {
                Message::text(format!(r#"42{k}["publish",{{"room":"{ROOM}","ts":{ts}}}]"#))
            }
        };
        tx.send(frame).await.map_err(|err| err.to_string())?;
    }
    replies.await.map_err(|err| err.to_string())?
}

/// A Socket.IO frame's meaning to a member: a `msg` event's `ts`, or
/// `None` for Engine.IO's ping (`2`).
fn socketio_event(text: &[u8]) -> Result<Option<(f64, Option<u64>)>, String> {
    if text == b"2" {
        return Ok(None);
    }
    let ts = text
        .strip_prefix(br#"42["msg",{"ts":"#)
        .and_then(|rest| rest.strip_suffix(b"}]"))
        .and_then(|ts| std::str::from_utf8(ts).ok()?.parse().ok())
        .ok_or_else(|| format!("not a msg event: {}", String::from_utf8_lossy(text)))?;
    Ok(Some((ts, None)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_events_of_both_protocols() {
        let zocket = br#"{"type":"room.msg","payload":{"ts":12.0},"seq":3}"#;
        assert_eq!(fanout::zocket_event(zocket).unwrap(), Some((12.0, Some(3))));
        let socketio = br#"42["msg",{"ts":15}]"#;
        assert_eq!(socketio_event(socketio).unwrap(), Some((15.0, None)));
        assert_eq!(socketio_event(b"2").unwrap(), None);
        assert!(socketio_event(br#"42["other",{}]"#).is_err());
        assert!(socketio_event(br#"42["msg",{"ts":"x"}]"#).is_err());
        assert!(fanout::zocket_event(br#"{"type":"__rpc_res","rpcId":"1"}"#).is_err());
    }
}
