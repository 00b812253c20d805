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

/// A redis-server and two nodes on it, `a` and `b`, whose `run` calls are
/// counted together.
struct Pair {
    redis: RedisServer,
    runs: Runs,
    a: Node,
    b: Node,
}

async fn pair() -> Pair {
    let redis = RedisServer::start().await;
    let runs = Runs::default();
    let a = Node::start("a", &redis.url(), runs.clone(), Config::default()).await;
    let b = Node::start("b", &redis.url(), runs.clone(), Config::default()).await;
    Pair { redis, runs, a, b }
}

/// The session id of a client's `__ready`.
fn session_of(client: &TestClient) -> String {
    client.ready["sessionId"]
        .as_str()
        .expect("sessionId")
        .to_owned()
}

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

/// Says `text` to the room from `from` until `to` hears it: the nodes of
/// both have subscribed (again). Returns the `seq` of the last event `to`
/// read.
async fn until_heard(from: &mut TestClient, to: &mut TestClient, text: &str) -> u64 {
    within("one node to hear the other", async {
        let mut last_seq = 0;
        loop {
            from.call_ok("say", json!({"room": "room", "text": text}))
                .await;
            while let Some(frame) = to.quiet_for(Duration::from_millis(100)).await {
                last_seq = frame["seq"].as_u64().unwrap_or(last_seq);
                if frame["payload"] == text {
                    return last_seq;
                }
            }
        }
    })
    .await
}

/// Drops the client's TCP connection without a close frame: a lost
/// connection, kept for recovery.
fn drop_connection(client: TestClient) {
    drop(client.into_inner());
}

#[tokio::test]
async fn a_session_moves_to_another_node_with_its_rooms_context_events_and_replies() {
    let Pair { runs, a, b, .. } = &pair().await;

    let mut c = TestClient::connect(&a.url()).await;
    let (id, session) = (c.client_id(), session_of(&c));
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
async fn a_stream_does_not_move_its_handler_stops_and_its_resent_open_frame_is_refused() {
    let Pair { runs, a, b, .. } = &pair().await;
    let mut c = TestClient::connect(&a.url()).await;
    let session = session_of(&c);
    let id = c.start_call("count", json!(100)).await;
    c.send_json(json!({"type": "__credit", "rpcId": id, "payload": {"received": 0, "window": 2}}))
        .await;
    for n in 1..=2 {
        assert_eq!(c.next_of("__item").await["n"], n);
    }
    drop_connection(c);

    let mut c = resume(&b.url(), &session, 0).await;
    assert_eq!(c.ready["recovered"], true);
    c.send_json(json!({"type": "count", "rpcId": id, "payload": 100}))
        .await;
    let reply = c.reply(&id).await;
    assert_eq!(reply["type"], "__rpc_err", "{reply}");
    assert_eq!(reply["error"]["code"], "REPLY_LOST", "{reply}");
    within("A's handler to stop", async {
        while runs.of("count-dropped") < 1 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert_eq!(
        c.quiet_for(Duration::from_millis(100)).await,
        None,
        "no item"
    );
}

#[tokio::test]
async fn an_unknown_or_ended_session_is_a_fresh_one_on_any_node() {
    let Pair { a, b, .. } = &pair().await;
    let c = TestClient::connect(&a.url()).await;
    let session = session_of(&c);
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
async fn sessions_still_move_after_redis_restarted_empty() {
    let Pair { redis, a, b, .. } = &mut pair().await;
    let mut c = TestClient::connect(&a.url()).await;
    let (id, session) = (c.client_id(), session_of(&c));
    c.call_ok("join", json!("room")).await;

    // Redis comes back with nothing: each node writes its lists and its
    // sessions' records again once it has reconnected.
    redis.restart().await;
    within("A's connections to be listed again", async {
        loop {
            if let Ok(ids) = b.adapter.cluster_connections().await
                && ids.iter().any(|listed| listed.as_str() == id)
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    let mut d = TestClient::connect(&b.url()).await;
    d.call_ok("join", json!("room")).await;
    // Each node has subscribed again once it hears the other. What was
    // said before that reached one node only. Through A's ordered queue:
    // once B hears A, A's rewrite is done too.
    until_heard(&mut c, &mut d, "from a").await;
    let mut last_seq = until_heard(&mut d, &mut c, "from b").await;
    while let Some(frame) = c.quiet_for(Duration::from_millis(100)).await {
        last_seq = frame["seq"].as_u64().unwrap_or(last_seq);
    }
    drop_connection(c);

    let mut c = resume(&b.url(), &session, last_seq).await;
    assert_eq!(c.ready["recovered"], true, "{}", c.ready);
    assert_eq!(c.client_id(), id);
    d.call_ok("say", json!({"room": "room", "text": "after"}))
        .await;
    assert_eq!(news(&mut c).await, (json!("after"), last_seq + 1));
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
    let (id, session) = (c.client_id(), session_of(&c));
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

/// What one chatting client saw.
struct Seen {
    /// Its client id, from its first `__ready` and its last.
    ids: (String, String),
    /// Every `news` payload, in arrival order.
    news: Vec<Value>,
    /// Its connections after the first: whether each was recovered.
    reconnections: Vec<bool>,
}

#[tokio::test]
async fn a_rolling_deploy_of_three_nodes_loses_and_repeats_nothing() {
    use futures_util::StreamExt;
    const CLIENTS: usize = 50;
    /// Each client says at least this many messages, and goes on until
    /// the deploy is over.
    const MESSAGES: u64 = 10;
    let redis = RedisServer::start().await;
    let runs = Runs::default();
    let config = || Config::default().shutdown_timeout(Duration::from_secs(5));
    let mut nodes = Vec::new();
    for label in ["n0", "n1", "n2"] {
        nodes.push(Node::start(label, &redis.url(), runs.clone(), config()).await);
    }
    let proxy =
        zocket_tests::proxy::Proxy::start_many(nodes.iter().map(|n| n.addr).collect()).await;
    let url = format!("ws://{}/", proxy.addr());

    // Every client joins the room, then (once all have) says its messages
    // one call at a time, with a counted `run` call beside each, while
    // reading every message of the room. Once every client has said how
    // many it said, each reads until it has them all.
    let joined = std::sync::Arc::new(tokio::sync::Barrier::new(CLIENTS + 1));
    let deployed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (said_tx, mut said_rx) = tokio::sync::mpsc::unbounded_channel::<(usize, u64)>();
    let (totals_tx, totals_rx) = tokio::sync::watch::channel::<Option<Vec<u64>>>(None);
    let mut clients = Vec::new();
    for i in 0..CLIENTS {
        let (url, joined, deployed) = (url.clone(), joined.clone(), deployed.clone());
        let (said_tx, mut totals_rx) = (said_tx.clone(), totals_rx.clone());
        clients.push(tokio::spawn(async move {
            let mut builder = zocket_client::Client::builder().max_retries(50).backoff(
                zocket_client::Backoff::new(
                    Duration::from_millis(20),
                    Duration::from_millis(200),
                    0.3,
                )
                .expect("valid backoff"),
            );
            let mut events = builder.events::<Value>("news");
            let client = builder.connect(&url, &json!({})).await.expect("connects");
            let first = client.ready().client_id;
            let mut states = client.state_changes();
            let reconnections = tokio::spawn(async move {
                // The current state first: the first connection.
                let _ = states.next().await;
                let mut seen = Vec::new();
                while let Some(state) = states.next().await {
                    if let zocket_client::State::Connected { recovered } = state {
                        seen.push(recovered);
                    }
                }
                seen
            });
            let reader = tokio::spawn(async move {
                let totals = totals_rx
                    .wait_for(Option::is_some)
                    .await
                    .expect("totals")
                    .clone()
                    .expect("set");
                let all: u64 = totals.iter().sum();
                let mut news = Vec::new();
                while (news.len() as u64) < all {
                    match events.next().await {
                        Some(Ok(value)) => news.push(value),
                        Some(Err(err)) => panic!("client {i}: {err}"),
                        None => break,
                    }
                }
                news
            });
            let () = client.call("join", "room").await.expect("joined");
            joined.wait().await;
            let mut n = 0;
            while n < MESSAGES || !deployed.load(std::sync::atomic::Ordering::Acquire) {
                let key = format!("{i}-{n}");
                let ran: u32 = client
                    .call("run", &json!({"key": key, "wait_ms": 5}))
                    .await
                    .unwrap_or_else(|err| panic!("client {i}, run {n}: {err}"));
                assert_eq!(ran, 1, "{key} ran once before this reply");
                let _: usize = client
                    .call("say", &json!({"room": "room", "text": {"from": i, "n": n}}))
                    .await
                    .unwrap_or_else(|err| panic!("client {i}, say {n}: {err}"));
                n += 1;
                tokio::time::sleep(Duration::from_millis(15)).await;
            }
            said_tx.send((i, n)).expect("the test listens");
            let news = within("every message of the room", reader)
                .await
                .expect("reader");
            let last = client.ready().client_id;
            drop(client);
            Seen {
                ids: (first, last),
                news,
                reconnections: reconnections.await.expect("states"),
            }
        }));
    }
    within("every client to join", joined.wait()).await;

    // Each node in turn: out of the balancer, shut down (its clients move
    // to the others and take their sessions over), replaced by a new one.
    for (step, label) in ["n0b", "n1b", "n2b"].into_iter().enumerate() {
        tokio::time::sleep(Duration::from_millis(150)).await;
        let old = nodes.remove(0);
        proxy.set_upstreams(nodes.iter().map(|n| n.addr).collect());
        let (held, out_before) = (
            old.handle.connection_count(),
            old.adapter.stats().sessions_out,
        );
        assert!(held > 0, "step {step}: the node has clients");
        within("the node to shut down", old.handle.shutdown()).await;
        assert_eq!(
            old.adapter.stats().sessions_out - out_before,
            held as u64,
            "step {step}: every session of the old node moved to another"
        );
        drop(old);
        nodes.push(Node::start(label, &redis.url(), runs.clone(), config()).await);
        proxy.set_upstreams(nodes.iter().map(|n| n.addr).collect());
    }
    deployed.store(true, std::sync::atomic::Ordering::Release);
    let mut totals = vec![0u64; CLIENTS];
    for _ in 0..CLIENTS {
        let (i, n) = within("a client to say how many it said", said_rx.recv())
            .await
            .expect("a count");
        totals[i] = n;
    }
    totals_tx.send_replace(Some(totals.clone()));

    let mut moved = 0;
    for (i, client) in clients.into_iter().enumerate() {
        let seen = within("a client to finish", client)
            .await
            .expect("client task");
        assert_eq!(seen.ids.0, seen.ids.1, "client {i} kept its id");
        assert!(
            seen.reconnections.iter().all(|recovered| *recovered),
            "client {i}: every reconnection recovered: {:?}",
            seen.reconnections
        );
        moved += usize::from(!seen.reconnections.is_empty());
        // Every message once, each sender's in its order.
        let mut next = vec![0u64; CLIENTS];
        for message in &seen.news {
            let from = message["from"].as_u64().unwrap() as usize;
            let n = message["n"].as_u64().unwrap();
            assert_eq!(
                n, next[from],
                "client {i}: message {n} of client {from} where {} was next",
                next[from]
            );
            next[from] += 1;
        }
        assert_eq!(next, totals, "client {i}: every message of every client");
    }
    assert_eq!(moved, CLIENTS, "every client moved at least once");
    let all = runs.all();
    assert_eq!(all.len() as u64, totals.iter().sum::<u64>());
    assert!(all.values().all(|n| *n == 1), "no call ran twice");
}
