//! Reply-cache amplification: `--conns` connections (default 100) that
//! each send [`CALLS_PER_CONN`] `math.blob` calls at once, each asking
//! for a reply of [`REPLY_BYTES`] bytes, and read every reply.
//!
//! A session keeps replies for calls resent after a reconnect; the part
//! reads the server's RSS while the calls run (its peak) and after them,
//! with the connections still open, against what the replies total; then
//! makes as many calls again on the same connections and reads the
//! growth.

use super::super::Options;
use super::super::client::{self, Frame, Ws};
use super::super::conns::too_many;
use super::super::procfs::{CpuMeter, peak_rss_kib, rss_kib};
use super::{connect_all, per_conn, pid, record_bound};
use futures_util::SinkExt;
use serde_json::{Map, Value};
use std::time::{Duration, Instant};

/// Calls each connection makes.
const CALLS_PER_CONN: u64 = 64;
/// The length of each reply's string.
const REPLY_BYTES: usize = 40 * 1024;
/// Time given to the server after the calls before its memory is read.
const SETTLE: Duration = Duration::from_secs(1);

pub(super) async fn run(options: &Options) -> Result<Map<String, Value>, String> {
    let n = options.conns.unwrap_or(100);
    let pid = pid(options)?;
    if let Some(skipped) = too_many(n, Some(pid))? {
        return Ok(skipped);
    }
    let before = rss_kib(pid)?;
    let sockets = connect_all(options.addr, n).await?;
    tokio::time::sleep(SETTLE).await;
    let connected = rss_kib(pid)?;

    let started = Instant::now();
    let cpu = CpuMeter::start(Some(pid));
    let (sockets, received) = round(sockets, 0).await?;
    let elapsed = started.elapsed().as_secs_f64();
    let mut metrics = Map::new();
    cpu.record(&mut metrics);
    record_bound(&mut metrics);
    tokio::time::sleep(SETTLE).await;
    let after = rss_kib(pid)?;
    let peak = peak_rss_kib(pid)?;
    // The same again on the same connections: what a session keeps
    // accumulates, what was only passing through is reused.
    let (sockets, _) = round(sockets, 1).await?;
    tokio::time::sleep(SETTLE).await;
    let after_second = rss_kib(pid)?;
    drop(sockets);

    let calls = n as u64 * CALLS_PER_CONN;
    metrics.insert("conns".into(), Value::from(n));
    metrics.insert("calls".into(), Value::from(calls));
    metrics.insert("reply_bytes".into(), Value::from(REPLY_BYTES));
    metrics.insert(
        "replies_kib_per_conn".into(),
        Value::from(CALLS_PER_CONN as f64 * REPLY_BYTES as f64 / 1024.0),
    );
    metrics.insert(
        "received_mib".into(),
        Value::from(received as f64 / (1 << 20) as f64),
    );
    metrics.insert("replies_per_s".into(), Value::from(calls as f64 / elapsed));
    metrics.insert("rss_before_kib".into(), Value::from(before));
    metrics.insert("rss_connected_kib".into(), Value::from(connected));
    metrics.insert("rss_after_kib".into(), Value::from(after));
    metrics.insert("rss_peak_kib".into(), Value::from(peak));
    metrics.insert("rss_after_second_kib".into(), Value::from(after_second));
    metrics.insert("kib_per_conn".into(), per_conn(after, before, n));
    metrics.insert("peak_kib_per_conn".into(), per_conn(peak, before, n));
    metrics.insert(
        "second_round_kib_per_conn".into(),
        per_conn(after_second, after, n),
    );
    Ok(metrics)
}

/// Round `round` of calls on every connection at once: the connections
/// back, with the bytes of text read.
async fn round(sockets: Vec<Ws>, round: u64) -> Result<(Vec<Ws>, u64), String> {
    let tasks: Vec<_> = sockets
        .into_iter()
        .map(|ws| tokio::spawn(amplify(ws, round * CALLS_PER_CONN)))
        .collect();
    let mut held = Vec::with_capacity(tasks.len());
    let mut received = 0u64;
    for task in tasks {
        let (ws, bytes) = task.await.map_err(|err| format!("caller task: {err}"))??;
        held.push(ws);
        received += bytes;
    }
    Ok((held, received))
}

/// Sends every call, with `rpcId`s from `first` on (never resends),
/// then reads and checks every reply; gives the connection back open,
/// with the bytes of text it read.
async fn amplify(mut ws: Ws, first: u64) -> Result<(Ws, u64), String> {
    let payload = format!(r#"{{"bytes":{REPLY_BYTES}}}"#);
    for id in first..first + CALLS_PER_CONN {
        ws.feed(client::call_frame(crate::wire::BLOB, &payload, id))
            .await
            .map_err(|err| err.to_string())?;
    }
    ws.flush().await.map_err(|err| err.to_string())?;
    let mut seen = vec![false; CALLS_PER_CONN as usize];
    let mut bytes = 0u64;
    for _ in 0..CALLS_PER_CONN {
        let reply = client::read_text(&mut ws).await?;
        bytes += reply.len() as u64;
        let frame = Frame::parse(&reply)?;
        let id = frame
            .rpc_id
            .as_deref()
            .and_then(|id| id.parse::<u64>().ok())
            .and_then(|id| id.checked_sub(first));
        let fresh = id
            .and_then(|id| seen.get_mut(id as usize))
            .is_some_and(|seen| !std::mem::replace(seen, true));
        // A JSON string of `REPLY_BYTES` ASCII bytes, with its quotes.
        if frame.ty != "__rpc_res" || frame.payload().len() != REPLY_BYTES + 2 || !fresh {
            let head: String = reply.chars().take(200).collect();
            return Err(format!("math.blob: unexpected reply {head}"));
        }
    }
    Ok((ws, bytes))
}
