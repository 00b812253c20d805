//! Calls and messages: exactly one reply, error replies, bad frames,
//! ordering and concurrency.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, Semaphore};
use tokio_tungstenite::tungstenite::Message;
use zocket::{ClientId, Config, Ctx, ErrorCode, NoHeaders, Router, RpcError, Server};
use zocket_tests::{TestClient, serve_in_memory, within};

#[derive(Deserialize, JsonSchema)]
struct Add {
    a: i64,
    b: i64,
}

#[derive(Deserialize, JsonSchema)]
struct Order {
    items: Vec<Item>,
}

#[derive(Deserialize, JsonSchema)]
struct Item {
    #[allow(dead_code)]
    qty: u32,
}

/// An application error type with its own codes.
enum ShopError {
    OutOfStock { sku: String },
}

impl From<ShopError> for RpcError {
    fn from(err: ShopError) -> Self {
        match err {
            ShopError::OutOfStock { sku } => RpcError::new(
                ErrorCode::new("OUT_OF_STOCK"),
                format!("{sku} is out of stock"),
            )
            .with_data(&json!({ "sku": sku })),
        }
    }
}

/// What tests observe of the handlers.
pub(crate) struct Lab {
    started: Mutex<Vec<u64>>,
    notes: Mutex<Vec<String>>,
    running: AtomicUsize,
    max_running: AtomicUsize,
    changed: Notify,
    gate: Semaphore,
}

impl Default for Lab {
    fn default() -> Self {
        Self {
            started: Mutex::default(),
            notes: Mutex::default(),
            running: AtomicUsize::new(0),
            max_running: AtomicUsize::new(0),
            changed: Notify::new(),
            gate: Semaphore::new(0),
        }
    }
}

fn router(lab: Arc<Lab>) -> Router<()> {
    let (l1, l2, l3) = (lab.clone(), lab.clone(), lab);
    Router::new()
        .call("math.add", |_: Ctx<()>, input: Add| async move {
            Ok::<_, RpcError>(input.a + input.b)
        })
        .call("shop.order", |_: Ctx<()>, order: Order| async move {
            Ok::<_, RpcError>(order.items.len())
        })
        .call("shop.buy", |_: Ctx<()>, sku: String| async move {
            Err::<(), _>(ShopError::OutOfStock { sku })
        })
        .call("fault.panic", |_: Ctx<()>, _: ()| async move {
            if true {
                panic!("secret internal detail");
            }
            Ok::<(), RpcError>(())
        })
        .call("fault.panicLater", |_: Ctx<()>, _: ()| async move {
            tokio::time::sleep(Duration::from_millis(5)).await;
            if true {
                panic!("secret internal detail");
            }
            Ok::<(), RpcError>(())
        })
        .call("fault.slow", |_: Ctx<()>, _: ()| async move {
            // Never finishes: the server's call timeout answers.
            std::future::pending::<()>().await;
            Ok::<(), RpcError>(())
        })
        .message("log.note", move |_: Ctx<()>, text: String| {
            let lab = l1.clone();
            async move {
                if text == "bad" {
                    return Err(RpcError::bad_request("bad note"));
                }
                lab.notes.lock().unwrap().push(text);
                Ok(())
            }
        })
        .call("order.record", move |_: Ctx<()>, n: u64| {
            // The synchronous part runs in arrival order...
            l2.started.lock().unwrap().push(n);
            async move {
                // ...then handlers wait different times, finishing out of order.
                tokio::time::sleep(Duration::from_millis((n * 7) % 13)).await;
                Ok::<_, RpcError>(n)
            }
        })
        .call("gate.wait", move |_: Ctx<()>, _: ()| {
            let lab = l3.clone();
            async move {
                let now = lab.running.fetch_add(1, Ordering::SeqCst) + 1;
                lab.max_running.fetch_max(now, Ordering::SeqCst);
                lab.changed.notify_waiters();
                let permit = lab.gate.acquire().await.expect("open");
                permit.forget();
                lab.running.fetch_sub(1, Ordering::SeqCst);
                Ok::<_, RpcError>(())
            }
        })
}

async fn lab_server(config: Config) -> (String, Arc<Lab>) {
    let lab = Arc::new(Lab::default());
    let server = Server::builder(router(lab.clone()))
        .on_connect(|_: Arc<NoHeaders>, _: ClientId| async { Ok(()) })
        .config(config)
        .build()
        .expect("valid");
    let (addr, _) = serve_in_memory(server);
    (format!("ws://{addr}/"), lab)
}

#[tokio::test]
async fn calls_get_exactly_one_reply_of_the_right_kind() {
    let (url, _) = lab_server(Config::default()).await;
    let mut c = TestClient::connect(&url).await;
    assert_eq!(
        c.call_ok("math.add", json!({"a": 2, "b": 40})).await,
        json!(42)
    );

    let err = c.call_err("shop.buy", json!("sku-1")).await;
    assert_eq!(
        err,
        json!({"code":"OUT_OF_STOCK","message":"sku-1 is out of stock","path":null,"data":{"sku":"sku-1"}})
    );

    for route in ["fault.panic", "fault.panicLater"] {
        let err = c.call_err(route, json!(null)).await;
        assert_eq!(err["code"], "INTERNAL");
        assert!(!err.to_string().contains("secret"), "{err}");
    }

    let err = c
        .call_err(
            "shop.order",
            json!({"items":[{"qty":1},{"qty":2},{"qty":"x"}]}),
        )
        .await;
    assert_eq!(err["code"], "VALIDATION");
    assert_eq!(err["path"], "items[2].qty");
    let err = c.call_err("math.add", json!({"a": 1})).await;
    assert_eq!(
        (err["code"].as_str(), err["path"].as_str()),
        (Some("VALIDATION"), Some("b"))
    );
    let err = c.call_err("math.add", json!(null)).await;
    assert_eq!(err["code"], "VALIDATION");

    let err = c.call_err("math.sub", json!({})).await;
    assert_eq!(err["code"], "NOT_FOUND");
    assert!(err["message"].as_str().unwrap().contains("math.sub"));
    let err = c.call_err("__ready", json!({})).await;
    assert_eq!(err["code"], "NOT_FOUND", "reserved names are not routes");

    // Still alive after all of that.
    assert_eq!(
        c.call_ok("math.add", json!({"a": 1, "b": 1})).await,
        json!(2)
    );
}

#[tokio::test]
async fn a_call_that_runs_too_long_times_out() {
    let (url, _) = lab_server(Config::default().call_timeout(Duration::from_millis(100))).await;
    let mut c = TestClient::connect(&url).await;
    let err = c.call_err("fault.slow", json!(null)).await;
    assert_eq!(err["code"], "TIMEOUT");
    assert_eq!(
        c.call_ok("math.add", json!({"a": 1, "b": 2})).await,
        json!(3)
    );
}

#[tokio::test]
async fn messages_without_rpc_id_report_failures_with_error_frames() {
    let (url, lab) = lab_server(Config::default()).await;
    let mut c = TestClient::connect(&url).await;
    // A message that succeeds produces no frame: the next frame is the call's reply.
    c.send_json(json!({"type":"log.note","payload":"hello"}))
        .await;
    let id = c.start_call("math.add", json!({"a": 0, "b": 0})).await;
    let frame = c.next_frame().await;
    assert_eq!(
        (frame["type"].as_str(), frame["rpcId"].as_str()),
        (Some("__rpc_res"), Some(id.as_str()))
    );
    assert_eq!(*lab.notes.lock().unwrap(), ["hello"]);

    // A message sent with an rpcId (as the TypeScript client does) gets `null`.
    assert_eq!(
        c.call("log.note", json!("again")).await,
        json!({"type":"__rpc_res","rpcId":"r2","payload":null})
    );

    c.send_json(json!({"type":"log.note","payload":"bad"}))
        .await;
    let frame = c.next_frame().await;
    assert_eq!(frame["type"], "__error");
    assert_eq!(frame["error"]["code"], "BAD_REQUEST");
    assert_eq!(frame["error"]["route"], "log.note");

    c.send_json(json!({"type":"chat.sned","payload":{}})).await;
    let frame = c.next_frame().await;
    assert_eq!(frame["error"]["code"], "NOT_FOUND");
    assert_eq!(frame["error"]["route"], "chat.sned");
    assert_eq!(frame["error"]["message"], "no route chat.sned");

    c.send_json(json!({"type":"log.note","payload":5})).await;
    let frame = c.next_frame().await;
    assert_eq!(frame["type"], "__error");
    assert_eq!(frame["error"]["code"], "VALIDATION");
}

#[tokio::test]
async fn bad_frames_get_bad_request_and_the_connection_goes_on() {
    let (url, _) = lab_server(Config::default()).await;
    let mut c = TestClient::connect(&url).await;
    for (frame, needle) in [
        ("not json", "not valid JSON"),
        ("[1,2]", "not a JSON object"),
        ("42", "not a JSON object"),
        (r#"{"payload":1}"#, "no `type`"),
        (r#"{"type":5}"#, "`type` must be a string"),
        (
            r#"{"type":"math.add","rpcId":7}"#,
            "`rpcId` must be a string",
        ),
    ] {
        c.send_text(frame).await;
        let reply = c.next_frame().await;
        assert_eq!(reply["type"], "__error", "{frame}: {reply}");
        assert_eq!(reply["error"]["code"], "BAD_REQUEST");
        assert!(
            reply["error"]["message"].as_str().unwrap().contains(needle),
            "{frame}: {reply}"
        );
    }
    // With a usable rpcId, the call fails instead.
    c.send_text(r#"{"rpcId":"x1","payload":{}}"#).await;
    let reply = c.next_frame().await;
    assert_eq!(
        (reply["type"].as_str(), reply["rpcId"].as_str()),
        (Some("__rpc_err"), Some("x1"))
    );
    assert_eq!(reply["error"]["code"], "BAD_REQUEST");

    c.send_message(Message::binary(vec![1, 2, 3])).await;
    let reply = c.next_frame().await;
    assert_eq!(reply["error"]["code"], "BAD_REQUEST");
    assert!(
        reply["error"]["message"]
            .as_str()
            .unwrap()
            .contains("binary")
    );

    assert_eq!(
        c.call_ok("math.add", json!({"a": 20, "b": 22})).await,
        json!(42)
    );
}

#[tokio::test]
async fn handlers_start_in_arrival_order_and_replies_all_arrive() {
    let (url, lab) = lab_server(Config::default()).await;
    let mut c = TestClient::connect(&url).await;
    let mut ids = Vec::new();
    for n in 0..50u64 {
        ids.push(c.start_call("order.record", json!(n)).await);
    }
    for (n, id) in ids.iter().enumerate() {
        assert_eq!(c.reply(id).await["payload"], json!(n));
    }
    assert_eq!(*lab.started.lock().unwrap(), (0..50).collect::<Vec<u64>>());
}

#[tokio::test]
async fn calls_run_concurrently_up_to_the_per_connection_limit() {
    let (url, lab) = lab_server(Config::default().max_concurrent_calls(2)).await;
    let mut c = TestClient::connect(&url).await;
    let mut ids = Vec::new();
    for _ in 0..4 {
        ids.push(c.start_call("gate.wait", json!(null)).await);
    }
    // Two handlers are waiting at the gate at once: they run concurrently.
    within("two calls running", async {
        loop {
            let changed = lab.changed.notified();
            if lab.running.load(Ordering::SeqCst) == 2 {
                break;
            }
            changed.await;
        }
    })
    .await;
    lab.gate.add_permits(4);
    for id in &ids {
        assert_eq!(c.reply(id).await["type"], "__rpc_res");
    }
    assert_eq!(
        lab.max_running.load(Ordering::SeqCst),
        2,
        "never more than the limit"
    );
}
