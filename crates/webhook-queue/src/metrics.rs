//! Hooks for metrics: queue depth, attempts, retries, dead letters.
//!
//! Implement [`Metrics`] (every method has an empty default) and hand it to
//! [`Enqueue`](crate::Enqueue) and [`Workers`](crate::Workers); the same `Arc` for both
//! gives one view. [`NoopMetrics`] is the default.
//!
//! ```
//! use std::sync::Arc;
//! use std::sync::atomic::{AtomicU64, Ordering};
//! use std::time::Duration;
//! use webhook_queue::{Job, metrics::Metrics};
//!
//! #[derive(Default)]
//! struct Counters {
//!     retries: AtomicU64,
//! }
//!
//! impl Metrics for Counters {
//!     fn retried(&self, _job: &Job, _delay: Duration) {
//!         self.retries.fetch_add(1, Ordering::Relaxed);
//!     }
//! }
//!
//! let metrics: Arc<dyn Metrics> = Arc::new(Counters::default());
//! # drop(metrics);
//! ```

use std::time::Duration;

use crate::{DeadLetterKind, Depth, Job, QueueRejection};

/// Receives queue events; every method does nothing by default. Methods are called
/// on the request path and in the workers: keep them fast (increment a counter, set a
/// gauge), never block.
pub trait Metrics: Send + Sync + 'static {
    /// The enqueue service stored a job.
    fn enqueued(&self, job: &Job) {
        let _ = job;
    }

    /// The enqueue service refused a delivery (queue full, closed or unavailable).
    fn enqueue_rejected(&self, rejection: &QueueRejection) {
        let _ = rejection;
    }

    /// The queue's depth, sampled by the workers every
    /// [`depth_interval`](crate::WorkersBuilder::depth_interval).
    fn depth(&self, depth: &Depth) {
        let _ = depth;
    }

    /// A processing attempt starts; `job.attempts()` failed before it.
    fn attempt(&self, job: &Job) {
        let _ = job;
    }

    /// A job was processed successfully, in `elapsed`.
    fn succeeded(&self, job: &Job, elapsed: Duration) {
        let _ = (job, elapsed);
    }

    /// A job failed transiently and will be retried after `delay`.
    fn retried(&self, job: &Job, delay: Duration) {
        let _ = (job, delay);
    }

    /// A job was moved to the dead letters.
    fn dead_lettered(&self, job: &Job, kind: DeadLetterKind) {
        let _ = (job, kind);
    }
}

/// Metrics that go nowhere: the default.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoopMetrics;

impl Metrics for NoopMetrics {}

/// The queue's metrics through the [`metrics`](https://docs.rs/metrics) facade, for
/// whatever exporter the service installs (feature `metrics`):
///
/// | metric | kind | labels |
/// |---|---|---|
/// | `webhook_queue_enqueued_total` | counter | |
/// | `webhook_queue_enqueue_rejected_total` | counter | `code` (`queue_full`, `queue_closed`, `queue_unavailable`) |
/// | `webhook_queue_depth` | gauge | `state` (`ready`, `delayed`, `in_flight`, `dead`) |
/// | `webhook_queue_attempts_total` | counter | |
/// | `webhook_queue_succeeded_total` | counter | |
/// | `webhook_queue_retries_total` | counter | |
/// | `webhook_queue_dead_letters_total` | counter | `kind` (`permanent`, `exhausted`) |
/// | `webhook_queue_processing_seconds` | histogram | |
///
/// Every label value comes from a fixed set, so the number of series is bounded.
#[cfg(feature = "metrics")]
#[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
#[derive(Debug, Clone, Copy, Default)]
pub struct FacadeMetrics;

#[cfg(feature = "metrics")]
impl Metrics for FacadeMetrics {
    fn enqueued(&self, _job: &Job) {
        metrics::counter!("webhook_queue_enqueued_total").increment(1);
    }

    fn enqueue_rejected(&self, rejection: &QueueRejection) {
        use webhook_core::Rejection as _;
        metrics::counter!("webhook_queue_enqueue_rejected_total", "code" => rejection.code())
            .increment(1);
    }

    fn depth(&self, depth: &Depth) {
        for (state, value) in [
            ("ready", depth.ready),
            ("delayed", depth.delayed),
            ("in_flight", depth.in_flight),
            ("dead", depth.dead),
        ] {
            metrics::gauge!("webhook_queue_depth", "state" => state).set(value as f64);
        }
    }

    fn attempt(&self, _job: &Job) {
        metrics::counter!("webhook_queue_attempts_total").increment(1);
    }

    fn succeeded(&self, _job: &Job, elapsed: Duration) {
        metrics::counter!("webhook_queue_succeeded_total").increment(1);
        metrics::histogram!("webhook_queue_processing_seconds").record(elapsed.as_secs_f64());
    }

    fn retried(&self, _job: &Job, _delay: Duration) {
        metrics::counter!("webhook_queue_retries_total").increment(1);
    }

    fn dead_lettered(&self, _job: &Job, kind: DeadLetterKind) {
        metrics::counter!("webhook_queue_dead_letters_total", "kind" => kind.as_str()).increment(1);
    }
}
