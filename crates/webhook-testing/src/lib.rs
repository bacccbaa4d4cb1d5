//! A test kit for webhook receivers built on the `tower-webhook` crates.
//!
//! - [`MockEvent`]: an event (`id`, `type`, `created`, `data`) rendered as the JSON a
//!   sender posts, and signed for any provider as an `http::Request` or as headers
//!   and body: [with a secret](MockEvent::sign), or [with a private
//!   key](MockEvent::sign_with_private_key) ([`TestKeyPair`]) for Discord, SendGrid
//!   and other asymmetric schemes, over the [URL](MockDelivery::uri) for the schemes
//!   that sign it. With the negative cases a receiver must refuse: a [corrupted
//!   signature](MockDelivery::corrupt_signature), a [shifted
//!   timestamp](MockDelivery::shift_timestamp), [another
//!   secret](MockDelivery::with_secret) or [private
//!   key](MockDelivery::with_private_key). Signing goes through
//!   [`webhook_signature::Signer`]: the kit computes no signature of its own.
//! - [`conformance`]: the shared signature conformance cases (published vectors and
//!   the attacks derived from them, and each provider's SDK vectors), with a loader
//!   and a checker.
//! - [`send`]: call a tower service (an axum router, a layered stack) with a request
//!   and read the whole response, in one line. With the feature `axum`,
//!   [`TestServer`] serves a router on a loopback port.
//!
//! ```
//! use std::convert::Infallible;
//! use std::sync::Arc;
//! use std::sync::atomic::{AtomicUsize, Ordering};
//! use http::{Request, Response, StatusCode};
//! use serde_json::{Value, json};
//! use tower::ServiceBuilder;
//! use webhook_core::VerifiedBody;
//! use webhook_idempotency::IdempotencyLayer;
//! use webhook_signature::{Verifier, VerifySignatureLayer, scheme::StandardWebhooks};
//! use webhook_testing::{MockEvent, send};
//!
//! const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let runs = Arc::new(AtomicUsize::new(0));
//! let counter = runs.clone();
//! let verifier = Verifier::builder(StandardWebhooks).secret("k1", SECRET).build().unwrap();
//! let mut receiver = ServiceBuilder::new()
//!     .layer(VerifySignatureLayer::new(verifier))
//!     .layer(IdempotencyLayer::in_memory())
//!     .service_fn(move |_: Request<VerifiedBody>| {
//!         counter.fetch_add(1, Ordering::SeqCst);
//!         async { Ok::<_, Infallible>(Response::new(r#"{"status":"processed"}"#.to_owned())) }
//!     });
//!
//! let event = MockEvent::new("payout.completed").data(json!({"payout_id": "po_1"}));
//! let delivery = event.clone().sign(StandardWebhooks, SECRET);
//!
//! let first = send(&mut receiver, delivery.request::<String>().unwrap()).await;
//! assert_eq!(first.status, StatusCode::OK);
//! assert_eq!(first.json::<Value>()["status"], "processed");
//!
//! let retry = send(&mut receiver, delivery.request::<String>().unwrap()).await;
//! assert!(retry.replayed());
//!
//! let stale = event.clone().sign(StandardWebhooks, SECRET).shift_timestamp(-301);
//! let response = send(&mut receiver, stale.request::<String>().unwrap()).await;
//! assert_eq!(response.status, StatusCode::UNAUTHORIZED);
//! assert_eq!(response.problem_code().as_deref(), Some("timestamp_out_of_tolerance"));
//!
//! assert_eq!(runs.load(Ordering::SeqCst), 1);
//! # }
//! ```
//!
//! # Features
//!
//! | feature | adds |
//! |---|---|
//! | `axum` | [`TestServer`]: an axum router on `127.0.0.1` at a free port |
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod conformance;
mod event;
mod keys;
mod send;
#[cfg(feature = "axum")]
mod server;

pub use event::{Created, InvalidCreated, MockDelivery, MockError, MockEvent, generate_id};
pub use keys::TestKeyPair;
pub use send::{SendError, TestResponse, send, try_send};
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub use server::TestServer;
