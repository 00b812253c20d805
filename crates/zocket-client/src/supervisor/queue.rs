//! The offline queue: the messages and calls made while not connected,
//! bounded, sent in order once the client is connected again.

use crate::connection::Command;
use crate::error::CallError;
use crate::pending::Pending;
use std::collections::VecDeque;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// Frames made while not connected, in order.
pub(super) struct Queue {
    items: VecDeque<Queued>,
    capacity: usize,
    /// Calls given up on while not connected, whose cancel is sent if the
    /// session is recovered (their handlers may still run there).
    cancels: Vec<u64>,
}

/// One frame waiting in the [`Queue`].
pub(super) enum Queued {
    /// A message's frame.
    Message(Utf8Bytes),
    /// A call, by id (its frame is in [`Pending`]).
    Call(u64),
}

impl Queue {
    /// An empty queue of `capacity` frames.
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            items: VecDeque::new(),
            capacity,
            cancels: Vec::new(),
        }
    }

    /// Queues a message or a call, or fails it at once when full.
    pub(super) fn push(&mut self, command: Command, pending: &Pending) {
        if self.items.len() >= self.capacity {
            // Calls that timed out meanwhile need no room.
            self.items.retain(|item| match item {
                Queued::Call(id) => pending.is_waiting(*id),
                Queued::Message(_) => true,
            });
        }
        let full = self.items.len() >= self.capacity;
        match command {
            Command::Message { frame, ack } => {
                if full {
                    let _ = ack.send(Err(CallError::QueueFull(self.capacity)));
                } else {
                    self.items.push_back(Queued::Message(frame));
                    let _ = ack.send(Ok(()));
                }
            }
            Command::Call(id) if full => pending.fail(id, CallError::QueueFull(self.capacity)),
            Command::Call(id) => self.items.push_back(Queued::Call(id)),
            // Not connected: the call is forgotten and will not be resent.
            Command::Cancel(id) => {
                if self.cancels.len() < self.capacity {
                    self.cancels.push(id);
                }
            }
            // Grants are sent again, the latest of each stream, on connecting.
            Command::Credit(_) | Command::Close => {}
        }
    }

    /// The cancels made while not connected, taken.
    pub(super) fn take_cancels(&mut self) -> Vec<u64> {
        std::mem::take(&mut self.cancels)
    }

    /// The oldest frame, left in the queue until [`pop`](Self::pop).
    pub(super) fn front(&self) -> Option<&Queued> {
        self.items.front()
    }

    /// Forgets the oldest frame, once sent.
    pub(super) fn pop(&mut self) {
        self.items.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use crate::error::CallError;
    use crate::state::State;
    use crate::test_support::{builder, connection, cut, ms, ready, start, until};

    #[tokio::test(start_paused = true)]
    async fn the_offline_queue_is_bounded_and_fails_at_once_when_full() {
        let (client, peer, mut script) = start(builder().offline_queue(2)).await;
        let mut states = client.state_changes();
        cut(peer);
        until(&mut states, |s| matches!(s, State::Reconnecting { .. })).await;
        client.message("note", "a").await.unwrap();
        client.message("note", "b").await.unwrap();
        assert!(matches!(
            client.message("note", "c").await,
            Err(CallError::QueueFull(2))
        ));
        assert!(matches!(
            client.call::<_, ()>("x", &()).await,
            Err(CallError::QueueFull(2))
        ));
        let (_, mut peer) = script.accept(ready("s2", false)).await;
        assert_eq!(peer.recv().await["payload"], "a");
        assert_eq!(peer.recv().await["payload"], "b");
        client.message("note", "d").await.unwrap();
        assert_eq!(peer.recv().await["payload"], "d");
    }

    #[tokio::test(start_paused = true)]
    async fn calls_keep_their_timeout_while_queued() {
        let (client, peer, mut script) = start(builder().offline_queue(1)).await;
        let mut states = client.state_changes();
        cut(peer);
        until(&mut states, |s| matches!(s, State::Reconnecting { .. })).await;
        let (_, answer) = script.next().await;
        let err = client
            .call_with_timeout::<_, ()>("x", &(), ms(5))
            .await
            .unwrap_err();
        assert!(matches!(err, CallError::Timeout(t) if t == ms(5)));
        // The timed-out call left the queue: there is room, and it is not sent.
        client.message("note", "a").await.unwrap();
        let (live, mut peer) = connection(ready("s1", true));
        let _ = answer.send(Ok(live));
        assert_eq!(peer.recv().await["payload"], "a");
    }
}
