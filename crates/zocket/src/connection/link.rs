//! The handle through which everything but the connection task reaches a
//! connection: a bounded outbound queue and a stop signal.

use super::DisconnectReason;
use crate::ids::ClientId;
use crate::protocol::EventFrame;
use axum::extract::ws::Utf8Bytes;
use futures_util::task::AtomicWaker;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::Poll;
use tokio::sync::mpsc;

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
    /// Set (then the reader woken) when the connection is asked to stop: a
    /// flag and a waker, so the reader checks it without a lock per frame.
    stopped: AtomicBool,
    waker: AtomicWaker,
}

impl Link {
    pub(crate) fn new(id: ClientId, tx: mpsc::Sender<Outbound>) -> Self {
        Self {
            id,
            tx,
            reason: OnceLock::new(),
            stopped: AtomicBool::new(false),
            waker: AtomicWaker::new(),
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
            self.stopped.store(true, Ordering::Release);
            self.waker.wake();
        }
    }

    /// Makes `waker` (the reader's task) wake up when the connection is
    /// asked to stop. Registered once: a task's waker stays valid.
    pub(crate) fn register_reader(&self, waker: &std::task::Waker) {
        self.waker.register(waker);
    }

    /// Ready once someone asked the connection to stop; cheap to poll (an
    /// atomic load), relying on [`register_reader`](Self::register_reader)
    /// for the wake-up.
    pub(crate) fn stopped(&self) -> impl Future<Output = ()> + '_ {
        std::future::poll_fn(|_| {
            if self.stopped.load(Ordering::Acquire) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
    }

    /// Why the connection was asked to stop.
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
