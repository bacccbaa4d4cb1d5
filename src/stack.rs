//! [`WebhookStack`]: every layer in the right order, as one tower layer.

use tower_layer::{Identity, Layer};

use crate::signature::{VerifySignature, VerifySignatureLayer};

/// Stacks the webhook layers in the right order with one call, whatever order the
/// builder methods are called in, as a single tower [`Layer`] for axum
/// (`Router::layer`), hyper (`ServiceBuilder::layer`) and tonic
/// (`Server::builder().layer`).
///
/// Outermost first:
///
/// 1. [`observe`](Self::observe): tracing and metrics around everything;
/// 2. [`require_https`](Self::require_https): refuse deliveries that did not come
///    over TLS;
/// 3. [`limit_before_verification`](Self::limit_before_verification): a cheap global
///    or per-IP limit that protects CPU and buffering from floods and forgeries;
/// 4. signature verification (required: every later layer reads the
///    [`VerifiedDelivery`](crate::core::VerifiedDelivery) marker it sets);
/// 5. [`limit_per_source`](Self::limit_per_source): a limit keyed by the verified
///    source, which forged deliveries cannot exhaust;
/// 6. [`idempotency`](Self::idempotency): each delivery processed once;
/// 7. your handler (an axum route, an `EventRouter`, the queue's `Enqueue`).
///
/// Each piece but verification is optional; a piece left out costs nothing (it is
/// `tower_layer::Identity`). Every slot takes any tower layer, so a `tower-http`
/// timeout or a custom guard can stand in one.
///
/// ```
/// use std::num::NonZeroU32;
/// use axum::{Router, routing::post};
/// use tower_webhook::WebhookStack;
/// use tower_webhook::idempotency::IdempotencyLayer;
/// use tower_webhook::ratelimit::{Global, PeerIp, Quota, RateLimitLayer, VerifiedSource};
/// use tower_webhook::signature::{Verifier, VerifySignatureLayer, scheme::Stripe};
///
/// let verifier = Verifier::builder(Stripe).secret("2025-11", "whsec_test").build().unwrap();
/// let per_source = RateLimitLayer::builder(Quota::per_minute(NonZeroU32::new(600).unwrap()))
///     .key(VerifiedSource)
///     .build()
///     .unwrap();
/// let flood = RateLimitLayer::builder(Quota::per_second(NonZeroU32::new(1000).unwrap()))
///     .key(Global)
///     .build()
///     .unwrap();
///
/// let stack = WebhookStack::new(VerifySignatureLayer::new(verifier))
///     .idempotency(IdempotencyLayer::in_memory()) // the call order does not matter
///     .limit_per_source(per_source)
///     .limit_before_verification(flood);
/// let app: Router = Router::new().route("/webhooks", post(|| async { "ok" })).layer(stack);
/// # drop(app);
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct WebhookStack<
    Observe = Identity,
    Https = Identity,
    Before = Identity,
    PerSource = Identity,
    Idempotency = Identity,
> {
    observe: Observe,
    https: Https,
    before: Before,
    verify: VerifySignatureLayer,
    per_source: PerSource,
    idempotency: Idempotency,
}

impl WebhookStack {
    /// A stack that verifies signatures, with every optional piece left out.
    pub fn new(verify: VerifySignatureLayer) -> Self {
        Self {
            observe: Identity::new(),
            https: Identity::new(),
            before: Identity::new(),
            verify,
            per_source: Identity::new(),
            idempotency: Identity::new(),
        }
    }
}

impl<O, H, B, P, I> WebhookStack<O, H, B, P, I> {
    /// The outermost layer: tracing and metrics (`webhook_observe::ObserveLayer`).
    pub fn observe<L>(self, layer: L) -> WebhookStack<L, H, B, P, I> {
        WebhookStack {
            observe: layer,
            https: self.https,
            before: self.before,
            verify: self.verify,
            per_source: self.per_source,
            idempotency: self.idempotency,
        }
    }

    /// Refuses deliveries that did not arrive over TLS (`RequireHttpsLayer`).
    pub fn require_https<L>(self, layer: L) -> WebhookStack<O, L, B, P, I> {
        WebhookStack {
            observe: self.observe,
            https: layer,
            before: self.before,
            verify: self.verify,
            per_source: self.per_source,
            idempotency: self.idempotency,
        }
    }

    /// A limit applied before verification, keyed globally or by peer IP
    /// (`RateLimitLayer` with `Global` or `PeerIp`).
    pub fn limit_before_verification<L>(self, layer: L) -> WebhookStack<O, H, L, P, I> {
        WebhookStack {
            observe: self.observe,
            https: self.https,
            before: layer,
            verify: self.verify,
            per_source: self.per_source,
            idempotency: self.idempotency,
        }
    }

    /// A limit applied after verification, keyed by the verified source
    /// (`RateLimitLayer` with `VerifiedSource`).
    pub fn limit_per_source<L>(self, layer: L) -> WebhookStack<O, H, B, L, I> {
        WebhookStack {
            observe: self.observe,
            https: self.https,
            before: self.before,
            verify: self.verify,
            per_source: layer,
            idempotency: self.idempotency,
        }
    }

    /// Each delivery processed once (`IdempotencyLayer`).
    pub fn idempotency<L>(self, layer: L) -> WebhookStack<O, H, B, P, L> {
        WebhookStack {
            observe: self.observe,
            https: self.https,
            before: self.before,
            verify: self.verify,
            per_source: self.per_source,
            idempotency: layer,
        }
    }
}

impl<S, O, H, B, P, I> Layer<S> for WebhookStack<O, H, B, P, I>
where
    I: Layer<S>,
    P: Layer<I::Service>,
    B: Layer<VerifySignature<P::Service>>,
    H: Layer<B::Service>,
    O: Layer<H::Service>,
{
    type Service = O::Service;

    fn layer(&self, handler: S) -> Self::Service {
        let service = self.idempotency.layer(handler);
        let service = self.per_source.layer(service);
        let service = self.verify.layer(service);
        let service = self.before.layer(service);
        let service = self.https.layer(service);
        self.observe.layer(service)
    }
}
