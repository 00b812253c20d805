//! The jsonrpsee benchmark server (the peer): `bench-jsonrpsee --port 3002`
//! (or `PORT`).

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    zocket_bench::runtime()?.block_on(async {
        let port = zocket_bench::wire::port()?;
        let (addr, handle) = zocket_bench::jsonrpsee_server::serve(std::net::SocketAddr::from((
            [127, 0, 0, 1],
            port,
        )))
        .await?;
        println!("jsonrpsee listening on {addr}");
        handle.stopped().await;
        Ok(())
    })
}
