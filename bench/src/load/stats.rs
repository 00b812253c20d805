//! Latency percentiles.

/// Latency samples in microseconds.
#[derive(Default)]
pub(crate) struct Latencies(Vec<u64>);

impl Latencies {
    pub(crate) fn record(&mut self, us: u64) {
        self.0.push(us);
    }

    pub(crate) fn extend(&mut self, other: Latencies) {
        self.0.extend(other.0);
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// Sorts once; then [`percentile`](Self::percentile) is exact.
    pub(crate) fn sorted(mut self) -> Self {
        self.0.sort_unstable();
        self
    }

    /// The `p`-th percentile (0-100) of sorted samples; 0 when empty.
    pub(crate) fn percentile(&self, p: f64) -> f64 {
        if self.0.is_empty() {
            return 0.0;
        }
        let rank = (p / 100.0 * self.0.len() as f64).ceil() as usize;
        self.0[rank.clamp(1, self.0.len()) - 1] as f64
    }
}
