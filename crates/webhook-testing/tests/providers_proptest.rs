//! Properties of every built-in provider's scheme, for random bodies, event ids,
//! timestamps and URLs: what `Signer` signs, `Verifier` verifies; flipping any single
//! bit of the body, or of the decoded signature, is refused.

use std::time::{Duration, UNIX_EPOCH};

use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use proptest::prelude::*;
use proptest::sample::Index;
use sha2::Digest as _;
use webhook_signature::scheme::{Algorithm, Mailgun, PROVIDERS, Provider, SignRequest};
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
    let signer = signer.unwrap();
    let text = || serde_json::to_string(&String::from_utf8_lossy(body)).unwrap();
    let mut target = target.to_owned();
    let (body, headers) = match provider.name {
        // Linear signs the body alone and reads the time from its `webhookTimestamp`.
        "linear" => {
            let millis = timestamp * 1000;
            let body = format!(r#"{{"webhookTimestamp":{millis},"data":{}}}"#, text());
            (Bytes::from(body), None)
        }
        // Mailgun signs a timestamp and a token in the body's `signature` object.
        "mailgun" => {
            let signature = Mailgun::signature(secret, &timestamp.to_string(), id);
            let object = serde_json::json!({
                "timestamp": timestamp.to_string(),
                "token": id,
                "signature": signature,
            });
            let body = format!(r#"{{"signature":{object},"event-data":{}}}"#, text());
            (Bytes::from(body), Some(HeaderMap::new()))
        }
        // Twilio covers a body that is not form parameters by its SHA-256 in the URL.
        "twilio" => {
            let hash = hex::encode(sha2::Sha256::digest(body));
            let separator = if target.contains('?') { '&' } else { '?' };
            target = format!("{target}{separator}bodySHA256={hash}");
            (Bytes::copy_from_slice(body), None)
        }
        _ => (Bytes::copy_from_slice(body), None),
    };
    let headers = headers.unwrap_or_else(|| {
        let url = format!("{PUBLIC_URL}{target}");
        let request = SignRequest::new(&body, timestamp, id).with_url(&url);
        signer
            .sign_request(&request)
            .unwrap_or_else(|error| panic!("{}: {error}", provider.name))
    });
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

/// `value` with one bit of the signature it holds flipped, written as before.
fn flip_in(value: &str, algorithm: Algorithm, bit: Index) -> String {
    let mut found = find_signature(value, algorithm);
    assert_eq!(found.len(), 1, "{value}");
    let Found {
        at,
        encoding,
        mut bytes,
    } = found.remove(0);
    flip(&mut bytes, bit);
    let encoded = match encoding {
        Encoding::Hex => hex::encode(&bytes),
        Encoding::Base64 => base64::engine::general_purpose::STANDARD.encode(&bytes),
    };
    format!("{}{encoded}{}", &value[..at.start], &value[at.end..])
}

/// A body carrying its signature in `signature.signature` (Mailgun), with one bit of
/// the signature flipped.
fn flip_in_body(body: &[u8], bit: Index) -> Bytes {
    let json: serde_json::Value = serde_json::from_slice(body).unwrap();
    let signature = json["signature"]["signature"].as_str().unwrap();
    let forged = flip_in(signature, Algorithm::HmacSha256, bit);
    let text = std::str::from_utf8(body).unwrap();
    assert_eq!(text.matches(signature).count(), 1);
    Bytes::from(text.replace(signature, &forged))
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

            let (headers, body) = if provider.signature_header == "body" {
                (signed.headers.clone(), flip_in_body(&signed.body, signature_bit))
            } else {
                let header = signature_header(provider, &signed, &body, &id, timestamp, &target);
                let value = signed.headers[&header].to_str().unwrap();
                let forged = flip_in(value, provider.algorithm, signature_bit);
                let mut headers = signed.headers.clone();
                headers.insert(&header, HeaderValue::from_str(&forged).unwrap());
                (headers, signed.body.clone())
            };
            prop_assert!(
                !signed.verifies(&headers, &body),
                "{}: a flipped signature bit verified: {:?} {:?}", name, headers, body
            );
        }
    }
}
