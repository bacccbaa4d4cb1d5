//! Tower middleware for receiving webhooks.
//!
//! This crate re-exports the family's small crates behind features of the same name,
//! so one dependency gives you every layer:
//!
//! | module | feature | what it does |
//! |---|---|---|
//! | [`core`] | always | the verified-delivery marker, bodies and the rejection vocabulary |
//! | [`signature`] | `signature` (default) | buffers the body and verifies HMAC-SHA256 signatures |
//! | [`idempotency`] | `idempotency` (default) | processes each delivery once; in memory, or Redis with `redis` |
//! | [`event`] | `event` (default) | the typed `WebhookEvent<T>` envelope, routing by event type, the out-of-order guard |
//! | [`queue`] | `queue` (default) | ack fast (202) and process durably: retries with backoff, dead letters; in memory or Redis Streams |
//! | [`observe`] | `observe` (default) | one tracing span per delivery, bounded `metrics`, an error-rate monitor |
//! | [`https`] | `https` (default) | refuses deliveries that did not arrive over TLS (trusted proxies only) |
//! | [`ratelimit`] | `ratelimit` (default) | rate limits on `governor` (global, peer IP, header, verified source), or Redis GCRA with `redis` |
//! | [`serve`] | `serve` (default) | serves the stack on a TCP listener with header read and idle timeouts, a connection cap, HTTP/2 limits and a graceful shutdown |
//!
//! The `redis` feature turns on the Redis backends of the enabled layers, each built on
//! a `core::redis::RedisConnection` (clones of one connection can serve them all), and
//! `redis-cluster` their Redis Cluster support (the queue needs a single server),
//! `redis-tls` `rediss://` URLs with a custom CA and client certificate;
//! `axum` adds axum extractors and `IntoResponse` impls (hyper and tonic users leave it
//! off and compile no axum).
//!
//! Stack the layers in this order (outermost first): tracing and metrics, HTTPS guard,
//! a cheap global or per-IP rate limit, signature verification, a per-source rate
//! limit, idempotency, then the handler; [`WebhookStack`] does it in one call. Layers
//! after verification read the [`VerifiedDelivery`](core::VerifiedDelivery) marker,
//! never unverified input.
//!
//! ```
//! use tower_webhook::signature::{Verifier, VerifySignatureLayer, scheme::GitHub};
//!
//! let verifier = Verifier::builder(GitHub)
//!     .secret("primary", "It's a Secret to Everybody")
//!     .build()
//!     .expect("a non-empty keyring");
//! let layer = VerifySignatureLayer::new(verifier);
//! # let _ = layer;
//! ```
//!
//! # Optional layers
//!
//! A layer that the configuration turns on or off takes one line: hand its `Option`
//! to an [`OptionalLayer`], in a [`WebhookStack`] slot or a `ServiceBuilder`. tower's
//! `option_layer` only fits layers whose service keeps the inner response type; most
//! layers here answer with their own body type, which [`OptionalLayer`] converts to
//! when the layer is left out.
//!
//! ```
//! use std::convert::Infallible;
//! use std::num::NonZeroU32;
//! use http::{Request, Response, StatusCode};
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//! use tower_webhook::{OptionalLayer, WebhookStack};
//! use tower_webhook::idempotency::IdempotencyLayer;
//! use tower_webhook::ratelimit::{Quota, RateLimitLayer, VerifiedSource};
//! use tower_webhook::signature::{Signer, Verifier, VerifySignatureLayer, scheme::HopNow};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! // From the configuration: one delivery a minute per source, no deduplication.
//! let per_minute = NonZeroU32::new(1);
//! let deduplicate = false;
//!
//! let rate_limit = per_minute.map(|n| {
//!     RateLimitLayer::builder(Quota::per_minute(n)).key(VerifiedSource).build().unwrap()
//! });
//! let idempotency = deduplicate.then(IdempotencyLayer::in_memory);
//! let verifier = Verifier::builder(HopNow).secret("current", "dev-secret").build().unwrap();
//! let stack = WebhookStack::new(VerifySignatureLayer::new(verifier))
//!     .limit_per_source(OptionalLayer::new(rate_limit))
//!     .idempotency(OptionalLayer::new(idempotency));
//! let receiver = ServiceBuilder::new().layer(stack).service(service_fn(|_| async {
//!     Ok::<_, Infallible>(Response::new(String::from("processed")))
//! }));
//!
//! let signer = Signer::new(HopNow, "dev-secret").unwrap();
//! let send = |body: &'static str| {
//!     let mut request = Request::post("/webhooks").body(body.to_owned()).unwrap();
//!     request.headers_mut().extend(signer.sign(body.as_bytes(), 0, "").unwrap());
//!     receiver.clone().oneshot(request)
//! };
//! let first = send(r#"{"id":"evt_1","type":"ping"}"#).await.unwrap();
//! assert_eq!(first.status(), StatusCode::OK);
//! let second = send(r#"{"id":"evt_2","type":"ping"}"#).await.unwrap();
//! assert_eq!(second.status(), StatusCode::TOO_MANY_REQUESTS);
//! # }
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]

pub use webhook_core as core;

pub mod optional;
pub use optional::OptionalLayer;

#[cfg(feature = "serve")]
#[cfg_attr(docsrs, doc(cfg(feature = "serve")))]
pub mod serve;

#[cfg(feature = "signature")]
mod stack;
#[cfg(feature = "signature")]
#[cfg_attr(docsrs, doc(cfg(feature = "signature")))]
pub use stack::WebhookStack;

#[cfg(feature = "signature")]
#[cfg_attr(docsrs, doc(cfg(feature = "signature")))]
pub use webhook_signature as signature;

#[cfg(feature = "idempotency")]
#[cfg_attr(docsrs, doc(cfg(feature = "idempotency")))]
pub use webhook_idempotency as idempotency;

#[cfg(feature = "event")]
#[cfg_attr(docsrs, doc(cfg(feature = "event")))]
pub use webhook_event as event;

#[cfg(feature = "ratelimit")]
#[cfg_attr(docsrs, doc(cfg(feature = "ratelimit")))]
pub use webhook_ratelimit as ratelimit;

#[cfg(feature = "queue")]
#[cfg_attr(docsrs, doc(cfg(feature = "queue")))]
pub use webhook_queue as queue;

#[cfg(feature = "observe")]
#[cfg_attr(docsrs, doc(cfg(feature = "observe")))]
pub use webhook_observe as observe;

#[cfg(feature = "https")]
#[cfg_attr(docsrs, doc(cfg(feature = "https")))]
pub use webhook_https as https;

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
