//! Shared vocabulary for the `tower-webhook` crates.
//!
//! Every layer in the family speaks the types defined here, and nothing else:
//!
//! - [`VerifiedDelivery`]: the marker the signature layer puts in the request
//!   extensions once a delivery is authentic. Later layers (idempotency, per-source
//!   rate limits, the typed event extractor) read it, never unverified input.
//!   Its [`event_id`](VerifiedDelivery::event_id) follows one rule for the whole
//!   family: the id the scheme carries, else the first of the provider's
//!   [`Envelope`](envelope::Envelope) id members that has a value (the body's
//!   top-level `"id"` for the standard envelope).
//! - [`Problem`] and [`Rejection`]: how a layer refuses a request. Each failure family
//!   is one `#[non_exhaustive]` enum declared with [`define_rejection!`], whose codes
//!   are all in [`REJECTION_CODES`]. A layer answers through [`refuse`]: logged once,
//!   rendered as `application/problem+json` with a stable machine-readable `code`, or
//!   with a `grpc-status` to a gRPC client.
//! - [`VerifiedBody`] (the exact verified bytes, as a request body) and
//!   [`ResponseBody`] (an inner service's body, or a layer's own rejection).
//! - What outer layers (metrics, tracing) learn from a response's extensions: the
//!   [`RejectionCode`] of a layer's own answer, and the signature layer copies the
//!   [`VerifiedDelivery`] of a verified request onto the inner service's response,
//!   and the event router adds the [`EventType`] it routed on. A replayed response
//!   carries the [`IDEMPOTENT_REPLAYED`] header. A setup handshake the signature
//!   layer answered carries its [`Handshake`].
//! - [`key`]: what the layers that group requests key on. [`KeyExtractor<K>`] reads a
//!   key from the [`RequestHead`]; the rate limiter and the idempotency layer both
//!   take one, differing only in the key type, and answer a request without a key
//!   with the same [`MissingKeyPolicy`]. [`HeaderKey`] serves both.
//! - [`net`]: the connection's peer address and the [`TrustedProxies`](net::TrustedProxies)
//!   whose forwarding headers are believed, shared by the rate limiter and the HTTPS
//!   guard.
//! - [`envelope`]: where each provider puts its event's id, type, created time and
//!   data; the signature layer attaches its scheme's [`Envelope`](envelope::Envelope)
//!   to the marker.
//! - [`json`]: one value read out of a JSON body without building a tree.
//! - [`table`]: [`SlabTable`](table::SlabTable), the compact-index hash table of the
//!   in-memory stores.
//! - `redis` (feature `redis`): the [`RedisConnection`](crate::redis::RedisConnection)
//!   every Redis backend of the family takes, one connection shareable by all of them;
//!   `rediss://` URLs with the feature `redis-tls`.
//!
//! ```
//! use bytes::Bytes;
//! use http::StatusCode;
//! use webhook_core::{KeyId, Problem, VerifiedDelivery};
//!
//! let delivery = VerifiedDelivery::new("hopnow", KeyId::from("current"), Bytes::from_static(b"{}"))
//!     .with_event_id("evt_1")
//!     .with_timestamp(1_700_000_000);
//! assert_eq!(delivery.scheme(), "hopnow");
//! assert_eq!(delivery.key_id().as_str(), "current");
//! assert_eq!(delivery.event_id(), Some("evt_1"));
//! assert_eq!(delivery.body(), &b"{}"[..]);
//!
//! let response = Problem::new(StatusCode::CONFLICT, "in_flight", "the delivery is being processed")
//!     .retry_after(1)
//!     .into_response();
//! assert_eq!(response.status(), StatusCode::CONFLICT);
//! assert_eq!(response.headers()["retry-after"], "1");
//! assert_eq!(response.headers()["content-type"], "application/problem+json");
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]

mod body;
mod delivery;
pub mod envelope;
mod handshake;
mod header;
pub mod json;
pub mod key;
pub mod net;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub mod redis;
mod rejection;
pub mod table;

pub use body::{BytesBody, ResponseBody, VerifiedBody};
pub use delivery::{EventType, KeyId, VerifiedDelivery};
pub use handshake::Handshake;
pub use header::IDEMPOTENT_REPLAYED;
pub use key::{BodyHashKey, HeaderKey, KeyExtractor, MissingKeyPolicy, RequestHead};
pub use rejection::{
    PROBLEM_JSON, Problem, REJECTION_CODES, RefusalLogged, Rejection, RejectionCode,
    RenderRejection, grpc_status_for, is_grpc, is_known_code, refuse, refuse_with,
};

#[doc(hidden)]
pub mod __private {
    pub use http;
}
