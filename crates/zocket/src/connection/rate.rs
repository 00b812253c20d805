//! The per-connection rate limit: a token bucket.

use crate::config::RateLimit;
use tokio::time::Instant;

/// Tokens refill continuously at `per_second`, up to `burst`.
pub(crate) struct Bucket {
    limit: RateLimit,
    tokens: f64,
    last: Instant,
    refused_in_a_row: u32,
}

/// What the bucket says about one message.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    Allow,
    Refuse,
    /// Refused too many times in a row: close the connection.
    Abuse,
}

impl Bucket {
    pub(crate) fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            tokens: f64::from(limit.burst),
            last: Instant::now(),
            refused_in_a_row: 0,
        }
    }

    pub(crate) fn take(&mut self) -> Verdict {
        let now = Instant::now();
        let refill = now.duration_since(self.last).as_secs_f64() * self.limit.per_second;
        self.tokens = (self.tokens + refill).min(f64::from(self.limit.burst));
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            self.refused_in_a_row = 0;
            Verdict::Allow
        } else {
            self.refused_in_a_row += 1;
            if self.refused_in_a_row >= self.limit.close_after {
                Verdict::Abuse
            } else {
                Verdict::Refuse
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn bursts_then_refills() {
        let mut bucket = Bucket::new(RateLimit {
            per_second: 10.0,
            burst: 3,
            close_after: 3,
        });
        assert_eq!(bucket.take(), Verdict::Allow);
        assert_eq!(bucket.take(), Verdict::Allow);
        assert_eq!(bucket.take(), Verdict::Allow);
        assert_eq!(bucket.take(), Verdict::Refuse);
        tokio::time::advance(Duration::from_millis(100)).await;
        assert_eq!(bucket.take(), Verdict::Allow);
        assert_eq!(bucket.take(), Verdict::Refuse);
        assert_eq!(bucket.take(), Verdict::Refuse);
        assert_eq!(bucket.take(), Verdict::Abuse);
    }
}
