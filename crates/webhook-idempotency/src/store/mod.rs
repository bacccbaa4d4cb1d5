//! Where claims and processed deliveries are kept: the [`Store`] trait and its
//! implementations.
//!
//! A store holds one entry per key, in one of two states:
//!
//! - **claimed**: a worker is processing the delivery. The entry carries the worker's
//!   [`Token`] and expires when the lease ends, so a crashed worker's claim frees
//!   itself.
//! - **done**: the delivery was processed. The entry holds the [`StoredResponse`] to
//!   replay and expires when the retention period ends.
//!
//! Four operations, each atomic on one key:
//!
//! | operation | key free (absent or expired) | claimed by the token | claimed by another | done |
//! |---|---|---|---|---|
//! | [`claim`](Store::claim) | claim it: [`Claim::Acquired`] | [`Claim::InFlight`] | [`Claim::InFlight`] | [`Claim::Done`] |
//! | [`extend`](Store::extend) | nothing: `false` | lease from now: `true` | nothing: `false` | nothing: `false` |
//! | [`complete`](Store::complete) | write done: [`Completion::Recorded`] | write done: [`Completion::Recorded`] | nothing: [`Completion::Fenced`] | nothing: [`Completion::Fenced`] |
//! | [`release`](Store::release) | nothing: `false` | delete: `true` | nothing: `false` | nothing: `false` |
//!
//! `complete` writes into a free key because the handler did succeed: the lease ran
//! out, but nobody else holds or finished the event, so recording it prevents a second
//! run. It never overwrites another worker's claim or record: that is what the token
//! fences.
//!
//! ```
//! use std::time::Duration;
//! use webhook_idempotency::store::{Claim, Completion, MemoryStore, Store, StoredResponse, Token};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let store = MemoryStore::new();
//! let lease = Duration::from_secs(60);
//! let (first, second) = (Token::generate(), Token::generate());
//!
//! assert!(matches!(store.claim("hopnow:evt_1", first, lease).await, Ok(Claim::Acquired)));
//! assert!(matches!(store.claim("hopnow:evt_1", second, lease).await, Ok(Claim::InFlight { .. })));
//!
//! let response = StoredResponse::new(http::StatusCode::OK);
//! let retention = Duration::from_secs(72 * 3600);
//! // The second worker never held the claim: it cannot record.
//! assert!(matches!(store.complete("hopnow:evt_1", second, &response, retention).await, Ok(Completion::Fenced)));
//! assert!(matches!(store.complete("hopnow:evt_1", first, &response, retention).await, Ok(Completion::Recorded)));
//!
//! match store.claim("hopnow:evt_1", second, lease).await {
//!     Ok(Claim::Done(stored)) => assert_eq!(stored.status(), http::StatusCode::OK),
//!     other => panic!("expected the stored response, got {other:?}"),
//! }
//!
//! // A lease is extended only by the token that holds the claim.
//! assert!(matches!(store.claim("hopnow:evt_2", first, lease).await, Ok(Claim::Acquired)));
//! assert!(matches!(store.extend("hopnow:evt_2", first, lease).await, Ok(true)));
//! assert!(matches!(store.extend("hopnow:evt_2", second, lease).await, Ok(false)));
//! # }
//! ```
//!
//! # Writing a store
//!
//! Implement [`Store`] with `async fn`s; the futures must be `Send`. Every store is
//! also a [`DynStore`], so it can be chosen at run time as an `Arc<dyn DynStore>`. Keep each
//! operation atomic (a transaction, a compare-and-set, a script): two `claim`s of a
//! free key racing each other must not both get [`Claim::Acquired`]. Use
//! [`StoredResponse::to_bytes`] and [`StoredResponse::from_bytes`] to keep a response
//! as bytes.

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

mod dyn_store;
mod memory;
#[cfg(feature = "redis")]
mod redis;

pub use dyn_store::{DynStore, StoreFuture};
pub use memory::{DEFAULT_CAPACITY, MemoryStore};
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use redis::{DEFAULT_KEY_PREFIX, RedisStore, RedisStoreBuilder};

/// A store of claims and processed deliveries, shared by every copy of the layer (and,
/// for a networked store, by every process).
///
/// See the [module docs](self) for the states and what each operation does in each.
/// `key` is the namespaced event id (`"github:5c3b..."`); `lease` and `retention` are
/// at least one millisecond.
pub trait Store: Send + Sync + 'static {
    /// Atomically: claims a free key for `token` until `lease` ends; or reports the
    /// claim another worker holds, with the time left on its lease; or returns the
    /// stored response of a processed key.
    fn claim(
        &self,
        key: &str,
        token: Token,
        lease: Duration,
    ) -> impl Future<Output = Result<Claim, StoreError>> + Send;

    /// Atomically: if `token` still holds the claim on `key`, sets its lease to end
    /// `lease` from now and returns `true`; otherwise (the key is free, claimed by
    /// another token, or done) changes nothing and returns `false`. The layer's
    /// [heartbeat](crate::IdempotencyLayerBuilder::heartbeat) calls it while the
    /// handler runs.
    fn extend(
        &self,
        key: &str,
        token: Token,
        lease: Duration,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Records `key` as processed with `response`, kept for `retention`, in one write,
    /// if `token` still holds the claim or the key is free. Never overwrites another
    /// worker's claim or a record: returns [`Completion::Fenced`] instead.
    fn complete(
        &self,
        key: &str,
        token: Token,
        response: &StoredResponse,
        retention: Duration,
    ) -> impl Future<Output = Result<Completion, StoreError>> + Send;

    /// Deletes the claim if `token` holds it, so the sender's retry is processed.
    /// Returns whether it did.
    fn release(
        &self,
        key: &str,
        token: Token,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

impl<T: Store> Store for Arc<T> {
    fn claim(
        &self,
        key: &str,
        token: Token,
        lease: Duration,
    ) -> impl Future<Output = Result<Claim, StoreError>> + Send {
        (**self).claim(key, token, lease)
    }

    fn extend(
        &self,
        key: &str,
        token: Token,
        lease: Duration,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        (**self).extend(key, token, lease)
    }

    fn complete(
        &self,
        key: &str,
        token: Token,
        response: &StoredResponse,
        retention: Duration,
    ) -> impl Future<Output = Result<Completion, StoreError>> + Send {
        (**self).complete(key, token, response, retention)
    }

    fn release(
        &self,
        key: &str,
        token: Token,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        (**self).release(key, token)
    }
}

/// What [`Store::claim`] found.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Claim {
    /// The key was free: the caller's token holds it now, until the lease ends.
    Acquired,
    /// Another worker holds the key.
    InFlight {
        /// Time left on that worker's lease.
        remaining: Duration,
    },
    /// The key was processed: the response to replay.
    Done(StoredResponse),
}

/// What [`Store::complete`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Completion {
    /// The record was written.
    Recorded,
    /// Nothing was written: another worker claimed the key after this worker's lease
    /// ran out, or already recorded it.
    Fenced,
}

/// A fencing token: identifies one claim, so only its holder can complete or release
/// it.
///
/// 128 bits: 64 random bits drawn once per process, then a counter, so tokens from
/// different processes sharing a store never collide and generating one is an atomic
/// increment.
///
/// ```
/// use webhook_idempotency::store::Token;
///
/// let (a, b) = (Token::generate(), Token::generate());
/// assert_ne!(a, b);
/// assert_eq!(a.to_string().len(), 32);
/// assert_eq!(Token::from_u128(a.as_u128()), a);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Token {
    // Two halves rather than a `u128`: 8-byte alignment keeps store entries smaller.
    high: u64,
    low: u64,
}

impl Token {
    /// A token no other claim in any process uses.
    pub fn generate() -> Self {
        static SEED: OnceLock<u64> = OnceLock::new();
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let seed = *SEED.get_or_init(|| {
            getrandom::u64().unwrap_or_else(|_| {
                // No OS randomness: fall back to the clock and the process id.
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos() as u64);
                nanos ^ (u64::from(std::process::id()) << 32)
            })
        });
        let count = COUNTER.fetch_add(1, Ordering::Relaxed);
        Self {
            high: seed,
            low: count,
        }
    }

    /// A token with this value (for stores that keep tokens as numbers).
    pub fn from_u128(value: u128) -> Self {
        Self {
            high: (value >> 64) as u64,
            low: value as u64,
        }
    }

    /// The token's value.
    pub fn as_u128(self) -> u128 {
        (u128::from(self.high) << 64) | u128::from(self.low)
    }
}

impl fmt::Display for Token {
    /// 32 lowercase hex digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}{:016x}", self.high, self.low)
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Token({self})")
    }
}

/// Why a store operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreErrorKind {
    /// The store cannot be reached (connection refused or lost, reconnecting).
    Unavailable,
    /// The store did not answer within the operation timeout.
    Timeout,
    /// The store is full of claims in flight and cannot take another.
    Full,
    /// The store answered something this crate cannot read.
    Corrupt,
    /// Any other failure.
    Other,
}

/// A store operation failed. The layer answers according to its
/// [`StoreErrorPolicy`](crate::StoreErrorPolicy).
#[derive(Debug, Clone)]
pub struct StoreError {
    kind: StoreErrorKind,
    message: Arc<str>,
}

impl StoreError {
    /// An error of `kind`, with a message for logs (never put a password in it).
    pub fn new(kind: StoreErrorKind, message: impl Into<Arc<str>>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> StoreErrorKind {
        self.kind
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            StoreErrorKind::Unavailable => "store unavailable",
            StoreErrorKind::Timeout => "store timed out",
            StoreErrorKind::Full => "store full",
            StoreErrorKind::Corrupt => "store returned unreadable data",
            StoreErrorKind::Other => "store error",
        };
        write!(f, "{kind}: {}", self.message)
    }
}

impl std::error::Error for StoreError {}

/// The response recorded for a processed delivery, replayed to its duplicates: the
/// status, the headers the layer was told to keep, and a small body.
///
/// ```
/// use bytes::Bytes;
/// use http::{HeaderValue, StatusCode, header::CONTENT_TYPE};
/// use webhook_idempotency::store::StoredResponse;
///
/// let response = StoredResponse::new(StatusCode::ACCEPTED)
///     .with_header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
///     .with_body(Bytes::from_static(br#"{"ok":true}"#));
/// let bytes = response.to_bytes();
/// let back = StoredResponse::from_bytes(&bytes).unwrap();
/// assert_eq!(back.status(), StatusCode::ACCEPTED);
/// assert_eq!(back.headers()[CONTENT_TYPE], "application/json");
/// assert_eq!(back.body(), &br#"{"ok":true}"#[..]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

/// The first byte of an encoded record, version 1.
const RECORD_V1: u8 = b'd';

impl StoredResponse {
    /// A response with `status`, no headers and no body.
    pub fn new(status: StatusCode) -> Self {
        Self {
            status,
            headers: HeaderMap::new(),
            body: Bytes::new(),
        }
    }

    /// Adds a header.
    #[must_use]
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.append(name, value);
        self
    }

    /// Sets the body.
    #[must_use]
    pub fn with_body(mut self, body: Bytes) -> Self {
        self.body = body;
        self
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The body.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// Splits into status, headers and body.
    pub fn into_parts(self) -> (StatusCode, HeaderMap, Bytes) {
        (self.status, self.headers, self.body)
    }

    /// Encodes the response as bytes, for stores that keep bytes.
    ///
    /// Layout: `b'd'`, the status (2 bytes, big endian), the header count (2 bytes),
    /// each header as name length (2 bytes), name, value length (2 bytes), value; then
    /// the body to the end. The leading `d` tells a record apart from a claim in the
    /// Redis store's scripts.
    pub fn to_bytes(&self) -> Bytes {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.encode_into(&mut out);
        Bytes::from(out)
    }

    /// The length of [`to_bytes`](Self::to_bytes)' output.
    pub(crate) fn encoded_len(&self) -> usize {
        let headers_len: usize = self
            .headers
            .iter()
            .take(usize::from(u16::MAX))
            .map(|(name, value)| {
                let cap = |len: usize| len.min(usize::from(u16::MAX));
                4 + cap(name.as_str().len()) + cap(value.len())
            })
            .sum();
        5 + headers_len + self.body.len()
    }

    /// Appends what [`to_bytes`](Self::to_bytes) returns to `out`.
    pub(crate) fn encode_into(&self, out: &mut Vec<u8>) {
        out.put_u8(RECORD_V1);
        out.put_u16(self.status.as_u16());
        let count = self.headers.len().min(usize::from(u16::MAX));
        out.put_u16(count as u16);
        for (name, value) in self.headers.iter().take(count) {
            // Header names and values longer than 64 KiB cannot be sent by hyper anyway.
            let name = name.as_str().as_bytes();
            let value = value.as_bytes();
            out.put_u16(name.len().min(usize::from(u16::MAX)) as u16);
            out.put_slice(&name[..name.len().min(usize::from(u16::MAX))]);
            out.put_u16(value.len().min(usize::from(u16::MAX)) as u16);
            out.put_slice(&value[..value.len().min(usize::from(u16::MAX))]);
        }
        out.put_slice(&self.body);
    }

    /// Decodes what [`to_bytes`](Self::to_bytes) wrote. The body shares `bytes`'
    /// buffer.
    pub fn from_bytes(bytes: &Bytes) -> Result<Self, StoreError> {
        fn corrupt(what: &str) -> StoreError {
            StoreError::new(
                StoreErrorKind::Corrupt,
                format!("invalid stored response: {what}"),
            )
        }
        let mut buf = bytes.clone();
        if buf.remaining() < 5 || buf.get_u8() != RECORD_V1 {
            return Err(corrupt("not a version 1 record"));
        }
        let status = StatusCode::from_u16(buf.get_u16()).map_err(|_| corrupt("status"))?;
        let count = buf.get_u16();
        let mut headers = HeaderMap::with_capacity(usize::from(count));
        for _ in 0..count {
            let name = take(&mut buf).ok_or_else(|| corrupt("header name"))?;
            let name = HeaderName::from_bytes(&name).map_err(|_| corrupt("header name"))?;
            let value = take(&mut buf).ok_or_else(|| corrupt("header value"))?;
            let value =
                HeaderValue::from_maybe_shared(value).map_err(|_| corrupt("header value"))?;
            headers.append(name, value);
        }
        Ok(Self {
            status,
            headers,
            body: buf,
        })
    }
}

fn take(buf: &mut Bytes) -> Option<Bytes> {
    if buf.remaining() < 2 {
        return None;
    }
    let len = usize::from(buf.get_u16());
    (buf.remaining() >= len).then(|| buf.split_to(len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_with_repeated_headers_and_empty_bodies() {
        let response = StoredResponse::new(StatusCode::NO_CONTENT)
            .with_header(
                HeaderName::from_static("x-a"),
                HeaderValue::from_static("1"),
            )
            .with_header(
                HeaderName::from_static("x-a"),
                HeaderValue::from_static("2"),
            );
        let bytes = response.to_bytes();
        assert_eq!(bytes.len(), response.encoded_len());
        let back = StoredResponse::from_bytes(&bytes).unwrap();
        assert_eq!(back, response);
        let values: Vec<_> = back.headers().get_all("x-a").iter().collect();
        assert_eq!(values, ["1", "2"]);
    }

    #[test]
    fn truncated_or_foreign_records_are_refused() {
        let bytes = StoredResponse::new(StatusCode::OK)
            .with_header(
                HeaderName::from_static("x-a"),
                HeaderValue::from_static("value"),
            )
            .to_bytes();
        for cut in 0..bytes.len() {
            let error = StoredResponse::from_bytes(&bytes.slice(..cut)).unwrap_err();
            assert_eq!(error.kind(), StoreErrorKind::Corrupt, "cut at {cut}");
        }
        let claim = Bytes::from_static(b"c0123456789abcdef0123456789abcdef");
        assert!(StoredResponse::from_bytes(&claim).is_err());
    }

    #[test]
    fn tokens_are_unique_and_print_as_32_hex_digits() {
        let tokens: std::collections::HashSet<Token> =
            (0..1000).map(|_| Token::generate()).collect();
        assert_eq!(tokens.len(), 1000);
        let text = Token::from_u128(0xab).to_string();
        assert_eq!(text, format!("{}ab", "0".repeat(30)));
    }
}
