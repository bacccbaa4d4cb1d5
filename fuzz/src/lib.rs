//! Shared harness of the signature fuzz targets: the input format, the fixed
//! verifier of each target, and the oracle helpers that check a verified delivery
//! independently of the crate's parsers.
//!
//! # Input format
//!
//! ```text
//! <mode line>
//! <extra config lines, as many as the target reads>
//! name:value        (any number of header lines, appended in order, so a name may repeat)
//!                   (an empty line)
//! <body: every remaining byte>
//! ```
//!
//! The mode line is `raw` (or anything else not below: the headers are exactly the
//! header lines), or `sign <key> <delta> <id> [<pos> <byte>]`: the body is first
//! signed with `Signer` using secret number `key` (modulo the configured secrets plus
//! one unconfigured secret), at `now + delta`, with event id `id`; byte `pos` (modulo
//! the value's length) of the signature header is then set to `byte` (decimal), and
//! the header lines are appended after that. `sign-svix` does the same and renames
//! Standard Webhooks' `webhook-*` headers to `svix-*`.
//!
//! Header lines whose name or value `http` refuses are skipped.

pub mod request;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use bytes::Bytes;
use hmac::{KeyInit, Mac};
use http::{HeaderMap, HeaderName, HeaderValue};
use webhook_core::{Rejection, VerifiedDelivery};
use webhook_signature::scheme::Scheme;
use webhook_signature::{DEFAULT_TOLERANCE, SignatureRejection, Signer, Verifier};

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// A fuzz input split into its config lines, header lines and body.
#[derive(Debug)]
pub struct Input<'a> {
    /// The mode line, then the target's extra config lines (empty when missing).
    pub config: Vec<&'a [u8]>,
    /// `(name, value)` of each header line, in order.
    pub headers: Vec<(&'a [u8], &'a [u8])>,
    /// Everything after the first empty line.
    pub body: &'a [u8],
}

impl<'a> Input<'a> {
    /// Splits `data`: `config_lines` lines of config, header lines up to an empty
    /// line, then the body.
    pub fn parse(data: &'a [u8], config_lines: usize) -> Self {
        let mut rest = data;
        let next_line = |rest: &mut &'a [u8]| -> Option<&'a [u8]> {
            if rest.is_empty() {
                return None;
            }
            let (line, after) = match rest.iter().position(|&b| b == b'\n') {
                Some(at) => (&rest[..at], &rest[at + 1..]),
                None => (*rest, &rest[rest.len()..]),
            };
            *rest = after;
            Some(line)
        };
        let config = (0..config_lines)
            .map(|_| next_line(&mut rest).unwrap_or_default())
            .collect();
        let mut headers = Vec::new();
        while let Some(line) = next_line(&mut rest) {
            if line.is_empty() {
                break;
            }
            if let Some(at) = line.iter().position(|&b| b == b':') {
                headers.push((&line[..at], &line[at + 1..]));
            }
        }
        Self {
            config,
            headers,
            body: rest,
        }
    }

    /// Appends the header lines that `http` accepts to `headers`; whether any was.
    pub fn append_headers(&self, headers: &mut HeaderMap) -> bool {
        let mut any = false;
        for &(name, value) in &self.headers {
            if let (Ok(name), Ok(value)) =
                (HeaderName::from_bytes(name), HeaderValue::from_bytes(value))
            {
                headers.append(name, value);
                any = true;
            }
        }
        any
    }

    /// The mode line, read.
    pub fn mode(&self) -> Mode {
        Mode::parse(self.config.first().copied().unwrap_or_default())
    }
}

/// How the headers are made: see the crate docs.
#[derive(Debug)]
pub enum Mode {
    /// Exactly the header lines.
    Raw,
    /// Signed with `Signer`, optionally mutated, then the header lines.
    Sign(SignSpec),
}

/// What `sign` asks for.
#[derive(Debug)]
pub struct SignSpec {
    /// Index of the secret to sign with (past the configured ones: an unknown one).
    pub key: usize,
    /// Seconds from the verifier's now.
    pub delta: i64,
    /// The event id to sign.
    pub id: String,
    /// `(position, byte)` to overwrite in the signature header.
    pub mutation: Option<(usize, u8)>,
    /// Rename `webhook-*` to `svix-*` (Standard Webhooks).
    pub svix: bool,
}

impl Mode {
    fn parse(line: &[u8]) -> Self {
        let mut tokens = line.split(|&b| b == b' ');
        let svix = match tokens.next() {
            Some(b"sign") => false,
            Some(b"sign-svix") => true,
            _ => return Self::Raw,
        };
        let key = number(&mut tokens, 0).unsigned_abs() as usize;
        let delta = number(&mut tokens, 0);
        let id = tokens
            .next()
            .map(|token| String::from_utf8_lossy(token).into_owned())
            .unwrap_or_default();
        let position = number(&mut tokens, -1);
        let byte = number(&mut tokens, 0);
        let mutation = (position >= 0).then_some((position as usize, byte as u8));
        Self::Sign(SignSpec {
            key,
            delta,
            id,
            mutation,
            svix,
        })
    }
}

/// The next token as a decimal integer, or `default`.
fn number<'a>(tokens: &mut impl Iterator<Item = &'a [u8]>, default: i64) -> i64 {
    tokens
        .next()
        .and_then(|token| std::str::from_utf8(token).ok()?.parse::<i64>().ok())
        .unwrap_or(default)
}

/// One target's fixed configuration.
pub struct Target<S> {
    /// The scheme under test.
    pub scheme: S,
    /// The header holding the signature (what a `sign` mutation changes).
    pub signature: HeaderName,
    /// The verifier's clock, Unix seconds.
    pub now: i64,
    /// The configured secrets, with key ids `k1`, `k2`, ...
    pub secrets: &'static [&'static str],
    /// A secret that is not configured (a `sign` key past the configured ones).
    pub unconfigured: &'static str,
}

/// What the oracle is given for a delivery that verified.
pub struct Verified<'a> {
    /// The headers as verified.
    pub headers: &'a HeaderMap,
    /// The body as verified.
    pub body: &'a [u8],
    /// The delivery.
    pub delivery: &'a VerifiedDelivery,
    /// The secret of the key the delivery names.
    pub secret: &'static str,
    /// The verifier's now.
    pub now: i64,
}

/// Key id of configured secret number `index`.
pub fn key_id(index: usize) -> String {
    format!("k{}", index + 1)
}

/// A clock fixed at `now` Unix seconds, if `SystemTime` can hold it.
pub fn fixed_time(now: i64) -> Option<SystemTime> {
    let seconds = Duration::from_secs(now.unsigned_abs());
    if now >= 0 {
        UNIX_EPOCH.checked_add(seconds)
    } else {
        UNIX_EPOCH.checked_sub(seconds)
    }
}

impl<S: Scheme + Clone> Target<S> {
    fn verifier(&self) -> Verifier {
        let now = fixed_time(self.now).expect("a target's now is a valid time");
        self.secrets
            .iter()
            .enumerate()
            .fold(
                Verifier::builder(self.scheme.clone()),
                |builder, (at, secret)| builder.secret(key_id(at), *secret),
            )
            .clock(move || now)
            .build()
            .expect("a target's secrets are valid")
    }

    /// Runs one input: builds the headers, verifies, and checks the outcome with
    /// `oracle` (which must assert that an `Ok` delivery is genuine).
    pub fn run(&self, data: &[u8], config_lines: usize, oracle: impl Fn(&Verified<'_>)) {
        let input = Input::parse(data, config_lines);
        let body = Bytes::copy_from_slice(input.body);
        let mut headers = HeaderMap::new();
        // The key id a delivery must verify with, when nothing spoiled the signature.
        let mut expected: Option<String> = None;
        if let Mode::Sign(spec) = input.mode() {
            let Some(signed) = self.sign(&spec, &body) else {
                return;
            };
            headers = signed.headers;
            let appended = input.append_headers(&mut headers);
            let timestamp_ok = spec.delta.unsigned_abs() <= DEFAULT_TOLERANCE.as_secs();
            if !appended && !signed.mutated && timestamp_ok && is_clean_id(&spec.id) {
                expected = signed.key_id;
            }
        } else {
            input.append_headers(&mut headers);
        }
        match self.verifier().verify(&headers, &body) {
            Ok(delivery) => {
                assert_eq!(delivery.scheme(), self.scheme.name());
                assert_eq!(delivery.body(), &body);
                let index = (0..self.secrets.len())
                    .find(|&at| delivery.key_id().as_str() == key_id(at))
                    .expect("the delivery names a configured key");
                if let Some(timestamp) = delivery.timestamp() {
                    let skew = self.now.abs_diff(timestamp);
                    assert!(skew <= DEFAULT_TOLERANCE.as_secs(), "skew {skew} accepted");
                }
                oracle(&Verified {
                    headers: &headers,
                    body: &body,
                    delivery: &delivery,
                    secret: self.secrets[index],
                    now: self.now,
                });
                if let Some(expected) = expected {
                    assert_eq!(delivery.key_id().as_str(), expected);
                }
            }
            Err(rejection) => {
                assert!(
                    expected.is_none(),
                    "a delivery signed by Signer with key {expected:?} was refused: {rejection:?}\nheaders: {headers:?}"
                );
                self.check_rejection(&rejection);
            }
        }
    }

    fn check_rejection(&self, rejection: &SignatureRejection) {
        let status = rejection.status().as_u16();
        assert!(status == 400 || status == 401, "status {status}");
        let problem = rejection.to_problem().to_json();
        for secret in self.secrets {
            assert!(
                !contains(&problem, secret.as_bytes()),
                "the problem names a secret"
            );
        }
    }

    fn sign(&self, spec: &SignSpec, body: &[u8]) -> Option<Signed> {
        let key = spec.key % (self.secrets.len() + 1);
        let secret = self.secrets.get(key).copied().unwrap_or(self.unconfigured);
        let signer = Signer::new(self.scheme.clone(), secret).expect("valid secret");
        let timestamp = self.now.checked_add(spec.delta)?;
        let mut headers = signer.sign(body, timestamp, &spec.id).ok()?;
        if spec.svix {
            for (from, to) in [
                ("webhook-id", "svix-id"),
                ("webhook-timestamp", "svix-timestamp"),
                ("webhook-signature", "svix-signature"),
            ] {
                if let Some(value) = headers.remove(from) {
                    headers.insert(to, value);
                }
            }
        }
        let name = if spec.svix {
            HeaderName::from_static("svix-signature")
        } else {
            self.signature.clone()
        };
        let mut mutated = false;
        if let (Some((position, byte)), Some(value)) = (spec.mutation, headers.get(&name)) {
            let mut bytes = value.as_bytes().to_vec();
            if !bytes.is_empty() {
                let at = position % bytes.len();
                mutated = bytes[at] != byte;
                bytes[at] = byte;
                headers.insert(name, HeaderValue::from_bytes(&bytes).ok()?);
            }
        }
        Some(Signed {
            headers,
            mutated,
            key_id: (key < self.secrets.len()).then(|| key_id(key)),
        })
    }
}

struct Signed {
    headers: HeaderMap,
    mutated: bool,
    key_id: Option<String>,
}

/// An event id a receiver can see unchanged: visible ASCII, nothing to trim.
pub fn is_clean_id(id: &str) -> bool {
    id.bytes().all(|b| b.is_ascii_graphic())
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// HMAC-SHA256 of the concatenated `parts`, computed here rather than by the crate.
pub fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(key).expect("any key length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// The one value of `name`, trimmed, asserting that every copy is the same (a
/// delivery with differing copies of a header it reads must not verify); `None` when
/// absent.
pub fn value<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h [u8]> {
    let mut values = headers.get_all(name).iter();
    let first = values.next()?;
    for other in values {
        assert_eq!(other, first, "`{name}` verified with differing copies");
    }
    Some(first.as_bytes().trim_ascii())
}

/// [`value`] for a header the scheme requires.
pub fn required<'h>(headers: &'h HeaderMap, name: &str) -> &'h [u8] {
    value(headers, name).unwrap_or_else(|| panic!("verified without `{name}`"))
}

/// Whether `text` is the hex of `tag`, either case.
pub fn is_hex_of(text: &[u8], tag: &[u8; 32]) -> bool {
    text.eq_ignore_ascii_case(hex::encode(tag).as_bytes())
}

/// Whether `text` is standard, padded base64 of `tag`.
pub fn is_base64_of(text: &[u8], tag: &[u8; 32]) -> bool {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .is_ok_and(|decoded| decoded == tag)
}

/// A timestamp as the schemes read it: 1 to 18 ASCII digits.
pub fn timestamp(text: &[u8]) -> i64 {
    assert!(
        (1..=18).contains(&text.len()) && text.iter().all(u8::is_ascii_digit),
        "verified with timestamp {text:?}"
    );
    std::str::from_utf8(text)
        .expect("digits")
        .parse()
        .expect("at most 18 digits")
}

/// Asserts the delivery's timestamp is `text` and within the tolerance of `now`.
pub fn check_timestamp(verified: &Verified<'_>, text: &[u8]) {
    let seconds = timestamp(text);
    assert_eq!(verified.delivery.timestamp(), Some(seconds));
    assert!(verified.now.abs_diff(seconds) <= DEFAULT_TOLERANCE.as_secs());
}

/// Asserts the delivery's event id is `id` (a trimmed header value).
pub fn check_event_id(verified: &Verified<'_>, id: Option<&[u8]>) {
    assert_eq!(verified.delivery.event_id().map(str::as_bytes), id);
}
