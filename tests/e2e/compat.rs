//! Frames exactly as the TypeScript Zocket v1 client sends them, against
//! the macro-generated chat server: a browser needs no zocket code.

use serde_json::json;
use zocket_tests::{TestClient, serve_app};

#[tokio::test]
async fn the_typescript_client_frames_work_unchanged() {
    let (app, _) = chat::app();
    let addr = serve_app(app).await;
    // `x-zocket-version` comes first in the query; unknown parameters are ignored.
    let mut c =
        TestClient::connect(&format!("ws://{addr}/ws?x-zocket-version=0.1.0&name=ada")).await;
    assert_eq!(c.ready["protocolVersion"], 1);

    // Every call carries an rpcId; a payload of `undefined` is omitted.
    c.send_text(r#"{"type":"chat.whoami","rpcId":"a1"}"#).await;
    let reply = c.next_frame().await;
    assert_eq!(reply["type"], "__rpc_res");
    assert_eq!(reply["rpcId"], "a1");
    assert_eq!(reply["payload"]["name"], "ada");
    assert!(reply.get("seq").is_none(), "replies carry no seq");

    c.send_text(r#"{"type":"chat.join","payload":{"room":"lobby"},"rpcId":"a2"}"#)
        .await;
    assert_eq!(
        c.next_frame().await,
        json!({"type":"__rpc_res","rpcId":"a2","payload":null})
    );

    c.send_text(r#"{"type":"chat.send","payload":{"room":"lobby","text":"hi"},"rpcId":"a3"}"#)
        .await;
    let reply = c.reply("a3").await;
    let id = reply["payload"]["id"].clone();
    // The TS client hands every non-reply frame's payload to listeners by `type`.
    let mut event = c.next_of("chat.message").await;
    let at = event["payload"]
        .as_object_mut()
        .and_then(|payload| payload.remove("at"));
    assert!(at.is_some_and(|at| at.is_u64()), "a time in milliseconds");
    assert_eq!(
        event["payload"],
        json!({"room":"lobby","from":"ada","text":"hi","id":id})
    );
    assert_eq!(event["seq"], 1);

    // Errors use `__rpc_err`, which that client ignores (it times out); zocket's
    // own clients read them.
    c.send_text(r#"{"type":"chat.sned","payload":{},"rpcId":"a4"}"#)
        .await;
    let reply = c.reply("a4").await;
    assert_eq!(
        (reply["type"].as_str(), reply["error"]["code"].as_str()),
        (Some("__rpc_err"), Some("NOT_FOUND"))
    );
}
