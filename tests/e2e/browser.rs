//! What browser clients rely on beyond plain frames: header fields in a
//! subprotocol entry (never in the URL), refusals a browser can read from
//! a close frame, the application-level ping, and a page reload (`1001`)
//! that keeps the session.

use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use zocket_tests::{TestClient, first_close, serve_app, within};

async fn start() -> String {
    let (app, _) = chat::app();
    format!("ws://{}/ws", serve_app(app).await)
}

/// The subprotocol list a browser client offers.
fn protocols(headers: serde_json::Value, extra: &[&str]) -> String {
    let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(headers.to_string());
    let mut list = vec!["zocket.v1".to_owned(), format!("zocket.headers.{encoded}")];
    list.extend(extra.iter().map(|e| (*e).to_owned()));
    list.join(", ")
}

#[tokio::test]
async fn header_fields_come_from_a_subprotocol_entry_and_only_zocket_v1_is_echoed() {
    let url = start().await;
    let offered = protocols(json!({"name": "ada"}), &[]);
    let mut request = url.as_str().into_client_request().unwrap();
    request
        .headers_mut()
        .insert("sec-websocket-protocol", offered.parse().unwrap());
    let (ws, response) = within("the handshake", tokio_tungstenite::connect_async(request))
        .await
        .expect("upgraded");
    assert_eq!(response.headers()["sec-websocket-protocol"], "zocket.v1");
    drop(ws);
    let mut ada = TestClient::try_connect_request(&url, &[("sec-websocket-protocol", &offered)])
        .await
        .expect("accepted");
    assert_eq!(ada.call_ok("chat.whoami", json!(null)).await["name"], "ada");
}

/// Offers `protocols` and returns the first frame, which must be a close.
async fn refused_with(url: &str, protocols: &str) -> (u16, String) {
    first_close(url, &[("sec-websocket-protocol", protocols)]).await
}

#[tokio::test]
async fn a_client_that_asks_reads_the_refusal_from_a_close_frame() {
    let url = start().await;
    let too_long = json!({"name": "n".repeat(33)});
    let (code, reason) =
        refused_with(&url, &protocols(too_long.clone(), &["zocket.refusals"])).await;
    assert_eq!(code, 4400);
    assert!(
        reason.starts_with("INVALID_HEADERS: invalid headers: name: "),
        "{reason}"
    );
    assert!(reason.len() <= 123);
    let (code, reason) = refused_with(&url, "zocket.v1, zocket.refusals").await;
    assert_eq!(
        (code, reason.as_str()),
        (
            4400,
            "INVALID_HEADERS: invalid headers: name: missing required field"
        )
    );
    // Without asking, the refusal stays a plain HTTP 400 with its body.
    let refused = TestClient::try_connect_request(
        &url,
        &[("sec-websocket-protocol", &protocols(too_long, &[]))],
    )
    .await
    .err()
    .expect("refused");
    assert_eq!(refused.status, 400);
    assert_eq!(refused.body["error"]["issues"][0]["path"], "name");
}

#[tokio::test]
async fn a_ping_frame_gets_a_pong_frame() {
    let url = start().await;
    let mut ada = TestClient::connect(&format!("{url}?name=ada")).await;
    ada.send_json(json!({"type": "__ping"})).await;
    assert_eq!(ada.next_frame().await, json!({"type": "__pong"}));
    // The connection goes on.
    assert_eq!(ada.call_ok("chat.whoami", json!(null)).await["name"], "ada");
}

/// Opens `chat` as `name`, joins `room`, and returns the client with its
/// session id.
async fn member(url: &str, name: &str, room: &str) -> (TestClient, String) {
    let mut client = TestClient::connect(&format!("{url}?name={name}")).await;
    client.call_ok("chat.join", json!({"room": room})).await;
    let session = client.ready["sessionId"].as_str().unwrap().to_owned();
    (client, session)
}

async fn close_with(client: TestClient, code: u16) {
    let mut ws = client.into_inner();
    ws.send(Message::Close(Some(CloseFrame {
        code: CloseCode::from(code),
        reason: "".into(),
    })))
    .await
    .expect("close sent");
    // Read to the end: the server's close reply.
    while let Ok(Some(Ok(_))) =
        tokio::time::timeout(std::time::Duration::from_secs(5), ws.next()).await
    {}
}

#[tokio::test]
async fn a_page_reload_1001_keeps_the_session_and_a_close_1000_ends_it() {
    let url = start().await;
    let (ada, session) = member(&url, "ada", "general").await;
    let id = ada.client_id();
    close_with(ada, 1001).await;
    let resume = format!("zocket.v1, zocket.session.{session}, zocket.last-seq.0");
    let mut again = TestClient::try_connect_request(
        &format!("{url}?name=ada"),
        &[("sec-websocket-protocol", &resume)],
    )
    .await
    .expect("accepted");
    assert_eq!(again.ready["recovered"], true, "{}", again.ready);
    // The session remembers the ids of its calls: a new process uses new ones.
    again.set_rpc_prefix("second");
    assert_eq!(again.client_id(), id);
    assert_eq!(
        again.call_ok("chat.whoami", json!(null)).await["rooms"],
        json!(["general"])
    );

    close_with(again, 1000).await;
    let fresh = TestClient::try_connect_request(
        &format!("{url}?name=ada"),
        &[("sec-websocket-protocol", &resume)],
    )
    .await
    .expect("accepted");
    assert_eq!(fresh.ready["recovered"], false);
    assert_ne!(fresh.client_id(), id);
}
