//! The calls of one connection that are still running, under the
//! per-connection limit. Only the reader starts calls; any task ends them.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::Notify;

pub(crate) struct InFlight {
    count: AtomicUsize,
    limit: usize,
    changed: Notify,
}

/// One running call; dropping it (also on a panic) ends it.
pub(crate) struct Running(Arc<InFlight>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.count.fetch_sub(1, Ordering::AcqRel);
        self.0.changed.notify_one();
    }
}

impl InFlight {
    pub(crate) fn new(limit: usize) -> Arc<Self> {
        Arc::new(Self {
            count: AtomicUsize::new(0),
            limit: limit.max(1),
            changed: Notify::new(),
        })
    }

    /// Counts one more call, waiting while the limit is reached.
    pub(crate) async fn begin(self: &Arc<Self>) -> Running {
        loop {
            let changed = self.changed.notified();
            if self.count.load(Ordering::Acquire) < self.limit {
                self.count.fetch_add(1, Ordering::AcqRel);
                return Running(self.clone());
            }
            changed.await;
        }
    }

    /// Counts one more call if the limit allows it now.
    pub(crate) fn try_begin(self: &Arc<Self>) -> Option<Running> {
        (self.count.load(Ordering::Acquire) < self.limit).then(|| {
            self.count.fetch_add(1, Ordering::AcqRel);
            Running(self.clone())
        })
    }

    /// Resolves once no call is running.
    pub(crate) async fn idle(&self) {
        loop {
            let changed = self.changed.notified();
            if self.count.load(Ordering::Acquire) == 0 {
                return;
            }
            changed.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn counts_up_to_the_limit_and_waits_for_room() {
        let calls = InFlight::new(2);
        let a = calls.try_begin().expect("room");
        let _b = calls.try_begin().expect("room");
        assert!(calls.try_begin().is_none());
        let waiting = tokio::spawn({
            let calls = calls.clone();
            async move { calls.begin().await }
        });
        drop(a);
        let c = tokio::time::timeout(std::time::Duration::from_secs(5), waiting)
            .await
            .expect("room was made")
            .expect("joined");
        drop(c);
        drop(_b);
        tokio::time::timeout(std::time::Duration::from_secs(5), calls.idle())
            .await
            .expect("idle");
    }
}
