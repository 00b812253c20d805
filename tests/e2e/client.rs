//! The Rust client against a real server: connecting, calls, messages,
//! events, errors, timeouts and closing.

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Semaphore, mpsc};
use zocket::{
    ClientId, Close, Ctx, ErrorCode, Event, Reject, Router, RpcError, Server, ServerHandle,
};
use zocket_client::{CallError, Client, ConnectError, EventError, HeaderIssue};
use zocket_tests::{WAIT, serve, within};

const TICK: Event<Value> = Event::new("tick");

#[derive(Deserialize, schemars::JsonSchema)]
struct Headers {
    #[schemars(length(min = 1, max = 8))]
    name: String,
    age: Option<u8>,
}

/// What the client sends as headers.
#[derive(Serialize)]
struct Hello<'a> {
    name: &'a str,
    age: Option<u16>,
}

struct Member {
    name: String,
    age: Option<u8>,
}

#[derive(Deserialize, schemars::JsonSchema)]
struct Order {
    items: Vec<Item>,
}

#[derive(Deserialize, schemars::JsonSchema)]
struct Item {
    qty: u32,
}

#[derive(Debug, Deserialize, PartialEq)]
struct Whoami {
    id: String,
    name: String,
    age: Option<u8>,
}

/// What the tests see of the server's handlers.
#[derive(Clone)]
struct Probe {
    /// The texts of `note` messages, as they arrive.
    notes: mpsc::UnboundedSender<String>,
    /// Signalled when a `wait` call has started.
    started: mpsc::UnboundedSender<()>,
    /// A `wait` call finishes when it gets a permit.
    gate: Arc<Semaphore>,
}

struct Harness {
    url: String,
    handle: ServerHandle<Member>,
    notes: mpsc::UnboundedReceiver<String>,
    started: mpsc::UnboundedReceiver<()>,
    gate: Arc<Semaphore>,
}

fn router(probe: Probe) -> Router<Member> {
    let notes = probe.notes.clone();
    Router::new()
        .call("whoami", |ctx: Ctx<Member>, _: ()| async move {
            Ok::<_, RpcError>(json!({
                "id": ctx.client_id().as_str(),
                "name": ctx.context().name,
                "age": ctx.context().age,
            }))
        })
        .call("echo", |_: Ctx<Member>, value: Value| async move {
            Ok::<_, RpcError>(value)
        })
        .call("order", |_: Ctx<Member>, order: Order| async move {
            Ok::<_, RpcError>(order.items.iter().map(|i| i.qty).sum::<u32>())
        })
        .call("buy", |_: Ctx<Member>, sku: String| async move {
            Err::<(), _>(
                RpcError::new(ErrorCode::new("OUT_OF_STOCK"), "sold out")
                    .with_data(&json!({"sku": sku, "left": 0})),
            )
        })
        .call(
            "ticks",
            |ctx: Ctx<Member>, payloads: Vec<Value>| async move {
                for payload in &payloads {
                    ctx.emit(TICK, payload)
                        .to(ctx.client_id())
                        .map_err(|_| RpcError::internal())?;
                }
                Ok::<_, RpcError>(payloads.len())
            },
        )
        .call("wait", move |_: Ctx<Member>, _: ()| {
            let probe = probe.clone();
            async move {
                let _ = probe.started.send(());
                let permit = probe
                    .gate
                    .acquire()
                    .await
                    .map_err(|_| RpcError::internal())?;
                permit.forget();
                Ok::<_, RpcError>("late")
            }
        })
        .message("note", move |_: Ctx<Member>, text: String| {
            let notes = notes.clone();
            async move {
                let _ = notes.send(text);
                Ok::<_, RpcError>(())
            }
        })
}

async fn start() -> Harness {
    let (notes_tx, notes) = mpsc::unbounded_channel();
    let (started_tx, started) = mpsc::unbounded_channel();
    let gate = Arc::new(Semaphore::new(0));
    let probe = Probe {
        notes: notes_tx,
        started: started_tx,
        gate: gate.clone(),
    };
    let server = Server::builder(router(probe))
        .on_before_connect(|h: Arc<Headers>| async move {
            match h.name.as_str() {
                "anon" => Err(Reject::unauthorized("log in first")),
                _ => Ok(()),
            }
        })
        .on_connect(|h: Arc<Headers>, _: ClientId| async move {
            if h.name == "late" {
                return Err(Close::new(4403, "no late joiners"));
            }
            Ok(Member {
                name: h.name.clone(),
                age: h.age,
            })
        })
        .build()
        .expect("valid server");
    let (addr, handle) = serve(server).await;
    Harness {
        url: format!("ws://{addr}/"),
        handle,
        notes,
        started,
        gate,
    }
}

async fn connect(url: &str, name: &str) -> Client {
    within(
        "connect",
        Client::connect(
            url,
            &Hello {
                name,
                age: Some(36),
            },
        ),
    )
    .await
    .expect("connected")
}

#[tokio::test]
async fn connects_with_headers_and_reads_ready() {
    let h = start().await;
    let client = connect(&h.url, "ada").await;
    let ready = client.ready();
    assert_eq!(ready.client_id.len(), 32);
    assert_eq!(ready.session_id.len(), 32);
    assert_eq!(ready.protocol_version, 1);
    assert!(!ready.recovered);
    let me: Whoami = within("whoami", client.call("whoami", &())).await.unwrap();
    assert_eq!(
        me,
        Whoami {
            id: ready.client_id.clone(),
            name: "ada".into(),
            age: Some(36),
        }
    );
    // A `None` header is left out; the server's field is then `None`.
    let client = within(
        "connect",
        Client::connect(
            &h.url,
            &Hello {
                name: "bo",
                age: None,
            },
        ),
    )
    .await
    .unwrap();
    let me: Whoami = within("whoami", client.call("whoami", &())).await.unwrap();
    assert_eq!((me.name.as_str(), me.age), ("bo", None));
}

#[tokio::test]
async fn calls_return_replies_and_server_errors() {
    let h = start().await;
    let client = connect(&h.url, "ada").await;
    let echoed: Value = within("echo", client.call("echo", &json!({"a": [1, 2]})))
        .await
        .unwrap();
    assert_eq!(echoed, json!({"a": [1, 2]}));
    let n: usize = within(
        "order",
        client.call("order", &json!({"items": [{"qty": 2}, {"qty": 3}]})),
    )
    .await
    .unwrap();
    assert_eq!(n, 5);

    let err = within("buy", client.call::<_, ()>("buy", "sku-1"))
        .await
        .unwrap_err();
    assert!(matches!(err, CallError::Server(_)), "{err:?}");
    assert_eq!(err.code(), Some("OUT_OF_STOCK"));
    assert_eq!(err.message(), Some("sold out"));
    assert_eq!(err.path(), None);
    assert_eq!(err.data(), Some(json!({"sku": "sku-1", "left": 0})));

    let err = within("missing", client.call::<_, Value>("nope", &()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("NOT_FOUND"));

    // A reply that does not match the expected type.
    let err = within("echo", client.call::<_, u32>("echo", "text"))
        .await
        .unwrap_err();
    assert!(matches!(err, CallError::Decode(_)), "{err:?}");
}

#[tokio::test]
async fn validation_errors_name_the_field() {
    let h = start().await;
    let client = connect(&h.url, "ada").await;
    let input = json!({"items": [{"qty": 1}, {"qty": 2}, {"qty": "x"}]});
    let err = within("order", client.call::<_, u32>("order", &input))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("VALIDATION"));
    assert_eq!(err.path(), Some("items[2].qty"));
    assert!(err.message().is_some_and(|m| !m.is_empty()));
}

#[tokio::test]
async fn refused_handshakes_carry_status_code_and_issues() {
    let h = start().await;
    let bad = json!({"name": "", "age": 300});
    let err = within("connect", Client::connect(&h.url, &bad))
        .await
        .unwrap_err();
    let ConnectError::Refused(refusal) = err else {
        panic!("expected a refusal, got {err:?}");
    };
    assert_eq!(refusal.status, 400);
    assert_eq!(refusal.code.as_deref(), Some("INVALID_HEADERS"));
    assert!(!refusal.message.is_empty());
    let paths: Vec<&str> = refusal.issues.iter().map(|i| i.path.as_str()).collect();
    assert_eq!(paths, ["age", "name"], "{:?}", refusal.issues);
    assert!(refusal.issues.iter().all(|i| !i.message.is_empty()));

    let err = within("connect", Client::connect(&h.url, &()))
        .await
        .unwrap_err();
    let ConnectError::Refused(refusal) = err else {
        panic!("expected a refusal, got {err:?}");
    };
    assert_eq!(
        refusal.issues,
        [HeaderIssue {
            path: "name".into(),
            message: "missing required field".into()
        }]
    );

    let err = within("connect", Client::connect(&h.url, &json!({"name": "anon"})))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ConnectError::Refused(r) if r.status == 401 && r.code.as_deref() == Some("UNAUTHORIZED") && r.message == "log in first"),
        "{err:?}"
    );

    let err = within("connect", Client::connect(&h.url, &json!({"name": "late"})))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ConnectError::Closed { code: Some(4403), reason } if reason == "no late joiners"),
        "{err:?}"
    );
    assert_eq!(h.handle.connection_count(), 0);
}

#[tokio::test]
async fn messages_get_no_reply() {
    let mut h = start().await;
    let client = connect(&h.url, "ada").await;
    let mut errors = client.errors();
    within("message", client.message("note", "hello"))
        .await
        .unwrap();
    assert_eq!(within("the note", h.notes.recv()).await.unwrap(), "hello");
    // A message to a route that does not exist: its error comes on the
    // error stream, not as a reply.
    within("message", client.message("no.such.route", &()))
        .await
        .unwrap();
    let error = within("__error", errors.next()).await.unwrap().unwrap();
    assert_eq!(error.code(), "NOT_FOUND");
    assert_eq!(error.route(), Some("no.such.route"));
    // A message whose payload does not validate.
    within("message", client.message("note", &42))
        .await
        .unwrap();
    let error = within("__error", errors.next()).await.unwrap().unwrap();
    assert_eq!(error.code(), "VALIDATION");
    assert_eq!(error.route(), Some("note"));
    // The connection goes on.
    within("message", client.message("note", "again"))
        .await
        .unwrap();
    assert_eq!(within("the note", h.notes.recv()).await.unwrap(), "again");
}

#[tokio::test]
async fn event_streams_each_get_every_event_in_order() {
    let h = start().await;
    let client = connect(&h.url, "ada").await;
    let mut first = client.events::<u32>("tick");
    let mut second = client.events::<u32>("tick");
    let mut raw = client.events::<Value>("tick");
    let mut other = client.events::<Value>("tock");
    let payloads = json!([1, 2, "three", 4]);
    let sent: usize = within("ticks", client.call("ticks", &payloads))
        .await
        .unwrap();
    assert_eq!(sent, 4);
    for stream in [&mut first, &mut second] {
        assert_eq!(within("tick 1", stream.next()).await.unwrap().unwrap(), 1);
        assert_eq!(within("tick 2", stream.next()).await.unwrap().unwrap(), 2);
        let err = within("tick 3", stream.next()).await.unwrap().unwrap_err();
        assert!(
            matches!(&err, EventError::Decode { name, seq: Some(3), .. } if name == "tick"),
            "{err:?}"
        );
        assert_eq!(within("tick 4", stream.next()).await.unwrap().unwrap(), 4);
    }
    for expected in payloads.as_array().unwrap() {
        assert_eq!(
            &within("raw tick", raw.next()).await.unwrap().unwrap(),
            expected
        );
    }
    // A stream taken now sees only what comes next.
    let mut late = client.events::<u32>("tick");
    let _: usize = within("ticks", client.call("ticks", &json!([5])))
        .await
        .unwrap();
    assert_eq!(within("tick 5", late.next()).await.unwrap().unwrap(), 5);
    assert_eq!(within("tick 5", first.next()).await.unwrap().unwrap(), 5);
    // Nothing came for another name; closing ends its stream empty.
    client.close().await;
    assert!(within("the end of tock", other.next()).await.is_none());
}

#[tokio::test]
async fn a_call_times_out_and_its_late_reply_is_ignored() {
    let mut h = start().await;
    let client = Client::builder()
        .timeout(Duration::from_millis(200))
        .connect(
            &h.url,
            &Hello {
                name: "ada",
                age: None,
            },
        )
        .await
        .unwrap();
    let err = within("the timeout", client.call::<_, String>("wait", &()))
        .await
        .unwrap_err();
    assert!(
        matches!(err, CallError::Timeout(t) if t == Duration::from_millis(200)),
        "{err:?}"
    );
    within("the handler to start", h.started.recv())
        .await
        .unwrap();

    // A call's own timeout overrides the client's.
    let err = within(
        "the timeout",
        client.call_with_timeout::<_, String>("wait", &(), Duration::from_millis(50)),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, CallError::Timeout(t) if t == Duration::from_millis(50)),
        "{err:?}"
    );
    within("the handler to start", h.started.recv())
        .await
        .unwrap();

    // So does a handle's: `with_timeout` for every call made through it.
    let quick = client.with_timeout(Duration::from_millis(30));
    assert_eq!(quick.timeout(), Duration::from_millis(30));
    let err = within("the timeout", quick.call::<_, String>("wait", &()))
        .await
        .unwrap_err();
    assert!(
        matches!(err, CallError::Timeout(t) if t == Duration::from_millis(30)),
        "{err:?}"
    );
    within("the handler to start", h.started.recv())
        .await
        .unwrap();
    assert_eq!(
        client.timeout(),
        Duration::from_millis(200),
        "the client keeps its own"
    );

    // Let all three finish: their replies arrive for calls nobody waits for.
    h.gate.add_permits(3);
    for n in 0..5 {
        let echoed: u32 = within("echo", client.call_with_timeout("echo", &n, WAIT))
            .await
            .unwrap();
        assert_eq!(echoed, n);
    }
    // With a timeout long enough, the same route answers.
    h.gate.add_permits(1);
    let late: String = within("wait", client.call_with_timeout("wait", &(), WAIT))
        .await
        .unwrap();
    assert_eq!(late, "late");
}

#[tokio::test]
async fn close_fails_pending_calls_and_ends_streams() {
    let mut h = start().await;
    let client = connect(&h.url, "ada").await;
    let id = ClientId::from(client.ready().client_id.as_str());
    let mut events = client.events::<u32>("tick");
    let mut errors = client.errors();
    let pending = tokio::spawn({
        let client = client.clone();
        async move { client.call::<_, String>("wait", &()).await }
    });
    within("the handler to start", h.started.recv())
        .await
        .unwrap();

    within("close", client.close()).await;
    let result = within("the pending call", pending).await.unwrap();
    assert!(
        matches!(result, Err(CallError::ConnectionClosed)),
        "{result:?}"
    );
    assert!(
        within("the event stream to end", events.next())
            .await
            .is_none()
    );
    assert!(
        within("the error stream to end", errors.next())
            .await
            .is_none()
    );
    let later = within("a later call", client.call::<_, Value>("echo", &1)).await;
    assert!(
        matches!(later, Err(CallError::ConnectionClosed)),
        "{later:?}"
    );
    let message = within("a later message", client.message("note", "x")).await;
    assert!(
        matches!(message, Err(CallError::ConnectionClosed)),
        "{message:?}"
    );
    assert!(
        within("a late stream", client.events::<u32>("tick").next())
            .await
            .is_none()
    );
    within("a second close", client.close()).await;
    within("the server to drop the connection", async {
        while h.handle.connection(&id).is_some() {
            tokio::task::yield_now().await;
        }
    })
    .await;
}

#[tokio::test]
async fn the_server_closing_fails_pending_calls_and_ends_streams() {
    let mut h = start().await;
    let client = connect(&h.url, "ada").await;
    let id = ClientId::from(client.ready().client_id.as_str());
    let mut events = client.events::<u32>("tick");
    let pending = tokio::spawn({
        let client = client.clone();
        async move { client.call::<_, String>("wait", &()).await }
    });
    within("the handler to start", h.started.recv())
        .await
        .unwrap();
    assert!(
        within(
            "disconnect",
            h.handle.disconnect(&id, Close::new(4000, "bye"))
        )
        .await
    );
    let result = within("the pending call", pending).await.unwrap();
    assert!(
        matches!(result, Err(CallError::ConnectionClosed)),
        "{result:?}"
    );
    assert!(
        within("the event stream to end", events.next())
            .await
            .is_none()
    );
}
