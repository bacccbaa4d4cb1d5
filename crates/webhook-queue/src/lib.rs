//! Ack webhooks fast, process them durably: a delivery queue with retries, backoff
//! and dead letters.
//!
//! Senders give up on a delivery after a few seconds (often 5 s) and retry it later,
//! so a receiver should answer at once and do the real work in the background,
//! without losing the event if the process dies. This crate splits the receiver in
//! two:
//!
//! - [`Enqueue`], a tower service used as the innermost service of the stack, after
//!   the signature and idempotency layers: it turns the verified delivery into a
//!   [`Job`], stores it in a [`Queue`], and only then answers **202**. If the job
//!   cannot be stored (queue full, Redis down), it answers **503** with `Retry-After`:
//!   the sender retries, nothing is lost.
//! - [`Workers`], tokio tasks that run your async processing function on each job,
//!   or a tower service ([`Workers::serve`]): the `EventRouter` that answers live
//!   deliveries serves queued jobs too, each job handed over as the verified request
//!   it came from ([`Job::to_request`]).
//!   A [`ProcessError::Transient`] failure is retried with exponential backoff and
//!   full jitter ([`RetryPolicy`]) up to a number of attempts; a
//!   [`ProcessError::Permanent`] one, or the last failed attempt, moves the job to the
//!   dead letters, which can be [listed](Queue::dead_letters) and
//!   [replayed](Queue::replay).
//!
//! ```
//! use std::time::Duration;
//! use http::{Request, StatusCode};
//! use tower::{ServiceBuilder, ServiceExt};
//! use webhook_idempotency::IdempotencyLayer;
//! use webhook_queue::{Enqueue, Job, MemoryQueue, ProcessError, Queue, RetryPolicy, Workers};
//! use webhook_signature::{Signer, Verifier, VerifySignatureLayer, scheme::HopNow};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let queue = MemoryQueue::new();
//!
//! // The processing function: runs in the background, at least once per event.
//! let (done, mut processed) = tokio::sync::mpsc::unbounded_channel();
//! let workers = Workers::builder(queue.clone(), move |job: Job| {
//!     let done = done.clone();
//!     async move {
//!         let event: serde_json::Value = serde_json::from_slice(job.body())
//!             .map_err(ProcessError::permanent)?; // retrying cannot fix invalid JSON
//!         done.send(event["type"].as_str().unwrap_or_default().to_owned()).unwrap();
//!         Ok(())
//!     }
//! })
//! .retry(RetryPolicy::new().with_max_attempts(8).with_initial_delay(Duration::from_secs(1)))
//! .spawn()
//! .unwrap();
//!
//! // The receiver: verify, deduplicate, enqueue, answer 202.
//! let verifier = Verifier::builder(HopNow).secret("current", "dev-secret").build().unwrap();
//! let receiver = ServiceBuilder::new()
//!     .layer(VerifySignatureLayer::new(verifier))
//!     .layer(IdempotencyLayer::in_memory())
//!     .service(Enqueue::new(queue.clone()));
//!
//! let body = br#"{"id":"evt_1","type":"payout.completed"}"#;
//! let mut request = Request::post("/webhooks").body(String::from_utf8_lossy(body).into_owned()).unwrap();
//! request.headers_mut().extend(Signer::new(HopNow, "dev-secret").unwrap().sign(body, 0, "").unwrap());
//! let response = receiver.oneshot(request).await.unwrap();
//! assert_eq!(response.status(), StatusCode::ACCEPTED);
//!
//! assert_eq!(processed.recv().await.unwrap(), "payout.completed");
//! workers.shutdown().await.unwrap(); // stops taking jobs, finishes what it holds
//! # }
//! ```
//!
//! # Guarantees
//!
//! - **202 means stored**: the answer is sent after the queue's `enqueue` returned.
//!   Behind the idempotency layer, the 202 is what gets recorded and replayed to the
//!   sender's duplicates, so a duplicate is not queued twice.
//! - **At least once**: a job is removed only after the processing function returned
//!   `Ok` (Redis: `XACK` after success). A job whose worker died mid-way is handed out
//!   again (Redis: reclaimed after the claim idle time), so the function can run more
//!   than once for one event: make it idempotent, keyed on [`Job::event_id`]. A
//!   timeout or a lost connection while enqueueing answers 503 though the job may
//!   have been stored; [`RedisQueue`] remembers each event id it queued (for the
//!   [dedupe window], 72 h by default), so the
//!   sender's retry of that event is answered 202 without queuing it twice.
//! - **Settling is atomic**: acknowledging, scheduling a retry and dead-lettering
//!   each move the job in one step; it is never in two places, nor in none.
//!
//! # Backends
//!
//! - [`MemoryQueue`]: in the process, bounded (a full queue answers 503 with
//!   `Retry-After`), drains on graceful shutdown. Not durable: jobs die with the
//!   process.
//! - [`RedisQueue`] (feature `redis`): Redis Streams with a consumer group shared by
//!   every process, reclaiming of entries a crashed consumer left pending, delayed
//!   retries in a sorted set, a dead-letter stream. See its docs for the keys and the
//!   commands.
//! - Your own: implement [`Queue`].
//! - Chosen at run time: `Arc<dyn DynQueue>` is a [`Queue`] too (see [`DynQueue`]).
//!
//! # Redis persistence: what "nothing answered 202 is lost" needs
//!
//! Redis acknowledges a write once it is in memory; whether it survives a crash
//! depends on the server's persistence settings, which this crate cannot set:
//!
//! | Redis setting | a job answered 202, then Redis dies |
//! |---|---|
//! | `appendonly yes`, `appendfsync always` | kept: every write is in the AOF and fsynced before Redis answers. **Required for the guarantee.** |
//! | `appendonly yes`, `appendfsync everysec` (the AOF default) | a killed Redis process loses nothing written, but a power loss or kernel crash loses up to about the last second (up to 2 s) of acknowledged writes |
//! | `appendonly yes`, `appendfsync no` | the OS flushes when it likes (about 30 s on Linux): that much can be lost on a host crash |
//! | RDB snapshots only (`save ...`) | everything since the last snapshot, typically minutes |
//! | no persistence | everything, at every restart |
//!
//! Also needed:
//!
//! - `maxmemory-policy noeviction` (the default): any other policy may evict the
//!   stream under memory pressure. With `noeviction`, a full Redis refuses the write
//!   (`OOM`) and the enqueue service answers 503.
//! - **Replicas**: replication is asynchronous. If a replica is promoted after the
//!   primary died, writes it had not received are lost, even with `appendfsync
//!   always` on the primary. Closing that gap needs `WAIT <replicas> <timeout>` after
//!   each `XADD`, which this crate does not issue: run a single primary with AOF, or
//!   accept the window.
//! - The stream is bounded by refusing (503), never by trimming unprocessed entries;
//!   see [`RedisQueueBuilder::max_len`].
//!
//! # Metrics
//!
//! [`metrics::Metrics`] receives queue depth (sampled), enqueues and refusals,
//! attempts, successes, retries and dead letters; every method is a no-op by default.
//!
#![cfg_attr(
    feature = "redis",
    doc = "[`RedisQueue`]: crate::RedisQueue\n[`RedisQueueBuilder::max_len`]: crate::RedisQueueBuilder::max_len\n[dedupe window]: crate::RedisQueueBuilder::dedupe_window"
)]
#![cfg_attr(
    not(feature = "redis"),
    doc = "[`RedisQueue`]: https://docs.rs/webhook-queue/latest/webhook_queue/struct.RedisQueue.html\n[`RedisQueueBuilder::max_len`]: https://docs.rs/webhook-queue/latest/webhook_queue/struct.RedisQueueBuilder.html#method.max_len\n[dedupe window]: https://docs.rs/webhook-queue/latest/webhook_queue/struct.RedisQueueBuilder.html#method.dedupe_window"
)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod dyn_queue;
mod error;
mod job;
mod memory;
pub mod metrics;
mod queue;
#[cfg(feature = "redis")]
mod redis;
mod rejection;
mod retry;
mod serve;
mod service;
mod settle;
mod worker;

pub use dyn_queue::{DynQueue, QueueFuture};
pub use error::ConfigError;
pub use job::{DecodeError, Job, JobId};
pub use memory::{DEFAULT_CAPACITY, DEFAULT_DEAD_LETTER_CAPACITY, MemoryQueue, MemoryQueueBuilder};
pub use queue::{Depth, Queue, QueueError, QueueErrorKind};
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use redis::{
    DEFAULT_CLAIM_IDLE, DEFAULT_DEDUPE_WINDOW, DEFAULT_GROUP, DEFAULT_KEY_PREFIX, DEFAULT_MAX_LEN,
    DEFAULT_POLL_INTERVAL, RedisQueue, RedisQueueBuilder,
};
pub use rejection::QueueRejection;
pub use retry::{DEFAULT_INITIAL_DELAY, DEFAULT_MAX_ATTEMPTS, DEFAULT_MAX_DELAY, RetryPolicy};
pub use service::{DEFAULT_RETRY_AFTER, Enqueue, EnqueueBody, EnqueueBuilder, ResponseFuture};
pub use settle::{BoxError, DeadLetter, DeadLetterKind, ProcessError, Received};
pub use worker::{
    DEFAULT_CONCURRENCY, DEFAULT_DEPTH_INTERVAL, DEFAULT_SHUTDOWN_TIMEOUT, ShutdownError, Workers,
    WorkersBuilder,
};
