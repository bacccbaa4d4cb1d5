use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redis::aio::{ConnectionManager, ConnectionManagerConfig, MultiplexedConnection};
use redis::streams::{
    StreamAutoClaimReply, StreamId, StreamPendingCountReply, StreamRangeReply, StreamReadReply,
};
use redis::{AsyncConnectionConfig, Cmd, FromRedisValue, RedisError, Script, Value};

use crate::job::unix_millis;
use crate::{
    ConfigError, DeadLetter, DeadLetterKind, Depth, Job, Queue, QueueError, QueueErrorKind,
    Received,
};

/// The default key prefix: `webhook:queue:`.
pub const DEFAULT_KEY_PREFIX: &str = "webhook:queue:";
/// The default consumer group: `workers`.
pub const DEFAULT_GROUP: &str = "workers";
/// The default bound on unfinished jobs (stream entries plus delayed retries): 100,000.
pub const DEFAULT_MAX_LEN: usize = 100_000;
/// The default idle time after which a pending entry is reclaimed: 60 seconds.
pub const DEFAULT_CLAIM_IDLE: Duration = Duration::from_secs(60);
/// The default longest wait of a blocked read: 100 milliseconds.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_millis(100);
/// The default time one operation may take, connecting included: 2 seconds.
pub const DEFAULT_OPERATION_TIMEOUT: Duration = Duration::from_secs(2);
/// The default time an event id stays remembered after its job was queued: 72 hours
/// (Stripe retries for 3 days).
pub const DEFAULT_DEDUPE_WINDOW: Duration = Duration::from_secs(72 * 3600);

/// `KEYS[1]` stream, `KEYS[2]` delayed set, `KEYS[3]` (optional) the event's marker;
/// `ARGV[1]` the bound, `ARGV[2]` the job, `ARGV[3]` the dedupe window in ms. If the
/// marker is there, the event was queued already: answers `{entry id}` and adds
/// nothing. Refuses (nil) when the unfinished jobs reach the bound, so the `MAXLEN ~`
/// trim never removes an entry that was not processed; else adds the job, sets the
/// marker to its entry id, and answers the entry id.
const ENQUEUE: &str = r"
if KEYS[3] then
  local queued = redis.call('GET', KEYS[3])
  if queued then
    return {queued}
  end
end
if redis.call('XLEN', KEYS[1]) + redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[1]) then
  return false
end
local entry = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'job', ARGV[2])
if KEYS[3] then
  redis.call('SET', KEYS[3], entry, 'PX', ARGV[3])
end
return entry
";

/// `KEYS[1]` stream; `ARGV[1]` group, `ARGV[2]` entry. Acknowledges and deletes: the
/// stream holds only unfinished entries, so its length is the backlog.
const ACK: &str = r"
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
return redis.call('XDEL', KEYS[1], ARGV[2])
";

/// `KEYS[1]` stream, `KEYS[2]` delayed set; `ARGV[1]` group, `ARGV[2]` entry,
/// `ARGV[3]` consumer, `ARGV[4]` delay in ms, `ARGV[5]` the job. If the consumer still
/// holds the entry: schedules the job at server time + delay and removes the entry, in
/// one step. Answers 1, or 0 if another consumer reclaimed the entry meanwhile.
const RETRY: &str = r"
local pending = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)
if #pending == 0 or pending[1][2] ~= ARGV[3] then
  return 0
end
local now = redis.call('TIME')
local due = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) + tonumber(ARGV[4])
redis.call('ZADD', KEYS[2], due, ARGV[5])
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
return 1
";

/// `KEYS[1]` stream, `KEYS[2]` delayed set; `ARGV[1]` batch size. Moves the retries
/// that are due (server time) back to the stream. Answers how many.
const PROMOTE: &str = r"
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ms, 'LIMIT', 0, tonumber(ARGV[1]))
for _, job in ipairs(due) do
  redis.call('XADD', KEYS[1], '*', 'job', job)
  redis.call('ZREM', KEYS[2], job)
end
return #due
";

/// `KEYS[1]` stream, `KEYS[2]` dead stream; `ARGV[1]` group, `ARGV[2]` entry,
/// `ARGV[3]` consumer, `ARGV[4]` job, `ARGV[5]` kind, `ARGV[6]` error, `ARGV[7]` failed
/// at (Unix ms), `ARGV[8]` dead-letter bound (0: none). If the consumer still holds the
/// entry: adds the dead letter and removes the entry, in one step. Answers 1 or 0.
const DEAD_LETTER: &str = r"
local pending = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)
if #pending == 0 or pending[1][2] ~= ARGV[3] then
  return 0
end
if ARGV[8] == '0' then
  redis.call('XADD', KEYS[2], '*', 'job', ARGV[4], 'kind', ARGV[5], 'error', ARGV[6], 'failed_at', ARGV[7])
else
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[8], '*', 'job', ARGV[4], 'kind', ARGV[5], 'error', ARGV[6], 'failed_at', ARGV[7])
end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
return 1
";

/// `KEYS[1]` dead stream, `KEYS[2]` stream, `KEYS[3]` delayed set; `ARGV[1]` dead
/// letter id, `ARGV[2]` the job (attempts reset), `ARGV[3]` the bound. Moves the dead
/// letter back to the stream in one step. Answers 1, 0 if it is gone, -1 if full.
const REPLAY: &str = r"
if redis.call('XLEN', KEYS[2]) + redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[3]) then
  return -1
end
if redis.call('XDEL', KEYS[1], ARGV[1]) == 0 then
  return 0
end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', 'job', ARGV[2])
return 1
";

struct Scripts {
    enqueue: Script,
    ack: Script,
    retry: Script,
    promote: Script,
    dead_letter: Script,
    replay: Script,
}

/// Built once per process: each call is one `EVALSHA` (the client loads a script on
/// its first `NOSCRIPT`, after a Redis restart too).
static SCRIPTS: LazyLock<Scripts> = LazyLock::new(|| Scripts {
    enqueue: Script::new(ENQUEUE),
    ack: Script::new(ACK),
    retry: Script::new(RETRY),
    promote: Script::new(PROMOTE),
    dead_letter: Script::new(DEAD_LETTER),
    replay: Script::new(REPLAY),
});

/// How many due retries one promotion moves at most.
const PROMOTE_BATCH: usize = 500;

/// A queue on Redis Streams, shared by every process that uses the same server, key
/// prefix and group.
///
/// # Keys
///
/// | key | type | holds |
/// |---|---|---|
/// | `<prefix>stream` | stream, consumer group `<group>` | unfinished jobs: waiting, or pending with a consumer |
/// | `<prefix>delayed` | sorted set, scored by due time (ms) | jobs waiting for a retry delay |
/// | `<prefix>dead` | stream | dead letters: the job, `kind`, `error`, `failed_at` |
/// | `<prefix>queued:<scheme>:<event id>` | string, expires after the [dedupe window](RedisQueueBuilder::dedupe_window) | the stream entry id the event was queued as |
///
/// # Operations
///
/// - **Enqueue**: one script checks whether the job's event was queued already (its
///   marker), checks the bound (stream length plus delayed retries,
///   [`max_len`](RedisQueueBuilder::max_len)), runs `XADD <stream> MAXLEN ~ <bound>`
///   and sets the event's marker. A full queue is refused (503) instead of trimmed:
///   trimming a stream drops its oldest entries whether they were processed or not,
///   which would lose deliveries already answered 202. Since processed entries are
///   deleted, the `MAXLEN ~` only caps the stream if something else writes to it.
/// - **Deduplicate by event id**: an enqueue whose answer was lost (Redis killed
///   after writing it, the connection dropped, the operation timed out) is answered
///   503 though the job was queued; the sender retries, and the retry would queue the
///   event a second time. So a job with an [event id](crate::Job::event_id) whose
///   `(scheme, event id)` was queued within the dedupe window is not queued again:
///   `enqueue` succeeds (202) and the job queued first is the one processed. Jobs
///   without an event id are always queued.
/// - **Receive**: `XREADGROUP GROUP <group> <consumer> COUNT 1 BLOCK <poll> ... >` on
///   a connection of its own (a blocking read would stall the shared connection); the
///   group is created with `XGROUP CREATE ... 0 MKSTREAM` at connect, and again if it
///   vanished (`NOGROUP`). Every consumer of every process shares the group's entries.
/// - **Acknowledge** after success only: `XACK` and `XDEL` in one script.
/// - **Reclaim**: every [`reclaim_interval`](RedisQueueBuilder::reclaim_interval), a
///   consumer runs `XAUTOCLAIM ... <claim idle>` and takes over an entry another
///   consumer has held longer than the [claim idle time](RedisQueueBuilder::claim_idle)
///   (it crashed, or was killed mid-job); `XPENDING` gives the entry's delivery count,
///   so the crashed attempts count against the retry policy.
/// - **Retry later**: one script checks the consumer still holds the entry, adds the
///   job to the delayed set at server time + delay, and removes the entry; another
///   moves due jobs back to the stream (run at most once per poll interval per queue
///   handle). Both are atomic: a job is never in both places, nor in neither.
/// - **Dead letters**: one script adds the job to the dead stream and removes the
///   entry. [`replay`](Queue::replay) moves it back (attempts reset) in one step.
///
/// Only this crate's scripts should write these keys. Requires Redis 7.0 or later
/// (`XAUTOCLAIM` with deleted ids). A single server (or a primary with replicas);
/// Redis Cluster is not supported (the scripts touch several keys).
///
/// # Connections
///
/// Short operations share one `ConnectionManager` (one multiplexed connection,
/// reconnected in the background after a failure); blocking reads use a small pool of
/// their own, dropped and reopened on error. While Redis is gone, operations fail
/// within the [operation timeout](RedisQueueBuilder::operation_timeout): enqueue
/// answers 503, workers pause and retry; once Redis is back, the same queue works
/// again. An operation that timed out waiting for the reconnection may still be sent
/// once the connection is back: a delivery answered 503 can then be queued anyway;
/// the sender's retry of an event with an id is then deduplicated (see above). See
/// the crate docs for the persistence settings the guarantees need.
///
/// ```no_run
/// use std::time::Duration;
/// use webhook_queue::RedisQueue;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let queue = RedisQueue::builder("redis://127.0.0.1:6379/")
///     .key_prefix("payments:webhooks:")
///     .max_len(50_000)
///     .claim_idle(Duration::from_secs(120))
///     .connect()
///     .await?;
/// # drop(queue);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RedisQueue {
    inner: Arc<Inner>,
}

struct Inner {
    client: redis::Client,
    manager: ConnectionManager,
    blocking: Mutex<Vec<MultiplexedConnection>>,
    stream: String,
    delayed: String,
    dead: String,
    /// The prefix of the events' markers: `<prefix>queued:`.
    queued: String,
    group: String,
    max_len: usize,
    dead_max_len: Option<usize>,
    dedupe_window: Duration,
    claim_idle: Duration,
    reclaim_interval: Duration,
    poll_interval: Duration,
    timeout: Duration,
    closed: AtomicBool,
    /// Milliseconds since `epoch` when the next promotion / reclaim is due.
    epoch: tokio::time::Instant,
    next_promote: AtomicU64,
    next_reclaim: AtomicU64,
    reclaim_cursor: Mutex<String>,
}

/// Builds a [`RedisQueue`]: see [`RedisQueue::builder`].
#[must_use]
pub struct RedisQueueBuilder {
    url: String,
    prefix: String,
    group: String,
    max_len: usize,
    dead_max_len: Option<usize>,
    dedupe_window: Duration,
    claim_idle: Duration,
    reclaim_interval: Option<Duration>,
    poll_interval: Duration,
    timeout: Duration,
}

impl RedisQueue {
    /// A queue on the Redis server at `url` (`redis://[:password@]host:port/[db]`).
    pub fn builder(url: impl Into<String>) -> RedisQueueBuilder {
        RedisQueueBuilder {
            url: url.into(),
            prefix: DEFAULT_KEY_PREFIX.to_owned(),
            group: DEFAULT_GROUP.to_owned(),
            max_len: DEFAULT_MAX_LEN,
            dead_max_len: None,
            dedupe_window: DEFAULT_DEDUPE_WINDOW,
            claim_idle: DEFAULT_CLAIM_IDLE,
            reclaim_interval: None,
            poll_interval: DEFAULT_POLL_INTERVAL,
            timeout: DEFAULT_OPERATION_TIMEOUT,
        }
    }

    /// Connects to the server at `url` with the defaults.
    pub async fn connect(url: impl Into<String>) -> Result<Self, QueueError> {
        Self::builder(url).connect().await
    }

    /// The stream's key.
    pub fn stream_key(&self) -> &str {
        &self.inner.stream
    }

    /// The delayed-retry sorted set's key.
    pub fn delayed_key(&self) -> &str {
        &self.inner.delayed
    }

    /// The dead-letter stream's key.
    pub fn dead_letter_key(&self) -> &str {
        &self.inner.dead
    }

    /// The consumer group.
    pub fn group(&self) -> &str {
        &self.inner.group
    }

    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.inner.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    async fn timed<T>(
        &self,
        what: &'static str,
        call: impl Future<Output = Result<T, RedisError>>,
    ) -> Result<T, QueueError> {
        match tokio::time::timeout(self.inner.timeout, call).await {
            Ok(result) => result.map_err(queue_error),
            Err(_elapsed) => Err(QueueError::new(
                QueueErrorKind::Timeout,
                format!(
                    "no answer from Redis to {what} within {:?}",
                    self.inner.timeout
                ),
            )),
        }
    }

    async fn query<T: FromRedisValue>(
        &self,
        what: &'static str,
        cmd: &Cmd,
    ) -> Result<T, QueueError> {
        let mut manager = self.inner.manager.clone();
        self.timed(what, cmd.query_async(&mut manager)).await
    }

    async fn invoke<T: FromRedisValue>(
        &self,
        what: &'static str,
        invocation: &redis::ScriptInvocation<'_>,
    ) -> Result<T, QueueError> {
        let mut manager = self.inner.manager.clone();
        self.timed(what, invocation.invoke_async(&mut manager))
            .await
    }

    async fn ensure_group(&self) -> Result<(), QueueError> {
        let mut cmd = redis::cmd("XGROUP");
        cmd.arg("CREATE")
            .arg(&self.inner.stream)
            .arg(&self.inner.group)
            .arg("0")
            .arg("MKSTREAM");
        match self.query::<()>("XGROUP CREATE", &cmd).await {
            Ok(()) => Ok(()),
            Err(error) if error.to_string().contains("BUSYGROUP") => Ok(()),
            Err(error) => Err(error),
        }
    }

    /// Moves due retries back to the stream, at most once per poll interval.
    async fn promote_if_due(&self) -> Result<(), QueueError> {
        let now = self.elapsed_ms();
        let due = self.inner.next_promote.load(Ordering::Relaxed);
        if now < due {
            return Ok(());
        }
        let next = now + millis(self.inner.poll_interval);
        if self
            .inner
            .next_promote
            .compare_exchange(due, next, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
        {
            return Ok(()); // another consumer of this handle does it
        }
        let mut invocation = SCRIPTS.promote.key(&self.inner.stream);
        invocation.key(&self.inner.delayed).arg(PROMOTE_BATCH);
        let moved: usize = self.invoke("the promotion script", &invocation).await?;
        if moved == PROMOTE_BATCH {
            // More may be due: promote again on the next receive.
            self.inner.next_promote.store(now, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Takes over one entry another consumer has held past the claim idle time.
    async fn reclaim_if_due(&self, consumer: &str) -> Result<Option<Received>, QueueError> {
        let now = self.elapsed_ms();
        if now < self.inner.next_reclaim.load(Ordering::Relaxed) {
            return Ok(None);
        }
        let cursor = lock(&self.inner.reclaim_cursor).clone();
        let mut cmd = redis::cmd("XAUTOCLAIM");
        cmd.arg(&self.inner.stream)
            .arg(&self.inner.group)
            .arg(consumer)
            .arg(millis(self.inner.claim_idle))
            .arg(&cursor)
            .arg("COUNT")
            .arg(1);
        let reply: StreamAutoClaimReply = match self.query("XAUTOCLAIM", &cmd).await {
            Ok(reply) => reply,
            Err(error) => return self.missing_group(error).await.map(|()| None),
        };
        let finished = reply.next_stream_id == "0-0";
        *lock(&self.inner.reclaim_cursor) = reply.next_stream_id;
        if finished && reply.claimed.is_empty() {
            self.inner
                .next_reclaim
                .store(now + millis(self.inner.reclaim_interval), Ordering::Relaxed);
        }
        let Some(entry) = reply.claimed.into_iter().next() else {
            return Ok(None);
        };
        let mut pending = redis::cmd("XPENDING");
        pending
            .arg(&self.inner.stream)
            .arg(&self.inner.group)
            .arg(&entry.id)
            .arg(&entry.id)
            .arg(1);
        let pending: StreamPendingCountReply = self.query("XPENDING", &pending).await?;
        let deliveries = pending
            .ids
            .first()
            .map_or(1, |p| u32::try_from(p.times_delivered).unwrap_or(u32::MAX));
        tracing::info!(
            entry = entry.id,
            consumer,
            deliveries,
            "reclaimed an entry another consumer left pending"
        );
        Ok(self
            .received(entry, consumer)
            .await?
            .map(|received| received.with_deliveries(deliveries)))
    }

    /// Reads the next new entry, waiting up to the poll interval.
    async fn read(&self, consumer: &str) -> Result<Option<Received>, QueueError> {
        let mut connection = self.blocking_connection().await?;
        let mut cmd = redis::cmd("XREADGROUP");
        cmd.arg("GROUP")
            .arg(&self.inner.group)
            .arg(consumer)
            .arg("COUNT")
            .arg(1)
            .arg("BLOCK")
            .arg(millis(self.inner.poll_interval))
            .arg("STREAMS")
            .arg(&self.inner.stream)
            .arg(">");
        let limit = self.inner.poll_interval + self.inner.timeout;
        let reply = match tokio::time::timeout(
            limit,
            cmd.query_async::<Option<StreamReadReply>>(&mut connection),
        )
        .await
        {
            Ok(Ok(reply)) => reply,
            Ok(Err(error)) => {
                let error = queue_error(error);
                if !error.is_transient() {
                    // The connection is fine: keep it.
                    lock(&self.inner.blocking).push(connection);
                }
                return self.missing_group(error).await.map(|()| None);
            }
            Err(_elapsed) => {
                return Err(QueueError::new(
                    QueueErrorKind::Timeout,
                    format!("no answer from Redis to XREADGROUP within {limit:?}"),
                ));
            }
        };
        lock(&self.inner.blocking).push(connection);
        let Some(entry) = reply.and_then(|r| r.keys.into_iter().next()?.ids.into_iter().next())
        else {
            return Ok(None);
        };
        self.received(entry, consumer).await
    }

    /// Recreates the group if `error` says it is gone (Redis restarted without
    /// persistence, or the key was deleted); else returns the error.
    async fn missing_group(&self, error: QueueError) -> Result<(), QueueError> {
        if error.to_string().contains("NOGROUP") {
            tracing::warn!("the consumer group is gone: creating it again");
            self.ensure_group().await
        } else {
            Err(error)
        }
    }

    async fn blocking_connection(&self) -> Result<MultiplexedConnection, QueueError> {
        if let Some(connection) = lock(&self.inner.blocking).pop() {
            return Ok(connection);
        }
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.inner.timeout))
            .set_response_timeout(Some(self.inner.poll_interval + self.inner.timeout));
        self.timed(
            "a new connection",
            self.inner
                .client
                .get_multiplexed_async_connection_with_config(&config),
        )
        .await
    }

    /// Turns a stream entry into a job; an entry this crate cannot read is moved to the
    /// dead stream as it is (logged), and `None` is returned.
    async fn received(
        &self,
        entry: StreamId,
        consumer: &str,
    ) -> Result<Option<Received>, QueueError> {
        let raw = entry.get::<Vec<u8>>("job").unwrap_or_default();
        match Job::from_bytes(&raw) {
            Ok(job) => Ok(Some(Received::new(job, entry.id, consumer))),
            Err(error) => {
                tracing::error!(entry = entry.id, %error, "an unreadable stream entry: moving it to the dead letters");
                let mut invocation = SCRIPTS.dead_letter.key(&self.inner.stream);
                invocation
                    .key(&self.inner.dead)
                    .arg(&self.inner.group)
                    .arg(&entry.id)
                    .arg(consumer)
                    .arg(raw)
                    .arg("unreadable")
                    .arg(error.to_string())
                    .arg(unix_millis(SystemTime::now()))
                    .arg(self.inner.dead_max_len.unwrap_or(0));
                let _: i64 = self.invoke("the dead-letter script", &invocation).await?;
                Ok(None)
            }
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn queue_error(error: RedisError) -> QueueError {
    let kind = if error.is_timeout() {
        QueueErrorKind::Timeout
    } else if error.is_io_error()
        || error.is_connection_refusal()
        || error.is_connection_dropped()
        || error.is_unrecoverable_error()
    {
        QueueErrorKind::Unavailable
    } else if matches!(
        error.code(),
        Some("OOM" | "LOADING" | "MASTERDOWN" | "READONLY" | "BUSY")
    ) {
        // Out of memory (with `noeviction`), still loading the AOF, a replica: the
        // server answered, but cannot take writes now.
        QueueErrorKind::Unavailable
    } else {
        QueueErrorKind::Other
    };
    QueueError::new(kind, error.to_string())
}

fn unexpected(what: &str, value: &Value) -> QueueError {
    QueueError::new(
        QueueErrorKind::Corrupt,
        format!("unexpected answer from Redis to {what}: {value:?}"),
    )
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
    /// [`QueueErrorKind::Timeout`] (default [`DEFAULT_OPERATION_TIMEOUT`]); also the
    /// connection and response timeouts of the connections.
    pub fn operation_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Checks the settings, connects (waiting for the first connection), creates the
    /// consumer group if needed, and returns the queue. After that the queue
    /// reconnects by itself.
    pub async fn connect(self) -> Result<RedisQueue, QueueError> {
        let config_error =
            |error: ConfigError| QueueError::new(QueueErrorKind::Other, error.to_string());
        if self.max_len == 0 || self.dead_max_len == Some(0) {
            return Err(config_error(ConfigError::ZeroCapacity));
        }
        for (setting, value) in [
            ("operation timeout", self.timeout),
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
        let client = redis::Client::open(self.url.as_str()).map_err(queue_error)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout))
            .set_max_delay(Duration::from_secs(1));
        let manager = tokio::time::timeout(
            self.timeout * 4,
            ConnectionManager::new_with_config(client.clone(), config),
        )
        .await
        .map_err(|_| QueueError::new(QueueErrorKind::Timeout, "cannot connect to Redis"))?
        .map_err(queue_error)?;
        let queue = RedisQueue {
            inner: Arc::new(Inner {
                client,
                manager,
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
                timeout: self.timeout,
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
        // The URL may hold a password: not shown.
        f.debug_struct("RedisQueueBuilder")
            .field("prefix", &self.prefix)
            .field("group", &self.group)
            .field("max_len", &self.max_len)
            .field("dedupe_window", &self.dedupe_window)
            .field("claim_idle", &self.claim_idle)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for RedisQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisQueue")
            .field("stream", &self.inner.stream)
            .field("group", &self.inner.group)
            .field("max_len", &self.inner.max_len)
            .field("claim_idle", &self.inner.claim_idle)
            .field("closed", &self.inner.closed.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Queue for RedisQueue {
    async fn enqueue(&self, job: &Job) -> Result<(), QueueError> {
        // Enqueueing stays open after `close`: the jobs outlive this process's workers.
        let mut invocation = SCRIPTS.enqueue.key(&self.inner.stream);
        invocation
            .key(&self.inner.delayed)
            .arg(self.inner.max_len)
            .arg(job.to_bytes().as_ref());
        if let Some(event_id) = job
            .event_id()
            .filter(|_| !self.inner.dedupe_window.is_zero())
        {
            invocation
                .key(format!("{}{}:{event_id}", self.inner.queued, job.scheme()))
                .arg(millis(self.inner.dedupe_window).max(1));
        }
        match self
            .invoke::<Value>("the enqueue script", &invocation)
            .await?
        {
            Value::BulkString(_) | Value::SimpleString(_) => Ok(()),
            Value::Array(queued) => {
                tracing::debug!(
                    job_id = %job.id(),
                    event_id = job.event_id().unwrap_or("-"),
                    entry = ?queued.first(),
                    "the event was queued already: not queued again"
                );
                Ok(())
            }
            Value::Nil => Err(QueueError::new(
                QueueErrorKind::Full,
                format!("the queue holds its bound of {} jobs", self.inner.max_len),
            )),
            other => Err(unexpected("the enqueue script", &other)),
        }
    }

    async fn receive(&self, consumer: &str) -> Result<Option<Received>, QueueError> {
        loop {
            if self.is_closed() {
                return Ok(None);
            }
            self.promote_if_due().await?;
            if let Some(received) = self.reclaim_if_due(consumer).await? {
                return Ok(Some(received));
            }
            if let Some(received) = self.read(consumer).await? {
                return Ok(Some(received));
            }
        }
    }

    async fn ack(&self, received: &Received) -> Result<(), QueueError> {
        let mut invocation = SCRIPTS.ack.key(&self.inner.stream);
        invocation.arg(&self.inner.group).arg(received.receipt());
        let _: i64 = self.invoke("the ack script", &invocation).await?;
        Ok(())
    }

    async fn retry(&self, received: &Received, delay: Duration) -> Result<(), QueueError> {
        let mut invocation = SCRIPTS.retry.key(&self.inner.stream);
        invocation
            .key(&self.inner.delayed)
            .arg(&self.inner.group)
            .arg(received.receipt())
            .arg(received.consumer())
            .arg(millis(delay))
            .arg(received.job().to_bytes().as_ref());
        let moved: i64 = self.invoke("the retry script", &invocation).await?;
        if moved == 0 {
            tracing::warn!(
                entry = received.receipt(),
                "the consumer no longer holds the entry (reclaimed, or settled by an earlier try): nothing to retry"
            );
        }
        Ok(())
    }

    async fn dead_letter(
        &self,
        received: &Received,
        kind: DeadLetterKind,
        error: &str,
    ) -> Result<(), QueueError> {
        let mut invocation = SCRIPTS.dead_letter.key(&self.inner.stream);
        invocation
            .key(&self.inner.dead)
            .arg(&self.inner.group)
            .arg(received.receipt())
            .arg(received.consumer())
            .arg(received.job().to_bytes().as_ref())
            .arg(kind.as_str())
            .arg(error)
            .arg(unix_millis(SystemTime::now()))
            .arg(self.inner.dead_max_len.unwrap_or(0));
        let moved: i64 = self.invoke("the dead-letter script", &invocation).await?;
        if moved == 0 {
            tracing::warn!(
                entry = received.receipt(),
                "the consumer no longer holds the entry (reclaimed, or settled by an earlier try): not dead-lettered here"
            );
        }
        Ok(())
    }

    async fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>, QueueError> {
        let mut cmd = redis::cmd("XRANGE");
        cmd.arg(&self.inner.dead)
            .arg("-")
            .arg("+")
            .arg("COUNT")
            .arg(limit);
        let reply: StreamRangeReply = self.query("XRANGE", &cmd).await?;
        Ok(reply.ids.into_iter().filter_map(dead_letter).collect())
    }

    async fn replay(&self, id: &str) -> Result<bool, QueueError> {
        let mut cmd = redis::cmd("XRANGE");
        cmd.arg(&self.inner.dead).arg(id).arg(id);
        let reply: StreamRangeReply = self.query("XRANGE", &cmd).await?;
        let Some(entry) = reply.ids.into_iter().next() else {
            return Ok(false);
        };
        let raw = entry.get::<Vec<u8>>("job").unwrap_or_default();
        let job = Job::from_bytes(&raw)
            .map_err(|error| QueueError::new(QueueErrorKind::Corrupt, error.to_string()))?
            .with_attempts(0);
        let mut invocation = SCRIPTS.replay.key(&self.inner.dead);
        invocation
            .key(&self.inner.stream)
            .key(&self.inner.delayed)
            .arg(id)
            .arg(job.to_bytes().as_ref())
            .arg(self.inner.max_len);
        match self.invoke::<i64>("the replay script", &invocation).await? {
            1 => Ok(true),
            0 => Ok(false),
            _ => Err(QueueError::new(
                QueueErrorKind::Full,
                "the queue holds its bound: replay later",
            )),
        }
    }

    async fn depth(&self) -> Result<Depth, QueueError> {
        let mut pipe = redis::pipe();
        pipe.cmd("XLEN")
            .arg(&self.inner.stream)
            .cmd("XPENDING")
            .arg(&self.inner.stream)
            .arg(&self.inner.group)
            .cmd("ZCARD")
            .arg(&self.inner.delayed)
            .cmd("XLEN")
            .arg(&self.inner.dead);
        let mut manager = self.inner.manager.clone();
        let (length, pending, delayed, dead): (u64, Value, u64, u64) = self
            .timed("the depth pipeline", pipe.query_async(&mut manager))
            .await?;
        let in_flight = match &pending {
            Value::Array(items) => match items.first() {
                Some(Value::Int(count)) => u64::try_from(*count).unwrap_or(0),
                _ => return Err(unexpected("XPENDING", &pending)),
            },
            _ => return Err(unexpected("XPENDING", &pending)),
        };
        Ok(Depth::new(
            length.saturating_sub(in_flight),
            delayed,
            in_flight,
            dead,
        ))
    }

    fn close(&self) {
        self.inner.closed.store(true, Ordering::Relaxed);
    }

    fn is_closed(&self) -> bool {
        self.inner.closed.load(Ordering::Relaxed)
    }
}

/// Reads a dead-stream entry; one this crate cannot read is skipped (logged).
fn dead_letter(entry: StreamId) -> Option<DeadLetter> {
    let raw = entry.get::<Vec<u8>>("job").unwrap_or_default();
    let job = match Job::from_bytes(&raw) {
        Ok(job) => job,
        Err(error) => {
            tracing::warn!(entry = entry.id, %error, "skipping an unreadable dead letter");
            return None;
        }
    };
    let kind = entry
        .get::<String>("kind")
        .and_then(|kind| DeadLetterKind::parse(&kind))
        .unwrap_or(DeadLetterKind::Permanent);
    let error = entry.get::<String>("error").unwrap_or_default();
    let failed_at = UNIX_EPOCH + Duration::from_millis(entry.get::<u64>("failed_at").unwrap_or(0));
    Some(DeadLetter::new(entry.id, job, kind, error, failed_at))
}
