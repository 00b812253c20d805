//! The streams of a session: the credit the client granted each one, and
//! the items sent that the client has not acknowledged, kept so that a
//! resumed session can be sent them again.
//!
//! A stream's entry lives from its call until its handler has finished
//! (or was cancelled) and the client has acknowledged every item. It is
//! bounded by the window the client may grant (`max_stream_window` items)
//! and by `stream_buffer_bytes`; the sender waits while either is full.
//! Only running streams count against `max_streams`; of the finished ones
//! still waiting for their last acknowledgement, a session keeps as many,
//! forgetting the oldest first.

use super::super::Budget;
use axum::extract::ws::Utf8Bytes;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use tokio::sync::Notify;
use zocket_protocol::Credit;

/// One stream's flow control and unacknowledged items.
struct Flow {
    /// Tells entries of a reused `rpcId` apart.
    number: u64,
    /// The highest item number the client allows.
    limit: u64,
    /// Items sent, not acknowledged: `(n, frame)`, in order.
    unacked: VecDeque<(u64, Utf8Bytes)>,
    /// The bytes of `unacked`.
    bytes: usize,
    /// The handler still runs.
    running: bool,
    /// Wakes the sender when credit or room comes, or the stream ends.
    wake: Arc<Notify>,
}

/// What [`Streams::offer`] decided for an item.
pub(crate) enum Offer {
    /// Sent (kept until acknowledged): queue the frame.
    Sent,
    /// No credit or no room yet: wait on the notify, then offer again.
    Wait(Arc<Notify>),
    /// The stream is gone (cancelled, or its session ended).
    Closed,
}

/// A session's streams by `rpcId`.
#[derive(Default)]
pub(crate) struct Streams {
    flows: HashMap<Arc<str>, Flow>,
    opened: u64,
    /// The bytes of every stream's unacknowledged items.
    bytes: usize,
}

impl Streams {
    /// Opens stream `rpc_id`; `None` when `max` streams are open already.
    /// Returns the entry's number, which later calls name it by.
    pub(crate) fn open(&mut self, rpc_id: &Arc<str>, max: usize, budget: &Budget) -> Option<u64> {
        if self.flows.values().filter(|flow| flow.running).count() >= max {
            return None;
        }
        // Finished streams waiting for their last acknowledgement: at most
        // `max` of them, the oldest forgotten first.
        while self.flows.values().filter(|flow| !flow.running).count() > max {
            let oldest = self
                .flows
                .iter()
                .filter(|(_, flow)| !flow.running)
                .min_by_key(|(_, flow)| flow.number)
                .map(|(id, _)| id.clone());
            match oldest {
                Some(id) => self.forget(&id, budget),
                None => break,
            }
        }
        self.opened += 1;
        let flow = Flow {
            number: self.opened,
            limit: 0,
            unacked: VecDeque::new(),
            bytes: 0,
            running: true,
            wake: Arc::new(Notify::new()),
        };
        if let Some(old) = self.flows.insert(rpc_id.clone(), flow) {
            // An `rpcId` reused: the old entry's sender finds it gone.
            self.bytes -= old.bytes;
            budget.give(old.bytes);
            old.wake.notify_one();
        }
        Some(self.opened)
    }

    /// Whether stream `rpc_id` is open (running, or waiting for its last
    /// acknowledgement).
    pub(crate) fn contains(&self, rpc_id: &str) -> bool {
        self.flows.contains_key(rpc_id)
    }

    /// Whether stream `rpc_id`'s handler still runs.
    pub(crate) fn is_running(&self, rpc_id: &str) -> bool {
        self.flows.get(rpc_id).is_some_and(|flow| flow.running)
    }

    /// Forgets stream `rpc_id` if its handler has finished: the client
    /// cancelled it, it wants no more of its items.
    pub(crate) fn forget_finished(&mut self, rpc_id: &str, budget: &Budget) -> bool {
        let finished = self.flows.get(rpc_id).is_some_and(|flow| !flow.running);
        if finished {
            self.forget(rpc_id, budget);
        }
        finished
    }

    /// Forgets stream `rpc_id`, giving its bytes back.
    fn forget(&mut self, rpc_id: &str, budget: &Budget) {
        if let Some(flow) = self.flows.remove(rpc_id) {
            self.bytes -= flow.bytes;
            budget.give(flow.bytes);
            flow.wake.notify_one();
        }
    }

    fn flow(&mut self, rpc_id: &str, number: u64) -> Option<&mut Flow> {
        self.flows
            .get_mut(rpc_id)
            .filter(|flow| flow.number == number)
    }

    /// Item `n` of stream `rpc_id` (its frame: `frame`), if the client's
    /// credit allows it and the stream keeps fewer than `max_bytes` bytes,
    /// taken from the server's `retained` budget (an item alone is always
    /// allowed: its stream holds nothing else).
    pub(crate) fn offer(
        &mut self,
        rpc_id: &str,
        number: u64,
        n: u64,
        frame: &Utf8Bytes,
        max_bytes: usize,
        retained: &Budget,
    ) -> Offer {
        let Some(flow) = self.flow(rpc_id, number) else {
            return Offer::Closed;
        };
        if n > flow.limit {
            return Offer::Wait(flow.wake.clone());
        }
        let len = frame.len();
        let fits = if flow.unacked.is_empty() {
            // Alone, it is kept even past the budgets (then counted).
            if !retained.take(len) {
                retained.overdraw(len);
            }
            true
        } else {
            flow.bytes + len <= max_bytes && retained.take(len)
        };
        if !fits {
            return Offer::Wait(flow.wake.clone());
        }
        flow.unacked.push_back((n, frame.clone()));
        flow.bytes += frame.len();
        self.bytes += frame.len();
        Offer::Sent
    }

    /// Takes a client's grant for stream `rpc_id`: forgets the items it
    /// has, and raises the limit (never lowers it). `false` when no such
    /// stream is open (ended, or never was): the grant is ignored.
    pub(crate) fn grant(
        &mut self,
        rpc_id: &str,
        credit: Credit,
        max_window: u64,
        retained: &Budget,
    ) -> bool {
        let Some(flow) = self.flows.get_mut(rpc_id) else {
            return false;
        };
        let mut freed = 0;
        while let Some((n, frame)) = flow.unacked.front()
            && *n <= credit.received
        {
            freed += frame.len();
            flow.unacked.pop_front();
        }
        flow.bytes -= freed;
        self.bytes -= freed;
        retained.give(freed);
        let limit = credit
            .received
            .saturating_add(credit.window.min(max_window));
        flow.limit = flow.limit.max(limit);
        flow.wake.notify_one();
        if !flow.running && flow.unacked.is_empty() {
            self.forget(rpc_id, retained);
        }
        true
    }

    /// The handler of stream `rpc_id` has finished (or dropped its sink).
    /// A cancelled stream is forgotten at once; otherwise its entry stays
    /// until the client has acknowledged every item.
    pub(crate) fn finish(&mut self, rpc_id: &str, number: u64, cancelled: bool, budget: &Budget) {
        let Some(flow) = self.flow(rpc_id, number) else {
            return;
        };
        flow.running = false;
        if cancelled || flow.unacked.is_empty() {
            self.forget(rpc_id, budget);
        }
    }

    /// Every unacknowledged item, stream by stream in the order they were
    /// opened, to send again on a resumed session.
    pub(crate) fn unacked(&self) -> Vec<Utf8Bytes> {
        let mut flows: Vec<&Flow> = self.flows.values().collect();
        flows.sort_by_key(|flow| flow.number);
        flows
            .into_iter()
            .flat_map(|flow| flow.unacked.iter().map(|(_, frame)| frame.clone()))
            .collect()
    }

    /// The bytes of unacknowledged items.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Forgets every stream, waking their senders (which find them gone),
    /// and gives their bytes back.
    pub(crate) fn clear(&mut self, budget: &Budget) {
        for flow in self.flows.values() {
            flow.wake.notify_one();
        }
        self.flows.clear();
        budget.give(std::mem::take(&mut self.bytes));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(n: u64) -> Utf8Bytes {
        Utf8Bytes::from(format!("item {n:04}"))
    }

    fn credit(received: u64, window: u64) -> Credit {
        Credit { received, window }
    }

    /// Offers item `n` within `max_bytes`, against `budget`.
    fn offer(
        streams: &mut Streams,
        id: &str,
        number: u64,
        n: u64,
        max_bytes: usize,
        budget: &Budget,
    ) -> Offer {
        streams.offer(id, number, n, &frame(n), max_bytes, budget)
    }

    #[test]
    fn items_wait_for_credit_and_stay_until_acknowledged() {
        let budget = Budget::new(1 << 20);
        let mut streams = Streams::default();
        let id: Arc<str> = "s".into();
        let number = streams.open(&id, 4, &budget).unwrap();
        assert!(matches!(
            offer(&mut streams, "s", number, 1, 1 << 10, &budget),
            Offer::Wait(_)
        ));
        assert!(streams.grant("s", credit(0, 2), 256, &budget));
        for n in 1..=2 {
            assert!(matches!(
                offer(&mut streams, "s", number, n, 1 << 10, &budget),
                Offer::Sent
            ));
        }
        assert!(matches!(
            offer(&mut streams, "s", number, 3, 1 << 10, &budget),
            Offer::Wait(_)
        ));
        assert_eq!(streams.unacked(), [frame(1), frame(2)]);
        assert_eq!((streams.bytes(), budget.used()), (18, 18));
        // A lower grant takes nothing back; acknowledging frees the item.
        streams.grant("s", credit(1, 0), 256, &budget);
        assert_eq!(streams.unacked(), [frame(2)]);
        assert_eq!(budget.used(), 9);
        assert!(matches!(
            offer(&mut streams, "s", number, 3, 1 << 10, &budget),
            Offer::Wait(_)
        ));
        streams.grant("s", credit(1, 5), 256, &budget);
        assert!(matches!(
            offer(&mut streams, "s", number, 3, 1 << 10, &budget),
            Offer::Sent
        ));
        // Finished: the entry stays until every item is acknowledged.
        streams.finish("s", number, false, &budget);
        assert_eq!(streams.unacked(), [frame(2), frame(3)]);
        assert!(streams.grant("s", credit(3, 0), 256, &budget));
        assert!(!streams.grant("s", credit(3, 0), 256, &budget), "gone");
        assert_eq!((streams.bytes(), budget.used()), (0, 0));
    }

    #[test]
    fn windows_are_capped_and_bytes_bounded() {
        let budget = Budget::new(1 << 20);
        let mut streams = Streams::default();
        let id: Arc<str> = "s".into();
        let number = streams.open(&id, 4, &budget).unwrap();
        streams.grant("s", credit(0, 1_000_000), 8, &budget);
        // 9 bytes an item, a budget of 20: two at a time.
        for n in 1..=2 {
            assert!(matches!(
                offer(&mut streams, "s", number, n, 20, &budget),
                Offer::Sent
            ));
        }
        assert!(matches!(
            offer(&mut streams, "s", number, 3, 20, &budget),
            Offer::Wait(_)
        ));
        // The window was capped at 8: the limit is now 2 + 8.
        streams.grant("s", credit(2, 1_000_000), 8, &budget);
        for n in 3..=10 {
            assert!(
                matches!(
                    offer(&mut streams, "s", number, n, 1 << 10, &budget),
                    Offer::Sent
                ),
                "item {n}"
            );
        }
        assert!(matches!(
            offer(&mut streams, "s", number, 11, 1 << 10, &budget),
            Offer::Wait(_)
        ));
        // One item larger than the budget goes alone.
        let mut big = Streams::default();
        let number = big.open(&id, 1, &budget).unwrap();
        big.grant("s", credit(0, 2), 8, &budget);
        assert!(matches!(
            offer(&mut big, "s", number, 1, 2, &budget),
            Offer::Sent
        ));
        assert!(matches!(
            offer(&mut big, "s", number, 2, 2, &budget),
            Offer::Wait(_)
        ));
    }

    #[test]
    fn the_server_wide_budget_holds_back_all_but_a_stream_s_first_item() {
        // Room for two items in the whole server.
        let budget = Budget::new(18);
        let mut streams = Streams::default();
        let (a, b): (Arc<str>, Arc<str>) = ("a".into(), "b".into());
        let na = streams.open(&a, 4, &budget).unwrap();
        let nb = streams.open(&b, 4, &budget).unwrap();
        streams.grant("a", credit(0, 8), 8, &budget);
        streams.grant("b", credit(0, 8), 8, &budget);
        assert!(matches!(
            offer(&mut streams, "a", na, 1, 1 << 10, &budget),
            Offer::Sent
        ));
        assert!(matches!(
            offer(&mut streams, "a", na, 2, 1 << 10, &budget),
            Offer::Sent
        ));
        assert!(matches!(
            offer(&mut streams, "a", na, 3, 1 << 10, &budget),
            Offer::Wait(_)
        ));
        // Past the budget, a stream with nothing kept still sends one.
        assert!(matches!(
            offer(&mut streams, "b", nb, 1, 1 << 10, &budget),
            Offer::Sent
        ));
        assert!(matches!(
            offer(&mut streams, "b", nb, 2, 1 << 10, &budget),
            Offer::Wait(_)
        ));
        assert_eq!(budget.used(), 27);
        streams.clear(&budget);
        assert_eq!(budget.used(), 0);
    }

    #[test]
    fn only_running_streams_count_and_finished_ones_are_capped() {
        let budget = Budget::new(1 << 20);
        let mut streams = Streams::default();
        let a = streams.open(&"a".into(), 2, &budget).unwrap();
        let b = streams.open(&"b".into(), 2, &budget).unwrap();
        assert!(
            streams.open(&"c".into(), 2, &budget).is_none(),
            "two running"
        );
        // Finished with an item unacknowledged: no longer running.
        streams.grant("a", credit(0, 4), 256, &budget);
        offer(&mut streams, "a", a, 1, 1 << 10, &budget);
        streams.finish("a", a, false, &budget);
        let c = streams.open(&"c".into(), 2, &budget).unwrap();
        assert!(streams.contains("a"), "kept for its acknowledgement");
        // A second finished one is kept; a third makes room by forgetting
        // the oldest.
        streams.grant("b", credit(0, 4), 256, &budget);
        offer(&mut streams, "b", b, 1, 1 << 10, &budget);
        streams.finish("b", b, false, &budget);
        streams.grant("c", credit(0, 4), 256, &budget);
        offer(&mut streams, "c", c, 1, 1 << 10, &budget);
        streams.finish("c", c, false, &budget);
        streams.open(&"d".into(), 2, &budget).unwrap();
        assert!(!streams.contains("a") && streams.contains("b") && streams.contains("c"));
        assert_eq!(budget.used(), 18);
        // Cancelled: forgotten at once.
        assert!(streams.forget_finished("b", &budget));
        assert!(matches!(
            offer(&mut streams, "b", b, 2, 1 << 10, &budget),
            Offer::Closed
        ));
        assert_eq!(budget.used(), 9);
    }
}
