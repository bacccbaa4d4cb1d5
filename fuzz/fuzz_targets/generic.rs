//! GenericHmac: signature header `x-sig`, configured by the input. See `webhook_fuzz`
//! for the input format; this target reads three config lines after the mode line:
//!
//! ```text
//! <options>    first byte `b`: base64, anything else: hex; then `t` anywhere: a
//!              timestamp header `x-ts`, `i` anywhere: an id header `x-id`
//! <prefix>     text before the signature, such as `sha256=`
//! <template>   the signed-content template, such as `v0:{timestamp}:{body}`
//! ```
#![no_main]

use http::HeaderName;
use libfuzzer_sys::fuzz_target;
use webhook_fuzz::{
    Input, Target, Verified, check_event_id, check_timestamp, hmac, is_base64_of, is_hex_of,
    required,
};
use webhook_signature::scheme::{Encoding, GenericHmac};

/// The signed content a template describes: `{timestamp}` and `{id}` replaced in one
/// pass, then the body.
fn expand(template: &[u8], timestamp: &[u8], id: &[u8], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(&first) = rest.first() {
        if let Some(after) = rest.strip_prefix(b"{timestamp}") {
            out.extend_from_slice(timestamp);
            rest = after;
        } else if let Some(after) = rest.strip_prefix(b"{id}") {
            out.extend_from_slice(id);
            rest = after;
        } else {
            out.push(first);
            rest = &rest[1..];
        }
    }
    out.extend_from_slice(body);
    out
}

fuzz_target!(|data: &[u8]| {
    let input = Input::parse(data, 4);
    let options = input.config[1];
    let encoding = match options.first() {
        Some(b'b') => Encoding::Base64,
        _ => Encoding::Hex,
    };
    let has_timestamp = options.iter().skip(1).any(|&b| b == b't');
    let has_id = options.iter().skip(1).any(|&b| b == b'i');
    let (Ok(prefix), Ok(template)) = (
        std::str::from_utf8(input.config[2]),
        std::str::from_utf8(input.config[3]),
    ) else {
        return;
    };
    let mut builder = GenericHmac::builder("fuzz", HeaderName::from_static("x-sig"))
        .prefix(prefix)
        .encoding(encoding)
        .signed_content(template);
    if has_timestamp {
        builder = builder.timestamp_header(HeaderName::from_static("x-ts"));
    }
    if has_id {
        builder = builder.id_header(HeaderName::from_static("x-id"));
    }
    let Ok(scheme) = builder.build() else {
        return;
    };
    let target = Target {
        scheme,
        signature: HeaderName::from_static("x-sig"),
        // Slack's documented example was signed at this time.
        now: 1_531_420_618,
        secrets: &[
            "8f742231b10e8888abcd99yyyzzz85a5",
            "It's a Secret to Everybody",
            "test_secret_key",
        ],
        unconfigured: "generic-unknown-secret",
    };
    let before_body = template
        .strip_suffix("{body}")
        .expect("a built template ends with `{body}`");
    target.run(data, 4, |verified: &Verified<'_>| {
        let signature = required(verified.headers, "x-sig");
        let encoded = signature
            .strip_prefix(prefix.as_bytes())
            .unwrap_or_else(|| panic!("verified {signature:?} without the prefix {prefix:?}"));
        let timestamp = if has_timestamp {
            let timestamp = required(verified.headers, "x-ts");
            check_timestamp(verified, timestamp);
            timestamp
        } else {
            assert_eq!(verified.delivery.timestamp(), None);
            b""
        };
        let id = has_id.then(|| required(verified.headers, "x-id"));
        check_event_id(verified, id);
        let content = expand(
            before_body.as_bytes(),
            timestamp,
            id.unwrap_or_default(),
            verified.body,
        );
        let tag = hmac(verified.secret.as_bytes(), &[&content]);
        let genuine = match encoding {
            Encoding::Base64 => is_base64_of(encoded, &tag),
            _ => is_hex_of(encoded, &tag),
        };
        assert!(genuine, "verified {signature:?}");
    });
});
