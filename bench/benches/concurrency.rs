//! Sends from several threads at once, each to its own room, while other
//! threads join and leave rooms: `cargo bench -p zocket-bench --bench
//! concurrency`.
//!
//! A send takes the in-process adapter's table lock for reading only;
//! joining and leaving take it for writing. Three runs of the same sends
//! tell what that costs:
//!
//! - `senders`: the sending threads alone;
//! - `senders+churn elsewhere`: beside threads joining and leaving rooms
//!   of *another* adapter (the same work competing for the cores, no lock
//!   shared with the sends);
//! - `senders+churn here`: beside the same threads joining and leaving
//!   rooms of the adapter the sends go through.
//!
//! The difference between the last two is what the shared locks cost the
//! sends. Then `rooms_per_connection/R`: a send to a room of 100 members,
//! and a join and leave, while each member is in R rooms (1 to 1000). Members are real connections on 127.0.0.1, read by tasks of a
//! runtime of their own; their queues are large enough that no send waits.

use criterion::{Criterion, criterion_group, criterion_main};
use futures_util::{SinkExt, StreamExt};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use zocket::adapter::{Adapter, EncodedEvent, MemoryAdapter, Target};
use zocket::{ClientId, Config, Event, Server};
use zocket_bench::wire::Msg;

const MSG: Event<Msg> = Event::new(zocket_bench::wire::MSG);
/// Sending threads, each to its own room.
const SENDERS: usize = 2;
/// Members of each sender's room.
const MEMBERS: usize = 50;
/// Threads joining and leaving rooms meanwhile.
const CHURNERS: usize = 2;
/// Connections each churning thread moves in and out of rooms.
const CHURNED: usize = 20;

/// A server on 127.0.0.1 whose adapter is `adapter`, and connections to
/// it: `rooms[i]` holds the ids of room `i`'s members (joined), `loose`
/// those of the connections in no room.
struct Lab {
    _rt: tokio::runtime::Runtime,
    adapter: Arc<MemoryAdapter>,
    rooms: Vec<String>,
    loose: Vec<ClientId>,
}

impl Lab {
    fn new(rooms: usize, members: usize, loose: usize) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime");
        let adapter = Arc::new(MemoryAdapter::new());
        let (names, loose) = rt.block_on(async {
            let addr = serve(adapter.clone()).await;
            let names: Vec<String> = (0..rooms).map(|i| format!("room-{i}")).collect();
            for name in &names {
                for _ in 0..members {
                    let (id, _) = member(addr).await;
                    adapter.join(&id, name);
                }
            }
            let mut loose_ids = Vec::new();
            for _ in 0..loose {
                loose_ids.push(member(addr).await.0);
            }
            (names, loose_ids)
        });
        Self {
            _rt: rt,
            adapter,
            rooms: names,
            loose,
        }
    }
}

async fn serve(adapter: Arc<MemoryAdapter>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    // Queues no send fills during a benchmark run.
    let config = Config::default()
        .outbound_queue(1 << 20)
        .outbound_queue_bytes(1 << 30);
    let server = Server::builder(zocket_bench::zocket_server::router())
        .config(config)
        .on_connect(|_: Arc<zocket::NoHeaders>, _: ClientId| async { Ok(()) })
        .adapter(adapter)
        .build()
        .expect("server");
    tokio::spawn(server.serve_listener(listener));
    addr
}

/// A connection whose frames a task reads and drops; its client id.
async fn member(addr: SocketAddr) -> (ClientId, ()) {
    let stream = TcpStream::connect(addr).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let (mut ws, _) = tokio_tungstenite::client_async(format!("ws://{addr}/"), stream)
        .await
        .expect("handshake");
    let ready = match ws.next().await.expect("open").expect("a frame") {
        Message::Text(text) => text,
        other => panic!("not __ready: {other:?}"),
    };
    let ready: serde_json::Value = serde_json::from_str(&ready).expect("JSON");
    let id = ClientId::from(ready["payload"]["clientId"].as_str().expect("clientId"));
    tokio::spawn(async move {
        while let Some(Ok(message)) = ws.next().await {
            if let Message::Ping(data) = message {
                let _ = ws.send(Message::Pong(data)).await;
            }
        }
    });
    (id, ())
}

/// Joins and leaves rooms of `adapter` with `ids` until `stop`.
fn churn(adapter: Arc<MemoryAdapter>, ids: Vec<ClientId>, stop: Arc<AtomicBool>) {
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        for id in &ids {
            let room = format!("churn-{}", n % 64);
            adapter.join(id, &room);
            adapter.leave(id, &room);
            n += 1;
        }
    }
}

/// Runs `iters` sends on each of the sending threads at once, beside
/// churning threads on `churned` (none when `None`); the time until the
/// last sender is done.
fn round(lab: &Lab, iters: u64, churned: Option<&Lab>, event: &EncodedEvent) -> Duration {
    let stop = Arc::new(AtomicBool::new(false));
    let churners: Vec<_> = churned
        .map(|other| {
            other
                .loose
                .chunks(CHURNED)
                .take(CHURNERS)
                .map(|ids| {
                    let (adapter, ids, stop) = (other.adapter.clone(), ids.to_vec(), stop.clone());
                    std::thread::spawn(move || churn(adapter, ids, stop))
                })
                .collect()
        })
        .unwrap_or_default();
    let start = Instant::now();
    std::thread::scope(|scope| {
        for room in lab.rooms.iter().take(SENDERS) {
            let adapter = &lab.adapter;
            scope.spawn(move || {
                for _ in 0..iters {
                    let sent = adapter.send(Target::Rooms(&[room]), &[], event);
                    assert_eq!(sent, MEMBERS, "a send reaches every member");
                }
            });
        }
    });
    let elapsed = start.elapsed();
    stop.store(true, Ordering::Relaxed);
    for churner in churners {
        churner.join().expect("churner");
    }
    elapsed
}

fn concurrent_sends(c: &mut Criterion) {
    let event = EncodedEvent::new(MSG, &Msg { ts: 1_234_567.0 }).expect("encodes");
    let lab = Lab::new(SENDERS, MEMBERS, CHURNERS * CHURNED);
    let elsewhere = Lab::new(0, 0, CHURNERS * CHURNED);
    let mut group = c.benchmark_group("concurrent_sends");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    group.bench_function("senders", |b| {
        b.iter_custom(|iters| round(&lab, iters, None, &event));
    });
    group.bench_function("senders+churn elsewhere", |b| {
        b.iter_custom(|iters| round(&lab, iters, Some(&elsewhere), &event));
    });
    group.bench_function("senders+churn here", |b| {
        b.iter_custom(|iters| round(&lab, iters, Some(&lab), &event));
    });
    group.finish();
}

/// A send to a room of 100 members, and a join and leave of one more
/// room, while each member is in R rooms: neither depends on R.
fn rooms_per_connection(c: &mut Criterion) {
    let event = EncodedEvent::new(MSG, &Msg { ts: 1_234_567.0 }).expect("encodes");
    let mut group = c.benchmark_group("rooms_per_connection");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    for rooms in [1usize, 10, 100, 1000] {
        let lab = Lab::new(0, 0, 100);
        for id in &lab.loose {
            for room in 0..rooms {
                lab.adapter.join(id, &format!("room-{room}"));
            }
        }
        group.bench_function(format!("send/{rooms}"), |b| {
            b.iter(|| lab.adapter.send(Target::Rooms(&["room-0"]), &[], &event));
        });
        let id = &lab.loose[0];
        group.bench_function(format!("join_leave/{rooms}"), |b| {
            b.iter(|| {
                lab.adapter.join(id, "one-more");
                lab.adapter.leave(id, "one-more")
            });
        });
    }
    group.finish();
}

criterion_group!(concurrency, concurrent_sends, rooms_per_connection);
criterion_main!(concurrency);
