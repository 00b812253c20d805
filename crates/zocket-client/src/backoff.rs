//! How long to wait before each reconnection attempt: exponential, capped,
//! with random jitter.

use std::time::Duration;

/// The delays between reconnection attempts: attempt `n` (from 1) waits
/// `min(base · 2^(n-1), max) · (1 ± jitter)`, the factor drawn uniformly
/// at random for each attempt, so that clients dropped together do not
/// all come back at the same instant.
///
/// The default is a base of 1 s, a cap of 30 s and a jitter of 0.3:
/// about 1 s, 2 s, 4 s, 8 s, 16 s, then 30 s, each ±30%.
///
/// ```
/// use std::time::Duration;
/// use zocket_client::Backoff;
///
/// let backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(2), 0.0)?;
/// assert_eq!(backoff.delay(1), Duration::from_millis(100));
/// assert_eq!(backoff.delay(3), Duration::from_millis(400));
/// assert_eq!(backoff.delay(10), Duration::from_secs(2));
/// # Ok::<(), zocket_client::BackoffError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    base: Duration,
    max: Duration,
    jitter: f64,
}

/// Why a [`Backoff`] could not be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum BackoffError {
    /// The jitter is not a number in `[0, 1]`.
    #[error("the jitter must be in [0, 1], got {0}")]
    Jitter(f64),
    /// The base delay is longer than the cap.
    #[error("the base delay {base:?} is longer than the maximum {max:?}")]
    BaseOverMax {
        /// The base delay.
        base: Duration,
        /// The cap.
        max: Duration,
    },
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(1),
            max: Duration::from_secs(30),
            jitter: 0.3,
        }
    }
}

impl Backoff {
    /// A backoff starting at `base`, doubling up to `max`, each delay
    /// multiplied by a random factor in `[1 - jitter, 1 + jitter]`.
    ///
    /// Fails unless `jitter` is in `[0, 1]` and `base <= max`.
    pub fn new(base: Duration, max: Duration, jitter: f64) -> Result<Self, BackoffError> {
        if !(0.0..=1.0).contains(&jitter) {
            return Err(BackoffError::Jitter(jitter));
        }
        if base > max {
            return Err(BackoffError::BaseOverMax { base, max });
        }
        Ok(Self { base, max, jitter })
    }

    /// The first delay, before jitter.
    pub fn base(&self) -> Duration {
        self.base
    }

    /// The cap on delays, before jitter.
    pub fn max(&self) -> Duration {
        self.max
    }

    /// The jitter, in `[0, 1]`.
    pub fn jitter(&self) -> f64 {
        self.jitter
    }

    /// The delay before attempt `attempt` (from 1), without jitter:
    /// `min(base · 2^(attempt-1), max)`. Attempt 0 counts as 1.
    pub fn delay(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(63);
        let factor = 1u64 << doublings;
        let nanos = self.base.as_nanos().saturating_mul(u128::from(factor));
        if nanos >= self.max.as_nanos() {
            self.max
        } else {
            // Below `max`, so it fits a `Duration`.
            Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
        }
    }

    /// The delay before attempt `attempt` with the jitter factor chosen by
    /// `unit`, a number in `[0, 1]`: 0 gives `1 - jitter`, 0.5 gives 1
    /// and 1 gives `1 + jitter`. Values outside `[0, 1]` are clamped.
    pub fn delay_with(&self, attempt: u32, unit: f64) -> Duration {
        let unit = if unit.is_nan() {
            0.5
        } else {
            unit.clamp(0.0, 1.0)
        };
        let factor = 1.0 + self.jitter * (2.0 * unit - 1.0);
        self.delay(attempt).mul_f64(factor.max(0.0))
    }

    /// The delay before attempt `attempt`, with a random jitter factor.
    pub fn jittered(&self, attempt: u32) -> Duration {
        self.delay_with(attempt, random_unit())
    }
}

/// A number in `[0, 1]` from the operating system's random source; 0.5
/// (no jitter) in the unlikely case it fails.
fn random_unit() -> f64 {
    match getrandom::u64() {
        // 53 random bits: every value is exact in an `f64`.
        Ok(bits) => (bits >> 11) as f64 / (1u64 << 53) as f64,
        Err(_) => 0.5,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic sequence of numbers in `[0, 1]` (SplitMix64).
    fn units(seed: u64) -> impl Iterator<Item = f64> {
        let mut state = seed;
        std::iter::repeat_with(move || {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            (z >> 11) as f64 / (1u64 << 53) as f64
        })
    }

    fn backoffs() -> Vec<Backoff> {
        let ms = Duration::from_millis;
        let mut all = vec![Backoff::default()];
        for (base, max) in [(1, 1), (1, 10), (10, 30_000), (250, 1000), (0, 5), (7, 7)] {
            for jitter in [0.0, 0.1, 0.3, 0.5, 1.0] {
                all.push(Backoff::new(ms(base), ms(max), jitter).unwrap());
            }
        }
        all
    }

    #[test]
    fn delays_double_from_base_up_to_max() {
        for backoff in backoffs() {
            assert_eq!(backoff.delay(0), backoff.delay(1));
            assert_eq!(backoff.delay(1), backoff.base().min(backoff.max()));
            for attempt in 1..200 {
                let delay = backoff.delay(attempt);
                let next = backoff.delay(attempt + 1);
                assert!(delay <= backoff.max(), "{backoff:?} attempt {attempt}");
                assert!(next >= delay, "{backoff:?} never shrinks at {attempt}");
                assert!(
                    next == backoff.max() || next == delay * 2,
                    "{backoff:?} doubles until the cap at {attempt}"
                );
            }
            let last = if backoff.base().is_zero() {
                Duration::ZERO
            } else {
                backoff.max()
            };
            assert_eq!(backoff.delay(u32::MAX), last);
        }
    }

    #[test]
    fn jittered_delays_stay_within_the_jitter_band() {
        for (seed, backoff) in backoffs().into_iter().enumerate() {
            let mut units = units(seed as u64);
            for attempt in 0..100 {
                for _ in 0..20 {
                    let unit = units.next().unwrap();
                    let plain = backoff.delay(attempt).as_secs_f64();
                    let jittered = backoff.delay_with(attempt, unit).as_secs_f64();
                    let (low, high) = (
                        plain * (1.0 - backoff.jitter()),
                        plain * (1.0 + backoff.jitter()),
                    );
                    // One nanosecond of rounding either way.
                    assert!(
                        jittered >= low - 1e-9 && jittered <= high + 1e-9,
                        "{backoff:?} attempt {attempt} unit {unit}: {jittered} not in [{low}, {high}]"
                    );
                }
                let random = backoff.jittered(attempt);
                assert!(
                    random
                        <= backoff.delay(attempt).mul_f64(1.0 + backoff.jitter())
                            + Duration::from_nanos(1)
                );
            }
        }
    }

    #[test]
    fn the_jitter_factor_spans_the_whole_band() {
        let backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(1), 0.3).unwrap();
        assert_eq!(backoff.delay_with(1, 0.0), Duration::from_millis(700));
        assert_eq!(backoff.delay_with(1, 0.5), Duration::from_secs(1));
        assert_eq!(backoff.delay_with(1, 1.0), Duration::from_millis(1300));
        assert_eq!(backoff.delay_with(1, -3.0), Duration::from_millis(700));
        assert_eq!(backoff.delay_with(1, f64::NAN), Duration::from_secs(1));
        let none = Backoff::new(Duration::from_secs(1), Duration::from_secs(1), 0.0).unwrap();
        for unit in units(7).take(100) {
            assert_eq!(none.delay_with(1, unit), Duration::from_secs(1));
        }
    }

    #[test]
    fn random_units_are_in_range() {
        for _ in 0..1000 {
            assert!((0.0..=1.0).contains(&random_unit()));
        }
    }

    #[test]
    fn invalid_settings_are_refused() {
        let s = Duration::from_secs;
        for jitter in [-0.1, 1.01, f64::NAN, f64::INFINITY] {
            assert!(matches!(
                Backoff::new(s(1), s(2), jitter),
                Err(BackoffError::Jitter(_))
            ));
        }
        assert_eq!(
            Backoff::new(s(3), s(2), 0.5),
            Err(BackoffError::BaseOverMax {
                base: s(3),
                max: s(2)
            })
        );
        assert!(Backoff::new(s(2), s(2), 1.0).is_ok());
        assert_eq!(Backoff::default(), Backoff::new(s(1), s(30), 0.3).unwrap());
    }
}
