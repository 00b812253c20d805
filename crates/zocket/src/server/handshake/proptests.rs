//! Property tests of the handshake's parsers, the header schema and the
//! resume parameters: whatever query and headers a hostile client sends,
//! they answer without panicking and every refusal is structured; what is
//! well formed comes back exactly, from the place that takes precedence.
//!
//! Each property runs 10,000 cases; set `PROPTEST_CASES` for more.

use super::headers::HeaderSchema;
use super::resume::{ResumeError, ResumeRequest, resume_request};
use axum::http::header::SEC_WEBSOCKET_PROTOCOL;
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use proptest::prelude::*;
use proptest::test_runner::Config;
use schemars::JsonSchema;
use serde::Deserialize;
use std::sync::LazyLock;
use zocket_protocol::{
    LAST_SEQ_HEADER, LAST_SEQ_PARAM, LAST_SEQ_PROTOCOL_PREFIX, SESSION_ID_HEADER, SESSION_ID_PARAM,
    SESSION_PROTOCOL_PREFIX, SUBPROTOCOL,
};

/// 10,000 cases, or `PROPTEST_CASES` when it is set.
fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    Config::with_cases(cases)
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Role {
    Admin,
    Guest,
    Bot,
}

const ROLES: &[Role] = &[Role::Admin, Role::Guest, Role::Bot];

impl Role {
    fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Guest => "guest",
            Self::Bot => "bot",
        }
    }
}

/// A header type with one field of each kind the schema converts.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct Headers {
    #[schemars(length(min = 1, max = 32))]
    user_name: String,
    max_count: Option<u32>,
    #[serde(default)]
    verbose: bool,
    role: Role,
    #[schemars(range(min = -1.5, max = 100.0))]
    ratio: Option<f64>,
    offset: i64,
}

/// The fields of [`Headers`] as a query names them.
const FIELDS: &[&str] = &["userName", "maxCount", "verbose", "role", "ratio", "offset"];
const REQUIRED: &[&str] = &["userName", "role", "offset"];

static SCHEMA: LazyLock<HeaderSchema<Headers>> = LazyLock::new(HeaderSchema::new);

/// How an HTTP header name is matched to a field.
fn fold(name: &str) -> String {
    name.chars()
        .filter(|c| *c != '-' && *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

/// A field's name as an HTTP header may spell it.
fn header_spelling(field: &'static str) -> impl Strategy<Value = String> {
    let kebab: String = field
        .chars()
        .flat_map(|c| {
            let dash = c.is_ascii_uppercase().then_some('-');
            dash.into_iter().chain([c.to_ascii_lowercase()])
        })
        .collect();
    let snake = kebab.replace('-', "_");
    let upper = kebab.to_ascii_uppercase();
    prop::sample::select(vec![kebab, snake, upper, field.to_ascii_lowercase()])
}

/// Strings near the edges of what the fields accept, beside any.
fn field_value() -> impl Strategy<Value = String> {
    const EDGES: &[&str] = &[
        "",
        " ",
        "0",
        "-0",
        "+5",
        "-1",
        "4294967295",
        "4294967296",
        "9223372036854775807",
        "9223372036854775808",
        "-9223372036854775809",
        "18446744073709551616",
        "1e999",
        "NaN",
        "inf",
        "-1.5",
        "-1.5000001",
        "100",
        "100.0000001",
        "true",
        "false",
        "TRUE",
        "admin",
        "guest",
        "bot",
        "Admin",
        "null",
        "ada",
        "é",
        "abcdefghijklmnopqrstuvwxyz0123456",
    ];
    prop_oneof![
        3 => prop::sample::select(EDGES).prop_map(str::to_owned),
        1 => "\\PC{0,40}",
    ]
}

/// Bytes made a string lossily.
fn lossy(len: std::ops::Range<usize>) -> impl Strategy<Value = String> {
    prop::collection::vec(any::<u8>(), len)
        .prop_map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
}

/// A query string as a hostile client may send it: any text, `&`/`=`/`%`
/// soup, or pairs with the given keys (or any), written raw or
/// percent-encoded, repeated keys included.
fn hostile_query(keys: &'static [&'static str]) -> impl Strategy<Value = Option<String>> {
    const SOUP: &[&str] = &[
        "&",
        "&",
        "=",
        "=",
        "%",
        "%zz",
        "%ff",
        "%C3",
        "%C3%A9",
        "%00",
        "+",
        "a",
        "é",
        "sessionId",
        "userName",
        "role",
        "=admin",
        "=1",
    ];
    let key = prop_oneof![
        3 => prop::sample::select(keys).prop_map(str::to_owned),
        1 => lossy(0..8),
    ];
    let pairs = (
        prop::collection::vec((key, prop_oneof![field_value(), lossy(0..12)]), 0..8),
        any::<bool>(),
    )
        .prop_map(|(pairs, raw)| {
            if raw {
                let pairs: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
                pairs.join("&")
            } else {
                form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(pairs)
                    .finish()
            }
        });
    let percent = prop::collection::vec(any::<u8>(), 0..24).prop_map(|bytes| {
        let encoded: String = bytes.iter().map(|b| format!("%{b:02X}")).collect();
        format!("userName={encoded}&sessionId={encoded}")
    });
    let soup = prop::collection::vec(prop::sample::select(SOUP), 0..16).prop_map(|s| s.concat());
    prop::option::of(prop_oneof![
        1 => any::<String>(),
        1 => lossy(0..48),
        1 => soup,
        1 => percent,
        3 => pairs,
    ])
}

/// A query with a valid value for every field, before or after a hostile
/// one, so that some requests pass.
fn mostly_valid_query() -> impl Strategy<Value = Option<String>> {
    (Given::strategy(), hostile_query(FIELDS), any::<bool>()).prop_map(
        |(given, noise, valid_first)| {
            let mut valid = form_urlencoded::Serializer::new(String::new());
            for field in FIELDS {
                valid.append_pair(field, &given.text(field));
            }
            let (valid, noise) = (valid.finish(), noise.unwrap_or_default());
            Some(if valid_first {
                format!("{valid}&{noise}")
            } else {
                format!("{noise}&{valid}")
            })
        },
    )
}

/// Header entries as a hostile client may send them: the given names
/// (and any bytes) with any value bytes, non-ASCII and control bytes
/// included, keeping only what `http` accepts as a name and a value.
fn hostile_headers(
    names: &'static [&'static str],
    value: BoxedStrategy<String>,
) -> impl Strategy<Value = HeaderMap> {
    let name = prop_oneof![
        3 => prop::sample::select(names).prop_map(|n| n.as_bytes().to_vec()),
        1 => prop::collection::vec(any::<u8>(), 1..12),
    ];
    let value = prop_oneof![
        3 => value.prop_map(String::into_bytes),
        1 => prop::collection::vec(any::<u8>(), 0..16),
        1 => prop::collection::vec(0x80u8..=0xff, 1..4),
    ];
    prop::collection::vec((name, value), 0..8).prop_map(|entries| {
        let mut map = HeaderMap::new();
        for (name, value) in entries {
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(&name),
                HeaderValue::from_bytes(&value),
            ) {
                map.append(name, value);
            }
        }
        map
    })
}

/// Header names that fold to a field of [`Headers`], and some that do not.
const HEADER_NAMES: &[&str] = &[
    "user-name",
    "user_name",
    "USERNAME",
    "max-count",
    "maxcount",
    "verbose",
    "role",
    "ratio",
    "offset",
    "Off-Set",
    "user-agent",
];

/// A valid value for each field, in the form its query and its header
/// carry it.
#[derive(Debug, Clone)]
struct Given {
    user_name: String,
    max_count: u32,
    verbose: bool,
    role: Role,
    ratio: f64,
    offset: i64,
}

impl Given {
    fn strategy() -> impl Strategy<Value = Self> {
        (
            "[ -~]{1,32}",
            any::<u32>(),
            any::<bool>(),
            prop::sample::select(ROLES),
            -1.5f64..=100.0,
            any::<i64>(),
        )
            .prop_map(
                |(user_name, max_count, verbose, role, ratio, offset)| Self {
                    user_name,
                    max_count,
                    verbose,
                    role,
                    ratio,
                    offset,
                },
            )
    }

    fn text(&self, field: &str) -> String {
        match field {
            "userName" => self.user_name.clone(),
            "maxCount" => self.max_count.to_string(),
            "verbose" => self.verbose.to_string(),
            "role" => self.role.as_str().to_owned(),
            "ratio" => self.ratio.to_string(),
            _ => self.offset.to_string(),
        }
    }
}

/// Where a field is given: nowhere (optional fields only), in the query,
/// in a header, or in both.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Place {
    Nowhere,
    Query,
    Header,
    Both,
}

/// One place and one header spelling per field.
fn placements() -> impl Strategy<Value = Vec<(Place, String)>> {
    FIELDS
        .iter()
        .map(|field| {
            let mut places = vec![Place::Query, Place::Header, Place::Both];
            if !REQUIRED.contains(field) {
                places.push(Place::Nowhere);
            }
            (prop::sample::select(places), header_spelling(field))
        })
        .collect::<Vec<_>>()
}

/// A valid session id.
fn session_id() -> impl Strategy<Value = String> {
    "[0-9a-fA-F]{1,64}"
}

/// Session ids, seqs and subprotocol lists near the edges of what resume
/// accepts, beside any.
fn resume_value() -> BoxedStrategy<String> {
    let entry = prop_oneof![
        Just(SUBPROTOCOL.to_owned()),
        session_id().prop_map(|id| format!("{SESSION_PROTOCOL_PREFIX}{id}")),
        "\\PC{0,70}".prop_map(|id| format!("{SESSION_PROTOCOL_PREFIX}{id}")),
        any::<u64>().prop_map(|seq| format!("{LAST_SEQ_PROTOCOL_PREFIX}{seq}")),
        "[-+0-9a-z ]{0,22}".prop_map(|seq| format!("{LAST_SEQ_PROTOCOL_PREFIX}{seq}")),
        "[ -~]{0,12}",
    ];
    let protocols = (prop::collection::vec(entry, 0..5), "[ ,\t]{1,3}")
        .prop_map(|(entries, separator)| entries.join(&separator));
    prop_oneof![
        session_id(),
        "0{64,66}",
        any::<u64>().prop_map(|seq| seq.to_string()),
        Just("18446744073709551616".to_owned()),
        Just("-1".to_owned()),
        Just("+1".to_owned()),
        Just(" 7 ".to_owned()),
        protocols,
    ]
    .boxed()
}

/// The resume parameters, each given in one form.
#[derive(Debug, Clone)]
struct Resume {
    session_id: String,
    last_seq: Option<u64>,
}

impl Resume {
    fn strategy() -> impl Strategy<Value = Self> {
        (session_id(), prop::option::of(any::<u64>())).prop_map(|(session_id, last_seq)| Self {
            session_id,
            last_seq,
        })
    }

    fn expected(&self) -> ResumeRequest {
        ResumeRequest {
            session_id: self.session_id.clone(),
            last_seq: self.last_seq.unwrap_or(0),
        }
    }

    /// As `x-zocket-session` and `x-zocket-last-seq`, with optional white
    /// space around the values.
    fn put_headers(&self, padding: &str, headers: &mut HeaderMap) {
        let value = |v: &str| HeaderValue::from_str(&format!("{padding}{v}{padding}")).unwrap();
        headers.append(SESSION_ID_HEADER, value(&self.session_id));
        if let Some(seq) = self.last_seq {
            headers.append(LAST_SEQ_HEADER, value(&seq.to_string()));
        }
    }

    /// As `Sec-WebSocket-Protocol` entries beside `zocket.v1`, in the given
    /// order, split over one or two header values.
    fn put_protocols(&self, seq_first: bool, split: bool, headers: &mut HeaderMap) {
        let session = format!("{SESSION_PROTOCOL_PREFIX}{}", self.session_id);
        let mut entries = vec![SUBPROTOCOL.to_owned(), session];
        if let Some(seq) = self.last_seq {
            let seq = format!("{LAST_SEQ_PROTOCOL_PREFIX}{seq}");
            entries.insert(if seq_first { 1 } else { 2 }, seq);
        }
        let at = if split { entries.len() / 2 } else { 0 };
        for part in [&entries[..at], &entries[at..]] {
            if !part.is_empty() {
                let value = HeaderValue::from_str(&part.join(", ")).unwrap();
                headers.append(SEC_WEBSOCKET_PROTOCOL, value);
            }
        }
    }

    /// As `sessionId` and `lastSeq` beside other parameters.
    fn query(&self, other: &[(String, String)]) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        query.extend_pairs(other);
        query.append_pair(SESSION_ID_PARAM, &self.session_id);
        if let Some(seq) = self.last_seq {
            query.append_pair(LAST_SEQ_PARAM, &seq.to_string());
        }
        query.finish()
    }
}

fn is_session_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_hexdigit())
}

proptest! {
    #![proptest_config(config())]

    /// Whatever the query and headers, the header schema answers without
    /// panicking; a refusal lists at least one issue, each with a path and
    /// a message; an acceptance has every required field given and within
    /// its constraints.
    #[test]
    fn header_schema_answers_any_request_with_structured_issues(
        query in prop_oneof![hostile_query(FIELDS), mostly_valid_query()],
        headers in hostile_headers(HEADER_NAMES, field_value().boxed()),
    ) {
        match SCHEMA.parse(query.as_deref(), &headers) {
            Ok(parsed) => {
                let keys: Vec<String> = query
                    .iter()
                    .flat_map(|q| form_urlencoded::parse(q.as_bytes()))
                    .map(|(k, _)| k.into_owned())
                    .collect();
                for field in REQUIRED {
                    let in_header = headers.keys().any(|name| fold(name.as_str()) == fold(field));
                    prop_assert!(in_header || keys.iter().any(|k| k == field), "{field}: {parsed:?}");
                }
                prop_assert!((1..=32).contains(&parsed.user_name.chars().count()));
                if let Some(ratio) = parsed.ratio {
                    prop_assert!((-1.5..=100.0).contains(&ratio), "{ratio}");
                }
            }
            Err(issues) => {
                prop_assert!(!issues.is_empty());
                for issue in &issues {
                    prop_assert!(!issue.path.is_empty() && !issue.message.is_empty(), "{issues:?}");
                }
            }
        }
    }

    /// Valid values come back exactly, each from its header when it is
    /// given both as a header and as a query parameter.
    #[test]
    fn a_header_wins_over_the_query_parameter_of_its_field(
        from_query in Given::strategy(),
        from_header in Given::strategy(),
        places in placements(),
    ) {
        let mut query = form_urlencoded::Serializer::new(String::new());
        let mut headers = HeaderMap::new();
        for (field, (place, spelling)) in FIELDS.iter().zip(&places) {
            if matches!(place, Place::Query | Place::Both) {
                query.append_pair(field, &from_query.text(field));
            }
            if matches!(place, Place::Header | Place::Both) {
                let name = HeaderName::from_bytes(spelling.as_bytes()).unwrap();
                let value = HeaderValue::from_str(&from_header.text(field)).unwrap();
                headers.append(name, value);
            }
        }
        let query = query.finish();
        let parsed = SCHEMA.parse(Some(&query), &headers);
        let parsed = match parsed {
            Ok(parsed) => parsed,
            Err(issues) => return Err(TestCaseError::fail(format!("{issues:?}"))),
        };
        let place = |field: &str| places[FIELDS.iter().position(|f| *f == field).unwrap()].0;
        let pick = |field: &str| match place(field) {
            Place::Nowhere => None,
            Place::Query => Some(&from_query),
            Place::Header | Place::Both => Some(&from_header),
        };
        let required = |field: &str| pick(field).unwrap();
        prop_assert_eq!(&parsed.user_name, &required("userName").user_name);
        prop_assert_eq!(parsed.max_count, pick("maxCount").map(|g| g.max_count));
        prop_assert_eq!(parsed.verbose, pick("verbose").is_some_and(|g| g.verbose));
        prop_assert_eq!(parsed.role, required("role").role);
        prop_assert_eq!(parsed.ratio, pick("ratio").map(|g| g.ratio));
        prop_assert_eq!(parsed.offset, required("offset").offset);
    }

    /// Whatever the query and headers, resume answers without panicking,
    /// and a request it returns has a session id of 1 to 64 hex digits.
    #[test]
    fn resume_answers_any_request_with_a_valid_session_id_or_an_error(
        query in hostile_query(&[SESSION_ID_PARAM, LAST_SEQ_PARAM, "name"]),
        headers in hostile_headers(
            &[SESSION_ID_HEADER, LAST_SEQ_HEADER, "sec-websocket-protocol", "x-zocket-session-id"],
            resume_value(),
        ),
    ) {
        match resume_request(query.as_deref(), &headers) {
            Ok(Some(request)) => {
                prop_assert!(is_session_id(&request.session_id), "{request:?}");
            }
            Ok(None) => {
                prop_assert!(!headers.contains_key(SESSION_ID_HEADER));
                prop_assert!(!headers.contains_key(LAST_SEQ_HEADER));
            }
            Err(err) => {
                prop_assert!(!err.to_string().is_empty());
                if err == ResumeError::LastSeqAlone {
                    prop_assert!(!headers.contains_key(SESSION_ID_HEADER));
                }
            }
        }
    }

    /// A well-formed session id and seq (absent: 0) come back exactly from
    /// any one of the three forms.
    #[test]
    fn resume_reads_each_form_exactly(
        resume in Resume::strategy(),
        form in 0..3u8,
        padding in "[ \t]{0,2}",
        seq_first in any::<bool>(),
        split in any::<bool>(),
        other in prop::collection::vec(("[a-z]{1,6}", "\\PC{0,8}"), 0..3),
    ) {
        let mut headers = HeaderMap::new();
        headers.append("user-agent", HeaderValue::from_static("props"));
        let query = match form {
            0 => {
                resume.put_headers(&padding, &mut headers);
                None
            }
            1 => {
                resume.put_protocols(seq_first, split, &mut headers);
                None
            }
            _ => Some(resume.query(&other)),
        };
        prop_assert_eq!(
            resume_request(query.as_deref(), &headers),
            Ok(Some(resume.expected()))
        );
    }

    /// Headers win over subprotocol entries, which win over the query: the
    /// request is the one of the first form that names a session.
    #[test]
    fn resume_prefers_headers_then_protocols_then_the_query(
        header in prop::option::of(Resume::strategy()),
        protocol in prop::option::of(Resume::strategy()),
        query in prop::option::of(Resume::strategy()),
    ) {
        let mut headers = HeaderMap::new();
        if let Some(resume) = &header {
            resume.put_headers("", &mut headers);
        }
        if let Some(resume) = &protocol {
            resume.put_protocols(false, false, &mut headers);
        }
        let text = query.as_ref().map(|resume| resume.query(&[]));
        let expected = header.or(protocol).or(query).map(|r| r.expected());
        prop_assert_eq!(resume_request(text.as_deref(), &headers), Ok(expected));
    }
}
