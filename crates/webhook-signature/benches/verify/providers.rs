//! Every provider in [`PROVIDERS`] against two baselines, `raw` and `user`, timed in
//! turns (see [`interleave3`]) at 256 B, 4 KiB and 64 KiB.
//!
//! `ours` is `Verifier::verify_request` (a `POST` to [`PATH`], the verifier built from
//! the provider's entry in the table, as a receiver configured by name builds it, with
//! a [`BASE`] public URL for the providers that sign the URL) on headers made by
//! `Signer`. `raw` does what any verifier of the same scheme must do, and nothing
//! else:
//!
//! - HMAC: the `hmac` crate's HMAC, keyed once and cloned per message, over exactly
//!   the provider's signed content (written out below for each provider, and checked
//!   against the tag the signer sent), then `verify_slice`, a constant-time compare
//!   of the tag;
//! - Ed25519 (Discord, Standard Webhooks `v1a`): `ed25519_dalek::VerifyingKey::verify`
//!   of the signed content;
//! - ECDSA P-256 (SendGrid): `p256::ecdsa::VerifyingKey::verify` of the signed content,
//!   the signature parsed beforehand;
//! - GitLab's secret token, which signs nothing: a constant-time compare of the token.
//!
//! Where the signed content is not `prefix || body || suffix`, `raw` hashes the
//! content already assembled: Twilio's URL and sorted form parameters (the body is a
//! form of the size), and Mailgun's `<timestamp><token>` (the signature is inside the
//! body). Finding that content in the body is part of `ours` only.
//!
//! `user` is the same check as the providers' docs show it, and as a receiver writes
//! it by hand: the HMAC keyed per message (`Hmac::<Sha>::new_from_slice(secret)`),
//! `update` over the same signed content, then the received signature decoded from
//! its text into a new `Vec` (`hex::decode`, or `base64`'s `decode`) and
//! `verify_slice`; for Ed25519 and P-256 the signature decoded from its text and
//! parsed, then verified. Where the provider's SDK reads the body before it can
//! check, `user` reads it as the SDK does ([`Reads`]): Linear's and Mailgun's parse
//! the JSON document (for `webhookTimestamp`, for the `signature` object), Twilio's
//! `RequestValidator` joins the form's decoded, sorted parameters after the URL. It
//! skips what `raw` skips (reading the header, finding the signature in it); the
//! GitLab secret token's is `raw`'s. The three routines run in the same rounds (see
//! [`interleave3`]).
//!
//! A second table times the `webhook-verify` crate's `verify` against `ours` on the
//! same deliveries, for the providers both verify.

use std::hint::black_box;
use std::time::{Duration, Instant, UNIX_EPOCH};

use base64::Engine as _;
use bytes::Bytes;
use ed25519_dalek::Verifier as _;
use hmac::{Hmac, KeyInit, Mac};
use http::{HeaderMap, Method, Uri};
use sha1::Sha1;
use sha2::Sha256;
use subtle::ConstantTimeEq as _;
use webhook_core::VerifiedDelivery;
use webhook_signature::scheme::{Algorithm, Mailgun, PROVIDERS, Provider, SignRequest};
use webhook_signature::{Signer, Verifier};

use super::{EVENT_ID, Interleaved, PLAIN_SECRET, STANDARD_SECRET, interleave, payload_with};

/// The sizes of the table's columns.
const SIZES: [(usize, &str); 3] = [(256, "256 B"), (4 << 10, "4 KiB"), (64 << 10, "64 KiB")];

/// The signed timestamp, and the verifier's clock.
const NOW: i64 = 1_700_000_000;
/// The public URL of the verifiers of providers that sign the URL.
const BASE: &str = "https://hooks.example.com";
/// The path and query every delivery is posted to.
const PATH: &str = "/webhooks/in?source=bench";
/// An Ed25519 private key's seed (RFC 8032's first test key).
const ED25519_SEED: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
/// An ECDSA P-256 private scalar (RFC 6979's P-256 key).
const P256_SCALAR: &str = "c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b629b14dde09e9a0cf9";
/// GitLab's secret token, sent as is.
const GITLAB_TOKEN: &str = "glpat-bench-5WbX5kEWLlfzsGNjH64I8lOOqUB6e8FH";
/// Mailgun's per-delivery token.
const MAILGUN_TOKEN: &str = "9a9a57dcf5c3da5ec4bcf4d4e10ac6d7d57c2f2b0f2e5b6d4c";

/// Rounds of raw and ours per cell; about 50 µs a chunk (one call when a call takes
/// longer), so a cell of the HMAC providers takes about 0.2 s.
const ROUNDS: usize = 2_000;
/// The time of one chunk.
const CHUNK: Duration = Duration::from_micros(50);

/// The bound of the table for `algorithm` at `size`: ours / raw.
fn bound(algorithm: Algorithm, size: usize) -> f64 {
    match algorithm {
        Algorithm::Ed25519 | Algorithm::EcdsaP256Sha256 => 1.05,
        _ if size <= 256 => 1.00,
        _ => 1.03,
    }
}

/// What `raw` computes.
enum Raw {
    HmacSha1(RawMac<Hmac<Sha1>>),
    HmacSha256(RawMac<Hmac<Sha256>>),
    Ed25519 {
        key: ed25519_dalek::VerifyingKey,
        signature: ed25519_dalek::Signature,
        message: Vec<u8>,
        received: Received,
    },
    P256 {
        key: p256::ecdsa::VerifyingKey,
        signature: p256::ecdsa::Signature,
        message: Vec<u8>,
        received: Received,
    },
    /// A token compared with the configured one.
    Token {
        presented: Vec<u8>,
        expected: Vec<u8>,
    },
}

/// A keyed HMAC state, the signed content in its three parts, and the expected tag;
/// for `user`, the key and the signature's text as received.
struct RawMac<M> {
    keyed: M,
    key: Vec<u8>,
    content: Content,
    expected: Vec<u8>,
    received: Received,
    reads: Reads,
}

/// What `user` reads off the body before its check, as the provider's SDK does it.
enum Reads {
    /// Nothing: the signed content is the body (and headers).
    Nothing,
    /// The whole JSON document: Linear's SDK parses the body for its
    /// `webhookTimestamp`, Mailgun's receivers for the `signature` object.
    Json(Bytes),
    /// The form's parameters, decoded and sorted, then joined after the URL: Twilio's
    /// `RequestValidator`, given the parameters its web framework parsed.
    Form { url: String, body: Bytes },
}

/// A signature as it travels, for `user` to decode.
enum Received {
    Hex(String),
    Base64(String),
}

impl Received {
    /// The signature `expected`, in the encoding the delivery carries it in (in
    /// `headers`, or in `body` for Mailgun).
    fn find(label: &str, headers: &HeaderMap, body: &[u8], expected: &[u8]) -> Self {
        let hex = hex::encode(expected);
        let b64 = base64::engine::general_purpose::STANDARD.encode(expected);
        let carries = |needle: &str| {
            let found = |text: &[u8]| {
                text.windows(needle.len())
                    .any(|window| window == needle.as_bytes())
            };
            headers.values().any(|value| found(value.as_bytes())) || found(body)
        };
        if carries(&hex) {
            Self::Hex(hex)
        } else if carries(&b64) {
            Self::Base64(b64)
        } else {
            panic!("{label}: the signature is neither in hex nor in base64")
        }
    }

    /// Decoded as a receiver decodes it: into a new vector.
    #[inline]
    fn decode(&self) -> Vec<u8> {
        match self {
            Self::Hex(text) => hex::decode(black_box(text)).expect("hex"),
            Self::Base64(text) => base64::engine::general_purpose::STANDARD
                .decode(black_box(text))
                .expect("base64"),
        }
    }
}

/// Signed content: `prefix || middle || suffix`, where `middle` is the body or what
/// the provider signs in its place.
struct Content {
    prefix: Vec<u8>,
    middle: Bytes,
    suffix: Vec<u8>,
}

impl Content {
    fn joined(&self) -> Vec<u8> {
        [&self.prefix[..], &self.middle, &self.suffix].concat()
    }
}

impl<M: Mac + KeyInit + Clone> RawMac<M> {
    /// `received` reads the signature's text off the delivery, given the tag.
    fn new(key: &[u8], content: Content, received: impl FnOnce(&[u8]) -> Received) -> Self {
        let keyed = <M as KeyInit>::new_from_slice(key).expect("any key length");
        let mut mac = keyed.clone();
        mac.update(&content.joined());
        let expected = mac.finalize().into_bytes().to_vec();
        Self {
            keyed,
            key: key.to_vec(),
            content,
            received: received(&expected),
            expected,
            reads: Reads::Nothing,
        }
    }

    /// What `user` reads off the body first.
    fn reading(mut self, reads: Reads) -> Self {
        self.reads = reads;
        self
    }

    /// As a receiver writes it: keyed per message, the received text decoded.
    #[inline]
    fn check_as_user(&self) {
        let mut mac = <M as KeyInit>::new_from_slice(black_box(&self.key)).expect("any key length");
        match &self.reads {
            Reads::Nothing => {}
            Reads::Json(body) => {
                let document: serde_json::Value =
                    serde_json::from_slice(black_box(body)).expect("JSON");
                black_box(&document);
            }
            Reads::Form { url, body } => {
                mac.update(&twilio_content(black_box(url), black_box(body)));
                assert!(mac.verify_slice(&self.received.decode()).is_ok());
                return;
            }
        }
        mac.update(black_box(&self.content.prefix));
        mac.update(black_box(&self.content.middle));
        mac.update(black_box(&self.content.suffix));
        assert!(mac.verify_slice(&self.received.decode()).is_ok());
    }

    #[inline]
    fn check(&self) {
        let mut mac = black_box(&self.keyed).clone();
        mac.update(black_box(&self.content.prefix));
        mac.update(black_box(&self.content.middle));
        mac.update(black_box(&self.content.suffix));
        assert!(mac.verify_slice(black_box(&self.expected)).is_ok());
    }
}

impl Raw {
    #[inline]
    fn check(&self) {
        match self {
            Self::HmacSha1(mac) => mac.check(),
            Self::HmacSha256(mac) => mac.check(),
            Self::Ed25519 {
                key,
                signature,
                message,
                ..
            } => assert!(
                black_box(key)
                    .verify(black_box(message), black_box(signature))
                    .is_ok()
            ),
            Self::P256 {
                key,
                signature,
                message,
                ..
            } => assert!(
                black_box(key)
                    .verify(black_box(message), black_box(signature))
                    .is_ok()
            ),
            Self::Token {
                presented,
                expected,
            } => assert!(bool::from(black_box(presented).ct_eq(black_box(expected)))),
        }
    }

    /// The same check as a receiver writes it (see the module's docs).
    #[inline]
    fn check_as_user(&self) {
        match self {
            Self::HmacSha1(mac) => mac.check_as_user(),
            Self::HmacSha256(mac) => mac.check_as_user(),
            Self::Ed25519 {
                key,
                message,
                received,
                ..
            } => {
                let signature =
                    ed25519_dalek::Signature::from_slice(&received.decode()).expect("64 bytes");
                assert!(
                    black_box(key)
                        .verify(black_box(message), &signature)
                        .is_ok()
                );
            }
            Self::P256 {
                key,
                message,
                received,
                ..
            } => {
                let signature = p256::ecdsa::Signature::from_der(&received.decode()).expect("DER");
                assert!(
                    black_box(key)
                        .verify(black_box(message), &signature)
                        .is_ok()
                );
            }
            Self::Token { .. } => self.check(),
        }
    }

    /// The signature `raw` expects, for the check that the signer sent it.
    fn signature(&self) -> Vec<u8> {
        match self {
            Self::HmacSha1(mac) => mac.expected.clone(),
            Self::HmacSha256(mac) => mac.expected.clone(),
            Self::Ed25519 { signature, .. } => signature.to_bytes().to_vec(),
            Self::P256 { signature, .. } => signature.to_der().as_bytes().to_vec(),
            Self::Token { presented, .. } => presented.clone(),
        }
    }
}

/// One row of the table at one size.
struct Case {
    /// The provider's name, and the variant where a provider has two.
    label: String,
    algorithm: Algorithm,
    verifier: Verifier,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
    raw: Raw,
}

impl Case {
    #[inline]
    fn ours(&self) -> VerifiedDelivery {
        self.verifier
            .verify_request(
                &Method::POST,
                Some(black_box(&self.uri)),
                black_box(&self.headers),
                black_box(&self.body),
            )
            .expect("verifies")
    }
}

/// How a row's delivery is signed.
enum Key {
    /// A shared secret, as the provider shows it.
    Secret(&'static str),
    /// An Ed25519 private key (hex seed).
    Ed25519,
    /// An ECDSA P-256 private key (hex scalar).
    P256,
}

/// One way a provider signs, for [`case`].
struct Row {
    /// The provider's name, and the variant where a provider has two.
    label: String,
    key: Key,
    body: Bytes,
    /// The signed content before the body.
    prefix: String,
    /// The signed content after the body.
    suffix: String,
}

/// The rows of `provider` at `size`: one, or two for a provider with two ways to sign
/// (Standard Webhooks' `v1` and `v1a`, GitLab's secret token and signing token).
fn cases(provider: &Provider, size: usize) -> Vec<Case> {
    let url = format!("{BASE}{PATH}");
    let millis = (NOW * 1000).to_string();
    let body = || payload_with(size, "", "");
    // The usual row: the provider's name, a shared secret, and what is signed before
    // the body. A member a provider reads from the body is where it sends it.
    let row = |prefix: String, body: Bytes| Row {
        label: provider.name.into(),
        key: Key::Secret(PLAIN_SECRET),
        body,
        prefix,
        suffix: String::new(),
    };
    let rows = match provider.name {
        "hopnow" | "github" | "shopify" | "intercom" | "bitbucket" | "lemonsqueezy" | "vercel"
        | "sentry" | "meta" | "twitter" | "dropbox" => vec![row(String::new(), body())],
        "stripe" | "calendly" | "mux" => vec![row(format!("{NOW}."), body())],
        "slack" | "zoom" => vec![row(format!("v0:{NOW}:"), body())],
        "standard" => vec![
            Row {
                key: Key::Secret(STANDARD_SECRET),
                ..row(format!("{EVENT_ID}.{NOW}."), body())
            },
            Row {
                label: "standard (v1a)".into(),
                key: Key::Ed25519,
                ..row(format!("{EVENT_ID}.{NOW}."), body())
            },
        ],
        "paddle" => vec![row(
            format!("{NOW}:"),
            payload_with(size, r#""event_id":"evt_01hv8x2acma2gz2tn4ybcx1w2d","#, ""),
        )],
        "linear" => vec![row(
            String::new(),
            payload_with(size, "", &format!(r#","webhookTimestamp":{millis}"#)),
        )],
        "typeform" => vec![row(
            String::new(),
            payload_with(size, r#""event_id":"01HV8X2ACMA2GZ2TN4YBCX1W2D","#, ""),
        )],
        "coinbase" => vec![row(
            String::new(),
            payload_with(
                size,
                r#""event":{"id":"24934862-5f8a-4a5d-9b4b-5d8f2a0b1c3d","type":"charge:confirmed"},"#,
                "",
            ),
        )],
        "workos" => vec![row(format!("{millis}."), body())],
        "twitch" => {
            let time = humantime::format_rfc3339_seconds(UNIX_EPOCH + secs(NOW));
            vec![row(format!("{EVENT_ID}{time}"), body())]
        }
        "square" => vec![row(
            url.clone(),
            payload_with(
                size,
                r#""event_id":"6a8f5f28-54a1-4eb0-a98a-3111513fd4fc","#,
                "",
            ),
        )],
        "hubspot" => vec![Row {
            suffix: millis,
            ..row(format!("POST{url}"), body())
        }],
        "discord" => vec![Row {
            key: Key::Ed25519,
            ..row(NOW.to_string(), body())
        }],
        "sendgrid" => vec![Row {
            key: Key::P256,
            ..row(NOW.to_string(), body())
        }],
        // Both sign something other than the body: see `case`.
        "twilio" => vec![row(String::new(), form_payload(size))],
        "mailgun" => vec![row(String::new(), mailgun_payload(size))],
        "gitlab" => vec![
            Row {
                label: "gitlab (secret token)".into(),
                key: Key::Secret(GITLAB_TOKEN),
                ..row(String::new(), body())
            },
            Row {
                label: "gitlab (signing token)".into(),
                key: Key::Secret(STANDARD_SECRET),
                ..row(format!("{EVENT_ID}.{NOW}."), body())
            },
        ],
        other => panic!("no raw baseline for provider `{other}`: write out its signed content"),
    };
    rows.into_iter()
        .map(|row| case(provider, row, &url))
        .collect()
}

fn secs(unix: i64) -> Duration {
    Duration::from_secs(unix.unsigned_abs())
}

/// One row: signs its body as the provider does, builds the verifier, and the raw
/// baseline over `prefix || body || suffix` (or what the provider signs instead).
fn case(provider: &Provider, row: Row, url: &str) -> Case {
    let Row {
        label,
        key,
        body,
        prefix,
        suffix,
    } = row;
    let (prefix, suffix) = (prefix.into_bytes(), suffix.into_bytes());
    let scheme = (provider.scheme)();
    let signs_url = scheme.signs_url();
    let request = SignRequest::new(&body, NOW, EVENT_ID).with_url(url);
    let clock = || UNIX_EPOCH + secs(NOW);
    let builder = Verifier::builder((provider.scheme)()).clock(clock);
    let builder = if signs_url {
        builder.public_url(BASE)
    } else {
        builder
    };
    let content = |middle: Bytes| Content {
        prefix,
        middle,
        suffix,
    };
    let (headers, verifier, raw) = match &key {
        Key::Secret(secret) => {
            let decoded = scheme.decode_secret(secret).expect("valid secret");
            let headers = if provider.name == "mailgun" {
                HeaderMap::new()
            } else {
                Signer::new((provider.scheme)(), secret)
                    .expect("valid secret")
                    .sign_request(&request)
                    .expect("signs")
            };
            let verifier = builder
                .secret("current", *secret)
                .build()
                .expect("valid verifier");
            let received = |tag: &[u8]| Received::find(&label, &headers, &body, tag);
            let raw = match (provider.name, label.as_str()) {
                ("gitlab", "gitlab (secret token)") => Raw::Token {
                    presented: headers["x-gitlab-token"].as_bytes().to_vec(),
                    expected: decoded,
                },
                ("twilio", _) => Raw::HmacSha1(
                    RawMac::new(
                        &decoded,
                        content(twilio_content(url, &body).into()),
                        received,
                    )
                    .reading(Reads::Form {
                        url: url.to_owned(),
                        body: body.clone(),
                    }),
                ),
                ("mailgun", _) => Raw::HmacSha256(
                    RawMac::new(
                        &decoded,
                        content(format!("{NOW}{MAILGUN_TOKEN}").into()),
                        received,
                    )
                    .reading(Reads::Json(body.clone())),
                ),
                ("linear", _) => Raw::HmacSha256(
                    RawMac::new(&decoded, content(body.clone()), received)
                        .reading(Reads::Json(body.clone())),
                ),
                _ => match provider.algorithm {
                    Algorithm::HmacSha1 => {
                        Raw::HmacSha1(RawMac::new(&decoded, content(body.clone()), received))
                    }
                    Algorithm::HmacSha256 => {
                        Raw::HmacSha256(RawMac::new(&decoded, content(body.clone()), received))
                    }
                    other => panic!("{label}: no raw baseline for {other}"),
                },
            };
            (headers, verifier, raw)
        }
        Key::Ed25519 => {
            let signing = ed25519_dalek::SigningKey::from_bytes(
                &hex::decode(ED25519_SEED)
                    .expect("hex")
                    .try_into()
                    .expect("32 bytes"),
            );
            let headers = Signer::with_private_key((provider.scheme)(), ED25519_SEED)
                .expect("valid key")
                .sign_request(&request)
                .expect("signs");
            let public = hex::encode(signing.verifying_key().as_bytes());
            let verifier = builder
                .public_key("current", public)
                .build()
                .expect("valid verifier");
            let message = content(body.clone()).joined();
            let signature = ed25519_dalek::Signer::sign(&signing, &message);
            let raw = Raw::Ed25519 {
                key: signing.verifying_key(),
                signature,
                message,
                received: Received::find(&label, &headers, &body, &signature.to_bytes()),
            };
            (headers, verifier, raw)
        }
        Key::P256 => {
            let signing =
                p256::ecdsa::SigningKey::from_slice(&hex::decode(P256_SCALAR).expect("hex"))
                    .expect("a P-256 scalar");
            let headers = Signer::with_private_key((provider.scheme)(), P256_SCALAR)
                .expect("valid key")
                .sign_request(&request)
                .expect("signs");
            let public = hex::encode(signing.verifying_key().to_encoded_point(false).as_bytes());
            let verifier = builder
                .public_key("current", public)
                .build()
                .expect("valid verifier");
            let message = content(body.clone()).joined();
            // RFC 6979: the signer's signature, deterministically.
            let signature: p256::ecdsa::Signature =
                p256::ecdsa::signature::Signer::sign(&signing, &message);
            let raw = Raw::P256 {
                key: *signing.verifying_key(),
                signature,
                message,
                received: Received::find(&label, &headers, &body, signature.to_der().as_bytes()),
            };
            (headers, verifier, raw)
        }
    };
    assert_carries(&label, &headers, &body, &raw.signature());
    let case = Case {
        label,
        algorithm: match key {
            Key::Secret(_) => provider.algorithm,
            Key::Ed25519 => Algorithm::Ed25519,
            Key::P256 => Algorithm::EcdsaP256Sha256,
        },
        verifier,
        uri: PATH.parse().expect("a path and query"),
        headers,
        body,
        raw,
    };
    case.raw.check();
    case.raw.check_as_user();
    let delivery = case.ours();
    assert_eq!(delivery.scheme(), provider.name, "{}", case.label);
    case
}

/// The raw baseline must check exactly what the provider signs: the signature the
/// signer sent (in a header, or in the body for Mailgun; in hex, base64, or as is for
/// GitLab's token) is the one `raw` expects.
fn assert_carries(label: &str, headers: &HeaderMap, body: &[u8], signature: &[u8]) {
    let hex = hex::encode(signature);
    let b64 = base64::engine::general_purpose::STANDARD.encode(signature);
    let carried = |text: &[u8]| {
        let contains = |needle: &[u8]| text.windows(needle.len()).any(|w| w == needle);
        contains(hex.as_bytes()) || contains(b64.as_bytes()) || contains(signature)
    };
    assert!(
        headers.values().any(|value| carried(value.as_bytes())) || carried(body),
        "{label}: the raw baseline's signed content differs from the provider's"
    );
}

/// A Twilio SMS callback of exactly `size` bytes: form parameters, the message text
/// padding to the size.
fn form_payload(size: usize) -> Bytes {
    let head = "NumMedia=0&SmsStatus=received&To=%2B14155550199\
                &MessageSid=SM5ef8732a3c49700934481addd5ce1659\
                &AccountSid=AC0123456789abcdef0123456789abcdef&From=%2B14155550100\
                &ApiVersion=2010-04-01&Body=";
    let words = [
        "Hello+",
        "world%21+",
        "see+",
        "you+",
        "at+",
        "10%3A30+",
        "%E2%9C%93+",
    ];
    let mut form = String::from(head);
    for word in words.iter().cycle() {
        if form.len() + word.len() > size {
            break;
        }
        form.push_str(word);
    }
    form.extend(std::iter::repeat_n('x', size - form.len()));
    assert_eq!(form.len(), size);
    Bytes::from(form)
}

/// What Twilio signs for a form body: the URL, then each parameter's name and value,
/// decoded, sorted, repeated pairs once.
fn twilio_content(url: &str, body: &[u8]) -> Vec<u8> {
    let mut parameters: Vec<(String, String)> = form_urlencoded::parse(body)
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect();
    parameters.sort();
    parameters.dedup();
    let mut content = url.as_bytes().to_vec();
    for (name, value) in parameters {
        content.extend_from_slice(name.as_bytes());
        content.extend_from_slice(value.as_bytes());
    }
    content
}

/// A Mailgun JSON webhook of exactly `size` bytes: the `signature` object first, as
/// Mailgun sends it, then the event data, padded to the size (Mailgun's own envelope
/// leaves no room for the usual one at 256 B).
fn mailgun_payload(size: usize) -> Bytes {
    let signature = Mailgun::signature(PLAIN_SECRET, &NOW.to_string(), MAILGUN_TOKEN);
    let head = format!(
        r#"{{"signature":{{"timestamp":"{NOW}","token":"{MAILGUN_TOKEN}","signature":"{signature}"}},"event-data":{{"id":"CPgfbmQMTCKtHW6uIWtuVe","event":"delivered","pad":""#
    );
    let tail = r#""}}"#;
    let pad = size
        .checked_sub(head.len() + tail.len())
        .expect("size too small for the envelope");
    let json = format!("{head}{}{tail}", "x".repeat(pad));
    serde_json::from_str::<serde_json::Value>(&json).expect("payload is JSON");
    Bytes::from(json)
}

/// Times every provider's rows, `raw`, `user` and `ours` in the same rounds, and
/// prints the table: per row the ratios ours / user and ours / raw at each size, and
/// the cells over the bound (judged against `user`). `only` keeps the providers it
/// names (all when empty).
pub(crate) fn table(only: &[String]) {
    let providers: Vec<&Provider> = PROVIDERS
        .iter()
        .filter(|provider| only.is_empty() || only.iter().any(|name| name == provider.name))
        .collect();
    let mut rows: Vec<(String, Algorithm, Vec<Timed>)> = Vec::new();
    for (size, _) in SIZES {
        let mut at = 0;
        for provider in &providers {
            for case in cases(provider, size) {
                let timed = time_case(&case);
                if rows.len() <= at {
                    rows.push((case.label.clone(), case.algorithm, Vec::new()));
                }
                assert_eq!(rows[at].0, case.label);
                rows[at].2.push(timed);
                at += 1;
            }
        }
    }
    println!(
        "\nEvery provider, {ROUNDS} rounds of raw, user and ours in turns; ours / user and \
         ours / raw, ratio of the fastest chunks (median of the per-round ratios):\n\
         | provider | algorithm | / user, 256 B | / user, 4 KiB | / user, 64 KiB \
         | / raw, 256 B | / raw, 4 KiB | / raw, 64 KiB | ours at 256 B, 4 KiB, 64 KiB |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---:|"
    );
    let mut over = Vec::new();
    for (label, algorithm, timed) in &rows {
        let user: Vec<String> = timed
            .iter()
            .map(|t| format!("{:.3}x ({:.3}x)", t.ours_ns / t.user_ns, t.median_user))
            .collect();
        let raw: Vec<String> = timed
            .iter()
            .map(|t| format!("{:.3}x ({:.3}x)", t.ours_ns / t.raw_ns, t.median_raw))
            .collect();
        let ours: Vec<String> = timed.iter().map(|t| duration(t.ours_ns)).collect();
        println!(
            "| {label} | {algorithm} | {} | {} | {} |",
            user.join(" | "),
            raw.join(" | "),
            ours.join(", ")
        );
        for ((size, size_label), t) in SIZES.iter().zip(timed) {
            let bound = bound(*algorithm, *size);
            let ratio = t.ours_ns / t.user_ns;
            if ratio > bound {
                over.push(format!(
                    "{label} at {size_label}: {ratio:.3}x (median {:.3}x; bound {bound:.2}x): \
                     ours {}, user {}, raw {}",
                    t.median_user,
                    duration(t.ours_ns),
                    duration(t.user_ns),
                    duration(t.raw_ns),
                ));
            }
        }
    }
    println!(
        "\nBounds, ours / user: HMAC <= 1.00x at 256 B and <= 1.03x from 4 KiB; Ed25519 and \
         ECDSA P-256 <= 1.05x."
    );
    if over.is_empty() {
        println!("Every cell within its bound.");
    } else {
        println!("Over the bound ({}):", over.len());
        for line in over {
            println!("- {line}");
        }
    }
}

/// What [`interleave3`] measured for one cell: the fastest chunk of each routine,
/// per call, in nanoseconds, and the medians over the rounds of ours / user and
/// ours / raw within the round.
struct Timed {
    raw_ns: f64,
    user_ns: f64,
    ours_ns: f64,
    median_user: f64,
    median_raw: f64,
}

/// One cell: each routine warmed up and timed for a chunk of about [`CHUNK`], then
/// [`ROUNDS`] rounds of the three.
fn time_case(case: &Case) -> Timed {
    let raw = || case.raw.check();
    let user = || case.raw.check_as_user();
    let ours = || {
        black_box(case.ours());
    };
    let chunk = chunk_for(&user, &ours);
    interleave3(chunk, ROUNDS, [&raw, &user, &ours])
}

/// `raw`, `user` and `ours` in turns, `chunk` calls at a time, for `rounds` rounds,
/// the order rotated every round, so that a neighbour's load or a frequency change
/// hits the three alike.
fn interleave3(chunk: usize, rounds: usize, routines: [&dyn Fn(); 3]) -> Timed {
    let time = |routine: &dyn Fn()| {
        let start = Instant::now();
        for _ in 0..chunk {
            routine();
        }
        start.elapsed().as_secs_f64() * 1e9 / chunk as f64
    };
    let mut fastest = [f64::MAX; 3];
    let (mut over_user, mut over_raw) = (Vec::with_capacity(rounds), Vec::with_capacity(rounds));
    for round in 0..rounds {
        let mut ns = [0.0; 3];
        for turn in 0..3 {
            let which = (round + turn) % 3;
            ns[which] = time(routines[which]);
        }
        for (fast, ns) in fastest.iter_mut().zip(ns) {
            *fast = fast.min(ns);
        }
        over_raw.push(ns[2] / ns[0]);
        over_user.push(ns[2] / ns[1]);
    }
    let median = |mut ratios: Vec<f64>| {
        ratios.sort_by(f64::total_cmp);
        ratios[rounds / 2]
    };
    Timed {
        raw_ns: fastest[0],
        user_ns: fastest[1],
        ours_ns: fastest[2],
        median_user: median(over_user),
        median_raw: median(over_raw),
    }
}

/// The calls of a chunk of about [`CHUNK`], once `a` and `b` are warmed up: at least
/// one.
fn chunk_for(a: &dyn Fn(), b: &dyn Fn()) -> usize {
    let start = Instant::now();
    let mut calls = 0u32;
    while start.elapsed() < CHUNK * 40 {
        a();
        b();
        calls += 1;
    }
    let per_call = start.elapsed() / (2 * calls);
    (CHUNK.as_nanos() / per_call.as_nanos().max(1)).max(1) as usize
}

/// Nanoseconds as the table writes them.
fn duration(ns: f64) -> String {
    if ns >= 10_000.0 {
        format!("{:.1} µs", ns / 1000.0)
    } else {
        format!("{ns:.0} ns")
    }
}

/// The `webhook-verify` crate's clock, stopped at [`NOW`].
struct Stopped;

impl webhook_verify::Clock for Stopped {
    fn now(&self) -> u64 {
        NOW.unsigned_abs()
    }
}

/// The `webhook-verify` crate's `verify` on a row's delivery, as a receiver calls it:
/// the options cloned per call (the function takes them by value) and, for Twilio,
/// the form parsed by the caller, as that crate asks. `None` for a provider it does
/// not verify (or not without a feature: SendGrid, PayPal).
fn webhook_verify_routine(case: &Case) -> Option<Box<dyn Fn() + '_>> {
    use webhook_verify::{Provider as Peer, Secret, VerifyOptions, verify};
    let url = format!("{BASE}{PATH}");
    let clock: std::sync::Arc<dyn webhook_verify::Clock> = std::sync::Arc::new(Stopped);
    let options = VerifyOptions::default().with_clock(Some(clock));
    let (peer, secret, options) = match case.label.as_str() {
        "stripe" => (Peer::Stripe, PLAIN_SECRET.to_owned(), options),
        "github" => (Peer::GitHub, PLAIN_SECRET.to_owned(), options),
        "shopify" => (Peer::Shopify, PLAIN_SECRET.to_owned(), options),
        "slack" => (Peer::Slack, PLAIN_SECRET.to_owned(), options),
        "linear" => (Peer::Linear, PLAIN_SECRET.to_owned(), options),
        "zoom" => (Peer::Zoom, PLAIN_SECRET.to_owned(), options),
        "dropbox" => (Peer::Dropbox, PLAIN_SECRET.to_owned(), options),
        "standard" => (Peer::StandardWebhooks, STANDARD_SECRET.to_owned(), options),
        "square" => (
            Peer::Square,
            PLAIN_SECRET.to_owned(),
            options.with_request_url(url),
        ),
        "twilio" => (
            Peer::Twilio,
            PLAIN_SECRET.to_owned(),
            options.with_request_url(url),
        ),
        "discord" => {
            let Raw::Ed25519 { key, .. } = &case.raw else {
                unreachable!("Discord signs with Ed25519")
            };
            (Peer::Discord, hex::encode(key.as_bytes()), options)
        }
        _ => return None,
    };
    let secret = Secret::new(secret);
    let check = move |options: VerifyOptions| {
        verify(
            peer,
            black_box(&case.headers),
            black_box(&case.body),
            &secret,
            options,
        )
        .unwrap_or_else(|error| panic!("{}: webhook-verify refuses: {error}", case.label));
    };
    Some(if peer == Peer::Twilio {
        Box::new(move || {
            let form = form_urlencoded::parse(black_box(&case.body))
                .map(|(name, value)| (name.into_owned(), value.into_owned()));
            check(options.clone().with_form_params(form.collect::<Vec<_>>()));
        })
    } else {
        Box::new(move || check(options.clone()))
    })
}

/// `webhook-verify`'s `verify` against ours on the same deliveries, in turns, for
/// the providers both verify: prints webhook-verify / ours per size.
pub(crate) fn webhook_verify_table(only: &[String]) {
    let mut rows: Vec<(String, Vec<Interleaved>)> = Vec::new();
    for (size, _) in SIZES {
        let mut at = 0;
        for provider in PROVIDERS
            .iter()
            .filter(|provider| only.is_empty() || only.iter().any(|name| name == provider.name))
        {
            for case in cases(provider, size) {
                let Some(peer) = webhook_verify_routine(&case) else {
                    continue;
                };
                peer();
                let ours = || {
                    black_box(case.ours());
                };
                let chunk = chunk_for(&ours, &*peer);
                let timed = interleave(chunk, ROUNDS, &ours, &*peer);
                if rows.len() <= at {
                    rows.push((case.label.clone(), Vec::new()));
                }
                rows[at].1.push(timed);
                at += 1;
            }
        }
    }
    println!(
        "\nThe webhook-verify crate against ours, {ROUNDS} rounds in turns; webhook-verify / \
         ours, ratio of the fastest chunks (median of the per-round ratios):\n\
         | provider | 256 B | 4 KiB | 64 KiB | ours at 256 B, 4 KiB, 64 KiB |\n\
         |---|---:|---:|---:|---:|"
    );
    for (label, timed) in &rows {
        let cells: Vec<String> = timed
            .iter()
            .map(|t| format!("{:.2}x ({:.2}x)", t.ratio(), t.median_ratio))
            .collect();
        let ours: Vec<String> = timed.iter().map(|t| duration(t.raw_ns)).collect();
        println!("| {label} | {} | {} |", cells.join(" | "), ours.join(", "));
    }
}
