//! Who is connected: sessions (by client id and by secret session id),
//! their outbound queues ([`Link`]), rooms and delivery through the
//! [`Adapter`], typed sending, and the [`ServerHandle`] over all of it.
//!
//! The second layer: it depends on the protocol layer and the
//! configuration only. The connection layer above attaches sockets to
//! sessions; nothing here touches a socket.

pub(crate) mod adapter;
mod connection;
mod handle;
mod ids;
mod link;
mod reason;
pub(crate) mod send;
mod session;
pub(crate) mod store;

pub use adapter::{Adapter, MemoryAdapter, Recipient, Target};
pub use connection::Connection;
pub use handle::{MemoryUse, ServerHandle};
pub use ids::ClientId;
pub(crate) use ids::SessionId;
pub(crate) use link::{Link, Outbound, Take};
pub use reason::DisconnectReason;
pub use send::{Emit, Emitter, EncodedEvent, Event, SendError};
pub(crate) use session::{Begin, Offer, Session, Ticket};

use crate::config::Config;
use futures_util::future::BoxFuture;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, RwLock};
use tokio_util::sync::CancellationToken;
use tokio_util::task::{TaskTracker, task_tracker::TaskTrackerToken};
use zocket_protocol::RouteKind;

/// The `on_connection_lost` hook, type-erased.
pub(crate) type LostHook<C> = Arc<dyn Fn(Connection<C>) -> BoxFuture<'static, ()> + Send + Sync>;

/// The `on_disconnect` hook, type-erased.
pub(crate) type DisconnectHook<C> =
    Arc<dyn Fn(Connection<C>, DisconnectReason) -> BoxFuture<'static, ()> + Send + Sync>;

/// The hooks a session runs as it loses its connection and as it ends.
pub(crate) struct SessionHooks<C> {
    pub(crate) on_connection_lost: Option<LostHook<C>>,
    pub(crate) on_disconnect: Option<DisconnectHook<C>>,
}

/// A server's session store, and how its context travels as JSON.
pub(crate) struct Cluster<C> {
    pub(crate) store: Arc<dyn store::SessionStore>,
    pub(crate) encode: fn(&C) -> Option<serde_json::Value>,
    pub(crate) decode: fn(serde_json::Value) -> Option<C>,
}

/// What every session of a server shares: the configuration, the adapter,
/// the tables of sessions, the hooks, the shutdown signal and the count of
/// live connections.
pub(crate) struct Hub<C> {
    pub(crate) config: Config,
    pub(crate) adapter: Arc<dyn Adapter>,
    pub(crate) hooks: SessionHooks<C>,
    /// Cancelled by a shutdown.
    pub(crate) shutdown: CancellationToken,
    /// One token per connection, from the handshake to the end of its
    /// `on_disconnect`; closed by a shutdown, which then waits on it.
    connections: TaskTracker,
    /// The names and kinds of the server's routes, sorted.
    routes: Vec<(Arc<str>, RouteKind)>,
    tables: RwLock<Tables<C>>,
    per_address: Arc<PerAddress>,
    /// What the histories and reply caches of all sessions hold.
    pub(crate) retained: Budget,
    /// The API schema's hash, sent in `__ready`.
    pub(crate) schema_hash: Option<String>,
    /// Sessions kept for recovery without a connection.
    retained_sessions: std::sync::atomic::AtomicUsize,
    /// The session store, when sessions may move between nodes.
    pub(crate) cluster: Option<Cluster<C>>,
}

struct Tables<C> {
    by_client: HashMap<ClientId, Arc<Session<C>>>,
    by_session: HashMap<SessionId, ClientId>,
}

/// One connection's place under `max_connections`, held until it ends.
pub(crate) struct Slot {
    _token: TaskTrackerToken,
    /// The source address counted under `max_connections_per_ip`.
    address: Option<(IpAddr, Arc<PerAddress>)>,
}

/// Live connections by source address.
type PerAddress = Mutex<HashMap<IpAddr, usize>>;

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some((ip, counts)) = &self.address {
            let mut counts = counts.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(n) = counts.get_mut(ip) {
                *n -= 1;
                if *n == 0 {
                    counts.remove(ip);
                }
            }
        }
    }
}

/// A byte budget shared by every session of a server: what histories and
/// reply caches may hold together.
pub(crate) struct Budget {
    used: std::sync::atomic::AtomicUsize,
    limit: usize,
}

impl Budget {
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            used: std::sync::atomic::AtomicUsize::new(0),
            limit,
        }
    }

    /// Takes `bytes` if they fit.
    pub(crate) fn take(&self, bytes: usize) -> bool {
        use std::sync::atomic::Ordering;
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(bytes).filter(|total| *total <= self.limit)
            })
            .is_ok()
    }

    /// Takes `bytes` even past the limit (what must be kept anyway).
    pub(crate) fn overdraw(&self, bytes: usize) {
        self.used
            .fetch_add(bytes, std::sync::atomic::Ordering::AcqRel);
    }

    /// Gives `bytes` back.
    pub(crate) fn give(&self, bytes: usize) {
        self.used
            .fetch_sub(bytes, std::sync::atomic::Ordering::AcqRel);
    }

    /// The bytes taken now.
    #[cfg(test)]
    pub(crate) fn used(&self) -> usize {
        self.used.load(std::sync::atomic::Ordering::Acquire)
    }
}

/// Why a connection got no slot.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Full {
    /// `max_connections` are live.
    Server,
    /// `max_connections_per_ip` are live from this address.
    Address,
}

impl<C: Send + Sync + 'static> Hub<C> {
    pub(crate) fn new(
        config: Config,
        adapter: Arc<dyn Adapter>,
        hooks: SessionHooks<C>,
        mut routes: Vec<(Arc<str>, RouteKind)>,
    ) -> Self {
        routes.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let config_retained = config.retained_bytes;
        Self {
            config,
            adapter,
            hooks,
            shutdown: CancellationToken::new(),
            connections: TaskTracker::new(),
            routes,
            tables: RwLock::new(Tables {
                by_client: HashMap::new(),
                by_session: HashMap::new(),
            }),
            per_address: Arc::default(),
            retained: Budget::new(config_retained),
            schema_hash: None,
            retained_sessions: std::sync::atomic::AtomicUsize::new(0),
            cluster: None,
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Tables<C>> {
        self.tables.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Tables<C>> {
        self.tables.write().unwrap_or_else(|p| p.into_inner())
    }

    /// A place for one more connection from `ip`, unless `max_connections`
    /// are live, or `max_connections_per_ip` from this address.
    pub(crate) fn acquire_slot(&self, ip: Option<IpAddr>) -> Result<Slot, Full> {
        let token = self.connections.token();
        if self.connections.len() > self.config.max_connections {
            return Err(Full::Server);
        }
        let address = match (self.config.max_connections_per_ip, ip) {
            (Some(max), Some(ip)) => {
                let mut counts = self.per_address.lock().unwrap_or_else(|p| p.into_inner());
                let n = counts.entry(ip).or_insert(0);
                if *n >= max {
                    return Err(Full::Address);
                }
                *n += 1;
                Some((ip, self.per_address.clone()))
            }
            _ => None,
        };
        Ok(Slot {
            _token: token,
            address,
        })
    }

    /// Counts one more session kept for recovery, unless
    /// `max_retained_sessions` are kept already.
    pub(crate) fn retain_one(&self) -> bool {
        use std::sync::atomic::Ordering;
        let max = self.config.max_retained_sessions;
        self.retained_sessions
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .is_ok()
    }

    /// A kept session was resumed or ended.
    pub(crate) fn release_retained(&self) {
        self.retained_sessions
            .fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }

    /// Resolves once every connection has ended (after a shutdown closed
    /// the tracker).
    pub(crate) async fn all_ended(&self) {
        self.connections.close();
        self.connections.wait().await;
    }

    pub(crate) fn insert(&self, session: Arc<Session<C>>) {
        let mut tables = self.write();
        tables
            .by_session
            .insert(session.session_id.clone(), session.id.clone());
        tables.by_client.insert(session.id.clone(), session);
    }

    /// Inserts `session` unless a session with its session id or client id
    /// is here already; `false` then.
    pub(crate) fn insert_new(&self, session: Arc<Session<C>>) -> bool {
        let mut tables = self.write();
        if tables.by_session.contains_key(&session.session_id)
            || tables.by_client.contains_key(&session.id)
        {
            return false;
        }
        tables
            .by_session
            .insert(session.session_id.clone(), session.id.clone());
        tables.by_client.insert(session.id.clone(), session);
        true
    }

    pub(crate) fn remove(&self, session: &Session<C>) {
        let mut tables = self.write();
        tables.by_session.remove(&session.session_id);
        tables.by_client.remove(&session.id);
    }

    pub(crate) fn get(&self, id: &ClientId) -> Option<Arc<Session<C>>> {
        self.read().by_client.get(id).cloned()
    }

    /// The session a client asks to resume, by its secret id.
    pub(crate) fn by_session(&self, id: &str) -> Option<Arc<Session<C>>> {
        let tables = self.read();
        let client = tables.by_session.get(id)?;
        tables.by_client.get(client).cloned()
    }

    pub(crate) fn all(&self) -> Vec<Arc<Session<C>>> {
        self.read().by_client.values().cloned().collect()
    }

    pub(crate) fn len(&self) -> usize {
        self.read().by_client.len()
    }

    pub(crate) fn routes(&self) -> &[(Arc<str>, RouteKind)] {
        &self.routes
    }

    /// Hands the session store the record of `session` (a new session, or
    /// its rooms changed).
    pub(crate) fn save_record(&self, session: &Session<C>) {
        if let Some(cluster) = &self.cluster
            && let Some(context) = (cluster.encode)(&session.app)
        {
            cluster.store.save(&session.record(context));
        }
    }
}

/// A server's sessions as its session store sees them.
pub(crate) struct NodeSessions<C>(pub(crate) std::sync::Weak<Hub<C>>);

impl<C: Send + Sync + 'static> store::LocalSessions for NodeSessions<C> {
    fn hand_over(
        &self,
        session_id: &str,
        forward: store::ForwardReply,
    ) -> Option<store::SessionSnapshot> {
        let hub = self.0.upgrade()?;
        let cluster = hub.cluster.as_ref()?;
        let session = hub.by_session(session_id)?;
        let context = (cluster.encode)(&session.app)?;
        session.hand_over(context, forward)
    }

    fn forwarded_reply(&self, session_id: &str, rpc_id: &str, reply: &str) {
        if let Some(session) = self.0.upgrade().and_then(|hub| hub.by_session(session_id)) {
            session.forwarded_reply(rpc_id, reply);
        }
    }

    fn records(&self) -> Vec<store::SessionRecord> {
        let Some(hub) = self.0.upgrade() else {
            return Vec::new();
        };
        let Some(cluster) = &hub.cluster else {
            return Vec::new();
        };
        hub.all()
            .iter()
            .filter(|session| !session.is_ended() && !session.is_moving())
            .filter_map(|session| Some(session.record((cluster.encode)(&session.app)?)))
            .collect()
    }
}
