//! The client handle and its builder.

use crate::error::{CallError, ConnectError};
use crate::events::{ErrorStream, EventStream};
use crate::frame::{ClientFrame, Ready};
use crate::task::{self, CLOSE_TIMEOUT, Command, Shared};
use crate::transport;
use futures_util::StreamExt;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// How many frames may wait to be written before senders wait.
const COMMAND_QUEUE: usize = 128;

/// A connection to a zocket server.
///
/// Cloning is cheap: every clone talks over channels to the one background
/// task that owns the socket. Dropping the last clone closes the
/// connection with `1000`, as [`close`](Client::close) does.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    ready: Ready,
    commands: mpsc::Sender<Command>,
    shared: Arc<Shared>,
    timeout: Duration,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("client_id", &self.inner.ready.client_id)
            .field("timeout", &self.inner.timeout)
            .field("closed", &self.inner.shared.is_ended())
            .finish_non_exhaustive()
    }
}

/// Settings for a [`Client`], then [`connect`](ClientBuilder::connect).
///
/// ```no_run
/// # async fn run() -> Result<(), zocket_client::ConnectError> {
/// use std::collections::BTreeMap;
/// use std::time::Duration;
///
/// let client = zocket_client::Client::builder()
///     .timeout(Duration::from_secs(5))
///     .connect("ws://127.0.0.1:3000/ws", &BTreeMap::from([("name", "ada")]))
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    timeout: Duration,
    connect_timeout: Duration,
    event_buffer: usize,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(30),
            event_buffer: 1024,
        }
    }
}

impl ClientBuilder {
    /// The default settings: 30 s call timeout, 30 s connect timeout,
    /// 1024 buffered items per event name.
    pub fn new() -> Self {
        Self::default()
    }

    /// How long a call waits for its reply (and a message for its place in
    /// the send queue) unless it says otherwise; 30 s by default.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How long connecting may take, from the TCP connection to `__ready`;
    /// 30 s by default.
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

    /// Connects to `url` (`ws://...`), sending `headers` (a struct or map
    /// of flat values; `None` fields are left out) as URL query parameters,
    /// and waits for `__ready`.
    pub async fn connect<H: Serialize + ?Sized>(
        self,
        url: &str,
        headers: &H,
    ) -> Result<Client, ConnectError> {
        let (socket, ready) = transport::open(url, headers, self.connect_timeout).await?;
        let (sink, stream) = socket.split();
        let (commands, queue) = mpsc::channel(COMMAND_QUEUE);
        let shared = Arc::new(Shared::new(self.event_buffer));
        tokio::spawn(task::run(sink, stream, queue, shared.clone()));
        Ok(Client {
            inner: Arc::new(Inner {
                ready,
                commands,
                shared,
                timeout: self.timeout,
            }),
        })
    }
}

impl Client {
    /// Settings other than the defaults.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// Connects to `url` (`ws://...`) with the default settings, sending
    /// `headers` (a struct or map of flat values; `None` fields are left
    /// out) as URL query parameters, and waits for `__ready`. Use `&()`
    /// for no headers. Only `ws://` URLs: TLS is not enabled.
    pub async fn connect<H: Serialize + ?Sized>(
        url: &str,
        headers: &H,
    ) -> Result<Client, ConnectError> {
        ClientBuilder::new().connect(url, headers).await
    }

    /// The `__ready` payload: client id, session id, protocol version.
    pub fn ready(&self) -> &Ready {
        &self.inner.ready
    }

    /// Calls `route` with `input` and decodes the reply as `O`, waiting at
    /// most the client's timeout (30 s by default).
    ///
    /// Fails with the server's error reply ([`CallError::Server`], see
    /// [`CallError::code`]), [`CallError::Timeout`],
    /// [`CallError::ConnectionClosed`], or a serialize or decode error.
    pub async fn call<I, O>(&self, route: &str, input: &I) -> Result<O, CallError>
    where
        I: Serialize + ?Sized,
        O: DeserializeOwned,
    {
        self.call_with_timeout(route, input, self.inner.timeout)
            .await
    }

    /// Like [`call`](Client::call), with this call's own timeout. A reply
    /// that comes after it is dropped.
    pub async fn call_with_timeout<I, O>(
        &self,
        route: &str,
        input: &I,
        timeout: Duration,
    ) -> Result<O, CallError>
    where
        I: Serialize + ?Sized,
        O: DeserializeOwned,
    {
        let mut ticket = self
            .inner
            .shared
            .pending
            .register()
            .ok_or(CallError::ConnectionClosed)?;
        let frame = ClientFrame {
            route,
            payload: input,
            rpc_id: Some(ticket.id()),
        }
        .encode()
        .map_err(CallError::Serialize)?;
        let reply = tokio::time::timeout(timeout, async {
            self.send(frame).await?;
            ticket.reply().await.ok_or(CallError::ConnectionClosed)
        })
        .await
        .map_err(|_| CallError::Timeout(timeout))??;
        match reply {
            Ok(payload) => serde_json::from_str(payload.get()).map_err(CallError::Decode),
            Err(error) => Err(CallError::Server(error)),
        }
    }

    /// Sends a message: `route` with `input` and no `rpcId`, so the server
    /// sends no reply (its errors come on [`errors`](Client::errors)).
    /// Resolves once the frame is queued for sending, waiting at most the
    /// client's timeout for room in the queue.
    pub async fn message<I: Serialize + ?Sized>(
        &self,
        route: &str,
        input: &I,
    ) -> Result<(), CallError> {
        let frame = ClientFrame {
            route,
            payload: input,
            rpc_id: None,
        }
        .encode()
        .map_err(CallError::Serialize)?;
        let timeout = self.inner.timeout;
        tokio::time::timeout(timeout, self.send(frame))
            .await
            .map_err(|_| CallError::Timeout(timeout))?
    }

    async fn send(&self, frame: String) -> Result<(), CallError> {
        if self.inner.shared.is_ended() {
            return Err(CallError::ConnectionClosed);
        }
        self.inner
            .commands
            .send(Command::Send(frame))
            .await
            .map_err(|_| CallError::ConnectionClosed)
    }

    /// A stream of the payloads of event `name`, decoded as `T`, in the
    /// order the server sent them. Every stream of a name gets every event
    /// that arrives after the stream was taken; a payload that does not
    /// decode is an error item. Streams are bounded: see
    /// [`EventStream`] and [`ClientBuilder::event_buffer`]. They end when
    /// the connection is closed.
    pub fn events<T: DeserializeOwned>(&self, name: &str) -> EventStream<T> {
        self.inner.shared.subscriptions.events(name)
    }

    /// A stream of the server's `__error` frames: errors for frames sent
    /// without `rpcId`, such as a [`message`](Client::message) to an
    /// unknown route. It ends when the connection is closed.
    pub fn errors(&self) -> ErrorStream {
        self.inner.shared.subscriptions.errors()
    }

    /// Closes the connection with `1000` after the frames already queued,
    /// and waits for the server's close frame, 5 s at most. Pending calls
    /// fail with [`CallError::ConnectionClosed`], streams end, and later
    /// calls fail at once. Closing a closed client does nothing.
    pub async fn close(&self) {
        let shared = &self.inner.shared;
        let graceful = async {
            if !shared.is_ended() {
                // An error means the task has already ended.
                let _ = self.inner.commands.send(Command::Close).await;
            }
            shared.ended().await;
        };
        if tokio::time::timeout(CLOSE_TIMEOUT, graceful).await.is_err() {
            shared.abort();
            shared.ended().await;
        }
    }
}
