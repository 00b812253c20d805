//! A client riding through a network cut and a server restart, printing
//! its state changes: `cargo run -p reconnect`. Everything runs in this
//! process on 127.0.0.1: a zocket server, a small TCP relay standing in
//! for the network, and a client connected through the relay.
//!
//! 1. The relay drops the connection: the client reconnects and resumes its
//!    session (`recovered: true`), with the events it missed.
//! 2. The server restarts: the client reconnects to a fresh session
//!    (`recovered: false`) and would resynchronise.

use futures_util::StreamExt;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use zocket::client::{Backoff, Client, State};
use zocket::{ClientId, Ctx, Event, NoHeaders, Router, RpcError, Server, ServerHandle};

const TICK: Event<u64> = Event::new("tick");

/// Serves the demo API on `addr` until the returned handle shuts it down.
async fn start_server(addr: SocketAddr) -> std::io::Result<ServerHandle<()>> {
    let router = Router::new().call("join", |ctx: Ctx<()>, room: String| async move {
        ctx.join(&room)?;
        Ok::<_, RpcError>(())
    });
    let server = Server::builder(router)
        .on_connect(|_: Arc<NoHeaders>, _: ClientId| async { Ok(()) })
        .build()
        .map_err(std::io::Error::other)?;
    let handle = server.handle();
    let listener = TcpListener::bind(addr).await?;
    tokio::spawn(server.serve_listener(listener));
    Ok(handle)
}

/// A TCP relay from a free port to `upstream`; bumping `cuts` drops every
/// connection it carries, as a network failure would.
async fn start_relay(
    upstream: SocketAddr,
    cuts: watch::Receiver<u64>,
) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let mut cuts = cuts.clone();
            cuts.borrow_and_update();
            tokio::spawn(async move {
                let Ok(mut outbound) = TcpStream::connect(upstream).await else {
                    return;
                };
                tokio::select! {
                    _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                    _ = cuts.changed() => {}
                }
            });
        }
    });
    Ok(addr)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server_addr: SocketAddr = {
        let probe = TcpListener::bind("127.0.0.1:0").await?;
        probe.local_addr()?
    };
    let mut server = start_server(server_addr).await?;
    let (cut, cuts) = watch::channel(0u64);
    let relay = start_relay(server_addr, cuts).await?;

    let client = Client::builder()
        .backoff(Backoff::new(
            Duration::from_millis(100),
            Duration::from_secs(2),
            0.3,
        )?)
        .max_retries(10)
        .connect(
            &format!("ws://{relay}/"),
            &BTreeMap::<String, String>::new(),
        )
        .await?;
    let mut states = client.state_changes();
    tokio::spawn(async move {
        while let Some(state) = states.next().await {
            match state {
                State::Reconnecting {
                    attempt,
                    max_attempts,
                    delay,
                } => {
                    println!("state: reconnecting (attempt {attempt}/{max_attempts}, in {delay:?})")
                }
                other => println!("state: {other:?}"),
            }
        }
    });
    let mut ticks = client.events::<u64>("tick");
    client.call::<_, ()>("join", "clock").await?;
    println!("connected as {}", client.ready().client_id);

    // Resolves at the next `Connected` after the connection was lost.
    let wait_connected = |client: &Client| {
        let mut states = client.state_changes();
        async move {
            let mut lost = false;
            while let Some(state) = states.next().await {
                match state {
                    State::Connected { recovered } if lost => return Ok(recovered),
                    State::Connected { .. } => {}
                    _ => lost = true,
                }
                if state.is_final() {
                    return Err(format!("the client stopped: {state:?}"));
                }
            }
            Err("the client stopped".to_owned())
        }
    };

    server.emit(TICK, &1).to_room("clock")?;
    println!("tick {}", ticks.next().await.ok_or("stream ended")??);

    println!("\n-- the network drops the connection; two ticks are sent meanwhile");
    let reconnected = wait_connected(&client);
    cut.send_modify(|n| *n += 1);
    server.emit(TICK, &2).to_room("clock")?;
    server.emit(TICK, &3).to_room("clock")?;
    let recovered = tokio::time::timeout(Duration::from_secs(10), reconnected).await??;
    println!("back, session recovered: {recovered}");
    for _ in 0..2 {
        println!(
            "tick {} (missed while away, replayed once)",
            ticks.next().await.ok_or("stream ended")??
        );
    }

    println!("\n-- the server restarts");
    let reconnected = wait_connected(&client);
    server.shutdown().await;
    server = start_server(server_addr).await?;
    let recovered = tokio::time::timeout(Duration::from_secs(10), reconnected).await??;
    println!("back, session recovered: {recovered} (a fresh session: resynchronise)");
    client.call::<_, ()>("join", "clock").await?;
    server.emit(TICK, &4).to_room("clock")?;
    println!("tick {}", ticks.next().await.ok_or("stream ended")??);

    client.close().await;
    server.shutdown().await;
    Ok(())
}
