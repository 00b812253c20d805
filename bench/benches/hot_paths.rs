//! Micro-benchmarks of zocket's hot paths, with allocations counted per
//! operation: `cargo bench -p zocket-bench --bench hot_paths`.
//!
//! - `encode_event`: serializing an event once ([`EncodedEvent::new`]).
//! - `room_send/N`: queueing one encoded event for the N members of a room
//!   through [`MemoryAdapter`], with N real connections on 127.0.0.1.
//! - `call/zocket`, `call/raw`: one `math.add` call over a loopback socket,
//!   from sending the frame to reading the reply, client included. Decoding
//!   and dispatching a frame is not reachable from zocket's public API, so
//!   this measures it in place, beside the raw server doing the same work.
//!
//! Everything runs on one thread (a current-thread runtime), so the
//! allocation counts of a region are those of the operation alone.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use futures_util::{SinkExt, StreamExt};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use std::alloc::System;
use std::hint::black_box;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use zocket::adapter::{Adapter, EncodedEvent, MemoryAdapter, Target};
use zocket::{ClientId, Event, Server};
use zocket_bench::wire::Msg;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const MSG: Event<Msg> = Event::new(zocket_bench::wire::MSG);
const ROOM: &str = "bench";
/// Sends queued before the connections are drained: below the default
/// outbound queue of 1024 frames, so no member is a slow consumer.
const CHUNK: u64 = 512;

type Client = WebSocketStream<TcpStream>;

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

/// Prints allocations per operation over `ops` runs of `op`.
fn allocations(name: &str, ops: u64, mut op: impl FnMut()) {
    let region = Region::new(GLOBAL);
    for _ in 0..ops {
        op();
    }
    let change = region.change();
    println!(
        "{name}: {:.2} allocations, {:.2} reallocations, {:.0} bytes per operation",
        change.allocations as f64 / ops as f64,
        change.reallocations as f64 / ops as f64,
        change.bytes_allocated as f64 / ops as f64,
    );
}

async fn connect(addr: SocketAddr) -> Client {
    let stream = TcpStream::connect(addr).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let (mut ws, _) = tokio_tungstenite::client_async(format!("ws://{addr}/"), stream)
        .await
        .expect("handshake");
    next_text(&mut ws).await;
    ws
}

async fn next_text(ws: &mut Client) -> String {
    loop {
        let next = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("a frame within 10 s");
        match next.expect("open").expect("a frame") {
            Message::Text(text) => return text.as_str().to_owned(),
            Message::Close(close) => panic!("closed: {close:?}"),
            _ => {}
        }
    }
}

async fn serve_zocket(adapter: Option<Arc<MemoryAdapter>>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    // The benchmark servers' configuration: without it, zocket's frame
    // rate limit refuses most of a loop of calls, and `call/zocket` would
    // measure refusals.
    let mut builder = Server::builder(zocket_bench::zocket_server::router())
        .config(zocket_bench::zocket_server::config())
        .on_connect(|_: Arc<zocket::NoHeaders>, _: ClientId| async { Ok(()) });
    if let Some(adapter) = adapter {
        builder = builder.adapter(adapter);
    }
    let server = builder.build().expect("server");
    tokio::spawn(server.serve_listener(listener));
    addr
}

async fn serve_raw() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, zocket_bench::raw::app()).await });
    addr
}

fn encode_event(c: &mut Criterion) {
    let msg = Msg { ts: 1_234_567.0 };
    allocations("encode_event", 10_000, || {
        black_box(EncodedEvent::new(MSG, black_box(&msg)).expect("encodes"));
    });
    c.bench_function("encode_event", |b| {
        b.iter(|| EncodedEvent::new(MSG, black_box(&msg)).expect("encodes"));
    });
}

/// N members of a room, each counting the frames it reads.
struct Room {
    rt: Runtime,
    adapter: Arc<MemoryAdapter>,
    received: Arc<AtomicU64>,
    members: u64,
    sent: u64,
}

impl Room {
    fn new(members: u64) -> Self {
        let rt = runtime();
        let adapter = Arc::new(MemoryAdapter::new());
        let received = Arc::new(AtomicU64::new(0));
        rt.block_on(async {
            let addr = serve_zocket(Some(adapter.clone())).await;
            for _ in 0..members {
                let mut ws = connect(addr).await;
                let join = r#"{"type":"room.join","payload":{"room":"bench"},"rpcId":"1"}"#;
                ws.send(Message::text(join)).await.expect("send");
                next_text(&mut ws).await;
                let received = received.clone();
                tokio::spawn(async move {
                    while let Some(Ok(_)) = ws.next().await {
                        received.fetch_add(1, Ordering::Relaxed);
                    }
                });
            }
        });
        Self {
            rt,
            adapter,
            received,
            members,
            sent: 0,
        }
    }

    /// Queues `n` sends, without running the writers.
    fn send(&mut self, n: u64, event: &EncodedEvent) {
        for _ in 0..n {
            let sent = self.adapter.send(Target::Rooms(&[ROOM]), &[], event);
            assert_eq!(sent as u64, self.members, "a send reaches every member");
        }
        self.sent += n;
    }

    /// Runs the writers and members until every queued event was read.
    fn drain(&self) {
        let expected = self.sent * self.members;
        self.rt.block_on(async {
            let wait = async {
                while self.received.load(Ordering::Relaxed) < expected {
                    tokio::task::yield_now().await;
                }
            };
            tokio::time::timeout(Duration::from_secs(60), wait)
                .await
                .expect("members read every event within 60 s");
        });
    }
}

fn room_send(c: &mut Criterion) {
    let event = EncodedEvent::new(MSG, &Msg { ts: 1_234_567.0 }).expect("encodes");
    let mut group = c.benchmark_group("room_send");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    for members in [1u64, 100, 1000] {
        let mut room = Room::new(members);
        // Warm the queues, then count a chunk.
        room.send(CHUNK, &event);
        room.drain();
        let region = Region::new(GLOBAL);
        room.send(CHUNK, &event);
        let change = region.change();
        room.drain();
        println!(
            "room_send/{members}: {:.2} allocations, {:.0} bytes per send (to {members} members)",
            change.allocations as f64 / CHUNK as f64,
            change.bytes_allocated as f64 / CHUNK as f64,
        );
        group.bench_with_input(BenchmarkId::from_parameter(members), &members, |b, _| {
            b.iter_custom(|iters| {
                let mut measured = Duration::ZERO;
                let mut left = iters;
                while left > 0 {
                    let n = left.min(CHUNK);
                    let start = Instant::now();
                    room.send(n, &event);
                    measured += start.elapsed();
                    room.drain();
                    left -= n;
                }
                measured
            });
        });
    }
    group.finish();
}

/// One call over loopback: send `math.add`, read the reply.
async fn call(ws: &mut Client, id: u64) {
    let frame = format!(r#"{{"type":"math.add","payload":{{"a":{id},"b":1}},"rpcId":"{id}"}}"#);
    ws.send(Message::text(frame)).await.expect("send");
    let reply = next_text(ws).await;
    // Checked in every build: a benchmark of errors is not one of calls.
    assert!(reply.starts_with(r#"{"type":"__rpc_res""#), "{reply}");
}

fn calls(c: &mut Criterion) {
    let mut group = c.benchmark_group("call");
    group.measurement_time(Duration::from_secs(3));
    for server in ["zocket", "raw"] {
        let rt = runtime();
        let mut ws = rt.block_on(async {
            let addr = match server {
                "zocket" => serve_zocket(None).await,
                _ => serve_raw().await,
            };
            connect(addr).await
        });
        let mut id = 0u64;
        rt.block_on(call(&mut ws, 0));
        allocations(
            &format!("call/{server} (client and server)"),
            10_000,
            || {
                id += 1;
                rt.block_on(call(&mut ws, id));
            },
        );
        group.bench_function(server, |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        id += 1;
                        call(&mut ws, id).await;
                    }
                    start.elapsed()
                })
            });
        });
    }
    group.finish();
}

criterion_group!(hot_paths, encode_event, room_send, calls);
criterion_main!(hot_paths);
