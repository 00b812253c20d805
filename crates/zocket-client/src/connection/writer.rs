//! The writing half of a connection: the client's commands in order, and
//! the close frame last.

use super::{Command, FrameSink};
use crate::shared::Shared;
use futures_util::SinkExt;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use zocket_protocol::CloseCode;

/// Writes the client's commands until a close (asked for, or every handle
/// gone), which it sends last, returning `true`, or until the socket
/// fails, returning `false`.
pub(super) async fn write(
    sink: &mut FrameSink,
    commands: &mut mpsc::Receiver<Command>,
    shared: &Shared,
) -> bool {
    loop {
        let message = match commands.recv().await {
            Some(Command::Message { frame, ack }) => {
                let _ = ack.send(Ok(()));
                Message::Text(frame)
            }
            Some(Command::Call(id)) => match shared.pending.send(id) {
                Some(frame) => Message::Text(frame),
                None => continue,
            },
            Some(Command::Cancel(id)) => Message::text(format!(
                r#"{{"type":"{}","rpcId":"{id}"}}"#,
                zocket_protocol::frame::CANCEL
            )),
            Some(Command::Credit(frame)) => Message::Text(frame),
            Some(Command::Close) | None => {
                let close = Message::Close(Some(CloseFrame {
                    code: CloseCode::NORMAL.get().into(),
                    reason: "".into(),
                }));
                let _ = sink.send(close).await;
                return true;
            }
        };
        if sink.send(message).await.is_err() {
            return false;
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::connection::{Command, End};
    use crate::test_support::{call, served};
    use tokio::sync::oneshot;
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

    #[tokio::test]
    async fn close_sends_queued_frames_then_1000_and_waits_for_the_reply() {
        let mut s = served();
        let (ack, acked) = oneshot::channel();
        s.commands
            .send(Command::Message {
                frame: "a".into(),
                ack,
            })
            .await
            .unwrap();
        let ticket = call(&s.shared);
        s.commands.send(Command::Call(ticket.id())).await.unwrap();
        s.commands.send(Command::Close).await.unwrap();
        assert_eq!(s.peer.outgoing.recv().await.unwrap(), Message::text("a"));
        assert!(acked.await.unwrap().is_ok());
        assert_eq!(
            s.peer.outgoing.recv().await.unwrap(),
            Message::text(ticket.id().to_string())
        );
        let close = s.peer.outgoing.recv().await.unwrap();
        assert!(matches!(close, Message::Close(Some(f)) if f.code == CloseCode::Normal));
        assert!(!s.end.is_finished(), "waiting for the server's close frame");
        s.peer.incoming.send(Ok(Message::Close(None))).unwrap();
        drop(s.peer.incoming);
        assert_eq!(s.end.await.unwrap(), End::Closed);
    }

    #[tokio::test]
    async fn dropping_every_handle_closes_with_1000() {
        let mut s = served();
        drop(s.commands);
        assert!(
            matches!(s.peer.outgoing.recv().await, Some(Message::Close(Some(f))) if f.code == CloseCode::Normal)
        );
        drop(s.peer.incoming);
        assert_eq!(s.end.await.unwrap(), End::Closed);
    }
}
