//! Where the event id comes from: the built-in extractors.
//!
//! The event id is read by a [`KeyExtractor<String>`](KeyExtractor) from the
//! [`RequestHead`]. The trait, the head and [`HeaderKey`] are `webhook-core`'s,
//! shared with the rate limiter (which reads its `Key` with the same trait): an event
//! id and a rate-limit key are both a key read from the request head, of a different
//! type, so one trait and one header rule serve both. The id is `None` when the
//! delivery has none; the layer then answers 400 `missing_event_id` (or passes the
//! request through, see [`MissingKeyPolicy`](crate::MissingKeyPolicy)). An empty id
//! counts as none.
//!
//! The layer reads the id from the verified delivery, never from an unverified body:
//! the [`VerifiedDelivery`](webhook_core::VerifiedDelivery) marker
//! ([`RequestHead::delivery`]) carries the exact
//! verified bytes, so extractors that read the body parse those, without buffering
//! the body again. JSON extractors walk the document with `serde` and keep only the
//! value they look for (no `Value` tree is built). A JSON id may be a string or an
//! integer; an object, array, float, boolean or `null` is no id, and so is a name that
//! appears twice in the same object.
//!
//! ```
//! use bytes::Bytes;
//! use webhook_core::{KeyId, VerifiedDelivery};
//! use webhook_idempotency::key::{DefaultKey, HeaderKey, JsonPointerKey, KeyExtractor, RequestHead};
//!
//! let body = Bytes::from_static(br#"{"id":"evt_1","data":{"object":{"id":"pi_9"}}}"#);
//! // The signature layer applies the event-id rule to every delivery it verifies.
//! let delivery = VerifiedDelivery::new("stripe", KeyId::from("k"), body).with_event_id_from_body();
//! let mut request = http::Request::post("/webhooks").header("x-request-id", "req_5").body(()).unwrap();
//! request.extensions_mut().insert(delivery.clone());
//! let head = RequestHead::new(&request);
//!
//! assert_eq!(DefaultKey.extract(&head).as_deref(), Some("evt_1"));
//! let nested = JsonPointerKey::new("/data/object/id").unwrap();
//! assert_eq!(nested.extract(&head).as_deref(), Some("pi_9"));
//! let header = HeaderKey::new(http::HeaderName::from_static("x-request-id"));
//! let id: Option<String> = header.extract(&head);
//! assert_eq!(id.as_deref(), Some("req_5"));
//!
//! // Any closure with the right signature is an extractor too.
//! let closure = |head: &RequestHead<'_>| {
//!     let request = head.headers().get("x-request-id")?.to_str().ok()?;
//!     Some(format!("{request}@{}", head.delivery()?.key_id()))
//! };
//! assert_eq!(closure.extract(&head).as_deref(), Some("req_5@k"));
//!
//! // A scheme that carries an event id (Standard Webhooks' `webhook-id`, GitHub's
//! // `X-GitHub-Delivery`) wins over the body.
//! request.extensions_mut().insert(delivery.with_event_id("msg_2"));
//! assert_eq!(DefaultKey.extract(&RequestHead::new(&request)).as_deref(), Some("msg_2"));
//! ```

pub use webhook_core::{HeaderKey, KeyExtractor, RequestHead};

use crate::ConfigError;

/// The default: the delivery's event id, [`VerifiedDelivery::event_id`](webhook_core::VerifiedDelivery::event_id):
/// the one the scheme carries, else the top-level `"id"` of the JSON body (the rule
/// every crate of the family follows, applied once by the signature layer).
///
/// GitHub's `X-GitHub-Delivery` is not covered by GitHub's signature: a party that
/// captured a signed delivery could resend it with another delivery id. Schemes that
/// sign their id and timestamp (Standard Webhooks, Stripe's timestamp) bound that
/// replay window; for GitHub, consider [`JsonPointerKey`] on a field of the signed body
/// if your events have one.
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultKey;

impl KeyExtractor<String> for DefaultKey {
    fn extract(&self, head: &RequestHead<'_>) -> Option<String> {
        head.delivery()?.event_id().map(str::to_owned)
    }
}

/// The value at a JSON pointer (RFC 6901, such as `/data/object/id`) in the verified
/// body.
#[derive(Debug, Clone)]
pub struct JsonPointerKey {
    pointer: String,
    tokens: Vec<String>,
}

impl JsonPointerKey {
    /// Parses `pointer`: empty (the whole document) or `/`-separated tokens, with `~1`
    /// for `/` and `~0` for `~`.
    ///
    /// ```
    /// use webhook_idempotency::key::JsonPointerKey;
    ///
    /// assert!(JsonPointerKey::new("/data/items/0/id").is_ok());
    /// assert!(JsonPointerKey::new("data/id").is_err());
    /// assert!(JsonPointerKey::new("/a~2b").is_err());
    /// ```
    pub fn new(pointer: &str) -> Result<Self, ConfigError> {
        let invalid = |reason| ConfigError::InvalidJsonPointer {
            pointer: pointer.to_owned(),
            reason,
        };
        if pointer.is_empty() {
            return Ok(Self {
                pointer: String::new(),
                tokens: Vec::new(),
            });
        }
        let rest = pointer
            .strip_prefix('/')
            .ok_or_else(|| invalid("a JSON pointer starts with `/`"))?;
        let mut tokens = Vec::new();
        for raw in rest.split('/') {
            let mut token = String::with_capacity(raw.len());
            let mut chars = raw.chars();
            while let Some(c) = chars.next() {
                if c == '~' {
                    match chars.next() {
                        Some('0') => token.push('~'),
                        Some('1') => token.push('/'),
                        _ => return Err(invalid("`~` must be followed by `0` or `1`")),
                    }
                } else {
                    token.push(c);
                }
            }
            tokens.push(token);
        }
        Ok(Self {
            pointer: pointer.to_owned(),
            tokens,
        })
    }

    /// The pointer as given.
    pub fn pointer(&self) -> &str {
        &self.pointer
    }
}

impl KeyExtractor<String> for JsonPointerKey {
    fn extract(&self, head: &RequestHead<'_>) -> Option<String> {
        webhook_core::json::find(head.delivery()?.body(), &self.tokens)
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use http::{HeaderName, Request};
    use webhook_core::{KeyId, VerifiedDelivery};

    use super::*;

    /// A request carrying the verified delivery of `body`, with `headers`.
    fn delivered(body: &'static str, headers: &[(&str, &str)]) -> Request<()> {
        let mut request = Request::new(());
        for (name, value) in headers {
            request
                .headers_mut()
                .append(HeaderName::try_from(*name).unwrap(), value.parse().unwrap());
        }
        request.extensions_mut().insert(
            VerifiedDelivery::new(
                "hopnow",
                KeyId::from("k"),
                Bytes::from_static(body.as_bytes()),
            )
            .with_event_id_from_body(),
        );
        request
    }

    fn id_of(key: &impl KeyExtractor<String>, request: &Request<()>) -> Option<String> {
        key.extract(&RequestHead::new(request))
    }

    fn top(body: &'static str) -> Option<String> {
        id_of(&DefaultKey, &delivered(body, &[]))
    }

    #[test]
    fn the_top_level_id_is_found_wherever_it_is_and_nested_ids_are_ignored() {
        assert_eq!(top(r#"{"id":"evt_1"}"#).as_deref(), Some("evt_1"));
        assert_eq!(
            top(r#"{"data":{"id":"inner"},"type":"x","id":"evt_2"}"#).as_deref(),
            Some("evt_2")
        );
        assert_eq!(top(r#"{"data":{"id":"inner"}}"#), None);
        assert_eq!(top(r#"{"id":42}"#).as_deref(), Some("42"));
        assert_eq!(top(r#"{"id":-7}"#).as_deref(), Some("-7"));
        assert_eq!(
            top(r#"{"id":"esc\"aped\u00e9"}"#).as_deref(),
            Some("esc\"apedé")
        );
        assert_eq!(
            top(r#"{"i\u0064":"escaped-name"}"#).as_deref(),
            Some("escaped-name")
        );
    }

    #[test]
    fn ids_that_are_not_strings_or_integers_are_no_id() {
        for body in [
            r#"{"id":1.5}"#,
            r#"{"id":true}"#,
            r#"{"id":null}"#,
            r#"{"id":{"value":"x"}}"#,
            r#"{"id":["x"]}"#,
            r#"["id"]"#,
            r#""id""#,
            "",
            "not json",
            r#"{"id":"a"} trailing"#,
            r#"{"id":"a""#,
        ] {
            assert_eq!(top(body), None, "{body:?}");
        }
    }

    #[test]
    fn an_id_given_twice_is_ambiguous_and_refused() {
        assert_eq!(top(r#"{"id":"a","id":"b"}"#), None);
        assert_eq!(
            top(r#"{"id":"a","data":{"id":"b","id":"c"}}"#).as_deref(),
            Some("a")
        );
    }

    #[test]
    fn json_pointers_walk_objects_and_arrays() {
        let body = r#"{"data":{"items":[{"id":"zero"},{"id":"one"}],"a/b":{"m~n":"escaped"}}}"#;
        let get = |pointer: &str| {
            id_of(
                &JsonPointerKey::new(pointer).unwrap(),
                &delivered(body, &[]),
            )
        };
        assert_eq!(get("/data/items/1/id").as_deref(), Some("one"));
        assert_eq!(get("/data/items/0/id").as_deref(), Some("zero"));
        assert_eq!(get("/data/items/2/id"), None);
        assert_eq!(get("/data/items/01/id"), None);
        assert_eq!(get("/data/items/-/id"), None);
        assert_eq!(get("/data/a~1b/m~0n").as_deref(), Some("escaped"));
        assert_eq!(get("/data/missing"), None);
        assert_eq!(get(""), None);
        let whole = JsonPointerKey::new("").unwrap();
        assert_eq!(
            id_of(&whole, &delivered(r#""evt""#, &[])).as_deref(),
            Some("evt")
        );
        // Without the verified-delivery marker there is nothing to read.
        assert_eq!(id_of(&whole, &Request::new(())), None);
        assert_eq!(id_of(&DefaultKey, &Request::new(())), None);
    }

    #[test]
    fn invalid_pointers_are_refused_when_built() {
        for pointer in ["id", "/a~", "/a~2"] {
            assert!(matches!(
                JsonPointerKey::new(pointer),
                Err(ConfigError::InvalidJsonPointer { .. })
            ));
        }
    }

    #[test]
    fn header_keys_refuse_conflicting_copies() {
        let key = HeaderKey::new(HeaderName::from_static("x-id"));
        assert_eq!(id_of(&key, &delivered("{}", &[])), None);
        assert_eq!(
            id_of(&key, &delivered("{}", &[("x-id", " a ")])).as_deref(),
            Some("a")
        );
        assert_eq!(
            id_of(&key, &delivered("{}", &[("x-id", "a"), ("x-id", "b")])),
            None
        );
    }
}
