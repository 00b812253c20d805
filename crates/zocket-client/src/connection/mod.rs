//! One live connection: a reader dispatching the server's frames and a
//! writer draining the client's commands, run concurrently until the
//! connection ends.

mod reader;
mod writer;

use crate::error::CallError;
use crate::shared::Shared;
use futures_util::Sink;
use futures_util::stream::BoxStream;
use std::pin::Pin;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::{self, Message, Utf8Bytes};
use zocket_protocol::Ready;

/// How long closing may wait for the server's close frame.
pub(crate) const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// The writing half of a socket.
pub(crate) type FrameSink = Pin<Box<dyn Sink<Message, Error = tungstenite::Error> + Send>>;
/// The reading half of a socket.
pub(crate) type FrameStream = BoxStream<'static, Result<Message, tungstenite::Error>>;

/// An open socket whose `__ready` has been read.
pub(crate) struct Connection {
    pub(crate) sink: FrameSink,
    pub(crate) stream: FrameStream,
    pub(crate) ready: Ready,
}

/// What the handles ask of the task, in order.
#[derive(Debug)]
pub(crate) enum Command {
    /// Send a message; `ack` says whether it was sent or queued.
    Message {
        frame: Utf8Bytes,
        ack: oneshot::Sender<Result<(), CallError>>,
    },
    /// Send call `id` (its frame is in [`Pending`](crate::pending::Pending)).
    Call(u64),
    /// Tell the server to stop call `id` (`__cancel`): its caller gave up
    /// on it (dropped, or timed out) after it was sent.
    Cancel(u64),
    /// Send a stream's grant of credit (`__credit`). Not queued while
    /// offline: every open stream's latest grant is sent on connecting.
    Credit(Utf8Bytes),
    /// Close with 1000, after the frames queued before.
    Close,
}

/// How a live connection ended.
#[derive(Debug, PartialEq)]
pub(crate) enum End {
    /// The client closed it (or every handle was dropped, or aborted).
    Closed,
    /// The server closed it, with this close code and reason, or it
    /// dropped (no code).
    Dropped { code: Option<u16>, reason: String },
}

/// Runs a live connection until it ends: frames from the server are
/// dispatched, the client's commands are written.
pub(crate) async fn serve(
    connection: &mut Connection,
    commands: &mut mpsc::Receiver<Command>,
    shared: &Shared,
) -> End {
    let reader = reader::read(&mut connection.stream, shared);
    let writer = writer::write(&mut connection.sink, commands, shared);
    let aborted = shared.aborted();
    tokio::pin!(reader, writer, aborted);
    tokio::select! {
        () = &mut aborted => End::Closed,
        (code, reason) = &mut reader => End::Dropped { code, reason },
        closing = &mut writer => {
            // Read on until the server's close frame ends the stream.
            let read_on = async {
                tokio::select! {
                    () = &mut aborted => None,
                    read = tokio::time::timeout(CLOSE_TIMEOUT, &mut reader) => read.ok(),
                }
            };
            match (closing, read_on.await) {
                (true, _) => End::Closed,
                (false, Some((code, reason))) => End::Dropped { code, reason },
                (false, None) => End::Dropped { code: None, reason: String::new() },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::served;

    #[tokio::test(start_paused = true)]
    async fn close_gives_up_on_a_silent_server() {
        let s = served();
        s.commands.send(Command::Close).await.unwrap();
        assert_eq!(s.end.await.unwrap(), End::Closed);
        drop(s.peer);
    }

    #[tokio::test(start_paused = true)]
    async fn a_link_that_brings_nothing_for_the_liveness_window_counts_as_dropped() {
        let s = served();
        let started = tokio::time::Instant::now();
        // Pings every 20 s keep it alive well past the 45 s window.
        for _ in 0..5 {
            tokio::time::sleep(Duration::from_secs(20)).await;
            let _ = s.peer.incoming.send(Ok(Message::Ping(Default::default())));
        }
        assert!(!s.end.is_finished(), "alive while the server pings");
        // Then nothing: dropped once the window has passed, as a lost link.
        let end = s.end.await.unwrap();
        assert_eq!(
            end,
            End::Dropped {
                code: None,
                reason: String::new()
            }
        );
        assert_eq!(started.elapsed(), Duration::from_secs(100 + 45));
        drop(s.peer);
    }

    #[tokio::test]
    async fn abort_stops_at_once() {
        let s = served();
        s.shared.abort();
        assert_eq!(s.end.await.unwrap(), End::Closed);
        drop(s.peer);
    }
}
