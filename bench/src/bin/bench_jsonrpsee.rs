//! The jsonrpsee benchmark server (the peer): `bench-jsonrpsee --port 3002`
//! (or `PORT`).

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let port = zocket_bench::wire::port()?;
    let (addr, handle) =
        zocket_bench::jsonrpsee_server::serve(std::net::SocketAddr::from(([127, 0, 0, 1], port)))
            .await?;
    println!("jsonrpsee listening on {addr}");
    handle.stopped().await;
    Ok(())
}
