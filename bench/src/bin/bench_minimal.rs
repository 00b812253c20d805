//! The minimal axum benchmark server (the baseline of the ratios):
//! `bench-minimal --port 3004` (or `PORT`).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    zocket_bench::runtime()?.block_on(async {
        let port = zocket_bench::wire::port()?;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        println!("minimal listening on {}", listener.local_addr()?);
        axum::serve(
            zocket_bench::no_delay(listener),
            zocket_bench::minimal::app(),
        )
        .await?;
        Ok(())
    })
}
