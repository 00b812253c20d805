//! The reader loop: heartbeats, the stop signal, the rate limit, and each
//! text frame handed to the layer above in arrival order.

use super::rate::{Bucket, Verdict};
use super::{Conn, Inbound};
use crate::protocol::{RpcError, error_frame};
use crate::registry::{DisconnectReason, Outbound};
use axum::extract::ws::Message;
use futures_util::{Stream, StreamExt};
use std::pin::Pin;
use std::task::Poll;
use tokio::time::{Instant, Sleep, sleep_until};
use zocket_protocol::ErrorCode;

pub(crate) struct Reader<'a, C, I> {
    conn: &'a Conn<C>,
    inbound: &'a I,
    rate: Option<Bucket>,
}

impl<'a, C: Send + Sync + 'static, I: Inbound<C>> Reader<'a, C, I> {
    pub(crate) fn new(conn: &'a Conn<C>, inbound: &'a I) -> Self {
        Self {
            conn,
            inbound,
            rate: conn.session.hub.config.rate_limit.map(Bucket::new),
        }
    }

    /// Reads until the connection ends, and says why it did.
    pub(crate) async fn run<S>(mut self, stream: &mut S) -> DisconnectReason
    where
        S: Stream<Item = Result<Message, axum::Error>> + Unpin,
    {
        let config = &self.conn.session.hub.config;
        let link = &*self.conn.link;
        // The opening ping: a client that answers nothing, not even this,
        // within the open timeout never completed its side of the upgrade.
        let now = Instant::now();
        link.push(Outbound::Ping);
        let mut opened = false;
        let mut next_ping = now + config.ping_interval;
        let mut pong_deadline = Some(now + config.open_timeout.min(config.pong_timeout));
        let timer = sleep_until(pong_deadline.map_or(next_ping, |d| d.min(next_ping)));
        tokio::pin!(timer);
        // Whether the timer needs a poll to register with the runtime.
        let mut fresh = true;
        // From here on, a stop wakes this task; the loop then only reads a flag.
        std::future::poll_fn(|cx| {
            link.register_reader(cx.waker());
            Poll::Ready(())
        })
        .await;
        loop {
            tokio::select! {
                biased;
                () = link.stopped() => return link.stop_reason(),
                () = heartbeat(timer.as_mut(), &mut fresh) => {
                    let now = Instant::now();
                    if pong_deadline.is_some_and(|deadline| now >= deadline) {
                        return if opened {
                            DisconnectReason::HeartbeatTimeout
                        } else {
                            DisconnectReason::OpeningTimeout
                        };
                    }
                    if now >= next_ping {
                        link.push(Outbound::Ping);
                        pong_deadline.get_or_insert(now + config.pong_timeout);
                        next_ping = now + config.ping_interval;
                    }
                    let wake = pong_deadline.map_or(next_ping, |deadline| deadline.min(next_ping));
                    timer.as_mut().reset(wake);
                    fresh = true;
                }
                frame = stream.next() => {
                    // Any frame proves the peer is alive.
                    pong_deadline = None;
                    opened = true;
                    let frame = match frame {
                        None => return DisconnectReason::ClientClosed { code: None, reason: String::new() },
                        Some(Err(err)) => return transport_error(err),
                        Some(Ok(frame)) => frame,
                    };
                    // Backpressure: while the answers to this client's
                    // earlier frames wait for it to read them, nothing more
                    // is read from it (TCP pushes back on the client).
                    // A client that does not read for a whole pong timeout
                    // meanwhile is a slow consumer: it holds nothing longer.
                    if matches!(frame, Message::Text(_) | Message::Binary(_)) && link.is_backed_up() {
                        tokio::select! {
                            biased;
                            () = link.stopped() => return link.stop_reason(),
                            drained = tokio::time::timeout(config.pong_timeout, link.drained()) => {
                                if drained.is_err() {
                                    tracing::warn!(client = link.id.short(), "the client reads nothing: closing slow consumer");
                                    return DisconnectReason::SlowConsumer;
                                }
                            }
                        }
                    }
                    let admitted = match (&frame, self.rate.as_mut()) {
                        (Message::Text(_) | Message::Binary(_), Some(bucket)) => match bucket.take() {
                            Verdict::Allow => true,
                            Verdict::Refuse => false,
                            Verdict::Abuse => return DisconnectReason::RateLimited,
                        },
                        _ => true,
                    };
                    match frame {
                        Message::Text(text) => {
                            if let Some(reason) = self.inbound.on_text(self.conn, text, admitted).await {
                                return reason;
                            }
                        }
                        Message::Binary(_) => {
                            let err = if admitted {
                                RpcError::bad_request("binary frames are not supported: send JSON text frames")
                            } else {
                                RpcError::new(ErrorCode::RATE_LIMITED, "too many messages: slow down")
                            };
                            link.push(Outbound::Text(error_frame(None, None, &err).into()));
                        }
                        Message::Ping(_) | Message::Pong(_) => {}
                        Message::Close(frame) => {
                            // A close frame without a status code (a
                            // browser's `ws.close()`) is still a close on
                            // purpose: 1005, "no status received".
                            return DisconnectReason::ClientClosed {
                                code: Some(frame.as_ref().map_or(1005, |f| f.code)),
                                reason: frame.map(|f| f.reason.to_string()).unwrap_or_default(),
                            };
                        }
                    }
                }
            }
        }
    }
}

/// The heartbeat timer, polled only when it may have fired: once after
/// each reset (which registers it with the runtime's timer), then only
/// once it has elapsed. A busy connection spares a timer poll per frame.
fn heartbeat<'t>(
    mut timer: Pin<&'t mut Sleep>,
    fresh: &'t mut bool,
) -> impl Future<Output = ()> + 't {
    std::future::poll_fn(move |cx| {
        if std::mem::take(fresh) || timer.is_elapsed() {
            timer.as_mut().poll(cx)
        } else {
            Poll::Pending
        }
    })
}

/// A read error: an oversized message, or the transport failing.
fn transport_error(err: axum::Error) -> DisconnectReason {
    let err = err.into_inner();
    let gone = DisconnectReason::ClientClosed {
        code: None,
        reason: String::new(),
    };
    match err.downcast_ref::<tungstenite::Error>() {
        Some(tungstenite::Error::Capacity(_)) => DisconnectReason::MessageTooLarge,
        Some(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed) => gone,
        Some(tungstenite::Error::Protocol(
            tungstenite::error::ProtocolError::ResetWithoutClosingHandshake,
        )) => gone,
        Some(tungstenite::Error::Utf8(_)) => DisconnectReason::InvalidUtf8,
        Some(tungstenite::Error::Protocol(violation)) => {
            DisconnectReason::ProtocolViolation(violation.to_string())
        }
        _ => DisconnectReason::Error(err.to_string()),
    }
}
