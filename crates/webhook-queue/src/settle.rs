//! What becomes of a job once a consumer holds it: settled as done, retried, or moved
//! to the dead letters.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use crate::Job;

/// A job handed to a consumer by [`Queue::receive`](crate::Queue::receive), with what
/// the backend needs to settle it (acknowledge, retry or dead-letter).
#[derive(Debug, Clone)]
pub struct Received {
    job: Job,
    receipt: Arc<str>,
    consumer: Arc<str>,
    deliveries: u32,
}

impl Received {
    /// `job`, handed to `consumer`, identified in the backend by `receipt` (for Redis,
    /// the stream entry id), delivered once.
    pub fn new(job: Job, receipt: impl Into<Arc<str>>, consumer: impl Into<Arc<str>>) -> Self {
        Self {
            job,
            receipt: receipt.into(),
            consumer: consumer.into(),
            deliveries: 1,
        }
    }

    /// Sets how many times the backend handed this entry out, this time included
    /// (more than one after a crashed consumer's entry was reclaimed).
    #[must_use]
    pub fn with_deliveries(mut self, deliveries: u32) -> Self {
        self.deliveries = deliveries.max(1);
        self
    }

    /// The job.
    pub fn job(&self) -> &Job {
        &self.job
    }

    /// The job, mutably.
    pub fn job_mut(&mut self) -> &mut Job {
        &mut self.job
    }

    /// Unwraps the job.
    pub fn into_job(self) -> Job {
        self.job
    }

    /// The backend's handle on the entry.
    pub fn receipt(&self) -> &str {
        &self.receipt
    }

    /// The consumer it was handed to.
    pub fn consumer(&self) -> &str {
        &self.consumer
    }

    /// How many times the backend handed this entry out, this time included.
    pub fn deliveries(&self) -> u32 {
        self.deliveries
    }
}

/// Why a job was moved to the dead letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DeadLetterKind {
    /// The processing function returned [`ProcessError::Permanent`]: not retried.
    Permanent,
    /// Every attempt the retry policy allows failed.
    Exhausted,
}

impl DeadLetterKind {
    /// `"permanent"` or `"exhausted"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Permanent => "permanent",
            Self::Exhausted => "exhausted",
        }
    }

    /// Reads [`as_str`](Self::as_str) back.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "permanent" => Some(Self::Permanent),
            "exhausted" => Some(Self::Exhausted),
            _ => None,
        }
    }
}

impl fmt::Display for DeadLetterKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A job that failed for good, kept until it is replayed.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    id: Arc<str>,
    job: Job,
    kind: DeadLetterKind,
    error: Arc<str>,
    failed_at: SystemTime,
}

impl DeadLetter {
    /// A dead letter with the backend's id for it.
    pub fn new(
        id: impl Into<Arc<str>>,
        job: Job,
        kind: DeadLetterKind,
        error: impl Into<Arc<str>>,
        failed_at: SystemTime,
    ) -> Self {
        Self {
            id: id.into(),
            job,
            kind,
            error: error.into(),
            failed_at,
        }
    }

    /// The id to pass to [`Queue::replay`](crate::Queue::replay).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The job; its [`attempts`](Job::attempts) counts every failed attempt, the last included.
    pub fn job(&self) -> &Job {
        &self.job
    }

    /// Permanent failure, or attempts exhausted.
    pub fn kind(&self) -> DeadLetterKind {
        self.kind
    }

    /// The last error's message.
    pub fn error(&self) -> &str {
        &self.error
    }

    /// When it was dead-lettered.
    pub fn failed_at(&self) -> SystemTime {
        self.failed_at
    }
}

/// A boxed error, as returned by processing functions.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why the processing function failed, and whether to try again.
///
/// ```
/// use webhook_queue::ProcessError;
///
/// let error = ProcessError::transient("the ledger answered 503");
/// assert!(!error.is_permanent());
/// assert_eq!(error.to_string(), "the ledger answered 503");
/// assert!(ProcessError::permanent("unknown event type").is_permanent());
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum ProcessError {
    /// Worth retrying (a timeout, a 5xx from a downstream service, a lock): the job is
    /// retried after a backoff, until the retry policy's attempts run out.
    Transient(BoxError),
    /// Retrying cannot help (the payload is invalid, the event type unknown): the job
    /// goes to the dead letters at once.
    Permanent(BoxError),
}

impl ProcessError {
    /// A failure worth retrying.
    pub fn transient(error: impl Into<BoxError>) -> Self {
        Self::Transient(error.into())
    }

    /// A failure retrying cannot fix.
    pub fn permanent(error: impl Into<BoxError>) -> Self {
        Self::Permanent(error.into())
    }

    /// Whether it is [`Permanent`](Self::Permanent).
    pub fn is_permanent(&self) -> bool {
        matches!(self, Self::Permanent(_))
    }
}

impl fmt::Display for ProcessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Transient(error) | Self::Permanent(error) => fmt::Display::fmt(error, f),
        }
    }
}

impl std::error::Error for ProcessError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Transient(error) | Self::Permanent(error) => Some(&**error),
        }
    }
}
