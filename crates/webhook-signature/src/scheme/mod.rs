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
    #[inline]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a presented signature; the delivery verifies if any one matches.
    #[inline]
    pub fn push_signature(&mut self, tag: Tag) {
        self.signatures.push(tag);
    }

    /// Appends a piece of the content signed before the body.
    #[inline]
    pub fn push_prefix(&mut self, piece: &'a [u8]) {
        self.prefix.push(piece);
    }

    /// Records the signed timestamp (Unix seconds): the verifier enforces its tolerance.
    #[inline]
    pub fn set_timestamp(&mut self, unix_seconds: i64) {
        self.timestamp = Some(unix_seconds);
    }

    /// Records the event id the headers carry.
    #[inline]
    pub fn set_event_id(&mut self, id: &'a str) {
        self.event_id = Some(id);
    }

    /// The presented signatures.
    #[inline]
    pub fn signatures(&self) -> &[Tag] {
        &self.signatures
    }

    /// The pieces signed before the body, in order.
    #[inline]
    pub fn prefix(&self) -> &[&'a [u8]] {
        &self.prefix
    }

    /// The signed timestamp.
    #[inline]
    pub fn timestamp(&self) -> Option<i64> {
        self.timestamp
    }

    /// The event id.
    #[inline]
    pub fn event_id(&self) -> Option<&'a str> {
        self.event_id
    }
}

/// HMAC-SHA256 of `prefix pieces || body` under `key`.
pub fn hmac_tag(key: &[u8], prefix: &[&[u8]], body: &[u8]) -> Tag {
    let mut mac =
        <HmacSha256 as KeyInit>::new_from_slice(key).expect("HMAC accepts any key length");
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
        return Err(SignatureRejection::ConflictingHeaders {
            header: name.clone(),
        });
    }
    header_str(first, name).map(Some)
}

fn header_str<'h>(
    value: &'h HeaderValue,
    name: &HeaderName,
) -> Result<&'h str, SignatureRejection> {
    // `to_str` admits only tab, space and visible ASCII, so `trim_ascii` trims exactly
    // what `trim` would, without the Unicode tables.
    value
        .to_str()
        .map(str::trim_ascii)
        .map_err(|_| SignatureRejection::MalformedHeader {
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
    if value.is_empty() || value.len() > 18 {
        return Err(malformed());
    }
    // At most 18 digits: below 10^18, so no overflow.
    let mut seconds = 0i64;
    for c in value.bytes() {
        let digit = c.wrapping_sub(b'0');
        if digit >= 10 {
            return Err(malformed());
        }
        seconds = seconds * 10 + i64::from(digit);
    }
    Ok(seconds)
}

/// Marks a byte outside the base64 alphabet.
const INVALID: u8 = 0xFF;

/// Decodes a hex signature (either case) to a tag, checking its length first.
pub fn decode_hex_tag(text: &str) -> Result<Tag, SignatureRejection> {
    if text.is_empty() {
        return Err(SignatureRejection::MalformedSignature {
            reason: "empty signature",
        });
    }
    if text.len() != 64 {
        return Err(SignatureRejection::MalformedSignature {
            reason: "expected 64 hex characters (32 bytes)",
        });
    }
    // Branch-free per character, so it vectorises: `hex::decode_to_slice` costs as
    // much as a SHA-256 block on a small body. Accepts exactly what it accepts.
    let mut digits = [0u8; 64];
    let mut invalid = 0u8;
    for (digit, &c) in digits.iter_mut().zip(text.as_bytes()) {
        let decimal = c.wrapping_sub(b'0');
        let letter = (c | 0x20).wrapping_sub(b'a');
        invalid |= u8::from(decimal >= 10 && letter >= 6);
        *digit = if decimal < 10 {
            decimal
        } else {
            letter.wrapping_add(10)
        };
    }
    if invalid != 0 {
        return Err(SignatureRejection::MalformedSignature {
            reason: "not hexadecimal",
        });
    }
    let mut tag = [0u8; 32];
    for (byte, pair) in tag.iter_mut().zip(digits.chunks_exact(2)) {
        *byte = (pair[0] << 4) | pair[1];
    }
    Ok(tag)
}

/// The value of a standard base64 character, or [`INVALID`].
#[inline]
fn base64_value(c: u8) -> u8 {
    // Branch-free, so the loop over a signature vectorises.
    let upper = c.wrapping_sub(b'A');
    let lower = c.wrapping_sub(b'a');
    let digit = c.wrapping_sub(b'0');
    let mut value = INVALID;
    value = if upper < 26 { upper } else { value };
    value = if lower < 26 { lower + 26 } else { value };
    value = if digit < 10 { digit + 52 } else { value };
    value = if c == b'+' { 62 } else { value };
    if c == b'/' { 63 } else { value }
}

/// The canonical encoding of 32 bytes: 43 alphabet characters whose last one carries
/// two zero trailing bits, then one `=`. `None` for anything else; the `base64` crate
/// accepts exactly these (and gives the reason for the rest).
pub(crate) fn decode_base64_tag_fast(text: &[u8]) -> Option<Tag> {
    let (data, padding) = text.split_at_checked(43)?;
    if padding != b"=" {
        return None;
    }
    let mut sextets = [0u8; 44];
    let mut seen = 0u8;
    for (sextet, &c) in sextets.iter_mut().zip(data) {
        *sextet = base64_value(c);
        seen |= *sextet;
    }
    if seen > 0x3F || sextets[42] & 0b11 != 0 {
        return None;
    }
    let mut tag = [0u8; 33];
    for (out, quad) in tag.chunks_exact_mut(3).zip(sextets.chunks_exact(4)) {
        let bits = u32::from(quad[0]) << 18
            | u32::from(quad[1]) << 12
            | u32::from(quad[2]) << 6
            | u32::from(quad[3]);
        out.copy_from_slice(&bits.to_be_bytes()[1..]);
    }
    // The last quad is three characters and the zero fill: its third byte holds only
    // the trailing bits, checked zero above, and is dropped.
    tag[..32].try_into().ok()
}

/// Decodes a standard, padded base64 signature to a tag, checking its length.
pub fn decode_base64_tag(text: &str) -> Result<Tag, SignatureRejection> {
    use base64::Engine as _;
    if text.is_empty() {
        return Err(SignatureRejection::MalformedSignature {
            reason: "empty signature",
        });
    }
    if text.len() != 44 {
        return Err(SignatureRejection::MalformedSignature {
            reason: "expected 44 base64 characters (32 bytes)",
        });
    }
    if let Some(tag) = decode_base64_tag_fast(text.as_bytes()) {
        return Ok(tag);
    }
    // Anything else is refused below, by the `base64` crate, with its reason.
    let mut buf = [0u8; 33];
    let len = base64::engine::general_purpose::STANDARD
        .decode_slice(text, &mut buf)
        .map_err(|_| SignatureRejection::MalformedSignature {
            reason: "not base64",
        })?;
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
        "standard" | "standardwebhooks" | "standard-webhooks" | "svix" => {
            Box::new(StandardWebhooks)
        }
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
                matches!(
                    decode_hex_tag(bad),
                    Err(SignatureRejection::MalformedSignature { .. })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn base64_tags_are_length_checked_before_decoding() {
        let good = encode_base64(&[7u8; 32]);
        assert_eq!(decode_base64_tag(&good).unwrap(), [7u8; 32]);
        for bad in [
            "",
            "AAAA",
            &good[..43],
            &format!("{good}A"),
            &"!".repeat(44),
        ] {
            assert!(
                matches!(
                    decode_base64_tag(bad),
                    Err(SignatureRejection::MalformedSignature { .. })
                ),
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
        assert_eq!(parse_timestamp("0", &name).unwrap(), 0);
        assert_eq!(
            parse_timestamp(&"9".repeat(18), &name).unwrap(),
            999_999_999_999_999_999
        );
        assert!(parse_timestamp(&"9".repeat(19), &name).is_err());
        for c in 0..=u8::MAX {
            let text = format!("17{}0", char::from(c));
            assert_eq!(
                parse_timestamp(&text, &name).is_ok(),
                c.is_ascii_digit(),
                "{c}"
            );
        }
    }

    /// What the fast decoders replaced: the `hex` and `base64` crates.
    fn reference_hex(text: &str) -> Option<Tag> {
        let mut tag = [0u8; 32];
        (text.len() == 64 && hex::decode_to_slice(text, &mut tag).is_ok()).then_some(tag)
    }

    fn reference_base64(text: &str) -> Option<Tag> {
        use base64::Engine as _;
        let mut buf = [0u8; 33];
        let len = base64::engine::general_purpose::STANDARD
            .decode_slice(text, &mut buf)
            .ok()?;
        (text.len() == 44 && len == 32).then(|| buf[..32].try_into().unwrap())
    }

    #[test]
    fn hex_decoding_agrees_with_the_hex_crate_on_every_byte() {
        let good = "0123456789abcdefABCDEF".repeat(3)[..64].to_owned();
        assert_eq!(decode_hex_tag(&good).ok(), reference_hex(&good));
        assert!(reference_hex(&good).is_some());
        for c in 0..=u8::MAX {
            for at in [0, 1, 31, 62, 63] {
                let mut bytes = good.clone().into_bytes();
                bytes[at] = c;
                let Ok(text) = String::from_utf8(bytes) else {
                    continue;
                };
                assert_eq!(
                    decode_hex_tag(&text).ok(),
                    reference_hex(&text),
                    "{c} at {at}"
                );
            }
        }
    }

    #[test]
    fn base64_decoding_agrees_with_the_base64_crate_on_every_byte() {
        let good = encode_base64(&core::array::from_fn(|i| (i * 37) as u8));
        assert!(reference_base64(&good).is_some());
        for c in 0..=u8::MAX {
            for at in [0, 1, 20, 40, 41, 42, 43] {
                let mut bytes = good.clone().into_bytes();
                bytes[at] = c;
                let Ok(text) = String::from_utf8(bytes) else {
                    continue;
                };
                assert_eq!(
                    decode_base64_tag(&text).ok(),
                    reference_base64(&text),
                    "{c} at {at}"
                );
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn hex_decoding_agrees_with_the_hex_crate(text in "[0-9a-fA-Fg-zG-Z:/@`]{64}") {
            proptest::prop_assert_eq!(decode_hex_tag(&text).ok(), reference_hex(&text));
        }

        #[test]
        fn base64_decoding_agrees_with_the_base64_crate(text in "[A-Za-z0-9+/=_-]{43}[=A-Za-z]") {
            proptest::prop_assert_eq!(decode_base64_tag(&text).ok(), reference_base64(&text));
        }

        #[test]
        fn base64_tags_round_trip(tag in proptest::prelude::any::<[u8; 32]>()) {
            proptest::prop_assert_eq!(decode_base64_tag(&encode_base64(&tag)).unwrap(), tag);
            proptest::prop_assert_eq!(decode_hex_tag(&hex::encode(tag)).unwrap(), tag);
            proptest::prop_assert_eq!(decode_hex_tag(&hex::encode_upper(tag)).unwrap(), tag);
        }
    }
}
