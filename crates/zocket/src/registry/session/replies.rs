//! The reply cache of a session: what makes a call resent after a
//! reconnect run at most once.
//!
//! A ring of the session's last calls (their `rpcId`s) and, within a byte
//! budget, their replies. A call arriving on the session's first
//! connection is only written in; the ring is searched only while it still
//! holds calls of an earlier connection, so the common case costs no lookup
//! at all. A reply that does not fit the budget, or is evicted to make
//! room, leaves its call's id behind: a resend of it is answered
//! `REPLY_LOST`, never run again.

use super::super::Budget;
use super::super::store::KeptCall;
use axum::extract::ws::Utf8Bytes;
use std::sync::Arc;

/// What a kept reply costs beyond its bytes.
const REPLY_OVERHEAD: usize = 16;

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
    /// A previous connection ran it, but its reply was not kept (over the
    /// byte budget): answer `REPLY_LOST`, do not run it again.
    Lost,
}

#[cfg(test)]
impl Begin {
    pub(crate) fn is_lost(&self) -> bool {
        matches!(self, Self::Lost)
    }
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
    reply: Reply,
}

enum Reply {
    Running,
    Kept(Utf8Bytes),
    Lost,
}

pub(crate) struct Replies {
    slots: Vec<Slot>,
    capacity: usize,
    /// Calls written so far; the next goes to `written % capacity`.
    written: u64,
    /// No call numbered below this keeps its reply: where eviction
    /// resumes, so that it costs O(1) per reply, not a scan.
    evicted_below: u64,
    /// The current connection's generation.
    generation: u64,
    /// Slots still holding calls of earlier connections.
    earlier: usize,
    /// The bytes of the replies kept, under `budget`.
    bytes: usize,
    budget: usize,
}

impl Replies {
    /// A cache of `capacity` calls and `budget` bytes of replies.
    pub(crate) fn new(capacity: usize, budget: usize) -> Self {
        Self {
            slots: Vec::new(),
            capacity,
            written: 0,
            evicted_below: 0,
            generation: 0,
            earlier: 0,
            bytes: 0,
            budget,
        }
    }

    /// The bytes of the replies kept.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Forgets everything; returns the bytes freed.
    pub(crate) fn clear(&mut self) -> usize {
        self.slots = Vec::new();
        std::mem::take(&mut self.bytes)
    }

    /// A new connection (generation) took over the session.
    pub(crate) fn new_generation(&mut self, generation: u64) {
        self.generation = generation;
        self.earlier = self.slots.len();
    }

    pub(crate) fn begin(&mut self, rpc_id: &Arc<str>, global: &Budget) -> Begin {
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
                    Reply::Kept(reply) => Begin::Resend(reply.clone()),
                    Reply::Running => Begin::Running,
                    Reply::Lost => Begin::Lost,
                };
            }
        }
        let number = self.written;
        self.written += 1;
        let slot = Slot {
            number,
            rpc_id: rpc_id.clone(),
            generation,
            reply: Reply::Running,
        };
        if self.slots.len() < self.capacity {
            self.slots.push(slot);
        } else {
            let index = (number % self.capacity as u64) as usize;
            if self.slots[index].generation < generation {
                self.earlier -= 1;
            }
            let old = std::mem::replace(&mut self.slots[index], slot);
            if let Reply::Kept(reply) = old.reply {
                self.release(reply.len() + REPLY_OVERHEAD, global);
            }
        }
        Begin::Run(Ticket(number))
    }

    fn release(&mut self, bytes: usize, global: &Budget) {
        self.bytes -= bytes;
        global.give(bytes);
    }

    /// Records a call's reply: kept when it fits this cache's budget (the
    /// oldest replies make room) and the server's, else only remembered as
    /// lost.
    pub(crate) fn finish(&mut self, ticket: Ticket, reply: &Utf8Bytes, global: &Budget) {
        if self.capacity == 0 {
            return;
        }
        let index = (ticket.0 % self.capacity as u64) as usize;
        if self
            .slots
            .get(index)
            .is_none_or(|slot| slot.number != ticket.0)
        {
            // Overwritten meanwhile by newer calls.
            return;
        }
        let bytes = reply.len() + REPLY_OVERHEAD;
        let fits = bytes <= self.budget;
        while fits && self.bytes + bytes > self.budget && self.evict_oldest(global) {}
        let kept = fits && self.bytes + bytes <= self.budget && global.take(bytes);
        if kept {
            self.bytes += bytes;
            // A call that finished late is still the oldest: eviction
            // starts from it again.
            self.evicted_below = self.evicted_below.min(ticket.0);
        }
        self.slots[index].reply = if kept {
            Reply::Kept(reply.clone())
        } else {
            Reply::Lost
        };
    }

    /// The calls remembered, oldest first, as they travel to another node.
    pub(crate) fn export(&self) -> Vec<KeptCall> {
        let mut slots: Vec<&Slot> = self.slots.iter().collect();
        slots.sort_unstable_by_key(|slot| slot.number);
        slots
            .into_iter()
            .map(|slot| KeptCall {
                rpc_id: slot.rpc_id.to_string(),
                reply: match &slot.reply {
                    Reply::Kept(reply) => Some(reply.to_string()),
                    Reply::Running | Reply::Lost => None,
                },
                running: matches!(slot.reply, Reply::Running),
            })
            .collect()
    }

    /// Takes in the calls of a session that moved here, as calls of an
    /// earlier connection (within this cache's budgets).
    pub(crate) fn import(&mut self, calls: Vec<KeptCall>, global: &Budget) {
        for call in calls {
            let Begin::Run(ticket) = self.begin(&Arc::from(call.rpc_id), global) else {
                continue;
            };
            if let Some(reply) = call.reply {
                self.finish(ticket, &reply.into(), global);
            } else if !call.running
                && let Some(slot) = self.slot(ticket)
            {
                slot.reply = Reply::Lost;
            }
        }
    }

    /// Stores the reply of call `rpc_id` that was running on the node this
    /// session moved from; `false` when no such call is running here.
    pub(crate) fn finish_forwarded(
        &mut self,
        rpc_id: &str,
        reply: &Utf8Bytes,
        global: &Budget,
    ) -> bool {
        let latest = self
            .slots
            .iter()
            .filter(|slot| *slot.rpc_id == *rpc_id && matches!(slot.reply, Reply::Running))
            .map(|slot| slot.number)
            .max();
        match latest {
            Some(number) => {
                self.finish(Ticket(number), reply, global);
                true
            }
            None => false,
        }
    }

    fn slot(&mut self, ticket: Ticket) -> Option<&mut Slot> {
        if self.capacity == 0 {
            return None;
        }
        let index = (ticket.0 % self.capacity as u64) as usize;
        self.slots
            .get_mut(index)
            .filter(|slot| slot.number == ticket.0)
    }

    /// Drops the oldest reply kept, leaving its call remembered as lost;
    /// `false` when none is kept.
    fn evict_oldest(&mut self, global: &Budget) -> bool {
        // Calls are numbered in order and each slot holds the latest call
        // of its index: walking the numbers up from the last eviction finds
        // the oldest reply still kept.
        let capacity = self.capacity as u64;
        self.evicted_below = self
            .evicted_below
            .max(self.written.saturating_sub(capacity));
        while self.evicted_below < self.written {
            let number = self.evicted_below;
            self.evicted_below += 1;
            let index = (number % capacity) as usize;
            let Some(slot) = self.slots.get_mut(index) else {
                continue;
            };
            if slot.number == number
                && let Reply::Kept(reply) = std::mem::replace(&mut slot.reply, Reply::Lost)
            {
                self.release(reply.len() + REPLY_OVERHEAD, global);
                return true;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> Arc<str> {
        s.into()
    }

    fn run(replies: &mut Replies, rpc_id: &str) -> Ticket {
        match replies.begin(&id(rpc_id), &Budget::new(usize::MAX)) {
            Begin::Run(ticket) => ticket,
            _ => panic!("{rpc_id} should run"),
        }
    }

    #[test]
    fn dedups_only_across_connections_and_stays_bounded() {
        let mut replies = Replies::new(2, 1 << 20);
        replies.new_generation(1);
        let a = run(&mut replies, "a");
        // Reused on the same connection: a new call.
        let a2 = run(&mut replies, "a");
        replies.finish(a, &"reply-a".into(), &Budget::new(usize::MAX));
        replies.finish(a2, &"reply-a2".into(), &Budget::new(usize::MAX));
        replies.new_generation(2);
        // Resent on a later connection: the latest reply for it.
        assert!(
            matches!(replies.begin(&id("a"), &Budget::new(usize::MAX)), Begin::Resend(f) if f.as_str() == "reply-a2")
        );
        // Once resent, a reuse on that connection is a new call.
        let a3 = run(&mut replies, "a");
        // Running when resent from a later connection.
        replies.new_generation(3);
        assert!(matches!(
            replies.begin(&id("a"), &Budget::new(usize::MAX)),
            Begin::Running
        ));
        replies.finish(a3, &"reply-a3".into(), &Budget::new(usize::MAX));
        // Bounded: new calls push the oldest out.
        let _ = run(&mut replies, "b");
        let _ = run(&mut replies, "c");
        replies.new_generation(4);
        assert!(matches!(
            replies.begin(&id("a"), &Budget::new(usize::MAX)),
            Begin::Run(_)
        ));
    }

    #[test]
    fn replies_over_the_byte_budget_are_lost_never_run_again() {
        let global = Budget::new(usize::MAX);
        let mut replies = Replies::new(8, 2 * (4 + REPLY_OVERHEAD));
        replies.new_generation(1);
        let tickets: Vec<Ticket> = ["a", "b", "c"]
            .iter()
            .map(|id| run(&mut replies, id))
            .collect();
        replies.finish(tickets[0], &"aaaa".into(), &global);
        replies.finish(tickets[1], &"bbbb".into(), &global);
        // A third makes room by evicting the oldest.
        replies.finish(tickets[2], &"cccc".into(), &global);
        assert_eq!(replies.bytes(), 2 * (4 + REPLY_OVERHEAD));
        let big = run(&mut replies, "big");
        replies.finish(big, &"x".repeat(100).into(), &global);
        replies.new_generation(2);
        assert!(
            matches!(replies.begin(&id("a"), &global), Begin::Lost),
            "evicted"
        );
        assert!(
            matches!(replies.begin(&id("big"), &global), Begin::Lost),
            "too large"
        );
        assert!(
            matches!(replies.begin(&id("c"), &global), Begin::Resend(r) if r.as_str() == "cccc")
        );
        let kept = replies.bytes();
        assert_eq!(replies.clear(), kept);
        assert_eq!(replies.bytes(), 0);
    }

    #[test]
    fn a_long_stream_of_calls_stays_within_the_budget_keeping_the_latest() {
        let global = Budget::new(usize::MAX);
        let reply: Utf8Bytes = "r".repeat(40).into();
        let budget = 10 * (40 + REPLY_OVERHEAD);
        let mut replies = Replies::new(64, budget);
        replies.new_generation(1);
        let mut running = Vec::new();
        for n in 0..10_000 {
            let ticket = run(&mut replies, &n.to_string());
            // Some calls finish late, after later ones.
            if n % 7 == 0 {
                running.push(ticket);
            } else {
                replies.finish(ticket, &reply, &global);
            }
            if running.len() > 3 {
                replies.finish(running.remove(0), &reply, &global);
            }
            assert!(replies.bytes() <= budget);
        }
        replies.new_generation(2);
        assert!(matches!(
            replies.begin(&id("9999"), &global),
            Begin::Resend(_)
        ));
        assert!(
            matches!(replies.begin(&id("9000"), &global), Begin::Run(_)),
            "forgotten: the ring holds 64"
        );
    }

    #[test]
    fn the_servers_budget_is_shared_and_given_back() {
        let global = Budget::new(40);
        let mut a = Replies::new(4, 1 << 20);
        let mut b = Replies::new(4, 1 << 20);
        a.new_generation(1);
        b.new_generation(1);
        let ta = run(&mut a, "1");
        let tb = run(&mut b, "1");
        a.finish(ta, &"x".repeat(20).into(), &global);
        b.finish(tb, &"y".repeat(20).into(), &global);
        assert_eq!(
            (a.bytes(), b.bytes()),
            (36, 0),
            "b's reply does not fit what is left"
        );
        global.give(a.clear());
        assert_eq!(global.used(), 0);
    }

    #[test]
    fn a_reply_for_an_overwritten_slot_is_dropped() {
        let mut replies = Replies::new(1, 1 << 20);
        replies.new_generation(1);
        let a = run(&mut replies, "a");
        let _ = run(&mut replies, "b");
        replies.finish(a, &"late".into(), &Budget::new(usize::MAX));
        replies.new_generation(2);
        assert!(matches!(
            replies.begin(&id("a"), &Budget::new(usize::MAX)),
            Begin::Run(_)
        ));
    }
}
