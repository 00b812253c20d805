//! [`Ctx`]: what every handler and middleware receives.

use crate::protocol::{Close, RpcError};
use crate::registry::send::sealed::Sealed;
use crate::registry::{ClientId, Emit, Emitter, Event, ServerHandle, Session};
use axum::http::Extensions;
use serde::Serialize;
use std::sync::Arc;

/// The built-in context of a call: the connection (client id, rooms,
/// sending, disconnect), the application's context `C` from `on_connect`,
/// and the values middleware handed over.
pub struct Ctx<C> {
    conn: Arc<Session<C>>,
    route: Arc<str>,
    values: Extensions,
}

impl<C: Send + Sync + 'static> Ctx<C> {
    pub(crate) fn new(conn: Arc<Session<C>>, route: Arc<str>) -> Self {
        Self {
            conn,
            route,
            values: Extensions::new(),
        }
    }

    /// The connection's client id.
    pub fn client_id(&self) -> &ClientId {
        &self.conn.id
    }

    /// The application's context, built by `on_connect`.
    pub fn context(&self) -> &C {
        &self.conn.app
    }

    /// The route being called.
    pub fn route(&self) -> &str {
        &self.route
    }

    /// Puts this connection in `room`; `false` when it already was.
    pub fn join(&self, room: &str) -> bool {
        self.conn.hub.adapter.join(self.client_id(), room)
    }

    /// Takes this connection out of `room`; `false` when it was not in it.
    pub fn leave(&self, room: &str) -> bool {
        self.conn.hub.adapter.leave(self.client_id(), room)
    }

    /// Whether this connection is in `room`.
    pub fn has(&self, room: &str) -> bool {
        self.conn.hub.adapter.has(self.client_id(), room)
    }

    /// The rooms of this connection, sorted.
    pub fn current(&self) -> Vec<String> {
        self.conn.hub.adapter.rooms(self.client_id())
    }

    /// Starts sending an event; pick recipients on the returned [`Emit`]
    /// (`.to_room(..)`, `.broadcast()`, ...).
    pub fn emit<T: Serialize + ?Sized>(&self, event: Event<T>, payload: &T) -> Emit<'_> {
        Emit::new(&*self.conn.hub.adapter, event, payload)
    }

    /// A handle to the whole server: other connections, sending, shutdown.
    pub fn server(&self) -> ServerHandle<C> {
        ServerHandle::new(self.conn.hub.clone())
    }

    /// Closes this connection with `close` and resolves once the close
    /// handshake is done (or the close timeout passed).
    pub async fn disconnect(&self, close: Close) {
        self.conn.disconnect(close).await;
    }

    /// Hands a value to the handler (from middleware). One value per type;
    /// a second insert replaces the first.
    pub fn insert<T: Clone + Send + Sync + 'static>(&mut self, value: T) {
        self.values.insert(value);
    }

    /// A value a middleware inserted.
    pub fn get<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.values.get::<T>()
    }

    /// Takes a value a middleware inserted out of the context.
    pub fn take<T: Clone + Send + Sync + 'static>(&mut self) -> Option<T> {
        self.values.remove::<T>()
    }

    /// A value a middleware must have inserted; its absence is a server
    /// bug, reported to the client as `INTERNAL` and logged with the route.
    pub fn require<T: Send + Sync + 'static>(&self) -> Result<&T, RpcError> {
        self.values.get::<T>().ok_or_else(|| {
            tracing::error!(
                route = &*self.route,
                value = std::any::type_name::<T>(),
                "handler requires a value no middleware inserted"
            );
            RpcError::internal()
        })
    }
}

impl<C> Sealed for Ctx<C> {}

impl<C: Send + Sync + 'static> Emitter for Ctx<C> {
    fn emit_event<T: Serialize + ?Sized>(&self, event: Event<T>, payload: &T) -> Emit<'_> {
        self.emit(event, payload)
    }
}
