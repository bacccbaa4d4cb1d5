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

mod fast;
mod generic;
mod github;
mod hopnow;
mod shopify;
mod slack;
mod standard;
mod stripe;

pub(crate) use fast::{Builtin, Usual};
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
    event_id: Option<EventIdRef<'a>>,
}

/// Where a [`Signed`] event id came from.
#[derive(Debug, Clone, Copy)]
enum EventIdRef<'a> {
    Text(&'a str),
    /// A header value and its trimmed bytes, checked ASCII.
    Header {
        value: &'a HeaderValue,
        id: &'a [u8],
    },
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

    /// Sets the whole prefix at once, up to four pieces: written in place, where
    /// appending calls `SmallVec::insert_from_slice`.
    #[inline]
    pub(crate) fn set_prefix<const N: usize>(&mut self, pieces: [&'a [u8]; N]) {
        let mut buf: [&'a [u8]; 4] = [&[]; 4];
        buf[..N].copy_from_slice(&pieces);
        self.prefix = SmallVec::from_buf_and_len(buf, N);
    }

    /// Records the signed timestamp (Unix seconds): the verifier enforces its tolerance.
    #[inline]
    pub fn set_timestamp(&mut self, unix_seconds: i64) {
        self.timestamp = Some(unix_seconds);
    }

    /// Records the event id the headers carry. The verified delivery gets a copy of
    /// it; [`set_event_id_header`](Self::set_event_id_header) avoids the copy.
    #[inline]
    pub fn set_event_id(&mut self, id: &'a str) {
        self.event_id = Some(EventIdRef::Text(id));
    }

    /// Records the event id as the value of the header `name` that carries it (from
    /// [`single_header_value`]): the verified delivery then shares the request's
    /// buffer instead of copying the id.
    ///
    /// The id is the value's text, trimmed. A value that is not visible ASCII is
    /// [`SignatureRejection::MalformedHeader`], as [`single_header`] would answer.
    ///
    /// ```
    /// use http::{HeaderMap, HeaderName, HeaderValue};
    /// use webhook_signature::scheme::{Signed, single_header_value};
    ///
    /// static ID: HeaderName = HeaderName::from_static("x-acme-delivery");
    /// let mut headers = HeaderMap::new();
    /// headers.insert(&ID, HeaderValue::from_static("evt_1"));
    /// let mut signed = Signed::new();
    /// if let Some(value) = single_header_value(&headers, &ID)? {
    ///     signed.set_event_id_header(&ID, value)?;
    /// }
    /// assert_eq!(signed.event_id(), Some("evt_1"));
    /// # Ok::<(), webhook_signature::SignatureRejection>(())
    /// ```
    #[inline]
    pub fn set_event_id_header(
        &mut self,
        name: &HeaderName,
        value: &'a HeaderValue,
    ) -> Result<(), SignatureRejection> {
        let id = ascii_value(value, name)?;
        self.set_checked_event_id(value, id);
        Ok(())
    }

    /// [`set_event_id_header`](Self::set_event_id_header) for the bytes `id` that
    /// [`ascii_value`] returned for `value`.
    #[inline]
    pub(crate) fn set_checked_event_id(&mut self, value: &'a HeaderValue, id: &'a [u8]) {
        self.event_id = Some(EventIdRef::Header { value, id });
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
        match self.event_id? {
            EventIdRef::Text(id) => Some(id),
            // Checked ASCII when recorded, so this is valid UTF-8.
            EventIdRef::Header { id, .. } => std::str::from_utf8(id).ok(),
        }
    }

    /// The header value that is exactly the event id (nothing trimmed), when the
    /// scheme recorded one.
    #[inline]
    pub(crate) fn event_id_header(&self) -> Option<&'a HeaderValue> {
        match self.event_id? {
            EventIdRef::Header { value, id } if id.len() == value.len() => Some(value),
            _ => None,
        }
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
/// [`SignatureRejection::MalformedHeader`]. Surrounding spaces and tabs are trimmed.
pub fn single_header<'h>(
    headers: &'h HeaderMap,
    name: &HeaderName,
) -> Result<Option<&'h str>, SignatureRejection> {
    let Some(value) = single_header_value(headers, name)? else {
        return Ok(None);
    };
    // `to_str` admits only tab, space and visible ASCII, so `trim_ascii` trims exactly
    // what `trim` would, without the Unicode tables. (It is also the cheapest safe way
    // to a `&str`: `is_ascii` then `str::from_utf8` costs more on values this short.)
    value
        .to_str()
        .map(|text| Some(text.trim_ascii()))
        .map_err(|_| not_visible_ascii(name))
}

/// The one value of a header as it is, or `None` when absent: for
/// [`Signed::set_event_id_header`].
///
/// Several copies with the same value count as one; copies that differ are
/// [`SignatureRejection::ConflictingHeaders`]. The value is not checked further.
#[inline]
pub fn single_header_value<'h>(
    headers: &'h HeaderMap,
    name: &HeaderName,
) -> Result<Option<&'h HeaderValue>, SignatureRejection> {
    let mut values = headers.get_all(name).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.any(|other| other != first) {
        return Err(SignatureRejection::ConflictingHeaders {
            header: name.clone(),
        });
    }
    Ok(Some(first))
}

/// What one pass over the headers found under a name: see [`find_headers`].
#[derive(Debug, Clone, Copy)]
pub(crate) enum Found<'h> {
    Absent,
    One(&'h HeaderValue),
    /// Copies with different values.
    Conflicting,
}

impl<'h> Found<'h> {
    /// [`single_header_value`]'s answer.
    #[inline]
    pub(crate) fn value(
        self,
        name: &HeaderName,
    ) -> Result<Option<&'h HeaderValue>, SignatureRejection> {
        match self {
            Self::Absent => Ok(None),
            Self::One(value) => Ok(Some(value)),
            Self::Conflicting => Err(SignatureRejection::ConflictingHeaders {
                header: name.clone(),
            }),
        }
    }

    /// The value and its bytes, trimmed and checked as [`single_header`] checks them.
    #[inline]
    pub(crate) fn bytes(
        self,
        name: &HeaderName,
    ) -> Result<Option<(&'h HeaderValue, &'h [u8])>, SignatureRejection> {
        match self.value(name)? {
            Some(value) => Ok(Some((value, ascii_value(value, name)?))),
            None => Ok(None),
        }
    }

    /// The value's bytes, trimmed but not checked: for a parser that refuses every
    /// byte outside visible ASCII anyway, so that only its failures need the check
    /// (see [`Found::parse`]).
    #[inline]
    pub(crate) fn raw(self, name: &HeaderName) -> Result<Option<&'h [u8]>, SignatureRejection> {
        Ok(self.value(name)?.map(|value| value.as_bytes().trim_ascii()))
    }

    /// `parse` applied to the value's bytes, trimmed, or `None` when absent: what
    /// [`Found::bytes`] then `parse` would answer, but the bytes are checked ASCII only
    /// when `parse` fails (then a value that is not visible ASCII is still
    /// [`SignatureRejection::MalformedHeader`]).
    ///
    /// `parse` must succeed only on ASCII: a hex or base64 signature, a timestamp.
    #[inline]
    pub(crate) fn parse<T>(
        self,
        name: &HeaderName,
        parse: impl FnOnce(&'h [u8]) -> Result<T, SignatureRejection>,
    ) -> Result<Option<T>, SignatureRejection> {
        let Some(bytes) = self.raw(name)? else {
            return Ok(None);
        };
        match parse(bytes) {
            Ok(parsed) => {
                debug_assert!(bytes.is_ascii(), "`{name}` parsed, yet is not ASCII");
                Ok(Some(parsed))
            }
            Err(rejection) => Err(ascii_or(bytes, name, rejection)),
        }
    }
}

/// `rejection`, unless `bytes` are not ASCII: then the rejection [`single_header`]
/// gives for them, which comes first.
#[cold]
pub(crate) fn ascii_or(
    bytes: &[u8],
    name: &HeaderName,
    rejection: SignatureRejection,
) -> SignatureRejection {
    match check_ascii(bytes, name) {
        Ok(_) => rejection,
        Err(not_ascii) => not_ascii,
    }
}

/// Up to this many header values, [`find_headers`] walks the map once comparing names;
/// past it, it looks each name up.
const SCAN_LIMIT: usize = 16;

/// Looks up several headers at once.
///
/// A delivery carries a dozen headers or so: walking them once and comparing names
/// (mostly a length or a standard-header index) costs less than hashing each custom
/// name for [`HeaderMap::get_all`] (FNV, one multiply per byte, in series). A larger
/// map is searched name by name, so a request with many headers costs no more than it
/// did.
#[inline]
pub(crate) fn find_headers<'h, const N: usize>(
    headers: &'h HeaderMap,
    names: [&HeaderName; N],
) -> [Found<'h>; N] {
    if headers.len() > SCAN_LIMIT {
        return names.map(|name| match single_header_value(headers, name) {
            Ok(Some(value)) => Found::One(value),
            Ok(None) => Found::Absent,
            Err(_) => Found::Conflicting,
        });
    }
    // Compared as bytes (both are the canonical lower-case form): cheaper than
    // `HeaderName`'s own `==`, which first matches on how each name is stored.
    let wanted = names.map(|name| name.as_str().as_bytes());
    let mut found = [Found::Absent; N];
    for (name, value) in headers {
        let name = name.as_str().as_bytes();
        for (slot, wanted) in found.iter_mut().zip(wanted) {
            if name == wanted {
                *slot = match *slot {
                    Found::Absent => Found::One(value),
                    Found::One(first) if first == value => Found::One(first),
                    _ => Found::Conflicting,
                };
            }
        }
    }
    found
}

/// The bytes of a header value, trimmed; [`SignatureRejection::MalformedHeader`]
/// unless it is visible ASCII, exactly as [`single_header`] answers.
#[inline]
pub(crate) fn ascii_value<'h>(
    value: &'h HeaderValue,
    name: &HeaderName,
) -> Result<&'h [u8], SignatureRejection> {
    check_ascii(value.as_bytes().trim_ascii(), name)
}

/// `bytes`, from a header value, if they are visible ASCII; else what
/// [`single_header`] answers.
#[inline]
pub(crate) fn check_ascii<'h>(
    bytes: &'h [u8],
    name: &HeaderName,
) -> Result<&'h [u8], SignatureRejection> {
    // `http` refuses every control byte but tab, and DEL, in a `HeaderValue`
    // (`from_bytes`; hyper builds its values from what `httparse` admits, the same
    // set), so ASCII bytes there are tab, space and visible ASCII: what `to_str`
    // admits, checked a word at a time rather than byte by byte. Trimming first
    // changes nothing: it removes only spaces and tabs.
    if bytes.is_ascii() {
        Ok(bytes)
    } else {
        Err(not_visible_ascii(name))
    }
}

pub(crate) fn not_visible_ascii(name: &HeaderName) -> SignatureRejection {
    SignatureRejection::MalformedHeader {
        header: name.clone(),
        reason: "not visible ASCII",
    }
}

/// Parses a Unix timestamp in seconds: ASCII digits only.
#[inline]
pub fn parse_timestamp(value: &str, header: &HeaderName) -> Result<i64, SignatureRejection> {
    timestamp_from_bytes(value.as_bytes(), header)
}

/// [`parse_timestamp`] on bytes.
#[inline]
pub(crate) fn timestamp_from_bytes(
    value: &[u8],
    header: &HeaderName,
) -> Result<i64, SignatureRejection> {
    seconds(value).ok_or_else(|| SignatureRejection::MalformedHeader {
        header: header.clone(),
        reason: "expected a Unix timestamp in seconds",
    })
}

/// 1 to 18 ASCII digits as a number, or `None`.
#[inline]
pub(crate) fn seconds(value: &[u8]) -> Option<i64> {
    if value.is_empty() || value.len() > 18 {
        return None;
    }
    // No early exit: one branch at the end instead of one per digit. At most 18
    // digits are below 10^18, so a valid value cannot overflow; an invalid one may
    // wrap, and is refused.
    let mut seconds = 0i64;
    let mut invalid = false;
    for &c in value {
        let digit = c.wrapping_sub(b'0');
        invalid |= digit >= 10;
        seconds = seconds.wrapping_mul(10).wrapping_add(i64::from(digit));
    }
    (!invalid).then_some(seconds)
}

/// Marks a byte outside the base64 alphabet.
const INVALID: u8 = 0xFF;

/// Decodes a hex signature (either case) to a tag, checking its length first.
#[inline]
pub fn decode_hex_tag(text: &str) -> Result<Tag, SignatureRejection> {
    hex_tag_from_bytes(text.as_bytes())
}

/// [`decode_hex_tag`] on bytes.
pub(crate) fn hex_tag_from_bytes(text: &[u8]) -> Result<Tag, SignatureRejection> {
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
    for (digit, &c) in digits.iter_mut().zip(text) {
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

/// Each byte's value in the standard base64 alphabet, or [`INVALID`].
///
/// A table lookup takes as long as the cache says, which reveals nothing here: the
/// bytes looked up are the presented signature, which the sender already knows, not
/// the secret or the expected tag.
static BASE64_VALUES: [u8; 256] = {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut table = [INVALID; 256];
    let mut i = 0;
    while i < alphabet.len() {
        table[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    table
};

/// The canonical encoding of 32 bytes: 43 alphabet characters whose last one carries
/// two zero trailing bits, then one `=`. `None` for anything else; the `base64` crate
/// accepts exactly these (and gives the reason for the rest).
#[inline]
pub(crate) fn decode_base64_tag_fast(text: &[u8]) -> Option<Tag> {
    let text: &[u8; 44] = text.try_into().ok()?;
    if text[43] != b'=' {
        return None;
    }
    let value = |at: usize| u32::from(BASE64_VALUES[usize::from(text[at])]);
    let mut tag = [0u8; 33];
    let mut seen = 0;
    for quad in 0..11 {
        let at = 4 * quad;
        let (a, b, c) = (value(at), value(at + 1), value(at + 2));
        // The last quad is three characters and a zero fill: its third byte holds
        // only the trailing bits.
        let d = if quad < 10 { value(at + 3) } else { 0 };
        seen |= a | b | c | d;
        let bits = a << 18 | b << 12 | c << 6 | d;
        tag[3 * quad..3 * quad + 3].copy_from_slice(&bits.to_be_bytes()[1..]);
    }
    if seen > 0x3F || tag[32] != 0 {
        return None;
    }
    tag[..32].try_into().ok()
}

/// Decodes a standard, padded base64 signature to a tag, checking its length.
#[inline]
pub fn decode_base64_tag(text: &str) -> Result<Tag, SignatureRejection> {
    base64_tag_from_bytes(text.as_bytes())
}

/// [`decode_base64_tag`] on bytes.
pub(crate) fn base64_tag_from_bytes(text: &[u8]) -> Result<Tag, SignatureRejection> {
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
    if let Some(tag) = decode_base64_tag_fast(text) {
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

    /// What [`find_headers`] must answer for `name`: [`single_header_value`]'s answer.
    fn looked_up<'h>(headers: &'h HeaderMap, name: &HeaderName) -> Found<'h> {
        match single_header_value(headers, name) {
            Ok(Some(value)) => Found::One(value),
            Ok(None) => Found::Absent,
            Err(_) => Found::Conflicting,
        }
    }

    fn same(a: Found<'_>, b: Found<'_>) -> bool {
        match (a, b) {
            (Found::Absent, Found::Absent) | (Found::Conflicting, Found::Conflicting) => true,
            (Found::One(a), Found::One(b)) => std::ptr::eq(a, b),
            _ => false,
        }
    }

    const NAMES: [&str; 6] = [
        "x-hub-signature-256",
        "x-github-delivery",
        "webhook-timestamp",
        "webhook-signature",
        "content-type",
        "x-request-id",
    ];

    fn header_map(entries: &[(usize, u8)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for &(name, value) in entries {
            headers.append(
                HeaderName::from_static(NAMES[name]),
                HeaderValue::from(u16::from(value)),
            );
        }
        headers
    }

    #[test]
    fn find_headers_reads_small_and_large_maps_alike() {
        // Below and above the scan limit: one copy, equal copies, differing copies.
        for filler in [0, SCAN_LIMIT] {
            let mut entries = vec![(4, 0); filler];
            entries.extend([(0, 1), (1, 2), (1, 2), (2, 3), (2, 4), (5, 0)]);
            let headers = header_map(&entries);
            let wanted = [0, 1, 2, 3].map(|at| HeaderName::from_static(NAMES[at]));
            let found = find_headers(&headers, [&wanted[0], &wanted[1], &wanted[2], &wanted[3]]);
            assert!(matches!(found[0], Found::One(v) if v == "1"), "{filler}");
            assert!(matches!(found[1], Found::One(v) if v == "2"), "{filler}");
            assert!(matches!(found[2], Found::Conflicting), "{filler}");
            assert!(matches!(found[3], Found::Absent), "{filler}");
        }
    }

    #[test]
    fn a_value_that_fails_to_parse_is_first_checked_ascii() {
        let name = HeaderName::from_static("x-sig");
        let refuse = |_: &[u8]| -> Result<(), SignatureRejection> {
            Err(SignatureRejection::MalformedSignature { reason: "bad" })
        };
        let ascii = HeaderValue::from_static(" bad ");
        let not_ascii = HeaderValue::from_bytes(b"\xc3\xa9").unwrap();
        assert!(matches!(
            Found::One(&ascii).parse(&name, refuse),
            Err(SignatureRejection::MalformedSignature { reason: "bad" })
        ));
        assert!(matches!(
            Found::One(&not_ascii).parse(&name, refuse),
            Err(SignatureRejection::MalformedHeader {
                reason: "not visible ASCII",
                ..
            })
        ));
        // The parser sees the value trimmed.
        let seen = Found::One(&ascii).parse(&name, |bytes| Ok(bytes.to_vec()));
        assert_eq!(seen.unwrap().unwrap(), b"bad");
        assert!(matches!(Found::Absent.parse(&name, refuse), Ok(None)));
        assert!(matches!(
            Found::Conflicting.parse(&name, refuse),
            Err(SignatureRejection::ConflictingHeaders { .. })
        ));
    }

    #[test]
    fn an_event_id_header_is_trimmed_checked_and_shared_only_when_whole() {
        let name = HeaderName::from_static("x-id");
        let whole = HeaderValue::from_static("evt_1");
        let padded = HeaderValue::from_static("  evt_2\t");
        let not_ascii = HeaderValue::from_bytes(b"evt_\xff").unwrap();
        let mut signed = Signed::new();
        signed.set_event_id_header(&name, &whole).unwrap();
        assert_eq!(signed.event_id(), Some("evt_1"));
        assert!(
            signed
                .event_id_header()
                .is_some_and(|v| std::ptr::eq(v, &whole))
        );
        signed.set_event_id_header(&name, &padded).unwrap();
        assert_eq!(signed.event_id(), Some("evt_2"));
        assert!(signed.event_id_header().is_none());
        assert!(matches!(
            signed.set_event_id_header(&name, &not_ascii),
            Err(SignatureRejection::MalformedHeader {
                reason: "not visible ASCII",
                ..
            })
        ));
        signed.set_event_id("evt_3");
        assert_eq!(signed.event_id(), Some("evt_3"));
        assert!(signed.event_id_header().is_none());
    }

    #[test]
    fn single_header_answers_as_before() {
        let name = HeaderName::from_static("x-sig");
        let mut headers = HeaderMap::new();
        assert!(matches!(single_header(&headers, &name), Ok(None)));
        headers.insert(&name, HeaderValue::from_static(" \tabc def\t "));
        assert_eq!(single_header(&headers, &name).unwrap(), Some("abc def"));
        headers.append(&name, HeaderValue::from_static(" \tabc def\t "));
        assert_eq!(single_header(&headers, &name).unwrap(), Some("abc def"));
        headers.append(&name, HeaderValue::from_static("abc def"));
        assert!(matches!(
            single_header(&headers, &name),
            Err(SignatureRejection::ConflictingHeaders { .. })
        ));
        headers.insert(&name, HeaderValue::from_bytes(b"abc\x80").unwrap());
        assert!(matches!(
            single_header(&headers, &name),
            Err(SignatureRejection::MalformedHeader {
                reason: "not visible ASCII",
                ..
            })
        ));
    }

    #[test]
    fn timestamps_are_digits_only_and_at_most_eighteen() {
        let header = HeaderName::from_static("x-ts");
        assert_eq!(parse_timestamp("0", &header).unwrap(), 0);
        assert_eq!(
            parse_timestamp("999999999999999999", &header).unwrap(),
            999_999_999_999_999_999
        );
        for bad in [
            "",
            " 1",
            "+1",
            "-1",
            "1.0",
            "1e9",
            "99999999999999999a",
            "a99999999999999999",
            "\u{ff}\u{ff}",
            &"9".repeat(19),
        ] {
            assert!(parse_timestamp(bad, &header).is_err(), "{bad:?}");
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
        fn find_headers_agrees_with_one_lookup_per_name(
            entries in proptest::collection::vec((0..NAMES.len(), 0..3u8), 0..40),
        ) {
            let headers = header_map(&entries);
            let wanted = [0, 1, 2].map(|at| HeaderName::from_static(NAMES[at]));
            let found = find_headers(&headers, [&wanted[0], &wanted[1], &wanted[2]]);
            for (found, name) in found.into_iter().zip(&wanted) {
                proptest::prop_assert!(same(found, looked_up(&headers, name)), "{name}");
            }
        }

        #[test]
        fn timestamps_agree_with_the_standard_parser(text in "[0-9]{0,20}|[0-9a+ -]{0,20}|\\PC{0,20}") {
            let reference = (1..=18).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit());
            let parsed = parse_timestamp(&text, &HeaderName::from_static("x-ts")).ok();
            proptest::prop_assert_eq!(parsed, reference.then(|| text.parse::<i64>().unwrap()));
        }

        #[test]
        fn base64_tags_round_trip(tag in proptest::prelude::any::<[u8; 32]>()) {
            proptest::prop_assert_eq!(decode_base64_tag(&encode_base64(&tag)).unwrap(), tag);
            proptest::prop_assert_eq!(decode_hex_tag(&hex::encode(tag)).unwrap(), tag);
            proptest::prop_assert_eq!(decode_hex_tag(&hex::encode_upper(tag)).unwrap(), tag);
        }
    }
}
