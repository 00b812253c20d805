//! The HTTP side of a connection: limits, header validation,
//! `on_before_connect` and the choice between a fresh and a resumed
//! session, all before the upgrade.

mod headers;
mod origin;
#[cfg(test)]
mod proptests;
mod refusal;
mod resume;

pub(crate) use headers::HeaderSchema;
pub use headers::{HeaderValue, Headers, NoHeaders};
pub use refusal::Reject;
pub(crate) use refusal::{READABLE_REFUSALS, Refusal};

use crate::connection::{self, Start};
use crate::dispatch::Dispatcher;
use crate::protocol::Close;
use crate::registry::{ClientId, Connection, Full, Hub, Session, Slot};
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, FromRequestParts, Request};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use resume::resume_request;
use std::net::{IpAddr, SocketAddr};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use zocket_protocol::{REFUSALS_PROTOCOL, SUBPROTOCOL};

/// What a verifying `on_before_connect` hands to `on_connect`, type-erased
/// (see `ServerBuilder::on_verified_connect`); `None` for the plain hooks.
pub(crate) type Verified = Option<Box<dyn std::any::Any + Send>>;
/// The `on_before_connect` hook, type-erased.
pub(crate) type BeforeHook<H> =
    Arc<dyn Fn(Arc<H>) -> BoxFuture<'static, Result<Verified, Reject>> + Send + Sync>;
/// The `on_connect` hook, type-erased.
pub(crate) type ConnectHook<H, C> =
    Arc<dyn Fn(Arc<H>, ClientId, Verified) -> BoxFuture<'static, Result<C, Close>> + Send + Sync>;
/// The `on_resume` hook, type-erased.
pub(crate) type ResumeHook<H, C> =
    Arc<dyn Fn(Connection<C>, Arc<H>) -> BoxFuture<'static, Result<(), Close>> + Send + Sync>;

/// Everything a handshake needs, shared by every request of a server.
pub(crate) struct Handshaker<H, C> {
    pub(crate) schema: HeaderSchema<H>,
    pub(crate) before: Option<BeforeHook<H>>,
    pub(crate) connect: ConnectHook<H, C>,
    pub(crate) resume: Option<ResumeHook<H, C>>,
    pub(crate) hub: Arc<Hub<C>>,
    pub(crate) dispatcher: Arc<Dispatcher<C>>,
    /// Room for refusals sent as close frames (see [`Refusal::answer`]).
    pub(crate) readable_refusals: Arc<tokio::sync::Semaphore>,
}

impl<H, C> Handshaker<H, C>
where
    H: serde::de::DeserializeOwned + schemars::JsonSchema + Send + Sync + 'static,
    C: Send + Sync + 'static,
{
    /// Decides on a connection from its query and headers: a refusal, or
    /// how it starts and its place under `max_connections`.
    pub(crate) async fn admit(
        &self,
        query: Option<&str>,
        headers: &HeaderMap,
        peer: Option<IpAddr>,
    ) -> Result<(Start<C>, Slot), Refusal> {
        let hub = &self.hub;
        if hub.shutdown.is_cancelled() {
            return Err(Refusal::ShuttingDown);
        }
        if !origin::allowed(&hub.config.origins, headers) {
            return Err(Refusal::OriginNotAllowed);
        }
        let slot = hub.acquire_slot(peer).map_err(|full| match full {
            Full::Server => Refusal::TooManyConnections,
            Full::Address => Refusal::TooManyFromAddress,
        })?;
        let parsed = Arc::new(
            self.schema
                .parse(query, headers)
                .map_err(Refusal::InvalidHeaders)?,
        );
        let mut verified = None;
        if let Some(before) = &self.before {
            match AssertUnwindSafe(before(parsed.clone()))
                .catch_unwind()
                .await
            {
                Ok(Ok(value)) => verified = value,
                Ok(Err(reject)) => return Err(Refusal::Rejected(reject)),
                Err(_) => {
                    tracing::error!("on_before_connect panicked");
                    return Err(Refusal::HookPanicked);
                }
            }
        }
        let start = match resumable(hub, query, headers) {
            Some((session, last_seq)) => {
                let check = self
                    .resume
                    .as_ref()
                    .map(|hook| hook(Connection(session.clone()), parsed));
                Start::Resume {
                    session,
                    last_seq,
                    check,
                }
            }
            None => {
                let id = ClientId::random();
                let connect = (self.connect)(parsed, id.clone(), verified);
                Start::Fresh { id, connect }
            }
        };
        Ok((start, slot))
    }
}

/// Answers one upgrade request: a refusal, or `101` and a connection task.
pub(crate) async fn handshake<H, C>(handshaker: Arc<Handshaker<H, C>>, request: Request) -> Response
where
    H: serde::de::DeserializeOwned + schemars::JsonSchema + Send + Sync + 'static,
    C: Send + Sync + 'static,
{
    let (mut parts, _body) = request.into_parts();
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip());
    // Not an upgrade request: refused before any hook runs.
    let ws = match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
        Ok(ws) => ws,
        Err(rejection) => return Refusal::NotAnUpgrade(rejection).into_response(),
    };
    let (start, slot) = match handshaker
        .admit(parts.uri.query(), &parts.headers, peer)
        .await
    {
        Ok(admitted) => admitted,
        Err(refusal) => {
            let slot = offers(&parts.headers, REFUSALS_PROTOCOL)
                .then(|| {
                    handshaker
                        .readable_refusals
                        .clone()
                        .try_acquire_owned()
                        .ok()
                })
                .flatten();
            return refusal.answer(slot.map(|slot| (ws, slot)));
        }
    };
    let config = &handshaker.hub.config;
    let (hub, dispatcher) = (handshaker.hub.clone(), handshaker.dispatcher.clone());
    // Browsers resume with `Sec-WebSocket-Protocol` entries; only the
    // protocol's name is echoed back, never a session id.
    ws.protocols([SUBPROTOCOL])
        .read_buffer_size(config.read_buffer_size)
        .write_buffer_size(8 * 1024)
        .max_message_size(config.max_message_size)
        .max_frame_size(config.max_message_size)
        .on_upgrade(move |socket| connection::run(socket, hub, dispatcher, start, slot))
}

/// The entries of the request's `Sec-WebSocket-Protocol` headers, in order.
pub(crate) fn subprotocols(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    headers
        .get_all(axum::http::header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
}

/// Whether the request offers `protocol` among its WebSocket subprotocols.
fn offers(headers: &HeaderMap, protocol: &str) -> bool {
    subprotocols(headers).any(|entry| entry == protocol)
}

/// The retained session the handshake asks to resume, if it exists and
/// still has every event after the client's last `seq`. Anything else
/// (unknown, expired, too far behind, malformed) means a fresh session.
fn resumable<C: Send + Sync + 'static>(
    hub: &Hub<C>,
    query: Option<&str>,
    headers: &HeaderMap,
) -> Option<(Arc<Session<C>>, u64)> {
    if hub.config.retention.is_zero() {
        return None;
    }
    let request = match resume_request(query, headers) {
        Ok(request) => request?,
        Err(err) => {
            tracing::debug!(%err, "unusable resume parameters: a fresh session");
            crate::metrics::resume(false);
            return None;
        }
    };
    let resumed = hub
        .by_session(&request.session_id)
        .filter(|session| session.can_resume(request.last_seq))
        .map(|session| (session, request.last_seq));
    if resumed.is_none() {
        // A recovered resume is counted once the connection takes over.
        crate::metrics::resume(false);
    }
    resumed
}
