//! Keys read from a request: what the layers that group requests key on.
//!
//! The rate limiter counts requests per key (a [client address], a verified source),
//! and the idempotency layer runs the handler once per key (the event id). Both read
//! their key from the same thing, the [`RequestHead`] (the verified delivery is in its
//! extensions), through the same plug-in point, [`KeyExtractor<K>`], and both ask the
//! same question when a request has none ([`MissingKeyPolicy`]). They differ only in
//! the key type `K`: the rate limiter's `Key` (an address, a source, bytes), the
//! idempotency layer's `String` event id. So one trait serves both, implemented by the
//! layers' own extractors, by [`HeaderKey`], and by every closure
//! `Fn(&RequestHead<'_>) -> Option<K>`.
//!
//! [client address]: crate::net::TrustedProxies
//!
//! ```
//! use bytes::Bytes;
//! use webhook_core::{HeaderKey, KeyExtractor, KeyId, RequestHead, VerifiedDelivery};
//!
//! let mut request = http::Request::post("/webhooks")
//!     .header("x-tenant", "acme")
//!     .body(())
//!     .unwrap();
//! request.extensions_mut().insert(VerifiedDelivery::new("hopnow", KeyId::from("k1"), Bytes::new()));
//! let head = RequestHead::new(&request);
//!
//! let tenant = HeaderKey::new(http::HeaderName::from_static("x-tenant"));
//! assert_eq!(tenant.extract(&head).as_deref(), Some("acme"));
//!
//! // Any closure is an extractor too, here of the verified key id.
//! let key_id = |head: &RequestHead<'_>| Some(head.delivery()?.key_id().to_string());
//! assert_eq!(key_id.extract(&head).as_deref(), Some("k1"));
//! ```

use http::{Extensions, HeaderMap, HeaderName, HeaderValue, Method, Request, Uri, Version};

use crate::VerifiedDelivery;
use crate::envelope::Member;

/// What a [`KeyExtractor`] sees of a request: everything but the body.
#[derive(Debug, Clone, Copy)]
pub struct RequestHead<'a> {
    method: &'a Method,
    uri: &'a Uri,
    version: Version,
    headers: &'a HeaderMap,
    extensions: &'a Extensions,
}

impl<'a> RequestHead<'a> {
    /// The head of `request`.
    #[inline]
    pub fn new<B>(request: &'a Request<B>) -> Self {
        Self {
            method: request.method(),
            uri: request.uri(),
            version: request.version(),
            headers: request.headers(),
            extensions: request.extensions(),
        }
    }

    /// The head described by `parts`.
    pub fn from_parts(parts: &'a http::request::Parts) -> Self {
        Self {
            method: &parts.method,
            uri: &parts.uri,
            version: parts.version,
            headers: &parts.headers,
            extensions: &parts.extensions,
        }
    }

    /// The method.
    pub fn method(&self) -> &'a Method {
        self.method
    }

    /// The URI.
    pub fn uri(&self) -> &'a Uri {
        self.uri
    }

    /// The HTTP version.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The headers.
    pub fn headers(&self) -> &'a HeaderMap {
        self.headers
    }

    /// The extensions (connection info, the [`VerifiedDelivery`] marker).
    pub fn extensions(&self) -> &'a Extensions {
        self.extensions
    }

    /// The [`VerifiedDelivery`] marker the signature layer inserted, if it ran.
    #[inline]
    pub fn delivery(&self) -> Option<&'a VerifiedDelivery> {
        self.extensions.get::<VerifiedDelivery>()
    }
}

/// Reads a key of type `K` from a request; `None` when the request has none, and the
/// layer's [`MissingKeyPolicy`] decides what happens to it.
///
/// Implemented by the layers' extractors, by [`HeaderKey`], and by every closure
/// `Fn(&RequestHead<'_>) -> Option<K>`. Object safe: a layer can hold an
/// `Arc<dyn KeyExtractor<K>>`.
pub trait KeyExtractor<K>: Send + Sync + 'static {
    /// The key of this request, or `None` if it has none.
    fn extract(&self, head: &RequestHead<'_>) -> Option<K>;
}

impl<K, F> KeyExtractor<K> for F
where
    F: Fn(&RequestHead<'_>) -> Option<K> + Send + Sync + 'static,
{
    #[inline]
    fn extract(&self, head: &RequestHead<'_>) -> Option<K> {
        self(head)
    }
}

/// The value of one request header, for every layer: the rate limiter counts per value
/// (as bytes), the idempotency layer takes it as the event id (as a `String`).
///
/// One rule for both: the header must be present, every copy of it must carry the
/// same value (a repeated header with different values has no key: which copy a
/// proxy or a client wrote cannot be told), and the value, without surrounding spaces
/// and tabs, must not be empty. As a `String` the value must also be visible ASCII.
///
/// Anybody can send any header, and headers are outside the signed content: use this
/// only for a value set by a proxy you trust (which overwrites what the client sent),
/// or one your sender documents as its delivery id.
///
/// ```
/// use http::HeaderName;
/// use webhook_core::{HeaderKey, KeyExtractor, RequestHead};
///
/// let key = HeaderKey::new(HeaderName::from_static("x-delivery"));
/// let request = |values: &[&str]| {
///     let mut builder = http::Request::post("/webhooks");
///     for value in values {
///         builder = builder.header("x-delivery", *value);
///     }
///     builder.body(()).unwrap()
/// };
/// let id = |values: &[&str]| -> Option<String> { key.extract(&RequestHead::new(&request(values))) };
///
/// assert_eq!(id(&["d_1"]).as_deref(), Some("d_1"));
/// assert_eq!(id(&["d_1", "d_1"]).as_deref(), Some("d_1"));
/// assert_eq!(id(&["d_1", "d_2"]), None);
/// assert_eq!(id(&[""]), None);
/// assert_eq!(id(&[]), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderKey {
    name: HeaderName,
}

impl HeaderKey {
    /// Keys requests by the header `name`.
    pub fn new(name: HeaderName) -> Self {
        Self { name }
    }

    /// The header's name.
    pub fn name(&self) -> &HeaderName {
        &self.name
    }

    /// The header's value under the rule above, without surrounding spaces and tabs.
    #[inline]
    pub fn value<'a>(&self, head: &RequestHead<'a>) -> Option<&'a [u8]> {
        let mut values = head.headers().get_all(&self.name).iter();
        let first: &HeaderValue = values.next()?;
        if values.any(|other| other != first) {
            return None;
        }
        let value = first.as_bytes().trim_ascii();
        (!value.is_empty()).then_some(value)
    }
}

impl KeyExtractor<String> for HeaderKey {
    fn extract(&self, head: &RequestHead<'_>) -> Option<String> {
        let value = self.value(head)?;
        if !value
            .iter()
            .all(|&b| b == b'\t' || (0x20..0x7f).contains(&b))
        {
            return None;
        }
        std::str::from_utf8(value).ok().map(str::to_owned)
    }
}

/// Keys a verified delivery on the SHA-256 of its body, as lowercase hex: for
/// providers whose id travels in an unsigned header (GitHub, Shopify), so that a
/// captured delivery resent under a fresh id is still a duplicate. Two distinct
/// deliveries with identical bytes then count as one. A request without the
/// [`VerifiedDelivery`] marker has no key.
///
/// ```
/// use bytes::Bytes;
/// use http::Request;
/// use webhook_core::{BodyHashKey, KeyExtractor, KeyId, RequestHead, VerifiedDelivery};
///
/// let mut request = Request::new(());
/// assert_eq!(BodyHashKey.extract(&RequestHead::new(&request)), None);
/// let delivery = VerifiedDelivery::new("github", KeyId::from("k"), Bytes::from_static(b"{}"));
/// request.extensions_mut().insert(delivery);
/// let key = BodyHashKey.extract(&RequestHead::new(&request)).unwrap();
/// assert_eq!(key, "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct BodyHashKey;

impl KeyExtractor<String> for BodyHashKey {
    fn extract(&self, head: &RequestHead<'_>) -> Option<String> {
        let body = head.delivery()?.body();
        Member::BodyHash.from_body(body).map(String::from)
    }
}

/// What a layer does with a request its [`KeyExtractor`] finds no key in.
///
/// The same two answers in every layer that keys requests; each layer documents the
/// response it refuses with. Exhaustive on purpose: every such layer handles every
/// answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MissingKeyPolicy {
    /// Refuse it with the layer's rejection (the default).
    #[default]
    Reject,
    /// Let it through to the inner service, without the layer's work on it (not
    /// counted by a rate limit, not deduplicated).
    PassThrough,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_keys_trim_and_refuse_conflicting_or_non_ascii_copies() {
        let key = HeaderKey::new(HeaderName::from_static("x-id"));
        let mut request = Request::new(());
        let id =
            |request: &Request<()>| -> Option<String> { key.extract(&RequestHead::new(request)) };
        assert_eq!(id(&request), None);
        request
            .headers_mut()
            .append("x-id", HeaderValue::from_static(" a "));
        assert_eq!(id(&request).as_deref(), Some("a"));
        assert_eq!(key.value(&RequestHead::new(&request)), Some(&b"a"[..]));
        request
            .headers_mut()
            .append("x-id", HeaderValue::from_static("b"));
        assert_eq!(id(&request), None);
        assert_eq!(key.value(&RequestHead::new(&request)), None);

        let mut binary = Request::new(());
        binary
            .headers_mut()
            .insert("x-id", HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap());
        assert_eq!(id(&binary), None);
        assert_eq!(
            key.value(&RequestHead::new(&binary)),
            Some(&b"caf\xc3\xa9"[..])
        );
    }

    #[test]
    fn the_head_shows_the_request_and_its_delivery() {
        let mut request = Request::put("/hooks/a?x=1").body(()).unwrap();
        let head = RequestHead::new(&request);
        assert_eq!(head.method(), Method::PUT);
        assert_eq!(head.uri().path(), "/hooks/a");
        assert!(head.delivery().is_none());
        request.extensions_mut().insert(VerifiedDelivery::new(
            "hopnow",
            "k".into(),
            bytes::Bytes::new(),
        ));
        let (parts, ()) = request.into_parts();
        let head = RequestHead::from_parts(&parts);
        assert_eq!(
            head.delivery().map(VerifiedDelivery::scheme),
            Some("hopnow")
        );
    }
}
