use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::{DeadLetter, DeadLetterKind, Job, Received};

/// A durable (or, in memory, bounded) queue of jobs, shared by the enqueue service and
/// the workers.
///
/// The life of a job, and the operation behind each step:
///
/// | step | operation | after it |
/// |---|---|---|
/// | the enqueue service accepted a delivery | [`enqueue`](Queue::enqueue) | the job is stored (the 202 is sent only now) |
/// | a worker asks for work | [`receive`](Queue::receive) | the job is held by that consumer |
/// | processing succeeded | [`ack`](Queue::ack) | the job is gone |
/// | a transient failure, attempts left | [`retry`](Queue::retry) | the job waits for its delay, then is handed out again |
/// | a permanent failure, or attempts exhausted | [`dead_letter`](Queue::dead_letter) | the job is in the dead letters |
/// | an operator fixed the cause | [`replay`](Queue::replay) | the job is queued again, attempts reset |
///
/// Settling (ack, retry, dead-letter) is atomic: a job is never both queued and dead,
/// nor lost between two places. The workers ([`Workers`](crate::Workers)) drive
/// `receive` and the settling; the enqueue service ([`Enqueue`](crate::Enqueue))
/// calls `enqueue`.
///
/// Delivery is at least once: a job whose consumer died before settling it is handed
/// out again (the Redis backend reclaims it after an idle timeout), so the processing
/// function must be idempotent.
///
/// # Writing a backend
///
/// Implement the methods with `async fn`s; the futures must be `Send`. Every queue is
/// also a [`DynQueue`](crate::DynQueue), so it can be chosen at run time as an
/// `Arc<dyn DynQueue>`. Store jobs with
/// [`Job::to_bytes`] and read them with [`Job::from_bytes`]. Settling an entry the
/// consumer no longer holds (another consumer reclaimed it, or it was settled already)
/// must do nothing and succeed.
pub trait Queue: Send + Sync + 'static {
    /// Stores `job`. Once this returns `Ok`, the job must survive what the backend
    /// promises to survive (the Redis backend: a Redis restart, with AOF; see the
    /// crate docs). Fails with [`QueueErrorKind::Full`] when the queue holds its
    /// bound, [`QueueErrorKind::Closed`] when it stopped taking jobs.
    fn enqueue(&self, job: &Job) -> impl Future<Output = Result<(), QueueError>> + Send;

    /// Waits for the next job for `consumer` and hands it out. `Ok(None)` means the
    /// queue was [closed](Queue::close) and this consumer should stop (the memory
    /// backend: once every job is finished).
    ///
    /// If the future is dropped after the backend handed a job out, the job stays
    /// held by `consumer` until the backend reclaims it.
    fn receive(
        &self,
        consumer: &str,
    ) -> impl Future<Output = Result<Option<Received>, QueueError>> + Send;

    /// Processing succeeded: removes the job.
    fn ack(&self, received: &Received) -> impl Future<Output = Result<(), QueueError>> + Send;

    /// Processing failed and will be tried again: stores `received.job()` as it is now
    /// (the worker has counted the failed attempt) to be handed out after `delay`.
    fn retry(
        &self,
        received: &Received,
        delay: Duration,
    ) -> impl Future<Output = Result<(), QueueError>> + Send;

    /// Processing failed for good: moves the job to the dead letters with the error's
    /// message.
    fn dead_letter(
        &self,
        received: &Received,
        kind: DeadLetterKind,
        error: &str,
    ) -> impl Future<Output = Result<(), QueueError>> + Send;

    /// Up to `limit` dead letters, oldest first.
    fn dead_letters(
        &self,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<DeadLetter>, QueueError>> + Send;

    /// Moves the dead letter `id` back to the queue with its attempts reset to 0.
    /// Returns `false` if there is no such dead letter (replayed already).
    fn replay(&self, id: &str) -> impl Future<Output = Result<bool, QueueError>> + Send;

    /// How many jobs are where.
    fn depth(&self) -> impl Future<Output = Result<Depth, QueueError>> + Send;

    /// Stops handing out new jobs: [`receive`](Queue::receive) answers `None` (the
    /// memory backend: once the jobs it holds are finished). A backend whose jobs would
    /// not outlive its workers (memory) also refuses new jobs from now on.
    fn close(&self);

    /// Whether [`close`](Queue::close) was called.
    fn is_closed(&self) -> bool;
}

impl<Q: Queue> Queue for Arc<Q> {
    fn enqueue(&self, job: &Job) -> impl Future<Output = Result<(), QueueError>> + Send {
        (**self).enqueue(job)
    }

    fn receive(
        &self,
        consumer: &str,
    ) -> impl Future<Output = Result<Option<Received>, QueueError>> + Send {
        (**self).receive(consumer)
    }

    fn ack(&self, received: &Received) -> impl Future<Output = Result<(), QueueError>> + Send {
        (**self).ack(received)
    }

    fn retry(
        &self,
        received: &Received,
        delay: Duration,
    ) -> impl Future<Output = Result<(), QueueError>> + Send {
        (**self).retry(received, delay)
    }

    fn dead_letter(
        &self,
        received: &Received,
        kind: DeadLetterKind,
        error: &str,
    ) -> impl Future<Output = Result<(), QueueError>> + Send {
        (**self).dead_letter(received, kind, error)
    }

    fn dead_letters(
        &self,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<DeadLetter>, QueueError>> + Send {
        (**self).dead_letters(limit)
    }

    fn replay(&self, id: &str) -> impl Future<Output = Result<bool, QueueError>> + Send {
        (**self).replay(id)
    }

    fn depth(&self) -> impl Future<Output = Result<Depth, QueueError>> + Send {
        (**self).depth()
    }

    fn close(&self) {
        (**self).close();
    }

    fn is_closed(&self) -> bool {
        (**self).is_closed()
    }
}

/// How many jobs a queue holds, by state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Depth {
    /// Waiting to be handed out.
    pub ready: u64,
    /// Waiting for a retry delay to pass.
    pub delayed: u64,
    /// Held by a consumer (Redis: pending in the consumer group).
    pub in_flight: u64,
    /// In the dead letters.
    pub dead: u64,
}

impl Depth {
    /// A depth report.
    pub fn new(ready: u64, delayed: u64, in_flight: u64, dead: u64) -> Self {
        Self {
            ready,
            delayed,
            in_flight,
            dead,
        }
    }

    /// Jobs accepted and not finished: ready, delayed and in flight.
    pub fn unfinished(&self) -> u64 {
        self.ready + self.delayed + self.in_flight
    }
}

/// A queue operation failed.
#[derive(Debug, Clone)]
pub struct QueueError {
    kind: QueueErrorKind,
    message: Cow<'static, str>,
}

/// What kind of failure a [`QueueError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum QueueErrorKind {
    /// The queue holds its bound: nothing was stored.
    Full,
    /// The queue stopped taking jobs (shutting down): nothing was stored.
    Closed,
    /// The backend cannot be reached.
    Unavailable,
    /// The backend did not answer in time; the operation may or may not have landed.
    Timeout,
    /// The backend answered something this crate did not write.
    Corrupt,
    /// Anything else.
    Other,
}

impl QueueError {
    /// An error of `kind`.
    pub fn new(kind: QueueErrorKind, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// The kind of failure.
    pub fn kind(&self) -> QueueErrorKind {
        self.kind
    }

    /// Whether trying again later may work (the backend is unreachable or slow).
    pub fn is_transient(&self) -> bool {
        matches!(
            self.kind,
            QueueErrorKind::Unavailable | QueueErrorKind::Timeout | QueueErrorKind::Full
        )
    }
}

impl fmt::Display for QueueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for QueueError {}
