//! The built-in key extractors of the rate limiter.
//!
//! A [`KeyExtractor<Key>`](KeyExtractor) reads a [`Key`] from the [`RequestHead`]; the
//! trait, the head and [`HeaderKey`] are `webhook-core`'s, shared with the idempotency
//! layer (which reads a `String` event id with the same trait). Built in:
//!
//! | extractor | key | missing when |
//! |---|---|---|
//! | [`Global`] | one bucket for every request | never |
//! | [`PeerIp`](crate::PeerIp) | the peer address (or the client behind trusted proxies) | the connection address is not in the extensions |
//! | [`HeaderKey`] | a header's value, as bytes | the header is absent or empty, or its copies differ |
//! | [`VerifiedSource`] | the scheme and key id that verified the delivery | no [`VerifiedDelivery`](webhook_core::VerifiedDelivery) marker |
//! | a closure `Fn(&RequestHead<'_>) -> Option<Key>` | whatever it returns | it returns `None` |
//!
//! What happens to a request without a key is the layer's
//! [`MissingKeyPolicy`](crate::MissingKeyPolicy).
//!
//! Anybody can send any header: key by [`HeaderKey`] only on a value set by a proxy
//! you trust (which overwrites what the client sent), or after verification. A client
//! choosing a fresh value per request would otherwise get a fresh bucket per request.

use webhook_core::{HeaderKey, KeyExtractor, RequestHead};

use crate::Key;

/// One bucket for all requests: a ceiling on what the service accepts in total.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Global;

impl KeyExtractor<Key> for Global {
    #[inline]
    fn extract(&self, _head: &RequestHead<'_>) -> Option<Key> {
        Some(Key::global())
    }
}

/// The header's value as bytes, under [`HeaderKey`]'s rule.
impl KeyExtractor<Key> for HeaderKey {
    #[inline]
    fn extract(&self, head: &RequestHead<'_>) -> Option<Key> {
        self.value(head).map(Key::from_slice)
    }
}

/// The verified source of a delivery: the scheme and the id of the key that matched,
/// read from the [`VerifiedDelivery`](webhook_core::VerifiedDelivery) marker the
/// signature layer inserts.
///
/// The layer must run after (inside) the signature layer; a request without the marker
/// has no key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VerifiedSource;

impl KeyExtractor<Key> for VerifiedSource {
    #[inline]
    fn extract(&self, head: &RequestHead<'_>) -> Option<Key> {
        head.delivery().map(Key::source)
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use http::{HeaderName, Request};
    use webhook_core::VerifiedDelivery;

    use super::*;

    fn key_of(extractor: &impl KeyExtractor<Key>, request: &Request<()>) -> Option<Key> {
        extractor.extract(&RequestHead::new(request))
    }

    #[test]
    fn header_and_source_keys() {
        let key = HeaderKey::new(HeaderName::from_static("x-tenant"));
        let request = |values: &[&str]| {
            let mut builder = Request::get("/");
            for value in values {
                builder = builder.header("x-tenant", *value);
            }
            builder.body(()).unwrap()
        };
        assert_eq!(key_of(&key, &request(&["acme"])), Some(Key::from("acme")));
        assert_eq!(
            key_of(&key, &request(&["acme", "acme"])),
            Some(Key::from("acme"))
        );
        assert_eq!(key_of(&key, &request(&[""])), None);
        // Two different copies: which one the client wrote cannot be told.
        assert_eq!(key_of(&key, &request(&["acme", "other"])), None);

        let mut request = Request::new(());
        assert_eq!(key_of(&VerifiedSource, &request), None);
        let delivery = VerifiedDelivery::new("hopnow", "2025-11".into(), Bytes::new());
        request.extensions_mut().insert(delivery);
        let source = key_of(&VerifiedSource, &request).unwrap();
        assert_eq!(source.to_bytes(), b"src:hopnow/2025-11");
        assert_eq!(format!("{source:?}"), "Key::Source(hopnow/2025-11)");
        assert_eq!(key_of(&Global, &request), Some(Key::global()));
    }
}
