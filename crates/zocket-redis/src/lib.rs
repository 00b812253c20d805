//! Rooms, events and sessions across several zocket server nodes, through
//! Redis.
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
//!     .session_store(adapter.clone())
//!     .build()?;
//! server.serve("127.0.0.1:3001").await?;
//! # Ok(()) }
//! ```
//!
//! Every node runs the same server with its own [`RedisAdapter`] on the
//! same Redis: a handler's `ctx.emit(..).to_room(..)`, a typed event
//! sender, or a `ServerHandle` on any node reaches the room's members on
//! every node. Handler code does not change. As the server's session store
//! too ([`ServerBuilder::session_store`](zocket::ServerBuilder::session_store),
//! optional), it lets a client that reconnects to another node resume its
//! session there: no sticky sessions needed.
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
//! # Sessions
//!
//! - **Records.** Each node keeps, in one hash, the record of every session
//!   it holds (session id → client id, context as JSON, rooms): written
//!   when a session starts and when its rooms change (one `HSET`, queued
//!   like a publish), deleted when it ends or moves away (`HDEL`).
//! - **Moves.** A handshake presenting a session id the node does not hold
//!   looks the session up: one `ZRANGEBYSCORE` for the nodes and one
//!   `HGET` per node, pipelined. The new node builds the session from the
//!   records and puts it in their rooms, *then* publishes a request on
//!   `{prefix}:events` (this node's sends wait meanwhile, so that each is
//!   published before the request or delivered here after the joins). The holding node reads it in the channel's order,
//!   takes the session out of its rooms and answers on the new node's own
//!   channel with a snapshot (`seq`, history, reply cache). Every event
//!   published before the request reached the session on the old node (it
//!   is in the snapshot); every event after the new node joined reaches it
//!   there; those that did both are told apart by their id (the
//!   publishing node and its number for the send), so the client gets
//!   each once, each publisher's in order. A call still running on the old
//!   node has its reply forwarded to the new one (a message on its
//!   channel). Streams do not move: they stop, and their resent open frame
//!   is answered `REPLY_LOST`. Cost per move: the lookup above, two
//!   `PUBLISH` (request, snapshot), one `HSET`, one `HDEL`; the snapshot
//!   is at most the history's and the reply cache's byte budgets.
//! - **Shutdown.** A node shutting down keeps its sessions until their
//!   clients have moved (up to the shutdown timeout), then publishes what
//!   is queued and leaves the lists (`ZREM`, `DEL`).
//! - **Killed nodes.** A node that does not answer a request within 2 s,
//!   or whose heartbeat is older than 15 s, is taken for dead: the session
//!   comes back from its record with its client id, context and rooms but
//!   no history (`"recovered": false`; the client resynchronises and its
//!   calls in flight fail). Lost with it: the events the client missed
//!   and the replies of its calls in flight. Counted in
//!   [`Stats::sessions_orphaned`] (and `zocket_redis_sessions_orphaned_total`).
//!
//! # Keys
//!
//! | key | type | what | TTL |
//! | --- | --- | --- | --- |
//! | `{prefix}:events` | pub/sub channel | every send, and requests for sessions | |
//! | `{prefix}:node:{node}` | pub/sub channel | answers to that node's requests, replies forwarded to it | |
//! | `{prefix}:nodes` | sorted set | node id → its last heartbeat (Unix ms), every 5 s | a node is live for 15 s after its heartbeat; its entry is removed 15 s plus the session retention after it |
//! | `{prefix}:conns:{node}` | set | the client ids connected to that node | 15 s, refreshed by each heartbeat |
//! | `{prefix}:sessions:{node}` | hash | session id → the session's record | 15 s plus the session retention, refreshed by each heartbeat |
//!
//! [`RedisAdapter::cluster_connections`] reads the live nodes and their
//! sets: one `ZRANGEBYSCORE` and one `SMEMBERS` per node. Session ids are
//! secrets: Redis holds them as the hash's fields, and they are never
//! logged.
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
//! order; what cannot be is lost and counted ([`RedisAdapter::stats`]).
//! (Messages that move sessions are queued whatever the budget: they are
//! few, bounded by the sessions' own budgets, and losing one would lose a
//! session.)
//!
//! - a message this node could not publish (a publish that failed or
//!   passed its 2 s timeout, the queue over its byte budget, or a name or
//!   list too long for the message) counts in `publish_lost`;
//! - a message of another node that this node did not get (its
//!   subscription was down, or fell behind by more than 4096 messages, or
//!   that node never published it) counts in `receive_lost`, from the gap
//!   in that node's sequence numbers.
//!
//! After Redis comes back (empty, when it does not persist), each node
//! writes its connection list and its sessions' records again. Until a
//! node has subscribed again it cannot hear requests for its sessions: a
//! client that moves meanwhile gets its session back from its record
//! (orphaned, as from a killed node), and the old node, which still holds
//! it, ends it when its retention passes (`on_disconnect` runs there).
//!
//! Redis is trusted: whoever can publish on `{prefix}:events` can send
//! events to every client, and whoever can read the hashes can take over
//! sessions. A malformed message is dropped and counted (`malformed`),
//! never delivered.

mod adapter;
mod wire;

pub use adapter::{Error, RedisAdapter, RedisAdapterBuilder, Stats};
