use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::HeaderName;
use http::header::CONTENT_TYPE;
use tower_layer::Layer;
use webhook_core::{
    HeaderKey, KeyExtractor, MissingKeyPolicy, RenderRejection, RequestHead, VerifiedDelivery,
};

use crate::key::{DefaultKey, JsonPointerKey};
use crate::store::{MemoryStore, Store};
use crate::{Idempotency, IdempotencyRejection};

/// The default lease: 60 seconds. A claim whose worker neither completes nor releases
/// it (a crashed process) frees itself after this long.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(60);

/// The default retention of a processed delivery: 72 hours (Stripe retries for 3 days).
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(72 * 3600);

/// The default largest response body kept for replay: 64 KiB.
pub const DEFAULT_MAX_STORED_BODY: usize = 64 * 1024;

/// The default longest event id, in bytes: 256.
pub const DEFAULT_MAX_KEY_LEN: usize = 256;

/// The default `Retry-After` when the store is unavailable: 5 seconds.
pub const DEFAULT_STORE_RETRY_AFTER: Duration = Duration::from_secs(5);

/// What to do when the store fails (unreachable, timed out, full).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum StoreErrorPolicy {
    /// Answer 503 `store_unavailable` with `Retry-After`, without calling the handler.
    /// Nothing is lost: the sender retries. The default.
    #[default]
    Reject,
    /// Call the handler anyway, without deduplication, and log at `warn`. Completion
    /// and release are still attempted, in case the store comes back meanwhile.
    PassThrough,
}

/// What to do when the handler answers 4xx.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ClientErrorPolicy {
    /// Release the claim, as for a 5xx: the sender's retry is processed again. The
    /// default, because most senders retry any non-2xx answer, and once a fix for the
    /// 4xx is deployed the retry must be processed, not answered from a stored
    /// rejection.
    #[default]
    Release,
    /// Record the 4xx like a success: duplicates get the same 4xx replayed until the
    /// retention ends.
    Record,
}

/// Why an [`IdempotencyLayer`] could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// The lease is under one millisecond.
    LeaseTooShort,
    /// The retention is shorter than the lease: a record would expire before a claim.
    RetentionShorterThanLease,
    /// The longest event id is zero.
    ZeroMaxKeyLen,
    /// The store-unavailable `Retry-After` is under one second.
    RetryAfterTooShort,
    /// A JSON pointer is malformed.
    InvalidJsonPointer {
        /// The pointer.
        pointer: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::LeaseTooShort => f.write_str("the lease must be at least 1 ms"),
            Self::RetentionShorterThanLease => {
                f.write_str("the retention must be at least as long as the lease")
            }
            Self::ZeroMaxKeyLen => f.write_str("the longest event id must be above zero"),
            Self::RetryAfterTooShort => f.write_str("the store Retry-After must be at least 1 s"),
            Self::InvalidJsonPointer { pointer, reason } => {
                write!(f, "invalid JSON pointer {pointer:?}: {reason}")
            }
        }
    }
}

impl std::error::Error for ConfigError {}

pub(crate) struct Config<St> {
    pub(crate) store: St,
    key: Arc<dyn KeyExtractor<String>>,
    namespace: Option<Arc<str>>,
    pub(crate) lease: Duration,
    pub(crate) heartbeat: bool,
    pub(crate) retention: Duration,
    pub(crate) client_errors: ClientErrorPolicy,
    pub(crate) missing_key: MissingKeyPolicy,
    pub(crate) store_errors: StoreErrorPolicy,
    pub(crate) replay_headers: Vec<HeaderName>,
    pub(crate) max_stored_body: usize,
    max_key_len: usize,
    pub(crate) store_retry_after: Duration,
    on_rejection: Option<RenderRejection<IdempotencyRejection>>,
}

impl<St> Config<St> {
    /// The namespaced store key of a delivery: `Ok(None)` when it has no event id.
    pub(crate) fn key(
        &self,
        head: &RequestHead<'_>,
        delivery: &VerifiedDelivery,
    ) -> Result<Option<String>, IdempotencyRejection> {
        let Some(id) = self.key.extract(head) else {
            return Ok(None);
        };
        if id.is_empty() {
            return Ok(None);
        }
        if id.len() > self.max_key_len {
            return Err(IdempotencyRejection::InvalidEventId {
                reason: "longer than the configured maximum",
            });
        }
        let namespace = self.namespace.as_deref().unwrap_or(delivery.scheme());
        let mut key = String::with_capacity(namespace.len() + 1 + id.len());
        key.push_str(namespace);
        key.push(':');
        key.push_str(&id);
        Ok(Some(key))
    }

    pub(crate) fn reject(
        &self,
        rejection: &IdempotencyRejection,
        grpc: bool,
    ) -> http::Response<Bytes> {
        webhook_core::refuse_with("idempotency", rejection, grpc, self.on_rejection.as_ref())
    }
}

/// Processes each webhook delivery once: the first copy of an event runs the handler,
/// duplicates get its recorded response (or 409 while it runs).
///
/// Put it after [`VerifySignatureLayer`](https://docs.rs/webhook-signature): it keys
/// on the [`VerifiedDelivery`] marker, and refuses a request without one (500
/// `missing_verified_delivery`). See the [crate docs](crate) for the whole behaviour.
///
/// Cheap to clone: the configuration and the store are shared (an `Arc`), so every
/// clone and every service it builds deduplicate together.
pub struct IdempotencyLayer<St = MemoryStore> {
    config: Arc<Config<St>>,
}

impl<St> Clone for IdempotencyLayer<St> {
    fn clone(&self) -> Self {
        Self {
            config: self.config.clone(),
        }
    }
}

impl IdempotencyLayer<MemoryStore> {
    /// A layer with an in-process [`MemoryStore`] and the defaults.
    pub fn in_memory() -> Self {
        Self::new(MemoryStore::new())
    }
}

impl<St: Store> IdempotencyLayer<St> {
    /// A layer on `store` with the defaults: key from the marker's event id or the
    /// body's top-level `id`, namespaced by scheme; 60 s lease; 72 h retention; 4xx
    /// released; 503 when the store fails; 400 without an event id.
    pub fn new(store: St) -> Self {
        Self::builder(store)
            .build()
            .expect("the defaults are valid")
    }

    /// Starts a layer on `store`, to configure.
    pub fn builder(store: St) -> IdempotencyLayerBuilder<St> {
        IdempotencyLayerBuilder {
            store,
            key: Arc::new(DefaultKey),
            pointer_error: None,
            namespace: None,
            lease: DEFAULT_LEASE,
            heartbeat: false,
            retention: DEFAULT_RETENTION,
            client_errors: ClientErrorPolicy::default(),
            missing_key: MissingKeyPolicy::default(),
            store_errors: StoreErrorPolicy::default(),
            replay_headers: vec![CONTENT_TYPE],
            max_stored_body: DEFAULT_MAX_STORED_BODY,
            max_key_len: DEFAULT_MAX_KEY_LEN,
            store_retry_after: DEFAULT_STORE_RETRY_AFTER,
            on_rejection: None,
        }
    }
}

impl<St> IdempotencyLayer<St> {
    /// The store.
    pub fn store(&self) -> &St {
        &self.config.store
    }

    /// The lease.
    pub fn lease(&self) -> Duration {
        self.config.lease
    }

    /// The retention.
    pub fn retention(&self) -> Duration {
        self.config.retention
    }

    /// Whether the lease heartbeat is on.
    pub fn heartbeat(&self) -> bool {
        self.config.heartbeat
    }
}

impl<St> fmt::Debug for IdempotencyLayer<St> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdempotencyLayer")
            .field("namespace", &self.config.namespace)
            .field("lease", &self.config.lease)
            .field("heartbeat", &self.config.heartbeat)
            .field("retention", &self.config.retention)
            .field("client_errors", &self.config.client_errors)
            .field("missing_key", &self.config.missing_key)
            .field("store_errors", &self.config.store_errors)
            .finish_non_exhaustive()
    }
}

impl<S, St> Layer<S> for IdempotencyLayer<St> {
    type Service = Idempotency<S, St>;

    fn layer(&self, inner: S) -> Self::Service {
        Idempotency::from_config(inner, self.config.clone())
    }
}

/// Configures an [`IdempotencyLayer`]; [`build`](Self::build) checks the settings.
///
/// ```
/// use std::time::Duration;
/// use webhook_idempotency::{ClientErrorPolicy, IdempotencyLayer, StoreErrorPolicy, store::MemoryStore};
///
/// let layer = IdempotencyLayer::builder(MemoryStore::new())
///     .json_pointer("/data/object/id")
///     .namespace("stripe-live")
///     .lease(Duration::from_secs(30))
///     .retention(Duration::from_secs(7 * 24 * 3600))
///     .client_errors(ClientErrorPolicy::Record)
///     .store_errors(StoreErrorPolicy::PassThrough)
///     .build()
///     .unwrap();
/// assert_eq!(layer.lease(), Duration::from_secs(30));
///
/// let error = IdempotencyLayer::builder(MemoryStore::new())
///     .lease(Duration::from_secs(600))
///     .retention(Duration::from_secs(60))
///     .build()
///     .unwrap_err();
/// assert_eq!(error.to_string(), "the retention must be at least as long as the lease");
/// ```
#[must_use]
pub struct IdempotencyLayerBuilder<St> {
    store: St,
    key: Arc<dyn KeyExtractor<String>>,
    pointer_error: Option<ConfigError>,
    namespace: Option<Arc<str>>,
    lease: Duration,
    heartbeat: bool,
    retention: Duration,
    client_errors: ClientErrorPolicy,
    missing_key: MissingKeyPolicy,
    store_errors: StoreErrorPolicy,
    replay_headers: Vec<HeaderName>,
    max_stored_body: usize,
    max_key_len: usize,
    store_retry_after: Duration,
    on_rejection: Option<RenderRejection<IdempotencyRejection>>,
}

impl<St: Store> IdempotencyLayerBuilder<St> {
    /// Finds the event id with `extractor` (a [`KeyExtractor<String>`](KeyExtractor),
    /// or a closure `Fn(&RequestHead<'_>) -> Option<String>`; the verified delivery is
    /// [`RequestHead::delivery`]).
    pub fn key(mut self, extractor: impl KeyExtractor<String>) -> Self {
        self.key = Arc::new(extractor);
        self.pointer_error = None;
        self
    }

    /// Takes the event id from the header `name` (see [`HeaderKey`] on trusting
    /// headers).
    pub fn header(self, name: HeaderName) -> Self {
        self.key(HeaderKey::new(name))
    }

    /// Takes the event id from the JSON pointer `pointer` into the verified body, such
    /// as `/data/object/id`. A malformed pointer fails [`build`](Self::build).
    pub fn json_pointer(mut self, pointer: &str) -> Self {
        match JsonPointerKey::new(pointer) {
            Ok(key) => {
                self.key = Arc::new(key);
                self.pointer_error = None;
            }
            Err(error) => self.pointer_error = Some(error),
        }
        self
    }

    /// Namespaces every key with `namespace` instead of the scheme name (the default,
    /// such as `stripe:evt_1`). Give two receivers of the same provider different
    /// namespaces if their event ids may collide; key ids are never part of the key,
    /// since keys rotate.
    pub fn namespace(mut self, namespace: impl Into<Arc<str>>) -> Self {
        self.namespace = Some(namespace.into());
        self
    }

    /// How long a claim lasts without completion or release (default 60 s). Make it
    /// longer than the handler can take, or turn the [heartbeat](Self::heartbeat) on:
    /// a duplicate arriving after the lease ran out runs the handler again while the
    /// first may still be running (see the
    /// [crate docs](crate#a-handler-slower-than-the-lease)). A record write that failed
    /// is retried until the lease ends.
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// Extends the lease while the handler runs (default: off).
    ///
    /// On, the layer extends the claim's lease every third of its length
    /// ([`Store::extend`], guarded by the claim's token) until the handler has answered
    /// and its response body is read, and puts a [`Lease`](crate::Lease) in the request
    /// extensions: the handler sees there whether the claim still holds before it
    /// commits its effects. The lease then bounds how long a crashed worker's claim
    /// blocks its event, not how long a handler may run. The heartbeat runs in the
    /// request's own task, beside the handler: it stops when the handler's future
    /// completes or is dropped.
    ///
    /// Off by default: it costs a store call per third of the lease for every delivery
    /// in flight, and a handler that hangs (rather than crashing) keeps its claim as
    /// long as it hangs, every duplicate answered 409, so pair it with a timeout on the
    /// handler (`tower::timeout::TimeoutLayer` inside this layer: a timed-out handler's
    /// claim is released). Off, a delivery costs nothing more than its claim and record.
    ///
    /// ```
    /// use std::time::Duration;
    /// use webhook_idempotency::{IdempotencyLayer, store::MemoryStore};
    ///
    /// // Duplicates are kept out for as long as the handler runs; a crashed worker's
    /// // claim frees itself within 30 s.
    /// let layer = IdempotencyLayer::builder(MemoryStore::new())
    ///     .lease(Duration::from_secs(30))
    ///     .heartbeat(true)
    ///     .build()
    ///     .unwrap();
    /// assert!(layer.heartbeat());
    /// ```
    pub fn heartbeat(mut self, on: bool) -> Self {
        self.heartbeat = on;
        self
    }

    /// How long a processed delivery is remembered (default 72 h): at least as long as
    /// the sender retries.
    pub fn retention(mut self, retention: Duration) -> Self {
        self.retention = retention;
        self
    }

    /// What to do when the handler answers 4xx (default: release, see
    /// [`ClientErrorPolicy`]).
    pub fn client_errors(mut self, policy: ClientErrorPolicy) -> Self {
        self.client_errors = policy;
        self
    }

    /// What to do with a delivery without event id: 400 `missing_event_id`
    /// ([`MissingKeyPolicy::Reject`], the default), or call the handler without
    /// deduplication ([`MissingKeyPolicy::PassThrough`]).
    pub fn missing_key(mut self, policy: MissingKeyPolicy) -> Self {
        self.missing_key = policy;
        self
    }

    /// What to do when the store fails (default: 503 with `Retry-After`).
    pub fn store_errors(mut self, policy: StoreErrorPolicy) -> Self {
        self.store_errors = policy;
        self
    }

    /// The `Retry-After` answered when the store is unavailable (default 5 s; whole
    /// seconds, rounded up).
    pub fn store_retry_after(mut self, retry_after: Duration) -> Self {
        self.store_retry_after = retry_after;
        self
    }

    /// The response headers recorded and replayed with the status and body (default:
    /// `content-type`). `Idempotent-Replayed: true` is always added to a replay.
    pub fn replay_headers(mut self, names: impl IntoIterator<Item = HeaderName>) -> Self {
        self.replay_headers = names.into_iter().collect();
        self
    }

    /// The largest response body recorded (default 64 KiB). A larger body, or one whose
    /// size is not known in advance, is passed through as a stream and recorded as
    /// empty: duplicates get the status and headers only.
    pub fn max_stored_body(mut self, bytes: usize) -> Self {
        self.max_stored_body = bytes;
        self
    }

    /// The longest event id accepted, in bytes (default 256); a longer one gets 400
    /// `invalid_event_id`.
    pub fn max_key_len(mut self, bytes: usize) -> Self {
        self.max_key_len = bytes;
        self
    }

    /// Replaces the default `application/problem+json` rejection responses.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use webhook_core::Rejection;
    /// use webhook_idempotency::{IdempotencyLayer, store::MemoryStore};
    ///
    /// let layer = IdempotencyLayer::builder(MemoryStore::new())
    ///     .on_rejection(|rejection| {
    ///         let mut response = http::Response::new(Bytes::from(rejection.code()));
    ///         *response.status_mut() = rejection.status();
    ///         response
    ///     })
    ///     .build()
    ///     .unwrap();
    /// # drop(layer);
    /// ```
    pub fn on_rejection<F>(mut self, render: F) -> Self
    where
        F: Fn(&IdempotencyRejection) -> http::Response<Bytes> + Send + Sync + 'static,
    {
        self.on_rejection = Some(Arc::new(render));
        self
    }

    /// Checks the settings and builds the layer.
    pub fn build(self) -> Result<IdempotencyLayer<St>, ConfigError> {
        if let Some(error) = self.pointer_error {
            return Err(error);
        }
        if self.lease < Duration::from_millis(1) {
            return Err(ConfigError::LeaseTooShort);
        }
        if self.retention < self.lease {
            return Err(ConfigError::RetentionShorterThanLease);
        }
        if self.max_key_len == 0 {
            return Err(ConfigError::ZeroMaxKeyLen);
        }
        if self.store_retry_after < Duration::from_secs(1) {
            return Err(ConfigError::RetryAfterTooShort);
        }
        Ok(IdempotencyLayer {
            config: Arc::new(Config {
                store: self.store,
                key: self.key,
                namespace: self.namespace,
                lease: self.lease,
                heartbeat: self.heartbeat,
                retention: self.retention,
                client_errors: self.client_errors,
                missing_key: self.missing_key,
                store_errors: self.store_errors,
                replay_headers: self.replay_headers,
                max_stored_body: self.max_stored_body,
                max_key_len: self.max_key_len,
                store_retry_after: self.store_retry_after,
                on_rejection: self.on_rejection,
            }),
        })
    }
}

impl<St> fmt::Debug for IdempotencyLayerBuilder<St> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdempotencyLayerBuilder")
            .field("namespace", &self.namespace)
            .field("lease", &self.lease)
            .field("heartbeat", &self.heartbeat)
            .field("retention", &self.retention)
            .finish_non_exhaustive()
    }
}
