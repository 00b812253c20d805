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
use crate::registry::SessionId;
use crate::registry::store::{SessionRecord, Taken};
use crate::registry::{ClientId, Connection, Full, Hub, Session, Slot};
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, FromRequestParts, Request};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use resume::{ResumeRequest, resume_request};
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
        let local = match resumable(hub, query, headers) {
            Resumable::Here(session, last_seq) => Some((session, Some(last_seq))),
            Resumable::Elsewhere(request) => moved_here(hub, request).await,
            Resumable::Moving(session, last_seq) => {
                // Another handshake of this client is bringing it here.
                let moved = tokio::time::timeout(MOVE_WAIT, async {
                    while session.is_moving() {
                        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    }
                })
                .await;
                (moved.is_ok() && session.can_resume(last_seq)).then_some((session, Some(last_seq)))
            }
            Resumable::No => None,
        };
        let start = match local {
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

/// How long a handshake waits for a session that another handshake is
/// bringing here from another node.
const MOVE_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Where the session a handshake asks to resume is.
enum Resumable<C> {
    /// Here, and it still has every event after the client's last `seq`.
    Here(Arc<Session<C>>, u64),
    /// Moving here from another node, for another handshake.
    Moving(Arc<Session<C>>, u64),
    /// Not on this node, which has a session store: maybe on another one.
    Elsewhere(ResumeRequest),
    /// Nowhere (unknown, expired, too far behind, malformed): a fresh
    /// session.
    No,
}

/// The retained session the handshake asks to resume, if it exists and
/// still has every event after the client's last `seq`.
fn resumable<C: Send + Sync + 'static>(
    hub: &Hub<C>,
    query: Option<&str>,
    headers: &HeaderMap,
) -> Resumable<C> {
    if hub.config.retention.is_zero() {
        return Resumable::No;
    }
    let request = match resume_request(query, headers) {
        Ok(Some(request)) => request,
        Ok(None) => return Resumable::No,
        Err(err) => {
            tracing::debug!(%err, "unusable resume parameters: a fresh session");
            crate::metrics::resume(false);
            return Resumable::No;
        }
    };
    match hub.by_session(&request.session_id) {
        Some(session) if session.is_moving() => Resumable::Moving(session, request.last_seq),
        Some(session) if session.can_resume(request.last_seq) => {
            Resumable::Here(session, request.last_seq)
        }
        None if hub.cluster.is_some() => Resumable::Elsewhere(request),
        _ => {
            // A recovered resume is counted once the connection takes over.
            crate::metrics::resume(false);
            Resumable::No
        }
    }
}

/// Brings the session a handshake asks for from the node that holds it,
/// through the session store: `Some` with the client's last `seq` when it
/// moved whole, `Some` with `None` when it came back from its record only
/// (its node did not answer), `None` when no node has it.
async fn moved_here<C: Send + Sync + 'static>(
    hub: &Arc<Hub<C>>,
    request: ResumeRequest,
) -> Option<(Arc<Session<C>>, Option<u64>)> {
    // On a task of its own: a client that gives up on its handshake
    // meanwhile does not stop the move halfway (the session would be
    // lost); it ends here, kept for the client's next attempt.
    let hub = hub.clone();
    tokio::spawn(async move { take_over(&hub, request).await })
        .await
        .ok()
        .flatten()
}

/// [`moved_here`], on its own task.
async fn take_over<C: Send + Sync + 'static>(
    hub: &Arc<Hub<C>>,
    request: ResumeRequest,
) -> Option<(Arc<Session<C>>, Option<u64>)> {
    let cluster = hub.cluster.as_ref()?;
    let prepared = std::sync::Mutex::new(None);
    let prepare = |records: &[SessionRecord]| {
        let Some(record) = records.first() else {
            return false;
        };
        let Some(app) = (cluster.decode)(record.context.clone()) else {
            tracing::warn!("a moving session's context does not decode: a fresh session");
            return false;
        };
        let session = Arc::new(Session::moving(
            record.client_id(),
            SessionId::from_moved(&record.session_id),
            app,
            hub.clone(),
        ));
        if !hub.insert_new(session.clone()) {
            // Another handshake is bringing it here already.
            return false;
        }
        hub.adapter.add(session.recipient());
        // In its rooms before the holder lets go of it: every event from
        // here on reaches it here, or there (and is in the snapshot).
        // The rooms of every record found: one may be older than another.
        for record in records {
            join_all(&session, &record.rooms);
        }
        *prepared.lock().unwrap_or_else(|p| p.into_inner()) = Some(session);
        true
    };
    let taken = cluster.store.take(&request.session_id, &prepare).await;
    let session = prepared.lock().unwrap_or_else(|p| p.into_inner()).take();
    let session = session?;
    let resumed = match taken {
        Taken::Moved(snapshot) => {
            let rooms = snapshot.record.rooms.clone();
            session.complete(Some(snapshot));
            // The rooms as the holder had them: the record read may be
            // older.
            join_all(&session, &rooms);
            for room in hub.adapter.rooms(&session.id) {
                if !rooms.contains(&room) && hub.adapter.leave(&session.id, &room) {
                    session
                        .rooms
                        .fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
                }
            }
            let whole = session.can_resume(request.last_seq);
            tracing::info!(client = session.id.short(), whole, "session moved here");
            crate::metrics::session_moved("in");
            whole.then_some(request.last_seq)
        }
        Taken::Orphaned => {
            session.complete(None);
            tracing::info!(
                client = session.id.short(),
                "session restored from its record: its node did not answer"
            );
            crate::metrics::session_moved("orphaned");
            None
        }
        Taken::NotFound => {
            hub.adapter.remove(&session.id);
            hub.remove(&session);
            crate::metrics::resume(false);
            return None;
        }
    };
    hub.save_record(&session);
    if resumed.is_none() {
        crate::metrics::resume(false);
    }
    Some((session, resumed))
}

/// Puts a session moving here in `rooms`.
fn join_all<C: Send + Sync + 'static>(session: &Session<C>, rooms: &[String]) {
    for room in rooms {
        if session.hub.adapter.join(&session.id, room) {
            session
                .rooms
                .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        }
    }
}
