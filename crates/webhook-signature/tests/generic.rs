//! `GenericHmac`: the configurable scheme is checked when it is built, and signs exactly
//! the template it was given.

mod common;

use bytes::Bytes;
use http::{HeaderMap, HeaderName};
use webhook_signature::scheme::{Encoding, GenericHmac, GenericHmacBuilder};
use webhook_signature::{ConfigError, Verifier};

use common::{answer, clock_at, get, set, sign};

const NOW: i64 = 1_700_000_000;

fn builder() -> GenericHmacBuilder {
    GenericHmac::builder("acme", HeaderName::from_static("x-acme-signature"))
}

fn ts() -> HeaderName {
    HeaderName::from_static("x-acme-timestamp")
}

fn id() -> HeaderName {
    HeaderName::from_static("x-acme-id")
}

/// A change made to a signed delivery's headers.
type Edit<'a> = dyn Fn(&mut HeaderMap) + 'a;

fn refused(builder: GenericHmacBuilder) -> ConfigError {
    match builder.build() {
        Ok(scheme) => panic!("built {scheme:?}"),
        Err(error) => error,
    }
}

#[test]
fn unsigned_timestamp_header_is_refused_at_build() {
    // With a timestamp header but a template without `{timestamp}`, the tolerance
    // would be enforced on a value the signature does not cover: a delivery captured a
    // day earlier would verify again with its timestamp header rewritten to now, and
    // the marker would report that forged value as the signed timestamp.
    for template in ["{body}", "{id}.{body}", "timestamp.{body}"] {
        let error = refused(
            builder()
                .timestamp_header(ts())
                .id_header(id())
                .signed_content(template),
        );
        assert!(
            matches!(error, ConfigError::InvalidScheme { .. }),
            "{template}: {error}"
        );
        assert!(error.to_string().contains("{timestamp}"), "{error}");
    }
    // Signed, it builds, and a rewritten timestamp no longer verifies.
    let scheme = builder()
        .timestamp_header(ts())
        .signed_content("{timestamp}.{body}")
        .build()
        .unwrap();
    let verifier = Verifier::builder(scheme.clone())
        .secret("k", "generic secret")
        .clock(clock_at(NOW))
        .build()
        .unwrap();
    let mut captured = sign(scheme, "generic secret", b"{}", NOW - 86_400, "");
    let error = verifier
        .verify(&captured, &Bytes::from_static(b"{}"))
        .unwrap_err();
    assert_eq!(answer(&error), (401, "timestamp_out_of_tolerance"));
    set(&mut captured, "x-acme-timestamp", &NOW.to_string());
    let error = verifier
        .verify(&captured, &Bytes::from_static(b"{}"))
        .unwrap_err();
    assert_eq!(answer(&error), (401, "signature_mismatch"));
}

#[test]
fn a_prefix_no_header_value_can_carry_is_refused_at_build() {
    // A prefix with `€` or a space, if it built, would go into the header `Signer`
    // writes, and the verifier would refuse every delivery as "not visible ASCII".
    for prefix in ["sha256=\u{20ac}", "v1 =", " v1=", "v1=\t"] {
        let error = refused(builder().prefix(prefix));
        assert!(
            matches!(error, ConfigError::InvalidScheme { .. }),
            "{prefix:?}: {error}"
        );
    }
    assert!(builder().prefix("sha256=").build().is_ok());
}

#[test]
fn unknown_placeholder_is_refused_at_build() {
    // A typo signed as literal text would fail every delivery with 401 at run time;
    // the configuration fails at start-up instead.
    for template in ["{timestmap}.{body}", "{ID}:{body}", "v1:{event_id}:{body}"] {
        let error = refused(
            builder()
                .timestamp_header(ts())
                .id_header(id())
                .signed_content(template),
        );
        assert!(
            matches!(error, ConfigError::InvalidScheme { .. }),
            "{template}: {error}"
        );
    }
}

#[test]
fn non_ascii_and_brace_literals_are_signed_as_given() {
    // A literal starting with a multi-byte character must not panic in `build` (a byte
    // slice inside a character). Braces that are not a placeholder stay literal.
    let scheme = builder()
        .timestamp_header(ts())
        .signed_content("é→{}:{timestamp}:{body}")
        .build()
        .unwrap();
    let body = br#"{"n":1}"#;
    let headers = sign(scheme.clone(), "generic secret", body, NOW, "");
    // Computed independently with Python's standard library:
    //   hmac.new(b"generic secret", "é→{}:1700000000:".encode() + b'{"n":1}',
    //            hashlib.sha256).hexdigest()
    assert_eq!(
        get(&headers, "x-acme-signature"),
        "aea65a9c32522ef72b401037c5294c64463cdbc05546bde049052dc51d7687f6"
    );
    let verifier = Verifier::builder(scheme)
        .secret("k", "generic secret")
        .clock(clock_at(NOW))
        .build()
        .unwrap();
    assert_eq!(
        verifier
            .verify(&headers, &Bytes::from_static(body))
            .unwrap()
            .timestamp(),
        Some(NOW)
    );
}

#[test]
fn placeholders_need_their_headers_and_body_comes_once() {
    for (builder, template) in [
        (builder(), "{timestamp}.{body}"),
        (builder(), "{id}.{body}"),
        (builder(), "{url}{body}{nonce}"),
        (builder(), "{body}{body}"),
        (builder(), "{body}.{body}"),
        (builder(), "no body at all"),
    ] {
        let error = refused(builder.signed_content(template));
        assert!(
            matches!(error, ConfigError::InvalidScheme { .. }),
            "{template}"
        );
    }
}

#[test]
fn prefix_encoding_and_headers_are_enforced() {
    let scheme = builder()
        .prefix("sha256=")
        .encoding(Encoding::Base64)
        .id_header(id())
        .timestamp_header(ts())
        .signed_content("{id}.{timestamp}.{body}")
        .build()
        .unwrap();
    let verifier = Verifier::builder(scheme.clone())
        .secret("k", "generic secret")
        .clock(clock_at(NOW))
        .build()
        .unwrap();
    let body = Bytes::from_static(b"{}");
    let headers = sign(scheme, "generic secret", &body, NOW, "evt_9");
    let delivery = verifier.verify(&headers, &body).unwrap();
    assert_eq!(delivery.scheme(), "acme");
    assert_eq!(delivery.event_id(), Some("evt_9"));
    assert_eq!(delivery.timestamp(), Some(NOW));

    let signature = get(&headers, "x-acme-signature").to_owned();
    let edits: [(&str, &Edit<'_>, (u16, &str)); 6] = [
        (
            "no prefix",
            &|h| {
                set(
                    h,
                    "x-acme-signature",
                    signature.trim_start_matches("sha256="),
                )
            },
            (400, "malformed_signature"),
        ),
        (
            "hex instead of base64",
            &|h| {
                set(
                    h,
                    "x-acme-signature",
                    &format!("sha256={}", "ab".repeat(32)),
                )
            },
            (400, "malformed_signature"),
        ),
        (
            "bare prefix",
            &|h| set(h, "x-acme-signature", "sha256="),
            (400, "malformed_signature"),
        ),
        (
            "no id",
            &|h| drop(h.remove("x-acme-id")),
            (400, "missing_header"),
        ),
        (
            "no timestamp",
            &|h| drop(h.remove("x-acme-timestamp")),
            (400, "missing_header"),
        ),
        (
            "other id",
            &|h| set(h, "x-acme-id", "evt_10"),
            (401, "signature_mismatch"),
        ),
    ];
    for (what, edit, expected) in edits {
        let mut tampered = headers.clone();
        edit(&mut tampered);
        let error = verifier.verify(&tampered, &body).unwrap_err();
        assert_eq!(answer(&error), expected, "{what}: {error}");
    }
}
