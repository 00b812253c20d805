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
//!
//! Each slot keeps its call's id and reply in one buffer of its own, which
//! the call that takes the slot next writes over: in the steady state a
//! call allocates nothing here, frees nothing, and touches no reference
//! count (the reply is copied in; the copy sent is the caller's).

use super::super::Budget;
use super::super::store::KeptCall;
use axum::extract::ws::Utf8Bytes;

/// What a kept reply costs beyond its bytes.
const REPLY_OVERHEAD: usize = 16;

/// A slot's buffer of at most this many bytes is written over by the next
/// call; a larger one (a large reply's) is freed instead of kept around.
/// What slots hold beyond the replies counted against the budgets is so at
/// most this much each, as when they held only the `rpcId` (at most 128
/// bytes by default): a call whose reply is lost or evicted leaves no more
/// behind than its id did.
const REUSE_LIMIT: usize = 128;

/// Bytes of the server's budget a cache holds on to between a reply
/// evicted and the next one kept, so that a steady stream of calls does
/// not give back and take again the same bytes on every call.
const CREDIT_LIMIT: usize = 1024;

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
    /// The connection the call (or its last resend) arrived on.
    generation: u64,
    /// The call's `rpcId`, followed by its reply once kept.
    text: String,
    /// Where the `rpcId` ends in `text`.
    id_len: usize,
    reply: Reply,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Reply {
    Running,
    Kept,
    Lost,
}

impl Slot {
    fn rpc_id(&self) -> &str {
        &self.text[..self.id_len]
    }

    /// The reply, when kept.
    fn kept(&self) -> Option<&str> {
        (self.reply == Reply::Kept).then(|| &self.text[self.id_len..])
    }

    /// What the kept reply counts against the budgets (0 when none is).
    fn kept_bytes(&self) -> usize {
        match self.reply {
            Reply::Kept => self.text.len() - self.id_len + REPLY_OVERHEAD,
            Reply::Running | Reply::Lost => 0,
        }
    }

    /// Drops the reply, leaving the call remembered as `reply`; returns
    /// the bytes it counted.
    fn drop_reply(&mut self, reply: Reply) -> usize {
        let freed = self.kept_bytes();
        self.text.truncate(self.id_len);
        if self.text.capacity() > REUSE_LIMIT {
            self.text = self.text.as_str().to_owned();
        }
        self.reply = reply;
        freed
    }
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
    /// Bytes taken from the server's budget and not used by a reply now,
    /// at most `CREDIT_LIMIT`.
    credit: usize,
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
            credit: 0,
        }
    }

    /// The bytes of the replies kept.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Forgets everything; returns the bytes of the server's budget freed.
    pub(crate) fn clear(&mut self) -> usize {
        self.slots = Vec::new();
        std::mem::take(&mut self.bytes) + std::mem::take(&mut self.credit)
    }

    /// A new connection (generation) took over the session.
    pub(crate) fn new_generation(&mut self, generation: u64) {
        self.generation = generation;
        self.earlier = self.slots.len();
    }

    pub(crate) fn begin(&mut self, rpc_id: &str, global: &Budget) -> Begin {
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
                if slot.generation < generation && slot.rpc_id() == rpc_id {
                    slot.generation = generation;
                    claimed += 1;
                    if latest.is_none_or(|(_, number)| number < slot.number) {
                        latest = Some((index, slot.number));
                    }
                }
            }
            if let Some((latest, _)) = latest {
                self.earlier -= claimed;
                let slot = &self.slots[latest];
                return match slot.reply {
                    Reply::Kept => Begin::Resend(slot.kept().unwrap_or_default().to_owned().into()),
                    Reply::Running => Begin::Running,
                    Reply::Lost => Begin::Lost,
                };
            }
        }
        let number = self.written;
        self.written += 1;
        if self.slots.len() < self.capacity {
            let mut text =
                String::with_capacity((rpc_id.len() + 64).min(REUSE_LIMIT.max(rpc_id.len())));
            text.push_str(rpc_id);
            self.slots.push(Slot {
                number,
                generation,
                text,
                id_len: rpc_id.len(),
                reply: Reply::Running,
            });
        } else {
            let index = (number % self.capacity as u64) as usize;
            let slot = &mut self.slots[index];
            if slot.generation < generation {
                self.earlier -= 1;
            }
            let freed = slot.drop_reply(Reply::Running);
            slot.text.clear();
            slot.text.push_str(rpc_id);
            slot.id_len = rpc_id.len();
            slot.number = number;
            slot.generation = generation;
            self.release(freed, global);
        }
        Begin::Run(Ticket(number))
    }

    /// Stops counting `bytes` of a reply dropped: they become credit for
    /// the next reply, and what is over the credit's limit goes back to the
    /// server's budget.
    fn release(&mut self, bytes: usize, global: &Budget) {
        self.bytes -= bytes;
        self.credit += bytes;
        if self.credit > CREDIT_LIMIT {
            global.give(self.credit - CREDIT_LIMIT);
            self.credit = CREDIT_LIMIT;
        }
    }

    /// Takes `bytes` for a reply from the credit, else from the server's
    /// budget; `false` when it has none left.
    fn take(&mut self, bytes: usize, global: &Budget) -> bool {
        if self.credit >= bytes {
            self.credit -= bytes;
            true
        } else {
            global.take(bytes)
        }
    }

    /// Records a call's reply: kept when it fits this cache's budget (the
    /// oldest replies make room) and the server's, else only remembered as
    /// lost.
    pub(crate) fn finish(&mut self, ticket: Ticket, reply: &str, global: &Budget) {
        if self.capacity == 0 {
            return;
        }
        let index = (ticket.0 % self.capacity as u64) as usize;
        let Some(slot) = self
            .slots
            .get_mut(index)
            .filter(|slot| slot.number == ticket.0)
        else {
            // Overwritten meanwhile by newer calls.
            return;
        };
        let freed = slot.drop_reply(Reply::Lost);
        self.release(freed, global);
        let bytes = reply.len() + REPLY_OVERHEAD;
        let fits = bytes <= self.budget;
        while fits && self.bytes + bytes > self.budget && self.evict_oldest(global) {}
        let kept = fits && self.bytes + bytes <= self.budget && self.take(bytes, global);
        if kept {
            self.bytes += bytes;
            // A call that finished late is still the oldest: eviction
            // starts from it again.
            self.evicted_below = self.evicted_below.min(ticket.0);
            let slot = &mut self.slots[index];
            slot.text.push_str(reply);
            slot.reply = Reply::Kept;
        }
    }

    /// The calls remembered, oldest first, as they travel to another node.
    pub(crate) fn export(&self) -> Vec<KeptCall> {
        let mut slots: Vec<&Slot> = self.slots.iter().collect();
        slots.sort_unstable_by_key(|slot| slot.number);
        slots
            .into_iter()
            .map(|slot| KeptCall {
                rpc_id: slot.rpc_id().to_owned(),
                reply: slot.kept().map(str::to_owned),
                running: slot.reply == Reply::Running,
            })
            .collect()
    }

    /// Takes in the calls of a session that moved here, as calls of an
    /// earlier connection (within this cache's budgets).
    pub(crate) fn import(&mut self, calls: Vec<KeptCall>, global: &Budget) {
        for call in calls {
            let Begin::Run(ticket) = self.begin(&call.rpc_id, global) else {
                continue;
            };
            if let Some(reply) = call.reply {
                self.finish(ticket, &reply, global);
            } else if !call.running
                && let Some(slot) = self.slot(ticket)
            {
                slot.reply = Reply::Lost;
            }
        }
    }

    /// Stores the reply of call `rpc_id` that was running on the node this
    /// session moved from; `false` when no such call is running here.
    pub(crate) fn finish_forwarded(&mut self, rpc_id: &str, reply: &str, global: &Budget) -> bool {
        let latest = self
            .slots
            .iter()
            .filter(|slot| slot.rpc_id() == rpc_id && slot.reply == Reply::Running)
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
            if slot.number == number && slot.reply == Reply::Kept {
                let freed = slot.drop_reply(Reply::Lost);
                self.release(freed, global);
                return true;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

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
        replies.finish(a, "reply-a", &Budget::new(usize::MAX));
        replies.finish(a2, "reply-a2", &Budget::new(usize::MAX));
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
        replies.finish(a3, "reply-a3", &Budget::new(usize::MAX));
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
        replies.finish(tickets[0], "aaaa", &global);
        replies.finish(tickets[1], "bbbb", &global);
        // A third makes room by evicting the oldest.
        replies.finish(tickets[2], "cccc", &global);
        assert_eq!(replies.bytes(), 2 * (4 + REPLY_OVERHEAD));
        let big = run(&mut replies, "big");
        replies.finish(big, &"x".repeat(100), &global);
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
        a.finish(ta, &"x".repeat(20), &global);
        b.finish(tb, &"y".repeat(20), &global);
        assert_eq!(
            (a.bytes(), b.bytes()),
            (36, 0),
            "b's reply does not fit what is left"
        );
        global.give(a.clear());
        assert_eq!(global.used(), 0);
    }

    #[test]
    fn slots_reuse_small_buffers_free_large_ones_and_hold_little_credit() {
        let global = Budget::new(usize::MAX);
        let mut replies = Replies::new(4, 1 << 20);
        replies.new_generation(1);
        let reply = |n: u32| {
            if n % 10 == 3 {
                "x".repeat(10_000)
            } else {
                format!("reply-{n}")
            }
        };
        for n in 0..100 {
            let Begin::Run(ticket) = replies.begin(&n.to_string(), &global) else {
                panic!("call {n} should run");
            };
            replies.finish(ticket, &reply(n), &global);
            // Everything taken from the server's budget is a reply kept or
            // the credit, which stays small.
            assert_eq!(global.used(), replies.bytes() + replies.credit);
            assert!(replies.credit <= CREDIT_LIMIT);
            // Only a slot keeping a large reply holds a large buffer.
            for slot in &replies.slots {
                assert!(
                    slot.text.capacity() <= REUSE_LIMIT
                        || slot.kept().is_some_and(|kept| kept.len() > REUSE_LIMIT)
                );
            }
        }
        replies.new_generation(2);
        for n in [96, 99] {
            assert!(
                matches!(replies.begin(&n.to_string(), &global), Begin::Resend(r) if *r == *reply(n))
            );
        }
        global.give(replies.clear());
        assert_eq!(global.used(), 0);
    }

    #[test]
    fn a_reply_for_an_overwritten_slot_is_dropped() {
        let mut replies = Replies::new(1, 1 << 20);
        replies.new_generation(1);
        let a = run(&mut replies, "a");
        let _ = run(&mut replies, "b");
        replies.finish(a, "late", &Budget::new(usize::MAX));
        replies.new_generation(2);
        assert!(matches!(
            replies.begin(&id("a"), &Budget::new(usize::MAX)),
            Begin::Run(_)
        ));
    }
}
