//! Where a client asks to resume its session: an HTTP header (native
//! clients), a `Sec-WebSocket-Protocol` entry (browsers, which cannot set
//! headers), or the query (older clients). Each form carries the session
//! id and the `seq` of the last event received.

use axum::http::HeaderMap;
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

/// A session id and a last `seq`, as one form gives them.
type Form = (Option<String>, Option<String>);

/// The resume parameters of a handshake, if any: from the first form that
/// names a session (the HTTP headers, then the subprotocol entries, then
/// the query), with that form's own last `seq`.
pub(crate) fn resume_request(
    query: Option<&str>,
    headers: &HeaderMap,
) -> Result<Option<ResumeRequest>, ResumeError> {
    let forms = [
        header_form(headers),
        protocol_form(headers),
        query_form(query),
    ];
    let Some((Some(session_id), last_seq)) = forms.iter().find(|(id, _)| id.is_some()).cloned()
    else {
        return match forms.iter().any(|(_, seq)| seq.is_some()) {
            true => Err(ResumeError::LastSeqAlone),
            false => Ok(None),
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
        Some(seq) if !seq.is_empty() && seq.bytes().all(|b| b.is_ascii_digit()) => {
            seq.parse().map_err(|_| ResumeError::BadLastSeq)?
        }
        Some(_) => return Err(ResumeError::BadLastSeq),
    };
    Ok(Some(ResumeRequest {
        session_id,
        last_seq,
    }))
}

/// `x-zocket-session` and `x-zocket-last-seq` (native clients).
fn header_form(headers: &HeaderMap) -> Form {
    let header = |name: &str| {
        headers.get(name).map(|value| {
            std::str::from_utf8(value.as_bytes())
                .unwrap_or("\u{fffd}")
                .trim()
                .to_owned()
        })
    };
    (header(SESSION_ID_HEADER), header(LAST_SEQ_HEADER))
}

/// `zocket.session.<id>` and `zocket.last-seq.<n>` subprotocol entries
/// (browsers); the first of each counts.
fn protocol_form(headers: &HeaderMap) -> Form {
    let (mut session_id, mut last_seq) = (None, None);
    for entry in super::subprotocols(headers) {
        if let Some(id) = entry.strip_prefix(SESSION_PROTOCOL_PREFIX) {
            session_id.get_or_insert_with(|| id.to_owned());
        } else if let Some(seq) = entry.strip_prefix(LAST_SEQ_PROTOCOL_PREFIX) {
            last_seq.get_or_insert_with(|| seq.to_owned());
        }
    }
    (session_id, last_seq)
}

/// `sessionId` and `lastSeq` query parameters (older clients); the first of
/// each counts, as for header fields.
fn query_form(query: Option<&str>) -> Form {
    let (mut session_id, mut last_seq) = (None, None);
    for (key, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match &*key {
            SESSION_ID_PARAM => {
                session_id.get_or_insert_with(|| value.into_owned());
            }
            LAST_SEQ_PARAM => {
                last_seq.get_or_insert_with(|| value.into_owned());
            }
            _ => {}
        }
    }
    (session_id, last_seq)
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
        assert_eq!(
            resume_request(Some("sessionId=ab&lastSeq=+5"), &none),
            Err(ResumeError::BadLastSeq)
        );
        // Each form brings its own seq: a header seq does not complete the
        // query's session.
        let seq_only = headers(&[("x-zocket-last-seq", "5")]);
        assert_eq!(
            resume_request(Some("sessionId=ab&lastSeq=2"), &seq_only),
            Ok(request("ab", 2))
        );
    }
}
