//! The Rust client riding through a server restart, running out of
//! reconnection attempts, closing while reconnecting, a refused
//! reconnection, and its offline queue, against real servers.

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinHandle;
use zocket::{ClientId, Config, Ctx, Event, Reject, Router, RpcError, Server, ServerHandle};
use zocket_client::{
    Backoff, CallError, Client, ClientBuilder, ConnectError, Refusal, State, StateStream,
};
use zocket_tests::within;

const TICK: Event<u32> = Event::new("tick");

#[derive(Deserialize, schemars::JsonSchema)]
struct Headers {
    name: String,
    token: Option<String>,
}

/// What the client sends as headers.
#[derive(Serialize)]
struct Hello<'a> {
    name: &'a str,
    token: Option<&'a str>,
}

/// What the tests see of a server's handlers.
#[derive(Clone)]
struct Probe {
    /// The texts of `note` messages, as they arrive.
    notes: mpsc::UnboundedSender<String>,
    /// Signalled when a `wait` call has started.
    started: mpsc::UnboundedSender<()>,
    /// A `wait` call finishes when it gets a permit (never, here).
    gate: Arc<Semaphore>,
}

/// How a server answers handshakes.
#[derive(Clone, Copy)]
enum Door {
    /// Everyone comes in.
    Open,
    /// `401` unless the `token` header is `fresh`.
    Token,
}

/// A server running on a fixed address, and what it saw.
struct Running {
    addr: SocketAddr,
    handle: ServerHandle<String>,
    served: JoinHandle<std::io::Result<()>>,
    notes: mpsc::UnboundedReceiver<String>,
    started: mpsc::UnboundedReceiver<()>,
    /// How many handshakes reached `on_before_connect`.
    handshakes: Arc<AtomicUsize>,
}

impl Running {
    fn url(&self) -> String {
        format!("ws://{}/", self.addr)
    }

    /// Shuts the server down (sockets closed with `1001`) and waits until
    /// its port is free.
    async fn stop(self) -> SocketAddr {
        within("the shutdown", self.handle.shutdown()).await;
        within("the server to stop", self.served)
            .await
            .expect("the server task")
            .expect("served");
        self.addr
    }
}

fn router(probe: Probe) -> Router<String> {
    let notes = probe.notes.clone();
    Router::new()
        .call("echo", |_: Ctx<String>, value: Value| async move {
            Ok::<_, RpcError>(value)
        })
        .call("whoami", |ctx: Ctx<String>, _: ()| async move {
            Ok::<_, RpcError>(ctx.client_id().as_str().to_owned())
        })
        .call("ticks", |ctx: Ctx<String>, ticks: Vec<u32>| async move {
            for tick in &ticks {
                ctx.emit(TICK, tick)
                    .to(ctx.client_id())
                    .map_err(|_| RpcError::internal())?;
            }
            Ok::<_, RpcError>(ticks.len())
        })
        .call("wait", move |_: Ctx<String>, _: ()| {
            let probe = probe.clone();
            async move {
                let _ = probe.started.send(());
                let _permit = probe
                    .gate
                    .acquire()
                    .await
                    .map_err(|_| RpcError::internal())?;
                Ok::<_, RpcError>("late")
            }
        })
        .message("note", move |_: Ctx<String>, text: String| {
            let notes = notes.clone();
            async move {
                let _ = notes.send(text);
                Ok::<_, RpcError>(())
            }
        })
}

/// Starts a server on `addr` (`127.0.0.1:0` for any free port).
async fn serve_on(addr: SocketAddr, door: Door) -> Running {
    let (notes_tx, notes) = mpsc::unbounded_channel();
    let (started_tx, started) = mpsc::unbounded_channel();
    let probe = Probe {
        notes: notes_tx,
        started: started_tx,
        gate: Arc::new(Semaphore::new(0)),
    };
    let handshakes = Arc::new(AtomicUsize::new(0));
    let counted = handshakes.clone();
    let server = Server::builder(router(probe))
        .config(Config::default().shutdown_timeout(Duration::from_millis(50)))
        .on_before_connect(move |h: Arc<Headers>| {
            counted.fetch_add(1, Ordering::SeqCst);
            async move {
                match (door, h.token.as_deref()) {
                    (Door::Token, token) if token != Some("fresh") => {
                        Err(Reject::unauthorized("token expired"))
                    }
                    _ => Ok(()),
                }
            }
        })
        .on_connect(|h: Arc<Headers>, _: ClientId| async move { Ok(h.name.clone()) })
        .build()
        .expect("valid server");
    let listener = within("the bind", TcpListener::bind(addr))
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let handle = server.handle();
    let served = tokio::spawn(server.serve_listener(listener));
    Running {
        addr,
        handle,
        served,
        notes,
        started,
        handshakes,
    }
}

async fn serve(door: Door) -> Running {
    serve_on(([127, 0, 0, 1], 0).into(), door).await
}

/// Short delays, without jitter, so that the suite stays fast.
fn builder(max_retries: u32) -> ClientBuilder {
    Client::builder().max_retries(max_retries).backoff(
        Backoff::new(Duration::from_millis(10), Duration::from_millis(100), 0.0)
            .expect("valid backoff"),
    )
}

async fn connect(builder: ClientBuilder, url: &str) -> Client {
    let hello = Hello {
        name: "ada",
        token: None,
    };
    within("connect", builder.connect(url, &hello))
        .await
        .expect("connected")
}

/// The states until one matches `wanted`, that one included.
async fn states_until(states: &mut StateStream, wanted: impl Fn(&State) -> bool) -> Vec<State> {
    within("a state", async {
        let mut seen = Vec::new();
        while let Some(state) = states.next().await {
            let done = wanted(&state);
            seen.push(state);
            if done {
                return seen;
            }
        }
        panic!("the state stream ended: {seen:?}");
    })
    .await
}

#[tokio::test]
async fn a_server_restart_gives_a_fresh_session_and_fails_calls_in_flight() {
    let mut server = serve(Door::Open).await;
    let client = connect(builder(50), &server.url()).await;
    let first = client.ready();
    let mut states = client.state_changes();
    let mut ticks = client.events::<u32>("tick");
    let sent: usize = within("ticks", client.call("ticks", &[1, 2]))
        .await
        .unwrap();
    assert_eq!(sent, 2);
    assert_eq!(within("tick", ticks.next()).await.unwrap().unwrap(), 1);
    assert_eq!(within("tick", ticks.next()).await.unwrap().unwrap(), 2);
    assert_eq!(client.last_seq(), 2);

    let in_flight = tokio::spawn({
        let client = client.clone();
        async move { client.call::<_, String>("wait", &()).await }
    });
    within("the handler to start", server.started.recv())
        .await
        .unwrap();
    let addr = server.stop().await;
    states_until(&mut states, |s| matches!(s, State::Disconnected)).await;
    let server = serve_on(addr, Door::Open).await;

    let seen = states_until(&mut states, State::is_connected).await;
    assert!(
        matches!(seen.last(), Some(State::Connected { recovered: false })),
        "{seen:?}"
    );
    assert!(
        seen[..seen.len() - 1].iter().all(|s| matches!(
            s,
            State::Reconnecting {
                max_attempts: 50,
                ..
            }
        )),
        "{seen:?}"
    );
    let result = within("the call in flight", in_flight).await.unwrap();
    assert!(
        matches!(result, Err(CallError::ConnectionLost)),
        "{result:?}"
    );

    // A fresh session: new ids, events counted from 1 again, and the
    // stream taken before the restart goes on.
    let again = client.ready();
    assert!(!again.recovered);
    assert_ne!(again.session_id, first.session_id);
    assert_eq!(client.current_session_id(), again.session_id);
    let me: String = within("whoami", client.call("whoami", &())).await.unwrap();
    assert_eq!(me, again.client_id);
    let _: usize = within("ticks", client.call("ticks", &[3])).await.unwrap();
    assert_eq!(within("tick", ticks.next()).await.unwrap().unwrap(), 3);
    assert_eq!(client.last_seq(), 1);
    client.close().await;
    server.stop().await;
}

#[tokio::test]
async fn running_out_of_attempts_ends_in_failed() {
    let server = serve(Door::Open).await;
    let client = connect(builder(3), &server.url()).await;
    let mut states = client.state_changes();
    let mut ticks = client.events::<u32>("tick");
    server.stop().await;

    let seen = states_until(&mut states, State::is_final).await;
    let attempts: Vec<(u32, u32, Duration)> = seen
        .iter()
        .filter_map(|s| match s {
            State::Reconnecting {
                attempt,
                max_attempts,
                delay,
            } => Some((*attempt, *max_attempts, *delay)),
            _ => None,
        })
        .collect();
    let ms = Duration::from_millis;
    assert_eq!(attempts, [(1, 3, ms(10)), (2, 3, ms(20)), (3, 3, ms(40))]);
    assert!(
        matches!(
            seen.as_slice(),
            [
                State::Connected { recovered: false },
                State::Disconnected,
                State::Reconnecting { .. },
                State::Reconnecting { .. },
                State::Reconnecting { .. },
                State::Failed { .. },
            ]
        ),
        "{seen:?}"
    );
    // Nothing listens: the last error is the transport's (or a 503 from a
    // server still shutting down).
    let State::Failed { error } = &seen[5] else {
        unreachable!("checked above");
    };
    assert!(
        matches!(&**error, ConnectError::Transport(_))
            || error.refusal().is_some_and(|r| r.status == 503),
        "{error:?}"
    );
    assert!(within("the end of states", states.next()).await.is_none());
    assert!(within("the end of ticks", ticks.next()).await.is_none());
    assert!(matches!(client.state(), State::Failed { .. }));
    let later = client.call::<_, Value>("echo", &1).await;
    assert!(
        matches!(later, Err(CallError::ConnectionClosed)),
        "{later:?}"
    );
}

#[tokio::test]
async fn close_during_reconnection_stops_for_good() {
    let server = serve(Door::Open).await;
    let slow = Backoff::new(Duration::from_secs(60), Duration::from_secs(60), 0.0).unwrap();
    let client = connect(Client::builder().backoff(slow), &server.url()).await;
    let mut states = client.state_changes();
    let addr = server.stop().await;
    let seen = states_until(&mut states, |s| matches!(s, State::Reconnecting { .. })).await;
    assert!(
        matches!(seen.last(), Some(State::Reconnecting { attempt: 1, max_attempts: 5, delay }) if *delay == Duration::from_secs(60)),
        "{seen:?}"
    );
    let queued = tokio::spawn({
        let client = client.clone();
        async move { client.call::<_, Value>("echo", &1).await }
    });
    // A server is back, but the client is closed before it tries again.
    let server = serve_on(addr, Door::Open).await;
    within("close", client.close()).await;
    let seen = states_until(&mut states, State::is_final).await;
    assert!(matches!(seen.as_slice(), [State::Closed]), "{seen:?}");
    let result = within("the queued call", queued).await.unwrap();
    assert!(
        matches!(result, Err(CallError::ConnectionClosed)),
        "{result:?}"
    );
    assert!(matches!(client.state(), State::Closed));
    assert_eq!(server.handshakes.load(Ordering::SeqCst), 0);
    server.stop().await;
}

#[tokio::test]
async fn a_refused_reconnection_is_not_retried() {
    let server = serve(Door::Open).await;
    let client = connect(builder(50), &server.url()).await;
    let mut states = client.state_changes();
    let addr = server.stop().await;
    let server = serve_on(addr, Door::Token).await;

    let seen = states_until(&mut states, State::is_final).await;
    let State::Failed { error } = seen.last().expect("a state") else {
        panic!("expected Failed, got {seen:?}");
    };
    let refusal = error.refusal().expect("a refusal");
    assert_eq!(
        (
            refusal.status,
            refusal.code.as_deref(),
            refusal.message.as_str()
        ),
        (401, Some("UNAUTHORIZED"), "token expired")
    );
    // Failed after the first refusal: no other handshake came.
    assert_eq!(server.handshakes.load(Ordering::SeqCst), 1);
    server.stop().await;
}

#[tokio::test]
async fn the_refusal_hook_reconnects_with_new_headers() {
    let server = serve(Door::Open).await;
    let asked = Arc::new(AtomicUsize::new(0));
    let builder = builder(50).on_refused({
        let asked = asked.clone();
        move |refusal: Refusal| {
            asked.fetch_add(1, Ordering::SeqCst);
            async move {
                (refusal.status == 401).then_some(Hello {
                    name: "ada",
                    token: Some("fresh"),
                })
            }
        }
    });
    let client = connect(builder, &server.url()).await;
    let mut states = client.state_changes();
    let addr = server.stop().await;
    states_until(&mut states, |s| matches!(s, State::Disconnected)).await;
    let server = serve_on(addr, Door::Token).await;

    let seen = states_until(&mut states, State::is_connected).await;
    assert!(
        matches!(seen.last(), Some(State::Connected { recovered: false })),
        "{seen:?}"
    );
    assert_eq!(asked.load(Ordering::SeqCst), 1, "{seen:?}");
    assert_eq!(server.handshakes.load(Ordering::SeqCst), 2);
    let echoed: u32 = within("echo", client.call("echo", &5)).await.unwrap();
    assert_eq!(echoed, 5);
    client.close().await;
    server.stop().await;
}

#[tokio::test]
async fn what_is_sent_while_disconnected_is_sent_in_order_after() {
    let server = serve(Door::Open).await;
    let client = connect(builder(50), &server.url()).await;
    let mut states = client.state_changes();
    let addr = server.stop().await;
    states_until(&mut states, |s| matches!(s, State::Disconnected)).await;

    // Nothing listens: these wait in the offline queue.
    for n in 1..=5 {
        within(
            "a queued note",
            client.message("note", &format!("note {n}")),
        )
        .await
        .unwrap();
    }
    let call = tokio::spawn({
        let client = client.clone();
        async move {
            let echoed: Value = client.call("echo", &json!("after the notes")).await?;
            client.message("note", "last").await?;
            Ok::<_, CallError>(echoed)
        }
    });
    let mut server = serve_on(addr, Door::Open).await;
    let echoed = within("the queued call", call).await.unwrap().unwrap();
    assert_eq!(echoed, json!("after the notes"));
    for n in 1..=5 {
        let note = within("a note", server.notes.recv()).await.unwrap();
        assert_eq!(note, format!("note {n}"));
    }
    assert_eq!(within("a note", server.notes.recv()).await.unwrap(), "last");
    assert!(matches!(
        client.state(),
        State::Connected { recovered: false }
    ));
    client.close().await;
    server.stop().await;
}
