//! Streams: a call answered with items, paced by the client's credit,
//! cancelled by dropping it, and carried across a resumed session with no
//! item lost or repeated. Over 127.0.0.1 (through the fault-injecting
//! proxy where a connection drops).

use futures_util::StreamExt;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{Notify, mpsc};
use zocket::{Config, Ctx, RpcError, StreamSink};
use zocket_client::{Backoff, CallError, Client, State};
use zocket_tests::proxy::Proxy;
use zocket_tests::{TestClient, serve, within};

/// Input of `jobs.run`.
#[derive(Serialize, Deserialize, JsonSchema)]
struct RunJob {
    /// Steps to run.
    steps: u32,
    /// The step that fails, if any.
    fail_at: Option<u32>,
}

/// An item of `jobs.run`.
#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Progress {
    /// The step done.
    step: u32,
    /// Of how many.
    of: u32,
}

/// How `jobs.run` can fail.
#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "code", content = "data", rename_all = "SCREAMING_SNAKE_CASE")]
enum JobError {
    /// A step failed.
    StepFailed {
        /// Which.
        step: u32,
    },
}

impl From<JobError> for RpcError {
    fn from(err: JobError) -> Self {
        RpcError::app(&err, "a step failed")
    }
}

#[zocket::router(namespace = "jobs")]
/// Jobs that report as they go.
trait Jobs {
    /// Counts from 1 to `to`.
    #[zocket(stream)]
    async fn count(to: u64) -> u64;
    /// Runs a job, one progress item per step.
    #[zocket(stream)]
    async fn run(input: RunJob) -> Result<Progress, JobError>;
    /// `count` strings of 20 000 bytes.
    #[zocket(stream)]
    async fn big(count: u64) -> String;
}

/// What the handlers did, for the tests to see.
#[derive(Default)]
struct Probe {
    /// Items a handler was about to send.
    attempted: AtomicU64,
    /// Items a handler sent.
    sent: AtomicU64,
    /// Notified on each attempt.
    attempt: Notify,
    /// Handlers whose future was dropped or finished.
    stopped: Option<mpsc::UnboundedSender<u64>>,
}

/// Tells the probe when a handler's future goes.
struct Stopped(Option<mpsc::UnboundedSender<u64>>, u64);

impl Drop for Stopped {
    fn drop(&mut self) {
        if let Some(tx) = &self.0 {
            let _ = tx.send(self.1);
        }
    }
}

struct App(Arc<Probe>);

impl JobsServer<()> for App {
    async fn count(&self, _ctx: Ctx<()>, to: u64, mut items: StreamSink<u64>) {
        let _guard = Stopped(self.0.stopped.clone(), to);
        for i in 1..=to {
            self.0.attempted.fetch_add(1, Ordering::SeqCst);
            self.0.attempt.notify_one();
            if items.send(i).await.is_err() {
                return;
            }
            self.0.sent.fetch_add(1, Ordering::SeqCst);
        }
    }

    async fn big(&self, _ctx: Ctx<()>, count: u64, mut items: StreamSink<String>) {
        for i in 0..count {
            let text = format!("{i:020000}");
            if items.send(text).await.is_err() {
                return;
            }
        }
    }

    async fn run(
        &self,
        _ctx: Ctx<()>,
        input: RunJob,
        mut items: StreamSink<Progress>,
    ) -> Result<(), JobError> {
        for step in 1..=input.steps {
            if input.fail_at == Some(step) {
                return Err(JobError::StepFailed { step });
            }
            let item = Progress {
                step,
                of: input.steps,
            };
            items
                .send(item)
                .await
                .map_err(|_| JobError::StepFailed { step })?;
        }
        Ok(())
    }
}

struct Lab {
    addr: std::net::SocketAddr,
    handle: zocket::ServerHandle<()>,
    probe: Arc<Probe>,
    stopped: mpsc::UnboundedReceiver<u64>,
}

async fn lab(config: Config) -> Lab {
    let (tx, stopped) = mpsc::unbounded_channel();
    let probe = Arc::new(Probe {
        stopped: Some(tx),
        ..Probe::default()
    });
    let server = Jobs::server_with_context(App(probe.clone()), ())
        .config(config)
        .build()
        .expect("valid");
    let (addr, handle) = serve(server).await;
    Lab {
        addr,
        handle,
        probe,
        stopped,
    }
}

impl Lab {
    fn url(&self) -> String {
        format!("ws://{}/", self.addr)
    }

    /// Waits until handlers have tried to send `n` items in all.
    async fn attempted(&self, n: u64) {
        within("the handler to try another item", async {
            while self.probe.attempted.load(Ordering::SeqCst) < n {
                self.probe.attempt.notified().await;
            }
        })
        .await;
    }
}

/// A client through `proxy` that reconnects at once, for as long as a
/// test needs.
async fn through(proxy: &Proxy) -> Client {
    let backoff =
        Backoff::new(Duration::from_millis(1), Duration::from_millis(20), 0.3).expect("valid");
    within(
        "connect",
        Client::builder().backoff(backoff).max_retries(200).connect(
            &format!("ws://{}/", proxy.addr()),
            &BTreeMap::<String, String>::new(),
        ),
    )
    .await
    .expect("connected")
}

async fn typed(url: &str) -> JobsClient {
    let client = within(
        "connect",
        Client::connect(url, &BTreeMap::<String, String>::new()),
    )
    .await
    .expect("connected");
    JobsClient::from_client(client)
}

#[tokio::test]
async fn a_stream_sends_every_item_in_order_then_ends() {
    let lab = lab(Config::default()).await;
    let jobs = typed(&lab.url()).await;
    // 100 items through a window of 16: credit is granted again and again.
    let stream = within("open", jobs.count(&100)).await.expect("opened");
    let items: Vec<u64> = within(
        "every item",
        stream.map(|item| item.expect("an item")).collect(),
    )
    .await;
    assert_eq!(items, (1..=100).collect::<Vec<_>>());
    // A stream with its own error type ends with it, decoded, after the
    // items before it.
    let mut run = within(
        "open",
        jobs.run(&RunJob {
            steps: 5,
            fail_at: Some(3),
        }),
    )
    .await
    .expect("opened");
    for step in 1..=2 {
        let item = within("an item", run.next()).await.expect("open");
        assert_eq!(item.expect("an item"), Progress { step, of: 5 });
    }
    match within("the end", run.next()).await {
        Some(Err(CallError::App(JobError::StepFailed { step: 3 }, error))) => {
            assert_eq!(error.code().as_str(), "STEP_FAILED");
        }
        other => panic!("expected the job's error, got {other:?}"),
    }
    assert!(run.next().await.is_none(), "nothing after the end");
    // The server forgets a stream once it has ended and its items are
    // acknowledged: the client acknowledges the last ones at the end, and
    // a later stream's reply comes after that.
    let empty: Vec<u64> = within("a stream of none", async {
        jobs.count(&0)
            .await
            .expect("opened")
            .map(|item| item.expect("an item"))
            .collect()
            .await
    })
    .await;
    assert!(empty.is_empty());
    assert_eq!(lab.handle.memory().stream_bytes, 0);
}

#[tokio::test]
async fn the_handler_waits_for_credit_and_stops_when_cancelled() {
    let mut lab = lab(Config::default()).await;
    let mut c = TestClient::connect(&lab.url()).await;
    let id = c.start_call("jobs.count", json!(1000)).await;
    // No credit yet: the handler waits at its first item.
    lab.attempted(1).await;
    assert_eq!(lab.probe.sent.load(Ordering::SeqCst), 0);
    c.send_json(json!({"type": "__credit", "rpcId": id, "payload": {"received": 0, "window": 3}}))
        .await;
    for n in 1..=3 {
        let item = c.next_of("__item").await;
        assert_eq!(
            item,
            json!({"type": "__item", "rpcId": id, "n": n, "payload": n})
        );
    }
    // The fourth waits: three sent, and no fourth frame exists.
    lab.attempted(4).await;
    assert_eq!(lab.probe.sent.load(Ordering::SeqCst), 3);
    // Acknowledging two with a window of 2 allows items 4 and 5 (a lower
    // grant later takes nothing back).
    c.send_json(json!({"type": "__credit", "rpcId": id, "payload": {"received": 3, "window": 2}}))
        .await;
    c.send_json(json!({"type": "__credit", "rpcId": id, "payload": {"received": 3, "window": 0}}))
        .await;
    for n in 4..=5 {
        assert_eq!(c.next_of("__item").await["n"], n);
    }
    lab.attempted(6).await;
    assert_eq!(lab.probe.sent.load(Ordering::SeqCst), 5);
    // While it waits, another stream on the same connection runs to its
    // end: a paused stream holds nothing up.
    let other = c.start_call("jobs.count", json!(3)).await;
    c.send_json(
        json!({"type": "__credit", "rpcId": other, "payload": {"received": 0, "window": 8}}),
    )
    .await;
    for n in 1..=3 {
        let item = c.next_of("__item").await;
        assert_eq!(
            (item["rpcId"].as_str(), item["n"].as_u64()),
            (Some(other.as_str()), Some(n))
        );
    }
    assert_eq!(c.reply(&other).await["type"], "__rpc_res");
    assert_eq!(
        within("the other handler to end", lab.stopped.recv()).await,
        Some(3)
    );
    c.send_json(json!({"type": "__cancel", "rpcId": id})).await;
    let reply = c.reply(&id).await;
    assert_eq!(reply["error"]["code"], "CANCELLED");
    assert_eq!(
        within("the handler to stop", lab.stopped.recv()).await,
        Some(1000)
    );
    // Five of the first stream, three of the other: nothing more.
    assert_eq!(lab.probe.sent.load(Ordering::SeqCst), 8);
}

#[tokio::test]
async fn dropping_the_stream_cancels_it_on_the_server() {
    let mut lab = lab(Config::default()).await;
    let jobs = typed(&lab.url()).await;
    let mut stream = within("open", jobs.count(&1_000_000))
        .await
        .expect("opened");
    for i in 1..=3 {
        let item = within("an item", stream.next()).await.expect("open");
        assert_eq!(item.expect("an item"), i);
    }
    drop(stream);
    assert_eq!(
        within("the handler to stop", lab.stopped.recv()).await,
        Some(1_000_000)
    );
    // At most a window ahead of what was taken, then nothing: it stopped.
    assert!(lab.probe.sent.load(Ordering::SeqCst) <= 3 + 16);
    // The connection goes on.
    let items: Vec<u64> = within(
        "another stream",
        jobs.count(&2)
            .await
            .expect("opened")
            .map(|item| item.expect("an item"))
            .collect(),
    )
    .await;
    assert_eq!(items, [1, 2]);
}

#[tokio::test]
async fn bad_stream_frames_get_errors_and_the_connection_goes_on() {
    let lab = lab(Config::default()).await;
    let mut c = TestClient::connect(&lab.url()).await;
    // A stream opened without an rpcId.
    c.send_json(json!({"type": "jobs.count", "payload": 3}))
        .await;
    let err = c.next_of("__error").await;
    assert_eq!(err["error"]["code"], "BAD_REQUEST");
    assert_eq!(err["error"]["route"], "jobs.count");
    // Credit without rpcId, or with a payload of the wrong shape.
    for frame in [
        json!({"type": "__credit", "payload": {"received": 0, "window": 1}}),
        json!({"type": "__credit", "rpcId": "x", "payload": {"received": -1, "window": 1}}),
        json!({"type": "__credit", "rpcId": "x", "payload": 5}),
        json!({"type": "__credit", "rpcId": "x"}),
    ] {
        c.send_json(frame.clone()).await;
        let err = c.next_of("__error").await;
        assert_eq!(err["error"]["code"], "BAD_REQUEST", "{frame}");
        assert!(
            err.get("rpcId").is_none(),
            "never a reply to a stream: {err}"
        );
    }
    // Credit for a stream that does not exist is ignored.
    c.send_json(
        json!({"type": "__credit", "rpcId": "nope", "payload": {"received": 0, "window": 1}}),
    )
    .await;
    // A stream that sends nothing still ends with its reply.
    let id = c.start_call("jobs.count", json!(0)).await;
    assert_eq!(
        c.reply(&id).await,
        json!({"type": "__rpc_res", "rpcId": id, "payload": null})
    );
    let id = c.start_call("jobs.count", json!("three")).await;
    assert_eq!(c.reply(&id).await["error"]["code"], "VALIDATION");
}

#[tokio::test]
async fn streams_are_limited_per_connection_and_windows_capped() {
    let lab = lab(Config::default().max_streams(2).max_stream_window(4)).await;
    let mut c = TestClient::connect(&lab.url()).await;
    let a = c.start_call("jobs.count", json!(100)).await;
    let _b = c.start_call("jobs.count", json!(100)).await;
    let third = c.start_call("jobs.count", json!(100)).await;
    let reply = c.reply(&third).await;
    assert_eq!(reply["error"]["code"], "LIMIT_EXCEEDED");
    assert_eq!(
        reply["error"]["data"],
        json!({"limit": "streams", "max": 2})
    );
    // A window of a million is granted as 4.
    c.send_json(
        json!({"type": "__credit", "rpcId": a, "payload": {"received": 0, "window": 1_000_000}}),
    )
    .await;
    for n in 1..=4 {
        assert_eq!(c.next_of("__item").await["n"], n);
    }
    // Both handlers have tried their first item; `a` has tried its fifth.
    lab.attempted(2 + 4).await;
    assert_eq!(lab.probe.sent.load(Ordering::SeqCst), 4);
    // Cancelled, `a` frees its place.
    c.send_json(json!({"type": "__cancel", "rpcId": a})).await;
    assert_eq!(c.reply(&a).await["error"]["code"], "CANCELLED");
    let d = c.start_call("jobs.count", json!(0)).await;
    assert_eq!(c.reply(&d).await["type"], "__rpc_res");
}

#[tokio::test]
async fn a_stream_goes_on_across_a_resumed_session_with_no_item_lost_or_repeated() {
    let lab = lab(Config::default()).await;
    let proxy = Proxy::start(lab.addr).await;
    let client = through(&proxy).await;
    let mut states = client.state_changes();
    let jobs = JobsClient::from_client(client.clone());
    let total = 400;
    let mut stream = within("open", jobs.count(&total)).await.expect("opened");
    let mut got = Vec::new();
    let mut cuts = 0;
    while let Some(item) = within("an item", stream.next()).await {
        got.push(item.expect("an item"));
        // Cut the connection every 37 items, items in flight included, and
        // once near the end, when the handler has sent its last item and
        // its reply waits in the reply cache.
        if got.len() % 37 == 0 || got.len() as u64 == total - 3 {
            proxy.cut();
            cuts += 1;
            within("a recovered reconnection", async {
                let mut dropped = false;
                loop {
                    match states.next().await.expect("alive") {
                        State::Connected { .. } if !dropped => {}
                        State::Connected { recovered } => {
                            assert!(recovered, "the session came back");
                            return;
                        }
                        State::Failed { error } => panic!("gave up: {error}"),
                        _ => dropped = true,
                    }
                }
            })
            .await;
        }
    }
    assert!(cuts >= 11, "{cuts} cuts");
    assert_eq!(got, (1..=total).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_client_that_acknowledges_nothing_holds_at_most_the_byte_budget() {
    // Items of `jobs.count` are about 50 bytes: a budget of 200 bytes
    // holds four, whatever the window.
    let lab = lab(Config::default().stream_buffer_bytes(200)).await;
    let mut c = TestClient::connect(&lab.url()).await;
    let id = c.start_call("jobs.count", json!(1000)).await;
    c.send_json(
        json!({"type": "__credit", "rpcId": id, "payload": {"received": 0, "window": 256}}),
    )
    .await;
    let mut got = 0;
    while got < 4 {
        assert_eq!(c.next_of("__item").await["n"], got + 1);
        got += 1;
    }
    lab.attempted(5).await;
    assert_eq!(lab.probe.sent.load(Ordering::SeqCst), 4);
    let held = lab.handle.memory().stream_bytes;
    assert!(held > 0 && held <= 200, "{held} bytes held");
    // Acknowledging frees them and lets the stream go on.
    c.send_json(
        json!({"type": "__credit", "rpcId": id, "payload": {"received": 4, "window": 256}}),
    )
    .await;
    assert_eq!(c.next_of("__item").await["n"], 5);
    lab.attempted(9).await;
    assert!(lab.handle.memory().stream_bytes <= 200);
}

#[test]
fn the_schema_lists_streams_with_their_items_and_errors() {
    let schema = Jobs::schema();
    let run = &schema["routes"]["jobs.run"];
    assert_eq!(run["kind"], "stream");
    assert_eq!(run["item"]["$ref"], "#/$defs/Progress");
    assert!(run.get("output").is_none(), "{run}");
    assert_eq!(run["error"]["$ref"], "#/$defs/JobError");
    let codes = serde_json::to_string(&schema["$defs"]["JobError"]).expect("json");
    assert!(codes.contains("STEP_FAILED"), "{codes}");
    let count = &schema["routes"]["jobs.count"];
    assert_eq!(count["kind"], "stream");
    assert_eq!(count["item"]["type"], "integer");
    assert_eq!(count["error"]["$ref"], "#/$defs/RpcError");
}

#[tokio::test]
async fn the_client_grants_again_when_the_server_stops_short_of_half_its_window() {
    // Items of 20 KB against 64 KiB kept per stream: the server stops
    // after 3 of the 16 the client allows. And a window of 1000 against a
    // server that grants 4.
    let lab = lab(Config::default().max_stream_window(4)).await;
    let jobs = typed(&lab.url()).await;
    let big = within("open", jobs.big(&20)).await.expect("opened");
    let big: Vec<String> = within(
        "every big item",
        big.map(|item| item.expect("an item")).collect(),
    )
    .await;
    assert_eq!(big.len(), 20);
    assert!(
        big.iter()
            .enumerate()
            .all(|(i, text)| text.len() == 20_000 && text.ends_with(&i.to_string()))
    );
    let stream = within(
        "open",
        jobs.client()
            .stream_with_window::<_, u64>("jobs.count", &50, 1000),
    )
    .await
    .expect("opened");
    let items: Vec<u64> = within(
        "every item",
        stream.map(|item| item.expect("an item")).collect(),
    )
    .await;
    assert_eq!(items, (1..=50).collect::<Vec<_>>());
}

#[tokio::test]
async fn finished_streams_do_not_count_against_the_limit_and_a_resent_open_frame_runs_nothing() {
    let lab = lab(Config::default().max_streams(2)).await;
    let mut c = TestClient::connect(&lab.url()).await;
    // Five streams in turn, each ending with an item never acknowledged:
    // none is refused.
    for _ in 0..5 {
        let id = c.start_call("jobs.count", json!(1)).await;
        c.send_json(
            json!({"type": "__credit", "rpcId": id, "payload": {"received": 0, "window": 4}}),
        )
        .await;
        assert_eq!(c.next_of("__item").await["n"], 1);
        assert_eq!(c.reply(&id).await["type"], "__rpc_res");
    }
    assert!(
        lab.handle.memory().stream_bytes > 0,
        "their last items are kept"
    );
    // A running stream's open frame sent again starts no second handler.
    let id = c.start_call("jobs.count", json!(100)).await;
    lab.attempted(5 + 1).await;
    c.send_json(json!({"type": "jobs.count", "payload": 100, "rpcId": id}))
        .await;
    c.send_json(json!({"type": "__credit", "rpcId": id, "payload": {"received": 0, "window": 2}}))
        .await;
    for n in 1..=2 {
        assert_eq!(c.next_of("__item").await["n"], n);
    }
    lab.attempted(5 + 3).await;
    assert_eq!(
        lab.probe.attempted.load(Ordering::SeqCst),
        5 + 3,
        "one handler: the resent frame ran nothing"
    );
    // Cancelling the finished ones forgets their items.
    c.send_json(json!({"type": "__cancel", "rpcId": id})).await;
    assert_eq!(c.reply(&id).await["error"]["code"], "CANCELLED");
}

#[tokio::test]
async fn a_stream_that_ended_while_its_client_was_away_answers_its_resent_open_frame() {
    let lab = lab(Config::default()).await;
    let mut c = TestClient::connect(&lab.url()).await;
    let session = c.ready["sessionId"].as_str().expect("a session").to_owned();
    let id = c.start_call("jobs.count", json!(3)).await;
    c.send_json(json!({"type": "__credit", "rpcId": id, "payload": {"received": 0, "window": 8}}))
        .await;
    for n in 1..=3 {
        assert_eq!(c.next_of("__item").await["n"], n);
    }
    assert_eq!(c.reply(&id).await["type"], "__rpc_res");
    // Gone without a close frame, nothing acknowledged: the items and the
    // reply wait for a resume.
    drop(c.into_inner());
    let mut back = within("the resume", async {
        loop {
            let url = format!("{}?sessionId={session}&lastSeq=0", lab.url());
            let c = TestClient::connect(&url).await;
            if c.ready["recovered"] == true {
                return c;
            }
        }
    })
    .await;
    for n in 1..=3 {
        assert_eq!(back.next_of("__item").await["n"], n, "replayed");
    }
    back.send_json(json!({"type": "jobs.count", "payload": 3, "rpcId": id}))
        .await;
    assert_eq!(
        back.reply(&id).await,
        json!({"type": "__rpc_res", "rpcId": id, "payload": null}),
        "the stored reply, not a second run"
    );
    assert_eq!(lab.probe.attempted.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_stream_whose_session_did_not_come_back_ends_with_connection_lost() {
    // No retention: a dropped connection ends its session, and the client
    // reconnects to a fresh one.
    let lab = lab(Config::default().session_retention(Duration::ZERO)).await;
    let proxy = Proxy::start(lab.addr).await;
    let client = through(&proxy).await;
    let jobs = JobsClient::from_client(client);
    let mut stream = within("open", jobs.count(&1_000_000))
        .await
        .expect("opened");
    assert_eq!(
        within("an item", stream.next())
            .await
            .expect("open")
            .expect("an item"),
        1
    );
    proxy.cut();
    // The items already received come first, then the error, then the end.
    let end = within("the end", async {
        loop {
            match stream.next().await {
                Some(Ok(_)) => {}
                other => return other,
            }
        }
    })
    .await;
    assert!(
        matches!(end, Some(Err(CallError::ConnectionLost))),
        "{end:?}"
    );
    assert!(stream.next().await.is_none());
}
