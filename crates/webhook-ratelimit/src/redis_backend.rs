//! The Redis backend: one bucket per key in Redis, shared by every instance of a
//! service.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use governor::Quota;
use webhook_core::redis::{RedisConnection, RedisError, within};

use crate::backend::{Allowance, Backend, Check, Decision};
use crate::{ConfigError, Key};

/// GCRA in microseconds of the Redis server's clock: see the script for its keys,
/// arguments and answers.
const GCRA: &str = include_str!("redis_backend/gcra.lua");

/// The default key prefix.
pub const DEFAULT_KEY_PREFIX: &str = "webhook-ratelimit:";

/// The default time one check may wait for Redis: 250 ms, shorter than the
/// connection's, since every request waits for it.
pub const DEFAULT_OPERATION_TIMEOUT: Duration = Duration::from_millis(250);

/// What the Redis backend does when Redis fails or cannot answer in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum BackendErrorPolicy {
    /// Let the request through uncounted and log at `warn` (at most every 10 s). The
    /// default: the signature layer still keeps unauthenticated traffic out, and a
    /// limiter outage should not become a webhook outage.
    #[default]
    PassThrough,
    /// Refuse the request with 503 `rate_limiter_unavailable` and this `Retry-After`.
    Reject {
        /// The `Retry-After` to send.
        retry_after: Duration,
    },
}

/// A GCRA rate limiter in Redis: one Lua script, one round trip (`EVALSHA`) per
/// request, the same quota semantics as [`GovernorLimiter`](crate::GovernorLimiter)
/// (burst, replenish interval, `Retry-After`), for services running several
/// instances.
///
/// - **Time** is the Redis server's (`TIME`), so instances with skewed clocks agree.
///   It counts in microseconds: the replenish interval is rounded up to a whole µs.
/// - **Keys** are `<prefix><key>` (see [`Key::to_bytes`]) and expire when their
///   bucket is full again (or after [`key_ttl`](RedisRateLimiterBuilder::key_ttl)),
///   so Redis memory holds only the live keys. Give each layer its own prefix. Each
///   check touches one key, so a Redis Cluster connection works too.
/// - **Connection**: a [`RedisConnection`], which reconnects in the background and
///   can be shared with the other Redis backends. Each check has an
///   [operation timeout](RedisRateLimiterBuilder::operation_timeout); when Redis does
///   not answer in time the [`BackendErrorPolicy`] applies.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use std::num::NonZeroU32;
/// use webhook_core::redis::RedisConnection;
/// use webhook_ratelimit::{Quota, RateLimitLayer, RedisRateLimiter, VerifiedSource};
///
/// let connection = RedisConnection::connect("redis://127.0.0.1:6379/").await?;
/// let quota = Quota::per_minute(NonZeroU32::new(100).unwrap());
/// let redis = RedisRateLimiter::builder(connection, quota)
///     .key_prefix("receiver:per-source:")
///     .build()?;
/// let layer = RateLimitLayer::builder_with(redis).key(VerifiedSource).build()?;
/// # drop(layer);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RedisRateLimiter {
    inner: Arc<Inner>,
}

struct Inner {
    connection: RedisConnection,
    script: redis::Script,
    quota: Quota,
    interval_us: u64,
    tolerance_us: u64,
    ttl_ms: u64,
    prefix: Vec<u8>,
    timeout: Duration,
    backend_errors: BackendErrorPolicy,
    created: Instant,
    last_warning: AtomicU64,
}

/// Configures a [`RedisRateLimiter`].
#[must_use]
pub struct RedisRateLimiterBuilder {
    connection: RedisConnection,
    quota: Quota,
    prefix: Vec<u8>,
    key_ttl: Option<Duration>,
    timeout: Duration,
    backend_errors: BackendErrorPolicy,
}

impl RedisRateLimiter {
    /// A limiter on `connection` giving each key `quota`, with the defaults:
    /// `RedisRateLimiter::builder(connection, quota).build()`.
    pub fn new(connection: RedisConnection, quota: Quota) -> Result<Self, ConfigError> {
        Self::builder(connection, quota).build()
    }

    /// Starts a limiter on `connection` (clones of one connection can serve several
    /// backends) giving each key `quota`.
    pub fn builder(connection: RedisConnection, quota: Quota) -> RedisRateLimiterBuilder {
        RedisRateLimiterBuilder {
            connection,
            quota,
            prefix: DEFAULT_KEY_PREFIX.as_bytes().to_vec(),
            key_ttl: None,
            timeout: DEFAULT_OPERATION_TIMEOUT,
            backend_errors: BackendErrorPolicy::default(),
        }
    }

    /// The Redis key holding the bucket of `key`.
    pub fn redis_key(&self, key: &Key) -> Vec<u8> {
        let mut bytes = self.inner.prefix.clone();
        key.write_to(&mut bytes);
        bytes
    }

    /// Loads the script into Redis now, so the first request needs no extra round trip.
    /// Optional: a missing script is loaded on first use (and again after a Redis
    /// restart).
    pub async fn preload(&self) -> Result<(), RedisError> {
        let mut connection = self.inner.connection.clone();
        let invocation = self.inner.script.prepare_invoke();
        let _sha: String = within(
            self.inner.connection.operation_timeout(),
            "SCRIPT LOAD",
            invocation.load_async(&mut connection),
        )
        .await?;
        Ok(())
    }
}

impl RedisRateLimiterBuilder {
    /// The prefix of every key this limiter writes (default [`DEFAULT_KEY_PREFIX`]).
    pub fn key_prefix(mut self, prefix: impl Into<Vec<u8>>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Gives every bucket key this TTL, refreshed on each counted request. By default
    /// a key expires exactly when its bucket is full again, which is the least memory;
    /// a TTL shorter than the quota's refill time is refused by
    /// [`build`](Self::build).
    pub fn key_ttl(mut self, ttl: Duration) -> Self {
        self.key_ttl = Some(ttl);
        self
    }

    /// The longest a check may wait for Redis (default [`DEFAULT_OPERATION_TIMEOUT`]),
    /// reconnection included; then the [`BackendErrorPolicy`] applies.
    pub fn operation_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// What to do when Redis fails or does not answer in time (default
    /// [`BackendErrorPolicy::PassThrough`]).
    pub fn backend_errors(mut self, policy: BackendErrorPolicy) -> Self {
        self.backend_errors = policy;
        self
    }

    /// Checks the configuration and builds the limiter.
    pub fn build(self) -> Result<RedisRateLimiter, ConfigError> {
        let interval = self.quota.replenish_interval();
        let interval_us = u64::try_from(interval.as_nanos().div_ceil(1000)).unwrap_or(u64::MAX);
        if interval_us == 0 {
            return Err(ConfigError::IntervalTooShort);
        }
        let burst = u64::from(self.quota.burst_size().get());
        let tolerance_us = interval_us.saturating_mul(burst - 1);
        let full_ms = interval_us.saturating_mul(burst).div_ceil(1000);
        let ttl_ms = match self.key_ttl {
            None => 0,
            Some(ttl) => {
                let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
                if ttl_ms < full_ms {
                    return Err(ConfigError::KeyTtlTooShort {
                        minimum_ms: full_ms,
                    });
                }
                ttl_ms
            }
        };
        Ok(RedisRateLimiter {
            inner: Arc::new(Inner {
                connection: self.connection,
                script: redis::Script::new(GCRA),
                quota: self.quota,
                interval_us,
                tolerance_us,
                ttl_ms,
                prefix: self.prefix,
                timeout: self.timeout,
                backend_errors: self.backend_errors,
                created: Instant::now(),
                last_warning: AtomicU64::new(0),
            }),
        })
    }
}

impl Inner {
    async fn check(&self, redis_key: Vec<u8>) -> Decision {
        let mut connection = self.connection.clone();
        let mut invocation = self.script.key(redis_key);
        invocation
            .arg(self.interval_us)
            .arg(self.tolerance_us)
            .arg(self.ttl_ms);
        let reply = within(
            self.timeout,
            "the rate-limit script",
            invocation.invoke_async::<(i64, i64)>(&mut connection),
        )
        .await;
        match reply {
            Ok((1, until_full)) => {
                let until_full = u64::try_from(until_full).unwrap_or(0);
                let headroom = (self.tolerance_us + self.interval_us).saturating_sub(until_full);
                Decision::Allowed(Allowance::new(
                    u32::try_from(headroom / self.interval_us).unwrap_or(u32::MAX),
                    Duration::from_micros(until_full),
                ))
            }
            Ok((_, wait)) => Decision::Limited {
                retry_after: Duration::from_micros(u64::try_from(wait).unwrap_or(0)),
            },
            Err(error) => self.unavailable(&error),
        }
    }

    fn unavailable(&self, error: &dyn fmt::Display) -> Decision {
        let now = self.created.elapsed().as_secs() + WARN_EVERY_SECS;
        let last = self.last_warning.load(Ordering::Relaxed);
        if now >= last + WARN_EVERY_SECS
            && self
                .last_warning
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(
                %error,
                policy = ?self.backend_errors,
                "rate limiter: Redis is unavailable"
            );
        }
        match self.backend_errors {
            BackendErrorPolicy::PassThrough => Decision::Unchecked,
            BackendErrorPolicy::Reject { retry_after } => Decision::Unavailable { retry_after },
        }
    }
}

/// The Redis-unavailable warning is logged at most once per this many seconds.
const WARN_EVERY_SECS: u64 = 10;

impl Backend for RedisRateLimiter {
    fn quota(&self) -> Quota {
        self.inner.quota
    }

    fn check(&self, key: &Key) -> Check {
        let redis_key = self.redis_key(key);
        let inner = self.inner.clone();
        Check::pending(async move { inner.check(redis_key).await })
    }
}

impl fmt::Debug for RedisRateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisRateLimiter")
            .field("connection", &self.inner.connection)
            .field("quota", &self.inner.quota)
            .field("key_prefix", &String::from_utf8_lossy(&self.inner.prefix))
            .field("operation_timeout", &self.inner.timeout)
            .field("backend_errors", &self.inner.backend_errors)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for RedisRateLimiterBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisRateLimiterBuilder")
            .field("connection", &self.connection)
            .field("quota", &self.quota)
            .field("key_prefix", &String::from_utf8_lossy(&self.prefix))
            .field("key_ttl", &self.key_ttl)
            .field("operation_timeout", &self.timeout)
            .field("backend_errors", &self.backend_errors)
            .finish_non_exhaustive()
    }
}
