//! State every connection of a server shares: configuration, routes,
//! adapter, the registry of live connections and the connection count.

use crate::adapter::Adapter;
use crate::config::Config;
use crate::connection::{Conn, Connection, DisconnectReason};
use crate::dispatch::Route;
use crate::ids::ClientId;
use futures_util::future::BoxFuture;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// The `on_disconnect` hook, type-erased.
pub(crate) type DisconnectHook<C> =
    Arc<dyn Fn(Connection<C>, DisconnectReason) -> BoxFuture<'static, ()> + Send + Sync>;

pub(crate) struct Shared<C> {
    pub(crate) config: Config,
    pub(crate) adapter: Arc<dyn Adapter>,
    pub(crate) routes: HashMap<Box<str>, Route<C>>,
    pub(crate) registry: Registry<C>,
    pub(crate) on_disconnect: Option<DisconnectHook<C>>,
    /// Cancelled by a shutdown; every connection's stop token is a child.
    pub(crate) shutdown: CancellationToken,
    pub(crate) live: Arc<Live>,
}

/// Live connections by client id.
pub(crate) struct Registry<C> {
    conns: RwLock<HashMap<ClientId, Arc<Conn<C>>>>,
}

impl<C> Registry<C> {
    pub(crate) fn new() -> Self {
        Self {
            conns: RwLock::new(HashMap::new()),
        }
    }

    pub(crate) fn insert(&self, conn: Arc<Conn<C>>) {
        let mut conns = self.conns.write().unwrap_or_else(|p| p.into_inner());
        conns.insert(conn.link.id.clone(), conn);
    }

    pub(crate) fn remove(&self, id: &ClientId) {
        self.conns
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
    }

    pub(crate) fn get(&self, id: &ClientId) -> Option<Arc<Conn<C>>> {
        self.conns
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned()
    }

    pub(crate) fn all(&self) -> Vec<Arc<Conn<C>>> {
        self.conns
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect()
    }

    pub(crate) fn len(&self) -> usize {
        self.conns.read().unwrap_or_else(|p| p.into_inner()).len()
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
