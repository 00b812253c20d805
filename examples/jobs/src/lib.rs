//! The jobs example's API and server: two typed streams, a job's progress
//! then its result, and an answer token by token. `main.rs` runs them
//! with a client that cancels each halfway and asks the server what its
//! handlers did.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;
use zocket::{Ctx, RpcError, StreamSink};

/// Input of `jobs.run`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobInput {
    /// How many steps the job has.
    #[schemars(range(min = 1, max = 1000))]
    pub steps: u32,
    /// How long each step takes, in milliseconds.
    #[schemars(range(max = 10000))]
    pub step_ms: u32,
}

/// An item of `jobs.run`: progress after each step, then the result.
#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum JobUpdate {
    /// A step is done.
    Progress {
        /// The step done, from 1.
        step: u32,
        /// Of how many.
        of: u32,
    },
    /// The job is done: the last item.
    Done {
        /// What the job computed (the sum of its step numbers).
        result: u64,
    },
}

/// Why `jobs.run` ended early.
#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "code", content = "data", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobError {
    /// The server runs as many jobs as it will: try later.
    Busy {
        /// Jobs running now (answers not counted).
        running: u32,
    },
}

impl From<JobError> for RpcError {
    fn from(err: JobError) -> Self {
        let message = match &err {
            JobError::Busy { running } => format!("busy: {running} jobs running"),
        };
        RpcError::app(&err, message)
    }
}

/// Input of `jobs.answer`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Question {
    /// The question.
    #[schemars(length(min = 1, max = 500))]
    pub text: String,
    /// How long each token takes, in milliseconds.
    #[schemars(range(max = 10000))]
    pub token_ms: u32,
}

/// An item of `jobs.answer`: the next piece of the answer.
#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Token {
    /// Its number, from 0.
    pub index: u32,
    /// The text, with the space before it.
    pub text: String,
}

/// Output of `jobs.stats`: what the server's stream handlers did.
#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Stats {
    /// Handlers running now.
    pub running: u32,
    /// Handlers that ran to their end.
    pub finished: u64,
    /// Handlers stopped before their end (their stream was cancelled).
    pub stopped: u64,
}

#[zocket::router(namespace = "jobs")]
/// Long-running work that reports as it goes.
pub trait Jobs {
    /// Runs a job: a `progress` item per step, then `done` with the result.
    #[zocket(stream)]
    async fn run(input: JobInput) -> Result<JobUpdate, JobError>;
    /// Answers a question, token by token.
    #[zocket(stream)]
    async fn answer(input: Question) -> Token;
    /// What the stream handlers did: running, finished, stopped early.
    async fn stats() -> Stats;
}

/// The server: counts of its handlers, and a limit on jobs at once.
pub struct JobsApp {
    /// Jobs running now, at most `max_jobs`.
    jobs: AtomicU32,
    running: AtomicU32,
    finished: AtomicU64,
    stopped: AtomicU64,
    max_jobs: u32,
}

impl Default for JobsApp {
    fn default() -> Self {
        Self::new(64)
    }
}

impl JobsApp {
    /// A server that runs at most `max_jobs` jobs at once.
    pub fn new(max_jobs: u32) -> Self {
        Self {
            jobs: AtomicU32::new(0),
            running: AtomicU32::new(0),
            finished: AtomicU64::new(0),
            stopped: AtomicU64::new(0),
            max_jobs,
        }
    }
}

/// One running handler: counted while it runs, and, when its future is
/// dropped before it finished (the client cancelled), counted and logged
/// as stopped.
struct Work<'a> {
    app: &'a JobsApp,
    what: &'static str,
    done: bool,
    items: u32,
}

impl<'a> Work<'a> {
    fn start(app: &'a JobsApp, what: &'static str) -> Self {
        app.running.fetch_add(1, Ordering::SeqCst);
        Self {
            app,
            what,
            done: false,
            items: 0,
        }
    }
}

impl Drop for Work<'_> {
    fn drop(&mut self) {
        if self.done {
            self.app.finished.fetch_add(1, Ordering::SeqCst);
        } else {
            self.app.stopped.fetch_add(1, Ordering::SeqCst);
            tracing::info!(
                what = self.what,
                items = self.items,
                "stopped before its end: the client cancelled"
            );
        }
        self.app.running.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A job's place among `max_jobs`, given back when the job ends.
struct JobPlace<'a>(&'a AtomicU32);

impl Drop for JobPlace<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl JobsServer<()> for JobsApp {
    async fn run(
        &self,
        _ctx: Ctx<()>,
        input: JobInput,
        mut items: StreamSink<JobUpdate>,
    ) -> Result<(), JobError> {
        // A place among `max_jobs`, taken at once (no check-then-act race).
        let max = self.max_jobs;
        if let Err(running) = self
            .jobs
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |jobs| {
                (jobs < max).then_some(jobs + 1)
            })
        {
            return Err(JobError::Busy { running });
        }
        let _place = JobPlace(&self.jobs);
        let mut work = Work::start(self, "job");
        let mut result = 0;
        for step in 1..=input.steps {
            // The work of one step; dropping this future stops it here.
            tokio::time::sleep(Duration::from_millis(input.step_ms.into())).await;
            result += u64::from(step);
            let progress = JobUpdate::Progress {
                step,
                of: input.steps,
            };
            if items.send(progress).await.is_err() {
                return Ok(());
            }
            work.items += 1;
        }
        if items.send(JobUpdate::Done { result }).await.is_ok() {
            work.done = true;
        }
        Ok(())
    }

    async fn answer(&self, _ctx: Ctx<()>, input: Question, mut items: StreamSink<Token>) {
        let mut work = Work::start(self, "answer");
        let answer = format!(
            "You asked \"{}\". A stream sends its items as they are made, each once the \
             client has room for it, and stops the moment the client lets go.",
            input.text
        );
        for (index, word) in (0..).zip(answer.split(' ')) {
            tokio::time::sleep(Duration::from_millis(input.token_ms.into())).await;
            let text = if index == 0 {
                word.to_owned()
            } else {
                format!(" {word}")
            };
            if items.send(Token { index, text }).await.is_err() {
                return;
            }
            work.items += 1;
        }
        work.done = true;
    }

    async fn stats(&self, _ctx: Ctx<()>) -> Stats {
        Stats {
            running: self.running.load(Ordering::SeqCst),
            finished: self.finished.load(Ordering::SeqCst),
            stopped: self.stopped.load(Ordering::SeqCst),
        }
    }
}
