//! Stream routes: the [`StreamSink`] a handler sends its items through,
//! paced by the credit the client grants, and the erasure of a stream
//! handler into a route.
//!
//! ```
//! use zocket::{Ctx, Router, RpcError, StreamSink};
//!
//! # #[derive(serde::Deserialize, schemars::JsonSchema)] struct Count { to: u32 }
//! let router = Router::<()>::new().stream(
//!     "count",
//!     |_ctx: Ctx<()>, input: Count, mut items: StreamSink<u32>| async move {
//!         for i in 1..=input.to {
//!             items.send(i).await?; // waits while the client's credit is used up
//!         }
//!         Ok::<_, RpcError>(())
//!     },
//! );
//! ```

use super::Ctx;
use super::route::{ErasedHandler, Payload};
use crate::protocol::{Constraints, RpcError, decode, item_frame};
use crate::registry::{Offer, Session};
use axum::extract::ws::Utf8Bytes;
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;
use zocket_protocol::ErrorCode;

/// The stream a call opened: its `rpcId` and its entry in the session.
#[derive(Clone)]
pub(crate) struct OpenStream {
    pub(crate) rpc_id: Arc<str>,
    pub(crate) number: u64,
}

/// Where a sink's items go: the session, without its context type.
pub(crate) trait ItemTarget: Send + Sync {
    fn offer(&self, stream: &OpenStream, n: u64, frame: &Utf8Bytes) -> Offer;
    /// The sink is gone: nothing more will be sent.
    fn release(&self, stream: &OpenStream);
}

impl<C: Send + Sync + 'static> ItemTarget for Session<C> {
    fn offer(&self, stream: &OpenStream, n: u64, frame: &Utf8Bytes) -> Offer {
        self.offer_item(&stream.rpc_id, stream.number, n, frame)
    }

    fn release(&self, stream: &OpenStream) {
        self.finish_stream(&stream.rpc_id, stream.number, false);
    }
}

/// Why a [`StreamSink::send`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StreamError {
    /// The stream is over: the client cancelled it, or its session ended.
    /// (A handler awaiting `send` is usually dropped before it sees this;
    /// a task the sink was moved to sees it.)
    #[error("the stream is closed: cancelled by the client, or its session ended")]
    Closed,
    /// The item did not serialize to JSON (logged); nothing was sent.
    #[error("a stream item failed to serialize: {0}")]
    Encode(String),
}

impl From<StreamError> for RpcError {
    fn from(err: StreamError) -> Self {
        match err {
            StreamError::Closed => RpcError::new(ErrorCode::CANCELLED, "the stream is closed"),
            StreamError::Encode(_) => RpcError::internal(),
        }
    }
}

/// What a stream handler sends its items through, in order, each one
/// numbered and sent once the client's credit allows it.
///
/// [`send`](Self::send) waits while the client has not granted credit
/// for the next item (or the stream's unacknowledged items fill
/// [`Config::stream_buffer_bytes`](crate::Config::stream_buffer_bytes)):
/// a slow client pauses the handler, and never fills the connection's
/// queue. Items are kept until the client acknowledges them, so a stream
/// goes on across a resumed session with none lost or repeated.
pub struct StreamSink<T> {
    target: Arc<dyn ItemTarget>,
    stream: OpenStream,
    sent: u64,
    item: PhantomData<fn(T)>,
}

impl<T> std::fmt::Debug for StreamSink<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamSink")
            .field("sent", &self.sent)
            .finish_non_exhaustive()
    }
}

impl<T> Drop for StreamSink<T> {
    fn drop(&mut self) {
        // The handler is done sending (returned, failed, or was dropped):
        // the stream stops counting as running.
        self.target.release(&self.stream);
    }
}

impl<T: Serialize> StreamSink<T> {
    pub(crate) fn new(target: Arc<dyn ItemTarget>, stream: OpenStream) -> Self {
        Self {
            target,
            stream,
            sent: 0,
            item: PhantomData,
        }
    }

    /// Sends the next item, waiting for the client's credit first. Fails
    /// when the stream is over ([`StreamError::Closed`]) or the item does
    /// not serialize; `?` turns either into the call's error.
    pub async fn send(&mut self, item: T) -> Result<(), StreamError> {
        let json = serde_json::to_string(&item).map_err(|err| {
            tracing::error!(%err, "stream item failed to serialize");
            StreamError::Encode(err.to_string())
        })?;
        let n = self.sent + 1;
        let frame = Utf8Bytes::from(item_frame(&self.stream.rpc_id, n, &json));
        loop {
            match self.target.offer(&self.stream, n, &frame) {
                Offer::Sent => {
                    self.sent = n;
                    return Ok(());
                }
                Offer::Closed => return Err(StreamError::Closed),
                Offer::Wait(wake) => wake.notified().await,
            }
        }
    }

    /// How many items were sent so far.
    pub fn sent(&self) -> u64 {
        self.sent
    }
}

/// Erases a typed stream handler: `handler(ctx, input, sink)` sends the
/// items and returns `Ok(())` (the stream's `null` reply) or its error.
pub(crate) fn erase_stream<C, I, T, E, F, Fut>(handler: F) -> ErasedHandler<C>
where
    C: Send + Sync + 'static,
    F: Fn(Ctx<C>, I, StreamSink<T>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    I: DeserializeOwned + JsonSchema + Send + 'static,
    T: Serialize + 'static,
    E: Into<RpcError> + 'static,
{
    let constraints = Constraints::of::<I>();
    Arc::new(move |mut ctx: Ctx<C>, payload: Payload| {
        let decoded = match &constraints {
            None => decode::<I>(payload.json()),
            Some(constraints) => constraints.decode::<I>(payload.json()),
        };
        let input = match decoded {
            Ok(input) => input,
            Err(err) => return Box::pin(std::future::ready(Err(err))),
        };
        let Some((target, stream)) = ctx.take_stream() else {
            // The dispatcher opens every stream before its handler.
            tracing::error!(route = ctx.route(), "stream handler without its stream");
            return Box::pin(std::future::ready(Err(RpcError::internal())));
        };
        let output = handler(ctx, input, StreamSink::new(target, stream));
        Box::pin(async move {
            output.await.map_err(Into::into)?;
            Ok("null".to_owned())
        })
    })
}
