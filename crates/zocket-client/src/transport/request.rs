//! The handshake request of a connection attempt: the user's URL as it
//! is, the header fields as HTTP headers (or, in the legacy form, as query
//! parameters), and the session to resume in the `x-zocket-session` and
//! `x-zocket-last-seq` headers, never in the URL.

use crate::error::ConnectError;
use serde::Serialize;
use serde_json::Value;
use std::fmt;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
use zocket_protocol::{LAST_SEQ_HEADER, SESSION_ID_HEADER};

/// Where the header fields travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Form {
    /// As HTTP headers of the handshake request.
    Http,
    /// As query parameters of the URL: the legacy form, for servers that
    /// read only the query.
    Query,
}

/// The header fields, encoded for where they travel. `Debug` shows their
/// names only.
#[derive(Clone, PartialEq)]
pub(crate) enum Headers {
    /// HTTP headers, their values marked sensitive.
    Http(Vec<(HeaderName, HeaderValue)>),
    /// Query parameters.
    Query(Vec<(String, String)>),
}

impl Headers {
    /// The flat fields of `headers`, encoded in `form`: strings as they
    /// are, numbers and booleans in their JSON form; `null` (a `None`)
    /// leaves the field out. As an HTTP header, a field needs a name that
    /// is a header name (and not one the handshake sets) and a value
    /// without control characters.
    pub(crate) fn encode<H: Serialize + ?Sized>(
        headers: &H,
        form: Form,
    ) -> Result<Self, ConnectError> {
        let fields = flat_fields(headers)?;
        match form {
            Form::Http => http_headers(&fields).map(Self::Http),
            Form::Query => Ok(Self::Query(fields)),
        }
    }

    /// Where these fields travel.
    pub(crate) fn form(&self) -> Form {
        match self {
            Self::Http(_) => Form::Http,
            Self::Query(_) => Form::Query,
        }
    }

    fn names(&self) -> Vec<&str> {
        match self {
            Self::Http(headers) => headers.iter().map(|(name, _)| name.as_str()).collect(),
            Self::Query(pairs) => pairs.iter().map(|(name, _)| name.as_str()).collect(),
        }
    }
}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Headers")
            .field("form", &self.form())
            .field("names", &self.names())
            .finish_non_exhaustive()
    }
}

/// What a connection attempt sends: the header fields, and the session to
/// resume with the last event `seq` received. `Debug` shows neither the
/// values nor the session id.
#[derive(Clone, PartialEq)]
pub(crate) struct Attempt {
    pub(crate) headers: Headers,
    pub(crate) session: Option<(String, u64)>,
}

impl fmt::Debug for Attempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attempt")
            .field("headers", &self.headers)
            .field("resumes", &self.session.is_some())
            .field("last_seq", &self.session.as_ref().map(|(_, seq)| seq))
            .finish()
    }
}

impl Attempt {
    /// The handshake request to `url`: the URL as it is (with the fields
    /// added to its query in the legacy form), the fields as HTTP headers,
    /// and the session's id and last `seq` as the `x-zocket-session` and
    /// `x-zocket-last-seq` headers.
    pub(crate) fn request(&self, url: &str) -> Result<Request, ConnectError> {
        let mut request = match &self.headers {
            Headers::Http(_) => url.into_client_request()?,
            Headers::Query(pairs) => {
                let pairs = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()));
                with_pairs(url, pairs).into_client_request()?
            }
        };
        let fields = request.headers_mut();
        if let Headers::Http(headers) = &self.headers {
            for (name, value) in headers {
                fields.insert(name.clone(), value.clone());
            }
        }
        if let Some((id, seq)) = &self.session {
            let mut id = HeaderValue::from_bytes(id.as_bytes()).map_err(|_| {
                ConnectError::Headers(
                    "the session id has a control character, which an HTTP header cannot carry"
                        .into(),
                )
            })?;
            id.set_sensitive(true);
            fields.insert(HeaderName::from_static(SESSION_ID_HEADER), id);
            fields.insert(
                HeaderName::from_static(LAST_SEQ_HEADER),
                HeaderValue::from(*seq),
            );
        }
        Ok(request)
    }
}

/// The flat fields of `headers`, as text.
fn flat_fields<H: Serialize + ?Sized>(headers: &H) -> Result<Vec<(String, String)>, ConnectError> {
    let fields = match serde_json::to_value(headers) {
        Ok(Value::Object(fields)) => fields,
        Ok(Value::Null) => return Ok(Vec::new()),
        Ok(other) => {
            return Err(ConnectError::Headers(format!(
                "expected a struct or a map, got {}",
                kind(&other)
            )));
        }
        Err(err) => return Err(ConnectError::Headers(err.to_string())),
    };
    let mut flat = Vec::new();
    for (name, value) in fields {
        match value {
            Value::Null => {}
            Value::String(s) => flat.push((name, s)),
            Value::Bool(_) | Value::Number(_) => {
                let text = value.to_string();
                flat.push((name, text));
            }
            Value::Array(_) | Value::Object(_) => {
                return Err(ConnectError::Headers(format!(
                    "field `{name}` is {}: header fields are flat values",
                    kind(&value)
                )));
            }
        }
    }
    Ok(flat)
}

/// `fields` as HTTP headers, each value marked sensitive.
fn http_headers(
    fields: &[(String, String)],
) -> Result<Vec<(HeaderName, HeaderValue)>, ConnectError> {
    let invalid = |field: &str, why: &str| ConnectError::Headers(format!("field `{field}` {why}"));
    let mut headers: Vec<(HeaderName, HeaderValue)> = Vec::with_capacity(fields.len());
    for (field, value) in fields {
        let name = HeaderName::from_bytes(field.as_bytes()).map_err(|_| {
            invalid(
                field,
                "is not an HTTP header name (ASCII letters, digits and !#$%&'*+-.^_`|~)",
            )
        })?;
        if let Some(why) = reserved(&name) {
            return Err(invalid(field, why));
        }
        // Header names ignore case: `Token` and `token` would be one.
        if let Some(same) = headers.iter().position(|(other, _)| *other == name) {
            return Err(ConnectError::Headers(format!(
                "fields `{}` and `{field}` are the same HTTP header",
                fields[same].0
            )));
        }
        let mut value = HeaderValue::from_bytes(value.as_bytes()).map_err(|_| {
            invalid(
                field,
                "has a control character in its value, which an HTTP header cannot carry",
            )
        })?;
        value.set_sensitive(true);
        headers.push((name, value));
    }
    Ok(headers)
}

/// Why a field may not be header `name`: the handshake sets it, or it
/// carries the session.
fn reserved(name: &HeaderName) -> Option<&'static str> {
    let name = name.as_str();
    if name == SESSION_ID_HEADER || name == LAST_SEQ_HEADER {
        Some("is the header that carries the session")
    } else if matches!(
        name,
        "host" | "connection" | "upgrade" | "content-length" | "transfer-encoding"
    ) || name.starts_with("sec-websocket-")
    {
        Some("is a header the WebSocket handshake sets")
    } else {
        None
    }
}

/// `url` with `pairs` added to its query string.
fn with_pairs<'a>(url: &str, pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.extend_pairs(pairs);
    let query = query.finish();
    if query.is_empty() {
        return url.to_owned();
    }
    let (base, fragment) = match url.split_once('#') {
        Some((base, fragment)) => (base, Some(fragment)),
        None => (url, None),
    };
    let separator = match base.find('?') {
        None => "?",
        Some(_) if base.ends_with('?') || base.ends_with('&') => "",
        Some(_) => "&",
    };
    let mut out = format!("{base}{separator}{query}");
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Fields {
        name: &'static str,
        age: u8,
        beta: bool,
        auth_token: Option<&'static str>,
    }

    fn ada() -> Fields {
        Fields {
            name: "Ada Lovelacé & co",
            age: 36,
            beta: true,
            auth_token: None,
        }
    }

    /// The request of a first attempt (no session) to `url`.
    fn request<H: Serialize + ?Sized>(
        url: &str,
        headers: &H,
        form: Form,
    ) -> Result<Request, ConnectError> {
        let attempt = Attempt {
            headers: Headers::encode(headers, form)?,
            session: None,
        };
        attempt.request(url)
    }

    fn header<'a>(request: &'a Request, name: &str) -> Option<&'a [u8]> {
        request.headers().get(name).map(HeaderValue::as_bytes)
    }

    /// The message of a `ConnectError::Headers`.
    fn refused<H: Serialize + ?Sized>(headers: &H) -> String {
        match request("ws://h/ws", headers, Form::Http) {
            Err(ConnectError::Headers(message)) => message,
            other => panic!("expected ConnectError::Headers, got {other:?}"),
        }
    }

    #[test]
    fn the_fields_travel_as_http_headers_and_the_url_is_left_as_it_is() {
        let request = request("ws://h/ws?room=1#top", &ada(), Form::Http).unwrap();
        assert_eq!(request.uri(), "ws://h/ws?room=1");
        assert_eq!(
            header(&request, "name"),
            Some("Ada Lovelacé & co".as_bytes())
        );
        assert_eq!(header(&request, "age"), Some(&b"36"[..]));
        assert_eq!(header(&request, "beta"), Some(&b"true"[..]));
        assert_eq!(header(&request, "authToken"), None, "`None` is left out");
        assert_eq!(header(&request, SESSION_ID_HEADER), None);
        assert_eq!(header(&request, LAST_SEQ_HEADER), None);
        assert!(request.headers()["name"].is_sensitive());
        // The handshake's own headers are still there.
        assert!(request.headers().contains_key("sec-websocket-key"));

        let plain = self::request("ws://h/ws", &(), Form::Http).unwrap();
        assert_eq!(plain.uri(), "ws://h/ws");
        let token = BTreeMap::from([("authToken", "Bearer abc")]);
        let request = self::request("ws://h/ws", &token, Form::Http).unwrap();
        assert_eq!(request.uri(), "ws://h/ws");
        assert_eq!(header(&request, "authtoken"), Some(&b"Bearer abc"[..]));
    }

    #[test]
    fn a_resume_sends_the_session_in_two_headers_and_never_in_the_url() {
        for form in [Form::Http, Form::Query] {
            let attempt = Attempt {
                headers: Headers::encode(&BTreeMap::from([("name", "ada")]), form).unwrap(),
                session: Some(("s 1".into(), 42)),
            };
            let request = attempt.request("ws://h/ws").unwrap();
            assert_eq!(header(&request, SESSION_ID_HEADER), Some(&b"s 1"[..]));
            assert_eq!(header(&request, LAST_SEQ_HEADER), Some(&b"42"[..]));
            assert!(request.headers()[SESSION_ID_HEADER].is_sensitive());
            let uri = request.uri().to_string();
            assert!(!uri.contains("s+1") && !uri.contains("42"), "{uri}");
            let expected = match form {
                Form::Http => "ws://h/ws",
                Form::Query => "ws://h/ws?name=ada",
            };
            assert_eq!(uri, expected);
        }
    }

    /// The URL of a first attempt in the legacy form.
    fn with_query<H: Serialize + ?Sized>(url: &str, headers: &H) -> Result<String, ConnectError> {
        Ok(request(url, headers, Form::Query)?.uri().to_string())
    }

    #[test]
    fn the_legacy_form_puts_the_fields_in_the_query() {
        let request = request("ws://h/ws", &ada(), Form::Query).unwrap();
        assert_eq!(
            request.uri(),
            "ws://h/ws?age=36&beta=true&name=Ada+Lovelac%C3%A9+%26+co"
        );
        assert_eq!(header(&request, "name"), None);
        let map = BTreeMap::from([("a", "1")]);
        assert_eq!(with_query("ws://h/?x=0", &map).unwrap(), "ws://h/?x=0&a=1");
        assert_eq!(with_query("ws://h/?", &map).unwrap(), "ws://h/?a=1");
        assert_eq!(with_query("ws://h/", &()).unwrap(), "ws://h/");
        assert_eq!(with_pairs("ws://h/#top", [("a", "1")]), "ws://h/?a=1#top");
        // Names and values an HTTP header could not carry are fine there.
        let odd = BTreeMap::from([("first name", "a\nb")]);
        assert_eq!(
            with_query("ws://h/", &odd).unwrap(),
            "ws://h/?first+name=a%0Ab"
        );
    }

    #[test]
    fn a_field_an_http_header_cannot_carry_is_refused_with_its_name_and_why() {
        let not_a_name = "not an HTTP header name";
        let control = "control character";
        let handshake = "handshake sets";
        let cases = [
            ("first name", "ada", not_a_name),
            ("prénom", "ada", not_a_name),
            ("", "ada", not_a_name),
            ("name", "ada\nevil: 1", control),
            ("name", "ada\r", control),
            ("Host", "evil", handshake),
            ("Sec-WebSocket-Key", "k", handshake),
            (SESSION_ID_HEADER, "s", "carries the session"),
        ];
        for (name, value, why) in cases {
            let message = refused(&BTreeMap::from([(name, value)]));
            assert!(
                message.contains(&format!("`{name}`")) && message.contains(why),
                "{name:?}: {value:?}: {message}"
            );
        }
        let message = refused(&BTreeMap::from([("Token", "a"), ("token", "b")]));
        assert!(
            message.contains("`Token` and `token` are the same HTTP header"),
            "{message}"
        );
    }

    #[test]
    fn nested_or_non_struct_headers_are_refused() {
        for form in [Form::Http, Form::Query] {
            let nested = serde_json::json!({"a": {"b": 1}});
            assert!(
                matches!(Headers::encode(&nested, form), Err(ConnectError::Headers(m)) if m.contains("`a`"))
            );
            assert!(matches!(
                Headers::encode(&[1, 2], form),
                Err(ConnectError::Headers(_))
            ));
        }
    }

    #[test]
    fn a_session_id_with_a_control_character_is_refused() {
        let attempt = Attempt {
            headers: Headers::encode(&(), Form::Http).unwrap(),
            session: Some(("s\n1".into(), 0)),
        };
        assert!(matches!(
            attempt.request("ws://h/ws"),
            Err(ConnectError::Headers(m)) if m.contains("session id")
        ));
    }

    #[test]
    fn debug_shows_neither_the_values_nor_the_session_id() {
        let token = BTreeMap::from([("token", "Bearer t0p-s3cret")]);
        for form in [Form::Http, Form::Query] {
            let attempt = Attempt {
                headers: Headers::encode(&token, form).unwrap(),
                session: Some(("sess-s3cret".into(), 42)),
            };
            let debug = format!("{attempt:?}");
            assert!(debug.contains("token") && debug.contains("42"), "{debug}");
            assert!(
                !debug.contains("s3cret") && !debug.contains("Bearer"),
                "{debug}"
            );
        }
        let attempt = Attempt {
            headers: Headers::encode(&token, Form::Http).unwrap(),
            session: Some(("sess-s3cret".into(), 42)),
        };
        let request = format!("{:?}", attempt.request("ws://h/ws").unwrap());
        assert!(!request.contains("s3cret"), "{request}");
    }
}
