//! GitHub: `X-Hub-Signature-256: sha256=<hex>` over the body, event id from
//! `X-GitHub-Delivery`. See `webhook_fuzz` for the input format.
#![no_main]

use http::HeaderName;
use libfuzzer_sys::fuzz_target;
use webhook_fuzz::{Target, check_event_id, hmac, is_hex_of, required, value};
use webhook_signature::scheme::GitHub;

static TARGET: Target<GitHub> = Target {
    scheme: GitHub,
    signature: HeaderName::from_static("x-hub-signature-256"),
    now: 1_700_000_000,
    secrets: &["It's a Secret to Everybody", "github-rotated-secret"],
    unconfigured: "github-unknown-secret",
};

fuzz_target!(|data: &[u8]| {
    TARGET.run(data, 1, |verified| {
        let tag = hmac(verified.secret.as_bytes(), &[verified.body]);
        let signature = required(verified.headers, "x-hub-signature-256");
        let hex = signature
            .strip_prefix(b"sha256=")
            .unwrap_or_else(|| panic!("verified {signature:?}"));
        assert!(is_hex_of(hex, &tag), "verified {signature:?}");
        assert_eq!(verified.delivery.timestamp(), None);
        check_event_id(verified, value(verified.headers, "x-github-delivery"));
    });
});
