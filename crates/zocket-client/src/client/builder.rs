//! The client's settings, and starting the client: the first connection,
//! then the background task.

use super::{Client, Inner};
use crate::backoff::Backoff;
use crate::connection::Connection;
use crate::error::{ConnectError, Refusal};
use crate::events::{EventStream, Subscriptions};
use crate::shared::Shared;
use crate::state::State;
use crate::supervisor::{self, Opener, RefusedHook, Settings};
use crate::transport::{self, Attempt, Connector, Query};
use futures_util::StreamExt;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use zocket_protocol::Ready;

/// How many commands may wait for the background task before senders
/// wait.
const COMMAND_QUEUE: usize = 128;

/// Settings for a [`Client`], then [`connect`](ClientBuilder::connect).
///
/// ```no_run
/// # async fn run() -> Result<(), zocket_client::ConnectError> {
/// use std::collections::BTreeMap;
/// use std::time::Duration;
/// use zocket_client::Backoff;
///
/// let backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(10), 0.2)
///     .expect("valid backoff");
/// let client = zocket_client::Client::builder()
///     .timeout(Duration::from_secs(5))
///     .max_retries(10)
///     .backoff(backoff)
///     .connect("ws://127.0.0.1:3000/ws", &BTreeMap::from([("name", "ada")]))
///     .await?;
/// # Ok(()) }
/// ```
pub struct ClientBuilder {
    timeout: Duration,
    connect_timeout: Duration,
    event_buffer: usize,
    settings: Settings,
    session: Option<(String, u64)>,
    /// Streams taken before connecting.
    subscriptions: Option<Subscriptions>,
    /// Opens the byte streams instead of TCP.
    connector: Option<Arc<dyn Connector>>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("event_buffer", &self.event_buffer)
            .field("max_retries", &self.settings.max_retries)
            .field("backoff", &self.settings.backoff)
            .field("offline_queue", &self.settings.offline_queue)
            .field("on_refused", &self.settings.on_refused.is_some())
            .field("session", &self.session.as_ref().map(|(_, seq)| seq))
            .field("connector", &self.connector.is_some())
            .finish()
    }
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(30),
            event_buffer: 1024,
            settings: Settings {
                max_retries: 5,
                backoff: Backoff::default(),
                offline_queue: 1024,
                on_refused: None,
            },
            session: None,
            subscriptions: None,
            connector: None,
        }
    }
}

impl ClientBuilder {
    /// The default settings: 30 s call timeout, 30 s connect timeout,
    /// 1024 buffered items per event name, reconnection on with 5
    /// attempts and the default [`Backoff`], 1024 frames of offline queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// Opens each connection's byte stream with `connector` instead of a
    /// TCP connection to the URL's host (for an in-memory transport; see
    /// `zocket::testing`). The URL still names the path and query the
    /// handshake asks for.
    pub fn connector(mut self, connector: impl Connector) -> Self {
        self.connector = Some(Arc::new(connector));
        self
    }

    /// How long a call waits for its reply (and a message for its place in
    /// the send queue), including the time it waits in the offline queue,
    /// unless it says otherwise; 30 s by default.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How long each connection attempt may take, from the TCP connection
    /// to `__ready`; 30 s by default.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How many items each event name (and the error stream) buffers for
    /// streams that have not read them yet; 1024 by default, at least 1. A
    /// stream that falls further behind loses the oldest and gets
    /// [`EventError::Lagged`](crate::EventError::Lagged).
    pub fn event_buffer(mut self, items: usize) -> Self {
        self.event_buffer = items.max(1);
        self
    }

    /// Whether to reconnect when the connection drops; on by default.
    /// `reconnect(false)` is `max_retries(0)`; `reconnect(true)` restores
    /// the default of 5 attempts when they were 0.
    pub fn reconnect(mut self, on: bool) -> Self {
        self.settings.max_retries = match (on, self.settings.max_retries) {
            (false, _) => 0,
            (true, 0) => 5,
            (true, n) => n,
        };
        self
    }

    /// How many reconnection attempts follow a drop before the client is
    /// [`Failed`](State::Failed); 5 by default, 0 for none. The count
    /// starts again after each successful reconnection.
    pub fn max_retries(mut self, attempts: u32) -> Self {
        self.settings.max_retries = attempts;
        self
    }

    /// The delays between reconnection attempts; by default 1 s doubling
    /// up to 30 s, ±30%.
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.settings.backoff = backoff;
        self
    }

    /// How many messages and calls may wait while the client is not
    /// connected, to be sent in order once it is; 1024 by default. Past
    /// it, [`Client::call`] and [`Client::message`] fail at once with
    /// [`CallError::QueueFull`](crate::CallError::QueueFull).
    pub fn offline_queue(mut self, frames: usize) -> Self {
        self.settings.offline_queue = frames;
        self
    }

    /// Starts from a saved session: the first connection sends
    /// `session_id` and `last_seq` (the last event `seq` received, from
    /// [`Client::current_session_id`] and [`Client::last_seq`]) so that a
    /// server that still holds the session resumes it.
    pub fn session(mut self, session_id: impl Into<String>, last_seq: u64) -> Self {
        self.session = Some((session_id.into(), last_seq));
        self
    }

    /// What to do when a reconnection's handshake is refused with a 4xx
    /// (invalid headers, unauthorized): `hook` gets the refusal and may
    /// return new headers (say, with a fresh token) for the next attempt;
    /// `None` gives up. Without a hook, such a refusal ends the client in
    /// [`Failed`](State::Failed) at once, never retried blindly.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), zocket_client::ConnectError> {
    /// # async fn fresh_token() -> String { String::new() }
    /// use std::collections::BTreeMap;
    ///
    /// let client = zocket_client::Client::builder()
    ///     .on_refused(|refusal| async move {
    ///         (refusal.status == 401).then_some(())?;
    ///         Some(BTreeMap::from([("token", fresh_token().await)]))
    ///     })
    ///     .connect("ws://127.0.0.1:3000/ws", &BTreeMap::from([("token", "t0")]))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn on_refused<F, Fut, H>(mut self, hook: F) -> Self
    where
        F: Fn(Refusal) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Option<H>> + Send + 'static,
        H: Serialize,
    {
        let hook: RefusedHook = Arc::new(move |refusal| {
            let headers = hook(refusal);
            Box::pin(async move { headers.await.map(|headers| transport::query(&headers)) })
        });
        self.settings.on_refused = Some(hook);
        self
    }

    /// A stream of event `name`, taken before connecting. With a saved
    /// [`session`](Self::session), the server replays the missed events
    /// right after the first `__ready`; a stream taken here receives them,
    /// where one taken after `connect` returns may be too late. Set
    /// [`event_buffer`](Self::event_buffer) before taking streams.
    pub fn events<T: DeserializeOwned>(&mut self, name: &str) -> EventStream<T> {
        let capacity = self.event_buffer;
        self.subscriptions
            .get_or_insert_with(|| Subscriptions::new(capacity))
            .events(name)
    }

    /// Connects to `url` (`ws://...`), sending `headers` (a struct or map
    /// of flat values; `None` fields are left out) as URL query parameters,
    /// and waits for `__ready`. This first connection is attempted once:
    /// its failure is the error. Reconnections, later, send the same
    /// headers (or those from [`on_refused`](Self::on_refused)).
    pub async fn connect<H: Serialize + ?Sized>(
        self,
        url: &str,
        headers: &H,
    ) -> Result<Client, ConnectError> {
        let query = transport::query(headers)?;
        let open = opener(url.to_owned(), self.connect_timeout, self.connector.clone());
        self.connect_with(open, query).await
    }

    /// Opens the first connection with `open`, then runs the client.
    pub(crate) async fn connect_with(
        self,
        mut open: Opener,
        query: Query,
    ) -> Result<Client, ConnectError> {
        let attempt = Attempt {
            query: query.clone(),
            session: self.session.clone(),
        };
        let connection = open(attempt).await?;
        Ok(self.run(open, query, Some(connection)))
    }

    /// Returns a client at once, in [`State::Connecting`], that opens its
    /// first connection in the background: with the reconnection policy
    /// (an immediate attempt, then the backoff), so a server that is not up
    /// yet is waited for. Calls and messages made meanwhile wait in the
    /// offline queue. [`Client::ready`] has empty ids until connected.
    /// Fails only when `headers` cannot be encoded.
    pub fn start<H: Serialize + ?Sized>(
        self,
        url: &str,
        headers: &H,
    ) -> Result<Client, ConnectError> {
        let query = transport::query(headers)?;
        let open = opener(url.to_owned(), self.connect_timeout, self.connector.clone());
        Ok(self.start_with(open, query))
    }

    /// Runs a client that opens its first connection with `open`.
    pub(crate) fn start_with(self, open: Opener, query: Query) -> Client {
        self.run(open, query, None)
    }

    /// Runs a client: on an open connection, or opening the first one.
    fn run(self, open: Opener, query: Query, connection: Option<Connection>) -> Client {
        let (ready, last_seq, state) = match &connection {
            Some(connection) => {
                let ready = connection.ready.clone();
                let last_seq = match &self.session {
                    Some((_, seq)) if ready.recovered => *seq,
                    _ => 0,
                };
                let state = State::Connected {
                    recovered: ready.recovered,
                };
                (ready, last_seq, state)
            }
            None => {
                let (session_id, last_seq) = self.session.clone().unwrap_or_default();
                let ready = Ready {
                    client_id: String::new(),
                    session_id,
                    protocol_version: 0,
                    recovered: false,
                };
                (ready, last_seq, State::Connecting)
            }
        };
        let (commands, queue) = mpsc::channel(COMMAND_QUEUE);
        let subscriptions = self
            .subscriptions
            .unwrap_or_else(|| Subscriptions::new(self.event_buffer));
        let shared = Arc::new(Shared::new(subscriptions, ready, last_seq, state));
        tokio::spawn(supervisor::run(
            self.settings,
            open,
            query,
            connection,
            queue,
            shared.clone(),
        ));
        Client {
            inner: Arc::new(Inner {
                commands,
                shared,
                timeout: self.timeout,
            }),
        }
    }
}

/// Opens WebSocket connections to `url`, each attempt with its headers and
/// session as query parameters, over TCP or over what `connector` opens.
fn opener(url: String, timeout: Duration, connector: Option<Arc<dyn Connector>>) -> Opener {
    Box::new(move |attempt: Attempt| {
        let url = attempt.url(&url);
        let connector = connector.clone();
        Box::pin(async move {
            Ok(match connector {
                None => {
                    let (socket, ready) = transport::open(&url, timeout).await?;
                    let (sink, stream) = socket.split();
                    Connection {
                        sink: Box::pin(sink),
                        stream: stream.boxed(),
                        ready,
                    }
                }
                Some(connector) => {
                    let (socket, ready) = transport::open_with(&*connector, &url, timeout).await?;
                    let (sink, stream) = socket.split();
                    Connection {
                        sink: Box::pin(sink),
                        stream: stream.boxed(),
                        ready,
                    }
                }
            })
        })
    })
}
