//! The writer, driven by the connection's task beside the reader: drains
//! the outbound queue into the socket, batching what is queued into one
//! flush, numbering events, and ending with the close frame the
//! connection asks for.

use crate::registry::{DisconnectReason, Link, Outbound, Take};
use axum::extract::ws::{CloseFrame, Message};
use futures_util::{Sink, SinkExt};
use std::collections::VecDeque;
use std::fmt::Display;
use std::sync::Arc;

pub(crate) async fn run<Si>(mut sink: Si, link: Arc<Link>)
where
    Si: Sink<Message> + Unpin,
    Si::Error: Display,
{
    write(&mut sink, &link).await;
    link.writer_gone();
}

async fn write<Si>(sink: &mut Si, link: &Link)
where
    Si: Sink<Message> + Unpin,
    Si::Error: Display,
{
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
        Outbound::Event(event, n) => Message::Text(event.frame(n).into()),
        Outbound::Ping => Message::Ping(Default::default()),
    }
}
