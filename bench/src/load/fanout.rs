//! Scenario (c): 1000 members of one room, one publisher. Each member
//! must get every event exactly once, in publishing order, with `seq`
//! counting 1, 2, 3...
//!
//! Flow control: the publisher keeps at most [`WINDOW`] events ahead of
//! the average member, far below the servers' 1024-frame queues, so a
//! fast publisher measures delivery rather than slow-consumer policy.

use super::Options;
use super::client::{self, Frame, READ_TIMEOUT, Ws};
use super::procfs::CpuMeter;
use super::stats::Latencies;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Map, Value};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::Message;

const ROOM: &str = "bench";
/// Events the publisher may be ahead of the members, on average.
const WINDOW: u64 = 16;
/// Connections opened at once while setting up.
const SETUP_CONCURRENCY: usize = 100;

/// Deliveries so far, and a wake-up for the publisher each time a full
/// round (one per member) completes.
struct Progress {
    delivered: AtomicU64,
    round: Notify,
    members: u64,
}

/// What one member saw.
struct Seen {
    events: u64,
    in_order: bool,
    latencies: Latencies,
    error: Option<String>,
}

pub(crate) async fn run(options: &Options) -> Result<Map<String, Value>, String> {
    let members = options.conns.unwrap_or(1000);
    let events = options.events.unwrap_or(1000) as u64;
    let mut sockets = Vec::with_capacity(members);
    let addr = options.addr;
    let mut joining = futures_util::stream::iter(0..members)
        .map(|_| async move {
            let mut ws = client::connect(addr)
                .await
                .map_err(|(stage, err)| format!("{stage:?}: {err}"))?;
            let join = format!(r#"{{"room":"{ROOM}"}}"#);
            ws.send(client::call_frame(crate::wire::JOIN, &join, 1))
                .await
                .map_err(|err| err.to_string())?;
            let reply = client::read_text(&mut ws).await?;
            let frame = Frame::parse(&reply)?;
            if frame.ty != "__rpc_res" || frame.payload() != "null" {
                return Err(format!("room.join: {reply}"));
            }
            Ok::<_, String>(ws)
        })
        .buffer_unordered(SETUP_CONCURRENCY);
    while let Some(ws) = joining.next().await {
        sockets.push(ws?);
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
        .map(|ws| tokio::spawn(member(ws, events, progress.clone())))
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

/// Reads `events` events, checking order, `seq` and every payload.
async fn member(ws: Ws, events: u64, progress: Arc<Progress>) -> Seen {
    let (_tx, mut rx) = ws.split();
    let mut seen = Seen {
        events: 0,
        in_order: true,
        latencies: Latencies::default(),
        error: None,
    };
    let mut last_ts = -1.0f64;
    while seen.events < events {
        let message = match tokio::time::timeout(READ_TIMEOUT, rx.next()).await {
            Ok(Some(Ok(message))) => message,
            Ok(Some(Err(err))) => {
                seen.error = Some(err.to_string());
                break;
            }
            Ok(None) => {
                seen.error = Some("connection ended".into());
                break;
            }
            Err(_) => {
                seen.error = Some(format!("no event within {READ_TIMEOUT:?}"));
                break;
            }
        };
        let Message::Text(text) = message else {
            continue;
        };
        let now = client::now_us();
        let frame = match Frame::parse(text.as_str()) {
            Ok(frame) => frame,
            Err(err) => {
                seen.error = Some(err);
                break;
            }
        };
        let ts = serde_json::from_str::<crate::wire::Msg>(frame.payload()).map(|msg| msg.ts);
        let Ok(ts) = ts else {
            seen.error = Some(format!("not a room.msg: {}", text.as_str()));
            break;
        };
        seen.events += 1;
        // The minimal server numbers nothing: its order is checked by `ts`.
        let seq_ok = frame.seq.is_none_or(|seq| seq == seen.events);
        if frame.ty != crate::wire::MSG || !seq_ok || ts <= last_ts {
            seen.in_order = false;
        }
        last_ts = ts;
        seen.latencies.record(now.saturating_sub(ts as u64));
        let before = progress.delivered.fetch_add(1, Ordering::AcqRel);
        if (before + 1).is_multiple_of(progress.members) {
            progress.round.notify_one();
        }
    }
    seen
}
