//! The streams open on this client, by `rpcId`: where their items go, how
//! many arrived (so that items replayed after a resume are dropped), and
//! the latest grant of credit (sent again on every new connection).

use serde_json::value::RawValue;
use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Utf8Bytes;
use zocket_protocol::Credit;

struct Entry {
    items: mpsc::UnboundedSender<Box<RawValue>>,
    /// The number of the last item received.
    received: u64,
    /// The latest grant sent.
    granted: Credit,
}

/// The open streams. Items are not bounded here: the server sends none
/// beyond the credit granted.
#[derive(Default)]
pub(crate) struct Streams {
    entries: Mutex<BTreeMap<u64, Entry>>,
}

impl Streams {
    fn lock(&self) -> MutexGuard<'_, BTreeMap<u64, Entry>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Opens stream `id` with a first grant of `window`; its items come on
    /// the returned receiver. Returns the grant's frame.
    pub(crate) fn open(
        &self,
        id: u64,
        window: u64,
    ) -> (mpsc::UnboundedReceiver<Box<RawValue>>, Utf8Bytes) {
        let (tx, rx) = mpsc::unbounded_channel();
        let granted = Credit {
            received: 0,
            window,
        };
        self.lock().insert(
            id,
            Entry {
                items: tx,
                received: 0,
                granted,
            },
        );
        (rx, granted.to_frame(&id.to_string()).into())
    }

    /// Hands item `n` of stream `rpc_id` to its reader, unless it was
    /// received already (replayed after a resume) or nobody reads it.
    pub(crate) fn item(&self, rpc_id: &str, n: u64, payload: Box<RawValue>) {
        let Ok(id) = rpc_id.parse::<u64>() else {
            return;
        };
        let mut entries = self.lock();
        let Some(entry) = entries.get_mut(&id) else {
            return;
        };
        if n != entry.received + 1 {
            if n > entry.received + 1 {
                tracing::warn!(
                    rpc_id,
                    n,
                    expected = entry.received + 1,
                    "stream item out of order: dropped"
                );
            }
            return;
        }
        entry.received = n;
        let _ = entry.items.send(payload);
    }

    /// Records a new grant for stream `id` (the application has taken
    /// `taken` items) and returns its frame; `None` when the stream is no
    /// longer open.
    pub(crate) fn grant(&self, id: u64, taken: u64, window: u64) -> Option<Utf8Bytes> {
        let mut entries = self.lock();
        let entry = entries.get_mut(&id)?;
        entry.granted = Credit {
            received: taken,
            window,
        };
        Some(entry.granted.to_frame(&id.to_string()).into())
    }

    /// Forgets stream `id`. Returns the frame acknowledging every item it
    /// received, when the latest grant did not already (so that the server
    /// can forget them too).
    pub(crate) fn close(&self, id: u64) -> Option<Utf8Bytes> {
        let entry = self.lock().remove(&id)?;
        (entry.received > entry.granted.received).then(|| {
            Credit {
                received: entry.received,
                window: 0,
            }
            .to_frame(&id.to_string())
            .into()
        })
    }

    /// The latest grant of every open stream, to send on a new connection
    /// (one sent on the lost connection may not have arrived).
    pub(crate) fn grants(&self) -> Vec<Utf8Bytes> {
        self.lock()
            .iter()
            .map(|(id, entry)| entry.granted.to_frame(&id.to_string()).into())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(json: &str) -> Box<RawValue> {
        RawValue::from_string(json.into()).unwrap()
    }

    #[test]
    fn items_arrive_once_and_in_order() {
        let streams = Streams::default();
        let (mut rx, first) = streams.open(7, 4);
        assert_eq!(
            first.as_str(),
            r#"{"type":"__credit","rpcId":"7","payload":{"received":0,"window":4}}"#
        );
        streams.item("7", 1, raw("1"));
        streams.item("7", 2, raw("2"));
        // Replayed after a resume: dropped.
        streams.item("7", 1, raw("1"));
        streams.item("7", 2, raw("2"));
        // A gap: dropped (the server never makes one).
        streams.item("7", 4, raw("4"));
        streams.item("7", 3, raw("3"));
        streams.item("8", 1, raw("0"));
        let got: Vec<String> = std::iter::from_fn(|| rx.try_recv().ok())
            .map(|item| item.get().to_owned())
            .collect();
        assert_eq!(got, ["1", "2", "3"]);
        assert_eq!(
            streams.grant(7, 2, 4).unwrap().as_str(),
            r#"{"type":"__credit","rpcId":"7","payload":{"received":2,"window":4}}"#
        );
        assert_eq!(streams.grants().len(), 1);
        // Three received, two acknowledged: closing acknowledges the third.
        assert_eq!(
            streams.close(7).unwrap().as_str(),
            r#"{"type":"__credit","rpcId":"7","payload":{"received":3,"window":0}}"#
        );
        assert!(streams.grants().is_empty());
        assert!(streams.grant(7, 3, 4).is_none());
    }
}
