//! Process each webhook delivery once, as a tower layer.
//!
//! Senders deliver at least once: they retry on timeouts and 5xx for days, and
//! sometimes send the same event twice at the same moment. [`IdempotencyLayer`] makes
//! the handler run once per event: the first copy claims the event in a [`Store`],
//! runs the handler and records its response; duplicates get that response replayed,
//! or 409 while the first is still running.
//!
//! Stack it after the signature layer: it keys on the verified
//! [`VerifiedDelivery`](webhook_core::VerifiedDelivery) marker.
//!
//! ```
//! use std::sync::Arc;
//! use std::sync::atomic::{AtomicUsize, Ordering};
//! use bytes::Bytes;
//! use http::{Request, Response, StatusCode};
//! use http_body_util::BodyExt;
//! use tower::{ServiceBuilder, ServiceExt};
//! use webhook_core::VerifiedBody;
//! use webhook_idempotency::IdempotencyLayer;
//! use webhook_signature::{Signer, Verifier, VerifySignatureLayer, scheme::HopNow};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let verifier = Verifier::builder(HopNow).secret("current", "dev-secret").build().unwrap();
//! let runs = Arc::new(AtomicUsize::new(0));
//! let counter = runs.clone();
//!
//! let service = ServiceBuilder::new()
//!     .layer(VerifySignatureLayer::new(verifier))
//!     .layer(IdempotencyLayer::in_memory())
//!     .service_fn(move |_request: Request<VerifiedBody>| {
//!         let run = counter.fetch_add(1, Ordering::SeqCst) + 1;
//!         async move { Ok::<_, std::convert::Infallible>(Response::new(format!("processed (run {run})"))) }
//!     });
//!
//! let body = br#"{"id":"evt_1","type":"payout.completed"}"#;
//! let delivery = || {
//!     let mut request = Request::post("/webhooks").body(String::from_utf8_lossy(body).into_owned()).unwrap();
//!     request.headers_mut().extend(Signer::new(HopNow, "dev-secret").unwrap().sign(body, 0, "").unwrap());
//!     request
//! };
//!
//! let first = service.clone().oneshot(delivery()).await.unwrap();
//! assert_eq!(first.status(), StatusCode::OK);
//! assert!(first.headers().get("idempotent-replayed").is_none());
//! assert_eq!(first.into_body().collect().await.unwrap().to_bytes(), "processed (run 1)");
//!
//! // The sender retries: the handler does not run again, the response is replayed.
//! let retry = service.oneshot(delivery()).await.unwrap();
//! assert_eq!(retry.status(), StatusCode::OK);
//! assert_eq!(retry.headers()["idempotent-replayed"], "true");
//! assert_eq!(retry.into_body().collect().await.unwrap().to_bytes(), "processed (run 1)");
//! assert_eq!(runs.load(Ordering::SeqCst), 1);
//! # }
//! ```
//!
//! # Behaviour
//!
//! | the delivery | the layer |
//! |---|---|
//! | first copy of an event | claims it (lease, default 60 s, with a fencing [`Token`](store::Token)), calls the handler |
//! | handler answers 2xx | records status, kept headers and body for the retention (default 72 h), in one write guarded by the token; sends the response (see [below](#when-the-record-cannot-be-written) if the write fails) |
//! | handler answers 5xx, returns `Err`, or its future is dropped (client gone, timeout, panic) | releases the claim: the sender's retry is processed |
//! | handler answers 4xx | releases by default ([`ClientErrorPolicy::Release`]): after a fix is deployed the retry must be processed, and most senders retry any non-2xx; or records it ([`ClientErrorPolicy::Record`]) |
//! | duplicate of a processed event | replays the recorded response with `Idempotent-Replayed: true`; the handler is not called |
//! | duplicate while the first runs | 409 `in_flight` with `Retry-After` (time left on the lease); the handler is not called |
//! | the handler runs longer than the lease | the lease ends, the next copy runs the handler again ([see below](#a-handler-slower-than-the-lease)); with the [heartbeat](IdempotencyLayerBuilder::heartbeat) on, the lease is extended while it runs, and a [`Lease`] in the request extensions tells the handler whether the claim still holds |
//! | the worker crashed holding a claim | the claim expires with its lease; the next retry is processed |
//! | the store fails | [`StoreErrorPolicy::Reject`] (default): 503 `store_unavailable` with `Retry-After`, the handler is not called, nothing is lost since the sender retries; or [`StoreErrorPolicy::PassThrough`]: process without deduplication, logged at `warn` |
//! | no event id | 400 `missing_event_id` ([`MissingKeyPolicy::Reject`], default) or passed through ([`MissingKeyPolicy::PassThrough`]) |
//! | no verified-delivery marker | 500 `missing_verified_delivery`: the signature layer is missing, a configuration error; never processed unprotected |
//!
//! # A handler slower than the lease
//!
//! The lease is what keeps duplicates out while the handler runs; choose one longer
//! than your handler's timeout. If the handler is still running when its lease ends,
//! the claim is gone, and the next copy of the event claims it again: **the handler
//! runs a second time**, concurrently, and that copy's sender gets the second run's
//! response (not a 409, not a replay). When the first run finishes, its sender still
//! gets the first run's response, but the first run cannot record it: completion
//! checks the token, so it never overwrites the claim or the record of the run that
//! claimed after it (logged at `warn`). Whichever run finishes first, the record, and
//! what later duplicates get replayed, is the response of the run that claimed last.
//!
//! When the handler's running time has no good bound, turn the
//! [heartbeat](IdempotencyLayerBuilder::heartbeat) on: while the handler runs, the
//! layer extends the lease every third of its length (guarded by the token), so
//! duplicates get 409 for as long as it runs, and the lease only bounds how long a
//! crashed worker's claim blocks the event. If an extension cannot land (the key was
//! deleted, another worker claimed it, or the store was unreachable until the lease
//! ended), the [`Lease`] in the request extensions says so, and a long handler checks
//! it before it commits its effects:
//!
//! ```
//! use std::time::Duration;
//! use http::{Request, Response, StatusCode};
//! use tower::{ServiceBuilder, ServiceExt};
//! use webhook_core::VerifiedBody;
//! use webhook_idempotency::{IdempotencyLayer, Lease, store::MemoryStore};
//! use webhook_signature::{Signer, Verifier, VerifySignatureLayer, scheme::HopNow};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let verifier = Verifier::builder(HopNow).secret("current", "dev-secret").build().unwrap();
//! let idempotency = IdempotencyLayer::builder(MemoryStore::new())
//!     .lease(Duration::from_secs(30))
//!     .heartbeat(true)
//!     .build()
//!     .unwrap();
//! let service = ServiceBuilder::new()
//!     .layer(VerifySignatureLayer::new(verifier))
//!     .layer(idempotency)
//!     .service_fn(|request: Request<VerifiedBody>| async move {
//!         let lease = request.extensions().get::<Lease>().cloned();
//!         // Two minutes of work, four times the lease: duplicates get 409 meanwhile.
//!         tokio::time::sleep(Duration::from_secs(120)).await;
//!         let response = if lease.is_none_or(|lease| lease.is_held()) {
//!             // Commit the effects, then answer 200.
//!             Response::new(String::from("processed"))
//!         } else {
//!             // Another run may hold the event now: commit nothing, let the sender retry.
//!             let mut response = Response::new(String::from("lease lost"));
//!             *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
//!             response
//!         };
//!         Ok::<_, std::convert::Infallible>(response)
//!     });
//!
//! let body = br#"{"id":"evt_long","type":"report.requested"}"#;
//! let mut request = Request::post("/webhooks").body(String::from_utf8_lossy(body).into_owned()).unwrap();
//! request.headers_mut().extend(Signer::new(HopNow, "dev-secret").unwrap().sign(body, 0, "").unwrap());
//! let response = service.oneshot(request).await.unwrap();
//! assert_eq!(response.status(), StatusCode::OK);
//! # }
//! ```
//!
//! # When the record cannot be written
//!
//! The handler has run, so its response is sent even if the store fails to record
//! it (Redis restarting, a connection lost). The write is retried in the background,
//! pausing 50 ms and doubling up to 1 s, until the lease ends; meanwhile the claim
//! holds, so duplicates get 409, and the recorded response once the write lands. It
//! runs in a task of its own: a sender hanging up does not cancel it. A record still
//! not written when the lease ends is lost (logged at `error`): a retry after that
//! runs the handler again, so keep Redis outages shorter than the lease.
//!
//! Claims and records are as durable as the store: a Redis without persistence
//! forgets them when it restarts (use `appendonly yes` with `appendfsync always`),
//! and a replica promoted after its master died lacks the writes it had not received
//! yet (replication is asynchronous), so an event claimed or recorded just before a
//! failover can be processed again.
//!
//! # Keys
//!
//! The key is `<namespace>:<event id>`. The event id is, by default, the one the
//! scheme carries (`webhook-id`, `X-GitHub-Delivery`), else the top-level `"id"` of
//! the verified JSON body, read from the marker's bytes without buffering the body
//! again. Configure a header, a JSON pointer, or any [`KeyExtractor`](key::KeyExtractor)
//! (closures included); see [`key`]. The extractor trait, like [`MissingKeyPolicy`],
//! is `webhook-core`'s, shared with the rate limiter: an event id and a rate-limit key
//! are both a key read from the request head, of different types. The namespace is the scheme's name by default
//! (not the key id: keys rotate), or any fixed name.
//!
//! # Stores
//!
//! - [`MemoryStore`](store::MemoryStore): the default, in-process, bounded (expired
//!   entries removed as it goes, a capacity cap).
//! - [`RedisStore`](store::RedisStore) (feature `redis`): shared by every process on
//!   the same Redis, one round trip per operation, reconnects by itself; with feature
//!   `redis-cluster`, on Redis Cluster.
//! - Your own: implement [`Store`] (see [`store`]).
//! - Chosen at run time: `Arc<dyn DynStore>` is a [`Store`] too (see
//!   [`DynStore`](store::DynStore)).
//! - Postgres: the `webhook-idempotency-postgres` crate's `PostgresStore`, and its
//!   transactional `Inbox`, which commits the handler's effects and the record in one
//!   transaction.
//!
//! Which guarantee each gives:
//!
//! | store | a duplicate while the first runs | a duplicate after it | the handler's effects and the record | lost on |
//! |---|---|---|---|---|
//! | `MemoryStore` | 409, in this process only | replayed, in this process only | separate: a crash between them runs the handler again | a restart of the process |
//! | `RedisStore` | 409, in every process on the server | replayed | separate, as above | a Redis restart without `appendfsync always`; a failover (asynchronous replication) |
//! | `RedisStore` on Redis Cluster | as `RedisStore` | replayed | separate, as above | as `RedisStore`, per shard |
//! | `PostgresStore` (webhook-idempotency-postgres) | 409, in every process on the database | replayed | separate, as above | nothing once committed (as durable as the database) |
//! | Postgres `Inbox` (webhook-idempotency-postgres) | 409 | replayed | one transaction: both commit or neither does (exactly-once effects in that database) | nothing once committed |
#![cfg_attr(docsrs, feature(doc_cfg))]

mod future;
pub mod key;
mod layer;
mod lease;
mod rejection;
mod service;
pub mod store;

pub use future::ResponseFuture;
pub use layer::{
    ClientErrorPolicy, ConfigError, DEFAULT_LEASE, DEFAULT_MAX_KEY_LEN, DEFAULT_MAX_STORED_BODY,
    DEFAULT_RETENTION, DEFAULT_STORE_RETRY_AFTER, IdempotencyLayer, IdempotencyLayerBuilder,
    StoreErrorPolicy,
};
pub use lease::Lease;
pub use rejection::IdempotencyRejection;
pub use service::Idempotency;
pub use store::Store;
pub use webhook_core::{IDEMPOTENT_REPLAYED, MissingKeyPolicy};
