//! Properties of every built-in provider's scheme, for random bodies, event ids,
//! timestamps and URLs: what `Signer` signs, `Verifier` verifies; flipping any single
//! bit of the body, or of the decoded signature, is refused.

use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use proptest::prelude::*;
use proptest::sample::Index;
use std::time::{Duration, UNIX_EPOCH};
use webhook_signature::scheme::{Algorithm, PROVIDERS, Provider, SignRequest};
use webhook_signature::{Signer, Verifier};
use webhook_testing::TestKeyPair;

/// Secrets in the form every HMAC scheme reads (`whsec_<base64>` is text to most).
const SECRETS: [&str; 2] = [
    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "whsec_YW5vdGhlciBzZWNyZXQgZm9yIHRoZSBwcm9iZQ==",
];
const PUBLIC_URL: &str = "https://hooks.example.com";

/// A signed request for `provider`, and the verifier that holds its key.
struct Signed {
    headers: HeaderMap,
    body: Bytes,
    uri: Uri,
    verifier: Verifier,
}

fn sign(provider: &Provider, body: &[u8], id: &str, timestamp: i64, target: &str) -> Signed {
    sign_with(provider, 0, body, id, timestamp, target)
}

/// [`sign`] with key number `key`: a secret, or a [`TestKeyPair`] for asymmetric
/// schemes.
fn sign_with(
    provider: &Provider,
    key: u8,
    body: &[u8],
    id: &str,
    timestamp: i64,
    target: &str,
) -> Signed {
    let scheme = || (provider.scheme)();
    let builder = Verifier::builder(scheme());
    let secret = SECRETS[usize::from(key)];
    let (signer, builder) = match TestKeyPair::new(provider.algorithm, key) {
        Some(pair) => (
            Signer::with_private_key(scheme(), pair.private_key()),
            builder.public_key("k", pair.public_key()),
        ),
        None => (Signer::new(scheme(), secret), builder.secret("k", secret)),
    };
    let body = if provider.name == "linear" {
        // Linear signs the body alone and reads the time from its `webhookTimestamp`.
        let text = serde_json::to_string(&String::from_utf8_lossy(body)).unwrap();
        let millis = timestamp * 1000;
        Bytes::from(format!(r#"{{"webhookTimestamp":{millis},"data":{text}}}"#))
    } else {
        Bytes::copy_from_slice(body)
    };
    let url = format!("{PUBLIC_URL}{target}");
    let request = SignRequest::new(&body, timestamp, id).with_url(&url);
    let headers = signer
        .unwrap()
        .sign_request(&request)
        .unwrap_or_else(|error| panic!("{}: {error}", provider.name));
    let now = UNIX_EPOCH + Duration::from_secs(timestamp.unsigned_abs());
    let verifier = builder
        .public_url(PUBLIC_URL)
        .clock(move || now)
        .build()
        .unwrap();
    Signed {
        headers,
        body,
        uri: target.parse().unwrap(),
        verifier,
    }
}

impl Signed {
    fn verifies(&self, headers: &HeaderMap, body: &Bytes) -> bool {
        self.verifier
            .verify_request(&Method::POST, Some(&self.uri), headers, body)
            .is_ok()
    }
}

/// The providers whose signature covers no body: GitLab's secret token, and
/// Mailgun's signature over a timestamp and token.
const SIGN_NO_BODY: &[&str] = &["gitlab", "mailgun"];

/// The one header whose value changes with the key: the signature's.
fn signature_header(
    provider: &Provider,
    signed: &Signed,
    body: &[u8],
    id: &str,
    timestamp: i64,
    target: &str,
) -> HeaderName {
    let other = sign_with(provider, 1, body, id, timestamp, target);
    let changed: Vec<&HeaderName> = signed
        .headers
        .iter()
        .filter(|(name, value)| other.headers.get(*name) != Some(*value))
        .map(|(name, _)| name)
        .collect();
    assert_eq!(changed.len(), 1, "{}: {:?}", provider.name, signed.headers);
    changed[0].clone()
}

/// How a signature is written in its header.
#[derive(Clone, Copy)]
enum Encoding {
    Hex,
    Base64,
}

/// The signature in a header value: where it is, how it is written, its bytes.
struct Found {
    at: std::ops::Range<usize>,
    encoding: Encoding,
    bytes: Vec<u8>,
}

/// Finds the one signature in `value`, whatever the provider's layout (`<sig>`,
/// `sha256=<sig>`, `t=..,v1=<sig>`, `v1,<sig>`): the token, or the part of it after
/// its first `=`, that decodes from hex or base64 to a signature's length for
/// `algorithm`.
fn find_signature(value: &str, algorithm: Algorithm) -> Vec<Found> {
    let fits = |bytes: &[u8]| match algorithm {
        Algorithm::Ed25519 => bytes.len() == 64,
        Algorithm::EcdsaP256Sha256 => bytes.first() == Some(&0x30) && bytes.len() <= 72,
        hmac => hmac.tag_len() == Some(bytes.len()),
    };
    let mut found = Vec::new();
    let mut start = 0;
    for token in value.split([',', ';', ' ']) {
        let mut candidates = vec![(start, token)];
        if let Some(eq) = token.find('=') {
            candidates.push((start + eq + 1, &token[eq + 1..]));
        }
        for (at, text) in candidates {
            let decoded = if text.len() % 2 == 0 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
                hex::decode(text).ok().map(|bytes| (Encoding::Hex, bytes))
            } else {
                base64::engine::general_purpose::STANDARD
                    .decode(text)
                    .ok()
                    .map(|bytes| (Encoding::Base64, bytes))
            };
            if let Some((encoding, bytes)) = decoded.filter(|(_, bytes)| fits(bytes)) {
                found.push(Found {
                    at: at..at + text.len(),
                    encoding,
                    bytes,
                });
            }
        }
        start += token.len() + 1;
    }
    found
}

fn flip(bytes: &mut [u8], bit: Index) {
    let bit = bit.index(bytes.len() * 8);
    bytes[bit / 8] ^= 1 << (bit % 8);
}

fn id() -> impl Strategy<Value = String> {
    // Visible ASCII that a header carries as is: no space or tab at either end.
    "[A-Za-z0-9_-]([A-Za-z0-9_ .:-]{0,38}[A-Za-z0-9_-])?"
}

fn target() -> impl Strategy<Value = String> {
    ("[a-z0-9/]{0,16}", proptest::option::of("[a-z0-9=&]{1,12}")).prop_map(|(path, query)| {
        match query {
            Some(query) => format!("/webhooks/{path}?{query}"),
            None => format!("/webhooks/{path}"),
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn every_provider_verifies_what_it_signs_and_refuses_any_flipped_bit(
        body in proptest::collection::vec(any::<u8>(), 0..256),
        id in id(),
        timestamp in 0i64..4_102_444_800,
        target in target(),
        body_bit in any::<Index>(),
        signature_bit in any::<Index>(),
    ) {
        for provider in PROVIDERS {
            let name = provider.name;
            let signed = sign(provider, &body, &id, timestamp, &target);
            prop_assert!(signed.verifies(&signed.headers, &signed.body), "{}: not verified", name);

            // A scheme that signs no body (a token) signs another body the same.
            let other = sign(provider, b"another body", &id, timestamp, &target);
            let signs_body = other.headers != signed.headers;
            prop_assert!(signs_body || SIGN_NO_BODY.contains(&name), "{} signs no body", name);
            if signs_body && !signed.body.is_empty() {
                let mut tampered = signed.body.to_vec();
                flip(&mut tampered, body_bit);
                prop_assert!(
                    !signed.verifies(&signed.headers, &Bytes::from(tampered)),
                    "{}: a flipped body bit verified", name
                );
            }

            let header = signature_header(provider, &signed, &body, &id, timestamp, &target);
            let value = signed.headers[&header].to_str().unwrap();
            let mut found = find_signature(value, provider.algorithm);
            prop_assert_eq!(found.len(), 1, "{}: {}", name, value);
            let Found { at, encoding, mut bytes } = found.remove(0);
            flip(&mut bytes, signature_bit);
            let encoded = match encoding {
                Encoding::Hex => hex::encode(&bytes),
                Encoding::Base64 => base64::engine::general_purpose::STANDARD.encode(&bytes),
            };
            let forged = format!("{}{encoded}{}", &value[..at.start], &value[at.end..]);
            let mut headers = signed.headers.clone();
            headers.insert(&header, HeaderValue::from_str(&forged).unwrap());
            prop_assert!(
                !signed.verifies(&headers, &signed.body),
                "{}: a flipped signature bit verified: {}", name, forged
            );
        }
    }
}
