//! The client handle: the front the application holds, talking over
//! channels to the background task that owns the socket. The builder is
//! in `builder.rs`, calls and messages in `calls.rs`.

mod builder;
mod calls;
mod stream;

pub use builder::{ClientBuilder, SchemaCheck};
pub use stream::{DEFAULT_WINDOW, ItemStream};

use crate::connection::{CLOSE_TIMEOUT, Command};
use crate::error::ConnectError;
use crate::events::{ErrorStream, EventStream};
use crate::shared::Shared;
use crate::state::{State, StateStream};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use zocket_protocol::Ready;

/// A connection to a zocket server that comes back by itself.
///
/// Cloning is cheap: every clone talks over channels to the one background
/// task that owns the socket. Dropping the last clone closes the
/// connection with `1000`, as [`close`](Client::close) does.
///
/// When the connection drops, the client reconnects (see
/// [`ClientBuilder::max_retries`] and [`State`]), resuming its session
/// when the server can: calls and messages made meanwhile are queued and
/// sent in order once it is back, and event streams go on.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    commands: mpsc::Sender<Command>,
    shared: Arc<Shared>,
    timeout: Duration,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("client_id", &self.inner.shared.ready().client_id)
            .field("state", &self.inner.shared.states.current())
            .field("timeout", &self.inner.timeout)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Settings other than the defaults.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// Connects to `url` (`ws://...`) with the default settings, sending
    /// `headers` (a struct or map of flat values; `None` fields are left
    /// out) as HTTP headers of the handshake, one per field, and waits for
    /// `__ready`. Use `&()` for no headers. The URL is sent as it is: no
    /// header or session goes into it. See [`ClientBuilder::connect`] for
    /// how fields are encoded and which ones fail with
    /// [`ConnectError::Headers`], and
    /// [`ClientBuilder::headers_in_query`] for servers that read the
    /// headers only from the query. Only `ws://` URLs: TLS is not enabled.
    pub async fn connect<H: Serialize + ?Sized>(
        url: &str,
        headers: &H,
    ) -> Result<Client, ConnectError> {
        ClientBuilder::new().connect(url, headers).await
    }

    /// The latest `__ready` payload: client id, session id, protocol
    /// version, and whether the session was recovered. It changes when
    /// the client reconnects.
    pub fn ready(&self) -> Ready {
        self.inner.shared.ready()
    }

    /// The current session's id, a secret: save it (with
    /// [`last_seq`](Client::last_seq)) to resume the session from another
    /// client with [`ClientBuilder::session`].
    pub fn current_session_id(&self) -> String {
        self.inner.shared.ready().session_id
    }

    /// The highest event `seq` received in the current session; a
    /// reconnection sends it so that the server replays only later events.
    pub fn last_seq(&self) -> u64 {
        self.inner.shared.last_seq()
    }

    /// Where the client is in its lifecycle.
    pub fn state(&self) -> State {
        self.inner.shared.states.current()
    }

    /// A stream of the current state, then of every change, in order; it
    /// ends after the final state (`Failed` or `Closed`).
    pub fn state_changes(&self) -> StateStream {
        self.inner.shared.states.watch()
    }

    /// A stream of the payloads of event `name`, decoded as `T`, in the
    /// order the server sent them. Every stream of a name gets every event
    /// that arrives after the stream was taken; a payload that does not
    /// decode is an error item. Streams are bounded: see
    /// [`EventStream`] and [`ClientBuilder::event_buffer`]. They go on
    /// across reconnections (on a recovered session with no event missed
    /// or repeated) and end when the client is closed or has failed.
    pub fn events<T: DeserializeOwned>(&self, name: &str) -> EventStream<T> {
        self.inner.shared.subscriptions.events(name)
    }

    /// A stream of the server's `__error` frames: errors for frames sent
    /// without `rpcId`, such as a [`message`](Client::message) to an
    /// unknown route. It ends when the client is closed or has failed.
    pub fn errors(&self) -> ErrorStream {
        self.inner.shared.subscriptions.errors()
    }

    /// A handle to the same connection whose calls and messages wait
    /// `timeout` for their reply (or their place in the send queue)
    /// instead of the builder's [`timeout`](ClientBuilder::timeout); typed
    /// clients have the same: `chat.with_timeout(d).send(..)`.
    pub fn with_timeout(&self, timeout: Duration) -> Client {
        Client {
            inner: Arc::new(Inner {
                commands: self.inner.commands.clone(),
                shared: self.inner.shared.clone(),
                timeout,
            }),
        }
    }

    /// The timeout this handle's calls wait for their reply.
    pub fn timeout(&self) -> Duration {
        self.inner.timeout
    }

    /// Closes the client for good: with `1000` after the frames already
    /// queued, waiting for the server's close frame (5 s at most), or at
    /// once while it is reconnecting. The state becomes
    /// [`Closed`](State::Closed) and it never reconnects. Pending calls
    /// fail with
    /// [`CallError::ConnectionClosed`](crate::CallError::ConnectionClosed),
    /// messages still in the offline queue are dropped, streams end, and
    /// later calls fail at once. Closing a closed client does nothing.
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
        // A failed client is closed too (the state streams have ended at
        // `Failed`).
        shared.states.set(State::Closed);
    }
}
