//! Run with `cargo run -p chat`, then open <http://127.0.0.1:3000>
//! (set `PORT` for another port). `cargo run -p chat -- --schema` prints
//! the API's JSON Schema instead.

#[tokio::main]
async fn main() -> std::io::Result<()> {
    if std::env::args().any(|arg| arg == "--schema") {
        let schema =
            serde_json::to_string_pretty(&chat::Chat::schema()).map_err(std::io::Error::other)?;
        println!("{schema}");
        return Ok(());
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let port: u16 = match std::env::var("PORT") {
        Ok(port) => port.parse().map_err(|_| {
            std::io::Error::other(format!("PORT must be a port number, got {port:?}"))
        })?,
        Err(_) => 3000,
    };
    let metrics = chat::install_metrics().map_err(std::io::Error::other)?;
    let server = chat::server();
    let app = chat::routes_with_metrics(&server, metrics);
    let handle = server.handle();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!(
        "chat on http://127.0.0.1:{port} (WebSocket at /ws, metrics at /metrics); Ctrl-C to stop"
    );
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        handle.shutdown().await;
    });
    // With zocket's protections: a deadline for request heads, peer addresses.
    server.serve_app(listener, app).await
}
