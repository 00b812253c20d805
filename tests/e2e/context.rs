//! Per-connection state without `on_connect`: every connection starts
//! from a clone of one value, and handlers change it with `ctx.update`,
//! safely under concurrent calls of one connection.

use serde_json::json;
use std::sync::Mutex;
use zocket::{Ctx, RpcError};
use zocket_tests::{TestClient, serve_in_memory};

#[derive(Clone, Default)]
struct Tally {
    count: u32,
    last: Option<String>,
}

#[zocket::router(namespace = "tally")]
trait Counter {
    /// Adds one and returns the new count.
    async fn bump(label: String) -> Result<u32, RpcError>;
    /// The count and the last label.
    async fn read() -> (u32, Option<String>);
}

struct App;

impl CounterServer<Mutex<Tally>> for App {
    async fn bump(&self, ctx: Ctx<Mutex<Tally>>, label: String) -> Result<u32, RpcError> {
        // Yield between reading and writing: concurrent calls interleave.
        tokio::task::yield_now().await;
        Ok(ctx.update(|tally| {
            tally.count += 1;
            tally.last = Some(label);
            tally.count
        }))
    }

    async fn read(&self, ctx: Ctx<Mutex<Tally>>) -> (u32, Option<String>) {
        ctx.update(|tally| (tally.count, tally.last.clone()))
    }
}

#[tokio::test]
async fn each_connection_starts_from_the_default_and_concurrent_updates_all_count() {
    let server = Counter::server_with_context(App, Tally::default())
        .build()
        .expect("valid without on_connect");
    let (addr, _) = serve_in_memory(server);
    let url = format!("ws://{addr}/");
    let mut ada = TestClient::connect(&url).await;
    // 50 calls in flight at once on one connection.
    let mut ids = Vec::new();
    for n in 0..50 {
        ids.push(ada.start_call("tally.bump", json!(format!("b{n}"))).await);
    }
    let mut counts = Vec::new();
    for id in &ids {
        counts.push(ada.reply(id).await["payload"].as_u64().expect("a count"));
    }
    counts.sort_unstable();
    assert_eq!(counts, (1..=50).collect::<Vec<u64>>(), "no update lost");
    assert_eq!(ada.call_ok("tally.read", json!(null)).await[0], 50);
    // Another connection has its own state, from the default.
    let mut bob = TestClient::connect(&url).await;
    assert_eq!(
        bob.call_ok("tally.read", json!(null)).await,
        json!([0, null])
    );
    bob.call_ok("tally.bump", json!("x")).await;
    assert_eq!(
        bob.call_ok("tally.read", json!(null)).await,
        json!([1, "x"])
    );
    assert_eq!(ada.call_ok("tally.read", json!(null)).await[0], 50);
}
