//! [`PostgresStore`]: the idempotency layer's [`Store`] in a Postgres table.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use sqlx::PgPool;
use webhook_idempotency::store::{
    Claim, Completion, Store, StoreError, StoreErrorKind, StoredResponse, Token,
};

use crate::error::{store_error, timed_out};
use crate::schema::{DEFAULT_SCHEMA, migrate, quoted};

/// The default operation timeout: 2 seconds.
pub const DEFAULT_OPERATION_TIMEOUT: Duration = Duration::from_secs(2);

/// The default number of rows one cleanup statement deletes: 1,000.
pub const DEFAULT_CLEANUP_BATCH: u32 = 1000;

/// A store in a Postgres table, shared by every process that uses the same database
/// and schema.
///
/// - **One round trip per operation**: claim, extend, complete and release are each
///   one statement (`INSERT ... ON CONFLICT ... RETURNING`, `UPDATE`, `DELETE`), atomic
///   on the key's row. A fresh delivery costs two statements (claim, complete), a
///   duplicate one (claim) (asserted on the wire in `tests/round_trips.rs`). sqlx's
///   pool adds a ping when a connection goes back to it, off the operation's path,
///   and one before it hands a connection out, unless the pool is built with
///   `PgPoolOptions::test_before_acquire(false)`.
/// - **Duplicates only read**: a claim that finds a record, or another worker's live
///   claim, writes nothing, so its commit does not wait for the disk. A fresh
///   delivery's claim and record are two durable commits.
/// - **Leases and retention on the server's clock**: a claim's row carries its token
///   and the lease's end, a record's row the retention's end; an expired row counts as
///   free, and [`cleanup`](Self::cleanup) deletes expired rows in small batches.
/// - **Errors**: the server unreachable or restarting, or no pooled connection within
///   the pool's acquire timeout, is [`StoreErrorKind::Unavailable`]; an operation
///   slower than the [operation timeout](PostgresStoreBuilder::operation_timeout) is
///   [`StoreErrorKind::Timeout`]. The layer applies its
///   [store-error policy](webhook_idempotency::StoreErrorPolicy); once the server is
///   back, the pool reconnects and the same store works again.
/// - **Schema**: [`build`](PostgresStoreBuilder::build) creates the schema (default
///   [`DEFAULT_SCHEMA`]) and applies the embedded migrations it lacks.
///
/// ```no_run
/// use sqlx::postgres::PgPoolOptions;
/// use webhook_idempotency::IdempotencyLayer;
/// use webhook_idempotency_postgres::PostgresStore;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let pool = PgPoolOptions::new()
///     .acquire_timeout(std::time::Duration::from_secs(2))
///     .connect("postgres://app@127.0.0.1/app")
///     .await?;
/// let store = PostgresStore::builder(pool).schema("payments_webhooks").build().await?;
/// let _cleanup = store.spawn_cleanup(std::time::Duration::from_secs(60));
/// let layer = IdempotencyLayer::new(store);
/// # drop(layer);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct PostgresStore {
    inner: Arc<Inner>,
}

struct Inner {
    pool: PgPool,
    schema: String,
    timeout: Duration,
    cleanup_batch: u32,
    sql: Sql,
}

/// The statements, with the schema in them.
struct Sql {
    claim: String,
    extend: String,
    complete: String,
    release: String,
    cleanup: String,
}

impl Sql {
    fn new(schema: &str) -> Self {
        let table = format!("{schema}.deliveries");
        Self {
            // One statement for the three cases. A live row (a record, or a claim) is
            // answered from a read, so a duplicate writes nothing and its commit waits
            // for no WAL flush. Otherwise it takes the free or expired key; a row
            // inserted since the read's snapshot meets the conflict clause, which
            // leaves a live row as it is (an update that writes the same values) and
            // returns it.
            claim: format!(
                "WITH live AS ( \
                   SELECT token, record, expires_at FROM {table} \
                   WHERE key = $1 AND expires_at > now() \
                 ), taken AS ( \
                   INSERT INTO {table} AS d (key, token, record, expires_at) \
                   SELECT $1, $2, NULL, now() + $3 * interval '1 millisecond' \
                   WHERE NOT EXISTS (SELECT 1 FROM live) \
                   ON CONFLICT (key) DO UPDATE SET \
                     token = CASE WHEN d.expires_at <= now() THEN excluded.token ELSE d.token END, \
                     record = CASE WHEN d.expires_at <= now() THEN NULL ELSE d.record END, \
                     expires_at = CASE WHEN d.expires_at <= now() THEN excluded.expires_at ELSE d.expires_at END \
                   RETURNING d.token, d.record, d.expires_at \
                 ) \
                 SELECT token IS NOT DISTINCT FROM $2 AS acquired, record, \
                   greatest(0, ceil(extract(epoch FROM expires_at - now()) * 1000))::bigint AS remaining_ms \
                 FROM (SELECT * FROM live UNION ALL SELECT * FROM taken) AS found"
            ),
            extend: format!(
                "UPDATE {table} SET expires_at = now() + $3 * interval '1 millisecond' \
                 WHERE key = $1 AND token = $2 AND record IS NULL AND expires_at > now()"
            ),
            // Writes if the token's claim is there (even past its lease) or the key is
            // free; never over another claim or a record.
            complete: format!(
                "INSERT INTO {table} AS d (key, token, record, expires_at) \
                 VALUES ($1, NULL, $3, now() + $4 * interval '1 millisecond') \
                 ON CONFLICT (key) DO UPDATE SET token = NULL, record = excluded.record, \
                   expires_at = excluded.expires_at \
                 WHERE (d.token = $2 AND d.record IS NULL) OR d.expires_at <= now()"
            ),
            release: format!(
                "DELETE FROM {table} \
                 WHERE key = $1 AND token = $2 AND record IS NULL AND expires_at > now()"
            ),
            cleanup: format!(
                "DELETE FROM {table} WHERE key IN \
                 (SELECT key FROM {table} WHERE expires_at <= now() \
                  ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED)"
            ),
        }
    }
}

/// Builds a [`PostgresStore`]: see [`PostgresStore::builder`].
#[must_use]
pub struct PostgresStoreBuilder {
    pool: PgPool,
    schema: String,
    timeout: Duration,
    cleanup_batch: u32,
}

impl PostgresStore {
    /// A store on `pool` (the application's own pool can serve it) in the default
    /// schema: `PostgresStore::builder(pool).build().await`.
    pub async fn new(pool: PgPool) -> Result<Self, StoreError> {
        Self::builder(pool).build().await
    }

    /// A store on `pool`.
    pub fn builder(pool: PgPool) -> PostgresStoreBuilder {
        PostgresStoreBuilder {
            pool,
            schema: DEFAULT_SCHEMA.to_owned(),
            timeout: DEFAULT_OPERATION_TIMEOUT,
            cleanup_batch: DEFAULT_CLEANUP_BATCH,
        }
    }

    /// The pool the store talks through.
    pub fn pool(&self) -> &PgPool {
        &self.inner.pool
    }

    /// The schema's name, unquoted.
    pub fn schema(&self) -> &str {
        self.inner.schema.trim_matches('"')
    }

    /// The operation timeout.
    pub fn operation_timeout(&self) -> Duration {
        self.inner.timeout
    }

    /// Deletes expired claims and records, [`cleanup_batch`](PostgresStoreBuilder::cleanup_batch)
    /// rows per statement (short transactions, no long locks), until none is left.
    /// Returns how many rows it deleted.
    pub async fn cleanup(&self) -> Result<u64, StoreError> {
        let mut total = 0;
        loop {
            let deleted = self
                .timed(
                    "the cleanup",
                    sqlx::query(&self.inner.sql.cleanup)
                        .bind(i64::from(self.inner.cleanup_batch))
                        .execute(&self.inner.pool),
                )
                .await?
                .rows_affected();
            total += deleted;
            if deleted < u64::from(self.inner.cleanup_batch) {
                return Ok(total);
            }
        }
    }

    /// Runs [`cleanup`](Self::cleanup) every `period` on the current Tokio runtime
    /// until the returned handle is aborted; failures are logged at `warn` and retried
    /// at the next period.
    pub fn spawn_cleanup(&self, period: Duration) -> tokio::task::JoinHandle<()> {
        let store = self.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(period);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                match store.cleanup().await {
                    Ok(deleted) => tracing::debug!(deleted, "expired idempotency rows deleted"),
                    Err(error) => tracing::warn!(%error, "cannot delete expired idempotency rows"),
                }
            }
        })
    }

    async fn timed<T>(
        &self,
        what: &str,
        operation: impl Future<Output = Result<T, sqlx::Error>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(self.inner.timeout, operation).await {
            Ok(result) => result.map_err(store_error),
            Err(_) => Err(timed_out(what)),
        }
    }
}

pub(crate) fn token_bytes(token: Token) -> [u8; 16] {
    token.as_u128().to_be_bytes()
}

pub(crate) fn millis(duration: Duration) -> i64 {
    duration.as_millis().clamp(1, i64::MAX as u128) as i64
}

impl PostgresStoreBuilder {
    /// The schema of the store's tables (default [`DEFAULT_SCHEMA`]): 1 to 63
    /// lowercase ASCII letters, digits and `_`, not starting with a digit.
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = schema.into();
        self
    }

    /// How long one operation may take, waiting for a pooled connection included,
    /// before it fails with [`StoreErrorKind::Timeout`] (default
    /// [`DEFAULT_OPERATION_TIMEOUT`]).
    pub fn operation_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How many rows one cleanup statement deletes (default [`DEFAULT_CLEANUP_BATCH`]).
    pub fn cleanup_batch(mut self, rows: u32) -> Self {
        self.cleanup_batch = rows;
        self
    }

    /// Checks the settings, creates the schema and applies the migrations it lacks,
    /// and returns the store. Fails on an invalid schema name, a zero timeout or
    /// batch, or when the migrations cannot run.
    pub async fn build(self) -> Result<PostgresStore, StoreError> {
        let schema = quoted(&self.schema)?;
        if self.timeout.is_zero() || self.cleanup_batch == 0 {
            return Err(StoreError::new(
                StoreErrorKind::Other,
                "the operation timeout and the cleanup batch must be above zero",
            ));
        }
        migrate(&self.pool, &schema).await?;
        Ok(PostgresStore {
            inner: Arc::new(Inner {
                sql: Sql::new(&schema),
                pool: self.pool,
                schema,
                timeout: self.timeout,
                cleanup_batch: self.cleanup_batch,
            }),
        })
    }
}

impl fmt::Debug for PostgresStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStoreBuilder")
            .field("schema", &self.schema)
            .field("operation_timeout", &self.timeout)
            .field("cleanup_batch", &self.cleanup_batch)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("schema", &self.schema())
            .field("operation_timeout", &self.inner.timeout)
            .field("cleanup_batch", &self.inner.cleanup_batch)
            .finish_non_exhaustive()
    }
}

impl Store for PostgresStore {
    async fn claim(&self, key: &str, token: Token, lease: Duration) -> Result<Claim, StoreError> {
        let (acquired, record, remaining): (bool, Option<Vec<u8>>, i64) = self
            .timed(
                "the claim",
                sqlx::query_as(&self.inner.sql.claim)
                    .bind(key)
                    .bind(&token_bytes(token)[..])
                    .bind(millis(lease))
                    .fetch_one(&self.inner.pool),
            )
            .await?;
        if acquired {
            return Ok(Claim::Acquired);
        }
        match record {
            Some(record) => StoredResponse::from_bytes(&Bytes::from(record)).map(Claim::Done),
            None => Ok(Claim::InFlight {
                remaining: Duration::from_millis(u64::try_from(remaining).unwrap_or(0)),
            }),
        }
    }

    async fn extend(&self, key: &str, token: Token, lease: Duration) -> Result<bool, StoreError> {
        let done = self
            .timed(
                "the extension",
                sqlx::query(&self.inner.sql.extend)
                    .bind(key)
                    .bind(&token_bytes(token)[..])
                    .bind(millis(lease))
                    .execute(&self.inner.pool),
            )
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn complete(
        &self,
        key: &str,
        token: Token,
        response: &StoredResponse,
        retention: Duration,
    ) -> Result<Completion, StoreError> {
        let record = response.to_bytes();
        let done = self
            .timed(
                "the completion",
                sqlx::query(&self.inner.sql.complete)
                    .bind(key)
                    .bind(&token_bytes(token)[..])
                    .bind(&record[..])
                    .bind(millis(retention))
                    .execute(&self.inner.pool),
            )
            .await?;
        Ok(if done.rows_affected() == 1 {
            Completion::Recorded
        } else {
            Completion::Fenced
        })
    }

    async fn release(&self, key: &str, token: Token) -> Result<bool, StoreError> {
        let done = self
            .timed(
                "the release",
                sqlx::query(&self.inner.sql.release)
                    .bind(key)
                    .bind(&token_bytes(token)[..])
                    .execute(&self.inner.pool),
            )
            .await?;
        Ok(done.rows_affected() == 1)
    }
}
