//! [`RedisQueue`]: the queue on Redis Streams. Its settings are in `builder`, the
//! reading side (new entries, due retries, reclaimed entries) in `receive`.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redis::aio::MultiplexedConnection;
use redis::streams::{StreamId, StreamRangeReply};
use redis::{Cmd, FromRedisValue, Script, Value};
use webhook_core::redis::{RedisConnection, RedisError, RedisErrorKind, within};

use crate::job::unix_millis;
use crate::{DeadLetter, DeadLetterKind, Depth, Job, Queue, QueueError, QueueErrorKind, Received};

mod builder;
mod receive;

pub use builder::RedisQueueBuilder;

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
/// The default time an event id stays remembered after its job was queued: 72 hours
/// (Stripe retries for 3 days).
pub const DEFAULT_DEDUPE_WINDOW: Duration = Duration::from_secs(72 * 3600);

/// Adds a job (or finds its event queued already): see the script for its keys,
/// arguments and answers, as for each script below.
const ENQUEUE: &str = include_str!("redis/enqueue.lua");
/// Acknowledges and deletes an entry.
const ACK: &str = include_str!("redis/ack.lua");
/// Moves a held entry to the delayed set.
const RETRY: &str = include_str!("redis/retry.lua");
/// Moves due retries back to the stream.
const PROMOTE: &str = include_str!("redis/promote.lua");
/// Moves a held entry to the dead stream.
const DEAD_LETTER: &str = include_str!("redis/dead_letter.lua");
/// Moves a dead letter back to the stream.
const REPLAY: &str = include_str!("redis/replay.lua");

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
/// Redis Cluster is not supported (the scripts touch several keys):
/// [`build`](RedisQueueBuilder::build) refuses a cluster connection.
///
/// # Connections
///
/// Short operations go through the [`RedisConnection`] (one multiplexed connection,
/// reconnected in the background after a failure, which other Redis backends can
/// share); blocking reads use a small pool of connections of their own
/// ([`RedisConnection::open_dedicated`]), dropped and reopened on error. While Redis is gone, operations fail
/// within the [operation timeout](RedisQueueBuilder::operation_timeout): enqueue
/// answers 503, workers pause and retry; once Redis is back, the same queue works
/// again. An operation that timed out waiting for the reconnection may still be sent
/// once the connection is back: a delivery answered 503 can then be queued anyway;
/// the sender's retry of an event with an id is then deduplicated (see above). See
/// the crate docs for the persistence settings the guarantees need.
///
/// ```no_run
/// use std::time::Duration;
/// use webhook_core::redis::RedisConnection;
/// use webhook_queue::RedisQueue;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let connection = RedisConnection::connect("redis://127.0.0.1:6379/").await?;
/// let queue = RedisQueue::builder(connection)
///     .key_prefix("payments:webhooks:")
///     .max_len(50_000)
///     .claim_idle(Duration::from_secs(120))
///     .build()
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
    connection: RedisConnection,
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

impl RedisQueue {
    /// A queue on `connection` with the defaults:
    /// `RedisQueue::builder(connection).build().await`.
    pub async fn new(connection: RedisConnection) -> Result<Self, QueueError> {
        Self::builder(connection).build().await
    }

    /// A queue on `connection` (clones of one connection can serve several backends).
    pub fn builder(connection: RedisConnection) -> RedisQueueBuilder {
        RedisQueueBuilder::new(connection)
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

    /// The connection the queue talks through.
    pub fn connection(&self) -> &RedisConnection {
        &self.inner.connection
    }

    /// The consumer group.
    pub fn group(&self) -> &str {
        &self.inner.group
    }

    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.inner.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    async fn query<T: FromRedisValue>(
        &self,
        what: &'static str,
        cmd: &Cmd,
    ) -> Result<T, QueueError> {
        let mut connection = self.inner.connection.clone();
        within(self.inner.timeout, what, cmd.query_async(&mut connection))
            .await
            .map_err(queue_error)
    }

    async fn invoke<T: FromRedisValue>(
        &self,
        what: &'static str,
        invocation: &redis::ScriptInvocation<'_>,
    ) -> Result<T, QueueError> {
        let mut connection = self.inner.connection.clone();
        within(
            self.inner.timeout,
            what,
            invocation.invoke_async(&mut connection),
        )
        .await
        .map_err(queue_error)
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
    let kind = match error.kind() {
        RedisErrorKind::Timeout => QueueErrorKind::Timeout,
        RedisErrorKind::Unavailable => QueueErrorKind::Unavailable,
        _ => QueueErrorKind::Other,
    };
    QueueError::new(kind, error.to_string())
}

fn unexpected(what: &str, value: &Value) -> QueueError {
    QueueError::new(
        QueueErrorKind::Corrupt,
        format!("unexpected answer from Redis to {what}: {value:?}"),
    )
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
        let mut connection = self.inner.connection.clone();
        let (length, pending, delayed, dead): (u64, Value, u64, u64) = within(
            self.inner.timeout,
            "the depth pipeline",
            pipe.query_async(&mut connection),
        )
        .await
        .map_err(queue_error)?;
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
