//! Cancelling a call: a `__cancel` frame (or, in the Rust client, dropping
//! the call's future or its timeout passing) stops the handler, whose
//! future is dropped, and the call's one reply is `CANCELLED`.

use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, mpsc};
use zocket::{ClientId, Ctx, NoHeaders, Router, RpcError, Server};
use zocket_client::Client;
use zocket_tests::{TestClient, serve, within};

/// Signals when the handler's future is dropped: it stopped working.
struct Stopped(mpsc::UnboundedSender<u32>, u32);

impl Drop for Stopped {
    fn drop(&mut self) {
        let _ = self.0.send(self.1);
    }
}

struct Lab {
    url: String,
    started: Arc<Notify>,
    stopped: mpsc::UnboundedReceiver<u32>,
}

/// A server whose `work` call runs until it is stopped.
async fn lab() -> Lab {
    let started = Arc::new(Notify::new());
    let (tx, stopped) = mpsc::unbounded_channel();
    let (go, tx) = (started.clone(), tx);
    let router = Router::new()
        .call("work", move |_ctx: Ctx<()>, n: u32| {
            let (go, guard) = (go.clone(), Stopped(tx.clone(), n));
            async move {
                let _guard = guard;
                go.notify_one();
                // Work that never ends on its own.
                std::future::pending::<()>().await;
                Ok::<_, RpcError>(n)
            }
        })
        .call("quick", |_ctx: Ctx<()>, n: u32| async move {
            Ok::<_, RpcError>(n)
        });
    let server = Server::builder(router)
        .on_connect(|_: Arc<NoHeaders>, _: ClientId| async { Ok(()) })
        .build()
        .expect("valid");
    let (addr, _) = serve(server).await;
    Lab {
        url: format!("ws://{addr}/"),
        started,
        stopped,
    }
}

#[tokio::test]
async fn a_cancel_frame_stops_the_handler_and_the_call_gets_cancelled() {
    let mut lab = lab().await;
    let mut c = TestClient::connect(&lab.url).await;
    let id = c.start_call("work", json!(7)).await;
    within("the handler to start", lab.started.notified()).await;
    c.send_json(json!({"type": "__cancel", "rpcId": id})).await;
    let reply = c.reply(&id).await;
    assert_eq!(reply["type"], "__rpc_err");
    assert_eq!(reply["error"]["code"], "CANCELLED");
    assert_eq!(
        within("the handler to stop", lab.stopped.recv()).await,
        Some(7)
    );
    // Cancelling again, or a call that is not running, does nothing; the
    // connection goes on.
    c.send_json(json!({"type": "__cancel", "rpcId": id})).await;
    c.send_json(json!({"type": "__cancel", "rpcId": "unknown"}))
        .await;
    assert_eq!(c.call_ok("quick", json!(3)).await, 3);
    // Without the rpcId of a call, it is bad input, answered as such.
    c.send_json(json!({"type": "__cancel"})).await;
    let err = c.next_of("__error").await;
    assert_eq!(err["error"]["code"], "BAD_REQUEST");
}

#[tokio::test]
async fn the_rust_client_cancels_a_call_whose_future_is_dropped_or_times_out() {
    let mut lab = lab().await;
    let client = within("connect", Client::connect(&lab.url, &json!({})))
        .await
        .expect("connected");
    let call = tokio::spawn({
        let client = client.clone();
        async move { client.call::<_, u32>("work", &1).await }
    });
    within("the handler to start", lab.started.notified()).await;
    call.abort();
    assert_eq!(
        within("the handler to stop", lab.stopped.recv()).await,
        Some(1)
    );

    let timed_out = client
        .call_with_timeout::<_, u32>("work", &2, Duration::from_millis(50))
        .await;
    assert!(matches!(
        timed_out,
        Err(zocket_client::CallError::Timeout(_))
    ));
    assert_eq!(
        within("the handler to stop", lab.stopped.recv()).await,
        Some(2)
    );
    // The client goes on.
    assert_eq!(
        client.call::<_, u32>("quick", &5).await.expect("a reply"),
        5
    );
}

#[tokio::test]
async fn the_calls_of_a_session_that_ends_stop() {
    let mut lab = lab().await;
    let mut c = TestClient::connect(&lab.url).await;
    c.start_call("work", json!(9)).await;
    within("the handler to start", lab.started.notified()).await;
    // A close frame from the client ends the session: nobody will read
    // the reply, so the handler is stopped rather than left to its timeout.
    c.close().await;
    assert_eq!(
        within("the handler to stop", lab.stopped.recv()).await,
        Some(9)
    );
}
