//! Session recovery on the server: retention, replay of missed events,
//! exactly-once calls across a reconnect, `replaced`, expiry, and which
//! hooks run when.

use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::{Semaphore, mpsc};
use zocket::{
    ClientId, Config, Ctx, DisconnectReason, Event, Router, RpcError, Server, ServerHandle,
};
use zocket_tests::{TestClient, serve, within};

const NOTE: Event<Value> = Event::new("note");

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Headers {
    name: String,
}

struct Probe {
    connects: AtomicUsize,
    executed: AtomicUsize,
    gate: Semaphore,
}

impl Default for Probe {
    fn default() -> Self {
        Self {
            connects: AtomicUsize::new(0),
            executed: AtomicUsize::new(0),
            gate: Semaphore::new(0),
        }
    }
}

enum Hook {
    Lost(String),
    Ended(String, DisconnectReason),
}

struct Lab {
    url: String,
    handle: ServerHandle<String>,
    probe: Arc<Probe>,
    hooks: mpsc::UnboundedReceiver<Hook>,
}

async fn lab(config: Config) -> Lab {
    let probe = Arc::new(Probe::default());
    let (tx, hooks) = mpsc::unbounded_channel();
    let p = probe.clone();
    let router = Router::new()
        .call("join", |ctx: Ctx<String>, room: String| async move {
            ctx.join(&room)
        })
        .call("rooms", |ctx: Ctx<String>, _: ()| async move {
            Ok::<_, RpcError>(ctx.current())
        })
        .call("name", |ctx: Ctx<String>, _: ()| async move {
            Ok::<_, RpcError>(ctx.context().clone())
        })
        .call("gated", move |_: Ctx<String>, n: u32| {
            let probe = p.clone();
            async move {
                probe.executed.fetch_add(1, Ordering::SeqCst);
                probe.gate.acquire().await.expect("open").forget();
                Ok::<_, RpcError>(n * 2)
            }
        });
    let (p, lost, ended) = (probe.clone(), tx.clone(), tx);
    let server = Server::builder(router)
        .on_connect(move |h: Arc<Headers>, _: ClientId| {
            p.connects.fetch_add(1, Ordering::SeqCst);
            let name = h.name.clone();
            async move {
                if name == "refused" {
                    return Err(zocket::Close::new(4001, "refused"));
                }
                Ok(name)
            }
        })
        .on_before_connect(|h: Arc<Headers>| async move {
            if h.name == "banned" {
                Err(zocket::Reject::forbidden("banned"))
            } else {
                Ok(())
            }
        })
        .on_connection_lost(move |conn| {
            let tx = lost.clone();
            async move {
                let _ = tx.send(Hook::Lost(conn.id().to_string()));
            }
        })
        .on_disconnect(move |conn, reason| {
            let tx = ended.clone();
            async move {
                let _ = tx.send(Hook::Ended(conn.id().to_string(), reason));
            }
        })
        .config(config)
        .build()
        .expect("valid");
    let (addr, handle) = serve(server).await;
    Lab {
        url: format!("ws://{addr}/"),
        handle,
        probe,
        hooks,
    }
}

impl Lab {
    async fn hook(&mut self) -> Hook {
        within("a hook", self.hooks.recv())
            .await
            .expect("hooks open")
    }

    /// Waits until the client's connection is gone but its session kept.
    async fn lost(&mut self, id: &str) {
        match self.hook().await {
            Hook::Lost(lost) => assert_eq!(lost, id),
            Hook::Ended(ended, reason) => {
                panic!("session {ended} ended ({reason}) instead of being kept")
            }
        }
    }
}

fn resume_url(url: &str, name: &str, session: &str, last_seq: u64) -> String {
    format!("{url}?name={name}&sessionId={session}&lastSeq={last_seq}")
}

#[tokio::test]
async fn a_resumed_session_gets_its_id_rooms_context_and_every_missed_event_once() {
    let mut lab = lab(Config::default()).await;
    let mut c = TestClient::connect(&format!("{}?name=ada", lab.url)).await;
    let (id, session) = (
        c.client_id(),
        c.ready["sessionId"].as_str().unwrap().to_owned(),
    );
    c.call_ok("join", json!("r")).await;
    for n in 1..=3 {
        lab.handle.emit(NOTE, &json!(n)).to_room("r").unwrap();
    }
    for n in 1..=3u64 {
        assert_eq!(c.next_of("note").await["seq"], n);
    }
    drop(c.into_inner());
    lab.lost(&id).await;
    // Events sent while the client is away are kept for it.
    for n in 4..=6 {
        lab.handle.emit(NOTE, &json!(n)).to_room("r").unwrap();
    }
    // The client saw up to seq 2 (say seq 3 was lost in flight).
    let mut c = TestClient::connect(&resume_url(&lab.url, "ada", &session, 2)).await;
    assert_eq!(c.ready["recovered"], true);
    assert_eq!(c.client_id(), id);
    assert_eq!(c.ready["sessionId"], session.as_str());
    // Seq 3 to 6 in order, exactly once, then only new events.
    lab.handle.emit(NOTE, &json!(7)).to_room("r").unwrap();
    for n in 3..=7u64 {
        let event = c.next_frame().await;
        assert_eq!(
            (
                event["type"].as_str(),
                event["seq"].as_u64(),
                event["payload"].as_u64()
            ),
            (Some("note"), Some(n), Some(n))
        );
    }
    // A client resuming in another process must not reuse rpcIds.
    c.set_rpc_prefix("second-");
    assert_eq!(c.call_ok("rooms", json!(null)).await, json!(["r"]));
    assert_eq!(c.call_ok("name", json!(null)).await, json!("ada"));
    assert_eq!(
        lab.probe.connects.load(Ordering::SeqCst),
        1,
        "on_connect ran once: the context came back"
    );
}

#[tokio::test]
async fn a_call_resent_after_a_reconnect_runs_once() {
    let mut lab = lab(Config::default()).await;
    let mut c = TestClient::connect(&format!("{}?name=ada", lab.url)).await;
    let (id, session) = (
        c.client_id(),
        c.ready["sessionId"].as_str().unwrap().to_owned(),
    );
    // Two calls in flight when the connection drops.
    c.send_json(json!({"type":"gated","payload":1,"rpcId":"a"}))
        .await;
    c.send_json(json!({"type":"gated","payload":2,"rpcId":"b"}))
        .await;
    within("both calls to start", async {
        while lab.probe.executed.load(Ordering::SeqCst) < 2 {
            tokio::task::yield_now().await;
        }
    })
    .await;
    drop(c.into_inner());
    lab.lost(&id).await;
    // `a` finishes while the client is away; `b` is still running when it is back.
    lab.probe.gate.add_permits(1);
    let mut c = TestClient::connect(&resume_url(&lab.url, "ada", &session, 0)).await;
    assert_eq!(c.ready["recovered"], true);
    c.send_json(json!({"type":"gated","payload":1,"rpcId":"a"}))
        .await;
    c.send_json(json!({"type":"gated","payload":2,"rpcId":"b"}))
        .await;
    let first = c.reply("a").await;
    assert_eq!(first["payload"], 2);
    lab.probe.gate.add_permits(1);
    assert_eq!(c.reply("b").await["payload"], 4);
    assert_eq!(
        lab.probe.executed.load(Ordering::SeqCst),
        2,
        "each call ran once"
    );
    // An id reused on the same connection is a new call.
    lab.probe.gate.add_permits(1);
    c.send_json(json!({"type":"gated","payload":5,"rpcId":"a"}))
        .await;
    assert_eq!(c.reply("a").await["payload"], 10);
    assert_eq!(lab.probe.executed.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_second_connection_replaces_the_first() {
    let lab = lab(Config::default()).await;
    let mut first = TestClient::connect(&format!("{}?name=ada", lab.url)).await;
    let session = first.ready["sessionId"].as_str().unwrap().to_owned();
    let mut second = TestClient::connect(&resume_url(&lab.url, "ada", &session, 0)).await;
    second.set_rpc_prefix("second-");
    assert_eq!(second.ready["recovered"], true);
    assert_eq!(second.client_id(), first.client_id());
    let close = first.closed().await.expect("a close frame");
    assert_eq!(
        (u16::from(close.code), close.reason.as_str()),
        (1008, "replaced")
    );
    assert_eq!(second.call_ok("name", json!(null)).await, json!("ada"));
    assert_eq!(lab.handle.connection_count(), 1);
}

#[tokio::test]
async fn unknown_expired_or_too_old_sessions_start_fresh() {
    let config = Config::default()
        .session_retention(Duration::from_millis(100))
        .session_history(2);
    let mut lab = lab(config).await;
    // Unknown: fresh, never an error.
    let c = TestClient::connect(&resume_url(
        &lab.url,
        "ada",
        "0123456789abcdef0123456789abcdef",
        4,
    ))
    .await;
    assert_eq!(c.ready["recovered"], false);

    // Too many events missed for the history: fresh.
    let mut c = TestClient::connect(&format!("{}?name=bob", lab.url)).await;
    let (id, session) = (
        c.client_id(),
        c.ready["sessionId"].as_str().unwrap().to_owned(),
    );
    c.call_ok("join", json!("r")).await;
    drop(c.into_inner());
    lab.lost(&id).await;
    for n in 1..=3 {
        lab.handle.emit(NOTE, &json!(n)).to_room("r").unwrap();
    }
    let fresh = TestClient::connect(&resume_url(&lab.url, "bob", &session, 0)).await;
    assert_eq!(fresh.ready["recovered"], false);
    assert_ne!(fresh.client_id(), id);

    // Expired: on_disconnect runs with the original reason, then a resume is fresh.
    match lab.hook().await {
        Hook::Ended(ended, reason) => {
            assert_eq!(ended, id);
            assert!(reason.is_transient(), "{reason}");
        }
        Hook::Lost(_) => panic!("expected the session to end"),
    }
    let c = TestClient::connect(&resume_url(&lab.url, "bob", &session, 0)).await;
    assert_eq!(c.ready["recovered"], false);
    drop(fresh);
}

#[tokio::test]
async fn a_resume_passes_validation_and_on_before_connect_again() {
    let mut lab = lab(Config::default()).await;
    let c = TestClient::connect(&format!("{}?name=ada", lab.url)).await;
    let (id, session) = (
        c.client_id(),
        c.ready["sessionId"].as_str().unwrap().to_owned(),
    );
    drop(c.into_inner());
    lab.lost(&id).await;
    let refused = TestClient::try_connect(&format!("{}?sessionId={session}&lastSeq=0", lab.url))
        .await
        .err()
        .expect("refused");
    assert_eq!(refused.status, 400);
    let refused = TestClient::try_connect(&resume_url(&lab.url, "banned", &session, 0))
        .await
        .err()
        .expect("refused");
    assert_eq!(refused.status, 403);
    let c = TestClient::connect(&resume_url(&lab.url, "ada", &session, 0)).await;
    assert_eq!(c.ready["recovered"], true);
}

#[tokio::test]
async fn on_disconnect_runs_when_the_session_ends_not_at_each_drop() {
    // A short close timeout: at shutdown, a client that reads nothing does
    // not hold the test up.
    let mut lab = lab(Config::default().close_timeout(Duration::from_millis(200))).await;
    // A clean close ends the session at once: no recovery.
    let c = TestClient::connect(&format!("{}?name=ada", lab.url)).await;
    let id = c.client_id();
    c.close().await;
    match lab.hook().await {
        Hook::Ended(
            ended,
            DisconnectReason::ClientClosed {
                code: Some(1000), ..
            },
        ) => assert_eq!(ended, id),
        Hook::Ended(_, reason) => panic!("unexpected reason {reason}"),
        Hook::Lost(_) => panic!("a clean close is not a lost connection"),
    }

    // A drop keeps it (on_connection_lost), a resume continues it, and
    // disconnect() of a kept session ends it.
    let c = TestClient::connect(&format!("{}?name=bob", lab.url)).await;
    let (id, session) = (
        c.client_id(),
        c.ready["sessionId"].as_str().unwrap().to_owned(),
    );
    drop(c.into_inner());
    lab.lost(&id).await;
    let c = TestClient::connect(&resume_url(&lab.url, "bob", &session, 0)).await;
    drop(c.into_inner());
    lab.lost(&id).await;
    let conn = lab
        .handle
        .connection(&ClientId::from(id.as_str()))
        .expect("kept");
    assert!(!conn.is_connected());
    conn.disconnect(zocket::Close::new(4002, "gone for good"))
        .await;
    match lab.hook().await {
        Hook::Ended(ended, DisconnectReason::Disconnected(close)) => {
            assert_eq!((ended, close.code()), (id, 4002));
        }
        _ => panic!("expected the session to end by disconnect"),
    }
    let c = TestClient::connect(&resume_url(&lab.url, "bob", &session, 0)).await;
    assert_eq!(c.ready["recovered"], false);

    // Shutdown ends kept sessions too.
    let c2 = TestClient::connect(&format!("{}?name=cy", lab.url)).await;
    let cy = c2.client_id();
    drop(c2.into_inner());
    lab.lost(&cy).await;
    lab.handle.shutdown().await;
    let mut ended = Vec::new();
    while ended.len() < 2 {
        if let Hook::Ended(who, reason) = lab.hook().await {
            assert_eq!(reason, DisconnectReason::Shutdown);
            ended.push(who);
        }
    }
    assert!(ended.contains(&cy));
    drop(c);
}

#[tokio::test]
async fn ephemeral_events_are_not_numbered_nor_replayed_and_the_others_stay_exact() {
    const CURSOR: Event<Value> = Event::new("cursor").when_full(zocket::WhenFull::Latest);
    let mut lab = lab(Config::default()).await;
    let mut c = TestClient::connect(&format!("{}?name=ada", lab.url)).await;
    let (id, session) = (
        c.client_id(),
        c.ready["sessionId"].as_str().unwrap().to_owned(),
    );
    c.call_ok("join", json!("r")).await;
    lab.handle.emit(NOTE, &json!(1)).to_room("r").unwrap();
    lab.handle.emit(CURSOR, &json!("a")).to_room("r").unwrap();
    lab.handle.emit(NOTE, &json!(2)).to_room("r").unwrap();
    let frames = [
        c.next_frame().await,
        c.next_frame().await,
        c.next_frame().await,
    ];
    assert_eq!(frames[0]["seq"], 1);
    assert_eq!(
        frames[1],
        json!({"type": "cursor", "payload": "a"}),
        "no seq"
    );
    assert_eq!(frames[2]["seq"], 2, "the numbering skips ephemeral events");
    drop(c.into_inner());
    lab.lost(&id).await;
    lab.handle.emit(CURSOR, &json!("b")).to_room("r").unwrap();
    lab.handle.emit(NOTE, &json!(3)).to_room("r").unwrap();
    let mut c = TestClient::connect(&resume_url(&lab.url, "ada", &session, 2)).await;
    assert_eq!(c.ready["recovered"], true);
    // Only the numbered event sent while away comes back, then new ones.
    lab.handle.emit(CURSOR, &json!("c")).to_room("r").unwrap();
    assert_eq!(c.next_frame().await["seq"], 3);
    assert_eq!(
        c.next_frame().await,
        json!({"type": "cursor", "payload": "c"})
    );
}
