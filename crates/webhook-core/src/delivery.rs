use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use arrayvec::ArrayString;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue};
use smol_str::SmolStr;

use crate::envelope::{Envelope, Member};

/// The id of the secret that verified a delivery, as configured in the keyring.
///
/// Cheap to clone: an id of up to 23 bytes is kept inline and copied (no shared
/// count to touch on each verified delivery), a longer one is shared. Operators watch
/// it (logs, metrics) to see when an old secret stops being used and can be retired.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(SmolStr);

impl KeyId {
    /// Creates a key id.
    pub fn new(id: impl AsRef<str>) -> Self {
        Self(SmolStr::new(id))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for KeyId {
    fn from(id: &str) -> Self {
        Self(SmolStr::new(id))
    }
}

impl From<String> for KeyId {
    fn from(id: String) -> Self {
        Self(SmolStr::from(id))
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Proof that a request's body was verified, put in the request extensions by the
/// signature layer.
///
/// Later layers and handlers read this marker instead of unverified headers: it names
/// the scheme and the key that matched, the event id and signed timestamp where the
/// scheme carries them, and holds the verified bytes (a cheap [`Bytes`] clone of the
/// request body), so nobody needs to buffer the body again.
///
/// The fields are private: only code that has verified a signature (or a test kit)
/// should build one, through [`VerifiedDelivery::new`].
#[derive(Clone)]
pub struct VerifiedDelivery {
    scheme: Cow<'static, str>,
    key_id: KeyId,
    event_id: Option<EventId>,
    timestamp: Option<i64>,
    body: Bytes,
    envelope: &'static Envelope,
    /// The envelope's type and created time, where headers carry them.
    from_headers: Option<Arc<FromHeaders>>,
    /// Where in `body` the event type's text is, when it was read with the event id
    /// (see [`event_type_read`](Self::event_type_read)).
    event_type_at: Option<(u32, u32)>,
}

/// What the envelope read from the request's headers at verification.
#[derive(Debug)]
struct FromHeaders {
    event_type: Option<Box<str>>,
    created: Option<Box<str>>,
}

/// The first header member with a value, as text (lossy where not UTF-8).
fn header_text(members: &[Member], headers: &HeaderMap) -> Option<Box<str>> {
    members
        .iter()
        .find_map(|member| member.from_headers(headers))
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into())
}

/// The longest event id kept inline: Standard Webhooks / Svix ids (31 bytes), GitHub
/// delivery GUIDs (36) and Stripe event ids fit, so the usual delivery's id is copied
/// rather than shared (no count to touch when the marker is built and dropped).
const INLINE_ID: usize = 40;

/// An event id: its own text, or the header value that carries it.
#[derive(Clone)]
enum EventId {
    Inline(ArrayString<INLINE_ID>),
    Text(Arc<str>),
    /// A longer id: checked to be UTF-8 when stored; a `HeaderValue` never changes,
    /// and its clones share the request's buffer, so keeping it costs no allocation.
    Header(HeaderValue),
}

impl EventId {
    #[inline]
    fn as_str(&self) -> &str {
        match self {
            Self::Inline(text) => text,
            Self::Text(text) => text,
            // Cannot fail (checked when stored); costs a pass over the id per read,
            // a few nanoseconds, against an allocation per delivery.
            Self::Header(value) => std::str::from_utf8(value.as_bytes()).unwrap_or_default(),
        }
    }
}

impl VerifiedDelivery {
    /// Records that `body` was verified under `scheme` with the key `key_id`.
    #[inline]
    pub fn new(scheme: impl Into<Cow<'static, str>>, key_id: KeyId, body: Bytes) -> Self {
        Self {
            scheme: scheme.into(),
            key_id,
            event_id: None,
            timestamp: None,
            body,
            envelope: &Envelope::STANDARD,
            from_headers: None,
            event_type_at: None,
        }
    }

    /// Adds the event id the scheme signed or sent (`webhook-id`, `X-GitHub-Delivery`).
    #[must_use]
    #[inline]
    pub fn with_event_id(mut self, id: impl AsRef<str>) -> Self {
        let id = id.as_ref();
        if !self.set_inline_event_id(id) {
            self.event_id = Some(EventId::Text(id.into()));
        }
        self
    }

    /// Keeps `id` inline if it fits, copied straight into the marker rather than
    /// built aside and moved in.
    #[inline]
    fn set_inline_event_id(&mut self, id: &str) -> bool {
        if id.len() > INLINE_ID {
            return false;
        }
        if let EventId::Inline(inline) = self.event_id.insert(EventId::Inline(ArrayString::new())) {
            inline.push_str(id);
        }
        true
    }

    /// Adds the event id as the header value that carries it. An id of up to 40 bytes
    /// is copied into the marker; a longer one keeps a clone of `value`, which shares
    /// the request's buffer.
    ///
    /// The id is the value's bytes as they are (no trimming). A value that is not UTF-8
    /// is converted with U+FFFD for the invalid bytes, as
    /// [`String::from_utf8_lossy`] does.
    #[must_use]
    #[inline]
    pub fn with_event_id_header(mut self, value: &HeaderValue) -> Self {
        match std::str::from_utf8(value.as_bytes()) {
            Ok(id) => {
                if !self.set_inline_event_id(id) {
                    self.event_id = Some(EventId::Header(value.clone()));
                }
            }
            Err(_) => {
                self.event_id = Some(EventId::Text(
                    String::from_utf8_lossy(value.as_bytes()).into(),
                ));
            }
        }
        self
    }

    /// Applies the family's rule for the event id: when no id is set (the scheme carries
    /// none), the top-level `"id"` of a JSON body, a non-empty string or an integer as
    /// text (see [`json::find`](crate::json::find)); else none.
    ///
    /// The signature layer applies it once to every delivery it verifies, so that
    /// idempotency, the event extractor and the queue read one and the same
    /// [`event_id`](Self::event_id).
    ///
    /// ```
    /// use bytes::Bytes;
    /// use webhook_core::{KeyId, VerifiedDelivery};
    ///
    /// let body = Bytes::from_static(br#"{"id":42,"type":"ping"}"#);
    /// let delivery = VerifiedDelivery::new("hopnow", KeyId::from("k"), body.clone());
    /// assert_eq!(delivery.clone().with_event_id_from_body().event_id(), Some("42"));
    /// // The scheme's own id wins.
    /// let delivery = delivery.with_event_id("msg_1").with_event_id_from_body();
    /// assert_eq!(delivery.event_id(), Some("msg_1"));
    /// ```
    #[must_use]
    pub fn with_event_id_from_body(self) -> Self {
        if self.event_id.is_some() {
            return self;
        }
        match crate::json::find(&self.body, &["id"]) {
            Some(id) if !id.is_empty() => self.with_event_id(id),
            _ => self,
        }
    }

    /// Attaches the provider's [`Envelope`] and applies the family's rule for the event
    /// id: when no id is set (the scheme carries none), the first of the envelope's id
    /// [`Member`]s that has a value. Header members of the type and the created time are
    /// read here too, from `headers`; body members are read when asked for
    /// ([`event_type`](Self::event_type), [`created`](Self::created)).
    ///
    /// The signature layer applies it once to every delivery it verifies, with its
    /// scheme's envelope, so that idempotency, the event extractor and the queue read
    /// one and the same [`event_id`](Self::event_id).
    ///
    /// ```
    /// use bytes::Bytes;
    /// use http::HeaderMap;
    /// use webhook_core::envelope::{Envelope, Member, TimeFormat};
    /// use webhook_core::{KeyId, VerifiedDelivery};
    ///
    /// static PADDLE: Envelope = Envelope::new()
    ///     .id(&[Member::Body(&["event_id"])])
    ///     .event_type(&[Member::Body(&["event_type"])])
    ///     .created(&[Member::Body(&["occurred_at"])], TimeFormat::Rfc3339);
    /// let body = Bytes::from_static(br#"{"event_id":"evt_1","event_type":"transaction.paid","occurred_at":"2024-04-12T10:18:49Z"}"#);
    /// let delivery = VerifiedDelivery::new("paddle", KeyId::from("k"), body)
    ///     .with_envelope(&PADDLE, &HeaderMap::new());
    /// assert_eq!(delivery.event_id(), Some("evt_1"));
    /// assert_eq!(delivery.event_type().as_deref(), Some("transaction.paid"));
    /// assert_eq!(delivery.created().as_deref(), Some("2024-04-12T10:18:49Z"));
    /// ```
    #[must_use]
    pub fn with_envelope(mut self, envelope: &'static Envelope, headers: &HeaderMap) -> Self {
        self.envelope = envelope;
        // Read by another envelope's members, if any.
        self.event_type_at = None;
        if self.event_id.is_none() {
            for (at, member) in envelope.id_members().iter().enumerate() {
                if let Some(value) = member.from_headers(headers) {
                    return self.with_event_id_header(value).read_headers(headers);
                }
                if at == 0 {
                    match self.read_id_and_type() {
                        Some(Some(id)) => return self.with_event_id(id).read_headers(headers),
                        Some(None) => continue,
                        None => {}
                    }
                }
                if let Some(id) = member.from_body(&self.body) {
                    return self.with_event_id(id).read_headers(headers);
                }
            }
        }
        self.read_headers(headers)
    }

    /// What [`with_envelope`](Self::with_envelope) read from the request's headers:
    /// the event type and the created time, where the envelope takes them from
    /// headers. A queue that stores a delivery keeps them (the headers are gone by
    /// the time a worker runs it) and gives them back to
    /// [`with_envelope_headers`](Self::with_envelope_headers).
    pub fn envelope_headers(&self) -> (Option<&str>, Option<&str>) {
        match &self.from_headers {
            Some(fields) => (fields.event_type.as_deref(), fields.created.as_deref()),
            None => (None, None),
        }
    }

    /// Rebuilds the marker of a stored delivery: its provider's `envelope`, and the
    /// type and created time it had read from headers
    /// ([`envelope_headers`](Self::envelope_headers)). The event id is set apart,
    /// with [`with_event_id`](Self::with_event_id).
    ///
    /// ```
    /// use bytes::Bytes;
    /// use http::HeaderMap;
    /// use webhook_core::envelope::{Envelope, Member, TimeFormat};
    /// use webhook_core::{KeyId, VerifiedDelivery};
    ///
    /// static GITHUB: Envelope = Envelope::new()
    ///     .id(&[Member::Header("x-github-delivery")])
    ///     .event_type(&[Member::Header("x-github-event")])
    ///     .created(&[], TimeFormat::UnixSeconds)
    ///     .data(&[]);
    /// let mut headers = HeaderMap::new();
    /// headers.insert("x-github-delivery", "d-1".parse().unwrap());
    /// headers.insert("x-github-event", "push".parse().unwrap());
    /// let live = VerifiedDelivery::new("github", KeyId::from("k"), Bytes::from_static(b"{}"))
    ///     .with_envelope(&GITHUB, &headers);
    ///
    /// let (event_type, created) = live.envelope_headers();
    /// let stored = VerifiedDelivery::new("github", KeyId::from("k"), Bytes::from_static(b"{}"))
    ///     .with_event_id(live.event_id().unwrap())
    ///     .with_envelope_headers(&GITHUB, event_type, created);
    /// assert_eq!(stored.event_type(), live.event_type());
    /// assert_eq!(stored.event_id(), Some("d-1"));
    /// ```
    #[must_use]
    pub fn with_envelope_headers(
        mut self,
        envelope: &'static Envelope,
        event_type: Option<&str>,
        created: Option<&str>,
    ) -> Self {
        self.envelope = envelope;
        self.event_type_at = None;
        self.from_headers = (event_type.is_some() || created.is_some()).then(|| {
            Arc::new(FromHeaders {
                event_type: event_type.map(Box::from),
                created: created.map(Box::from),
            })
        });
        self
    }

    /// When the envelope's first id member and first type member are both top-level
    /// body members (`"id"` and `"type"` in the standard envelope), reads them in
    /// one pass: returns the id as [`Member::from_body`] gives it, and keeps where
    /// the type's text is. `None`, with nothing read, for any other envelope.
    fn read_id_and_type(&mut self) -> Option<Option<String>> {
        let (Some(Member::Body([id])), Some(Member::Body([event_type]))) = (
            self.envelope.id_members().first(),
            self.envelope.event_type_members().first(),
        ) else {
            return None;
        };
        if id == event_type {
            return None;
        }
        let (id, at) = crate::json::find_id_and_type(&self.body, id, event_type);
        self.event_type_at =
            at.and_then(|at| Some((u32::try_from(at.start).ok()?, u32::try_from(at.end).ok()?)));
        Some(id.filter(|id| !id.is_empty()))
    }

    fn read_headers(mut self, headers: &HeaderMap) -> Self {
        let event_type = header_text(self.envelope.event_type_members(), headers);
        let created = header_text(self.envelope.created_members(), headers);
        self.from_headers = (event_type.is_some() || created.is_some()).then(|| {
            Arc::new(FromHeaders {
                event_type,
                created,
            })
        });
        self
    }

    /// Adds the signed timestamp (Unix seconds).
    #[must_use]
    #[inline]
    pub fn with_timestamp(mut self, unix_seconds: i64) -> Self {
        self.timestamp = Some(unix_seconds);
        self
    }

    /// The name of the scheme that verified the delivery (`"hopnow"`, `"stripe"`, ...).
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// The id of the key that matched.
    pub fn key_id(&self) -> &KeyId {
        &self.key_id
    }

    /// The event id: the one the scheme carries (Standard Webhooks' signed
    /// `webhook-id`), else, once the signature layer applied
    /// [`with_envelope`](Self::with_envelope), the first of the envelope's id members
    /// with a value (`X-GitHub-Delivery`, the body's top-level `"id"`, ...).
    #[inline]
    pub fn event_id(&self) -> Option<&str> {
        self.event_id.as_ref().map(EventId::as_str)
    }

    /// The signed timestamp in Unix seconds, for schemes that sign one.
    pub fn timestamp(&self) -> Option<i64> {
        self.timestamp
    }

    /// The exact bytes that were verified.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The provider's envelope ([`Envelope::STANDARD`] unless the signature layer
    /// attached another, see [`with_envelope`](Self::with_envelope)).
    pub fn envelope(&self) -> &'static Envelope {
        self.envelope
    }

    /// The event type by the envelope: a header member read at verification, else the
    /// first body member with a value (a pass over the body per call, unless it was
    /// read with the event id: see [`event_type_read`](Self::event_type_read)).
    pub fn event_type(&self) -> Option<Cow<'_, str>> {
        if let Some(text) = self
            .from_headers
            .as_ref()
            .and_then(|h| h.event_type.as_deref())
        {
            return Some(Cow::Borrowed(text));
        }
        if let Some(text) = self.event_type_read() {
            return Some(Cow::Borrowed(text));
        }
        self.envelope
            .event_type_members()
            .iter()
            .find_map(|member| member.from_body(&self.body))
    }

    /// The event type, when [`with_envelope`](Self::with_envelope) read it from the
    /// body along with the event id: the envelope's first id and type members are
    /// top-level body members, and the type is a non-empty JSON string written
    /// without escapes, in an object where neither name appears twice. What
    /// [`event_type`](Self::event_type) gives then, without reading the body again.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use http::HeaderMap;
    /// use webhook_core::envelope::Envelope;
    /// use webhook_core::{KeyId, VerifiedDelivery};
    ///
    /// let body = Bytes::from_static(br#"{"id":"evt_1","type":"payout.paid","data":{}}"#);
    /// let delivery = VerifiedDelivery::new("hopnow", KeyId::from("k"), body)
    ///     .with_envelope(&Envelope::STANDARD, &HeaderMap::new());
    /// assert_eq!(delivery.event_type_read(), Some("payout.paid"));
    /// // Escaped, it is read when asked for.
    /// let body = Bytes::from_static(br#"{"id":"evt_1","type":"payout\u002epaid"}"#);
    /// let delivery = VerifiedDelivery::new("hopnow", KeyId::from("k"), body)
    ///     .with_envelope(&Envelope::STANDARD, &HeaderMap::new());
    /// assert_eq!(delivery.event_type_read(), None);
    /// assert_eq!(delivery.event_type().as_deref(), Some("payout.paid"));
    /// ```
    pub fn event_type_read(&self) -> Option<&str> {
        let (start, end) = self.event_type_at?;
        let bytes = self.body.get(start as usize..end as usize)?;
        std::str::from_utf8(bytes).ok()
    }

    /// The created time by the envelope, as the provider wrote it (RFC 3339 text, or
    /// a number in the envelope's [`created_format`](Envelope::created_format)): a
    /// header member read at verification, else the first body member with a value.
    pub fn created(&self) -> Option<Cow<'_, str>> {
        if let Some(text) = self
            .from_headers
            .as_ref()
            .and_then(|h| h.created.as_deref())
        {
            return Some(Cow::Borrowed(text));
        }
        self.envelope
            .created_members()
            .iter()
            .find_map(|member| member.time_from_body(&self.body))
    }
}

impl fmt::Debug for VerifiedDelivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifiedDelivery")
            .field("scheme", &self.scheme)
            .field("key_id", &self.key_id)
            .field("event_id", &self.event_id())
            .field("timestamp", &self.timestamp)
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// The `type` of a routed event, put in the response extensions by the event router
/// so outer layers (metrics, tracing) can label a delivery without parsing its body.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct EventType(SmolStr);

impl EventType {
    /// Records an event type: kept inline up to 23 bytes (no allocation per
    /// delivery), shared beyond.
    pub fn new(event_type: impl AsRef<str>) -> Self {
        Self(SmolStr::new(event_type))
    }

    /// The type as text, such as `payout.completed`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery() -> VerifiedDelivery {
        VerifiedDelivery::new("hopnow", KeyId::from("k1"), Bytes::from_static(b"{}"))
    }

    #[test]
    fn a_type_read_with_the_id_is_dropped_when_another_envelope_is_attached() {
        static PADDLE: Envelope = Envelope::new()
            .id(&[Member::Body(&["event_id"])])
            .event_type(&[Member::Body(&["event_type"])]);
        let body =
            Bytes::from_static(br#"{"id":"a","type":"t1","event_id":"b","event_type":"t2"}"#);
        let standard = VerifiedDelivery::new("hopnow", KeyId::from("k"), body)
            .with_envelope(&Envelope::STANDARD, &HeaderMap::new());
        assert_eq!(standard.event_type_read(), Some("t1"));
        // The id stays (it was read), the type is read by the new envelope.
        let paddle = standard.clone().with_envelope(&PADDLE, &HeaderMap::new());
        assert_eq!(
            (paddle.event_id(), paddle.event_type_read()),
            (Some("a"), None)
        );
        assert_eq!(paddle.event_type().as_deref(), Some("t2"));
        let stored = standard.with_envelope_headers(&PADDLE, None, None);
        assert_eq!(stored.event_type().as_deref(), Some("t2"));
    }

    #[test]
    fn an_event_id_from_a_header_reads_like_one_from_text() {
        let from_text = delivery().with_event_id("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W");
        let from_header = delivery()
            .with_event_id_header(&HeaderValue::from_static("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"));
        assert_eq!(
            from_header.event_id(),
            Some("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W")
        );
        assert_eq!(from_header.event_id(), from_text.event_id());
        assert_eq!(from_header.clone().event_id(), from_text.event_id());
        assert_eq!(format!("{from_header:?}"), format!("{from_text:?}"));
        assert_eq!(delivery().event_id(), None);
    }

    #[test]
    fn a_long_event_id_header_shares_the_header_buffer_and_a_short_one_is_copied() {
        for (id, shared) in [
            ("evt_42", false),
            (&*"x".repeat(40), false),
            (&*"x".repeat(41), true),
        ] {
            let buffer = Bytes::from(id.as_bytes().to_vec());
            let value = HeaderValue::from_maybe_shared(buffer.clone()).unwrap();
            let delivery = delivery().with_event_id_header(&value);
            assert_eq!(delivery.event_id(), Some(id));
            assert_eq!(
                delivery.event_id().unwrap().as_ptr() == buffer.as_ptr(),
                shared,
                "{id}"
            );
        }
    }

    #[test]
    fn an_event_id_of_any_length_reads_back_as_given() {
        for id in [
            "",
            "evt_1",
            &"y".repeat(40),
            &"y".repeat(41),
            &"é".repeat(5000),
        ] {
            let delivery = delivery().with_event_id(id);
            assert_eq!(delivery.event_id(), Some(id));
            assert_eq!(delivery.clone().event_id(), Some(id));
        }
    }

    #[test]
    fn an_event_id_header_that_is_not_utf8_is_read_lossily() {
        let value = HeaderValue::from_bytes(b"evt_\xff1").unwrap();
        let delivery = delivery().with_event_id_header(&value);
        assert_eq!(delivery.event_id(), Some("evt_\u{fffd}1"));
    }

    #[test]
    fn the_last_event_id_added_wins() {
        let delivery = delivery()
            .with_event_id_header(&HeaderValue::from_static("a"))
            .with_event_id("b");
        assert_eq!(delivery.event_id(), Some("b"));
        let delivery = delivery.with_event_id_header(&HeaderValue::from_static("c"));
        assert_eq!(delivery.event_id(), Some("c"));
    }
}
