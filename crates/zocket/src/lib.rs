//! Type-safe RPC and events over WebSocket, on tokio and axum.
//!
//! One annotated definition, shared by server and client, describes an
//! API: its handshake headers, its calls (input → output or a typed error),
//! messages (input, no reply), middleware and server events. The
//! [`router`] macro turns it into a server trait, a router, a typed event
//! sender, a typed client and a JSON Schema.
//!
//! ```no_run
//! use std::sync::Arc;
//! use zocket::{ClientId, Close, Ctx, RpcError};
//!
//! #[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema, zocket::Headers)]
//! pub struct Headers {
//!     #[schemars(length(min = 1, max = 32))]
//!     pub name: String,
//! }
//!
//! #[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
//! pub struct Say { pub room: String, pub text: String }
//!
//! #[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
//! pub struct Said { pub from: String, pub text: String }
//!
//! #[zocket::router(headers = Headers, namespace = "chat")]
//! /// A chat.
//! pub trait Chat {
//!     /// `chat.join`: a call whose reply is `null`.
//!     async fn join(room: String) -> Result<(), RpcError>;
//!     /// `chat.say`: a call that may fail with an error reply.
//!     async fn say(input: Say) -> Result<u64, RpcError>;
//!     /// `chat.typing`: a message, no reply.
//!     #[zocket(message)]
//!     async fn typing(room: String);
//!     /// `chat.said`: an event from the server.
//!     #[zocket(event)]
//!     fn said(payload: Said);
//! }
//!
//! /// The application: its state, its connection hooks, a handler per route.
//! struct App;
//!
//! impl zocket::Connect<Headers> for App {
//!     type Context = String; // each connection's name
//!
//!     async fn on_connect(&self, headers: Arc<Headers>, _id: ClientId) -> Result<String, Close> {
//!         Ok(headers.name.clone())
//!     }
//! }
//!
//! impl ChatServer<String> for App {
//!     async fn join(&self, ctx: Ctx<String>, room: String) -> Result<(), RpcError> {
//!         ctx.join(&room)?;
//!         Ok(())
//!     }
//!
//!     async fn say(&self, ctx: Ctx<String>, input: Say) -> Result<u64, RpcError> {
//!         if !ctx.has(&input.room) {
//!             return Err(RpcError::forbidden("join the room first"));
//!         }
//!         let said = Said { from: ctx.context().clone(), text: input.text };
//!         let members = Chat::events(&ctx).said(&said).to_room(&input.room).map_err(|_| RpcError::internal())?;
//!         Ok(members as u64)
//!     }
//!
//!     async fn typing(&self, _ctx: Ctx<String>, _room: String) {}
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let server = Chat::server(App).build()?;
//!     server.serve("127.0.0.1:3000").await?;
//!     Ok(())
//! }
//! ```
//!
//! # What the macro generates
//!
//! For a definition `trait Chat`:
//!
//! - `struct Chat`, with
//!   - `Chat::server(app)`: a [`ServerBuilder`] with the routes and the
//!     connection hooks of `app`; set limits with [`ServerBuilder::config`],
//!     then `.build()`, and [`Server::serve`] it or mount
//!     [`Server::route`] in an axum app;
//!   - `Chat::router(app)`: the routes alone, as a [`Router`];
//!   - `Chat::events(&ctx_or_handle)`: the typed event sender, one method
//!     per event, finishing with `.to(id)`, `.to_clients(ids)`,
//!     `.to_room(room)`, `.to_rooms(rooms)` or `.broadcast()` (and
//!     `.except(ids)`), from a handler's [`Ctx`] or a [`ServerHandle`];
//!     `Chat::SAID` is the same event as an [`Event`] constant;
//!   - `Chat::schema()`: the JSON Schema of the headers, every route (kind,
//!     input, output, error) and every event.
//! - `trait ChatServer<C>`: the handlers, for connections whose context is
//!   `C`: one async method per route taking the [`Ctx`], the input and any
//!   middleware values, and one per middleware. With [`Connect`] (the
//!   connection hooks: the `Context` type, `on_connect`, and optionally
//!   `on_before_connect`, `on_resume`, `on_connection_lost` and
//!   `on_disconnect`) it is what `Chat::server`
//!   takes. A missing handler or a wrong signature is a compile error on
//!   the application's code.
//! - `struct ChatClient` (with the `client` feature): `connect(url,
//!   &headers)`, one async method per call and message, one `on_<event>()`
//!   stream per event, `errors()` and `close()`.
//!
//! `#[zocket(nest)] fn users() -> Users;` nests another definition: its
//! routes and events keep their own names (its `namespace`), the same
//! implementation serves both (`impl UsersServer<C>` beside
//! `impl ChatServer<C>`), its schema is part of `Chat::schema()`, and
//! `ChatClient::users()` is its typed client on the same connection.
//!
//! Route names are the namespace and the method name in camelCase,
//! dot-joined (`users.getProfile`); `#[zocket(name = "...")]` overrides the
//! last part. Names starting with `__` are reserved.
//!
//! # Middleware
//!
//! `#[zocket(middleware)] async fn auth() -> Result<User, RpcError>;`
//! declares a middleware; the server implements it as
//! `async fn auth(&self, ctx: &Ctx<C>) -> Result<User, RpcError>`. A route
//! receives its value as a parameter marked `#[zocket(from = auth)]`, and
//! the middleware then runs before that route, before its input is
//! decoded; an error refuses the call. `middleware = [..]` in the macro's
//! arguments runs middleware before every route; `#[zocket(uses = [..])]`
//! before one. A parameter naming a middleware that does not exist, or of
//! another type than the middleware's value, does not compile.
//!
//! # Without the macro
//!
//! Everything the macro generates targets a small runtime API that is
//! usable by hand: [`Router::call`], [`Router::message`],
//! [`Router::middleware`] and [`Router::nest`] with closures taking a
//! [`Ctx`], [`Server::builder`] for the hooks, and [`Event`] constants for
//! typed sending.
//!
//! The wire protocol is documented in `docs/protocol.md` of the repository.

// The layers, bottom to top (ARCHITECTURE.md in the repository): each
// module uses only those before it here.

// Limits and metrics, used by every layer.
pub mod config;
pub mod metrics;

// 1. The wire.
pub mod protocol;

// 2. Sessions, rooms, sending.
mod registry;

// 3. One socket: reader and writer.
mod connection;

// 4. Frames to handlers and back.
mod dispatch;

// 5. HTTP, the handshake, serving.
mod server;

// Beside the layers: the API's schema, and the test kit on top of all.
pub mod schema;
#[cfg(feature = "testing")]
pub mod testing;

pub use config::Config;
pub use dispatch::{Ctx, Router, StreamError, StreamSink, middleware};
pub use protocol::{Close, ErrorCode, RpcError, WhenFull};
pub use registry::{ClientId, Connection, DisconnectReason, Event, MemoryUse, ServerHandle};
pub use server::handshake::{HeaderValue, Headers, NoHeaders, Reject};
pub use server::{BuildError, Connect, Server, ServerBuilder};
pub use zocket_macros::{HeaderValue, Headers, router};

/// Rooms and delivery: the [`Adapter`](adapter::Adapter) trait a server's
/// rooms and events go through, and [`MemoryAdapter`](adapter::MemoryAdapter),
/// the in-process default.
///
/// Handlers and the server handle never touch sockets or room tables: they
/// call the server's adapter. An adapter for several nodes (a broker's
/// pub/sub) implements the same trait, delivering locally and publishing
/// to the other nodes, with no change to handler code.
pub mod adapter {
    pub use crate::registry::{Adapter, EncodedEvent, MemoryAdapter, Recipient, Target};
}

/// Sessions across nodes: what a [`SessionStore`](store::SessionStore) keeps of each session
/// so that a client reconnecting to another node resumes there.
///
/// By default there is no store: sessions live in the memory of the node
/// that opened them, and a client resumes only on that node. A cluster
/// store (`zocket_redis::RedisAdapter` is one) moves a session to the
/// node its client reconnects to:
///
/// - **Records.** When a session starts and whenever its rooms change, the
///   server hands the store a [`SessionRecord`](store::SessionRecord): the session and client
///   ids, the context as JSON and the rooms. It is what survives the node.
/// - **Moves.** A handshake presenting a session id this node does not
///   hold asks the store to [`take`](store::SessionStore::take) it. The store
///   finds its records and calls `prepare` with them: the server builds the
///   session (context from the record), puts it in its rooms on this node
///   and buffers what reaches it. Only then does the store ask the holding
///   node to [`hand_over`](store::LocalSessions::hand_over) the session: that
///   node takes it out of its rooms and sends a [`SessionSnapshot`](store::SessionSnapshot) (its
///   `seq`, its history of events and its reply cache). The new node
///   appends what it buffered that the snapshot does not hold (events are
///   told apart by the id a cluster adapter gives each send, see
///   [`EncodedEvent::with_origin`](crate::adapter::EncodedEvent::with_origin))
///   and resumes the client: every event once, calls answered from the
///   reply cache. A call still running on the old node when the session
///   moved has its reply forwarded to the new one.
/// - **Orphans.** When the holding node does not answer (it was killed),
///   the session comes back from its record: same client id, context and
///   rooms, but no history: the client gets `"recovered": false`.
///
/// A context travels as JSON: servers with a store need a context that is
/// `Serialize + DeserializeOwned` (see
/// [`ServerBuilder::session_store`](crate::ServerBuilder::session_store)).
pub mod store {
    pub use crate::registry::store::{
        ForwardReply, LocalSessions, Prepare, SessionRecord, SessionSnapshot, SessionStore, Taken,
    };
}

/// Sending events: [`Emit`](send::Emit), what `ctx.emit(..)` and the typed
/// senders return (pick the recipients on it), and
/// [`Emitter`](send::Emitter), what events can be sent from (a [`Ctx`] or a
/// [`ServerHandle`]).
pub mod send {
    pub use crate::registry::{Emit, Emitter, SendError};
}

/// The Rust client (the `client` feature): what generated typed clients
/// are built on, usable directly for untyped calls.
#[cfg(feature = "client")]
pub use zocket_client as client;

/// Re-exports of the crates `zocket`'s API and macros build on.
#[doc(hidden)]
pub mod __private {
    pub use axum;
    pub use schemars;
    pub use serde;
    pub use serde_json;
    pub use std::future::Future;
    pub use std::sync::Arc;

    /// Fails to compile unless `T` can be a route's input.
    pub const fn assert_input<
        T: serde::de::DeserializeOwned + schemars::JsonSchema + Send + 'static,
    >() {
    }
    /// Fails to compile unless `T` can be a call's output.
    pub const fn assert_output<T: serde::Serialize + schemars::JsonSchema + 'static>() {}
    /// Fails to compile unless `T` can be an event's payload.
    pub const fn assert_event<T: serde::Serialize + schemars::JsonSchema + ?Sized>() {}
    /// Fails to compile unless `T` can be the header type.
    pub const fn assert_headers<
        T: crate::Headers + serde::de::DeserializeOwned + schemars::JsonSchema + Send + Sync + 'static,
    >() {
    }
    /// Fails to compile unless `T` is a flat header value.
    pub const fn assert_header_value<T: crate::HeaderValue>() {}
    /// Fails to compile unless `T` (a flattened header field) is a header type.
    pub const fn assert_flat_headers<T: crate::Headers>() {}
    /// What the typed client (zocket's `client` feature) decodes: replies
    /// and events. Its error names the feature.
    #[diagnostic::on_unimplemented(
        message = "zocket's `client` feature needs `{Self}` to implement `Deserialize`: the typed client decodes it",
        label = "not `Deserialize`",
        note = "derive `serde::Deserialize` for `{Self}`, or build without zocket's `client` feature (it generates the typed client)"
    )]
    pub trait ClientDecodes: serde::de::DeserializeOwned + Send + 'static {}
    impl<T: serde::de::DeserializeOwned + Send + 'static> ClientDecodes for T {}

    /// What the typed client (zocket's `client` feature) sends: inputs and
    /// headers. Its error names the feature.
    #[diagnostic::on_unimplemented(
        message = "zocket's `client` feature needs `{Self}` to implement `Serialize`: the typed client sends it",
        label = "not `Serialize`",
        note = "derive `serde::Serialize` for `{Self}`, or build without zocket's `client` feature (it generates the typed client)"
    )]
    pub trait ClientEncodes: serde::Serialize + Sync {}
    impl<T: serde::Serialize + Sync + ?Sized> ClientEncodes for T {}

    /// Fails to compile unless a client can send `T` as an input.
    pub const fn assert_client_input<T: ClientEncodes + ?Sized>() {}
    /// Fails to compile unless a client can decode `T` from a reply.
    pub const fn assert_client_output<T: ClientDecodes>() {}
    /// Fails to compile unless a client can decode `T` from an event.
    pub const fn assert_client_event<T: ClientDecodes>() {}
    /// Fails to compile unless a client can send `T` as its headers.
    pub const fn assert_client_headers<T: ClientEncodes + ?Sized>() {}
    /// Fails to compile unless `T` can be handed from middleware to handlers.
    pub const fn assert_middleware_value<T: Send + 'static>() {}
    /// Fails to compile unless `E` can be a call's error.
    pub const fn assert_error<E: Into<crate::RpcError> + 'static>() {}

    /// How a typed client's method decodes its call's error type `E`:
    /// into [`CallError::App`](zocket_client::CallError::App) when
    /// `E: Deserialize` ([`DecodeAppError`]), else leaving error replies
    /// as they are ([`KeepServerError`]), chosen at compile time.
    #[cfg(feature = "client")]
    pub struct AppError<E>(std::marker::PhantomData<fn() -> E>);

    #[cfg(feature = "client")]
    impl<E> AppError<E> {
        /// The marker for `E`.
        pub const fn new() -> Self {
            Self(std::marker::PhantomData)
        }
    }

    #[cfg(feature = "client")]
    impl<E> Default for AppError<E> {
        fn default() -> Self {
            Self::new()
        }
    }

    /// An error type the client can decode.
    #[cfg(feature = "client")]
    pub trait DecodeAppError<E> {
        /// Decodes the error replies that are `E`'s.
        fn decode(&self, err: zocket_client::CallError) -> zocket_client::CallError<E>;
    }

    #[cfg(feature = "client")]
    impl<E: serde::de::DeserializeOwned> DecodeAppError<E> for AppError<E> {
        fn decode(&self, err: zocket_client::CallError) -> zocket_client::CallError<E> {
            err.decode_app()
        }
    }

    /// An error type the client cannot decode (no `Deserialize`).
    #[cfg(feature = "client")]
    pub trait KeepServerError<E> {
        /// Leaves every error reply a `CallError::Server`.
        fn decode(&self, err: zocket_client::CallError) -> zocket_client::CallError<E> {
            err.map_app(|_| None)
        }
    }

    #[cfg(feature = "client")]
    impl<E> KeepServerError<E> for &AppError<E> {}

    pub use crate::registry::{Emit, Emitter};
    pub use crate::schema::{ApiSchema, DescribeAnyError, DescribeError, ErrorType};
    pub use zocket_protocol::{RouteKind, schema_hash};
}

/// Expands its input when the `client` feature is on: the router macro
/// wraps the typed client in it, so that only builds that want a client
/// need the client's dependencies and bounds.
#[cfg(feature = "client")]
#[doc(hidden)]
#[macro_export]
macro_rules! __client {
    ($($tokens:tt)*) => { $($tokens)* };
}

/// Expands its input when the `client` feature is on (it is off).
#[cfg(not(feature = "client"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __client {
    ($($tokens:tt)*) => {};
}
