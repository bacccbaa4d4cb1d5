//! The mock event builder: the envelope, and deliveries signed for every scheme with
//! the negative options, checked by the real `Verifier`.

use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request};
use http_body_util::Full;
use serde_json::{Value, json};
use webhook_core::Rejection;
use webhook_signature::scheme::{self, NAMES, Scheme};
use webhook_signature::{SignatureRejection, Verifier};
use webhook_testing::{Created, MockDelivery, MockError, MockEvent};

const T: i64 = 1_700_000_000;
const STANDARD_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn secret_for(scheme: &str) -> &'static str {
    if scheme == "standard" {
        STANDARD_SECRET
    } else {
        "the-right-secret"
    }
}

fn scheme(name: &str) -> Box<dyn Scheme> {
    scheme::by_name(name).unwrap()
}

fn verifier(name: &str) -> Verifier {
    Verifier::builder(scheme(name))
        .secret(
            "old",
            if name == "standard" {
                "whsec_b2xkLXNlY3JldA=="
            } else {
                "old"
            },
        )
        .secret("current", secret_for(name))
        .clock(|| UNIX_EPOCH + Duration::from_secs(T as u64))
        .build()
        .unwrap()
}

fn delivery(name: &str) -> MockDelivery {
    MockEvent::new("payout.completed")
        .id("evt_42")
        .created(T - 10)
        .data(json!({"payout_id": "po_1", "amount": 1200}))
        .sign(scheme(name), secret_for(name))
        .timestamp(T)
}

fn verify(
    name: &str,
    delivery: &MockDelivery,
) -> Result<webhook_core::VerifiedDelivery, SignatureRejection> {
    let (headers, body) = delivery.parts().unwrap();
    verifier(name).verify(&headers, &body)
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
fn a_signed_delivery_verifies_for_every_scheme() {
    for name in NAMES {
        let delivery = delivery(name);
        let verified = verify(name, &delivery).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(verified.key_id().as_str(), "current", "{name}");
        assert_eq!(verified.body(), &delivery.event().body(), "{name}");
        let carries_id = matches!(*name, "github" | "shopify" | "standard");
        assert_eq!(
            verified.event_id(),
            carries_id.then_some("evt_42"),
            "{name}"
        );
        let signs_time = matches!(*name, "stripe" | "slack" | "standard");
        assert_eq!(verified.timestamp(), signs_time.then_some(T), "{name}");
    }
}

#[test]
fn a_corrupted_signature_is_well_formed_but_matches_no_key() {
    for name in NAMES {
        let valid = delivery(name).headers().unwrap();
        let corrupted = delivery(name).corrupt_signature();
        let headers = corrupted.headers().unwrap();
        let error = verify(name, &corrupted).unwrap_err();
        assert_eq!(
            (error.status().as_u16(), error.code()),
            (401, "signature_mismatch"),
            "{name}: {error}"
        );
        // Exactly one header differs, in exactly one character.
        let differing: Vec<_> = headers
            .iter()
            .filter(|(header, value)| valid.get(*header) != Some(*value))
            .collect();
        assert_eq!(differing.len(), 1, "{name}: {headers:?}");
        let (header, value) = differing[0];
        let original = valid[header].as_bytes();
        assert_eq!(value.len(), original.len(), "{name}");
        let changes = value
            .as_bytes()
            .iter()
            .zip(original)
            .filter(|(a, b)| a != b)
            .count();
        assert_eq!(changes, 1, "{name}");
    }
}

#[test]
fn a_shifted_timestamp_is_refused_beyond_the_tolerance_in_both_directions() {
    for name in ["stripe", "slack", "standard"] {
        for shift in [-300, 300] {
            verify(name, &delivery(name).shift_timestamp(shift))
                .unwrap_or_else(|e| panic!("{name} {shift}: {e}"));
        }
        for shift in [-301, 301] {
            let shifted = delivery(name).shift_timestamp(shift);
            assert_eq!(shifted.signed_timestamp(), T + shift);
            let error = verify(name, &shifted).unwrap_err();
            assert_eq!(error.code(), "timestamp_out_of_tolerance", "{name} {shift}");
        }
    }
    // Schemes without a signed timestamp ignore it.
    verify("github", &delivery("github").shift_timestamp(-100_000)).unwrap();
}

#[test]
fn another_secret_is_refused() {
    for name in NAMES {
        let other = if *name == "standard" {
            "whsec_YW5vdGhlciBrZXk="
        } else {
            "another key"
        };
        let error = verify(name, &delivery(name).with_secret(other)).unwrap_err();
        assert_eq!(error.code(), "signature_mismatch", "{name}");
        // The previous secret of the keyring still verifies, under its own key id.
        let old = if *name == "standard" {
            "whsec_b2xkLXNlY3JldA=="
        } else {
            "old"
        };
        let verified = verify(name, &delivery(name).with_secret(old)).unwrap();
        assert_eq!(verified.key_id().as_str(), "old", "{name}");
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
}
