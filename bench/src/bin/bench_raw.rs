//! The raw axum benchmark server: `bench-raw --port 3001` (or `PORT`).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    zocket_bench::runtime()?.block_on(async {
        let port = zocket_bench::wire::port()?;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        println!("raw listening on {}", listener.local_addr()?);
        axum::serve(zocket_bench::no_delay(listener), zocket_bench::raw::app()).await?;
        Ok(())
    })
}
