//! `--balance`: a load balancer without sticky sessions, for trying the
//! cluster on one machine. Each TCP connection goes to the next node in
//! turn that accepts it; a node that is down is skipped.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::net::{TcpListener, TcpStream};

/// The nodes of `--balance 3001,3002` (ports on 127.0.0.1).
pub(crate) fn nodes(list: &str) -> Result<Vec<SocketAddr>, String> {
    let nodes: Vec<SocketAddr> = list
        .split(',')
        .map(|port| {
            port.trim()
                .parse::<u16>()
                .map(|port| SocketAddr::from(([127, 0, 0, 1], port)))
                .map_err(|_| format!("--balance takes ports separated by commas, got {port:?}"))
        })
        .collect::<Result<_, _>>()?;
    if nodes.is_empty() {
        return Err("--balance needs at least one port".into());
    }
    Ok(nodes)
}

/// Forwards every connection of `listener` to one of `nodes`, until the
/// process stops.
pub(crate) async fn run(listener: TcpListener, nodes: Vec<SocketAddr>) {
    let next = Arc::new(AtomicUsize::new(0));
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        let (nodes, next) = (nodes.clone(), next.clone());
        tokio::spawn(async move {
            let first = next.fetch_add(1, Ordering::Relaxed);
            for i in 0..nodes.len() {
                let node = nodes[(first + i) % nodes.len()];
                if let Ok(server) = TcpStream::connect(node).await {
                    tracing::debug!(%node, "connection forwarded");
                    let (mut client, mut server) = (client, server);
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    return;
                }
            }
            tracing::warn!("no node accepted a connection");
        });
    }
}
