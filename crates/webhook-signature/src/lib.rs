//! Verify webhook signatures as a tower layer.
//!
//! [`VerifySignatureLayer`] buffers the request body under a size limit and a read
//! timeout, verifies its HMAC-SHA256 signature with one of several [schemes](scheme)
//! against a keyring of one or more secrets, and passes the exact verified bytes on,
//! with a [`VerifiedDelivery`](webhook_core::VerifiedDelivery) marker in the request
//! extensions. Anything else gets a [`SignatureRejection`] response and never reaches
//! the inner service.
//!
//! ```
//! use bytes::Bytes;
//! use http::{Request, Response, StatusCode};
//! use http_body_util::BodyExt;
//! use tower::{ServiceBuilder, ServiceExt};
//! use webhook_core::{VerifiedBody, VerifiedDelivery};
//! use webhook_signature::{Signer, Verifier, VerifySignatureLayer, scheme::HopNow};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let verifier = Verifier::builder(HopNow)
//!     .secret("2025-11", "new secret")
//!     .secret("2025-05", "old secret") // still accepted during the rotation
//!     .build()
//!     .unwrap();
//!
//! let service = ServiceBuilder::new()
//!     .layer(VerifySignatureLayer::new(verifier))
//!     .service_fn(|request: Request<VerifiedBody>| async move {
//!         let delivery = request.extensions().get::<VerifiedDelivery>().unwrap();
//!         let answer = format!("verified with {}", delivery.key_id());
//!         Ok::<_, std::convert::Infallible>(Response::new(answer))
//!     });
//!
//! let body = br#"{"id":"evt_1","type":"payout.completed"}"#;
//! let mut request = Request::post("/webhooks").body(String::from_utf8_lossy(body).into_owned()).unwrap();
//! let headers = Signer::new(HopNow, "old secret").unwrap().sign(body, 0, "").unwrap();
//! request.headers_mut().extend(headers);
//!
//! let response = service.clone().oneshot(request).await.unwrap();
//! assert_eq!(response.status(), StatusCode::OK);
//! let text = response.into_body().collect().await.unwrap().to_bytes();
//! assert_eq!(text, "verified with 2025-05");
//!
//! let forged = Request::post("/webhooks")
//!     .header("x-webhook-signature", "00".repeat(32))
//!     .body(String::from("{}"))
//!     .unwrap();
//! let response = service.oneshot(forged).await.unwrap();
//! assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
//! assert_eq!(response.headers()["content-type"], "application/problem+json");
//! # }
//! ```
//!
//! # What it checks
//!
//! - **Size and time**: a `Content-Length` above the limit (default 1 MiB) is refused
//!   with 413 before anything is read; a streamed body is cut off with 413 as soon as
//!   it passes the limit; a body still arriving after the read timeout (default 30 s)
//!   gets 408; a broken body 400.
//! - **Signatures**: the presented signature is decoded to bytes, its length checked,
//!   and compared in constant time (`subtle`) with the HMAC of each configured key.
//!   A header holding several signatures passes if one matches. A bare `v1,`, a
//!   truncated or over-long signature, text that is not hex or base64, and two copies
//!   of a header with different values are refused with 400.
//! - **Replay**: schemes that sign a timestamp are refused with 401 when it is more
//!   than the tolerance (default 300 s) before or after now; exactly at the tolerance
//!   passes.
//! - **Secrets**: several at once, each with a key id; the marker names the key that
//!   matched, so an operator can see when an old secret stops being used. They are
//!   decoded and absorbed into precomputed HMAC states when the verifier is built
//!   (which refuses an empty keyring or an empty secret), zeroized on drop, redacted
//!   in `Debug`, and never logged.
//!
//! # Performance
//!
//! `Verifier::verify` through the public API (headers parsed from a `HeaderMap`, body
//! in `Bytes`, one key, the marker built and dropped) against `raw`: HMAC-SHA256 of
//! the same signed content with the `hmac` and `sha2` crates, the key set up per
//! message. Ours / raw, measured side by side in one run on a shared 2-core Intel Xeon
//! with SHA-NI (`cargo bench -p webhook-signature --bench verify`; each sample keeps
//! the fastest chunk, see the bench's header):
//!
//! | scheme | 256 B | 4 KiB | 64 KiB | 1 MiB | `standardwebhooks` crate / ours |
//! |---|---:|---:|---:|---:|---|
//! | HopNow | 0.83x | 0.97x | 0.98x | 0.98x | |
//! | GitHub | 0.86x | 0.98x | 1.00x | 1.01x | |
//! | Stripe | 0.90x | 0.99x | 0.98x | 1.00x | |
//! | Standard Webhooks | 0.98x | 0.95x | 1.00x | 1.00x | 6.1x, 5.7x, 5.7x, 5.7x slower |
//! | Slack | 0.98x | 0.98x | 1.00x | 1.00x | |
//! | Shopify | 0.82x | 0.97x | 0.99x | 0.99x | |
//!
//! Each secret is absorbed into its keyed HMAC core (`hmac`'s block-level
//! `HmacCore<Sha256>`: the `key ^ ipad` and `key ^ opad` states) when the verifier is
//! built; a message clones the core alone, with a fresh block buffer (two SHA-256
//! compressions saved, and no buffer to clone). A built-in scheme's usual delivery
//! (each header once, one well-formed signature) is read straight from the headers,
//! without building a [`scheme::Signed`] or a dynamic call; anything else takes
//! [`Scheme::parse`](scheme::Scheme::parse) and answers as before. The marker is built
//! where `verify` returns it, with key ids and event ids of up to 40 bytes copied into
//! it (no shared count to touch but the body's, and nothing read back while it is
//! still being written). At 256 B raw takes about 315-360 ns.
//!
//! Criterion's cells on this machine move by a few percent between neighbouring
//! groups, so the bench ends with an interleaved table (`VERIFY_BENCH_INTERLEAVED_ONLY=1`
//! prints it alone): raw and ours in turns, chunk against chunk. Standard Webhooks,
//! with the most to parse (three headers, base64, the id, the timestamp and clock
//! check), came out at 0.92-0.995x of raw at 256 B (ratio of the fastest chunks) in
//! nine processes, 0.99-1.00x at 4 KiB; the other schemes at 0.82-0.93x and
//! 0.98-0.99x. BENCHMARKS.md has the history.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod future;
mod layer;
mod mac;
mod read;
mod rejection;
pub mod scheme;
mod service;
mod verifier;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

pub use future::ResponseFuture;
pub use layer::{DEFAULT_BODY_LIMIT, DEFAULT_READ_TIMEOUT, VerifySignatureLayer};
pub use rejection::SignatureRejection;
pub use service::VerifySignature;
pub use verifier::{ConfigError, DEFAULT_TOLERANCE, SignError, Signer, Verifier, VerifierBuilder};
