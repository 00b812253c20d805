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
use crate::transport::{self, Attempt, Connector, Form, Headers};
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
    /// Where the header fields travel.
    form: Form,
    /// Streams taken before connecting.
    subscriptions: Option<Subscriptions>,
    /// Opens the byte streams instead of TCP.
    connector: Option<Arc<dyn Connector>>,
    /// The schema hash expected in `__ready`, and what a mismatch does.
    schema: Option<(String, SchemaCheck)>,
    /// How long a connection may bring nothing before it counts as lost.
    liveness: Option<Duration>,
}

/// What a client does when the server's API schema differs from its own
/// (see [`ClientBuilder::expect_schema`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SchemaCheck {
    /// Log a warning through `tracing` and go on (the default of typed
    /// clients): calls that still match keep working.
    #[default]
    Warn,
    /// Fail the connection with [`ConnectError::SchemaMismatch`].
    Refuse,
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
            .field("headers_in_query", &(self.form == Form::Query))
            .field("connector", &self.connector.is_some())
            .field("schema", &self.schema)
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
            form: Form::Http,
            subscriptions: None,
            connector: None,
            schema: None,
            liveness: Some(crate::shared::DEFAULT_LIVENESS),
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
    /// handshake asks for, and the headers still travel in the handshake
    /// request.
    pub fn connector(mut self, connector: impl Connector) -> Self {
        self.connector = Some(Arc::new(connector));
        self
    }

    /// Compares the `schemaHash` of each `__ready` with `hash`, the hash
    /// of the definition this client was built from (typed clients set it:
    /// `ChatClient::builder()`): on a mismatch, `check` says whether to
    /// log a warning (through `tracing`) or to fail the connection with
    /// [`ConnectError::SchemaMismatch`] (final, not retried). A server that
    /// sends no hash is not checked.
    pub fn expect_schema(mut self, hash: impl Into<String>, check: SchemaCheck) -> Self {
        self.schema = Some((hash.into(), check));
        self
    }

    /// How long a connection may bring no frame at all (no event, reply or
    /// ping) before the client counts it as lost and reconnects: 45 s by
    /// default, enough for the server's pings (every 25 s by default) to
    /// prove the link alive. A black-holed link (packets silently dropped)
    /// is noticed within this window instead of calls timing out one by
    /// one. `None` turns the check off; a window shorter than the server's
    /// ping interval drops healthy idle connections.
    pub fn liveness(mut self, window: Option<Duration>) -> Self {
        self.liveness = window;
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
    /// server that still holds the session resumes it. They travel as the
    /// HTTP headers `x-zocket-session` and `x-zocket-last-seq`, never in
    /// the URL, as on every reconnection.
    pub fn session(mut self, session_id: impl Into<String>, last_seq: u64) -> Self {
        self.session = Some((session_id.into(), last_seq));
        self
    }

    /// Sends the header fields as query parameters of the URL instead of
    /// HTTP headers: the legacy form, for servers older than the header
    /// form, which read only the query. Off by default, as it should stay:
    /// URLs end up in access logs, and a token in one with them. The
    /// session never goes in the URL, in either form: only a server that
    /// reads the `x-zocket-session` header resumes it.
    pub fn headers_in_query(mut self, on: bool) -> Self {
        self.form = if on { Form::Query } else { Form::Http };
        self
    }

    /// What to do when a reconnection's handshake is refused with a 4xx
    /// (invalid headers, unauthorized): `hook` gets the refusal and may
    /// return new headers (say, with a fresh token) for the next attempt,
    /// sent as the first ones were; `None` gives up, and so do new headers
    /// that cannot be sent ([`ConnectError::Headers`]). Without a hook,
    /// such a refusal ends the client in [`Failed`](State::Failed) at
    /// once, never retried blindly.
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
        let hook: RefusedHook = Arc::new(move |refusal, form| {
            let headers = hook(refusal);
            Box::pin(async move {
                let headers = headers.await?;
                Some(Headers::encode(&headers, form))
            })
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
    /// of flat values) as HTTP headers of the handshake, and waits for
    /// `__ready`.
    ///
    /// Each field is one header named as the field (HTTP lowercases it;
    /// the server matches names ignoring case, `-` and `_`): a string as
    /// it is (non-ASCII text as UTF-8), a number or a boolean in its JSON
    /// form; a `None` field is left out. The URL is sent as it is: neither
    /// the headers nor the session go into it (unless
    /// [`headers_in_query`](Self::headers_in_query) asks for the legacy
    /// form). Fails with [`ConnectError::Headers`] when a field is nested,
    /// its name is not an HTTP header name or is one the handshake sets
    /// (`host`, `upgrade`, `sec-websocket-*`...), or its value has a
    /// control character. Some proxies drop headers whose names have a
    /// `_` (nginx does by default): `#[serde(rename_all = "kebab-case")]`
    /// on the headers type avoids that.
    ///
    /// This first connection is attempted once: its failure is the error.
    /// Reconnections, later, send the same headers (or those from
    /// [`on_refused`](Self::on_refused)).
    pub async fn connect<H: Serialize + ?Sized>(
        self,
        url: &str,
        headers: &H,
    ) -> Result<Client, ConnectError> {
        let headers = Headers::encode(headers, self.form)?;
        let open = self.opener(url);
        self.connect_with(open, headers).await
    }

    /// What opens each connection to `url` with these settings.
    fn opener(&self, url: &str) -> Opener {
        opener(
            url.to_owned(),
            self.connect_timeout,
            self.connector.clone(),
            self.schema.clone(),
        )
    }

    /// Opens the first connection with `open`, then runs the client.
    pub(crate) async fn connect_with(
        self,
        mut open: Opener,
        headers: Headers,
    ) -> Result<Client, ConnectError> {
        let attempt = Attempt {
            headers: headers.clone(),
            session: self.session.clone(),
        };
        let connection = open(attempt).await?;
        Ok(self.run(open, headers, Some(connection)))
    }

    /// Returns a client at once, in [`State::Connecting`], that opens its
    /// first connection in the background: with the reconnection policy
    /// (an immediate attempt, then the backoff), so a server that is not up
    /// yet is waited for. Calls and messages made meanwhile wait in the
    /// offline queue. [`Client::ready`] has empty ids until connected.
    /// The headers are sent as by [`connect`](Self::connect); this fails
    /// only when they cannot be ([`ConnectError::Headers`]).
    pub fn start<H: Serialize + ?Sized>(
        self,
        url: &str,
        headers: &H,
    ) -> Result<Client, ConnectError> {
        let headers = Headers::encode(headers, self.form)?;
        let open = self.opener(url);
        Ok(self.start_with(open, headers))
    }

    /// Runs a client that opens its first connection with `open`.
    pub(crate) fn start_with(self, open: Opener, headers: Headers) -> Client {
        self.run(open, headers, None)
    }

    /// Runs a client: on an open connection, or opening the first one.
    fn run(self, open: Opener, headers: Headers, connection: Option<Connection>) -> Client {
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
                    schema_hash: None,
                };
                (ready, last_seq, State::Connecting)
            }
        };
        let (commands, queue) = mpsc::channel(COMMAND_QUEUE);
        let subscriptions = self
            .subscriptions
            .unwrap_or_else(|| Subscriptions::new(self.event_buffer));
        let shared = Arc::new(
            Shared::new(subscriptions, ready, last_seq, state).with_liveness(self.liveness),
        );
        tokio::spawn(supervisor::run(
            self.settings,
            open,
            headers,
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

/// Opens WebSocket connections to `url`, each attempt with its request
/// (headers and session), over TCP or over what `connector` opens.
fn opener(
    url: String,
    timeout: Duration,
    connector: Option<Arc<dyn Connector>>,
    schema: Option<(String, SchemaCheck)>,
) -> Opener {
    Box::new(move |attempt: Attempt| {
        let request = attempt.request(&url);
        let connector = connector.clone();
        let schema = schema.clone();
        Box::pin(async move {
            let request = request?;
            let connection = match connector {
                None => connection(transport::open(request, timeout).await?),
                Some(connector) => {
                    connection(transport::open_with(&*connector, request, timeout).await?)
                }
            };
            if let Some((expected, check)) = &schema {
                check_schema(connection.ready.schema_hash.as_deref(), expected, *check)?;
            }
            Ok(connection)
        })
    })
}

/// A socket and its `__ready` as the connection the client runs.
fn connection<S>((socket, ready): (tokio_tungstenite::WebSocketStream<S>, Ready)) -> Connection
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sink, stream) = socket.split();
    Connection {
        sink: Box::pin(sink),
        stream: stream.boxed(),
        ready,
    }
}

/// Compares the server's schema hash with the one expected. A server that
/// sends none (built without a router definition) is not checked.
fn check_schema(
    server: Option<&str>,
    expected: &str,
    check: SchemaCheck,
) -> Result<(), ConnectError> {
    match server {
        Some(server) if server != expected => match check {
            SchemaCheck::Warn => {
                tracing::warn!(
                    server,
                    client = expected,
                    "the server's API schema differs from the one this client was built from"
                );
                Ok(())
            }
            SchemaCheck::Refuse => Err(ConnectError::SchemaMismatch {
                server: server.to_owned(),
                client: expected.to_owned(),
            }),
        },
        _ => Ok(()),
    }
}

#[cfg(test)]
mod schema_tests {
    use super::{SchemaCheck, check_schema};
    use crate::error::ConnectError;

    #[test]
    fn a_differing_schema_warns_or_refuses_as_asked() {
        assert!(check_schema(Some("aa"), "aa", SchemaCheck::Refuse).is_ok());
        assert!(
            check_schema(None, "aa", SchemaCheck::Refuse).is_ok(),
            "no hash, no check"
        );
        assert!(check_schema(Some("bb"), "aa", SchemaCheck::Warn).is_ok());
        assert!(matches!(
            check_schema(Some("bb"), "aa", SchemaCheck::Refuse),
            Err(ConnectError::SchemaMismatch { server, client }) if server == "bb" && client == "aa"
        ));
    }
}

#[cfg(test)]
mod tests {
    use crate::error::ConnectError;
    use crate::test_support::{handshakes, header};
    use crate::{Client, State};
    use serde::Serialize;
    use std::collections::BTreeMap;
    use zocket_protocol::{LAST_SEQ_HEADER, SESSION_ID_HEADER};

    #[derive(Serialize)]
    #[serde(rename_all = "kebab-case")]
    struct Headers {
        name: &'static str,
        auth_token: Option<&'static str>,
    }

    const ADA: Headers = Headers {
        name: "ada",
        auth_token: Some("Bearer t0"),
    };

    #[tokio::test]
    async fn connect_sends_the_headers_and_the_session_as_http_headers_and_the_url_as_it_is() {
        let (connector, mut requests) = handshakes();
        let client = Client::builder()
            .connector(connector)
            .session("saved", 7)
            .connect("ws://zocket.test/ws?room=1", &ADA)
            .await
            .unwrap();
        assert!(matches!(
            client.state(),
            State::Connected { recovered: false }
        ));
        let request = requests.recv().await.unwrap();
        assert_eq!(request.uri(), "/ws?room=1");
        assert_eq!(header(&request, "name"), Some(&b"ada"[..]));
        assert_eq!(header(&request, "auth-token"), Some(&b"Bearer t0"[..]));
        assert_eq!(header(&request, SESSION_ID_HEADER), Some(&b"saved"[..]));
        assert_eq!(header(&request, LAST_SEQ_HEADER), Some(&b"7"[..]));
        client.close().await;
    }

    #[tokio::test]
    async fn headers_in_query_puts_the_fields_in_the_query_but_never_the_session() {
        let (connector, mut requests) = handshakes();
        let client = Client::builder()
            .connector(connector)
            .headers_in_query(true)
            .session("saved", 7)
            .connect("ws://zocket.test/ws?room=1", &ADA)
            .await
            .unwrap();
        let request = requests.recv().await.unwrap();
        assert_eq!(request.uri(), "/ws?room=1&auth-token=Bearer+t0&name=ada");
        assert_eq!(header(&request, "name"), None);
        assert_eq!(header(&request, SESSION_ID_HEADER), Some(&b"saved"[..]));
        assert_eq!(header(&request, LAST_SEQ_HEADER), Some(&b"7"[..]));
        client.close().await;
    }

    #[tokio::test]
    async fn headers_no_http_header_can_carry_fail_connect_and_start() {
        let (connector, mut requests) = handshakes();
        let builder = || Client::builder().connector(connector.clone());
        let bad_name = BTreeMap::from([("first name", "ada")]);
        let bad_value = BTreeMap::from([("name", "ada\nx-admin: 1")]);
        for (fields, words) in [
            (&bad_name, ["`first name`", "not an HTTP header name"]),
            (&bad_value, ["`name`", "control character"]),
        ] {
            let connecting = builder().connect("ws://zocket.test/ws", fields).await;
            let Err(ConnectError::Headers(message)) = connecting else {
                panic!("{fields:?}: {connecting:?}");
            };
            assert!(words.iter().all(|w| message.contains(w)), "{message}");
            let starting = builder().start("ws://zocket.test/ws", fields);
            assert!(
                matches!(starting, Err(ConnectError::Headers(_))),
                "{starting:?}"
            );
        }
        drop(connector);
        assert!(requests.recv().await.is_none(), "no handshake was made");
    }

    #[test]
    fn debug_of_the_builder_hides_the_session_id() {
        let builder = Client::builder()
            .session("s3cret", 7)
            .headers_in_query(true);
        let debug = format!("{builder:?}");
        assert!(
            debug.contains("Some(7)") && debug.contains("headers_in_query: true"),
            "{debug}"
        );
        assert!(!debug.contains("s3cret"), "{debug}");
    }
}
