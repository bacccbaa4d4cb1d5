use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Uri};
use subtle::{Choice, ConstantTimeEq};
use webhook_core::{Handshake, KeyId, VerifiedDelivery};
use zeroize::Zeroizing;

use crate::SignatureRejection;
use crate::mac::{MacKey, tags_equal};
use crate::scheme::{
    Algorithm, Delivery, FastPath, PrivateKey, PublicKey, Scheme, SignRequest, Signature, Tag,
    Target, Usual,
};

/// The default replay tolerance: 300 seconds either side of now.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// Why a [`Verifier`] or [`Signer`] could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// No secret was configured: nothing could ever verify.
    NoSecrets,
    /// A secret is empty (after decoding).
    EmptySecret {
        /// The key id of the empty secret.
        key_id: String,
    },
    /// A secret could not be decoded for this scheme.
    InvalidSecret {
        /// What the scheme expects.
        reason: &'static str,
    },
    /// Two secrets share a key id.
    DuplicateKeyId {
        /// The repeated id.
        key_id: String,
    },
    /// A configurable scheme is inconsistent.
    InvalidScheme {
        /// What is wrong.
        reason: &'static str,
    },
    /// The verify token (Meta's handshake) is empty.
    EmptyVerifyToken,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoSecrets => f.write_str("no secret configured: add at least one"),
            Self::EmptySecret { key_id } => write!(f, "the secret for key `{key_id}` is empty"),
            Self::InvalidSecret { reason } => write!(f, "invalid secret: {reason}"),
            Self::DuplicateKeyId { key_id } => write!(f, "key id `{key_id}` is used twice"),
            Self::InvalidScheme { reason } => write!(f, "invalid scheme: {reason}"),
            Self::EmptyVerifyToken => f.write_str("the verify token is empty"),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Why [`Signer::sign`] refused to sign.
#[derive(Debug)]
#[non_exhaustive]
pub enum SignError {
    /// The event id is not what a verifier reads back from a header: it is not ASCII,
    /// or starts or ends with a space or a tab (a verifier trims those).
    EventId {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A value cannot be sent in a header (the event id holds a control character).
    InvalidHeader(http::header::InvalidHeaderValue),
    /// The scheme cannot sign this request with this key: a URL it signs is missing,
    /// or it takes another kind of key.
    Unsupported {
        /// What is missing.
        reason: &'static str,
    },
}

impl fmt::Display for SignError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EventId { reason } => write!(f, "cannot sign this event id: {reason}"),
            Self::InvalidHeader(_) => {
                f.write_str("cannot sign: a value is not a valid header value")
            }
            Self::Unsupported { reason } => write!(f, "cannot sign: {reason}"),
        }
    }
}

impl std::error::Error for SignError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::InvalidHeader(error) => Some(error),
            Self::EventId { .. } | Self::Unsupported { .. } => None,
        }
    }
}

impl From<http::header::InvalidHeaderValue> for SignError {
    fn from(error: http::header::InvalidHeaderValue) -> Self {
        Self::InvalidHeader(error)
    }
}

struct Key {
    id: KeyId,
    material: Material,
}

/// What a key verifies with.
enum Material {
    /// The HMAC states with the secret already absorbed: starting from them saves
    /// each message the two key-block compressions.
    Mac(MacKey),
    /// A public key, for asymmetric signatures.
    Public(PublicKey),
}

impl Material {
    fn algorithm(&self) -> Algorithm {
        match self {
            Self::Mac(mac) => mac.algorithm(),
            Self::Public(key) => key.algorithm(),
        }
    }

    /// Whether any of `presented` of this key's algorithm signs `pieces`: compared in
    /// constant time for an HMAC, verified with the public key otherwise.
    fn matches(&self, pieces: &[&[u8]], presented: &[Signature]) -> bool {
        let algorithm = self.algorithm();
        let mut ours = presented.iter().filter(|s| s.algorithm() == algorithm);
        match self {
            Self::Mac(mac) => {
                if ours.clone().next().is_none() {
                    return false;
                }
                let tag = mac.tag(pieces);
                let matched = ours.fold(Choice::from(0), |acc, presented| {
                    acc | tags_equal(tag.as_bytes(), presented.as_bytes())
                });
                bool::from(matched)
            }
            Self::Public(key) => ours.any(|presented| verify_asymmetric(key, pieces, presented)),
        }
    }
}

/// Verifies an asymmetric signature over `pieces`, streaming them into the hash
/// rather than joining them.
fn verify_asymmetric(key: &PublicKey, pieces: &[&[u8]], presented: &Signature) -> bool {
    match key {
        PublicKey::Ed25519(key) => {
            let Ok(signature) = ed25519_dalek::Signature::from_slice(presented.as_bytes()) else {
                return false;
            };
            let Ok(mut verifier) = key.verify_stream(&signature) else {
                return false;
            };
            for piece in pieces {
                verifier.update(piece);
            }
            verifier.finalize_and_verify().is_ok()
        }
        PublicKey::EcdsaP256(key) => {
            use p256::ecdsa::signature::hazmat::PrehashVerifier as _;
            use sha2::Digest as _;
            // DER, as SendGrid sends it and its SDKs read it.
            let Ok(signature) = p256::ecdsa::Signature::from_der(presented.as_bytes()) else {
                return false;
            };
            let mut hash = sha2::Sha256::new();
            for piece in pieces {
                hash.update(piece);
            }
            key.verify_prehash(&hash.finalize(), &signature).is_ok()
        }
    }
}

/// What the fast path settled.
enum FastVerdict<'k> {
    /// `key` verified it; `body` is the marker's copy of the body.
    Verified(&'k Key, Bytes),
    /// The signature matches no key.
    Mismatch,
    /// Not the usual delivery after all: the general path answers.
    Unsettled,
}

struct Inner {
    scheme: Box<dyn Scheme>,
    /// `scheme`'s fast path, if it has one: see [`Verifier::verify`].
    fast_path: Option<FastPath>,
    keys: Vec<Key>,
    /// The scheme, host and any path prefix the provider calls, without a trailing
    /// `/`: see [`VerifierBuilder::public_url`].
    public_url: Option<Box<str>>,
    tolerance: Duration,
    clock: Option<Clock>,
    /// Whether the layer answers the scheme's setup handshake.
    handshakes: bool,
    /// Meta's verify token, as configured.
    verify_token: Option<Zeroizing<String>>,
}

/// Verifies a delivery's headers and body against a scheme and a keyring.
///
/// Cheap to clone (an `Arc`). Built once with [`Verifier::builder`], which refuses an
/// empty keyring or an empty secret.
///
/// ```
/// use bytes::Bytes;
/// use webhook_signature::{Signer, Verifier, SignatureRejection, scheme::Stripe};
///
/// let now = 1_700_000_000;
/// let verifier = Verifier::builder(Stripe)
///     .secret("2024-rotation", "whsec_old")
///     .secret("2025-rotation", "whsec_new")
///     .clock(move || std::time::UNIX_EPOCH + std::time::Duration::from_secs(now))
///     .build()
///     .unwrap();
///
/// let body = Bytes::from_static(br#"{"id":"evt_1"}"#);
/// let headers = Signer::new(Stripe, "whsec_new").unwrap().sign(&body, now as i64, "").unwrap();
/// let delivery = verifier.verify(&headers, &body).unwrap();
/// assert_eq!(delivery.key_id().as_str(), "2025-rotation");
///
/// let forged = Signer::new(Stripe, "whsec_guess").unwrap().sign(&body, now as i64, "").unwrap();
/// assert!(matches!(verifier.verify(&forged, &body), Err(SignatureRejection::SignatureMismatch { .. })));
/// ```
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<Inner>,
}

impl Verifier {
    /// Starts a verifier for `scheme`.
    pub fn builder(scheme: impl Scheme) -> VerifierBuilder {
        VerifierBuilder {
            fast_path: scheme.fast_path(),
            tolerance: scheme.default_tolerance(),
            scheme: Box::new(scheme),
            keys: Vec::new(),
            public_url: None,
            clock: None,
            handshakes: true,
            verify_token: None,
        }
    }

    /// The scheme.
    pub fn scheme(&self) -> &dyn Scheme {
        &*self.inner.scheme
    }

    /// The fast path this verifier reads its scheme's usual deliveries on, if any:
    /// the scheme's [`Scheme::fast_path`], for a built-in scheme whether given by
    /// type or chosen with [`by_name`](crate::scheme::by_name).
    ///
    /// ```
    /// use webhook_signature::Verifier;
    /// use webhook_signature::scheme::{Scheme, Stripe, by_name};
    ///
    /// let verifier = Verifier::builder(by_name("stripe").unwrap()).secret("k", "s").build().unwrap();
    /// assert_eq!(verifier.fast_path(), Stripe.fast_path());
    /// assert!(verifier.fast_path().is_some());
    /// ```
    pub fn fast_path(&self) -> Option<FastPath> {
        self.inner.fast_path.clone()
    }

    /// The replay tolerance.
    pub fn tolerance(&self) -> Duration {
        self.inner.tolerance
    }

    /// The configured key ids, in order.
    pub fn key_ids(&self) -> impl Iterator<Item = &KeyId> {
        self.inner.keys.iter().map(|key| &key.id)
    }

    fn now(&self) -> i64 {
        let now = self
            .inner
            .clock
            .as_ref()
            .map_or_else(SystemTime::now, |clock| clock());
        // Saturating: an injected clock can be anywhere, even where `-(i64::MIN)` overflows.
        match now.duration_since(UNIX_EPOCH) {
            Ok(since) => i64::try_from(since.as_secs()).unwrap_or(i64::MAX),
            Err(before) => i64::try_from(before.duration().as_secs()).map_or(i64::MIN, |s| -s),
        }
    }

    /// The public URL the provider calls, without a trailing `/`, if configured.
    pub fn public_url(&self) -> Option<&str> {
        self.inner.public_url.as_deref()
    }

    /// The setup handshake the signature layer answers for this verifier: its
    /// scheme's [`handshake`](Scheme::handshake), unless
    /// [`handshakes(false)`](VerifierBuilder::handshakes) turned it off.
    ///
    /// ```
    /// use webhook_core::Handshake;
    /// use webhook_signature::{Verifier, scheme::by_name};
    ///
    /// let verifier = Verifier::builder(by_name("zoom").unwrap()).secret("k", "s").build().unwrap();
    /// assert_eq!(verifier.handshake(), Some(Handshake::ZoomUrlValidation));
    /// let off = Verifier::builder(by_name("zoom").unwrap()).secret("k", "s").handshakes(false).build().unwrap();
    /// assert_eq!(off.handshake(), None);
    /// ```
    pub fn handshake(&self) -> Option<Handshake> {
        if self.inner.handshakes {
            self.inner.scheme.handshake()
        } else {
            None
        }
    }

    /// Whether `presented` is the configured verify token, compared in constant
    /// time (as SHA-256 digests, so that not even its length shows); `false` when
    /// none is configured.
    pub(crate) fn verify_token_matches(&self, presented: &[u8]) -> bool {
        use sha2::Digest as _;
        let Some(token) = &self.inner.verify_token else {
            return false;
        };
        let ours = sha2::Sha256::digest(token.as_bytes());
        let theirs = sha2::Sha256::digest(presented);
        bool::from(tags_equal(&ours, &theirs))
    }

    /// The HMAC of `message` with the key `key_id`, or with the first key of the
    /// keyring when `None`: for the handshakes answered with the signing key. `None`
    /// when that key is not an HMAC secret.
    pub(crate) fn handshake_tag(
        &self,
        key_id: Option<&KeyId>,
        message: &[u8],
    ) -> Option<Signature> {
        let key = match key_id {
            Some(id) => self.inner.keys.iter().find(|key| &key.id == id)?,
            None => self.inner.keys.first()?,
        };
        match &key.material {
            Material::Mac(mac) => Some(mac.tag(&[message])),
            Material::Public(_) => None,
        }
    }

    /// Verifies a `POST` of `body` with `headers`: [`verify_request`](Self::verify_request)
    /// for schemes that sign neither the method nor the URL.
    ///
    /// Order of checks: the headers are parsed (400 on malformed input), the timestamp
    /// is checked against the tolerance (inclusive), then each key's HMAC is compared
    /// with every presented signature in constant time, or each public key verifies
    /// the asymmetric ones.
    pub fn verify(
        &self,
        headers: &HeaderMap,
        body: &Bytes,
    ) -> Result<VerifiedDelivery, SignatureRejection> {
        self.verify_request(&Method::POST, None, headers, body)
    }

    /// Verifies a request: its method, its URI (origin-form, as a server sees it; the
    /// path and query are joined to the [public URL](VerifierBuilder::public_url) for
    /// schemes that sign the URL), headers and body.
    pub fn verify_request(
        &self,
        method: &Method,
        uri: Option<&Uri>,
        headers: &HeaderMap,
        body: &Bytes,
    ) -> Result<VerifiedDelivery, SignatureRejection> {
        // A built-in scheme's usual delivery takes the fast path; whatever it does not
        // settle (see `scheme/fast.rs`) is parsed and checked in full.
        let path = uri
            .and_then(Uri::path_and_query)
            .map_or("/", |path| path.as_str());
        if let Some(fast_path) = &self.inner.fast_path {
            let target = Target {
                method: method.as_str().as_bytes(),
                url: (self.inner.public_url.as_deref())
                    .map(|base| [base.as_bytes(), path.as_bytes()]),
            };
            // Read in place: `Usual` is some 170 bytes, and binding it by value copies it.
            if let Some(usual) = &fast_path.read(headers, target) {
                match self.verify_usual(usual, body) {
                    // Built here, in the caller's slot: built deeper, the marker would be
                    // copied out while its bytes are still being written.
                    FastVerdict::Verified(key, body) => {
                        let (event_id_header, event_id) = match usual.event_id {
                            Some((value, id)) if id.len() == value.len() => (Some(value), None),
                            // Checked ASCII when read, so this is valid UTF-8.
                            Some((_, id)) => (None, std::str::from_utf8(id).ok()),
                            None => (None, None),
                        };
                        return Ok(delivery(
                            fast_path.name(),
                            key,
                            body,
                            event_id_header,
                            event_id,
                            usual.timestamp,
                        ));
                    }
                    FastVerdict::Mismatch => {
                        return Err(SignatureRejection::SignatureMismatch {
                            signed_content: self.inner.scheme.signed_content(),
                        });
                    }
                    FastVerdict::Unsettled => {}
                }
            }
        }
        let url = if self.inner.scheme.signs_url() {
            self.inner.public_url.as_deref().map(|base| {
                let mut url = String::with_capacity(base.len() + path.len());
                url.push_str(base);
                url.push_str(path);
                url
            })
        } else {
            None
        };
        let mut delivery = Delivery::new(headers, body).with_method(method);
        if let Some(url) = &url {
            delivery = delivery.with_url(url);
        }
        self.verify_parsed(&delivery, body)
    }

    /// The fast path's verdict: [`FastVerdict::Unsettled`] when the delivery is not the
    /// usual one after all (its timestamp is out of tolerance or its signature does
    /// not decode), for [`verify_parsed`](Self::verify_parsed) to answer. A base64
    /// signature of the right length that does not decode is found only after the
    /// first hash.
    #[inline]
    fn verify_usual(&self, usual: &Usual<'_>, body: &Bytes) -> FastVerdict<'_> {
        let inner = &*self.inner;
        if !usual.well_sized() {
            return FastVerdict::Unsettled;
        }
        if let Some(timestamp) = usual.timestamp {
            if self.now().saturating_sub(timestamp).unsigned_abs() > inner.tolerance.as_secs() {
                return FastVerdict::Unsettled;
            }
        }
        // The marker's own copy of the body, taken before hashing, so that the hash
        // runs between the clone's writes and the marker reading them back. A forged
        // request pays for it too.
        let body = body.clone();
        // Hex is decoded before hashing, base64 once the hash is under way (see
        // `scheme/fast.rs`): each order measured the faster for its encoding.
        let mut presented = None;
        if usual.decode_first() {
            match usual.decode() {
                Some(tag) => presented = Some(words(&tag)),
                None => return FastVerdict::Unsettled,
            }
        }
        let sha1 = usual.sha1();
        for key in &inner.keys {
            let tag = match &key.material {
                Material::Mac(MacKey::Sha256(mac)) if !sha1 => {
                    mac.tag(usual.prefix(), &body, usual.suffix)
                }
                Material::Mac(MacKey::Sha1(mac)) if sha1 => {
                    mac.padded_tag(usual.prefix(), &body, usual.suffix)
                }
                _ => continue,
            };
            let tag = words(&tag);
            let presented = match presented {
                Some(presented) => presented,
                None => match usual.decode() {
                    Some(decoded) => *presented.insert(words(&decoded)),
                    None => return FastVerdict::Unsettled,
                },
            };
            if bool::from(difference(&tag, &presented).ct_eq(&0)) {
                return FastVerdict::Verified(key, body);
            }
        }
        FastVerdict::Mismatch
    }

    /// The general path: [`Scheme::parse`], then the checks.
    fn verify_parsed(
        &self,
        request: &Delivery<'_>,
        body: &Bytes,
    ) -> Result<VerifiedDelivery, SignatureRejection> {
        let inner = &*self.inner;
        // Read in place: `Signed` is several hundred bytes, and `?` would copy it.
        let parsed = inner.scheme.parse(request);
        let signed = match parsed {
            Ok(ref signed) => signed,
            Err(rejection) => return Err(rejection),
        };
        if signed.signatures().is_empty() {
            return Err(SignatureRejection::MalformedSignature {
                reason: "no signature presented",
            });
        }
        if let Some(timestamp) = signed.timestamp() {
            let skew = self.now().saturating_sub(timestamp);
            if skew.unsigned_abs() > inner.tolerance.as_secs() {
                return Err(SignatureRejection::TimestampOutOfTolerance {
                    skew_seconds: skew,
                    tolerance_seconds: inner.tolerance.as_secs(),
                });
            }
        }
        let matched = signed.contents(body).find_map(|content| {
            let pieces = signed.pieces(content);
            inner
                .keys
                .iter()
                .find(|key| key.material.matches(&pieces, signed.signatures()))
        });
        match matched {
            Some(key) => Ok(delivery(
                inner.scheme.name(),
                key,
                body.clone(),
                signed.event_id_header(),
                signed.event_id(),
                signed.timestamp(),
            )),
            None => Err(SignatureRejection::SignatureMismatch {
                signed_content: inner.scheme.signed_content(),
            }),
        }
    }
}

/// The marker for a delivery that `key` verified: the event id is the header
/// value that is exactly the id when there is one (shared, not copied), else its
/// text.
#[inline]
fn delivery(
    scheme: &'static str,
    key: &Key,
    body: Bytes,
    event_id_header: Option<&HeaderValue>,
    event_id: Option<&str>,
    timestamp: Option<i64>,
) -> VerifiedDelivery {
    let mut delivery = VerifiedDelivery::new(scheme, key.id.clone(), body);
    if let Some(value) = event_id_header {
        delivery = delivery.with_event_id_header(value);
    } else if let Some(id) = event_id {
        delivery = delivery.with_event_id(id);
    }
    if let Some(timestamp) = timestamp {
        delivery = delivery.with_timestamp(timestamp);
    }
    delivery
}

/// A tag as four machine words, for [`difference`].
fn words(tag: &Tag) -> [u64; 4] {
    let mut words = [0; 4];
    for (word, bytes) in words.iter_mut().zip(tag.chunks_exact(8)) {
        *word = u64::from_ne_bytes(bytes.try_into().expect("8 bytes"));
    }
    words
}

/// Zero exactly when the tags are equal: straight-line code with no branch, so `subtle`
/// can then compare one word in constant time rather than thirty-two bytes.
fn difference(a: &[u64; 4], b: &[u64; 4]) -> u64 {
    (a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) | (a[3] ^ b[3])
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("scheme", &self.inner.scheme.name())
            .field("key_ids", &self.key_ids().collect::<Vec<_>>())
            .field("tolerance", &self.inner.tolerance)
            .field("handshake", &self.handshake())
            .field(
                "verify_token",
                &self.inner.verify_token.as_ref().map(|_| "<redacted>"),
            )
            .finish_non_exhaustive()
    }
}

/// Builds a [`Verifier`].
#[must_use]
pub struct VerifierBuilder {
    scheme: Box<dyn Scheme>,
    fast_path: Option<FastPath>,
    keys: Vec<(KeyId, Zeroizing<String>, KeyKind)>,
    public_url: Option<String>,
    tolerance: Duration,
    clock: Option<Clock>,
    handshakes: bool,
    verify_token: Option<Zeroizing<String>>,
}

/// How a configured key is read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    Secret,
    Public,
}

impl VerifierBuilder {
    /// Adds a secret under a key id. Deliveries verify if any key matches; the
    /// verified-delivery marker names the key that did.
    pub fn secret(mut self, key_id: impl Into<KeyId>, secret: impl Into<String>) -> Self {
        self.keys.push((
            key_id.into(),
            Zeroizing::new(secret.into()),
            KeyKind::Secret,
        ));
        self
    }

    /// Adds several secrets, with key ids `0`, `1`, ... by position among the keys.
    pub fn secrets<I>(mut self, secrets: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        for secret in secrets {
            let id = KeyId::from(self.keys.len().to_string());
            self = self.secret(id, secret);
        }
        self
    }

    /// Adds a public key under a key id, for schemes with asymmetric signatures, in
    /// the form its provider shows it (see the scheme's
    /// [`decode_public_key`](Scheme::decode_public_key)). Public keys and secrets
    /// share one keyring: a scheme that takes both (Standard Webhooks `v1` and
    /// `v1a`) checks each signature against the keys of its algorithm.
    pub fn public_key(mut self, key_id: impl Into<KeyId>, key: impl Into<String>) -> Self {
        self.keys
            .push((key_id.into(), Zeroizing::new(key.into()), KeyKind::Public));
        self
    }

    /// Adds several public keys, with key ids `0`, `1`, ... by position among the
    /// keys.
    pub fn public_keys<I>(mut self, keys: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        for key in keys {
            let id = KeyId::from(self.keys.len().to_string());
            self = self.public_key(id, key);
        }
        self
    }

    /// The URL the provider calls, up to where the request's own path begins:
    /// `https://hooks.example.com` (or `https://example.com/api` when a proxy strips
    /// `/api`). Schemes that sign the URL (Twilio, Square, HubSpot) sign this joined
    /// with the request's path and query.
    ///
    /// Behind a proxy the request's own URI and `Host` are not what the provider
    /// called, and they are the caller's to choose, so the URL is never taken from
    /// them: a scheme that signs the URL cannot be built without this.
    pub fn public_url(mut self, url: impl Into<String>) -> Self {
        self.public_url = Some(url.into());
        self
    }

    /// How far a signed timestamp may be from now, in either direction. The default
    /// is the scheme's [`default_tolerance`](Scheme::default_tolerance): its provider's
    /// own window, else 300 s.
    pub fn tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// Whether the signature layer answers the scheme's setup handshake (on by
    /// default; see the crate docs, "Handshakes"). Off, a handshake goes through
    /// like any other request: a `GET` is verified as a delivery (and refused
    /// unsigned), a signed `POST` reaches the inner service.
    pub fn handshakes(mut self, on: bool) -> Self {
        self.handshakes = on;
        self
    }

    /// Meta's verify token: the text set beside the callback URL in the app
    /// dashboard, which Meta's verification request (`hub.verify_token`) must
    /// carry. Without it every verification request is refused with 403. Redacted
    /// in `Debug`, zeroized on drop; [`build`](Self::build) refuses an empty one.
    pub fn verify_token(mut self, token: impl Into<String>) -> Self {
        self.verify_token = Some(Zeroizing::new(token.into()));
        self
    }

    /// Replaces the system clock, for tests.
    pub fn clock(mut self, clock: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// Decodes the keys and precomputes each secret's HMAC state.
    pub fn build(self) -> Result<Verifier, ConfigError> {
        if self.keys.is_empty() {
            return Err(ConfigError::NoSecrets);
        }
        if self
            .verify_token
            .as_ref()
            .is_some_and(|token| token.is_empty())
        {
            return Err(ConfigError::EmptyVerifyToken);
        }
        let public_url = match self.public_url {
            Some(url) => Some(check_public_url(&url)?),
            None if self.scheme.signs_url() => {
                return Err(ConfigError::InvalidScheme {
                    reason: "this scheme signs the URL the provider calls: set public_url",
                });
            }
            None => None,
        };
        let mut keys: Vec<Key> = Vec::with_capacity(self.keys.len());
        for (id, text, kind) in &self.keys {
            if keys.iter().any(|key| &key.id == id) {
                return Err(ConfigError::DuplicateKeyId {
                    key_id: id.to_string(),
                });
            }
            let material = match kind {
                KeyKind::Public => Material::Public(self.scheme.decode_public_key(text)?),
                KeyKind::Secret => {
                    let decoded = Zeroizing::new(self.scheme.decode_secret(text)?);
                    if decoded.is_empty() {
                        return Err(ConfigError::EmptySecret {
                            key_id: id.to_string(),
                        });
                    }
                    Material::Mac(MacKey::new(self.scheme.algorithm(), &decoded).ok_or(
                        ConfigError::InvalidSecret {
                            reason: "this scheme verifies with public keys, not secrets",
                        },
                    )?)
                }
            };
            keys.push(Key {
                id: id.clone(),
                material,
            });
        }
        Ok(Verifier {
            inner: Arc::new(Inner {
                scheme: self.scheme,
                fast_path: self.fast_path,
                keys,
                public_url,
                tolerance: self.tolerance,
                clock: self.clock,
                handshakes: self.handshakes,
                verify_token: self.verify_token,
            }),
        })
    }
}

/// An absolute `http` or `https` URL with a host, and no query or fragment, without
/// its trailing `/`.
fn check_public_url(url: &str) -> Result<Box<str>, ConfigError> {
    let invalid = ConfigError::InvalidScheme {
        reason: "the public URL must be an absolute http(s) URL with a host, and no query",
    };
    let parsed: Uri = url.parse().map_err(|_| invalid.clone())?;
    let scheme_ok = matches!(parsed.scheme_str(), Some("https" | "http"));
    if !scheme_ok || parsed.host().is_none() || parsed.query().is_some() || url.contains('#') {
        return Err(invalid);
    }
    Ok(url.trim_end_matches('/').into())
}

impl fmt::Debug for VerifierBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifierBuilder")
            .field("scheme", &self.scheme.name())
            .field(
                "keys",
                &self
                    .keys
                    .iter()
                    .map(|(id, _, _)| (id, "<redacted>"))
                    .collect::<Vec<_>>(),
            )
            .field("public_url", &self.public_url)
            .field("tolerance", &self.tolerance)
            .field("handshakes", &self.handshakes)
            .field(
                "verify_token",
                &self.verify_token.as_ref().map(|_| "<redacted>"),
            )
            .finish_non_exhaustive()
    }
}

/// What a [`Signer`] signs with.
enum SigningKey {
    Secret(Zeroizing<Vec<u8>>),
    Private(Box<PrivateKey>),
}

/// Signs bodies the way a sender would: for tests, the CLI and the test kit.
pub struct Signer {
    scheme: Box<dyn Scheme>,
    key: SigningKey,
}

impl Signer {
    /// A signer for `scheme` with `secret`, decoded as the scheme requires.
    pub fn new(scheme: impl Scheme, secret: &str) -> Result<Self, ConfigError> {
        let decoded = Zeroizing::new(scheme.decode_secret(secret)?);
        if decoded.is_empty() {
            return Err(ConfigError::EmptySecret {
                key_id: String::new(),
            });
        }
        if !scheme.algorithm().is_hmac() {
            return Err(ConfigError::InvalidSecret {
                reason: "this scheme signs with a private key, not a secret",
            });
        }
        Ok(Self {
            scheme: Box::new(scheme),
            key: SigningKey::Secret(decoded),
        })
    }

    /// A signer for a scheme with asymmetric signatures, with a private key in a form
    /// the scheme's [`decode_private_key`](Scheme::decode_private_key) reads.
    pub fn with_private_key(scheme: impl Scheme, key: &str) -> Result<Self, ConfigError> {
        let key = scheme.decode_private_key(key)?;
        Ok(Self {
            scheme: Box::new(scheme),
            key: SigningKey::Private(Box::new(key)),
        })
    }

    /// The headers to send with a `POST` of `body`; `timestamp` and `id` are used by
    /// the schemes that sign them. See [`sign_request`](Self::sign_request).
    pub fn sign(&self, body: &[u8], timestamp: i64, id: &str) -> Result<HeaderMap, SignError> {
        self.sign_request(&SignRequest::new(body, timestamp, id))
    }

    /// The headers to send with `request`.
    ///
    /// An `id` that a verifier would read back differently is refused, for every
    /// scheme: one that is not ASCII ([`Verifier`] answers 400 to it), or that starts
    /// or ends with a space or a tab (the verifier trims the header value, so the
    /// signed id and the read one would differ).
    pub fn sign_request(&self, request: &SignRequest<'_>) -> Result<HeaderMap, SignError> {
        let id = request.id;
        if !id.is_ascii() {
            return Err(SignError::EventId {
                reason: "it is not ASCII",
            });
        }
        if id.trim_matches([' ', '\t']) != id {
            return Err(SignError::EventId {
                reason: "it starts or ends with a space or a tab",
            });
        }
        match &self.key {
            SigningKey::Secret(secret) => self.scheme.sign(secret, request),
            SigningKey::Private(key) => self.scheme.sign_with_private_key(key, request),
        }
    }
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("scheme", &self.scheme.name())
            .field("key", &"<redacted>")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use http::{HeaderName, HeaderValue};

    use super::*;
    use crate::scheme::{GitHub, Signed, decode_hex_tag, hmac_tag, single_header};

    #[test]
    fn a_long_event_id_header_is_shared_not_copied_and_ids_are_trimmed_as_before() {
        let body = Bytes::from_static(b"{}");
        let verifier = Verifier::builder(GitHub).secret("k", "s").build().unwrap();
        let long = "evt_".repeat(20);
        let mut headers = Signer::new(GitHub, "s")
            .unwrap()
            .sign(&body, 0, &long)
            .unwrap();
        let delivery = verifier.verify(&headers, &body).unwrap();
        assert_eq!(delivery.event_id(), Some(&*long));
        let sent = headers["x-github-delivery"].as_bytes().as_ptr();
        assert_eq!(delivery.event_id().unwrap().as_ptr(), sent);

        headers.insert("x-github-delivery", HeaderValue::from_static(" evt_2\t"));
        let delivery = verifier.verify(&headers, &body).unwrap();
        assert_eq!(delivery.event_id(), Some("evt_2"));
    }

    #[test]
    fn the_signer_refuses_an_event_id_its_verifier_would_read_differently() {
        // Signed, each would be refused by its verifier: 400 (not ASCII) or 401 (the
        // verifier trims the id it reads, so the signed content would differ).
        let body = Bytes::from_static(b"{}");
        for scheme in ["standard", "github", "hopnow"] {
            let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
            let signer = Signer::new(crate::scheme::by_name(scheme).unwrap(), secret).unwrap();
            for id in ["évt_1", " evt_1", "evt_1 ", "\tevt_1", "evt_1\t"] {
                assert!(
                    matches!(signer.sign(&body, 0, id), Err(SignError::EventId { .. })),
                    "{scheme} {id:?}"
                );
            }
            // Only a scheme that sends the id puts it in a header.
            assert_eq!(
                matches!(
                    signer.sign(&body, 0, "evt\n1"),
                    Err(SignError::InvalidHeader(_))
                ),
                scheme != "hopnow",
                "{scheme}"
            );
            let verifier = Verifier::builder(crate::scheme::by_name(scheme).unwrap())
                .secret("k", secret)
                .clock(|| UNIX_EPOCH)
                .build()
                .unwrap();
            for id in ["evt_1", "evt 1", "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"] {
                let headers = signer.sign(&body, 0, id).unwrap();
                let delivery = verifier.verify(&headers, &body).unwrap();
                if scheme != "hopnow" {
                    assert_eq!(delivery.event_id(), Some(id), "{scheme}");
                }
            }
        }
    }

    /// A custom scheme that records its id as text, with `set_event_id` rather than
    /// `set_event_id_header`.
    struct TextId;

    static SIGNATURE: HeaderName = HeaderName::from_static("x-text-signature");

    impl Scheme for TextId {
        fn name(&self) -> &'static str {
            "text-id"
        }
        fn signed_content(&self) -> &'static str {
            "the body"
        }
        fn parse<'a>(&'a self, delivery: &Delivery<'a>) -> Result<Signed<'a>, SignatureRejection> {
            let mut signed = Signed::new();
            let value = single_header(delivery.headers, &SIGNATURE)?.unwrap_or_default();
            signed.push_signature(decode_hex_tag(value)?);
            signed.set_event_id("evt_text");
            Ok(signed)
        }
        fn sign(&self, secret: &[u8], request: &SignRequest<'_>) -> Result<HeaderMap, SignError> {
            let mut headers = HeaderMap::new();
            let tag = hmac_tag(secret, &[], request.body);
            headers.insert(&SIGNATURE, hex::encode(tag).parse()?);
            Ok(headers)
        }
    }

    /// Each built-in scheme, from its own type or by name, settles its usual delivery
    /// on the fast path (`tests/fast_path.rs` checks that it answers as the general
    /// one).
    #[test]
    fn built_in_schemes_settle_their_usual_deliveries_on_the_fast_path() {
        fn settles<S: Scheme>(scheme: impl Fn() -> S, secret: &str) {
            let body = Bytes::from_static(b"{}");
            let now = 1_700_000_000;
            let name = scheme().name();
            let verifier = Verifier::builder(scheme())
                .secret("k", secret)
                .clock(move || UNIX_EPOCH + Duration::from_secs(now as u64))
                .build()
                .unwrap();
            let fast_path = verifier.fast_path().expect("a built-in scheme");
            assert_eq!(fast_path.name(), name);
            let headers = Signer::new(scheme(), secret)
                .unwrap()
                .sign(&body, now, "evt_1")
                .unwrap();
            let target = Target {
                method: b"POST",
                url: None,
            };
            let usual = fast_path
                .read(&headers, target)
                .expect("the usual delivery");
            match verifier.verify_usual(&usual, &body) {
                FastVerdict::Verified(key, _) => assert_eq!(key.id.as_str(), "k"),
                FastVerdict::Mismatch => panic!("{name}: a mismatch"),
                FastVerdict::Unsettled => panic!("{name}: not settled"),
            }
        }
        const STANDARD_SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
        settles(|| crate::scheme::HopNow, "s");
        settles(|| GitHub, "s");
        settles(|| crate::scheme::Stripe, "s");
        settles(|| crate::scheme::StandardWebhooks, STANDARD_SECRET);
        settles(|| crate::scheme::Slack, "s");
        settles(|| crate::scheme::Shopify, "s");
        // The six above, chosen by name.
        for name in ["hopnow", "github", "stripe", "standard", "slack", "shopify"] {
            let secret = if name == "standard" {
                STANDARD_SECRET
            } else {
                "s"
            };
            settles(|| crate::scheme::by_name(name).unwrap(), secret);
        }
    }

    #[test]
    fn custom_schemes_take_the_general_path() {
        let verifier = Verifier::builder(TextId).secret("k", "s").build().unwrap();
        assert_eq!(verifier.fast_path(), None);
        let boxed: Box<dyn Scheme> = Box::new(TextId);
        let verifier = Verifier::builder(boxed).secret("k", "s").build().unwrap();
        assert_eq!(verifier.fast_path(), None);
    }

    #[test]
    fn an_event_id_set_as_text_still_reaches_the_delivery() {
        let body = Bytes::from_static(b"{}");
        let verifier = Verifier::builder(TextId).secret("k", "s").build().unwrap();
        let headers = Signer::new(TextId, "s")
            .unwrap()
            .sign(&body, 0, "")
            .unwrap();
        let delivery = verifier.verify(&headers, &body).unwrap();
        assert_eq!(delivery.event_id(), Some("evt_text"));
    }
}
