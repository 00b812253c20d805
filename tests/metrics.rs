//! The chat example's `/metrics`, scraped after a scripted session: every
//! count is what the session did. A test binary of its own, since a
//! metrics recorder is global to the process.

use serde_json::json;
use std::collections::BTreeMap;
use zocket_tests::{TestClient, http_get};

/// `name{labels} value` lines, keyed by name and sorted labels.
fn parse(text: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let key = match series.split_once('{') {
            Some((name, labels)) => {
                let mut labels: Vec<&str> = labels.trim_end_matches('}').split(',').collect();
                labels.sort_unstable();
                format!("{name}{{{}}}", labels.join(","))
            }
            None => series.to_owned(),
        };
        out.insert(key, value.parse().unwrap_or(f64::NAN));
    }
    out
}

#[tokio::test]
async fn metrics_count_what_a_session_did() {
    let metrics = chat::install_metrics().expect("the only recorder");
    let server = chat::server();
    let app = chat::routes_with_metrics(&server, metrics);
    let handle = server.handle();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(server.serve_app(listener, app));

    let mut ada = TestClient::connect(&format!("ws://{addr}/ws?name=ada")).await;
    let mut bob = TestClient::connect(&format!("ws://{addr}/ws?name=bob")).await;
    assert!(
        TestClient::try_connect(&format!("ws://{addr}/ws"))
            .await
            .is_err(),
        "no name"
    );
    for client in [&mut ada, &mut bob] {
        client
            .call_ok("chat.join", json!({"room": "general"}))
            .await;
    }
    for n in 0..3 {
        ada.call_ok(
            "chat.send",
            json!({"room": "general", "text": format!("hi {n}")}),
        )
        .await;
    }
    let err = bob
        .call_err("chat.send", json!({"room": "random", "text": "hi"}))
        .await;
    assert_eq!(err["code"], "NOT_IN_ROOM");
    ada.send_json(json!({"type": "chat.nope", "payload": null}))
        .await;
    ada.next_of("__error").await;

    let (status, text) = http_get(addr, "/metrics").await;
    assert_eq!(status, 200);
    let m = parse(&text);
    let get = |key: &str| {
        m.get(key)
            .copied()
            .unwrap_or_else(|| panic!("no {key} in:\n{text}"))
    };
    assert_eq!(get("zocket_connections_total"), 2.0);
    assert_eq!(get("zocket_connections"), 2.0);
    assert_eq!(
        get(r#"zocket_handshakes_refused_total{reason="invalid_headers"}"#),
        1.0
    );
    assert_eq!(
        get(r#"zocket_calls_total{outcome="ok",route="chat.join"}"#),
        2.0
    );
    assert_eq!(
        get(r#"zocket_calls_total{outcome="ok",route="chat.send"}"#),
        3.0
    );
    assert_eq!(
        get(r#"zocket_calls_total{outcome="NOT_IN_ROOM",route="chat.send"}"#),
        1.0
    );
    assert_eq!(
        get(r#"zocket_call_duration_seconds_count{route="chat.send"}"#),
        4.0
    );
    assert_eq!(
        get("zocket_events_sent_total"),
        6.0,
        "3 messages to 2 members"
    );
    assert_eq!(get("zocket_sessions_retained"), 0.0);
    // The byte gauges are the server's own accounting at the scrape.
    let memory = handle.memory();
    assert_eq!(get("zocket_history_bytes"), memory.history_bytes as f64);
    assert!(memory.history_bytes > 0, "six events kept for recovery");
    assert_eq!(get("zocket_reply_bytes"), memory.reply_bytes as f64);

    // A dropped connection: one fewer live, one session retained.
    drop(bob.into_inner());
    zocket_tests::within("bob's connection to end", async {
        loop {
            let (_, text) = http_get(addr, "/metrics").await;
            let m = parse(&text);
            if m.get("zocket_connections") == Some(&1.0)
                && m.get("zocket_sessions_retained") == Some(&1.0)
            {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await;
}
