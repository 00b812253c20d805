//! A route: the middleware chain, input decoding with field paths, and
//! the type-erased handler.

use super::Ctx;
use super::middleware::Middleware;
use crate::metrics::RouteMetrics;
use crate::protocol::{Constraints, RpcError, decode};
use axum::extract::ws::Utf8Bytes;
use futures_util::future::BoxFuture;
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::future::Future;
use std::sync::Arc;
use zocket_protocol::RouteKind;

/// A handler behind one signature: context and payload in, reply JSON out.
pub(crate) type ErasedHandler<C> =
    Arc<dyn Fn(Ctx<C>, Payload) -> BoxFuture<'static, Result<String, RpcError>> + Send + Sync>;

/// A route ready to dispatch to.
pub(crate) struct Route<C> {
    pub(crate) name: Arc<str>,
    pub(crate) kind: RouteKind,
    pub(crate) handler: ErasedHandler<C>,
    pub(crate) middleware: Arc<[Middleware<C>]>,
    pub(crate) metrics: Arc<RouteMetrics>,
}

impl<C: Send + Sync + 'static> Route<C> {
    /// The future of one call: middleware, then decoding, then the handler.
    pub(crate) fn invoke(
        &self,
        ctx: Ctx<C>,
        payload: Payload,
    ) -> BoxFuture<'static, Result<String, RpcError>> {
        if self.middleware.is_empty() {
            return (self.handler)(ctx, payload);
        }
        let chain = self.middleware.clone();
        let handler = self.handler.clone();
        Box::pin(async move {
            let mut ctx = ctx;
            for middleware in chain.iter() {
                ctx = middleware(ctx).await?;
            }
            handler(ctx, payload).await
        })
    }
}

/// A call's payload: a range of the frame it came in, kept without a copy.
pub(crate) struct Payload {
    frame: Utf8Bytes,
    range: Option<(usize, usize)>,
}

impl Payload {
    /// Takes the frame (no copy, no new reference count) and where in it
    /// the payload is, from [`Payload::range`].
    pub(crate) fn new(frame: Utf8Bytes, range: Option<(usize, usize)>) -> Self {
        Self { frame, range }
    }

    /// Where `raw`, a slice of `frame`, lies in it.
    pub(crate) fn range(frame: &str, raw: &str) -> (usize, usize) {
        let start = raw.as_ptr() as usize - frame.as_ptr() as usize;
        (start, start + raw.len())
    }

    /// The payload's JSON; an absent payload is `null`.
    pub(crate) fn json(&self) -> &str {
        match self.range {
            Some((start, end)) => self.frame.as_str().get(start..end).unwrap_or("null"),
            None => "null",
        }
    }
}

/// Erases a typed handler.
pub(crate) fn erase<C, I, O, E, F, Fut>(handler: F) -> ErasedHandler<C>
where
    C: Send + Sync + 'static,
    F: Fn(Ctx<C>, I) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<O, E>> + Send + 'static,
    I: DeserializeOwned + JsonSchema + Send + 'static,
    O: Serialize + 'static,
    E: Into<RpcError> + 'static,
{
    // What the input's schema declares beyond its type, checked before
    // the handler; `None` (nothing to check) for most inputs.
    let constraints = Constraints::of::<I>();
    Arc::new(move |ctx, payload| {
        let decoded = match &constraints {
            None => decode::<I>(payload.json()),
            Some(constraints) => constraints.decode::<I>(payload.json()),
        };
        let input = match decoded {
            Ok(input) => input,
            Err(err) => return Box::pin(std::future::ready(Err(err))),
        };
        let output = handler(ctx, input);
        Box::pin(async move {
            let output = output.await.map_err(Into::into)?;
            serde_json::to_string(&output).map_err(|err| {
                // Logged in the call's span, which names the route.
                tracing::error!(%err, "reply failed to serialize");
                RpcError::internal()
            })
        })
    })
}
