//! What a scheme is: the [`Scheme`] trait, and what it exchanges with the verifier
//! ([`SignRequest`] to sign, [`Signed`] read from the headers).

use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue, Method};
use smallvec::SmallVec;
use webhook_core::Handshake;
use webhook_core::envelope::Envelope;

use super::algorithm::{Algorithm, PrivateKey, PublicKey, Signature};
use super::fast::FastPath;
use super::header::ascii_value;
use crate::{ConfigError, DEFAULT_TOLERANCE, SignError, SignatureRejection};

/// A signature scheme. Implement it to verify a provider this crate does not know.
///
/// `parse` reads a [`Delivery`] into a [`Signed`]: the presented signatures, decoded
/// to bytes and tagged with their [`Algorithm`], and the pieces of content signed
/// around the body. The verifier then checks the timestamp, and for each key computes
/// the HMAC of `prefix || body || suffix` and compares in constant time, or verifies
/// an asymmetric signature with the public key.
///
/// ```
/// use http::{HeaderMap, HeaderName};
/// use webhook_signature::scheme::{Delivery, Scheme, SignRequest, Signed, decode_hex_tag, hmac_tag, single_header};
/// use webhook_signature::{SignError, SignatureRejection};
///
/// /// `X-Acme-Signature: <hex of HMAC(secret, body)>`
/// struct Acme;
///
/// static HEADER: HeaderName = HeaderName::from_static("x-acme-signature");
///
/// impl Scheme for Acme {
///     fn name(&self) -> &'static str { "acme" }
///     fn signed_content(&self) -> &'static str { "the raw body" }
///     fn parse<'a>(&'a self, delivery: &Delivery<'a>) -> Result<Signed<'a>, SignatureRejection> {
///         let value = single_header(delivery.headers, &HEADER)?
///             .ok_or_else(|| SignatureRejection::MissingSignature { header: HEADER.clone() })?;
///         let mut signed = Signed::new();
///         signed.push_signature(decode_hex_tag(value)?);
///         Ok(signed)
///     }
///     fn sign(&self, secret: &[u8], request: &SignRequest<'_>) -> Result<HeaderMap, SignError> {
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

    /// The algorithm of the scheme's secrets, or of its signatures when it takes
    /// public keys only. The default is HMAC-SHA256.
    fn algorithm(&self) -> Algorithm {
        Algorithm::HmacSha256
    }

    /// The replay tolerance its provider's own SDK applies, where a timestamp is
    /// signed; a verifier starts from it. The default is [`DEFAULT_TOLERANCE`].
    fn default_tolerance(&self) -> Duration {
        DEFAULT_TOLERANCE
    }

    /// Whether the signed content includes the URL the provider called: a verifier
    /// for it then needs a [public URL](crate::VerifierBuilder::public_url). The
    /// default is `false`.
    fn signs_url(&self) -> bool {
        false
    }

    /// The setup handshake its provider sends, which the signature layer answers
    /// itself (see the crate docs, "Handshakes"); the default is `None`. Only the
    /// handshakes [`Handshake`] names can be answered.
    fn handshake(&self) -> Option<Handshake> {
        None
    }

    /// Where the provider's deliveries put the event's id, type, created time and
    /// data. The signature layer attaches it to each delivery it verifies
    /// ([`VerifiedDelivery::with_envelope`]), which applies the id rule; the event
    /// extractor reads the rest. The default is [`Envelope::STANDARD`]; the built-in
    /// providers' are in [`envelopes`](super::envelopes).
    ///
    /// [`VerifiedDelivery::with_envelope`]: webhook_core::VerifiedDelivery::with_envelope
    fn envelope(&self) -> &'static Envelope {
        &Envelope::STANDARD
    }

    /// Turns a configured secret into the HMAC key. The default uses its UTF-8 bytes.
    fn decode_secret(&self, secret: &str) -> Result<Vec<u8>, ConfigError> {
        Ok(secret.as_bytes().to_vec())
    }

    /// Reads a configured public key, for schemes with asymmetric signatures. The
    /// default refuses: the scheme verifies with shared secrets.
    fn decode_public_key(&self, key: &str) -> Result<PublicKey, ConfigError> {
        let _ = key;
        Err(ConfigError::InvalidSecret {
            reason: "this scheme verifies with shared secrets, not public keys",
        })
    }

    /// Reads a private key to sign with, for schemes with asymmetric signatures. The
    /// default refuses: the scheme signs with shared secrets.
    fn decode_private_key(&self, key: &str) -> Result<PrivateKey, ConfigError> {
        let _ = key;
        Err(ConfigError::InvalidSecret {
            reason: "this scheme signs with shared secrets, not private keys",
        })
    }

    /// Reads the signatures, timestamp, event id and signed content from the
    /// delivery: its headers, and for the schemes that sign them, its body, method
    /// and public URL.
    fn parse<'a>(&'a self, delivery: &Delivery<'a>) -> Result<Signed<'a>, SignatureRejection>;

    /// Produces the headers a sender would attach, signing with the decoded `secret`.
    fn sign(&self, secret: &[u8], request: &SignRequest<'_>) -> Result<HeaderMap, SignError>;

    /// Produces the headers a sender would attach, signing with a private key that
    /// [`decode_private_key`](Self::decode_private_key) returned. The default refuses.
    fn sign_with_private_key(
        &self,
        key: &PrivateKey,
        request: &SignRequest<'_>,
    ) -> Result<HeaderMap, SignError> {
        let _ = (key, request);
        Err(SignError::Unsupported {
            reason: "this scheme signs with shared secrets",
        })
    }

    /// The verifier's fast path for this scheme, if it has one: the built-in schemes
    /// read their usual delivery straight from the headers and leave everything else
    /// to [`parse`](Self::parse).
    ///
    /// Keep the default, `None`, in a scheme of your own: only this crate's schemes
    /// make a [`FastPath`]. A wrapper that reads the headers exactly as the scheme it
    /// wraps may forward that scheme's, as `Box<dyn Scheme>` does, so a scheme chosen
    /// with [`by_name`](super::by_name) takes the fast path as its own type does.
    fn fast_path(&self) -> Option<FastPath> {
        None
    }
}

/// Forwards every method, the fast path included, to the scheme behind a pointer.
macro_rules! forward_scheme {
    ($pointer:ident) => {
        impl<T: Scheme + ?Sized> Scheme for $pointer<T> {
            fn name(&self) -> &'static str {
                (**self).name()
            }
            fn signed_content(&self) -> &'static str {
                (**self).signed_content()
            }
            fn algorithm(&self) -> Algorithm {
                (**self).algorithm()
            }
            fn default_tolerance(&self) -> Duration {
                (**self).default_tolerance()
            }
            fn signs_url(&self) -> bool {
                (**self).signs_url()
            }
            fn handshake(&self) -> Option<Handshake> {
                (**self).handshake()
            }
            fn envelope(&self) -> &'static Envelope {
                (**self).envelope()
            }
            fn decode_secret(&self, secret: &str) -> Result<Vec<u8>, ConfigError> {
                (**self).decode_secret(secret)
            }
            fn decode_public_key(&self, key: &str) -> Result<PublicKey, ConfigError> {
                (**self).decode_public_key(key)
            }
            fn decode_private_key(&self, key: &str) -> Result<PrivateKey, ConfigError> {
                (**self).decode_private_key(key)
            }
            fn parse<'a>(
                &'a self,
                delivery: &Delivery<'a>,
            ) -> Result<Signed<'a>, SignatureRejection> {
                (**self).parse(delivery)
            }
            fn sign(
                &self,
                secret: &[u8],
                request: &SignRequest<'_>,
            ) -> Result<HeaderMap, SignError> {
                (**self).sign(secret, request)
            }
            fn sign_with_private_key(
                &self,
                key: &PrivateKey,
                request: &SignRequest<'_>,
            ) -> Result<HeaderMap, SignError> {
                (**self).sign_with_private_key(key, request)
            }
            fn fast_path(&self) -> Option<FastPath> {
                (**self).fast_path()
            }
        }
    };
}

forward_scheme!(Box);
forward_scheme!(Arc);

static POST: Method = Method::POST;

/// A received delivery as a scheme reads it: the headers and the raw body, and the
/// method and public URL for the schemes that sign them.
#[derive(Debug, Clone, Copy)]
pub struct Delivery<'a> {
    /// The request method.
    pub method: &'a Method,
    /// The URL the provider called, as the provider saw it (scheme, host, path and
    /// query), when the verifier knows it: see
    /// [`VerifierBuilder::public_url`](crate::VerifierBuilder::public_url).
    pub url: Option<&'a str>,
    /// The request headers.
    pub headers: &'a HeaderMap,
    /// The raw body.
    pub body: &'a [u8],
}

impl<'a> Delivery<'a> {
    /// A `POST` with these headers and body, and no known URL.
    pub fn new(headers: &'a HeaderMap, body: &'a [u8]) -> Self {
        Self {
            method: &POST,
            url: None,
            headers,
            body,
        }
    }

    /// Sets the method.
    pub fn with_method(mut self, method: &'a Method) -> Self {
        self.method = method;
        self
    }

    /// Sets the public URL.
    pub fn with_url(mut self, url: &'a str) -> Self {
        self.url = Some(url);
        self
    }

    /// The public URL, or [`SignatureRejection::PublicUrlUnset`] for a scheme that signs
    /// it.
    pub fn required_url(&self) -> Result<&'a str, SignatureRejection> {
        self.url.ok_or(SignatureRejection::PublicUrlUnset)
    }
}

/// What to sign: the body, and the timestamp, id, method and URL for schemes that
/// sign them.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct SignRequest<'a> {
    /// The raw body.
    pub body: &'a [u8],
    /// Unix seconds (ignored by schemes without a timestamp).
    pub timestamp: i64,
    /// The message id (ignored by schemes without one).
    pub id: &'a str,
    /// The request method (`"POST"` unless set).
    pub method: &'a str,
    /// The URL the delivery is sent to (needed by schemes that sign it).
    pub url: Option<&'a str>,
}

impl<'a> SignRequest<'a> {
    /// A `POST` of `body` at `timestamp` with event id `id`, to no particular URL.
    pub fn new(body: &'a [u8], timestamp: i64, id: &'a str) -> Self {
        Self {
            body,
            timestamp,
            id,
            method: "POST",
            url: None,
        }
    }

    /// Sets the method.
    pub fn with_method(mut self, method: &'a str) -> Self {
        self.method = method;
        self
    }

    /// Sets the URL.
    pub fn with_url(mut self, url: &'a str) -> Self {
        self.url = Some(url);
        self
    }

    /// The URL, or [`SignError::Unsupported`] for a scheme that signs it.
    pub fn required_url(&self) -> Result<&'a str, SignError> {
        self.url.ok_or(SignError::Unsupported {
            reason: "this scheme signs the URL: give the URL the delivery is sent to",
        })
    }
}

/// What a scheme read from a delivery: the presented signatures, and the signed
/// content, `prefix || body || suffix`, where a scheme may sign other bytes in the
/// body's place.
#[derive(Debug, Default)]
pub struct Signed<'a> {
    signatures: SmallVec<[Signature; 2]>,
    prefix: SmallVec<[&'a [u8]; 4]>,
    body: Option<Vec<u8>>,
    /// Other contents signed in the body's place, each tried as well.
    alternatives: Vec<Vec<u8>>,
    suffix: SmallVec<[&'a [u8]; 2]>,
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

    /// Adds a presented signature (an HMAC-SHA256 [`Tag`](super::Tag) converts); the delivery
    /// verifies if any one matches a key of its algorithm.
    #[inline]
    pub fn push_signature(&mut self, signature: impl Into<Signature>) {
        self.signatures.push(signature.into());
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

    /// Appends a piece of the content signed after the body.
    #[inline]
    pub fn push_suffix(&mut self, piece: &'a [u8]) {
        self.suffix.push(piece);
    }

    /// Signs `content` in the body's place, for schemes that sign something derived
    /// from the body (Twilio's sorted form parameters, Mailgun's fields).
    #[inline]
    pub fn replace_body(&mut self, content: Vec<u8>) {
        self.body = Some(content);
    }

    /// Another content the provider may have signed in the body's place, tried after
    /// the first: for providers whose SDKs accept several spellings of one request
    /// (Twilio's URL with and without its port).
    #[inline]
    pub fn push_alternative_body(&mut self, content: Vec<u8>) {
        self.alternatives.push(content);
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
    /// [`single_header_value`](super::single_header_value)): the verified delivery
    /// then shares the request's buffer instead of copying the id.
    ///
    /// The id is the value's text, trimmed. A value that is not visible ASCII is
    /// [`SignatureRejection::MalformedHeader`], as
    /// [`single_header`](super::single_header) would answer.
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
    pub fn signatures(&self) -> &[Signature] {
        &self.signatures
    }

    /// The content signed in the body's place, if the scheme replaced it.
    #[inline]
    pub fn replaced_body(&self) -> Option<&[u8]> {
        self.body.as_deref()
    }

    /// The pieces signed after the body, in order.
    #[inline]
    pub fn suffix(&self) -> &[&'a [u8]] {
        &self.suffix
    }

    /// The alternative contents, tried after the first.
    #[inline]
    pub fn alternative_bodies(&self) -> impl Iterator<Item = &[u8]> {
        self.alternatives.iter().map(Vec::as_slice)
    }

    /// Every piece of the signed content, in order, with `body` in the body's place.
    pub(crate) fn pieces<'s>(&'s self, body: &'s [u8]) -> SmallVec<[&'s [u8]; 8]> {
        let mut pieces: SmallVec<[&'s [u8]; 8]> = SmallVec::new();
        pieces.extend(self.prefix.iter().copied());
        pieces.push(body);
        pieces.extend(self.suffix.iter().copied());
        pieces
    }

    /// Each content the signature may cover: the request body or what the scheme
    /// signs in its place, then the alternatives.
    pub(crate) fn contents<'s>(&'s self, body: &'s [u8]) -> impl Iterator<Item = &'s [u8]> {
        std::iter::once(self.body.as_deref().unwrap_or(body)).chain(self.alternative_bodies())
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
        match self.event_id {
            Some(EventIdRef::Header { value, id }) if id.len() == value.len() => Some(value),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
