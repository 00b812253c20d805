//! Connections cut by a fault-injecting proxy while events flow and calls
//! run: with session recovery, nothing is lost, duplicated or reordered,
//! and no call runs twice.

use futures_util::StreamExt;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use zocket::{ClientId, Ctx, Event, NoHeaders, Router, RpcError, Server, ServerHandle};
use zocket_tests::proxy::{Fault, Proxy};
use zocket_tests::{TestClient, serve, within};

const NOTE: Event<Value> = Event::new("note");

async fn start() -> (Proxy, ServerHandle<()>, Arc<AtomicUsize>) {
    let executed = Arc::new(AtomicUsize::new(0));
    let counter = executed.clone();
    let router = Router::new()
        .call("join", |ctx: Ctx<()>, room: String| async move {
            ctx.join(&room)
        })
        .call("count", move |_: Ctx<()>, n: u64| {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                Ok::<_, RpcError>(n)
            }
        });
    let server = Server::builder(router)
        .on_connect(|_: Arc<NoHeaders>, _: ClientId| async { Ok(()) })
        .build()
        .expect("valid");
    let (addr, handle) = serve(server).await;
    (Proxy::start(addr).await, handle, executed)
}

/// Reads note events until `count` new ones arrived, checking that each is
/// the next one: seq and payload both `last + 1`.
async fn read_in_order(c: &mut TestClient, last: &mut u64, count: usize) {
    for _ in 0..count {
        let event = c.next_of("note").await;
        let expected = *last + 1;
        assert_eq!(
            event["seq"].as_u64(),
            Some(expected),
            "no gap, no duplicate: {event}"
        );
        assert_eq!(
            event["payload"].as_u64(),
            Some(expected),
            "in order: {event}"
        );
        *last = expected;
    }
}

#[tokio::test]
async fn a_hundred_drops_while_events_flow_lose_and_duplicate_nothing() {
    let (proxy, handle, _) = start().await;
    let url = format!("ws://{}/", proxy.addr());
    let mut c = TestClient::connect(&url).await;
    let session = c.ready["sessionId"].as_str().unwrap().to_owned();
    c.call_ok("join", json!("feed")).await;
    let (mut sent, mut last) = (0u64, 0u64);
    for cycle in 0..100 {
        for _ in 0..5 {
            sent += 1;
            handle.emit(NOTE, &json!(sent)).to_room("feed").unwrap();
        }
        read_in_order(&mut c, &mut last, 3).await;
        let mut socket = c.into_inner();
        if cycle % 3 == 0 {
            // The next frame reaches the client half written, then the
            // connection ends: the client reads until it sees that.
            proxy.cut_mid_frame(7);
            sent += 1;
            handle.emit(NOTE, &json!(sent)).to_room("feed").unwrap();
            within("the cut", async {
                while let Some(Ok(frame)) = socket.next().await {
                    assert!(
                        !frame.to_string().contains(&format!("\"payload\":{sent}")),
                        "the cut frame arrived whole"
                    );
                }
            })
            .await;
        } else {
            proxy.cut();
        }
        drop(socket);
        // Events keep coming while the client is away.
        for _ in 0..2 {
            sent += 1;
            handle.emit(NOTE, &json!(sent)).to_room("feed").unwrap();
        }
        c = TestClient::connect(&format!("{url}?sessionId={session}&lastSeq={last}")).await;
        c.set_rpc_prefix(&format!("c{cycle}-"));
        assert_eq!(c.ready["recovered"], true, "cycle {cycle}");
    }
    let missing = usize::try_from(sent - last).unwrap();
    read_in_order(&mut c, &mut last, missing).await;
    assert_eq!(last, sent);
    assert!(
        c.quiet_for(std::time::Duration::from_millis(20))
            .await
            .is_none(),
        "nothing more"
    );
}

#[tokio::test]
async fn calls_in_flight_during_a_drop_run_once_and_are_answered_once() {
    let (proxy, _handle, executed) = start().await;
    let url = format!("ws://{}/", proxy.addr());
    let mut c = TestClient::connect(&url).await;
    let session = c.ready["sessionId"].as_str().unwrap().to_owned();
    // The replies are held by the proxy, then the connection is cut.
    proxy.set(Fault::Stall);
    let ids: Vec<String> = (0..10).map(|n| format!("call-{n}")).collect();
    for (n, id) in ids.iter().enumerate() {
        c.send_json(json!({"type":"count","payload":n,"rpcId":id}))
            .await;
    }
    proxy.cut();
    drop(c.into_inner());
    proxy.set(Fault::None);
    // Whatever reached the server ran; resending everything runs nothing twice.
    let mut c = TestClient::connect(&format!("{url}?sessionId={session}&lastSeq=0")).await;
    assert_eq!(c.ready["recovered"], true);
    for (n, id) in ids.iter().enumerate() {
        c.send_json(json!({"type":"count","payload":n,"rpcId":id}))
            .await;
    }
    for (n, id) in ids.iter().enumerate() {
        assert_eq!(c.reply(id).await["payload"], json!(n));
    }
    assert_eq!(
        executed.load(Ordering::SeqCst),
        10,
        "each call ran exactly once"
    );
    assert!(
        c.quiet_for(std::time::Duration::from_millis(20))
            .await
            .is_none(),
        "each call answered once"
    );
}
