//! Live connections, `disconnect`, `on_disconnect`, graceful shutdown,
//! mounting in an axum app, and what the logs show.

use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use zocket::{
    ClientId, Close, Config, Ctx, DisconnectReason, Router, RpcError, Server, ServerHandle,
};
use zocket_tests::{TestClient, serve, serve_app, within};

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Headers {
    name: String,
}

struct Named {
    name: String,
}

type Ended = mpsc::UnboundedReceiver<(String, String, DisconnectReason)>;

fn server() -> (Server<Headers, Named>, Ended) {
    let (tx, rx) = mpsc::unbounded_channel();
    let router = Router::new()
        .call("kick.me", |ctx: Ctx<Named>, _: ()| async move {
            ctx.disconnect(Close::new(4001, "kicked")).await;
            Ok::<_, RpcError>(())
        })
        .call("work", |_: Ctx<Named>, ms: u64| async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok::<_, RpcError>(ms)
        });
    let server = Server::builder(router)
        .on_connect(|h: Arc<Headers>, _: ClientId| async move {
            Ok(Named {
                name: h.name.clone(),
            })
        })
        // Lost connections keep their session only briefly here.
        .config(Config::default().session_retention(Duration::from_millis(100)))
        .on_disconnect(move |conn, reason| {
            let tx = tx.clone();
            async move {
                let _ = tx.send((conn.id().to_string(), conn.context().name.clone(), reason));
            }
        })
        .build()
        .expect("valid");
    (server, rx)
}

async fn ended(rx: &mut Ended) -> (String, String, DisconnectReason) {
    within("on_disconnect", rx.recv())
        .await
        .expect("a disconnect")
}

#[tokio::test]
async fn connections_are_listed_with_their_context() {
    let (server, _rx) = server();
    let (addr, handle) = serve(server).await;
    let ada = TestClient::connect(&format!("ws://{addr}/?name=ada")).await;
    let bob = TestClient::connect(&format!("ws://{addr}/?name=bob")).await;
    let mut listed: Vec<(String, String)> = handle
        .connections()
        .iter()
        .map(|c| (c.id().to_string(), c.context().name.clone()))
        .collect();
    listed.sort_by(|a, b| a.1.cmp(&b.1));
    assert_eq!(
        listed,
        [
            (ada.client_id(), "ada".into()),
            (bob.client_id(), "bob".into())
        ]
    );
    assert_eq!(handle.connection_count(), 2);
    let conn = handle
        .connection(&ClientId::from(ada.client_id()))
        .expect("live");
    assert_eq!(conn.context().name, "ada");
    assert!(!conn.is_closed());
}

#[tokio::test]
async fn disconnect_closes_with_the_application_code_and_reports_the_reason() {
    let (server, mut rx) = server();
    let (addr, handle) = serve(server).await;
    let mut ada = TestClient::connect(&format!("ws://{addr}/?name=ada")).await;
    let id = ClientId::from(ada.client_id());
    let conn = handle.connection(&id).expect("live");
    let closing = tokio::spawn(async move { conn.disconnect(Close::new(4100, "bye")).await });
    let frame = ada.closed().await.expect("a close frame");
    assert_eq!(
        (u16::from(frame.code), frame.reason.as_str()),
        (4100, "bye")
    );
    within("disconnect to resolve", closing).await.unwrap();
    let (who, name, reason) = ended(&mut rx).await;
    assert_eq!((who, name), (id.to_string(), "ada".to_owned()));
    assert_eq!(
        reason,
        DisconnectReason::Disconnected(Close::new(4100, "bye"))
    );
    assert!(handle.connection(&id).is_none());
    assert!(
        !handle.disconnect(&id, Close::reason("again")).await,
        "no such connection any more"
    );

    // From inside a handler of the same connection.
    let mut bob = TestClient::connect(&format!("ws://{addr}/?name=bob")).await;
    bob.start_call("kick.me", json!(null)).await;
    let frame = bob.closed().await.expect("a close frame");
    assert_eq!(u16::from(frame.code), 4001);
    let (_, name, reason) = ended(&mut rx).await;
    assert_eq!(name, "bob");
    assert_eq!(
        reason,
        DisconnectReason::Disconnected(Close::new(4001, "kicked"))
    );
}

#[tokio::test]
async fn a_client_close_reaches_on_disconnect() {
    let (server, mut rx) = server();
    let (addr, _) = serve(server).await;
    let ada = TestClient::connect(&format!("ws://{addr}/?name=ada")).await;
    ada.close().await;
    let (_, name, reason) = ended(&mut rx).await;
    assert_eq!(name, "ada");
    assert!(
        matches!(
            reason,
            DisconnectReason::ClientClosed {
                code: Some(1000),
                ..
            }
        ),
        "{reason:?}"
    );

    // A TCP connection that just goes away.
    let bob = TestClient::connect(&format!("ws://{addr}/?name=bob")).await;
    drop(bob.into_inner());
    let (_, name, reason) = ended(&mut rx).await;
    assert_eq!(name, "bob");
    assert!(
        matches!(reason, DisconnectReason::ClientClosed { code: None, .. }),
        "{reason:?}"
    );
}

#[tokio::test]
async fn shutdown_finishes_calls_then_closes_every_socket_with_1001() {
    let (server, mut rx) = server();
    let (addr, handle) = serve(server).await;
    let mut ada = TestClient::connect(&format!("ws://{addr}/?name=ada")).await;
    let mut bob = TestClient::connect(&format!("ws://{addr}/?name=bob")).await;
    let call = ada.start_call("work", json!(300)).await;
    // The call has started when a later call on the same connection is answered.
    assert_eq!(ada.call_ok("work", json!(0)).await, json!(0));
    let shutdown = tokio::spawn({
        let handle = handle.clone();
        async move { handle.shutdown().await }
    });
    // The in-flight call finishes and its reply arrives before the close.
    let reply = ada.reply(&call).await;
    assert_eq!(reply["payload"], json!(300));
    for client in [&mut ada, &mut bob] {
        let frame = client.closed().await.expect("a close frame");
        assert_eq!(u16::from(frame.code), 1001);
    }
    within("shutdown", shutdown).await.unwrap();
    let mut names = vec![ended(&mut rx).await, ended(&mut rx).await];
    names.sort_by(|a, b| a.1.cmp(&b.1));
    for ((_, name, reason), expected) in names.into_iter().zip(["ada", "bob"]) {
        assert_eq!(
            (name.as_str(), reason),
            (expected, DisconnectReason::Shutdown)
        );
    }
    assert!(handle.is_shutting_down());
    // New connections are refused (the listener is gone or answers 503).
    let refused = tokio_tungstenite::connect_async(format!("ws://{addr}/?name=carl")).await;
    assert!(refused.is_err());
}

#[tokio::test]
async fn mounts_inside_an_axum_app_with_state_and_layers() {
    use axum::extract::State;
    let (server, _rx) = server();
    let handle: ServerHandle<Named> = server.handle();
    #[derive(Clone)]
    struct AppState {
        greeting: &'static str,
    }
    let app = axum::Router::new()
        .route("/ws", server.route())
        .route(
            "/hello",
            axum::routing::get(|State(s): State<AppState>| async move { s.greeting }),
        )
        .with_state(AppState { greeting: "hi" })
        .layer(axum::middleware::map_response(
            |mut res: axum::response::Response| async move {
                res.headers_mut().insert("x-layer", "on".parse().unwrap());
                res
            },
        ));
    let addr = serve_app(app).await;
    let (ws, response) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws?name=ada"))
        .await
        .expect("upgraded");
    assert_eq!(response.headers()["x-layer"], "on");
    assert_eq!(handle.connection_count(), 1);
    drop(ws);
    let (status, body) = zocket_tests::http_get(addr, "/hello").await;
    assert_eq!((status, body.as_str()), (200, "hi"));
    let (status, _) = zocket_tests::http_get(addr, "/ws?name=ada").await;
    assert!(status >= 400, "a plain GET is not upgraded: {status}");
}

#[tokio::test]
async fn logs_name_the_route_and_client_but_never_the_session_id() {
    let logs = zocket_tests::CapturedLogs::global();
    let (server, _rx) = server();
    let (addr, _) = serve(server).await;
    let mut ada = TestClient::connect(&format!("ws://{addr}/?name=ada")).await;
    ada.call_ok("work", json!(1)).await;
    ada.call_ok("work", json!(0)).await;
    let session = ada.ready["sessionId"].as_str().unwrap().to_owned();
    let client = ada.client_id();
    ada.close().await;
    let text = logs.text();
    let mine: Vec<&str> = text.lines().filter(|l| l.contains(&client[..8])).collect();
    let calls: Vec<&&str> = mine
        .iter()
        .filter(|l| l.contains("route=\"work\""))
        .collect();
    assert!(calls.len() >= 2, "one line per call: {mine:#?}");
    for line in calls {
        assert!(
            line.contains("elapsed_us=") && line.contains("outcome=\"ok\""),
            "{line}"
        );
    }
    assert!(mine.iter().any(|l| l.contains("connected")), "{mine:#?}");
    assert!(!text.contains(&session), "the session id leaked: {text}");
    assert!(
        !text.contains(&session[..16]),
        "a long session id prefix leaked: {text}"
    );
}
