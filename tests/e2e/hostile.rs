//! Hostile clients over 127.0.0.1: slow handshakes, protocol violations,
//! foreign origins, room and rpcId floods, per-address limits, and session
//! takeover; each bounded, each with its documented code.

use futures_util::StreamExt;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use zocket::{ClientId, Close, Config, Ctx, DisconnectReason, NoHeaders, Router, RpcError, Server};
use zocket_tests::{TestClient, first_close, serve, within};

fn router() -> Router<()> {
    Router::new()
        .call("echo", |_: Ctx<()>, v: serde_json::Value| async move {
            Ok::<_, RpcError>(v)
        })
        .call("join", |ctx: Ctx<()>, room: String| async move {
            ctx.join(&room)
        })
}

type Ended = tokio::sync::mpsc::UnboundedReceiver<DisconnectReason>;

async fn start(config: Config) -> (std::net::SocketAddr, zocket::ServerHandle<()>, Ended) {
    let (tx, ended) = tokio::sync::mpsc::unbounded_channel();
    let server = Server::<NoHeaders, ()>::builder(router())
        .config(config)
        .on_connect(|_, _: ClientId| async { Ok(()) })
        .on_disconnect(move |_, reason| {
            let _ = tx.send(reason);
            async {}
        })
        .build()
        .expect("valid");
    let (addr, handle) = serve(server).await;
    (addr, handle, ended)
}

/// Reads until the server closes the TCP connection; `true` when it did
/// within `limit`.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> bool {
    let mut buf = [0u8; 1024];
    tokio::time::timeout(limit, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .is_ok()
}

#[tokio::test]
async fn slow_and_idle_http_connections_are_closed_and_do_not_hold_up_others() {
    let config = Config::default().header_timeout(Duration::from_millis(500));
    let (addr, _handle, _) = start(config).await;
    // 1000 connections that start a request head and never finish it, and
    // some that send nothing at all.
    let mut slow = Vec::new();
    for n in 0..1000 {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        if n % 2 == 0 {
            stream
                .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n")
                .await
                .expect("write");
        }
        slow.push(stream);
    }
    // A legitimate client connects and is served promptly meanwhile.
    let started = std::time::Instant::now();
    let mut client = TestClient::connect(&format!("ws://{addr}/")).await;
    assert_eq!(client.call_ok("echo", json!("hi")).await, json!("hi"));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "served in {:?} beside 1000 slow connections",
        started.elapsed()
    );
    // Every slow connection is closed by the server once its deadline passed.
    for stream in &mut slow {
        assert!(
            closed_within(stream, Duration::from_secs(5)).await,
            "a slow connection was closed"
        );
    }
    // A kept-alive connection that finished one request and then idles too.
    let mut idle = TcpStream::connect(addr).await.expect("connect");
    idle.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let mut head = [0u8; 12];
    idle.read_exact(&mut head).await.expect("a response");
    assert!(
        head.starts_with(b"HTTP/1.1 4"),
        "{:?}",
        String::from_utf8_lossy(&head)
    );
    assert!(
        closed_within(&mut idle, Duration::from_secs(5)).await,
        "the idle keep-alive was closed"
    );
    // The upgraded client was not affected.
    assert_eq!(client.call_ok("echo", json!(2)).await, json!(2));
}

#[tokio::test]
async fn an_upgrade_the_client_never_completes_is_dropped_after_the_open_timeout() {
    let config = Config::default().open_timeout(Duration::from_millis(300));
    let (addr, handle, mut ended) = start(config).await;
    // A client that reads answers the opening ping by itself: connected
    // first, so its own opening deadline passes before the silent one's.
    let mut c = TestClient::connect(&format!("ws://{addr}/")).await;
    assert_eq!(c.call_ok("echo", json!(1)).await, json!(1));
    // Upgraded, then silent: not even the opening ping is answered.
    let mut stream = raw_socket(addr).await;
    let reason = within("the opening timeout", ended.recv())
        .await
        .expect("ended");
    assert_eq!(reason, DisconnectReason::OpeningTimeout);
    assert!(
        closed_within(&mut stream, Duration::from_secs(5)).await,
        "the TCP connection was closed"
    );
    // Only the silent one went: the reading client stays, past its deadline.
    assert_eq!(
        handle.connection_count(),
        1,
        "no session kept for the silent one"
    );
    assert!(
        ended.try_recv().is_err(),
        "the reading client was not dropped"
    );
    assert_eq!(c.call_ok("echo", json!(2)).await, json!(2));
}

/// A WebSocket upgraded by hand, to write frames no client library would.
async fn raw_socket(addr: std::net::SocketAddr) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(
            b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
              Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        )
        .await
        .expect("write");
    // The response head, then `__ready`.
    let mut seen = Vec::new();
    let mut byte = [0u8; 1];
    while !seen.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).await.expect("response");
        seen.push(byte[0]);
    }
    assert!(
        seen.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&seen)
    );
    let ready = read_frame(&mut stream).await;
    assert_eq!(ready.0, 0x1, "a text frame");
    stream
}

/// One server frame: opcode and payload (servers do not mask).
async fn read_frame(stream: &mut TcpStream) -> (u8, Vec<u8>) {
    within("a frame", async {
        let mut head = [0u8; 2];
        stream.read_exact(&mut head).await.expect("frame head");
        let mut len = u64::from(head[1] & 0x7f);
        if len == 126 {
            let mut ext = [0u8; 2];
            stream.read_exact(&mut ext).await.expect("length");
            len = u64::from(u16::from_be_bytes(ext));
        } else if len == 127 {
            let mut ext = [0u8; 8];
            stream.read_exact(&mut ext).await.expect("length");
            len = u64::from_be_bytes(ext);
        }
        let mut payload = vec![0u8; len as usize];
        stream.read_exact(&mut payload).await.expect("payload");
        (head[0] & 0x0f, payload)
    })
    .await
}

/// A client frame: `first` is FIN/RSV/opcode, masked unless `masked` is
/// false.
fn frame(first: u8, payload: &[u8], masked: bool) -> Vec<u8> {
    let mask = [0x11u8, 0x22, 0x33, 0x44];
    let mut out = vec![first];
    let bit = if masked { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => out.push(bit | n as u8),
        n => {
            out.push(bit | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
    }
    if masked {
        out.extend_from_slice(&mask);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    } else {
        out.extend_from_slice(payload);
    }
    out
}

/// The close code of the server's close frame.
async fn close_code(stream: &mut TcpStream) -> u16 {
    loop {
        let (opcode, payload) = read_frame(stream).await;
        if opcode == 0x8 {
            return u16::from_be_bytes([payload[0], payload[1]]);
        }
    }
}

#[tokio::test]
async fn a_client_that_pipelines_thousands_of_calls_and_reads_gets_every_reply() {
    let (addr, handle, mut ended) = start(Config::default()).await;
    let c = TestClient::connect(&format!("ws://{addr}/")).await;
    let (mut sink, mut stream) = c.into_inner().split();
    use futures_util::SinkExt;
    // 2000 calls written at once (more than the 1024-frame queue, within the
    // default rate limit's burst), while another task reads.
    let writer = tokio::spawn(async move {
        for n in 0..2000 {
            let frame = json!({"type": "echo", "payload": n, "rpcId": n.to_string()});
            sink.feed(Message::text(frame.to_string()))
                .await
                .expect("send");
        }
        sink.flush().await.expect("flush");
        sink
    });
    let mut seen = std::collections::HashSet::new();
    within("2000 replies", async {
        while seen.len() < 2000 {
            match stream.next().await {
                Some(Ok(Message::Text(text))) => {
                    let frame: serde_json::Value = serde_json::from_str(&text).unwrap();
                    assert_eq!(frame["type"], "__rpc_res", "{frame}");
                    assert_eq!(
                        frame["payload"].to_string(),
                        frame["rpcId"].as_str().unwrap()
                    );
                    assert!(
                        seen.insert(frame["rpcId"].as_str().unwrap().to_owned()),
                        "once each"
                    );
                }
                Some(Ok(_)) => {}
                other => panic!("the connection ended: {other:?}"),
            }
        }
    })
    .await;
    let _sink = writer.await.unwrap();
    assert!(ended.try_recv().is_err(), "not closed as a slow consumer");
    assert_eq!(handle.connection_count(), 1);
}

#[tokio::test]
async fn the_reply_cache_holds_its_byte_budget_and_a_lost_reply_is_not_run_again() {
    let config = Config::default().reply_cache_bytes(64 << 10);
    let (addr, handle, _) = start(config).await;
    let mut c = TestClient::connect(&format!("ws://{addr}/")).await;
    let session = c.ready["sessionId"].as_str().unwrap().to_owned();
    // 64 calls of 40 KiB replies: 2.5 MiB of replies, of which the cache
    // keeps what fits in 64 KiB.
    let big = "x".repeat(40 << 10);
    let mut ids = Vec::new();
    for _ in 0..64 {
        let id = c.start_call("echo", json!(big)).await;
        assert_eq!(c.reply(&id).await["payload"], json!(big));
        ids.push(id);
    }
    let memory = handle.memory();
    assert!(memory.reply_bytes <= 64 << 10, "{memory:?}");
    assert!(
        memory.reply_bytes >= 40 << 10,
        "the latest reply is kept: {memory:?}"
    );
    drop(c.into_inner());
    zocket_tests::until_no_live_connection(&handle).await;
    let url = format!("ws://{addr}/");
    let mut back = TestClient::try_connect_request(&url, &[("x-zocket-session", session.as_str())])
        .await
        .expect("resumed");
    assert_eq!(back.ready["recovered"], true);
    // The oldest call's reply was evicted: REPLY_LOST, and it does not run again.
    back.send_json(json!({"type": "echo", "payload": "again", "rpcId": ids[0]}))
        .await;
    let reply = back.reply(&ids[0]).await;
    assert_eq!(reply["type"], "__rpc_err");
    assert_eq!(reply["error"]["code"], "REPLY_LOST");
    // The newest one is answered from the cache.
    back.send_json(json!({"type": "echo", "payload": "again", "rpcId": ids[63]}))
        .await;
    assert_eq!(back.reply(&ids[63]).await["payload"], json!(big));
}

#[tokio::test]
async fn a_resume_that_replays_a_full_history_is_not_a_slow_consumer() {
    let (addr, handle, _) = start(Config::default()).await;
    let mut c = TestClient::connect(&format!("ws://{addr}/")).await;
    assert_eq!(c.call_ok("join", json!("feed")).await, json!(true));
    let session = c.ready["sessionId"].as_str().unwrap().to_owned();
    drop(c.into_inner());
    zocket_tests::until_no_live_connection(&handle).await;
    // As many events as the history keeps (1024 by default), missed.
    const TICK: zocket::Event<u32> = zocket::Event::new("tick");
    for n in 0..1024u32 {
        handle.emit(TICK, &n).to_room("feed").unwrap();
    }
    let mut back = TestClient::try_connect_request(
        &format!("ws://{addr}/"),
        &[
            ("x-zocket-session", session.as_str()),
            ("x-zocket-last-seq", "0"),
        ],
    )
    .await
    .expect("resumed");
    assert_eq!(back.ready["recovered"], true);
    // New calls on the resumed session need new ids (`r1` was the join).
    back.set_rpc_prefix("again-");
    for n in 0..1024u32 {
        let event = back.next_of("tick").await;
        assert_eq!(event["payload"], n, "in order");
        assert_eq!(event["seq"], n + 1);
    }
    assert_eq!(
        back.call_ok("echo", json!("still here")).await,
        json!("still here")
    );
}

#[tokio::test]
async fn sessions_kept_for_recovery_are_capped() {
    let (addr, handle, mut ended) = start(Config::default().max_retained_sessions(1)).await;
    let url = format!("ws://{addr}/");
    let mut a = TestClient::connect(&url).await;
    let mut b = TestClient::connect(&url).await;
    assert_eq!(a.call_ok("join", json!("r")).await, json!(true));
    assert_eq!(b.call_ok("join", json!("r")).await, json!(true));
    drop(a.into_inner());
    drop(b.into_inner());
    // One is kept (its client may come back); the other ends at once.
    let reason = within("one session's end", ended.recv())
        .await
        .expect("ended");
    assert!(reason.is_transient(), "a lost connection: {reason}");
    assert_eq!(handle.connection_count(), 1, "one kept");
    assert!(
        tokio::time::timeout(Duration::from_millis(200), ended.recv())
            .await
            .is_err(),
        "the kept one stays"
    );
}

#[tokio::test]
async fn protocol_violations_close_with_their_rfc_codes_and_end_the_session() {
    let (addr, handle, mut ended) = start(Config::default()).await;
    let cases: [(&str, Vec<u8>, u16); 4] = [
        (
            "invalid UTF-8 in a text frame",
            frame(0x81, &[0xff, 0xfe, 0x41], true),
            1007,
        ),
        (
            "a ping over 125 bytes",
            frame(0x89, &[0u8; 200], true),
            1002,
        ),
        ("an unmasked client frame", frame(0x81, b"{}", false), 1002),
        ("a reserved opcode", frame(0x83, b"x", true), 1002),
    ];
    for (what, bytes, code) in cases {
        let mut stream = raw_socket(addr).await;
        stream.write_all(&bytes).await.expect("write");
        assert_eq!(close_code(&mut stream).await, code, "{what}");
        let reason = within("the session's end", ended.recv())
            .await
            .expect("ended");
        assert!(!reason.is_transient(), "{what}: {reason} ends the session");
        assert!(
            matches!(
                reason,
                DisconnectReason::InvalidUtf8 | DisconnectReason::ProtocolViolation(_)
            ),
            "{what}: {reason:?}"
        );
    }
    assert_eq!(
        handle.connection_count(),
        0,
        "no session is kept for a violation"
    );
}

#[tokio::test]
async fn a_foreign_origin_is_refused_before_the_upgrade() {
    let (addr, handle, _) = start(Config::default()).await;
    let url = format!("ws://{addr}/");
    let refused = TestClient::try_connect_request(&url, &[("origin", "http://evil.example")])
        .await
        .err()
        .expect("refused");
    assert_eq!(refused.status, 403);
    assert_eq!(refused.body["error"]["message"], "origin not allowed");
    let same = format!("http://{addr}");
    let mut ok = TestClient::try_connect_request(&url, &[("origin", &same)])
        .await
        .expect("the same host is allowed");
    assert_eq!(ok.call_ok("echo", json!(1)).await, json!(1));
    assert_eq!(handle.connection_count(), 1);

    let config = Config::default().origins(zocket::config::Origins::List(vec![
        "https://app.example".into(),
    ]));
    let (addr, _, _) = start(config).await;
    let url = format!("ws://{addr}/");
    assert!(
        TestClient::try_connect_request(&url, &[("origin", "https://app.example")])
            .await
            .is_ok()
    );
    assert!(
        TestClient::try_connect_request(&url, &[("origin", &format!("http://{addr}"))])
            .await
            .is_err()
    );
}

#[tokio::test]
async fn rooms_per_connection_and_room_names_are_limited() {
    let config = Config::default()
        .max_rooms_per_connection(5)
        .max_room_name(8);
    let (addr, _, _) = start(config).await;
    let mut c = TestClient::connect(&format!("ws://{addr}/")).await;
    for n in 0..5 {
        assert_eq!(c.call_ok("join", json!(format!("r{n}"))).await, json!(true));
    }
    assert_eq!(
        c.call_ok("join", json!("r0")).await,
        json!(false),
        "already in it"
    );
    let err = c.call_err("join", json!("r5")).await;
    assert_eq!(err["code"], "LIMIT_EXCEEDED");
    assert_eq!(err["data"], json!({"limit": "rooms", "max": 5}));
    let err = c.call_err("join", json!("a-long-room-name")).await;
    assert_eq!(err["code"], "LIMIT_EXCEEDED");
    assert_eq!(err["data"]["limit"], "room_name");
    // The connection goes on.
    assert_eq!(c.call_ok("echo", json!(1)).await, json!(1));
}

#[tokio::test]
async fn an_rpc_id_over_the_limit_gets_an_error_without_it() {
    let (addr, _, _) = start(Config::default().max_rpc_id(16)).await;
    let mut c = TestClient::connect(&format!("ws://{addr}/")).await;
    c.send_json(json!({"type": "echo", "payload": 1, "rpcId": "x".repeat(17)}))
        .await;
    let error = c.next_of("__error").await;
    assert_eq!(error["error"]["code"], "BAD_REQUEST");
    assert_eq!(error["error"]["route"], "echo");
    assert_eq!(c.call_ok("echo", json!(2)).await, json!(2));
}

#[tokio::test]
async fn connections_per_address_are_limited_when_asked() {
    let (addr, _, _) = start(Config::default().max_connections_per_ip(2)).await;
    let url = format!("ws://{addr}/");
    let a = TestClient::connect(&url).await;
    let _b = TestClient::connect(&url).await;
    let refused = TestClient::try_connect(&url)
        .await
        .err()
        .expect("a third is refused");
    assert_eq!(refused.status, 503);
    assert_eq!(refused.body["error"]["code"], "UNAVAILABLE");
    a.close().await;
    within("a place again", async {
        loop {
            if let Ok(mut c) = TestClient::try_connect(&url).await {
                assert_eq!(c.call_ok("echo", json!(1)).await, json!(1));
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
}

#[tokio::test]
async fn on_resume_decides_whether_a_handshake_may_take_over_a_session() {
    #[derive(serde::Deserialize, schemars::JsonSchema)]
    struct Who {
        name: String,
    }
    let server = Server::<Who, String>::builder(
        Router::new().call("whoami", |ctx: Ctx<String>, (): ()| async move {
            Ok::<_, RpcError>(ctx.context().clone())
        }),
    )
    .on_connect(|who: Arc<Who>, _| async move { Ok(who.name.clone()) })
    .on_before_connect(|who: Arc<Who>| async move {
        if who.name == "mallory" {
            Err(zocket::Reject::unauthorized("banned"))
        } else {
            Ok(())
        }
    })
    .on_resume(|session, who: Arc<Who>| async move {
        if *session.context() == who.name {
            Ok(())
        } else {
            Err(Close::new(4403, "not your session"))
        }
    })
    .build()
    .expect("valid");
    let (addr, handle) = serve(server).await;
    let ada = TestClient::connect(&format!("ws://{addr}/?name=ada")).await;
    let session = ada.ready["sessionId"].as_str().expect("session").to_owned();
    drop(ada.into_inner());
    zocket_tests::until_no_live_connection(&handle).await;
    // A resume passes header validation and on_before_connect like any
    // connection: refused before the upgrade, session id or not.
    let header = [("x-zocket-session", session.as_str())];
    let refused = TestClient::try_connect_request(&format!("ws://{addr}/"), &header)
        .await
        .err()
        .expect("no name");
    assert_eq!(refused.status, 400);
    let refused = TestClient::try_connect_request(&format!("ws://{addr}/?name=mallory"), &header)
        .await
        .err()
        .expect("banned");
    assert_eq!(refused.status, 401);
    // Another name presenting ada's session id is refused after the
    // upgrade with on_resume's close, and no `__ready`.
    let refused = first_close(
        &format!("ws://{addr}/?name=eve"),
        &[("x-zocket-session", session.as_str())],
    )
    .await;
    assert_eq!(refused, (4403, "not your session".to_owned()));
    // The session stays ada's: she resumes it, same client id.
    let url = format!("ws://{addr}/?name=ada");
    let mut back = TestClient::try_connect_request(&url, &[("x-zocket-session", session.as_str())])
        .await
        .expect("resumed");
    assert_eq!(back.ready["recovered"], true);
    assert_eq!(back.call_ok("whoami", json!(null)).await, json!("ada"));
}
