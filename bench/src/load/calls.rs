//! Scenarios (a) and (b): `math.add` calls from 64 connections with a
//! fixed number in flight on each, for a warm-up second and then the
//! measured time; (ac): (a) on `math.addChecked`, whose input declares
//! ranges that zocket checks.

use super::Options;
use super::lean::{self, Conn, Proto, Reply};
use super::procfs::CpuMeter;
use super::stats::Latencies;
use serde_json::{Map, Value};
use std::time::{Duration, Instant};

const WARM_UP: Duration = Duration::from_secs(1);

/// What one connection measured.
#[derive(Default)]
struct Counted {
    calls: u64,
    /// Every reply, the warm-up's included.
    replies: u64,
    latencies: Latencies,
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
        sockets.push(Conn::open(proto, options.addr).await?);
    }
    let start = Instant::now();
    let measure_from = start + WARM_UP;
    let measure = Duration::from_secs_f64(options.seconds);
    let until = measure_from + measure;
    let tasks: Vec<_> = sockets
        .into_iter()
        .map(|conn| tokio::spawn(caller(proto, conn, route, in_flight, measure_from, until)))
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
        total.replies += counted.replies;
        total.latencies.extend(counted.latencies);
    }
    let latencies = total.latencies.sorted();
    metrics.insert(
        "calls_per_s".into(),
        Value::from(total.calls as f64 / measure.as_secs_f64()),
    );
    // What a server did over its whole run: scenario ir divides its
    // instruction count by this.
    metrics.insert("replies_total".into(), Value::from(total.replies));
    metrics.insert("p50_us".into(), Value::from(latencies.percentile(50.0)));
    metrics.insert("p99_us".into(), Value::from(latencies.percentile(99.0)));
    metrics.insert("p999_us".into(), Value::from(latencies.percentile(99.9)));
    Ok(metrics)
}

/// Keeps `in_flight` calls going until `until`; counts the replies that
/// arrive from `measure_from` on, and checks each sum. Call slot `k` is
/// always call `k` (its frame encoded once): a reply sends its slot's
/// frame again, and the replies of one read go out in one write.
async fn caller(
    proto: Proto,
    mut conn: Conn,
    route: &'static str,
    in_flight: usize,
    measure_from: Instant,
    until: Instant,
) -> Result<Counted, String> {
    let frames: Vec<Vec<u8>> = (1..=in_flight as u64)
        .map(|id| proto.call(route, id))
        .collect();
    let mut sent_at = vec![Some(Instant::now()); in_flight];
    let mut outstanding = in_flight;
    let mut counted = Counted::default();
    let mut out: Vec<u8> = frames.concat();
    conn.write(&out).await?;
    while outstanding > 0 {
        conn.fill().await?;
        out.clear();
        let now = Instant::now();
        while let Some(frame) = conn.next_frame() {
            match frame.opcode {
                1 => {}
                8 => return Err("closed by the server".into()),
                _ => continue,
            }
            let (id, sum) = match proto.reply(conn.payload(&frame))? {
                Reply::Sum(id, sum) => (id, sum),
                Reply::Ping => {
                    // Engine.IO's ping: answered, or the server drops us.
                    out.extend_from_slice(&lean::client_frame(b"3"));
                    continue;
                }
            };
            let slot = usize::try_from(id)
                .ok()
                .and_then(|id| id.checked_sub(1))
                .filter(|slot| *slot < in_flight)
                .ok_or("reply to an unknown call")?;
            let at = sent_at[slot].take().ok_or("a second reply to one call")?;
            outstanding -= 1;
            counted.replies += 1;
            if sum != (id + 1) as f64 {
                return Err(format!("math.add {id} + 1 gave {sum}"));
            }
            if now >= measure_from && now < until {
                counted.calls += 1;
                counted
                    .latencies
                    .record(u64::try_from(now.duration_since(at).as_micros()).unwrap_or(u64::MAX));
            }
            if now < until {
                sent_at[slot] = Some(now);
                outstanding += 1;
                out.extend_from_slice(&frames[slot]);
            }
        }
        if !out.is_empty() {
            conn.write(&out).await?;
        }
    }
    Ok(counted)
}
