//! The connection layer over in-memory sockets, on tokio's paused clock:
//! heartbeats, the slow-consumer close, the close handshake, the rate limit
//! and shutdown draining, with no network and no real time.

use super::{Conn, Inbound, Start, run};
use crate::config::{Config, RateLimit};
use crate::protocol::Close;
use crate::registry::{
    ClientId, DisconnectReason, EncodedEvent, Event, Hub, MemoryAdapter, Outbound, ServerHandle,
    SessionHooks, Target,
};
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes};
use futures_util::{Sink, Stream};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::{PollSendError, PollSender};

/// The server's end of an in-memory WebSocket.
struct Pipe {
    incoming: mpsc::UnboundedReceiver<Result<Message, axum::Error>>,
    outgoing: PollSender<Message>,
}

impl Stream for Pipe {
    type Item = Result<Message, axum::Error>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.incoming.poll_recv(cx)
    }
}

impl Sink<Message> for Pipe {
    type Error = PollSendError<Message>;
    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Pin::new(&mut self.outgoing).poll_ready(cx)
    }
    fn start_send(mut self: Pin<&mut Self>, item: Message) -> Result<(), Self::Error> {
        Pin::new(&mut self.outgoing).start_send(item)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Pin::new(&mut self.outgoing).poll_flush(cx)
    }
    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Pin::new(&mut self.outgoing).poll_close(cx)
    }
}

/// The client's end: what it sends, what it receives.
struct Peer {
    send: mpsc::UnboundedSender<Result<Message, axum::Error>>,
    recv: mpsc::Receiver<Message>,
}

impl Peer {
    fn text(&self, text: &str) {
        let _ = self.send.send(Ok(Message::Text(text.into())));
    }

    async fn next(&mut self) -> Message {
        tokio::time::timeout(Duration::from_secs(600), self.recv.recv())
            .await
            .expect("a frame within the time limit")
            .expect("the server end is open")
    }

    /// The next frame that is not a ping.
    async fn next_not_ping(&mut self) -> Message {
        loop {
            match self.next().await {
                Message::Ping(_) => {}
                other => return other,
            }
        }
    }
}

/// Answers every admitted text frame with the same text, and every refused
/// one with `refused`.
struct Echo;

impl Inbound<()> for Echo {
    async fn on_text(
        &self,
        conn: &Conn<()>,
        text: Utf8Bytes,
        admitted: bool,
    ) -> Option<DisconnectReason> {
        let reply = if admitted { text } else { "refused".into() };
        conn.link.push(Outbound::Text(reply));
        None
    }
}

/// Runs each text frame as a call that takes a second, then answers `done`.
struct Slow;

impl Inbound<()> for Slow {
    async fn on_text(&self, conn: &Conn<()>, _: Utf8Bytes, _: bool) -> Option<DisconnectReason> {
        let permit = conn.calls.clone().try_acquire_owned().ok()?;
        let session = conn.session.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            session.send("done".into());
            drop(permit);
        });
        None
    }
}

struct Setup {
    hub: Arc<Hub<()>>,
    peer: Peer,
    ended: mpsc::UnboundedReceiver<DisconnectReason>,
    task: tokio::task::JoinHandle<()>,
}

/// A server with `config` and one connection to it; `outgoing` frames fit
/// in the client's receive buffer before the server's writer has to wait.
fn connect<I: Inbound<()>>(config: Config, inbound: I, outgoing: usize) -> Setup {
    let (ended_tx, ended) = mpsc::unbounded_channel();
    let ended_tx = Arc::new(Mutex::new(ended_tx));
    let hooks = SessionHooks {
        on_connection_lost: None,
        on_disconnect: Some(Arc::new(move |_, reason| {
            let _ = ended_tx.lock().unwrap().send(reason);
            Box::pin(async {})
        })),
    };
    let hub = Arc::new(Hub::new(
        config,
        Arc::new(MemoryAdapter::new()),
        hooks,
        Vec::new(),
    ));
    let (send, incoming) = mpsc::unbounded_channel();
    let (out_tx, recv) = mpsc::channel(outgoing);
    let pipe = Pipe {
        incoming,
        outgoing: PollSender::new(out_tx),
    };
    let start = Start::Fresh {
        id: ClientId::random(),
        connect: Box::pin(async { Ok(()) }),
    };
    let slot = hub.acquire_slot(None).expect("room for a connection");
    let task = tokio::spawn(run(pipe, hub.clone(), Arc::new(inbound), start, slot));
    Setup {
        hub,
        peer: Peer { send, recv },
        ended,
        task,
    }
}

/// Reads `__ready` and the opening ping, and answers the ping.
async fn ready(peer: &mut Peer) {
    match peer.next().await {
        Message::Text(text) => assert!(text.as_str().starts_with(r#"{"type":"__ready""#), "{text}"),
        other => panic!("expected __ready, got {other:?}"),
    }
    assert!(
        matches!(peer.next().await, Message::Ping(_)),
        "the opening ping"
    );
    let _ = peer.send.send(Ok(Message::Pong(Default::default())));
}

fn close_code(message: &Message) -> Option<u16> {
    match message {
        Message::Close(Some(frame)) => Some(frame.code),
        _ => None,
    }
}

#[tokio::test(start_paused = true)]
async fn a_silent_peer_is_dropped_after_the_pong_timeout() {
    let config = Config::default()
        .heartbeat(Duration::from_secs(10), Duration::from_secs(5))
        .session_retention(Duration::ZERO);
    let mut s = connect(config, Echo, 64);
    ready(&mut s.peer).await;
    let started = tokio::time::Instant::now();
    assert!(matches!(s.peer.next().await, Message::Ping(_)));
    assert_eq!(started.elapsed(), Duration::from_secs(10));
    let reason = s.ended.recv().await.expect("the session ended");
    assert_eq!(reason, DisconnectReason::HeartbeatTimeout);
    assert_eq!(started.elapsed(), Duration::from_secs(15));
    s.task.await.expect("the connection task ends");
}

#[tokio::test(start_paused = true)]
async fn a_peer_that_never_answers_the_opening_ping_is_dropped_and_its_session_ends() {
    let config = Config::default().open_timeout(Duration::from_secs(3));
    let mut s = connect(config, Echo, 64);
    let started = tokio::time::Instant::now();
    // Nothing is read or answered: the upgrade never completes.
    let reason = s.ended.recv().await.expect("the session ended");
    assert_eq!(reason, DisconnectReason::OpeningTimeout);
    assert_eq!(started.elapsed(), Duration::from_secs(3));
    assert!(!reason.is_transient(), "not kept for recovery");
    assert_eq!(ServerHandle::new(s.hub.clone()).connection_count(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_peer_that_answers_pings_stays_connected() {
    let config = Config::default().heartbeat(Duration::from_secs(10), Duration::from_secs(5));
    let mut s = connect(config, Echo, 64);
    ready(&mut s.peer).await;
    for _ in 0..30 {
        assert!(matches!(s.peer.next().await, Message::Ping(_)));
        let _ = s.peer.send.send(Ok(Message::Pong(Default::default())));
    }
    assert!(
        s.ended.try_recv().is_err(),
        "five minutes of pongs kept it alive"
    );
    s.peer.text("still here");
    assert_eq!(
        s.peer.next_not_ping().await,
        Message::Text("still here".into())
    );
}

#[tokio::test(start_paused = true)]
async fn a_peer_that_stops_reading_is_closed_as_a_slow_consumer_and_others_go_on() {
    let config = Config::default()
        .outbound_queue(8)
        .session_retention(Duration::ZERO)
        .close_timeout(Duration::from_secs(1));
    // The slow peer's receive buffer holds 2 frames and it never reads.
    let slow = connect(config.clone(), Echo, 2);
    let mut fast = connect(config, Echo, 1024);
    ready(&mut fast.peer).await;
    const TICK: Event<u64> = Event::new("tick");
    for n in 0..64u64 {
        let event = EncodedEvent::new(TICK, &n).expect("encodes");
        slow.hub.adapter.send(Target::All, &[], &event);
        fast.hub.adapter.send(Target::All, &[], &event);
        tokio::task::yield_now().await;
    }
    let mut slow = slow;
    let reason = slow.ended.recv().await.expect("the slow session ended");
    assert_eq!(reason, DisconnectReason::SlowConsumer);
    slow.task
        .await
        .expect("ends: the unread socket did not hold it past the close timeout");
    for n in 0..64u64 {
        match fast.peer.next_not_ping().await {
            Message::Text(text) => {
                let frame: serde_json::Value = serde_json::from_str(text.as_str()).unwrap();
                assert_eq!(frame["payload"], n, "in order, none lost");
                assert_eq!(frame["seq"], n + 1);
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(fast.ended.try_recv().is_err());
}

#[tokio::test(start_paused = true)]
async fn a_peer_that_pipelines_thousands_of_calls_and_reads_gets_every_reply() {
    let config = Config::default()
        .outbound_queue(16)
        .outbound_queue_bytes(256)
        .without_rate_limit();
    // A receive buffer of 4 frames, read one frame at a time.
    let mut s = connect(config, Echo, 4);
    ready(&mut s.peer).await;
    for n in 0..2000 {
        s.peer.text(&format!("call {n}"));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    // Reading stopped at half the budget: the queue holds no more than it.
    let queued = ServerHandle::new(s.hub.clone()).memory().queued_bytes;
    assert!(queued <= 256, "{queued} bytes queued");
    for n in 0..2000 {
        assert_eq!(
            s.peer.next_not_ping().await,
            Message::Text(format!("call {n}").into())
        );
    }
    assert!(s.ended.try_recv().is_err(), "not closed as a slow consumer");
    // The queue never held more than its budget allows.
    s.peer.text("last");
    assert_eq!(s.peer.next_not_ping().await, Message::Text("last".into()));
}

#[tokio::test(start_paused = true)]
async fn a_peer_that_writes_but_never_reads_is_closed_after_a_pong_timeout() {
    let config = Config::default()
        .outbound_queue(16)
        .outbound_queue_bytes(256)
        .heartbeat(Duration::from_secs(10), Duration::from_secs(5))
        .without_rate_limit()
        .session_retention(Duration::ZERO);
    // A receive buffer of 4 frames that is never read.
    let mut s = connect(config, Echo, 4);
    ready(&mut s.peer).await;
    for n in 0..1000 {
        s.peer.text(&format!("call {n}"));
    }
    let started = tokio::time::Instant::now();
    let reason = s.ended.recv().await.expect("ended");
    assert_eq!(reason, DisconnectReason::SlowConsumer);
    // One wait for the writer per batch it could still take: at most two
    // pong timeouts, not forever.
    assert!(
        started.elapsed() <= Duration::from_secs(11),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn an_event_larger_than_the_byte_budget_still_reaches_an_idle_peer() {
    let config = Config::default().outbound_queue_bytes(64);
    let mut s = connect(config, Echo, 64);
    ready(&mut s.peer).await;
    const BIG: Event<String> = Event::new("big");
    let event = EncodedEvent::new(BIG, &"x".repeat(1000)).expect("encodes");
    assert_eq!(s.hub.adapter.send(Target::All, &[], &event), 1);
    match s.peer.next_not_ping().await {
        Message::Text(text) => assert!(text.as_str().contains(&"x".repeat(1000))),
        other => panic!("{other:?}"),
    }
    assert!(s.ended.try_recv().is_err(), "not a slow consumer");
}

#[tokio::test(start_paused = true)]
async fn a_close_frame_without_a_code_ends_the_session() {
    let mut s = connect(Config::default(), Echo, 64);
    ready(&mut s.peer).await;
    let _ = s.peer.send.send(Ok(Message::Close(None)));
    let reason = s.ended.recv().await.expect("ended at once, not kept");
    assert_eq!(
        reason,
        DisconnectReason::ClientClosed {
            code: Some(1005),
            reason: String::new()
        }
    );
    assert!(!reason.is_transient());
}

#[tokio::test(start_paused = true)]
async fn a_client_close_ends_the_session_with_its_code_and_reason() {
    let mut s = connect(Config::default(), Echo, 64);
    ready(&mut s.peer).await;
    let frame = CloseFrame {
        code: 1000,
        reason: "bye".into(),
    };
    let _ = s.peer.send.send(Ok(Message::Close(Some(frame))));
    drop(s.peer.send);
    let reason = s.ended.recv().await.expect("ended");
    assert_eq!(
        reason,
        DisconnectReason::ClientClosed {
            code: Some(1000),
            reason: "bye".into()
        }
    );
}

#[tokio::test(start_paused = true)]
async fn disconnect_sends_the_close_frame_and_resolves_once_the_peer_answers() {
    let mut s = connect(
        Config::default().close_timeout(Duration::from_secs(30)),
        Echo,
        64,
    );
    ready(&mut s.peer).await;
    let handle = ServerHandle::new(s.hub.clone());
    let id = handle.connections()[0].id().clone();
    let started = tokio::time::Instant::now();
    let disconnect =
        tokio::spawn(async move { handle.disconnect(&id, Close::new(4001, "kicked")).await });
    let close = s.peer.next_not_ping().await;
    assert_eq!(close_code(&close), Some(4001));
    let _ = s.peer.send.send(Ok(close));
    assert!(disconnect.await.unwrap(), "there was such a connection");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "no wait for the close timeout"
    );
    assert!(
        matches!(s.ended.recv().await, Some(DisconnectReason::Disconnected(c)) if c.code() == 4001)
    );
}

#[tokio::test(start_paused = true)]
async fn the_rate_limit_refuses_then_closes_an_abusive_peer() {
    let limit = RateLimit::new(1.0, 2);
    let config = Config::default()
        .rate_limit(limit)
        .session_retention(Duration::ZERO);
    let mut s = connect(config, Echo, 1024);
    ready(&mut s.peer).await;
    for n in 0..3 {
        s.peer.text(&format!("m{n}"));
    }
    assert_eq!(s.peer.next().await, Message::Text("m0".into()));
    assert_eq!(s.peer.next().await, Message::Text("m1".into()));
    assert_eq!(s.peer.next().await, Message::Text("refused".into()));
    // A second later one more token is there.
    tokio::time::sleep(Duration::from_secs(1)).await;
    s.peer.text("m3");
    assert_eq!(s.peer.next().await, Message::Text("m3".into()));
    // Refused 20 times in a row (10 × burst): abuse.
    for _ in 0..40 {
        s.peer.text("flood");
    }
    let mut refused = 0;
    let close = loop {
        match s.peer.next_not_ping().await {
            Message::Text(text) if text.as_str() == "refused" => refused += 1,
            other => break other,
        }
    };
    assert_eq!(refused, 19, "answered until the 20th refusal in a row");
    assert_eq!(close_code(&close), Some(1008));
    assert_eq!(s.ended.recv().await, Some(DisconnectReason::RateLimited));
}

#[tokio::test(start_paused = true)]
async fn shutdown_lets_calls_in_flight_answer_before_the_going_away_close() {
    let config = Config::default().shutdown_timeout(Duration::from_secs(10));
    let mut s = connect(config, Slow, 64);
    ready(&mut s.peer).await;
    s.peer.text("work");
    s.peer.text("more work");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let handle = ServerHandle::new(s.hub.clone());
    let shutdown = tokio::spawn(async move { handle.shutdown().await });
    assert_eq!(s.peer.next_not_ping().await, Message::Text("done".into()));
    assert_eq!(s.peer.next_not_ping().await, Message::Text("done".into()));
    let close = s.peer.next_not_ping().await;
    assert_eq!(close_code(&close), Some(1001));
    let _ = s.peer.send.send(Ok(close));
    assert_eq!(s.ended.recv().await, Some(DisconnectReason::Shutdown));
    shutdown
        .await
        .expect("shutdown resolves once every connection ended");
}

/// Floods a peer that stops reading with 200 events of `policy`, then
/// lets it read: what it gets, as (payload, `dropped`) pairs, the last one
/// an event sent once it had caught up.
async fn flood_a_peer_that_stops_reading(policy: crate::WhenFull) -> Vec<(u64, u64)> {
    let config = Config::default()
        .outbound_queue(8)
        .session_retention(Duration::ZERO);
    // Its receive buffer holds 2 frames.
    let mut s = connect(config, Echo, 2);
    ready(&mut s.peer).await;
    let tick: Event<u64> = Event::new("tick").when_full(policy);
    for n in 0..200u64 {
        let event = EncodedEvent::new(tick, &n).expect("encodes");
        s.hub.adapter.send(Target::All, &[], &event);
        tokio::task::yield_now().await;
    }
    let mut got = Vec::new();
    let read = |message: Message, got: &mut Vec<(u64, u64)>| match message {
        Message::Text(text) => {
            let frame: serde_json::Value = serde_json::from_str(text.as_str()).unwrap();
            assert!(
                frame.get("seq").is_none(),
                "droppable events carry no seq: {frame}"
            );
            let dropped = frame.get("dropped").map_or(0, |d| d.as_u64().unwrap());
            got.push((frame["payload"].as_u64().unwrap(), dropped));
        }
        Message::Ping(_) => {}
        other => panic!("{other:?}"),
    };
    // Everything queued arrives (nothing more for a second, on the paused clock).
    while let Ok(Some(message)) =
        tokio::time::timeout(Duration::from_secs(1), s.peer.recv.recv()).await
    {
        read(message, &mut got);
    }
    let event = EncodedEvent::new(tick, &200).expect("encodes");
    s.hub.adapter.send(Target::All, &[], &event);
    read(s.peer.next_not_ping().await, &mut got);
    assert!(
        s.ended.try_recv().is_err(),
        "never closed as a slow consumer"
    );
    // Every event is either delivered or counted, in order.
    let delivered = got.len() as u64;
    let dropped: u64 = got.iter().map(|(_, d)| d).sum();
    assert_eq!(delivered + dropped, 201, "{got:?}");
    assert!(got.windows(2).all(|w| w[0].0 < w[1].0), "in order: {got:?}");
    // Each `dropped` counts exactly the ones missing before it.
    let mut expected = 0;
    for (payload, dropped) in &got {
        assert_eq!(*dropped, payload - expected, "{got:?}");
        expected = payload + 1;
    }
    assert!(got.len() <= 16, "the queue stayed bounded: {got:?}");
    got
}

#[tokio::test(start_paused = true)]
async fn a_drop_event_is_dropped_for_a_peer_that_stops_reading_and_the_next_counts_it() {
    let got = flood_a_peer_that_stops_reading(crate::WhenFull::Drop).await;
    // The first ones went out; the rest were dropped, told by the last.
    let (last, dropped) = got[got.len() - 1];
    assert_eq!(last, 200);
    assert_eq!(dropped, 200 - (got.len() as u64 - 1), "{got:?}");
    assert_eq!(
        got[got.len() - 2].0 as usize,
        got.len() - 2,
        "a prefix: {got:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_drop_oldest_event_makes_room_by_dropping_the_oldest_of_its_kind() {
    let got = flood_a_peer_that_stops_reading(crate::WhenFull::DropOldest).await;
    // The newest ones stayed queued: the queue holds the last 8 before 200.
    let tail: Vec<u64> = got[got.len() - 9..].iter().map(|(n, _)| *n).collect();
    assert_eq!(tail, (192..=200).collect::<Vec<u64>>(), "{got:?}");
}

#[tokio::test(start_paused = true)]
async fn a_latest_event_replaces_what_is_queued_of_its_kind() {
    let got = flood_a_peer_that_stops_reading(crate::WhenFull::Latest).await;
    // Only the latest before the peer caught up was still queued.
    assert_eq!(got[got.len() - 2].0, 199, "{got:?}");
    assert_eq!(got[got.len() - 1], (200, 0));
}
