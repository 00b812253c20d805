//! Typed streams, run end to end: `cargo run -p jobs`.
//!
//! Starts a jobs server on 127.0.0.1 and, in the same process, a client
//! that:
//!
//! 1. runs a job to its end: its progress, then its result;
//! 2. starts a longer job and drops the stream halfway: the server stops
//!    the handler (its `jobs.stats` show it stopped, not finished);
//! 3. streams an answer token by token;
//! 4. stops reading another answer halfway, likewise.
//!
//! `cargo run -p jobs -- --serve` only serves (on `PORT`, default 3001),
//! for other clients such as the TypeScript one; `--typescript` prints
//! that client's generated module, `--schema` the API's JSON Schema.

use futures_util::StreamExt;
use jobs::{JobInput, JobUpdate, Jobs, JobsApp, JobsClient, Question};
use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;
use zocket::client::Client;

type Error = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        None => demo().await,
        Some("--serve") => serve().await,
        Some("--schema") => {
            println!("{}", serde_json::to_string_pretty(&Jobs::schema())?);
            Ok(())
        }
        Some("--typescript") => {
            print!("{}", Jobs::typescript());
            Ok(())
        }
        Some("--help" | "-h") => {
            println!(
                "usage: jobs           run the demo (a server and a client in this process)\n       \
                 jobs --serve   serve on PORT (default 3001) until Ctrl-C\n       \
                 jobs --schema       print the API's JSON Schema\n       \
                 jobs --typescript   print the TypeScript client module"
            );
            Ok(())
        }
        Some(other) => Err(format!("unknown argument `{other}`: try --help").into()),
    }
}

async fn serve() -> Result<(), Error> {
    let port = match std::env::var("PORT") {
        Ok(port) => port
            .parse::<u16>()
            .map_err(|_| format!("PORT must be a port number (0-65535), not `{port}`"))?,
        Err(_) => 3001,
    };
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|err| {
            format!("cannot listen on 127.0.0.1:{port} ({err}): pick another with PORT")
        })?;
    // The real address (also when PORT=0), on stdout for tools to read.
    println!("jobs on ws://{}/", listener.local_addr()?);
    let server = Jobs::server_with_context(JobsApp::default(), ()).build()?;
    server.serve_listener(listener).await?;
    Ok(())
}

async fn demo() -> Result<(), Error> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("ws://{}/", listener.local_addr()?);
    let server = Jobs::server_with_context(JobsApp::default(), ()).build()?;
    tokio::spawn(server.serve_listener(listener));
    let client = Client::connect(&url, &BTreeMap::<String, String>::new()).await?;
    let jobs = JobsClient::from_client(client);

    println!("1. A job of 10 steps, to its end:");
    let mut job = jobs
        .run(&JobInput {
            steps: 10,
            step_ms: 50,
        })
        .await?;
    while let Some(update) = job.next().await {
        match update? {
            JobUpdate::Progress { step, of } => println!("   progress {step}/{of}"),
            JobUpdate::Done { result } => println!("   done: result {result}"),
        }
    }

    println!("2. A job of 20 steps, dropped after step 10:");
    let mut job = jobs
        .run(&JobInput {
            steps: 20,
            step_ms: 50,
        })
        .await?;
    while let Some(update) = job.next().await {
        if let JobUpdate::Progress { step, of } = update? {
            println!("   progress {step}/{of}");
            if step == 10 {
                break;
            }
        }
    }
    drop(job);
    settled(&jobs, 1).await?;

    println!("3. An answer, token by token:");
    let mut answer = jobs
        .answer(&Question {
            text: "what is a stream?".into(),
            token_ms: 30,
        })
        .await?;
    print!("   ");
    while let Some(token) = answer.next().await {
        print!("{}", token?.text);
        std::io::stdout().flush()?;
    }
    println!();

    println!("4. Another answer, dropped after 6 tokens:");
    let answer = jobs
        .answer(&Question {
            text: "and when I stop reading?".into(),
            token_ms: 30,
        })
        .await?;
    print!("   ");
    let mut tokens = answer.take(6);
    while let Some(token) = tokens.next().await {
        print!("{}", token?.text);
        std::io::stdout().flush()?;
    }
    println!(" ...");
    drop(tokens);
    settled(&jobs, 2).await?;
    jobs.client().close().await;
    Ok(())
}

/// Waits until the server's handlers have stopped `stopped` times in all
/// and none runs, then prints what its `jobs.stats` say.
async fn settled(jobs: &JobsClient, stopped: u64) -> Result<(), Error> {
    for _ in 0..100 {
        let stats = jobs.stats().await?;
        if stats.stopped >= stopped && stats.running == 0 {
            println!(
                "   server: {} running, {} finished, {} stopped before their end",
                stats.running, stats.finished, stats.stopped
            );
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Err("the server did not stop the cancelled handler".into())
}
