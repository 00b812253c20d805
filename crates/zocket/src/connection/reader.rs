//! The reader loop: heartbeats, limits, and dispatch of each frame.
//!
//! Ordering: frames of one connection are dispatched in arrival order,
//! and each handler is first polled right here, before the next frame is
//! read. So the synchronous part of a handler (everything up to its first
//! `.await` that has to wait) runs in arrival order; a handler that has to
//! wait continues on its own task, concurrently with later ones, up to
//! `max_concurrent_calls` per connection.

use super::inflight::{InFlight, Running};
use super::rate::{Bucket, Verdict};
use super::{DisconnectReason, Link, Outbound};
use crate::ctx::Ctx;
use crate::dispatch::{Payload, Route};
use crate::error::RpcError;
use crate::protocol::{Envelope, ErrorCode, error_frame, reply_frame};
use crate::session::{Begin, Session, Ticket};
use axum::extract::ws::{Message, Utf8Bytes, WebSocket};
use futures_util::future::BoxFuture;
use futures_util::stream::SplitStream;
use futures_util::{FutureExt, StreamExt};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use tokio::time::{Instant, sleep_until};
use tracing::Instrument;

pub(crate) struct Reader<'a, C> {
    session: &'a Arc<Session<C>>,
    link: &'a Arc<Link>,
    generation: u64,
    calls: &'a Arc<InFlight>,
    rate: Option<Bucket>,
}

impl<'a, C: Send + Sync + 'static> Reader<'a, C> {
    pub(crate) fn new(
        session: &'a Arc<Session<C>>,
        link: &'a Arc<Link>,
        generation: u64,
        calls: &'a Arc<InFlight>,
    ) -> Self {
        Self {
            session,
            link,
            generation,
            calls,
            rate: session.server.config.rate_limit.map(Bucket::new),
        }
    }

    /// Reads until the connection ends, and says why it did.
    pub(crate) async fn run(mut self, stream: &mut SplitStream<WebSocket>) -> DisconnectReason {
        let config = &self.session.server.config;
        let link = self.link;
        let mut next_ping = Instant::now() + config.ping_interval;
        let mut pong_deadline: Option<Instant> = None;
        let timer = sleep_until(next_ping);
        tokio::pin!(timer);
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
                () = &mut timer => {
                    let now = Instant::now();
                    if pong_deadline.is_some_and(|deadline| now >= deadline) {
                        return DisconnectReason::HeartbeatTimeout;
                    }
                    if now >= next_ping {
                        link.push(Outbound::Ping);
                        pong_deadline.get_or_insert(now + config.pong_timeout);
                        next_ping = now + config.ping_interval;
                    }
                    let wake = pong_deadline.map_or(next_ping, |deadline| deadline.min(next_ping));
                    timer.as_mut().reset(wake);
                }
                frame = stream.next() => {
                    // Any frame proves the peer is alive.
                    pong_deadline = None;
                    let frame = match frame {
                        None => return DisconnectReason::ClientClosed { code: None, reason: String::new() },
                        Some(Err(err)) => return transport_error(err),
                        Some(Ok(frame)) => frame,
                    };
                    match frame {
                        Message::Text(text) => {
                            if let Some(reason) = self.on_text(text).await {
                                return reason;
                            }
                        }
                        Message::Binary(_) => self.send_error(
                            None,
                            None,
                            &RpcError::bad_request("binary frames are not supported: send JSON text frames"),
                        ),
                        Message::Ping(_) | Message::Pong(_) => {}
                        Message::Close(frame) => {
                            return DisconnectReason::ClientClosed {
                                code: frame.as_ref().map(|f| f.code),
                                reason: frame.map(|f| f.reason.to_string()).unwrap_or_default(),
                            };
                        }
                    }
                }
            }
        }
    }

    fn send_error(&self, rpc_id: Option<&str>, route: Option<&str>, err: &RpcError) {
        self.link
            .push(Outbound::Text(error_frame(rpc_id, route, err).into()));
    }

    /// Handles one text frame; `Some` ends the connection.
    async fn on_text(&mut self, text: Utf8Bytes) -> Option<DisconnectReason> {
        let envelope = match Envelope::parse(text.as_str()) {
            Ok(envelope) => envelope,
            Err(err) => {
                self.send_error(
                    err.rpc_id.as_deref(),
                    None,
                    &RpcError::bad_request(err.message),
                );
                return None;
            }
        };
        let rpc_id = envelope.rpc_id.as_deref();
        if let Some(bucket) = &mut self.rate {
            match bucket.take() {
                Verdict::Allow => {}
                Verdict::Refuse => {
                    let err =
                        RpcError::new(ErrorCode::RATE_LIMITED, "too many messages: slow down");
                    self.send_error(rpc_id, Some(&envelope.route), &err);
                    return None;
                }
                Verdict::Abuse => return Some(DisconnectReason::RateLimited),
            }
        }
        let Some(route) = self.session.server.routes.get(envelope.route.as_ref()) else {
            let err = RpcError::not_found(format!("no route {}", envelope.route));
            self.send_error(rpc_id, Some(&envelope.route), &err);
            return None;
        };
        let range = envelope
            .payload
            .map(|raw| Payload::range(text.as_str(), raw.get()));
        let rpc_id: Option<Arc<str>> = rpc_id.map(Into::into);
        let running = match self.calls.try_begin() {
            Some(running) => running,
            None => tokio::select! {
                biased;
                () = self.link.stopped() => return Some(self.link.stop_reason()),
                running = self.calls.begin() => running,
            },
        };
        let mut ticket = Ticket::NONE;
        if let Some(id) = &rpc_id {
            match self.session.begin_call(id, self.generation) {
                Begin::Run(run) => ticket = run,
                Begin::Resend(reply) => {
                    self.link.push(Outbound::Text(reply));
                    return None;
                }
                Begin::Running => return None,
            }
        }
        let ctx = Ctx::new(self.session.clone(), route.name);
        // The envelope's borrows end here: the frame moves into the call.
        let call = route.invoke(ctx, Payload::new(text, range));
        self.drive(route, call, rpc_id.map(|id| (id, ticket)), running);
        None
    }

    /// Polls a call once here; if it has to wait, it goes on in a task.
    fn drive(
        &self,
        route: &Route<C>,
        mut call: BoxFuture<'static, Result<String, RpcError>>,
        rpc_id: Option<(Arc<str>, Ticket)>,
        running: Running,
    ) {
        // The clock is read only when the outcome is logged.
        let started = tracing::enabled!(tracing::Level::DEBUG).then(Instant::now);
        let name = route.name;
        let span = tracing::debug_span!("zocket.call", route = name);
        let first = span.in_scope(|| {
            std::panic::catch_unwind(AssertUnwindSafe(|| {
                call.as_mut().poll(&mut Context::from_waker(Waker::noop()))
            }))
        });
        match first {
            Ok(Poll::Ready(result)) => finish(self.session, name, rpc_id, result, started),
            Err(_) => finish(self.session, name, rpc_id, Err(panicked(name)), started),
            Ok(Poll::Pending) => {
                let session = self.session.clone();
                let limit = session.server.config.call_timeout;
                let task = async move {
                    let result =
                        match tokio::time::timeout(limit, AssertUnwindSafe(call).catch_unwind())
                            .await
                        {
                            Ok(Ok(result)) => result,
                            Ok(Err(_)) => Err(panicked(name)),
                            Err(_) => Err(RpcError::new(
                                ErrorCode::TIMEOUT,
                                format!("call timed out after {} ms", limit.as_millis()),
                            )),
                        };
                    finish(&session, name, rpc_id, result, started);
                    drop(running);
                };
                tokio::spawn(task.instrument(span));
            }
        }
    }
}

fn panicked(route: &str) -> RpcError {
    tracing::error!(route, "handler panicked");
    RpcError::internal()
}

/// Sends the one reply a call gets, and records the outcome.
fn finish<C: Send + Sync + 'static>(
    session: &Session<C>,
    route: &'static str,
    rpc_id: Option<(Arc<str>, Ticket)>,
    result: Result<String, RpcError>,
    started: Option<Instant>,
) {
    let elapsed_us = started.map_or(0, |started| started.elapsed().as_micros() as u64);
    let client = session.id.short();
    let frame = match &result {
        Ok(json) => {
            tracing::debug!(route, client, elapsed_us, outcome = "ok", "call finished");
            rpc_id.as_ref().map(|(id, _)| reply_frame(id, json))
        }
        Err(err) => {
            tracing::debug!(route, client, elapsed_us, outcome = %err.code(), "call finished");
            Some(error_frame(
                rpc_id.as_ref().map(|(id, _)| &**id),
                Some(route),
                err,
            ))
        }
    };
    match (rpc_id, frame) {
        (Some((_, ticket)), Some(frame)) => session.finish_call(ticket, frame),
        (None, Some(frame)) => session.send(frame),
        (_, None) => {}
    }
}

/// A read error: an oversized message, or the transport failing.
fn transport_error(err: axum::Error) -> DisconnectReason {
    let err = err.into_inner();
    match err.downcast_ref::<tungstenite::Error>() {
        Some(tungstenite::Error::Capacity(_)) => DisconnectReason::MessageTooLarge,
        Some(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed) => {
            DisconnectReason::ClientClosed {
                code: None,
                reason: String::new(),
            }
        }
        Some(tungstenite::Error::Protocol(
            tungstenite::error::ProtocolError::ResetWithoutClosingHandshake,
        )) => DisconnectReason::ClientClosed {
            code: None,
            reason: String::new(),
        },
        _ => DisconnectReason::Error(err.to_string()),
    }
}
