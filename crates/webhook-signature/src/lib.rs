//! Verify webhook signatures as a tower layer.
//!
//! [`VerifySignatureLayer`] buffers the request body under a size limit and a read
//! timeout, verifies its signature as its provider signs it (HMAC-SHA1/256/512,
//! Ed25519 or ECDSA P-256; about thirty [providers](scheme::PROVIDERS) by name)
//! against a keyring of one or more secrets or public keys, and passes the exact
//! verified bytes on,
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
//!   and compared in constant time (`subtle`) with the HMAC of each configured key,
//!   or verified with each public key (`ed25519-dalek`, `p256`).
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
//! - **The event's envelope**: the verified marker carries the scheme's
//!   [`Envelope`](webhook_core::envelope::Envelope) (`Scheme::envelope`; the built-in
//!   providers' are in [`scheme::envelopes`]), and its event id follows the family's
//!   one rule: the id the scheme signed, else the envelope's id members (a header,
//!   a body path, or the body's hash). The event crate reads type, created time and
//!   payload from the same envelope.
//!
//! # Handshakes
//!
//! Some providers send a setup request before any delivery, to prove the endpoint is
//! theirs; the layer answers it itself, and the inner service never sees it. Each is
//! on for its provider's scheme ([`Scheme::handshake`](scheme::Scheme::handshake);
//! [`GenericHmacBuilder::handshake`](scheme::GenericHmacBuilder::handshake) for a
//! scheme of your own) and off with
//! [`VerifierBuilder::handshakes(false)`](VerifierBuilder::handshakes). An answered
//! handshake carries its [`Handshake`](webhook_core::Handshake) in the response
//! extensions (`webhook-observe` counts it as `webhooks_handshakes_total{kind}` and
//! logs it).
//!
//! | provider | request | answer | signed? | restriction |
//! |---|---|---|---|---|
//! | Slack | `POST` `{"type":"url_verification","challenge":..}` | 200 `text/plain`: the challenge | yes: verified first, 401 if forged | challenge: token shape |
//! | Zoom | `POST` `{"event":"endpoint.url_validation","payload":{"plainToken":..}}` | 200 `application/json`: `{"plainToken":..,"encryptedToken":<hex HMAC-SHA256 of plainToken>}`, keyed with the secret that verified the request | yes: 401 if forged | plainToken: token shape (no `:`, so never Zoom's signed `v0:<ts>:<body>`) |
//! | X (Twitter) | `GET ?crc_token=..` | 200 `application/json`: `{"response_token":"sha256=<base64 HMAC-SHA256 of crc_token>"}`, keyed with the **first** secret of the keyring (the consumer secret X uses now) | no (X signs nothing) | crc_token: token shape (never a JSON object, so never an event body X signs) |
//! | Meta | `GET ?hub.mode=subscribe&hub.verify_token=..&hub.challenge=..` | 200 `text/plain`: the challenge, when the verify token is [`VerifierBuilder::verify_token`] (compared in constant time); else 403 `handshake_refused` | the verify token | challenge: token shape |
//! | Twitch | `POST`, `Twitch-Eventsub-Message-Type: webhook_callback_verification`, `{"challenge":..}` | 200 `text/plain`: the challenge | yes: 401 if forged | challenge: token shape |
//! | Dropbox | `GET ?challenge=..` | 200 `text/plain` with `X-Content-Type-Options: nosniff`: the challenge | no | challenge: token shape |
//! | Discord | `POST` interaction PING `{"type":1}`; webhook-events ping `{"type":0}` | 200 `application/json` `{"type":1}`; 204 | yes (Ed25519): 401 if forged | none needed: nothing is echoed or signed |
//!
//! The token shape is what the providers send: 1 to 256 characters of ASCII letters,
//! digits and `-_.~+/=`. Anything else is refused with 400 `invalid_handshake`,
//! whose message never repeats the text. The restriction keeps the answers from
//! being oracles: an answer computed with the signing key over text the caller chose
//! could otherwise be the signature of a forged delivery (X's CRC answer over a
//! `crc_token` equal to an event body is exactly that body's `sha256=` signature).
//! The echoes are restricted too, so a challenge is never markup or JSON.
//!
//! A `GET` handshake is answered before any body is read, on `GET` only and only when
//! its parameter is present (`crc_token`, `hub.mode=subscribe`, `challenge`); any
//! other request is verified as usual. A `POST` handshake is answered only once its
//! signature verified. Twitch's `revocation` is a signed notification: it goes on to
//! the inner service, and the layer logs it at `WARN` with the subscription's type
//! and status.
//!
//! # Performance
//!
//! Verification costs about what a plain HMAC-SHA256 of the same signed content costs,
//! or less: each secret is absorbed into its keyed HMAC core (`hmac`'s block-level
//! `HmacCore<Sha256>`: the `key ^ ipad` and `key ^ opad` states) when the verifier is
//! built, and a message clones the core alone, with a fresh block buffer, which saves
//! two SHA-256 compressions per message. A built-in scheme's usual delivery (each
//! header once, one well-formed signature) is read straight from the headers, without
//! building a [`scheme::Signed`] or a dynamic call; anything else is parsed in full by
//! [`Scheme::parse`](scheme::Scheme::parse), with the same answers. The marker
//! is built where `verify` returns it, with key ids and event ids of up to 40 bytes
//! copied into it, so it shares no count but the body's.
//!
//! `cargo bench -p webhook-signature --bench verify` measures every scheme against raw
//! HMAC and against the `standardwebhooks` crate; the repository's `BENCHMARKS.md`
//! ("Signature verification against raw HMAC") has the tables, the machines and how
//! to read them.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod future;
mod handshake;
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
