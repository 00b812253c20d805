//! [`Ctx`]: what every handler and middleware receives.

use crate::protocol::{Close, RpcError};
use crate::registry::send::sealed::Sealed;
use crate::registry::{ClientId, Emit, Emitter, Event, ServerHandle, Session};
use axum::http::Extensions;
use serde::Serialize;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use zocket_protocol::ErrorCode;

impl<T: Send + 'static> Ctx<std::sync::Mutex<T>> {
    /// Changes the connection's state: for a context that is a
    /// `Mutex<T>`, runs `change` on the state under its lock and returns
    /// what it returns. Calls of one connection run concurrently, so this
    /// is how handlers and middleware update per-connection state safely;
    /// keep `change` short (it holds the lock, and cannot `.await`). The
    /// state lasts as long as the session, a resumed one included.
    ///
    /// ```
    /// use std::sync::Mutex;
    /// use zocket::{Ctx, RpcError};
    ///
    /// #[derive(Default)]
    /// struct Cart { items: Vec<String> }
    ///
    /// async fn add(ctx: Ctx<Mutex<Cart>>, item: String) -> Result<usize, RpcError> {
    ///     Ok(ctx.update(|cart| {
    ///         cart.items.push(item);
    ///         cart.items.len()
    ///     }))
    /// }
    /// ```
    pub fn update<R>(&self, change: impl FnOnce(&mut T) -> R) -> R {
        // A handler that panicked under the lock left the state as it was
        // then; later calls still see it.
        let mut state = self
            .conn
            .app
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        change(&mut state)
    }
}

/// The built-in context of a call: the connection (client id, rooms,
/// sending, disconnect), the application's context `C` from `on_connect`,
/// and the values middleware handed over.
pub struct Ctx<C> {
    conn: Arc<Session<C>>,
    route: Arc<str>,
    values: Extensions,
    /// The stream this call opened, for a stream route's sink.
    stream: Option<super::stream::OpenStream>,
}

impl<C: Send + Sync + 'static> Ctx<C> {
    pub(crate) fn new(conn: Arc<Session<C>>, route: Arc<str>) -> Self {
        Self {
            conn,
            route,
            values: Extensions::new(),
            stream: None,
        }
    }

    /// The context of a call that opened `stream`.
    pub(crate) fn with_stream(mut self, stream: super::stream::OpenStream) -> Self {
        self.stream = Some(stream);
        self
    }

    /// The stream this call opened, and where its items go.
    pub(crate) fn take_stream(
        &mut self,
    ) -> Option<(
        Arc<dyn super::stream::ItemTarget>,
        super::stream::OpenStream,
    )> {
        let stream = self.stream.take()?;
        Some((self.conn.clone(), stream))
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

    /// Puts this connection in `room`; `Ok(false)` when it already was.
    /// A room name over [`Config::max_room_name`](crate::Config::max_room_name)
    /// bytes, or a join past
    /// [`Config::max_rooms_per_connection`](crate::Config::max_rooms_per_connection),
    /// fails with `LIMIT_EXCEEDED` (return it with `?`).
    pub fn join(&self, room: &str) -> Result<bool, RpcError> {
        join(&self.conn, room)
    }

    /// Takes this connection out of `room`; `false` when it was not in it.
    pub fn leave(&self, room: &str) -> bool {
        let left = self.conn.hub.adapter.leave(self.client_id(), room);
        if left {
            self.conn.rooms.fetch_sub(1, Ordering::AcqRel);
            self.conn.hub.save_record(&self.conn);
        }
        left
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
    /// handshake is done, or at most twice the close timeout (one for the
    /// close frame to be written, one for the peer's answer).
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

/// Joins `room` within the connection's limits.
pub(crate) fn join<C: Send + Sync + 'static>(
    session: &Session<C>,
    room: &str,
) -> Result<bool, RpcError> {
    let config = &session.hub.config;
    if room.len() > config.max_room_name {
        return Err(limit(
            "room_name",
            config.max_room_name,
            format!("room names are at most {} bytes", config.max_room_name),
        ));
    }
    if session.hub.adapter.has(&session.id, room) {
        return Ok(false);
    }
    if session.rooms.fetch_add(1, Ordering::AcqRel) >= config.max_rooms {
        session.rooms.fetch_sub(1, Ordering::AcqRel);
        return Err(limit(
            "rooms",
            config.max_rooms,
            format!("a connection is in at most {} rooms", config.max_rooms),
        ));
    }
    let joined = session.hub.adapter.join(&session.id, room);
    if joined {
        session.hub.save_record(session);
    } else {
        session.rooms.fetch_sub(1, Ordering::AcqRel);
    }
    Ok(joined)
}

fn limit(name: &str, max: usize, message: String) -> RpcError {
    RpcError::new(ErrorCode::LIMIT_EXCEEDED, message)
        .with_data(&serde_json::json!({ "limit": name, "max": max }))
}
