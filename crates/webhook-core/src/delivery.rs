use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use bytes::Bytes;

/// The id of the secret that verified a delivery, as configured in the keyring.
///
/// Cheap to clone. Operators watch it (logs, metrics) to see when an old secret stops
/// being used and can be retired.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(Arc<str>);

impl KeyId {
    /// Creates a key id.
    pub fn new(id: impl Into<Arc<str>>) -> Self {
        Self(id.into())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for KeyId {
    fn from(id: &str) -> Self {
        Self(id.into())
    }
}

impl From<String> for KeyId {
    fn from(id: String) -> Self {
        Self(id.into())
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
    event_id: Option<Arc<str>>,
    timestamp: Option<i64>,
    body: Bytes,
}

impl VerifiedDelivery {
    /// Records that `body` was verified under `scheme` with the key `key_id`.
    pub fn new(scheme: impl Into<Cow<'static, str>>, key_id: KeyId, body: Bytes) -> Self {
        Self {
            scheme: scheme.into(),
            key_id,
            event_id: None,
            timestamp: None,
            body,
        }
    }

    /// Adds the event id the scheme signed or sent (`webhook-id`, `X-GitHub-Delivery`).
    #[must_use]
    pub fn with_event_id(mut self, id: impl Into<Arc<str>>) -> Self {
        self.event_id = Some(id.into());
        self
    }

    /// Adds the signed timestamp (Unix seconds).
    #[must_use]
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

    /// The event id carried by the scheme's headers, if it has one.
    pub fn event_id(&self) -> Option<&str> {
        self.event_id.as_deref()
    }

    /// The signed timestamp in Unix seconds, for schemes that sign one.
    pub fn timestamp(&self) -> Option<i64> {
        self.timestamp
    }

    /// The exact bytes that were verified.
    pub fn body(&self) -> &Bytes {
        &self.body
    }
}

impl fmt::Debug for VerifiedDelivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifiedDelivery")
            .field("scheme", &self.scheme)
            .field("key_id", &self.key_id)
            .field("event_id", &self.event_id)
            .field("timestamp", &self.timestamp)
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// The `type` of a routed event, put in the response extensions by the event router
/// so outer layers (metrics, tracing) can label a delivery without parsing its body.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct EventType(Arc<str>);

impl EventType {
    /// Records an event type.
    pub fn new(event_type: impl Into<Arc<str>>) -> Self {
        Self(event_type.into())
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
