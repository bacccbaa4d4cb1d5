//! Rate limits for webhook receivers, as a tower layer.
//!
//! [`RateLimitLayer`] counts each request against a key (everyone, the client
//! address, a header, or the verified sender) with the GCRA algorithm of
//! [`governor`]: a [`Quota`] of so many requests per period, with a burst. A request
//! over the quota gets a `429 Too Many Requests` response from the layer and never
//! reaches the inner service.
//!
//! ```
//! use std::convert::Infallible;
//! use std::net::SocketAddr;
//! use std::num::NonZeroU32;
//! use http::{Request, Response, StatusCode};
//! use tower::{ServiceBuilder, ServiceExt};
//! use webhook_ratelimit::{PeerIp, Quota, RateLimitLayer};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! // 60 requests a minute per client address, at most 2 at once.
//! let quota = Quota::per_minute(NonZeroU32::new(60).unwrap()).allow_burst(NonZeroU32::new(2).unwrap());
//! let layer = RateLimitLayer::builder(quota).key(PeerIp::new()).build().unwrap();
//!
//! let service = ServiceBuilder::new()
//!     .layer(layer)
//!     .service_fn(|_: Request<String>| async { Ok::<_, Infallible>(Response::new(String::from("ok"))) });
//!
//! let request = || {
//!     let mut request = Request::post("/webhooks").body(String::new()).unwrap();
//!     // What servers record for each connection (axum: `ConnectInfo`, feature `axum`).
//!     request.extensions_mut().insert("192.0.2.7:50000".parse::<SocketAddr>().unwrap());
//!     request
//! };
//! assert_eq!(service.clone().oneshot(request()).await.unwrap().status(), StatusCode::OK);
//! assert_eq!(service.clone().oneshot(request()).await.unwrap().status(), StatusCode::OK);
//!
//! let limited = service.oneshot(request()).await.unwrap();
//! assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
//! assert_eq!(limited.headers()["retry-after"], "1");
//! assert_eq!(limited.headers()["ratelimit-policy"], r#""default";q=2;w=2"#);
//! assert_eq!(limited.headers()["ratelimit"], r#""default";r=0;t=1"#);
//! assert_eq!(limited.headers()["content-type"], "application/problem+json");
//! # }
//! ```
//!
//! # Keys
//!
//! [`Global`], [`PeerIp`] (with `X-Forwarded-For` / `Forwarded` honoured only from
//! the [`TrustedProxies`] you name, the same value the HTTPS guard takes), [`HeaderKey`],
//! [`VerifiedSource`] (the scheme and key id from the signature layer's
//! [`VerifiedDelivery`](webhook_core::VerifiedDelivery) marker), or any closure
//! `Fn(&RequestHead<'_>) -> Option<Key>`. A request without a key is refused with 500
//! `rate_limit_key_missing` by default, since it means a deployment mistake; see
//! [`RateLimitLayerBuilder::missing_key`].
//!
//! [`KeyExtractor`], [`RequestHead`], [`HeaderKey`] and [`MissingKeyPolicy`] are
//! `webhook-core`'s, shared with the idempotency layer: a rate-limit key and an event
//! id are both a key read from the request head, of a different type
//! (`KeyExtractor<Key>` here, `KeyExtractor<String>` there), so one trait, one header
//! rule and one policy serve both.
//!
//! # Placement
//!
//! Use two layers:
//!
//! 1. a cheap **global or per-IP limit before signature verification**: it refuses a
//!    flood before the signature layer buffers bodies and computes HMACs;
//! 2. a **per-source limit after it** ([`VerifiedSource`]): only authentic deliveries
//!    are counted, so nobody can spend a sender's quota by forging its requests.
//!
//! ```
//! use std::num::NonZeroU32;
//! use tower::ServiceBuilder;
//! use webhook_ratelimit::{PeerIp, Quota, RateLimitLayer, VerifiedSource};
//! use webhook_signature::{Verifier, VerifySignatureLayer, scheme::HopNow};
//!
//! let per_ip = RateLimitLayer::builder(Quota::per_second(NonZeroU32::new(50).unwrap()))
//!     .key(PeerIp::new())
//!     .policy_name("per-ip")
//!     .build()
//!     .unwrap();
//! let per_source = RateLimitLayer::builder(Quota::per_minute(NonZeroU32::new(100).unwrap()))
//!     .key(VerifiedSource)
//!     .policy_name("per-source")
//!     .build()
//!     .unwrap();
//! let verifier = Verifier::builder(HopNow).secret("sender-a", "secret").build().unwrap();
//!
//! let stack = ServiceBuilder::new()
//!     .layer(per_ip) // outermost: runs first
//!     .layer(VerifySignatureLayer::new(verifier))
//!     .layer(per_source); // sees only verified deliveries
//! # drop(stack);
//! ```
//!
//! # Responses
//!
//! Over the limit: `429`, `Retry-After` in whole seconds (rounded up), the
//! `RateLimit-Policy` and `RateLimit` fields of
//! [draft-ietf-httpapi-ratelimit-headers-11](https://datatracker.ietf.org/doc/draft-ietf-httpapi-ratelimit-headers/)
//! (`RateLimit-Policy: "default";q=<burst>;w=<seconds to refill the burst>`,
//! `RateLimit: "default";r=<remaining>;t=<seconds>`), and an
//! `application/problem+json` body with `code: "rate_limited"`. A gRPC request
//! (`content-type: application/grpc*`) gets HTTP 200 with `grpc-status: 8`
//! (`RESOURCE_EXHAUSTED`) and a `grpc-message` instead, which tonic clients read as a
//! status. The layer never returns an error of its own and never applies
//! back-pressure through `poll_ready`. See [`RateLimitRejection`] for every case.
//!
//! # Backends
//!
//! The limiter state is built once and shared by every clone of the layer.
//! [`GovernorLimiter`] keeps it in memory and removes stale keys by itself (see its
//! memory bound); `RedisRateLimiter` (feature `redis`) keeps it in Redis for a fleet,
//! one round trip per request, with an explicit policy for when Redis is down. Both
//! sit behind [`Backend`], so the layer's type does not depend on the backend (a
//! [`GovernorLimiter`] on the default clock is still called directly, without dynamic
//! dispatch).
//!
//! # Tests
//!
//! Inject governor's fake clock to test without sleeping:
//!
//! ```
//! use std::num::NonZeroU32;
//! use std::time::Duration;
//! use webhook_ratelimit::clock::FakeRelativeClock;
//! use webhook_ratelimit::{GovernorLimiter, Quota, RateLimitLayer};
//!
//! let clock = FakeRelativeClock::default();
//! let quota = Quota::per_second(NonZeroU32::new(5).unwrap());
//! let layer = RateLimitLayer::builder_with(GovernorLimiter::with_clock(quota, clock.clone()))
//!     .build()
//!     .unwrap();
//! clock.advance(Duration::from_millis(200)); // one more request conforms
//! # drop(layer);
//! ```
//!
//! # Features
//!
//! - `redis`: `RedisRateLimiter`, the Redis backend, on a `webhook_core::redis::RedisConnection`.
//! - `redis-cluster`: the Redis backend on a Redis Cluster connection.
//! - `axum`: [`PeerIp`] reads axum's `ConnectInfo<SocketAddr>` (through `webhook-core`'s
//!   feature `axum`); rejections implement
//!   `IntoResponse`.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod backend;
mod extract;
mod future;
mod key;
mod layer;
mod peer;
#[cfg(feature = "redis")]
mod redis_backend;
mod rejection;
mod service;

pub use backend::{
    Allowance, Backend, Check, Decision, GovernorLimiter, HOUSEKEEPING_EVERY, HOUSEKEEPING_MIN_KEYS,
};
pub use extract::{Global, VerifiedSource};
pub use future::ResponseFuture;
pub use governor::Quota;
pub use key::Key;
pub use layer::{ConfigError, RateLimitLayer, RateLimitLayerBuilder};
pub use peer::PeerIp;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use redis_backend::{
    BackendErrorPolicy, DEFAULT_KEY_PREFIX, DEFAULT_OPERATION_TIMEOUT, RedisRateLimiter,
    RedisRateLimiterBuilder,
};
pub use rejection::RateLimitRejection;
pub use service::RateLimit;

/// Clocks for [`GovernorLimiter::with_clock`]: governor's `DefaultClock`, and
/// `FakeRelativeClock` for deterministic tests.
pub mod clock {
    pub use governor::clock::{Clock, DefaultClock, FakeRelativeClock, QuantaClock, Reference};
}
pub use webhook_core::net::{IpNet, PeerLookup, ProxyHeader, TrustedProxies};
pub use webhook_core::{HeaderKey, KeyExtractor, MissingKeyPolicy, RequestHead};
