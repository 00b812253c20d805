//! [`ServerHandle`]: the server from anywhere (handlers, background tasks,
//! other axum routes).

use super::{ClientId, Connection, DisconnectReason, Emit, Event, Hub};
use crate::protocol::Close;
use serde::Serialize;
use std::sync::Arc;
use zocket_protocol::RouteKind;

/// What a server's sessions hold, in bytes, by the server's own accounting
/// (see [`ServerHandle::memory`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MemoryUse {
    /// Sessions, connected or kept for recovery.
    pub sessions: usize,
    /// Frames queued for live connections (events counted once per
    /// connection they are queued for).
    pub queued_bytes: usize,
    /// Events kept for replay.
    pub history_bytes: usize,
    /// Replies kept for resent calls.
    pub reply_bytes: usize,
    /// Stream items kept until the client acknowledges them.
    pub stream_bytes: usize,
}

/// A cheap, cloneable handle to a running server.
pub struct ServerHandle<C>(Arc<Hub<C>>);

impl<C> Clone for ServerHandle<C> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<C: Send + Sync + 'static> ServerHandle<C> {
    pub(crate) fn new(hub: Arc<Hub<C>>) -> Self {
        Self(hub)
    }

    /// Starts sending an event; pick recipients on the returned [`Emit`].
    pub fn emit<T: Serialize + ?Sized>(&self, event: Event<T>, payload: &T) -> Emit<'_> {
        Emit::new(&*self.0.adapter, event, payload)
    }

    /// The clients: connected ones, and those whose session is kept for
    /// recovery ([`Connection::is_connected`] tells them apart).
    pub fn connections(&self) -> Vec<Connection<C>> {
        self.0.all().into_iter().map(Connection).collect()
    }

    /// One client, connected or with its session kept for recovery.
    pub fn connection(&self, id: &ClientId) -> Option<Connection<C>> {
        self.0.get(id).map(Connection)
    }

    /// Every route with its kind, sorted by name.
    pub fn routes(&self) -> Vec<(&str, RouteKind)> {
        self.0
            .routes()
            .iter()
            .map(|(name, kind)| (&**name, *kind))
            .collect()
    }

    /// What the sessions hold now, in bytes: queues, histories, reply
    /// caches. Costs O(sessions).
    pub fn memory(&self) -> MemoryUse {
        self.0
            .all()
            .iter()
            .fold(MemoryUse::default(), |mut total, session| {
                let held = session.held();
                total.sessions += 1;
                total.queued_bytes += held.queued;
                total.history_bytes += held.history;
                total.reply_bytes += held.replies;
                total.stream_bytes += held.streams;
                total
            })
    }

    /// Sets the byte-accounting gauges of [`metrics`](crate::metrics)
    /// (`zocket_queued_bytes`, `zocket_history_bytes`, `zocket_reply_bytes`,
    /// `zocket_sessions_retained`), for example right before a scrape.
    /// Costs O(sessions).
    pub fn record_gauges(&self) {
        let memory = self.memory();
        let retained = self.0.all().iter().filter(|s| !s.is_connected()).count();
        crate::metrics::memory(
            memory.queued_bytes,
            memory.history_bytes,
            memory.reply_bytes,
            retained,
        );
    }

    /// How many sessions there are (connected or kept for recovery).
    pub fn connection_count(&self) -> usize {
        self.0.len()
    }

    /// Closes one client's connection and ends its session (see
    /// [`Connection::disconnect`]); `false` when no session has this id.
    pub async fn disconnect(&self, id: &ClientId, close: Close) -> bool {
        match self.0.get(id) {
            Some(session) => {
                session.disconnect(close).await;
                true
            }
            None => false,
        }
    }

    /// Graceful shutdown: refuses new connections (HTTP 503), lets each
    /// connection's in-flight calls finish (up to the shutdown timeout),
    /// closes every socket with `1001`, runs `on_disconnect` for each, and
    /// resolves once all of that is done (or the deadline passed).
    ///
    /// With a [session store](crate::ServerBuilder::session_store), the
    /// sessions are not ended at once: they wait for their clients, which
    /// reconnect to the other nodes and take them over there. What is
    /// still here when the shutdown timeout has passed again ends.
    pub async fn shutdown(&self) {
        let hub = &self.0;
        hub.shutdown.cancel();
        let moves = hub.cluster.is_some() && !hub.config.retention.is_zero();
        for session in hub.all() {
            match session.link() {
                Some(link) => link.stop(DisconnectReason::Shutdown),
                // Kept for recovery: no connection to close.
                None if !moves => session.end(DisconnectReason::Shutdown).await,
                None => {}
            }
        }
        let config = &hub.config;
        let deadline = config.shutdown_timeout + config.close_timeout * 2;
        if tokio::time::timeout(deadline, hub.all_ended())
            .await
            .is_err()
        {
            tracing::warn!("shutdown deadline passed with connections still closing");
        }
        if moves {
            let moved = tokio::time::timeout(config.shutdown_timeout, async {
                while hub.len() > 0 {
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
            })
            .await;
            if moved.is_err() {
                tracing::info!(
                    sessions = hub.len(),
                    "shutdown: sessions no other node took over end here"
                );
            }
            for session in hub.all() {
                session.end(DisconnectReason::Shutdown).await;
            }
        }
        if let Some(cluster) = &hub.cluster
            && tokio::time::timeout(config.shutdown_timeout, cluster.store.drain())
                .await
                .is_err()
        {
            tracing::warn!("shutdown: the session store did not drain in time");
        }
    }

    /// Whether [`shutdown`](Self::shutdown) was called.
    pub fn is_shutting_down(&self) -> bool {
        self.0.shutdown.is_cancelled()
    }
}
