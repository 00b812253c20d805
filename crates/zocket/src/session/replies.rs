//! The reply cache of a session: what makes a call resent after a
//! reconnect run at most once.

use axum::extract::ws::Utf8Bytes;
use std::collections::{HashMap, VecDeque};

/// What a call with a given `rpcId` has become.
enum Entry {
    /// Still running; its reply goes to whichever connection is current.
    Running { generation: u64 },
    /// Answered with this frame.
    Done { generation: u64, frame: Utf8Bytes },
}

impl Entry {
    fn generation(&self) -> u64 {
        match self {
            Self::Running { generation } | Self::Done { generation, .. } => *generation,
        }
    }
}

/// What to do with a call that just arrived.
pub(crate) enum Begin {
    /// Run it.
    Run,
    /// A previous connection of this session already answered it: send the
    /// stored reply again.
    Resend(Utf8Bytes),
    /// A previous connection started it and it still runs: its reply will
    /// reach the current connection.
    Running,
}

/// The last `capacity` calls of a session by `rpcId`. Only a call resent on
/// a later connection (a higher generation) is deduplicated: a client that
/// reuses an id on the same connection gets a new call.
pub(crate) struct Replies {
    capacity: usize,
    entries: HashMap<Box<str>, Entry>,
    order: VecDeque<Box<str>>,
}

impl Replies {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            entries: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    pub(crate) fn begin(&mut self, rpc_id: &str, generation: u64) -> Begin {
        if self.capacity == 0 {
            return Begin::Run;
        }
        match self.entries.get_mut(rpc_id) {
            // Resent after a reconnect: answered again, and from now on the
            // id belongs to this connection (reusing it here is a new call).
            Some(Entry::Done {
                generation: g,
                frame,
            }) if *g < generation => {
                *g = generation;
                return Begin::Resend(frame.clone());
            }
            Some(Entry::Running { generation: g }) if *g < generation => {
                *g = generation;
                return Begin::Running;
            }
            Some(_) => {}
            None => {
                if self.order.len() == self.capacity
                    && let Some(oldest) = self.order.pop_front()
                {
                    self.entries.remove(&oldest);
                }
                self.order.push_back(rpc_id.into());
            }
        }
        self.entries
            .insert(rpc_id.into(), Entry::Running { generation });
        Begin::Run
    }

    pub(crate) fn finish(&mut self, rpc_id: &str, frame: &Utf8Bytes) {
        if let Some(entry) = self.entries.get_mut(rpc_id) {
            *entry = Entry::Done {
                generation: entry.generation(),
                frame: frame.clone(),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedups_only_across_connections_and_stays_bounded() {
        let mut replies = Replies::new(2);
        assert!(matches!(replies.begin("a", 1), Begin::Run));
        // Resent on a later connection while running.
        assert!(matches!(replies.begin("a", 2), Begin::Running));
        replies.finish("a", &"reply-a".into());
        assert!(matches!(replies.begin("a", 3), Begin::Resend(f) if f.as_str() == "reply-a"));
        // Once resent, a reuse on that connection is a new call.
        assert!(matches!(replies.begin("a", 3), Begin::Run));
        replies.finish("a", &"reply-a2".into());
        // Reused on the same connection: a new call.
        assert!(matches!(replies.begin("b", 3), Begin::Run));
        replies.finish("b", &"reply-b".into());
        assert!(matches!(replies.begin("b", 3), Begin::Run));
        // Bounded: a third id evicts the oldest.
        assert!(matches!(replies.begin("c", 3), Begin::Run));
        assert!(matches!(replies.begin("a", 4), Begin::Run));
    }
}
