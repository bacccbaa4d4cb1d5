//! Properties over every built-in scheme (and a configured `GenericHmac`):
//!
//! - what `Signer::sign` produces, `Verifier::verify` accepts, for any body, any event
//!   id and any timestamp within the tolerance, and the marker reports them;
//! - flipping any single bit of the body, of the timestamp header value, or of the
//!   signature makes verification fail.
//!
//! Bounded to a few hundred cases per property so the file runs in a few seconds.

mod common;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue};
use proptest::prelude::*;
use proptest::sample::{Index, select};
use webhook_signature::scheme::{Encoding, GenericHmac, Scheme, by_name, encode_base64};
use webhook_signature::{SignatureRejection, Verifier};

use common::{clock_at, sign};

const NOW: i64 = 1_700_000_000;
const TOLERANCE: i64 = 300;

/// The built-in schemes plus `acme`, a `GenericHmac` that signs an id and a timestamp.
const SCHEMES: &[&str] = &[
    "hopnow", "github", "stripe", "standard", "slack", "shopify", "acme",
];

fn scheme(name: &str) -> Box<dyn Scheme> {
    if name == "acme" {
        let scheme = GenericHmac::builder("acme", HeaderName::from_static("x-acme-signature"))
            .prefix("sha256=")
            .encoding(Encoding::Base64)
            .id_header(HeaderName::from_static("x-acme-id"))
            .timestamp_header(HeaderName::from_static("x-acme-timestamp"))
            .signed_content("{id}:{timestamp}:{body}")
            .build()
            .unwrap();
        return Box::new(scheme);
    }
    by_name(name).unwrap()
}

fn secret(name: &str) -> &'static str {
    if name == "standard" {
        "whsec_YSBTdGFuZGFyZCBXZWJob29rcyB0ZXN0IGtleSE="
    } else {
        "property secret"
    }
}

fn signature_header(name: &str) -> &'static str {
    if name == "acme" {
        "x-acme-signature"
    } else {
        common::signature_header(name)
    }
}

/// The header holding the signed timestamp, and where in its value the digits are.
fn timestamp_header(name: &str) -> Option<&'static str> {
    match name {
        "stripe" => Some("stripe-signature"),
        "standard" => Some("webhook-timestamp"),
        "slack" => Some("x-slack-request-timestamp"),
        "acme" => Some("x-acme-timestamp"),
        _ => None,
    }
}

fn event_id_sent(name: &str, id: &str) -> Option<String> {
    match name {
        "standard" | "acme" => Some(id.to_owned()),
        "github" | "shopify" if !id.is_empty() => Some(id.to_owned()),
        _ => None,
    }
}

fn verifier(name: &str) -> Verifier {
    Verifier::builder(scheme(name))
        .secret("k1", secret(name))
        .clock(clock_at(NOW))
        .build()
        .unwrap()
}

/// The encoded signature text and whether it is base64.
fn encoded_signature(name: &str, headers: &HeaderMap) -> (String, bool) {
    let value = headers[signature_header(name)].to_str().unwrap();
    let text = match name {
        "github" | "acme" => value.strip_prefix("sha256="),
        "stripe" => value.split_once(",v1=").map(|(_, sig)| sig),
        "standard" => value.strip_prefix("v1,"),
        "slack" => value.strip_prefix("v0="),
        _ => Some(value),
    };
    (
        text.unwrap().to_owned(),
        matches!(name, "standard" | "shopify" | "acme"),
    )
}

fn rejected(
    result: Result<webhook_core::VerifiedDelivery, SignatureRejection>,
) -> Result<(), TestCaseError> {
    match result {
        Ok(delivery) => Err(TestCaseError::fail(format!(
            "accepted a tampered delivery: {delivery:?}"
        ))),
        Err(_) => Ok(()),
    }
}

fn ids() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_.:-]{0,40}"
}

fn bodies(min: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), min..512)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn what_is_signed_verifies(
        name in select(SCHEMES),
        body in bodies(0),
        id in ids(),
        offset in -TOLERANCE..=TOLERANCE,
    ) {
        let timestamp = NOW + offset;
        let headers = sign(scheme(name), secret(name), &body, timestamp, &id);
        let delivery = verifier(name)
            .verify(&headers, &Bytes::from(body.clone()))
            .map_err(|e| TestCaseError::fail(format!("{name}: {e}")))?;
        prop_assert_eq!(delivery.scheme(), name);
        prop_assert_eq!(delivery.key_id().as_str(), "k1");
        prop_assert_eq!(delivery.body(), &body[..]);
        let expected_timestamp = timestamp_header(name).map(|_| timestamp);
        prop_assert_eq!(delivery.timestamp(), expected_timestamp);
        prop_assert_eq!(delivery.event_id().map(str::to_owned), event_id_sent(name, &id));
    }

    #[test]
    fn flipping_any_bit_of_the_body_fails(
        name in select(SCHEMES),
        body in bodies(1),
        id in ids(),
        offset in -TOLERANCE..=TOLERANCE,
        at in any::<Index>(),
        bit in 0u8..8,
    ) {
        let headers = sign(scheme(name), secret(name), &body, NOW + offset, &id);
        let mut tampered = body.clone();
        tampered[at.index(body.len())] ^= 1 << bit;
        rejected(verifier(name).verify(&headers, &Bytes::from(tampered)))?;
    }

    #[test]
    fn flipping_any_bit_of_the_timestamp_header_fails(
        name in select(&["stripe", "standard", "slack", "acme"][..]),
        body in bodies(0),
        id in ids(),
        offset in -TOLERANCE..=TOLERANCE,
        at in any::<Index>(),
        bit in 0u8..8,
    ) {
        let timestamp = NOW + offset;
        let mut headers = sign(scheme(name), secret(name), &body, timestamp, &id);
        let header = timestamp_header(name).unwrap();
        let mut value = headers[header].as_bytes().to_vec();
        let digits = timestamp.to_string();
        // In `Stripe-Signature` the digits follow `t=`; elsewhere they are the value.
        let start = if name == "stripe" { 2 } else { 0 };
        prop_assert_eq!(&value[start..start + digits.len()], digits.as_bytes());
        value[start + at.index(digits.len())] ^= 1 << bit;
        // A flip into a control character cannot be sent as a header at all.
        let flipped = HeaderValue::from_bytes(&value);
        prop_assume!(flipped.is_ok());
        headers.insert(HeaderName::from_static(header), flipped.unwrap());
        rejected(verifier(name).verify(&headers, &Bytes::from(body)))?;
    }

    #[test]
    fn flipping_any_bit_of_the_signature_fails(
        name in select(SCHEMES),
        body in bodies(0),
        id in ids(),
        offset in -TOLERANCE..=TOLERANCE,
        bit in 0usize..256,
    ) {
        // Flip a bit of the 32-byte tag and re-encode it: a bit of the hex or base64
        // text could also turn `a` into `A`, which is the same signature.
        let mut headers = sign(scheme(name), secret(name), &body, NOW + offset, &id);
        let (text, base64) = encoded_signature(name, &headers);
        let mut tag = if base64 {
            webhook_signature::scheme::decode_base64_tag(&text).unwrap()
        } else {
            webhook_signature::scheme::decode_hex_tag(&text).unwrap()
        };
        tag[bit / 8] ^= 1 << (bit % 8);
        let flipped = if base64 { encode_base64(&tag) } else { hex::encode(tag) };
        let value = headers[signature_header(name)].to_str().unwrap().replacen(&text, &flipped, 1);
        headers.insert(HeaderName::from_static(signature_header(name)), value.parse().unwrap());
        rejected(verifier(name).verify(&headers, &Bytes::from(body)))?;
    }

    #[test]
    fn flipping_any_bit_of_the_signature_text_never_verifies_another_tag(
        name in select(SCHEMES),
        body in bodies(0),
        at in any::<Index>(),
        bit in 0u8..7,
    ) {
        // At the text level a flip may keep the tag (hex case) but must never yield a
        // *different* tag that verifies: either it is refused, or it decodes to the same
        // 32 bytes.
        let mut headers = sign(scheme(name), secret(name), &body, NOW, "evt");
        let (text, base64) = encoded_signature(name, &headers);
        let mut bytes = text.clone().into_bytes();
        let at = at.index(bytes.len());
        bytes[at] ^= 1 << bit;
        let Ok(flipped) = String::from_utf8(bytes) else { return Ok(()) };
        let value = headers[signature_header(name)].to_str().unwrap().replacen(&text, &flipped, 1);
        let Ok(value) = HeaderValue::from_str(&value) else { return Ok(()) };
        headers.insert(HeaderName::from_static(signature_header(name)), value);
        if verifier(name).verify(&headers, &Bytes::from(body)).is_ok() {
            prop_assert!(!base64, "{}: a base64 text flip verified: {}", name, flipped);
            prop_assert_eq!(flipped.to_ascii_lowercase(), text.to_ascii_lowercase());
        }
    }
}
