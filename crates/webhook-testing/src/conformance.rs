//! The shared signature conformance suite: cases per scheme, positive and negative.
//!
//! Two sets of cases ship with this crate, embedded:
//!
//! - `conformance/signatures.json` ([`JSON`], read by [`cases`]): the built-in schemes'
//!   published vectors (each with its `source`) and cases derived from them that a
//!   verifier must refuse: a bare `v1,`, a truncated signature, the wrong encoding,
//!   conflicting duplicate headers, a timestamp out of tolerance in either direction,
//!   the wrong key. Refusals name the rejection `code` and HTTP status.
//! - `conformance/providers/NAME.json` ([`PROVIDER_FILES`], read by [`providers`]): one
//!   file per provider, with the vectors of the provider's own SDKs and the cases their
//!   recipes compute, including the public keys of asymmetric schemes and the URL and
//!   method of schemes that sign them. Refusals there may leave the code open.
//!
//! Each case names the scheme, the receiver's secrets or public keys, the request
//! (method, URL, headers, body), the verifier's clock (`now`) and the expected
//! outcome: accepted with a key id, or refused.
//!
//! ```
//! use webhook_testing::conformance::{self, Expect};
//!
//! let cases = conformance::cases();
//! for case in &cases {
//!     case.check().unwrap();
//! }
//! let bare = cases.iter().find(|case| case.name == "standard: bare v1, (svix#1190)").unwrap();
//! assert!(matches!(
//!     &bare.expect,
//!     Expect::Rejected { code: Some(code), status: Some(400) } if code == "malformed_signature"
//! ));
//!
//! let zoom = conformance::providers().into_iter().find(|file| file.provider == "zoom").unwrap();
//! assert_eq!(zoom.unsupported(), None);
//! for case in &zoom.cases {
//!     case.check().unwrap();
//! }
//! ```
//!
//! Check your own verifier or receiver against the same files: build the request from
//! [`Case::method`], [`Case::uri`], [`Case::headers`] and [`Case::body`] and compare
//! with [`Case::expect`]. Cases depend on the clock: give your verifier the case's
//! [`now`](Case::now).

use std::fmt;
use std::time::{Duration, UNIX_EPOCH};

use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use serde::Deserialize;
use webhook_core::{Rejection, VerifiedDelivery};
use webhook_signature::scheme::{self, Encoding, GenericHmac, Scheme};
use webhook_signature::{ConfigError, SignatureRejection, Verifier};

/// The text of `conformance/signatures.json`.
pub const JSON: &str = include_str!("../conformance/signatures.json");

/// The provider files, `conformance/providers/NAME.json`, as `(NAME, text)` in name
/// order.
pub const PROVIDER_FILES: &[(&str, &str)] = &[
    (
        "bitbucket",
        include_str!("../conformance/providers/bitbucket.json"),
    ),
    (
        "calendly",
        include_str!("../conformance/providers/calendly.json"),
    ),
    ("clerk", include_str!("../conformance/providers/clerk.json")),
    (
        "coinbase",
        include_str!("../conformance/providers/coinbase.json"),
    ),
    (
        "discord",
        include_str!("../conformance/providers/discord.json"),
    ),
    (
        "dropbox",
        include_str!("../conformance/providers/dropbox.json"),
    ),
    (
        "gitlab",
        include_str!("../conformance/providers/gitlab.json"),
    ),
    (
        "gitlab_signing",
        include_str!("../conformance/providers/gitlab_signing.json"),
    ),
    (
        "hubspot",
        include_str!("../conformance/providers/hubspot.json"),
    ),
    (
        "intercom",
        include_str!("../conformance/providers/intercom.json"),
    ),
    (
        "lemonsqueezy",
        include_str!("../conformance/providers/lemonsqueezy.json"),
    ),
    (
        "linear",
        include_str!("../conformance/providers/linear.json"),
    ),
    (
        "mailgun",
        include_str!("../conformance/providers/mailgun.json"),
    ),
    ("meta", include_str!("../conformance/providers/meta.json")),
    ("mux", include_str!("../conformance/providers/mux.json")),
    (
        "paddle",
        include_str!("../conformance/providers/paddle.json"),
    ),
    (
        "resend",
        include_str!("../conformance/providers/resend.json"),
    ),
    (
        "sendgrid",
        include_str!("../conformance/providers/sendgrid.json"),
    ),
    (
        "sentry",
        include_str!("../conformance/providers/sentry.json"),
    ),
    (
        "square",
        include_str!("../conformance/providers/square.json"),
    ),
    (
        "standard_v1a",
        include_str!("../conformance/providers/standard_v1a.json"),
    ),
    (
        "twilio",
        include_str!("../conformance/providers/twilio.json"),
    ),
    (
        "twitch",
        include_str!("../conformance/providers/twitch.json"),
    ),
    (
        "twitter",
        include_str!("../conformance/providers/twitter.json"),
    ),
    (
        "typeform",
        include_str!("../conformance/providers/typeform.json"),
    ),
    (
        "vercel",
        include_str!("../conformance/providers/vercel.json"),
    ),
    (
        "workos",
        include_str!("../conformance/providers/workos.json"),
    ),
    ("zoom", include_str!("../conformance/providers/zoom.json")),
];

/// The provider files whose cases run against a scheme of another name: GitLab's
/// signed webhooks under `gitlab`, Standard Webhooks' asymmetric `v1a` signatures
/// under `standard`. Every other file runs against the scheme of its own name.
const SCHEME_OF: &[(&str, &str)] = &[("gitlab_signing", "gitlab"), ("standard_v1a", "standard")];

/// Every case of `conformance/signatures.json`, in order.
///
/// # Panics
///
/// Never for the shipped file (a test parses it); see [`parse`] for your own.
pub fn cases() -> Vec<Case> {
    parse(JSON).expect("the shipped conformance file is valid")
}

/// Parses a conformance file in the format of `signatures.json` (`{"cases": [...]}`),
/// where every case names a scheme this crate knows.
pub fn parse(json: &str) -> Result<Vec<Case>, InvalidCase> {
    let file: File = serde_json::from_str(json).map_err(|error| InvalidCase {
        case: None,
        reason: error.to_string(),
    })?;
    for case in &file.cases {
        case.validate()?;
        case.scheme_impl()?;
    }
    Ok(file.cases)
}

/// Every provider file of [`PROVIDER_FILES`], in name order.
///
/// # Panics
///
/// Never for the shipped files (a test parses them); see [`parse_provider`] for your
/// own.
pub fn providers() -> Vec<ProviderCases> {
    PROVIDER_FILES
        .iter()
        .map(|(name, json)| {
            parse_provider(json).unwrap_or_else(|error| {
                panic!("the shipped provider file {name} is valid: {error}")
            })
        })
        .collect()
}

/// Parses a provider file (`{"provider", "spec", "cases"}`). Its cases run against the
/// scheme each names, else the one [`by_name`](scheme::by_name) finds for the provider;
/// a scheme this crate does not know is reported by
/// [`ProviderCases::unsupported`], not refused here.
pub fn parse_provider(json: &str) -> Result<ProviderCases, InvalidCase> {
    let file: ProviderFile = serde_json::from_str(json).map_err(|error| InvalidCase {
        case: None,
        reason: error.to_string(),
    })?;
    let scheme = SCHEME_OF
        .iter()
        .find(|(provider, _)| *provider == file.provider)
        .map_or(file.provider.as_str(), |(_, scheme)| scheme)
        .to_owned();
    let mut cases = file.cases;
    for case in &mut cases {
        if case.scheme.is_empty() {
            case.scheme.clone_from(&scheme);
        }
        case.validate()?;
    }
    Ok(ProviderCases {
        provider: file.provider,
        scheme,
        spec: file.spec,
        cases,
    })
}

#[derive(Deserialize)]
struct File {
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct ProviderFile {
    provider: String,
    #[serde(default)]
    spec: serde_json::Value,
    cases: Vec<Case>,
}

/// One provider's conformance file: `conformance/providers/NAME.json`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ProviderCases {
    /// The provider, as the file names it (`"zoom"`, `"gitlab_signing"`).
    pub provider: String,
    /// The scheme its cases run against unless a case names another (`"gitlab"` for
    /// `gitlab_signing`).
    pub scheme: String,
    /// What the file says of the scheme: where it was read, the header layout, the
    /// signed content, the tolerance, the key form and notes.
    pub spec: serde_json::Value,
    /// The cases, in order.
    pub cases: Vec<Case>,
}

impl ProviderCases {
    /// Why this crate cannot run the cases, or `None` when it can: a case's scheme is
    /// not one [`by_name`](scheme::by_name) knows, or it reads none of the case's
    /// public keys (a scheme that verifies with shared secrets only).
    pub fn unsupported(&self) -> Option<String> {
        for case in &self.cases {
            let Some(scheme) = scheme::by_name(&case.scheme) else {
                return Some(format!("no built-in scheme `{}`", case.scheme));
            };
            for key in &case.public_keys {
                if let Err(error) = scheme.decode_public_key(&key.public_key) {
                    return Some(format!(
                        "scheme `{}` reads no public key of case {:?}: {error}",
                        case.scheme, case.name
                    ));
                }
            }
        }
        None
    }
}

/// One conformance case.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct Case {
    /// A unique name, starting with the scheme or provider (`"stripe: two t= items"`).
    pub name: String,
    /// The scheme: a name [`scheme::by_name`] knows, or `generic` with
    /// [`generic`](Self::generic). In a provider file it defaults to the file's
    /// [`scheme`](ProviderCases::scheme).
    #[serde(default)]
    pub scheme: String,
    /// Where a published vector comes from.
    #[serde(default)]
    pub source: Option<String>,
    /// The configuration of a `generic` scheme.
    #[serde(default)]
    pub generic: Option<GenericConfig>,
    /// The receiver's secrets, in order.
    #[serde(default)]
    pub secrets: Vec<CaseSecret>,
    /// The receiver's public keys, for schemes with asymmetric signatures, in order
    /// after the secrets.
    #[serde(default)]
    pub public_keys: Vec<CasePublicKey>,
    /// The sender's private key, where the case was signed here with a key pair.
    #[serde(default)]
    pub private_key: Option<String>,
    /// The request method (default `POST`).
    #[serde(default)]
    method: Option<String>,
    /// The URL the provider called, for schemes that sign it.
    #[serde(default)]
    pub url: Option<String>,
    /// The request headers as `[name, value]` pairs; a name may repeat.
    pub headers: Vec<(String, String)>,
    /// The body as text.
    #[serde(default)]
    body: Option<String>,
    /// The body as base64, for bytes that are not UTF-8.
    #[serde(default)]
    body_base64: Option<String>,
    /// The verifier's clock, in Unix seconds.
    pub now: i64,
    /// The replay tolerance in seconds (default: the scheme's own,
    /// [`Scheme::default_tolerance`]).
    #[serde(default)]
    pub tolerance: Option<u64>,
    /// What the verifier must do.
    pub expect: Expect,
}

/// A receiver's secret in a [`Case`]. These are published test values.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct CaseSecret {
    /// The key id the verifier reports when this secret matches.
    pub key_id: String,
    /// The secret, as a user would configure it.
    pub secret: String,
}

/// A receiver's public key in a [`Case`].
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct CasePublicKey {
    /// The key id the verifier reports when this key verifies.
    pub key_id: String,
    /// The public key, in the form its provider shows it.
    pub public_key: String,
}

/// The configuration of a `generic` case's [`GenericHmac`].
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct GenericConfig {
    /// The signature header.
    pub header: String,
    /// Text before the signature (`sha256=`).
    #[serde(default)]
    pub prefix: String,
    /// `hex` (default) or `base64`.
    #[serde(default)]
    pub encoding: Option<String>,
    /// The header holding the signed timestamp.
    #[serde(default)]
    pub timestamp_header: Option<String>,
    /// The header holding the event id.
    #[serde(default)]
    pub id_header: Option<String>,
    /// The signed-content template over `{id}`, `{timestamp}` and `{body}`.
    #[serde(default)]
    pub signed_content: Option<String>,
}

/// The expected outcome of a [`Case`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Expect {
    /// Verified.
    Ok {
        /// The key id that matched.
        key_id: String,
        /// The event id the scheme carries, when the case says.
        #[serde(default)]
        event_id: Option<String>,
        /// The signed timestamp, when the case says.
        #[serde(default)]
        timestamp: Option<i64>,
    },
    /// Refused.
    Rejected {
        /// The rejection's machine-readable code (`signature_mismatch`), when the case
        /// says.
        #[serde(default)]
        code: Option<String>,
        /// The HTTP status the layer answers with, when the case says.
        #[serde(default)]
        status: Option<u16>,
    },
}

impl Expect {
    /// The HTTP status a receiver answers with: 200 (from the handler) or the
    /// rejection's, when the case names it.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Ok { .. } => Some(StatusCode::OK),
            Self::Rejected { status, .. } => {
                status.and_then(|status| StatusCode::from_u16(status).ok())
            }
        }
    }
}

impl Case {
    fn invalid(&self, reason: impl Into<String>) -> InvalidCase {
        InvalidCase {
            case: Some(self.name.clone()),
            reason: reason.into(),
        }
    }

    /// Checks everything but the scheme: a provider file may name one this crate
    /// does not know ([`ProviderCases::unsupported`]).
    fn validate(&self) -> Result<(), InvalidCase> {
        match (&self.body, &self.body_base64) {
            (Some(_), None) => {}
            (None, Some(encoded)) => {
                base64::engine::general_purpose::STANDARD
                    .decode(encoded)
                    .map_err(|_| self.invalid("`body_base64` is not base64"))?;
            }
            _ => return Err(self.invalid("give exactly one of `body` and `body_base64`")),
        }
        self.try_headers()?;
        if let Some(method) = &self.method {
            Method::from_bytes(method.as_bytes())
                .map_err(|_| self.invalid(format!("invalid method {method:?}")))?;
        }
        if let Some(url) = &self.url {
            let parsed: Uri = url
                .parse()
                .map_err(|_| self.invalid(format!("invalid url {url:?}")))?;
            if parsed.scheme().is_none() || parsed.authority().is_none() {
                return Err(self.invalid(format!("the url {url:?} is not absolute")));
            }
        }
        if let Expect::Rejected {
            status: Some(status),
            ..
        } = &self.expect
        {
            StatusCode::from_u16(*status).map_err(|_| self.invalid("invalid status"))?;
        }
        Ok(())
    }

    /// The request method: `POST` unless the case says.
    pub fn method(&self) -> Method {
        self.method
            .as_deref()
            .and_then(|method| Method::from_bytes(method.as_bytes()).ok())
            .unwrap_or(Method::POST)
    }

    /// The request target as a server sees it: the [`url`](Self::url)'s path and
    /// query, when the case has a URL.
    pub fn uri(&self) -> Option<Uri> {
        let url: Uri = self.url.as_deref()?.parse().ok()?;
        let path = url.path_and_query().map_or("/", |path| path.as_str());
        path.parse().ok()
    }

    /// What a receiver configures as its
    /// [public URL](webhook_signature::VerifierBuilder::public_url): the scheme and
    /// authority of the [`url`](Self::url), when the case has one.
    pub fn public_url(&self) -> Option<String> {
        let url: Uri = self.url.as_deref()?.parse().ok()?;
        Some(format!("{}://{}", url.scheme()?, url.authority()?))
    }

    /// The body bytes.
    pub fn body(&self) -> Bytes {
        match (&self.body, &self.body_base64) {
            (Some(text), _) => Bytes::from(text.clone()),
            (None, Some(encoded)) => base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .map(Bytes::from)
                .expect("checked when parsed"),
            (None, None) => Bytes::new(),
        }
    }

    fn try_headers(&self) -> Result<HeaderMap, InvalidCase> {
        let mut headers = HeaderMap::new();
        for (name, value) in &self.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| self.invalid(format!("invalid header name {name:?}")))?;
            let value = HeaderValue::from_str(value)
                .map_err(|_| self.invalid(format!("invalid value for `{name}`")))?;
            headers.append(name, value);
        }
        Ok(headers)
    }

    /// The request headers, repeated names kept in order.
    pub fn headers(&self) -> HeaderMap {
        self.try_headers().expect("checked when parsed")
    }

    fn scheme_impl(&self) -> Result<Box<dyn Scheme>, InvalidCase> {
        if self.scheme != "generic" {
            return scheme::by_name(&self.scheme)
                .ok_or_else(|| self.invalid(format!("unknown scheme `{}`", self.scheme)));
        }
        let config = self
            .generic
            .as_ref()
            .ok_or_else(|| self.invalid("a `generic` case needs `generic`"))?;
        let name = |text: &str| {
            HeaderName::from_bytes(text.as_bytes())
                .map_err(|_| self.invalid(format!("invalid header name {text:?}")))
        };
        let mut builder =
            GenericHmac::builder("generic", name(&config.header)?).prefix(&config.prefix);
        builder = match config.encoding.as_deref() {
            None | Some("hex") => builder.encoding(Encoding::Hex),
            Some("base64") => builder.encoding(Encoding::Base64),
            Some(other) => return Err(self.invalid(format!("unknown encoding `{other}`"))),
        };
        if let Some(header) = &config.timestamp_header {
            builder = builder.timestamp_header(name(header)?);
        }
        if let Some(header) = &config.id_header {
            builder = builder.id_header(name(header)?);
        }
        if let Some(template) = &config.signed_content {
            builder = builder.signed_content(template);
        }
        let scheme = builder
            .build()
            .map_err(|error| self.invalid(error.to_string()))?;
        Ok(Box::new(scheme))
    }

    /// The case's scheme.
    ///
    /// # Panics
    ///
    /// When this crate does not know it: never for a case of [`cases`], nor of a
    /// provider file that is not [`unsupported`](ProviderCases::unsupported).
    pub fn scheme(&self) -> Box<dyn Scheme> {
        self.scheme_impl().unwrap_or_else(|error| panic!("{error}"))
    }

    /// A verifier with the case's scheme, secrets then public keys, public URL,
    /// tolerance (the scheme's own unless the case says) and a clock frozen at
    /// [`now`](Self::now).
    ///
    /// # Panics
    ///
    /// As [`scheme`](Self::scheme).
    pub fn verifier(&self) -> Result<Verifier, ConfigError> {
        let mut builder = Verifier::builder(self.scheme());
        for secret in &self.secrets {
            builder = builder.secret(secret.key_id.as_str(), secret.secret.as_str());
        }
        for key in &self.public_keys {
            builder = builder.public_key(key.key_id.as_str(), key.public_key.as_str());
        }
        if let Some(url) = self.public_url() {
            builder = builder.public_url(url);
        }
        if let Some(seconds) = self.tolerance {
            builder = builder.tolerance(Duration::from_secs(seconds));
        }
        let now = UNIX_EPOCH + Duration::from_secs(self.now.max(0).unsigned_abs());
        builder.clock(move || now).build()
    }

    /// Runs the case through [`Verifier::verify_request`]: its method, URI, headers
    /// and body. The verified delivery's event id then follows the rule the
    /// signature layer applies ([`VerifiedDelivery::with_envelope`]): the scheme's id,
    /// else the first of its provider's envelope id members with a value.
    ///
    /// # Panics
    ///
    /// As [`scheme`](Self::scheme).
    pub fn verify(&self) -> Result<Result<VerifiedDelivery, SignatureRejection>, ConfigError> {
        let verifier = self.verifier()?;
        let headers = self.headers();
        Ok(verifier
            .verify_request(&self.method(), self.uri().as_ref(), &headers, &self.body())
            .map(|delivery| delivery.with_envelope(verifier.scheme().envelope(), &headers)))
    }

    /// Runs the case and compares the outcome with [`expect`](Self::expect). A scheme
    /// this crate does not know is a mismatch.
    pub fn check(&self) -> Result<(), Mismatch> {
        let mismatch = |detail: String| Mismatch {
            case: self.name.clone(),
            detail,
        };
        self.scheme_impl().map_err(|error| mismatch(error.reason))?;
        let outcome = self
            .verify()
            .map_err(|error| mismatch(format!("the verifier could not be built: {error}")))?;
        self.compare(&outcome).map_err(mismatch)
    }

    /// Compares an outcome (from [`verify`](Self::verify), or your own verifier) with
    /// [`expect`](Self::expect); `Err` says how it differs.
    pub fn compare(
        &self,
        outcome: &Result<VerifiedDelivery, SignatureRejection>,
    ) -> Result<(), String> {
        match (&self.expect, outcome) {
            (
                Expect::Ok {
                    key_id,
                    event_id,
                    timestamp,
                },
                Ok(delivery),
            ) => {
                if delivery.key_id().as_str() != key_id {
                    return Err(format!(
                        "verified with key `{}`, expected `{key_id}`",
                        delivery.key_id()
                    ));
                }
                if event_id.is_some() && delivery.event_id() != event_id.as_deref() {
                    return Err(format!(
                        "event id {:?}, expected {event_id:?}",
                        delivery.event_id()
                    ));
                }
                if timestamp.is_some() && delivery.timestamp() != *timestamp {
                    return Err(format!(
                        "timestamp {:?}, expected {timestamp:?}",
                        delivery.timestamp()
                    ));
                }
                if delivery.body() != &self.body() {
                    return Err("the verified body differs from the case's".to_owned());
                }
                Ok(())
            }
            (Expect::Ok { .. }, Err(rejection)) => Err(format!(
                "rejected with {} `{}` ({rejection}), expected ok",
                rejection.status().as_u16(),
                rejection.code()
            )),
            (Expect::Rejected { code, status }, Err(rejection)) => {
                let code_differs = code.as_deref().is_some_and(|code| rejection.code() != code);
                let status_differs =
                    status.is_some_and(|status| rejection.status().as_u16() != status);
                if code_differs || status_differs {
                    return Err(format!(
                        "rejected with {} `{}` ({rejection}), expected {}",
                        rejection.status().as_u16(),
                        rejection.code(),
                        self.expect
                    ));
                }
                Ok(())
            }
            (Expect::Rejected { .. }, Ok(delivery)) => Err(format!(
                "verified with key `{}`, expected {}",
                delivery.key_id(),
                self.expect
            )),
        }
    }
}

impl fmt::Display for Expect {
    /// `ok (key k1)`, or a refusal as `401 `signature_mismatch``, `a refusal` when the
    /// case names neither status nor code.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ok { key_id, .. } => write!(f, "ok (key `{key_id}`)"),
            Self::Rejected { code, status } => match (status, code) {
                (Some(status), Some(code)) => write!(f, "{status} `{code}`"),
                (Some(status), None) => write!(f, "{status}"),
                (None, Some(code)) => write!(f, "`{code}`"),
                (None, None) => f.write_str("a refusal"),
            },
        }
    }
}

/// A conformance file, or one of its cases, is not valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidCase {
    case: Option<String>,
    reason: String,
}

impl fmt::Display for InvalidCase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.case {
            Some(case) => write!(f, "conformance case {case:?}: {}", self.reason),
            None => write!(f, "conformance file: {}", self.reason),
        }
    }
}

impl std::error::Error for InvalidCase {}

/// A case whose outcome is not the expected one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// The case's name.
    pub case: String,
    /// How the outcome differs.
    pub detail: String,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.case, self.detail)
    }
}

impl std::error::Error for Mismatch {}
