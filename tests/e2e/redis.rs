//! Several nodes on one Redis (`zocket-redis`): every send form reaches the
//! members on every node, once and in order, from handlers and from a
//! `ServerHandle` on any node; a Redis restart stops nothing locally, and
//! what crossed nodes meanwhile is counted. Each test runs its own
//! redis-server on a free loopback port.

use serde::Deserialize;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;
use zocket::{ClientId, Ctx, Event, NoHeaders, Router, RpcError, Server, ServerHandle};
use zocket_redis::RedisAdapter;
use zocket_tests::redis::RedisServer;
use zocket_tests::{TestClient, serve, within};

const NEWS: Event<Value> = Event::new("news");

#[derive(Deserialize, schemars::JsonSchema)]
struct Say {
    room: Option<String>,
    to: Option<String>,
    except: Option<Vec<String>>,
    text: Value,
}

/// A node: `join {room}`, `leave {room}`, `rooms` (its rooms, and whether
/// it `has` each), `say {room | to | neither, except, text}` (to a room, a
/// client, or everyone).
struct Node {
    addr: SocketAddr,
    handle: ServerHandle<()>,
    adapter: RedisAdapter,
}

async fn node(redis: &RedisServer) -> Node {
    let adapter = within(
        "the adapter to connect",
        RedisAdapter::connect(&redis.url()),
    )
    .await
    .expect("connected");
    let router = Router::new()
        .call("join", |ctx: Ctx<()>, room: String| async move {
            ctx.join(&room)?;
            Ok::<_, RpcError>(())
        })
        .call("leave", |ctx: Ctx<()>, room: String| async move {
            Ok::<_, RpcError>(ctx.leave(&room))
        })
        .call("rooms", |ctx: Ctx<()>, room: String| async move {
            Ok::<_, RpcError>(json!({"current": ctx.current(), "has": ctx.has(&room)}))
        })
        .call("say", |ctx: Ctx<()>, say: Say| async move {
            let except: Vec<ClientId> = say
                .except
                .unwrap_or_default()
                .into_iter()
                .map(ClientId::from)
                .collect();
            let emit = ctx.emit(NEWS, &say.text).except(except);
            let local = match (say.room, say.to) {
                (Some(room), _) => emit.to_room(&room),
                (None, Some(to)) => emit.to(&ClientId::from(to)),
                (None, None) => emit.broadcast(),
            }
            .map_err(|_| RpcError::internal())?;
            Ok::<_, RpcError>(local)
        });
    let server = Server::builder(router)
        .on_connect(|_: Arc<NoHeaders>, _: ClientId| async { Ok(()) })
        .adapter(adapter.clone())
        .build()
        .expect("valid");
    let (addr, handle) = serve(server).await;
    Node {
        addr,
        handle,
        adapter,
    }
}

impl Node {
    async fn client(&self) -> TestClient {
        TestClient::connect(&format!("ws://{}/", self.addr)).await
    }
}

/// The next `news` event's payload.
async fn news(client: &mut TestClient) -> Value {
    client.next_of("news").await["payload"].clone()
}

#[tokio::test]
async fn every_send_form_reaches_the_members_on_every_node_once() {
    let redis = RedisServer::start().await;
    let (a, b) = (node(&redis).await, node(&redis).await);
    assert_ne!(a.adapter.node_id(), b.adapter.node_id());
    let mut a1 = a.client().await;
    let mut b1 = b.client().await;
    let mut b2 = b.client().await;
    a1.call_ok("join", json!("room")).await;
    b1.call_ok("join", json!("room")).await;

    // To a room, from a handler on A: its members on A and on B.
    let local = a1.call_ok("say", json!({"room": "room", "text": 1})).await;
    assert_eq!(local, 1, "the send returns the local count");
    assert_eq!(news(&mut a1).await, 1);
    assert_eq!(news(&mut b1).await, 1);
    // To one client on another node, from a handler.
    a1.call_ok("say", json!({"to": b2.client_id(), "text": 2}))
        .await;
    assert_eq!(news(&mut b2).await, 2);
    // To everyone but one client, from a handler on B.
    b2.call_ok("say", json!({"except": [b1.client_id()], "text": 3}))
        .await;
    assert_eq!(news(&mut a1).await, 3);
    assert_eq!(news(&mut b2).await, 3);
    // From a ServerHandle (outside any handler) on B, to the room.
    let sent = b
        .handle
        .emit(NEWS, &json!(4))
        .to_room("room")
        .expect("sent");
    assert_eq!(sent, 1);
    assert_eq!(news(&mut a1).await, 4);
    assert_eq!(news(&mut b1).await, 4);
    // To several clients, one on each node, from A's handle.
    a.handle
        .emit(NEWS, &json!(5))
        .to_clients(&[a1.client_id().into(), b2.client_id().into()])
        .expect("sent");
    // Each client's next events are exactly these: nothing twice, nothing
    // it should not have had.
    assert_eq!(news(&mut a1).await, 5);
    assert_eq!(news(&mut b2).await, 5);
    let everyone = json!({"text": "end"});
    a1.call_ok("say", everyone).await;
    for client in [&mut a1, &mut b1, &mut b2] {
        assert_eq!(news(client).await, "end", "nothing before the end marker");
    }
    // `seq` counts each client's events without a gap: none came twice.
    let stats = a.adapter.stats();
    assert_eq!(
        (stats.publish_lost, stats.receive_lost, stats.malformed),
        (0, 0, 0)
    );
    assert!(stats.published >= 3 && stats.received >= 2, "{stats:?}");
}

#[tokio::test]
async fn a_publisher_s_events_keep_their_order_on_every_node() {
    let redis = RedisServer::start().await;
    let (a, b) = (node(&redis).await, node(&redis).await);
    let mut members = Vec::new();
    for node in [&a, &b, &b] {
        let mut client = node.client().await;
        client.call_ok("join", json!("r")).await;
        members.push(client);
    }
    for i in 0..500 {
        a.handle.emit(NEWS, &json!(i)).to_room("r").expect("sent");
    }
    for member in &mut members {
        for i in 0..500 {
            let event = member.next_of("news").await;
            assert_eq!(event["payload"], i, "in order, none missing or repeated");
            assert_eq!(event["seq"], i + 1);
        }
    }
}

#[tokio::test]
async fn rooms_stay_exact_for_the_local_connection() {
    let redis = RedisServer::start().await;
    let (a, b) = (node(&redis).await, node(&redis).await);
    let mut a1 = a.client().await;
    let mut b1 = b.client().await;
    a1.call_ok("join", json!("x")).await;
    a1.call_ok("join", json!("y")).await;
    b1.call_ok("join", json!("y")).await;
    assert_eq!(
        a1.call_ok("rooms", json!("x")).await,
        json!({"current": ["x", "y"], "has": true})
    );
    assert_eq!(
        b1.call_ok("rooms", json!("x")).await,
        json!({"current": ["y"], "has": false})
    );
    assert_eq!(a1.call_ok("leave", json!("x")).await, true);
    assert_eq!(
        a1.call_ok("rooms", json!("x")).await,
        json!({"current": ["y"], "has": false})
    );
    // Left: no longer a member on its node, for sends from either node.
    b1.call_ok("say", json!({"room": "x", "text": "x only"}))
        .await;
    b1.call_ok("say", json!({"room": "y", "text": "y"})).await;
    assert_eq!(news(&mut a1).await, "y");
}

#[tokio::test]
async fn the_live_connections_can_be_listed_cluster_wide() {
    let redis = RedisServer::start().await;
    let (a, b) = (node(&redis).await, node(&redis).await);
    let a1 = a.client().await;
    let b1 = b.client().await;
    let b2 = b.client().await;
    let mut expected = vec![a1.client_id(), b1.client_id(), b2.client_id()];
    expected.sort();
    // The list is written by each node's publisher: wait for it.
    within("every connection listed", async {
        loop {
            let ids: Vec<String> = a
                .adapter
                .cluster_connections()
                .await
                .expect("listed")
                .into_iter()
                .map(|id| id.to_string())
                .collect();
            if ids == expected {
                return;
            }
            tokio::task::yield_now().await;
        }
    })
    .await;
    let mut nodes = b.adapter.cluster_nodes().await.expect("listed");
    nodes.sort();
    let mut both = vec![
        a.adapter.node_id().to_owned(),
        b.adapter.node_id().to_owned(),
    ];
    both.sort();
    assert_eq!(nodes, both);
    b2.close().await;
    within("the closed connection unlisted", async {
        loop {
            let ids = a.adapter.cluster_connections().await.expect("listed");
            if ids.len() == 2 {
                return;
            }
            tokio::task::yield_now().await;
        }
    })
    .await;
}

#[tokio::test]
async fn a_redis_restart_stops_nothing_locally_and_cross_node_delivery_resumes() {
    let mut redis = RedisServer::start().await;
    let (a, b) = (node(&redis).await, node(&redis).await);
    let mut a1 = a.client().await;
    let mut b1 = b.client().await;
    a1.call_ok("join", json!("r")).await;
    b1.call_ok("join", json!("r")).await;
    a1.call_ok("say", json!({"room": "r", "text": "before"}))
        .await;
    assert_eq!(news(&mut b1).await, "before");
    assert_eq!(news(&mut a1).await, "before");

    redis.stop();
    // Local delivery goes on while Redis is down.
    for i in 0..20 {
        a1.call_ok("say", json!({"room": "r", "text": i})).await;
        assert_eq!(news(&mut a1).await, i);
    }
    redis.restart().await;
    // Cross-node delivery resumes once both nodes are back: send until a
    // marker crosses (a bounded number of tries, each waiting for its own
    // delivery first).
    let mut crossed = false;
    for attempt in 0..200 {
        let marker = json!(format!("after {attempt}"));
        a1.call_ok("say", json!({"room": "r", "text": marker}))
            .await;
        assert_eq!(news(&mut a1).await, marker);
        if let Some(frame) = b1.quiet_for(std::time::Duration::from_millis(100)).await
            && frame["type"] == "news"
            && frame["payload"]
                .as_str()
                .is_some_and(|t| t.starts_with("after"))
        {
            crossed = true;
            break;
        }
    }
    assert!(crossed, "cross-node delivery resumed after the restart");
    a1.call_ok("say", json!({"room": "r", "text": "last"}))
        .await;
    // What B got from A is in A's order, and what it did not get is
    // counted: every message A sent is either received by B or lost and
    // counted.
    let mut order = vec![json!("before")];
    order.extend((0..20).map(|i| json!(i)));
    let mut got = vec![json!("before")];
    loop {
        let payload = news(&mut b1).await;
        let done = payload == "last";
        got.push(payload);
        if done {
            break;
        }
    }
    order.push(json!("last"));
    let mut sent = order.iter();
    for payload in &got {
        if payload.as_str().is_some_and(|t| t.starts_with("after")) {
            continue;
        }
        assert!(
            sent.any(|s| s == payload),
            "{payload} out of order in {got:?}"
        );
    }
    // A counts its publishes once Redis answers them, which may be after
    // B delivered: wait until the counts agree (bounded).
    within("every message of A received by B or counted lost", async {
        loop {
            let (a_stats, b_stats) = (a.adapter.stats(), b.adapter.stats());
            if b_stats.received + b_stats.receive_lost == a_stats.published + a_stats.publish_lost {
                return;
            }
            tokio::task::yield_now().await;
        }
    })
    .await;
}

#[tokio::test]
async fn the_chat_example_runs_as_a_cluster() {
    use chat::{ChatClient, ChatHeaders, RoomInput, SendInput};
    use futures_util::StreamExt;
    let redis = RedisServer::start().await;
    let mut nodes = Vec::new();
    for _ in 0..2 {
        let adapter = RedisAdapter::connect(&redis.url())
            .await
            .expect("connected");
        let server = chat::cluster_server(&adapter);
        let (addr, _) = serve(server).await;
        nodes.push(addr);
    }
    // Ada reaches the cluster through a balancer (the proxy), Bob node 1.
    let proxy = zocket_tests::proxy::Proxy::start(nodes[0]).await;
    let connect = |url: String, name: &str| {
        let name = name.to_owned();
        async move {
            let client = zocket_client::Client::builder()
                .backoff(
                    zocket_client::Backoff::new(
                        std::time::Duration::from_millis(20),
                        std::time::Duration::from_millis(200),
                        0.0,
                    )
                    .expect("valid"),
                )
                .connect(&url, &ChatHeaders { name })
                .await
                .expect("connected");
            ChatClient::from_client(client)
        }
    };
    let ada = connect(format!("ws://{}/", proxy.addr()), "ada").await;
    let bob = connect(format!("ws://{}/", nodes[1]), "bob").await;
    let (mut ada_messages, mut bob_messages) = (ada.on_message(), bob.on_message());
    let room = RoomInput {
        room: "general".into(),
    };
    ada.join(&room).await.expect("joined");
    bob.join(&room).await.expect("joined");
    let say = |text: &str| SendInput {
        room: "general".into(),
        text: text.into(),
    };
    for (from, text) in [(&ada, "hi bob"), (&bob, "hi ada")] {
        from.send(&say(text)).await.expect("sent");
        for messages in [&mut ada_messages, &mut bob_messages] {
            let message = within("the message", messages.next())
                .await
                .expect("open")
                .expect("decoded");
            assert_eq!(message.text, text);
        }
    }

    // The balancer moves Ada to node 1: her session follows, with what
    // Bob said while she was away.
    let me = ada.whoami().await.expect("whoami");
    let mut states = ada.client().state_changes();
    let _ = states.next().await;
    proxy.set_upstreams(vec![nodes[1]]);
    proxy.cut();
    bob.send(&say("while you moved")).await.expect("sent");
    let state = within("Ada to reconnect", async {
        loop {
            match states.next().await.expect("states") {
                zocket_client::State::Connected { recovered } => return recovered,
                _ => continue,
            }
        }
    })
    .await;
    assert!(state, "Ada's session recovered on the other node");
    for messages in [&mut ada_messages, &mut bob_messages] {
        let message = within("the message", messages.next())
            .await
            .expect("open")
            .expect("decoded");
        assert_eq!(message.text, "while you moved");
    }
    let again = ada.whoami().await.expect("whoami");
    assert_eq!(
        (again.client_id, again.name, again.rooms),
        (me.client_id, me.name, vec!["general".to_owned()])
    );
    ada.send(&say("back")).await.expect("sent");
    for messages in [&mut ada_messages, &mut bob_messages] {
        let message = within("the message", messages.next())
            .await
            .expect("open")
            .expect("decoded");
        assert_eq!(message.text, "back");
    }
}
