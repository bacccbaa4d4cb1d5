//! [`RedisQueueBuilder`]: the queue's settings, checked when it is built.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use webhook_core::redis::RedisConnection;

use super::{
    DEFAULT_CLAIM_IDLE, DEFAULT_DEDUPE_WINDOW, DEFAULT_GROUP, DEFAULT_KEY_PREFIX, DEFAULT_MAX_LEN,
    DEFAULT_POLL_INTERVAL, Inner, RedisQueue,
};
use crate::{ConfigError, QueueError, QueueErrorKind};

/// Builds a [`RedisQueue`]: see [`RedisQueue::builder`].
#[must_use]
pub struct RedisQueueBuilder {
    connection: RedisConnection,
    prefix: String,
    group: String,
    max_len: usize,
    dead_max_len: Option<usize>,
    dedupe_window: Duration,
    claim_idle: Duration,
    reclaim_interval: Option<Duration>,
    poll_interval: Duration,
    timeout: Option<Duration>,
}

impl RedisQueueBuilder {
    pub(super) fn new(connection: RedisConnection) -> Self {
        Self {
            connection,
            prefix: DEFAULT_KEY_PREFIX.to_owned(),
            group: DEFAULT_GROUP.to_owned(),
            max_len: DEFAULT_MAX_LEN,
            dead_max_len: None,
            dedupe_window: DEFAULT_DEDUPE_WINDOW,
            claim_idle: DEFAULT_CLAIM_IDLE,
            reclaim_interval: None,
            poll_interval: DEFAULT_POLL_INTERVAL,
            timeout: None,
        }
    }
}

impl RedisQueueBuilder {
    /// The prefix of the keys (default [`DEFAULT_KEY_PREFIX`]), to run several queues on
    /// one server.
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The consumer group (default [`DEFAULT_GROUP`]).
    pub fn group(mut self, group: impl Into<String>) -> Self {
        self.group = group.into();
        self
    }

    /// The most unfinished jobs (stream entries plus delayed retries) the queue holds;
    /// beyond it, enqueue answers 503 `queue_full` (default [`DEFAULT_MAX_LEN`]). Also
    /// the `MAXLEN ~` of every `XADD`.
    pub fn max_len(mut self, max_len: usize) -> Self {
        self.max_len = max_len;
        self
    }

    /// Bounds the dead-letter stream with `MAXLEN ~` (default: unbounded). Beyond the
    /// bound the oldest dead letters are dropped by Redis, for good.
    pub fn dead_letter_max_len(mut self, max_len: usize) -> Self {
        self.dead_max_len = Some(max_len);
        self
    }

    /// How long the queue remembers that an event was queued (default
    /// [`DEFAULT_DEDUPE_WINDOW`]): within it, a job with the same scheme and
    /// [event id](crate::Job::event_id) is not queued again (see
    /// [`RedisQueue`]). Cover the time the senders keep retrying. Each event queued
    /// costs a small key for this long (its key name plus an entry id, roughly
    /// 100 bytes). `Duration::ZERO` turns deduplication off.
    pub fn dedupe_window(mut self, window: Duration) -> Self {
        self.dedupe_window = window;
        self
    }

    /// How long an entry stays with a consumer that does not settle it before another
    /// consumer reclaims it (default [`DEFAULT_CLAIM_IDLE`]). Longer than any job can
    /// take (see [`WorkersBuilder::timeout`](crate::WorkersBuilder::timeout)): a
    /// reclaimed job that was still running is processed twice.
    pub fn claim_idle(mut self, idle: Duration) -> Self {
        self.claim_idle = idle;
        self
    }

    /// How often a consumer looks for entries to reclaim (default: half the claim idle
    /// time, at most 10 s).
    pub fn reclaim_interval(mut self, interval: Duration) -> Self {
        self.reclaim_interval = Some(interval);
        self
    }

    /// How long a blocked read waits for a new entry before the consumer checks for due
    /// retries, entries to reclaim, and shutdown (default [`DEFAULT_POLL_INTERVAL`]).
    /// It bounds how late a retry runs and how long shutdown takes.
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// How long one operation may take before it fails with
    /// [`QueueErrorKind::Timeout`] (default: the connection's
    /// [operation timeout](RedisConnection::operation_timeout)).
    pub fn operation_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Checks the settings, creates the consumer group if needed (one round trip), and
    /// returns the queue.
    ///
    /// Fails on a zero bound or duration, on a Redis Cluster connection (the scripts
    /// touch several keys), or if Redis does not answer.
    pub async fn build(self) -> Result<RedisQueue, QueueError> {
        let config_error =
            |error: ConfigError| QueueError::new(QueueErrorKind::Other, error.to_string());
        if self.connection.is_cluster() {
            return Err(QueueError::new(
                QueueErrorKind::Other,
                "the Redis queue needs a single server, not a cluster: its scripts touch several keys",
            ));
        }
        if self.max_len == 0 || self.dead_max_len == Some(0) {
            return Err(config_error(ConfigError::ZeroCapacity));
        }
        let timeout = self
            .timeout
            .unwrap_or_else(|| self.connection.operation_timeout());
        for (setting, value) in [
            ("operation timeout", timeout),
            ("claim idle time", self.claim_idle),
            ("poll interval", self.poll_interval),
            (
                "reclaim interval",
                self.reclaim_interval.unwrap_or(Duration::from_millis(1)),
            ),
        ] {
            if value < Duration::from_millis(1) {
                return Err(config_error(ConfigError::ZeroDuration { setting }));
            }
        }
        let reclaim_interval = self.reclaim_interval.unwrap_or_else(|| {
            (self.claim_idle / 2).clamp(Duration::from_millis(1), Duration::from_secs(10))
        });
        let queue = RedisQueue {
            inner: Arc::new(Inner {
                connection: self.connection,
                blocking: Mutex::new(Vec::new()),
                stream: format!("{}stream", self.prefix),
                delayed: format!("{}delayed", self.prefix),
                dead: format!("{}dead", self.prefix),
                queued: format!("{}queued:", self.prefix),
                group: self.group,
                max_len: self.max_len,
                dead_max_len: self.dead_max_len,
                dedupe_window: self.dedupe_window,
                claim_idle: self.claim_idle,
                reclaim_interval,
                poll_interval: self.poll_interval,
                timeout,
                closed: AtomicBool::new(false),
                epoch: tokio::time::Instant::now(),
                next_promote: AtomicU64::new(0),
                next_reclaim: AtomicU64::new(0),
                reclaim_cursor: Mutex::new("0-0".to_owned()),
            }),
        };
        queue.ensure_group().await?;
        Ok(queue)
    }
}

impl fmt::Debug for RedisQueueBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisQueueBuilder")
            .field("connection", &self.connection)
            .field("key_prefix", &self.prefix)
            .field("group", &self.group)
            .field("max_len", &self.max_len)
            .field("dedupe_window", &self.dedupe_window)
            .field("claim_idle", &self.claim_idle)
            .finish_non_exhaustive()
    }
}
