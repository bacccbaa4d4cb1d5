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

use hmac::{KeyInit, Mac};
use http::{HeaderMap, HeaderName, HeaderValue};
use smallvec::SmallVec;

use crate::{ConfigError, SignatureRejection};

mod generic;
mod github;
mod hopnow;
mod shopify;
mod slack;
mod standard;
mod stripe;

pub use generic::{Encoding, GenericHmac, GenericHmacBuilder};
pub use github::GitHub;
pub use hopnow::HopNow;
pub use shopify::Shopify;
pub use slack::Slack;
pub use standard::StandardWebhooks;
pub use stripe::Stripe;

/// HMAC-SHA256, the MAC every built-in scheme uses.
pub type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// An HMAC-SHA256 tag: 32 bytes.
pub type Tag = [u8; 32];

/// A signature scheme. Implement it to verify a provider this crate does not know.
///
/// `parse` reads the headers into a [`Signed`]: the presented signatures, decoded to
/// raw 32-byte tags, and the pieces of content signed before the body. The verifier
/// then checks the timestamp, computes `HMAC-SHA256(key, pieces || body)` for each key
/// and compares in constant time.
///
/// ```
/// use http::{HeaderMap, HeaderName};
/// use webhook_signature::scheme::{Scheme, SignRequest, Signed, decode_hex_tag, hmac_tag, single_header};
/// use webhook_signature::SignatureRejection;
///
/// /// `X-Acme-Signature: <hex of HMAC(secret, body)>`
/// struct Acme;
///
/// static HEADER: HeaderName = HeaderName::from_static("x-acme-signature");
///
/// impl Scheme for Acme {
///     fn name(&self) -> &'static str { "acme" }
///     fn signed_content(&self) -> &'static str { "the raw body" }
///     fn parse<'a>(&'a self, headers: &'a HeaderMap) -> Result<Signed<'a>, SignatureRejection> {
///         let value = single_header(headers, &HEADER)?
///             .ok_or_else(|| SignatureRejection::MissingSignature { header: HEADER.clone() })?;
///         let mut signed = Signed::new();
///         signed.push_signature(decode_hex_tag(value)?);
///         Ok(signed)
///     }
///     fn sign(&self, secret: &[u8], request: &SignRequest<'_>) -> Result<HeaderMap, http::header::InvalidHeaderValue> {
///         let tag = hmac_tag(secret, &[], request.body);
///         let mut headers = HeaderMap::new();
///         headers.insert(HEADER.clone(), hex::encode(tag).parse()?);
///         Ok(headers)
///     }
/// }
///
/// let verifier = webhook_signature::Verifier::builder(Acme).secret("k1", "s3cret").build().unwrap();
/// let signer = webhook_signature::Signer::new(Acme, "s3cret").unwrap();
/// let headers = signer.sign(b"{}", 0, "evt").unwrap();
/// let delivery = verifier.verify(&headers, &bytes::Bytes::from_static(b"{}")).unwrap();
/// assert_eq!(delivery.key_id().as_str(), "k1");
/// ```
pub trait Scheme: Send + Sync + 'static {
    /// The scheme's name, recorded in the verified-delivery marker (`"stripe"`).
    fn name(&self) -> &'static str;

    /// A short description of the signed content, shown when no key matches so a user
    /// can find why (for example ``"`<t>.<body>`, t from `Stripe-Signature`"``).
    fn signed_content(&self) -> &'static str;

    /// Turns a configured secret into the HMAC key. The default uses its UTF-8 bytes.
    fn decode_secret(&self, secret: &str) -> Result<Vec<u8>, ConfigError> {
        Ok(secret.as_bytes().to_vec())
    }

    /// Reads the signatures, timestamp, event id and signed prefix from the headers.
    fn parse<'a>(&'a self, headers: &'a HeaderMap) -> Result<Signed<'a>, SignatureRejection>;

    /// Produces the headers a sender would attach, signing with the decoded `secret`.
    fn sign(
        &self,
        secret: &[u8],
        request: &SignRequest<'_>,
    ) -> Result<HeaderMap, http::header::InvalidHeaderValue>;
}

impl<T: Scheme + ?Sized> Scheme for Box<T> {
    fn name(&self) -> &'static str {
        (**self).name()
    }
    fn signed_content(&self) -> &'static str {
        (**self).signed_content()
    }
    fn decode_secret(&self, secret: &str) -> Result<Vec<u8>, ConfigError> {
        (**self).decode_secret(secret)
    }
    fn parse<'a>(&'a self, headers: &'a HeaderMap) -> Result<Signed<'a>, SignatureRejection> {
        (**self).parse(headers)
    }
    fn sign(
        &self,
        secret: &[u8],
        request: &SignRequest<'_>,
    ) -> Result<HeaderMap, http::header::InvalidHeaderValue> {
        (**self).sign(secret, request)
    }
}

/// What to sign: the body, and the timestamp and id for schemes that sign them.
#[derive(Debug, Clone, Copy)]
pub struct SignRequest<'a> {
    /// The raw body.
    pub body: &'a [u8],
    /// Unix seconds (ignored by schemes without a timestamp).
    pub timestamp: i64,
    /// The message id (ignored by schemes without one).
    pub id: &'a str,
}

/// What a scheme read from a request's headers.
#[derive(Debug, Default)]
pub struct Signed<'a> {
    signatures: SmallVec<[Tag; 2]>,
    prefix: SmallVec<[&'a [u8]; 4]>,
    timestamp: Option<i64>,
    event_id: Option<&'a str>,
}

impl<'a> Signed<'a> {
    /// Nothing read yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a presented signature; the delivery verifies if any one matches.
    pub fn push_signature(&mut self, tag: Tag) {
        self.signatures.push(tag);
    }

    /// Appends a piece of the content signed before the body.
    pub fn push_prefix(&mut self, piece: &'a [u8]) {
        self.prefix.push(piece);
    }

    /// Records the signed timestamp (Unix seconds): the verifier enforces its tolerance.
    pub fn set_timestamp(&mut self, unix_seconds: i64) {
        self.timestamp = Some(unix_seconds);
    }

    /// Records the event id the headers carry.
    pub fn set_event_id(&mut self, id: &'a str) {
        self.event_id = Some(id);
    }

    /// The presented signatures.
    pub fn signatures(&self) -> &[Tag] {
        &self.signatures
    }

    /// The pieces signed before the body, in order.
    pub fn prefix(&self) -> &[&'a [u8]] {
        &self.prefix
    }

    /// The signed timestamp.
    pub fn timestamp(&self) -> Option<i64> {
        self.timestamp
    }

    /// The event id.
    pub fn event_id(&self) -> Option<&'a str> {
        self.event_id
    }
}

/// HMAC-SHA256 of `prefix pieces || body` under `key`.
pub fn hmac_tag(key: &[u8], prefix: &[&[u8]], body: &[u8]) -> Tag {
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(key).expect("HMAC accepts any key length");
    for piece in prefix {
        mac.update(piece);
    }
    mac.update(body);
    mac.finalize().into_bytes().into()
}

/// The one value of a header, or `None` when absent.
///
/// Several copies with the same value count as one; copies that differ are
/// [`SignatureRejection::ConflictingHeaders`]. A value that is not visible ASCII is
/// [`SignatureRejection::MalformedHeader`].
pub fn single_header<'h>(
    headers: &'h HeaderMap,
    name: &HeaderName,
) -> Result<Option<&'h str>, SignatureRejection> {
    let mut values = headers.get_all(name).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.any(|other| other != first) {
        return Err(SignatureRejection::ConflictingHeaders { header: name.clone() });
    }
    header_str(first, name).map(Some)
}

fn header_str<'h>(value: &'h HeaderValue, name: &HeaderName) -> Result<&'h str, SignatureRejection> {
    value.to_str().map(str::trim).map_err(|_| SignatureRejection::MalformedHeader {
        header: name.clone(),
        reason: "not visible ASCII",
    })
}

/// Parses a Unix timestamp in seconds: ASCII digits only.
pub fn parse_timestamp(value: &str, header: &HeaderName) -> Result<i64, SignatureRejection> {
    let malformed = || SignatureRejection::MalformedHeader {
        header: header.clone(),
        reason: "expected a Unix timestamp in seconds",
    };
    if value.is_empty() || value.len() > 18 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(malformed());
    }
    value.parse().map_err(|_| malformed())
}

/// Decodes a hex signature (either case) to a tag, checking its length first.
pub fn decode_hex_tag(text: &str) -> Result<Tag, SignatureRejection> {
    if text.is_empty() {
        return Err(SignatureRejection::MalformedSignature { reason: "empty signature" });
    }
    if text.len() != 64 {
        return Err(SignatureRejection::MalformedSignature {
            reason: "expected 64 hex characters (32 bytes)",
        });
    }
    let mut tag = [0u8; 32];
    hex::decode_to_slice(text, &mut tag)
        .map_err(|_| SignatureRejection::MalformedSignature { reason: "not hexadecimal" })?;
    Ok(tag)
}

/// Decodes a standard, padded base64 signature to a tag, checking its length.
pub fn decode_base64_tag(text: &str) -> Result<Tag, SignatureRejection> {
    use base64::Engine as _;
    if text.is_empty() {
        return Err(SignatureRejection::MalformedSignature { reason: "empty signature" });
    }
    if text.len() != 44 {
        return Err(SignatureRejection::MalformedSignature {
            reason: "expected 44 base64 characters (32 bytes)",
        });
    }
    let mut buf = [0u8; 33];
    let len = base64::engine::general_purpose::STANDARD
        .decode_slice(text, &mut buf)
        .map_err(|_| SignatureRejection::MalformedSignature { reason: "not base64" })?;
    if len != 32 {
        return Err(SignatureRejection::MalformedSignature {
            reason: "expected 44 base64 characters (32 bytes)",
        });
    }
    let mut tag = [0u8; 32];
    tag.copy_from_slice(&buf[..32]);
    Ok(tag)
}

/// Encodes a tag as standard, padded base64.
pub fn encode_base64(tag: &Tag) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(tag)
}

/// The built-in scheme called `name`: `hopnow`, `github`, `stripe`, `standard`
/// (also `standardwebhooks`, `svix`), `slack` or `shopify`.
pub fn by_name(name: &str) -> Option<Box<dyn Scheme>> {
    Some(match name.to_ascii_lowercase().as_str() {
        "hopnow" => Box::new(HopNow),
        "github" => Box::new(GitHub),
        "stripe" => Box::new(Stripe),
        "standard" | "standardwebhooks" | "standard-webhooks" | "svix" => Box::new(StandardWebhooks),
        "slack" => Box::new(Slack),
        "shopify" => Box::new(Shopify),
        _ => return None,
    })
}

/// The names [`by_name`] accepts, for help texts.
pub const NAMES: &[&str] = &["hopnow", "github", "stripe", "standard", "slack", "shopify"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_tags_are_length_checked_before_decoding() {
        let good = "a".repeat(64);
        assert!(decode_hex_tag(&good).is_ok());
        assert!(decode_hex_tag(&"A".repeat(64)).is_ok());
        for bad in ["", "ab", &"a".repeat(62), &"a".repeat(66), &"g".repeat(64)] {
            assert!(
                matches!(decode_hex_tag(bad), Err(SignatureRejection::MalformedSignature { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn base64_tags_are_length_checked_before_decoding() {
        let good = encode_base64(&[7u8; 32]);
        assert_eq!(decode_base64_tag(&good).unwrap(), [7u8; 32]);
        for bad in ["", "AAAA", &good[..43], &format!("{good}A"), &"!".repeat(44)] {
            assert!(
                matches!(decode_base64_tag(bad), Err(SignatureRejection::MalformedSignature { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn conflicting_copies_of_a_header_are_refused_identical_ones_accepted() {
        let name = HeaderName::from_static("x-sig");
        let mut headers = HeaderMap::new();
        headers.append(&name, HeaderValue::from_static("a"));
        headers.append(&name, HeaderValue::from_static("a"));
        assert_eq!(single_header(&headers, &name).unwrap(), Some("a"));
        headers.append(&name, HeaderValue::from_static("b"));
        assert!(matches!(
            single_header(&headers, &name),
            Err(SignatureRejection::ConflictingHeaders { .. })
        ));
    }

    #[test]
    fn timestamps_are_plain_digits() {
        let name = HeaderName::from_static("t");
        assert_eq!(parse_timestamp("1700000000", &name).unwrap(), 1_700_000_000);
        for bad in ["", "-1", "+1", "1.5", "1e9", "99999999999999999999", " 1"] {
            assert!(parse_timestamp(bad, &name).is_err(), "{bad:?}");
        }
    }
}
