//! [`ServerBuilder`]: a router, the connection hooks, the configuration and
//! the adapter, checked and put together into a [`Server`].

use super::Server;
use super::connect::Connect;
use super::handshake::{BeforeHook, ConnectHook, Handshaker, HeaderSchema, Reject, ResumeHook};
use crate::config::Config;
use crate::dispatch::{Dispatcher, Router};
use crate::protocol::Close;
use crate::registry::store::SessionStore;
use crate::registry::{
    Adapter, ClientId, Cluster, Connection, DisconnectHook, DisconnectReason, Hub, LostHook,
    MemoryAdapter, NodeSessions, SessionHooks,
};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use std::future::Future;
use std::sync::Arc;

/// Why a server could not be built: every problem found, each naming the
/// route or hook concerned.
#[derive(Debug, thiserror::Error)]
#[error("invalid zocket server: {}", problems.join("; "))]
pub struct BuildError {
    /// The problems, one per line.
    pub problems: Vec<String>,
}

/// Builds a [`Server`]; see [`Server::builder`].
#[must_use = "a builder does nothing until `build` is called"]
pub struct ServerBuilder<H, C> {
    router: Router<C>,
    config: Config,
    adapter: Option<Arc<dyn Adapter>>,
    cluster: Option<Cluster<C>>,
    before: Option<BeforeHook<H>>,
    connect: Option<ConnectHook<H, C>>,
    resume: Option<ResumeHook<H, C>>,
    schema_hash: Option<String>,
    disconnect: Option<DisconnectHook<C>>,
    lost: Option<LostHook<C>>,
    /// `Some(true)` after `on_verified_connect`; `Some(false)` once
    /// `on_before_connect` or `on_connect` replaced half of it.
    verified: Option<bool>,
}

impl<H, C> ServerBuilder<H, C> {
    /// The hash of the API's schema that `__ready` carries as `schemaHash`
    /// (see [`protocol::schema_hash`](crate::protocol::schema_hash)), for
    /// clients to compare with the definition they were built from.
    /// Servers built with a router definition's `server(..)` set it.
    pub fn schema_hash(mut self, hash: impl Into<String>) -> Self {
        self.schema_hash = Some(hash.into());
        self
    }
}

impl<H, C> ServerBuilder<H, C>
where
    H: DeserializeOwned + JsonSchema + Send + Sync + 'static,
    C: Send + Sync + 'static,
{
    pub(super) fn new(router: Router<C>) -> Self {
        Self {
            router,
            config: Config::default(),
            adapter: None,
            cluster: None,
            before: None,
            connect: None,
            resume: None,
            schema_hash: None,
            disconnect: None,
            lost: None,
            verified: None,
        }
    }

    /// Builds the connection's context from the validated headers and the
    /// new client id. Runs after the upgrade; an error closes the socket
    /// with its code (4000-4999) and reason. Required, unless every
    /// connection starts from one value ([`context`](Self::context)).
    pub fn on_connect<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(Arc<H>, ClientId) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<C, Close>> + Send + 'static,
    {
        self.connect = Some(Arc::new(move |headers, id, _| Box::pin(hook(headers, id))));
        self.verified = self.verified.map(|_| false);
        self
    }

    /// `on_before_connect` and `on_connect` in one, for a check whose
    /// result the context needs (a token verified once, not twice):
    /// `verify` runs before the upgrade, after header validation, and
    /// either refuses (the HTTP response) or returns a value `V`, which
    /// `connect` receives after the upgrade to build the context. On a
    /// resume, `verify` runs again (the session is taken over only if it
    /// passes) and its value is dropped: `on_connect` does not run. Takes
    /// the place of both hooks, the [`Connect`] trait's included.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use zocket::{Reject, Router, Server};
    ///
    /// #[derive(serde::Deserialize, schemars::JsonSchema)]
    /// struct Headers { token: String }
    /// struct User { name: String }
    ///
    /// let server: Server<Headers, User> = Server::builder(Router::new())
    ///     .on_verified_connect(
    ///         |headers: Arc<Headers>| async move {
    ///             // Checked once: a database or a signature, say.
    ///             match headers.token.strip_prefix("user:") {
    ///                 Some(name) => Ok(name.to_owned()),
    ///                 None => Err(Reject::unauthorized("bad token")),
    ///             }
    ///         },
    ///         |_headers, name: String, _id| async move { Ok(User { name }) },
    ///     )
    ///     .build()
    ///     .expect("valid");
    /// # drop(server);
    /// ```
    pub fn on_verified_connect<V, F, Fut, G, GFut>(mut self, verify: F, connect: G) -> Self
    where
        V: Send + 'static,
        F: Fn(Arc<H>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<V, Reject>> + Send + 'static,
        G: Fn(Arc<H>, V, ClientId) -> GFut + Send + Sync + 'static,
        GFut: Future<Output = Result<C, Close>> + Send + 'static,
    {
        self.before = Some(Arc::new(move |headers| {
            let verified = verify(headers);
            Box::pin(async move {
                let value = verified.await?;
                Ok(Some(Box::new(value) as Box<dyn std::any::Any + Send>))
            })
        }));
        let connect = Arc::new(connect);
        self.connect = Some(Arc::new(move |headers, id, verified| {
            let connect = connect.clone();
            Box::pin(async move {
                match verified.and_then(|value| value.downcast::<V>().ok()) {
                    Some(value) => connect(headers, *value, id).await,
                    // Not reachable: `build` refuses a builder whose
                    // `verify` was replaced; refused rather than guessed.
                    None => Err(Close::new(4500, "connection not verified")),
                }
            })
        }));
        self.verified = Some(true);
        self
    }

    /// Starts every connection with a clone of `initial` as its context,
    /// instead of an `on_connect` hook: for state that needs nothing from
    /// the headers (a `Default` value, say; handlers may then change it,
    /// see [`Ctx::update`](crate::Ctx::update)).
    ///
    /// ```
    /// use std::sync::Mutex;
    /// use zocket::{Ctx, NoHeaders, Router, RpcError, Server};
    ///
    /// #[derive(Clone, Default)]
    /// struct Visits { count: u32 }
    ///
    /// let router = Router::new().call("visit", |ctx: Ctx<Mutex<Visits>>, _: ()| async move {
    ///     Ok::<_, RpcError>(ctx.update(|v| { v.count += 1; v.count }))
    /// });
    /// let server: Server<NoHeaders, Mutex<Visits>> = Server::builder(router)
    ///     .context(Visits::default())
    ///     .build()
    ///     .expect("valid");
    /// # drop(server);
    /// ```
    pub fn context<T>(self, initial: T) -> Self
    where
        T: Into<C> + Clone + Send + Sync + 'static,
    {
        self.on_connect(move |_headers, _id| {
            let context = initial.clone().into();
            async move { Ok(context) }
        })
    }

    /// Runs before the upgrade, after header validation; an error is the
    /// HTTP response (`401`, `403` or any status, with a code and message).
    pub fn on_before_connect<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(Arc<H>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), Reject>> + Send + 'static,
    {
        self.before = Some(Arc::new(move |headers| {
            let checked = hook(headers);
            Box::pin(async move { checked.await.map(|()| None) })
        }));
        self.verified = self.verified.map(|_| false);
        self
    }

    /// Decides whether a handshake that presents a session's id (retained,
    /// or still connected: the new connection would replace it)
    /// may take it over, from the session (its context, id and rooms) and
    /// the new handshake's validated headers. Runs after the upgrade,
    /// after `on_before_connect`; an error closes the new socket with its
    /// code (4000-4999) and reason and leaves the session as it was. By
    /// default every resume that passed `on_before_connect` is allowed:
    /// the session id is a 128-bit secret.
    pub fn on_resume<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(Connection<C>, Arc<H>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), Close>> + Send + 'static,
    {
        self.resume = Some(Arc::new(move |conn, headers| Box::pin(hook(conn, headers))));
        self
    }

    /// Runs when a connection is lost but its session is kept for
    /// recovery: the client may come back (see [`Connect::on_connection_lost`]).
    pub fn on_connection_lost<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(Connection<C>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.lost = Some(Arc::new(move |conn| Box::pin(hook(conn))));
        self
    }

    /// Runs once a session has ended, with its context and the reason (see
    /// [`Connect::on_disconnect`]).
    pub fn on_disconnect<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(Connection<C>, DisconnectReason) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.disconnect = Some(Arc::new(move |conn, reason| Box::pin(hook(conn, reason))));
        self
    }

    /// Takes the connection hooks (`on_before_connect`, `on_connect`,
    /// `on_resume`, `on_connection_lost`, `on_disconnect`) from `hooks`.
    pub fn connect_with<T>(self, hooks: Arc<T>) -> Self
    where
        T: Connect<H, Context = C>,
    {
        let (before, connect, resume, disconnect, lost) = (
            hooks.clone(),
            hooks.clone(),
            hooks.clone(),
            hooks.clone(),
            hooks,
        );
        self.on_before_connect(move |headers| {
            let hooks = before.clone();
            async move { hooks.on_before_connect(headers).await }
        })
        .on_connect(move |headers, client_id| {
            let hooks = connect.clone();
            async move { hooks.on_connect(headers, client_id).await }
        })
        .on_resume(move |connection, headers| {
            let hooks = resume.clone();
            async move { hooks.on_resume(connection, headers).await }
        })
        .on_disconnect(move |connection, reason| {
            let hooks = disconnect.clone();
            async move { hooks.on_disconnect(connection, reason).await }
        })
        .on_connection_lost(move |connection| {
            let hooks = lost.clone();
            async move { hooks.on_connection_lost(connection).await }
        })
    }

    /// Limits and timings (see [`Config`]).
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Where rooms live and how events are delivered (default:
    /// [`MemoryAdapter`]).
    pub fn adapter(mut self, adapter: impl Adapter) -> Self {
        self.adapter = Some(Arc::new(adapter));
        self
    }

    /// Lets sessions move between the nodes of a cluster: a client that
    /// reconnects to another node within the retention window resumes
    /// there, with its client id, context, rooms, missed events and reply
    /// cache (see [`store`](crate::store)). `zocket_redis::RedisAdapter`
    /// is both the adapter and the store: pass it to both. The context
    /// travels as JSON, hence the bounds; a node shutting down keeps its
    /// sessions for the other nodes until its clients have moved (at most
    /// the shutdown timeout).
    pub fn session_store(mut self, store: impl SessionStore) -> Self
    where
        C: serde::Serialize + DeserializeOwned,
    {
        self.cluster = Some(Cluster {
            store: Arc::new(store),
            encode: |context| serde_json::to_value(context).ok(),
            decode: |value| serde_json::from_value(value).ok(),
        });
        self
    }

    /// Checks the routes and hooks and builds the server.
    pub fn build(self) -> Result<Server<H, C>, BuildError> {
        let mut problems = Vec::new();
        let routes = self.router.into_routes().unwrap_or_else(|errors| {
            problems.extend(errors);
            Default::default()
        });
        if self.connect.is_none() {
            problems.push(
                "no `on_connect` hook: it builds each connection's context \
                 (or start every connection from one value with `context(..)`)"
                    .into(),
            );
        }
        if self.verified == Some(false) {
            problems.push(
                "`on_before_connect` or `on_connect` after `on_verified_connect` replaces half \
                 of it: call `on_verified_connect` last (it takes the place of both)"
                    .into(),
            );
        }
        let headers = HeaderSchema::<H>::new();
        for field in headers.nested_fields() {
            problems.push(format!(
                "header field `{field}` is an object or an array: header fields are flat \
                 values (strings, numbers, booleans, enums), one per HTTP header or query parameter; \
                 `#[derive(zocket::Headers)]` checks this at compile time"
            ));
        }
        let (Some(connect), true) = (self.connect, problems.is_empty()) else {
            return Err(BuildError { problems });
        };
        let dispatcher = Dispatcher::new(routes);
        let adapter = self
            .adapter
            .unwrap_or_else(|| Arc::new(MemoryAdapter::new()));
        let hooks = SessionHooks {
            on_connection_lost: self.lost,
            on_disconnect: self.disconnect,
        };
        let retention = self.config.retention;
        let mut hub = Hub::new(self.config, adapter, hooks, dispatcher.names().collect());
        hub.schema_hash = self.schema_hash;
        hub.cluster = self.cluster;
        let hub = Arc::new(hub);
        if let Some(cluster) = &hub.cluster {
            cluster
                .store
                .bind(Arc::new(NodeSessions(Arc::downgrade(&hub))), retention);
        }
        Ok(Server {
            handshaker: Arc::new(Handshaker {
                schema: headers,
                before: self.before,
                connect,
                resume: self.resume,
                hub,
                dispatcher: Arc::new(dispatcher),
                readable_refusals: Arc::new(tokio::sync::Semaphore::new(
                    super::handshake::READABLE_REFUSALS,
                )),
            }),
        })
    }
}
