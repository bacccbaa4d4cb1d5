//! What a failed Redis call was: [`RedisError`] and its [`RedisErrorKind`].

use std::fmt;

/// What kind of failure a [`RedisError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RedisErrorKind {
    /// No answer within the operation timeout.
    Timeout,
    /// Redis cannot be reached, or answered that it cannot take the command now (out of
    /// memory, loading its data, a read-only replica, busy running a script): worth
    /// retrying later.
    Unavailable,
    /// Anything else: a refused command, an invalid URL or setting, an unexpected
    /// answer.
    Other,
}

/// A Redis operation failed.
///
/// # Classification
///
/// | the `redis` crate's error | [`kind`](Self::kind) |
/// |---|---|
/// | a timeout | [`Timeout`](RedisErrorKind::Timeout) |
/// | I/O error, refused or dropped connection, unrecoverable connection | [`Unavailable`](RedisErrorKind::Unavailable) |
/// | the server's `OOM`, `LOADING`, `MASTERDOWN`, `READONLY`, `BUSY` | [`Unavailable`](RedisErrorKind::Unavailable) |
/// | anything else | [`Other`](RedisErrorKind::Other) |
#[derive(Debug, Clone)]
pub struct RedisError {
    kind: RedisErrorKind,
    message: String,
}

impl RedisError {
    /// An error of `kind` saying `message`.
    pub fn new(kind: RedisErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// What kind of failure it is.
    pub fn kind(&self) -> RedisErrorKind {
        self.kind
    }

    /// What went wrong, for logs.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl From<redis::RedisError> for RedisError {
    fn from(error: redis::RedisError) -> Self {
        let kind = if error.is_timeout() {
            RedisErrorKind::Timeout
        } else if error.is_io_error()
            || error.is_connection_refusal()
            || error.is_connection_dropped()
            || error.is_unrecoverable_error()
            || matches!(
                error.code(),
                Some("OOM" | "LOADING" | "MASTERDOWN" | "READONLY" | "BUSY")
            )
        {
            RedisErrorKind::Unavailable
        } else {
            RedisErrorKind::Other
        };
        Self::new(kind, error.to_string())
    }
}

impl fmt::Display for RedisError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for RedisError {}
