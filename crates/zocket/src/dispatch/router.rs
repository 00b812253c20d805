//! The [`Router`]: routes and middleware, composed by prefix.

use super::Ctx;
use super::middleware::{Middleware, erase_middleware};
use super::route::{ErasedHandler, Route, erase};
use crate::metrics::RouteMetrics;
use crate::protocol::RpcError;
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use zocket_protocol::RouteKind;

/// Routes and middleware of an application whose per-connection context
/// is `C`.
///
/// ```
/// use zocket::{Ctx, Router, RpcError};
///
/// # #[derive(serde::Deserialize, schemars::JsonSchema)] struct Add { a: i64, b: i64 }
/// struct Conn;
/// let math = Router::<Conn>::new()
///     .call("add", |_ctx: Ctx<Conn>, input: Add| async move { Ok::<_, RpcError>(input.a + input.b) });
/// let app = Router::new().nest("math", math); // the route is `math.add`
/// ```
pub struct Router<C> {
    pub(crate) routes: Vec<RouteDef<C>>,
    middleware: Vec<Middleware<C>>,
    pub(crate) errors: Vec<String>,
}

pub(crate) struct RouteDef<C> {
    pub(crate) name: String,
    pub(crate) kind: RouteKind,
    pub(crate) handler: ErasedHandler<C>,
    pub(crate) middleware: Vec<Middleware<C>>,
}

impl<C: Send + Sync + 'static> Default for Router<C> {
    fn default() -> Self {
        Self::new()
    }
}

impl<C: Send + Sync + 'static> Router<C> {
    /// A router with no routes.
    pub fn new() -> Self {
        Self {
            routes: Vec::new(),
            middleware: Vec::new(),
            errors: Vec::new(),
        }
    }

    fn add(mut self, name: impl Into<String>, kind: RouteKind, handler: ErasedHandler<C>) -> Self {
        self.routes.push(RouteDef {
            name: name.into(),
            kind,
            handler,
            middleware: Vec::new(),
        });
        self
    }

    /// Adds a call: `handler(ctx, input)` returns the reply or an error.
    /// The input is decoded from the payload (`VALIDATION` with the field
    /// path when it does not match); the output is serialized as the reply.
    pub fn call<I, O, E, F, Fut>(self, name: impl Into<String>, handler: F) -> Self
    where
        F: Fn(Ctx<C>, I) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<O, E>> + Send + 'static,
        I: DeserializeOwned + JsonSchema + Send + 'static,
        O: Serialize + JsonSchema + 'static,
        E: Into<RpcError> + 'static,
    {
        self.add(name, RouteKind::Call, erase(handler))
    }

    /// Adds a message: like a call, but clients expect no reply. An error
    /// is reported with `__error` (or `__rpc_err` when the frame carried
    /// an `rpcId`).
    pub fn message<I, E, F, Fut>(self, name: impl Into<String>, handler: F) -> Self
    where
        F: Fn(Ctx<C>, I) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        I: DeserializeOwned + JsonSchema + Send + 'static,
        E: Into<RpcError> + 'static,
    {
        self.add(name, RouteKind::Message, erase(handler))
    }

    /// Adds a stream: `handler(ctx, input, items)` sends any number of
    /// items through its [`StreamSink`](crate::StreamSink), each once the
    /// client's credit allows, and returns `Ok(())` to end the stream (its
    /// reply is `null`) or an error to end it with that error. The call
    /// needs an `rpcId`; streams have no call timeout. See
    /// `docs/protocol.md`, "Streams".
    pub fn stream<I, T, E, F, Fut>(self, name: impl Into<String>, handler: F) -> Self
    where
        F: Fn(Ctx<C>, I, crate::StreamSink<T>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        I: DeserializeOwned + JsonSchema + Send + 'static,
        T: Serialize + JsonSchema + 'static,
        E: Into<RpcError> + 'static,
    {
        self.add(
            name,
            RouteKind::Stream,
            super::stream::erase_stream(handler),
        )
    }

    /// Adds middleware that runs before every handler of this router
    /// (also routes added later, and routes nested into it), in the order
    /// added. See [`middleware`](crate::middleware).
    pub fn middleware<F, Fut>(mut self, middleware: F) -> Self
    where
        F: Fn(Ctx<C>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Ctx<C>, RpcError>> + Send + 'static,
    {
        self.middleware.push(erase_middleware(middleware));
        self
    }

    /// Adds middleware to one route of this router, after the router's own.
    /// Naming a route this router does not have is a startup error.
    pub fn route_middleware<F, Fut>(mut self, route: &str, middleware: F) -> Self
    where
        F: Fn(Ctx<C>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Ctx<C>, RpcError>> + Send + 'static,
    {
        match self.routes.iter_mut().find(|r| r.name == route) {
            Some(def) => def.middleware.push(erase_middleware(middleware)),
            None => self
                .errors
                .push(format!("route_middleware: no route `{route}`")),
        }
        self
    }

    /// Puts `other`'s routes under `prefix` (`prefix.name`); `other`'s
    /// middleware keeps applying to its own routes only.
    pub fn nest(self, prefix: &str, other: Router<C>) -> Self {
        self.merge_with(Some(prefix), other)
    }

    /// Adds `other`'s routes as they are named.
    pub fn merge(self, other: Router<C>) -> Self {
        self.merge_with(None, other)
    }

    fn merge_with(mut self, prefix: Option<&str>, other: Router<C>) -> Self {
        self.errors.extend(other.errors);
        for mut def in other.routes {
            if let Some(prefix) = prefix {
                def.name = format!("{prefix}.{}", def.name);
            }
            let mut chain = other.middleware.clone();
            chain.append(&mut def.middleware);
            def.middleware = chain;
            self.routes.push(def);
        }
        self
    }

    /// Checks the routes and fixes each one's middleware chain.
    pub(crate) fn into_routes(self) -> Result<HashMap<Box<str>, Route<C>>, Vec<String>> {
        let mut errors = self.errors;
        let mut routes = HashMap::with_capacity(self.routes.len());
        for def in self.routes {
            if def.name.is_empty() || def.name.starts_with("__") {
                errors.push(format!(
                    "route `{}`: names starting with `__` (or empty) are reserved",
                    def.name
                ));
                continue;
            }
            let mut chain = self.middleware.clone();
            chain.extend(def.middleware);
            let name: Arc<str> = def.name.into();
            let route = Route {
                name: name.clone(),
                kind: def.kind,
                handler: def.handler,
                middleware: chain.into(),
                metrics: Arc::new(RouteMetrics::new(&name)),
            };
            if routes.insert((*name).into(), route).is_some() {
                errors.push(format!("route `{name}` is defined twice"));
            }
        }
        if errors.is_empty() {
            Ok(routes)
        } else {
            Err(errors)
        }
    }
}
