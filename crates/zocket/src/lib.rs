//! Type-safe RPC and events over WebSocket, on tokio and axum.
//!
//! A [`Router`] maps route names to async handlers; a [`Server`] adds the
//! handshake (a typed header schema, `on_before_connect`, `on_connect`),
//! limits and lifecycle hooks, and serves it alone or inside an axum app.
//! Handlers get a [`Ctx`]: the client id, rooms, typed sending, values from
//! middleware, and the application's own per-connection context.
//!
//! ```no_run
//! use std::sync::Arc;
//! use zocket::{ClientId, Ctx, Event, Router, RpcError, Server};
//!
//! #[derive(serde::Deserialize, schemars::JsonSchema)]
//! struct Headers { name: String }
//!
//! struct User { name: String }
//!
//! #[derive(serde::Deserialize, schemars::JsonSchema)]
//! struct Say { room: String, text: String }
//!
//! #[derive(serde::Serialize)]
//! struct Said { from: String, text: String }
//!
//! const SAID: Event<Said> = Event::new("chat.said");
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let router = Router::<User>::new()
//!         .call("chat.join", |ctx: Ctx<User>, room: String| async move {
//!             ctx.join(&room);
//!             Ok::<_, RpcError>(())
//!         })
//!         .call("chat.say", |ctx: Ctx<User>, say: Say| async move {
//!             if !ctx.has(&say.room) {
//!                 return Err(RpcError::forbidden("join the room first"));
//!             }
//!             let said = Said { from: ctx.context().name.clone(), text: say.text };
//!             ctx.emit(SAID, &said).to_room(&say.room).map_err(|_| RpcError::internal())?;
//!             Ok(())
//!         });
//!     let server = Server::builder(router)
//!         .on_connect(|headers: Arc<Headers>, _id: ClientId| async move {
//!             Ok(User { name: headers.name.clone() })
//!         })
//!         .build()?;
//!     server.serve("127.0.0.1:3000").await?;
//!     Ok(())
//! }
//! ```
//!
//! The wire protocol is documented in `docs/protocol.md` of the repository.

mod adapter;
mod config;
mod connection;
mod ctx;
mod dispatch;
mod error;
mod handshake;
mod ids;
pub mod middleware;
mod protocol;
mod router;
mod schema;
mod send;
mod server;

pub use adapter::{Adapter, MemoryAdapter, Target};
pub use config::{Config, RateLimit};
pub use connection::{Connection, DisconnectReason, Recipient};
pub use ctx::Ctx;
pub use error::{Close, Reject, RpcError, SendError};
pub use handshake::{HeaderIssue, NoHeaders};
pub use ids::ClientId;
pub use protocol::{CloseCode, ErrorCode, PROTOCOL_VERSION};
pub use router::{RouteKind, Router};
pub use schema::ApiSchema;
pub use send::{Emit, Emitter, EncodedEvent, Event};
pub use server::{BuildError, Server, ServerBuilder, ServerHandle};
pub use zocket_macros::router;

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
        T: serde::de::DeserializeOwned + schemars::JsonSchema + Send + Sync + 'static,
    >() {
    }
    /// Fails to compile unless a client can send `T` as an input.
    pub const fn assert_client_input<T: serde::Serialize + Sync + ?Sized>() {}
    /// Fails to compile unless a client can decode `T` from a reply.
    pub const fn assert_client_output<T: serde::de::DeserializeOwned>() {}
    /// Fails to compile unless a client can decode `T` from an event.
    pub const fn assert_client_event<T: serde::de::DeserializeOwned + Send + 'static>() {}
    /// Fails to compile unless a client can send `T` as its headers.
    pub const fn assert_client_headers<T: serde::Serialize + ?Sized>() {}
    /// Fails to compile unless `T` can be handed from middleware to handlers.
    pub const fn assert_middleware_value<T: Clone + Send + Sync + 'static>() {}
    /// Fails to compile unless `E` can be a call's error.
    pub const fn assert_error<E: Into<crate::RpcError> + 'static>() {}
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

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;
