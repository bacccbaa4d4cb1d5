//! Signature schemes: how a provider lays out its signature headers and signed content.
//!
//! Every built-in scheme signs `prefix || body` with HMAC-SHA256, where the prefix is
//! built from headers (a timestamp, a message id) and literals. A scheme only parses;
//! the [`Verifier`](crate::Verifier) computes the tags and compares them in constant
//! time, so a custom scheme cannot get the comparison wrong.
//!
//! | scheme | signature header | signed content | secret |
//! |---|---|---|---|
//! | [`HopNow`] (reference) | `X-Webhook-Signature: <hex>` | `<body>` | as given |
//! | [`GitHub`] | `X-Hub-Signature-256: sha256=<hex>` | `<body>` | as given |
//! | [`Stripe`] | `Stripe-Signature: t=<unix>,v1=<hex>[,v1=...]` | `<t>.<body>` | as given |
//! | [`StandardWebhooks`] | `webhook-signature: v1,<base64> [...]` | `<id>.<timestamp>.<body>` | `whsec_<base64>` |
//! | [`Slack`] | `X-Slack-Signature: v0=<hex>` | `v0:<timestamp>:<body>` | as given |
//! | [`Shopify`] | `X-Shopify-Hmac-Sha256: <base64>` | `<body>` | as given |
//! | [`GenericHmac`] | configurable | configurable | as given |
//!
//! The module is laid out by responsibility: the [`Scheme`] trait and what it
//! exchanges with the verifier (`interface.rs`), the MAC and its tag (`content.rs`),
//! header lookup (`header.rs`), decoding tags and timestamps (`decode.rs`), the
//! verifier's fast path (`fast.rs`), one file per scheme, and the registry of
//! built-in schemes (`registry.rs`: the [`PROVIDERS`] table, [`by_name`]). The scheme files depend on the helpers below
//! them, and only the registry knows every scheme.

mod algorithm;
mod content;
mod decode;
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
pub(crate) use fast::Usual;
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
