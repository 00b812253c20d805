//! [`ServerHandle`]: the server from anywhere (handlers, background tasks,
//! other axum routes).

use super::Shared;
use crate::connection::Connection;
use crate::error::Close;
use crate::ids::ClientId;
use crate::send::{Emit, Event};
use serde::Serialize;
use std::sync::Arc;

/// A cheap, cloneable handle to a running server.
pub struct ServerHandle<C>(Arc<Shared<C>>);

impl<C> Clone for ServerHandle<C> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<C: Send + Sync + 'static> ServerHandle<C> {
    pub(crate) fn from_shared(shared: Arc<Shared<C>>) -> Self {
        Self(shared)
    }

    /// Starts sending an event; pick recipients on the returned [`Emit`].
    pub fn emit<T: Serialize + ?Sized>(&self, event: Event<T>, payload: &T) -> Emit<'_> {
        Emit::new(&*self.0.adapter, event, payload)
    }

    /// The clients: connected ones, and those whose session is kept for
    /// recovery ([`Connection::is_connected`] tells them apart).
    pub fn connections(&self) -> Vec<Connection<C>> {
        self.0.registry.all().into_iter().map(Connection).collect()
    }

    /// One live connection.
    pub fn connection(&self, id: &ClientId) -> Option<Connection<C>> {
        self.0.registry.get(id).map(Connection)
    }

    /// Every route with its kind, sorted by name.
    pub fn routes(&self) -> Vec<(&'static str, crate::RouteKind)> {
        let mut routes: Vec<_> = self.0.routes.values().map(|r| (r.name, r.kind)).collect();
        routes.sort_unstable_by_key(|(name, _)| *name);
        routes
    }

    /// How many sessions there are (connected or kept for recovery).
    pub fn connection_count(&self) -> usize {
        self.0.registry.len()
    }

    /// Closes one connection (see [`Connection::disconnect`]); `false` when
    /// no live connection has this id.
    pub async fn disconnect(&self, id: &ClientId, close: Close) -> bool {
        match self.0.registry.get(id) {
            Some(conn) => {
                conn.disconnect(close).await;
                true
            }
            None => false,
        }
    }

    /// Graceful shutdown: refuses new connections (HTTP 503), lets each
    /// connection's in-flight calls finish (up to the shutdown timeout),
    /// closes every socket with `1001`, runs `on_disconnect` for each, and
    /// resolves once all of that is done (or the deadline passed).
    pub async fn shutdown(&self) {
        self.0.shutdown.cancel();
        for session in self.0.registry.all() {
            match session.link() {
                Some(link) => link.stop(crate::DisconnectReason::Shutdown),
                // Kept for recovery: no connection to close.
                None => session.end(crate::DisconnectReason::Shutdown).await,
            }
        }
        let config = &self.0.config;
        let deadline = config.shutdown_timeout + config.close_timeout * 2;
        if tokio::time::timeout(deadline, self.0.live.idle())
            .await
            .is_err()
        {
            tracing::warn!("shutdown deadline passed with connections still closing");
        }
    }

    /// Whether [`shutdown`](Self::shutdown) was called.
    pub fn is_shutting_down(&self) -> bool {
        self.0.shutdown.is_cancelled()
    }
}
