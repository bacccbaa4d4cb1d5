//! Mock events: the envelope `{id, type, created, data}`, signed for any scheme.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Uri};
use serde_json::Value;
use sha2::Digest as _;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use webhook_core::envelope::{Envelope, Member, TimeFormat};
use webhook_signature::scheme::{Mailgun, Scheme, SignRequest};
use webhook_signature::{ConfigError, SignError, Signer};
use zeroize::Zeroizing;

use crate::TestKeyPair;

/// The current Unix time in seconds.
pub(crate) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            i64::try_from(since.as_secs()).unwrap_or(i64::MAX)
        })
}

/// A fresh event id: `evt_` followed by a random (version 4) UUID in hex.
///
/// ```
/// let id = webhook_testing::generate_id();
/// assert!(id.starts_with("evt_") && id.len() == 36);
/// assert_ne!(id, webhook_testing::generate_id());
/// ```
pub fn generate_id() -> String {
    format!("evt_{}", uuid::Uuid::new_v4().simple())
}

/// When an event was created: Unix seconds, or RFC 3339 text, rendered as given.
///
/// ```
/// use webhook_testing::Created;
///
/// let unix: Created = "1762077600".parse().unwrap();
/// let text: Created = "2025-11-02T10:00:00Z".parse().unwrap();
/// assert_eq!(unix.unix_seconds(), text.unix_seconds());
/// assert_eq!(unix.to_json(), serde_json::json!(1762077600));
/// assert_eq!(text.to_json(), serde_json::json!("2025-11-02T10:00:00Z"));
/// assert_eq!(text.earlier_by(60).to_string(), "2025-11-02T09:59:00Z");
/// assert!("yesterday".parse::<Created>().is_err());
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Created(Repr);

#[derive(Clone, PartialEq, Eq)]
enum Repr {
    Unix(i64),
    Text { text: String, at: OffsetDateTime },
}

impl Created {
    /// Unix seconds, rendered as a JSON number.
    pub fn unix(seconds: i64) -> Self {
        Self(Repr::Unix(seconds))
    }

    /// RFC 3339 text (`2025-11-02T10:00:00Z`), rendered as a JSON string as given.
    pub fn rfc3339(text: &str) -> Result<Self, InvalidCreated> {
        let at = OffsetDateTime::parse(text, &Rfc3339).map_err(|_| InvalidCreated {
            text: text.to_owned(),
        })?;
        Ok(Self(Repr::Text {
            text: text.to_owned(),
            at,
        }))
    }

    /// Now, in Unix seconds.
    pub fn now() -> Self {
        Self::unix(unix_now())
    }

    /// The time in Unix seconds.
    pub fn unix_seconds(&self) -> i64 {
        match &self.0 {
            Repr::Unix(seconds) => *seconds,
            Repr::Text { at, .. } => at.unix_timestamp(),
        }
    }

    /// The same form (number or text, same UTC offset), `seconds` earlier.
    pub fn earlier_by(&self, seconds: i64) -> Self {
        match &self.0 {
            Repr::Unix(at) => Self::unix(at.saturating_sub(seconds)),
            Repr::Text { at, .. } => {
                let at = *at - time::Duration::seconds(seconds);
                let text = at
                    .format(&Rfc3339)
                    .expect("an RFC 3339 time formats as RFC 3339");
                Self(Repr::Text { text, at })
            }
        }
    }

    /// The JSON value of the envelope's `created`.
    pub fn to_json(&self) -> Value {
        match &self.0 {
            Repr::Unix(seconds) => Value::from(*seconds),
            Repr::Text { text, .. } => Value::from(text.as_str()),
        }
    }
}

impl From<i64> for Created {
    fn from(seconds: i64) -> Self {
        Self::unix(seconds)
    }
}

impl FromStr for Created {
    type Err = InvalidCreated;

    /// An integer is Unix seconds; anything else must be RFC 3339.
    fn from_str(text: &str) -> Result<Self, InvalidCreated> {
        match text.parse::<i64>() {
            Ok(seconds) => Ok(Self::unix(seconds)),
            Err(_) => Self::rfc3339(text),
        }
    }
}

impl fmt::Display for Created {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Repr::Unix(seconds) => write!(f, "{seconds}"),
            Repr::Text { text, .. } => f.write_str(text),
        }
    }
}

impl fmt::Debug for Created {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Created({self})")
    }
}

/// A `created` time that is neither an integer nor RFC 3339 text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidCreated {
    text: String,
}

impl fmt::Display for InvalidCreated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is neither Unix seconds nor an RFC 3339 time such as 2025-11-02T10:00:00Z",
            self.text
        )
    }
}

impl std::error::Error for InvalidCreated {}

/// A webhook event as a sender would post it: `{"id", "type", "created", "data"}`,
/// then any further [`member`](Self::member)s.
///
/// The fields are public to read; the methods of the same names set them. The id is
/// generated ([`generate_id`]) and `created` is now unless set.
///
/// ```
/// use serde_json::json;
/// use webhook_testing::MockEvent;
///
/// let event = MockEvent::new("payout.completed")
///     .id("evt_1")
///     .created(1_700_000_000)
///     .data(json!({"payout_id": "po_1", "amount": 1200}));
/// assert_eq!(
///     event.body(),
///     r#"{"id":"evt_1","type":"payout.completed","created":1700000000,"data":{"amount":1200,"payout_id":"po_1"}}"#
/// );
/// assert_eq!(event.to_json()["data"]["amount"], 1200);
/// assert!(MockEvent::new("ping").id.starts_with("evt_"));
///
/// // Linear's envelope carries the time it signs in the body.
/// let linear = event.member("webhookTimestamp", json!(1_700_000_000_000_i64));
/// assert!(linear.body().ends_with(br#","webhookTimestamp":1700000000000}"#));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct MockEvent {
    /// The event id (`id`).
    pub id: String,
    /// The event type (`type`), such as `payout.completed`.
    pub event_type: String,
    /// When the event was created (`created`).
    pub created: Created,
    /// The payload (`data`).
    pub data: Value,
    /// Further top-level members, after `data`, in the order added.
    pub members: Vec<(String, Value)>,
}

impl MockEvent {
    /// An event of type `event_type` with a fresh id, created now, and `data: {}`.
    pub fn new(event_type: impl Into<String>) -> Self {
        Self {
            id: generate_id(),
            event_type: event_type.into(),
            created: Created::now(),
            data: Value::Object(serde_json::Map::new()),
            members: Vec::new(),
        }
    }

    /// Sets the event id.
    #[must_use]
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = id.into();
        self
    }

    /// Sets the event type.
    #[must_use]
    pub fn event_type(mut self, event_type: impl Into<String>) -> Self {
        self.event_type = event_type.into();
        self
    }

    /// Sets `created`: Unix seconds (`1_700_000_000`) or a [`Created`].
    #[must_use]
    pub fn created(mut self, created: impl Into<Created>) -> Self {
        self.created = created.into();
        self
    }

    /// Sets the payload.
    #[must_use]
    pub fn data(mut self, data: Value) -> Self {
        self.data = data;
        self
    }

    /// Adds a top-level member after `data`, for a provider whose envelope carries
    /// more, such as Linear's `webhookTimestamp` (Unix milliseconds), which its
    /// scheme reads as the signed time. A member of the same name is replaced.
    #[must_use]
    pub fn member(mut self, name: impl Into<String>, value: Value) -> Self {
        let name = name.into();
        self.members.retain(|(existing, _)| *existing != name);
        self.members.push((name, value));
        self
    }

    /// The envelope as a JSON value.
    pub fn to_json(&self) -> Value {
        let mut json = serde_json::json!({
            "id": self.id,
            "type": self.event_type,
            "created": self.created.to_json(),
            "data": self.data,
        });
        for (name, value) in &self.members {
            json[name] = value.clone();
        }
        json
    }

    /// The envelope as the compact JSON body a sender posts, members in the order
    /// `id`, `type`, `created`, `data`, then the [`member`](Self::member)s.
    pub fn body(&self) -> Bytes {
        let text = |value: &Value| serde_json::to_string(value).expect("a JSON value serializes");
        let mut body = format!(
            r#"{{"id":{},"type":{},"created":{},"data":{}"#,
            text(&Value::from(self.id.as_str())),
            text(&Value::from(self.event_type.as_str())),
            text(&self.created.to_json()),
            text(&self.data),
        );
        for (name, value) in &self.members {
            body.push(',');
            body.push_str(&text(&Value::from(name.as_str())));
            body.push(':');
            body.push_str(&text(value));
        }
        body.push('}');
        Bytes::from(body)
    }

    /// The event in a provider's [`Envelope`]: [`body`](Self::body) when the envelope
    /// reads the standard members, else a JSON document with the id, type, created
    /// time and data also where the envelope reads them (Paddle's `event_id`, Slack's
    /// `event.type`, GitHub's payload as the whole body), and an array of this one
    /// event for a batch (HubSpot, SendGrid). The members the envelope reads from
    /// headers are the delivery's to send: [`MockDelivery`] adds them.
    ///
    /// ```
    /// use webhook_signature::scheme::envelopes;
    /// use webhook_testing::MockEvent;
    ///
    /// let event = MockEvent::new("transaction.paid").id("evt_1").created(1_700_000_000);
    /// let body: serde_json::Value = serde_json::from_slice(&event.body_for(&envelopes::PADDLE)).unwrap();
    /// assert_eq!(body["event_id"], "evt_1");
    /// assert_eq!(body["event_type"], "transaction.paid");
    /// assert_eq!(body["occurred_at"], "2023-11-14T22:13:20Z");
    /// assert_eq!(event.body_for(&envelopes::STANDARD), event.body());
    /// ```
    pub fn body_for(&self, envelope: &Envelope) -> Bytes {
        let standard_id = matches!(first_path(envelope.id_members()), None | Some(["id"]));
        if envelope.is_standard() && standard_id {
            return self.body();
        }
        let shaped = match envelope.batch_of() {
            Some(batch) => Value::Array(vec![self.shaped(batch.item)]),
            None => self.shaped(envelope),
        };
        Bytes::from(shaped.to_string())
    }

    fn shaped(&self, envelope: &Envelope) -> Value {
        let mut root = self.to_json();
        let data_path = envelope.data_path();
        if data_path != ["data"] {
            if let Value::Object(members) = &mut root {
                members.remove("data");
            }
            match (data_path, &self.data, &mut root) {
                ([], Value::Object(data), Value::Object(members)) => {
                    for (name, value) in data {
                        members.entry(name.clone()).or_insert_with(|| value.clone());
                    }
                }
                ([], _, _) => {}
                (path, data, root) => set(root, path, data.clone()),
            }
        }
        if let Some(path) = first_path(envelope.id_members()) {
            set(&mut root, path, Value::from(self.id.as_str()));
        }
        match envelope.event_type_members().first() {
            Some(Member::Body(path)) => set(&mut root, path, Value::from(self.event_type.as_str())),
            Some(Member::BodyMemberEndingWith(suffix)) if self.event_type.ends_with(suffix) => {
                set(&mut root, &[self.event_type.as_str()], self.data.clone());
            }
            _ => {}
        }
        if let Some(path) = first_path(envelope.created_members()) {
            let created = self.created_in(envelope.created_format());
            set(&mut root, path, created);
        }
        root
    }

    /// The created time as `format` writes it.
    fn created_in(&self, format: TimeFormat) -> Value {
        let seconds = self.created.unix_seconds();
        match format {
            TimeFormat::UnixSeconds => Value::from(seconds),
            TimeFormat::UnixMillis => Value::from(seconds.saturating_mul(1000)),
            TimeFormat::Rfc3339 => OffsetDateTime::from_unix_timestamp(seconds)
                .ok()
                .and_then(|time| time.format(&Rfc3339).ok())
                .map_or(Value::Null, Value::from),
        }
    }

    /// Starts a signed delivery of this event under `scheme` with `secret` (decoded as
    /// the scheme requires: `whsec_<base64>` for Standard Webhooks), timestamped now.
    pub fn sign(self, scheme: impl Scheme, secret: &str) -> MockDelivery {
        self.deliver(scheme, Key::Secret(Zeroizing::new(secret.to_owned())))
    }

    /// Starts a delivery signed with a private key, for a scheme with asymmetric
    /// signatures (Discord, SendGrid): the key in a form the scheme reads, such as a
    /// [`TestKeyPair`]'s. Timestamped now.
    pub fn sign_with_private_key(self, scheme: impl Scheme, private_key: &str) -> MockDelivery {
        self.deliver(scheme, Key::Private(Zeroizing::new(private_key.to_owned())))
    }

    fn deliver(self, scheme: impl Scheme, key: Key) -> MockDelivery {
        MockDelivery {
            event: self,
            scheme: Arc::new(scheme),
            key,
            timestamp: unix_now(),
            shift: 0,
            corrupt: false,
            uri: Ok(Uri::from_static("/webhooks")),
            extra: HeaderMap::new(),
        }
    }
}

/// A signed delivery of a [`MockEvent`]: the body, the scheme's headers and
/// `Content-Type: application/json`, as a request or as parts.
///
/// Options make the negative cases a receiver must refuse:
/// [`corrupt_signature`](Self::corrupt_signature),
/// [`shift_timestamp`](Self::shift_timestamp), [`with_secret`](Self::with_secret) and
/// [`with_private_key`](Self::with_private_key).
///
/// A scheme that signs the URL (Square, HubSpot, Twilio) signs the [`uri`](Self::uri),
/// which must then be absolute: the URL the provider calls. The receiver's verifier
/// joins its [public URL](webhook_signature::VerifierBuilder::public_url) with the
/// request's path and query. Two providers carry their signature outside the headers,
/// and the delivery does as they do: Twilio covers a JSON body by its SHA-256 in the
/// URL's `bodySHA256` query parameter, added to the URI; Mailgun signs a timestamp
/// and a token (the event id) in a `signature` object of the body, added to the
/// envelope.
///
/// ```
/// use http::Request;
/// use webhook_signature::{SignatureRejection, Verifier, scheme::Stripe};
/// use webhook_testing::MockEvent;
///
/// let verifier = Verifier::builder(Stripe).secret("k1", "whsec_test").build().unwrap();
/// let event = MockEvent::new("customer.created").id("evt_1");
///
/// let (headers, body) = event.clone().sign(Stripe, "whsec_test").parts().unwrap();
/// assert_eq!(verifier.verify(&headers, &body).unwrap().key_id().as_str(), "k1");
///
/// let (headers, body) = event.clone().sign(Stripe, "whsec_test").shift_timestamp(-301).parts().unwrap();
/// assert!(matches!(verifier.verify(&headers, &body), Err(SignatureRejection::TimestampOutOfTolerance { .. })));
///
/// let (headers, body) = event.clone().sign(Stripe, "whsec_test").corrupt_signature().parts().unwrap();
/// assert!(matches!(verifier.verify(&headers, &body), Err(SignatureRejection::SignatureMismatch { .. })));
///
/// let request: Request<String> = event.sign(Stripe, "whsec_test").uri("/hooks/stripe").request().unwrap();
/// assert_eq!(request.uri(), "/hooks/stripe");
/// assert_eq!(request.headers()["content-type"], "application/json");
/// ```
///
/// A scheme that signs the URL:
///
/// ```
/// use bytes::Bytes;
/// use http::Request;
/// use webhook_signature::{Verifier, scheme::by_name};
/// use webhook_testing::MockEvent;
///
/// let verifier = Verifier::builder(by_name("square").unwrap())
///     .secret("k1", "signature-key")
///     .public_url("https://hooks.example.com")
///     .build()
///     .unwrap();
/// let request: Request<String> = MockEvent::new("payment.updated")
///     .sign(by_name("square").unwrap(), "signature-key")
///     .uri("https://hooks.example.com/webhooks/square?shop=1")
///     .request()
///     .unwrap();
/// let body = Bytes::from(request.body().clone());
/// let verified = verifier.verify_request(request.method(), Some(request.uri()), request.headers(), &body);
/// assert_eq!(verified.unwrap().key_id().as_str(), "k1");
/// ```
pub struct MockDelivery {
    event: MockEvent,
    scheme: Arc<dyn Scheme>,
    key: Key,
    timestamp: i64,
    shift: i64,
    corrupt: bool,
    uri: Result<Uri, String>,
    extra: HeaderMap,
}

impl MockDelivery {
    /// The event being delivered.
    pub fn event(&self) -> &MockEvent {
        &self.event
    }

    /// Signs at `unix_seconds` instead of now (for the schemes that sign a timestamp).
    #[must_use]
    pub fn timestamp(mut self, unix_seconds: i64) -> Self {
        self.timestamp = unix_seconds;
        self
    }

    /// Moves the signed timestamp by `seconds` (negative: into the past), to test the
    /// replay tolerance.
    #[must_use]
    pub fn shift_timestamp(mut self, seconds: i64) -> Self {
        self.shift = self.shift.saturating_add(seconds);
        self
    }

    /// Signs with `secret` instead: a sender who does not hold the receiver's key.
    #[must_use]
    pub fn with_secret(mut self, secret: &str) -> Self {
        self.key = Key::Secret(Zeroizing::new(secret.to_owned()));
        self
    }

    /// Signs with the private key `private_key` instead, for a scheme with asymmetric
    /// signatures: a sender who does not hold the receiver's key pair.
    #[must_use]
    pub fn with_private_key(mut self, private_key: &str) -> Self {
        self.key = Key::Private(Zeroizing::new(private_key.to_owned()));
        self
    }

    /// Changes one character of the signature: still well formed (same length and
    /// alphabet), but it matches no key, so a receiver answers 401
    /// `signature_mismatch`.
    #[must_use]
    pub fn corrupt_signature(mut self) -> Self {
        self.corrupt = true;
        self
    }

    /// The request target (default `/webhooks`): a path, or an absolute URL for an
    /// HTTP client or a scheme that signs the URL. An invalid one is reported by
    /// [`request`](Self::request), and by every rendering for a scheme that signs the
    /// URL.
    #[must_use]
    pub fn uri<U>(mut self, uri: U) -> Self
    where
        U: TryInto<Uri>,
        U::Error: fmt::Display,
    {
        self.uri = uri.try_into().map_err(|error| error.to_string());
        self
    }

    /// Adds a header after the signature headers (appended: a second copy of a
    /// signature header makes a conflicting duplicate).
    #[must_use]
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.extra.append(name, value);
        self
    }

    /// The signed timestamp: the one set (or now) plus the shift.
    pub fn signed_timestamp(&self) -> i64 {
        self.timestamp.saturating_add(self.shift)
    }

    /// The body: the event in the scheme's envelope ([`MockEvent::body_for`]), with the
    /// `signature` object for Mailgun (its signature
    /// [corrupted](Self::corrupt_signature) when asked).
    pub fn body(&self) -> Bytes {
        let body = self.body_with(&self.key);
        if !(self.corrupt && matches!(self.carrier(), Carrier::Body)) {
            return body;
        }
        self.probes()
            .iter()
            .find_map(|probe| corrupt_first_difference(&body, &self.body_with(probe)))
            .map_or(body, Bytes::from)
    }

    /// The request headers: the scheme's signature headers, `Content-Type:
    /// application/json`, then any [`header`](Self::header)s.
    pub fn headers(&self) -> Result<HeaderMap, MockError> {
        self.headers_for(&self.body())
    }

    /// The headers and the body, for code that takes them apart (a verifier).
    pub fn parts(&self) -> Result<(HeaderMap, Bytes), MockError> {
        let body = self.body();
        Ok((self.headers_for(&body)?, body))
    }

    /// A `POST` request to the [`uri`](Self::uri) with the headers and body, for any
    /// body type built from a `String` (`String`, `Bytes`, `Full<Bytes>`,
    /// `axum::body::Body`, ...).
    pub fn request<B: From<String>>(&self) -> Result<Request<B>, MockError> {
        let uri = self.target().map_err(MockError::InvalidUri)?;
        let body = self.body();
        let headers = self.headers_for(&body)?;
        let text = String::from_utf8(body.to_vec()).expect("serde_json writes UTF-8");
        let mut request = Request::new(B::from(text));
        *request.method_mut() = Method::POST;
        *request.uri_mut() = uri;
        *request.headers_mut() = headers;
        Ok(request)
    }

    /// Where the signature travels.
    fn carrier(&self) -> Carrier {
        match self.scheme.name() {
            "mailgun" => Carrier::Body,
            "twilio" => Carrier::UrlHash,
            _ => Carrier::Headers,
        }
    }

    /// The request target: the [`uri`](Self::uri), with `bodySHA256` in its query
    /// for a scheme that covers the body that way.
    fn target(&self) -> Result<Uri, String> {
        let uri = self.uri.clone()?;
        if !matches!(self.carrier(), Carrier::UrlHash) {
            return Ok(uri);
        }
        let hash = hex::encode(sha2::Sha256::digest(
            self.event.body_for(self.scheme.envelope()),
        ));
        let separator = if uri.query().is_some() { '&' } else { '?' };
        format!("{uri}{separator}bodySHA256={hash}")
            .parse()
            .map_err(|error: http::uri::InvalidUri| error.to_string())
    }

    /// The body as signed with `key`: the event's, with the signature inside for a
    /// scheme that carries it there.
    fn body_with(&self, key: &Key) -> Bytes {
        match (self.carrier(), key) {
            (Carrier::Body, Key::Secret(secret)) => {
                let timestamp = self.signed_timestamp().to_string();
                let token = &self.event.id;
                let signature = Mailgun::signature(secret, &timestamp, token);
                let object = serde_json::json!({
                    "timestamp": timestamp,
                    "token": token,
                    "signature": signature,
                });
                let event = self.event.clone().member("signature", object);
                event.body_for(self.scheme.envelope())
            }
            _ => self.event.body_for(self.scheme.envelope()),
        }
    }

    fn sign_with(&self, key: &Key, body: &[u8]) -> Result<HeaderMap, MockError> {
        let signer = match key {
            Key::Secret(secret) => Signer::new(self.scheme.clone(), secret),
            Key::Private(private_key) => Signer::with_private_key(self.scheme.clone(), private_key),
        }
        .map_err(MockError::Secret)?;
        if matches!(self.carrier(), Carrier::Body) {
            return Ok(HeaderMap::new());
        }
        let url = match self.target() {
            Ok(uri) if uri.scheme().is_some() => Some(uri.to_string()),
            Ok(_) => None,
            Err(reason) if self.scheme.signs_url() => return Err(MockError::InvalidUri(reason)),
            Err(_) => None,
        };
        let mut request = SignRequest::new(body, self.signed_timestamp(), &self.event.id);
        if let Some(url) = &url {
            request = request.with_url(url);
        }
        signer.sign_request(&request).map_err(|error| match error {
            SignError::Unsupported { .. } => MockError::Unsupported(error),
            error => MockError::Header(error),
        })
    }

    fn headers_for(&self, body: &[u8]) -> Result<HeaderMap, MockError> {
        let mut headers = self.sign_with(&self.key, body)?;
        if self.corrupt {
            if matches!(self.carrier(), Carrier::Body) {
                if body == self.body_with(&self.key) {
                    return Err(MockError::CannotCorrupt);
                }
            } else {
                let (name, value) = self.corrupted(&headers, body)?;
                headers.insert(name, value);
            }
        }
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        self.envelope_headers(&mut headers);
        for (name, value) in &self.extra {
            headers.append(name, value.clone());
        }
        Ok(headers)
    }

    /// The id, type and created time where the scheme's envelope reads them from
    /// headers (`X-GitHub-Delivery`, `X-Shopify-Topic`, ...), unless the signature
    /// headers or the extra [`header`](Self::header)s carry them.
    fn envelope_headers(&self, headers: &mut HeaderMap) {
        let envelope = self.scheme.envelope();
        let created = match self.event.created_in(envelope.created_format()) {
            Value::String(text) => text,
            other => other.to_string(),
        };
        let fields = [
            (envelope.id_members(), self.event.id.as_str()),
            (
                envelope.event_type_members(),
                self.event.event_type.as_str(),
            ),
            (envelope.created_members(), created.as_str()),
        ];
        for (members, text) in fields {
            let header = members.iter().find_map(|member| match member {
                Member::Header(name) => Some(*name),
                _ => None,
            });
            let (Some(name), Ok(value)) = (header, HeaderValue::from_str(text)) else {
                continue;
            };
            if !headers.contains_key(name) && !self.extra.contains_key(name) {
                headers.insert(name, value);
            }
        }
    }

    /// Finds the signature by signing the same content with another key: the header
    /// value that changes holds it, and [`corrupt_first_difference`] changes it.
    fn corrupted(
        &self,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<(HeaderName, HeaderValue), MockError> {
        for probe in self.probes() {
            let Ok(other) = self.sign_with(&probe, body) else {
                continue;
            };
            for (name, value) in headers {
                let Some(other) = other.get(name) else {
                    continue;
                };
                let Some(changed) = corrupt_first_difference(value.as_bytes(), other.as_bytes())
                else {
                    continue;
                };
                let value = HeaderValue::from_bytes(&changed)
                    .map_err(|error| MockError::Header(error.into()))?;
                return Ok((name.clone(), value));
            }
        }
        Err(MockError::CannotCorrupt)
    }

    /// Other keys of the same kind as the delivery's, to sign with and see which
    /// header changes: two secrets, or two private keys of the delivery key's
    /// algorithm.
    fn probes(&self) -> Vec<Key> {
        match &self.key {
            Key::Secret(_) => PROBE_SECRETS
                .iter()
                .map(|secret| Key::Secret(Zeroizing::new((*secret).to_owned())))
                .collect(),
            Key::Private(private_key) => {
                let Ok(key) = self.scheme.decode_private_key(private_key) else {
                    return Vec::new();
                };
                PROBE_KEY_PAIRS
                    .iter()
                    .filter_map(|index| TestKeyPair::new(key.algorithm(), *index))
                    .map(|pair| Key::Private(Zeroizing::new(pair.private_key().to_owned())))
                    .collect()
            }
        }
    }
}

/// The path of the first [`Member::Body`] among `members`.
fn first_path(members: &[Member]) -> Option<&'static [&'static str]> {
    members.iter().find_map(|member| match member {
        Member::Body(path) => Some(*path),
        _ => None,
    })
}

/// Sets `value` at `path` in `root`, making objects on the way (an array index in the
/// path makes a one-element array).
fn set(root: &mut Value, path: &[&str], value: Value) {
    let Some((head, rest)) = path.split_first() else {
        *root = value;
        return;
    };
    if let Ok(0) = head.parse::<usize>() {
        if !matches!(root, Value::Array(items) if !items.is_empty()) {
            *root = Value::Array(vec![Value::Null]);
        }
        if let Value::Array(items) = root {
            set(&mut items[0], rest, value);
        }
        return;
    }
    if !root.is_object() {
        *root = Value::Object(serde_json::Map::new());
    }
    if let Value::Object(members) = root {
        set(members.entry(*head).or_insert(Value::Null), rest, value);
    }
}

/// `ours` with the first byte that differs from `theirs` swapped for `0` (or `A`): two
/// signatures under different keys first differ inside the tag, and `0` and `A` are
/// hex in either case and base64 whose low bits are zero, so the result stays well
/// formed. `None` when they do not differ.
fn corrupt_first_difference(ours: &[u8], theirs: &[u8]) -> Option<Vec<u8>> {
    let at = ours.iter().zip(theirs).position(|(a, b)| a != b)?;
    let mut changed = ours.to_vec();
    changed[at] = if changed[at] == b'0' { b'A' } else { b'0' };
    Some(changed)
}

/// Where a scheme's signature travels.
enum Carrier {
    /// In headers.
    Headers,
    /// Inside the body (Mailgun's `signature` object).
    Body,
    /// In headers, covering a JSON body by its hash in the URL (Twilio's
    /// `bodySHA256`).
    UrlHash,
}

/// What a [`MockDelivery`] signs with.
enum Key {
    /// A shared secret.
    Secret(Zeroizing<String>),
    /// A private key, for schemes with asymmetric signatures.
    Private(Zeroizing<String>),
}

/// Secrets signed with to find the signature header: `whsec_<base64>`, which every
/// built-in HMAC scheme reads, then plain text, for a scheme that treats the two
/// forms differently.
const PROBE_SECRETS: [&str; 6] = [
    "whsec_Y29ycnVwdGlvbi1wcm9iZS1vbmU=",
    "whsec_Y29ycnVwdGlvbi1wcm9iZS10d28=",
    // Bytes no header can carry: GitLab signs with them as Standard Webhooks, where
    // it sends a printable secret as its token.
    "whsec_gIGCg4SFhoeIiYqLjI2Oj5CRkpOUlZaXmJmam5ydnp8=",
    "whsec_oKGio6SlpqeoqaqrrK2ur7CxsrO0tba3uLm6u7y9vr8=",
    "corruption-probe-one",
    "corruption-probe-two",
];

/// The [`TestKeyPair`]s signed with to find the signature header of an asymmetric
/// scheme: numbers far from the low ones a test gives its own keys.
const PROBE_KEY_PAIRS: [u8; 2] = [0xa1, 0xa2];

impl fmt::Debug for MockDelivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockDelivery")
            .field("event", &self.event)
            .field("scheme", &self.scheme.name())
            .field("key", &"<redacted>")
            .field("timestamp", &self.timestamp)
            .field("shift", &self.shift)
            .field("corrupt", &self.corrupt)
            .field("uri", &self.uri)
            .finish_non_exhaustive()
    }
}

/// Why a [`MockDelivery`] could not be rendered.
#[derive(Debug)]
#[non_exhaustive]
pub enum MockError {
    /// The scheme refused the secret (empty, or not `whsec_<base64>` for Standard
    /// Webhooks) or the private key (not one it reads, or it signs with secrets).
    Secret(ConfigError),
    /// The event id cannot be signed: a verifier would read it back differently, or
    /// it cannot be sent in a header.
    Header(SignError),
    /// The scheme cannot sign this delivery: it signs the URL and the
    /// [`uri`](MockDelivery::uri) is a path, not an absolute URL; or the key is not of
    /// the kind the scheme signs with.
    Unsupported(SignError),
    /// No signature header could be found to corrupt: the scheme's signature did not
    /// change with the key.
    CannotCorrupt,
    /// The [`uri`](MockDelivery::uri) is not valid.
    InvalidUri(String),
}

impl fmt::Display for MockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Secret(error) => write!(f, "cannot sign: {error}"),
            Self::Header(_) => f.write_str("cannot sign the event id"),
            Self::Unsupported(error) => error.fmt(f),
            Self::CannotCorrupt => {
                f.write_str("cannot corrupt the signature: no header changes with the key")
            }
            Self::InvalidUri(reason) => write!(f, "invalid request URI: {reason}"),
        }
    }
}

impl std::error::Error for MockError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Secret(error) => Some(error),
            Self::Header(error) | Self::Unsupported(error) => Some(error),
            Self::CannotCorrupt | Self::InvalidUri(_) => None,
        }
    }
}
