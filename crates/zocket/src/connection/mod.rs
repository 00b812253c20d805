//! One connection: a reader loop (this task) dispatching frames, and a
//! writer task draining a bounded queue. Everything else reaches the
//! connection through its [`Link`].

mod inflight;
mod link;
mod rate;
mod reader;
mod reason;
mod writer;

pub use link::Recipient;
pub(crate) use link::{Link, Outbound};
pub use reason::DisconnectReason;

use crate::error::Close;
use crate::ids::ClientId;
use crate::protocol::CloseCode;
use crate::server::{Shared, Slot};
use crate::session::Session;
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::future::BoxFuture;
use futures_util::{FutureExt, StreamExt};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use tracing::Instrument;

/// A client's session, as listed by
/// [`ServerHandle::connections`](crate::ServerHandle::connections) and given
/// to `on_disconnect`.
pub struct Connection<C>(pub(crate) Arc<Session<C>>);

impl<C> Clone for Connection<C> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<C: Send + Sync + 'static> Connection<C> {
    /// The client id.
    pub fn id(&self) -> &ClientId {
        &self.0.id
    }

    /// The application's context from `on_connect`.
    pub fn context(&self) -> &C {
        &self.0.app
    }

    /// The client's rooms, sorted.
    pub fn rooms(&self) -> Vec<String> {
        self.0.server.adapter.rooms(self.id())
    }

    /// Whether a socket is live (a session kept for recovery has none).
    pub fn is_connected(&self) -> bool {
        self.0.is_connected()
    }

    /// Whether the session has ended.
    pub fn is_closed(&self) -> bool {
        self.0.is_ended()
    }

    /// Closes the connection with `close` (code 4000-4999 and a reason),
    /// ends the session, and resolves once the close handshake has finished
    /// or the close timeout has passed.
    pub async fn disconnect(&self, close: Close) {
        self.0.disconnect(close).await;
    }
}

impl<C> std::fmt::Debug for Connection<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("id", &self.0.id)
            .finish_non_exhaustive()
    }
}

/// What a failed `on_connect` becomes.
async fn refuse(mut socket: WebSocket, code: u16, reason: String) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    let _ = socket.send(Message::Close(Some(frame))).await;
    // Let the client's close reply arrive, so the handshake completes.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), socket.next()).await;
}

/// How a connection begins: a new session, or one resumed.
pub(crate) enum Start<C> {
    /// A new session for `id`, once `connect` (`on_connect`) succeeds.
    Fresh {
        id: ClientId,
        connect: BoxFuture<'static, Result<C, Close>>,
    },
    /// A retained session, resumed after the events up to `last_seq`.
    Resume {
        session: Arc<Session<C>>,
        last_seq: u64,
    },
}

/// Runs a connection from the upgrade to the end of its part of the
/// session (and of the session itself, unless it is kept for recovery).
pub(crate) async fn run<C: Send + Sync + 'static>(
    socket: WebSocket,
    shared: Arc<Shared<C>>,
    start: Start<C>,
    slot: Slot,
) {
    let id = match &start {
        Start::Fresh { id, .. } => id.clone(),
        Start::Resume { session, .. } => session.id.clone(),
    };
    let span = tracing::info_span!("zocket.conn", client = id.short());
    async move {
        let (session, resume_from) = match start {
            Start::Resume { session, last_seq } => (session, Some(last_seq)),
            Start::Fresh { id, connect } => match AssertUnwindSafe(connect).catch_unwind().await {
                Ok(Ok(app)) => {
                    let session = Arc::new(Session::new(id, app, shared.clone()));
                    shared.registry.insert(session.clone());
                    shared.adapter.add(Recipient(session.clone()));
                    (session, None)
                }
                Ok(Err(close)) => {
                    tracing::info!(code = close.code, reason = %close.reason, "on_connect refused the connection");
                    return Box::pin(refuse(socket, close.code, close.reason.into_owned())).await;
                }
                Err(_) => {
                    tracing::error!("on_connect panicked");
                    return Box::pin(refuse(socket, CloseCode::INTERNAL, "server error".into())).await;
                }
            },
        };
        if shared.shutdown.is_cancelled() {
            if resume_from.is_none() {
                Box::pin(session.end(DisconnectReason::Shutdown)).await;
            }
            return Box::pin(refuse(socket, CloseCode::GOING_AWAY, "server shutting down".into())).await;
        }
        let (sink, mut stream) = socket.split();
        let link = Arc::new(Link::new(id.clone(), shared.config.outbound_queue));
        let Some(generation) = session.attach(link.clone(), resume_from) else {
            drop((sink, stream));
            tracing::info!("the session ended before it could be resumed");
            return;
        };
        // A shutdown that began meanwhile stops this connection too.
        if shared.shutdown.is_cancelled() {
            link.stop(DisconnectReason::Shutdown);
        }
        tracing::info!(recovered = resume_from.is_some(), "connected");

        let writer = tokio::spawn(writer::run(sink, link.clone()));
        let calls = inflight::InFlight::new(shared.config.max_concurrent_calls);
        let reason = reader::Reader::new(&session, &link, generation, &calls).run(&mut stream).await;
        // Boxed: the closing steps would otherwise make every idle
        // connection's task as large as they are.
        let ending = Ending { shared, session, link, calls, writer, stream, slot };
        Box::pin(ending.close(reason)).await;
    }
    .instrument(span)
    .await
}

/// What is left to do once a connection's reader has stopped.
struct Ending<C> {
    shared: Arc<Shared<C>>,
    session: Arc<Session<C>>,
    link: Arc<Link>,
    calls: Arc<inflight::InFlight>,
    writer: tokio::task::JoinHandle<()>,
    stream: futures_util::stream::SplitStream<WebSocket>,
    slot: Slot,
}

impl<C: Send + Sync + 'static> Ending<C> {
    /// Lets in-flight calls finish on shutdown, sends the close frame,
    /// waits for the peer's, and ends or keeps the session.
    async fn close(self, reason: DisconnectReason) {
        let Self {
            shared,
            session,
            link,
            calls,
            mut writer,
            mut stream,
            slot,
        } = self;
        if reason == DisconnectReason::Shutdown {
            // In-flight calls finish and their replies go out first.
            let drained = tokio::time::timeout(shared.config.shutdown_timeout, calls.idle()).await;
            if drained.is_err() {
                tracing::warn!("shutdown deadline passed with calls still running");
            }
        }
        let was_current = session.detach(&link);
        let frame = reason.close_frame();
        let expect_reply = frame.is_some()
            && !matches!(
                reason,
                DisconnectReason::MessageTooLarge | DisconnectReason::Error(_)
            );
        link.close(frame.map(|frame| (frame, reason.flushes())));
        let written = tokio::time::timeout(shared.config.close_timeout, &mut writer)
            .await
            .is_ok();
        if !written {
            // The peer reads nothing: no close frame can reach it.
            writer.abort();
        }
        if written && expect_reply
            || matches!(reason, DisconnectReason::ClientClosed { code: Some(_), .. })
        {
            // Read until the peer's close frame (or the end), which also
            // flushes the close reply to a client-initiated close.
            let _ = tokio::time::timeout(shared.config.close_timeout, async {
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
        if was_current {
            session.connection_ended(reason).await;
        }
        drop(slot);
    }
}
