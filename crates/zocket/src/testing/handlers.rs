//! Handlers called directly: a [`TestHub`] of socketless connections, each
//! giving a real [`Ctx`] and recording what reaches it.

use crate::config::Config;
use crate::dispatch::Ctx;
use crate::registry::{
    ClientId, DisconnectReason, Hub, Link, MemoryAdapter, Outbound, ServerHandle, Session,
    SessionHooks, Take,
};
use std::collections::VecDeque;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use zocket_protocol::ServerFrame;

/// A server with no routes and no sockets, whose connections are made by
/// hand: for calling handlers directly, with a real [`Ctx`] (client id,
/// rooms, context, sending, the server handle), and reading what each
/// connection was sent.
///
/// Must be used inside a tokio runtime (a `#[tokio::test]`).
///
/// ```
/// use zocket::testing::TestHub;
/// use zocket::{Ctx, Event};
///
/// const SAID: Event<String> = Event::new("chat.said");
///
/// // A handler, as the application writes it.
/// async fn say(ctx: Ctx<String>, text: String) -> usize {
///     ctx.emit(SAID, &format!("{}: {text}", ctx.context())).to_room("general").unwrap()
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let hub = TestHub::new();
/// let ada = hub.connect("ada".to_string());
/// let bob = hub.connect("bob".to_string());
/// ada.join("general").unwrap();
/// bob.join("general").unwrap();
///
/// assert_eq!(say(ada.ctx(), "hi".into()).await, 2);
/// let events = bob.events();
/// assert_eq!(events[0].name, "chat.said");
/// assert_eq!(events[0].payload, "ada: hi");
/// # }
/// ```
pub struct TestHub<C> {
    hub: Arc<Hub<C>>,
}

impl<C: Send + Sync + 'static> Default for TestHub<C> {
    fn default() -> Self {
        Self::new()
    }
}

impl<C: Send + Sync + 'static> TestHub<C> {
    /// A hub with the default [`Config`] and an in-memory adapter.
    pub fn new() -> Self {
        Self::with_config(Config::default())
    }

    /// A hub with `config` (its limits, retention and timeouts apply).
    pub fn with_config(config: Config) -> Self {
        let hooks = SessionHooks {
            on_connection_lost: None,
            on_disconnect: None,
        };
        Self {
            hub: Arc::new(Hub::new(
                config,
                Arc::new(MemoryAdapter::new()),
                hooks,
                Vec::new(),
            )),
        }
    }

    /// A new connection with a random client id and `context` (what
    /// `on_connect` would have built).
    pub fn connect(&self, context: C) -> TestConn<C> {
        self.connect_as(ClientId::random(), context)
    }

    /// A new connection with the client id `id`.
    pub fn connect_as(&self, id: impl Into<ClientId>, context: C) -> TestConn<C> {
        let session = Arc::new(Session::new(id.into(), context, self.hub.clone()));
        self.hub.insert(session.clone());
        self.hub.adapter.add(session.recipient());
        let link = Arc::new(Link::new(session.id.clone(), &self.hub.config));
        // A fresh session always takes its first connection.
        let _ = session.attach(link.clone(), None);
        tokio::spawn(ending(session.clone(), link.clone()));
        let conn = TestConn {
            session,
            link,
            inbox: std::sync::Mutex::new(Vec::new()),
            streams: std::sync::atomic::AtomicU64::new(0),
        };
        // `__ready` is not what a test wants to read.
        let _ = conn.drain();
        conn
    }

    /// The server handle: other connections, sending from outside a
    /// handler.
    pub fn handle(&self) -> ServerHandle<C> {
        ServerHandle::new(self.hub.clone())
    }
}

/// What a socket's task would do once the connection is asked to stop:
/// detach it and end (or keep) the session.
async fn ending<C: Send + Sync + 'static>(session: Arc<Session<C>>, link: Arc<Link>) {
    std::future::poll_fn(|cx| {
        link.register_reader(cx.waker());
        Poll::Ready(())
    })
    .await;
    link.stopped().await;
    let reason = link.stop_reason();
    link.close(None);
    if session.detach(&link) {
        session.connection_ended(reason).await;
    }
}

/// One connection of a [`TestHub`], without a socket.
pub struct TestConn<C> {
    session: Arc<Session<C>>,
    link: Arc<Link>,
    /// Frames taken from the queue and not read yet.
    inbox: std::sync::Mutex<Vec<String>>,
    /// Counts the stream sinks made.
    streams: std::sync::atomic::AtomicU64,
}

/// An item a stream handler sent.
#[derive(Debug, Clone, PartialEq)]
pub struct SentItem {
    /// The stream's id (its call's `rpcId`).
    pub stream: String,
    /// The item's number in its stream, from 1.
    pub n: u64,
    /// The item.
    pub payload: serde_json::Value,
}

impl SentItem {
    /// The payload as `T`.
    pub fn payload_as<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        T::deserialize(&self.payload)
    }
}

/// An event a connection was sent.
#[derive(Debug, Clone, PartialEq)]
pub struct SentEvent {
    /// The event's name (`chat.said`).
    pub name: String,
    /// Its payload.
    pub payload: serde_json::Value,
    /// Its number in the session.
    pub seq: u64,
}

impl SentEvent {
    /// The payload as `T`.
    pub fn payload_as<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        T::deserialize(&self.payload)
    }
}

impl<C: Send + Sync + 'static> TestConn<C> {
    /// A handler's context for this connection (route `test`).
    pub fn ctx(&self) -> Ctx<C> {
        self.ctx_for("test")
    }

    /// A handler's context for this connection, as if `route` were called.
    pub fn ctx_for(&self, route: &str) -> Ctx<C> {
        Ctx::new(self.session.clone(), route.into())
    }

    /// The client id.
    pub fn id(&self) -> &ClientId {
        &self.session.id
    }

    /// Puts the connection in `room`, as a handler's `ctx.join` would
    /// (within the same limits).
    pub fn join(&self, room: &str) -> Result<bool, crate::RpcError> {
        crate::dispatch::join(&self.session, room)
    }

    /// The connection's rooms, sorted.
    pub fn rooms(&self) -> Vec<String> {
        self.session.hub.adapter.rooms(&self.session.id)
    }

    /// The events sent to this connection since the last call, in order.
    pub fn events(&self) -> Vec<SentEvent> {
        self.take(|frame| match frame {
            ServerFrame::Event {
                name, payload, seq, ..
            } => Some(SentEvent {
                name,
                payload: serde_json::from_str(payload.get()).unwrap_or_default(),
                seq: seq.unwrap_or_default(),
            }),
            _ => None,
        })
    }

    /// A sink for calling a stream handler directly, on this connection:
    /// it sends up to `credit` items (at most
    /// [`Config::max_stream_window`], and within
    /// [`Config::stream_buffer_bytes`] until they are read), then its
    /// `send` waits, as it would for a client that reads no further. Read
    /// (and acknowledge) what it sent with [`items`](Self::items).
    ///
    /// ```
    /// use zocket::testing::TestHub;
    /// use zocket::{Ctx, StreamSink, StreamError};
    ///
    /// // A stream handler, as the application writes it.
    /// async fn count(_ctx: Ctx<()>, to: u32, mut items: StreamSink<u32>) -> Result<(), StreamError> {
    ///     for i in 1..=to {
    ///         items.send(i).await?;
    ///     }
    ///     Ok(())
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let hub = TestHub::new();
    /// let conn = hub.connect(());
    /// count(conn.ctx(), 3, conn.stream(10)).await.unwrap();
    /// let items: Vec<u32> = conn.items().iter().map(|item| item.payload_as().unwrap()).collect();
    /// assert_eq!(items, [1, 2, 3]);
    /// # }
    /// ```
    pub fn stream<T: serde::Serialize>(&self, credit: u64) -> crate::StreamSink<T> {
        use std::sync::atomic::Ordering;
        let number = self.streams.fetch_add(1, Ordering::Relaxed) + 1;
        let rpc_id: Arc<str> = format!("test-stream-{number}").into();
        let opened = self.session.open_stream(&rpc_id, self.session.generation());
        if opened.is_some() {
            let credit = zocket_protocol::Credit {
                received: 0,
                window: credit,
            };
            self.session.grant(&rpc_id, credit);
        }
        // Past `max_streams` the sink is closed: its `send` fails.
        let stream = crate::dispatch::OpenStream {
            rpc_id,
            number: opened.unwrap_or(0),
        };
        crate::StreamSink::new(self.session.clone(), stream)
    }

    /// The items stream sinks sent on this connection since the last
    /// call, in order. Reading them acknowledges them, as a client does:
    /// the sink may then send as many more as its credit allows.
    pub fn items(&self) -> Vec<SentItem> {
        let items = self.take(|frame| match frame {
            ServerFrame::Item { rpc_id, n, payload } => Some(SentItem {
                stream: rpc_id,
                n,
                payload: serde_json::from_str(payload.get()).unwrap_or_default(),
            }),
            _ => None,
        });
        let mut last: std::collections::HashMap<&str, u64> = std::collections::HashMap::new();
        for item in &items {
            last.insert(&item.stream, item.n);
        }
        for (stream, received) in last {
            let credit = zocket_protocol::Credit {
                received,
                window: 0,
            };
            self.session.grant(stream, credit);
        }
        items
    }

    /// The frames `pick` takes, in order, from what was queued for this
    /// connection; the others stay for the next reader.
    fn take<R>(&self, pick: impl Fn(ServerFrame) -> Option<R>) -> Vec<R> {
        let mut inbox = self
            .inbox
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        inbox.extend(self.drain());
        let mut taken = Vec::new();
        inbox.retain(
            |frame| match ServerFrame::parse(frame).ok().and_then(&pick) {
                Some(value) => {
                    taken.push(value);
                    false
                }
                None => true,
            },
        );
        taken
    }

    /// Why the connection was closed (`ctx.disconnect`, a shutdown, a slow
    /// consumer), if it was.
    pub fn closed(&self) -> Option<DisconnectReason> {
        self.session.is_ended().then(|| self.link.stop_reason())
    }

    /// Every frame queued for this connection since the last call.
    fn drain(&self) -> Vec<String> {
        let mut batch = VecDeque::new();
        let mut cx = Context::from_waker(Waker::noop());
        if let Poll::Ready(Take::Frames) = self.link.poll_take(&mut cx, &mut batch) {}
        batch
            .into_iter()
            .filter_map(|out| match out {
                Outbound::Text(text) => Some(text.as_str().to_owned()),
                Outbound::Event(event, n) => Some(event.frame(n)),
                Outbound::Ping => None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Close;
    use crate::registry::Event;

    const NEWS: Event<u32> = Event::new("news");

    #[tokio::test]
    async fn events_reach_the_members_they_were_sent_to() {
        let hub = TestHub::new();
        let a = hub.connect_as("a", ());
        let b = hub.connect_as("b", ());
        let c = hub.connect_as("c", ());
        a.join("r").unwrap();
        b.join("r").unwrap();
        assert_eq!(a.ctx().emit(NEWS, &1).to_room("r").unwrap(), 2);
        assert_eq!(a.ctx().emit(NEWS, &2).broadcast().unwrap(), 3);
        hub.handle().emit(NEWS, &3).to(c.id()).unwrap();
        let payloads = |conn: &TestConn<()>| -> Vec<u32> {
            conn.events()
                .iter()
                .map(|e| e.payload_as().unwrap())
                .collect()
        };
        assert_eq!(payloads(&a), [1, 2]);
        assert_eq!(payloads(&b), [1, 2]);
        assert_eq!(payloads(&c), [2, 3]);
        assert!(payloads(&c).is_empty(), "read once");
        assert_eq!(a.rooms(), ["r"]);
    }

    #[tokio::test]
    async fn a_handler_that_disconnects_closes_its_connection() {
        let hub = TestHub::new();
        let a = hub.connect(());
        a.ctx().disconnect(Close::new(4001, "bye")).await;
        assert_eq!(
            a.closed(),
            Some(DisconnectReason::Disconnected(Close::new(4001, "bye")))
        );
        assert_eq!(hub.handle().connection_count(), 0);
    }
}
