//! The breaker every clone of a [`RedisConnection`](super::RedisConnection) shares: see
//! the module docs' "When Redis is down".

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use redis::RedisFuture;

use super::{ABANDONED_AFTER, Connection, FAILURES_TO_OPEN, PROBE_INTERVAL, within};

pub(super) struct Shared {
    /// Opens the dedicated connections of blocking commands; `None` on a cluster.
    pub(super) client: Option<redis::Client>,
    pub(super) operation_timeout: Duration,
    /// The connection the probe sends `PING` on, past the breaker.
    pub(super) probe: Connection,
    /// Failed calls in a row.
    pub(super) failures: AtomicU32,
    /// Whether the breaker is open; only the probe closes it.
    pub(super) open: AtomicBool,
}

impl Shared {
    /// The error of a call refused while the breaker is open.
    pub(super) fn refusal(&self) -> Option<redis::RedisError> {
        self.open.load(Ordering::Acquire).then(|| {
            std::io::Error::new(
                std::io::ErrorKind::NotConnected,
                format!(
                    "Redis is down ({FAILURES_TO_OPEN} calls failed in a row): failing at once \
                     until it answers a PING (every {PROBE_INTERVAL:?})"
                ),
            )
            .into()
        })
    }

    /// Counts a call that got an answer.
    pub(super) fn answered(&self) {
        // Read first: a healthy connection never writes the shared count.
        if self.failures.load(Ordering::Relaxed) != 0 {
            self.failures.store(0, Ordering::Relaxed);
        }
    }

    /// Counts a failed call; the one that reaches [`FAILURES_TO_OPEN`] opens the
    /// breaker and starts the probe.
    pub(super) fn failed(self: &Arc<Self>) {
        let failures = self.failures.fetch_add(1, Ordering::Relaxed) + 1;
        if failures < FAILURES_TO_OPEN || self.open.load(Ordering::Relaxed) {
            return;
        }
        // The probe is what closes the breaker: without a runtime to run it, stay closed.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if !self.open.swap(true, Ordering::AcqRel) {
            tracing::warn!(
                failures,
                "Redis is down: failing its calls at once until it answers a PING"
            );
            runtime.spawn(probe(Arc::downgrade(self)));
        }
    }

    /// Counts the outcome of a call.
    pub(super) fn record<T>(self: &Arc<Self>, result: &redis::RedisResult<T>) {
        match result {
            Err(error)
                if error.is_timeout()
                    || error.is_io_error()
                    || error.is_connection_refusal()
                    || error.is_connection_dropped()
                    || error.is_unrecoverable_error() =>
            {
                self.failed();
            }
            _ => self.answered(),
        }
    }
}

/// While the breaker of `shared` is open: `PING` every [`PROBE_INTERVAL`], and close it
/// at the first answer. Ends early when every clone of the connection is dropped.
pub(super) async fn probe(shared: Weak<Shared>) {
    let started = Instant::now();
    loop {
        tokio::time::sleep(PROBE_INTERVAL).await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let mut connection = shared.probe.clone();
        let ping = redis::cmd("PING");
        let answer: Result<String, _> = within(
            shared.operation_timeout,
            "PING",
            ping.query_async(&mut connection),
        )
        .await;
        if answer.is_ok() {
            shared.failures.store(0, Ordering::Relaxed);
            shared.open.store(false, Ordering::Release);
            tracing::info!(down_for = ?started.elapsed(), "Redis answers again");
            return;
        }
    }
}

/// Runs `call` of `shared`'s connection, counting its outcome for the breaker, and
/// counting it as failed if it is dropped after waiting [`ABANDONED_AFTER`].
pub(super) fn watched<'a, T: Send + 'a>(
    shared: &'a Arc<Shared>,
    call: RedisFuture<'a, T>,
) -> RedisFuture<'a, T> {
    /// Counts the call as failed if dropped armed, late enough.
    struct Abandoned<'a> {
        shared: &'a Arc<Shared>,
        started: Instant,
        armed: bool,
    }
    impl Drop for Abandoned<'_> {
        fn drop(&mut self) {
            if self.armed && self.started.elapsed() >= ABANDONED_AFTER {
                self.shared.failed();
            }
        }
    }
    Box::pin(async move {
        let mut abandoned = Abandoned {
            shared,
            started: Instant::now(),
            armed: true,
        };
        let result = call.await;
        abandoned.armed = false;
        shared.record(&result);
        result
    })
}
