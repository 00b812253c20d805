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

/// The protocol `math.add` is called in: zocket's (zocket, minimal,
/// raw), JSON-RPC 2.0 (jsonrpsee), or Socket.IO events with
/// acknowledgements (socketioxide).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Proto {
    Zocket,
    JsonRpc,
    SocketIo,
}

impl Proto {
    fn of(server: &str) -> Self {
        match server {
            "jsonrpsee" => Self::JsonRpc,
            "socketioxide" => Self::SocketIo,
            _ => Self::Zocket,
        }
    }

    /// The call `a + 1` with id `id`.
    fn call(self, route: &str, id: u64) -> Message {
        match self {
            Self::Zocket => client::call_frame(route, &format!(r#"{{"a":{id},"b":1}}"#), id),
            Self::JsonRpc => Message::text(format!(
                r#"{{"jsonrpc":"2.0","id":{id},"method":"{route}","params":{{"a":{id},"b":1}}}}"#
            )),
            Self::SocketIo => Message::text(format!(r#"42{id}["{route}",{{"a":{id},"b":1}}]"#)),
        }
    }

    /// A reply's id and sum; `Ok(None)` for a frame that is no reply (a
    /// Socket.IO ping).
    fn reply(self, text: &str) -> Result<Option<(u64, f64)>, String> {
        let bad = || format!("unexpected frame {text}");
        match self {
            Self::Zocket => {
                let frame = Frame::parse(text)?;
                if frame.ty != "__rpc_res" {
                    return Err(bad());
                }
                let id = frame
                    .rpc_id
                    .as_deref()
                    .and_then(|id| id.parse().ok())
                    .ok_or("bad rpcId")?;
                let sum = serde_json::from_str(frame.payload())
                    .map_err(|err| format!("bad sum: {err}"))?;
                Ok(Some((id, sum)))
            }
            Self::JsonRpc => {
                #[derive(serde::Deserialize)]
                struct Response {
                    id: u64,
                    result: f64,
                }
                let response: Response = serde_json::from_str(text).map_err(|_| bad())?;
                Ok(Some((response.id, response.result)))
            }
            Self::SocketIo => {
                if text == "2" {
                    return Ok(None);
                }
                let rest = text.strip_prefix("43").ok_or_else(bad)?;
                let digits = rest.find('[').ok_or_else(bad)?;
                let id = rest[..digits].parse().map_err(|_| bad())?;
                let [sum]: [f64; 1] = serde_json::from_str(&rest[digits..]).map_err(|_| bad())?;
                Ok(Some((id, sum)))
            }
        }
    }
}

/// Connects in `proto`: zocket's `__ready`, a plain socket for JSON-RPC,
/// Socket.IO's open and connect packets.
async fn connect(proto: Proto, addr: std::net::SocketAddr) -> Result<Ws, String> {
    let stage = |(stage, err): (client::Stage, String)| format!("{stage:?}: {err}");
    match proto {
        Proto::Zocket => client::connect(addr).await.map_err(stage),
        Proto::JsonRpc => client::connect_plain(addr).await.map_err(stage),
        Proto::SocketIo => super::crossnode::socketio_connect(addr).await,
    }
}

pub(crate) async fn run(
    options: &Options,
    conns: usize,
    in_flight: usize,
    route: &'static str,
) -> Result<Map<String, Value>, String> {
    let conns = options.conns.unwrap_or(conns);
    let proto = Proto::of(&options.server);
    let mut sockets = Vec::with_capacity(conns);
    for _ in 0..conns {
        sockets.push(connect(proto, options.addr).await?);
    }
    let start = Instant::now();
    let measure_from = start + WARM_UP;
    let measure = Duration::from_secs_f64(options.seconds);
    let until = measure_from + measure;
    let tasks: Vec<_> = sockets
        .into_iter()
        .map(|ws| tokio::spawn(caller(proto, ws, route, in_flight, measure_from, until)))
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
    proto: Proto,
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
    let send = |id: u64| proto.call(route, id);
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
        let Some((id, sum)) = proto.reply(text.as_str())? else {
            // Engine.IO's ping: answered, or the server drops us.
            tx.send(Message::text("3"))
                .await
                .map_err(|err| err.to_string())?;
            continue;
        };
        let at = sent.remove(&id).ok_or("reply to an unknown call")?;
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
