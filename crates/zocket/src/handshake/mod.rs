//! The HTTP side of a connection: limits, header validation and
//! `on_before_connect`, all before the upgrade.

mod headers;

pub(crate) use headers::HeaderSchema;
pub use headers::{HeaderIssue, NoHeaders};

use crate::connection::{self, Start};
use crate::error::{Close, Reject};
use crate::ids::ClientId;
use crate::protocol::ErrorCode;
use crate::server::{Shared, Slot};
use crate::session::Session;
use axum::Json;
use axum::extract::ws::{WebSocketUpgrade, rejection::WebSocketUpgradeRejection};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use serde_json::json;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

/// The `on_before_connect` hook, type-erased.
pub(crate) type BeforeHook<H> =
    Arc<dyn Fn(Arc<H>) -> BoxFuture<'static, Result<(), Reject>> + Send + Sync>;
/// The `on_connect` hook, type-erased.
pub(crate) type ConnectHook<H, C> =
    Arc<dyn Fn(Arc<H>, ClientId) -> BoxFuture<'static, Result<C, Close>> + Send + Sync>;

pub(crate) struct Handshaker<H, C> {
    pub(crate) schema: HeaderSchema<H>,
    pub(crate) before: Option<BeforeHook<H>>,
    pub(crate) connect: ConnectHook<H, C>,
    pub(crate) shared: Arc<Shared<C>>,
}

fn error_response(status: StatusCode, code: &ErrorCode, message: &str) -> Response {
    (
        status,
        Json(json!({ "error": { "code": code, "message": message } })),
    )
        .into_response()
}

/// Answers one upgrade request: a refusal, or `101` and a connection task.
pub(crate) async fn handshake<H, C>(
    handshaker: Arc<Handshaker<H, C>>,
    uri: Uri,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response
where
    H: serde::de::DeserializeOwned + schemars::JsonSchema + Send + Sync + 'static,
    C: Send + Sync + 'static,
{
    let shared = &handshaker.shared;
    let config = &shared.config;
    if shared.shutdown.is_cancelled() {
        return error_response(
            StatusCode::SERVICE_UNAVAILABLE,
            &ErrorCode::UNAVAILABLE,
            "server shutting down",
        );
    }
    let Some(slot) = Slot::acquire(&shared.live, config.max_connections) else {
        return error_response(
            StatusCode::SERVICE_UNAVAILABLE,
            &ErrorCode::UNAVAILABLE,
            "too many connections",
        );
    };
    let parsed = match handshaker.schema.parse(uri.query(), &headers) {
        Ok(parsed) => Arc::new(parsed),
        Err(issues) => {
            let body = json!({ "error": {
                "code": ErrorCode::INVALID_HEADERS,
                "message": format!("invalid headers: {}", issues.iter().map(|i| format!("{}: {}", i.path, i.message)).collect::<Vec<_>>().join("; ")),
                "issues": issues,
            }});
            return (StatusCode::BAD_REQUEST, Json(body)).into_response();
        }
    };
    if let Some(before) = &handshaker.before {
        match AssertUnwindSafe(before(parsed.clone()))
            .catch_unwind()
            .await
        {
            Ok(Ok(())) => {}
            Ok(Err(reject)) => return error_response(reject.status, &reject.code, &reject.message),
            Err(_) => {
                tracing::error!("on_before_connect panicked");
                return error_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &ErrorCode::INTERNAL,
                    "internal error",
                );
            }
        }
    }
    let ws = match ws {
        Ok(ws) => ws,
        Err(rejection) => return rejection.into_response(),
    };
    let start = match resumable(shared, uri.query()) {
        Some((session, last_seq)) => Start::Resume { session, last_seq },
        None => {
            let id = ClientId::random();
            let connect = (handshaker.connect)(parsed, id.clone());
            Start::Fresh { id, connect }
        }
    };
    let shared = shared.clone();
    ws.read_buffer_size(config.read_buffer_size)
        .write_buffer_size(8 * 1024)
        .max_message_size(config.max_message_size)
        .max_frame_size(config.max_message_size)
        .on_upgrade(move |socket| connection::run(socket, shared, start, slot))
}

/// The retained session the query asks to resume (`sessionId`, `lastSeq`),
/// if it exists and still has every event after `lastSeq`. Anything else
/// (unknown, expired, too far behind, malformed) means a fresh session.
fn resumable<C: Send + Sync + 'static>(
    shared: &Shared<C>,
    query: Option<&str>,
) -> Option<(Arc<Session<C>>, u64)> {
    if shared.config.retention.is_zero() {
        return None;
    }
    let (mut session_id, mut last_seq) = (None, 0u64);
    for (key, value) in form_urlencoded::parse(query?.as_bytes()) {
        match &*key {
            "sessionId" => session_id = Some(value.into_owned()),
            "lastSeq" => last_seq = value.parse().ok()?,
            _ => {}
        }
    }
    let session = shared.registry.by_session(&session_id?)?;
    session.can_resume(last_seq).then_some((session, last_seq))
}
