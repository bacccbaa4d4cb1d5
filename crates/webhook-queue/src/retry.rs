use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::ConfigError;
use crate::job::process_seed;

/// The default number of attempts, the first included: 10.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 10;
/// The default ceiling of the first retry's delay: 1 second.
pub const DEFAULT_INITIAL_DELAY: Duration = Duration::from_secs(1);
/// The default cap on any retry's delay: 10 minutes.
pub const DEFAULT_MAX_DELAY: Duration = Duration::from_secs(600);

/// How often and how long apart a transiently failing job is retried: exponential
/// backoff with full jitter, capped.
///
/// After the `n`-th failed attempt the job waits a random time between zero and
/// `min(max_delay, initial_delay × 2^(n-1))` ("full jitter": retries of many jobs that
/// failed together spread out instead of hitting the recovering service at once).
/// After `max_attempts` attempts the job goes to the dead letters.
///
/// ```
/// use std::time::Duration;
/// use webhook_queue::RetryPolicy;
///
/// let policy = RetryPolicy::new()
///     .with_max_attempts(5)
///     .with_initial_delay(Duration::from_millis(500))
///     .with_max_delay(Duration::from_secs(3));
/// assert_eq!(policy.ceiling(1), Duration::from_millis(500));
/// assert_eq!(policy.ceiling(3), Duration::from_secs(2));
/// assert_eq!(policy.ceiling(4), Duration::from_secs(3)); // capped
/// assert!(policy.backoff(2) <= Duration::from_secs(1));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    max_attempts: u32,
    initial_delay: Duration,
    max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self::new()
    }
}

impl RetryPolicy {
    /// The defaults: [`DEFAULT_MAX_ATTEMPTS`], [`DEFAULT_INITIAL_DELAY`],
    /// [`DEFAULT_MAX_DELAY`].
    pub const fn new() -> Self {
        Self {
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            initial_delay: DEFAULT_INITIAL_DELAY,
            max_delay: DEFAULT_MAX_DELAY,
        }
    }

    /// Sets the number of attempts, the first included (at least 1; 1 means no retry).
    #[must_use]
    pub const fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts;
        self
    }

    /// Sets the ceiling of the first retry's delay (above zero).
    #[must_use]
    pub const fn with_initial_delay(mut self, delay: Duration) -> Self {
        self.initial_delay = delay;
        self
    }

    /// Sets the cap on any retry's delay (at least the initial delay).
    #[must_use]
    pub const fn with_max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// The number of attempts, the first included.
    pub const fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The ceiling of the first retry's delay.
    pub const fn initial_delay(&self) -> Duration {
        self.initial_delay
    }

    /// The cap on any retry's delay.
    pub const fn max_delay(&self) -> Duration {
        self.max_delay
    }

    /// The longest wait after `failed_attempts` failures (at least 1):
    /// `min(max_delay, initial_delay × 2^(failed_attempts - 1))`.
    pub fn ceiling(&self, failed_attempts: u32) -> Duration {
        let doublings = failed_attempts.saturating_sub(1).min(63);
        let factor = 1u64 << doublings;
        let nanos = self
            .initial_delay
            .as_nanos()
            .saturating_mul(u128::from(factor));
        let max = self.max_delay.as_nanos();
        Duration::from_nanos(u64::try_from(nanos.min(max)).unwrap_or(u64::MAX))
    }

    /// A random wait after `failed_attempts` failures, uniform between zero and
    /// [`ceiling`](Self::ceiling).
    pub fn backoff(&self, failed_attempts: u32) -> Duration {
        let ceiling = u64::try_from(self.ceiling(failed_attempts).as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(random_u64() % ceiling.saturating_add(1))
    }

    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        if self.max_attempts == 0 {
            return Err(ConfigError::ZeroMaxAttempts);
        }
        if self.initial_delay.is_zero() || self.max_delay < self.initial_delay {
            return Err(ConfigError::InvalidBackoff);
        }
        Ok(())
    }
}

/// SplitMix64 over a shared counter, seeded once per process: uniform enough for
/// jitter, and cheap.
fn random_u64() -> u64 {
    static STATE: AtomicU64 = AtomicU64::new(0);
    let step = STATE.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
    let mut z = step
        .wrapping_add(process_seed().rotate_left(17))
        .wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ceiling_doubles_from_the_initial_delay_and_is_capped() {
        let policy = RetryPolicy::new()
            .with_initial_delay(Duration::from_millis(100))
            .with_max_delay(Duration::from_secs(1));
        let ceilings: Vec<u128> = (1..=6).map(|n| policy.ceiling(n).as_millis()).collect();
        assert_eq!(ceilings, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(policy.ceiling(0), Duration::from_millis(100));
        assert_eq!(policy.ceiling(u32::MAX), Duration::from_secs(1));
    }

    #[test]
    fn full_jitter_spreads_over_the_whole_window() {
        let policy = RetryPolicy::new()
            .with_initial_delay(Duration::from_millis(100))
            .with_max_delay(Duration::from_secs(1));
        let samples: Vec<Duration> = (0..2000).map(|_| policy.backoff(3)).collect();
        let ceiling = Duration::from_millis(400);
        assert!(samples.iter().all(|d| *d <= ceiling));
        // Uniform over [0, 400 ms]: each quarter of the window gets a fair share.
        for quarter in 0..4u32 {
            let low = ceiling * quarter / 4;
            let high = ceiling * (quarter + 1) / 4;
            let count = samples.iter().filter(|d| **d >= low && **d < high).count();
            assert!((350..650).contains(&count), "quarter {quarter}: {count}");
        }
    }

    #[test]
    fn invalid_policies_are_refused() {
        assert_eq!(
            RetryPolicy::new().with_max_attempts(0).validate(),
            Err(ConfigError::ZeroMaxAttempts)
        );
        assert_eq!(
            RetryPolicy::new()
                .with_initial_delay(Duration::ZERO)
                .validate(),
            Err(ConfigError::InvalidBackoff)
        );
        assert_eq!(
            RetryPolicy::new()
                .with_initial_delay(Duration::from_secs(2))
                .with_max_delay(Duration::from_secs(1))
                .validate(),
            Err(ConfigError::InvalidBackoff)
        );
        assert_eq!(RetryPolicy::new().validate(), Ok(()));
    }
}
