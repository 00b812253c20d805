//! Secrets stay out of URLs: a whole session of the Rust client, with a
//! token in its headers and a resume after a network cut, leaves neither
//! the token nor the session id in a `tower_http` access log.

use futures_util::StreamExt;
use std::collections::BTreeMap;
use std::sync::Arc;
use zocket::{Ctx, Router, RpcError, Server};
use zocket_client::{Client, State};
use zocket_tests::proxy::Proxy;
use zocket_tests::{CapturedLogs, within};

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Auth {
    authorization: String,
    name: String,
}

#[tokio::test]
async fn an_access_log_of_a_session_with_a_resume_shows_no_secret() {
    let logs = CapturedLogs::global();
    let server = Server::<Auth, String>::builder(
        Router::new().call("whoami", |ctx: Ctx<String>, (): ()| async move {
            Ok::<_, RpcError>(ctx.context().clone())
        }),
    )
    .on_connect(|auth: Arc<Auth>, _| async move {
        if auth.authorization == "Bearer s3cret-t0ken-4711" {
            Ok(auth.name.clone())
        } else {
            Err(zocket::Close::new(4401, "bad token"))
        }
    })
    .build()
    .expect("valid");
    let app = axum::Router::new()
        .route("/ws", server.route())
        .layer(tower_http::trace::TraceLayer::new_for_http());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = server.handle();
    tokio::spawn(server.serve_app(listener, app));
    let proxy = Proxy::start(addr).await;

    let headers = BTreeMap::from([
        ("authorization", "Bearer s3cret-t0ken-4711"),
        ("name", "ada"),
    ]);
    let client = Client::builder()
        .connect(&format!("ws://{}/ws", proxy.addr()), &headers)
        .await
        .expect("connected");
    let session = client.current_session_id();
    let mut states = client.state_changes();
    assert!(matches!(states.next().await, Some(State::Connected { .. })));
    assert_eq!(
        client.call::<_, String>("whoami", &()).await.unwrap(),
        "ada"
    );
    proxy.cut();
    within("the resume", async {
        loop {
            match states.next().await {
                Some(State::Connected { recovered }) => return assert!(recovered, "resumed"),
                Some(State::Failed { error }) => panic!("{error}"),
                _ => {}
            }
        }
    })
    .await;
    assert_eq!(client.current_session_id(), session);
    assert_eq!(
        client.call::<_, String>("whoami", &()).await.unwrap(),
        "ada"
    );
    client.close().await;
    within("the session's end", async {
        while handle.connection_count() > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    })
    .await;

    // A refused handshake is logged with its reason and the fields at
    // fault, never their values.
    let bad = BTreeMap::from([("authorization", "Bearer s3cret-t0ken-4711")]);
    let refused = Client::builder()
        .reconnect(false)
        .connect(&format!("ws://{addr}/ws"), &bad)
        .await
        .expect_err("no name");
    assert_eq!(refused.refusal().map(|r| r.status), Some(400));

    let text = logs.text();
    let refusals: Vec<&str> = text
        .lines()
        .filter(|line| line.contains("handshake refused") && line.contains("invalid_headers"))
        .collect();
    assert!(!refusals.is_empty(), "the refusal is logged");
    for line in &refusals {
        assert!(line.contains("\"name\""), "the field at fault: {line}");
        assert!(
            !line.contains("s3cret"),
            "a header value in the log: {line}"
        );
    }
    let access: Vec<&str> = text
        .lines()
        .filter(|line| line.contains("tower_http"))
        .collect();
    let ours: Vec<&&str> = access
        .iter()
        .filter(|line| line.contains("uri=/ws"))
        .collect();
    assert!(
        ours.len() >= 4,
        "two requests logged, start and end each: {access:#?}"
    );
    for line in ours {
        assert!(
            !line.contains(&session),
            "the session id is in the access log: {line}"
        );
        assert!(
            !line.contains(&session[..12]),
            "part of the session id: {line}"
        );
        assert!(
            !line.contains("s3cret"),
            "the token is in the access log: {line}"
        );
        assert!(
            !line.contains("ada"),
            "a header value is in the access log: {line}"
        );
        assert!(!line.contains('?'), "a query string: {line}");
    }
}

#[tokio::test]
async fn a_browser_resumes_with_subprotocol_entries_and_only_the_protocol_name_is_echoed() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let server = Server::<zocket::NoHeaders, ()>::builder(
        Router::new().call("ping", |_: Ctx<()>, (): ()| async move {
            Ok::<_, RpcError>("pong")
        }),
    )
    .on_connect(|_, _| async { Ok(()) })
    .build()
    .expect("valid");
    let (addr, handle) = zocket_tests::serve(server).await;
    let first = zocket_tests::TestClient::connect(&format!("ws://{addr}/")).await;
    let session = first.ready["sessionId"].as_str().unwrap().to_owned();
    let client_id = first.client_id();
    drop(first.into_inner());
    zocket_tests::until_no_live_connection(&handle).await;
    // What `new WebSocket(url, ["zocket.v1", "zocket.session.<id>",
    // "zocket.last-seq.0"])` sends.
    let mut request = format!("ws://{addr}/").into_client_request().unwrap();
    let protocols = format!("zocket.v1, zocket.session.{session}, zocket.last-seq.0");
    request
        .headers_mut()
        .insert("sec-websocket-protocol", protocols.parse().unwrap());
    let (mut socket, response) = tokio_tungstenite::connect_async(request)
        .await
        .expect("upgraded");
    assert_eq!(
        response.headers()["sec-websocket-protocol"],
        "zocket.v1",
        "only the protocol's name comes back"
    );
    let ready = match within("__ready", socket.next()).await {
        Some(Ok(tokio_tungstenite::tungstenite::Message::Text(text))) => {
            serde_json::from_str::<serde_json::Value>(&text).unwrap()
        }
        other => panic!("{other:?}"),
    };
    assert_eq!(ready["payload"]["recovered"], true);
    assert_eq!(ready["payload"]["clientId"], client_id.as_str());
}
