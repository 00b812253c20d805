//! Scenarios (a) and (b): `math.add` calls from 64 connections with a
//! fixed number in flight on each, for a warm-up second and then the
//! measured time; (ac): (a) on `math.addChecked`, whose input declares
//! ranges that zocket checks.

use super::Options;
use super::client::{self, Frame, READ_TIMEOUT, Ws};
use super::procfs::CpuMeter;
use super::stats::Latencies;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

const WARM_UP: Duration = Duration::from_secs(1);

/// What one connection measured.
#[derive(Default)]
struct Counted {
    calls: u64,
    latencies: Latencies,
}

pub(crate) async fn run(
    options: &Options,
    conns: usize,
    in_flight: usize,
    route: &'static str,
) -> Result<Map<String, Value>, String> {
    let conns = options.conns.unwrap_or(conns);
    let mut sockets = Vec::with_capacity(conns);
    for _ in 0..conns {
        sockets.push(
            client::connect(options.addr)
                .await
                .map_err(|(stage, err)| format!("{stage:?}: {err}"))?,
        );
    }
    let start = Instant::now();
    let measure_from = start + WARM_UP;
    let measure = Duration::from_secs_f64(options.seconds);
    let until = measure_from + measure;
    let tasks: Vec<_> = sockets
        .into_iter()
        .map(|ws| tokio::spawn(caller(ws, route, in_flight, measure_from, until)))
        .collect();
    tokio::time::sleep_until(measure_from.into()).await;
    let cpu = CpuMeter::start(options.pid);
    tokio::time::sleep_until(until.into()).await;
    let mut metrics = Map::new();
    cpu.record(&mut metrics);
    let mut total = Counted::default();
    for task in tasks {
        let counted = task.await.map_err(|err| format!("caller task: {err}"))??;
        total.calls += counted.calls;
        total.latencies.extend(counted.latencies);
    }
    let latencies = total.latencies.sorted();
    metrics.insert(
        "calls_per_s".into(),
        Value::from(total.calls as f64 / measure.as_secs_f64()),
    );
    metrics.insert("p50_us".into(), Value::from(latencies.percentile(50.0)));
    metrics.insert("p99_us".into(), Value::from(latencies.percentile(99.0)));
    metrics.insert("p999_us".into(), Value::from(latencies.percentile(99.9)));
    Ok(metrics)
}

/// Keeps `in_flight` calls going until `until`; counts the replies that
/// arrive from `measure_from` on, and checks each sum.
async fn caller(
    ws: Ws,
    route: &'static str,
    in_flight: usize,
    measure_from: Instant,
    until: Instant,
) -> Result<Counted, String> {
    let (mut tx, mut rx) = ws.split();
    let mut sent: HashMap<u64, Instant> = HashMap::with_capacity(in_flight * 2);
    let mut next = 0u64;
    let mut counted = Counted::default();
    let send = |id: u64| client::call_frame(route, &format!(r#"{{"a":{id},"b":1}}"#), id);
    for _ in 0..in_flight {
        next += 1;
        sent.insert(next, Instant::now());
        tx.feed(send(next)).await.map_err(|err| err.to_string())?;
    }
    tx.flush().await.map_err(|err| err.to_string())?;
    while !sent.is_empty() {
        let message = tokio::time::timeout(READ_TIMEOUT, rx.next())
            .await
            .map_err(|_| format!("no reply within {READ_TIMEOUT:?}"))?
            .ok_or("connection ended")?
            .map_err(|err| err.to_string())?;
        let Message::Text(text) = message else {
            continue;
        };
        let frame = Frame::parse(text.as_str())?;
        if frame.ty != "__rpc_res" {
            return Err(format!("unexpected frame {}", text.as_str()));
        }
        let id: u64 = frame
            .rpc_id
            .as_deref()
            .and_then(|id| id.parse().ok())
            .ok_or("bad rpcId")?;
        let at = sent.remove(&id).ok_or("reply to an unknown call")?;
        let sum: f64 =
            serde_json::from_str(frame.payload()).map_err(|err| format!("bad sum: {err}"))?;
        if sum != (id + 1) as f64 {
            return Err(format!("math.add {id} + 1 gave {sum}"));
        }
        let now = Instant::now();
        if now >= measure_from && now < until {
            counted.calls += 1;
            counted
                .latencies
                .record(u64::try_from(now.duration_since(at).as_micros()).unwrap_or(u64::MAX));
        }
        if now < until {
            next += 1;
            sent.insert(next, now);
            tx.send(send(next)).await.map_err(|err| err.to_string())?;
        }
    }
    Ok(counted)
}
