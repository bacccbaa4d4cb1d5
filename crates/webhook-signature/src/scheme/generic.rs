//! The declarative engine: a provider's scheme described as data ([`GenericHmac`]),
//! verified by one parser.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use base64::Engine as _;
use http::{HeaderMap, HeaderName, HeaderValue};
use smallvec::SmallVec;
use webhook_core::Handshake;
use webhook_core::envelope::Envelope;

use super::algorithm::{Algorithm, PrivateKey, PublicKey, Signature};
use super::decode::seconds;
use super::fast::{Builtin, Encoded, FastPath, Target, Usual};
use super::header::{Found, ascii, find_headers};
use super::interface::{Delivery, Scheme, SignRequest, Signed};
use crate::mac::hmac;
use crate::{ConfigError, DEFAULT_TOLERANCE, SignError, SignatureRejection};

/// How a signature is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Encoding {
    /// Hex, either case.
    #[default]
    Hex,
    /// Standard, padded base64.
    Base64,
}

/// Where the signature is.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub(crate) enum SignatureField {
    /// The whole value of `header`, after `prefix` (`sha256=<hex>`).
    Header {
        /// The header.
        header: HeaderName,
        /// The text before the signature (may be empty).
        prefix: Cow<'static, str>,
    },
    /// Every `key=value` item of `header` named `key` (`t=1,v1=<hex>,v1=<hex>`):
    /// items are separated by `separator`, with spaces around them ignored, and
    /// written joined by `join` when signing. Items of other names are ignored, so a
    /// provider can add signature versions; one signature must match.
    Items {
        /// The header.
        header: HeaderName,
        /// What separates items (`,` or `;`).
        separator: char,
        /// What joins items when signing (`","`, `", "`).
        join: &'static str,
        /// The name of the signature items (`v1`, `h1`).
        key: &'static str,
    },
}

impl SignatureField {
    /// The header holding the signature.
    pub(crate) fn header(&self) -> &HeaderName {
        match self {
            Self::Header { header, .. } | Self::Items { header, .. } => header,
        }
    }
}

/// Where a timestamp or an event id is.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub(crate) enum Field {
    /// A header's value.
    Header(HeaderName),
    /// An item of the signature header (with [`SignatureField::Items`]).
    Item(&'static str),
    /// A member of the JSON body (a string or an integer), by its path of member
    /// names. Covered by the signature as part of the body, it cannot appear in the
    /// signed-content template.
    Json(&'static [&'static str]),
}

pub use webhook_core::envelope::TimeFormat;

/// A piece of the signed content.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub(crate) enum Part {
    /// Fixed text.
    Literal(Cow<'static, str>),
    /// The raw body.
    Body,
    /// The timestamp, as presented.
    Timestamp,
    /// The event id, as presented.
    Id,
    /// The request method (`POST`).
    Method,
    /// The URL the provider called: see
    /// [`VerifierBuilder::public_url`](crate::VerifierBuilder::public_url).
    Url,
}

/// How a configured key is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub(crate) enum KeyForm {
    /// A secret used as its UTF-8 bytes.
    #[default]
    Text,
    /// An Ed25519 public key (see [`PublicKey::ed25519`]).
    Ed25519,
    /// An ECDSA P-256 public key (see [`PublicKey::ecdsa_p256`]).
    EcdsaP256,
}

/// A provider's signature scheme described as data: where the signature, timestamp
/// and id are, the algorithm and encoding, the signed content as a template, the
/// replay tolerance and the key form. One parser verifies every description; most
/// built-in providers are constants of this type (see [`PROVIDERS`](super::PROVIDERS)).
///
/// Build one for a provider this crate does not know with [`GenericHmac::builder`]:
/// the signature header, an optional prefix before the signature (`sha256=`), hex or
/// base64, HMAC-SHA1/256/512, optional timestamp and id headers, and the signed
/// content as a template over `{id}`, `{timestamp}`, `{method}`, `{url}` and
/// `{body}`:
///
/// ```
/// use bytes::Bytes;
/// use http::HeaderName;
/// use webhook_signature::{Signer, Verifier, scheme::{Encoding, GenericHmac}};
///
/// let scheme = GenericHmac::builder("acme", HeaderName::from_static("x-acme-signature"))
///     .prefix("sha256=")
///     .encoding(Encoding::Base64)
///     .timestamp_header(HeaderName::from_static("x-acme-timestamp"))
///     .signed_content("{timestamp}.{body}")
///     .build()
///     .unwrap();
///
/// let body = Bytes::from_static(b"{}");
/// let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
/// let headers = Signer::new(scheme.clone(), "secret").unwrap().sign(&body, now, "").unwrap();
/// assert!(headers["x-acme-signature"].to_str().unwrap().starts_with("sha256="));
/// let verifier = Verifier::builder(scheme).secret("k", "secret").build().unwrap();
/// assert!(verifier.verify(&headers, &body).is_ok());
/// ```
#[derive(Debug, Clone)]
pub struct GenericHmac {
    pub(crate) name: &'static str,
    pub(crate) algorithm: Algorithm,
    pub(crate) encoding: Encoding,
    pub(crate) signature: SignatureField,
    pub(crate) timestamp: Option<(Field, TimeFormat)>,
    pub(crate) id: Option<Field>,
    pub(crate) envelope: &'static Envelope,
    pub(crate) content: Cow<'static, [Part]>,
    pub(crate) tolerance: Duration,
    pub(crate) key_form: KeyForm,
    pub(crate) signed_content: &'static str,
    pub(crate) handshake: Option<Handshake>,
}

/// Builds a [`GenericHmac`]; see there.
#[derive(Debug, Clone)]
#[must_use]
pub struct GenericHmacBuilder {
    name: &'static str,
    header: HeaderName,
    prefix: String,
    algorithm: Algorithm,
    encoding: Encoding,
    timestamp_header: Option<HeaderName>,
    time_format: TimeFormat,
    id_header: Option<HeaderName>,
    template: String,
    tolerance: Duration,
    envelope: &'static Envelope,
    handshake: Option<Handshake>,
}

impl GenericHmac {
    /// Starts a scheme called `name` whose signature is in `header`. By default the
    /// signature is bare hex HMAC-SHA256 over the raw body.
    pub fn builder(name: &'static str, header: HeaderName) -> GenericHmacBuilder {
        GenericHmacBuilder {
            name,
            header,
            prefix: String::new(),
            algorithm: Algorithm::HmacSha256,
            encoding: Encoding::Hex,
            timestamp_header: None,
            time_format: TimeFormat::UnixSeconds,
            id_header: None,
            template: "{body}".to_owned(),
            tolerance: DEFAULT_TOLERANCE,
            envelope: &Envelope::STANDARD,
            handshake: None,
        }
    }

    /// The header holding the signature.
    pub fn signature_header(&self) -> &HeaderName {
        self.signature.header()
    }

    /// Checks a description: the pieces the template names exist and can be signed,
    /// a signed timestamp is in the template or the body, the key form fits the
    /// algorithm.
    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        let invalid = |reason| Err(ConfigError::InvalidScheme { reason });
        let bodies = self
            .content
            .iter()
            .filter(|part| matches!(part, Part::Body))
            .count();
        if bodies != 1 {
            return invalid("the signed content must hold `{body}` exactly once");
        }
        let in_content = |wanted: fn(&Part) -> bool| self.content.iter().any(wanted);
        match &self.timestamp {
            None if in_content(|part| matches!(part, Part::Timestamp)) => {
                return invalid("`{timestamp}` needs a timestamp header");
            }
            Some((Field::Json(_), _)) if in_content(|part| matches!(part, Part::Timestamp)) => {
                return invalid("a timestamp from the body cannot be in the signed content");
            }
            // Enforcing the tolerance on a timestamp the signature does not cover gives
            // no replay protection: a replay would just send a fresh header.
            Some((Field::Header(_) | Field::Item(_), _))
                if !in_content(|part| matches!(part, Part::Timestamp)) =>
            {
                return invalid(
                    "a timestamp header must be signed: put `{timestamp}` in the signed content",
                );
            }
            _ => {}
        }
        match &self.id {
            None if in_content(|part| matches!(part, Part::Id)) => {
                return invalid("`{id}` needs an id header");
            }
            Some(Field::Json(_)) => {
                return invalid("an id in the body is the envelope's, read once verified");
            }
            _ => {}
        }
        let items = matches!(self.signature, SignatureField::Items { .. });
        let item_field = |field: Option<&Field>| matches!(field, Some(Field::Item(_)));
        if !items
            && (item_field(self.timestamp.as_ref().map(|(f, _)| f)) || item_field(self.id.as_ref()))
        {
            return invalid("an item field needs a signature header of items");
        }
        if let SignatureField::Header { prefix, .. } = &self.signature {
            // The prefix is matched in a header value, which the verifier reads as
            // visible ASCII, trimmed: any other prefix could never match.
            if !prefix.bytes().all(|b| b.is_ascii_graphic()) {
                return invalid(
                    "the prefix must be visible ASCII without spaces, as in a header value",
                );
            }
        }
        let key_fits = match self.key_form {
            KeyForm::Text => self.algorithm.is_hmac(),
            KeyForm::Ed25519 => self.algorithm == Algorithm::Ed25519,
            KeyForm::EcdsaP256 => self.algorithm == Algorithm::EcdsaP256Sha256,
        };
        if !key_fits {
            return invalid("the key form does not fit the algorithm");
        }
        Ok(())
    }

    fn decode(&self, text: &[u8]) -> Result<Signature, SignatureRejection> {
        let malformed = |reason| SignatureRejection::MalformedSignature { reason };
        if text.is_empty() {
            return Err(malformed("empty signature"));
        }
        let mut buf = [0u8; 96];
        let len = match self.encoding {
            Encoding::Hex => {
                if text.len() % 2 != 0 || text.len() / 2 > buf.len() {
                    return Err(malformed("not hexadecimal of the signature's length"));
                }
                let len = text.len() / 2;
                hex::decode_to_slice(text, &mut buf[..len])
                    .map_err(|_| malformed("not hexadecimal"))?;
                len
            }
            Encoding::Base64 => {
                if text.len() > 4 * buf.len() / 3 {
                    return Err(malformed("not base64 of the signature's length"));
                }
                base64::engine::general_purpose::STANDARD
                    .decode_slice(text, &mut buf)
                    .map_err(|_| malformed("not base64"))?
            }
        };
        Signature::new(self.algorithm, &buf[..len])
    }

    fn encode(&self, signature: &[u8]) -> String {
        match self.encoding {
            Encoding::Hex => hex::encode(signature),
            Encoding::Base64 => base64::engine::general_purpose::STANDARD.encode(signature),
        }
    }

    /// The timestamp in `text` as Unix seconds, or `None`.
    #[inline]
    fn unix_seconds(format: TimeFormat, text: &[u8]) -> Option<i64> {
        match format {
            TimeFormat::UnixSeconds => seconds(text),
            TimeFormat::UnixMillis => seconds(text).map(|millis| millis.div_euclid(1000)),
            TimeFormat::Rfc3339 => std::str::from_utf8(text)
                .ok()
                .and_then(|text| humantime::parse_rfc3339(text).ok())
                .and_then(|time| time.duration_since(UNIX_EPOCH).ok())
                .and_then(|since| i64::try_from(since.as_secs()).ok()),
        }
    }

    /// The timestamp in `text` as Unix seconds.
    fn read_time(
        &self,
        format: TimeFormat,
        text: &[u8],
        field: &Field,
    ) -> Result<i64, SignatureRejection> {
        Self::unix_seconds(format, text).ok_or_else(|| {
            let reason = match format {
                TimeFormat::UnixSeconds => "expected a Unix timestamp in seconds",
                TimeFormat::UnixMillis => "expected a Unix timestamp in milliseconds",
                TimeFormat::Rfc3339 => "expected an RFC 3339 timestamp in UTC",
            };
            match field {
                Field::Header(header) => SignatureRejection::MalformedHeader {
                    header: header.clone(),
                    reason,
                },
                Field::Item(_) => SignatureRejection::MalformedHeader {
                    header: self.signature.header().clone(),
                    reason,
                },
                Field::Json(_) => SignatureRejection::MalformedSignature {
                    reason: "the body's timestamp is not a Unix timestamp",
                },
            }
        })
    }

    /// How a timestamp is written for `format`.
    fn write_time(format: TimeFormat, unix_seconds: i64) -> String {
        match format {
            TimeFormat::UnixSeconds => unix_seconds.to_string(),
            TimeFormat::UnixMillis => unix_seconds.saturating_mul(1000).to_string(),
            TimeFormat::Rfc3339 => {
                let time = UNIX_EPOCH + Duration::from_secs(unix_seconds.max(0).unsigned_abs());
                humantime::format_rfc3339_seconds(time).to_string()
            }
        }
    }

    fn header_of(field: Option<&Field>) -> Option<&HeaderName> {
        match field {
            Some(Field::Header(header)) => Some(header),
            _ => None,
        }
    }
}

impl GenericHmac {
    /// Whether [`read_usual`](Self::read_usual) can read this scheme's usual
    /// delivery: an HMAC-SHA256 or HMAC-SHA1 tag of up to four pieces (the URL counts
    /// two), the body, then at most one piece; every piece from the headers or the
    /// request line.
    fn has_fast_path(&self) -> bool {
        let Some(at) = self
            .content
            .iter()
            .position(|part| matches!(part, Part::Body))
        else {
            return false;
        };
        let (before, after) = (&self.content[..at], &self.content[at + 1..]);
        let pieces: usize = before
            .iter()
            .map(|part| if matches!(part, Part::Url) { 2 } else { 1 })
            .sum();
        let from_headers =
            |part: &Part| matches!(part, Part::Literal(_) | Part::Timestamp | Part::Id);
        pieces <= 4
            && after.len() <= 1
            && matches!(self.algorithm, Algorithm::HmacSha256 | Algorithm::HmacSha1)
            && self.key_form == KeyForm::Text
            && before
                .iter()
                .all(|part| from_headers(part) || matches!(part, Part::Method | Part::Url))
            && after.iter().all(from_headers)
            && !matches!(self.timestamp, Some((Field::Json(_), _)))
            && matches!(self.id, None | Some(Field::Header(_)))
    }

    /// The usual delivery, read as [`parse`](Scheme::parse) reads it (see
    /// `fast.rs`): each header once and visible ASCII, one signature. Inlined into
    /// its one caller, so that the reading is built where the verifier keeps it.
    #[inline]
    pub(crate) fn read_usual<'a>(
        &'a self,
        headers: &'a HeaderMap,
        target: Target<'a>,
    ) -> Option<Usual<'a>> {
        let signature_header = self.signature.header();
        let [signature_value, timestamp_value, id_value] = find_headers(
            headers,
            [
                signature_header,
                Self::header_of(self.timestamp.as_ref().map(|(field, _)| field))
                    .unwrap_or(signature_header),
                Self::header_of(self.id.as_ref()).unwrap_or(signature_header),
            ],
        );
        let value = ascii(signature_value.one()?)?;
        let mut timestamp_text: Option<&'a [u8]> = None;
        let encoded = match &self.signature {
            // No call for an empty prefix: glibc's `memcmp` of zero bytes stalls for
            // tens of nanoseconds on some CPUs (measured on AMD EPYC).
            SignatureField::Header { prefix, .. } if prefix.is_empty() => value,
            SignatureField::Header { prefix, .. } => value.strip_prefix(prefix.as_bytes())?,
            SignatureField::Items {
                separator,
                join,
                key,
                ..
            } => {
                let timestamp_item = match &self.timestamp {
                    Some((Field::Item(name), _)) => Some(name.as_bytes()),
                    _ => None,
                };
                let layout = timestamp_item.and_then(|name| {
                    let length = self.encoded_len();
                    usual_items(value, name, join.as_bytes(), key.as_bytes(), length)
                });
                let mut signature = None;
                if let Some((timestamp, text)) = layout {
                    timestamp_text = Some(timestamp);
                    signature = Some(text);
                }
                // Any other layout, item by item.
                let items = if layout.is_some() { &[][..] } else { value };
                for item in items.split(|&b| char::from(b) == *separator) {
                    let item = item.trim_ascii();
                    if item.is_empty() {
                        continue;
                    }
                    let at = item.iter().position(|&b| b == b'=')?;
                    let (name, text) = (&item[..at], &item[at + 1..]);
                    if name == key.as_bytes() {
                        if signature.replace(text).is_some() {
                            return None;
                        }
                    } else if Some(name) == timestamp_item && timestamp_text.is_none() {
                        timestamp_text = Some(text);
                    }
                }
                signature?
            }
        };
        let sha1 = self.algorithm == Algorithm::HmacSha1;
        let mut usual = Usual::new(match self.encoding {
            Encoding::Hex if sha1 => Encoded::Sha1Hex(encoded),
            Encoding::Base64 if sha1 => Encoded::Sha1Base64(encoded),
            Encoding::Hex => Encoded::Hex(encoded),
            Encoding::Base64 => Encoded::Base64(encoded),
        });
        if let Some((field, format)) = &self.timestamp {
            let text = match field {
                Field::Header(_) => ascii(timestamp_value.one()?)?,
                _ => timestamp_text?,
            };
            usual.timestamp = Some(Self::unix_seconds(*format, text)?);
            timestamp_text = Some(text);
        }
        let signed_id = self.content.iter().any(|part| matches!(part, Part::Id));
        let mut id_text: &'a [u8] = b"";
        if self.id.is_some() {
            match id_value.optional_ascii()? {
                Some((value, id)) => {
                    usual.event_id = Some((value, id));
                    id_text = id;
                }
                None if signed_id => return None,
                None => {}
            }
        }
        let mut after_body = false;
        for part in self.content.iter() {
            let piece = match part {
                Part::Literal(text) => text.as_bytes(),
                Part::Timestamp => timestamp_text?,
                Part::Id => id_text,
                Part::Method => target.method,
                Part::Url => {
                    let [base, path] = target.url?;
                    usual.push_prefix(base)?;
                    path
                }
                Part::Body => {
                    after_body = true;
                    continue;
                }
            };
            if after_body {
                usual.suffix = piece;
            } else {
                usual.push_prefix(piece)?;
            }
        }
        Some(usual)
    }

    /// The length of a signature's text: a tag of the algorithm's length, in hex or
    /// in padded base64.
    fn encoded_len(&self) -> usize {
        let tag = if self.algorithm == Algorithm::HmacSha1 {
            20
        } else {
            32
        };
        match self.encoding {
            Encoding::Hex => 2 * tag,
            Encoding::Base64 => tag.div_ceil(3) * 4,
        }
    }
}

/// `<name>=<digits><join><key>=<signature>`, the layout the signer writes (Paddle's
/// `ts=1;h1=<hex>`, Mux's `t=1,v1=<hex>`), read without splitting: the timestamp and
/// the signature's text, `length` bytes without the separator (the first byte of
/// `join`), or `None` for anything else. What it accepts, the item loop of
/// [`read_usual`](GenericHmac::read_usual) reads the same.
fn usual_items<'a>(
    value: &'a [u8],
    name: &[u8],
    join: &[u8],
    key: &[u8],
    length: usize,
) -> Option<(&'a [u8], &'a [u8])> {
    let rest = value.strip_prefix(name)?.strip_prefix(b"=")?;
    let (rest, signature) = rest.split_at_checked(rest.len().checked_sub(length)?)?;
    let timestamp = rest
        .strip_suffix(b"=")?
        .strip_suffix(key)?
        .strip_suffix(join)?;
    let separators = join.first()?;
    let plain = !timestamp.is_empty()
        && timestamp.iter().all(u8::is_ascii_digit)
        && !signature.contains(separators);
    plain.then_some((timestamp, signature))
}

/// A value read for a [`Field`]: text borrowed from a header, or a body member.
enum Read<'a> {
    Header(&'a HeaderValue, &'a [u8]),
    Item(&'a [u8]),
    Json(String),
}

impl<'a> Read<'a> {
    fn bytes(&self) -> &[u8] {
        match self {
            Self::Header(_, bytes) | Self::Item(bytes) => bytes,
            Self::Json(text) => text.as_bytes(),
        }
    }

    /// The borrowed text, for the signed content (a body member never is).
    fn borrowed(&self) -> &'a [u8] {
        match self {
            Self::Header(_, bytes) | Self::Item(bytes) => bytes,
            Self::Json(_) => b"",
        }
    }
}

impl GenericHmacBuilder {
    /// Text that precedes the signature in the header, such as `sha256=`: visible
    /// ASCII without spaces ([`build`](Self::build) refuses anything else).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// HMAC-SHA256 (default), HMAC-SHA1 or HMAC-SHA512.
    pub fn algorithm(mut self, algorithm: Algorithm) -> Self {
        self.algorithm = algorithm;
        self
    }

    /// Hex (default) or base64.
    pub fn encoding(mut self, encoding: Encoding) -> Self {
        self.encoding = encoding;
        self
    }

    /// The header holding the signed timestamp; its tolerance is enforced.
    pub fn timestamp_header(mut self, header: HeaderName) -> Self {
        self.timestamp_header = Some(header);
        self
    }

    /// How the timestamp is written (default Unix seconds).
    pub fn time_format(mut self, format: TimeFormat) -> Self {
        self.time_format = format;
        self
    }

    /// The header holding the event id.
    pub fn id_header(mut self, header: HeaderName) -> Self {
        self.id_header = Some(header);
        self
    }

    /// The signed-content layout over `{id}`, `{timestamp}`, `{method}`, `{url}` and
    /// `{body}`, such as `{id}.{timestamp}.{body}` (default `{body}`).
    pub fn signed_content(mut self, template: impl Into<String>) -> Self {
        self.template = template.into();
        self
    }

    /// The default replay tolerance (300 s unless set); a verifier may change it.
    pub fn tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// Where the deliveries put the event's id, type, created time and data
    /// ([`Envelope::STANDARD`] unless set): see [`Scheme::envelope`].
    pub fn envelope(mut self, envelope: &'static Envelope) -> Self {
        self.envelope = envelope;
        self
    }

    /// The setup handshake the provider sends, answered by the signature layer (see
    /// the crate docs, "Handshakes"); none unless set.
    ///
    /// ```
    /// use http::HeaderName;
    /// use webhook_core::Handshake;
    /// use webhook_signature::{Verifier, scheme::GenericHmac};
    ///
    /// // A provider that verifies its endpoint the way Dropbox does.
    /// let scheme = GenericHmac::builder("acme", HeaderName::from_static("x-acme-signature"))
    ///     .handshake(Handshake::DropboxChallenge)
    ///     .build()
    ///     .unwrap();
    /// let verifier = Verifier::builder(scheme).secret("k", "secret").build().unwrap();
    /// assert_eq!(verifier.handshake(), Some(Handshake::DropboxChallenge));
    /// ```
    pub fn handshake(mut self, handshake: Handshake) -> Self {
        self.handshake = Some(handshake);
        self
    }

    /// Checks the layout against the headers configured.
    pub fn build(self) -> Result<GenericHmac, ConfigError> {
        if !self.algorithm.is_hmac() {
            return Err(ConfigError::InvalidScheme {
                reason: "a generic scheme signs with HMAC-SHA1, -SHA256 or -SHA512",
            });
        }
        let scheme = GenericHmac {
            name: self.name,
            algorithm: self.algorithm,
            encoding: self.encoding,
            signature: SignatureField::Header {
                header: self.header,
                prefix: self.prefix.into(),
            },
            timestamp: self
                .timestamp_header
                .map(|header| (Field::Header(header), self.time_format)),
            id: self.id_header.map(Field::Header),
            envelope: self.envelope,
            content: parse_template(&self.template)?.into(),
            tolerance: self.tolerance,
            key_form: KeyForm::Text,
            signed_content: "the configured signed-content template",
            handshake: self.handshake,
        };
        scheme.check()?;
        Ok(scheme)
    }
}

/// Reads a template over `{id}`, `{timestamp}`, `{method}`, `{url}` and `{body}`.
fn parse_template(template: &str) -> Result<Vec<Part>, ConfigError> {
    const PLACEHOLDERS: [(&str, Part); 5] = [
        ("{body}", Part::Body),
        ("{timestamp}", Part::Timestamp),
        ("{id}", Part::Id),
        ("{method}", Part::Method),
        ("{url}", Part::Url),
    ];
    let mut parts = Vec::new();
    let mut rest = template;
    while !rest.is_empty() {
        if let Some((placeholder, part)) = PLACEHOLDERS
            .iter()
            .find(|(placeholder, _)| rest.starts_with(placeholder))
        {
            parts.push(part.clone());
            rest = &rest[placeholder.len()..];
        } else if is_placeholder(rest) {
            return Err(ConfigError::InvalidScheme {
                reason: "unknown placeholder: the template knows `{id}`, `{timestamp}`, `{method}`, `{url}` and `{body}`",
            });
        } else {
            // Up to the next `{`, on a character boundary (the literal may be UTF-8).
            let len = rest
                .char_indices()
                .skip(1)
                .find(|&(_, c)| c == '{')
                .map_or(rest.len(), |(at, _)| at);
            parts.push(Part::Literal(rest[..len].to_owned().into()));
            rest = &rest[len..];
        }
    }
    Ok(parts)
}

/// Whether `text` starts with `{name}`, `name` made of ASCII letters, digits and `_`.
fn is_placeholder(text: &str) -> bool {
    text.strip_prefix('{')
        .and_then(|inner| inner.split_once('}'))
        .is_some_and(|(name, _)| {
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        })
}

impl Scheme for GenericHmac {
    fn name(&self) -> &'static str {
        self.name
    }

    fn signed_content(&self) -> &'static str {
        self.signed_content
    }

    fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    fn default_tolerance(&self) -> Duration {
        self.tolerance
    }

    fn envelope(&self) -> &'static Envelope {
        self.envelope
    }

    fn signs_url(&self) -> bool {
        self.content.iter().any(|part| matches!(part, Part::Url))
    }

    fn handshake(&self) -> Option<Handshake> {
        self.handshake
    }

    fn decode_secret(&self, secret: &str) -> Result<Vec<u8>, ConfigError> {
        match self.key_form {
            KeyForm::Text => Ok(secret.as_bytes().to_vec()),
            KeyForm::Ed25519 | KeyForm::EcdsaP256 => Err(ConfigError::InvalidSecret {
                reason: "this provider signs with a private key: configure its public key",
            }),
        }
    }

    fn decode_public_key(&self, key: &str) -> Result<PublicKey, ConfigError> {
        match self.key_form {
            KeyForm::Ed25519 => PublicKey::ed25519(key),
            KeyForm::EcdsaP256 => PublicKey::ecdsa_p256(key),
            KeyForm::Text => Err(ConfigError::InvalidSecret {
                reason: "this provider signs with a shared secret, not a key pair",
            }),
        }
    }

    fn decode_private_key(&self, key: &str) -> Result<PrivateKey, ConfigError> {
        match self.key_form {
            KeyForm::Ed25519 => PrivateKey::ed25519(key),
            KeyForm::EcdsaP256 => PrivateKey::ecdsa_p256(key),
            KeyForm::Text => Err(ConfigError::InvalidSecret {
                reason: "this provider signs with a shared secret, not a key pair",
            }),
        }
    }

    fn fast_path(&self) -> Option<FastPath> {
        self.has_fast_path()
            .then(|| FastPath(Builtin::Described(Arc::new(self.clone()))))
    }

    fn parse<'a>(&'a self, delivery: &Delivery<'a>) -> Result<Signed<'a>, SignatureRejection> {
        let signature_header = self.signature.header();
        // An absent optional header is looked up as the signature header again: its
        // answer is then never read.
        let [signature_value, timestamp_value, id_value] = find_headers(
            delivery.headers,
            [
                signature_header,
                Self::header_of(self.timestamp.as_ref().map(|(field, _)| field))
                    .unwrap_or(signature_header),
                Self::header_of(self.id.as_ref()).unwrap_or(signature_header),
            ],
        );
        let (_, value) = signature_value.bytes(signature_header)?.ok_or_else(|| {
            SignatureRejection::MissingSignature {
                header: signature_header.clone(),
            }
        })?;
        let mut signed = Signed::new();
        // The items of an item header, for the timestamp and id fields.
        let mut items: SmallVec<[(&'a [u8], &'a [u8]); 4]> = SmallVec::new();
        match &self.signature {
            SignatureField::Header { prefix, .. } => {
                let encoded = value.strip_prefix(prefix.as_bytes()).ok_or(
                    SignatureRejection::MalformedSignature {
                        reason: "the signature lacks its prefix",
                    },
                )?;
                signed.push_signature(self.decode(encoded)?);
            }
            SignatureField::Items { separator, key, .. } => {
                let mut separator_buf = [0u8; 4];
                let separator = separator.encode_utf8(&mut separator_buf).as_bytes();
                for item in value.split(|b| separator.contains(b)) {
                    let item = item.trim_ascii();
                    if item.is_empty() {
                        continue;
                    }
                    let at = item.iter().position(|&b| b == b'=').ok_or(
                        SignatureRejection::MalformedSignature {
                            reason: "expected `name=value` items",
                        },
                    )?;
                    let (name, text) = (&item[..at], &item[at + 1..]);
                    if name == key.as_bytes() {
                        signed.push_signature(self.decode(text)?);
                    } else {
                        items.push((name, text));
                    }
                }
                if signed.signatures().is_empty() {
                    return Err(SignatureRejection::MissingSignature {
                        header: signature_header.clone(),
                    });
                }
            }
        }
        let read = |field: &Field, found: Found<'a>| -> Result<Read<'a>, SignatureRejection> {
            match field {
                Field::Header(header) => found
                    .bytes(header)?
                    .map(|(value, bytes)| Read::Header(value, bytes))
                    .ok_or_else(|| SignatureRejection::MissingHeader {
                        header: header.clone(),
                    }),
                Field::Item(name) => items
                    .iter()
                    .find(|(item, _)| *item == name.as_bytes())
                    .map(|(_, text)| Read::Item(text))
                    .ok_or(SignatureRejection::MalformedSignature {
                        reason: "the signature header lacks an item this scheme signs",
                    }),
                Field::Json(path) => webhook_core::json::find(delivery.body, path)
                    .map(Read::Json)
                    .ok_or(SignatureRejection::MalformedSignature {
                        reason: "the body lacks a member this scheme reads",
                    }),
            }
        };
        let mut timestamp: &'a [u8] = b"";
        if let Some((field, format)) = &self.timestamp {
            let found = read(field, timestamp_value)?;
            signed.set_timestamp(self.read_time(*format, found.bytes(), field)?);
            timestamp = found.borrowed();
        }
        let mut id: &'a [u8] = b"";
        if let Some(field) = &self.id {
            // An id the signature does not cover is optional: without it the delivery
            // still verifies, and has no event id from the scheme.
            let signed_id = self.content.iter().any(|part| matches!(part, Part::Id));
            let found = match read(field, id_value) {
                Ok(found) => Some(found),
                Err(
                    SignatureRejection::MissingHeader { .. }
                    | SignatureRejection::MalformedSignature { .. },
                ) if !signed_id => None,
                Err(rejection) => return Err(rejection),
            };
            match found {
                Some(Read::Header(value, bytes)) => {
                    signed.set_checked_event_id(value, bytes);
                    id = bytes;
                }
                Some(Read::Item(bytes)) => {
                    let text = std::str::from_utf8(bytes).map_err(|_| {
                        SignatureRejection::MalformedHeader {
                            header: signature_header.clone(),
                            reason: "not visible ASCII",
                        }
                    })?;
                    signed.set_event_id(text);
                    id = bytes;
                }
                // `check` keeps event ids out of the body.
                Some(Read::Json(_)) | None => {}
            }
        }
        let mut after_body = false;
        for part in self.content.iter() {
            let piece: &'a [u8] = match part {
                Part::Body => {
                    after_body = true;
                    continue;
                }
                Part::Literal(text) => text.as_bytes(),
                Part::Timestamp => timestamp,
                Part::Id => id,
                Part::Method => delivery.method.as_str().as_bytes(),
                Part::Url => delivery.required_url()?.as_bytes(),
            };
            if after_body {
                signed.push_suffix(piece);
            } else {
                signed.push_prefix(piece);
            }
        }
        Ok(signed)
    }

    fn sign(&self, secret: &[u8], request: &SignRequest<'_>) -> Result<HeaderMap, SignError> {
        let (timestamp, url) = self.signed_values(request)?;
        let pieces = self.signed_pieces(request, &timestamp, url);
        let tag = hmac(self.algorithm, secret, &pieces);
        self.headers(tag.as_bytes(), &timestamp, request.id)
    }

    fn sign_with_private_key(
        &self,
        key: &PrivateKey,
        request: &SignRequest<'_>,
    ) -> Result<HeaderMap, SignError> {
        if key.algorithm() != self.algorithm {
            return Err(SignError::Unsupported {
                reason: "the private key is not of this provider's algorithm",
            });
        }
        let (timestamp, url) = self.signed_values(request)?;
        let message = self.signed_pieces(request, &timestamp, url).concat();
        let signature = sign_asymmetric(key, &message);
        self.headers(&signature, &timestamp, request.id)
    }
}

impl GenericHmac {
    /// The timestamp as this provider writes it, and the URL when it is signed.
    fn signed_values<'r>(&self, request: &SignRequest<'r>) -> Result<(String, &'r str), SignError> {
        let timestamp = self
            .timestamp
            .as_ref()
            .map(|(_, format)| Self::write_time(*format, request.timestamp))
            .unwrap_or_default();
        let url = if self.signs_url() {
            request.required_url()?
        } else {
            ""
        };
        Ok((timestamp, url))
    }

    /// The signed content of `request`, piece by piece, as the template lays it out.
    fn signed_pieces<'r>(
        &'r self,
        request: &SignRequest<'r>,
        timestamp: &'r str,
        url: &'r str,
    ) -> Vec<&'r [u8]> {
        self.content
            .iter()
            .map(|part| match part {
                Part::Literal(text) => text.as_bytes(),
                Part::Body => request.body,
                Part::Timestamp => timestamp.as_bytes(),
                Part::Id => request.id.as_bytes(),
                Part::Method => request.method.as_bytes(),
                Part::Url => url.as_bytes(),
            })
            .collect()
    }
}

/// Signs `message` with an asymmetric key: Ed25519, or ECDSA P-256 in DER.
pub(crate) fn sign_asymmetric(key: &PrivateKey, message: &[u8]) -> Vec<u8> {
    use ed25519_dalek::Signer as _;
    match key {
        PrivateKey::Ed25519(key) => key.sign(message).to_bytes().to_vec(),
        PrivateKey::EcdsaP256(key) => {
            let signature: p256::ecdsa::Signature =
                p256::ecdsa::signature::Signer::sign(key, message);
            signature.to_der().as_bytes().to_vec()
        }
    }
}

impl GenericHmac {
    /// The headers carrying `signature`, the timestamp and the id.
    fn headers(&self, signature: &[u8], timestamp: &str, id: &str) -> Result<HeaderMap, SignError> {
        let encoded = self.encode(signature);
        let mut headers = HeaderMap::new();
        let value = match &self.signature {
            SignatureField::Header { prefix, .. } => format!("{prefix}{encoded}"),
            SignatureField::Items { join, key, .. } => {
                let mut items = Vec::new();
                if let Some((Field::Item(name), _)) = &self.timestamp {
                    items.push(format!("{name}={timestamp}"));
                }
                if let Some(Field::Item(name)) = &self.id {
                    items.push(format!("{name}={id}"));
                }
                items.push(format!("{key}={encoded}"));
                items.join(join)
            }
        };
        headers.insert(self.signature.header().clone(), value.parse()?);
        if let Some((Field::Header(header), _)) = &self.timestamp {
            headers.insert(header.clone(), timestamp.parse()?);
        }
        if let Some(Field::Header(header)) = &self.id {
            headers.insert(header.clone(), id.parse()?);
        }
        Ok(headers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheme::hmac_tag;

    fn builder() -> GenericHmacBuilder {
        GenericHmac::builder("acme", HeaderName::from_static("x-sig"))
    }

    #[test]
    fn templates_are_checked_at_build_time() {
        assert!(builder().signed_content("{body}{body}").build().is_err());
        assert!(builder().signed_content("{id}").build().is_err());
        assert!(
            builder()
                .signed_content("{timestamp}.{body}")
                .build()
                .is_err()
        );
        assert!(builder().signed_content("{id}.{body}").build().is_err());
        assert!(builder().signed_content("{nope}{body}").build().is_err());
        assert!(
            builder()
                .timestamp_header(HeaderName::from_static("x-ts"))
                .build()
                .is_err(),
            "an unsigned timestamp header"
        );
        let scheme = builder()
            .id_header(HeaderName::from_static("x-id"))
            .timestamp_header(HeaderName::from_static("x-ts"))
            .signed_content("v1:{id}:{timestamp}:{body}")
            .build()
            .unwrap();
        assert_eq!(scheme.content.len(), 6);
    }

    #[test]
    fn signed_content_follows_the_template() {
        let scheme = builder()
            .id_header(HeaderName::from_static("x-id"))
            .timestamp_header(HeaderName::from_static("x-ts"))
            .signed_content("v1:{id}:{timestamp}:{body}")
            .build()
            .unwrap();
        let request = SignRequest::new(b"hello", 42, "abc");
        let headers = scheme.sign(b"key", &request).unwrap();
        let expected = hmac_tag(b"key", &[b"v1:abc:42:"], b"hello");
        assert_eq!(headers["x-sig"], hex::encode(expected));
        let delivery = Delivery::new(&headers, b"hello");
        let signed = scheme.parse(&delivery).unwrap();
        assert_eq!(signed.prefix().concat(), b"v1:abc:42:");
        assert_eq!(signed.timestamp(), Some(42));
        assert_eq!(signed.event_id(), Some("abc"));
    }

    #[test]
    fn content_after_the_body_and_the_url_are_signed() {
        let scheme = builder()
            .timestamp_header(HeaderName::from_static("x-ts"))
            .time_format(TimeFormat::UnixMillis)
            .algorithm(Algorithm::HmacSha512)
            .encoding(Encoding::Base64)
            .signed_content("{method}{url}{body}{timestamp}")
            .build()
            .unwrap();
        assert!(scheme.signs_url());
        let url = "https://example.com/hooks?a=1";
        let request = SignRequest::new(b"{}", 1_700_000_000, "").with_url(url);
        let headers = scheme.sign(b"key", &request).unwrap();
        assert_eq!(headers["x-ts"], "1700000000000");
        let delivery = Delivery::new(&headers, b"{}").with_url(url);
        let signed = scheme.parse(&delivery).unwrap();
        assert_eq!(signed.timestamp(), Some(1_700_000_000));
        assert_eq!(signed.prefix().concat(), format!("POST{url}").as_bytes());
        assert_eq!(signed.suffix().concat(), b"1700000000000");
        assert_eq!(signed.signatures()[0].algorithm(), Algorithm::HmacSha512);
        let without_url = Delivery::new(&headers, b"{}");
        assert_eq!(
            scheme.parse(&without_url).unwrap_err(),
            SignatureRejection::PublicUrlUnset
        );
    }
}
