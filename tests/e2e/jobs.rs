//! The jobs example (typed streams) through the test kit's in-memory
//! transport: a job's progress then its result, a typed error, an answer
//! token by token, and handlers that stop when their stream is dropped.

use futures_util::StreamExt;
use jobs::{JobError, JobInput, JobUpdate, Jobs, JobsApp, JobsClient, Question, Stats};
use std::collections::BTreeMap;
use zocket::client::CallError;
use zocket::testing::TestServer;
use zocket_tests::within;

async fn connect(max_jobs: u32) -> (TestServer<()>, JobsClient) {
    let server = Jobs::server_with_context(JobsApp::new(max_jobs), ())
        .build()
        .expect("valid");
    let test = TestServer::new(server);
    let client = within("connect", test.connect(&BTreeMap::<String, String>::new()))
        .await
        .expect("connected");
    (test, JobsClient::from_client(client))
}

/// Waits until the server's handlers have settled: none running, and
/// `stopped` of them stopped before their end.
async fn settled(jobs: &JobsClient, stopped: u64) -> Stats {
    within("the handlers to stop", async {
        loop {
            let stats = jobs.stats().await.expect("stats");
            if stats.running == 0 && stats.stopped >= stopped {
                return stats;
            }
            tokio::task::yield_now().await;
        }
    })
    .await
}

#[tokio::test]
async fn a_job_streams_its_progress_then_its_result() {
    let (_test, jobs) = connect(8).await;
    let job = within(
        "open",
        jobs.run(&JobInput {
            steps: 40,
            step_ms: 0,
        }),
    )
    .await
    .expect("opened");
    let updates: Vec<JobUpdate> = within(
        "the job",
        job.map(|update| update.expect("an update")).collect(),
    )
    .await;
    let mut expected: Vec<JobUpdate> = (1..=40)
        .map(|step| JobUpdate::Progress { step, of: 40 })
        .collect();
    expected.push(JobUpdate::Done { result: 820 });
    assert_eq!(updates, expected);
    let stats = settled(&jobs, 0).await;
    assert_eq!((stats.finished, stats.stopped), (1, 0));
    // Bad input is a validation error, before any handler runs.
    let mut bad = within(
        "open",
        jobs.run(&JobInput {
            steps: 0,
            step_ms: 0,
        }),
    )
    .await
    .expect("opened");
    match within("the end", bad.next()).await {
        Some(Err(CallError::Server(error))) => {
            assert_eq!(error.code().as_str(), "VALIDATION");
            assert_eq!(error.path(), Some("steps"));
        }
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_job_dropped_halfway_stops_on_the_server() {
    let (_test, jobs) = connect(8).await;
    let mut job = within(
        "open",
        jobs.run(&JobInput {
            steps: 1000,
            step_ms: 1,
        }),
    )
    .await
    .expect("opened");
    for step in 1..=10 {
        let update = within("an update", job.next()).await.expect("open");
        assert_eq!(
            update.expect("an update"),
            JobUpdate::Progress { step, of: 1000 }
        );
    }
    drop(job);
    let stats = settled(&jobs, 1).await;
    assert_eq!((stats.finished, stats.stopped), (0, 1));
}

#[tokio::test]
async fn a_busy_server_refuses_a_job_with_its_typed_error() {
    let (_test, jobs) = connect(1).await;
    let mut first = within(
        "open",
        jobs.run(&JobInput {
            steps: 1000,
            step_ms: 1,
        }),
    )
    .await
    .expect("opened");
    within("the first update", first.next())
        .await
        .expect("open")
        .expect("an update");
    let mut second = within(
        "open",
        jobs.run(&JobInput {
            steps: 1,
            step_ms: 0,
        }),
    )
    .await
    .expect("opened");
    match within("the end", second.next()).await {
        Some(Err(CallError::App(JobError::Busy { running: 1 }, error))) => {
            assert_eq!(error.code().as_str(), "BUSY");
        }
        other => panic!("expected BUSY, got {other:?}"),
    }
}

#[tokio::test]
async fn an_answer_streams_token_by_token_and_stops_when_dropped() {
    let (_test, jobs) = connect(8).await;
    let question = Question {
        text: "why?".into(),
        token_ms: 0,
    };
    let answer = within("open", jobs.answer(&question))
        .await
        .expect("opened");
    let tokens: Vec<jobs::Token> = within(
        "the answer",
        answer.map(|token| token.expect("a token")).collect(),
    )
    .await;
    assert!(tokens.len() > 10);
    assert!(
        tokens
            .iter()
            .enumerate()
            .all(|(i, token)| token.index as usize == i)
    );
    let text: String = tokens.iter().map(|token| token.text.as_str()).collect();
    assert!(text.starts_with("You asked \"why?\"."), "{text}");

    let slow = Question {
        text: "and then?".into(),
        token_ms: 1,
    };
    let answer = within("open", jobs.answer(&slow)).await.expect("opened");
    let first: Vec<jobs::Token> = within(
        "half the answer",
        answer
            .take(3)
            .map(|token| token.expect("a token"))
            .collect(),
    )
    .await;
    assert_eq!(first.len(), 3);
    let stats = settled(&jobs, 1).await;
    assert_eq!((stats.finished, stats.stopped), (1, 1));
}
