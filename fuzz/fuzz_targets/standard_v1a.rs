//! Standard Webhooks with a keyring of a secret and Ed25519 public keys: `v1`
//! (HMAC-SHA256) and `v1a` (Ed25519) entries mixed in one `webhook-signature` (or
//! `svix-signature`) over `<id>.<timestamp>.<body>`. See `webhook_fuzz` for the input
//! format; this target reads one more config line after the mode line:
//!
//! ```text
//! <keys>   more key numbers to sign with, space-separated: each signature is
//!          appended to the signature header, after a space
//! ```
//!
//! Keys: `k1` a `whsec_` secret, `k2` an Ed25519 public key as `whpk_<base64>`, `k3`
//! one as hex; unconfigured, a secret and an Ed25519 private key. A delivery signed
//! with several keys, at least one configured, must verify naming the first
//! configured one in keyring order.
//!
//! A verified delivery is checked independently: every `v1` entry is base64 of 32
//! bytes and every `v1a` entry base64 of 64 bytes; the id and timestamp are the
//! headers'; for a secret, one `v1` entry is the HMAC of `<id>.<timestamp>.<body>`
//! under the decoded secret; for a public key, one `v1a` entry is an Ed25519
//! signature of that content that `ed25519-dalek` accepts under that key.
#![no_main]

use std::sync::LazyLock;

use base64::Engine as _;
use ed25519_dalek::Verifier as _;
use http::{HeaderName, Method};
use libfuzzer_sys::fuzz_target;
use webhook_fuzz::request::{Case, Key, NOW, PATH, PUBLIC_URL, Verified};
use webhook_fuzz::{Input, check_event_id, check_timestamp, hmac, is_base64_of, required, value};
use webhook_signature::scheme::{Scheme, StandardWebhooks};

/// Ed25519 seeds as hex: two configured, one not.
const SEEDS: [&str; 3] = [
    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
    "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
    "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
];

/// Configured: a secret, a `whpk_` public key, a hex public key. Unconfigured: a
/// secret and a private key.
static KEYS: LazyLock<[Key; 5]> = LazyLock::new(|| {
    let whpk = |seed: &str| {
        let mut key = Key::pair(&StandardWebhooks, seed);
        let bytes = hex::decode(&key.verify).expect("hex");
        key.verify = format!(
            "whpk_{}",
            base64::engine::general_purpose::STANDARD.encode(bytes)
        );
        key
    };
    [
        Key::secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
        whpk(SEEDS[0]),
        Key::pair(&StandardWebhooks, SEEDS[1]),
        Key::secret("whsec_dW5rbm93biBrZXk="),
        Key::pair(&StandardWebhooks, SEEDS[2]),
    ]
});

fn scheme() -> Box<dyn Scheme> {
    Box::new(StandardWebhooks)
}

/// The 32 bytes of a configured public key, in either form.
fn public_key(text: &str) -> [u8; 32] {
    let bytes = match text.strip_prefix("whpk_") {
        Some(encoded) => base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .expect("base64"),
        None => hex::decode(text).expect("hex"),
    };
    bytes.try_into().expect("32 bytes")
}

fuzz_target!(|data: &[u8]| {
    let input = Input::parse(data, 2);
    let extra: Vec<usize> = input.config[1]
        .split(|&b| b == b' ')
        .filter_map(|token| std::str::from_utf8(token).ok()?.parse().ok())
        .take(4)
        .collect();
    let case = Case {
        scheme: &scheme,
        configured: &KEYS[..3],
        unconfigured: &KEYS[3..],
        now: NOW,
        public_url: PUBLIC_URL,
        method: Method::POST,
        uri: PATH.parse().expect("a valid path"),
        sign_url: format!("{PUBLIC_URL}{PATH}"),
        signature: Some(HeaderName::from_static("webhook-signature")),
        signed_must_verify: true,
        sign_fn: None,
    };
    case.run(data, 2, &extra, |verified: &Verified<'_>| {
        let prefix = if value(verified.headers, "webhook-signature").is_some() {
            "webhook"
        } else {
            "svix"
        };
        let signature = required(verified.headers, &format!("{prefix}-signature"));
        let id = required(verified.headers, &format!("{prefix}-id"));
        let timestamp = required(verified.headers, &format!("{prefix}-timestamp"));
        let legacy = webhook_fuzz::Verified {
            headers: verified.headers,
            body: verified.body,
            delivery: verified.delivery,
            secret: "",
            now: verified.now,
        };
        check_timestamp(&legacy, timestamp);
        check_event_id(&legacy, Some(id));
        let entries: Vec<(&[u8], &[u8])> = signature
            .split(u8::is_ascii_whitespace)
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                let at = entry
                    .iter()
                    .position(|&b| b == b',')
                    .unwrap_or_else(|| panic!("verified an entry without `,`: {entry:?}"));
                (&entry[..at], &entry[at + 1..])
            })
            .collect();
        let decode = |text: &[u8]| base64::engine::general_purpose::STANDARD.decode(text);
        for (version, text) in &entries {
            match *version {
                b"v1" => assert!(decode(text).is_ok_and(|bytes| bytes.len() == 32)),
                b"v1a" => assert!(decode(text).is_ok_and(|bytes| bytes.len() == 64)),
                _ => {}
            }
        }
        let content = [id, b".", timestamp, b".", verified.body].concat();
        let genuine = if verified.key.public {
            let key = ed25519_dalek::VerifyingKey::from_bytes(&public_key(&verified.key.verify))
                .expect("a valid public key");
            entries.iter().any(|(version, text)| {
                *version == b"v1a"
                    && decode(text).is_ok_and(|bytes| {
                        ed25519_dalek::Signature::from_slice(&bytes)
                            .is_ok_and(|signature| key.verify(&content, &signature).is_ok())
                    })
            })
        } else {
            let secret = verified.key.verify.strip_prefix("whsec_").expect("whsec_");
            let tag = hmac(&decode(secret.as_bytes()).expect("base64"), &[&content]);
            entries
                .iter()
                .any(|(version, text)| *version == b"v1" && is_base64_of(text, &tag))
        };
        assert!(genuine, "verified {signature:?}");
    });
});
