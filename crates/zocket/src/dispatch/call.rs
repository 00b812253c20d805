//! The dispatcher's side of a frame: parse, look up, admit, run, reply.
//!
//! Ordering: frames of one connection are dispatched in arrival order,
//! and each handler is first polled right here, before the next frame is
//! read. So the synchronous part of a handler (everything up to its first
//! `.await` that has to wait) runs in arrival order; a handler that has to
//! wait continues on its own task, concurrently with later ones, up to
//! `max_concurrent_calls` per connection.

use super::route::{Payload, Route};
use super::stream::OpenStream;
use super::{Ctx, Dispatcher};
use crate::connection::{Conn, Inbound};
use crate::metrics::RouteMetrics;
use crate::protocol::{RpcError, error_frame, reply_frame};
use crate::registry::{Begin, DisconnectReason, Outbound, Session, Ticket};
use axum::extract::ws::Utf8Bytes;
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tracing::Instrument;
use zocket_protocol::{Credit, Envelope, ErrorCode, RouteKind};

/// The answer to a client's `__ping`.
const PONG_FRAME: &str = r#"{"type":"__pong"}"#;

impl<C: Send + Sync + 'static> Inbound<C> for Dispatcher<C> {
    async fn on_text(
        &self,
        conn: &Conn<C>,
        text: Utf8Bytes,
        admitted: bool,
    ) -> Option<DisconnectReason> {
        let send_error = |rpc_id: Option<&str>, route: Option<&str>, err: &RpcError| {
            conn.link
                .push(Outbound::Text(error_frame(rpc_id, route, err).into()));
        };
        let max_rpc_id = conn.session.hub.config.max_rpc_id;
        let envelope = match Envelope::parse(text.as_str()) {
            Ok(envelope) => envelope,
            Err(err) => {
                // An over-long id is not echoed: `__error` without it.
                let rpc_id = err.rpc_id.as_deref().filter(|id| id.len() <= max_rpc_id);
                send_error(rpc_id, None, &RpcError::bad_request(err.message));
                return None;
            }
        };
        let rpc_id = envelope.rpc_id.as_deref();
        if rpc_id.is_some_and(|id| id.len() > max_rpc_id) {
            let err = RpcError::bad_request(format!("`rpcId` is over {max_rpc_id} bytes"));
            send_error(None, Some(&envelope.route), &err);
            return None;
        }
        if envelope.route == zocket_protocol::frame::CANCEL {
            // Before the rate limit: it only frees work, and a refusal
            // would be a second reply to the call it names. It gets no
            // reply of its own: the cancelled call's reply says it.
            match rpc_id {
                Some(id) => {
                    conn.session.cancel_call(id);
                }
                None => send_error(
                    None,
                    Some(&envelope.route),
                    &RpcError::bad_request("`__cancel` needs the `rpcId` of the call to cancel"),
                ),
            }
            return None;
        }
        if envelope.route == zocket_protocol::frame::CREDIT {
            // Like `__cancel`: not rate-limited, no reply of its own (an
            // error is an `__error`, never a second reply to the stream).
            let credit = envelope
                .payload
                .and_then(|raw| serde_json::from_str::<Credit>(raw.get()).ok());
            match (rpc_id, credit) {
                (Some(id), Some(credit)) => {
                    conn.session.grant(id, credit);
                }
                (None, _) => send_error(
                    None,
                    Some(&envelope.route),
                    &RpcError::bad_request("`__credit` needs the `rpcId` of its stream"),
                ),
                (Some(_), None) => send_error(
                    None,
                    Some(&envelope.route),
                    &RpcError::bad_request(
                        "`__credit` needs a payload {\"received\": integer, \"window\": integer}",
                    ),
                ),
            }
            return None;
        }
        if !admitted {
            let err = RpcError::new(ErrorCode::RATE_LIMITED, "too many messages: slow down");
            send_error(rpc_id, Some(&envelope.route), &err);
            return None;
        }
        if envelope.route == zocket_protocol::frame::PING {
            // Browsers cannot send WebSocket pings: their liveness check.
            conn.link
                .push(Outbound::Text(Utf8Bytes::from_static(PONG_FRAME)));
            return None;
        }
        let Some(route) = self.routes.get(envelope.route.as_ref()) else {
            let err = RpcError::not_found(format!("no route {}", envelope.route));
            send_error(rpc_id, Some(&envelope.route), &err);
            return None;
        };
        let stream = route.kind == RouteKind::Stream;
        if stream && rpc_id.is_none() {
            let err = RpcError::bad_request(format!(
                "`{}` is a stream: open it with an `rpcId`",
                envelope.route
            ));
            send_error(None, Some(&envelope.route), &err);
            return None;
        }
        let range = envelope
            .payload
            .map(|raw| Payload::range(text.as_str(), raw.get()));
        let rpc_id: Option<Arc<str>> = rpc_id.map(Into::into);
        // Room under the in-flight limit: without it, wait for a permit
        // (reading pauses meanwhile). With it, take none yet: `drive` takes
        // one only for a call that goes on in its own task, so a call that
        // finishes in its first poll never touches the semaphore.
        // Streams are limited by `max_streams` instead: a stream waiting
        // for credit must not keep the reader from reading that credit.
        let running = if stream || conn.calls.available_permits() > 0 {
            None
        } else {
            Some(tokio::select! {
                biased;
                () = conn.link.stopped() => return Some(conn.link.stop_reason()),
                running = conn.calls.clone().acquire_owned() => running.ok()?,
            })
        };
        let mut ticket = Ticket::NONE;
        if let Some(id) = &rpc_id {
            match conn.session.begin_call(id, conn.generation) {
                Begin::Run(run) => ticket = run,
                Begin::Resend(reply) => {
                    conn.link.push(Outbound::Text(reply));
                    return None;
                }
                Begin::Running => return None,
                Begin::Lost => {
                    let err = RpcError::new(
                        ErrorCode::REPLY_LOST,
                        "this call already ran; its reply was not kept for a resend",
                    );
                    send_error(Some(id), Some(&envelope.route), &err);
                    return None;
                }
            }
        }
        let mut ctx = Ctx::new(conn.session.clone(), route.name.clone());
        let mut opened = None;
        if let (true, Some(id)) = (stream, &rpc_id) {
            if !conn.session.is_current(conn.generation) {
                // A connection already replaced: the newer one will open it.
                return None;
            }
            let Some(number) = conn.session.open_stream(id, conn.generation) else {
                let max = conn.session.hub.config.max_streams;
                let err = RpcError::new(
                    ErrorCode::LIMIT_EXCEEDED,
                    format!("a connection runs at most {max} streams at once"),
                )
                .with_data(&serde_json::json!({ "limit": "streams", "max": max }));
                let result = Err(err);
                finish(
                    &conn.session,
                    route,
                    Some((id.clone(), ticket)),
                    result,
                    Instant::now(),
                );
                return None;
            };
            let open = OpenStream {
                rpc_id: id.clone(),
                number,
            };
            ctx = ctx.with_stream(open.clone());
            opened = Some(open);
        }
        // The envelope's borrows end here: the frame moves into the call.
        let call = route.invoke(ctx, Payload::new(text, range));
        let running = match running {
            Some(permit) => Running::Holds(permit),
            None if stream => Running::Unlimited,
            None => Running::Takes(&conn.calls),
        };
        drive(
            &conn.session,
            route,
            call,
            rpc_id.map(|id| (id, ticket)),
            running,
            opened,
        );
        None
    }
}

/// A call's place under the in-flight limit.
enum Running<'a> {
    /// A stream: not counted (`max_streams` limits those).
    Unlimited,
    /// There was room: a permit is taken from here if the call goes on in
    /// a task (nothing was awaited since, so the room is still there).
    Takes(&'a Arc<Semaphore>),
    /// The permit the call waited for.
    Holds(OwnedSemaphorePermit),
}

impl Running<'_> {
    /// The permit a call running in its own task holds until it ends.
    fn permit(self) -> Option<OwnedSemaphorePermit> {
        match self {
            Self::Unlimited => None,
            Self::Takes(calls) => calls.clone().try_acquire_owned().ok(),
            Self::Holds(permit) => Some(permit),
        }
    }
}

/// Polls a call once here; if it has to wait, it goes on in a task.
fn drive<C: Send + Sync + 'static>(
    session: &Arc<Session<C>>,
    route: &Route<C>,
    mut call: BoxFuture<'static, Result<String, RpcError>>,
    rpc_id: Option<(Arc<str>, Ticket)>,
    running: Running<'_>,
    stream: Option<OpenStream>,
) {
    let started = Instant::now();
    let span = tracing::debug_span!("zocket.call", route = &*route.name);
    let first = span.in_scope(|| {
        std::panic::catch_unwind(AssertUnwindSafe(|| {
            call.as_mut().poll(&mut Context::from_waker(Waker::noop()))
        }))
    });
    let is_call = stream.is_none();
    let finished = move |session: &Session<C>, cancelled: bool| {
        if let Some(stream) = &stream {
            session.finish_stream(&stream.rpc_id, stream.number, cancelled);
        }
    };
    match first {
        Ok(Poll::Ready(result)) => {
            finished(session, false);
            finish(session, route, rpc_id, result, started);
        }
        Err(_) => {
            finished(session, false);
            finish(session, route, rpc_id, Err(panicked(&route.name)), started);
        }
        Ok(Poll::Pending) => {
            let running = running.permit();
            let session = session.clone();
            let name = route.name.clone();
            let metrics = route.metrics.clone();
            // Streams run until they end, are cancelled, or their session ends.
            let limit = is_call.then_some(session.hub.config.call_timeout);
            // A call the client can cancel (`__cancel` with its rpcId).
            let cancel = rpc_id.as_ref().map(|(id, _)| session.track_call(id));
            let tracked = cancel.as_ref().map(|(number, _)| *number);
            let task = async move {
                let run = async {
                    let run = AssertUnwindSafe(call).catch_unwind();
                    match limit {
                        Some(limit) => tokio::time::timeout(limit, run).await.map_err(|_| limit),
                        None => Ok(run.await),
                    }
                };
                let cancelled = async {
                    match &cancel {
                        Some((_, token)) => token.cancelled().await,
                        None => std::future::pending().await,
                    }
                };
                let (result, was_cancelled) = tokio::select! {
                    biased;
                    // Dropping the handler's future stops it at its next await.
                    () = cancelled => (Err(RpcError::new(ErrorCode::CANCELLED, "cancelled by the client")), true),
                    outcome = run => (match outcome {
                        Ok(Ok(result)) => result,
                        Ok(Err(_)) => Err(panicked(&name)),
                        Err(limit) => Err(RpcError::new(
                            ErrorCode::TIMEOUT,
                            format!("call timed out after {} ms", limit.as_millis()),
                        )),
                    }, false),
                };
                finished(&session, was_cancelled);
                if let (Some((id, _)), Some(number)) = (&rpc_id, tracked) {
                    session.untrack_call(id, number);
                }
                record(&session, &name, &metrics, rpc_id, result, started);
                drop(running);
            };
            tokio::spawn(task.instrument(span));
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
    route: &Route<C>,
    rpc_id: Option<(Arc<str>, Ticket)>,
    result: Result<String, RpcError>,
    started: Instant,
) {
    record(
        session,
        &route.name,
        &route.metrics,
        rpc_id,
        result,
        started,
    );
}

/// Sends the one reply a call gets, and logs and counts the outcome.
fn record<C: Send + Sync + 'static>(
    session: &Session<C>,
    route: &str,
    metrics: &RouteMetrics,
    rpc_id: Option<(Arc<str>, Ticket)>,
    result: Result<String, RpcError>,
    started: Instant,
) {
    let elapsed = started.elapsed();
    let elapsed_us = elapsed.as_micros() as u64;
    match (&rpc_id, &result) {
        (None, _) => metrics.message(),
        (Some(_), Ok(_)) => metrics.call(None, Some(elapsed.as_secs_f64())),
        (Some(_), Err(err)) => metrics.call(Some(err.code().as_str()), Some(elapsed.as_secs_f64())),
    }
    let client = session.id.short();
    let frame = match result {
        Ok(json) => {
            tracing::debug!(route, client, elapsed_us, outcome = "ok", "call finished");
            rpc_id.as_ref().map(|(id, _)| reply_frame(id, json))
        }
        Err(err) => {
            tracing::debug!(route, client, elapsed_us, outcome = %err.code(), "call finished");
            Some(error_frame(
                rpc_id.as_ref().map(|(id, _)| &**id),
                Some(route),
                &err,
            ))
        }
    };
    match (rpc_id, frame) {
        (Some((id, ticket)), Some(frame)) => session.finish_call(ticket, &id, frame),
        (None, Some(frame)) => session.send(frame),
        (_, None) => {}
    }
}
