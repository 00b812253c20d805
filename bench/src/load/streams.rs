//! Scenarios (s1) and (s64): stream items, from one stream on one
//! connection, and from 64 streams on 64 connections at once. zocket's
//! `stream.count` (its items paced by the credit this client grants), or
//! jsonrpsee's subscription `stream.count` (paced by its server-side
//! buffer and TCP). Every item's number is checked (in order, none
//! missing) and its latency taken from the server's timestamp.

use super::Options;
use super::client::{self, READ_TIMEOUT};
use super::procfs::CpuMeter;
use super::stats::Latencies;
use crate::wire::{Item, STREAM, wall_us};
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::time::Instant;
use tokio_tungstenite::tungstenite::Message;

/// The credit window this client grants a zocket stream: the server's
/// largest (`max_stream_window`), granted again each half.
pub(crate) const WINDOW: u64 = 256;

/// Items of one stream, per scenario: (s1) one long stream, (s64) 64
/// shorter ones.
const ITEMS_ONE: u64 = 200_000;
const ITEMS_EACH_OF_64: u64 = 5_000;

pub(crate) async fn run(options: &Options, streams: usize) -> Result<Map<String, Value>, String> {
    let streams = options.conns.unwrap_or(streams);
    let items = options.events.map_or(
        if streams == 1 {
            ITEMS_ONE
        } else {
            ITEMS_EACH_OF_64
        },
        |n| n as u64,
    );
    let jsonrpsee = match options.server.as_str() {
        "zocket" => false,
        "jsonrpsee" => true,
        other => return Err(format!("streams: no stream on server {other:?}")),
    };
    let mut sockets = Vec::with_capacity(streams);
    for _ in 0..streams {
        let ws = if jsonrpsee {
            client::connect_plain(options.addr).await
        } else {
            client::connect(options.addr).await
        };
        sockets.push(ws.map_err(|(stage, err)| format!("{stage:?}: {err}"))?);
    }
    let cpu = CpuMeter::start(options.pid);
    let start = Instant::now();
    let tasks: Vec<_> = sockets
        .into_iter()
        .map(|ws| tokio::spawn(read_stream(ws, items, jsonrpsee)))
        .collect();
    let mut latencies = Latencies::default();
    for task in tasks {
        latencies.extend(task.await.map_err(|err| format!("stream task: {err}"))??);
    }
    let elapsed = start.elapsed().as_secs_f64();
    let mut metrics = Map::new();
    cpu.record(&mut metrics);
    let total = latencies.len() as f64;
    let latencies = latencies.sorted();
    metrics.insert("items_per_s".into(), Value::from(total / elapsed));
    metrics.insert("p50_us".into(), Value::from(latencies.percentile(50.0)));
    metrics.insert("p99_us".into(), Value::from(latencies.percentile(99.0)));
    metrics.insert("streams".into(), Value::from(streams));
    metrics.insert("items".into(), Value::from(total));
    if !jsonrpsee {
        metrics.insert("window".into(), Value::from(WINDOW));
    }
    Ok(metrics)
}

/// A frame of either protocol, read without building a JSON tree: a
/// zocket `__item` (`n`, `payload`) or `__rpc_res`/`__rpc_err`, or a
/// jsonrpsee notification (`params.result`) or response (`result`,
/// `error`).
#[derive(Deserialize)]
struct Frame<'a> {
    #[serde(rename = "type", borrow, default)]
    ty: Option<Cow<'a, str>>,
    #[serde(default)]
    n: Option<u64>,
    #[serde(borrow, default)]
    payload: Option<&'a RawValue>,
    #[serde(borrow, default)]
    params: Option<Params<'a>>,
    #[serde(borrow, default)]
    result: Option<&'a RawValue>,
    #[serde(borrow, default)]
    error: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Params<'a> {
    #[serde(borrow)]
    result: &'a RawValue,
}

/// Opens one stream of `items` items, reads it to its end, and returns
/// each item's latency; fails on a missing, repeated or reordered item.
async fn read_stream(ws: client::Ws, items: u64, jsonrpsee: bool) -> Result<Latencies, String> {
    let (mut tx, mut rx) = ws.split();
    let credit = |received: u64| {
        Message::text(format!(
            r#"{{"type":"__credit","rpcId":"1","payload":{{"received":{received},"window":{WINDOW}}}}}"#
        ))
    };
    if jsonrpsee {
        tx.send(Message::text(format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"{STREAM}","params":[{items}]}}"#
        )))
        .await
        .map_err(|err| err.to_string())?;
    } else {
        tx.feed(client::call_frame(
            STREAM,
            &format!(r#"{{"count":{items}}}"#),
            1,
        ))
        .await
        .map_err(|err| err.to_string())?;
        tx.send(credit(0)).await.map_err(|err| err.to_string())?;
    }
    let mut latencies = Latencies::default();
    let mut received = 0u64;
    let mut granted = 0u64;
    loop {
        let message = tokio::time::timeout(READ_TIMEOUT, rx.next())
            .await
            .map_err(|_| format!("no item within {READ_TIMEOUT:?} after {received}"))?
            .ok_or("connection ended")?
            .map_err(|err| err.to_string())?;
        let Message::Text(text) = message else {
            continue;
        };
        let frame: Frame<'_> = serde_json::from_str(text.as_str())
            .map_err(|err| format!("bad frame {:?}: {err}", text.as_str()))?;
        if frame.error.is_some() {
            return Err(format!("error: {}", text.as_str()));
        }
        let item = match (&frame.ty, &frame.params) {
            (Some(ty), _) if ty == "__item" => frame.payload,
            (Some(ty), _) if ty == "__rpc_res" => break,
            (None, Some(params)) => Some(params.result),
            // jsonrpsee's answer to the subscription: its id.
            (None, None) if frame.result.is_some() => continue,
            _ => return Err(format!("unexpected frame {}", text.as_str())),
        };
        let item: Item = serde_json::from_str(item.map_or("null", RawValue::get))
            .map_err(|err| format!("bad item: {err}"))?;
        latencies.record(wall_us().saturating_sub(item.ts));
        received += 1;
        if item.i != received || frame.n.is_some_and(|n| n != received) {
            return Err(format!(
                "item {} (n {:?}) came {received}th",
                item.i, frame.n
            ));
        }
        if jsonrpsee && received == items {
            break;
        }
        if !jsonrpsee && received - granted >= WINDOW / 2 {
            granted = received;
            tx.send(credit(received))
                .await
                .map_err(|err| err.to_string())?;
        }
    }
    if received != items {
        return Err(format!("{received} of {items} items"));
    }
    Ok(latencies)
}
