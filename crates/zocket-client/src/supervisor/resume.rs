//! Taking a new connection: the session resumed (the calls in flight sent
//! again, with their `rpcId`) or renewed (they fail, and events count from
//! the start again), then the offline queue sent in order.

use super::queue::{Queue, Queued};
use crate::connection::Connection;
use crate::error::{CallError, ConnectError};
use crate::shared::Shared;
use crate::state::State;
use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::Message;

/// Takes the new connection's `__ready`: on a recovered session, sends
/// the calls in flight again (same `rpcId`); on a fresh one, fails them.
/// Then sends the queue in order and reports `Connected`. A frame leaves
/// the queue once written, so a connection that fails meanwhile leaves
/// the rest for the next one.
pub(super) async fn resume(
    connection: &mut Connection,
    shared: &Shared,
    queue: &mut Queue,
) -> Result<(), ConnectError> {
    let recovered = connection.ready.recovered;
    shared.set_ready(connection.ready.clone());
    let pending = &shared.pending;
    let dropped = |_| ConnectError::Disconnected {
        code: None,
        reason: String::new(),
    };
    let cancels = queue.take_cancels();
    if recovered {
        for frame in pending.in_flight() {
            connection
                .sink
                .feed(Message::Text(frame))
                .await
                .map_err(dropped)?;
        }
        // Calls given up on meanwhile may still run on the server.
        for id in cancels {
            let frame = format!(
                r#"{{"type":"{}","rpcId":"{id}"}}"#,
                zocket_protocol::frame::CANCEL
            );
            connection
                .sink
                .feed(Message::text(frame))
                .await
                .map_err(dropped)?;
        }
    } else {
        pending.fail_in_flight(|| CallError::ConnectionLost);
    }
    while let Some(item) = queue.front() {
        let frame = match item {
            Queued::Message(frame) => Some(frame.clone()),
            Queued::Call(id) => pending.send(*id),
        };
        if let Some(frame) = frame {
            connection
                .sink
                .feed(Message::Text(frame))
                .await
                .map_err(dropped)?;
        }
        queue.pop();
    }
    // Each open stream's latest grant, after its open frame: one sent on
    // the lost connection may not have arrived.
    for frame in shared.streams.grants() {
        connection
            .sink
            .feed(Message::Text(frame))
            .await
            .map_err(dropped)?;
    }
    connection.sink.flush().await.map_err(dropped)?;
    shared.states.set(State::Connected { recovered });
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::client::Client;
    use crate::error::CallError;
    use crate::state::State;
    use crate::supervisor::Opener;
    use crate::test_support::{
        builder, connection, cut, headers, ms, ready, reply, spawn_call, start, until,
    };
    use crate::transport::Attempt;
    use futures_util::StreamExt;
    use serde_json::json;
    use tokio::sync::mpsc;

    #[tokio::test(start_paused = true)]
    async fn a_recovered_session_gets_its_calls_resent_and_its_queue_in_order() {
        let (client, peer, mut script) = start(builder()).await;
        let mut states = client.state_changes();
        let mut ticks = client.events::<u32>("tick");
        let first = spawn_call(&client, "slow");
        let mut peer = peer;
        let sent = peer.recv().await;
        assert_eq!(sent["type"], "slow");
        peer.send(r#"{"type":"tick","payload":1,"seq":1}"#);
        peer.send(r#"{"type":"tick","payload":2,"seq":2}"#);
        assert_eq!(ticks.next().await.unwrap().unwrap(), 1);
        assert_eq!(ticks.next().await.unwrap().unwrap(), 2);
        cut(peer);

        until(&mut states, |s| matches!(s, State::Disconnected)).await;
        client.message("note", "while away").await.unwrap();
        let second = spawn_call(&client, "later");
        let (attempt, mut peer) = script.accept(ready("s1", true)).await;
        assert_eq!(attempt.headers, headers());
        assert_eq!(attempt.session, Some(("s1".into(), 2)));

        // The call in flight first, with its `rpcId`, then the queue.
        assert_eq!(peer.recv().await, sent);
        assert_eq!(
            peer.recv().await,
            json!({"type": "note", "payload": "while away"})
        );
        let later = peer.recv().await;
        assert_eq!(later["type"], "later");
        assert_ne!(later["rpcId"], sent["rpcId"]);
        // A replayed event already seen is not delivered twice.
        peer.send(r#"{"type":"tick","payload":2,"seq":2}"#);
        peer.send(r#"{"type":"tick","payload":3,"seq":3}"#);
        assert_eq!(ticks.next().await.unwrap().unwrap(), 3);
        reply(&peer, &later["rpcId"], json!("b"));
        reply(&peer, &sent["rpcId"], json!("a"));
        assert_eq!(first.await.unwrap().unwrap(), "a");
        assert_eq!(second.await.unwrap().unwrap(), "b");
        assert!(matches!(
            client.state(),
            State::Connected { recovered: true }
        ));
        assert_eq!(client.last_seq(), 3);
        client.close().await;
        drop(peer);

        let seen: Vec<State> = states.collect().await;
        assert!(
            matches!(
                seen.as_slice(),
                [
                    State::Reconnecting { attempt: 1, max_attempts: 5, delay },
                    State::Connected { recovered: true },
                    State::Closed,
                ] if *delay == ms(10)
            ),
            "{seen:?}"
        );
        assert!(script.is_over().await);
    }

    #[tokio::test(start_paused = true)]
    async fn a_fresh_session_fails_the_calls_in_flight() {
        let (client, mut peer, mut script) = start(builder()).await;
        let mut ticks = client.events::<u32>("tick");
        let call = spawn_call(&client, "slow");
        peer.recv().await;
        peer.send(r#"{"type":"tick","payload":5,"seq":5}"#);
        assert_eq!(ticks.next().await.unwrap().unwrap(), 5);
        cut(peer);
        let (attempt, mut peer) = script.accept(ready("s2", false)).await;
        assert_eq!(attempt.session, Some(("s1".into(), 5)));
        assert!(matches!(
            call.await.unwrap(),
            Err(CallError::ConnectionLost)
        ));
        assert_eq!(client.current_session_id(), "s2");
        assert_eq!(client.ready().client_id, "client-s2");
        assert_eq!(client.last_seq(), 0);
        // The fresh session counts from 1 again; the stream goes on.
        peer.send(r#"{"type":"tick","payload":1,"seq":1}"#);
        assert_eq!(ticks.next().await.unwrap().unwrap(), 1);
        let call = spawn_call(&client, "echo");
        let sent = peer.recv().await;
        reply(&peer, &sent["rpcId"], json!(7));
        assert_eq!(call.await.unwrap().unwrap(), 7);
    }

    #[tokio::test(start_paused = true)]
    async fn a_saved_session_is_resumed_from_the_first_connection() {
        let (tx, mut attempts) = mpsc::unbounded_channel();
        let open: Opener = Box::new(move |attempt| {
            let (live, peer) = connection(ready("saved", true));
            let _ = tx.send((attempt, peer));
            Box::pin(async move { Ok(live) })
        });
        let client: Client = builder()
            .session("saved", 7)
            .connect_with(open, headers())
            .await
            .unwrap();
        let (first, peer): (Attempt, _) = attempts.recv().await.unwrap();
        assert_eq!(first.session, Some(("saved".into(), 7)));
        assert!(matches!(
            client.state(),
            State::Connected { recovered: true }
        ));
        assert_eq!(client.current_session_id(), "saved");
        assert_eq!(client.last_seq(), 7);
        let mut ticks = client.events::<u32>("tick");
        // A replayed event already seen is skipped.
        peer.send(r#"{"type":"tick","payload":7,"seq":7}"#);
        peer.send(r#"{"type":"tick","payload":8,"seq":8}"#);
        assert_eq!(ticks.next().await.unwrap().unwrap(), 8);
        assert_eq!(client.last_seq(), 8);
    }
}
