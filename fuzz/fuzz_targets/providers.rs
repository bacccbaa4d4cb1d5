//! Every provider in `PROVIDERS`, through `Verifier::verify_request` with a public
//! URL: the first input byte picks the provider (modulo their number); the rest is
//! the usual input (see `webhook_fuzz`). Each provider has two configured keys and
//! one that is not: secrets, or for the asymmetric providers key pairs (the verifier
//! holds the public keys, `sign` signs with the private key).
//!
//! Besides the harness's checks: a verified delivery carries the provider's
//! signature header in identical copies, and where the signature covers the raw body
//! (every provider but Twilio, whose form parameters are signed decoded, Mailgun,
//! which signs no body, and GitLab's secret token), the same request with its last
//! body byte changed is refused.
#![no_main]

use std::sync::LazyLock;

use http::{HeaderName, Method};
use libfuzzer_sys::fuzz_target;
use webhook_fuzz::request::{Case, Key, NOW, PATH, PUBLIC_URL, Verified};
use webhook_fuzz::value;
use webhook_signature::scheme::{Algorithm, PROVIDERS, Provider};

/// Ed25519 seeds and ECDSA P-256 scalars, as hex: two configured, one not.
const PRIVATE: [&str; 3] = [
    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
    "c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b629b14dde09e9a0cf9",
    "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
];

/// The configured keys and the unconfigured one of each provider, in `PROVIDERS`
/// order (key pairs are derived once: ECDSA P-256 is slow).
static KEYS: LazyLock<Vec<[Key; 3]>> = LazyLock::new(|| PROVIDERS.iter().map(keys).collect());

fn keys(provider: &Provider) -> [Key; 3] {
    let scheme = (provider.scheme)();
    std::array::from_fn(|slot| match provider.algorithm {
        Algorithm::Ed25519 | Algorithm::EcdsaP256Sha256 => Key::pair(&*scheme, PRIVATE[slot]),
        _ if provider.name == "standard" => Key::secret(
            [
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
                "whsec_dW5rbm93biBrZXk=",
            ][slot],
        ),
        _ => Key::secret(format!("{}-fuzz-secret-{slot}", provider.name)),
    })
}

/// Whether the signature covers the request body byte for byte.
fn signs_raw_body(name: &str) -> bool {
    !matches!(name, "twilio" | "mailgun" | "gitlab")
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let at = usize::from(first) % PROVIDERS.len();
    let provider = &PROVIDERS[at];
    let keys = &KEYS[at];
    let case = Case {
        scheme: &provider.scheme,
        configured: &keys[..2],
        unconfigured: &keys[2..],
        now: NOW,
        public_url: PUBLIC_URL,
        method: Method::POST,
        uri: PATH.parse().expect("a valid path"),
        sign_url: format!("{PUBLIC_URL}{PATH}"),
        signature: (provider.signature_header != "body")
            .then(|| HeaderName::from_static(provider.signature_header)),
        // Linear's timestamp is read from the body, which `Signer` does not write;
        // Mailgun's `Signer` refuses.
        signed_must_verify: !matches!(provider.name, "linear" | "mailgun"),
        sign_fn: None,
    };
    case.run(rest, 1, &[], |verified: &Verified<'_>| {
        let carried = match provider.name {
            "mailgun" => true,
            "standard" => ["webhook-signature", "svix-signature"]
                .iter()
                .any(|name| value(verified.headers, name).is_some()),
            "gitlab" => ["x-gitlab-token", "webhook-signature"]
                .iter()
                .any(|name| value(verified.headers, name).is_some()),
            name => {
                value(verified.headers, provider.signature_header).is_some()
                    || panic!("{name} verified without `{}`", provider.signature_header)
            }
        };
        assert!(carried, "{} verified without its signature", provider.name);
        if signs_raw_body(provider.name) {
            let mut changed = verified.body.to_vec();
            match changed.last_mut() {
                Some(last) => *last ^= 0x01,
                None => changed.push(b'x'),
            }
            assert!(
                verified.verify_body(&case, changed).is_err(),
                "{}: a changed body verified too",
                provider.name
            );
        }
    });
});
