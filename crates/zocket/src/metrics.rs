//! Metrics, through the [`metrics`](https://docs.rs/metrics) crate's
//! facade: install any recorder (Prometheus, StatsD, ...) **before**
//! building the server, and these are recorded.
//!
//! | name | kind | labels | what |
//! | --- | --- | --- | --- |
//! | `zocket_connections` | gauge | | live WebSocket connections |
//! | `zocket_connections_total` | counter | | connections opened |
//! | `zocket_handshakes_refused_total` | counter | `reason` | handshakes refused (`shutting_down`, `too_many_connections`, `too_many_from_address`, `origin`, `invalid_headers`, `rejected`, `hook_panicked`, `not_an_upgrade`, `on_connect`, `on_resume`) |
//! | `zocket_calls_total` | counter | `route`, `outcome` | calls finished (`ok`, or the error code) |
//! | `zocket_call_duration_seconds` | histogram | `route` | how long calls took, handler and middleware |
//! | `zocket_messages_total` | counter | `route` | messages (frames without `rpcId`) handled |
//! | `zocket_events_sent_total` | counter | | events queued, once per recipient |
//! | `zocket_events_dropped_total` | counter | `policy` | events not delivered: `slow_consumer` (the connection was closed for it), or the event's own policy (`drop`, `drop_oldest`, `latest`) |
//! | `zocket_slow_consumer_closes_total` | counter | | connections closed with `1008 slow consumer` |
//! | `zocket_resumes_total` | counter | `outcome` | resume attempts: `recovered`, or `fresh` (the session was gone or too far behind) |
//! | `zocket_sessions_moved_total` | counter | `outcome` | sessions that moved between nodes through a session store: `in` (moved here whole), `orphaned` (came back from its record: its node did not answer), `out` (handed over to another node) |
//! | `zocket_sessions_retained` | gauge | | sessions kept for recovery without a connection |
//! | `zocket_queued_bytes`, `zocket_history_bytes`, `zocket_reply_bytes` | gauge | | the server's own byte accounting (see `ServerHandle::memory`) |
//!
//! The gauges of the last two rows cost O(sessions) to compute:
//! [`ServerHandle::record_gauges`](crate::ServerHandle::record_gauges) sets
//! them, for example right before each scrape.
//!
//! Counters of a route are registered once, when the server is built, so a
//! call costs an atomic increment, not a lookup.

use ::metrics::{Counter, Histogram, counter, gauge, histogram};

/// A connection opened.
pub(crate) fn connection_opened() {
    counter!("zocket_connections_total").increment(1);
    gauge!("zocket_connections").increment(1.0);
}

/// A connection closed.
pub(crate) fn connection_closed() {
    gauge!("zocket_connections").decrement(1.0);
}

/// A handshake refused, for `reason`.
pub(crate) fn refused(reason: &'static str) {
    counter!("zocket_handshakes_refused_total", "reason" => reason).increment(1);
}

/// A connection closed as a slow consumer; the event that found its queue
/// full was dropped.
pub(crate) fn slow_consumer() {
    counter!("zocket_slow_consumer_closes_total").increment(1);
    counter!("zocket_events_dropped_total", "policy" => "slow_consumer").increment(1);
}

/// A droppable event dropped for one recipient, by its policy.
pub(crate) fn event_dropped(policy: &'static str) {
    counter!("zocket_events_dropped_total", "policy" => policy).increment(1);
}

/// A resume attempt's outcome.
pub(crate) fn resume(recovered: bool) {
    let outcome = if recovered { "recovered" } else { "fresh" };
    counter!("zocket_resumes_total", "outcome" => outcome).increment(1);
}

/// A session moved between nodes: `in`, `orphaned` or `out`.
pub(crate) fn session_moved(outcome: &'static str) {
    counter!("zocket_sessions_moved_total", "outcome" => outcome).increment(1);
}

/// An event queued for `recipients` connections.
pub(crate) fn events_sent(recipients: usize) {
    counter!("zocket_events_sent_total").increment(recipients as u64);
}

/// The metrics of one route, registered once.
pub(crate) struct RouteMetrics {
    ok: Counter,
    duration: Histogram,
    messages: Counter,
    route: String,
}

impl RouteMetrics {
    pub(crate) fn new(route: &str) -> Self {
        let name = route.to_owned();
        Self {
            ok: counter!("zocket_calls_total", "route" => name.clone(), "outcome" => "ok"),
            duration: histogram!("zocket_call_duration_seconds", "route" => name.clone()),
            messages: counter!("zocket_messages_total", "route" => name.clone()),
            route: name,
        }
    }

    /// A call finished with `outcome` (`None`: success; else the error
    /// code) after `seconds` (when measured).
    pub(crate) fn call(&self, outcome: Option<&str>, seconds: Option<f64>) {
        match outcome {
            None => self.ok.increment(1),
            Some(code) => counter!(
                "zocket_calls_total",
                "route" => self.route.clone(),
                "outcome" => code.to_owned()
            )
            .increment(1),
        }
        if let Some(seconds) = seconds {
            self.duration.record(seconds);
        }
    }

    /// A message (no `rpcId`) was handled.
    pub(crate) fn message(&self) {
        self.messages.increment(1);
    }
}

/// Sets the gauges computed from the server's byte accounting.
pub(crate) fn memory(queued: usize, history: usize, replies: usize, retained_sessions: usize) {
    gauge!("zocket_queued_bytes").set(queued as f64);
    gauge!("zocket_history_bytes").set(history as f64);
    gauge!("zocket_reply_bytes").set(replies as f64);
    gauge!("zocket_sessions_retained").set(retained_sessions as f64);
}
