//! The chat example's wire surface, exactly as the README and other tools
//! rely on it.

use serde_json::json;
use zocket_tests::{TestClient, http_get, serve_app};

async fn start() -> String {
    let (app, _) = chat::app();
    let addr = serve_app(app).await;
    format!("{addr}")
}

#[tokio::test]
async fn serves_a_page_and_the_generated_client_it_imports() {
    let addr: std::net::SocketAddr = start().await.parse().unwrap();
    let (status, page) = http_get(addr, "/").await;
    assert_eq!(status, 200);
    // The page imports the generated client, and the runtime through an
    // import map: no bundler.
    assert!(page.contains(r#"import { createChatClient } from "/chat.js";"#));
    assert!(page.contains(r#""@zocket/client": "/zocket/index.js""#));
    let (status, client) = http_get(addr, "/chat.js").await;
    assert_eq!(status, 200);
    assert!(client.contains("export function createChatClient("));
    assert!(client.contains(&format!("\"{}\"", chat::Chat::schema_hash())));
    // Every module of the compiled runtime is served beside it, as it is
    // (modules import each other).
    let dist = concat!(env!("CARGO_MANIFEST_DIR"), "/../clients/typescript/dist");
    let mut modules = 0;
    for entry in std::fs::read_dir(dist).expect("the compiled runtime") {
        let path = entry.expect("an entry").path();
        if path.extension().is_some_and(|ext| ext == "js") {
            let file = path
                .file_name()
                .expect("a name")
                .to_string_lossy()
                .into_owned();
            let (status, served) = http_get(addr, &format!("/zocket/{file}")).await;
            assert_eq!(status, 200, "/zocket/{file}");
            let compiled = std::fs::read_to_string(&path).expect("readable");
            assert!(
                served.ends_with(&compiled),
                "/zocket/{file} is the compiled file"
            );
            modules += 1;
        }
    }
    assert!(modules >= 7, "{modules} modules");
}

#[tokio::test]
async fn the_name_header_is_required_and_1_to_32_characters() {
    let addr = start().await;
    for query in ["", "?name=", &format!("?name={}", "n".repeat(33))] {
        let refused = TestClient::try_connect(&format!("ws://{addr}/ws{query}"))
            .await
            .err()
            .expect("refused");
        assert_eq!(refused.status, 400, "{query}");
        assert_eq!(refused.body["error"]["code"], "INVALID_HEADERS");
        assert_eq!(refused.body["error"]["issues"][0]["path"], "name");
    }
    TestClient::connect(&format!("ws://{addr}/ws?name={}", "n".repeat(32))).await;
    // Non-browser clients may send a real header.
    let mut c = TestClient::try_connect_request(&format!("ws://{addr}/ws"), &[("name", "hdr")])
        .await
        .expect("ok");
    assert_eq!(c.call_ok("chat.whoami", json!(null)).await["name"], "hdr");
}

#[tokio::test]
async fn join_send_whoami_leave() {
    let addr = start().await;
    let mut ada = TestClient::connect(&format!("ws://{addr}/ws?name=ada")).await;
    let mut bob = TestClient::connect(&format!("ws://{addr}/ws?name=bob")).await;
    let mut eve = TestClient::connect(&format!("ws://{addr}/ws?name=eve")).await;
    assert_eq!(
        ada.call_ok("chat.join", json!({"room": "general"})).await,
        json!(null)
    );
    assert_eq!(
        bob.call_ok("chat.join", json!({"room": "general"})).await,
        json!(null)
    );

    let who = ada.call_ok("chat.whoami", json!(null)).await;
    assert_eq!(
        who,
        json!({"clientId": ada.client_id(), "name": "ada", "rooms": ["general"]})
    );

    let ack = ada
        .call_ok("chat.send", json!({"room": "general", "text": "hi"}))
        .await;
    let id = ack["id"].as_u64().expect("an id");
    for member in [&mut ada, &mut bob] {
        let mut event = member.next_of("chat.message").await;
        let at = event["payload"]
            .as_object_mut()
            .and_then(|payload| payload.remove("at"));
        assert!(at.is_some_and(|at| at.as_u64().is_some_and(|ms| ms > 1_700_000_000_000)));
        assert_eq!(
            event["payload"],
            json!({"room": "general", "from": "ada", "text": "hi", "id": id})
        );
        assert!(event["seq"].as_u64().is_some());
    }

    let err = eve
        .call_err("chat.send", json!({"room": "general", "text": "let me in"}))
        .await;
    assert_eq!(
        (&err["code"], &err["data"]),
        (&json!("NOT_IN_ROOM"), &json!({"room": "general"}))
    );
    assert_eq!(err["message"], "not in room general");
    for text in [String::new(), "x".repeat(2001)] {
        let err = ada
            .call_err("chat.send", json!({"room": "general", "text": text}))
            .await;
        assert_eq!(
            (err["code"].as_str(), err["path"].as_str()),
            (Some("VALIDATION"), Some("text"))
        );
    }
    let err = ada.call_err("chat.send", json!({"room": "general"})).await;
    assert_eq!(
        (err["code"].as_str(), err["path"].as_str()),
        (Some("VALIDATION"), Some("text"))
    );
    ada.call_ok(
        "chat.send",
        json!({"room": "general", "text": "é".repeat(2000)}),
    )
    .await;

    assert_eq!(
        bob.call_ok("chat.leave", json!({"room": "general"})).await,
        json!(null)
    );
    assert_eq!(
        bob.call_ok("chat.whoami", json!(null)).await["rooms"],
        json!([])
    );
    let err = bob
        .call_err("chat.send", json!({"room": "general", "text": "hi"}))
        .await;
    assert_eq!(err["code"], "NOT_IN_ROOM");
}

#[tokio::test]
async fn every_member_sees_messages_in_the_order_sends_were_accepted() {
    let addr = start().await;
    let mut senders = Vec::new();
    for name in ["ada", "bob", "cy"] {
        let mut c = TestClient::connect(&format!("ws://{addr}/ws?name={name}")).await;
        c.call_ok("chat.join", json!({"room": "r"})).await;
        senders.push(c);
    }
    let mut watcher = TestClient::connect(&format!("ws://{addr}/ws?name=watch")).await;
    watcher.call_ok("chat.join", json!({"room": "r"})).await;

    // Each sender pipelines its sends; the three run at once.
    let tasks: Vec<_> = senders
        .into_iter()
        .map(|mut c| {
            tokio::spawn(async move {
                let mut ids = Vec::new();
                for n in 0..30 {
                    ids.push(
                        c.start_call("chat.send", json!({"room": "r", "text": n.to_string()}))
                            .await,
                    );
                }
                let mut acked = Vec::new();
                for id in ids {
                    acked.push(c.reply(&id).await["payload"]["id"].as_u64().unwrap());
                }
                let mut seen = Vec::new();
                while seen.len() < 90 {
                    seen.push(
                        c.next_of("chat.message").await["payload"]["id"]
                            .as_u64()
                            .unwrap(),
                    );
                }
                (acked, seen)
            })
        })
        .collect();
    let mut watched = Vec::new();
    while watched.len() < 90 {
        let event = watcher.next_of("chat.message").await;
        watched.push((
            event["payload"]["id"].as_u64().unwrap(),
            event["payload"]["from"].clone(),
            event["payload"]["text"].clone(),
        ));
    }
    let ids: Vec<u64> = watched.iter().map(|w| w.0).collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "ids arrive in acceptance order: {ids:?}"
    );
    for name in ["ada", "bob", "cy"] {
        let texts: Vec<String> = watched
            .iter()
            .filter(|w| w.1 == name)
            .map(|w| w.2.as_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            texts,
            (0..30).map(|n| n.to_string()).collect::<Vec<_>>(),
            "{name}'s messages keep their order"
        );
    }
    for task in tasks {
        let (acked, seen) = task.await.unwrap();
        assert!(acked.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(
            seen, ids,
            "every member sees the same order, the sender included"
        );
    }
}

#[tokio::test]
async fn a_session_resumes_only_under_the_name_it_was_opened_with() {
    let addr = start().await;
    let ada = TestClient::connect(&format!("ws://{addr}/ws?name=ada")).await;
    let session = ada.ready["sessionId"].as_str().expect("session").to_owned();
    let client_id = ada.client_id();
    drop(ada.into_inner());
    // Another name with ada's session id: closed with 4403, no `__ready`.
    let (code, _) = zocket_tests::first_close(
        &format!("ws://{addr}/ws?name=eve"),
        &[("x-zocket-session", session.as_str())],
    )
    .await;
    assert_eq!(code, 4403);
    // ada herself gets her session back.
    let back = TestClient::try_connect_request(
        &format!("ws://{addr}/ws?name=ada"),
        &[("x-zocket-session", session.as_str())],
    )
    .await
    .expect("resumed");
    assert_eq!(back.ready["recovered"], true);
    assert_eq!(back.client_id(), client_id);
}
