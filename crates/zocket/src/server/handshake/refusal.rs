//! Every way a handshake is refused before the upgrade, as one type with
//! one response shape: an HTTP status and a
//! [`RefusalBody`](zocket_protocol::RefusalBody).

use axum::Json;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use std::borrow::Cow;
use zocket_protocol::{CloseCode, ErrorCode, HeaderIssue, RefusalBody, SUBPROTOCOL};

/// A refusal before the upgrade, from `on_before_connect`: a plain HTTP
/// response with `{"error":{"code":...,"message":...}}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reject {
    pub(crate) status: StatusCode,
    pub(crate) code: ErrorCode,
    pub(crate) message: Cow<'static, str>,
}

impl Reject {
    /// A refusal with any status, code and message. A status that is not
    /// an error (below 400) becomes `403`.
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<Cow<'static, str>>) -> Self {
        let status = if status.is_client_error() || status.is_server_error() {
            status
        } else {
            StatusCode::FORBIDDEN
        };
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// `401 UNAUTHORIZED`.
    pub fn unauthorized(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, ErrorCode::UNAUTHORIZED, message)
    }

    /// `403 FORBIDDEN`.
    pub fn forbidden(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::FORBIDDEN, ErrorCode::FORBIDDEN, message)
    }
}

/// Why a handshake was refused.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// The server is shutting down (`503`).
    ShuttingDown,
    /// `max_connections` are live (`503`).
    TooManyConnections,
    /// `max_connections_per_ip` are live from the client's address (`503`).
    TooManyFromAddress,
    /// A browser page of an origin the configuration does not allow (`403`).
    OriginNotAllowed,
    /// The headers do not match the header schema (`400`, every issue).
    InvalidHeaders(Vec<HeaderIssue>),
    /// `on_before_connect` refused it.
    Rejected(Reject),
    /// `on_before_connect` panicked (`500`, nothing disclosed).
    HookPanicked,
    /// Not a valid WebSocket upgrade request (axum's status).
    NotAnUpgrade(WebSocketUpgradeRejection),
}

impl Refusal {
    /// The `reason` label of `zocket_handshakes_refused_total`.
    pub(crate) fn label(&self) -> &'static str {
        match self {
            Self::ShuttingDown => "shutting_down",
            Self::TooManyConnections => "too_many_connections",
            Self::TooManyFromAddress => "too_many_from_address",
            Self::OriginNotAllowed => "origin",
            Self::InvalidHeaders(_) => "invalid_headers",
            Self::Rejected(_) => "rejected",
            Self::HookPanicked => "hook_panicked",
            Self::NotAnUpgrade(_) => "not_an_upgrade",
        }
    }

    /// The HTTP status and the body.
    pub(crate) fn parts(self) -> (StatusCode, RefusalBody) {
        match self {
            Self::ShuttingDown => (
                StatusCode::SERVICE_UNAVAILABLE,
                RefusalBody::new(ErrorCode::UNAVAILABLE, "server shutting down"),
            ),
            Self::TooManyConnections => (
                StatusCode::SERVICE_UNAVAILABLE,
                RefusalBody::new(ErrorCode::UNAVAILABLE, "too many connections"),
            ),
            Self::TooManyFromAddress => (
                StatusCode::SERVICE_UNAVAILABLE,
                RefusalBody::new(
                    ErrorCode::UNAVAILABLE,
                    "too many connections from this address",
                ),
            ),
            Self::OriginNotAllowed => (
                StatusCode::FORBIDDEN,
                RefusalBody::new(ErrorCode::FORBIDDEN, "origin not allowed"),
            ),
            Self::InvalidHeaders(issues) => (
                StatusCode::BAD_REQUEST,
                RefusalBody::invalid_headers(issues),
            ),
            Self::Rejected(reject) => {
                (reject.status, RefusalBody::new(reject.code, reject.message))
            }
            Self::HookPanicked => (
                StatusCode::INTERNAL_SERVER_ERROR,
                RefusalBody::new(ErrorCode::INTERNAL, "internal error"),
            ),
            Self::NotAnUpgrade(rejection) => (
                rejection.status(),
                RefusalBody::new(ErrorCode::BAD_REQUEST, rejection.body_text()),
            ),
        }
    }
}

impl Refusal {
    /// The answer: a plain HTTP response, or, for a client that asked for
    /// refusals it can read (`ws`: a browser offering
    /// [`REFUSALS_PROTOCOL`](zocket_protocol::REFUSALS_PROTOCOL)) and a
    /// `4xx` status, an upgrade that only sends a close frame with
    /// `4000 + status` and `"<CODE>: <message>"`. Nothing else happens on
    /// that socket: no session, no `__ready`, nothing read but the close
    /// reply. `5xx` refusals stay plain HTTP: a client retries those.
    ///
    /// Such sockets are outside `max_connections` (the refused request
    /// holds no place), so they are few (`slot`, one of
    /// [`READABLE_REFUSALS`] at a time; without one the refusal stays
    /// HTTP) and tiny: frames over 125 bytes end them, and they last at
    /// most the close reply's wait.
    pub(crate) fn answer(
        self,
        ws: Option<(WebSocketUpgrade, tokio::sync::OwnedSemaphorePermit)>,
    ) -> Response {
        self.record();
        let (status, body) = self.parts();
        match ws {
            Some((ws, slot)) if status.is_client_error() => {
                let code = CloseCode::from(RefusalBody::close_code(status.as_u16()));
                let reason = body.close_reason();
                ws.protocols([SUBPROTOCOL])
                    .read_buffer_size(1024)
                    .max_message_size(125)
                    .max_frame_size(125)
                    .on_upgrade(move |socket| async move {
                        crate::connection::refuse(socket, code, reason).await;
                        drop(slot);
                    })
            }
            _ => (status, Json(body)).into_response(),
        }
    }

    /// Counts and logs the refusal.
    fn record(&self) {
        crate::metrics::refused(self.label());
        // The reason and the fields at fault, never their values (a header
        // may carry a token).
        match &self {
            Self::InvalidHeaders(issues) => {
                let fields: Vec<&str> = issues.iter().map(|issue| issue.path.as_str()).collect();
                tracing::info!(reason = self.label(), fields = ?fields, "handshake refused");
            }
            Self::Rejected(reject) => {
                tracing::info!(reason = self.label(), status = reject.status.as_u16(), code = %reject.code, "handshake refused");
            }
            _ => tracing::info!(reason = self.label(), "handshake refused"),
        }
    }
}

/// How many refusals a server sends as close frames at once; past it, they
/// are plain HTTP responses.
pub(crate) const READABLE_REFUSALS: usize = 256;

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        self.answer(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::to_bytes;
    use axum::extract::ws::rejection::MethodNotGet;

    async fn answer(refusal: Refusal) -> (StatusCode, serde_json::Value) {
        let response = refusal.into_response();
        let status = response.status();
        assert_eq!(
            response.headers()["content-type"],
            "application/json",
            "every refusal is JSON"
        );
        let body = to_bytes(response.into_body(), 64 * 1024)
            .await
            .expect("body");
        let parsed: RefusalBody = serde_json::from_slice(&body).expect("one body shape");
        (status, serde_json::to_value(parsed).expect("json"))
    }

    #[tokio::test]
    async fn every_refusal_has_its_status_and_the_one_body_shape() {
        let (status, body) = answer(Refusal::ShuttingDown).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["error"]["code"], "UNAVAILABLE");
        let (status, body) = answer(Refusal::TooManyConnections).await;
        assert_eq!(
            (status, body["error"]["message"].as_str()),
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Some("too many connections")
            )
        );
        let issues = vec![
            HeaderIssue {
                path: "name".into(),
                message: "missing required field".into(),
            },
            HeaderIssue {
                path: "age".into(),
                message: "expected an integer".into(),
            },
        ];
        let (status, body) = answer(Refusal::InvalidHeaders(issues)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(
            body,
            serde_json::json!({"error": {
                "code": "INVALID_HEADERS",
                "message": "invalid headers: name: missing required field; age: expected an integer",
                "issues": [
                    {"path": "name", "message": "missing required field"},
                    {"path": "age", "message": "expected an integer"},
                ],
            }})
        );
        let (status, body) = answer(Refusal::Rejected(Reject::unauthorized("log in first"))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            body,
            serde_json::json!({"error": {"code": "UNAUTHORIZED", "message": "log in first"}})
        );
        let teapot = Reject::new(
            StatusCode::IM_A_TEAPOT,
            ErrorCode::new("TEAPOT"),
            "short and stout",
        );
        assert_eq!(
            answer(Refusal::Rejected(teapot)).await.0,
            StatusCode::IM_A_TEAPOT
        );
        let (status, body) = answer(Refusal::OriginNotAllowed).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("FORBIDDEN"))
        );
        let (status, body) = answer(Refusal::HookPanicked).await;
        assert_eq!(
            (status, body["error"]["message"].as_str()),
            (StatusCode::INTERNAL_SERVER_ERROR, Some("internal error"))
        );
        let (status, body) = answer(Refusal::NotAnUpgrade(MethodNotGet::default().into())).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(body["error"]["code"], "BAD_REQUEST");
    }

    #[test]
    fn a_reject_is_always_an_error_status() {
        let ok = Reject::new(StatusCode::OK, ErrorCode::FORBIDDEN, "no");
        assert_eq!(ok.status, StatusCode::FORBIDDEN);
    }
}
