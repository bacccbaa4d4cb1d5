use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use http::{Method, Request};
use webhook_core::envelope::Envelope;
use webhook_core::{KeyId, VerifiedBody, VerifiedDelivery};

/// A job's own id, unique across processes: 32 hex digits.
///
/// It is not the event id: a sender may deliver the same event twice (the idempotency
/// layer in front usually stops that), and each accepted delivery becomes one job.
///
/// ```
/// use webhook_queue::JobId;
///
/// let (a, b) = (JobId::generate(), JobId::generate());
/// assert_ne!(a, b);
/// assert_eq!(a.as_str().len(), 32);
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobId(Arc<str>);

impl JobId {
    /// A new id: 64 random bits drawn once per process, then a counter.
    pub fn generate() -> Self {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let counter = COUNTER.fetch_add(1, Ordering::Relaxed);
        Self(format!("{:016x}{counter:016x}", process_seed()).into())
    }

    /// An id read back from a backend.
    pub fn new(id: impl Into<Arc<str>>) -> Self {
        Self(id.into())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// 64 random bits, drawn once per process.
pub(crate) fn process_seed() -> u64 {
    static SEED: OnceLock<u64> = OnceLock::new();
    *SEED.get_or_init(|| {
        getrandom::u64().unwrap_or_else(|_| {
            // No OS randomness: fall back to the clock and the process id.
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64);
            nanos ^ (u64::from(std::process::id()) << 32)
        })
    })
}

/// One verified delivery waiting to be processed: what the enqueue service stores and
/// what the processing function receives.
///
/// It holds the event id, the scheme and key id that verified it, the exact verified
/// body bytes, when it was received, and how many processing attempts failed so far.
///
/// ```
/// use bytes::Bytes;
/// use webhook_core::{KeyId, VerifiedDelivery};
/// use webhook_queue::Job;
///
/// let delivery = VerifiedDelivery::new("github", KeyId::from("primary"), Bytes::from_static(b"{}"))
///     .with_event_id("5c3b");
/// let job = Job::from_delivery(&delivery);
/// assert_eq!(job.event_id(), Some("5c3b"));
/// assert_eq!(job.scheme(), "github");
/// assert_eq!(job.key_id().as_str(), "primary");
/// assert_eq!(job.attempts(), 0);
///
/// // Without an event id in the headers, the body's top-level "id" is the delivery's
/// // (the signature layer applies that rule to every delivery it verifies).
/// let delivery = VerifiedDelivery::new("hopnow", KeyId::from("k"), Bytes::from_static(br#"{"id":"evt_9"}"#))
///     .with_event_id_from_body();
/// assert_eq!(Job::from_delivery(&delivery).event_id(), Some("evt_9"));
///
/// // Jobs travel as bytes through the Redis backend (and any backend of yours).
/// assert_eq!(Job::from_bytes(&job.to_bytes()).unwrap(), job);
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Job {
    id: JobId,
    event_id: Option<Arc<str>>,
    scheme: Arc<str>,
    key_id: KeyId,
    /// The provider's envelope: kept in memory; a stored job comes back with the
    /// standard one until [`with_envelope`](Self::with_envelope).
    envelope: &'static Envelope,
    /// The type and created time the envelope read from headers.
    event_type_header: Option<Arc<str>>,
    created_header: Option<Arc<str>>,
    body: Bytes,
    /// Unix milliseconds.
    received_at: u64,
    attempts: u32,
}

impl Job {
    /// A job for `body` with a fresh id, received now, no event id, and empty scheme
    /// and key id. Use [`from_delivery`](Self::from_delivery) for a verified delivery.
    pub fn new(body: impl Into<Bytes>) -> Self {
        Self {
            id: JobId::generate(),
            event_id: None,
            scheme: Arc::from(""),
            key_id: KeyId::from(""),
            envelope: &Envelope::STANDARD,
            event_type_header: None,
            created_header: None,
            body: body.into(),
            received_at: unix_millis(SystemTime::now()),
            attempts: 0,
        }
    }

    /// A job for a verified delivery, received now, with the delivery's
    /// [`event_id`](VerifiedDelivery::event_id) (the family's one rule), its provider's
    /// envelope, and the type and created time the envelope read from headers
    /// ([`VerifiedDelivery::envelope_headers`]), so that a worker reads the event as
    /// the live delivery would have been read.
    pub fn from_delivery(delivery: &VerifiedDelivery) -> Self {
        let event_id = delivery.event_id().map(Arc::from);
        let (event_type_header, created_header) = delivery.envelope_headers();
        Self {
            id: JobId::generate(),
            event_id,
            scheme: Arc::from(delivery.scheme()),
            key_id: delivery.key_id().clone(),
            envelope: delivery.envelope(),
            event_type_header: event_type_header.map(Arc::from),
            created_header: created_header.map(Arc::from),
            body: delivery.body().clone(),
            received_at: unix_millis(SystemTime::now()),
            attempts: 0,
        }
    }

    /// The verified delivery this job was made from: its scheme, key id, event id and
    /// body. A job was verified before it was queued, so the marker is rebuilt from
    /// it, for handlers that read a [`VerifiedDelivery`].
    ///
    /// A job does not keep the signed timestamp, so the marker has none: a handler
    /// that falls back on it (a `WebhookEvent` whose body has no `created`) sees
    /// none.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use webhook_core::{KeyId, VerifiedDelivery};
    /// use webhook_queue::Job;
    ///
    /// let delivery = VerifiedDelivery::new("github", KeyId::from("primary"), Bytes::from_static(b"{}"))
    ///     .with_event_id("5c3b");
    /// let back = Job::from_delivery(&delivery).to_delivery();
    /// assert_eq!(back.scheme(), "github");
    /// assert_eq!(back.key_id().as_str(), "primary");
    /// assert_eq!(back.event_id(), Some("5c3b"));
    /// assert_eq!(back.body(), &b"{}"[..]);
    /// ```
    pub fn to_delivery(&self) -> VerifiedDelivery {
        let delivery = VerifiedDelivery::new(
            String::from(&*self.scheme),
            self.key_id.clone(),
            self.body.clone(),
        );
        let delivery = match self.event_id.as_deref() {
            Some(id) => delivery.with_event_id(id),
            None => delivery,
        };
        delivery.with_envelope_headers(
            self.envelope,
            self.event_type_header.as_deref(),
            self.created_header.as_deref(),
        )
    }

    /// The provider's envelope the job is read with (see
    /// [`Scheme::envelope`](https://docs.rs/webhook-signature)): the delivery's, or
    /// the standard one for a job read back from bytes.
    pub fn envelope(&self) -> &'static Envelope {
        self.envelope
    }

    /// Sets the provider's envelope: a job read back from a backend's bytes does not
    /// carry it (a `&'static` description), and [`WorkersBuilder::envelopes`]
    /// gives it back by scheme name.
    ///
    /// [`WorkersBuilder::envelopes`]: crate::WorkersBuilder::envelopes
    #[must_use]
    pub fn with_envelope(mut self, envelope: &'static Envelope) -> Self {
        self.envelope = envelope;
        self
    }

    /// The request a handler behind the signature layer would have received: a
    /// `POST /` whose body is the verified bytes, with the
    /// [`to_delivery`](Self::to_delivery) marker in its extensions. A job was verified
    /// before it was queued, so a tower service that reads the marker (an
    /// `EventRouter`, a `WebhookEvent` extractor) serves queued jobs as it serves
    /// live deliveries; [`Workers::serve`](crate::Workers::serve) runs one on every
    /// job.
    ///
    /// The request has no headers: the original ones were not kept.
    ///
    /// ```
    /// use webhook_core::VerifiedDelivery;
    /// use webhook_queue::Job;
    ///
    /// let job = Job::new(r#"{"id":"evt_1"}"#).with_event_id("evt_1").with_scheme("hopnow");
    /// let request = job.to_request();
    /// assert_eq!(request.method(), http::Method::POST);
    /// let marker = request.extensions().get::<VerifiedDelivery>().unwrap();
    /// assert_eq!(marker.event_id(), Some("evt_1"));
    /// assert_eq!(request.into_body().into_bytes(), r#"{"id":"evt_1"}"#);
    /// ```
    pub fn to_request(&self) -> Request<VerifiedBody> {
        let mut request = Request::new(VerifiedBody::new(self.body.clone()));
        *request.method_mut() = Method::POST;
        request.extensions_mut().insert(self.to_delivery());
        request
    }

    /// Sets the job id.
    #[must_use]
    pub fn with_id(mut self, id: JobId) -> Self {
        self.id = id;
        self
    }

    /// Sets the event id.
    #[must_use]
    pub fn with_event_id(mut self, id: impl Into<Arc<str>>) -> Self {
        self.event_id = Some(id.into());
        self
    }

    /// Sets the scheme name.
    #[must_use]
    pub fn with_scheme(mut self, scheme: impl Into<Arc<str>>) -> Self {
        self.scheme = scheme.into();
        self
    }

    /// Sets the key id.
    #[must_use]
    pub fn with_key_id(mut self, key_id: KeyId) -> Self {
        self.key_id = key_id;
        self
    }

    /// Sets when the delivery was received (kept to the millisecond).
    #[must_use]
    pub fn with_received_at(mut self, at: SystemTime) -> Self {
        self.received_at = unix_millis(at);
        self
    }

    /// Sets the number of failed attempts.
    #[must_use]
    pub fn with_attempts(mut self, attempts: u32) -> Self {
        self.attempts = attempts;
        self
    }

    /// Sets the number of failed attempts in place (the workers count a failure
    /// before handing the job back to the queue).
    pub fn set_attempts(&mut self, attempts: u32) {
        self.attempts = attempts;
    }

    /// The job's own id.
    pub fn id(&self) -> &JobId {
        &self.id
    }

    /// The event id, if the delivery carried one.
    pub fn event_id(&self) -> Option<&str> {
        self.event_id.as_deref()
    }

    /// The name of the scheme that verified the delivery (`"github"`, `"stripe"`, ...).
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// The id of the key that verified the delivery.
    pub fn key_id(&self) -> &KeyId {
        &self.key_id
    }

    /// The exact verified body.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// When the delivery was received (to the millisecond).
    pub fn received_at(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.received_at)
    }

    /// How many processing attempts failed before this one: 0 on the first attempt,
    /// and again after a replay from the dead letters. An attempt cut short by a crash
    /// counts too, on backends that can tell (Redis: the entry's delivery count).
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The job as bytes, for a backend to store: a version byte, then length-prefixed
    /// fields. [`from_bytes`](Self::from_bytes) reads it back.
    pub fn to_bytes(&self) -> Bytes {
        let event_id = self.event_id.as_deref().unwrap_or("");
        let event_type = self.event_type_header.as_deref();
        let created = self.created_header.as_deref();
        let mut buf = BytesMut::with_capacity(
            1 + 4
                + 8
                + 3
                + 4 * 7
                + self.id.as_str().len()
                + event_id.len()
                + self.scheme.len()
                + self.key_id.as_str().len()
                + event_type.map_or(0, str::len)
                + created.map_or(0, str::len)
                + self.body.len(),
        );
        buf.put_u8(FORMAT_VERSION);
        buf.put_u32(self.attempts);
        buf.put_u64(self.received_at);
        put_str(&mut buf, self.id.as_str());
        buf.put_u8(u8::from(self.event_id.is_some()));
        put_str(&mut buf, event_id);
        put_str(&mut buf, &self.scheme);
        put_str(&mut buf, self.key_id.as_str());
        for field in [event_type, created] {
            buf.put_u8(u8::from(field.is_some()));
            put_str(&mut buf, field.unwrap_or(""));
        }
        put_bytes(&mut buf, &self.body);
        buf.freeze()
    }

    /// Reads a job written by [`to_bytes`](Self::to_bytes).
    pub fn from_bytes(mut bytes: &[u8]) -> Result<Self, DecodeError> {
        let buf = &mut bytes;
        let version = get_u8(buf)?;
        if version != FORMAT_VERSION && version != 1 {
            return Err(DecodeError("unknown format version"));
        }
        let attempts = get_u32(buf)?;
        let received_at = get_u64(buf)?;
        let id = get_str(buf)?;
        let has_event_id = get_u8(buf)? == 1;
        let event_id = get_str(buf)?;
        let scheme = get_str(buf)?;
        let key_id = get_str(buf)?;
        // Version 1 (before the envelope's header fields) has none.
        let mut header_fields = [None, None];
        if version == FORMAT_VERSION {
            for field in &mut header_fields {
                let present = get_u8(buf)? == 1;
                let text = get_str(buf)?;
                *field = present.then(|| Arc::from(text));
            }
        }
        let [event_type_header, created_header] = header_fields;
        let body = Bytes::copy_from_slice(get_bytes(buf)?);
        if !buf.is_empty() {
            return Err(DecodeError("trailing bytes"));
        }
        Ok(Self {
            id: JobId::new(id),
            event_id: has_event_id.then(|| Arc::from(event_id)),
            scheme: Arc::from(scheme),
            key_id: KeyId::from(key_id),
            envelope: &Envelope::STANDARD,
            event_type_header,
            created_header,
            body,
            received_at,
            attempts,
        })
    }
}

impl fmt::Debug for Job {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The body may hold personal data: only its length is shown.
        f.debug_struct("Job")
            .field("id", &self.id)
            .field("event_id", &self.event_id)
            .field("scheme", &self.scheme)
            .field("key_id", &self.key_id)
            .field("received_at", &self.received_at)
            .field("attempts", &self.attempts)
            .field("body_len", &self.body.len())
            .finish()
    }
}

const FORMAT_VERSION: u8 = 2;

fn put_str(buf: &mut BytesMut, text: &str) {
    put_bytes(buf, text.as_bytes());
}

fn put_bytes(buf: &mut BytesMut, bytes: &[u8]) {
    let len = u32::try_from(bytes.len()).expect("a field below 4 GiB");
    buf.put_u32(len);
    buf.put_slice(bytes);
}

fn get_u8(buf: &mut &[u8]) -> Result<u8, DecodeError> {
    if buf.remaining() < 1 {
        return Err(DecodeError("truncated"));
    }
    Ok(buf.get_u8())
}

fn get_u32(buf: &mut &[u8]) -> Result<u32, DecodeError> {
    if buf.remaining() < 4 {
        return Err(DecodeError("truncated"));
    }
    Ok(buf.get_u32())
}

fn get_u64(buf: &mut &[u8]) -> Result<u64, DecodeError> {
    if buf.remaining() < 8 {
        return Err(DecodeError("truncated"));
    }
    Ok(buf.get_u64())
}

fn get_bytes<'a>(buf: &mut &'a [u8]) -> Result<&'a [u8], DecodeError> {
    let len = get_u32(buf)? as usize;
    if buf.len() < len {
        return Err(DecodeError("truncated"));
    }
    let (field, rest) = buf.split_at(len);
    *buf = rest;
    Ok(field)
}

fn get_str<'a>(buf: &mut &'a [u8]) -> Result<&'a str, DecodeError> {
    std::str::from_utf8(get_bytes(buf)?).map_err(|_| DecodeError("a text field is not UTF-8"))
}

/// Why [`Job::from_bytes`] failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeError(&'static str);

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot decode a job: {}", self.0)
    }
}

impl std::error::Error for DecodeError {}

pub(crate) fn unix_millis(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_stored_before_the_envelope_fields_still_reads() {
        let mut buf = BytesMut::new();
        buf.put_u8(1);
        buf.put_u32(2);
        buf.put_u64(1_700_000_000_000);
        put_str(&mut buf, "job-1");
        buf.put_u8(1);
        put_str(&mut buf, "evt_1");
        put_str(&mut buf, "github");
        put_str(&mut buf, "current");
        put_bytes(&mut buf, b"{}");
        let job = Job::from_bytes(&buf).unwrap();
        assert_eq!(
            (job.event_id(), job.scheme(), job.attempts()),
            (Some("evt_1"), "github", 2)
        );
        assert_eq!(job.to_delivery().envelope_headers(), (None, None));
    }

    #[test]
    fn the_envelope_header_fields_survive_the_round_trip() {
        let delivery = VerifiedDelivery::new("github", KeyId::from("k"), Bytes::from_static(b"{}"))
            .with_event_id("d-1")
            .with_envelope_headers(&Envelope::STANDARD, Some("push"), None);
        let back = Job::from_bytes(&Job::from_delivery(&delivery).to_bytes()).unwrap();
        assert_eq!(back.to_delivery().envelope_headers(), (Some("push"), None));
        assert_eq!(back.to_delivery().event_id(), Some("d-1"));
    }

    #[test]
    fn a_job_survives_the_round_trip_through_bytes() {
        let job = Job::new(Bytes::from_static(b"\x00binary\xffbody"))
            .with_event_id("evt_1")
            .with_scheme("stripe")
            .with_key_id(KeyId::from("2025-11"))
            .with_attempts(3);
        let decoded = Job::from_bytes(&job.to_bytes()).unwrap();
        assert_eq!(decoded, job);
        assert_eq!(decoded.body(), &b"\x00binary\xffbody"[..]);
        assert_eq!(decoded.attempts(), 3);
        let no_event = Job::new(Bytes::new());
        assert_eq!(
            Job::from_bytes(&no_event.to_bytes()).unwrap().event_id(),
            None
        );
    }

    #[test]
    fn truncated_or_foreign_bytes_are_refused() {
        let bytes = Job::new(Bytes::from_static(b"body")).to_bytes();
        for len in 0..bytes.len() {
            assert!(Job::from_bytes(&bytes[..len]).is_err(), "prefix of {len}");
        }
        let mut longer = bytes.to_vec();
        longer.push(0);
        assert_eq!(
            Job::from_bytes(&longer).unwrap_err().to_string(),
            "cannot decode a job: trailing bytes"
        );
        assert!(Job::from_bytes(b"{\"id\":\"evt\"}").is_err());
    }

    #[test]
    fn the_event_id_comes_from_the_scheme_then_the_body() {
        let body = Bytes::from_static(br#"{"type":"x","id":"evt_body"}"#);
        let with_header = VerifiedDelivery::new("standard", KeyId::from("k"), body.clone())
            .with_event_id("msg_header");
        assert_eq!(
            Job::from_delivery(&with_header).event_id(),
            Some("msg_header")
        );
        let without =
            VerifiedDelivery::new("hopnow", KeyId::from("k"), body).with_event_id_from_body();
        assert_eq!(Job::from_delivery(&without).event_id(), Some("evt_body"));
        let numeric = VerifiedDelivery::new("hopnow", KeyId::from("k"), r#"{"id":42}"#.into())
            .with_event_id_from_body();
        assert_eq!(Job::from_delivery(&numeric).event_id(), Some("42"));
        for body in [&b"not json"[..], br#"[{"id":"x"}]"#, b"{}", br#"{"id":""}"#] {
            let delivery =
                VerifiedDelivery::new("hopnow", KeyId::from("k"), Bytes::copy_from_slice(body))
                    .with_event_id_from_body();
            assert_eq!(Job::from_delivery(&delivery).event_id(), None);
        }
    }

    #[test]
    fn debug_does_not_show_the_body() {
        let job = Job::new(Bytes::from_static(b"card=4242424242424242"));
        let debug = format!("{job:?}");
        assert!(!debug.contains("4242"), "{debug}");
        assert!(debug.contains("body_len: 21"), "{debug}");
    }
}
