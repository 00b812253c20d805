//! [`Server`]: hooks and configuration around a [`Router`], mounted in axum
//! or served on its own.

mod builder;
mod connect;
pub(crate) mod handshake;
mod serve;

pub use builder::{BuildError, ServerBuilder};
pub use connect::Connect;

use crate::dispatch::Router;
use crate::registry::ServerHandle;
use axum::routing::{MethodRouter, any};
use handshake::{Handshaker, handshake};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use std::sync::Arc;
use tokio::net::{TcpListener, ToSocketAddrs};

/// A zocket server: handshake headers `H`, per-connection context `C`.
pub struct Server<H, C> {
    handshaker: Arc<Handshaker<H, C>>,
}

impl<H, C> Server<H, C>
where
    H: DeserializeOwned + JsonSchema + Send + Sync + 'static,
    C: Send + Sync + 'static,
{
    /// Starts building a server around `router`.
    pub fn builder(router: Router<C>) -> ServerBuilder<H, C> {
        ServerBuilder::new(router)
    }

    /// A handle for sending, listing connections and shutting down.
    pub fn handle(&self) -> ServerHandle<C> {
        ServerHandle::new(self.handshaker.hub.clone())
    }

    /// The WebSocket endpoint as an axum route, for any router state `S`:
    ///
    /// ```no_run
    /// # async fn run(server: zocket::Server<zocket::NoHeaders, ()>) {
    /// let app = axum::Router::new()
    ///     .route("/ws", server.route())
    ///     .route("/health", axum::routing::get(|| async { "ok" }));
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await.unwrap();
    /// axum::serve(listener, app).await.unwrap();
    /// # }
    /// ```
    pub fn route<S: Clone + Send + Sync + 'static>(&self) -> MethodRouter<S> {
        let handshaker = self.handshaker.clone();
        // Any method: a request that is not a `GET` upgrade gets the JSON
        // refusal, not a bare 405.
        any(move |request: axum::extract::Request| {
            let handshaker = handshaker.clone();
            async move { handshake(handshaker, request).await }
        })
    }

    /// Serves the WebSocket endpoint on every path of `addr` until
    /// [`ServerHandle::shutdown`] completes. Each HTTP connection must send
    /// its request head within [`Config::header_timeout`](crate::Config::header_timeout),
    /// and the peer's address feeds
    /// [`Config::max_connections_per_ip`](crate::Config::max_connections_per_ip).
    pub async fn serve(self, addr: impl ToSocketAddrs) -> std::io::Result<()> {
        self.serve_listener(TcpListener::bind(addr).await?).await
    }

    /// Like [`serve`](Self::serve), on a listener already bound.
    pub async fn serve_listener(self, listener: TcpListener) -> std::io::Result<()> {
        let app = axum::Router::new().fallback_service(self.route::<()>());
        self.serve_app(listener, app).await
    }

    /// Serves an axum app that mounts this server's [`route`](Self::route)
    /// (beside its other routes, state and layers) with the same
    /// protections as [`serve`](Self::serve), until
    /// [`ServerHandle::shutdown`] completes. `axum::serve` works too, but
    /// has no deadline for request heads and gives no peer address.
    pub async fn serve_app(self, listener: TcpListener, app: axum::Router) -> std::io::Result<()> {
        let hub = &self.handshaker.hub;
        serve::serve(listener, app, &hub.config, hub.shutdown.clone()).await?;
        self.handle().shutdown().await;
        Ok(())
    }
}
