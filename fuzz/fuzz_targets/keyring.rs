//! Building a `Verifier` (and `Signer`s) from fuzzed secrets, for every scheme.
//!
//! ```text
//! <scheme> [<now> [<tolerance>]]   scheme: hopnow, github, stripe, standard, slack,
//!                                  shopify or generic (else the first byte picks one);
//!                                  now: the clock, Unix seconds (default 1700000000);
//!                                  tolerance: seconds (default 300)
//! id:secret                        `.secret(id, secret)`
//! secret                           a line without `:`: `.secrets([secret])` (id by position)
//!                                  (an empty line)
//! <body>
//! ```
//!
//! The build must succeed exactly when every secret is one `Signer::new` accepts and
//! the ids differ; a built verifier must verify what a `Signer` with each secret signs
//! (naming the first key with the same decoded secret), at now and at the edges of the
//! tolerance; `Debug` must not depend on the secrets.
#![no_main]

use std::time::Duration;

use bytes::Bytes;
use http::HeaderName;
use libfuzzer_sys::fuzz_target;
use webhook_fuzz::{Input, fixed_time};
use webhook_signature::scheme::{GenericHmac, Scheme, by_name};
use webhook_signature::{ConfigError, SignatureRejection, Signer, Verifier};

const NAMES: [&str; 7] = [
    "hopnow", "github", "stripe", "standard", "slack", "shopify", "generic",
];

/// A secret every scheme accepts, to compare `Debug` output with.
const PLAIN: &str = "AAAA";

/// Timestamps the schemes can send: 1 to 18 digits.
const MAX_TIMESTAMP: i64 = 999_999_999_999_999_999;

fn scheme(name: &str) -> Box<dyn Scheme> {
    if name == "generic" {
        return Box::new(
            GenericHmac::builder("generic", HeaderName::from_static("x-sig"))
                .prefix("sha256=")
                .timestamp_header(HeaderName::from_static("x-ts"))
                .id_header(HeaderName::from_static("x-id"))
                .signed_content("{id}.{timestamp}.{body}")
                .build()
                .expect("a valid generic scheme"),
        );
    }
    by_name(name).expect("a built-in scheme")
}

fn number<T: std::str::FromStr>(token: Option<&[u8]>, default: T) -> T {
    token
        .and_then(|token| std::str::from_utf8(token).ok()?.parse().ok())
        .unwrap_or(default)
}

fuzz_target!(|data: &[u8]| {
    let input = Input::parse(data, 1);
    let mut tokens = input.config[0].split(|&b| b == b' ');
    let first = tokens.next().unwrap_or_default();
    let name = NAMES
        .into_iter()
        .find(|name| name.as_bytes() == first)
        .unwrap_or(NAMES[usize::from(first.first().copied().unwrap_or(0)) % NAMES.len()]);
    let now: i64 = number(tokens.next(), 1_700_000_000);
    let tolerance = Duration::from_secs(number(tokens.next(), 300));

    // Every header line is a secret; a name that is not a valid header name does not
    // matter here, so the raw lines are used.
    let mut ids: Vec<String> = Vec::new();
    let mut secrets: Vec<String> = Vec::new();
    let mut builder = Verifier::builder(scheme(name)).tolerance(tolerance);
    let mut plain = Verifier::builder(scheme(name)).tolerance(tolerance);
    for line in data
        .split(|&b| b == b'\n')
        .skip(1)
        .take_while(|line| !line.is_empty())
    {
        let (id, secret) = match line.iter().position(|&b| b == b':') {
            Some(at) => {
                let id = String::from_utf8_lossy(&line[..at]).into_owned();
                let secret = String::from_utf8_lossy(&line[at + 1..]).into_owned();
                builder = builder.secret(id.as_str(), secret.as_str());
                plain = plain.secret(id.as_str(), PLAIN);
                (id, secret)
            }
            None => {
                let secret = String::from_utf8_lossy(line).into_owned();
                builder = builder.secrets([secret.as_str()]);
                plain = plain.secrets([PLAIN]);
                (ids.len().to_string(), secret)
            }
        };
        ids.push(id);
        secrets.push(secret);
    }
    assert_eq!(
        format!("{builder:?}"),
        format!("{plain:?}"),
        "Debug shows a secret"
    );
    let clock = fixed_time(now);
    if let Some(time) = clock {
        builder = builder.clock(move || time);
    }

    let signers: Vec<Result<Signer, ConfigError>> = secrets
        .iter()
        .map(|secret| Signer::new(scheme(name), secret))
        .collect();
    let plain_signer = format!("{:?}", Signer::new(scheme(name), PLAIN).expect("plain"));
    for signer in signers.iter().flatten() {
        assert_eq!(format!("{signer:?}"), plain_signer, "Debug shows a secret");
    }
    let duplicate = ids
        .iter()
        .enumerate()
        .any(|(at, id)| ids[..at].contains(id));

    let verifier = match builder.build() {
        Ok(verifier) => verifier,
        Err(error) => {
            match &error {
                ConfigError::NoSecrets => assert!(secrets.is_empty()),
                ConfigError::DuplicateKeyId { key_id } => {
                    assert!(
                        ids.iter().filter(|id| *id == key_id).count() > 1,
                        "{error:?}"
                    );
                }
                ConfigError::EmptySecret { key_id } => assert!(
                    ids.iter().zip(&signers).any(|(id, signer)| id == key_id
                        && matches!(signer, Err(ConfigError::EmptySecret { .. }))),
                    "{error:?}"
                ),
                ConfigError::InvalidSecret { .. } => assert!(
                    signers
                        .iter()
                        .any(|signer| matches!(signer, Err(ConfigError::InvalidSecret { .. }))),
                    "{error:?}"
                ),
                other => panic!("unexpected {other:?}"),
            }
            assert!(
                secrets.is_empty() || duplicate || signers.iter().any(Result::is_err),
                "refused a valid keyring: {error:?}"
            );
            return;
        }
    };
    assert!(
        !secrets.is_empty() && !duplicate,
        "built an invalid keyring"
    );
    let signers: Vec<Signer> = signers
        .into_iter()
        .map(|signer| signer.expect("a built keyring's secrets sign"))
        .collect();
    assert!(
        verifier
            .key_ids()
            .map(|id| id.as_str())
            .eq(ids.iter().map(String::as_str))
    );
    assert_eq!(verifier.tolerance(), tolerance);
    assert!(format!("{verifier:?}").contains(name));

    let body = Bytes::copy_from_slice(input.body);
    if clock.is_none() || !(0..=MAX_TIMESTAMP).contains(&now) {
        // Only that nothing panics: the clock is the system's, or no scheme can sign
        // at now (then the verifier compares its clock with the nearest signable time).
        let timestamp = now.clamp(0, MAX_TIMESTAMP);
        let headers = signers[0]
            .sign(&body, timestamp, "evt_1")
            .expect("valid headers");
        let _ = verifier.verify(&headers, &body);
        return;
    }
    for signer in &signers {
        let headers = signer.sign(&body, now, "evt_1").expect("valid headers");
        // The first key with the same decoded secret signs the same headers.
        let matched = signers
            .iter()
            .position(|other| other.sign(&body, now, "evt_1").expect("valid headers") == headers)
            .expect("itself");
        let delivery = verifier
            .verify(&headers, &body)
            .unwrap_or_else(|rejection| panic!("refused a signed delivery: {rejection:?}"));
        assert_eq!(delivery.key_id().as_str(), ids[matched]);
        if delivery.timestamp().is_none() {
            continue;
        }
        assert_eq!(delivery.timestamp(), Some(now));
        let tolerance = i64::try_from(tolerance.as_secs()).unwrap_or(i64::MAX);
        for (timestamp, inside) in [
            (now.checked_sub(tolerance), true),
            (now.checked_add(tolerance), true),
            (
                now.checked_sub(tolerance).and_then(|t| t.checked_sub(1)),
                false,
            ),
            (
                now.checked_add(tolerance).and_then(|t| t.checked_add(1)),
                false,
            ),
        ] {
            let Some(timestamp) = timestamp.filter(|t| (0..=MAX_TIMESTAMP).contains(t)) else {
                continue;
            };
            let headers = signer
                .sign(&body, timestamp, "evt_1")
                .expect("valid headers");
            let outcome = verifier.verify(&headers, &body);
            if inside {
                assert!(outcome.is_ok(), "refused at the tolerance: {outcome:?}");
            } else {
                assert!(
                    matches!(
                        outcome,
                        Err(SignatureRejection::TimestampOutOfTolerance { .. })
                    ),
                    "accepted past the tolerance: {outcome:?}"
                );
            }
        }
    }
});
