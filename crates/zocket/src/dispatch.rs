//! From a frame to a handler's reply: input decoding with field paths,
//! the middleware chain, and the type-erased handler.

use crate::ctx::Ctx;
use crate::error::RpcError;
use crate::middleware::Middleware;
use crate::router::RouteKind;
use axum::extract::ws::Utf8Bytes;
use futures_util::future::BoxFuture;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::future::Future;
use std::sync::Arc;

/// A handler behind one signature: context and payload in, reply JSON out.
pub(crate) type ErasedHandler<C> =
    Arc<dyn Fn(Ctx<C>, Payload) -> BoxFuture<'static, Result<String, RpcError>> + Send + Sync>;

/// A route ready to dispatch to.
pub(crate) struct Route<C> {
    pub(crate) name: &'static str,
    pub(crate) kind: RouteKind,
    pub(crate) handler: ErasedHandler<C>,
    pub(crate) middleware: Arc<[Middleware<C>]>,
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

/// Decodes a payload, naming the offending field on failure.
pub(crate) fn decode<I: DeserializeOwned>(json: &str) -> Result<I, RpcError> {
    // The fast path: plain serde_json. Only a payload that fails is decoded
    // again, tracking the path to the offending field.
    if let Ok(input) = serde_json::from_str(json) {
        return Ok(input);
    }
    let mut de = serde_json::Deserializer::from_str(json);
    serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let (path, message) = explain(&err);
        let err = RpcError::new(crate::ErrorCode::VALIDATION, message);
        if path.is_empty() {
            err
        } else {
            err.with_path(path)
        }
    })
}

/// The path (`items[2].qty`, empty for the root) and message of a
/// deserialization error. A missing field is reported at its own path.
pub(crate) fn explain<E: std::fmt::Display>(
    err: &serde_path_to_error::Error<E>,
) -> (String, String) {
    let mut path = err.path().to_string();
    if path == "." {
        path.clear();
    }
    let mut message = err.inner().to_string();
    if let Some(at) = message.rfind(" at line ") {
        message.truncate(at);
    }
    if let Some(field) = message
        .strip_prefix("missing field `")
        .and_then(|m| m.strip_suffix('`'))
    {
        path = if path.is_empty() {
            field.to_owned()
        } else {
            format!("{path}.{field}")
        };
    }
    (path, message)
}

/// Erases a typed handler.
pub(crate) fn erase<C, I, O, E, F, Fut>(handler: F) -> ErasedHandler<C>
where
    C: Send + Sync + 'static,
    F: Fn(Ctx<C>, I) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<O, E>> + Send + 'static,
    I: DeserializeOwned + Send + 'static,
    O: Serialize + 'static,
    E: Into<RpcError> + 'static,
{
    Arc::new(move |ctx, payload| {
        let input = match decode::<I>(payload.json()) {
            Ok(input) => input,
            Err(err) => return Box::pin(std::future::ready(Err(err))),
        };
        let route = ctx.route();
        let output = handler(ctx, input);
        Box::pin(async move {
            let output = output.await.map_err(Into::into)?;
            serde_json::to_string(&output).map_err(|err| {
                tracing::error!(route, %err, "reply failed to serialize");
                RpcError::internal()
            })
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Order {
        items: Vec<Item>,
    }

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Item {
        qty: u32,
    }

    #[test]
    fn validation_errors_name_the_field() {
        let err = decode::<Order>(r#"{"items":[{"qty":1},{"qty":2},{"qty":"x"}]}"#).unwrap_err();
        assert_eq!(err.path(), Some("items[2].qty"));
        assert!(
            err.message().starts_with("invalid type: string"),
            "{}",
            err.message()
        );
        let err = decode::<Order>(r#"{"items":[{}]}"#).unwrap_err();
        assert_eq!(err.path(), Some("items[0].qty"));
        let err = decode::<Order>("null").unwrap_err();
        assert_eq!(err.path(), None);
    }
}
