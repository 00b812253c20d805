//! Rooms and the send helpers, from handlers and from the server handle.

use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;
use zocket::{ClientId, Ctx, Event, NoHeaders, Router, RpcError, Server, ServerHandle};
use zocket_tests::{TestClient, serve_in_memory, within};

const NOTE: Event<Value> = Event::new("note");

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
struct Fanout {
    rooms: Vec<String>,
    clients: Vec<String>,
    except_me: bool,
    text: String,
}

fn router() -> Router<()> {
    Router::new()
        .call("room.join", |ctx: Ctx<()>, room: String| async move {
            ctx.join(&room)
        })
        .call("room.leave", |ctx: Ctx<()>, room: String| async move {
            Ok::<_, RpcError>(ctx.leave(&room))
        })
        .call("room.has", |ctx: Ctx<()>, room: String| async move {
            Ok::<_, RpcError>(ctx.has(&room))
        })
        .call("room.current", |ctx: Ctx<()>, _: ()| async move {
            Ok::<_, RpcError>(ctx.current())
        })
        .call("send.rooms", |ctx: Ctx<()>, f: Fanout| async move {
            let payload = json!({"text": f.text});
            let mut emit = ctx.emit(NOTE, &payload);
            if f.except_me {
                emit = emit.except([ctx.client_id().clone()]);
            }
            emit.to_rooms(&f.rooms).map_err(|_| RpcError::internal())
        })
        .call("send.clients", |ctx: Ctx<()>, f: Fanout| async move {
            let ids: Vec<ClientId> = f
                .clients
                .iter()
                .map(|c| ClientId::from(c.as_str()))
                .collect();
            ctx.emit(NOTE, &json!({"text": f.text}))
                .to_clients(&ids)
                .map_err(|_| RpcError::internal())
        })
        .call("send.all", |ctx: Ctx<()>, f: Fanout| async move {
            let mut emit = ctx.emit(NOTE, &json!({"text": f.text}));
            if f.except_me {
                emit = emit.except([ctx.client_id().clone()]);
            }
            emit.broadcast().map_err(|_| RpcError::internal())
        })
}

async fn start() -> (String, ServerHandle<()>) {
    let server = Server::builder(router())
        .on_connect(|_: Arc<NoHeaders>, _: ClientId| async { Ok(()) })
        .build()
        .expect("valid");
    let (addr, handle) = serve_in_memory(server);
    (format!("ws://{addr}/"), handle)
}

fn fanout(rooms: &[&str], clients: &[String], except_me: bool, text: &str) -> Value {
    json!({"rooms": rooms, "clients": clients, "exceptMe": except_me, "text": text})
}

#[tokio::test]
async fn join_leave_has_current() {
    let (url, _) = start().await;
    let mut c = TestClient::connect(&url).await;
    assert_eq!(c.call_ok("room.join", json!("b")).await, json!(true));
    assert_eq!(c.call_ok("room.join", json!("a")).await, json!(true));
    assert_eq!(
        c.call_ok("room.join", json!("a")).await,
        json!(false),
        "already in a"
    );
    assert_eq!(c.call_ok("room.has", json!("a")).await, json!(true));
    assert_eq!(
        c.call_ok("room.current", json!(null)).await,
        json!(["a", "b"])
    );
    assert_eq!(c.call_ok("room.leave", json!("a")).await, json!(true));
    assert_eq!(c.call_ok("room.leave", json!("a")).await, json!(false));
    assert_eq!(c.call_ok("room.has", json!("a")).await, json!(false));
    assert_eq!(c.call_ok("room.current", json!(null)).await, json!(["b"]));
}

#[tokio::test]
async fn sends_reach_exactly_their_recipients_once_with_seq() {
    let (url, handle) = start().await;
    let mut a = TestClient::connect(&url).await;
    let mut b = TestClient::connect(&url).await;
    let mut c = TestClient::connect(&url).await;
    a.call_ok("room.join", json!("red")).await;
    a.call_ok("room.join", json!("blue")).await;
    b.call_ok("room.join", json!("blue")).await;

    // Two rooms: `a` is in both and gets the event once; `c` in none gets nothing.
    assert_eq!(
        c.call_ok("send.rooms", fanout(&["red", "blue"], &[], false, "1"))
            .await,
        json!(2)
    );
    // One room, the sender left out.
    assert_eq!(
        a.call_ok("send.rooms", fanout(&["blue"], &[], true, "2"))
            .await,
        json!(1)
    );
    // A list of clients, a duplicate and an unknown id included.
    let ids = [
        a.client_id(),
        c.client_id(),
        c.client_id(),
        "nobody".to_owned(),
    ];
    assert_eq!(
        b.call_ok("send.clients", fanout(&[], &ids, false, "3"))
            .await,
        json!(2)
    );
    // Everyone but the sender.
    assert_eq!(
        b.call_ok("send.all", fanout(&[], &[], true, "4")).await,
        json!(2)
    );
    // From outside any handler: the server handle.
    assert_eq!(
        handle
            .emit(NOTE, &json!({"text": "5"}))
            .broadcast()
            .unwrap(),
        3
    );
    assert_eq!(
        handle
            .emit(NOTE, &json!({"text": "6"}))
            .to_room("blue")
            .unwrap(),
        2
    );
    let b_id = ClientId::from(b.client_id());
    assert_eq!(
        handle.emit(NOTE, &json!({"text": "7"})).to(&b_id).unwrap(),
        1
    );
    assert_eq!(
        handle
            .emit(NOTE, &json!({"text": "8"}))
            .except([b_id])
            .to_rooms(["blue", "red"])
            .unwrap(),
        1
    );

    for (client, expected) in [
        (&mut a, ["1", "3", "4", "5", "6", "8"].as_slice()),
        (&mut b, &["1", "2", "5", "6", "7"]),
        (&mut c, &["3", "4", "5"]),
    ] {
        for (i, text) in expected.iter().enumerate() {
            let event = client.next_of("note").await;
            assert_eq!(event["payload"]["text"], *text, "{event}");
            assert_eq!(event["seq"], json!(i + 1), "seq counts from 1 without gaps");
        }
    }
    // Nothing more arrived for anyone: a last broadcast is the next event each sees.
    handle
        .emit(NOTE, &json!({"text": "end"}))
        .broadcast()
        .unwrap();
    for client in [&mut a, &mut b, &mut c] {
        assert_eq!(client.next_of("note").await["payload"]["text"], "end");
    }
}

#[tokio::test]
async fn rooms_are_cleaned_up_on_disconnect() {
    let (url, handle) = start().await;
    let a = TestClient::connect(&url).await;
    let a_id = ClientId::from(a.client_id());
    let mut a = a;
    a.call_ok("room.join", json!("lobby")).await;
    assert_eq!(handle.emit(NOTE, &json!({})).to_room("lobby").unwrap(), 1);
    a.close().await;
    within("the connection to end", async {
        while handle.connection(&a_id).is_some() {
            tokio::task::yield_now().await;
        }
    })
    .await;
    assert_eq!(handle.emit(NOTE, &json!({})).to_room("lobby").unwrap(), 0);
    assert_eq!(handle.emit(NOTE, &json!({})).broadcast().unwrap(), 0);
}

/// A payload that counts how often it is serialized.
struct Counted(Arc<std::sync::atomic::AtomicUsize>);

impl serde::Serialize for Counted {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        s.serialize_str("counted")
    }
}

const COUNTED: Event<Counted> = Event::new("counted");

#[tokio::test]
async fn a_payload_is_serialized_once_per_send_whatever_the_recipients() {
    let (url, handle) = start().await;
    let mut clients = Vec::new();
    for _ in 0..5 {
        let mut c = TestClient::connect(&url).await;
        c.call_ok("room.join", json!("all")).await;
        clients.push(c);
    }
    let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let payload = Counted(count.clone());
    assert_eq!(handle.emit(COUNTED, &payload).to_room("all").unwrap(), 5);
    assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(handle.emit(COUNTED, &payload).broadcast().unwrap(), 5);
    assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 2);
    for c in &mut clients {
        assert_eq!(c.next_of("counted").await["payload"], "counted");
        assert_eq!(c.next_of("counted").await["seq"], 2);
    }
}
