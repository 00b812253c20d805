//! [`RedisAdapter`]: the in-process adapter for this node's connections,
//! plus three background tasks: the publisher (the queue of messages, in
//! order), the subscriber (other nodes' messages, delivered locally) and
//! the heartbeat (this node's entry in the cluster's connection list).

use crate::wire::{Control, Message, NodeId, Targets};
use fred::clients::SubscriberClient;
use fred::prelude::{
    ClientLike, Config, EventInterface, HashesInterface, KeysInterface, PubsubInterface,
    ReconnectPolicy, SetsInterface, SortedSetsInterface,
};
use fred::types::Value;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use zocket::ClientId;
use zocket::adapter::{Adapter, EncodedEvent, MemoryAdapter, Recipient, Target};
use zocket::store::{LocalSessions, Prepare, SessionRecord, SessionSnapshot, SessionStore, Taken};

/// How often a node refreshes its entry.
const HEARTBEAT: Duration = Duration::from_secs(5);
/// How long a node's entry lives without a heartbeat.
const NODE_TTL: Duration = Duration::from_secs(15);
/// Messages of other nodes the subscription buffers before it counts the
/// oldest as lost.
const RECEIVE_BUFFER: usize = 4096;
/// Messages published in one pipeline at most.
const BATCH: usize = 256;
/// How long a node waits for another to hand a session over before it
/// takes the session as orphaned (its node was killed).
const TAKE_TIMEOUT: Duration = Duration::from_secs(2);

/// A request for a session, waiting for its answer.
struct Answer {
    shared: Arc<Shared>,
    request: u64,
    answered: oneshot::Receiver<Option<String>>,
}

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
    /// Sessions that moved here whole from another node.
    pub sessions_in: u64,
    /// Sessions this node handed over to another.
    pub sessions_out: u64,
    /// Sessions that came back here from their record only, their node not
    /// answering (killed): their events since the client's last and the
    /// replies of their calls in flight were lost.
    pub sessions_orphaned: u64,
}

#[derive(Default)]
struct Counters {
    published: AtomicU64,
    publish_lost: AtomicU64,
    received: AtomicU64,
    receive_lost: AtomicU64,
    malformed: AtomicU64,
    sessions_in: AtomicU64,
    sessions_out: AtomicU64,
    sessions_orphaned: AtomicU64,
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
    /// A control message, on `channel`.
    Control(String, Vec<u8>),
    /// A session's record (session id, bytes).
    Save(String, Vec<u8>),
    /// A session ended or moved away: its record goes.
    Forget(String),
    /// The server shut down: this node leaves the cluster's lists.
    Leave,
}

impl Outgoing {
    /// What it holds in the queue, for its byte budget.
    fn bytes(&self) -> usize {
        match self {
            Self::Added(id) | Self::Removed(id) => id.as_str().len() + 16,
            Self::Event(message) => message.len(),
            Self::Control(channel, bytes) | Self::Save(channel, bytes) => {
                channel.len() + bytes.len() + 16
            }
            Self::Forget(session) => session.len() + 16,
            Self::Leave => 16,
        }
    }
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
    max_queued: usize,
    keys: Keys,
    /// The publish queue, for what is not numbered (control messages,
    /// records).
    unnumbered: mpsc::UnboundedSender<Outgoing>,
    /// Numbers this node's sends (every send, published or not).
    sent: AtomicU64,
    /// This node's sessions, once a server bound them.
    sessions: OnceLock<Arc<dyn LocalSessions>>,
    /// How long a session without a connection is kept (the server's
    /// retention), once bound.
    retention: OnceLock<Duration>,
    /// Sessions this node asked for, by request number.
    takes: Mutex<HashMap<u64, oneshot::Sender<Option<String>>>>,
    requests: AtomicU64,
    /// Set once the server shut down: no more heartbeats.
    left: AtomicBool,
}

impl Shared {
    /// Queues what is not numbered, within the queue's byte budget;
    /// `false` when it did not fit.
    fn queue(&self, out: Outgoing) -> bool {
        let bytes = out.bytes();
        // Control messages (a session handed over, a reply forwarded) are
        // few and bounded by the sessions' own budgets: queued whatever
        // the events' budget, which would otherwise lose a session.
        let control = matches!(out, Outgoing::Control(..));
        if self.queued.fetch_add(bytes, Ordering::AcqRel) + bytes > self.max_queued && !control {
            self.queued.fetch_sub(bytes, Ordering::AcqRel);
            // The list is written again in full at the next heartbeat.
            self.conns_stale.store(true, Ordering::Relaxed);
            return false;
        }
        self.unnumbered.send(out).is_ok()
    }

    fn node_u128(&self) -> u128 {
        u128::from_be_bytes(self.node)
    }
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

    fn sessions(&self, node: &str) -> String {
        format!("{}:sessions:{node}", self.prefix)
    }

    fn node_channel(&self, node: &str) -> String {
        format!("{}:node:{node}", self.prefix)
    }
}

struct Inner {
    shared: Arc<Shared>,
    /// Held for reading by each send from its local delivery to its place
    /// in the publish queue, and for writing while a session moving here
    /// joins its rooms and its request is queued: a send of this node is
    /// then either queued before the request (the old node delivers it)
    /// or delivered here after the joins, never neither.
    gate: std::sync::RwLock<()>,
    /// The publish queue, and the last sequence number given: numbered and
    /// queued under one lock, so messages are published in their order.
    outbox: Mutex<(mpsc::UnboundedSender<Outgoing>, u64)>,
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
        let connected = async {
            client.init().await?;
            subscriber.init().await?;
            // Subscribed before the first send can be published: every
            // message of another node from here on reaches this one.
            subscriber.subscribe(keys.channel.clone()).await?;
            subscriber.subscribe(keys.node_channel(&keys.node)).await?;
            Ok::<_, fred::error::Error>(())
        };
        if let Err(err) = connected.await {
            // Their reconnection tasks would otherwise run on.
            let _ = client.quit().await;
            let _ = subscriber.quit().await;
            return Err(err.into());
        }

        let (outbox, queue) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            local: MemoryAdapter::new(),
            node,
            stats: Counters::default(),
            conns: Mutex::new(HashSet::new()),
            conns_stale: AtomicBool::new(false),
            queued: AtomicUsize::new(0),
            max_queued: self.max_queued_bytes,
            keys: keys.clone(),
            unnumbered: outbox.clone(),
            sent: AtomicU64::new(0),
            sessions: OnceLock::new(),
            retention: OnceLock::new(),
            takes: Mutex::new(HashMap::new()),
            requests: AtomicU64::new(0),
            left: AtomicBool::new(false),
        });
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
                gate: std::sync::RwLock::new(()),
                outbox: Mutex::new((outbox, 0)),
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
            sessions_in: c.sessions_in.load(Ordering::Relaxed),
            sessions_out: c.sessions_out.load(Ordering::Relaxed),
            sessions_orphaned: c.sessions_orphaned.load(Ordering::Relaxed),
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
        self.inner.shared.queue(out);
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
        // Every send gets an id, unique in the cluster: a session moving
        // between nodes gets an event that reached both once.
        let id = shared.sent.fetch_add(1, Ordering::Relaxed) + 1;
        let event = &event.with_origin(shared.node_u128(), id);
        let _gate = self
            .inner
            .gate
            .read()
            .unwrap_or_else(PoisonError::into_inner);
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
            id,
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
        if shared.queued.fetch_add(len, Ordering::AcqRel) + len > shared.max_queued {
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
    let sessions_key = keys.sessions(&keys.node);
    let mut batch = Vec::with_capacity(BATCH);
    while queue.recv_many(&mut batch, BATCH).await > 0 {
        let pipeline = client.pipeline();
        let mut events = Vec::with_capacity(batch.len());
        let mut bytes = 0;
        for out in batch.drain(..) {
            bytes += out.bytes();
            let queued: Result<(), _> = match out {
                Outgoing::Event(message) => {
                    events.push(true);
                    pipeline
                        .publish(&keys.channel, Value::from(message.into_boxed_slice()))
                        .await
                }
                Outgoing::Added(id) => {
                    events.push(false);
                    pipeline.sadd(&conns_key, id.as_str()).await
                }
                Outgoing::Removed(id) => {
                    events.push(false);
                    pipeline.srem(&conns_key, id.as_str()).await
                }
                Outgoing::Control(channel, message) => {
                    events.push(false);
                    pipeline
                        .publish(channel, Value::from(message.into_boxed_slice()))
                        .await
                }
                Outgoing::Save(session, record) => {
                    events.push(false);
                    pipeline
                        .hset(
                            &sessions_key,
                            (session, Value::from(record.into_boxed_slice())),
                        )
                        .await
                }
                Outgoing::Forget(session) => {
                    events.push(false);
                    pipeline.hdel(&sessions_key, session).await
                }
                Outgoing::Leave => {
                    events.push(false);
                    let _: Result<(), _> = pipeline.zrem(&keys.nodes, keys.node.as_str()).await;
                    let _: Result<(), _> = pipeline.del(&conns_key).await;
                    pipeline.del(&sessions_key).await
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
        let on_events = message.channel == shared.keys.channel;
        let Some(bytes) = message.value.as_bytes() else {
            shared
                .stats
                .add(&shared.stats.malformed, "zocket_redis_malformed_total", 1);
            continue;
        };
        if let Some(control) = Control::decode(bytes) {
            control_message(&shared, control, on_events);
            continue;
        }
        if !on_events {
            continue;
        }
        let Some(message) = Message::decode(bytes) else {
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
        let event = message
            .event
            .with_origin(u128::from_be_bytes(message.node), message.id);
        shared.local.send(target, &message.except, &event);
    }
}

/// A message moving a session: a request for a session this node holds
/// (handed over here, in the order of the events channel, so that every
/// event before it reached the session here), the answer to this node's
/// request, or a reply forwarded to a session that moved here.
fn control_message(shared: &Arc<Shared>, control: Control, on_events: bool) {
    match control {
        Control::Take {
            session,
            holder,
            from,
            request,
        } if on_events && holder == shared.keys.node => {
            let Some(sessions) = shared.sessions.get() else {
                return;
            };
            let to = shared.keys.node_channel(&from);
            let forward = {
                let shared = shared.clone();
                let (session, to) = (session.clone(), to.clone());
                Box::new(move |rpc_id: &str, reply: &str| {
                    let control = Control::Reply {
                        session: session.clone(),
                        rpc_id: rpc_id.to_owned(),
                        reply: reply.to_owned(),
                    };
                    shared.queue(Outgoing::Control(to.clone(), control.encode()));
                }) as zocket::store::ForwardReply
            };
            let snapshot = sessions.hand_over(&session, forward);
            if snapshot.is_some() {
                shared.stats.add(
                    &shared.stats.sessions_out,
                    "zocket_redis_sessions_out_total",
                    1,
                );
                shared.queue(Outgoing::Forget(session));
            }
            let give = Control::Give {
                request,
                snapshot: snapshot
                    .map(|snapshot| String::from_utf8(snapshot.to_bytes()).unwrap_or_default()),
            };
            shared.queue(Outgoing::Control(to, give.encode()));
        }
        Control::Give { request, snapshot } if !on_events => {
            if let Some(waiter) = lock(&shared.takes).remove(&request) {
                let _ = waiter.send(snapshot);
            }
        }
        Control::Reply {
            session,
            rpc_id,
            reply,
        } if !on_events => {
            if let Some(sessions) = shared.sessions.get() {
                sessions.forwarded_reply(&session, &rpc_id, &reply);
            }
        }
        _ => {}
    }
}

impl SessionStore for RedisAdapter {
    fn bind(&self, sessions: Arc<dyn LocalSessions>, retention: Duration) {
        let shared = &self.inner.shared;
        if shared.sessions.set(sessions).is_err() {
            tracing::warn!("a redis adapter serves the sessions of one server only");
        }
        let _ = shared.retention.set(retention);
    }

    fn save(&self, record: &SessionRecord) {
        self.inner.shared.queue(Outgoing::Save(
            record.session_id().to_owned(),
            record.to_bytes(),
        ));
    }

    fn forget(&self, session_id: &str) {
        self.inner
            .shared
            .queue(Outgoing::Forget(session_id.to_owned()));
    }

    fn take<'a>(
        &'a self,
        session_id: &'a str,
        prepare: Prepare<'a>,
    ) -> futures_util::future::BoxFuture<'a, Taken> {
        Box::pin(async move {
            match self.find(session_id).await {
                Ok(found) => self.take_from(found, prepare).await,
                Err(err) => {
                    tracing::warn!(%err, "cannot look a session up");
                    Taken::NotFound
                }
            }
        })
    }

    /// Leaves the cluster's lists (this node's entry, connections and
    /// records), then waits until the publish queue is empty: the last
    /// answers to other nodes are out.
    fn drain(&self) -> futures_util::future::BoxFuture<'_, ()> {
        Box::pin(async move {
            let shared = &self.inner.shared;
            shared.left.store(true, Ordering::Release);
            shared
                .queued
                .fetch_add(Outgoing::Leave.bytes(), Ordering::AcqRel);
            let _ = shared.unnumbered.send(Outgoing::Leave);
            while shared.queued.load(Ordering::Acquire) > 0 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    }
}

impl RedisAdapter {
    /// Queues a request to `holder` for session `session_id`, after every
    /// event this node queued before it; the answer to wait for, `None`
    /// when the queue is closed.
    fn request(&self, session_id: &str, holder: &str) -> Option<Answer> {
        let shared = &self.inner.shared;
        let request = shared.requests.fetch_add(1, Ordering::Relaxed) + 1;
        let (answer, answered) = oneshot::channel();
        lock(&shared.takes).insert(request, answer);
        let take = Control::Take {
            session: session_id.to_owned(),
            holder: holder.to_owned(),
            from: shared.keys.node.clone(),
            request,
        };
        let outbox = lock(&self.inner.outbox);
        let out = Outgoing::Control(shared.keys.channel.clone(), take.encode());
        shared.queued.fetch_add(out.bytes(), Ordering::AcqRel);
        if outbox.0.send(out).is_err() {
            lock(&shared.takes).remove(&request);
            return None;
        }
        Some(Answer {
            shared: shared.clone(),
            request,
            answered,
        })
    }

    /// The holder's answer: `Some(Some(snapshot))` when it handed the
    /// session over, `Some(None)` when it does not have it, `None` when it
    /// did not answer in time.
    async fn answer(answer: Answer) -> Option<Option<String>> {
        let answered = tokio::time::timeout(TAKE_TIMEOUT, answer.answered)
            .await
            .ok()
            .and_then(Result::ok);
        lock(&answer.shared.takes).remove(&answer.request);
        answered
    }

    /// The records of session `session_id`, with the node of each and
    /// whether it is live, live nodes first, then by latest heartbeat: one
    /// `ZRANGEBYSCORE` and one `HGET` per node, pipelined. A session
    /// recorded by two nodes is moving (or its old node has not written
    /// its leaving yet).
    async fn find(&self, session_id: &str) -> Result<Vec<(SessionRecord, String, bool)>, Error> {
        let shared = &self.inner.shared;
        let client = &self.inner.client;
        let now = unix_ms();
        let kept = NODE_TTL + shared.retention.get().copied().unwrap_or_default();
        let since = now.saturating_sub(kept.as_millis() as u64) as f64;
        let nodes: Vec<(String, f64)> = client
            .zrangebyscore(&shared.keys.nodes, since, "+inf", true, None)
            .await?;
        if nodes.is_empty() {
            return Ok(Vec::new());
        }
        let pipeline = client.pipeline();
        for (node, _) in &nodes {
            let _: Result<(), _> = pipeline.hget(shared.keys.sessions(node), session_id).await;
        }
        let records: Vec<Option<Vec<u8>>> = pipeline.all().await?;
        let live_since = now.saturating_sub(NODE_TTL.as_millis() as u64) as f64;
        let mut found: Vec<(SessionRecord, String, bool, f64)> = nodes
            .into_iter()
            .zip(records)
            .filter_map(|((node, beat), record)| {
                let record = SessionRecord::from_bytes(&record?)?;
                (record.session_id() == session_id).then_some((
                    record,
                    node,
                    beat >= live_since,
                    beat,
                ))
            })
            .collect();
        found.sort_by(|a, b| {
            (b.2, b.3)
                .partial_cmp(&(a.2, a.3))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        Ok(found
            .into_iter()
            .map(|(record, node, live, _)| (record, node, live))
            .collect())
    }

    /// Asks the nodes that recorded the session, live ones first, to hand
    /// it over, once `prepare` has put it in its rooms here. A node that
    /// no longer has it says so; one that does not answer in time is taken
    /// for dead. Orphaned when some record was found but no node handed
    /// the session over and one did not answer (or was not live).
    async fn take_from(
        &self,
        found: Vec<(SessionRecord, String, bool)>,
        prepare: Prepare<'_>,
    ) -> Taken {
        let shared = &self.inner.shared;
        if found.is_empty() {
            return Taken::NotFound;
        }
        let records: Vec<SessionRecord> =
            found.iter().map(|(record, _, _)| record.clone()).collect();
        let holders: Vec<(&str, bool)> = found
            .iter()
            .filter(|(_, holder, _)| *holder != shared.keys.node)
            .map(|(_, holder, live)| (holder.as_str(), *live))
            .collect();
        let session_id = records[0].session_id().to_owned();
        let mut orphaned = holders.iter().any(|(_, live)| !live);
        let mut live = holders
            .iter()
            .filter(|(_, live)| *live)
            .map(|(holder, _)| *holder);
        // The joins and the first request under the gate (see `gate`).
        let first = {
            let _gate = self
                .inner
                .gate
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            if !prepare(&records) {
                return Taken::NotFound;
            }
            live.next().map(|holder| self.request(&session_id, holder))
        };
        let mut asked = first;
        let mut taken = None;
        while let Some(answered) = asked {
            match answered {
                Some(answered) => match Self::answer(answered).await {
                    Some(Some(snapshot)) => {
                        taken = SessionSnapshot::from_bytes(snapshot.as_bytes()).map(Taken::Moved);
                        break;
                    }
                    Some(None) => {}
                    None => orphaned = true,
                },
                None => orphaned = true,
            }
            asked = live.next().map(|holder| self.request(&session_id, holder));
        }
        let taken = taken.unwrap_or(match orphaned {
            true => Taken::Orphaned,
            false => Taken::NotFound,
        });
        let counter = match &taken {
            Taken::Moved(_) => Some((&shared.stats.sessions_in, "zocket_redis_sessions_in_total")),
            Taken::Orphaned => Some((
                &shared.stats.sessions_orphaned,
                "zocket_redis_sessions_orphaned_total",
            )),
            Taken::NotFound => None,
        };
        if let Some((counter, name)) = counter {
            shared.stats.add(counter, name, 1);
        }
        taken
    }
}

/// Keeps this node's entry alive, and writes its connection list again
/// after Redis came back.
async fn heartbeat(shared: Arc<Shared>, client: fred::clients::Client) {
    let keys = shared.keys.clone();
    let conns_key = keys.conns(&keys.node);
    let sessions_key = keys.sessions(&keys.node);
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
        if shared.left.load(Ordering::Acquire) {
            return;
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
        // A node's entry outlives it by the retention window: the records
        // of its sessions are still found, and their sessions restored.
        let retention = shared.retention.get().copied().unwrap_or_default();
        let _: Result<(), _> = pipeline
            .zremrangebyscore(
                &keys.nodes,
                f64::NEG_INFINITY,
                now.saturating_sub((NODE_TTL + retention).as_millis() as u64) as f64,
            )
            .await;
        let _: Result<(), _> = pipeline
            .expire(
                &sessions_key,
                (NODE_TTL + retention).as_secs() as i64 + 1,
                None,
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
            // The sessions' records too: Redis may have come back empty.
            let records: Vec<(String, Value)> = shared
                .sessions
                .get()
                .map(|sessions| sessions.records())
                .unwrap_or_default()
                .into_iter()
                .map(|record| {
                    let bytes = record.to_bytes().into_boxed_slice();
                    (record.session_id().to_owned(), Value::from(bytes))
                })
                .collect();
            let _: Result<(), _> = pipeline.del(&sessions_key).await;
            if !records.is_empty() {
                let _: Result<(), _> = pipeline.hset(&sessions_key, records).await;
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
