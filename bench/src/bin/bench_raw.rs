//! The raw axum benchmark server: `bench-raw --port 3001` (or `PORT`).

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port = zocket_bench::wire::port()?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("raw listening on {}", listener.local_addr()?);
    axum::serve(listener, zocket_bench::raw::app()).await?;
    Ok(())
}
