//! Client and session ids: 128 bits from the operating system's CSPRNG.

use std::fmt;
use std::sync::Arc;

/// 128 random bits as 32 lowercase hex digits.
fn random_hex128() -> Arc<str> {
    let mut bytes = [0u8; 16];
    // The OS generator failing is not something a server can run without.
    getrandom::fill(&mut bytes).expect("the operating system's random generator failed");
    let mut out = String::with_capacity(32);
    for b in bytes {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        out.push(HEX[usize::from(b >> 4)] as char);
        out.push(HEX[usize::from(b & 0xf)] as char);
    }
    out.into()
}

/// The id of one client (one session): unguessable, cheap to clone.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId(Arc<str>);

impl ClientId {
    pub(crate) fn random() -> Self {
        Self(random_hex128())
    }

    /// The id as sent in `__ready`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first 8 characters, for logs.
    pub fn short(&self) -> &str {
        self.0.get(..8).unwrap_or(&self.0)
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClientId({})", self.0)
    }
}

impl From<&str> for ClientId {
    fn from(id: &str) -> Self {
        Self(id.into())
    }
}

impl From<String> for ClientId {
    fn from(id: String) -> Self {
        Self(id.into())
    }
}

impl AsRef<str> for ClientId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// The secret that lets a client resume its session. Its `Debug` and
/// `Display` show only a prefix, so it cannot leak into logs in full.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct SessionId(Arc<str>);

impl SessionId {
    pub(crate) fn random() -> Self {
        Self(random_hex128())
    }

    /// A session id that came from another node.
    pub(crate) fn from_moved(id: &str) -> Self {
        Self(id.into())
    }

    /// The full id, for the `__ready` frame and a session store only.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for SessionId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId({}…)", self.0.get(..4).unwrap_or(""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_128_bit_hex_and_distinct() {
        let ids: HashSet<_> = (0..1000).map(|_| ClientId::random()).collect();
        assert_eq!(ids.len(), 1000);
        for id in &ids {
            assert_eq!(id.as_str().len(), 32);
            assert!(id.as_str().bytes().all(|b| b.is_ascii_hexdigit()));
        }
    }

    #[test]
    fn session_id_debug_is_redacted() {
        let id = SessionId::random();
        let shown = format!("{id:?}");
        assert!(!shown.contains(id.expose()));
    }
}
