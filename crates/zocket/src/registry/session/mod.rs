//! Sessions: what outlives a connection for the retention window so that a
//! client can come back to its id, rooms, context and missed events.
//!
//! A session has at most one live connection (its [`Link`]). Events get
//! their `seq` here, under the session's lock, and are kept in a bounded
//! history; replies go to whichever connection is current, and are kept
//! by `rpcId` so that a call resent after a reconnect runs once.

mod replies;
mod streams;

pub(crate) use replies::{Begin, Ticket};
pub(crate) use streams::Offer;

use super::store::{ForwardReply, KeptEvent, SessionRecord, SessionSnapshot};
use super::{ClientId, Connection, DisconnectReason, EncodedEvent, Hub, Link, Outbound, SessionId};
use crate::protocol::{Close, EventFrame};
use axum::extract::ws::Utf8Bytes;
use futures_util::FutureExt;
use replies::Replies;
use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, MutexGuard};
use streams::Streams;
use tokio::sync::Notify;
use zocket_protocol::{PROTOCOL_VERSION, Ready};

/// The state of one client, shared by its connections and its handlers.
pub(crate) struct Session<C> {
    pub(crate) id: ClientId,
    pub(crate) session_id: SessionId,
    pub(crate) app: C,
    pub(crate) hub: Arc<Hub<C>>,
    /// The rooms the client is in, counted against `max_rooms`.
    pub(crate) rooms: std::sync::atomic::AtomicUsize,
    state: Mutex<State>,
    /// Notified once the session has ended (`state.ended`).
    ended: Notify,
}

struct State {
    /// The last `seq` given to an event.
    seq: u64,
    /// The latest events, for replay on recovery.
    history: VecDeque<(u64, Arc<EventFrame>)>,
    /// What `history` holds, in bytes.
    history_bytes: usize,
    /// The live connection, if any.
    link: Option<Arc<Link>>,
    /// Counts the connections this session has had.
    generation: u64,
    replies: Replies,
    /// The task that ends the session when the retention window passes.
    expiry: Option<tokio::task::AbortHandle>,
    /// Set when the session starts ending: no connection may attach.
    ended: bool,
    /// Set once `on_disconnect` has run.
    finished: bool,
    /// The calls running in their own task, by `rpcId`: what `__cancel`
    /// stops.
    running: std::collections::HashMap<Arc<str>, (u64, tokio_util::sync::CancellationToken)>,
    /// Numbers the calls in `running`, so a call only forgets its own
    /// entry (a client may reuse an `rpcId` while the first still runs).
    calls_tracked: u64,
    /// The streams: their credit and unacknowledged items.
    streams: Streams,
    /// Set while the session is moving here from another node: what
    /// reaches it until the other node's snapshot arrives.
    pending: Option<Pending>,
    /// Set once the session moved to another node: where the replies of
    /// its calls still running here go.
    forward: Option<ForwardReply>,
}

/// What reached a session moving here before its snapshot did.
#[derive(Default)]
struct Pending {
    events: Vec<EncodedEvent>,
    bytes: usize,
    /// More than the history holds arrived: the move cannot be whole.
    overflowed: bool,
    /// Replies forwarded by the old node, `(rpc_id, reply)`: they may
    /// overtake the snapshot.
    replies: Vec<(String, String)>,
    /// What `replies` holds, in bytes.
    reply_bytes: usize,
}

impl State {
    /// Whether a client that has seen events up to `last_seq` can resume:
    /// every later event is still in the history.
    fn can_resume(&self, last_seq: u64) -> bool {
        if self.ended || last_seq > self.seq {
            return false;
        }
        last_seq == self.seq
            || self
                .history
                .front()
                .is_some_and(|(first, _)| *first <= last_seq + 1)
    }
}

/// What one event pins in a session's history.
fn history_bytes(event: &EventFrame) -> usize {
    event.len() + 40
}

/// What a session holds for recovery, in bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Held {
    /// Its history of events.
    pub(crate) history: usize,
    /// Its reply cache.
    pub(crate) replies: usize,
    /// Its live connection's outbound queue.
    pub(crate) queued: usize,
    /// Its streams' items not acknowledged yet.
    pub(crate) streams: usize,
}

impl<C: Send + Sync + 'static> Session<C> {
    /// The bytes this session holds now.
    pub(crate) fn held(&self) -> Held {
        let state = self.lock();
        Held {
            history: state.history_bytes,
            replies: state.replies.bytes(),
            queued: state.link.as_ref().map_or(0, |link| link.queued_bytes()),
            streams: state.streams.bytes(),
        }
    }

    pub(crate) fn new(id: ClientId, app: C, hub: Arc<Hub<C>>) -> Self {
        Self::with_ids(id, SessionId::random(), app, hub, None)
    }

    /// A session moving here from another node: it keeps what reaches it
    /// until [`complete`](Self::complete) brings its snapshot.
    pub(crate) fn moving(id: ClientId, session_id: SessionId, app: C, hub: Arc<Hub<C>>) -> Self {
        Self::with_ids(id, session_id, app, hub, Some(Pending::default()))
    }

    fn with_ids(
        id: ClientId,
        session_id: SessionId,
        app: C,
        hub: Arc<Hub<C>>,
        pending: Option<Pending>,
    ) -> Self {
        let replies = Replies::new(
            if hub.config.retention.is_zero() {
                0
            } else {
                hub.config.reply_cache
            },
            hub.config.reply_cache_bytes,
        );
        Self {
            id,
            session_id,
            app,
            hub,
            rooms: std::sync::atomic::AtomicUsize::new(0),
            state: Mutex::new(State {
                seq: 0,
                history: VecDeque::new(),
                history_bytes: 0,
                link: None,
                generation: 0,
                replies,
                expiry: None,
                ended: false,
                finished: false,
                running: std::collections::HashMap::new(),
                calls_tracked: 0,
                streams: Streams::default(),
                pending,
                forward: None,
            }),
            ended: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether a client that has seen events up to `last_seq` can resume:
    /// every later event is still in the history.
    pub(crate) fn can_resume(&self, last_seq: u64) -> bool {
        self.lock().can_resume(last_seq)
    }

    /// Makes `link` the live connection: `__ready` first, then (when
    /// resuming) every retained event after `resume_from`, all before any
    /// new event. A previous live connection is closed as `replaced`.
    /// Returns the connection's generation, or `None` if the session ended
    /// or, for a resume, no longer holds every event after `resume_from`
    /// (events came between the handshake's check and now).
    pub(crate) fn attach(&self, link: Arc<Link>, resume_from: Option<u64>) -> Option<u64> {
        let mut state = self.lock();
        if state.ended
            || state.pending.is_some()
            || resume_from.is_some_and(|last_seq| !state.can_resume(last_seq))
        {
            return None;
        }
        if let Some(expiry) = state.expiry.take() {
            expiry.abort();
            self.hub.release_retained();
        }
        if let Some(old) = state.link.take() {
            old.stop(DisconnectReason::Replaced);
        }
        state.generation += 1;
        let generation = state.generation;
        state.replies.new_generation(generation);
        let ready = Ready {
            client_id: self.id.as_str().to_owned(),
            session_id: self.session_id.expose().to_owned(),
            protocol_version: PROTOCOL_VERSION,
            recovered: resume_from.is_some(),
            schema_hash: self.hub.schema_hash.clone(),
        };
        link.push(Outbound::Text(ready.to_frame().into()));
        if let Some(last_seq) = resume_from {
            for (seq, event) in state.history.iter().filter(|(seq, _)| *seq > last_seq) {
                link.push_replay(Outbound::Event(event.clone(), *seq));
            }
            // Then the items the client has not acknowledged: it drops
            // those it has (by `n`).
            for item in state.streams.unacked() {
                link.push_replay(Outbound::Text(item));
            }
        }
        state.link = Some(link);
        Some(state.generation)
    }

    /// This session as an adapter's recipient of events.
    pub(crate) fn recipient(self: &Arc<Self>) -> super::Recipient {
        super::Recipient(self.clone())
    }

    /// Numbers an event, keeps it for replay, and queues it for the live
    /// connection.
    pub(crate) fn deliver(&self, event: &EncodedEvent) {
        let mut state = self.lock();
        if state.ended {
            return;
        }
        if event.policy().is_droppable() {
            // Ephemeral: no `seq`, no history; the queue counts drops.
            if let Some(link) = &state.link {
                link.push(Outbound::Event(event.frame.clone(), 0));
            }
            return;
        }
        if let Some(pending) = &mut state.pending {
            let bytes = history_bytes(&event.frame);
            if pending.bytes + bytes > self.hub.config.history_bytes {
                pending.overflowed = true;
            } else {
                pending.bytes += bytes;
                pending.events.push(event.clone());
            }
            return;
        }
        self.append(&mut state, event);
    }

    /// Numbers an event and keeps it in the history (within its budgets);
    /// queues it for the live connection.
    fn append(&self, state: &mut State, event: &EncodedEvent) {
        let config = &self.hub.config;
        state.seq += 1;
        let seq = state.seq;
        if config.history > 0 && !config.retention.is_zero() {
            let bytes = history_bytes(&event.frame);
            while let Some((_, oldest)) = state.history.front()
                && (state.history.len() >= config.history
                    || state.history_bytes + bytes > config.history_bytes)
            {
                let freed = history_bytes(oldest);
                state.history.pop_front();
                state.history_bytes -= freed;
                self.hub.retained.give(freed);
            }
            if bytes <= config.history_bytes && self.hub.retained.take(bytes) {
                state.history.push_back((seq, event.frame.clone()));
                state.history_bytes += bytes;
            } else {
                // Not kept: the history would have a gap, so what it holds
                // can no longer make a resume whole.
                let freed = std::mem::take(&mut state.history_bytes);
                state.history.clear();
                self.hub.retained.give(freed);
            }
        }
        if let Some(link) = &state.link {
            link.push(Outbound::Event(event.frame.clone(), seq));
        }
    }

    /// Sends a frame (an error, a reply to a message) to the live connection.
    pub(crate) fn send(&self, frame: String) {
        if let Some(link) = &self.lock().link {
            link.push(Outbound::Text(frame.into()));
        }
    }

    /// Registers a call with an `rpcId` arriving on connection `generation`.
    pub(crate) fn begin_call(&self, rpc_id: &Arc<str>, generation: u64) -> Begin {
        let mut state = self.lock();
        if state.forward.is_some() {
            // Moved to another node, whose snapshot does not have this
            // call: not run here (the client sends it again there).
            return Begin::Lost;
        }
        if generation != state.generation {
            // From a connection already replaced: nothing to keep.
            return Begin::Run(Ticket::NONE);
        }
        if state.running.contains_key(rpc_id) || state.streams.is_running(rpc_id) {
            // Still running (its slot in the reply cache may have been
            // reused meanwhile): its reply goes to the live connection.
            // A finished one is answered from the reply cache.
            return Begin::Running;
        }
        state.replies.begin(rpc_id, &self.hub.retained)
    }

    /// Registers a call running in its own task, for [`cancel_call`](Self::cancel_call).
    /// Returns the call's number and its token.
    pub(crate) fn track_call(
        &self,
        rpc_id: &Arc<str>,
    ) -> (u64, tokio_util::sync::CancellationToken) {
        let token = tokio_util::sync::CancellationToken::new();
        let mut state = self.lock();
        state.calls_tracked += 1;
        let number = state.calls_tracked;
        state
            .running
            .insert(rpc_id.clone(), (number, token.clone()));
        (number, token)
    }

    /// Forgets a call that finished, if the entry is still its own.
    pub(crate) fn untrack_call(&self, rpc_id: &str, number: u64) {
        let mut state = self.lock();
        if state.running.get(rpc_id).is_some_and(|(n, _)| *n == number) {
            state.running.remove(rpc_id);
        }
    }

    /// Stops the call `rpc_id` if it is running; `false` when it is not
    /// (finished, never started, or unknown). A finished stream's items
    /// kept for the client are forgotten.
    pub(crate) fn cancel_call(&self, rpc_id: &str) -> bool {
        let mut state = self.lock();
        match state.running.remove(rpc_id) {
            Some((_, token)) => {
                token.cancel();
                true
            }
            None => {
                state.streams.forget_finished(rpc_id, &self.hub.retained);
                false
            }
        }
    }

    /// Opens stream `rpc_id` for connection `generation`; `None` when the
    /// connection has `max_streams` running already, or has been replaced
    /// (its streams would have no reader).
    pub(crate) fn open_stream(&self, rpc_id: &Arc<str>, generation: u64) -> Option<u64> {
        let max = self.hub.config.max_streams;
        let mut state = self.lock();
        if state.generation != generation {
            return None;
        }
        state.streams.open(rpc_id, max, &self.hub.retained)
    }

    /// The number of the session's latest connection.
    #[cfg(feature = "testing")]
    pub(crate) fn generation(&self) -> u64 {
        self.lock().generation
    }

    /// Whether connection `generation` is this session's latest.
    pub(crate) fn is_current(&self, generation: u64) -> bool {
        self.lock().generation == generation
    }

    /// Sends item `n` of a stream (its `frame`) if the client's credit
    /// and the stream's byte budget allow it; it is kept until the client
    /// acknowledges it.
    pub(crate) fn offer_item(&self, rpc_id: &str, number: u64, n: u64, frame: &Utf8Bytes) -> Offer {
        let budget = self.hub.config.stream_buffer_bytes;
        let mut state = self.lock();
        let offer = state
            .streams
            .offer(rpc_id, number, n, frame, budget, &self.hub.retained);
        if let (Offer::Sent, Some(link)) = (&offer, &state.link) {
            link.push(Outbound::Text(frame.clone()));
        }
        offer
    }

    /// Takes a client's `__credit` for stream `rpc_id`; `false` when no
    /// such stream is open.
    pub(crate) fn grant(&self, rpc_id: &str, credit: zocket_protocol::Credit) -> bool {
        let max_window = self.hub.config.max_stream_window;
        self.lock()
            .streams
            .grant(rpc_id, credit, max_window, &self.hub.retained)
    }

    /// The handler of a stream has finished (or was cancelled).
    pub(crate) fn finish_stream(&self, rpc_id: &str, number: u64, cancelled: bool) {
        self.lock()
            .streams
            .finish(rpc_id, number, cancelled, &self.hub.retained);
    }

    /// Stores a call's reply and sends it to the live connection; once the
    /// session moved to another node, forwards it there.
    pub(crate) fn finish_call(&self, ticket: Ticket, rpc_id: &str, frame: String) {
        let frame = Utf8Bytes::from(frame);
        let mut state = self.lock();
        if let Some(forward) = &state.forward {
            forward(rpc_id, &frame);
            return;
        }
        state
            .replies
            .finish(ticket, frame.as_str(), &self.hub.retained);
        if let Some(link) = &state.link {
            link.push(Outbound::Text(frame));
        }
    }

    /// The live connection, if any.
    pub(crate) fn link(&self) -> Option<Arc<Link>> {
        self.lock().link.clone()
    }

    /// Stops delivering to `link` as soon as its connection stops reading;
    /// `false` when a newer connection has already replaced it.
    pub(crate) fn detach(&self, link: &Arc<Link>) -> bool {
        let mut state = self.lock();
        if !state
            .link
            .as_ref()
            .is_some_and(|live| Arc::ptr_eq(live, link))
        {
            return false;
        }
        state.link = None;
        true
    }

    /// Called once a detached connection has closed with `reason`: a
    /// transient drop keeps the session for the retention window (unless a
    /// new connection resumed it meanwhile); anything else ends it.
    pub(crate) async fn connection_ended(self: &Arc<Self>, reason: DisconnectReason) {
        let kept = {
            let mut state = self.lock();
            if state.link.is_some() || state.ended {
                // Resumed already, or over.
                return;
            }
            // A node of a cluster shutting down keeps its sessions for the
            // nodes its clients reconnect to.
            let moves = self.hub.cluster.is_some() && reason == DisconnectReason::Shutdown;
            (reason.is_transient() && !self.hub.shutdown.is_cancelled() || moves)
                && self.keep(&mut state, reason.clone())
        };
        if !kept {
            return self.end(reason).await;
        }
        tracing::info!(
            client = self.id.short(),
            "connection lost; session kept for recovery"
        );
        if let Some(hook) = &self.hub.hooks.on_connection_lost {
            let hook = hook(Connection(self.clone()));
            if AssertUnwindSafe(hook).catch_unwind().await.is_err() {
                tracing::error!("on_connection_lost panicked");
            }
        }
    }

    /// Keeps the session without a connection for the retention window,
    /// then ends it with `reason`; `false` when it cannot be kept (recovery
    /// off, or `max_retained_sessions` kept already).
    fn keep(self: &Arc<Self>, state: &mut State, reason: DisconnectReason) -> bool {
        let retention = self.hub.config.retention;
        if retention.is_zero() || state.ended || !self.hub.retain_one() {
            return false;
        }
        let session = self.clone();
        let expiry = tokio::spawn(async move {
            tokio::time::sleep(retention).await;
            // From here on nothing may abort this task: `end` awaits
            // `on_disconnect`.
            if session.lock().expiry.take().is_some() {
                session.hub.release_retained();
            }
            session.end(reason).await;
        });
        if let Some(old) = state.expiry.replace(expiry.abort_handle()) {
            old.abort();
            self.hub.release_retained();
        }
        true
    }

    /// The session's record, for a session store.
    pub(crate) fn record(&self, context: serde_json::Value) -> SessionRecord {
        SessionRecord {
            session_id: self.session_id.expose().to_owned(),
            client_id: self.id.as_str().to_owned(),
            context,
            rooms: self.hub.adapter.rooms(&self.id),
        }
    }

    /// Takes the session out of this node for another one (see
    /// [`LocalSessions::hand_over`](super::store::LocalSessions::hand_over)):
    /// out of its rooms first, so that every event either reached it here
    /// (and is in the snapshot) or goes to the other node; then its
    /// connection closed as replaced, its streams stopped, and what it
    /// holds given back. No `on_disconnect`: the session goes on there.
    pub(crate) fn hand_over(
        self: &Arc<Self>,
        context: serde_json::Value,
        forward: ForwardReply,
    ) -> Option<SessionSnapshot> {
        {
            let state = self.lock();
            if state.ended || state.pending.is_some() {
                return None;
            }
        }
        let record = self.record(context);
        self.hub.adapter.remove(&self.id);
        let (snapshot, link, running) = {
            let mut state = self.lock();
            if state.ended || state.pending.is_some() {
                return None;
            }
            state.ended = true;
            state.finished = true;
            if let Some(expiry) = state.expiry.take() {
                expiry.abort();
                self.hub.release_retained();
            }
            let history = state
                .history
                .drain(..)
                .map(|(seq, event)| KeptEvent {
                    seq,
                    name: event.name().to_owned(),
                    payload: event.payload_json().to_owned(),
                    policy: super::store::policy_byte(event.policy()),
                    origin: event
                        .origin()
                        .map(|(node, n)| ((node >> 64) as u64, node as u64, n)),
                })
                .collect();
            let mut calls = state.replies.export();
            // Streams stop here, their items not acknowledged yet with
            // them: a resent open frame is answered `REPLY_LOST` there,
            // never run twice, never ended without all its items.
            let mut running = Vec::new();
            for call in &mut calls {
                if state.streams.contains(&call.rpc_id) {
                    call.running = false;
                    call.reply = None;
                    if let Some((_, token)) = state.running.remove(call.rpc_id.as_str()) {
                        running.push(token);
                    }
                }
            }
            state.streams.clear(&self.hub.retained);
            let freed = std::mem::take(&mut state.history_bytes) + state.replies.clear();
            self.hub.retained.give(freed);
            state.forward = Some(forward);
            let snapshot = SessionSnapshot {
                record,
                seq: state.seq,
                history,
                calls,
            };
            (snapshot, state.link.take(), running)
        };
        for token in running {
            token.cancel();
        }
        if let Some(link) = link {
            link.stop(DisconnectReason::Replaced);
        }
        self.hub.remove(self);
        self.ended.notify_waiters();
        tracing::info!(client = self.id.short(), "session moved to another node");
        crate::metrics::session_moved("out");
        Some(snapshot)
    }

    /// Brings in the snapshot of a session moving here (`None`: its node
    /// did not answer; it starts again from its record, with no history).
    /// The events that reached it meanwhile follow the snapshot's, those
    /// already in it once. The session is then kept for its client for the
    /// retention window.
    pub(crate) fn complete(self: &Arc<Self>, snapshot: Option<SessionSnapshot>) {
        let mut state = self.lock();
        if state.ended {
            // Ended while moving (a `disconnect`, a shutdown): nothing to
            // take in.
            return;
        }
        let Some(pending) = state.pending.take() else {
            return;
        };
        if let Some(snapshot) = snapshot {
            let global = &self.hub.retained;
            let mut seen = std::collections::HashSet::new();
            for kept in snapshot.history {
                let Ok(event) = EncodedEvent::from_json(
                    &kept.name,
                    &kept.payload,
                    super::store::policy_of(kept.policy),
                ) else {
                    continue;
                };
                let event = match kept.origin {
                    Some((high, low, n)) => {
                        let node = (u128::from(high) << 64) | u128::from(low);
                        seen.insert((node, n));
                        event.with_origin(node, n)
                    }
                    None => event,
                };
                let bytes = history_bytes(&event.frame);
                global.overdraw(bytes);
                state.history_bytes += bytes;
                state.history.push_back((kept.seq, event.frame));
            }
            // Within this node's budgets, which may be smaller than the
            // old node's: the oldest go first.
            let config = &self.hub.config;
            while let Some((_, oldest)) = state.history.front()
                && (state.history.len() > config.history
                    || state.history_bytes > config.history_bytes)
            {
                let freed = history_bytes(oldest);
                state.history.pop_front();
                state.history_bytes -= freed;
                global.give(freed);
            }
            state.seq = snapshot.seq;
            state.replies.import(snapshot.calls, global);
            for (rpc_id, reply) in &pending.replies {
                state.replies.finish_forwarded(rpc_id, reply, global);
            }
            for event in pending.events {
                if event.origin().is_none_or(|id| !seen.contains(&id)) {
                    self.append(&mut state, &event);
                }
            }
            if pending.overflowed {
                // A gap: no resume can be whole.
                let freed = std::mem::take(&mut state.history_bytes);
                state.history.clear();
                global.give(freed);
                state.seq += 1;
            }
        }
        self.keep(
            &mut state,
            DisconnectReason::Error("not resumed after a move".into()),
        );
    }

    /// The reply of a call that was running on the node this session moved
    /// from: kept, and sent to the live connection.
    pub(crate) fn forwarded_reply(&self, rpc_id: &str, reply: &str) {
        let mut state = self.lock();
        let state = &mut *state;
        if let Some(pending) = &mut state.pending {
            // Before the snapshot: applied once it is in.
            let bytes = rpc_id.len() + reply.len();
            if pending.reply_bytes + bytes <= self.hub.config.reply_cache_bytes {
                pending.reply_bytes += bytes;
                pending.replies.push((rpc_id.to_owned(), reply.to_owned()));
            }
            return;
        }
        let reply = Utf8Bytes::from(reply.to_owned());
        if state
            .replies
            .finish_forwarded(rpc_id, reply.as_str(), &self.hub.retained)
            && let Some(link) = &state.link
        {
            link.push(Outbound::Text(reply));
        }
    }

    /// Ends the session: out of its rooms and the registry, then
    /// `on_disconnect`. Runs once.
    pub(crate) async fn end(self: &Arc<Self>, reason: DisconnectReason) {
        let (ending, running) = {
            let mut state = self.lock();
            // Not twice, and not when a connection came back in time.
            let ending = !state.ended && state.link.is_none();
            let mut running = std::collections::HashMap::new();
            if ending {
                state.ended = true;
                // Nobody will read their replies: the calls still running stop.
                running = std::mem::take(&mut state.running);
                if let Some(expiry) = state.expiry.take() {
                    expiry.abort();
                    self.hub.release_retained();
                }
                state.history.clear();
                state.streams.clear(&self.hub.retained);
                let freed = std::mem::take(&mut state.history_bytes) + state.replies.clear();
                self.hub.retained.give(freed);
            }
            (ending, running)
        };
        if !ending {
            return;
        }
        for (_, token) in running.into_values() {
            token.cancel();
        }
        self.hub.adapter.remove(&self.id);
        self.hub.remove(self);
        if let Some(cluster) = &self.hub.cluster {
            cluster.store.forget(self.session_id.expose());
        }
        tracing::info!(client = self.id.short(), %reason, "session ended");
        if let Some(hook) = &self.hub.hooks.on_disconnect {
            let done = AssertUnwindSafe(hook(Connection(self.clone()), reason))
                .catch_unwind()
                .await;
            if done.is_err() {
                tracing::error!("on_disconnect panicked");
            }
        }
        self.lock().finished = true;
        self.ended.notify_waiters();
    }

    /// Closes the session with `close` and resolves once it has ended (or
    /// a bounded time passed).
    pub(crate) async fn disconnect(self: &Arc<Self>, close: Close) {
        match self.link() {
            Some(link) => link.stop(DisconnectReason::Disconnected(close)),
            None => self.end(DisconnectReason::Disconnected(close)).await,
        }
        let limit = self.hub.config.close_timeout * 2;
        let _ = tokio::time::timeout(limit, async {
            loop {
                let ended = self.ended.notified();
                if self.is_ended() {
                    return;
                }
                ended.await;
            }
        })
        .await;
    }

    /// Whether the session is still moving here from another node.
    pub(crate) fn is_moving(&self) -> bool {
        self.lock().pending.is_some()
    }

    /// Whether the session has ended (its `on_disconnect` has run).
    pub(crate) fn is_ended(&self) -> bool {
        self.lock().finished
    }

    /// Whether a connection is live.
    pub(crate) fn is_connected(&self) -> bool {
        self.lock().link.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::registry::{Event, MemoryAdapter, SessionHooks};

    const NEWS: Event<u32> = Event::new("news");

    fn hub() -> Arc<Hub<()>> {
        Arc::new(Hub::new(
            Config::default(),
            Arc::new(MemoryAdapter::new()),
            SessionHooks {
                on_connection_lost: None,
                on_disconnect: None,
            },
            Vec::new(),
        ))
    }

    fn event(n: u32, origin: (u128, u64)) -> EncodedEvent {
        EncodedEvent::new(NEWS, &n)
            .expect("encodes")
            .with_origin(origin.0, origin.1)
    }

    #[tokio::test]
    async fn a_move_keeps_every_event_once_and_a_reply_that_overtook_the_snapshot() {
        let (old, new) = (hub(), hub());
        let id = ClientId::from("c1");
        let a = Arc::new(Session::new(id.clone(), (), old.clone()));
        old.insert(a.clone());
        let generation = a
            .attach(Arc::new(Link::new(id.clone(), &old.config)), None)
            .expect("attached");
        let Begin::Run(ticket) = a.begin_call(&Arc::from("r1"), generation) else {
            panic!("runs");
        };
        a.deliver(&event(1, (7, 1)));

        // The new node joined first: it gets event 2 (and, again, event 1's
        // twin from another path) while the old one still has the session.
        let b = Arc::new(Session::moving(
            id.clone(),
            SessionId::from_moved(a.session_id.expose()),
            (),
            new.clone(),
        ));
        a.deliver(&event(2, (7, 2)));
        b.deliver(&event(2, (7, 2)));

        let forwarded = Arc::new(Mutex::new(Vec::new()));
        let forward = {
            let forwarded = forwarded.clone();
            Box::new(move |rpc_id: &str, reply: &str| {
                forwarded
                    .lock()
                    .unwrap()
                    .push((rpc_id.to_owned(), reply.to_owned()));
            }) as ForwardReply
        };
        let snapshot = a
            .hand_over(serde_json::Value::Null, forward)
            .expect("handed over");
        // After the snapshot: only the new node has it.
        b.deliver(&event(3, (9, 1)));
        // The call still running on the old node finishes; its reply
        // reaches the new node before the snapshot does.
        a.finish_call(
            ticket,
            "r1",
            r#"{"type":"__rpc_res","rpcId":"r1","payload":1}"#.into(),
        );
        let (rpc_id, reply) = forwarded.lock().unwrap().pop().expect("forwarded");
        b.forwarded_reply(&rpc_id, &reply);
        assert!(
            a.begin_call(&Arc::from("r2"), generation).is_lost(),
            "no call runs there any more"
        );

        b.complete(Some(snapshot));
        {
            let state = b.lock();
            let kept: Vec<(u64, &str)> = state
                .history
                .iter()
                .map(|(seq, frame)| (*seq, frame.payload_json()))
                .collect();
            assert_eq!(kept, [(1, "1"), (2, "2"), (3, "3")], "each once, in order");
        }
        let generation = b
            .attach(Arc::new(Link::new(id.clone(), &new.config)), Some(0))
            .expect("resumed");
        assert!(
            matches!(b.begin_call(&Arc::from("r1"), generation), Begin::Resend(r) if r.as_str() == reply),
            "the forwarded reply answers the resent call"
        );
        assert_eq!(new.retained.used(), b.held().history + b.held().replies);
        assert_eq!(
            old.retained.used(),
            0,
            "the old node gave back what it held"
        );
    }
}
