//! The connection's state, and the streams that watch it change.

use crate::error::ConnectError;
use futures_util::Stream;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::mpsc;

/// Where a [`Client`](crate::Client) is in its lifecycle.
///
/// ```text
/// Connecting ─► Connected ─► Disconnected ─► Reconnecting { attempt: 1 } ─► Connected
///                                 │                 │  ▲      (recovered or not)
///                                 │                 ▼  │
///                                 │           Reconnecting { attempt: 2.. }
///                                 ▼                 ▼
///                              Failed            Failed (the last error)
/// any state ─► Closed  (close(), or every handle dropped)
/// ```
///
/// `Closed` and `Failed` are final: the client never connects again
/// (`close()` on a failed client still makes it `Closed`).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum State {
    /// The connection dropped; what comes next is `Reconnecting` (or
    /// `Failed` when reconnection is off).
    Disconnected,
    /// The first connection is being opened: a client from
    /// [`ClientBuilder::start`](crate::ClientBuilder::start) is in this
    /// state until it is (what it sends meanwhile waits in the offline
    /// queue). [`Client::connect`](crate::Client::connect) returns once the
    /// first connection is open, so such a client starts at `Connected`.
    Connecting,
    /// Connected and `__ready` received.
    Connected {
        /// Whether the server resumed the previous session (its events
        /// replayed, in-flight calls resent). `false` on the first
        /// connection, and when a fresh session began: the application
        /// should resynchronise.
        recovered: bool,
    },
    /// Waiting `delay`, then making reconnection attempt `attempt` (from
    /// 1) of `max_attempts`. The state stays so during the attempt.
    Reconnecting {
        /// This attempt's number, from 1.
        attempt: u32,
        /// How many attempts will be made before `Failed`.
        max_attempts: u32,
        /// How long the client waits before this attempt.
        delay: Duration,
    },
    /// Gone for good: the reconnection attempts ran out, a handshake was
    /// refused (4xx) and no new headers were supplied, the server closed
    /// the connection on purpose (a `1000`, `1008`, `1009` or application
    /// `4xxx` close), the server speaks another protocol version, or the
    /// connection dropped with reconnection off.
    Failed {
        /// The last error.
        error: Arc<ConnectError>,
    },
    /// Closed by [`Client::close`](crate::Client::close) or by dropping
    /// every handle.
    Closed,
}

impl State {
    /// Whether this state is final (`Failed` or `Closed`).
    pub fn is_final(&self) -> bool {
        matches!(self, Self::Failed { .. } | Self::Closed)
    }

    /// Whether this is `Connected`.
    pub fn is_connected(&self) -> bool {
        matches!(self, Self::Connected { .. })
    }
}

/// The current state and the streams watching it.
pub(crate) struct States {
    inner: Mutex<Watched>,
}

struct Watched {
    current: State,
    watchers: Vec<mpsc::UnboundedSender<State>>,
}

impl States {
    /// States starting at `initial`.
    pub(crate) fn new(initial: State) -> Self {
        Self {
            inner: Mutex::new(Watched {
                current: initial,
                watchers: Vec::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Watched> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The current state.
    pub(crate) fn current(&self) -> State {
        self.lock().current.clone()
    }

    /// Moves to `state` and tells every stream. Nothing moves on from a
    /// final state.
    pub(crate) fn set(&self, state: State) {
        let mut watched = self.lock();
        // Final, but for `close()` on a failed client, which goes to `Closed`.
        let failed_to_closed =
            matches!(watched.current, State::Failed { .. }) && matches!(state, State::Closed);
        if watched.current.is_final() && !failed_to_closed {
            return;
        }
        watched.watchers.retain(|tx| tx.send(state.clone()).is_ok());
        if state.is_final() {
            watched.watchers.clear();
        }
        watched.current = state;
    }

    /// A stream of the current state, then of every change.
    pub(crate) fn watch(&self) -> StateStream {
        let mut watched = self.lock();
        let (tx, rx) = mpsc::unbounded_channel();
        // The receiver is alive: sending cannot fail.
        let _ = tx.send(watched.current.clone());
        if !watched.current.is_final() {
            watched.watchers.push(tx);
        }
        StateStream { rx }
    }
}

/// The states of a [`Client`](crate::Client), from
/// [`Client::state_changes`](crate::Client::state_changes): the state at
/// the time the stream was taken, then every change in order, none
/// skipped. It ends after a final state (`Failed` or `Closed`).
#[derive(Debug)]
pub struct StateStream {
    rx: mpsc::UnboundedReceiver<State>,
}

impl Stream for StateStream {
    type Item = State;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<State>> {
        self.rx.poll_recv(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::{FutureExt, StreamExt};

    #[test]
    fn streams_see_the_current_state_then_every_change_until_the_end() {
        let states = States::new(State::Connected { recovered: false });
        let mut early = states.watch();
        states.set(State::Disconnected);
        let mut late = states.watch();
        states.set(State::Closed);
        states.set(State::Connecting);
        assert!(matches!(states.current(), State::Closed));
        let seen: Vec<State> = early.by_ref().collect().now_or_never().unwrap();
        assert!(matches!(
            seen.as_slice(),
            [
                State::Connected { recovered: false },
                State::Disconnected,
                State::Closed
            ]
        ));
        let seen: Vec<State> = late.by_ref().collect().now_or_never().unwrap();
        assert!(matches!(
            seen.as_slice(),
            [State::Disconnected, State::Closed]
        ));
        let after: Vec<State> = states.watch().collect().now_or_never().unwrap();
        assert!(matches!(after.as_slice(), [State::Closed]));
    }
}
