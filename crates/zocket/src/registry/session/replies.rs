//! The reply cache of a session: what makes a call resent after a
//! reconnect run at most once.
//!
//! A ring of the session's last calls. A call arriving on the session's
//! first connection is only written in; the ring is searched only while it
//! still holds calls of an earlier connection, so the common case costs no
//! lookup at all.

use axum::extract::ws::Utf8Bytes;
use std::sync::Arc;

/// What to do with a call that just arrived.
pub(crate) enum Begin {
    /// Run it; `Ticket` stores its reply when it finishes.
    Run(Ticket),
    /// A previous connection of this session already answered it: send the
    /// stored reply again.
    Resend(Utf8Bytes),
    /// A previous connection started it and it still runs: its reply will
    /// reach the current connection.
    Running,
}

/// Where a running call's reply goes in the ring.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ticket(u64);

impl Ticket {
    /// A call whose reply is not kept (recovery off, or a connection that
    /// was already replaced).
    pub(crate) const NONE: Self = Self(u64::MAX);
}

struct Slot {
    /// The call's number in the session; identifies the slot's occupant.
    number: u64,
    rpc_id: Arc<str>,
    /// The connection the call (or its last resend) arrived on.
    generation: u64,
    /// `None` while running.
    reply: Option<Utf8Bytes>,
}

pub(crate) struct Replies {
    slots: Vec<Slot>,
    capacity: usize,
    /// Calls written so far; the next goes to `written % capacity`.
    written: u64,
    /// The current connection's generation.
    generation: u64,
    /// Slots still holding calls of earlier connections.
    earlier: usize,
}

impl Replies {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            slots: Vec::new(),
            capacity,
            written: 0,
            generation: 0,
            earlier: 0,
        }
    }

    /// A new connection (generation) took over the session.
    pub(crate) fn new_generation(&mut self, generation: u64) {
        self.generation = generation;
        self.earlier = self.slots.len();
    }

    pub(crate) fn begin(&mut self, rpc_id: &Arc<str>) -> Begin {
        if self.capacity == 0 {
            return Begin::Run(Ticket::NONE);
        }
        let generation = self.generation;
        if self.earlier > 0 {
            // Resent after a reconnect: answer with the latest call of that
            // id, and from now on the id belongs to this connection (reusing
            // it here is a new call).
            let mut latest: Option<(usize, u64)> = None;
            let mut claimed = 0;
            for (index, slot) in self.slots.iter_mut().enumerate() {
                if slot.generation < generation && *slot.rpc_id == **rpc_id {
                    slot.generation = generation;
                    claimed += 1;
                    if latest.is_none_or(|(_, number)| number < slot.number) {
                        latest = Some((index, slot.number));
                    }
                }
            }
            if let Some((latest, _)) = latest {
                self.earlier -= claimed;
                return match &self.slots[latest].reply {
                    Some(reply) => Begin::Resend(reply.clone()),
                    None => Begin::Running,
                };
            }
        }
        let number = self.written;
        self.written += 1;
        let slot = Slot {
            number,
            rpc_id: rpc_id.clone(),
            generation,
            reply: None,
        };
        if self.slots.len() < self.capacity {
            self.slots.push(slot);
        } else {
            let index = (number % self.capacity as u64) as usize;
            if self.slots[index].generation < generation {
                self.earlier -= 1;
            }
            self.slots[index] = slot;
        }
        Begin::Run(Ticket(number))
    }

    pub(crate) fn finish(&mut self, ticket: Ticket, reply: &Utf8Bytes) {
        if self.capacity == 0 {
            return;
        }
        let index = (ticket.0 % self.capacity as u64) as usize;
        if let Some(slot) = self.slots.get_mut(index)
            && slot.number == ticket.0
        {
            slot.reply = Some(reply.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> Arc<str> {
        s.into()
    }

    fn run(replies: &mut Replies, rpc_id: &str) -> Ticket {
        match replies.begin(&id(rpc_id)) {
            Begin::Run(ticket) => ticket,
            _ => panic!("{rpc_id} should run"),
        }
    }

    #[test]
    fn dedups_only_across_connections_and_stays_bounded() {
        let mut replies = Replies::new(2);
        replies.new_generation(1);
        let a = run(&mut replies, "a");
        // Reused on the same connection: a new call.
        let a2 = run(&mut replies, "a");
        replies.finish(a, &"reply-a".into());
        replies.finish(a2, &"reply-a2".into());
        replies.new_generation(2);
        // Resent on a later connection: the latest reply for it.
        assert!(matches!(replies.begin(&id("a")), Begin::Resend(f) if f.as_str() == "reply-a2"));
        // Once resent, a reuse on that connection is a new call.
        let a3 = run(&mut replies, "a");
        // Running when resent from a later connection.
        replies.new_generation(3);
        assert!(matches!(replies.begin(&id("a")), Begin::Running));
        replies.finish(a3, &"reply-a3".into());
        // Bounded: new calls push the oldest out.
        let _ = run(&mut replies, "b");
        let _ = run(&mut replies, "c");
        replies.new_generation(4);
        assert!(matches!(replies.begin(&id("a")), Begin::Run(_)));
    }

    #[test]
    fn a_reply_for_an_overwritten_slot_is_dropped() {
        let mut replies = Replies::new(1);
        replies.new_generation(1);
        let a = run(&mut replies, "a");
        let _ = run(&mut replies, "b");
        replies.finish(a, &"late".into());
        replies.new_generation(2);
        assert!(matches!(replies.begin(&id("a")), Begin::Run(_)));
    }
}
