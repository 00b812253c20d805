//! State every connection of a server shares: configuration, routes,
//! adapter, the registry of live connections and the connection count.

use crate::adapter::Adapter;
use crate::config::Config;
use crate::connection::{Connection, DisconnectReason};
use crate::dispatch::Route;
use crate::ids::ClientId;
use crate::ids::SessionId;
use crate::session::Session;
use futures_util::future::BoxFuture;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// The `on_connection_lost` hook, type-erased.
pub(crate) type LostHook<C> = Arc<dyn Fn(Connection<C>) -> BoxFuture<'static, ()> + Send + Sync>;

/// The `on_disconnect` hook, type-erased.
pub(crate) type DisconnectHook<C> =
    Arc<dyn Fn(Connection<C>, DisconnectReason) -> BoxFuture<'static, ()> + Send + Sync>;

pub(crate) struct Shared<C> {
    pub(crate) config: Config,
    pub(crate) adapter: Arc<dyn Adapter>,
    pub(crate) routes: HashMap<Box<str>, Route<C>>,
    pub(crate) registry: Registry<C>,
    pub(crate) on_disconnect: Option<DisconnectHook<C>>,
    pub(crate) on_connection_lost: Option<LostHook<C>>,
    /// Cancelled by a shutdown; every connection's stop token is a child.
    pub(crate) shutdown: CancellationToken,
    pub(crate) live: Arc<Live>,
}

/// Sessions by client id and by session id: connected ones and those kept
/// for recovery.
pub(crate) struct Registry<C> {
    tables: RwLock<Tables<C>>,
}

struct Tables<C> {
    by_client: HashMap<ClientId, Arc<Session<C>>>,
    by_session: HashMap<SessionId, ClientId>,
}

impl<C> Registry<C> {
    pub(crate) fn new() -> Self {
        Self {
            tables: RwLock::new(Tables {
                by_client: HashMap::new(),
                by_session: HashMap::new(),
            }),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Tables<C>> {
        self.tables.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Tables<C>> {
        self.tables.write().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn insert(&self, session: Arc<Session<C>>) {
        let mut tables = self.write();
        tables
            .by_session
            .insert(session.session_id.clone(), session.id.clone());
        tables.by_client.insert(session.id.clone(), session);
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
}

/// Counts connections from the handshake to the end of `on_disconnect`.
#[derive(Default)]
pub(crate) struct Live {
    count: AtomicUsize,
    idle: Notify,
}

impl Live {
    /// Resolves once no connection is left.
    pub(crate) async fn idle(&self) {
        loop {
            let notified = self.idle.notified();
            if self.count.load(Ordering::Acquire) == 0 {
                return;
            }
            notified.await;
        }
    }
}

/// One connection's place under `max_connections`, held until it ends.
pub(crate) struct Slot(Arc<Live>);

impl Slot {
    pub(crate) fn acquire(live: &Arc<Live>, max: usize) -> Option<Self> {
        if live.count.fetch_add(1, Ordering::AcqRel) >= max {
            Self::release(live);
            return None;
        }
        Some(Self(live.clone()))
    }

    fn release(live: &Live) {
        if live.count.fetch_sub(1, Ordering::AcqRel) == 1 {
            live.idle.notify_waiters();
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        Self::release(&self.0);
    }
}
