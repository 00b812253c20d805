//! The writer task: drains the outbound queue into the socket, batching
//! what is queued into one flush, numbering events, and ending with the
//! close frame the connection task asks for.

use super::link::Take;
use super::{DisconnectReason, Link, Outbound};
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::SinkExt;
use futures_util::stream::SplitSink;
use std::collections::VecDeque;
use std::sync::Arc;

pub(crate) async fn run(mut sink: SplitSink<WebSocket, Message>, link: Arc<Link>) {
    write(&mut sink, &link).await;
    link.writer_gone();
}

async fn write(sink: &mut SplitSink<WebSocket, Message>, link: &Link) {
    // Reused from batch to batch: an idle connection keeps one small buffer.
    let mut batch = VecDeque::new();
    loop {
        let take = std::future::poll_fn(|cx| link.poll_take(cx, &mut batch)).await;
        let mut result = Ok(());
        for out in batch.drain(..) {
            if result.is_ok() {
                result = sink.feed(message(out)).await;
            }
        }
        match take {
            Take::Frames => {
                if let Err(err) = result.and(sink.flush().await) {
                    link.stop(DisconnectReason::Error(format!("write failed: {err}")));
                    return;
                }
            }
            Take::Close(None) => {
                let _ = sink.flush().await;
                return;
            }
            Take::Close(Some(((code, reason), _))) => {
                if result.is_ok() {
                    let frame = CloseFrame {
                        code,
                        reason: reason.into(),
                    };
                    let _ = sink.send(Message::Close(Some(frame))).await;
                }
                return;
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
