//! The background task that owns the socket: a writer draining the
//! client's command queue and a reader dispatching server frames, run
//! concurrently, then the shutdown that fails pending calls and ends the
//! streams.

use crate::events::Subscriptions;
use crate::frame::ServerFrame;
use crate::pending::Pending;
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, mpsc, watch};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message};

/// How long closing may wait for the server's close frame.
pub(crate) const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// What the handles ask of the task, in order.
#[derive(Debug)]
pub(crate) enum Command {
    /// Send a text frame.
    Send(String),
    /// Close with 1000, after the frames queued before.
    Close,
}

/// The state the handles and the task share.
pub(crate) struct Shared {
    /// The calls waiting for their reply.
    pub(crate) pending: Arc<Pending>,
    /// The event and error streams.
    pub(crate) subscriptions: Subscriptions,
    /// Becomes `true` once the task has ended.
    done: watch::Sender<bool>,
    /// Makes the task stop at once, without waiting for the socket.
    abort: Notify,
}

impl Shared {
    /// Shared state for a new connection.
    pub(crate) fn new(event_buffer: usize) -> Self {
        Self {
            pending: Arc::default(),
            subscriptions: Subscriptions::new(event_buffer),
            done: watch::channel(false).0,
            abort: Notify::new(),
        }
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
                self.subscriptions.publish(&name, seq, payload.get());
            }
            // A second `__ready`, a reserved type this client does not
            // know, or a frame it cannot read: nothing waits for it.
            Ok(ServerFrame::Ready(_) | ServerFrame::Unknown { .. }) | Err(_) => {}
        }
    }

    fn shut_down(&self) {
        self.pending.close();
        self.subscriptions.close();
        self.done.send_replace(true);
    }
}

/// Runs the connection until the server closes it, the socket fails, or
/// the client closes it (a [`Command::Close`], or every handle dropped);
/// then fails pending calls and ends the streams.
pub(crate) async fn run<W, R>(
    sink: W,
    stream: R,
    commands: mpsc::Receiver<Command>,
    shared: Arc<Shared>,
) where
    W: Sink<Message, Error = tungstenite::Error> + Unpin,
    R: Stream<Item = Result<Message, tungstenite::Error>> + Unpin,
{
    let reader = read(stream, &shared);
    let writer = write(sink, commands);
    let aborted = shared.abort.notified();
    tokio::pin!(reader, writer, aborted);
    let closing = tokio::select! {
        () = &mut aborted => false,
        () = &mut reader => false,
        () = &mut writer => true,
    };
    if closing {
        // Read on until the server's close frame ends the stream.
        tokio::select! {
            () = &mut aborted => {}
            _ = tokio::time::timeout(CLOSE_TIMEOUT, &mut reader) => {}
        }
    }
    shared.shut_down();
}

/// Dispatches text frames until the stream ends. Reading on after a close
/// frame also sends the close reply.
async fn read<R>(mut stream: R, shared: &Shared)
where
    R: Stream<Item = Result<Message, tungstenite::Error>> + Unpin,
{
    while let Some(Ok(message)) = stream.next().await {
        if let Message::Text(text) = message {
            shared.dispatch(&text);
        }
    }
}

/// Sends the queued frames until a close (asked for, or every handle
/// gone), which it sends last, or until the socket fails.
async fn write<W>(mut sink: W, mut commands: mpsc::Receiver<Command>)
where
    W: Sink<Message, Error = tungstenite::Error> + Unpin,
{
    loop {
        let message = match commands.recv().await {
            Some(Command::Send(text)) => Message::text(text),
            Some(Command::Close) | None => Message::Close(Some(CloseFrame {
                code: CloseCode::Normal,
                reason: "".into(),
            })),
        };
        let last = matches!(message, Message::Close(_));
        if sink.send(message).await.is_err() || last {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::EventError;
    use futures_util::stream;

    type Incoming = mpsc::UnboundedSender<Result<Message, tungstenite::Error>>;
    type Outgoing = mpsc::UnboundedReceiver<Message>;

    /// Starts the task on an in-memory socket.
    fn start(event_buffer: usize) -> (Arc<Shared>, mpsc::Sender<Command>, Incoming, Outgoing) {
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
        let (commands, rx) = mpsc::channel(8);
        let shared = Arc::new(Shared::new(event_buffer));
        tokio::spawn(run(Box::pin(sink), stream, rx, shared.clone()));
        (shared, commands, in_tx, out_rx)
    }

    fn text(json: &str) -> Result<Message, tungstenite::Error> {
        Ok(Message::text(json))
    }

    #[tokio::test]
    async fn replies_and_events_reach_their_waiters() {
        let (shared, _commands, incoming, _outgoing) = start(8);
        let mut call = shared.pending.register().unwrap();
        let mut events = shared.subscriptions.events::<u32>("tick");
        let mut errors = shared.subscriptions.errors();
        for frame in [
            r#"{"type":"__unknown"}"#,
            "not json",
            r#"{"type":"tick","payload":1,"seq":1}"#,
            r#"{"type":"__error","error":{"code":"NOT_FOUND","message":"no route x","path":null,"data":null,"route":"x"}}"#,
            r#"{"type":"__rpc_res","rpcId":"999","payload":0}"#,
        ] {
            incoming.send(text(frame)).unwrap();
        }
        incoming
            .send(text(&format!(
                r#"{{"type":"__rpc_res","rpcId":"{}","payload":[1]}}"#,
                call.id()
            )))
            .unwrap();
        assert_eq!(call.reply().await.unwrap().unwrap().get(), "[1]");
        assert_eq!(events.next().await.unwrap().unwrap(), 1);
        assert_eq!(
            errors.next().await.unwrap().unwrap().route.as_deref(),
            Some("x")
        );
    }

    #[tokio::test]
    async fn the_server_closing_fails_calls_and_ends_streams() {
        let (shared, _commands, incoming, _outgoing) = start(8);
        let mut call = shared.pending.register().unwrap();
        let mut events = shared.subscriptions.events::<u32>("tick");
        incoming
            .send(text(r#"{"type":"tick","payload":"x"}"#))
            .unwrap();
        drop(incoming);
        shared.ended().await;
        assert!(call.reply().await.is_none());
        assert!(matches!(
            events.next().await,
            Some(Err(EventError::Decode { .. }))
        ));
        assert!(events.next().await.is_none());
        assert!(shared.pending.register().is_none());
    }

    #[tokio::test]
    async fn close_sends_queued_frames_then_1000_and_waits_for_the_reply() {
        let (shared, commands, incoming, mut outgoing) = start(8);
        commands.send(Command::Send("a".into())).await.unwrap();
        commands.send(Command::Close).await.unwrap();
        assert_eq!(outgoing.recv().await.unwrap(), Message::text("a"));
        let close = outgoing.recv().await.unwrap();
        assert!(matches!(close, Message::Close(Some(f)) if f.code == CloseCode::Normal));
        assert!(!shared.is_ended(), "waiting for the server's close frame");
        incoming.send(Ok(Message::Close(None))).unwrap();
        drop(incoming);
        shared.ended().await;
    }

    #[tokio::test(start_paused = true)]
    async fn close_gives_up_on_a_silent_server() {
        let (shared, commands, _incoming, _outgoing) = start(8);
        commands.send(Command::Close).await.unwrap();
        shared.ended().await;
    }

    #[tokio::test]
    async fn dropping_every_handle_closes_with_1000() {
        let (shared, commands, incoming, mut outgoing) = start(8);
        drop(commands);
        assert!(
            matches!(outgoing.recv().await, Some(Message::Close(Some(f))) if f.code == CloseCode::Normal)
        );
        drop(incoming);
        shared.ended().await;
    }

    #[tokio::test]
    async fn abort_stops_at_once() {
        let (shared, _commands, _incoming, _outgoing) = start(8);
        shared.abort();
        shared.ended().await;
        assert!(shared.is_ended());
    }
}
