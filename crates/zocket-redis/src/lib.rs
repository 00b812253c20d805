//! Rooms and events across several zocket server nodes, through Redis
//! pub/sub.
//!
//! ```no_run
//! # async fn run(app: zocket::Router<()>) -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use zocket::{ClientId, NoHeaders, Server};
//! use zocket_redis::RedisAdapter;
//!
//! let adapter = RedisAdapter::connect("redis://127.0.0.1:6379").await?;
//! let server = Server::builder(app)
//!     .on_connect(|_: Arc<NoHeaders>, _: ClientId| async { Ok(()) })
//!     .adapter(adapter.clone())
//!     .build()?;
//! server.serve("127.0.0.1:3001").await?;
//! # Ok(()) }
//! ```
//!
//! Every node runs the same server with its own [`RedisAdapter`] on the
//! same Redis: a handler's `ctx.emit(..).to_room(..)`, a typed event
//! sender, or a `ServerHandle` on any node reaches the room's members on
//! every node. Handler code does not change.
//!
//! # How it works
//!
//! - **Locally first.** A send delivers to this node's recipients at once,
//!   from the caller's task, exactly as the in-process adapter does (it
//!   *is* one, [`MemoryAdapter`](zocket::adapter::MemoryAdapter)); then
//!   it queues one message for the other nodes. `ctx.has` and
//!   `ctx.current` read the local tables: exact for the local connection.
//! - **One message per send**, whatever the recipients: the event as it
//!   was serialized once, its target (clients, rooms or everyone) and its
//!   `except` list, the publishing node's id and a per-node sequence
//!   number, given and queued under one short lock (the only lock a send
//!   takes besides the local tables'). A background task publishes the
//!   queue in order, pipelined, on one connection.
//! - **One channel**, `{prefix}:events` (prefix `zocket` by default),
//!   which every node subscribes to on a second connection. Each node
//!   delivers a message to its own members of the target and skips its
//!   own messages (it delivered those locally already): no node gets its
//!   own publish twice, and a message published again (the client retries
//!   a command whose reply was lost) is delivered once, by its sequence
//!   number. Redis delivers one connection's publishes in order, and each
//!   node reads its subscription on one task, so the events of one
//!   publisher (one task sending in turn) keep their order on every node.
//!   Sends racing on several tasks of one node are numbered in the order
//!   they take the lock, which every other node follows; this node's own
//!   members may have seen two such racing events the other way round.
//!
//! Cost per send: one `PUBLISH` of the payload plus its target, and on
//! every other node one delivery of it, filtered by that node's room table
//! in O(its members of the target). Every node receives every event, also
//! for rooms it has no member of: one channel avoids a `SUBSCRIBE` per room
//! and keeps the order across rooms; it suits clusters of a few to tens of
//! nodes (past that, sharded channels per room would be the next step).
//!
//! # Keys
//!
//! | key | type | what | TTL |
//! | --- | --- | --- | --- |
//! | `{prefix}:events` | pub/sub channel | every send, as above | |
//! | `{prefix}:nodes` | sorted set | node id → its last heartbeat (Unix ms), every 5 s | members older than 15 s are ignored and removed |
//! | `{prefix}:conns:{node}` | set | the client ids connected to that node | 15 s, refreshed by each heartbeat |
//!
//! [`RedisAdapter::cluster_connections`] reads the live nodes and their
//! sets: one `ZRANGEBYSCORE` and one `SMEMBERS` per node.
//!
//! # Failures
//!
//! The client crate is [`fred`]: it reconnects by itself with an
//! exponential backoff (100 ms doubling to 5 s, without end), re-subscribes
//! the subscription connection after each reconnect, and pipelines
//! commands on one connection (which keeps publishes in order). `redis`
//! (redis-rs) would do as well for commands; fred was chosen for its
//! managed re-subscription, which is what a node needs to come back after
//! a Redis restart without code of its own.
//!
//! While Redis is unreachable, **local delivery never stops**: sends reach
//! this node's members as always. What is to cross nodes meanwhile waits in
//! the publish queue (at most 16 MiB by default, `max_queued_bytes`) and is
//! published in order when Redis answers again, late but never out of
//! order; what cannot be is lost and counted ([`RedisAdapter::stats`]):
//!
//! - a message this node could not publish (a publish that failed or
//!   passed its 2 s timeout, the queue over its byte budget, or a name or
//!   list too long for the message) counts in `publish_lost`;
//! - a message of another node that this node did not get (its
//!   subscription was down, or fell behind by more than 4096 messages, or
//!   that node never published it) counts in `receive_lost`, from the gap
//!   in that node's sequence numbers.
//!
//! Redis is trusted: whoever can publish on `{prefix}:events` can send
//! events to every client. A malformed message is dropped and counted
//! (`malformed`), never delivered.

mod adapter;
mod wire;

pub use adapter::{Error, RedisAdapter, RedisAdapterBuilder, Stats};
