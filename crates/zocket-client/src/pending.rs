//! The calls waiting for their reply, by `rpcId`, with their frames so
//! that a recovered session can be sent them again.

use crate::error::CallError;
use serde_json::value::RawValue;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::Utf8Bytes;
use zocket_protocol::ErrorObject;

/// A call's reply: the payload of `__rpc_res` or the error of `__rpc_err`.
pub(crate) type Outcome = Result<Box<RawValue>, Box<ErrorObject>>;

/// What a call's waiter receives: the reply, or why none will come.
pub(crate) type Answer = Result<Outcome, CallError>;

/// The calls in flight, in the order they were made. Once closed, every
/// waiting call and every later one fails.
///
/// `rpcId`s count up from a random start, so that a client resuming a
/// session saved by another process does not reuse that process's ids (the
/// server answers a reused id from its reply cache).
pub(crate) struct Pending {
    inner: Mutex<Calls>,
    next_id: AtomicU64,
}

impl Default for Pending {
    fn default() -> Self {
        let mut bytes = [0u8; 8];
        // Without the OS generator the ids start at 0: still correct for a
        // client that does not resume a saved session.
        let _ = getrandom::fill(&mut bytes);
        Self {
            inner: Mutex::default(),
            // 48 random bits leave room to count without overflow.
            next_id: AtomicU64::new(u64::from_le_bytes(bytes) >> 16),
        }
    }
}

#[derive(Default)]
struct Calls {
    waiting: BTreeMap<u64, Call>,
    closed: bool,
}

struct Call {
    tx: oneshot::Sender<Answer>,
    frame: Utf8Bytes,
    /// Written to a connection (and not answered yet).
    sent: bool,
}

impl Pending {
    fn lock(&self) -> MutexGuard<'_, Calls> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers a call under a fresh `rpcId`, with the frame `encode`
    /// makes for that id. Fails when closed or when encoding fails.
    pub(crate) fn register(
        self: &Arc<Self>,
        encode: impl FnOnce(&str) -> Result<String, serde_json::Error>,
    ) -> Result<Ticket, CallError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let frame = encode(&id.to_string()).map_err(CallError::Serialize)?;
        let (tx, rx) = oneshot::channel();
        let mut calls = self.lock();
        if calls.closed {
            return Err(CallError::ConnectionClosed);
        }
        calls.waiting.insert(
            id,
            Call {
                tx,
                frame: frame.into(),
                sent: false,
            },
        );
        Ok(Ticket {
            pending: self.clone(),
            id,
            rx,
            abandon: None,
        })
    }

    /// The frame of call `id` to write now, marking it sent; `None` when
    /// the call is no longer waiting (timed out, dropped, failed).
    pub(crate) fn send(&self, id: u64) -> Option<Utf8Bytes> {
        let mut calls = self.lock();
        let call = calls.waiting.get_mut(&id)?;
        call.sent = true;
        Some(call.frame.clone())
    }

    /// The frames of the calls sent and not answered, in the order they
    /// were made, to send again on a recovered session.
    pub(crate) fn in_flight(&self) -> Vec<Utf8Bytes> {
        self.lock()
            .waiting
            .values()
            .filter(|call| call.sent)
            .map(|call| call.frame.clone())
            .collect()
    }

    /// Fails the calls sent and not answered with `error()`.
    pub(crate) fn fail_in_flight(&self, error: impl Fn() -> CallError) {
        let failed: Vec<Call> = {
            let mut calls = self.lock();
            let ids: Vec<u64> = calls
                .waiting
                .iter()
                .filter(|(_, call)| call.sent)
                .map(|(id, _)| *id)
                .collect();
            ids.iter()
                .filter_map(|id| calls.waiting.remove(id))
                .collect()
        };
        for call in failed {
            let _ = call.tx.send(Err(error()));
        }
    }

    /// Fails call `id` with `error`.
    pub(crate) fn fail(&self, id: u64, error: CallError) {
        let call = self.lock().waiting.remove(&id);
        if let Some(call) = call {
            let _ = call.tx.send(Err(error));
        }
    }

    /// Hands a reply to its call; a reply nobody waits for (the call timed
    /// out or was dropped, or it is not one of this client's ids) is
    /// ignored.
    pub(crate) fn resolve(&self, rpc_id: &str, outcome: Outcome) {
        let Ok(id) = rpc_id.parse::<u64>() else {
            return;
        };
        let call = self.lock().waiting.remove(&id);
        if let Some(call) = call {
            let _ = call.tx.send(Ok(outcome));
        }
    }

    /// Refuses new calls and fails every waiting one: those in flight with
    /// `lost()`, the others with [`CallError::ConnectionClosed`].
    pub(crate) fn close(&self, lost: impl Fn() -> CallError) {
        let waiting = {
            let mut calls = self.lock();
            calls.closed = true;
            std::mem::take(&mut calls.waiting)
        };
        for call in waiting.into_values() {
            let error = if call.sent {
                lost()
            } else {
                CallError::ConnectionClosed
            };
            let _ = call.tx.send(Err(error));
        }
    }

    /// Whether call `id` is still waiting for its reply.
    pub(crate) fn is_waiting(&self, id: u64) -> bool {
        self.lock().waiting.contains_key(&id)
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lock().waiting.len()
    }
}

/// One call's place in [`Pending`]; dropping it forgets the call, and
/// runs its [`on_abandon`](Ticket::on_abandon) hook when the call had been
/// sent and no reply had come (the server may still be running it).
pub(crate) struct Ticket {
    pending: Arc<Pending>,
    id: u64,
    rx: oneshot::Receiver<Answer>,
    abandon: Option<Box<dyn FnOnce(u64) + Send + Sync>>,
}

impl Ticket {
    /// The call's `rpcId`.
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// What to do if the ticket is dropped while its call is in flight.
    pub(crate) fn on_abandon(&mut self, hook: impl FnOnce(u64) + Send + Sync + 'static) {
        self.abandon = Some(Box::new(hook));
    }

    /// Polls for the reply, or why none will come.
    pub(crate) fn poll_reply(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Answer> {
        std::pin::Pin::new(&mut self.rx)
            .poll(cx)
            .map(|answer| answer.unwrap_or(Err(CallError::ConnectionClosed)))
    }

    /// The reply, or why none will come.
    pub(crate) async fn reply(&mut self) -> Answer {
        (&mut self.rx)
            .await
            .unwrap_or(Err(CallError::ConnectionClosed))
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let removed = self.pending.lock().waiting.remove(&self.id);
        if removed.is_some_and(|call| call.sent)
            && let Some(abandon) = self.abandon.take()
        {
            abandon(self.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(json: &str) -> Outcome {
        Ok(RawValue::from_string(json.into()).unwrap())
    }

    fn register(pending: &Arc<Pending>) -> Ticket {
        pending.register(|id| Ok(format!("call {id}"))).unwrap()
    }

    #[tokio::test]
    async fn replies_find_their_call_and_strays_are_ignored() {
        let pending = Arc::new(Pending::default());
        let mut a = register(&pending);
        let mut b = register(&pending);
        assert_ne!(a.id(), b.id());
        pending.resolve(&b.id().to_string(), ok("2"));
        pending.resolve("no such call", ok("0"));
        pending.resolve("999", ok("0"));
        pending.resolve(&a.id().to_string(), ok("1"));
        assert_eq!(a.reply().await.unwrap().unwrap().get(), "1");
        assert_eq!(b.reply().await.unwrap().unwrap().get(), "2");
    }

    #[tokio::test]
    async fn a_dropped_call_is_forgotten_and_its_late_reply_ignored() {
        let pending = Arc::new(Pending::default());
        let ticket = register(&pending);
        let id = ticket.id();
        drop(ticket);
        assert_eq!(pending.len(), 0);
        assert!(pending.send(id).is_none(), "nothing to send");
        pending.resolve(&id.to_string(), ok("1"));
    }

    #[tokio::test]
    async fn calls_sent_and_unanswered_are_in_flight_in_order() {
        let pending = Arc::new(Pending::default());
        let a = register(&pending);
        let b = register(&pending);
        let mut c = register(&pending);
        assert!(pending.in_flight().is_empty());
        assert_eq!(
            pending.send(b.id()).unwrap().as_str(),
            format!("call {}", b.id())
        );
        pending.send(a.id());
        assert_eq!(
            pending.in_flight(),
            [a.id(), b.id()].map(|id| Utf8Bytes::from(format!("call {id}")))
        );
        pending.fail_in_flight(|| CallError::ConnectionLost);
        assert_eq!(pending.len(), 1);
        pending.close(|| CallError::ConnectionLost);
        assert!(matches!(c.reply().await, Err(CallError::ConnectionClosed)));
    }

    #[tokio::test]
    async fn closing_fails_waiting_and_later_calls() {
        let pending = Arc::new(Pending::default());
        let mut sent = register(&pending);
        let mut queued = register(&pending);
        pending.send(sent.id());
        pending.close(|| CallError::ConnectionLost);
        assert!(matches!(sent.reply().await, Err(CallError::ConnectionLost)));
        assert!(matches!(
            queued.reply().await,
            Err(CallError::ConnectionClosed)
        ));
        assert!(matches!(
            pending.register(|_| Ok(String::new())),
            Err(CallError::ConnectionClosed)
        ));
    }
}
