//! The calls waiting for their reply, by `rpcId`.

use crate::frame::ErrorBody;
use serde_json::value::RawValue;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::sync::oneshot;

/// A call's reply: the payload of `__rpc_res` or the error of `__rpc_err`.
pub(crate) type Outcome = Result<Box<RawValue>, Box<ErrorBody>>;

/// The calls in flight. Once closed, every waiting call and every later
/// one fails.
#[derive(Default)]
pub(crate) struct Pending {
    inner: Mutex<Calls>,
}

#[derive(Default)]
struct Calls {
    waiting: HashMap<String, oneshot::Sender<Outcome>>,
    next_id: u64,
    closed: bool,
}

impl Pending {
    fn lock(&self) -> MutexGuard<'_, Calls> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers a call under a fresh `rpcId`; `None` once closed.
    pub(crate) fn register(self: &Arc<Self>) -> Option<Ticket> {
        let mut calls = self.lock();
        if calls.closed {
            return None;
        }
        calls.next_id += 1;
        let id = calls.next_id.to_string();
        let (tx, rx) = oneshot::channel();
        calls.waiting.insert(id.clone(), tx);
        Some(Ticket {
            pending: self.clone(),
            id,
            rx,
        })
    }

    /// Hands a reply to its call; a reply nobody waits for (the call timed
    /// out or was dropped) is ignored.
    pub(crate) fn resolve(&self, rpc_id: &str, outcome: Outcome) {
        let waiting = self.lock().waiting.remove(rpc_id);
        if let Some(tx) = waiting {
            let _ = tx.send(outcome);
        }
    }

    /// Fails every waiting call and refuses new ones.
    pub(crate) fn close(&self) {
        let waiting = {
            let mut calls = self.lock();
            calls.closed = true;
            std::mem::take(&mut calls.waiting)
        };
        drop(waiting);
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lock().waiting.len()
    }
}

/// One call's place in [`Pending`]; dropping it forgets the call.
pub(crate) struct Ticket {
    pending: Arc<Pending>,
    id: String,
    rx: oneshot::Receiver<Outcome>,
}

impl Ticket {
    /// The call's `rpcId`.
    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    /// The reply; `None` when the connection closed first.
    pub(crate) async fn reply(&mut self) -> Option<Outcome> {
        (&mut self.rx).await.ok()
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.pending.lock().waiting.remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(json: &str) -> Outcome {
        Ok(RawValue::from_string(json.into()).unwrap())
    }

    #[tokio::test]
    async fn replies_find_their_call_and_strays_are_ignored() {
        let pending = Arc::new(Pending::default());
        let mut a = pending.register().unwrap();
        let mut b = pending.register().unwrap();
        assert_ne!(a.id(), b.id());
        pending.resolve(b.id(), ok("2"));
        pending.resolve("no such call", ok("0"));
        pending.resolve(a.id(), ok("1"));
        assert_eq!(a.reply().await.unwrap().unwrap().get(), "1");
        assert_eq!(b.reply().await.unwrap().unwrap().get(), "2");
    }

    #[tokio::test]
    async fn a_dropped_call_is_forgotten_and_its_late_reply_ignored() {
        let pending = Arc::new(Pending::default());
        let ticket = pending.register().unwrap();
        let id = ticket.id().to_owned();
        drop(ticket);
        assert_eq!(pending.len(), 0);
        pending.resolve(&id, ok("1"));
    }

    #[tokio::test]
    async fn closing_fails_waiting_and_later_calls() {
        let pending = Arc::new(Pending::default());
        let mut ticket = pending.register().unwrap();
        pending.close();
        assert!(ticket.reply().await.is_none());
        assert!(pending.register().is_none());
    }
}
