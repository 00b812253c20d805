//! Scenario (c): 1000 members of one room, one publisher. Each member
//! must get every event exactly once, in publishing order, with `seq`
//! counting 1, 2, 3...
//!
//! Flow control: the publisher keeps at most [`WINDOW`] events ahead of
//! the average member, far below the servers' 1024-frame queues, so a
//! fast publisher measures delivery rather than slow-consumer policy.

use super::Options;
use super::client::{self, READ_TIMEOUT, Ws};
use super::lean::{self, Conn, Proto};
use super::procfs::CpuMeter;
use super::stats::Latencies;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Map, Value};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use tokio::sync::Notify;

pub(crate) const ROOM: &str = "bench";
/// Events the publisher may be ahead of the members, on average.
const WINDOW: u64 = 16;
/// Connections opened at once while setting up.
const SETUP_CONCURRENCY: usize = 100;

/// Deliveries so far, and a wake-up for the publisher each time a full
/// round (one per member) completes.
pub(crate) struct Progress {
    pub(crate) delivered: AtomicU64,
    pub(crate) round: Notify,
    pub(crate) members: u64,
}

/// What one member saw.
pub(crate) struct Seen {
    pub(crate) events: u64,
    pub(crate) in_order: bool,
    pub(crate) latencies: Latencies,
    pub(crate) error: Option<String>,
}

/// What a member makes of a text frame: an event's `ts` and `seq` (when
/// numbered), `Ok(None)` for a ping to answer with `3` (Engine.IO's), an
/// error for anything else.
pub(crate) type Parse = fn(&[u8]) -> Result<Option<(f64, Option<u64>)>, String>;

/// A zocket member's connection, written and read by hand, in the room.
pub(crate) async fn zocket_member(addr: SocketAddr) -> Result<Conn, String> {
    let mut conn = Conn::open(Proto::Zocket, addr).await?;
    let join = format!(
        r#"{{"type":"{}","payload":{{"room":"{ROOM}"}},"rpcId":"1"}}"#,
        crate::wire::JOIN
    );
    conn.write(&lean::client_frame(join.as_bytes())).await?;
    let reply = conn.text().await?;
    if reply != br#"{"type":"__rpc_res","rpcId":"1","payload":null}"# {
        return Err(format!("room.join: {}", String::from_utf8_lossy(&reply)));
    }
    Ok(conn)
}

pub(crate) async fn run(options: &Options) -> Result<Map<String, Value>, String> {
    let members = options.conns.unwrap_or(1000);
    let events = options.events.unwrap_or(1000) as u64;
    let mut sockets = Vec::with_capacity(members);
    let addr = options.addr;
    let mut joining = futures_util::stream::iter(0..members)
        .map(|_| zocket_member(addr))
        .buffer_unordered(SETUP_CONCURRENCY);
    while let Some(conn) = joining.next().await {
        sockets.push(conn?);
    }
    drop(joining);
    let publisher = client::connect(addr)
        .await
        .map_err(|(stage, err)| format!("{stage:?}: {err}"))?;

    let progress = Arc::new(Progress {
        delivered: AtomicU64::new(0),
        round: Notify::new(),
        members: members as u64,
    });
    let started = Instant::now();
    let cpu = CpuMeter::start(options.pid);
    let tasks: Vec<_> = sockets
        .into_iter()
        .map(|conn| tokio::spawn(member(conn, events, progress.clone(), zocket_event)))
        .collect();
    let published = tokio::spawn(publish(publisher, events, progress.clone()));
    let mut latencies = Latencies::default();
    let (mut complete, mut in_order, mut delivered) = (0u64, 0u64, 0u64);
    let mut first_error = None;
    for task in tasks {
        let seen = task.await.map_err(|err| format!("member task: {err}"))?;
        delivered += seen.events;
        complete += u64::from(seen.events == events);
        in_order += u64::from(seen.in_order && seen.events == events);
        latencies.extend(seen.latencies);
        if first_error.is_none() {
            first_error = seen.error;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let mut metrics = Map::new();
    cpu.record(&mut metrics);
    let replies = published
        .await
        .map_err(|err| format!("publisher task: {err}"))??;
    if let Some(err) = first_error {
        eprintln!("fan-out: first member error: {err}");
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
    metrics.insert("members_complete".into(), Value::from(complete));
    metrics.insert(
        "missing_deliveries".into(),
        Value::from(events * members as u64 - delivered),
    );
    metrics.insert("publish_replies".into(), Value::from(replies));
    Ok(metrics)
}

/// Publishes `events` events, `ts` being the time of sending, and counts
/// the replies.
async fn publish(ws: Ws, events: u64, progress: Arc<Progress>) -> Result<u64, String> {
    let (mut tx, mut rx) = ws.split();
    let replies = tokio::spawn(async move {
        let mut replies = 0u64;
        while replies < events {
            match client::read_text(&mut rx).await {
                Ok(text) if text.contains("__rpc_res") => replies += 1,
                Ok(text) => return Err(format!("room.publish: {text}")),
                Err(err) => return Err(err),
            }
        }
        Ok(replies)
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
        let payload = format!(r#"{{"room":"{ROOM}","ts":{}}}"#, client::now_us());
        tx.send(client::call_frame(crate::wire::PUBLISH, &payload, k + 1))
            .await
            .map_err(|err| err.to_string())?;
    }
    let replies = replies.await.map_err(|err| err.to_string())??;
    Ok(replies)
}

/// Reads `events` events, checking order, `seq` and every payload, from
/// the frames' bytes (the lean connection of the call scenarios: the load
/// generator must cost less per delivery than the servers).
pub(crate) async fn member(
    mut conn: Conn,
    events: u64,
    progress: Arc<Progress>,
    parse: Parse,
) -> Seen {
    let mut seen = Seen {
        events: 0,
        in_order: true,
        latencies: Latencies::default(),
        error: None,
    };
    let mut last_ts = -1.0f64;
    while seen.events < events {
        if let Err(err) = conn.fill().await {
            seen.error = Some(err);
            break;
        }
        let now = client::now_us();
        let (mut got, mut pings) = (0, 0);
        while let Some(frame) = conn.next_frame() {
            match frame.opcode {
                1 => {}
                8 => {
                    seen.error = Some("closed by the server".into());
                    return seen;
                }
                _ => continue,
            }
            let (ts, seq) = match parse(conn.payload(&frame)) {
                Ok(Some(event)) => event,
                Ok(None) => {
                    pings += 1;
                    continue;
                }
                Err(err) => {
                    seen.error = Some(err);
                    return seen;
                }
            };
            seen.events += 1;
            got += 1;
            // The minimal server numbers nothing: its order is checked by `ts`.
            if seq.is_some_and(|seq| seq != seen.events) || ts <= last_ts {
                seen.in_order = false;
            }
            last_ts = ts;
            seen.latencies.record(now.saturating_sub(ts as u64));
        }
        for _ in 0..pings {
            // Engine.IO's ping: answered, or the server drops us.
            let _ = conn.write(&lean::client_frame(b"3")).await;
        }
        if got > 0 {
            let before = progress.delivered.fetch_add(got, Ordering::AcqRel);
            if before / progress.members != (before + got) / progress.members {
                progress.round.notify_one();
            }
        }
    }
    seen
}

/// [`event`] as a [`Parse`]: zocket's protocol has no pings to answer.
pub(crate) fn zocket_event(text: &[u8]) -> Result<Option<(f64, Option<u64>)>, String> {
    event(text)
        .map(Some)
        .ok_or_else(|| format!("not a room.msg: {}", String::from_utf8_lossy(text)))
}

/// A `room.msg` event frame's `ts` and `seq` (when numbered), read from
/// its bytes: `{"type":"room.msg","payload":{"ts":T}}`, with `,"seq":N`
/// before the last brace when numbered.
pub(crate) fn event(text: &[u8]) -> Option<(f64, Option<u64>)> {
    let prefix = br#"{"type":"room.msg","payload":{"ts":"#;
    let rest = text.strip_prefix(&prefix[..])?;
    let end = rest.iter().position(|b| *b == b'}')?;
    let ts: f64 = std::str::from_utf8(&rest[..end]).ok()?.parse().ok()?;
    let rest = &rest[end + 1..];
    if rest == b"}" {
        return Some((ts, None));
    }
    let digits = rest.strip_prefix(br#","seq":"#)?.strip_suffix(b"}")?;
    let seq = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some((ts, Some(seq)))
}

#[cfg(test)]
mod tests {
    use super::event;

    #[test]
    fn events_are_read_from_their_bytes() {
        let numbered = br#"{"type":"room.msg","payload":{"ts":1700000000123456.0},"seq":42}"#;
        assert_eq!(event(numbered), Some((1_700_000_000_123_456.0, Some(42))));
        assert_eq!(
            event(br#"{"type":"room.msg","payload":{"ts":5}}"#),
            Some((5.0, None))
        );
        for bad in [
            &br#"{"type":"room.other","payload":{"ts":5}}"#[..],
            br#"{"type":"room.msg","payload":{"ts":"5"}}"#,
            br#"{"type":"room.msg","payload":{"ts":5},"seq":x}"#,
            br#"{"type":"room.msg","payload":{"ts":5}"#,
        ] {
            assert_eq!(event(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }
}
