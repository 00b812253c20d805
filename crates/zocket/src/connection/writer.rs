//! The writer task: drains the outbound queue into the socket, batching
//! what is queued into one flush, numbering events, and ending with the
//! close frame the connection task asks for.

use super::{DisconnectReason, Link, Outbound};
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::SinkExt;
use futures_util::stream::SplitSink;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// The close frame to send, and whether queued frames go out first.
pub(crate) type CloseCommand = Option<((u16, String), bool)>;

/// Frames written per flush at most.
const BATCH: usize = 64;

pub(crate) async fn run(
    mut sink: SplitSink<WebSocket, Message>,
    mut rx: mpsc::Receiver<Outbound>,
    mut close: oneshot::Receiver<CloseCommand>,
    link: Arc<Link>,
) {
    loop {
        tokio::select! {
            biased;
            command = &mut close => {
                let Some(((code, reason), flush_first)) = command.ok().flatten() else {
                    let _ = sink.flush().await;
                    return;
                };
                if flush_first {
                    while let Ok(out) = rx.try_recv() {
                        if sink.feed(message(out)).await.is_err() {
                            return;
                        }
                    }
                }
                let frame = CloseFrame { code, reason: reason.into() };
                let _ = sink.send(Message::Close(Some(frame))).await;
                return;
            }
            out = rx.recv() => {
                let Some(out) = out else { return };
                let mut result = sink.feed(message(out)).await;
                for _ in 1..BATCH {
                    if result.is_err() {
                        break;
                    }
                    match rx.try_recv() {
                        Ok(out) => result = sink.feed(message(out)).await,
                        Err(_) => break,
                    }
                }
                if let Err(err) = result.and(sink.flush().await) {
                    link.stop(DisconnectReason::Error(format!("write failed: {err}")));
                    return;
                }
            }
        }
    }
}

fn message(out: Outbound) -> Message {
    match out {
        Outbound::Text(text) => Message::Text(text),
        Outbound::Event(event, seq) => Message::Text(event.with_seq(seq).into()),
        Outbound::Ping => Message::Ping(Default::default()),
    }
}
