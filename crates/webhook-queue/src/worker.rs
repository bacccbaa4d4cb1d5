use std::any::Any;
use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use http::{Request, Response};
use http_body::Body;
use tower_service::Service;
use webhook_core::VerifiedBody;
use webhook_core::envelope::Envelope;

use crate::job::process_seed;
use crate::metrics::{Metrics, NoopMetrics};
use crate::{
    BoxError, ConfigError, DeadLetterKind, Job, ProcessError, Queue, QueueError, QueueErrorKind,
    Received, RetryPolicy, serve,
};

/// The default number of jobs processed at once: 4.
pub const DEFAULT_CONCURRENCY: usize = 4;
/// The default time [`Workers::shutdown`] waits for the workers: 30 seconds.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);
/// The default interval between two depth samples sent to the metrics: 5 seconds.
pub const DEFAULT_DEPTH_INTERVAL: Duration = Duration::from_secs(5);

/// The longest pause between two tries of a failing queue operation.
const MAX_QUEUE_BACKOFF: Duration = Duration::from_secs(1);

type ProcessFuture = Pin<Box<dyn Future<Output = Result<(), ProcessError>> + Send>>;
type ProcessFn = Arc<dyn Fn(Job) -> ProcessFuture + Send + Sync>;

/// Tasks that take jobs from a [`Queue`] and run the processing function on them.
///
/// Each worker is one tokio task and one consumer of the queue (named
/// `<prefix>-<n>`): it receives a job, runs the function, and settles the job by the
/// outcome:
///
/// | the function | the job |
/// |---|---|
/// | returns `Ok(())` | acknowledged: gone |
/// | returns [`ProcessError::Transient`], panics, or runs past the [timeout](WorkersBuilder::timeout) | retried after [`RetryPolicy::backoff`], until [`RetryPolicy::max_attempts`] attempts failed; then dead-lettered ([`DeadLetterKind::Exhausted`]) |
/// | returns [`ProcessError::Permanent`] | dead-lettered at once ([`DeadLetterKind::Permanent`]) |
///
/// A job that a crashed consumer held counts that attempt too (on Redis, from the
/// entry's delivery count), so a job that kills its process every time still ends in
/// the dead letters. When the queue itself fails (Redis down), a worker pauses (up to
/// 1 s, growing) and tries again; a settlement that cannot be written is retried until
/// it is, so the job is not processed again.
///
/// ```
/// use std::time::Duration;
/// use webhook_queue::{Job, MemoryQueue, ProcessError, Queue, RetryPolicy, Workers};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let queue = MemoryQueue::new();
/// let (done, mut processed) = tokio::sync::mpsc::unbounded_channel();
/// let workers = Workers::builder(queue.clone(), move |job: Job| {
///     let done = done.clone();
///     async move {
///         if job.body().is_empty() {
///             return Err(ProcessError::permanent("empty body"));
///         }
///         done.send(job.event_id().map(str::to_owned)).unwrap();
///         Ok(())
///     }
/// })
/// .concurrency(2)
/// .retry(RetryPolicy::new().with_max_attempts(5))
/// .spawn()
/// .unwrap();
///
/// queue.enqueue(&Job::new("{}").with_event_id("evt_1")).await.unwrap();
/// assert_eq!(processed.recv().await.unwrap().as_deref(), Some("evt_1"));
/// workers.shutdown().await.unwrap();
/// # }
/// ```
pub struct Workers<Q> {
    shared: Arc<Shared<Q>>,
    tasks: Vec<JoinHandle<()>>,
    sampler: Option<JoinHandle<()>>,
    shutdown_timeout: Duration,
    consumers: Vec<String>,
}

struct Shared<Q> {
    queue: Q,
    process: ProcessFn,
    retry: RetryPolicy,
    timeout: Option<Duration>,
    metrics: Arc<dyn Metrics>,
}

impl<Q: Queue + Clone> Workers<Q> {
    /// Workers on `queue` running `process` on every job.
    ///
    /// The function gets an owned [`Job`] and returns `Ok(())` or a
    /// [`ProcessError`]. Jobs are delivered at least once: make it idempotent (key its
    /// effects on [`Job::event_id`]).
    pub fn builder<F, Fut>(queue: Q, process: F) -> WorkersBuilder<Q>
    where
        F: Fn(Job) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), ProcessError>> + Send + 'static,
    {
        WorkersBuilder {
            queue,
            process: Arc::new(move |job| Box::pin(process(job)) as ProcessFuture),
            concurrency: DEFAULT_CONCURRENCY,
            retry: RetryPolicy::new(),
            timeout: None,
            metrics: None,
            consumer_prefix: None,
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
            depth_interval: DEFAULT_DEPTH_INTERVAL,
        }
    }

    /// Workers on `queue` running a tower `service` on every job: the same
    /// `EventRouter` (or any handler service) that serves live deliveries serves
    /// queued ones, without an adapter.
    ///
    /// Each job goes in as [`Job::to_request`]: a `POST /` holding the verified body,
    /// with the [`VerifiedDelivery`](webhook_core::VerifiedDelivery) marker in its
    /// extensions (a job was verified before it was queued). The answer settles the
    /// job:
    ///
    /// | the service | the job |
    /// |---|---|
    /// | answers 2xx | done: acknowledged |
    /// | answers 5xx, 408 or 429, or returns `Err` | a transient failure: retried with backoff ([`ProcessError::Transient`]) |
    /// | answers any other status (4xx, 3xx) | a permanent failure: dead-lettered at once ([`ProcessError::Permanent`]) |
    ///
    /// A failure's message (the dead letter's [`error`](crate::DeadLetter::error)) is
    /// the status and the start of the answer's body, such as
    /// `the service answered 422 Unprocessable Entity: {"code":"invalid_data",...}`.
    /// An axum `Router` works too; it routes the request by method and path, so give
    /// it a `POST /` route (or put the service on a fallback).
    ///
    /// ```
    /// use bytes::Bytes;
    /// use http::{Request, Response, StatusCode};
    /// use webhook_core::{VerifiedBody, VerifiedDelivery};
    /// use webhook_queue::{Job, MemoryQueue, Queue, Workers};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let queue = MemoryQueue::new();
    /// // Any `Service<Request<VerifiedBody>>`; usually an `EventRouter`.
    /// let handler = tower::service_fn(|request: Request<VerifiedBody>| async move {
    ///     let delivery = request.extensions().get::<VerifiedDelivery>().unwrap();
    ///     let status = match delivery.body().as_ref() {
    ///         b"{}" => StatusCode::OK,
    ///         _ => StatusCode::UNPROCESSABLE_ENTITY,
    ///     };
    ///     Ok::<_, std::convert::Infallible>(
    ///         Response::builder().status(status).body(String::from("not a ping")).unwrap(),
    ///     )
    /// });
    /// let workers = Workers::serve(queue.clone(), handler).spawn().unwrap();
    ///
    /// queue.enqueue(&Job::new("{}").with_event_id("evt_ok")).await.unwrap();
    /// queue.enqueue(&Job::new("[]").with_event_id("evt_bad")).await.unwrap();
    /// workers.shutdown().await.unwrap(); // finishes both jobs
    ///
    /// let dead = queue.dead_letters(10).await.unwrap();
    /// assert_eq!(dead.len(), 1);
    /// assert_eq!(dead[0].job().event_id(), Some("evt_bad"));
    /// assert_eq!(dead[0].error(), "the service answered 422 Unprocessable Entity: not a ping");
    /// # }
    /// ```
    pub fn serve<S, B>(queue: Q, service: S) -> WorkersBuilder<Q>
    where
        S: Service<Request<VerifiedBody>, Response = Response<B>> + Clone + Send + Sync + 'static,
        S::Error: Into<BoxError>,
        S::Future: Send,
        B: Body + Send + 'static,
        B::Data: Send,
    {
        Self::builder(queue, move |job| serve::process(service.clone(), job))
    }
}

impl<Q: Queue> Workers<Q> {
    /// The queue.
    pub fn queue(&self) -> &Q {
        &self.shared.queue
    }

    /// The consumer names of the workers, `<prefix>-<n>`.
    pub fn consumers(&self) -> &[String] {
        &self.consumers
    }

    /// Stops the workers gracefully.
    ///
    /// At once (before the returned future is polled) the queue is
    /// [closed](Queue::close): no worker takes a new job from a shared backend (Redis
    /// keeps the rest for the next run), and the memory queue refuses new jobs (the
    /// enqueue service answers 503 `queue_closed`). The future then waits until every
    /// worker has finished what it holds (the memory queue: every job it holds, retries
    /// included), at most the [shutdown timeout](WorkersBuilder::shutdown_timeout);
    /// workers still running then are aborted and reported in the error.
    ///
    /// Stop the HTTP server first (axum's `with_graceful_shutdown`), so no delivery is
    /// refused while the receiver drains.
    pub fn shutdown(mut self) -> impl Future<Output = Result<(), ShutdownError>> + Send + 'static {
        self.shared.queue.close();
        let tasks = std::mem::take(&mut self.tasks);
        let sampler = self.sampler.take();
        let deadline = Instant::now() + self.shutdown_timeout;
        async move {
            let mut aborted = 0;
            for mut task in tasks {
                if tokio::time::timeout_at(deadline, &mut task).await.is_err() {
                    task.abort();
                    aborted += 1;
                }
            }
            if let Some(sampler) = sampler {
                sampler.abort();
            }
            if aborted == 0 {
                Ok(())
            } else {
                tracing::error!(aborted, "shutdown timed out: workers aborted mid-job");
                Err(ShutdownError { aborted })
            }
        }
    }

    /// Aborts every worker at once, without closing the queue: what a crash does. The
    /// jobs they hold stay held (Redis: pending, reclaimed by another consumer after
    /// the idle timeout; memory: lost). For tests and emergencies; use
    /// [`shutdown`](Self::shutdown) otherwise.
    pub fn abort(mut self) {
        for task in self.tasks.drain(..) {
            task.abort();
        }
        if let Some(sampler) = self.sampler.take() {
            sampler.abort();
        }
    }
}

impl<Q> fmt::Debug for Workers<Q> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Workers")
            .field("consumers", &self.consumers)
            .field("retry", &self.shared.retry)
            .field("timeout", &self.shared.timeout)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .finish_non_exhaustive()
    }
}

/// [`Workers::shutdown`] timed out: some workers were aborted mid-job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShutdownError {
    aborted: usize,
}

impl ShutdownError {
    /// How many workers were aborted.
    pub fn aborted(&self) -> usize {
        self.aborted
    }
}

impl fmt::Display for ShutdownError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the shutdown timed out: {} workers were aborted mid-job",
            self.aborted
        )
    }
}

impl std::error::Error for ShutdownError {}

/// Configures [`Workers`]; [`spawn`](Self::spawn) checks the settings and starts them.
#[must_use]
pub struct WorkersBuilder<Q> {
    queue: Q,
    process: ProcessFn,
    concurrency: usize,
    retry: RetryPolicy,
    timeout: Option<Duration>,
    metrics: Option<Arc<dyn Metrics>>,
    consumer_prefix: Option<String>,
    shutdown_timeout: Duration,
    depth_interval: Duration,
}

impl<Q: Queue + Clone> WorkersBuilder<Q> {
    /// Gives each job its provider's envelope, by its scheme's name, before it is
    /// processed: a job read back from a backend's bytes (Redis) does not carry the
    /// envelope, and without it a provider whose type is a header or whose payload is
    /// not `data` (GitHub, Slack, Paddle, ...) is read as the standard envelope. The
    /// built-in providers' come from the signature crate:
    /// `.envelopes(|scheme| Some(webhook_signature::scheme::by_name(scheme)?.envelope()))`.
    /// A job whose scheme `resolve` does not know keeps its own.
    pub fn envelopes<F>(mut self, resolve: F) -> Self
    where
        F: Fn(&str) -> Option<&'static Envelope> + Send + Sync + 'static,
    {
        let process = self.process;
        self.process = Arc::new(move |job: Job| {
            let job = match resolve(job.scheme()) {
                Some(envelope) => job.with_envelope(envelope),
                None => job,
            };
            process(job)
        });
        self
    }

    /// How many jobs are processed at once: the number of worker tasks (default
    /// [`DEFAULT_CONCURRENCY`]).
    pub fn concurrency(mut self, workers: usize) -> Self {
        self.concurrency = workers;
        self
    }

    /// Attempts and backoff for transient failures (default [`RetryPolicy::new`]).
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// How long one attempt may run; a longer one is cut off and counts as a transient
    /// failure (default: no limit). With Redis, keep it below the queue's claim idle
    /// time, or another consumer reclaims the job while it still runs.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Where to report attempts, retries, dead letters and the queue depth (sampled
    /// every [`depth_interval`](Self::depth_interval)).
    pub fn metrics(mut self, metrics: Arc<dyn Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// The consumer names' prefix (default `<process id>-<random>`); worker `n` is
    /// `<prefix>-<n>`. Give each process its own prefix.
    pub fn consumer_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.consumer_prefix = Some(prefix.into());
        self
    }

    /// How long [`Workers::shutdown`] waits before aborting the workers (default
    /// [`DEFAULT_SHUTDOWN_TIMEOUT`]).
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// How often the queue depth is sampled for the metrics (default
    /// [`DEFAULT_DEPTH_INTERVAL`]); only with [`metrics`](Self::metrics).
    pub fn depth_interval(mut self, interval: Duration) -> Self {
        self.depth_interval = interval;
        self
    }

    /// Checks the settings and spawns the workers on the current tokio runtime.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub fn spawn(self) -> Result<Workers<Q>, ConfigError> {
        if self.concurrency == 0 {
            return Err(ConfigError::ZeroConcurrency);
        }
        self.retry.validate()?;
        if self.timeout.is_some_and(|t| t.is_zero()) {
            return Err(ConfigError::ZeroDuration { setting: "timeout" });
        }
        if self.depth_interval.is_zero() {
            return Err(ConfigError::ZeroDuration {
                setting: "depth interval",
            });
        }
        let prefix = self.consumer_prefix.unwrap_or_else(|| {
            format!(
                "{}-{:08x}",
                std::process::id(),
                process_seed() & 0xffff_ffff
            )
        });
        let sample = self.metrics.clone();
        let shared = Arc::new(Shared {
            queue: self.queue,
            process: self.process,
            retry: self.retry,
            timeout: self.timeout,
            metrics: self.metrics.unwrap_or_else(|| Arc::new(NoopMetrics)),
        });
        let consumers: Vec<String> = (0..self.concurrency)
            .map(|n| format!("{prefix}-{n}"))
            .collect();
        let tasks = consumers
            .iter()
            .map(|consumer| tokio::spawn(run(shared.clone(), consumer.clone())))
            .collect();
        let sampler = sample.map(|metrics| {
            let queue = shared.queue.clone();
            let interval = self.depth_interval;
            tokio::spawn(async move {
                let mut ticks = tokio::time::interval(interval);
                ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    ticks.tick().await;
                    match queue.depth().await {
                        Ok(depth) => metrics.depth(&depth),
                        Err(error) => tracing::debug!(%error, "cannot sample the queue depth"),
                    }
                }
            })
        });
        Ok(Workers {
            shared,
            tasks,
            sampler,
            shutdown_timeout: self.shutdown_timeout,
            consumers,
        })
    }
}

impl<Q> fmt::Debug for WorkersBuilder<Q> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkersBuilder")
            .field("concurrency", &self.concurrency)
            .field("retry", &self.retry)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

fn queue_backoff(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(5);
    (Duration::from_millis(50) * (1 << doublings)).min(MAX_QUEUE_BACKOFF)
}

async fn run<Q: Queue>(shared: Arc<Shared<Q>>, consumer: String) {
    let mut failures = 0;
    loop {
        match shared.queue.receive(&consumer).await {
            Ok(Some(received)) => {
                failures = 0;
                shared.handle(received).await;
            }
            Ok(None) => break,
            Err(error) => {
                if shared.queue.is_closed() {
                    break;
                }
                failures += 1;
                tracing::warn!(%error, consumer, "cannot receive from the queue: retrying");
                tokio::time::sleep(queue_backoff(failures)).await;
            }
        }
    }
    tracing::debug!(consumer, "worker stopped");
}

enum Settlement {
    Ack,
    Retry(Duration),
    Dead(DeadLetterKind, String),
}

impl<Q: Queue> Shared<Q> {
    async fn handle(&self, mut received: Received) {
        // Deliveries beyond the first were attempts cut short by a crash.
        let prior = received
            .job()
            .attempts()
            .saturating_add(received.deliveries() - 1);
        received.job_mut().set_attempts(prior);
        let max = self.retry.max_attempts();
        if prior >= max {
            let message = format!(
                "handed out {} times without being settled: its consumers crashed or were killed",
                received.deliveries()
            );
            self.settle(
                &received,
                Settlement::Dead(DeadLetterKind::Exhausted, message),
            )
            .await;
            return;
        }

        self.metrics.attempt(received.job());
        let started = Instant::now();
        let outcome = self.attempt(received.job().clone()).await;
        let settlement = match outcome {
            Ok(()) => {
                self.metrics.succeeded(received.job(), started.elapsed());
                Settlement::Ack
            }
            Err(ProcessError::Permanent(error)) => {
                received.job_mut().set_attempts(prior + 1);
                Settlement::Dead(DeadLetterKind::Permanent, error.to_string())
            }
            Err(error) => {
                let failed = prior + 1;
                received.job_mut().set_attempts(failed);
                if failed >= max {
                    Settlement::Dead(DeadLetterKind::Exhausted, error.to_string())
                } else {
                    let delay = self.retry.backoff(failed);
                    tracing::debug!(
                        job_id = %received.job().id(),
                        event_id = received.job().event_id().unwrap_or("-"),
                        attempt = failed,
                        %error,
                        ?delay,
                        "processing failed: retrying"
                    );
                    self.metrics.retried(received.job(), delay);
                    Settlement::Retry(delay)
                }
            }
        };
        self.settle(&received, settlement).await;
    }

    /// Runs the function once, turning a panic or a timeout into a transient error.
    async fn attempt(&self, job: Job) -> Result<(), ProcessError> {
        let run = AssertUnwindSafe((self.process)(job)).catch_unwind();
        let outcome = match self.timeout {
            Some(limit) => match tokio::time::timeout(limit, run).await {
                Ok(outcome) => outcome,
                Err(_) => {
                    return Err(ProcessError::transient(format!(
                        "the processing function ran past its timeout of {limit:?}"
                    )));
                }
            },
            None => run.await,
        };
        outcome.unwrap_or_else(|panic| {
            Err(ProcessError::transient(format!(
                "the processing function panicked: {}",
                panic_message(&*panic)
            )))
        })
    }

    /// Writes the outcome to the queue, trying again while the queue is unreachable:
    /// a job whose outcome is lost would be processed again.
    async fn settle(&self, received: &Received, settlement: Settlement) {
        let job = received.job();
        if let Settlement::Dead(kind, error) = &settlement {
            tracing::warn!(
                job_id = %job.id(),
                event_id = job.event_id().unwrap_or("-"),
                attempts = job.attempts(),
                %kind,
                %error,
                "moving the job to the dead letters"
            );
        }
        let mut failures = 0;
        loop {
            let result: Result<(), QueueError> = match &settlement {
                Settlement::Ack => self.queue.ack(received).await,
                Settlement::Retry(delay) => self.queue.retry(received, *delay).await,
                Settlement::Dead(kind, error) => {
                    self.queue.dead_letter(received, *kind, error).await
                }
            };
            match result {
                Ok(()) => break,
                Err(error) => {
                    failures += 1;
                    let transient = matches!(
                        error.kind(),
                        QueueErrorKind::Unavailable | QueueErrorKind::Timeout
                    );
                    if !transient && failures >= 5 {
                        tracing::error!(
                            %error,
                            job_id = %job.id(),
                            "cannot settle the job: leaving it to be handed out again"
                        );
                        return;
                    }
                    tracing::warn!(%error, job_id = %job.id(), "cannot settle the job: retrying");
                    tokio::time::sleep(queue_backoff(failures)).await;
                }
            }
        }
        if let Settlement::Dead(kind, _) = settlement {
            self.metrics.dead_lettered(job, kind);
        }
    }
}

fn panic_message(panic: &(dyn Any + Send)) -> &str {
    if let Some(text) = panic.downcast_ref::<&str>() {
        text
    } else if let Some(text) = panic.downcast_ref::<String>() {
        text
    } else {
        "(no message)"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryQueue;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[derive(Default)]
    struct Recorded {
        attempts: AtomicU32,
        retries: Mutex<Vec<Duration>>,
        dead: Mutex<Vec<DeadLetterKind>>,
    }

    impl Metrics for Recorded {
        fn attempt(&self, _job: &Job) {
            self.attempts.fetch_add(1, Ordering::SeqCst);
        }
        fn retried(&self, _job: &Job, delay: Duration) {
            self.retries.lock().unwrap().push(delay);
        }
        fn dead_lettered(&self, _job: &Job, kind: DeadLetterKind) {
            self.dead.lock().unwrap().push(kind);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_job_that_always_fails_transiently_is_dead_lettered_after_max_attempts() {
        let queue = MemoryQueue::new();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let metrics = Arc::new(Recorded::default());
        let policy = RetryPolicy::new()
            .with_max_attempts(4)
            .with_initial_delay(Duration::from_secs(10))
            .with_max_delay(Duration::from_secs(25));
        let workers = Workers::builder(queue.clone(), {
            let seen = seen.clone();
            move |job: Job| {
                seen.lock().unwrap().push((job.attempts(), Instant::now()));
                async { Err(ProcessError::transient("the ledger answered 503")) }
            }
        })
        .concurrency(1)
        .retry(policy)
        .metrics(metrics.clone())
        .spawn()
        .unwrap();

        queue
            .enqueue(&Job::new("{}").with_event_id("evt_flaky"))
            .await
            .unwrap();
        let dead = loop {
            let dead = queue.dead_letters(10).await.unwrap();
            if !dead.is_empty() {
                break dead;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        };
        assert_eq!(dead.len(), 1);
        assert_eq!(dead[0].kind(), DeadLetterKind::Exhausted);
        assert_eq!(dead[0].error(), "the ledger answered 503");
        assert_eq!(dead[0].job().attempts(), 4);
        assert_eq!(dead[0].job().event_id(), Some("evt_flaky"));

        let seen = seen.lock().unwrap().clone();
        let attempts: Vec<u32> = seen.iter().map(|(a, _)| *a).collect();
        assert_eq!(attempts, [0, 1, 2, 3]);
        // Each wait is within its full-jitter window: 10 s, 20 s, then capped at 25 s.
        for (n, pair) in seen.windows(2).enumerate() {
            let waited = pair[1].1 - pair[0].1;
            assert!(
                waited <= policy.ceiling(n as u32 + 1),
                "wait {n}: {waited:?}"
            );
        }
        let retries = metrics.retries.lock().unwrap().clone();
        assert_eq!(retries.len(), 3);
        assert_eq!(metrics.attempts.load(Ordering::SeqCst), 4);
        assert_eq!(*metrics.dead.lock().unwrap(), [DeadLetterKind::Exhausted]);
        workers.shutdown().await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_panic_or_a_timeout_counts_as_a_transient_failure() {
        let queue = MemoryQueue::new();
        let workers = Workers::builder(queue.clone(), |job: Job| async move {
            if job.body() == "panics" {
                panic!("bad index");
            }
            std::future::pending().await
        })
        .concurrency(2)
        .timeout(Duration::from_secs(5))
        .retry(
            RetryPolicy::new()
                .with_max_attempts(2)
                .with_initial_delay(Duration::from_millis(1)),
        )
        .spawn()
        .unwrap();
        queue
            .enqueue(&Job::new("panics").with_event_id("evt_panic"))
            .await
            .unwrap();
        queue
            .enqueue(&Job::new("hangs").with_event_id("evt_hang"))
            .await
            .unwrap();
        let mut dead = loop {
            let dead = queue.dead_letters(10).await.unwrap();
            if dead.len() == 2 {
                break dead;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        };
        dead.sort_by_key(|d| d.job().event_id().map(str::to_owned));
        assert_eq!(dead[0].job().event_id(), Some("evt_hang"));
        assert_eq!(
            dead[0].error(),
            "the processing function ran past its timeout of 5s"
        );
        assert_eq!(dead[1].job().event_id(), Some("evt_panic"));
        assert_eq!(
            dead[1].error(),
            "the processing function panicked: bad index"
        );
        for letter in &dead {
            assert_eq!(letter.kind(), DeadLetterKind::Exhausted);
            assert_eq!(letter.job().attempts(), 2);
        }
        workers.shutdown().await.unwrap();
    }

    #[test]
    fn the_queue_backoff_grows_and_is_capped() {
        let waits: Vec<u128> = (1..=8).map(|n| queue_backoff(n).as_millis()).collect();
        assert_eq!(waits, [50, 100, 200, 400, 800, 1000, 1000, 1000]);
    }

    #[test]
    fn panic_messages_are_read() {
        assert_eq!(panic_message(&"static"), "static");
        assert_eq!(panic_message(&String::from("owned")), "owned");
        assert_eq!(panic_message(&42), "(no message)");
    }
}
