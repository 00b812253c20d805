//! zocket side by side with a minimal axum WebSocket server, a
//! hand-written one in zocket's shape, jsonrpsee and socketioxide.
//!
//! Run everything with `bash bench/run.sh` (see `BENCHMARKS.md`). The
//! crate holds six binaries, each a thin `main` over this library:
//!
//! - `bench-zocket`: the benchmark routes on zocket ([`zocket_server`]);
//! - `bench-raw`: the same routes written by hand on axum, in zocket's
//!   connection shape ([`raw`]);
//! - `bench-minimal`: the same routes as simply as axum allows: one task
//!   per connection, no queue, no `seq` ([`minimal`]);
//! - `bench-jsonrpsee`: `math.add` and the stream as a subscription on
//!   jsonrpsee, the peer ([`jsonrpsee_server`]);
//! - `bench-socketioxide`: `join`, `publish` and `math.add` as events with
//!   acknowledgements on socketioxide, alone or on Redis, the peer
//!   ([`socketioxide_server`]);
//! - `bench-load`: the load generator, the report and the scaling plot
//!   ([`load`], [`report`], [`scale`]).
//!
//! zocket, the minimal and the raw servers speak the protocol of
//! `docs/protocol.md` and serve these routes ([`wire`] has their payload
//! types); jsonrpsee and socketioxide serve theirs on their own protocols:
//!
//! | route | input | reply | effect |
//! | --- | --- | --- | --- |
//! | `math.add` | `{a, b}` | `a + b` | |
//! | `math.blob` | `{bytes}` | a string of `bytes` bytes (at most 1 MiB) | |
//! | `room.join` | `{room}` | `null` | joins `room` |
//! | `room.publish` | `{room, ts}` | `null` | event `room.msg {ts}` to every member of `room` |
//! | `stream.count` (zocket only) | `{count}` | `count` stream items `{i, ts}`, then `null` | |

pub mod jsonrpsee_server;
pub mod load;
pub mod minimal;
pub mod raw;
pub mod report;
pub mod scale;
pub mod socketioxide_server;
pub mod wire;
pub mod zocket_server;

/// `listener` with `TCP_NODELAY` set on every connection it accepts, as
/// zocket's `serve_listener` sets it (jsonrpsee sets it by default): a
/// server of small real-time frames does not wait for Nagle's algorithm.
/// Without it a server's small writes wait for the peer's delayed ACK,
/// 40 ms at a time.
pub fn no_delay(
    listener: tokio::net::TcpListener,
) -> axum::serve::TapIo<tokio::net::TcpListener, fn(&mut tokio::net::TcpStream)> {
    fn set(tcp: &mut tokio::net::TcpStream) {
        let _ = tcp.set_nodelay(true);
    }
    axum::serve::ListenerExt::tap_io(listener, set as fn(&mut tokio::net::TcpStream))
}

/// The runtime every benchmark server runs on, the same for all of them:
/// tokio's current-thread scheduler (each server has one core of its
/// own), or with `BENCH_RUNTIME=multi` its multi-thread scheduler (as
/// `#[tokio::main]` builds it: one worker per core the process may use).
///
/// On one core the two differ in fairness under load: the multi-thread
/// scheduler keeps at most 256 runnable tasks in its worker's local queue
/// and looks at the shared queue the rest overflow into only now and
/// then, so with 1000 busy connections some wait many rounds (BENCHMARKS.md,
/// "Which runtime").
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    match std::env::var("BENCH_RUNTIME").as_deref() {
        Ok("multi") => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build(),
        Ok("current") | Err(_) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
        Ok(other) => Err(std::io::Error::other(format!(
            "BENCH_RUNTIME: expected current or multi, got {other:?}"
        ))),
    }
}
