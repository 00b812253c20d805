//! [`Server`]: hooks and configuration around a [`Router`], mounted in axum
//! or served on its own.

mod builder;
mod connect;
pub(crate) mod handshake;

pub use builder::{BuildError, ServerBuilder};
pub use connect::Connect;

use crate::dispatch::Router;
use crate::registry::ServerHandle;
use axum::extract::ws::{WebSocketUpgrade, rejection::WebSocketUpgradeRejection};
use axum::http::{HeaderMap, Uri};
use axum::routing::{MethodRouter, get};
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
        get(
            move |uri: Uri,
                  headers: HeaderMap,
                  ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>| {
                let handshaker = handshaker.clone();
                async move { handshake(handshaker, uri, headers, ws).await }
            },
        )
    }

    /// Serves the WebSocket endpoint on every path of `addr` until
    /// [`ServerHandle::shutdown`] completes.
    pub async fn serve(self, addr: impl ToSocketAddrs) -> std::io::Result<()> {
        self.serve_listener(TcpListener::bind(addr).await?).await
    }

    /// Like [`serve`](Self::serve), on a listener already bound.
    pub async fn serve_listener(self, listener: TcpListener) -> std::io::Result<()> {
        let app = axum::Router::new().fallback_service(self.route::<()>());
        let stop = self.handshaker.hub.shutdown.clone();
        axum::serve(listener, app)
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await?;
        self.handle().shutdown().await;
        Ok(())
    }
}
