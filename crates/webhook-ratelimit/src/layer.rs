use std::any::Any;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use governor::Quota;
use http::header::{CONTENT_TYPE, HeaderName, HeaderValue, RETRY_AFTER};
use http::{Request, Response, StatusCode};
use tower_layer::Layer;
use webhook_core::{PROBLEM_JSON, Rejection, RejectionCode, RenderRejection};

use crate::backend::{Allowance, Backend, Decision, GovernorLimiter};
use webhook_core::{KeyExtractor, MissingKeyPolicy, RequestHead};

use crate::{Global, Key, RateLimit, RateLimitRejection};

/// A layer configuration that cannot work, reported by
/// [`RateLimitLayerBuilder::build`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// The policy name must be 1 to 64 characters among `A-Z a-z 0-9 - _ .`.
    InvalidPolicyName,
    /// The Redis backend counts in microseconds: the quota's replenish interval must
    /// be at least 1 µs.
    IntervalTooShort,
    /// A key TTL shorter than the time the quota takes to refill would forget buckets
    /// early and let more requests through than the quota.
    KeyTtlTooShort {
        /// The shortest TTL that keeps the quota, in milliseconds.
        minimum_ms: u64,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidPolicyName => {
                f.write_str("the policy name must be 1 to 64 characters among `A-Z a-z 0-9 - _ .`")
            }
            Self::IntervalTooShort => {
                f.write_str("the quota's replenish interval must be at least 1 µs for Redis")
            }
            Self::KeyTtlTooShort { minimum_ms } => write!(
                f,
                "the key TTL must be at least the quota's refill time ({minimum_ms} ms)"
            ),
        }
    }
}

impl std::error::Error for ConfigError {}

/// The backend of a layer: the in-memory one is called directly (no dynamic
/// dispatch, no [`Check`](crate::Check) to build and match), any other through
/// [`Backend`].
pub(crate) enum Limiter {
    Memory(GovernorLimiter),
    Other(Box<dyn Backend>),
}

impl Limiter {
    /// Recognizes a [`GovernorLimiter`] on the default clock, whichever builder it
    /// came through.
    fn new<B: Backend>(backend: B) -> Self {
        let mut backend = Some(backend);
        let any: &mut dyn Any = &mut backend;
        if let Some(memory) = any
            .downcast_mut::<Option<GovernorLimiter>>()
            .and_then(Option::take)
        {
            return Self::Memory(memory);
        }
        Self::Other(Box::new(backend.expect("taken only when it is in memory")))
    }

    pub(crate) fn as_backend(&self) -> &dyn Backend {
        match self {
            Self::Memory(memory) => memory,
            Self::Other(backend) => &**backend,
        }
    }
}

impl fmt::Debug for Limiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.as_backend().fmt(f)
    }
}

/// The configuration shared by every clone of the layer and its services.
pub(crate) struct Core {
    limiter: Limiter,
    policy_name: Box<str>,
    policy_header: HeaderValue,
    missing_key: MissingKeyPolicy,
    headers_on_success: bool,
    on_rejection: Option<RenderRejection<RateLimitRejection>>,
    limited_body: Bytes,
}

/// The two IETF rate-limit fields for one response.
pub(crate) type RateLimitHeaders = (HeaderValue, HeaderValue);

pub(crate) fn ratelimit_policy() -> HeaderName {
    HeaderName::from_static("ratelimit-policy")
}

pub(crate) fn ratelimit() -> HeaderName {
    HeaderName::from_static("ratelimit")
}

/// What the layer does with one request, once the backend has decided.
pub(crate) enum Outcome {
    Forward(Option<RateLimitHeaders>),
    Respond(Response<Bytes>),
}

impl Core {
    pub(crate) fn limiter(&self) -> &Limiter {
        &self.limiter
    }

    pub(crate) fn missing_key(&self) -> MissingKeyPolicy {
        self.missing_key
    }

    /// `"<name>";r=<remaining>;t=<seconds>` (draft-ietf-httpapi-ratelimit-headers-11).
    fn state_header(&self, remaining: u32, reset_secs: u64) -> HeaderValue {
        let text = format!("\"{}\";r={remaining};t={reset_secs}", self.policy_name);
        HeaderValue::try_from(text).expect("the policy name was checked at build time")
    }

    #[inline]
    pub(crate) fn decide<B>(
        &self,
        decision: Decision,
        request: &Request<B>,
        key: Option<&Key>,
    ) -> Outcome {
        match decision {
            Decision::Allowed(allowance) => Outcome::Forward(self.success_headers(&allowance)),
            Decision::Unchecked => Outcome::Forward(None),
            Decision::Limited { retry_after } => {
                Outcome::Respond(self.limited(retry_after, request, key))
            }
            Decision::Unavailable { retry_after } => {
                let retry_after_seconds = whole_seconds(retry_after).max(1);
                let rejection = RateLimitRejection::Unavailable {
                    retry_after_seconds,
                };
                Outcome::Respond(self.reject(&rejection, request))
            }
        }
    }

    pub(crate) fn headers_on_success(&self) -> bool {
        self.headers_on_success
    }

    /// The fields for the response of an allowed request, if the layer sends them.
    #[inline]
    pub(crate) fn success_headers(&self, allowance: &Allowance) -> Option<RateLimitHeaders> {
        if self.headers_on_success {
            Some(self.format_success_headers(allowance))
        } else {
            None
        }
    }

    #[inline(never)]
    fn format_success_headers(&self, allowance: &Allowance) -> RateLimitHeaders {
        (
            self.policy_header.clone(),
            self.state_header(allowance.remaining(), whole_seconds(allowance.reset())),
        )
    }

    /// The answer to a request over the quota: 429 (or the gRPC mapping, or the custom
    /// rendering) with `RateLimit-Policy` and `RateLimit`.
    #[inline(never)]
    pub(crate) fn limited<B>(
        &self,
        retry_after: Duration,
        request: &Request<B>,
        key: Option<&Key>,
    ) -> Response<Bytes> {
        let retry_after_seconds = whole_seconds(retry_after).max(1);
        tracing::debug!(
            policy = &*self.policy_name,
            key = ?key,
            retry_after_seconds,
            "rate limited"
        );
        let rejection = RateLimitRejection::Limited {
            retry_after_seconds,
        };
        let mut response = self.reject(&rejection, request);
        let headers = response.headers_mut();
        headers.insert(ratelimit_policy(), self.policy_header.clone());
        headers.insert(ratelimit(), self.state_header(0, retry_after_seconds));
        response
    }

    pub(crate) fn reject<B>(
        &self,
        rejection: &RateLimitRejection,
        request: &Request<B>,
    ) -> Response<Bytes> {
        let mut response = self.render(rejection, request);
        // Outer layers (metrics, tracing) read the code, whatever rendered the answer.
        response
            .extensions_mut()
            .insert(RejectionCode(rejection.code()));
        response
    }

    fn render<B>(&self, rejection: &RateLimitRejection, request: &Request<B>) -> Response<Bytes> {
        if let Some(render) = &self.on_rejection {
            return render(rejection);
        }
        if webhook_core::is_grpc(request.headers()) {
            return rejection.to_problem().into_grpc_response();
        }
        match rejection {
            RateLimitRejection::Limited {
                retry_after_seconds,
            } => {
                // The problem body of a 429 is always the same: built once.
                let mut response = Response::new(self.limited_body.clone());
                *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
                let headers = response.headers_mut();
                headers.insert(CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
                headers.insert(RETRY_AFTER, HeaderValue::from(*retry_after_seconds));
                response
            }
            other => other.to_problem().into_response(),
        }
    }
}

/// Whole seconds, rounded up.
pub(crate) fn whole_seconds(duration: Duration) -> u64 {
    duration.as_secs() + u64::from(duration.subsec_nanos() > 0)
}

/// Limits the rate of requests per key; see the [crate documentation](crate).
///
/// Built by [`RateLimitLayer::builder`] (in memory) or
/// [`RateLimitLayer::builder_with`] (any [`Backend`], such as `RedisRateLimiter`).
/// The limiter state is shared by every clone of the layer and every service it
/// builds: clone the layer freely, it limits once.
pub struct RateLimitLayer<K = Global> {
    key: Arc<K>,
    core: Arc<Core>,
}

impl<K> Clone for RateLimitLayer<K> {
    fn clone(&self) -> Self {
        Self {
            key: self.key.clone(),
            core: self.core.clone(),
        }
    }
}

impl RateLimitLayer {
    /// Starts an in-memory ([`GovernorLimiter`]) layer giving each key `quota`.
    ///
    /// Keys default to [`Global`]; pick another with [`RateLimitLayerBuilder::key`].
    pub fn builder(quota: Quota) -> RateLimitLayerBuilder<Global> {
        Self::builder_with(GovernorLimiter::new(quota))
    }

    /// Starts a layer on `backend`: a [`GovernorLimiter`] on a clock of your choice,
    /// a `RedisRateLimiter`, or your own [`Backend`].
    pub fn builder_with(backend: impl Backend) -> RateLimitLayerBuilder<Global> {
        RateLimitLayerBuilder {
            limiter: Limiter::new(backend),
            key: Global,
            policy_name: "default".into(),
            missing_key: MissingKeyPolicy::default(),
            headers_on_success: false,
            on_rejection: None,
        }
    }
}

impl<K> RateLimitLayer<K> {
    /// The backend's quota.
    pub fn quota(&self) -> Quota {
        self.core.limiter.as_backend().quota()
    }

    /// The `RateLimit-Policy` value this layer sends, such as `"default";q=20;w=12`.
    pub fn policy_header(&self) -> &HeaderValue {
        &self.core.policy_header
    }
}

impl<K> fmt::Debug for RateLimitLayer<K>
where
    K: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimitLayer")
            .field("key", &self.key)
            .field("backend", &self.core.limiter)
            .field("policy", &self.core.policy_header)
            .field("missing_key", &self.core.missing_key)
            .finish_non_exhaustive()
    }
}

impl<S, K> Layer<S> for RateLimitLayer<K> {
    type Service = RateLimit<S, K>;

    fn layer(&self, inner: S) -> Self::Service {
        RateLimit::from_parts(inner, self.key.clone(), self.core.clone())
    }
}

/// Configures a [`RateLimitLayer`].
#[must_use]
pub struct RateLimitLayerBuilder<K> {
    limiter: Limiter,
    key: K,
    policy_name: String,
    missing_key: MissingKeyPolicy,
    headers_on_success: bool,
    on_rejection: Option<RenderRejection<RateLimitRejection>>,
}

impl<K> RateLimitLayerBuilder<K> {
    /// Counts requests per `key` ([`Global`], [`PeerIp`](crate::PeerIp),
    /// [`HeaderKey`](crate::HeaderKey), [`VerifiedSource`](crate::VerifiedSource), or
    /// any [`KeyExtractor<Key>`](KeyExtractor), closures included).
    pub fn key<K2: KeyExtractor<Key>>(self, key: K2) -> RateLimitLayerBuilder<K2> {
        RateLimitLayerBuilder {
            limiter: self.limiter,
            key,
            policy_name: self.policy_name,
            missing_key: self.missing_key,
            headers_on_success: self.headers_on_success,
            on_rejection: self.on_rejection,
        }
    }

    /// Counts requests per key computed by `key`; the same as [`key`](Self::key), with
    /// the closure's argument type inferred.
    ///
    /// ```
    /// use std::num::NonZeroU32;
    /// use webhook_ratelimit::{Key, Quota, RateLimitLayer};
    ///
    /// let layer = RateLimitLayer::builder(Quota::per_minute(NonZeroU32::new(60).unwrap()))
    ///     .key_fn(|head| head.uri().path().starts_with("/hooks/").then(|| Key::from(head.uri().path())))
    ///     .build()
    ///     .unwrap();
    /// # drop(layer);
    /// ```
    pub fn key_fn<F>(self, key: F) -> RateLimitLayerBuilder<F>
    where
        F: Fn(&RequestHead<'_>) -> Option<Key> + Send + Sync + 'static,
    {
        self.key(key)
    }

    /// The policy name in the `RateLimit-Policy` and `RateLimit` fields (default
    /// `default`): 1 to 64 characters among `A-Z a-z 0-9 - _ .`.
    pub fn policy_name(mut self, name: impl Into<String>) -> Self {
        self.policy_name = name.into();
        self
    }

    /// What to do with a request that has no key.
    ///
    /// [`MissingKeyPolicy::Reject`] (the default) refuses it with 500
    /// `rate_limit_key_missing` and logs at `warn`. A missing key is a deployment
    /// mistake: the per-source layer placed before the signature layer, a server that
    /// does not record the peer address. Failing loudly shows it on the first request;
    /// letting requests through would silently disable the limit. 500 (not 4xx) makes
    /// webhook senders retry the delivery later instead of dropping it.
    /// [`MissingKeyPolicy::PassThrough`] lets it through without counting it.
    pub fn missing_key(mut self, policy: MissingKeyPolicy) -> Self {
        self.missing_key = policy;
        self
    }

    /// Adds `RateLimit-Policy` and `RateLimit` to the responses of requests that were
    /// let through, not only to 429s (default off: webhook senders rarely read them,
    /// and formatting them costs a little on every request).
    pub fn headers_on_success(mut self, on: bool) -> Self {
        self.headers_on_success = on;
        self
    }

    /// Replaces the default responses (`application/problem+json`, or the gRPC
    /// mapping for gRPC requests). The layer still adds `RateLimit-Policy` and
    /// `RateLimit` to a 429.
    pub fn on_rejection<F>(mut self, render: F) -> Self
    where
        F: Fn(&RateLimitRejection) -> Response<Bytes> + Send + Sync + 'static,
    {
        self.on_rejection = Some(Arc::new(render));
        self
    }

    /// Checks the configuration and builds the layer.
    pub fn build(self) -> Result<RateLimitLayer<K>, ConfigError> {
        let name = self.policy_name;
        let valid = (1..=64).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if !valid {
            return Err(ConfigError::InvalidPolicyName);
        }
        let quota = self.limiter.as_backend().quota();
        let window = whole_seconds(quota.burst_size_replenished_in()).max(1);
        let policy_header =
            HeaderValue::try_from(format!("\"{name}\";q={};w={window}", quota.burst_size()))
                .map_err(|_| ConfigError::InvalidPolicyName)?;
        let limited_body = RateLimitRejection::Limited {
            retry_after_seconds: 1,
        }
        .to_problem()
        .to_json();
        Ok(RateLimitLayer {
            key: Arc::new(self.key),
            core: Arc::new(Core {
                limiter: self.limiter,
                policy_name: name.into_boxed_str(),
                policy_header,
                missing_key: self.missing_key,
                headers_on_success: self.headers_on_success,
                on_rejection: self.on_rejection,
                limited_body,
            }),
        })
    }
}

impl<K: fmt::Debug> fmt::Debug for RateLimitLayerBuilder<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimitLayerBuilder")
            .field("backend", &self.limiter)
            .field("key", &self.key)
            .field("policy_name", &self.policy_name)
            .field("missing_key", &self.missing_key)
            .field("headers_on_success", &self.headers_on_success)
            .finish_non_exhaustive()
    }
}
