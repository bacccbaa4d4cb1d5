//! Typed webhook events: the [`WebhookEvent<T>`] extractor, an [`EventRouter`] by event
//! type, and an [`OrderingGuard`] against events that arrive out of order.
//!
//! Everything here runs after the signature layer and reads its
//! [`VerifiedDelivery`](webhook_core::VerifiedDelivery) marker: the event is parsed
//! from the exact bytes that were verified, never buffered twice, and a request
//! without the marker is refused as a misconfiguration (500).
//!
//! A complete receiver as a tower stack: the signature layer, a router with one
//! handler for the payout events (an enum tagged by `type`), and the ordering guard.
//! `payout.created` arrives after `payout.completed` and is not applied:
//!
//! ```
//! use std::sync::Arc;
//!
//! use http::{Request, StatusCode};
//! use http_body_util::BodyExt;
//! use serde::Deserialize;
//! use tower::{ServiceBuilder, ServiceExt};
//! use webhook_event::{EventRouter, MemoryOrderingGuard, GuardDecision, OrderingGuard, Handled, WebhookEvent};
//! use webhook_signature::{Signer, Verifier, VerifySignatureLayer, scheme::HopNow};
//!
//! #[derive(Debug, Deserialize)]
//! struct Payout {
//!     payout_id: String,
//!     amount: u64,
//! }
//!
//! #[derive(Debug, Deserialize)]
//! #[serde(tag = "type", content = "data")]
//! enum PayoutEvent {
//!     #[serde(rename = "payout.created")]
//!     Created(Payout),
//!     #[serde(rename = "payout.completed")]
//!     Completed(Payout),
//! }
//!
//! impl PayoutEvent {
//!     fn payout(&self) -> &Payout {
//!         match self {
//!             Self::Created(payout) | Self::Completed(payout) => payout,
//!         }
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let guard: Arc<dyn OrderingGuard> = Arc::new(MemoryOrderingGuard::new());
//! let router = EventRouter::new().on_each(["payout.created", "payout.completed"], {
//!     let guard = guard.clone();
//!     move |event: WebhookEvent<PayoutEvent>| {
//!         let guard = guard.clone();
//!         async move {
//!             let entity = format!("payout:{}", event.data.payout().payout_id);
//!             match event.apply_if_newer(&guard, &entity).await? {
//!                 GuardDecision::Applied => Ok(Handled::Processed), // update the payout here
//!                 GuardDecision::Stale => Ok::<_, webhook_event::GuardError>(Handled::Stale),
//!             }
//!         }
//!     }
//! });
//!
//! let verifier = Verifier::builder(HopNow).secret("k1", "dev-secret").build().unwrap();
//! let service = ServiceBuilder::new().layer(VerifySignatureLayer::new(verifier)).service(router);
//!
//! let signer = Signer::new(HopNow, "dev-secret").unwrap();
//! let send = |body: &'static str| {
//!     let mut request = Request::post("/webhooks").body(body.to_owned()).unwrap();
//!     request.headers_mut().extend(signer.sign(body.as_bytes(), 0, "").unwrap());
//!     let service = service.clone();
//!     async move {
//!         let response = service.oneshot(request).await.unwrap();
//!         let status = response.status();
//!         (status, response.into_body().collect().await.unwrap().to_bytes())
//!     }
//! };
//!
//! let completed = r#"{"id":"evt_2","type":"payout.completed","created":"2025-11-02T10:05:00Z","data":{"payout_id":"po_1","amount":1200}}"#;
//! let created = r#"{"id":"evt_1","type":"payout.created","created":"2025-11-02T10:00:00Z","data":{"payout_id":"po_1","amount":1200}}"#;
//! assert_eq!(send(completed).await, (StatusCode::OK, r#"{"status":"processed"}"#.into()));
//! assert_eq!(send(created).await, (StatusCode::OK, r#"{"status":"stale"}"#.into()));
//!
//! // A type nobody handles: acknowledged, so the sender does not retry it for days.
//! let unknown = r#"{"id":"evt_3","type":"balance.available","created":1762077900,"data":{}}"#;
//! assert_eq!(send(unknown).await, (StatusCode::OK, r#"{"status":"ignored"}"#.into()));
//!
//! // `data` that does not match: 422 with the JSON path of the field.
//! let (status, body) = send(r#"{"id":"evt_4","type":"payout.created","created":1,"data":{"payout_id":"po_2","amount":"12"}}"#).await;
//! assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
//! let problem: serde_json::Value = serde_json::from_slice(&body).unwrap();
//! assert_eq!(problem["code"], "invalid_data");
//! assert!(problem["detail"].as_str().unwrap().contains("`data.amount`"));
//! # }
//! ```
//!
//! # The pieces
//!
//! - [`WebhookEvent<T>`]: the event's id, type, created time and payload `T`, read
//!   where the provider's [`Envelope`](webhook_core::envelope::Envelope) puts them
//!   (the signature layer attaches it to the marker): `{ id, type, created, data }`
//!   in the body for HopNow, Stripe and Standard Webhooks; GitHub's headers and whole
//!   body; Slack's `event_id` and `event`; and so on for every built-in provider (the
//!   README's "Envelopes" table). [`WebhookBatch<T>`] holds the events of a batch
//!   delivery (HubSpot, SendGrid).
//!   `created` is RFC 3339 text or Unix seconds. Framework-free constructors
//!   ([`WebhookEvent::from_parts`], [`WebhookEvent::from_request`],
//!   [`WebhookEvent::from_delivery`]) serve hyper and tonic; with the feature `axum`
//!   it is an axum extractor. [`UnverifiedWebhookEvent<T>`] is the explicit opt-out
//!   for local tools.
//! - [`EventRejection`]: 400 `malformed_json` (line and column), 422
//!   `invalid_envelope` / `invalid_data` (JSON path) / `unsupported_event_type`, 500
//!   `missing_verified_delivery`, as `application/problem+json`. A signed event whose
//!   `data` does not match the handler's type gets 422 `invalid_data`, which most
//!   senders retry for days; [`EventRejection::InvalidData`] says why that is the
//!   default and how to acknowledge such events instead.
//! - [`EventRouter`]: a tower service from `type` to handler; unknown types get
//!   `200 {"status":"ignored"}`.
//! - [`OrderingGuard`]: [`MemoryOrderingGuard`], and `RedisOrderingGuard` with the
//!   feature `redis`.
//!
//! # Features
//!
//! | feature | adds |
//! |---|---|
//! | `axum` | `FromRequestParts` for [`WebhookEvent`], `FromRequest` for [`UnverifiedWebhookEvent`], `IntoResponse` for the rejections and [`Handled`] |
//! | `redis` | `RedisOrderingGuard`, on a `webhook_core::redis::RedisConnection` |
//! | `redis-cluster` | `RedisOrderingGuard` on a Redis Cluster connection |
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub mod axum;
mod event;
pub mod ordering;
mod parse;
mod rejection;
pub mod router;

pub use event::{UnverifiedWebhookEvent, WebhookBatch, WebhookEvent};
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use ordering::RedisOrderingGuard;
pub use ordering::{
    GuardConfigError, GuardDecision, GuardError, GuardFuture, MemoryOrderingGuard, Newest,
    OrderingGuard,
};
pub use rejection::EventRejection;
pub use router::{EventRouter, FromDelivery, Handled, IntoEventResponse, RejectedEvent};
/// The type of [`WebhookEvent::created`], re-exported from the `time` crate.
pub use time::OffsetDateTime;
