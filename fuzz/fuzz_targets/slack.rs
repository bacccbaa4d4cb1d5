//! Slack: `X-Slack-Signature: v0=<hex>` over `v0:<timestamp>:<body>`. See
//! `webhook_fuzz` for the input format.
#![no_main]

use http::HeaderName;
use libfuzzer_sys::fuzz_target;
use webhook_fuzz::{Target, check_event_id, check_timestamp, hmac, is_hex_of, required};
use webhook_signature::scheme::Slack;

static TARGET: Target<Slack> = Target {
    scheme: Slack,
    signature: HeaderName::from_static("x-slack-signature"),
    // Slack's documented example was signed at this time.
    now: 1_531_420_618,
    secrets: &["8f742231b10e8888abcd99yyyzzz85a5", "slack-rotated-secret"],
    unconfigured: "slack-unknown-secret",
};

fuzz_target!(|data: &[u8]| {
    TARGET.run(data, 1, |verified| {
        let signature = required(verified.headers, "x-slack-signature");
        let timestamp = required(verified.headers, "x-slack-request-timestamp");
        check_timestamp(verified, timestamp);
        let tag = hmac(
            verified.secret.as_bytes(),
            &[b"v0:", timestamp, b":", verified.body],
        );
        let hex = signature
            .strip_prefix(b"v0=")
            .unwrap_or_else(|| panic!("verified {signature:?}"));
        assert!(is_hex_of(hex, &tag), "verified {signature:?}");
        check_event_id(verified, None);
    });
});
