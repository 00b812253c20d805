//! Room flooding: `--conns` connections (default 100) that each try to
//! join [`ROOMS_PER_CONN`] distinct rooms with [`NAME_BYTES`]-byte names,
//! no two connections sharing a room.
//!
//! Counts the joins accepted and those refused with `LIMIT_EXCEEDED` on
//! each connection, and reads the server's RSS before the connections,
//! after them and after the joins, while the connections are still open.

use super::super::Options;
use super::super::client::{self, Frame, Ws};
use super::super::conns::too_many;
use super::super::procfs::{CpuMeter, peak_rss_kib, rss_kib};
use super::{connect_all, per_conn, pid, record_bound};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Map, Value};
use std::time::{Duration, Instant};

/// Joins each connection tries.
const ROOMS_PER_CONN: u64 = 5000;
/// The length of every room name.
const NAME_BYTES: usize = 200;
/// Joins in flight on each connection.
const IN_FLIGHT: u64 = 16;
/// Time given to the server after the joins before its memory is read.
const SETTLE: Duration = Duration::from_secs(1);

/// What one connection's joins got.
#[derive(Default)]
struct Tally {
    accepted: u64,
    limited: u64,
    other: u64,
    first_other: Option<String>,
}

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
    let tasks: Vec<_> = sockets
        .into_iter()
        .enumerate()
        .map(|(conn, ws)| tokio::spawn(flood(ws, conn)))
        .collect();
    let mut held = Vec::with_capacity(n);
    let mut tallies = Vec::with_capacity(n);
    for task in tasks {
        let (ws, tally) = task.await.map_err(|err| format!("flood task: {err}"))??;
        held.push(ws);
        tallies.push(tally);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let mut metrics = Map::new();
    cpu.record(&mut metrics);
    record_bound(&mut metrics);
    tokio::time::sleep(SETTLE).await;
    let after = rss_kib(pid)?;
    let peak = peak_rss_kib(pid)?;
    drop(held);

    if let Some(err) = tallies.iter().find_map(|t| t.first_other.as_ref()) {
        eprintln!("rooms: first unexpected reply: {err}");
    }
    let sum = |f: fn(&Tally) -> u64| tallies.iter().map(f).sum::<u64>();
    let accepted = tallies.iter().map(|t| t.accepted);
    metrics.insert("conns".into(), Value::from(n));
    metrics.insert("joins".into(), Value::from(n as u64 * ROOMS_PER_CONN));
    metrics.insert("name_bytes".into(), Value::from(NAME_BYTES));
    metrics.insert(
        "joins_per_s".into(),
        Value::from(n as f64 * ROOMS_PER_CONN as f64 / elapsed),
    );
    metrics.insert("accepted".into(), Value::from(sum(|t| t.accepted)));
    metrics.insert(
        "accepted_per_conn_min".into(),
        Value::from(accepted.clone().min().unwrap_or(0)),
    );
    metrics.insert(
        "accepted_per_conn_max".into(),
        Value::from(accepted.max().unwrap_or(0)),
    );
    metrics.insert("limit_exceeded".into(), Value::from(sum(|t| t.limited)));
    metrics.insert("other_replies".into(), Value::from(sum(|t| t.other)));
    metrics.insert("rss_before_kib".into(), Value::from(before));
    metrics.insert("rss_connected_kib".into(), Value::from(connected));
    metrics.insert("rss_after_kib".into(), Value::from(after));
    metrics.insert("rss_peak_kib".into(), Value::from(peak));
    metrics.insert("kib_per_conn".into(), per_conn(after, before, n));
    metrics.insert("rooms_kib_per_conn".into(), per_conn(after, connected, n));
    metrics.insert("peak_kib_per_conn".into(), per_conn(peak, before, n));
    Ok(metrics)
}

/// The name of room `room` of connection `conn`, padded to [`NAME_BYTES`].
fn name(conn: usize, room: u64) -> String {
    let mut name = format!("flood-{conn:05}-{room:05}-");
    let pad = NAME_BYTES.saturating_sub(name.len());
    name.extend(std::iter::repeat_n('x', pad));
    name
}

/// Tries every join of connection `conn`, [`IN_FLIGHT`] at a time, and
/// counts the replies; gives the connection back open.
async fn flood(ws: Ws, conn: usize) -> Result<(Ws, Tally), String> {
    let (mut tx, mut rx) = ws.split();
    let join = |room: u64| {
        let payload = format!(r#"{{"room":"{}"}}"#, name(conn, room));
        client::call_frame(crate::wire::JOIN, &payload, room)
    };
    let mut tally = Tally::default();
    let mut sent = 0u64;
    while sent < IN_FLIGHT.min(ROOMS_PER_CONN) {
        tx.feed(join(sent)).await.map_err(|err| err.to_string())?;
        sent += 1;
    }
    tx.flush().await.map_err(|err| err.to_string())?;
    for _ in 0..ROOMS_PER_CONN {
        let reply = client::read_text(&mut rx).await?;
        let frame = Frame::parse(&reply)?;
        match (frame.ty.as_ref(), frame.error.as_ref()) {
            ("__rpc_res", _) => tally.accepted += 1,
            ("__rpc_err", Some(error)) if error.code == "LIMIT_EXCEEDED" => tally.limited += 1,
            _ => {
                tally.other += 1;
                tally.first_other.get_or_insert(reply);
            }
        }
        if sent < ROOMS_PER_CONN {
            tx.send(join(sent)).await.map_err(|err| err.to_string())?;
            sent += 1;
        }
    }
    let ws = tx.reunite(rx).map_err(|err| err.to_string())?;
    Ok((ws, tally))
}
