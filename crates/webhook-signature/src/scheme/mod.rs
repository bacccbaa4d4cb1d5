//! Signature schemes: how each provider lays out its signature and signed content.
//!
//! Most providers are data: a [`GenericHmac`] description (where the signature,
//! timestamp and id are; HMAC-SHA1/256/512, Ed25519 or ECDSA P-256; hex or base64;
//! the signed content as a template over the body, timestamp, id, method and URL; the
//! provider's tolerance) verified by one engine. The schemes that differ in kind are
//! code: the reference [`HopNow`], [`GitHub`], [`Stripe`], [`StandardWebhooks`]
//! (`v1` HMAC and `v1a` Ed25519), [`Slack`] and [`Shopify`], each with a fast path;
//! [`Twilio`] (URL and sorted form parameters), [`Mailgun`] (the signature inside
//! the body) and [`GitLab`] (a signing token or a secret token). [`PROVIDERS`] lists
//! every provider by name, and [`by_name`] builds one; the repository's README has
//! the table of what each signs.
//!
//! A scheme only parses; the [`Verifier`](crate::Verifier) computes the tags and
//! compares them in constant time (or verifies an asymmetric signature with a public
//! key), so a custom scheme cannot get the comparison wrong.
//!
//! The module is laid out by responsibility: the [`Scheme`] trait and what it
//! exchanges with the verifier (`interface.rs`), algorithms, signatures and keys
//! (`algorithm.rs`), the MAC and its tag (`content.rs`), header lookup
//! (`header.rs`), decoding tags and timestamps (`decode.rs`), the verifier's fast
//! path (`fast.rs`), the declarative engine (`generic.rs`) and the providers
//! described with it (`providers.rs`), one file per scheme written as code, and the
//! registry (`registry.rs`: [`PROVIDERS`], [`by_name`]). The scheme files depend on
//! the helpers below them, and only the registry knows every scheme.

mod algorithm;
mod content;
mod decode;
pub mod envelopes;
mod fast;
mod header;
mod interface;
mod registry;

mod generic;
mod github;
mod gitlab;
mod hopnow;
mod mailgun;
mod providers;
mod shopify;
mod slack;
mod standard;
mod stripe;
mod twilio;

pub use algorithm::{Algorithm, PrivateKey, PublicKey, Signature};
pub use content::{HmacSha256, Tag, hmac_tag};
pub use decode::{decode_base64_tag, decode_hex_tag, encode_base64, parse_timestamp};
pub use fast::FastPath;
pub(crate) use fast::{Target, Usual};
pub use generic::{Encoding, GenericHmac, GenericHmacBuilder, TimeFormat};
pub use github::GitHub;
pub use gitlab::GitLab;
pub use header::{single_header, single_header_value};
pub use hopnow::HopNow;
pub use interface::{Delivery, Scheme, SignRequest, Signed};
pub use mailgun::Mailgun;
pub use registry::{NAMES, PROVIDERS, Provider, by_name};
pub use shopify::Shopify;
pub use slack::Slack;
pub use standard::StandardWebhooks;
pub use stripe::Stripe;
pub use twilio::Twilio;
