//! [`Connection`]: a client's session as the application sees it.

use super::{ClientId, Session};
use std::sync::Arc;

/// A client's session, as listed by
/// [`ServerHandle::connections`](crate::ServerHandle::connections) and given
/// to `on_connection_lost` and `on_disconnect`.
pub struct Connection<C>(pub(crate) Arc<Session<C>>);

impl<C> Clone for Connection<C> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<C: Send + Sync + 'static> Connection<C> {
    /// The client id.
    pub fn id(&self) -> &ClientId {
        &self.0.id
    }

    /// The application's context from `on_connect`.
    pub fn context(&self) -> &C {
        &self.0.app
    }

    /// The client's rooms, sorted.
    pub fn rooms(&self) -> Vec<String> {
        self.0.hub.adapter.rooms(self.id())
    }

    /// Whether a socket is live (a session kept for recovery has none).
    pub fn is_connected(&self) -> bool {
        self.0.is_connected()
    }

    /// Whether the session has ended.
    pub fn is_closed(&self) -> bool {
        self.0.is_ended()
    }

    /// Closes the connection with `close` (code 4000-4999 and a reason),
    /// ends the session, and resolves once the close handshake has finished
    /// (at most twice the close timeout)
    /// or the close timeout has passed.
    pub async fn disconnect(&self, close: crate::protocol::Close) {
        self.0.disconnect(close).await;
    }
}

impl<C> std::fmt::Debug for Connection<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("id", &self.0.id)
            .finish_non_exhaustive()
    }
}
