//! Where a client asks to resume its session: an HTTP header (native
//! clients), a `Sec-WebSocket-Protocol` entry (browsers, which cannot set
//! headers), or the query (older clients). Each form carries the session
//! id and the `seq` of the last event received.

use axum::http::HeaderMap;
use axum::http::header::SEC_WEBSOCKET_PROTOCOL;
use std::fmt;
use zocket_protocol::{
    LAST_SEQ_HEADER, LAST_SEQ_PARAM, LAST_SEQ_PROTOCOL_PREFIX, SESSION_ID_HEADER, SESSION_ID_PARAM,
    SESSION_PROTOCOL_PREFIX,
};

/// The longest session id looked up; real ones are 32 hex digits.
const MAX_SESSION_ID: usize = 64;

/// A request to resume a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ResumeRequest {
    /// The session's secret id.
    pub(crate) session_id: String,
    /// The `seq` of the last event the client received (0: none).
    pub(crate) last_seq: u64,
}

/// Why resume parameters are unusable; the connection then gets a fresh
/// session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ResumeError {
    /// The session id is not 1 to 64 ASCII hex digits.
    BadSessionId,
    /// The last `seq` is not a non-negative integer.
    BadLastSeq,
    /// A last `seq` without a session id.
    LastSeqAlone,
}

impl fmt::Display for ResumeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::BadSessionId => "the session id is not 1 to 64 hex digits",
            Self::BadLastSeq => "the last seq is not a non-negative integer",
            Self::LastSeqAlone => "a last seq without a session id",
        })
    }
}

/// The resume parameters of a handshake, if any: from the headers first,
/// then the subprotocol entries, then the query.
pub(crate) fn resume_request(
    query: Option<&str>,
    headers: &HeaderMap,
) -> Result<Option<ResumeRequest>, ResumeError> {
    let header = |name: &str| {
        headers.get(name).map(|value| {
            std::str::from_utf8(value.as_bytes())
                .unwrap_or("\u{fffd}")
                .trim()
                .to_owned()
        })
    };
    let (mut session_id, mut last_seq) = (header(SESSION_ID_HEADER), header(LAST_SEQ_HEADER));
    if session_id.is_none() {
        for value in headers.get_all(SEC_WEBSOCKET_PROTOCOL) {
            let Ok(value) = std::str::from_utf8(value.as_bytes()) else {
                continue;
            };
            for entry in value.split(',').map(str::trim) {
                if let Some(id) = entry.strip_prefix(SESSION_PROTOCOL_PREFIX) {
                    session_id = Some(id.to_owned());
                } else if let Some(seq) = entry.strip_prefix(LAST_SEQ_PROTOCOL_PREFIX) {
                    last_seq = Some(seq.to_owned());
                }
            }
        }
    }
    if session_id.is_none()
        && let Some(query) = query
    {
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            match &*key {
                SESSION_ID_PARAM => session_id = Some(value.into_owned()),
                LAST_SEQ_PARAM => last_seq = Some(value.into_owned()),
                _ => {}
            }
        }
    }
    let Some(session_id) = session_id else {
        return match last_seq {
            Some(_) => Err(ResumeError::LastSeqAlone),
            None => Ok(None),
        };
    };
    let hex = |s: &str| {
        !s.is_empty() && s.len() <= MAX_SESSION_ID && s.bytes().all(|b| b.is_ascii_hexdigit())
    };
    if !hex(&session_id) {
        return Err(ResumeError::BadSessionId);
    }
    let last_seq = match last_seq {
        None => 0,
        Some(seq) => seq.parse().map_err(|_| ResumeError::BadLastSeq)?,
    };
    Ok(Some(ResumeRequest {
        session_id,
        last_seq,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, value.parse().unwrap());
        }
        map
    }

    fn request(id: &str, seq: u64) -> Option<ResumeRequest> {
        Some(ResumeRequest {
            session_id: id.into(),
            last_seq: seq,
        })
    }

    #[test]
    fn reads_each_form_with_headers_first() {
        let none = HeaderMap::new();
        assert_eq!(resume_request(None, &none), Ok(None));
        assert_eq!(resume_request(Some("name=ada"), &none), Ok(None));
        assert_eq!(
            resume_request(Some("sessionId=ab12&lastSeq=7"), &none),
            Ok(request("ab12", 7))
        );
        let native = headers(&[("x-zocket-session", "cd34"), ("x-zocket-last-seq", "3")]);
        assert_eq!(
            resume_request(Some("sessionId=ab12&lastSeq=7"), &native),
            Ok(request("cd34", 3))
        );
        let browser = headers(&[(
            "sec-websocket-protocol",
            "zocket.v1, zocket.session.ef56, zocket.last-seq.9",
        )]);
        assert_eq!(resume_request(None, &browser), Ok(request("ef56", 9)));
        let no_seq = headers(&[("x-zocket-session", "ef56")]);
        assert_eq!(resume_request(None, &no_seq), Ok(request("ef56", 0)));
    }

    #[test]
    fn malformed_parameters_are_errors() {
        let none = HeaderMap::new();
        assert_eq!(
            resume_request(Some("sessionId=zz"), &none),
            Err(ResumeError::BadSessionId)
        );
        assert_eq!(
            resume_request(Some(&format!("sessionId={}", "a".repeat(65))), &none),
            Err(ResumeError::BadSessionId)
        );
        assert_eq!(
            resume_request(Some("sessionId=ab&lastSeq=-1"), &none),
            Err(ResumeError::BadLastSeq)
        );
        assert_eq!(
            resume_request(Some("lastSeq=4"), &none),
            Err(ResumeError::LastSeqAlone)
        );
    }
}
