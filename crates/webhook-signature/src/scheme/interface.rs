//! What a scheme is: the [`Scheme`] trait, and what it exchanges with the verifier
//! ([`SignRequest`] to sign, [`Signed`] read from the headers).

use http::{HeaderMap, HeaderName, HeaderValue};
use smallvec::SmallVec;

use super::content::Tag;
use super::fast::FastPath;
use super::header::ascii_value;
use crate::{ConfigError, SignatureRejection};

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
    fn fast_path(&self) -> Option<FastPath> {
        (**self).fast_path()
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
