//! The socketioxide benchmark server (the peer): `bench-socketioxide
//! --port 3003 [--redis redis://127.0.0.1:6379]` (or `PORT`).

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    zocket_bench::runtime()?.block_on(async {
        let mut args: Vec<String> = std::env::args().skip(1).collect();
        let redis = zocket_bench::wire::take_redis(&mut args)?;
        let port = zocket_bench::wire::port_from(args)?;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        println!("socketioxide listening on {}", listener.local_addr()?);
        zocket_bench::socketioxide_server::serve(listener, redis.as_deref()).await
    })
}
