//! Exactly-once effects for webhook handlers on PostgreSQL: a [`PostgresStore`] for the
//! idempotency layer, and a transactional [`Inbox`].
//!
//! A crate of its own rather than a feature of `webhook-idempotency`: it brings `sqlx`
//! and its TLS stack, which Redis and memory users should not compile. It depends on
//! `webhook-core` and on `webhook-idempotency`, whose [`Store`](webhook_idempotency::Store)
//! trait it implements: the one exception to "a layer crate depends only on core" that a
//! store backend for a layer needs.
//!
//! ```no_run
//! use axum::{Router, extract::Extension, routing::post};
//! use bytes::Bytes;
//! use http::StatusCode;
//! use sqlx::postgres::PgPoolOptions;
//! use webhook_core::VerifiedDelivery;
//! use webhook_idempotency::store::StoredResponse;
//! use webhook_idempotency_postgres::{Committed, Inbox, InboxError, InboxTransaction, PostgresStore};
//! use webhook_signature::{Verifier, VerifySignatureLayer, scheme::HopNow};
//!
//! async fn credit(
//!     Extension(delivery): Extension<VerifiedDelivery>,
//!     mut tx: InboxTransaction,
//! ) -> Result<Committed, InboxError> {
//!     // The effect, in the transaction that holds the event's claim.
//!     sqlx::query("INSERT INTO credits (event_id) VALUES ($1)")
//!         .bind(delivery.event_id())
//!         .execute(&mut *tx)
//!         .await?;
//!     // The effect and the record commit together; the answer exists only once they have.
//!     tx.commit(StoredResponse::new(StatusCode::OK).with_body(Bytes::from_static(b"credited"))).await
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let pool = PgPoolOptions::new().connect("postgres://app@127.0.0.1/app").await?;
//! let store = PostgresStore::builder(pool).schema("webhooks").build().await?;
//! let _cleanup = store.spawn_cleanup(std::time::Duration::from_secs(300));
//! let verifier = Verifier::builder(HopNow).secret("current", "dev-secret").build()?;
//! let app: Router = Router::new()
//!     .route("/webhooks", post(credit))
//!     .with_state(Inbox::new(&store))
//!     .layer(VerifySignatureLayer::new(verifier));
//! # drop(app);
//! # Ok(())
//! # }
//! ```
//!
//! # Which guarantee each store gives
//!
//! | store | a duplicate while the first runs | a duplicate after it | the handler's effects and the record | lost on |
//! |---|---|---|---|---|
//! | `MemoryStore` | 409, in this process only | replayed, in this process only | separate: a crash between them runs the handler again | a restart of the process |
//! | `RedisStore` | 409, in every process on the server | replayed | separate, as above | a Redis restart without `appendfsync always`; a failover (asynchronous replication) |
//! | `RedisStore` on Redis Cluster | as `RedisStore` | replayed | separate, as above | as `RedisStore`, per shard |
//! | `PostgresStore` (webhook-idempotency-postgres) | 409, in every process on the database | replayed | separate, as above | nothing once committed (as durable as the database) |
//! | Postgres `Inbox` (webhook-idempotency-postgres) | 409 | replayed | one transaction: both commit or neither does (exactly-once effects in that database) | nothing once committed |
//!
//! What each costs per delivery, side by side (latency at 1 and 64 in flight, round
//! trips): `cargo bench -p webhook-idempotency-postgres --bench stores`, whose table is
//! in the repository's `BENCHMARKS.md`.
//!
//! # The transactional inbox
//!
//! [`Inbox::begin`] opens a transaction and claims the event in it, without waiting: a
//! transaction-scoped advisory lock on the key, then a read of the key's record.
//!
//! | what `begin` finds | the answer | over HTTP (the [`InboxTransaction`] extractor, feature `axum`) |
//! |---|---|---|
//! | a new event | [`Begin::Fresh`]: the transaction, claim held | the handler runs |
//! | a committed record | [`Begin::Done`] with the recorded response | replayed, `Idempotent-Replayed: true` |
//! | another transaction holds the event | [`Begin::InFlight`] | 409 `in_flight` with `Retry-After` |
//! | Postgres unreachable or too slow | a [`StoreError`](webhook_idempotency::store::StoreError) | 503 `store_unavailable` |
//!
//! The handler writes its effects through the [`InboxTransaction`] (it dereferences to a
//! `PgConnection`) and ends with [`InboxTransaction::commit`], which writes the record
//! and commits both: the only way to build the [`Committed`] answer, so a handler that
//! forgets to commit does not compile. An error (`?` turns `sqlx` errors into
//! [`InboxError`], a 503), a panic or a dropped future drops the transaction: it rolls
//! back, the claim goes with it, and the sender's retry processes the event. A process
//! killed mid-transaction is rolled back by the server when its connection closes. A
//! fresh event costs four statements besides the handler's (`BEGIN`, the claim, the
//! record, `COMMIT`), a duplicate three (`BEGIN`, the claim, `ROLLBACK`), each one
//! round trip.
//!
//! Hold the transaction only while the handler works: the claim lasts as long as it.
//! Bound the handler with a timeout, and set `idle_in_transaction_session_timeout` on the
//! role so a hung process cannot hold an event forever.
//!
//! ## Without HTTP: `EventRouter` handlers and queue workers
//!
//! A queue's worker or an `EventRouter` handler calls [`Inbox::begin`] with the event's
//! key itself, and treats `Done` as processed and `InFlight` as "retry later" (the
//! queue's retry with backoff):
//!
//! ```no_run
//! use http::StatusCode;
//! use webhook_idempotency::store::StoredResponse;
//! use webhook_idempotency_postgres::{Begin, Inbox, InboxError};
//!
//! async fn process(inbox: &Inbox, event_id: &str) -> Result<(), InboxError> {
//!     match inbox.begin(&format!("hopnow:{event_id}")).await? {
//!         Begin::Fresh(mut tx) => {
//!             sqlx::query("UPDATE accounts SET balance = balance + 10 WHERE id = 1")
//!                 .execute(&mut *tx)
//!                 .await?;
//!             tx.commit(StoredResponse::new(StatusCode::OK)).await?;
//!             Ok(())
//!         }
//!         // Processed already: nothing to do.
//!         Begin::Done(_) => Ok(()),
//!         // Another worker holds it: fail this attempt, the queue retries it later.
//!         _ => Err(InboxError(webhook_idempotency::store::StoreError::new(
//!             webhook_idempotency::store::StoreErrorKind::Other,
//!             "in flight elsewhere",
//!         ))),
//!     }
//! }
//! ```
//!
//! # Schema
//!
//! [`PostgresStoreBuilder::build`] creates the schema (default [`DEFAULT_SCHEMA`]) and
//! applies the embedded migrations it lacks, under an advisory lock: a `deliveries` table
//! (one row per key: a claim with its token and lease end, or a record with its retention
//! end), its `migrations` table, and the inbox's `inbox_begin` function. The [`Inbox`]
//! uses the store's schema and pool.
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "axum")]
mod axum;
mod error;
mod inbox;
mod schema;
mod store;

#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub use axum::InboxRejection;
pub use inbox::{
    Begin, Committed, DEFAULT_IN_FLIGHT_RETRY_AFTER, Inbox, InboxError, InboxTransaction, replay,
};
pub use schema::DEFAULT_SCHEMA;
pub use store::{
    DEFAULT_CLEANUP_BATCH, DEFAULT_OPERATION_TIMEOUT, PostgresStore, PostgresStoreBuilder,
};
