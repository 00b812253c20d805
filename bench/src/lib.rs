//! zocket side by side with a raw axum WebSocket server.
//!
//! Run everything with `bash bench/run.sh` (see `BENCHMARKS.md`). The
//! crate holds three binaries, each a thin `main` over this library:
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
//! - `bench-load`: the load generator and the report ([`load`], [`report`]).
//!
//! Both servers speak the protocol of `docs/protocol.md` and serve these
//! routes ([`wire`] has their payload types):
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
pub mod socketioxide_server;
pub mod wire;
pub mod zocket_server;
