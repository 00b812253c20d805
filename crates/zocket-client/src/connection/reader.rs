//! The reading half of a connection: replies go to their calls, events to
//! their streams (each `seq` once), `__error` frames to the error streams.

use super::FrameStream;
use crate::shared::Shared;
use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::Message;
use zocket_protocol::ServerFrame;

/// Dispatches text frames until the stream ends; the server's close
/// code and reason, if it sent a close frame. Reading on after a close
/// frame also sends the close reply.
pub(super) async fn read(stream: &mut FrameStream, shared: &Shared) -> (Option<u16>, String) {
    let mut close = (None, String::new());
    loop {
        // Liveness: the server pings every 25 s by default, so a link that
        // brings nothing at all for the whole window is dead (black-holed),
        // and counts as dropped: the client reconnects.
        let next = match shared.liveness {
            None => stream.next().await,
            Some(window) => match tokio::time::timeout(window, stream.next()).await {
                Ok(next) => next,
                Err(_) => {
                    tracing::debug!(
                        ?window,
                        "no frame within the liveness window: the link is dead"
                    );
                    return (None, String::new());
                }
            },
        };
        let Some(Ok(message)) = next else {
            break;
        };
        match message {
            Message::Text(text) => dispatch(shared, &text),
            Message::Close(Some(frame)) => {
                close = (Some(u16::from(frame.code)), frame.reason.to_string());
            }
            _ => {}
        }
    }
    close
}

/// Hands one server frame to whoever waits for it.
fn dispatch(shared: &Shared, text: &str) {
    match ServerFrame::parse(text) {
        Ok(ServerFrame::Reply { rpc_id, payload }) => shared.pending.resolve(&rpc_id, Ok(payload)),
        Ok(ServerFrame::CallError { rpc_id, error }) => {
            shared.pending.resolve(&rpc_id, Err(Box::new(error)));
        }
        Ok(ServerFrame::Error(error)) => shared.subscriptions.publish_error(error),
        Ok(ServerFrame::Item { rpc_id, n, payload }) => shared.streams.item(&rpc_id, n, payload),
        Ok(ServerFrame::Event {
            name,
            payload,
            seq,
            dropped,
        }) => {
            // An event already received (replayed twice) is not delivered
            // again.
            let fresh = seq.is_none_or(|seq| shared.receive_seq(seq));
            if fresh {
                shared
                    .subscriptions
                    .publish(&name, seq, dropped, payload.get());
            }
        }
        // A second `__ready`, a reserved type this client does not know, a
        // frame added to the protocol later, or a frame it cannot read:
        // nothing waits for it.
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use crate::connection::End;
    use crate::error::EventError;
    use crate::test_support::{call, served};
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::protocol::CloseFrame;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

    #[tokio::test]
    async fn replies_and_events_reach_their_waiters() {
        let s = served();
        let mut call = call(&s.shared);
        let mut events = s.shared.subscriptions.events::<u32>("tick");
        let mut errors = s.shared.subscriptions.errors();
        for frame in [
            r#"{"type":"__unknown"}"#,
            "not json",
            r#"{"type":"tick","payload":1,"seq":1}"#,
            r#"{"type":"__error","error":{"code":"NOT_FOUND","message":"no route x","path":null,"data":null,"route":"x"}}"#,
            r#"{"type":"__rpc_res","rpcId":"999","payload":0}"#,
        ] {
            s.peer.send(frame);
        }
        s.peer.send(&format!(
            r#"{{"type":"__rpc_res","rpcId":"{}","payload":[1]}}"#,
            call.id()
        ));
        assert_eq!(call.reply().await.unwrap().unwrap().get(), "[1]");
        assert_eq!(events.next().await.unwrap().unwrap(), 1);
        let error = errors.next().await.unwrap().unwrap();
        assert_eq!(
            (error.code().as_str(), error.route()),
            ("NOT_FOUND", Some("x"))
        );
        assert_eq!(s.shared.last_seq(), 1);
    }

    #[tokio::test]
    async fn call_errors_reach_their_call_with_the_error_object() {
        let s = served();
        let mut call = call(&s.shared);
        s.peer.send(&format!(
            r#"{{"type":"__rpc_err","rpcId":"{}","error":{{"code":"VALIDATION","message":"bad","path":"qty","data":{{"max":3}}}}}}"#,
            call.id()
        ));
        let error = call.reply().await.unwrap().unwrap_err();
        assert_eq!(error.code(), &zocket_protocol::ErrorCode::VALIDATION);
        assert_eq!((error.message(), error.path()), ("bad", Some("qty")));
        assert_eq!(error.data().map(|d| d.get()), Some(r#"{"max":3}"#));
    }

    #[tokio::test]
    async fn events_already_received_are_not_delivered_again() {
        let s = served();
        let mut events = s.shared.subscriptions.events::<u32>("tick");
        for frame in [
            r#"{"type":"tick","payload":1,"seq":1}"#,
            r#"{"type":"tick","payload":2,"seq":2}"#,
            r#"{"type":"tick","payload":1,"seq":1}"#,
            r#"{"type":"tick","payload":2,"seq":2}"#,
            r#"{"type":"tick","payload":0}"#,
            r#"{"type":"tick","payload":3,"seq":3}"#,
        ] {
            s.peer.send(frame);
        }
        for expected in [1, 2, 0, 3] {
            assert_eq!(events.next().await.unwrap().unwrap(), expected);
        }
        assert_eq!(s.shared.last_seq(), 3);
    }

    #[tokio::test]
    async fn the_server_closing_ends_the_connection_with_its_code() {
        let s = served();
        let mut events = s.shared.subscriptions.events::<u32>("tick");
        s.peer.send(r#"{"type":"tick","payload":"x"}"#);
        let close = CloseFrame {
            code: CloseCode::Away,
            reason: "bye".into(),
        };
        s.peer
            .incoming
            .send(Ok(Message::Close(Some(close))))
            .unwrap();
        drop(s.peer);
        assert_eq!(
            s.end.await.unwrap(),
            End::Dropped {
                code: Some(1001),
                reason: "bye".into()
            }
        );
        // The streams go on: the connection may come back.
        assert!(matches!(
            events.next().await,
            Some(Err(EventError::Decode { .. }))
        ));
        assert!(!s.shared.is_ended());
    }
}
