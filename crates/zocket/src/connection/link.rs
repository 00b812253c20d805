//! The handle through which everything but the connection task reaches a
//! connection: a bounded outbound queue and a stop signal.

use super::DisconnectReason;
use crate::ids::ClientId;
use crate::protocol::EventFrame;
use axum::extract::ws::Utf8Bytes;
use std::sync::{Arc, OnceLock};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// A frame waiting in a connection's outbound queue.
pub(crate) enum Outbound {
    /// A complete text frame (`__ready`, replies, errors).
    Text(Utf8Bytes),
    /// An event and its `seq` in the session.
    Event(Arc<EventFrame>, u64),
    /// A heartbeat ping.
    Ping,
}

/// The shared half of a connection.
pub(crate) struct Link {
    pub(crate) id: ClientId,
    tx: mpsc::Sender<Outbound>,
    reason: OnceLock<DisconnectReason>,
    stop: CancellationToken,
}

impl Link {
    /// `stop` is a child of the server's shutdown token, so a shutdown
    /// stops every connection.
    pub(crate) fn new(id: ClientId, tx: mpsc::Sender<Outbound>, stop: CancellationToken) -> Self {
        Self {
            id,
            tx,
            reason: OnceLock::new(),
            stop,
        }
    }

    /// Queues a frame. A full queue means a slow consumer: the connection
    /// is stopped rather than allowed to grow without bound.
    pub(crate) fn push(&self, frame: Outbound) {
        match self.tx.try_send(frame) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::warn!(
                    client = self.id.short(),
                    "outbound queue full: closing slow consumer"
                );
                self.stop(DisconnectReason::SlowConsumer);
            }
            // The connection is already gone; its end was reported.
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }

    /// Asks the connection to end; the first reason given wins.
    pub(crate) fn stop(&self, reason: DisconnectReason) {
        if self.reason.set(reason).is_ok() {
            self.stop.cancel();
        }
    }

    /// Resolves once someone asked the connection to stop.
    pub(crate) fn stop_signal(&self) -> tokio_util::sync::WaitForCancellationFuture<'_> {
        self.stop.cancelled()
    }

    /// Why the connection was asked to stop: the reason given, or a
    /// shutdown of the whole server.
    pub(crate) fn stop_reason(&self) -> DisconnectReason {
        self.reason
            .get()
            .cloned()
            .unwrap_or(DisconnectReason::Shutdown)
    }
}

/// What an adapter delivers events to: a session, whatever connection it
/// currently has.
pub(crate) trait Deliver: Send + Sync {
    fn client_id(&self) -> &ClientId;
    fn deliver(&self, event: &Arc<EventFrame>);
}

impl<C: Send + Sync + 'static> Deliver for crate::session::Session<C> {
    fn client_id(&self) -> &ClientId {
        &self.id
    }

    fn deliver(&self, event: &Arc<EventFrame>) {
        crate::session::Session::deliver(self, event);
    }
}

/// A client as an [`Adapter`](crate::Adapter) sees it: an id and a way to
/// deliver events (numbered, kept for recovery, queued for its connection).
#[derive(Clone)]
pub struct Recipient(pub(crate) Arc<dyn Deliver>);

impl Recipient {
    /// The client id.
    pub fn id(&self) -> &ClientId {
        self.0.client_id()
    }

    /// Queues an event for this client (see the slow-consumer policy of
    /// [`Config::outbound_queue`](crate::Config::outbound_queue)).
    pub fn deliver(&self, event: &crate::EncodedEvent) {
        self.0.deliver(&event.0);
    }
}

impl std::fmt::Debug for Recipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Recipient").field(self.id()).finish()
    }
}
