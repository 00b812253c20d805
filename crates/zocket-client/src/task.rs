//! What the handles and the background task share, and one live
//! connection: a writer draining the client's commands and a reader
//! dispatching server frames, run concurrently until the connection ends.

use crate::error::CallError;
use crate::events::Subscriptions;
use crate::frame::{Ready, ServerFrame};
use crate::pending::Pending;
use crate::state::{State, States};
use futures_util::stream::BoxStream;
use futures_util::{Sink, SinkExt, StreamExt};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::{Notify, mpsc, oneshot, watch};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message, Utf8Bytes};

/// How long closing may wait for the server's close frame.
pub(crate) const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// The writing half of a socket.
pub(crate) type FrameSink = Pin<Box<dyn Sink<Message, Error = tungstenite::Error> + Send>>;
/// The reading half of a socket.
pub(crate) type FrameStream = BoxStream<'static, Result<Message, tungstenite::Error>>;

/// An open socket whose `__ready` has been read.
pub(crate) struct Connection {
    pub(crate) sink: FrameSink,
    pub(crate) stream: FrameStream,
    pub(crate) ready: Ready,
}

/// What the handles ask of the task, in order.
#[derive(Debug)]
pub(crate) enum Command {
    /// Send a message; `ack` says whether it was sent or queued.
    Message {
        frame: Utf8Bytes,
        ack: oneshot::Sender<Result<(), CallError>>,
    },
    /// Send call `id` (its frame is in [`Pending`]).
    Call(u64),
    /// Close with 1000, after the frames queued before.
    Close,
}

/// The state the handles and the task share.
pub(crate) struct Shared {
    /// The calls waiting for their reply.
    pub(crate) pending: Arc<Pending>,
    /// The event and error streams.
    pub(crate) subscriptions: Subscriptions,
    /// The lifecycle state.
    pub(crate) states: States,
    /// The latest `__ready`.
    ready: Mutex<Ready>,
    /// The highest event `seq` received in this session.
    last_seq: AtomicU64,
    /// Becomes `true` once the task has ended.
    done: watch::Sender<bool>,
    /// Makes the task stop at once, without waiting for the socket.
    abort: Notify,
}

impl Shared {
    /// Shared state for a client connected with `ready`, having received
    /// the events of its session up to `last_seq`.
    pub(crate) fn new(
        subscriptions: Subscriptions,
        ready: Ready,
        last_seq: u64,
        state: State,
    ) -> Self {
        Self {
            pending: Arc::default(),
            subscriptions,
            states: States::new(state),
            ready: Mutex::new(ready),
            last_seq: AtomicU64::new(last_seq),
            done: watch::channel(false).0,
            abort: Notify::new(),
        }
    }

    /// The latest `__ready`.
    pub(crate) fn ready(&self) -> Ready {
        self.ready
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Takes a new connection's `__ready`; a fresh session counts its
    /// events from the start again.
    pub(crate) fn set_ready(&self, ready: Ready) {
        if !ready.recovered {
            self.last_seq.store(0, Ordering::Relaxed);
        }
        *self.ready.lock().unwrap_or_else(PoisonError::into_inner) = ready;
    }

    /// The highest event `seq` received in this session.
    pub(crate) fn last_seq(&self) -> u64 {
        self.last_seq.load(Ordering::Relaxed)
    }

    /// Waits until the task has ended.
    pub(crate) async fn ended(&self) {
        let mut done = self.done.subscribe();
        // The sender lives in `self`: waiting cannot fail.
        let _ = done.wait_for(|done| *done).await;
    }

    /// Whether the task has ended.
    pub(crate) fn is_ended(&self) -> bool {
        *self.done.borrow()
    }

    /// Makes the task stop now.
    pub(crate) fn abort(&self) {
        self.abort.notify_one();
    }

    /// Resolves when [`abort`](Self::abort) is called (or was, before).
    pub(crate) async fn aborted(&self) {
        self.abort.notified().await;
    }

    fn dispatch(&self, text: &str) {
        match ServerFrame::parse(text) {
            Ok(ServerFrame::Reply { rpc_id, payload }) => {
                self.pending.resolve(&rpc_id, Ok(payload))
            }
            Ok(ServerFrame::CallError { rpc_id, error }) => {
                self.pending.resolve(&rpc_id, Err(Box::new(error)));
            }
            Ok(ServerFrame::Error(error)) => self.subscriptions.publish_error(error),
            Ok(ServerFrame::Event { name, payload, seq }) => {
                if let Some(seq) = seq {
                    // Only the reader writes `last_seq`. An event already
                    // received (replayed twice) is not delivered again.
                    if seq <= self.last_seq() {
                        return;
                    }
                    self.last_seq.store(seq, Ordering::Relaxed);
                }
                self.subscriptions.publish(&name, seq, payload.get());
            }
            // A second `__ready`, a reserved type this client does not
            // know, or a frame it cannot read: nothing waits for it.
            Ok(ServerFrame::Ready(_) | ServerFrame::Unknown { .. }) | Err(_) => {}
        }
    }

    /// Ends the client in `state`: fails the calls (those in flight with
    /// [`CallError::ConnectionLost`] when `lost`), ends the streams.
    pub(crate) fn finish(&self, state: State, lost: bool) {
        self.pending.close(|| {
            if lost {
                CallError::ConnectionLost
            } else {
                CallError::ConnectionClosed
            }
        });
        self.subscriptions.close();
        self.states.set(state);
        self.done.send_replace(true);
    }
}

/// How a live connection ended.
#[derive(Debug, PartialEq)]
pub(crate) enum End {
    /// The client closed it (or every handle was dropped, or aborted).
    Closed,
    /// The server closed it, with this close code and reason, or it
    /// dropped (no code).
    Dropped { code: Option<u16>, reason: String },
}

/// Runs a live connection until it ends: frames from the server are
/// dispatched, the client's commands are written.
pub(crate) async fn serve(
    connection: &mut Connection,
    commands: &mut mpsc::Receiver<Command>,
    shared: &Shared,
) -> End {
    let reader = read(&mut connection.stream, shared);
    let writer = write(&mut connection.sink, commands, shared);
    let aborted = shared.aborted();
    tokio::pin!(reader, writer, aborted);
    tokio::select! {
        () = &mut aborted => End::Closed,
        (code, reason) = &mut reader => End::Dropped { code, reason },
        closing = &mut writer => {
            // Read on until the server's close frame ends the stream.
            let read_on = async {
                tokio::select! {
                    () = &mut aborted => None,
                    read = tokio::time::timeout(CLOSE_TIMEOUT, &mut reader) => read.ok(),
                }
            };
            match (closing, read_on.await) {
                (true, _) => End::Closed,
                (false, Some((code, reason))) => End::Dropped { code, reason },
                (false, None) => End::Dropped { code: None, reason: String::new() },
            }
        }
    }
}

/// Dispatches text frames until the stream ends; the server's close
/// code and reason, if it sent a close frame. Reading on after a close
/// frame also sends the close reply.
async fn read(stream: &mut FrameStream, shared: &Shared) -> (Option<u16>, String) {
    let mut close = (None, String::new());
    while let Some(Ok(message)) = stream.next().await {
        match message {
            Message::Text(text) => shared.dispatch(&text),
            Message::Close(Some(frame)) => {
                close = (Some(u16::from(frame.code)), frame.reason.to_string());
            }
            _ => {}
        }
    }
    close
}

/// Writes the client's commands until a close (asked for, or every handle
/// gone), which it sends last, returning `true`, or until the socket
/// fails, returning `false`.
async fn write(
    sink: &mut FrameSink,
    commands: &mut mpsc::Receiver<Command>,
    shared: &Shared,
) -> bool {
    loop {
        let message = match commands.recv().await {
            Some(Command::Message { frame, ack }) => {
                let _ = ack.send(Ok(()));
                Message::Text(frame)
            }
            Some(Command::Call(id)) => match shared.pending.send(id) {
                Some(frame) => Message::Text(frame),
                None => continue,
            },
            Some(Command::Close) | None => {
                let close = Message::Close(Some(CloseFrame {
                    code: CloseCode::Normal,
                    reason: "".into(),
                }));
                let _ = sink.send(close).await;
                return true;
            }
        };
        if sink.send(message).await.is_err() {
            return false;
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::error::EventError;
    use futures_util::stream;

    /// The server's side of an in-memory connection.
    pub(crate) struct Peer {
        /// Frames to the client; dropping it ends the client's stream.
        pub(crate) incoming: mpsc::UnboundedSender<Result<Message, tungstenite::Error>>,
        /// Frames from the client.
        pub(crate) outgoing: mpsc::UnboundedReceiver<Message>,
    }

    impl Peer {
        /// Sends a text frame to the client.
        pub(crate) fn send(&self, json: &str) {
            let _ = self.incoming.send(Ok(Message::text(json)));
        }

        /// The next text frame from the client, as JSON.
        pub(crate) async fn recv(&mut self) -> serde_json::Value {
            loop {
                match self.outgoing.recv().await {
                    Some(Message::Text(text)) => return serde_json::from_str(&text).unwrap(),
                    Some(_) => {}
                    None => panic!("the client's side ended"),
                }
            }
        }
    }

    pub(crate) fn ready(session: &str, recovered: bool) -> Ready {
        Ready {
            client_id: format!("client-{session}"),
            session_id: session.into(),
            protocol_version: 1,
            recovered,
        }
    }

    /// An in-memory connection and the server's side of it.
    pub(crate) fn connection(ready: Ready) -> (Connection, Peer) {
        let (in_tx, in_rx) = mpsc::unbounded_channel();
        let (out_tx, out_rx) = mpsc::unbounded_channel();
        let stream = stream::unfold(
            in_rx,
            |mut rx| async move { rx.recv().await.map(|m| (m, rx)) },
        )
        .boxed();
        let sink = futures_util::sink::unfold(out_tx, |tx, message: Message| async move {
            tx.send(message)
                .map_err(|_| tungstenite::Error::ConnectionClosed)?;
            Ok::<_, tungstenite::Error>(tx)
        });
        let connection = Connection {
            sink: Box::pin(sink),
            stream,
            ready,
        };
        let peer = Peer {
            incoming: in_tx,
            outgoing: out_rx,
        };
        (connection, peer)
    }

    struct Served {
        shared: Arc<Shared>,
        commands: mpsc::Sender<Command>,
        peer: Peer,
        end: tokio::task::JoinHandle<End>,
    }

    /// Serves one in-memory connection.
    fn start(event_buffer: usize) -> Served {
        let (mut connection, peer) = connection(ready("s", false));
        let (commands, mut rx) = mpsc::channel(8);
        let recovered = connection.ready.recovered;
        let shared = Arc::new(Shared::new(
            Subscriptions::new(event_buffer),
            connection.ready.clone(),
            0,
            State::Connected { recovered },
        ));
        let end = tokio::spawn({
            let shared = shared.clone();
            async move { serve(&mut connection, &mut rx, &shared).await }
        });
        Served {
            shared,
            commands,
            peer,
            end,
        }
    }

    fn call(shared: &Arc<Shared>) -> crate::pending::Ticket {
        shared.pending.register(|id| Ok(id.to_owned())).unwrap()
    }

    #[tokio::test]
    async fn replies_and_events_reach_their_waiters() {
        let s = start(8);
        let mut call = call(&s.shared);
        let mut events = s.shared.subscriptions.events::<u32>("tick");
        let mut errors = s.shared.subscriptions.errors();
        for frame in [
            r#"{"type":"__unknown"}"#,
            "not json",
            r#"{"type":"tick","payload":1,"seq":1}"#,
            r#"{"type":"__error","error":{"code":"NOT_FOUND","message":"no route x","path":null,"data":null,"route":"x"}}"#,
            r#"{"type":"__rpc_res","rpcId":"999","payload":0}"#,
        ] {
            s.peer.send(frame);
        }
        s.peer.send(&format!(
            r#"{{"type":"__rpc_res","rpcId":"{}","payload":[1]}}"#,
            call.id()
        ));
        assert_eq!(call.reply().await.unwrap().unwrap().get(), "[1]");
        assert_eq!(events.next().await.unwrap().unwrap(), 1);
        assert_eq!(
            errors.next().await.unwrap().unwrap().route.as_deref(),
            Some("x")
        );
        assert_eq!(s.shared.last_seq(), 1);
    }

    #[tokio::test]
    async fn events_already_received_are_not_delivered_again() {
        let s = start(8);
        let mut events = s.shared.subscriptions.events::<u32>("tick");
        for frame in [
            r#"{"type":"tick","payload":1,"seq":1}"#,
            r#"{"type":"tick","payload":2,"seq":2}"#,
            r#"{"type":"tick","payload":1,"seq":1}"#,
            r#"{"type":"tick","payload":2,"seq":2}"#,
            r#"{"type":"tick","payload":0}"#,
            r#"{"type":"tick","payload":3,"seq":3}"#,
        ] {
            s.peer.send(frame);
        }
        for expected in [1, 2, 0, 3] {
            assert_eq!(events.next().await.unwrap().unwrap(), expected);
        }
        assert_eq!(s.shared.last_seq(), 3);
    }

    #[tokio::test]
    async fn the_server_closing_ends_the_connection_with_its_code() {
        let s = start(8);
        let mut events = s.shared.subscriptions.events::<u32>("tick");
        s.peer.send(r#"{"type":"tick","payload":"x"}"#);
        let close = CloseFrame {
            code: CloseCode::Away,
            reason: "bye".into(),
        };
        s.peer
            .incoming
            .send(Ok(Message::Close(Some(close))))
            .unwrap();
        drop(s.peer);
        assert_eq!(
            s.end.await.unwrap(),
            End::Dropped {
                code: Some(1001),
                reason: "bye".into()
            }
        );
        // The streams go on: the connection may come back.
        assert!(matches!(
            events.next().await,
            Some(Err(EventError::Decode { .. }))
        ));
        assert!(!s.shared.is_ended());
    }

    #[tokio::test]
    async fn close_sends_queued_frames_then_1000_and_waits_for_the_reply() {
        let mut s = start(8);
        let (ack, acked) = oneshot::channel();
        s.commands
            .send(Command::Message {
                frame: "a".into(),
                ack,
            })
            .await
            .unwrap();
        let ticket = call(&s.shared);
        s.commands.send(Command::Call(ticket.id())).await.unwrap();
        s.commands.send(Command::Close).await.unwrap();
        assert_eq!(s.peer.outgoing.recv().await.unwrap(), Message::text("a"));
        assert!(acked.await.unwrap().is_ok());
        assert_eq!(
            s.peer.outgoing.recv().await.unwrap(),
            Message::text(ticket.id().to_string())
        );
        let close = s.peer.outgoing.recv().await.unwrap();
        assert!(matches!(close, Message::Close(Some(f)) if f.code == CloseCode::Normal));
        assert!(!s.end.is_finished(), "waiting for the server's close frame");
        s.peer.incoming.send(Ok(Message::Close(None))).unwrap();
        drop(s.peer.incoming);
        assert_eq!(s.end.await.unwrap(), End::Closed);
    }

    #[tokio::test(start_paused = true)]
    async fn close_gives_up_on_a_silent_server() {
        let s = start(8);
        s.commands.send(Command::Close).await.unwrap();
        assert_eq!(s.end.await.unwrap(), End::Closed);
        drop(s.peer);
    }

    #[tokio::test]
    async fn dropping_every_handle_closes_with_1000() {
        let mut s = start(8);
        drop(s.commands);
        assert!(
            matches!(s.peer.outgoing.recv().await, Some(Message::Close(Some(f))) if f.code == CloseCode::Normal)
        );
        drop(s.peer.incoming);
        assert_eq!(s.end.await.unwrap(), End::Closed);
    }

    #[tokio::test]
    async fn abort_stops_at_once() {
        let s = start(8);
        s.shared.abort();
        assert_eq!(s.end.await.unwrap(), End::Closed);
        drop(s.peer);
    }

    #[tokio::test]
    async fn finishing_fails_calls_and_ends_streams() {
        let s = start(8);
        let mut sent = call(&s.shared);
        s.shared.pending.send(sent.id());
        let mut queued = call(&s.shared);
        let mut events = s.shared.subscriptions.events::<u32>("tick");
        s.shared.finish(State::Closed, true);
        assert!(s.shared.is_ended());
        assert!(matches!(sent.reply().await, Err(CallError::ConnectionLost)));
        assert!(matches!(
            queued.reply().await,
            Err(CallError::ConnectionClosed)
        ));
        assert!(events.next().await.is_none());
        assert!(matches!(s.shared.states.current(), State::Closed));
    }
}
