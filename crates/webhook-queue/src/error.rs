use std::fmt;

/// A builder refused its settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// A queue's capacity (or Redis stream bound) is zero.
    ZeroCapacity,
    /// The workers' concurrency is zero.
    ZeroConcurrency,
    /// The retry policy allows no attempt.
    ZeroMaxAttempts,
    /// The retry policy's initial delay is zero or above its maximum delay.
    InvalidBackoff,
    /// The `Retry-After` is below one second.
    RetryAfterTooShort,
    /// A duration that must be above zero is zero.
    ZeroDuration {
        /// Which setting.
        setting: &'static str,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ZeroCapacity => f.write_str("the queue's capacity must be above zero"),
            Self::ZeroConcurrency => f.write_str("at least one worker is needed"),
            Self::ZeroMaxAttempts => {
                f.write_str("the retry policy must allow at least one attempt")
            }
            Self::InvalidBackoff => f.write_str(
                "the initial retry delay must be above zero and at most the maximum delay",
            ),
            Self::RetryAfterTooShort => f.write_str("the Retry-After must be at least one second"),
            Self::ZeroDuration { setting } => write!(f, "the {setting} must be above zero"),
        }
    }
}

impl std::error::Error for ConfigError {}
