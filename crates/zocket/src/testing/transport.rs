//! Servers and clients in one process: a [`TestServer`] serves its HTTP
//! and WebSocket traffic over in-memory pipes, so the real handshake,
//! protocol and client run with no TCP and no port.

use crate::registry::ServerHandle;
use crate::server::Server;
use futures_util::future::BoxFuture;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use zocket_client::{Client, ClientBuilder, ConnectError, Connector, Io};

/// The URL clients of a [`TestServer`] connect to. Only its path and query
/// matter: no name is resolved and no port opened.
pub const URL: &str = "ws://zocket.test/";

/// How much each direction of an in-memory connection buffers.
const PIPE_BYTES: usize = 64 * 1024;

/// A [`Server`] reached over in-memory pipes: each client connection is a
/// [`tokio::io::duplex`] pair, with the HTTP upgrade, the headers, every
/// frame and the close handshake exactly as over TCP.
///
/// ```
/// use zocket::testing::TestServer;
/// use zocket::{Ctx, NoHeaders, Router, RpcError, Server};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let router = Router::<()>::new()
///     .call("add", |_: Ctx<()>, (a, b): (i64, i64)| async move { Ok::<_, RpcError>(a + b) });
/// let server = Server::<NoHeaders, ()>::builder(router)
///     .on_connect(|_, _| async { Ok(()) })
///     .build()
///     .unwrap();
/// let test = TestServer::new(server);
/// let client = test.connect(&NoHeaders {}).await.unwrap();
/// assert_eq!(client.call::<_, i64>("add", &(2, 3)).await.unwrap(), 5);
/// # }
/// ```
///
/// Typed clients wrap the connected client:
/// `ChatClient::from_client(test.connect(&headers).await?)`.
pub struct TestServer<C> {
    handle: ServerHandle<C>,
    pipes: Pipes,
}

/// The [`Connector`] of a [`TestServer`]: it serves each new pipe with the
/// server's axum app.
#[derive(Clone)]
pub struct Pipes {
    app: axum::Router,
}

impl<C: Send + Sync + 'static> TestServer<C> {
    /// Serves `server` in this process.
    pub fn new<H>(server: Server<H, C>) -> Self
    where
        H: DeserializeOwned + JsonSchema + Send + Sync + 'static,
    {
        let app = axum::Router::new().fallback_service(server.route::<()>());
        Self {
            handle: server.handle(),
            pipes: Pipes { app },
        }
    }

    /// Serves an axum app that mounts the server's route (with its other
    /// routes, state and layers); `handle` is the server's.
    pub fn with_app(app: axum::Router, handle: ServerHandle<C>) -> Self {
        Self {
            handle,
            pipes: Pipes { app },
        }
    }

    /// The server's handle: connections, sending, shutdown.
    pub fn handle(&self) -> ServerHandle<C> {
        self.handle.clone()
    }

    /// What opens in-memory connections to this server, for
    /// [`ClientBuilder::connector`].
    pub fn connector(&self) -> Pipes {
        self.pipes.clone()
    }

    /// A client builder that connects to this server.
    pub fn client(&self) -> ClientBuilder {
        Client::builder().connector(self.connector())
    }

    /// Connects a client with the default settings to [`URL`], sending
    /// `headers`. For a server mounted at another path, use
    /// [`client`](Self::client) with `ws://zocket.test/that/path`.
    pub async fn connect<H: Serialize + ?Sized>(
        &self,
        headers: &H,
    ) -> Result<Client, ConnectError> {
        self.client().connect(URL, headers).await
    }
}

impl Connector for Pipes {
    fn connect(&self, _url: &str) -> BoxFuture<'static, std::io::Result<Box<dyn Io>>> {
        let (client, server) = tokio::io::duplex(PIPE_BYTES);
        let service = TowerToHyperService::new(self.app.clone());
        tokio::spawn(async move {
            let served = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(server), service)
                .with_upgrades()
                .await;
            if let Err(err) = served {
                tracing::debug!(%err, "in-memory connection ended with an error");
            }
        });
        Box::pin(async move { Ok(Box::new(client) as Box<dyn Io>) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dispatch::{Ctx, Router};
    use crate::protocol::RpcError;
    use crate::registry::Event;
    use crate::server::handshake::NoHeaders;
    use futures_util::StreamExt;
    use std::time::Duration;

    #[derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
    struct Headers {
        name: String,
    }

    const HELLO: Event<String> = Event::new("hello");

    fn server() -> Server<Headers, String> {
        let router = Router::new()
            .call("whoami", |ctx: Ctx<String>, (): ()| async move {
                Ok::<_, RpcError>(ctx.context().clone())
            })
            .call("greet", |ctx: Ctx<String>, (): ()| async move {
                let sent = ctx
                    .emit(HELLO, ctx.context())
                    .broadcast()
                    .map_err(|_| RpcError::internal())?;
                Ok::<_, RpcError>(sent)
            });
        Server::builder(router)
            .on_connect(
                |headers: std::sync::Arc<Headers>, _| async move { Ok(headers.name.clone()) },
            )
            .build()
            .expect("builds")
    }

    #[tokio::test]
    async fn clients_connect_call_and_receive_events_without_a_port() {
        let test = TestServer::new(server());
        let ada = test
            .connect(&Headers { name: "ada".into() })
            .await
            .expect("connects");
        let bob = test
            .connect(&Headers { name: "bob".into() })
            .await
            .expect("connects");
        let mut hello = bob.events::<String>("hello");
        assert_eq!(ada.call::<_, String>("whoami", &()).await.unwrap(), "ada");
        assert_eq!(ada.call::<_, usize>("greet", &()).await.unwrap(), 2);
        let event = tokio::time::timeout(Duration::from_secs(5), hello.next())
            .await
            .unwrap();
        assert_eq!(event.unwrap().unwrap(), "ada");
        assert_eq!(test.handle().connection_count(), 2);
    }

    #[tokio::test]
    async fn refusals_travel_as_over_http() {
        let test = TestServer::new(server());
        let err = test.connect(&NoHeaders {}).await.expect_err("no name");
        let refusal = err.refusal().expect("an HTTP refusal");
        assert_eq!(refusal.status, 400);
        assert_eq!(refusal.issues[0].path, "name");
    }
}
