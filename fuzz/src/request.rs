//! Harness of the targets that verify whole requests (`Verifier::verify_request`)
//! with a scheme chosen at run time: shared secrets or public keys, a method, a
//! request URI and a public URL, and signing with `Signer` (a private key for the
//! asymmetric schemes) or with a target's own signing step.
//!
//! The input format is the crate's (see [`crate::Input`]); `sign <key> ...` signs
//! with key number `key` modulo the configured keys plus the unconfigured ones
//! (`sign-svix` then renames Standard Webhooks' `webhook-*` headers to `svix-*`). A
//! delivery signed with a configured key, with no header line appended, no byte
//! mutated, a timestamp within the verifier's tolerance and a clean event id must
//! verify, naming the first configured key (in keyring order) that signed it.

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use webhook_core::{Rejection, VerifiedDelivery};
use webhook_signature::scheme::{PublicKey, Scheme, SignRequest};
use webhook_signature::{SignatureRejection, Signer, Verifier};

use crate::{Input, Mode, SignSpec, fixed_time, is_clean_id, key_id};

/// The clock of the request targets, Unix seconds.
pub const NOW: i64 = 1_700_000_000;

/// The public URL the request targets configure.
pub const PUBLIC_URL: &str = "https://hooks.example.com";

/// The request's path and query, where a target does not fuzz it.
pub const PATH: &str = "/webhooks/in?source=fuzz";

/// One key: what the verifier is configured with and what signs for it.
#[derive(Debug, Clone)]
pub struct Key {
    /// The secret, or the public key's text, given to the verifier.
    pub verify: String,
    /// Whether [`verify`](Self::verify) is a public key.
    pub public: bool,
    /// The secret, or the private key's text, that signs.
    pub sign: String,
}

impl Key {
    /// A shared secret.
    pub fn secret(secret: impl Into<String>) -> Self {
        let secret = secret.into();
        Self {
            verify: secret.clone(),
            public: false,
            sign: secret,
        }
    }

    /// A key pair of `scheme`'s: `private` signs, its public key (as hex: 32 bytes for
    /// Ed25519, the uncompressed SEC1 point for ECDSA P-256) verifies.
    pub fn pair(scheme: &dyn Scheme, private: &str) -> Self {
        let public = match scheme
            .decode_private_key(private)
            .expect("a target's private keys are valid")
            .public_key()
        {
            PublicKey::Ed25519(key) => hex::encode(key.as_bytes()),
            PublicKey::EcdsaP256(key) => hex::encode(key.to_encoded_point(false).as_bytes()),
            _ => unreachable!("two kinds of public key"),
        };
        Self {
            verify: public,
            public: true,
            sign: private.to_owned(),
        }
    }

    /// The texts that must never appear in a rejection: the secret, or the private
    /// key (a public key is not secret).
    fn secrets(&self) -> impl Iterator<Item = &str> {
        let shared = (!self.public).then_some(self.verify.as_str());
        shared.into_iter().chain(Some(self.sign.as_str()))
    }
}

/// What a target's own signing step returns: the headers and body to send, and
/// whether the delivery must verify when nothing else spoils it.
pub struct Made {
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Vec<u8>,
    /// Whether it must verify (with no header appended and no mutation).
    pub genuine: bool,
}

/// A target's own signing step: the keys to sign with, the spec, the timestamp
/// (`now + delta`) and the input's body.
pub type SignFn<'a> = &'a dyn Fn(&[&Key], &SignSpec, i64, &[u8]) -> Option<Made>;

/// A request target's fixed configuration.
pub struct Case<'a> {
    /// A fresh instance of the scheme under test.
    pub scheme: &'a dyn Fn() -> Box<dyn Scheme>,
    /// The configured keys, with key ids `k1`, `k2`, ...
    pub configured: &'a [Key],
    /// Keys that are not configured (a `sign` key past the configured ones).
    pub unconfigured: &'a [Key],
    /// The verifier's clock, Unix seconds.
    pub now: i64,
    /// The verifier's public URL.
    pub public_url: &'a str,
    /// The request method.
    pub method: Method,
    /// The request URI, as a server sees it.
    pub uri: Uri,
    /// The URL `Signer` signs (the provider's view of the request).
    pub sign_url: String,
    /// The header carrying the signature, where a `sign` mutation applies (`None`:
    /// the signature is in the body).
    pub signature: Option<HeaderName>,
    /// Whether a signed delivery must verify: `false` where the scheme reads
    /// something the signer does not write (a timestamp inside the body).
    pub signed_must_verify: bool,
    /// Signs instead of `Signer`, where set.
    pub sign_fn: Option<SignFn<'a>>,
}

/// What the oracle is given for a delivery that verified.
pub struct Verified<'a> {
    /// The verifier (to verify variations of the request).
    pub verifier: &'a Verifier,
    /// The headers as verified.
    pub headers: &'a HeaderMap,
    /// The body as verified.
    pub body: &'a Bytes,
    /// The delivery.
    pub delivery: &'a VerifiedDelivery,
    /// The key the delivery names, and its index among the configured keys.
    pub key: &'a Key,
    /// The verifier's now.
    pub now: i64,
    /// The verifier's tolerance, seconds.
    pub tolerance: u64,
    /// The URL the verifier joins: the public URL and the request's path and query.
    pub url: String,
}

impl Verified<'_> {
    /// Verifies the same request with `body` instead.
    pub fn verify_body(
        &self,
        case: &Case<'_>,
        body: Vec<u8>,
    ) -> Result<VerifiedDelivery, SignatureRejection> {
        self.verifier.verify_request(
            &case.method,
            Some(&case.uri),
            self.headers,
            &Bytes::from(body),
        )
    }
}

impl Case<'_> {
    /// The verifier, or `None` when the public URL is one the builder refuses.
    pub fn verifier(&self) -> Option<Verifier> {
        let now = fixed_time(self.now).expect("a target's now is a valid time");
        let mut builder = Verifier::builder((self.scheme)())
            .public_url(self.public_url)
            .clock(move || now);
        for (at, key) in self.configured.iter().enumerate() {
            builder = if key.public {
                builder.public_key(key_id(at), key.verify.clone())
            } else {
                builder.secret(key_id(at), key.verify.clone())
            };
        }
        builder.build().ok()
    }

    /// The URL the verifier builds for this request.
    pub fn url(&self) -> String {
        let path = self.uri.path_and_query().map_or("/", |path| path.as_str());
        format!("{}{path}", self.public_url.trim_end_matches('/'))
    }

    fn key(&self, index: usize) -> &Key {
        let all = self.configured.len() + self.unconfigured.len();
        let index = index % all;
        self.configured
            .get(index)
            .unwrap_or_else(|| &self.unconfigured[index - self.configured.len()])
    }

    /// Runs one input: signs or reads the headers, verifies, and checks the outcome
    /// with `oracle` (which must assert that an `Ok` delivery is genuine). `extra`
    /// names more keys to sign with (their signatures are joined, space-separated,
    /// into one signature header).
    pub fn run(
        &self,
        data: &[u8],
        config_lines: usize,
        extra: &[usize],
        oracle: impl Fn(&Verified<'_>),
    ) {
        let Some(verifier) = self.verifier() else {
            return;
        };
        let input = Input::parse(data, config_lines);
        let mut body = input.body.to_vec();
        let mut headers = HeaderMap::new();
        // The key id a delivery must verify with, when nothing spoiled the signature.
        let mut expected: Option<String> = None;
        if let Mode::Sign(spec) = input.mode() {
            let indexes: Vec<usize> = std::iter::once(spec.key)
                .chain(extra.iter().copied())
                .collect();
            let Some(signed) = self.sign(&spec, &indexes, input.body) else {
                return;
            };
            headers = signed.headers;
            body = signed.body;
            let appended = input.append_headers(&mut headers);
            let timestamp_ok = spec.delta.unsigned_abs() <= verifier.tolerance().as_secs();
            let all = self.configured.len() + self.unconfigured.len();
            let first_configured = indexes
                .iter()
                .map(|index| index % all)
                .filter(|&index| index < self.configured.len())
                .min();
            if !appended
                && !signed.mutated
                && signed.genuine
                && timestamp_ok
                && is_clean_id(&spec.id)
            {
                expected = first_configured.map(key_id);
            }
        } else {
            input.append_headers(&mut headers);
        }
        let body = Bytes::from(body);
        match verifier.verify_request(&self.method, Some(&self.uri), &headers, &body) {
            Ok(delivery) => {
                assert_eq!(delivery.scheme(), verifier.scheme().name());
                assert_eq!(delivery.body(), &body);
                let index = (0..self.configured.len())
                    .find(|&at| delivery.key_id().as_str() == key_id(at))
                    .expect("the delivery names a configured key");
                let tolerance = verifier.tolerance().as_secs();
                if let Some(timestamp) = delivery.timestamp() {
                    let skew = self.now.abs_diff(timestamp);
                    assert!(skew <= tolerance, "skew {skew} accepted");
                }
                oracle(&Verified {
                    verifier: &verifier,
                    headers: &headers,
                    body: &body,
                    delivery: &delivery,
                    key: &self.configured[index],
                    now: self.now,
                    tolerance,
                    url: self.url(),
                });
                if let Some(expected) = expected {
                    assert_eq!(delivery.key_id().as_str(), expected);
                }
            }
            Err(rejection) => {
                assert!(
                    expected.is_none(),
                    "a delivery signed with key {expected:?} was refused: {rejection:?}\nheaders: {headers:?}\nbody: {body:?}"
                );
                self.check_rejection(&rejection);
            }
        }
    }

    fn check_rejection(&self, rejection: &SignatureRejection) {
        let status = rejection.status().as_u16();
        assert!(
            status == 400
                || status == 401
                || (status == 500 && rejection.code() == "public_url_unset"),
            "status {status} ({})",
            rejection.code()
        );
        let problem = rejection.to_problem().to_json();
        let display = rejection.to_string();
        for key in self.configured.iter().chain(self.unconfigured) {
            for secret in key.secrets() {
                assert!(
                    !contains(&problem, secret.as_bytes()),
                    "the problem names a secret"
                );
                assert!(!display.contains(secret), "the message names a secret");
            }
        }
    }

    fn sign(&self, spec: &SignSpec, indexes: &[usize], body: &[u8]) -> Option<Signed> {
        let timestamp = self.now.checked_add(spec.delta)?;
        let keys: Vec<&Key> = indexes.iter().map(|&index| self.key(index)).collect();
        let made = match self.sign_fn {
            Some(sign) => sign(&keys, spec, timestamp, body)?,
            None => {
                let mut headers: Option<HeaderMap> = None;
                for key in &keys {
                    let signer = if key.public {
                        Signer::with_private_key((self.scheme)(), &key.sign)
                    } else {
                        Signer::new((self.scheme)(), &key.sign)
                    }
                    .expect("a target's keys are valid");
                    let request =
                        SignRequest::new(body, timestamp, &spec.id).with_url(&self.sign_url);
                    let signed = signer.sign_request(&request).ok()?;
                    match (&mut headers, &self.signature) {
                        (None, _) => headers = Some(signed),
                        (Some(headers), Some(name)) => {
                            let joined = [
                                headers.get(name)?.as_bytes(),
                                b" ",
                                signed.get(name)?.as_bytes(),
                            ]
                            .concat();
                            headers.insert(name, HeaderValue::from_bytes(&joined).ok()?);
                        }
                        (Some(_), None) => {}
                    }
                }
                Made {
                    headers: headers?,
                    body: body.to_vec(),
                    genuine: self.signed_must_verify,
                }
            }
        };
        let mut headers = made.headers;
        let mut signature = self.signature.clone();
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
            if signature
                .as_ref()
                .is_some_and(|name| name == "webhook-signature")
            {
                signature = Some(HeaderName::from_static("svix-signature"));
            }
        }
        let mut mutated = false;
        if let (Some((position, byte)), Some(name)) = (spec.mutation, &signature)
            && let Some(value) = headers.get(name)
            && !value.is_empty()
        {
            let mut bytes = value.as_bytes().to_vec();
            let at = position % bytes.len();
            mutated = bytes[at] != byte;
            bytes[at] = byte;
            headers.insert(name, HeaderValue::from_bytes(&bytes).ok()?);
        }
        Some(Signed {
            headers,
            body: made.body,
            mutated,
            genuine: made.genuine,
        })
    }
}

struct Signed {
    headers: HeaderMap,
    body: Vec<u8>,
    mutated: bool,
    genuine: bool,
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}
