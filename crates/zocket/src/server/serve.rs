//! Serving on a TCP listener with the protections a public server needs
//! before any WebSocket exists: a deadline for each HTTP request head
//! (slow-header clients), the peer's address for the per-IP limit, and a
//! graceful shutdown that stops accepting first.

use crate::config::Config;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// Accepts connections on `listener` and serves `app` on each until `stop`
/// is cancelled; then lets each HTTP connection finish its request (an
/// upgraded WebSocket is the server's to close).
pub(crate) async fn serve(
    listener: TcpListener,
    app: axum::Router,
    config: &Config,
    stop: CancellationToken,
) -> std::io::Result<()> {
    let header_timeout = config.header_timeout;
    loop {
        let (tcp, peer) = tokio::select! {
            biased;
            () = stop.cancelled() => return Ok(()),
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors, or a connection reset before
                    // it was accepted: the listener is still good.
                    tracing::warn!(%err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = tcp.set_nodelay(true);
        let app = app.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let service =
                hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
                    request.extensions_mut().insert(ConnectInfo(peer));
                    app.clone().oneshot(request)
                });
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .serve_connection(TokioIo::new(tcp), service)
                .with_upgrades();
            tokio::pin!(connection);
            let result = tokio::select! {
                result = connection.as_mut() => result,
                () = stop.cancelled() => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(err) = result {
                tracing::debug!(%err, "HTTP connection ended with an error");
            }
        });
    }
}
