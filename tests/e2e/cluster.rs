//! Sessions across nodes (`zocket-redis` as the session store): a client
//! that reconnects to another node resumes there with its id, context,
//! rooms, missed events and reply cache; a killed node's clients come back
//! from their records; a rolling deploy loses and repeats nothing. Each
//! test runs its own redis-server.

use serde_json::{Value, json};
use std::collections::HashSet;
use std::time::Duration;
use zocket::Config;
use zocket_tests::cluster::{NEWS, Node, Runs};
use zocket_tests::redis::RedisServer;
use zocket_tests::{TestClient, within};

/// The next `news` event: its payload and `seq`.
async fn news(client: &mut TestClient) -> (Value, u64) {
    let event = client.next_of("news").await;
    (
        event["payload"].clone(),
        event["seq"].as_u64().expect("seq"),
    )
}

/// Connects to `url` resuming `session` after `last_seq`.
async fn resume(url: &str, session: &str, last_seq: u64) -> TestClient {
    let seq = last_seq.to_string();
    TestClient::try_connect_request(
        url,
        &[("x-zocket-session", session), ("x-zocket-last-seq", &seq)],
    )
    .await
    .expect("handshake accepted")
}

/// Drops the client's TCP connection without a close frame: a lost
/// connection, kept for recovery.
fn drop_connection(client: TestClient) {
    drop(client.into_inner());
}

#[tokio::test]
async fn a_session_moves_to_another_node_with_its_rooms_context_events_and_replies() {
    let redis = RedisServer::start().await;
    let runs = Runs::default();
    let a = Node::start("a", &redis.url(), runs.clone(), Config::default()).await;
    let b = Node::start("b", &redis.url(), runs.clone(), Config::default()).await;

    let mut c = TestClient::connect(&a.url()).await;
    let (id, session) = (
        c.client_id(),
        c.ready["sessionId"].as_str().unwrap().to_owned(),
    );
    c.call_ok("join", json!("room")).await;
    let mut d = TestClient::connect(&b.url()).await;
    d.call_ok("join", json!("room")).await;
    d.call_ok("say", json!({"room": "room", "text": 0})).await;
    assert_eq!(news(&mut c).await, (json!(0), 1));
    // A call that finished, and one still running when the client leaves.
    let done = c
        .start_call("run", json!({"key": "done", "wait_ms": 0}))
        .await;
    assert_eq!(c.reply(&done).await["payload"], 1);
    let slow = c
        .start_call("run", json!({"key": "slow", "wait_ms": 500}))
        .await;
    drop_connection(c);

    // While it is away: events from a client on B, from B's handle and
    // from A's handle.
    for n in 1..=3 {
        d.call_ok("say", json!({"room": "room", "text": n})).await;
    }
    a.handle
        .emit(NEWS, &json!(4))
        .to_room("room")
        .expect("sent");
    b.handle
        .emit(NEWS, &json!(5))
        .to_room("room")
        .expect("sent");

    // It comes back on B.
    let mut c = resume(&b.url(), &session, 1).await;
    assert_eq!(c.ready["recovered"], true, "{}", c.ready);
    assert_eq!(c.client_id(), id);
    assert_eq!(c.ready["sessionId"], session.as_str());
    let mut got = Vec::new();
    for seq in 2..=6 {
        let (text, n) = news(&mut c).await;
        assert_eq!(n, seq, "seq goes on from where it was, without gaps");
        got.push(text.as_u64().unwrap());
    }
    let from_b: Vec<u64> = got.iter().copied().filter(|n| *n != 4).collect();
    assert_eq!(from_b, [1, 2, 3, 5], "B's events in their order: {got:?}");
    assert_eq!(
        got.iter().copied().collect::<HashSet<_>>(),
        (1..=5).collect(),
        "every event once: {got:?}"
    );

    // The calls resent with their ids: the finished one answered from the
    // reply cache, the running one's reply forwarded from A; each ran once.
    for (rpc_id, key) in [(&done, "done"), (&slow, "slow")] {
        c.send_json(json!({"type": "run", "rpcId": rpc_id, "payload": {"key": key, "wait_ms": 0}}))
            .await;
        let reply = c.reply(rpc_id).await;
        assert_eq!(reply["payload"], 1, "{key}: {reply}");
    }
    assert_eq!((runs.of("done"), runs.of("slow")), (1, 1));

    // Its context came with it (on_connect did not run again), and its
    // rooms: events sent on either node reach it on B, once.
    c.set_rpc_prefix("again-");
    let me = c.call_ok("whoami", json!(null)).await;
    assert_eq!(
        me,
        json!({"client": id, "openedOn": "a", "rooms": ["room"]})
    );
    a.handle
        .emit(NEWS, &json!(6))
        .to_room("room")
        .expect("sent");
    assert_eq!(news(&mut c).await, (json!(6), 7));
    d.call_ok("say", json!({"room": "room", "text": 7})).await;
    assert_eq!(news(&mut c).await, (json!(7), 8));
    assert_eq!(c.quiet_for(Duration::from_millis(200)).await, None);
    assert_eq!(a.handle.connection_count(), 0, "A let go of it");
    assert_eq!(
        (
            a.adapter.stats().sessions_out,
            b.adapter.stats().sessions_in
        ),
        (1, 1)
    );
}

#[tokio::test]
async fn an_unknown_or_ended_session_is_a_fresh_one_on_any_node() {
    let redis = RedisServer::start().await;
    let runs = Runs::default();
    let a = Node::start("a", &redis.url(), runs.clone(), Config::default()).await;
    let b = Node::start("b", &redis.url(), runs.clone(), Config::default()).await;
    let c = TestClient::connect(&a.url()).await;
    let session = c.ready["sessionId"].as_str().unwrap().to_owned();
    // Closed on purpose: the session ends, and its record goes.
    c.close().await;
    within("the session to end", async {
        while a.handle.connection_count() > 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    for (url, session) in [(b.url(), session.as_str()), (b.url(), "0123abcd")] {
        let c = resume(&url, session, 0).await;
        assert_eq!(c.ready["recovered"], false);
        assert_ne!(c.ready["sessionId"], session);
    }
    assert_eq!(b.adapter.stats().sessions_in, 0);
}

#[tokio::test]
async fn a_killed_node_s_clients_come_back_on_another_from_their_records() {
    let redis = RedisServer::start().await;
    let b = Node::start("b", &redis.url(), Runs::default(), Config::default()).await;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_cluster-node"))
        .arg("killed")
        .env("REDIS_URL", redis.url())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the node process starts");
    let addr = {
        use tokio::io::AsyncBufReadExt;
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let line = within("the node to listen", lines.next_line())
            .await
            .expect("reads")
            .expect("a line");
        line.strip_prefix("listening on ")
            .expect("its address")
            .to_owned()
    };
    let mut c = TestClient::connect(&format!("ws://{addr}/")).await;
    let (id, session) = (
        c.client_id(),
        c.ready["sessionId"].as_str().unwrap().to_owned(),
    );
    c.call_ok("join", json!("room")).await;
    let mut d = TestClient::connect(&b.url()).await;
    d.call_ok("join", json!("room")).await;
    // Through the killed node's ordered queue: once B has the event, the
    // session's record (queued before it) is in Redis.
    c.call_ok("say", json!({"room": "room", "text": "before"}))
        .await;
    assert_eq!(news(&mut d).await.0, "before");
    assert_eq!(news(&mut c).await.0, "before");

    child.start_kill().expect("SIGKILL");
    within("the node to die", child.wait())
        .await
        .expect("waited");
    assert!(
        c.closed().await.is_none(),
        "no close frame from a killed node"
    );

    let mut c = resume(&b.url(), &session, 1).await;
    assert_eq!(
        c.ready["recovered"], false,
        "its history died with its node"
    );
    assert_eq!(c.client_id(), id, "the same client");
    c.set_rpc_prefix("b-");
    let me = c.call_ok("whoami", json!(null)).await;
    assert_eq!(
        me,
        json!({"client": id, "openedOn": "killed", "rooms": ["room"]})
    );
    d.call_ok("say", json!({"room": "room", "text": "after"}))
        .await;
    assert_eq!(news(&mut c).await, (json!("after"), 1));
    assert_eq!(b.adapter.stats().sessions_orphaned, 1);
}
