//! Limits and timings of a server, each with a production default:
//! [`Config`], with the rate limit ([`RateLimit`]) and the allowed browser
//! origins ([`Origins`]) it takes. The README's "Production limits" table
//! lists them all.

use std::time::Duration;

/// Which browser origins may open a connection. Requests without an
/// `Origin` header (native clients, Node) are not affected.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Origins {
    /// Pages served from the host the socket is on (the default): the
    /// `Origin`'s host and port equal the request's `Host`.
    #[default]
    SameHost,
    /// Any origin (for public APIs that authenticate with tokens, not
    /// cookies).
    Any,
    /// These origins only (`https://app.example.com`), compared without
    /// regard to case.
    List(Vec<String>),
}

/// A per-connection message rate limit (a token bucket): `per_second`
/// frames per second refill a bucket of `burst`; a frame that finds it
/// empty gets `RATE_LIMITED`, and a connection refused `close_after` times
/// in a row is closed with `1008`.
///
/// ```
/// let limit = zocket::config::RateLimit::new(50.0, 100).close_after(500);
/// assert_eq!((limit.per_second(), limit.burst()), (50.0, 100));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateLimit {
    pub(crate) per_second: f64,
    pub(crate) burst: u32,
    pub(crate) close_after: u32,
}

impl RateLimit {
    /// `per_second` frames per second with bursts of `burst`; the
    /// connection is closed after `10 * burst` refusals in a row. A rate
    /// that is not a positive finite number becomes one frame per second;
    /// a burst of 0 becomes 1.
    pub fn new(per_second: f64, burst: u32) -> Self {
        let per_second = if per_second.is_finite() && per_second > 0.0 {
            per_second
        } else {
            1.0
        };
        let burst = burst.max(1);
        Self {
            per_second,
            burst,
            close_after: burst.saturating_mul(10),
        }
    }

    /// Refusals in a row after which the connection is closed (at least 1).
    pub fn close_after(mut self, refusals: u32) -> Self {
        self.close_after = refusals.max(1);
        self
    }

    /// Frames per second refilled.
    pub fn per_second(&self) -> f64 {
        self.per_second
    }

    /// The bucket's size.
    pub fn burst(&self) -> u32 {
        self.burst
    }
}

/// The limits and timings of a server. Build it with the setters:
///
/// ```
/// use std::time::Duration;
/// let config = zocket::Config::default()
///     .heartbeat(Duration::from_secs(10), Duration::from_secs(5))
///     .max_connections(10_000);
/// ```
#[derive(Clone, Debug)]
pub struct Config {
    pub(crate) ping_interval: Duration,
    pub(crate) pong_timeout: Duration,
    pub(crate) max_message_size: usize,
    pub(crate) max_connections: usize,
    pub(crate) outbound_queue: usize,
    pub(crate) outbound_queue_bytes: usize,
    pub(crate) max_concurrent_calls: usize,
    pub(crate) call_timeout: Duration,
    pub(crate) max_streams: usize,
    pub(crate) max_stream_window: u64,
    pub(crate) stream_buffer_bytes: usize,
    pub(crate) rate_limit: Option<RateLimit>,
    pub(crate) close_timeout: Duration,
    pub(crate) shutdown_timeout: Duration,
    pub(crate) read_buffer_size: usize,
    pub(crate) retention: Duration,
    pub(crate) history: usize,
    pub(crate) reply_cache: usize,
    pub(crate) reply_cache_bytes: usize,
    pub(crate) history_bytes: usize,
    pub(crate) retained_bytes: usize,
    pub(crate) origins: Origins,
    pub(crate) max_rooms: usize,
    pub(crate) max_room_name: usize,
    pub(crate) max_rpc_id: usize,
    pub(crate) max_connections_per_ip: Option<usize>,
    pub(crate) header_timeout: Duration,
    pub(crate) open_timeout: Duration,
    pub(crate) max_retained_sessions: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            ping_interval: Duration::from_secs(25),
            pong_timeout: Duration::from_secs(20),
            max_message_size: 1 << 20,
            max_connections: 100_000,
            outbound_queue: 1024,
            outbound_queue_bytes: 1 << 20,
            max_concurrent_calls: 32,
            call_timeout: Duration::from_secs(30),
            max_streams: 16,
            max_stream_window: 256,
            stream_buffer_bytes: 64 << 10,
            rate_limit: Some(RateLimit::new(500.0, 2000)),
            close_timeout: Duration::from_secs(5),
            shutdown_timeout: Duration::from_secs(10),
            read_buffer_size: 2 * 1024,
            retention: Duration::from_secs(120),
            history: 1024,
            reply_cache: 1024,
            reply_cache_bytes: 64 << 10,
            history_bytes: 256 << 10,
            retained_bytes: 256 << 20,
            origins: Origins::SameHost,
            max_rooms: 1000,
            max_room_name: 256,
            max_rpc_id: 128,
            max_connections_per_ip: None,
            header_timeout: Duration::from_secs(10),
            open_timeout: Duration::from_secs(10),
            max_retained_sessions: 10_000,
        }
    }
}

impl Config {
    /// Pings every `interval` (default 25 s); a connection that sends
    /// nothing, not even a pong, for `timeout` after a ping (default 20 s)
    /// is closed with [`DisconnectReason::HeartbeatTimeout`](crate::DisconnectReason).
    pub fn heartbeat(mut self, interval: Duration, timeout: Duration) -> Self {
        self.ping_interval = interval;
        self.pong_timeout = timeout;
        self
    }

    /// The largest message accepted, in bytes (default 1 MiB). A larger one
    /// closes the connection with `1009`.
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes;
        self
    }

    /// Live connections at most (default 100 000); past it the handshake
    /// gets HTTP `503`.
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = n;
        self
    }

    /// Frames queued for one connection at most (default 1024); see
    /// [`outbound_queue_bytes`](Self::outbound_queue_bytes).
    pub fn outbound_queue(mut self, frames: usize) -> Self {
        self.outbound_queue = frames.max(1);
        self
    }

    /// The outbound queue's byte budget per connection (default 1 MiB),
    /// beside its [`outbound_queue`](Self::outbound_queue) frames:
    ///
    /// - backpressure: while the queue is half full (in frames or bytes),
    ///   the connection's next frame is not read, so a client that
    ///   pipelines any number of calls and reads its socket gets every
    ///   reply. Replies are queued past the budget (only the calls already
    ///   running can add to it); a client that reads nothing for a whole
    ///   pong timeout meanwhile is closed as a slow consumer;
    /// - slow consumers: an event that finds the queue full closes the
    ///   connection with `1008 slow consumer` (a client that stopped
    ///   reading while events are pushed to it), unless the event is
    ///   ephemeral (see [`WhenFull`](crate::WhenFull)): then it is dropped
    ///   or replaces older ones of its kind, within the byte budget. Other
    ///   clients are not held up. One frame, however large, always fits an
    ///   empty queue.
    pub fn outbound_queue_bytes(mut self, bytes: usize) -> Self {
        self.outbound_queue_bytes = bytes.max(1);
        self
    }

    /// Calls of one connection running at once at most (default 32). The
    /// connection reads no further frame until one finishes.
    pub fn max_concurrent_calls(mut self, n: usize) -> Self {
        self.max_concurrent_calls = n.clamp(1, u32::MAX as usize);
        self
    }

    /// How long a handler may run before the call fails with `TIMEOUT`
    /// (default 30 s).
    pub fn call_timeout(mut self, timeout: Duration) -> Self {
        self.call_timeout = timeout;
        self
    }

    /// Streams of one connection running at once at most (default 16); one
    /// more ends at once with `LIMIT_EXCEEDED`. Streams do not count
    /// against [`max_concurrent_calls`](Self::max_concurrent_calls), and
    /// have no call timeout.
    pub fn max_streams(mut self, n: usize) -> Self {
        self.max_streams = n;
        self
    }

    /// The most items a client may allow one stream to send ahead of what
    /// it has received (default 256): a larger `window` in a `__credit`
    /// frame is granted as this much.
    pub fn max_stream_window(mut self, items: u64) -> Self {
        self.max_stream_window = items.max(1);
        self
    }

    /// The bytes of items one stream keeps until the client says it has
    /// them, for recovery (default 64 KiB): a handler's `send` waits while
    /// they are over this (an item larger than it is sent alone).
    pub fn stream_buffer_bytes(mut self, bytes: usize) -> Self {
        self.stream_buffer_bytes = bytes.max(1);
        self
    }

    /// The per-connection frame rate limit (default: 500 frames per
    /// second, bursts of 2000, closed with `1008` after 20 000 refusals in
    /// a row: more than any interactive client sends). Frames over it get
    /// `RATE_LIMITED`.
    pub fn rate_limit(mut self, limit: RateLimit) -> Self {
        self.rate_limit = Some(limit);
        self
    }

    /// No frame rate limit (for load tests and trusted clients).
    pub fn without_rate_limit(mut self) -> Self {
        self.rate_limit = None;
        self
    }

    /// Which browser origins may connect (default [`Origins::SameHost`]):
    /// a handshake whose `Origin` is not allowed gets HTTP `403` before
    /// the upgrade. Requests without an `Origin` (native clients) pass.
    pub fn origins(mut self, origins: Origins) -> Self {
        self.origins = origins;
        self
    }

    /// Rooms one connection may be in at once (default 1000); a join past
    /// it fails with `LIMIT_EXCEEDED`.
    pub fn max_rooms_per_connection(mut self, rooms: usize) -> Self {
        self.max_rooms = rooms;
        self
    }

    /// The longest room name, in bytes (default 256); a join with a longer
    /// one fails with `LIMIT_EXCEEDED`.
    pub fn max_room_name(mut self, bytes: usize) -> Self {
        self.max_room_name = bytes;
        self
    }

    /// The longest `rpcId`, in bytes (default 128); a frame with a longer
    /// one gets a `BAD_REQUEST` `__error` (it cannot be answered by id).
    pub fn max_rpc_id(mut self, bytes: usize) -> Self {
        self.max_rpc_id = bytes;
        self
    }

    /// Connections from one source IP address at once (default: no limit).
    /// Past it the handshake gets HTTP `503`. Needs the peer address: with
    /// [`Server::serve`](crate::Server::serve), or an axum app served with
    /// `into_make_service_with_connect_info::<SocketAddr>()`.
    pub fn max_connections_per_ip(mut self, connections: usize) -> Self {
        self.max_connections_per_ip = Some(connections.max(1));
        self
    }

    /// How long a client has to send a complete HTTP request head (the
    /// upgrade request, or the next request on a kept-alive connection)
    /// before [`Server::serve`](crate::Server::serve) closes it (default
    /// 10 s): slow-header clients hold no connection longer than that.
    pub fn header_timeout(mut self, timeout: Duration) -> Self {
        self.header_timeout = timeout;
        self
    }

    /// How long a client has, after the upgrade, to send its first frame
    /// (default 10 s, or the heartbeat's pong timeout if shorter): the
    /// server pings at once, and every WebSocket client
    /// answers pings by itself, browsers included. A client that sends
    /// nothing, not even that pong, never completed the upgrade: it is
    /// dropped ([`DisconnectReason::OpeningTimeout`](crate::DisconnectReason::OpeningTimeout))
    /// and its session ends.
    pub fn open_timeout(mut self, timeout: Duration) -> Self {
        self.open_timeout = timeout;
        self
    }

    /// How long to wait for the peer's close frame after sending ours
    /// (default 5 s), and for our close frame to be written: `disconnect`
    /// resolves within twice this.
    pub fn close_timeout(mut self, timeout: Duration) -> Self {
        self.close_timeout = timeout;
        self
    }

    /// How long a graceful shutdown lets in-flight calls finish (default 10 s).
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// How long a session outlives a lost connection (default 2 minutes),
    /// so that the client can resume it: its id, rooms, context, missed
    /// events and the replies of its calls. `Duration::ZERO` turns
    /// recovery off: a lost connection ends its session at once.
    pub fn session_retention(mut self, retention: Duration) -> Self {
        self.retention = retention;
        self
    }

    /// Sessions kept for recovery without a connection at most (default
    /// 10 000). Past it, a lost connection ends its session at once
    /// (`on_disconnect` runs; the client gets a fresh session when it comes
    /// back), so clients that connect, join rooms and drop cannot pile
    /// sessions up.
    pub fn max_retained_sessions(mut self, sessions: usize) -> Self {
        self.max_retained_sessions = sessions;
        self
    }

    /// Events kept per session for replay (default 1024); see
    /// [`session_history_bytes`](Self::session_history_bytes). A client
    /// that missed more than the history holds cannot resume: it gets a
    /// fresh session.
    pub fn session_history(mut self, events: usize) -> Self {
        self.history = events;
        self
    }

    /// Bytes of events kept per session for replay at most (default
    /// 256 KiB); the oldest go first.
    pub fn session_history_bytes(mut self, bytes: usize) -> Self {
        self.history_bytes = bytes;
        self
    }

    /// Calls remembered per session by `rpcId` (default 1024), so that a
    /// call resent after a reconnect is answered without running twice;
    /// see [`reply_cache_bytes`](Self::reply_cache_bytes).
    pub fn reply_cache(mut self, calls: usize) -> Self {
        self.reply_cache = calls;
        self
    }

    /// Bytes of replies kept per session at most (default 64 KiB). A reply
    /// larger than that, or evicted (oldest first) to make room, leaves its
    /// call remembered: a resend of it gets `REPLY_LOST` and does not run
    /// again.
    pub fn reply_cache_bytes(mut self, bytes: usize) -> Self {
        self.reply_cache_bytes = bytes;
        self
    }

    /// Bytes the histories and reply caches of all sessions together hold
    /// at most (default 256 MiB). Past it, a session keeps no new event
    /// (its history is cleared: a resume gets a fresh session) and no new
    /// reply (a resend gets `REPLY_LOST`), until memory is given back.
    pub fn retained_bytes(mut self, bytes: usize) -> Self {
        self.retained_bytes = bytes;
        self
    }

    /// The WebSocket read buffer per connection (default 2 KiB). It grows
    /// for a larger message and costs this much per idle connection.
    pub fn read_buffer_size(mut self, bytes: usize) -> Self {
        self.read_buffer_size = bytes;
        self
    }
}
