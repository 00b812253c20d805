//! Scenarios (d) and (e): many connections, idle or in a burst.

use super::Options;
use super::client::{self, Frame, Stage};
use super::procfs::{file_limit, rss_kib};
use super::stats::Latencies;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Map, Value};
use std::time::{Duration, Instant};

/// Connections opened at once while filling the server with idle ones.
const IDLE_CONCURRENCY: usize = 256;
/// Time given to the server to settle before its memory is read.
const SETTLE: Duration = Duration::from_secs(2);
/// File descriptors kept free beside the connections.
const SPARE_FDS: usize = 64;

/// `Some(metrics)` saying why `n` connections cannot be opened here.
pub(crate) fn too_many(n: usize, pid: Option<u32>) -> Result<Option<Map<String, Value>>, String> {
    let own = file_limit(None)?;
    let server = match pid {
        Some(pid) => file_limit(Some(pid))?,
        None => usize::MAX,
    };
    let limit = own.min(server);
    if n + SPARE_FDS <= limit {
        return Ok(None);
    }
    eprintln!("skipped: {n} connections need more than the open files limit of {limit}");
    let mut metrics = Map::new();
    metrics.insert("conns".into(), Value::from(n));
    metrics.insert("skipped_file_limit".into(), Value::from(limit));
    Ok(Some(metrics))
}

/// (d) Opens `--conns` idle connections (default 10 000) and divides the
/// server's memory growth by their number.
pub(crate) async fn idle(options: &Options) -> Result<Map<String, Value>, String> {
    let n = options.conns.unwrap_or(10_000);
    let pid = options.pid.ok_or("scenario d needs --pid")?;
    if let Some(skipped) = too_many(n, Some(pid))? {
        return Ok(skipped);
    }
    let before = rss_kib(pid)?;
    let addr = options.addr;
    let mut open = futures_util::stream::iter(0..n)
        .map(|_| client::connect(addr))
        .buffer_unordered(IDLE_CONCURRENCY);
    let mut held = Vec::with_capacity(n);
    let mut failed = 0usize;
    let mut first_error = None;
    while let Some(result) = open.next().await {
        match result {
            Ok(ws) => held.push(ws),
            Err(err) => {
                failed += 1;
                first_error.get_or_insert(err);
            }
        }
    }
    if let Some((stage, err)) = first_error {
        eprintln!("idle: {failed} failed, first at {stage:?}: {err}");
    }
    tokio::time::sleep(SETTLE).await;
    let after = rss_kib(pid)?;
    let open = held.len().max(1);
    let mut metrics = Map::new();
    metrics.insert("conns".into(), Value::from(held.len()));
    metrics.insert("failed".into(), Value::from(failed));
    metrics.insert("rss_before_kib".into(), Value::from(before));
    metrics.insert("rss_after_kib".into(), Value::from(after));
    metrics.insert(
        "kib_per_conn".into(),
        Value::from(after.saturating_sub(before) as f64 / open as f64),
    );
    Ok(metrics)
}

/// How one connection of the burst ended.
enum Outcome {
    /// `__ready`, then the right reply; the time from the start of the
    /// connection to the reply.
    Done(Box<client::Ws>, Duration),
    /// Failed before `__ready`.
    Failed(Stage, String),
    /// Connected, but the call got no right reply.
    Lost(String),
}

/// (e) Opens `--conns` connections (default 10 000) at once; each calls
/// `math.add` right after `__ready`. Every connection must get its reply.
pub(crate) async fn burst(options: &Options) -> Result<Map<String, Value>, String> {
    let n = options.conns.unwrap_or(10_000);
    if let Some(skipped) = too_many(n, options.pid)? {
        return Ok(skipped);
    }
    let addr = options.addr;
    let started = Instant::now();
    let tasks: Vec<_> = (0..n as u64)
        .map(|i| {
            tokio::spawn(async move {
                let t0 = Instant::now();
                let mut ws = match client::connect(addr).await {
                    Ok(ws) => ws,
                    Err((stage, err)) => return Outcome::Failed(stage, err),
                };
                let payload = format!(r#"{{"a":{i},"b":1}}"#);
                if let Err(err) = ws
                    .send(client::call_frame(crate::wire::ADD, &payload, i))
                    .await
                {
                    return Outcome::Lost(format!("send: {err}"));
                }
                let reply = match client::read_text(&mut ws).await {
                    Ok(reply) => reply,
                    Err(err) => return Outcome::Lost(err),
                };
                let right = Frame::parse(&reply).is_ok_and(|frame| {
                    frame.ty == "__rpc_res"
                        && frame.rpc_id.as_deref() == Some(i.to_string().as_str())
                        && serde_json::from_str::<f64>(frame.payload()).ok() == Some((i + 1) as f64)
                });
                if right {
                    Outcome::Done(Box::new(ws), t0.elapsed())
                } else {
                    Outcome::Lost(format!("wrong reply {reply}"))
                }
            })
        })
        .collect();
    let mut held = Vec::with_capacity(n);
    let mut latencies = Latencies::default();
    let (mut failed_connect, mut failed_handshake, mut lost) = (0u64, 0u64, 0u64);
    let mut first_error = None;
    let mut last = Duration::ZERO;
    for task in tasks {
        match task.await.map_err(|err| format!("burst task: {err}"))? {
            Outcome::Done(ws, took) => {
                latencies.record(u64::try_from(took.as_micros()).unwrap_or(u64::MAX));
                held.push(ws);
                last = last.max(started.elapsed());
            }
            Outcome::Failed(stage, err) => {
                match stage {
                    Stage::Connect => failed_connect += 1,
                    Stage::Handshake | Stage::Ready => failed_handshake += 1,
                }
                first_error.get_or_insert(format!("{stage:?}: {err}"));
            }
            Outcome::Lost(err) => {
                lost += 1;
                first_error.get_or_insert(format!("call: {err}"));
            }
        }
    }
    if let Some(err) = first_error {
        eprintln!("burst: first failure: {err}");
    }
    let done = latencies.len();
    let latencies = latencies.sorted();
    let mut metrics = Map::new();
    metrics.insert("conns".into(), Value::from(n));
    metrics.insert("answered".into(), Value::from(done));
    metrics.insert("lost".into(), Value::from(n as u64 - done as u64));
    metrics.insert("failed_connect".into(), Value::from(failed_connect));
    metrics.insert("failed_handshake".into(), Value::from(failed_handshake));
    metrics.insert("lost_calls".into(), Value::from(lost));
    metrics.insert(
        "conns_per_s".into(),
        Value::from(done as f64 / last.as_secs_f64().max(1e-6)),
    );
    metrics.insert(
        "p50_ms".into(),
        Value::from(latencies.percentile(50.0) / 1000.0),
    );
    metrics.insert(
        "p99_ms".into(),
        Value::from(latencies.percentile(99.0) / 1000.0),
    );
    Ok(metrics)
}
