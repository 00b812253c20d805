//! Slowloris: `--conns` TCP connections (default 2000) that each send
//! the start of an HTTP request head and then nothing.
//!
//! The server's RSS is read before and while they are open; a legitimate
//! client then connects and makes calls beside them; then the part waits
//! up to [`GRACE`] past `--header-timeout` for the server to close them,
//! and reads the RSS again, still holding those it did not close. When
//! the server closed them all, a second wave as large follows: its RSS
//! growth says whether the memory of the first was kept for reuse.

use super::super::Options;
use super::super::client::{self, Frame};
use super::super::conns::too_many;
use super::super::procfs::rss_kib;
use super::super::stats::Latencies;
use super::{per_conn, pid};
use futures_util::SinkExt;
use serde_json::{Map, Value};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// What each connection sends: a request line and one header, no blank
/// line to end the head.
const HEAD: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\n";
/// Connections opened at once, then a pause of [`OPEN_PAUSE`]: a
/// connection waits in the listener's backlog (1024) until the server
/// accepts it, and one arriving when the backlog is full is retried by
/// the kernel only a second later.
const OPEN_BATCH: usize = 100;
/// The pause between batches.
const OPEN_PAUSE: Duration = Duration::from_millis(20);
/// Time given to the server between the last connection and a reading of
/// its memory.
const SETTLE: Duration = Duration::from_millis(500);
/// How long past the header timeout the part waits for closes.
const GRACE: Duration = Duration::from_secs(5);
/// Calls the legitimate client makes, one at a time.
const LEGIT_CALLS: u64 = 100;

pub(super) async fn run(options: &Options) -> Result<Map<String, Value>, String> {
    let n = options.conns.unwrap_or(2000);
    let pid = pid(options)?;
    if let Some(skipped) = too_many(n, Some(pid))? {
        return Ok(skipped);
    }
    let addr = options.addr;
    let header_timeout = Duration::from_secs_f64(options.header_timeout);
    let before = rss_kib(pid)?;
    let started = Instant::now();
    let (opened, failed) = open_all(addr, n).await;
    let open_s = started.elapsed().as_secs_f64();
    let held = opened.len();
    let watchers = watch_all(opened, header_timeout);
    tokio::time::sleep(SETTLE).await;
    let during = rss_kib(pid)?;
    let measured_at = started.elapsed();
    if measured_at >= header_timeout {
        eprintln!("slowloris: memory read {measured_at:?} in, past the header timeout");
    }
    let legit = legit(addr).await;
    let (close_after, still_open) = closes(watchers).await?;
    tokio::time::sleep(SETTLE).await;
    let after = rss_kib(pid)?;

    let mut metrics = Map::new();
    metrics.insert("conns".into(), Value::from(held));
    metrics.insert("failed".into(), Value::from(failed));
    metrics.insert("open_s".into(), Value::from(open_s));
    metrics.insert(
        "measured_at_s".into(),
        Value::from(measured_at.as_secs_f64()),
    );
    metrics.insert("rss_before_kib".into(), Value::from(before));
    metrics.insert("rss_open_kib".into(), Value::from(during));
    metrics.insert("rss_after_kib".into(), Value::from(after));
    metrics.insert("kib_per_conn".into(), per_conn(during, before, held));
    metrics.insert("closed_by_server".into(), Value::from(close_after.len()));
    metrics.insert("still_open".into(), Value::from(still_open.len()));
    if let (Some(first), Some(last)) = (close_after.first(), close_after.last()) {
        metrics.insert("first_close_s".into(), Value::from(*first));
        metrics.insert("last_close_s".into(), Value::from(*last));
    }
    match legit {
        Ok((connect, calls)) => {
            let calls = calls.sorted();
            metrics.insert("legit_ok".into(), Value::from(1));
            metrics.insert(
                "legit_connect_ms".into(),
                Value::from(connect.as_secs_f64() * 1e3),
            );
            metrics.insert(
                "legit_call_p50_us".into(),
                Value::from(calls.percentile(50.0)),
            );
            metrics.insert(
                "legit_call_p99_us".into(),
                Value::from(calls.percentile(99.0)),
            );
        }
        Err(err) => {
            eprintln!("slowloris: the legitimate client failed: {err}");
            metrics.insert("legit_ok".into(), Value::from(0));
        }
    }
    // When the server closed them all: a second wave as large, to tell
    // memory kept by the allocator for reuse from memory still held.
    if still_open.is_empty() && held > 0 {
        let (opened, _) = open_all(addr, n).await;
        let second = opened.len();
        let watchers = watch_all(opened, header_timeout);
        tokio::time::sleep(SETTLE).await;
        let during_second = rss_kib(pid)?;
        let (closed, _) = closes(watchers).await?;
        metrics.insert("second_wave_conns".into(), Value::from(second));
        metrics.insert("rss_second_wave_kib".into(), Value::from(during_second));
        metrics.insert(
            "second_wave_kib_per_conn".into(),
            per_conn(during_second, after, second),
        );
        metrics.insert("second_wave_closed".into(), Value::from(closed.len()));
    }
    drop(still_open);
    Ok(metrics)
}

/// Opens `n` connections that each send [`HEAD`], in batches: those
/// opened with the time each sent its head, and how many failed.
async fn open_all(addr: SocketAddr, n: usize) -> (Vec<(TcpStream, Instant)>, usize) {
    let mut opened = Vec::with_capacity(n);
    let mut failed = 0usize;
    for start in (0..n).step_by(OPEN_BATCH) {
        let batch = (start..n.min(start + OPEN_BATCH)).map(|_| open(addr));
        for result in futures_util::future::join_all(batch).await {
            match result {
                Ok(held) => opened.push(held),
                Err(err) => {
                    if failed == 0 {
                        eprintln!("slowloris: first failure: {err}");
                    }
                    failed += 1;
                }
            }
        }
        tokio::time::sleep(OPEN_PAUSE).await;
    }
    (opened, failed)
}

/// A [`watch`] task per connection, until [`GRACE`] past `header_timeout`.
fn watch_all(
    opened: Vec<(TcpStream, Instant)>,
    header_timeout: Duration,
) -> Vec<tokio::task::JoinHandle<Result<Duration, TcpStream>>> {
    let deadline = Instant::now() + header_timeout + GRACE;
    opened
        .into_iter()
        .map(|(stream, sent)| tokio::spawn(watch(stream, sent, deadline)))
        .collect()
}

/// Waits for the watchers: the seconds from each closed connection's head
/// to its close, sorted, and the connections still open.
async fn closes(
    watchers: Vec<tokio::task::JoinHandle<Result<Duration, TcpStream>>>,
) -> Result<(Vec<f64>, Vec<TcpStream>), String> {
    let mut close_after = Vec::with_capacity(watchers.len());
    let mut still_open = Vec::new();
    for watcher in watchers {
        match watcher
            .await
            .map_err(|err| format!("watcher task: {err}"))?
        {
            Ok(took) => close_after.push(took.as_secs_f64()),
            Err(stream) => still_open.push(stream),
        }
    }
    close_after.sort_by(f64::total_cmp);
    Ok((close_after, still_open))
}

/// Connects and sends [`HEAD`]; the stream and when it was sent.
async fn open(addr: SocketAddr) -> Result<(TcpStream, Instant), String> {
    let connecting = async {
        let mut stream = client::tcp_connect(addr).await?;
        stream
            .write_all(HEAD)
            .await
            .map_err(|err| err.to_string())?;
        Ok((stream, Instant::now()))
    };
    tokio::time::timeout(client::CONNECT_TIMEOUT, connecting)
        .await
        .unwrap_or_else(|_| Err("timed out".into()))
}

/// Reads until the server closes the connection or `deadline` passes:
/// the time from [`HEAD`] to the close, or the stream still open.
async fn watch(
    mut stream: TcpStream,
    sent: Instant,
    deadline: Instant,
) -> Result<Duration, TcpStream> {
    let mut buf = [0u8; 512];
    let closed = tokio::time::timeout_at(deadline.into(), async {
        // A server may answer (408) before it closes: read past it.
        while let Ok(1..) = stream.read(&mut buf).await {}
    })
    .await;
    match closed {
        Ok(()) => Ok(sent.elapsed()),
        Err(_) => Err(stream),
    }
}

/// A legitimate client: connects (to `__ready`), then makes
/// [`LEGIT_CALLS`] `math.add` calls one at a time and checks each sum.
async fn legit(addr: SocketAddr) -> Result<(Duration, Latencies), String> {
    let t0 = Instant::now();
    let mut ws = client::connect(addr)
        .await
        .map_err(|(stage, err)| format!("{stage:?}: {err}"))?;
    let connect = t0.elapsed();
    let mut latencies = Latencies::default();
    for id in 1..=LEGIT_CALLS {
        let t0 = Instant::now();
        let payload = format!(r#"{{"a":{id},"b":1}}"#);
        ws.send(client::call_frame(crate::wire::ADD, &payload, id))
            .await
            .map_err(|err| err.to_string())?;
        let reply = client::read_text(&mut ws).await?;
        let frame = Frame::parse(&reply)?;
        let sum = serde_json::from_str::<f64>(frame.payload()).ok();
        if frame.ty != "__rpc_res" || sum != Some((id + 1) as f64) {
            return Err(format!("math.add {id} + 1: {reply}"));
        }
        latencies.record(u64::try_from(t0.elapsed().as_micros()).unwrap_or(u64::MAX));
    }
    let _ = ws.close(None).await;
    Ok((connect, latencies))
}
