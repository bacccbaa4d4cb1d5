//! The shared signature conformance suite: cases per scheme, positive and negative.
//!
//! The cases live in `conformance/signatures.json` in this crate (embedded as
//! [`JSON`]): the providers' published vectors (each with its `source`) and cases
//! derived from them that a verifier must refuse: a bare `v1,`, a truncated
//! signature, the wrong encoding, conflicting duplicate headers, a timestamp out of
//! tolerance in either direction, the wrong key. Each case names the scheme, the
//! receiver's secrets, the request headers and body, the verifier's clock (`now`) and
//! the expected outcome: accepted with a key id, or refused with a rejection `code`
//! and HTTP status.
//!
//! ```
//! use webhook_testing::conformance::{self, Expect};
//!
//! let cases = conformance::cases();
//! for case in &cases {
//!     case.check().unwrap();
//! }
//! let bare = cases.iter().find(|case| case.name == "standard: bare v1, (svix#1190)").unwrap();
//! assert!(matches!(&bare.expect, Expect::Rejected { code, status: 400 } if code == "malformed_signature"));
//! ```
//!
//! Check your own verifier or receiver against the same file: build the request from
//! [`Case::headers`] and [`Case::body`] and compare with [`Case::expect`]. Cases
//! depend on the clock: give your verifier the case's [`now`](Case::now).

use std::fmt;
use std::time::{Duration, UNIX_EPOCH};

use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use serde::Deserialize;
use webhook_core::{Rejection, VerifiedDelivery};
use webhook_signature::scheme::{self, Encoding, GenericHmac, Scheme};
use webhook_signature::{ConfigError, DEFAULT_TOLERANCE, SignatureRejection, Verifier};

/// The text of `conformance/signatures.json`.
pub const JSON: &str = include_str!("../conformance/signatures.json");

/// Every case of the shipped file, in order.
///
/// # Panics
///
/// Never for the shipped file (a test parses it); see [`parse`] for your own.
pub fn cases() -> Vec<Case> {
    parse(JSON).expect("the shipped conformance file is valid")
}

/// Parses a conformance file in the same format (`{"cases": [...]}`).
pub fn parse(json: &str) -> Result<Vec<Case>, InvalidCase> {
    let file: File = serde_json::from_str(json).map_err(|error| InvalidCase {
        case: None,
        reason: error.to_string(),
    })?;
    for case in &file.cases {
        case.validate()?;
    }
    Ok(file.cases)
}

#[derive(Deserialize)]
struct File {
    cases: Vec<Case>,
}

/// One conformance case.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct Case {
    /// A unique name, starting with the scheme (`"stripe: two t= items"`).
    pub name: String,
    /// The scheme: a name [`scheme::by_name`] knows, or `generic` with [`generic`](Self::generic).
    pub scheme: String,
    /// Where a published vector comes from.
    #[serde(default)]
    pub source: Option<String>,
    /// The configuration of a `generic` scheme.
    #[serde(default)]
    pub generic: Option<GenericConfig>,
    /// The receiver's secrets, in order.
    pub secrets: Vec<CaseSecret>,
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
    /// The replay tolerance in seconds (default 300).
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
        /// The rejection's machine-readable code (`signature_mismatch`).
        code: String,
        /// The HTTP status the layer answers with.
        status: u16,
    },
}

impl Expect {
    /// The HTTP status a receiver answers with: 200 (from the handler) or the
    /// rejection's.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Ok { .. } => StatusCode::OK,
            Self::Rejected { status, .. } => {
                StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
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
        self.scheme_impl()?;
        if let Expect::Rejected { status, .. } = &self.expect {
            StatusCode::from_u16(*status).map_err(|_| self.invalid("invalid status"))?;
        }
        Ok(())
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
    pub fn scheme(&self) -> Box<dyn Scheme> {
        self.scheme_impl().expect("checked when parsed")
    }

    /// A verifier with the case's scheme, secrets, tolerance and a clock frozen at
    /// [`now`](Self::now).
    pub fn verifier(&self) -> Result<Verifier, ConfigError> {
        let mut builder = Verifier::builder(self.scheme());
        for secret in &self.secrets {
            builder = builder.secret(secret.key_id.as_str(), secret.secret.as_str());
        }
        let now = UNIX_EPOCH + Duration::from_secs(self.now.max(0).unsigned_abs());
        builder
            .tolerance(
                self.tolerance
                    .map_or(DEFAULT_TOLERANCE, Duration::from_secs),
            )
            .clock(move || now)
            .build()
    }

    /// Runs the case through [`Verifier::verify`].
    pub fn verify(&self) -> Result<Result<VerifiedDelivery, SignatureRejection>, ConfigError> {
        Ok(self.verifier()?.verify(&self.headers(), &self.body()))
    }

    /// Runs the case and compares the outcome with [`expect`](Self::expect).
    pub fn check(&self) -> Result<(), Mismatch> {
        let outcome = self.verify().map_err(|error| Mismatch {
            case: self.name.clone(),
            detail: format!("the verifier could not be built: {error}"),
        })?;
        self.compare(&outcome).map_err(|detail| Mismatch {
            case: self.name.clone(),
            detail,
        })
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
                if rejection.code() != code || rejection.status().as_u16() != *status {
                    return Err(format!(
                        "rejected with {} `{}` ({rejection}), expected {status} `{code}`",
                        rejection.status().as_u16(),
                        rejection.code()
                    ));
                }
                Ok(())
            }
            (Expect::Rejected { code, status }, Ok(delivery)) => Err(format!(
                "verified with key `{}`, expected {status} `{code}`",
                delivery.key_id()
            )),
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
