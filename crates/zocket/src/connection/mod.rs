//! One connection: a reader loop handing each text frame to the layer
//! above, and a writer draining the session's outbound queue, both driven
//! by the connection's one task. Both work over any `Stream`/`Sink` of
//! WebSocket messages, so an axum `WebSocket`, an in-memory transport and
//! the unit tests' channels are all the same to them.
//!
//! One task, not two: with a task per reader and another per writer, a few
//! hundred connections overflow the multi-threaded runtime's local run
//! queue (256 tasks per worker), and the tasks pushed out to its shared
//! queue wait many rounds: the tail latency of some connections grew
//! thirty-fold (BENCHMARKS.md, "One task per connection").
//!
//! The third layer: it attaches a socket to a session of the registry and
//! owns the socket's concerns (heartbeats, the rate limit, the in-flight
//! limit's permits, the close handshake, shutdown draining). What a frame
//! means is the dispatch layer's business, reached through [`Inbound`].

mod rate;
mod reader;
mod writer;

#[cfg(test)]
mod tests;

use crate::protocol::Close;
use crate::registry::{ClientId, DisconnectReason, Hub, Link, Session, Slot};
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes};
use futures_util::future::BoxFuture;
use futures_util::{FutureExt, Sink, SinkExt, Stream, StreamExt};
use std::fmt::Display;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::task::Poll;
use tokio::sync::Semaphore;
use tracing::Instrument;
use zocket_protocol::CloseCode;

/// A WebSocket as the connection layer needs it: messages in, messages
/// out. axum's `WebSocket` is one; so is any pair of channels.
pub(crate) trait Socket:
    Stream<Item = Result<Message, axum::Error>>
    + Sink<Message, Error = Self::SinkError>
    + Send
    + Unpin
    + 'static
{
    /// Why a write failed.
    type SinkError: Display + Send;
}

impl<S, E> Socket for S
where
    S: Stream<Item = Result<Message, axum::Error>>
        + Sink<Message, Error = E>
        + Send
        + Unpin
        + 'static,
    E: Display + Send,
{
    type SinkError = E;
}

/// What the layer above does with the text frames of a connection.
pub(crate) trait Inbound<C>: Send + Sync + 'static {
    /// Handles one text frame. `admitted` is `false` when the rate limit
    /// refused it (it must still be answered). May wait (for room under the
    /// in-flight limit: the connection then reads nothing meanwhile);
    /// `Some` ends the connection.
    fn on_text(
        &self,
        conn: &Conn<C>,
        text: Utf8Bytes,
        admitted: bool,
    ) -> impl Future<Output = Option<DisconnectReason>> + Send;
}

/// One live connection of a session, as [`Inbound`] sees it.
pub(crate) struct Conn<C> {
    /// The session it serves.
    pub(crate) session: Arc<Session<C>>,
    /// Its outbound queue and stop signal.
    pub(crate) link: Arc<Link>,
    /// Its number among the session's connections.
    pub(crate) generation: u64,
    /// One permit per call running, up to `max_concurrent_calls`.
    pub(crate) calls: Arc<Semaphore>,
    /// `max_concurrent_calls`: all permits back means no call is running.
    permits: u32,
}

impl<C> Conn<C> {
    /// Resolves once no call of this connection is running.
    async fn idle(&self) {
        // Only ever closed by nobody: acquiring every permit means idle.
        let _ = self.calls.acquire_many(self.permits).await;
    }
}

/// How a connection begins: a new session, or one resumed.
pub(crate) enum Start<C> {
    /// A new session for `id`, once `connect` (`on_connect`) succeeds.
    Fresh {
        id: ClientId,
        connect: BoxFuture<'static, Result<C, Close>>,
    },
    /// A retained session, resumed after the events up to `last_seq`, once
    /// `check` (`on_resume`) allows it; without its events (`None`: it came
    /// back from its record on another node), the client is told it was
    /// not recovered.
    Resume {
        session: Arc<Session<C>>,
        last_seq: Option<u64>,
        check: Option<BoxFuture<'static, Result<(), Close>>>,
    },
}

/// Sends a close frame at once and waits (briefly) for the reply: what a
/// refused `on_connect`, a shutdown during the handshake, or a refusal a
/// browser asked to read becomes.
pub(crate) async fn refuse<S: Socket>(mut socket: S, code: CloseCode, reason: String) {
    let frame = CloseFrame {
        code: code.get(),
        reason: reason.into(),
    };
    let _ = socket.send(Message::Close(Some(frame))).await;
    // Let the client's close reply arrive, so the handshake completes.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), socket.next()).await;
}

/// Runs a connection from the upgrade to the end of its part of the
/// session (and of the session itself, unless it is kept for recovery).
pub(crate) async fn run<C, S, I>(
    socket: S,
    hub: Arc<Hub<C>>,
    inbound: Arc<I>,
    start: Start<C>,
    slot: Slot,
) where
    C: Send + Sync + 'static,
    S: Socket,
    I: Inbound<C>,
{
    let id = match &start {
        Start::Fresh { id, .. } => id.clone(),
        Start::Resume { session, .. } => session.id.clone(),
    };
    let span = tracing::info_span!("zocket.conn", client = id.short());
    async move {
        let (session, resume_from, fresh) = match start {
            Start::Resume { session, last_seq, check } => {
                let allowed = match check {
                    None => Ok(Ok(())),
                    Some(check) => AssertUnwindSafe(check).catch_unwind().await,
                };
                match allowed {
                    Ok(Ok(())) => (session, last_seq, false),
                    Ok(Err(close)) => {
                        crate::metrics::refused("on_resume");
                        tracing::info!(code = close.code, reason = %close.reason, "on_resume refused to hand over the session");
                        return Box::pin(refuse(socket, CloseCode(close.code), close.reason.into_owned())).await;
                    }
                    Err(_) => {
                        tracing::error!("on_resume panicked");
                        return Box::pin(refuse(socket, CloseCode::INTERNAL, "server error".into())).await;
                    }
                }
            }
            Start::Fresh { id, connect } => match AssertUnwindSafe(connect).catch_unwind().await {
                Ok(Ok(app)) => {
                    let session = Arc::new(Session::new(id, app, hub.clone()));
                    hub.insert(session.clone());
                    hub.adapter.add(session.recipient());
                    hub.save_record(&session);
                    (session, None, true)
                }
                Ok(Err(close)) => {
                    crate::metrics::refused("on_connect");
                    tracing::info!(code = close.code, reason = %close.reason, "on_connect refused the connection");
                    return Box::pin(refuse(socket, CloseCode(close.code), close.reason.into_owned())).await;
                }
                Err(_) => {
                    tracing::error!("on_connect panicked");
                    return Box::pin(refuse(socket, CloseCode::INTERNAL, "server error".into())).await;
                }
            },
        };
        if hub.shutdown.is_cancelled() {
            if fresh {
                Box::pin(session.end(DisconnectReason::Shutdown)).await;
            }
            return Box::pin(refuse(socket, CloseCode::GOING_AWAY, "server shutting down".into())).await;
        }
        let link = Arc::new(Link::new(id.clone(), &hub.config));
        let Some(generation) = session.attach(link.clone(), resume_from) else {
            // Events or the session's end came between the handshake's
            // check and now: the client reconnects and gets a fresh session.
            tracing::info!("the session moved on before it could be resumed");
            crate::metrics::resume(false);
            return Box::pin(refuse(socket, CloseCode::TRY_AGAIN_LATER, "session moved on: reconnect".into())).await;
        };
        if resume_from.is_some() {
            crate::metrics::resume(true);
        }
        let (sink, mut stream) = socket.split();
        // A shutdown that began meanwhile stops this connection too.
        if hub.shutdown.is_cancelled() {
            link.stop(DisconnectReason::Shutdown);
        }
        tracing::info!(recovered = resume_from.is_some(), "connected");
        crate::metrics::connection_opened();

        // Boxed: the writer's state lives beside the task, not in it.
        let mut writer: Writer = Box::pin(writer::run(sink, link.clone()));
        let permits = u32::try_from(hub.config.max_concurrent_calls).unwrap_or(u32::MAX);
        let conn = Conn {
            session,
            link,
            generation,
            calls: Arc::new(Semaphore::new(permits as usize)),
            permits,
        };
        let mut written = false;
        let reason = {
            let reading = reader::Reader::new(&conn, &*inbound).run(&mut stream);
            tokio::pin!(reading);
            // The reader first, then the writer, in every poll: what the
            // reader queued (its replies) is written in the same poll.
            std::future::poll_fn(|cx| {
                if let Poll::Ready(reason) = conn.link.reading(|| reading.as_mut().poll(cx)) {
                    return Poll::Ready(reason);
                }
                if !written && writer.as_mut().poll(cx).is_ready() {
                    written = true;
                }
                Poll::Pending
            })
            .await
        };
        let writer = (!written).then_some(writer);
        // Boxed: the closing steps would otherwise make every idle
        // connection's task as large as they are.
        let ending = Ending { hub, conn, writer, stream, slot };
        Box::pin(ending.close(reason)).await;
    }
    .instrument(span)
    .await
}

/// A connection's writer, driven by its task beside the reader.
type Writer = std::pin::Pin<Box<dyn Future<Output = ()> + Send>>;

/// What is left to do once a connection's reader has stopped.
struct Ending<C, S> {
    hub: Arc<Hub<C>>,
    conn: Conn<C>,
    /// The writer, unless it has already ended.
    writer: Option<Writer>,
    stream: futures_util::stream::SplitStream<S>,
    slot: Slot,
}

impl<C: Send + Sync + 'static, S: Socket> Ending<C, S> {
    /// Lets in-flight calls finish on shutdown, sends the close frame,
    /// waits for the peer's, and ends or keeps the session.
    async fn close(self, reason: DisconnectReason) {
        let Self {
            hub,
            conn,
            mut writer,
            mut stream,
            slot,
        } = self;
        let config = &hub.config;
        if reason == DisconnectReason::Shutdown {
            // In-flight calls finish and their replies go out first (the
            // writer goes on meanwhile).
            let idle = conn.idle();
            tokio::pin!(idle);
            let drained = tokio::time::timeout(config.shutdown_timeout, async {
                loop {
                    let writing = async {
                        match writer.as_mut() {
                            Some(writer) => writer.await,
                            None => std::future::pending().await,
                        }
                    };
                    tokio::select! {
                        () = &mut idle => return,
                        () = writing => writer = None,
                    }
                }
            })
            .await;
            if drained.is_err() {
                tracing::warn!("shutdown deadline passed with calls still running");
            }
        }
        let Conn { session, link, .. } = conn;
        let was_current = session.detach(&link);
        let frame = reason.close_frame();
        let expect_reply = frame.is_some()
            && !matches!(
                reason,
                DisconnectReason::MessageTooLarge
                    | DisconnectReason::Error(_)
                    | DisconnectReason::InvalidUtf8
                    | DisconnectReason::ProtocolViolation(_)
            );
        link.close(frame.map(|frame| (frame, reason.flushes())));
        let written = match writer.take() {
            None => true,
            // The peer reads nothing when not written in time: no close
            // frame can reach it, and the writer is dropped unfinished.
            Some(writer) => tokio::time::timeout(config.close_timeout, writer)
                .await
                .is_ok(),
        };
        if written && expect_reply
            || matches!(reason, DisconnectReason::ClientClosed { code: Some(_), .. })
        {
            // Read until the peer's close frame (or the end), which also
            // flushes the close reply to a client-initiated close.
            let _ = tokio::time::timeout(config.close_timeout, async {
                while let Some(Ok(msg)) = stream.next().await {
                    if matches!(msg, Message::Close(_)) {
                        break;
                    }
                }
            })
            .await;
        }
        drop(stream);
        tracing::info!(%reason, "disconnected");
        crate::metrics::connection_closed();
        if was_current {
            // A `disconnect` or a shutdown asked while the connection was
            // already ending still ends the session.
            let reason = match link.requested_stop() {
                Some(asked) if !asked.is_transient() && reason.is_transient() => asked,
                _ => reason,
            };
            session.connection_ended(reason).await;
        }
        drop(slot);
    }
}
