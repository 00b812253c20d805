//! A cluster node in its own process, so that a test can kill it with
//! SIGKILL: `REDIS_URL=... cluster-node <label>` prints `listening on
//! <addr>` once it serves, and serves until killed.

use std::io::Write;
use zocket::Config;
use zocket_redis::RedisAdapter;
use zocket_tests::cluster::{Runs, server};

#[tokio::main]
async fn main() {
    let url = std::env::var("REDIS_URL").expect("REDIS_URL");
    let label = std::env::args().nth(1).unwrap_or_else(|| "child".into());
    let adapter = RedisAdapter::connect(&url).await.expect("redis");
    let server = server(&label, &adapter, Runs::default(), Config::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    println!("listening on {addr}");
    std::io::stdout().flush().expect("stdout");
    server.serve_listener(listener).await.expect("serves");
}
