//! Heartbeats, message size, connection count, slow consumers, rate limits.

use futures_util::StreamExt;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use zocket::{
    ClientId, Config, Ctx, DisconnectReason, Event, NoHeaders, Router, RpcError, Server,
    ServerHandle,
};
use zocket_tests::{TestClient, serve, within};

const BLOB: Event<Value> = Event::new("blob");

async fn start(
    config: Config,
) -> (
    String,
    ServerHandle<()>,
    mpsc::UnboundedReceiver<(String, DisconnectReason)>,
) {
    let (tx, rx) = mpsc::unbounded_channel();
    let router = Router::new()
        .call("echo", |_: Ctx<()>, v: Value| async move {
            Ok::<_, RpcError>(v)
        })
        .call("join", |ctx: Ctx<()>, room: String| async move {
            ctx.join(&room)
        });
    let server = Server::builder(router)
        .on_connect(|_: Arc<NoHeaders>, _: ClientId| async { Ok(()) })
        .on_disconnect(move |conn, reason| {
            let tx = tx.clone();
            async move {
                let _ = tx.send((conn.id().to_string(), reason));
            }
        })
        .config(config)
        .build()
        .expect("valid");
    let (addr, handle) = serve(server).await;
    (format!("ws://{addr}/"), handle, rx)
}

#[tokio::test]
async fn heartbeats_keep_live_clients_and_drop_silent_ones() {
    // Over a real socket, with short timings: the heartbeat's rules at
    // their default timings are unit tests of the connection layer on a
    // paused clock (`connection/tests.rs`).
    // A heartbeat timeout is a lost connection: the session ends once the
    // (short) retention window has passed.
    let config = Config::default()
        .heartbeat(Duration::from_millis(50), Duration::from_millis(300))
        .session_retention(Duration::from_millis(50));
    let (url, handle, mut ended) = start(config).await;

    // A client that reads (and so answers pings) stays through many intervals.
    let live = TestClient::connect(&url).await;
    let live_id = ClientId::from(live.client_id());
    let mut ws = live.into_inner();
    let (pinged, mut pings) = tokio::sync::watch::channel(0u32);
    let reader = tokio::spawn(async move {
        let mut count = 0;
        while let Some(Ok(msg)) = ws.next().await {
            if matches!(msg, Message::Ping(_)) {
                count += 1;
                let _ = pinged.send(count);
            }
        }
    });
    within("six pings", pings.wait_for(|n| *n >= 6))
        .await
        .unwrap();
    assert!(handle.connection(&live_id).is_some());

    // A client that stops reading sends no pong and is dropped.
    let mut silent = TestClient::connect(&url).await;
    // Reading its first reply answers the opening ping: it is a live
    // client that then goes silent.
    silent.call_ok("echo", json!(1)).await;
    let silent_id = silent.client_id();
    let _socket = silent.into_inner();
    let (id, reason) = within("the heartbeat timeout", ended.recv())
        .await
        .expect("a disconnect");
    assert_eq!(
        (id, reason),
        (silent_id, DisconnectReason::HeartbeatTimeout)
    );
    assert!(
        handle.connection(&live_id).is_some(),
        "the live client is still connected"
    );
    reader.abort();
}

#[tokio::test]
async fn a_message_over_the_size_limit_closes_with_1009() {
    let (url, _, mut ended) = start(Config::default().max_message_size(1024)).await;
    let mut c = TestClient::connect(&url).await;
    let small = "x".repeat(900);
    assert_eq!(c.call_ok("echo", json!(small)).await, json!(small));
    c.send_json(json!({"type":"echo","payload":"y".repeat(2000),"rpcId":"big"}))
        .await;
    let frame = c.closed().await.expect("a close frame");
    assert_eq!(u16::from(frame.code), 1009);
    let (_, reason) = within("on_disconnect", ended.recv()).await.unwrap();
    assert_eq!(reason, DisconnectReason::MessageTooLarge);
}

#[tokio::test]
async fn connections_over_the_maximum_get_503_before_the_upgrade() {
    let (url, _, _ended) = start(Config::default().max_connections(2)).await;
    let _a = TestClient::connect(&url).await;
    let _b = TestClient::connect(&url).await;
    let refused = TestClient::try_connect(&url).await.err().expect("refused");
    assert_eq!(refused.status, 503);
    assert_eq!(refused.body["error"]["code"], "UNAVAILABLE");
    // A slot frees up when a connection ends.
    _a.close().await;
    within("a free slot", async {
        loop {
            if let Ok(c) = TestClient::try_connect(&url).await {
                return c;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
}

#[tokio::test]
async fn a_slow_consumer_is_closed_and_others_are_unaffected() {
    let config = Config::default().outbound_queue(64);
    let (url, handle, mut ended) = start(config).await;
    let slow = TestClient::connect(&url).await;
    let mut fast = TestClient::connect(&url).await;
    let mut slow = slow;
    slow.call_ok("join", json!("feed")).await;
    fast.call_ok("join", json!("feed")).await;
    let slow_id = ClientId::from(slow.client_id());
    let blob = json!("z".repeat(16 * 1024));
    let mut sent = 0u64;
    // The slow client reads nothing; the fast one keeps up. Stop once the
    // slow one has been cut off (its kernel buffers are large, so it takes
    // a few megabytes).
    while handle
        .connection(&slow_id)
        .is_some_and(|c| c.is_connected())
    {
        assert!(sent < 20_000, "the slow consumer was never closed");
        for _ in 0..16 {
            sent += 1;
            handle
                .emit(BLOB, &json!({"n": sent, "blob": blob}))
                .to_room("feed")
                .unwrap();
        }
        for n in sent - 15..=sent {
            let event = fast.next_of("blob").await;
            assert_eq!(
                event["payload"]["n"],
                json!(n),
                "the fast client gets every event in order"
            );
        }
    }
    // Reading now, the slow client finds a 1008 close after what was written.
    let mut socket = slow.into_inner();
    let close = within("the close frame", async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Close(frame))) => return frame,
                Some(Ok(_)) => {}
                other => panic!("no close frame: {other:?}"),
            }
        }
    })
    .await
    .expect("a close frame with a code");
    // Reading on sends the close reply.
    while let Ok(Some(Ok(_))) = tokio::time::timeout(zocket_tests::WAIT, socket.next()).await {}
    assert_eq!(
        (u16::from(close.code), close.reason.as_str()),
        (1008, "slow consumer")
    );
    let (id, reason) = within("on_disconnect", ended.recv()).await.unwrap();
    assert_eq!(
        (id, reason),
        (slow_id.to_string(), DisconnectReason::SlowConsumer)
    );
    // The fast client is still served.
    assert_eq!(fast.call_ok("echo", json!(1)).await, json!(1));
}

#[tokio::test]
async fn messages_over_the_rate_limit_are_refused_and_abuse_closes() {
    let limit = zocket::config::RateLimit::new(0.001, 5).close_after(10);
    let (url, _, mut ended) = start(Config::default().rate_limit(limit)).await;
    let mut c = TestClient::connect(&url).await;
    for n in 0..5 {
        assert_eq!(c.call_ok("echo", json!(n)).await, json!(n));
    }
    let err = c.call_err("echo", json!(5)).await;
    assert_eq!(err["code"], "RATE_LIMITED");
    c.send_json(json!({"type":"echo","payload":6})).await;
    let frame = c.next_frame().await;
    assert_eq!(
        (frame["type"].as_str(), frame["error"]["code"].as_str()),
        (Some("__error"), Some("RATE_LIMITED"))
    );
    for n in 0..8 {
        c.send_json(json!({"type":"echo","payload":n,"rpcId":format!("x{n}")}))
            .await;
    }
    let frame = c.closed().await.expect("a close frame");
    assert_eq!(u16::from(frame.code), 1008);
    let (_, reason) = within("on_disconnect", ended.recv()).await.unwrap();
    assert_eq!(reason, DisconnectReason::RateLimited);
}
