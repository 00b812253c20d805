//! The hostile scenario: clients that try to make the server hold memory
//! for them, each part measuring the server's RSS per attacking
//! connection.
//!
//! - `slowloris`: connections that send part of an HTTP request head and
//!   then nothing, held until the server's header timeout closes them;
//! - `rooms`: connections that each join thousands of rooms with long
//!   names;
//! - `replies`: connections that each make calls with large replies, the
//!   replies a session keeps for resent calls.
//!
//! `--part` picks one; without it the three run one after another against
//! the same server, each printing its own result line.

mod replies;
mod rooms;
mod slowloris;

use super::Options;
use super::client::{self, Ws};
use futures_util::StreamExt;
use serde_json::{Map, Value};
use std::net::SocketAddr;

/// The parts, in the order they run.
pub(crate) const PARTS: &[&str] = &["slowloris", "rooms", "replies"];

/// Connections opened at once while setting up.
const SETUP_CONCURRENCY: usize = 100;

/// A server process at or above this share of its core was the limit.
const BUSY_PCT: f64 = 85.0;

/// Runs the parts `options` asks for: `(scenario label, metrics)` each.
pub(crate) async fn run(options: &Options) -> Result<Vec<(String, Map<String, Value>)>, String> {
    let parts: Vec<&str> = match options.part.as_deref() {
        None => PARTS.to_vec(),
        Some(part) if PARTS.contains(&part) => vec![part],
        Some(other) => {
            return Err(format!(
                "unknown part {other:?}: expected one of {}",
                PARTS.join(", ")
            ));
        }
    };
    let mut lines = Vec::with_capacity(parts.len());
    for part in parts {
        let metrics = match part {
            "slowloris" => slowloris::run(options).await?,
            "rooms" => rooms::run(options).await?,
            _ => replies::run(options).await?,
        };
        lines.push((format!("hostile-{part}"), metrics));
    }
    Ok(lines)
}

/// The server's process id, which every part needs.
fn pid(options: &Options) -> Result<u32, String> {
    options
        .pid
        .ok_or_else(|| "the hostile scenario needs --pid".to_owned())
}

/// Opens `n` WebSocket connections, [`SETUP_CONCURRENCY`] at a time.
async fn connect_all(addr: SocketAddr, n: usize) -> Result<Vec<Ws>, String> {
    let mut open = futures_util::stream::iter(0..n)
        .map(|_| client::connect(addr))
        .buffer_unordered(SETUP_CONCURRENCY);
    let mut held = Vec::with_capacity(n);
    while let Some(ws) = open.next().await {
        held.push(ws.map_err(|(stage, err)| format!("{stage:?}: {err}"))?);
    }
    Ok(held)
}

/// Growth from `before` to `after` KiB, per connection.
fn per_conn(after: u64, before: u64, conns: usize) -> Value {
    Value::from(after.saturating_sub(before) as f64 / conns.max(1) as f64)
}

/// Adds `cpu_bound`: which side used its core (`server`, `load
/// generator`, `both`, `neither`), from `server_cpu_pct` and `load_cpu_pct`.
fn record_bound(metrics: &mut Map<String, Value>) {
    let busy = |key: &str| {
        metrics
            .get(key)
            .and_then(Value::as_f64)
            .map(|pct| pct >= BUSY_PCT)
    };
    let bound = match (busy("server_cpu_pct"), busy("load_cpu_pct")) {
        (Some(true), Some(true)) => "both",
        (Some(true), _) => "server",
        (_, Some(true)) => "load generator",
        (Some(false), Some(false)) => "neither",
        _ => "unknown",
    };
    metrics.insert("cpu_bound".into(), Value::from(bound));
}
