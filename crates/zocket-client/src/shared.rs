//! What the handles and the background task share: the pending calls, the
//! subscriptions, the lifecycle state, the latest `__ready` and the last
//! event `seq`, and the signals that the task has ended or must stop.

use crate::error::CallError;
use crate::events::Subscriptions;
use crate::pending::Pending;
use crate::state::{State, States};
use crate::streams::Streams;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::{Notify, watch};
use zocket_protocol::Ready;

/// The state the handles and the task share.
pub(crate) struct Shared {
    /// The calls waiting for their reply.
    pub(crate) pending: Arc<Pending>,
    /// The open streams.
    pub(crate) streams: Streams,
    /// The event and error streams.
    pub(crate) subscriptions: Subscriptions,
    /// The lifecycle state.
    pub(crate) states: States,
    /// The latest `__ready`.
    ready: Mutex<Ready>,
    /// The highest event `seq` received in this session.
    last_seq: AtomicU64,
    /// Becomes `true` once the task has ended.
    done: watch::Sender<bool>,
    /// Makes the task stop at once, without waiting for the socket.
    abort: Notify,
    /// How long a connection may stay silent before it counts as lost.
    pub(crate) liveness: Option<Duration>,
}

/// The default liveness window: the server pings every 25 s by default.
pub(crate) const DEFAULT_LIVENESS: Duration = Duration::from_secs(45);

impl Shared {
    /// Shared state for a client connected with `ready`, having received
    /// the events of its session up to `last_seq`.
    pub(crate) fn new(
        subscriptions: Subscriptions,
        ready: Ready,
        last_seq: u64,
        state: State,
    ) -> Self {
        Self {
            pending: Arc::default(),
            streams: Streams::default(),
            subscriptions,
            states: States::new(state),
            ready: Mutex::new(ready),
            last_seq: AtomicU64::new(last_seq),
            done: watch::channel(false).0,
            abort: Notify::new(),
            liveness: Some(DEFAULT_LIVENESS),
        }
    }

    /// Sets the liveness window (`None`: no check).
    pub(crate) fn with_liveness(mut self, liveness: Option<Duration>) -> Self {
        self.liveness = liveness;
        self
    }

    /// The latest `__ready`.
    pub(crate) fn ready(&self) -> Ready {
        self.ready
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Takes a new connection's `__ready`; a fresh session counts its
    /// events from the start again.
    pub(crate) fn set_ready(&self, ready: Ready) {
        if !ready.recovered {
            self.last_seq.store(0, Ordering::Relaxed);
        }
        *self.ready.lock().unwrap_or_else(PoisonError::into_inner) = ready;
    }

    /// The highest event `seq` received in this session.
    pub(crate) fn last_seq(&self) -> u64 {
        self.last_seq.load(Ordering::Relaxed)
    }

    /// Records event `seq` as received; `false` when it was already (a
    /// replayed event), which is then not delivered again. Only the
    /// connection's reader calls it.
    pub(crate) fn receive_seq(&self, seq: u64) -> bool {
        if seq <= self.last_seq() {
            return false;
        }
        self.last_seq.store(seq, Ordering::Relaxed);
        true
    }

    /// Waits until the task has ended.
    pub(crate) async fn ended(&self) {
        let mut done = self.done.subscribe();
        // The sender lives in `self`: waiting cannot fail.
        let _ = done.wait_for(|done| *done).await;
    }

    /// Whether the task has ended.
    pub(crate) fn is_ended(&self) -> bool {
        *self.done.borrow()
    }

    /// Makes the task stop now.
    pub(crate) fn abort(&self) {
        self.abort.notify_one();
    }

    /// Resolves when [`abort`](Self::abort) is called (or was, before).
    pub(crate) async fn aborted(&self) {
        self.abort.notified().await;
    }

    /// Ends the client in `state`: fails the calls (those in flight with
    /// [`CallError::ConnectionLost`] when `lost`), ends the streams.
    pub(crate) fn finish(&self, state: State, lost: bool) {
        self.pending.close(|| {
            if lost {
                CallError::ConnectionLost
            } else {
                CallError::ConnectionClosed
            }
        });
        self.subscriptions.close();
        self.states.set(state);
        self.done.send_replace(true);
    }
}

#[cfg(test)]
mod tests {
    use crate::error::CallError;
    use crate::state::State;
    use crate::test_support::{call, served};
    use futures_util::StreamExt;

    #[tokio::test]
    async fn finishing_fails_calls_and_ends_streams() {
        let s = served();
        let mut sent = call(&s.shared);
        s.shared.pending.send(sent.id());
        let mut queued = call(&s.shared);
        let mut events = s.shared.subscriptions.events::<u32>("tick");
        s.shared.finish(State::Closed, true);
        assert!(s.shared.is_ended());
        assert!(matches!(sent.reply().await, Err(CallError::ConnectionLost)));
        assert!(matches!(
            queued.reply().await,
            Err(CallError::ConnectionClosed)
        ));
        assert!(events.next().await.is_none());
        assert!(matches!(s.shared.states.current(), State::Closed));
    }

    #[test]
    fn a_seq_already_received_is_not_received_again() {
        let s = crate::test_support::shared(3);
        assert!(!s.receive_seq(2) && !s.receive_seq(3));
        assert!(s.receive_seq(5));
        assert!(!s.receive_seq(4));
        assert_eq!(s.last_seq(), 5);
        s.set_ready(crate::test_support::ready("s2", false));
        assert_eq!(s.last_seq(), 0);
        assert!(s.receive_seq(1));
    }
}
