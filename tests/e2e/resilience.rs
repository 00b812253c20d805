//! The resilient Rust client and the recovering server together, through a
//! fault-injecting proxy: drops while idle, while events flow (a hundred
//! times), with calls in flight, delays, and a session that expires.

use futures_util::StreamExt;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::{Semaphore, mpsc};
use zocket::{
    ClientId, Config, Ctx, DisconnectReason, Event, NoHeaders, Router, RpcError, Server,
    ServerHandle,
};
use zocket_client::{Backoff, CallError, Client, State, StateStream};
use zocket_tests::proxy::{Fault, Proxy};
use zocket_tests::{serve, within};

const NOTE: Event<u64> = Event::new("note");

struct Lab {
    proxy: Proxy,
    handle: ServerHandle<()>,
    executed: Arc<AtomicUsize>,
    gate: Arc<Semaphore>,
    ended: mpsc::UnboundedReceiver<DisconnectReason>,
}

async fn lab(config: Config) -> Lab {
    let executed = Arc::new(AtomicUsize::new(0));
    let gate = Arc::new(Semaphore::new(0));
    let (counter, permits) = (executed.clone(), gate.clone());
    let router = Router::new()
        .call("join", |ctx: Ctx<()>, room: String| async move {
            ctx.join(&room)
        })
        .call("gated", move |_: Ctx<()>, n: u64| {
            let (counter, permits) = (counter.clone(), permits.clone());
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                permits.acquire().await.expect("open").forget();
                Ok::<_, RpcError>(n)
            }
        });
    let (tx, ended) = mpsc::unbounded_channel();
    let server = Server::builder(router)
        .on_connect(|_: Arc<NoHeaders>, _: ClientId| async { Ok(()) })
        .on_disconnect(move |_, reason| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(reason);
            }
        })
        .config(config)
        .build()
        .expect("valid");
    let (addr, handle) = serve(server).await;
    Lab {
        proxy: Proxy::start(addr).await,
        handle,
        executed,
        gate,
        ended,
    }
}

async fn client(lab: &Lab) -> Client {
    let backoff =
        Backoff::new(Duration::from_millis(1), Duration::from_millis(20), 0.3).expect("valid");
    let url = format!("ws://{}/", lab.proxy.addr());
    within(
        "connect",
        Client::builder()
            .backoff(backoff)
            .max_retries(200)
            .connect(&url, &BTreeMap::<String, String>::new()),
    )
    .await
    .expect("connected")
}

/// Waits for the next `Connected` state, returning whether it recovered.
async fn reconnected(states: &mut StateStream) -> bool {
    within("a reconnection", async {
        loop {
            match states.next().await.expect("the client is alive") {
                State::Connected { recovered } => return recovered,
                State::Failed { error } => panic!("the client gave up: {error}"),
                _ => {}
            }
        }
    })
    .await
}

#[tokio::test]
async fn a_drop_while_idle_is_recovered() {
    let lab = lab(Config::default()).await;
    let c = client(&lab).await;
    let id = c.ready().client_id;
    let mut states = c.state_changes();
    assert!(matches!(states.next().await, Some(State::Connected { .. })));
    lab.proxy.cut();
    assert!(reconnected(&mut states).await, "the session came back");
    assert_eq!(c.ready().client_id, id);
    assert!(c.ready().recovered);
    c.close().await;
}

#[tokio::test]
async fn a_hundred_drops_while_events_flow_lose_and_duplicate_nothing() {
    let lab = lab(Config::default()).await;
    let c = client(&lab).await;
    let mut notes = c.events::<u64>("note");
    let mut states = c.state_changes();
    assert!(matches!(states.next().await, Some(State::Connected { .. })));
    within("join", c.call::<_, bool>("join", "feed"))
        .await
        .expect("joined");
    let mut sent = 0u64;
    for cycle in 0..100 {
        // Some cycles add latency; some cut a frame in half.
        lab.proxy.set(if cycle % 10 == 5 {
            Fault::Delay(Duration::from_millis(2))
        } else {
            Fault::None
        });
        for _ in 0..3 {
            sent += 1;
            lab.handle.emit(NOTE, &sent).to_room("feed").unwrap();
        }
        if cycle % 4 == 0 {
            lab.proxy.cut_mid_frame(5);
            sent += 1;
            lab.handle.emit(NOTE, &sent).to_room("feed").unwrap();
        } else {
            lab.proxy.cut();
        }
        sent += 1;
        lab.handle.emit(NOTE, &sent).to_room("feed").unwrap();
        assert!(
            reconnected(&mut states).await,
            "cycle {cycle}: the session came back"
        );
    }
    lab.proxy.set(Fault::None);
    for expected in 1..=sent {
        let got = within("an event", notes.next())
            .await
            .expect("open")
            .expect("decoded");
        assert_eq!(got, expected, "every event once, in order");
    }
    assert_eq!(c.last_seq(), sent);
    c.close().await;
}

#[tokio::test]
async fn calls_in_flight_during_a_drop_run_once_and_resolve_once() {
    let lab = lab(Config::default()).await;
    let c = client(&lab).await;
    let mut states = c.state_changes();
    assert!(matches!(states.next().await, Some(State::Connected { .. })));
    let calls: Vec<_> = (0..5u64)
        .map(|n| {
            let c = c.clone();
            tokio::spawn(async move { c.call::<_, u64>("gated", &n).await })
        })
        .collect();
    within("the calls to start", async {
        while lab.executed.load(Ordering::SeqCst) < 5 {
            tokio::task::yield_now().await;
        }
    })
    .await;
    // Replies are held back, then the connection is cut.
    lab.proxy.set(Fault::Stall);
    lab.gate.add_permits(2);
    lab.proxy.cut();
    lab.proxy.set(Fault::None);
    assert!(reconnected(&mut states).await);
    lab.gate.add_permits(3);
    for (n, call) in calls.into_iter().enumerate() {
        let reply = within("a reply", call)
            .await
            .expect("joined")
            .expect("answered");
        assert_eq!(reply, n as u64);
    }
    assert_eq!(lab.executed.load(Ordering::SeqCst), 5, "each call ran once");
    c.close().await;
}

#[tokio::test]
async fn an_expired_session_comes_back_fresh_and_fails_calls_in_flight() {
    let mut lab = lab(Config::default().session_retention(Duration::from_millis(50))).await;
    let c = client(&lab).await;
    let old = c.ready().client_id;
    let mut states = c.state_changes();
    assert!(matches!(states.next().await, Some(State::Connected { .. })));
    let call = tokio::spawn({
        let c = c.clone();
        async move { c.call::<_, u64>("gated", &1).await }
    });
    within("the call to start", async {
        while lab.executed.load(Ordering::SeqCst) < 1 {
            tokio::task::yield_now().await;
        }
    })
    .await;
    // Unreachable for longer than the retention window.
    lab.proxy.set(Fault::Refuse);
    lab.proxy.cut();
    let reason = within("the session to expire", lab.ended.recv())
        .await
        .expect("ended");
    assert!(reason.is_transient(), "{reason}");
    lab.proxy.set(Fault::None);
    assert!(!reconnected(&mut states).await, "a fresh session");
    assert_ne!(c.ready().client_id, old);
    let err = within("the call", call)
        .await
        .expect("joined")
        .expect_err("lost");
    assert!(matches!(err, CallError::ConnectionLost), "{err:?}");
    lab.gate.add_permits(1);
    c.close().await;
}

#[tokio::test]
async fn a_client_started_from_a_saved_session_gets_the_events_it_missed() {
    let lab = lab(Config::default()).await;
    let url = format!("ws://{}/", lab.proxy.addr());
    let headers = BTreeMap::<String, String>::new();
    // A first process: it joins, sees two events, then loses its connection.
    let first = within(
        "connect",
        Client::builder().reconnect(false).connect(&url, &headers),
    )
    .await
    .expect("connected");
    let mut notes = first.events::<u64>("note");
    within("join", first.call::<_, bool>("join", "feed"))
        .await
        .expect("joined");
    for n in 1..=2u64 {
        lab.handle.emit(NOTE, &n).to_room("feed").unwrap();
        assert_eq!(
            within("an event", notes.next())
                .await
                .expect("open")
                .expect("decoded"),
            n
        );
    }
    let (session, last_seq, id) = (
        first.current_session_id(),
        first.last_seq(),
        first.ready().client_id,
    );
    let mut states = first.state_changes();
    lab.proxy.cut();
    within("the drop", async {
        while let Some(state) = states.next().await {
            if state.is_final() {
                break;
            }
        }
    })
    .await;
    drop(first);
    for n in 3..=4u64 {
        lab.handle.emit(NOTE, &n).to_room("feed").unwrap();
    }
    // A second process starts from the saved session; its stream, taken
    // before connecting, gets the replay.
    let mut builder = Client::builder().session(session, last_seq);
    let mut notes = builder.events::<u64>("note");
    let second = within("connect", builder.connect(&url, &headers))
        .await
        .expect("connected");
    assert!(second.ready().recovered);
    assert_eq!(second.ready().client_id, id);
    for n in 3..=4u64 {
        assert_eq!(
            within("a replayed event", notes.next())
                .await
                .expect("open")
                .expect("decoded"),
            n
        );
    }
    second.close().await;
}

#[tokio::test]
async fn a_started_client_waits_for_its_server_and_queues_meanwhile() {
    let lab = lab(Config::default()).await;
    lab.proxy.set(Fault::Refuse);
    let url = format!("ws://{}/", lab.proxy.addr());
    let backoff =
        Backoff::new(Duration::from_millis(1), Duration::from_millis(20), 0.3).expect("valid");
    let c = Client::builder()
        .backoff(backoff)
        .max_retries(500)
        .start(&url, &BTreeMap::<String, String>::new())
        .expect("started");
    let mut states = c.state_changes();
    assert!(matches!(states.next().await, Some(State::Connecting)));
    // Made before any connection: queued, sent once connected.
    let joined = tokio::spawn({
        let c = c.clone();
        async move { c.call::<_, bool>("join", "feed").await }
    });
    assert!(matches!(
        within("a retry", states.next()).await,
        Some(State::Reconnecting { .. })
    ));
    lab.proxy.set(Fault::None);
    assert!(!reconnected(&mut states).await, "a new session");
    assert!(
        within("the queued call", joined)
            .await
            .expect("joined")
            .expect("answered")
    );
    assert!(!c.ready().client_id.is_empty());
    c.close().await;
}

#[tokio::test]
async fn a_started_client_fails_after_its_attempts() {
    let lab = lab(Config::default()).await;
    lab.proxy.set(Fault::Refuse);
    let backoff =
        Backoff::new(Duration::from_millis(1), Duration::from_millis(2), 0.0).expect("valid");
    let c = Client::builder()
        .backoff(backoff)
        .max_retries(2)
        .start(
            &format!("ws://{}/", lab.proxy.addr()),
            &BTreeMap::<String, String>::new(),
        )
        .expect("started");
    let mut states = c.state_changes();
    let mut seen = Vec::new();
    while let Some(state) = within("a state", states.next()).await {
        let last = state.is_final();
        seen.push(state);
        if last {
            break;
        }
    }
    assert!(matches!(seen.first(), Some(State::Connecting)), "{seen:?}");
    let attempts: Vec<u32> = seen
        .iter()
        .filter_map(|s| match s {
            State::Reconnecting { attempt, .. } => Some(*attempt),
            _ => None,
        })
        .collect();
    assert_eq!(attempts, [1, 2]);
    assert!(
        matches!(seen.last(), Some(State::Failed { .. })),
        "{seen:?}"
    );
    let err = c
        .call::<_, bool>("join", "feed")
        .await
        .expect_err("no connection");
    assert!(
        matches!(err, CallError::ConnectionClosed | CallError::ConnectionLost),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_black_holed_link_is_noticed_within_the_liveness_window_and_recovered() {
    // The server pings often, so a live link always brings frames.
    let lab =
        lab(Config::default().heartbeat(Duration::from_millis(100), Duration::from_secs(5))).await;
    let backoff =
        Backoff::new(Duration::from_millis(1), Duration::from_millis(20), 0.3).expect("valid");
    let c = within(
        "connect",
        Client::builder()
            .backoff(backoff)
            .max_retries(200)
            .liveness(Some(Duration::from_millis(400)))
            .connect(
                &format!("ws://{}/", lab.proxy.addr()),
                &BTreeMap::<String, String>::new(),
            ),
    )
    .await
    .expect("connected");
    let id = c.ready().client_id;
    let mut states = c.state_changes();
    assert!(matches!(states.next().await, Some(State::Connected { .. })));
    // Packets vanish: no close, no reset, nothing.
    lab.proxy.set(Fault::Stall);
    within("the dead link noticed", async {
        loop {
            if let Some(State::Disconnected) = states.next().await {
                return;
            }
        }
    })
    .await;
    lab.proxy.set(Fault::None);
    assert!(reconnected(&mut states).await, "the session came back");
    assert_eq!(c.ready().client_id, id);
    c.close().await;
}
