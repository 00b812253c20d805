//! The `Origin` check against cross-site WebSocket hijacking: a page on
//! another site must not open a socket that rides on the user's cookies.

use crate::config::Origins;
use axum::http::HeaderMap;
use axum::http::header::{HOST, ORIGIN};

/// Whether a handshake with these headers may proceed under `origins`.
pub(crate) fn allowed(origins: &Origins, headers: &HeaderMap) -> bool {
    {
        let Some(origin) = headers.get(ORIGIN) else {
            return true;
        };
        let Ok(origin) = origin.to_str() else {
            return false;
        };
        match origins {
            Origins::Any => true,
            Origins::List(allowed) => allowed.iter().any(|a| a.eq_ignore_ascii_case(origin)),
            Origins::SameHost => {
                let host = headers.get(HOST).and_then(|h| h.to_str().ok());
                let origin_host = origin.split_once("://").map(|(_, rest)| rest);
                matches!((host, origin_host), (Some(host), Some(o)) if o.eq_ignore_ascii_case(host))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(origin: Option<&str>, host: &str) -> HeaderMap {
        let mut map = HeaderMap::new();
        map.insert(HOST, host.parse().unwrap());
        if let Some(origin) = origin {
            map.insert(ORIGIN, origin.parse().unwrap());
        }
        map
    }

    #[test]
    fn same_host_by_default_and_no_origin_always() {
        let same = Origins::default();
        assert!(allowed(&same, &headers(None, "chat.example:3000")));
        assert!(allowed(
            &same,
            &headers(Some("http://chat.example:3000"), "chat.example:3000")
        ));
        assert!(allowed(
            &same,
            &headers(Some("https://CHAT.example"), "chat.example")
        ));
        assert!(!allowed(
            &same,
            &headers(Some("http://evil.example"), "chat.example")
        ));
        assert!(!allowed(
            &same,
            &headers(Some("http://chat.example:3001"), "chat.example:3000")
        ));
        assert!(!allowed(&same, &headers(Some("null"), "chat.example")));
    }

    #[test]
    fn a_list_or_any() {
        let list = Origins::List(vec!["https://app.example".into()]);
        assert!(allowed(
            &list,
            &headers(Some("https://app.example"), "api.example")
        ));
        assert!(!allowed(
            &list,
            &headers(Some("https://evil.example"), "api.example")
        ));
        assert!(allowed(
            &Origins::Any,
            &headers(Some("https://evil.example"), "api.example")
        ));
    }
}
