//! The mock event builder: the envelope, and deliveries signed for every scheme with
//! the negative options, checked by the real `Verifier`.

use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request};
use http_body_util::Full;
use serde_json::{Value, json};
use sha2::Digest as _;
use webhook_core::Rejection;
use webhook_core::envelope::Member;
use webhook_signature::scheme::{self, Algorithm, Mailgun, NAMES, PROVIDERS, Provider, Scheme};
use webhook_signature::{SignatureRejection, Verifier};
use webhook_testing::{Created, MockDelivery, MockError, MockEvent, TestKeyPair};

const T: i64 = 1_700_000_000;
const STANDARD_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// Where every mock delivery goes: the schemes that sign the URL sign this one.
const URL: &str = "https://hooks.example.com/webhooks/in?shop=1";
/// What each receiver configures as its public URL.
const PUBLIC_URL: &str = "https://hooks.example.com";

/// The receiver's keys, in the keyring's order, and a sender's who holds neither.
#[derive(Clone, Copy)]
enum Holder {
    Old,
    Current,
    Stranger,
}

/// What a holder signs with and the receiver verifies with.
enum Key {
    Secret(&'static str),
    Pair(TestKeyPair),
}

fn provider(name: &str) -> &'static Provider {
    Provider::find(name).unwrap()
}

fn scheme(name: &str) -> Box<dyn Scheme> {
    scheme::by_name(name).unwrap()
}

fn key(name: &str, holder: Holder) -> Key {
    let algorithm = provider(name).algorithm;
    if !algorithm.is_hmac() {
        return Key::Pair(TestKeyPair::new(algorithm, holder as u8).unwrap());
    }
    Key::Secret(match (name == "standard", holder) {
        (true, Holder::Old) => "whsec_b2xkLXNlY3JldA==",
        (true, Holder::Current) => STANDARD_SECRET,
        (true, Holder::Stranger) => "whsec_YW5vdGhlciBrZXk=",
        (false, Holder::Old) => "old",
        (false, Holder::Current) => "the-right-secret",
        (false, Holder::Stranger) => "another key",
    })
}

fn verifier(name: &str) -> Verifier {
    let mut builder = Verifier::builder(scheme(name));
    for (key_id, holder) in [("old", Holder::Old), ("current", Holder::Current)] {
        builder = match key(name, holder) {
            Key::Secret(secret) => builder.secret(key_id, secret),
            Key::Pair(pair) => builder.public_key(key_id, pair.public_key()),
        };
    }
    builder
        .public_url(PUBLIC_URL)
        .clock(|| UNIX_EPOCH + Duration::from_secs(T as u64))
        .build()
        .unwrap()
}

fn event() -> MockEvent {
    MockEvent::new("payout.completed")
        .id("evt_42")
        .created(T - 10)
        .data(json!({"payout_id": "po_1", "amount": 1200}))
}

/// The event signed by `holder` for provider `name`, at `T`, to [`URL`].
fn signed_by(name: &str, holder: Holder) -> MockDelivery {
    signed(name, holder, event())
}

fn signed(name: &str, holder: Holder, mut event: MockEvent) -> MockDelivery {
    if name == "linear" {
        // Linear sends the time it signs in the body, not in a header.
        event = event.member("webhookTimestamp", json!(T * 1000));
    }
    let delivery = match key(name, holder) {
        Key::Secret(secret) => event.sign(scheme(name), secret),
        Key::Pair(pair) => event.sign_with_private_key(scheme(name), pair.private_key()),
    };
    delivery.timestamp(T).uri(URL)
}

fn delivery(name: &str) -> MockDelivery {
    signed_by(name, Holder::Current)
}

/// Verifies the request `delivery` renders, as a receiver would.
fn verify(
    name: &str,
    delivery: &MockDelivery,
) -> Result<webhook_core::VerifiedDelivery, SignatureRejection> {
    let request: Request<Bytes> = delivery.request().unwrap();
    verifier(name).verify_request(
        request.method(),
        Some(request.uri()),
        request.headers(),
        request.body(),
    )
}

#[test]
fn the_envelope_has_id_type_created_and_data_in_order() {
    let event = MockEvent::new("payout.completed")
        .id("evt_1")
        .created(T)
        .data(json!({"payout_id": "po_1", "note": "caf\u{e9} \"quoted\""}));
    assert_eq!(
        event.body(),
        r#"{"id":"evt_1","type":"payout.completed","created":1700000000,"data":{"note":"café \"quoted\"","payout_id":"po_1"}}"#
    );
    let parsed: Value = serde_json::from_slice(&event.body()).unwrap();
    assert_eq!(parsed, event.to_json());
    assert_eq!(parsed["type"], "payout.completed");

    let text = event
        .clone()
        .created("2025-11-02T10:00:00+01:00".parse::<Created>().unwrap());
    let parsed: Value = serde_json::from_slice(&text.body()).unwrap();
    assert_eq!(parsed["created"], "2025-11-02T10:00:00+01:00");
    assert_eq!(text.created.unix_seconds(), 1_762_074_000);

    let renamed = event.event_type("payout.failed");
    assert_eq!(renamed.to_json()["type"], "payout.failed");
}

#[test]
fn ids_are_generated_when_absent_and_created_defaults_to_now() {
    let before = std::time::SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let a = MockEvent::new("ping");
    let b = MockEvent::new("ping");
    assert!(a.id.starts_with("evt_") && a.id.len() == 36, "{}", a.id);
    assert_ne!(a.id, b.id);
    assert_eq!(a.data, json!({}));
    let created = a.created.unix_seconds();
    assert!(
        (before..before + 60).contains(&created),
        "{created} vs {before}"
    );
    assert!(a.to_json()["created"].is_i64());
}

#[test]
fn created_accepts_unix_seconds_or_rfc3339_and_goes_back_in_the_same_form() {
    assert_eq!("1700000000".parse::<Created>().unwrap(), Created::unix(T));
    assert_eq!(Created::from(T).earlier_by(60), Created::unix(T - 60));
    let text = Created::rfc3339("2025-11-02T10:00:00+01:00").unwrap();
    assert_eq!(
        text.earlier_by(3600).to_string(),
        "2025-11-02T09:00:00+01:00"
    );
    assert_eq!(
        text.earlier_by(3600).unix_seconds(),
        text.unix_seconds() - 3600
    );
    for bad in ["", "yesterday", "2025-11-02", "2025-11-02 10:00:00", "1.5"] {
        let error = bad.parse::<Created>().unwrap_err().to_string();
        assert!(
            error.contains("neither Unix seconds nor an RFC 3339 time"),
            "{bad:?}: {error}"
        );
    }
}

#[test]
fn a_signed_delivery_verifies_for_every_provider() {
    for name in NAMES {
        let delivery = delivery(name);
        let verified = verify(name, &delivery).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(verified.key_id().as_str(), "current", "{name}");
        assert_eq!(verified.scheme(), *name);
        assert_eq!(verified.body(), &delivery.body(), "{name}");
        // The delivery carries the id where the provider's envelope reads it, so the
        // rule the signature layer applies finds it; a provider that sends no id is
        // known by the hash of the body.
        let headers = delivery.headers().unwrap();
        let envelope = scheme::by_name(name).unwrap().envelope();
        let verified = verified.with_envelope(envelope, &headers);
        let expected = match envelope.id_members() {
            [Member::BodyHash, ..] => hex::encode(sha2::Sha256::digest(delivery.body())),
            _ => "evt_42".to_owned(),
        };
        assert_eq!(verified.event_id(), Some(expected.as_str()), "{name}");
        assert!(
            matches!(verified.timestamp(), None | Some(T)),
            "{name}: {:?}",
            verified.timestamp()
        );
    }
    // The original six, exactly.
    for name in ["hopnow", "github", "stripe", "standard", "slack", "shopify"] {
        let verified = verify(name, &delivery(name)).unwrap();
        let carries_id = matches!(name, "github" | "shopify" | "standard");
        assert_eq!(
            verified.event_id(),
            carries_id.then_some("evt_42"),
            "{name}"
        );
        let signs_time = matches!(name, "stripe" | "slack" | "standard");
        assert_eq!(verified.timestamp(), signs_time.then_some(T), "{name}");
    }
}

#[test]
fn every_provider_s_signature_is_in_its_header() {
    for provider in PROVIDERS {
        // In the provider's header, or in the body for Mailgun.
        let (headers, body) = delivery(provider.name).parts().unwrap();
        if provider.signature_header == "body" {
            let body: Value = serde_json::from_slice(&body).unwrap();
            assert!(body["signature"]["signature"].is_string(), "{body}");
            continue;
        }
        assert!(
            headers.contains_key(provider.signature_header),
            "{}: {headers:?}",
            provider.name
        );
    }
}

/// The providers whose signature covers no body: GitLab's secret token, and
/// Mailgun's signature over a timestamp and token.
const SIGN_NO_BODY: &[&str] = &["gitlab", "mailgun"];

#[test]
fn a_tampered_body_is_refused_for_every_provider_that_signs_it() {
    for name in NAMES {
        // A scheme that signs the body signs another body differently.
        let other = signed(
            name,
            Holder::Current,
            event().data(json!({"payout_id": "po_2"})),
        );
        if other.headers().unwrap() == delivery(name).headers().unwrap() {
            assert!(SIGN_NO_BODY.contains(name), "{name} signs no body");
            let tampered = verify(name, &other).unwrap();
            assert_eq!(tampered.body(), &other.body(), "{name}: signs no body");
            continue;
        }
        let request: Request<Bytes> = delivery(name).request().unwrap();
        let (parts, body) = request.into_parts();
        let tampered = String::from_utf8(body.to_vec())
            .unwrap()
            .replace("po_1", "po_2");
        assert_ne!(tampered.as_bytes(), &body[..]);
        let error = verifier(name)
            .verify_request(
                &parts.method,
                Some(&parts.uri),
                &parts.headers,
                &Bytes::from(tampered),
            )
            .unwrap_err();
        assert_eq!(
            (error.status().as_u16(), error.code()),
            (401, "signature_mismatch"),
            "{name}: {error}"
        );
    }
}

#[test]
fn a_corrupted_signature_is_well_formed_but_matches_no_key() {
    for name in NAMES {
        let (valid, valid_body) = delivery(name).parts().unwrap();
        let corrupted = delivery(name).corrupt_signature();
        let (headers, body) = corrupted.parts().unwrap();
        let error = verify(name, &corrupted).unwrap_err();
        assert_eq!(
            (error.status().as_u16(), error.code()),
            (401, "signature_mismatch"),
            "{name}: {error}"
        );
        // Exactly one place differs, in exactly one character: the provider's
        // signature header, or the body for Mailgun.
        let differing: Vec<_> = headers
            .iter()
            .filter(|(header, value)| valid.get(*header) != Some(*value))
            .map(|(header, value)| (header.as_str(), value.as_bytes(), valid[header].as_bytes()))
            .chain((body != valid_body).then_some(("body", &body[..], &valid_body[..])))
            .collect();
        assert_eq!(differing.len(), 1, "{name}: {headers:?}");
        let (place, value, original) = differing[0];
        assert_eq!(place, provider(name).signature_header, "{name}");
        assert_eq!(value.len(), original.len(), "{name}");
        let changes = value.iter().zip(original).filter(|(a, b)| a != b).count();
        assert_eq!(changes, 1, "{name}");
    }
}

#[test]
fn a_shifted_timestamp_is_refused_beyond_the_tolerance_in_both_directions() {
    let mut timed = Vec::new();
    for name in NAMES {
        // The providers that send the time they sign (in a header, or in the body
        // for Mailgun).
        let sent = delivery(name).parts().unwrap();
        if delivery(name).shift_timestamp(1).parts().unwrap() == sent {
            continue;
        }
        timed.push(*name);
        let tolerance = verifier(name).tolerance().as_secs() as i64;
        for shift in [-tolerance, tolerance] {
            verify(name, &delivery(name).shift_timestamp(shift))
                .unwrap_or_else(|e| panic!("{name} {shift}: {e}"));
        }
        for shift in [-tolerance - 1, tolerance + 1] {
            let shifted = delivery(name).shift_timestamp(shift);
            assert_eq!(shifted.signed_timestamp(), T + shift);
            let error = verify(name, &shifted).unwrap_err();
            assert_eq!(error.code(), "timestamp_out_of_tolerance", "{name} {shift}");
        }
    }
    for name in [
        "stripe", "slack", "standard", "paddle", "twitch", "hubspot", "discord", "sendgrid",
        "mailgun",
    ] {
        assert!(timed.contains(&name), "{name}: {timed:?}");
    }
    // Schemes without a signed timestamp ignore it.
    verify("github", &delivery("github").shift_timestamp(-100_000)).unwrap();
}

#[test]
fn another_key_is_refused_and_the_previous_one_still_verifies() {
    for name in NAMES {
        let error = verify(name, &signed_by(name, Holder::Stranger)).unwrap_err();
        assert_eq!(error.code(), "signature_mismatch", "{name}");
        // The previous key of the keyring still verifies, under its own key id.
        let verified = verify(name, &signed_by(name, Holder::Old)).unwrap();
        assert_eq!(verified.key_id().as_str(), "old", "{name}");
        // The same, by switching the key of a delivery.
        let switched = match key(name, Holder::Stranger) {
            Key::Secret(secret) => delivery(name).with_secret(secret),
            Key::Pair(pair) => delivery(name).with_private_key(pair.private_key()),
        };
        let error = verify(name, &switched).unwrap_err();
        assert_eq!(error.code(), "signature_mismatch", "{name}");
    }
}

#[test]
fn an_extra_copy_of_the_signature_header_conflicts() {
    let forged = HeaderValue::from_static(
        "0000000000000000000000000000000000000000000000000000000000000000",
    );
    let delivery =
        delivery("hopnow").header(HeaderName::from_static("x-webhook-signature"), forged);
    let error = verify("hopnow", &delivery).unwrap_err();
    assert_eq!(error.code(), "conflicting_headers");
}

#[test]
fn the_request_is_a_json_post_for_any_body_type() {
    let delivery = delivery("github").uri("/hooks/github").header(
        HeaderName::from_static("x-github-event"),
        HeaderValue::from_static("push"),
    );
    let request: Request<String> = delivery.request().unwrap();
    assert_eq!(request.method(), Method::POST);
    assert_eq!(request.uri(), "/hooks/github");
    assert_eq!(request.headers()["content-type"], "application/json");
    assert_eq!(request.headers()["x-github-event"], "push");
    assert_eq!(request.headers()["x-github-delivery"], "evt_42");
    assert_eq!(request.body().as_bytes(), delivery.body());
    let headers: HeaderMap = request.headers().clone();
    assert_eq!(headers, delivery.headers().unwrap());

    // Other body types.
    let _: Request<Bytes> = delivery.request().unwrap();
    let _: Request<Full<Bytes>> = delivery.request().unwrap();
    let _: Request<axum::body::Body> = delivery.request().unwrap();
    let request: Request<Vec<u8>> = delivery.request().unwrap();
    assert_eq!(request.body(), &delivery.body().to_vec());
}

/// Twilio covers a JSON body by its SHA-256 in the URL; Mailgun signs inside the body.
#[test]
fn deliveries_carry_the_signature_where_their_provider_does() {
    let twilio = delivery("twilio");
    let request: Request<Bytes> = twilio.request().unwrap();
    let hash = hex::encode(sha2::Sha256::digest(request.body()));
    assert_eq!(
        request.uri().to_string(),
        format!("{URL}&bodySHA256={hash}")
    );
    assert_eq!(request.headers()["content-type"], "application/json");
    assert!(request.headers().contains_key("x-twilio-signature"));

    let mailgun = delivery("mailgun");
    let (headers, body) = mailgun.parts().unwrap();
    assert_eq!(headers.len(), 1, "only Content-Type: {headers:?}");
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["id"], "evt_42");
    assert_eq!(body["signature"]["timestamp"], T.to_string());
    assert_eq!(body["signature"]["token"], "evt_42");
    let expected = Mailgun::signature("the-right-secret", &T.to_string(), "evt_42");
    assert_eq!(body["signature"]["signature"], expected.as_str());
    assert_eq!(mailgun.request::<String>().unwrap().uri(), URL);
}

#[test]
fn rendering_errors_are_reported() {
    let bad_secret = MockEvent::new("ping").sign(scheme("standard"), "whsec_not base64!");
    let error = bad_secret.request::<String>().unwrap_err();
    assert!(matches!(error, MockError::Secret(_)), "{error:?}");
    assert!(
        error.to_string().starts_with("cannot sign: invalid secret"),
        "{error}"
    );

    let bad_id = MockEvent::new("ping")
        .id("evt\n1")
        .sign(scheme("standard"), STANDARD_SECRET);
    let error = bad_id.headers().unwrap_err();
    assert!(matches!(error, MockError::Header(_)), "{error:?}");

    let empty = MockEvent::new("ping").sign(scheme("hopnow"), "");
    assert!(matches!(empty.parts(), Err(MockError::Secret(_))));

    let bad_uri = delivery("hopnow").uri("not a uri");
    let error = bad_uri.request::<String>().unwrap_err();
    assert!(matches!(error, MockError::InvalidUri(_)), "{error:?}");
    assert!(
        bad_uri.parts().is_ok(),
        "the URI only matters for a request"
    );
    // ... and for a scheme that signs it.
    let error = delivery("square").uri("not a uri").parts().unwrap_err();
    assert!(matches!(error, MockError::InvalidUri(_)), "{error:?}");

    // A scheme that signs the URL needs an absolute one.
    let error = delivery("square").uri("/webhooks").parts().unwrap_err();
    assert!(matches!(error, MockError::Unsupported(_)), "{error:?}");
    assert!(error.to_string().contains("signs the URL"), "{error}");

    // The key must be of the kind the scheme signs with.
    let pair = TestKeyPair::new(Algorithm::Ed25519, 0).unwrap();
    let error = MockEvent::new("ping")
        .sign_with_private_key(scheme("github"), pair.private_key())
        .parts()
        .unwrap_err();
    assert!(matches!(error, MockError::Secret(_)), "{error:?}");
    let error = MockEvent::new("ping")
        .sign(scheme("discord"), "a shared secret")
        .parts()
        .unwrap_err();
    assert!(matches!(error, MockError::Secret(_)), "{error:?}");
}

#[test]
fn test_key_pairs_are_fixed_distinct_and_in_the_providers_forms() {
    for algorithm in [Algorithm::Ed25519, Algorithm::EcdsaP256Sha256] {
        let pair = TestKeyPair::new(algorithm, 0).unwrap();
        let again = TestKeyPair::new(algorithm, 0).unwrap();
        assert_eq!(pair.public_key(), again.public_key());
        assert_eq!(pair.private_key(), again.private_key());
        assert_eq!(pair.algorithm(), algorithm);
        let other = TestKeyPair::new(algorithm, 1).unwrap();
        assert_ne!(pair.public_key(), other.public_key());
        // Every number makes a valid pair, the P-256 scalar included.
        for index in [2, 0x7f, 0xfe, 0xff] {
            assert!(TestKeyPair::new(algorithm, index).is_some(), "{index}");
        }
    }
    // Discord shows 64 hex characters; SendGrid base64 DER SubjectPublicKeyInfo.
    let ed25519 = TestKeyPair::new(Algorithm::Ed25519, 0).unwrap();
    assert!(ed25519.public_key().bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(ed25519.public_key().len(), 64);
    let p256 = TestKeyPair::new(Algorithm::EcdsaP256Sha256, 0).unwrap();
    assert!(
        p256.public_key()
            .starts_with("MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE"),
        "{}",
        p256.public_key()
    );
    for name in ["discord", "sendgrid"] {
        let pair = TestKeyPair::new(provider(name).algorithm, 0).unwrap();
        scheme(name).decode_public_key(pair.public_key()).unwrap();
        scheme(name).decode_private_key(pair.private_key()).unwrap();
    }
    for algorithm in [
        Algorithm::HmacSha1,
        Algorithm::HmacSha256,
        Algorithm::HmacSha512,
    ] {
        assert!(TestKeyPair::new(algorithm, 0).is_none());
    }
}

#[test]
fn debug_output_never_shows_the_secret() {
    let delivery = MockEvent::new("ping").sign(scheme("hopnow"), "super-secret-value");
    let text = format!("{delivery:?}");
    assert!(!text.contains("super-secret-value"), "{text}");
    assert!(
        text.contains("<redacted>") && text.contains("hopnow"),
        "{text}"
    );

    let pair = TestKeyPair::new(Algorithm::Ed25519, 0).unwrap();
    let delivery =
        MockEvent::new("ping").sign_with_private_key(scheme("discord"), pair.private_key());
    for text in [format!("{delivery:?}"), format!("{pair:?}")] {
        assert!(!text.contains(pair.private_key()), "{text}");
        assert!(text.contains("<redacted>"), "{text}");
    }
    assert!(format!("{pair:?}").contains(pair.public_key()));
}

#[test]
fn a_gitlab_signing_token_delivery_is_corrupted_in_its_standard_signature() {
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let delivery = event().sign(scheme("gitlab"), secret).timestamp(T).uri(URL);
    let (headers, _) = delivery.parts().unwrap();
    assert!(headers.contains_key("webhook-signature"));
    let (corrupted, _) = delivery.corrupt_signature().parts().unwrap();
    assert_ne!(corrupted["webhook-signature"], headers["webhook-signature"]);
    assert_eq!(corrupted["webhook-id"], headers["webhook-id"]);
}
