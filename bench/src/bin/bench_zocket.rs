//! The zocket benchmark server: `bench-zocket --port 3000` (or `PORT`).

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port = zocket_bench::wire::port()?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("zocket listening on {}", listener.local_addr()?);
    zocket_bench::zocket_server::server()?
        .serve_listener(listener)
        .await?;
    Ok(())
}
