//! What a route input's schema declares is what the server accepts:
//! lengths, ranges, patterns and item counts are checked before the
//! handler runs, with the field's path.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use zocket::{NoHeaders, Router, RpcError, Server};
use zocket_tests::{TestClient, serve_in_memory};

#[derive(Deserialize, JsonSchema)]
#[allow(dead_code)]
struct Line {
    #[schemars(range(max = 10))]
    qty: u32,
}

#[derive(Deserialize, JsonSchema)]
#[allow(dead_code)]
struct Order {
    #[schemars(length(max = 3))]
    code: String,
    #[schemars(regex(pattern = r"^[a-z]+$"))]
    slug: Option<String>,
    #[schemars(length(min = 1, max = 2))]
    lines: Vec<Line>,
}

#[tokio::test]
async fn declared_constraints_are_enforced_with_the_field_path() {
    let ran = Arc::new(AtomicUsize::new(0));
    let count = ran.clone();
    let router = Router::new().call("shop.order", move |_ctx, _order: Order| {
        let count = count.clone();
        async move {
            count.fetch_add(1, Ordering::SeqCst);
            Ok::<_, RpcError>(())
        }
    });
    let server: Server<NoHeaders, ()> = Server::builder(router)
        .on_connect(|_h: Arc<NoHeaders>, _id| async { Ok(()) })
        .build()
        .expect("valid");
    let (addr, _) = serve_in_memory(server);
    let mut c = TestClient::connect(&format!("ws://{addr}/")).await;
    let ok = json!({"code": "abc", "slug": "ok", "lines": [{"qty": 10}]});
    c.call_ok("shop.order", ok).await;
    for (payload, path) in [
        (json!({"code": "toolong", "lines": [{"qty": 1}]}), "code"),
        (
            json!({"code": "a", "lines": [{"qty": 1}, {"qty": 1000}]}),
            "lines[1].qty",
        ),
        (
            json!({"code": "a", "slug": "Not ok", "lines": [{"qty": 1}]}),
            "slug",
        ),
        (json!({"code": "a", "lines": []}), "lines"),
    ] {
        let err = c.call_err("shop.order", payload.clone()).await;
        assert_eq!(
            (err["code"].as_str(), err["path"].as_str()),
            (Some("VALIDATION"), Some(path)),
            "{payload}: {err}"
        );
        assert!(err["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    // The type's own rules still come first, with their path.
    let err = c
        .call_err("shop.order", json!({"code": 7, "lines": []}))
        .await;
    assert_eq!(err["path"], "code");
    assert_eq!(ran.load(Ordering::SeqCst), 1, "only the valid order ran");
}
