//! What must be refused, scheme by scheme, and the edges that must still pass.
//!
//! Every check goes through `Verifier::verify` with a clock frozen at `NOW`, and asserts
//! the status and machine-readable code a sender would see.

mod common;

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue};
use webhook_core::VerifiedDelivery;
use webhook_signature::scheme::{
    GenericHmac, HopNow, Scheme, StandardWebhooks, Stripe, by_name, encode_base64,
};
use webhook_signature::{ConfigError, SignatureRejection, Signer, Verifier};

use common::{
    answer, base64_encoded, clock_at, presented, presented_tag, set, sign, signature_header,
};

const NOW: i64 = 1_700_000_000;
const BODY: &[u8] = br#"{"id":"evt_neg","type":"negative.test"}"#;
const ID: &str = "evt_neg";

fn scheme(name: &str) -> Box<dyn Scheme> {
    by_name(name).unwrap()
}

fn secret(name: &str) -> &'static str {
    match name {
        "standard" => "whsec_YSBTdGFuZGFyZCBXZWJob29rcyB0ZXN0IGtleSE=",
        _ => "the configured secret",
    }
}

/// A secret nobody configured, of the right form.
fn stranger(name: &str) -> &'static str {
    match name {
        // base64 of "someone else's key"
        "standard" => "whsec_c29tZW9uZSBlbHNlJ3Mga2V5",
        _ => "someone else's secret",
    }
}

fn names() -> &'static [&'static str] {
    &common::CODED
}

fn timestamped(name: &str) -> bool {
    matches!(name, "stripe" | "standard" | "slack")
}

fn verifier(name: &str, now: i64) -> Verifier {
    Verifier::builder(scheme(name))
        .secret("k1", secret(name))
        .clock(clock_at(now))
        .build()
        .unwrap()
}

fn verify(
    name: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<VerifiedDelivery, SignatureRejection> {
    verifier(name, NOW).verify(headers, &Bytes::copy_from_slice(body))
}

/// Headers a real sender would attach to `BODY` at `NOW`.
fn signed(name: &str) -> HeaderMap {
    sign(scheme(name), secret(name), BODY, NOW, ID)
}

/// `headers` with the signature replaced by `text`, framed the way the scheme frames it.
fn with_signature(name: &str, headers: &HeaderMap, text: &str) -> HeaderMap {
    let framed = match name {
        "github" => format!("sha256={text}"),
        "stripe" => format!("t={NOW},v1={text}"),
        "standard" => format!("v1,{text}"),
        "slack" => format!("v0={text}"),
        _ => text.to_owned(),
    };
    let mut headers = headers.clone();
    set(&mut headers, signature_header(name), &framed);
    headers
}

fn encode(name: &str, tag: &[u8]) -> String {
    if base64_encoded(name) {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(tag)
    } else {
        hex::encode(tag)
    }
}

#[track_caller]
fn assert_refused(
    name: &str,
    result: Result<VerifiedDelivery, SignatureRejection>,
    expected: (u16, &str),
) {
    match result {
        Ok(delivery) => panic!("{name}: accepted {delivery:?}, expected {expected:?}"),
        Err(rejection) => assert_eq!(answer(&rejection), expected, "{name}: {rejection}"),
    }
}

#[test]
fn the_valid_delivery_used_below_verifies_for_every_scheme() {
    for &name in names() {
        let delivery = verify(name, &signed(name), BODY).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(delivery.scheme(), name);
        assert_eq!(delivery.key_id().as_str(), "k1");
        assert_eq!(delivery.body(), BODY);
    }
}

// --- Malformed signatures -----------------------------------------------------------

#[test]
fn svix_1190_bare_version_prefix_is_refused() {
    // svix#1190: a verifier that compared up to the shorter length let `v1,` (an empty
    // signature) pass. Every scheme's bare framing must be refused before comparing.
    for &name in names() {
        let headers = with_signature(name, &signed(name), "");
        assert_refused(
            name,
            verify(name, &headers, BODY),
            (400, "malformed_signature"),
        );
    }
    // The Standard Webhooks spelling, under both header families, and inside a list.
    let mut headers = signed("standard");
    for bare in ["v1,", "v1, ", " v1,"] {
        set(&mut headers, "webhook-signature", bare);
        assert_refused(
            "standard",
            verify("standard", &headers, BODY),
            (400, "malformed_signature"),
        );
    }
    let mut svix = HeaderMap::new();
    for (name, value) in signed("standard") {
        let name = name.unwrap().as_str().replace("webhook-", "svix-");
        set(&mut svix, &name, value.to_str().unwrap());
    }
    set(&mut svix, "svix-signature", "v1,");
    assert_refused(
        "svix",
        verify("standard", &svix, BODY),
        (400, "malformed_signature"),
    );
    // Stripe: `v1=` with nothing after it, beside a timestamp.
    let mut headers = signed("stripe");
    set(&mut headers, "stripe-signature", &format!("t={NOW},v1="));
    assert_refused(
        "stripe",
        verify("stripe", &headers, BODY),
        (400, "malformed_signature"),
    );
}

#[test]
fn svix_1190_prefix_of_the_valid_signature_is_refused() {
    // The same attack with a non-empty prefix: the first character, the first byte, half.
    for &name in names() {
        let headers = signed(name);
        let valid = presented(name, &headers);
        for len in [1, 2, 4, valid.len() / 2] {
            let forged = with_signature(name, &headers, &valid[..len]);
            assert_refused(
                name,
                verify(name, &forged, BODY),
                (400, "malformed_signature"),
            );
        }
    }
}

#[test]
fn truncated_signature_is_refused() {
    for &name in names() {
        let headers = signed(name);
        let valid = presented(name, &headers);
        let mut cuts = vec![valid.len() - 1, valid.len() - 2];
        if base64_encoded(name) {
            // Without its `=` padding.
            cuts.push(valid.trim_end_matches('=').len());
        }
        for cut in cuts {
            let forged = with_signature(name, &headers, &valid[..cut]);
            assert_refused(
                name,
                verify(name, &forged, BODY),
                (400, "malformed_signature"),
            );
        }
    }
}

#[test]
fn wrong_length_signature_is_refused() {
    for &name in names() {
        let headers = signed(name);
        let tag = presented_tag(name, &headers);
        let mut longer = tag.to_vec();
        longer.push(0);
        let shorter = &tag[..31];
        // 31 and 33 bytes: in base64 both are 44 characters, the length of a real tag,
        // so only the decoded length can tell them apart.
        for wrong in [&longer[..], shorter, &[0u8; 64][..], &[0u8; 16][..]] {
            let forged = with_signature(name, &headers, &encode(name, wrong));
            assert_refused(
                name,
                verify(name, &forged, BODY),
                (400, "malformed_signature"),
            );
        }
        // The valid signature followed by more text.
        let valid = presented(name, &headers);
        let forged = with_signature(name, &headers, &format!("{valid}00"));
        assert_refused(
            name,
            verify(name, &forged, BODY),
            (400, "malformed_signature"),
        );
    }
}

#[test]
fn wrong_encoding_is_refused() {
    for &name in names() {
        let headers = signed(name);
        let tag = presented_tag(name, &headers);
        let (hex_text, base64_text) = (hex::encode(tag), encode_base64(&tag));
        let wrong: Vec<String> = if base64_encoded(name) {
            // The right tag in hex; base64 with characters outside the alphabet.
            vec![
                hex_text,
                "!".repeat(44),
                format!("{}*=", &base64_text[..42]),
            ]
        } else {
            // The right tag in base64; 64 characters that are not hex; hex with a `0x`.
            vec![
                base64_text,
                "g".repeat(64),
                format!("0x{}", &hex_text[..62]),
            ]
        };
        for text in wrong {
            let forged = with_signature(name, &headers, &text);
            assert_refused(
                name,
                verify(name, &forged, BODY),
                (400, "malformed_signature"),
            );
        }
    }
    // URL-safe base64 is not the standard alphabet. The Standard Webhooks reference
    // signature holds both `+` and `/`.
    let reference = "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
    let url_safe = reference.replace('+', "-").replace('/', "_");
    assert_ne!(url_safe, reference);
    let headers = with_signature("standard", &signed("standard"), &url_safe);
    assert_refused(
        "standard",
        verify("standard", &headers, BODY),
        (400, "malformed_signature"),
    );
}

#[test]
fn signature_header_that_is_not_visible_ascii_is_refused() {
    for &name in names() {
        let mut headers = signed(name);
        headers.insert(
            signature_header(name),
            HeaderValue::from_bytes(b"v1,\xff\xfe").unwrap(),
        );
        assert_refused(
            name,
            verify(name, &headers, BODY),
            (400, "malformed_header"),
        );
    }
}

#[test]
fn wrong_framing_is_refused() {
    // GitHub's legacy `sha1=` prefix, Slack's unknown versions, a bare hex for GitHub.
    let headers = signed("github");
    let valid = presented("github", &headers);
    for framed in [
        format!("sha1={valid}"),
        valid.clone(),
        format!("SHA256={valid}"),
    ] {
        let mut forged = headers.clone();
        set(&mut forged, "x-hub-signature-256", &framed);
        assert_refused(
            "github",
            verify("github", &forged, BODY),
            (400, "malformed_signature"),
        );
    }
    let headers = signed("slack");
    let valid = presented("slack", &headers);
    let mut forged = headers.clone();
    set(&mut forged, "x-slack-signature", &format!("v1={valid}"));
    assert_refused(
        "slack",
        verify("slack", &forged, BODY),
        (400, "malformed_signature"),
    );
}

// --- Missing and conflicting headers ------------------------------------------------

#[test]
fn missing_signature_header_is_refused() {
    for &name in names() {
        let mut headers = signed(name);
        headers.remove(signature_header(name));
        assert_refused(
            name,
            verify(name, &headers, BODY),
            (401, "missing_signature"),
        );
        assert_refused(
            name,
            verify(name, &HeaderMap::new(), BODY),
            (401, "missing_signature"),
        );
    }
}

#[test]
fn missing_timestamp_or_id_header_is_refused() {
    let mut headers = signed("slack");
    headers.remove("x-slack-request-timestamp");
    assert_refused(
        "slack",
        verify("slack", &headers, BODY),
        (400, "missing_header"),
    );

    for removed in ["webhook-timestamp", "webhook-id"] {
        let mut headers = signed("standard");
        headers.remove(removed);
        assert_refused(
            "standard",
            verify("standard", &headers, BODY),
            (400, "missing_header"),
        );
    }

    let mut headers = signed("stripe");
    let valid = presented("stripe", &headers);
    set(&mut headers, "stripe-signature", &format!("v1={valid}"));
    assert_refused(
        "stripe",
        verify("stripe", &headers, BODY),
        (400, "malformed_header"),
    );
}

#[test]
fn malformed_timestamp_is_refused() {
    for bad in [
        "",
        "abc",
        "-1",
        "1.5e9",
        "0x6553f100",
        "99999999999999999999",
    ] {
        let mut headers = signed("slack");
        set(&mut headers, "x-slack-request-timestamp", bad);
        assert_refused(
            "slack",
            verify("slack", &headers, BODY),
            (400, "malformed_header"),
        );

        let mut headers = signed("standard");
        set(&mut headers, "webhook-timestamp", bad);
        assert_refused(
            "standard",
            verify("standard", &headers, BODY),
            (400, "malformed_header"),
        );

        let mut headers = signed("stripe");
        let valid = presented("stripe", &headers);
        set(
            &mut headers,
            "stripe-signature",
            &format!("t={bad},v1={valid}"),
        );
        assert_refused(
            "stripe",
            verify("stripe", &headers, BODY),
            (400, "malformed_header"),
        );
    }
    // Two `t=` items, even equal ones.
    let mut headers = signed("stripe");
    let valid = presented("stripe", &headers);
    set(
        &mut headers,
        "stripe-signature",
        &format!("t={NOW},t={NOW},v1={valid}"),
    );
    assert_refused(
        "stripe",
        verify("stripe", &headers, BODY),
        (400, "malformed_header"),
    );
}

#[test]
fn conflicting_duplicate_signature_header_is_refused() {
    for &name in names() {
        // The second copy is a valid signature by another configured-looking key: the
        // first copy is genuine, yet two different values must not be resolved by
        // picking one.
        let genuine = signed(name);
        let other = sign(scheme(name), stranger(name), BODY, NOW, ID);
        let mut headers = genuine.clone();
        headers.append(
            signature_header(name),
            other[signature_header(name)].clone(),
        );
        assert_refused(
            name,
            verify(name, &headers, BODY),
            (400, "conflicting_headers"),
        );

        // Identical copies are one value.
        let mut headers = genuine.clone();
        headers.append(
            signature_header(name),
            genuine[signature_header(name)].clone(),
        );
        verify(name, &headers, BODY).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn conflicting_duplicate_timestamp_or_id_header_is_refused() {
    for (name, header) in [
        ("slack", "x-slack-request-timestamp"),
        ("standard", "webhook-timestamp"),
        ("standard", "webhook-id"),
        ("github", "x-github-delivery"),
        ("shopify", "x-shopify-webhook-id"),
    ] {
        let mut headers = signed(name);
        headers.append(header, HeaderValue::from_static("1700000001"));
        assert_refused(
            name,
            verify(name, &headers, BODY),
            (400, "conflicting_headers"),
        );
    }
}

// --- Several signatures in one header -----------------------------------------------

#[test]
fn one_valid_stripe_v1_among_several_passes() {
    let headers = signed("stripe");
    let valid = presented("stripe", &headers);
    let rolled = presented("stripe", &sign(Stripe, stranger("stripe"), BODY, NOW, ""));
    let junk = "5".repeat(64);
    for value in [
        format!("t={NOW},v1={rolled},v1={valid}"),
        format!("t={NOW},v1={valid},v1={rolled}"),
        format!("v1={junk},t={NOW},v0={junk},v1={valid}"),
        format!("t={NOW}, v1={rolled}, v1={valid}"),
    ] {
        let mut several = headers.clone();
        set(&mut several, "stripe-signature", &value);
        verify("stripe", &several, BODY).unwrap_or_else(|e| panic!("{value}: {e}"));
    }
    // None of several matches.
    let mut none = headers.clone();
    set(
        &mut none,
        "stripe-signature",
        &format!("t={NOW},v1={rolled},v1={junk}"),
    );
    assert_refused(
        "stripe",
        verify("stripe", &none, BODY),
        (401, "signature_mismatch"),
    );
    // Only a legacy `v0`: no signature this scheme checks.
    let mut legacy = headers.clone();
    set(
        &mut legacy,
        "stripe-signature",
        &format!("t={NOW},v0={valid}"),
    );
    assert_refused(
        "stripe",
        verify("stripe", &legacy, BODY),
        (401, "missing_signature"),
    );
}

#[test]
fn one_valid_standard_webhooks_signature_in_a_space_separated_list_passes() {
    let headers = signed("standard");
    let valid = presented("standard", &headers);
    let other = presented(
        "standard",
        &sign(StandardWebhooks, stranger("standard"), BODY, NOW, ID),
    );
    for value in [
        format!("v1,{other} v1,{valid}"),
        format!("v1,{valid} v1,{other}"),
        format!("v1a,{other} v1,{valid}"),
        format!("v1,{other}  v2,{other}\tv1,{valid}"),
    ] {
        let mut several = headers.clone();
        set(&mut several, "webhook-signature", &value);
        verify("standard", &several, BODY).unwrap_or_else(|e| panic!("{value}: {e}"));
    }
    let mut none = headers.clone();
    set(
        &mut none,
        "webhook-signature",
        &format!("v1,{other} v1,{other}"),
    );
    assert_refused(
        "standard",
        verify("standard", &none, BODY),
        (401, "signature_mismatch"),
    );
    // Only other versions: nothing this scheme checks.
    set(
        &mut none,
        "webhook-signature",
        &format!("v1a,{valid} v2,{valid}"),
    );
    assert_refused(
        "standard",
        verify("standard", &none, BODY),
        (401, "missing_signature"),
    );
}

// --- Replay tolerance ---------------------------------------------------------------

#[test]
fn timestamp_exactly_at_the_tolerance_passes_and_one_second_past_fails_both_ways() {
    for &name in names().iter().filter(|&&name| timestamped(name)) {
        let headers = signed(name); // signed at NOW
        for (now, ok) in [
            (NOW + 300, true),  // 300 s old
            (NOW + 301, false), // 301 s old
            (NOW - 300, true),  // 300 s in the future
            (NOW - 301, false), // 301 s in the future
        ] {
            let result = verifier(name, now).verify(&headers, &Bytes::from_static(BODY));
            match (ok, result) {
                (true, Ok(delivery)) => assert_eq!(delivery.timestamp(), Some(NOW)),
                (
                    false,
                    Err(SignatureRejection::TimestampOutOfTolerance {
                        skew_seconds,
                        tolerance_seconds,
                    }),
                ) => {
                    assert_eq!(skew_seconds, now - NOW, "{name}");
                    assert_eq!(tolerance_seconds, 300);
                }
                (ok, result) => panic!("{name} at now={now}: expected ok={ok}, got {result:?}"),
            }
        }
    }
}

#[test]
fn a_custom_tolerance_is_enforced_inclusively() {
    for &name in names().iter().filter(|&&name| timestamped(name)) {
        let headers = signed(name);
        for (tolerance, offset, ok) in
            [(10, 10, true), (10, 11, false), (0, 0, true), (0, 1, false)]
        {
            for now in [NOW + offset, NOW - offset] {
                let verifier = Verifier::builder(scheme(name))
                    .secret("k1", secret(name))
                    .tolerance(Duration::from_secs(tolerance))
                    .clock(clock_at(now))
                    .build()
                    .unwrap();
                let result = verifier.verify(&headers, &Bytes::from_static(BODY));
                assert_eq!(
                    result.is_ok(),
                    ok,
                    "{name}: tolerance {tolerance}, now {now}: {result:?}"
                );
                if let Err(rejection) = result {
                    assert_eq!(answer(&rejection), (401, "timestamp_out_of_tolerance"));
                }
            }
        }
    }
}

#[test]
fn a_replayed_delivery_is_refused_only_by_schemes_that_sign_a_timestamp() {
    // A replay a day later: the signature is genuine, the time is not.
    for &name in names().iter().filter(|&&name| timestamped(name)) {
        let result = verifier(name, NOW + 86_400).verify(&signed(name), &Bytes::from_static(BODY));
        assert_refused(name, result, (401, "timestamp_out_of_tolerance"));
    }
    // Schemes that sign no timestamp do not look at the clock.
    for &name in names().iter().filter(|&&name| !timestamped(name)) {
        let delivery =
            verifier(name, NOW + 86_400 * 365).verify(&signed(name), &Bytes::from_static(BODY));
        assert_eq!(delivery.unwrap().timestamp(), None, "{name}");
    }
}

// --- Bodies -------------------------------------------------------------------------

#[test]
fn empty_and_non_utf8_bodies_verify_like_any_other() {
    let bodies: [&[u8]; 3] = [b"", b"\xff\xfe\x00\x80 not UTF-8 \xc3\x28", &[0u8; 1]];
    for &name in names() {
        for body in bodies {
            let headers = sign(scheme(name), secret(name), body, NOW, ID);
            let delivery =
                verify(name, &headers, body).unwrap_or_else(|e| panic!("{name} {body:?}: {e}"));
            assert_eq!(delivery.body(), body);
            // And they are bound to their signature like any other body.
            let other: &[u8] = if body.is_empty() { b" " } else { b"" };
            assert_refused(
                name,
                verify(name, &headers, other),
                (401, "signature_mismatch"),
            );
        }
    }
}

// --- Keys ---------------------------------------------------------------------------

#[test]
fn a_signature_by_an_unknown_key_is_a_signature_mismatch() {
    for &name in names() {
        let headers = sign(scheme(name), stranger(name), BODY, NOW, ID);
        assert_refused(
            name,
            verify(name, &headers, BODY),
            (401, "signature_mismatch"),
        );
    }
}

#[test]
fn key_rotation_accepts_old_and_new_and_names_the_one_that_matched() {
    for &name in names() {
        let verifier = Verifier::builder(scheme(name))
            .secret("2025-11", secret(name))
            .secret("2025-05", stranger(name))
            .clock(clock_at(NOW))
            .build()
            .unwrap();
        assert_eq!(
            verifier.key_ids().map(|id| id.as_str()).collect::<Vec<_>>(),
            ["2025-11", "2025-05"]
        );
        for (key_secret, key_id) in [(secret(name), "2025-11"), (stranger(name), "2025-05")] {
            let headers = sign(scheme(name), key_secret, BODY, NOW, ID);
            let delivery = verifier
                .verify(&headers, &Bytes::from_static(BODY))
                .unwrap();
            assert_eq!(delivery.key_id().as_str(), key_id, "{name}");
        }
        // Once the old key is retired, its deliveries stop verifying.
        let retired = verifier_with_only(name, secret(name));
        let headers = sign(scheme(name), stranger(name), BODY, NOW, ID);
        assert_refused(
            name,
            retired.verify(&headers, &Bytes::from_static(BODY)),
            (401, "signature_mismatch"),
        );
    }
}

fn verifier_with_only(name: &str, key: &str) -> Verifier {
    Verifier::builder(scheme(name))
        .secret("only", key)
        .clock(clock_at(NOW))
        .build()
        .unwrap()
}

#[test]
fn positional_secrets_are_named_by_position() {
    let verifier = Verifier::builder(HopNow)
        .secrets(["first", "second"])
        .build()
        .unwrap();
    let headers = sign(HopNow, "second", BODY, 0, "");
    let delivery = verifier
        .verify(&headers, &Bytes::from_static(BODY))
        .unwrap();
    assert_eq!(delivery.key_id().as_str(), "1");
}

// --- Configuration refused at build time --------------------------------------------

#[test]
fn empty_keyring_is_refused_at_build() {
    for &name in names() {
        let error = Verifier::builder(scheme(name)).build().unwrap_err();
        assert_eq!(error, ConfigError::NoSecrets, "{name}");
        assert!(
            Verifier::builder(scheme(name))
                .secrets(Vec::<String>::new())
                .build()
                .is_err()
        );
    }
}

#[test]
fn empty_secret_is_refused_at_build() {
    for &name in names() {
        let error = Verifier::builder(scheme(name))
            .secret("good", secret(name))
            .secret("blank", "")
            .build()
            .unwrap_err();
        assert_eq!(
            error,
            ConfigError::EmptySecret {
                key_id: "blank".into()
            },
            "{name}"
        );
        assert!(matches!(
            Signer::new(scheme(name), ""),
            Err(ConfigError::EmptySecret { .. })
        ));
    }
    // `whsec_` with nothing after it decodes to no key at all.
    let error = Verifier::builder(StandardWebhooks)
        .secret("k", "whsec_")
        .build()
        .unwrap_err();
    assert_eq!(error, ConfigError::EmptySecret { key_id: "k".into() });
}

#[test]
fn duplicate_key_id_is_refused_at_build() {
    let error = Verifier::builder(HopNow)
        .secret("current", "one")
        .secret("current", "two")
        .build()
        .unwrap_err();
    assert_eq!(
        error,
        ConfigError::DuplicateKeyId {
            key_id: "current".into()
        }
    );
    // Positional ids collide with explicit ones too.
    let error = Verifier::builder(HopNow)
        .secret("1", "one")
        .secrets(["two"])
        .build()
        .unwrap_err();
    assert_eq!(error, ConfigError::DuplicateKeyId { key_id: "1".into() });
}

#[test]
fn bad_whsec_secret_is_refused_at_build_without_echoing_it() {
    for bad in [
        "whsec_not*base64!",
        "whsec_YWJj=YWJj",
        "plain words are not base64",
    ] {
        let error = Verifier::builder(StandardWebhooks)
            .secret("k", bad)
            .build()
            .unwrap_err();
        assert!(
            matches!(error, ConfigError::InvalidSecret { .. }),
            "{bad}: {error:?}"
        );
        let shown = format!("{error} {error:?}");
        assert!(!shown.contains(bad.trim_start_matches("whsec_")), "{shown}");
        assert!(matches!(
            Signer::new(StandardWebhooks, bad),
            Err(ConfigError::InvalidSecret { .. })
        ));
    }
}

#[test]
fn inconsistent_generic_scheme_is_refused_at_build() {
    let header = http::HeaderName::from_static("x-sig");
    for template in [
        "{timestamp}.{body}",
        "{id}.{body}",
        "{body}.{unknown}",
        "{body}{body}",
        "no body",
    ] {
        let error = GenericHmac::builder("acme", header.clone())
            .signed_content(template)
            .build()
            .unwrap_err();
        assert!(
            matches!(error, ConfigError::InvalidScheme { .. }),
            "{template}"
        );
    }
}

/// An injected clock at the very edge of `SystemTime` would compute `-(i64::MIN)`,
/// which panics in debug builds: the clock reading saturates, and the delivery is
/// refused as out of tolerance.
#[test]
fn a_clock_at_the_edge_of_time_refuses_instead_of_panicking() {
    use std::time::UNIX_EPOCH;
    let body = b"{}";
    let headers = Signer::new(Stripe, "whsec_test")
        .unwrap()
        .sign(body, 0, "")
        .unwrap();
    for (edge, distance) in [
        (
            UNIX_EPOCH.checked_sub(Duration::from_secs(1 << 63)),
            "before",
        ),
        (
            UNIX_EPOCH.checked_add(Duration::from_secs(u64::MAX >> 1)),
            "after",
        ),
    ] {
        let Some(edge) = edge else { continue };
        let verifier = Verifier::builder(Stripe)
            .secret("k", "whsec_test")
            .clock(move || edge)
            .build()
            .unwrap();
        let rejection = verifier
            .verify(&headers, &Bytes::from_static(body))
            .unwrap_err();
        assert!(
            matches!(
                rejection,
                SignatureRejection::TimestampOutOfTolerance { .. }
            ),
            "{distance}: {rejection:?}"
        );
    }
}
