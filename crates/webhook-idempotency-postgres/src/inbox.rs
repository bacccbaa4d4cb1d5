//! The transactional inbox: a handler's effects and the event's "processed" record
//! commit in one Postgres transaction.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Response};
use sqlx::{PgConnection, PgPool, Postgres, Transaction};
use webhook_core::{IDEMPOTENT_REPLAYED, KeyExtractor, RequestHead};
use webhook_idempotency::key::DefaultKey;
use webhook_idempotency::store::{StoreError, StoreErrorKind, StoredResponse};
use webhook_idempotency::{DEFAULT_MAX_KEY_LEN, DEFAULT_RETENTION, IdempotencyRejection};

use crate::PostgresStore;
use crate::error::{store_error, timed_out};
use crate::store::millis;

/// The default `Retry-After` of a 409 while another transaction holds the event: 1 s.
pub const DEFAULT_IN_FLIGHT_RETRY_AFTER: Duration = Duration::from_secs(1);

/// Opens a transaction per event in which the event's claim is held; see the
/// [crate docs](crate#the-transactional-inbox).
///
/// The claim is a transaction-scoped advisory lock on the key, taken without waiting:
/// it lasts exactly as long as the transaction, so a handler that fails, panics, is
/// dropped or whose process dies releases it with the rollback, and the retry is
/// processed at once, with no lease to wait out. The record is a row of the store's
/// table written by [`InboxTransaction::commit`] in the same transaction as the
/// handler's effects. A [`PostgresStore`] claim held on the same key (a layer on the
/// same schema) also answers 409.
#[derive(Clone)]
pub struct Inbox {
    inner: Arc<InboxInner>,
}

struct InboxInner {
    pool: PgPool,
    begin: String,
    record: String,
    timeout: Duration,
    retention: Duration,
    retry_after: Duration,
    key: Arc<dyn KeyExtractor<String>>,
}

/// What [`Inbox::begin`] found.
#[derive(Debug)]
#[non_exhaustive]
pub enum Begin {
    /// The event is new: process it in this transaction, then commit.
    Fresh(InboxTransaction),
    /// The event was processed: the response its processing committed.
    Done(StoredResponse),
    /// Another transaction holds the event.
    InFlight,
}

impl Inbox {
    /// An inbox on the store's pool and schema, with the defaults: records kept for
    /// [`DEFAULT_RETENTION`], keys `<scheme>:<event id>` as the layer's.
    pub fn new(store: &PostgresStore) -> Self {
        let table = format!("\"{}\".deliveries", store.schema());
        Self {
            inner: Arc::new(InboxInner {
                pool: store.pool().clone(),
                begin: format!(
                    "SELECT held, record FROM \"{}\".inbox_begin($1, hashtextextended($2, 0))",
                    store.schema()
                ),
                record: format!(
                    "INSERT INTO {table} AS d (key, token, record, expires_at) \
                     VALUES ($1, NULL, $2, now() + $3 * interval '1 millisecond') \
                     ON CONFLICT (key) DO UPDATE SET token = NULL, record = excluded.record, \
                       expires_at = excluded.expires_at \
                     WHERE d.expires_at <= now()"
                ),
                timeout: store.operation_timeout(),
                retention: DEFAULT_RETENTION,
                retry_after: DEFAULT_IN_FLIGHT_RETRY_AFTER,
                key: Arc::new(DefaultKey),
            }),
        }
    }

    fn with(mut self, change: impl FnOnce(&mut InboxInner)) -> Self {
        let inner = Arc::get_mut(&mut self.inner).expect("configure an inbox before cloning it");
        change(inner);
        self
    }

    /// How long records are kept (default [`DEFAULT_RETENTION`]): a duplicate within
    /// it is replayed.
    #[must_use]
    pub fn retention(self, retention: Duration) -> Self {
        self.with(|inner| inner.retention = retention.max(Duration::from_millis(1)))
    }

    /// The `Retry-After` of a 409 (default [`DEFAULT_IN_FLIGHT_RETRY_AFTER`]).
    #[must_use]
    pub fn in_flight_retry_after(self, retry_after: Duration) -> Self {
        self.with(|inner| inner.retry_after = retry_after)
    }

    /// Where the axum extractor reads the event id (default [`DefaultKey`]); the key is
    /// `<scheme>:<event id>`.
    #[must_use]
    pub fn key(self, extractor: impl KeyExtractor<String>) -> Self {
        self.with(|inner| inner.key = Arc::new(extractor))
    }

    /// Opens a transaction and claims `key` in it: two statements (`BEGIN`, then the
    /// claim and the read of the key's record in one).
    pub async fn begin(&self, key: &str) -> Result<Begin, StoreError> {
        let inner = &self.inner;
        let started = async {
            let mut tx = inner.pool.begin().await?;
            let (held, record): (bool, Option<Vec<u8>>) = sqlx::query_as(&inner.begin)
                .bind(key)
                .bind(format!("webhook-inbox:{key}"))
                .fetch_one(&mut *tx)
                .await?;
            Ok::<_, sqlx::Error>((tx, held, record))
        };
        let (tx, held, record) = match tokio::time::timeout(inner.timeout, started).await {
            Ok(result) => result.map_err(store_error)?,
            Err(_) => return Err(timed_out("opening the inbox transaction")),
        };
        let begin = match (held, record) {
            (false, _) => Begin::InFlight,
            (true, Some(record)) => Begin::Done(StoredResponse::from_bytes(&Bytes::from(record))?),
            (true, None) => {
                return Ok(Begin::Fresh(InboxTransaction {
                    tx: Some(tx),
                    key: key.to_owned(),
                    inbox: self.inner.clone(),
                }));
            }
        };
        // Nothing to do in it: ends it now rather than when the pool next uses it.
        rollback(tx).await;
        Ok(begin)
    }

    /// The key of an HTTP delivery: `<scheme>:<event id>`, from the verified-delivery
    /// marker.
    pub fn key_of(&self, head: &RequestHead<'_>) -> Result<String, IdempotencyRejection> {
        let delivery = head.delivery().ok_or(IdempotencyRejection::Unverified)?;
        let id = self
            .inner
            .key
            .extract(head)
            .filter(|id| !id.is_empty())
            .ok_or(IdempotencyRejection::MissingEventId)?;
        if id.len() > DEFAULT_MAX_KEY_LEN {
            return Err(IdempotencyRejection::InvalidEventId {
                reason: "longer than the configured maximum",
            });
        }
        Ok(format!("{}:{id}", delivery.scheme()))
    }

    /// The `Retry-After` of a 409, in whole seconds.
    pub fn in_flight_retry_after_seconds(&self) -> u64 {
        let retry = self.inner.retry_after;
        (retry.as_secs() + u64::from(retry.subsec_nanos() > 0)).max(1)
    }
}

impl fmt::Debug for Inbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inbox")
            .field("retention", &self.inner.retention)
            .field("in_flight_retry_after", &self.inner.retry_after)
            .finish_non_exhaustive()
    }
}

async fn rollback(tx: Transaction<'static, Postgres>) {
    if let Err(error) = tx.rollback().await {
        tracing::debug!(%error, "inbox rollback failed: the server ends the transaction with the connection");
    }
}

/// An open transaction in which an event's claim is held. Write the effects through it
/// (it dereferences to a [`PgConnection`]), then [`commit`](Self::commit) with the
/// response: the only way to get the [`Committed`] answer. Dropped without a commit (an
/// error returned, a panic, a dropped future), it rolls back, effects and claim alike.
pub struct InboxTransaction {
    tx: Option<Transaction<'static, Postgres>>,
    key: String,
    inbox: Arc<InboxInner>,
}

impl InboxTransaction {
    /// The event's key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Writes the record of `response` and commits it with the effects: two statements.
    /// On failure nothing is committed, and the retry processes the event.
    pub async fn commit(mut self, response: StoredResponse) -> Result<Committed, InboxError> {
        let mut tx = self.tx.take().expect("committed once");
        let inbox = self.inbox.clone();
        let record = response.to_bytes();
        let written = sqlx::query(&inbox.record)
            .bind(&self.key)
            .bind(&record[..])
            .bind(millis(inbox.retention))
            .execute(&mut *tx)
            .await?;
        if written.rows_affected() != 1 {
            rollback(tx).await;
            return Err(InboxError(StoreError::new(
                StoreErrorKind::Other,
                "the event holds a record or another claim: nothing committed",
            )));
        }
        tx.commit().await?;
        Ok(Committed { response })
    }

    fn connection(&mut self) -> &mut PgConnection {
        self.tx.as_mut().expect("open until committed")
    }
}

impl Deref for InboxTransaction {
    type Target = PgConnection;

    fn deref(&self) -> &PgConnection {
        self.tx.as_ref().expect("open until committed")
    }
}

impl DerefMut for InboxTransaction {
    fn deref_mut(&mut self) -> &mut PgConnection {
        self.connection()
    }
}

impl Drop for InboxTransaction {
    fn drop(&mut self) {
        let Some(tx) = self.tx.take() else {
            return;
        };
        tracing::debug!(key = self.key, "inbox transaction dropped: rolling back");
        // Rolls back now, so the claim is free for the retry; without a runtime, sqlx
        // rolls back when the pool next uses the connection.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(rollback(tx));
        }
    }
}

impl fmt::Debug for InboxTransaction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InboxTransaction")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// The answer of an event whose effects and record committed together: made only by
/// [`InboxTransaction::commit`].
#[derive(Debug, Clone)]
#[must_use = "the committed response is the handler's answer"]
pub struct Committed {
    response: StoredResponse,
}

impl Committed {
    /// The recorded response.
    pub fn response(&self) -> &StoredResponse {
        &self.response
    }

    /// The response to send.
    pub fn into_response(self) -> Response<Bytes> {
        let (status, headers, body) = self.response.into_parts();
        let mut response = Response::new(body);
        *response.status_mut() = status;
        *response.headers_mut() = headers;
        response
    }
}

/// The replay of a processed event's recorded response, with `Idempotent-Replayed: true`.
pub fn replay(stored: StoredResponse) -> Response<Bytes> {
    let mut response = Committed { response: stored }.into_response();
    response.headers_mut().insert(
        IDEMPOTENT_REPLAYED.clone(),
        HeaderValue::from_static("true"),
    );
    response
}

/// The inbox transaction failed (the handler's statements included, through `?`):
/// nothing was committed, and the sender's retry processes the event. As a response,
/// 503 `store_unavailable` with `Retry-After: 1`.
#[derive(Debug, Clone)]
pub struct InboxError(pub StoreError);

impl InboxError {
    /// The response: 503 `store_unavailable`.
    pub fn into_response(self) -> Response<Bytes> {
        tracing::warn!(error = %self.0, "inbox transaction rolled back: the sender will retry");
        use webhook_core::Rejection;
        IdempotencyRejection::StoreUnavailable {
            retry_after_seconds: 1,
        }
        .to_problem()
        .into_response()
    }
}

impl fmt::Display for InboxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "inbox transaction rolled back: {}", self.0)
    }
}

impl std::error::Error for InboxError {}

impl From<sqlx::Error> for InboxError {
    fn from(error: sqlx::Error) -> Self {
        Self(store_error(error))
    }
}

impl From<StoreError> for InboxError {
    fn from(error: StoreError) -> Self {
        Self(error)
    }
}
