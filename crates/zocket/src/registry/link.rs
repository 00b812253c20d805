//! The handle through which everything but the connection task reaches a
//! connection: a bounded outbound queue and a stop signal. Sessions write
//! into it; the connection layer's writer drains it.
//!
//! The queue is a `VecDeque` behind a mutex that the writer empties in one
//! swap per batch: it allocates nothing for an idle connection beyond the
//! few slots its last batch needed.

use super::{ClientId, DisconnectReason};
use crate::config::Config;
use crate::protocol::{EventFrame, WhenFull};
use axum::extract::ws::Utf8Bytes;
use futures_util::task::AtomicWaker;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::task::{Context, Poll};
use tokio::sync::Notify;

/// A frame waiting in a connection's outbound queue.
pub(crate) enum Outbound {
    /// A complete text frame (`__ready`, replies, errors).
    Text(Utf8Bytes),
    /// An event and its `seq` in the session, or, for a droppable event
    /// (see [`WhenFull`](crate::protocol::WhenFull)), how many of its kind
    /// were dropped for this connection before it.
    Event(Arc<EventFrame>, u64),
    /// A heartbeat ping.
    Ping,
}

/// The close frame to send, and whether queued frames go out first.
pub(crate) type CloseCommand = Option<((u16, String), bool)>;

/// What the writer takes from the queue.
pub(crate) enum Take {
    /// Frames to write, in order.
    Frames,
    /// The frames (if any) to write before the close frame, then the close.
    Close(CloseCommand),
}

impl Outbound {
    /// The bytes the frame pins while queued (an event's shared bytes are
    /// counted for each connection it is queued for).
    fn bytes(&self) -> usize {
        match self {
            Self::Text(text) => text.len(),
            Self::Event(event, _) => event.len() + 20,
            Self::Ping => 2,
        }
    }
}

struct Queue {
    frames: VecDeque<Outbound>,
    /// The bytes of `frames`.
    bytes: usize,
    close: Option<CloseCommand>,
    /// The writer is gone: frames are dropped.
    closed: bool,
    /// Droppable events dropped since the last of their kind was queued,
    /// by event name: the next one queued carries the count.
    dropped: Vec<(Box<str>, u64)>,
}

/// The shared half of a connection.
pub(crate) struct Link {
    pub(crate) id: ClientId,
    queue: Mutex<Queue>,
    /// Frames queued at most.
    capacity: usize,
    /// Bytes queued at most.
    byte_budget: usize,
    /// Notified each time the writer takes a batch.
    drained: Notify,
    /// Whether the queue is half full: read on every frame without a lock.
    backed_up: AtomicBool,
    writer: AtomicWaker,
    /// Set while the connection's task polls its reader: the task polls
    /// the writer right after, so a frame queued meanwhile (a reply the
    /// reader produced, most often) needs no wake-up, which would only
    /// poll the task once more for nothing.
    reading: AtomicBool,
    reason: OnceLock<DisconnectReason>,
    /// Set (then the reader woken) when the connection is asked to stop: a
    /// flag and a waker, so the reader checks it without a lock per frame.
    stopped: AtomicBool,
    waker: AtomicWaker,
}

impl Link {
    /// A link for `id` within the outbound limits of `config`.
    pub(crate) fn new(id: ClientId, config: &Config) -> Self {
        Self {
            id,
            queue: Mutex::new(Queue {
                frames: VecDeque::new(),
                bytes: 0,
                close: None,
                closed: false,
                dropped: Vec::new(),
            }),
            capacity: config.outbound_queue,
            byte_budget: config.outbound_queue_bytes,
            drained: Notify::new(),
            backed_up: AtomicBool::new(false),
            writer: AtomicWaker::new(),
            reading: AtomicBool::new(false),
            reason: OnceLock::new(),
            stopped: AtomicBool::new(false),
            waker: AtomicWaker::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Queues a frame. An event (pushed by the server, not asked for)
    /// that finds the queue full, in frames or bytes, means a slow
    /// consumer: the connection is stopped rather than allowed to grow
    /// without bound; an ephemeral one follows its `WhenFull` policy
    /// instead ([`make_room`](Self::make_room)). Replies and errors (answers to the client's own
    /// frames) are always queued: the client's frames are not read while
    /// the queue is [backed up](Self::is_backed_up), which bounds them.
    pub(crate) fn push(&self, frame: Outbound) {
        self.enqueue(frame, true);
    }

    /// Queues the replay of a resumed session's history, however full the
    /// queue: the history is bounded by its own byte budget, and it must
    /// not close the connection it is replayed to.
    pub(crate) fn push_replay(&self, frame: Outbound) {
        self.enqueue(frame, false);
    }

    /// Queues a frame; with `slow_consumers`, an event into a full queue
    /// stops the connection instead.
    fn enqueue(&self, frame: Outbound, slow_consumers: bool) {
        let bytes = frame.bytes();
        let mut queue = self.lock();
        if queue.closed || queue.close.is_some() {
            // The connection is ending; its end is reported.
            return;
        }
        // One frame, however large, always fits an empty queue.
        let full = !queue.frames.is_empty()
            && (queue.frames.len() >= self.capacity || queue.bytes + bytes > self.byte_budget);
        let mut frame = frame;
        if let Outbound::Event(event, n) = &mut frame
            && event.policy().is_droppable()
        {
            match self.make_room(&mut queue, event, bytes) {
                Some(dropped) => *n = dropped,
                None => return,
            }
        } else if slow_consumers && full && matches!(frame, Outbound::Event(..)) {
            drop(queue);
            tracing::warn!(
                client = self.id.short(),
                "outbound queue full: closing slow consumer"
            );
            crate::metrics::slow_consumer();
            self.stop(DisconnectReason::SlowConsumer);
            return;
        }
        queue.bytes += bytes;
        queue.frames.push_back(frame);
        if self.half_full(&queue) {
            self.backed_up.store(true, Ordering::Release);
        }
        drop(queue);
        // Sequentially consistent, like the stores in `reading`: a push
        // that sees the flag set is taken by the writer's poll that
        // follows the flag's reset.
        if !self.reading.load(Ordering::SeqCst) {
            self.writer.wake();
        }
    }

    /// Polls the reader of this link's connection with `poll`, during
    /// which queued frames wake nobody: the caller polls the writer next.
    pub(crate) fn reading<T>(&self, poll: impl FnOnce() -> T) -> T {
        self.reading.store(true, Ordering::SeqCst);
        let out = poll();
        self.reading.store(false, Ordering::SeqCst);
        out
    }

    /// For a droppable event of `bytes`: applies its policy when the
    /// queue has no room for it, and returns the number of its kind
    /// dropped before it (for its frame), or `None` when it is dropped
    /// itself. The byte budget always holds; `Latest` may go one frame
    /// over the frame limit per event kind, never more: it replaces what
    /// was queued of its kind.
    fn make_room(&self, queue: &mut Queue, event: &EventFrame, bytes: usize) -> Option<u64> {
        let at = queue
            .dropped
            .iter()
            .position(|(name, _)| **name == *event.name());
        let mut dropped = at.map_or(0, |at| queue.dropped.swap_remove(at).1);
        let policy = event.policy();
        let latest = policy == WhenFull::Latest;
        let fits = |queue: &Queue| {
            queue.frames.is_empty()
                || (queue.bytes + bytes <= self.byte_budget
                    && (latest || queue.frames.len() < self.capacity))
        };
        let same = |out: &Outbound| matches!(out, Outbound::Event(queued, _) if queued.name() == event.name());
        let full = !queue.frames.is_empty()
            && (queue.frames.len() >= self.capacity || queue.bytes + bytes > self.byte_budget);
        if full {
            match policy {
                WhenFull::Latest => {
                    let mut i = 0;
                    while i < queue.frames.len() {
                        if same(&queue.frames[i])
                            && let Some(removed) = queue.frames.remove(i)
                        {
                            queue.bytes -= removed.bytes();
                            if let Outbound::Event(_, before) = removed {
                                dropped += before + 1;
                            }
                            crate::metrics::event_dropped(policy.as_str());
                        } else {
                            i += 1;
                        }
                    }
                }
                WhenFull::DropOldest => {
                    // The oldest of its kind go until this one fits.
                    while !fits(queue)
                        && let Some(i) = queue.frames.iter().position(same)
                        && let Some(removed) = queue.frames.remove(i)
                    {
                        crate::metrics::event_dropped(policy.as_str());
                        queue.bytes -= removed.bytes();
                        let before = match removed {
                            Outbound::Event(_, before) => before,
                            _ => 0,
                        };
                        // The next of its kind now follows what came before
                        // the dropped one: it carries its count.
                        match queue.frames.iter_mut().skip(i).find(|out| same(out)) {
                            Some(Outbound::Event(_, count)) => *count += before + 1,
                            _ => dropped += before + 1,
                        }
                    }
                }
                WhenFull::Drop | WhenFull::Close => {}
            }
            if !fits(queue) {
                // No room even so: this one goes, and the next says so.
                queue.dropped.push((event.name().into(), dropped + 1));
                crate::metrics::event_dropped(policy.as_str());
                return None;
            }
        }
        Some(dropped)
    }

    /// Whether the queue is half full or more (in frames or bytes): the
    /// connection's next frame is not read until the writer catches up.
    pub(crate) fn is_backed_up(&self) -> bool {
        self.backed_up.load(Ordering::Acquire)
    }

    fn half_full(&self, queue: &Queue) -> bool {
        queue.frames.len() >= self.capacity.div_ceil(2)
            || queue.bytes >= self.byte_budget.div_ceil(2)
    }

    /// After the writer took what was queued.
    fn taken(&self, queue: MutexGuard<'_, Queue>) {
        // Only a queue that was backed up can have a reader waiting.
        let was_backed_up = self.backed_up.swap(false, Ordering::AcqRel);
        drop(queue);
        if was_backed_up {
            self.drained.notify_waiters();
        }
    }

    /// Resolves once the queue is no longer [backed up](Self::is_backed_up).
    pub(crate) async fn drained(&self) {
        loop {
            let taken = self.drained.notified();
            if !self.is_backed_up() {
                return;
            }
            taken.await;
        }
    }

    /// The bytes queued now.
    pub(crate) fn queued_bytes(&self) -> usize {
        self.lock().bytes
    }

    /// Asks the writer to finish with `command` (a close frame or none).
    pub(crate) fn close(&self, command: CloseCommand) {
        self.lock().close = Some(command);
        self.writer.wake();
    }

    /// For the writer: moves what is queued into `batch` (empty on entry),
    /// or says to close, or registers the writer to be woken.
    pub(crate) fn poll_take(
        &self,
        cx: &mut Context<'_>,
        batch: &mut VecDeque<Outbound>,
    ) -> Poll<Take> {
        let mut queue = self.lock();
        if let Some(command) = queue.close.take() {
            let flush_first = command.as_ref().is_some_and(|(_, flush)| *flush);
            if flush_first {
                std::mem::swap(&mut queue.frames, batch);
            }
            queue.closed = true;
            queue.frames = VecDeque::new();
            queue.bytes = 0;
            self.taken(queue);
            return Poll::Ready(Take::Close(command));
        }
        if !queue.frames.is_empty() {
            std::mem::swap(&mut queue.frames, batch);
            queue.bytes = 0;
            self.taken(queue);
            return Poll::Ready(Take::Frames);
        }
        self.writer.register(cx.waker());
        Poll::Pending
    }

    /// For the writer, when it stops: later frames are dropped.
    pub(crate) fn writer_gone(&self) {
        let mut queue = self.lock();
        queue.closed = true;
        queue.frames = VecDeque::new();
        queue.bytes = 0;
        self.taken(queue);
    }

    /// Asks the connection to end; the first reason given wins.
    pub(crate) fn stop(&self, reason: DisconnectReason) {
        if self.reason.set(reason).is_ok() {
            self.stopped.store(true, Ordering::Release);
            self.waker.wake();
        }
    }

    /// Makes `waker` (the reader's task) wake up when the connection is
    /// asked to stop. Registered once: a task's waker stays valid.
    pub(crate) fn register_reader(&self, waker: &std::task::Waker) {
        self.waker.register(waker);
    }

    /// Ready once someone asked the connection to stop; cheap to poll (an
    /// atomic load), relying on [`register_reader`](Self::register_reader)
    /// for the wake-up.
    pub(crate) fn stopped(&self) -> impl Future<Output = ()> + '_ {
        std::future::poll_fn(|_| {
            if self.stopped.load(Ordering::Acquire) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
    }

    /// Why the connection was asked to stop, if it was.
    pub(crate) fn requested_stop(&self) -> Option<DisconnectReason> {
        self.reason.get().cloned()
    }

    /// Why the connection was asked to stop.
    pub(crate) fn stop_reason(&self) -> DisconnectReason {
        self.reason
            .get()
            .cloned()
            .unwrap_or(DisconnectReason::Shutdown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(name: &str, payload_bytes: usize, policy: WhenFull) -> Outbound {
        let payload = format!("\"{}\"", "x".repeat(payload_bytes));
        Outbound::Event(Arc::new(EventFrame::new(name, &payload, policy)), 0)
    }

    fn link(frames: usize, bytes: usize) -> Link {
        let config = Config::default()
            .outbound_queue(frames)
            .outbound_queue_bytes(bytes);
        Link::new(ClientId::random(), &config)
    }

    #[test]
    fn droppable_events_never_take_the_queue_past_its_byte_budget() {
        for policy in [WhenFull::Drop, WhenFull::DropOldest, WhenFull::Latest] {
            let link = link(1024, 4096);
            // Small events of one kind, then large ones of the same kind.
            for _ in 0..100 {
                link.push(event("tick", 10, policy));
            }
            for _ in 0..100 {
                link.push(event("tick", 1000, policy));
                assert!(
                    link.queued_bytes() <= 4096,
                    "{policy:?}: {} bytes",
                    link.queued_bytes()
                );
            }
            // A kind that cannot make room for itself is dropped, counted.
            link.push(event("other", 5000, policy));
            assert!(link.queued_bytes() <= 4096, "{policy:?}");
            let queue = link.lock();
            assert!(
                queue
                    .dropped
                    .iter()
                    .any(|(name, n)| &**name == "other" && *n == 1),
                "{policy:?}"
            );
        }
    }

    /// Counts its wake-ups.
    struct Count(std::sync::atomic::AtomicUsize);

    impl std::task::Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_frame_queued_while_the_reader_runs_wakes_nobody_and_is_taken_next() {
        let link = link(1024, 1 << 20);
        let count = Arc::new(Count(Default::default()));
        let waker = std::task::Waker::from(count.clone());
        let mut cx = Context::from_waker(&waker);
        let mut batch = VecDeque::new();
        assert!(link.poll_take(&mut cx, &mut batch).is_pending());
        // The reader's reply: the writer is polled right after, no wake-up.
        link.reading(|| link.push(Outbound::Text("reply".into())));
        assert_eq!(count.0.load(Ordering::SeqCst), 0);
        assert!(matches!(
            link.poll_take(&mut cx, &mut batch),
            Poll::Ready(Take::Frames)
        ));
        assert_eq!(batch.len(), 1);
        batch.clear();
        // A frame from elsewhere (an event) wakes the connection's task.
        assert!(link.poll_take(&mut cx, &mut batch).is_pending());
        link.push(Outbound::Text("event".into()));
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert!(matches!(
            link.poll_take(&mut cx, &mut batch),
            Poll::Ready(Take::Frames)
        ));
    }
}
