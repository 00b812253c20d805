//! [`RedisAdapter`]: the in-process adapter for this node's connections,
//! plus three background tasks: the publisher (the queue of messages, in
//! order), the subscriber (other nodes' messages, delivered locally) and
//! the heartbeat (this node's entry in the cluster's connection list).

use crate::wire::{Message, NodeId, Targets};
use fred::clients::SubscriberClient;
use fred::prelude::{
    ClientLike, Config, EventInterface, KeysInterface, PubsubInterface, ReconnectPolicy,
    SetsInterface, SortedSetsInterface,
};
use fred::types::Value;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use zocket::ClientId;
use zocket::adapter::{Adapter, EncodedEvent, MemoryAdapter, Recipient, Target};

/// How often a node refreshes its entry.
const HEARTBEAT: Duration = Duration::from_secs(5);
/// How long a node's entry lives without a heartbeat.
const NODE_TTL: Duration = Duration::from_secs(15);
/// Messages of other nodes the subscription buffers before it counts the
/// oldest as lost.
const RECEIVE_BUFFER: usize = 4096;
/// Messages published in one pipeline at most.
const BATCH: usize = 256;

/// Why the adapter could not start, or a cluster-wide query failed.
#[derive(Debug)]
pub struct Error(fred::error::Error);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "redis: {}", self.0)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

impl From<fred::error::Error> for Error {
    fn from(err: fred::error::Error) -> Self {
        Self(err)
    }
}

/// What crossed nodes, and what was lost doing so (see the crate docs,
/// "Failures"). Counters since the adapter started; also exported through
/// the `metrics` facade as `zocket_redis_*_total`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Messages this node published.
    pub published: u64,
    /// Messages this node could not publish (Redis unreachable, or the
    /// queue over its byte budget).
    pub publish_lost: u64,
    /// Messages of other nodes this node received and delivered.
    pub received: u64,
    /// Messages of other nodes this node did not get (gaps in their
    /// sequence numbers: missed by this node's subscription, or never
    /// published, which their node counts in its `publish_lost` too).
    pub receive_lost: u64,
    /// Messages that were not zocket messages, dropped.
    pub malformed: u64,
}

#[derive(Default)]
struct Counters {
    published: AtomicU64,
    publish_lost: AtomicU64,
    received: AtomicU64,
    receive_lost: AtomicU64,
    malformed: AtomicU64,
}

impl Counters {
    fn add(&self, counter: &AtomicU64, name: &'static str, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
        metrics::counter!(name).increment(n);
    }
}

/// What the publisher task sends, in order.
enum Outgoing {
    Event(Vec<u8>),
    Added(ClientId),
    Removed(ClientId),
}

/// What the adapter and its tasks share.
struct Shared {
    local: MemoryAdapter,
    node: NodeId,
    stats: Counters,
    /// This node's connections, for its entry in the cluster's list.
    conns: Mutex<HashSet<ClientId>>,
    /// The connection list needs writing again (Redis restarted).
    conns_stale: AtomicBool,
    /// Bytes of events waiting in the publish queue.
    queued: AtomicUsize,
    keys: Keys,
}

#[derive(Clone)]
struct Keys {
    channel: String,
    nodes: String,
    prefix: String,
    node: String,
}

impl Keys {
    fn conns(&self, node: &str) -> String {
        format!("{}:conns:{node}", self.prefix)
    }
}

struct Inner {
    shared: Arc<Shared>,
    /// The publish queue, and the last sequence number given: numbered and
    /// queued under one lock, so messages are published in their order.
    outbox: Mutex<(mpsc::UnboundedSender<Outgoing>, u64)>,
    max_queued: usize,
    client: fred::clients::Client,
    subscriber: SubscriberClient,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
        let (client, subscriber) = (self.client.clone(), self.subscriber.clone());
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = client.quit().await;
                let _ = subscriber.quit().await;
            });
        }
    }
}

/// An [`Adapter`] for a server running on several nodes, through Redis
/// pub/sub. Cheap to clone: clones share one set of connections and tasks.
/// See the crate docs for how it works, its keys, costs and failures.
#[derive(Clone)]
pub struct RedisAdapter {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for RedisAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisAdapter")
            .field("node", &self.inner.shared.keys.node)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

/// Settings of a [`RedisAdapter`] before it connects.
#[derive(Clone, Debug)]
pub struct RedisAdapterBuilder {
    url: String,
    prefix: String,
    max_queued_bytes: usize,
}

impl RedisAdapterBuilder {
    /// The prefix of every key and channel (default `zocket`): servers of
    /// different applications on one Redis use different prefixes.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The bytes of events waiting to be published at most (default
    /// 16 MiB); past it, while Redis is slow or unreachable, a send still
    /// reaches this node's members but is not published (counted in
    /// `publish_lost`).
    pub fn max_queued_bytes(mut self, bytes: usize) -> Self {
        self.max_queued_bytes = bytes;
        self
    }

    /// Connects to Redis (failing when it cannot be reached now) and
    /// starts the background tasks.
    pub async fn connect(self) -> Result<RedisAdapter, Error> {
        let config = Config::from_url(&self.url)?;
        let policy = ReconnectPolicy::new_exponential(0, 100, 5_000, 2);
        let mut builder = fred::types::Builder::from_config(config);
        builder
            .set_policy(policy)
            .with_performance_config(|performance| {
                performance.broadcast_channel_capacity = RECEIVE_BUFFER;
                performance.default_command_timeout = Duration::from_secs(2);
            })
            .with_connection_config(|connection| {
                connection.connection_timeout = Duration::from_secs(2);
            });
        let client = builder.build()?;
        let subscriber = builder.build_subscriber_client()?;
        let messages = subscriber.message_rx();
        let connected = async {
            client.init().await?;
            subscriber.init().await?;
            // Subscribed before the first send can be published: every
            // message of another node from here on reaches this one.
            subscriber
                .subscribe(format!("{}:events", self.prefix))
                .await?;
            Ok::<_, fred::error::Error>(())
        };
        if let Err(err) = connected.await {
            // Their reconnection tasks would otherwise run on.
            let _ = client.quit().await;
            let _ = subscriber.quit().await;
            return Err(err.into());
        }

        let mut node = [0u8; 16];
        getrandom::fill(&mut node).map_err(|err| {
            Error(fred::error::Error::new(
                fred::error::ErrorKind::Unknown,
                format!("no random node id: {err}"),
            ))
        })?;
        let node_hex: String = node.iter().map(|b| format!("{b:02x}")).collect();
        let keys = Keys {
            channel: format!("{}:events", self.prefix),
            nodes: format!("{}:nodes", self.prefix),
            prefix: self.prefix,
            node: node_hex,
        };
        let shared = Arc::new(Shared {
            local: MemoryAdapter::new(),
            node,
            stats: Counters::default(),
            conns: Mutex::new(HashSet::new()),
            conns_stale: AtomicBool::new(false),
            queued: AtomicUsize::new(0),
            keys: keys.clone(),
        });
        let (outbox, queue) = mpsc::unbounded_channel();
        let tasks = vec![
            subscriber.manage_subscriptions(),
            tokio::spawn(receive(shared.clone(), messages)),
            tokio::spawn(publish(shared.clone(), client.clone(), queue)),
            tokio::spawn(heartbeat(shared.clone(), client.clone())),
        ];
        tracing::info!(node = %keys.node, prefix = %keys.prefix, "redis adapter connected");
        Ok(RedisAdapter {
            inner: Arc::new(Inner {
                shared,
                outbox: Mutex::new((outbox, 0)),
                max_queued: self.max_queued_bytes,
                client,
                subscriber,
                tasks,
            }),
        })
    }
}

impl RedisAdapter {
    /// Connects with the default settings (see [`builder`](Self::builder)).
    pub async fn connect(url: &str) -> Result<Self, Error> {
        Self::builder(url).connect().await
    }

    /// Settings for an adapter on the Redis at `url`
    /// (`redis://host:port/db`, `redis://user:password@host`).
    pub fn builder(url: &str) -> RedisAdapterBuilder {
        RedisAdapterBuilder {
            url: url.to_owned(),
            prefix: "zocket".to_owned(),
            max_queued_bytes: 16 << 20,
        }
    }

    /// This node's id (32 hex digits), as other nodes and the keys name it.
    pub fn node_id(&self) -> &str {
        &self.inner.shared.keys.node
    }

    /// What crossed nodes, and what was lost.
    pub fn stats(&self) -> Stats {
        let c = &self.inner.shared.stats;
        Stats {
            published: c.published.load(Ordering::Relaxed),
            publish_lost: c.publish_lost.load(Ordering::Relaxed),
            received: c.received.load(Ordering::Relaxed),
            receive_lost: c.receive_lost.load(Ordering::Relaxed),
            malformed: c.malformed.load(Ordering::Relaxed),
        }
    }

    /// The client ids connected to any live node, sorted: one
    /// `ZRANGEBYSCORE` and one `SMEMBERS` per node (a node's list may be
    /// up to one heartbeat, 5 s, behind after Redis restarted).
    pub async fn cluster_connections(&self) -> Result<Vec<ClientId>, Error> {
        let keys = &self.inner.shared.keys;
        let client = &self.inner.client;
        let since = unix_ms().saturating_sub(NODE_TTL.as_millis() as u64) as f64;
        let nodes: Vec<String> = client
            .zrangebyscore(&keys.nodes, since, "+inf", false, None)
            .await?;
        let mut ids = Vec::new();
        for node in nodes {
            let members: Vec<String> = client.smembers(keys.conns(&node)).await?;
            ids.extend(members.into_iter().map(ClientId::from));
        }
        ids.sort_unstable_by(|a, b| a.as_str().cmp(b.as_str()));
        ids.dedup();
        Ok(ids)
    }

    /// The nodes that sent a heartbeat within the last 15 s, this one
    /// included.
    pub async fn cluster_nodes(&self) -> Result<Vec<String>, Error> {
        let keys = &self.inner.shared.keys;
        let since = unix_ms().saturating_sub(NODE_TTL.as_millis() as u64) as f64;
        Ok(self
            .inner
            .client
            .zrangebyscore(&keys.nodes, since, "+inf", false, None)
            .await?)
    }

    /// Queues a connection list update, within the queue's byte budget.
    fn queue(&self, out: Outgoing) {
        let shared = &self.inner.shared;
        let bytes = match &out {
            Outgoing::Added(id) | Outgoing::Removed(id) => id.as_str().len() + 16,
            Outgoing::Event(message) => message.len(),
        };
        if shared.queued.fetch_add(bytes, Ordering::AcqRel) + bytes > self.inner.max_queued {
            shared.queued.fetch_sub(bytes, Ordering::AcqRel);
            // The list is written again in full at the next heartbeat.
            shared.conns_stale.store(true, Ordering::Relaxed);
            return;
        }
        let _ = lock(&self.inner.outbox).0.send(out);
    }
}

impl Adapter for RedisAdapter {
    fn add(&self, conn: Recipient) {
        let id = conn.id().clone();
        self.inner.shared.local.add(conn);
        lock(&self.inner.shared.conns).insert(id.clone());
        self.queue(Outgoing::Added(id));
    }

    fn remove(&self, id: &ClientId) {
        self.inner.shared.local.remove(id);
        if lock(&self.inner.shared.conns).remove(id) {
            self.queue(Outgoing::Removed(id.clone()));
        }
    }

    fn join(&self, id: &ClientId, room: &str) -> bool {
        self.inner.shared.local.join(id, room)
    }

    fn leave(&self, id: &ClientId, room: &str) -> bool {
        self.inner.shared.local.leave(id, room)
    }

    fn has(&self, id: &ClientId, room: &str) -> bool {
        self.inner.shared.local.has(id, room)
    }

    fn rooms(&self, id: &ClientId) -> Vec<String> {
        self.inner.shared.local.rooms(id)
    }

    /// Delivers to this node's recipients now, and queues one message for
    /// the other nodes. Returns the local count: the other nodes' is not
    /// known when the send returns.
    fn send(&self, target: Target<'_>, except: &[ClientId], event: &EncodedEvent) -> usize {
        let shared = &self.inner.shared;
        let local = shared.local.send(target, except, event);
        if let Target::Clients(ids) = target
            && {
                let conns = lock(&shared.conns);
                ids.iter().all(|id| conns.contains(id))
            }
        {
            // Every recipient is here: nothing for the other nodes.
            return local;
        }
        let lost = |why: &str| {
            shared.stats.add(
                &shared.stats.publish_lost,
                "zocket_redis_publish_lost_total",
                1,
            );
            tracing::warn!("{why}: an event reached this node only");
        };
        let mut message = Message {
            node: shared.node,
            seq: 0,
            targets: Targets::from_target(target),
            except: except.to_vec(),
            event: event.clone(),
        };
        let mut outbox = lock(&self.inner.outbox);
        message.seq = outbox.1 + 1;
        let Some(bytes) = message.encode() else {
            drop(outbox);
            lost("a room name, a client id or a list too long to publish");
            return local;
        };
        let len = bytes.len();
        if shared.queued.fetch_add(len, Ordering::AcqRel) + len > self.inner.max_queued {
            shared.queued.fetch_sub(len, Ordering::AcqRel);
            drop(outbox);
            lost("redis publish queue full");
            return local;
        }
        outbox.1 = message.seq;
        let _ = outbox.0.send(Outgoing::Event(bytes));
        local
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_millis() as u64)
}

/// Publishes the queue in order, a pipeline per batch, on one connection.
async fn publish(
    shared: Arc<Shared>,
    client: fred::clients::Client,
    mut queue: mpsc::UnboundedReceiver<Outgoing>,
) {
    let keys = shared.keys.clone();
    let conns_key = keys.conns(&keys.node);
    let mut batch = Vec::with_capacity(BATCH);
    while queue.recv_many(&mut batch, BATCH).await > 0 {
        let pipeline = client.pipeline();
        let mut events = Vec::with_capacity(batch.len());
        let mut bytes = 0;
        for out in batch.drain(..) {
            let queued: Result<(), _> = match out {
                Outgoing::Event(message) => {
                    bytes += message.len();
                    events.push(true);
                    pipeline
                        .publish(&keys.channel, Value::from(message.into_boxed_slice()))
                        .await
                }
                Outgoing::Added(id) => {
                    bytes += id.as_str().len() + 16;
                    events.push(false);
                    pipeline.sadd(&conns_key, id.as_str()).await
                }
                Outgoing::Removed(id) => {
                    bytes += id.as_str().len() + 16;
                    events.push(false);
                    pipeline.srem(&conns_key, id.as_str()).await
                }
            };
            if queued.is_err() {
                // Not queued in the pipeline: no result will come for it.
                if events.pop() == Some(true) {
                    shared.stats.add(
                        &shared.stats.publish_lost,
                        "zocket_redis_publish_lost_total",
                        1,
                    );
                }
            }
        }
        let results = pipeline.try_all::<Value>().await;
        let (mut ok, mut lost) = (0, 0);
        for (is_event, result) in events.iter().zip(&results) {
            match (is_event, result) {
                (true, Ok(_)) => ok += 1,
                (true, Err(_)) => lost += 1,
                (false, Err(_)) => shared.conns_stale.store(true, Ordering::Relaxed),
                (false, Ok(_)) => {}
            }
        }
        // Commands without a result (the pipeline failed as a whole).
        lost += events
            .iter()
            .skip(results.len())
            .filter(|is_event| **is_event)
            .count() as u64;
        shared.queued.fetch_sub(bytes, Ordering::AcqRel);
        shared
            .stats
            .add(&shared.stats.published, "zocket_redis_published_total", ok);
        if lost > 0 {
            shared.stats.add(
                &shared.stats.publish_lost,
                "zocket_redis_publish_lost_total",
                lost,
            );
            tracing::warn!(lost, "redis unreachable: events reached this node only");
        }
    }
}

/// Delivers other nodes' messages to this node's members, in order.
async fn receive(
    shared: Arc<Shared>,
    mut messages: tokio::sync::broadcast::Receiver<fred::types::Message>,
) {
    use tokio::sync::broadcast::error::RecvError;
    let mut last: HashMap<NodeId, u64> = HashMap::new();
    loop {
        let message = match messages.recv().await {
            Ok(message) => message,
            // Counted from the senders' sequence numbers when their next
            // message comes.
            Err(RecvError::Lagged(skipped)) => {
                tracing::warn!(skipped, "redis subscription fell behind");
                continue;
            }
            Err(RecvError::Closed) => return,
        };
        if message.channel != shared.keys.channel {
            continue;
        }
        let Some(message) = message.value.as_bytes().and_then(Message::decode) else {
            shared
                .stats
                .add(&shared.stats.malformed, "zocket_redis_malformed_total", 1);
            continue;
        };
        if message.node == shared.node {
            continue;
        }
        match last.get(&message.node) {
            // Published again (a retry after a lost reply): delivered once.
            Some(&previous) if message.seq <= previous => continue,
            Some(&previous) if message.seq > previous + 1 => {
                let missed = message.seq - previous - 1;
                shared.stats.add(
                    &shared.stats.receive_lost,
                    "zocket_redis_receive_lost_total",
                    missed,
                );
                tracing::warn!(missed, "events of another node were missed");
            }
            _ => {}
        }
        last.insert(message.node, message.seq);
        let rooms: Vec<&str>;
        let target = match &message.targets {
            Targets::All => Target::All,
            Targets::Clients(ids) => Target::Clients(ids),
            Targets::Rooms(names) => {
                rooms = names.iter().map(String::as_str).collect();
                Target::Rooms(&rooms)
            }
        };
        shared
            .stats
            .add(&shared.stats.received, "zocket_redis_received_total", 1);
        shared.local.send(target, &message.except, &message.event);
    }
}

/// Keeps this node's entry alive, and writes its connection list again
/// after Redis came back.
async fn heartbeat(shared: Arc<Shared>, client: fred::clients::Client) {
    let keys = shared.keys.clone();
    let conns_key = keys.conns(&keys.node);
    let mut reconnects = client.reconnect_rx();
    let mut tick = tokio::time::interval(HEARTBEAT);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            reconnected = reconnects.recv() => {
                if reconnected.is_ok() {
                    shared.conns_stale.store(true, Ordering::Relaxed);
                }
            }
        }
        let now = unix_ms();
        let pipeline = client.pipeline();
        let _: Result<(), _> = pipeline
            .zadd(
                &keys.nodes,
                None,
                None,
                false,
                false,
                (now as f64, keys.node.as_str()),
            )
            .await;
        let _: Result<(), _> = pipeline
            .zremrangebyscore(
                &keys.nodes,
                f64::NEG_INFINITY,
                now.saturating_sub(NODE_TTL.as_millis() as u64) as f64,
            )
            .await;
        if shared.conns_stale.swap(false, Ordering::Relaxed) {
            let ids: Vec<String> = lock(&shared.conns)
                .iter()
                .map(|id| id.as_str().to_owned())
                .collect();
            let _: Result<(), _> = pipeline.del(&conns_key).await;
            if !ids.is_empty() {
                let _: Result<(), _> = pipeline.sadd(&conns_key, ids).await;
            }
        }
        let _: Result<(), _> = pipeline
            .expire(&conns_key, NODE_TTL.as_secs() as i64, None)
            .await;
        if pipeline.all::<Value>().await.is_err() {
            shared.conns_stale.store(true, Ordering::Relaxed);
        }
    }
}
