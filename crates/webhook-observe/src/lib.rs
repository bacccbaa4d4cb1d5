//! Observability for webhook receivers: one `tracing` span per delivery, metrics
//! through the [`metrics`] facade (you choose the exporter), and alerting: a
//! Prometheus rules file and an in-process [`ErrorRateMonitor`].
//!
//! [`ObserveLayer`] goes outermost. It reads nothing from the request: everything it
//! records comes from the response the other layers produced, through the
//! vocabulary of `webhook-core` (the [`RejectionCode`](webhook_core::RejectionCode)
//! of a layer's refusal, the [`VerifiedDelivery`](webhook_core::VerifiedDelivery)
//! marker the signature layer copies onto the response, the
//! [`EventType`](webhook_core::EventType) the event router adds), so signature
//! headers and secrets never reach a span or a label.
//!
//! ```
//! use http::{Request, StatusCode};
//! use metrics_exporter_prometheus::PrometheusBuilder;
//! use tower::{ServiceBuilder, ServiceExt};
//! use webhook_event::{EventRouter, Handled, WebhookEvent};
//! use webhook_observe::ObserveLayer;
//! use webhook_signature::{Signer, Verifier, VerifySignatureLayer, scheme::HopNow};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! // Any `metrics` exporter; here Prometheus, rendered by hand.
//! let recorder = PrometheusBuilder::new().build_recorder();
//! let prometheus = recorder.handle();
//! metrics::set_global_recorder(recorder).unwrap();
//! webhook_observe::describe_metrics();
//!
//! let router = EventRouter::new().on("payout.completed", |_: WebhookEvent| async { Handled::Processed });
//! let verifier = Verifier::builder(HopNow).secret("2025-11", "dev-secret").build().unwrap();
//! let service = ServiceBuilder::new()
//!     .layer(ObserveLayer::builder().event_types(["payout.completed"]).build().unwrap())
//!     .layer(VerifySignatureLayer::new(verifier))
//!     .service(router);
//!
//! let body = r#"{"id":"evt_1","type":"payout.completed","created":1,"data":{}}"#;
//! let mut good = Request::post("/webhooks").body(body.to_owned()).unwrap();
//! good.headers_mut().extend(Signer::new(HopNow, "dev-secret").unwrap().sign(body.as_bytes(), 0, "").unwrap());
//! assert_eq!(service.clone().oneshot(good).await.unwrap().status(), StatusCode::OK);
//!
//! let forged = Request::post("/webhooks")
//!     .header("x-webhook-signature", "00".repeat(32))
//!     .body(body.to_owned())
//!     .unwrap();
//! assert_eq!(service.oneshot(forged).await.unwrap().status(), StatusCode::UNAUTHORIZED);
//!
//! let text = prometheus.render();
//! assert!(text.contains("webhooks_received_total 2"));
//! assert!(text.contains(r#"webhooks_verified_total{scheme="hopnow",key_id="2025-11"} 1"#));
//! assert!(text.contains(r#"webhooks_processed_total{event_type="payout.completed"} 1"#));
//! assert!(text.contains(r#"webhooks_rejected_total{reason="signature_mismatch"} 1"#));
//! # }
//! ```
//!
//! With `metrics-exporter-prometheus`, a recorder installed by `install_recorder` or
//! `build_recorder` keeps every histogram sample until the next render: call
//! `PrometheusHandle::run_upkeep` every few seconds (the reference receiver does), or
//! memory grows by a few bytes per delivery when nobody scrapes.
//!
//! # The span
//!
//! One span per delivery, `webhook.delivery`, entered while the inner layers run (their
//! own logs nest in it). Its level is `DEBUG` by default, as for `tower-http`'s
//! `TraceLayer`: a service logging at `INFO` records no span and pays almost nothing
//! for it (see [Cost](#cost)); [`ObserveLayerBuilder::span_level`] sets `INFO` where
//! a span per delivery is wanted (for a trace exporter, say). Its fields are filled
//! when the response comes back:
//!
//! | field | value |
//! |---|---|
//! | `event_id` | the event id the scheme carries (`webhook-id`, `X-GitHub-Delivery`), when it has one |
//! | `event_type` | the routed `type` |
//! | `scheme`, `key_id` | the scheme and the key that verified the delivery |
//! | `verified` | `true` when the signature was verified |
//! | `outcome` | `processed`, `rejected`, `duplicate`, `rate_limited`, `handshake` or `failed` ([`DeliveryOutcome`]) |
//! | `reason` | the rejection code, for `rejected` |
//! | `status` | the HTTP status (absent when the inner service returned `Err`) |
//! | `duration_ms` | from the call to the response head |
//!
//! An event closes each delivery, inside the span when it is recorded: `WARN` for
//! `rejected` and `rate_limited`, `ERROR` for `failed`, `INFO` for `handshake` (with
//! the handshake's label), `DEBUG` for `processed` and `duplicate`. It carries `outcome`, `status`, `reason` (for `rejected`), and
//! `event_id` and `event_type` when known, so a refusal logged at `INFO` without the
//! span still says which delivery it was.
//!
//! # The metrics
//!
//! | name | type | labels | recorded |
//! |---|---|---|---|
//! | `webhooks_received_total` | counter | | every request, when called |
//! | `webhooks_verified_total` | counter | `scheme`, `key_id` | the signature verified (whatever came next) |
//! | `webhooks_rejected_total` | counter | `reason` | a layer refused it ([`DeliveryOutcome::Rejected`]) |
//! | `webhooks_duplicates_total` | counter | | replayed, or 409 `in_flight` |
//! | `webhooks_rate_limited_total` | counter | | refused by a rate limit |
//! | `webhooks_handshakes_total` | counter | `kind` | a provider's setup handshake, answered by the signature layer ([`DeliveryOutcome::Handshake`]; `kind` is a [`Handshake`](webhook_core::Handshake) label such as `zoom_url_validation`) |
//! | `webhooks_processed_total` | counter | `event_type` | the handler answered 1xx to 3xx |
//! | `webhooks_failed_total` | counter | `event_type` | the handler answered 5xx, or `Err` |
//! | `webhook_processing_seconds` | histogram | `event_type` | processed and failed deliveries: time to the response head |
//! | `webhook_clock_skew_seconds` | histogram | | now minus the signed timestamp, for schemes that sign one |
//!
//! Label values are bounded, so a sender cannot create series at will: `event_type`
//! is one of the [allow-listed types](ObserveLayerBuilder::event_types), `other` for
//! any other type, or `unknown` when the stack failed before the router named it;
//! `reason` is one of [`REJECTION_CODES`](webhook_core::REJECTION_CODES) (plus [your own](ObserveLayerBuilder::reasons))
//! or `other`; `scheme` and `key_id` come from the verified marker, so only your
//! keyring's ids appear. Call [`describe_metrics`] once after installing a recorder to
//! give them help texts and units; for Prometheus, give the histograms buckets
//! ([`PROCESSING_SECONDS_BUCKETS`], [`CLOCK_SKEW_SECONDS_BUCKETS`]), or the exporter
//! renders summaries.
//!
//! Metrics and tracing can each be switched off ([`ObserveLayerBuilder::metrics`],
//! [`ObserveLayerBuilder::tracing`]).
//!
//! Under the global recorder, the layer registers each series once and keeps its
//! handle (a `counter!` call registers anew every time: with the Prometheus exporter,
//! a lookup and an allocation). Which recorder is the global one it learns at its
//! first delivery, so install the recorder before serving, as usual: a layer that
//! first ran before the recorder was installed, or under a local recorder
//! (`metrics::with_local_recorder`, as tests use), registers per delivery instead,
//! with the same result.
//!
//! # Alerting
//!
//! - `prometheus/alerts.yml` in this crate: the error ratio above 5 % over 15 minutes,
//!   a spike of signature rejections, and a retired key id still verifying deliveries
//!   (with how to mark a key retired). `promtool test rules prometheus/alerts_test.yml`
//!   runs its unit tests.
//! - [`ErrorRateMonitor`]: the same error ratio in process, with a callback, for
//!   services without Prometheus; [feed it from the layer](ObserveLayerBuilder::error_monitor)
//!   or by hand.
//!
//! # Cost
//!
//! `cargo bench -p webhook-observe --bench overhead` times the full in-memory stack
//! (rate limit, Standard Webhooks verification, idempotency, router) with the
//! Prometheus recorder and a `fmt` subscriber at `INFO`, the cases in alternating
//! batches. With its defaults (metrics on, the span at `DEBUG`) the layer adds a few
//! percent; a span at `INFO` costs the most, as the subscriber formats its fields
//! (BENCHMARKS.md, "Other figures"). Switch either off where it does not pay.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod future;
mod handles;
mod layer;
pub mod monitor;
mod outcome;
mod service;

pub use future::ResponseFuture;
pub use layer::{
    ConfigError, MAX_EVENT_TYPE_LEN, MAX_EVENT_TYPES, ObserveLayer, ObserveLayerBuilder,
};
pub use monitor::{ErrorRate, ErrorRateMonitor};
pub use outcome::{DeliveryOutcome, OTHER, UNKNOWN};
pub use service::Observe;

/// The metric names.
pub mod names {
    /// Counter: every request.
    pub const RECEIVED: &str = "webhooks_received_total";
    /// Counter, labels `scheme` and `key_id`: deliveries whose signature verified.
    pub const VERIFIED: &str = "webhooks_verified_total";
    /// Counter, label `reason`: deliveries a layer refused.
    pub const REJECTED: &str = "webhooks_rejected_total";
    /// Counter: duplicates (replayed, or in flight).
    pub const DUPLICATES: &str = "webhooks_duplicates_total";
    /// Counter: deliveries refused by a rate limit.
    pub const RATE_LIMITED: &str = "webhooks_rate_limited_total";
    /// Counter, label `kind`: setup handshakes the signature layer answered.
    pub const HANDSHAKES: &str = "webhooks_handshakes_total";
    /// Counter, label `event_type`: deliveries the handler processed.
    pub const PROCESSED: &str = "webhooks_processed_total";
    /// Counter, label `event_type`: deliveries whose processing failed.
    pub const FAILED: &str = "webhooks_failed_total";
    /// Histogram (seconds), label `event_type`: time to the response head of processed
    /// and failed deliveries.
    pub const PROCESSING_SECONDS: &str = "webhook_processing_seconds";
    /// Histogram (seconds): now minus the signed timestamp.
    pub const CLOCK_SKEW_SECONDS: &str = "webhook_clock_skew_seconds";
}

/// Suggested buckets for `webhook_processing_seconds`: 1 ms to 30 s.
pub const PROCESSING_SECONDS_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Suggested buckets for `webhook_clock_skew_seconds`: -5 min to +5 min (the default
/// replay tolerance), finer near zero.
pub const CLOCK_SKEW_SECONDS_BUCKETS: &[f64] = &[
    -300.0, -60.0, -10.0, -1.0, 0.0, 1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
];

/// Gives every metric of this crate its help text and unit, in the installed
/// recorder. Call it once, after installing the recorder.
pub fn describe_metrics() {
    use metrics::{Unit, describe_counter, describe_histogram};

    describe_counter!(names::RECEIVED, Unit::Count, "Webhook requests received.");
    describe_counter!(
        names::VERIFIED,
        Unit::Count,
        "Webhook deliveries whose signature verified, by scheme and key id."
    );
    describe_counter!(
        names::REJECTED,
        Unit::Count,
        "Webhook deliveries refused by a layer, by rejection code."
    );
    describe_counter!(
        names::DUPLICATES,
        Unit::Count,
        "Duplicate webhook deliveries (replayed, or still in flight)."
    );
    describe_counter!(
        names::RATE_LIMITED,
        Unit::Count,
        "Webhook deliveries refused by a rate limit."
    );
    describe_counter!(
        names::HANDSHAKES,
        Unit::Count,
        "Setup handshakes answered by the signature layer, by kind."
    );
    describe_counter!(
        names::PROCESSED,
        Unit::Count,
        "Webhook deliveries processed, by event type."
    );
    describe_counter!(
        names::FAILED,
        Unit::Count,
        "Webhook deliveries whose processing failed, by event type."
    );
    describe_histogram!(
        names::PROCESSING_SECONDS,
        Unit::Seconds,
        "Time to answer a processed or failed webhook delivery, by event type."
    );
    describe_histogram!(
        names::CLOCK_SKEW_SECONDS,
        Unit::Seconds,
        "Receiver clock minus the delivery's signed timestamp."
    );
}
