//! Run with `cargo run -p chat`, then open <http://127.0.0.1:3000>
//! (set `PORT` for another port, `PORT=0` for any free one). `cargo run -p
//! chat -- --schema` prints the API's JSON Schema instead, `--typescript`
//! its TypeScript client (`clients/typescript/fixtures/chat.ts`),
//! `--asyncapi` its AsyncAPI 3.0.0 document, `--help` the usage.

mod balance;

use std::io::IsTerminal;
use std::process::ExitCode;

const USAGE: &str = "\
The zocket chat example: a page at /, the WebSocket at /ws, metrics at /metrics.

Usage: cargo run -p chat [-- --schema | --typescript | --asyncapi | --balance PORTS | --help]

  --schema       print the API's JSON Schema and exit
  --typescript   print the API's TypeScript client module and exit
  --asyncapi     print the API's AsyncAPI 3.0.0 document (JSON) and exit
  --balance 3001,3002
                 no server: a load balancer on PORT for the chat nodes on
                 these ports, each connection to the next node up (no
                 sticky sessions), to try a cluster on one machine
  --help         print this and exit

Environment:
  PORT       the port on 127.0.0.1 (default 3000; 0 picks a free one)
  REDIS_URL  run as one node of a cluster: rooms and messages cross to the
             other nodes on this Redis (redis://127.0.0.1:6379), and a
             client that reconnects to another node resumes there
  RUST_LOG   the log filter (default info)";

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("chat: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|arg| arg == "--help" || arg == "-h") {
        println!("{USAGE}");
        return Ok(());
    }
    if args.iter().any(|arg| arg == "--schema") {
        let schema = serde_json::to_string_pretty(&chat::Chat::schema())
            .map_err(|err| format!("the schema does not serialize: {err}"))?;
        println!("{schema}");
        return Ok(());
    }
    if args.iter().any(|arg| arg == "--asyncapi") {
        let document = serde_json::to_string_pretty(&chat::Chat::asyncapi())
            .map_err(|err| format!("the AsyncAPI document does not serialize: {err}"))?;
        println!("{document}");
        return Ok(());
    }
    if args.iter().any(|arg| arg == "--typescript") {
        print!("{}", chat::Chat::typescript());
        return Ok(());
    }
    let balance = match args.as_slice() {
        [flag, ports] if flag == "--balance" => Some(balance::nodes(ports)?),
        [flag] if flag == "--balance" => return Err("--balance needs ports, like 3001,3002".into()),
        [unknown, ..] => return Err(format!("unknown argument {unknown:?} (try --help)")),
        [] => None,
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        // No colour codes in files and pipes.
        .with_ansi(std::io::stdout().is_terminal())
        .init();
    let port: u16 = match std::env::var("PORT") {
        Ok(port) => port
            .parse()
            .map_err(|_| format!("PORT must be a port number (0-65535), got {port:?}"))?,
        Err(_) => 3000,
    };
    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
        Ok(listener) => listener,
        Err(err) if err.kind() == std::io::ErrorKind::AddrInUse => {
            return Err(format!(
                "port {port} is in use: stop what listens there, or pick another port, \
                 for example PORT=3001 cargo run -p chat (PORT=0 picks a free one)"
            ));
        }
        Err(err) => return Err(format!("cannot listen on 127.0.0.1:{port}: {err}")),
    };
    let addr = listener.local_addr().map_err(|err| err.to_string())?;
    if let Some(nodes) = balance {
        println!("balancing http://{addr} over {nodes:?}; Ctrl-C to stop");
        tokio::select! {
            () = balance::run(listener, nodes) => {}
            () = stop_signal() => {}
        }
        return Ok(());
    }
    let metrics = chat::install_metrics().map_err(|err| err.to_string())?;
    let server = match std::env::var("REDIS_URL") {
        Ok(url) => {
            let adapter = zocket_redis::RedisAdapter::connect(&url)
                .await
                .map_err(|err| format!("cannot use REDIS_URL: {err}"))?;
            tracing::info!(node = adapter.node_id(), "a cluster node, on Redis");
            chat::cluster_server(&adapter)
        }
        Err(_) => chat::server(),
    };
    let app = chat::routes_with_metrics(&server, metrics);
    let handle = server.handle();
    println!("chat on http://{addr} (WebSocket at /ws, metrics at /metrics); Ctrl-C to stop");
    tokio::spawn(async move {
        stop_signal().await;
        handle.shutdown().await;
    });
    // With zocket's protections: a deadline for request heads, peer addresses.
    server
        .serve_app(listener, app)
        .await
        .map_err(|err| format!("serving failed: {err}"))
}

/// Ctrl-C, or (on Unix) SIGTERM: what ends the server gracefully (clients
/// get `1001` and reconnect).
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
