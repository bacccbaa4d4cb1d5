//! HopNow: `X-Webhook-Signature: <hex>` over the body. See `webhook_fuzz` for the
//! input format.
#![no_main]

use http::HeaderName;
use libfuzzer_sys::fuzz_target;
use webhook_fuzz::{Target, check_event_id, hmac, is_hex_of, required};
use webhook_signature::scheme::HopNow;

static TARGET: Target<HopNow> = Target {
    scheme: HopNow,
    signature: HeaderName::from_static("x-webhook-signature"),
    now: 1_700_000_000,
    secrets: &["hopnow-dev-secret", "hopnow-rotated-secret"],
    unconfigured: "hopnow-unknown-secret",
};

fuzz_target!(|data: &[u8]| {
    TARGET.run(data, 1, |verified| {
        let tag = hmac(verified.secret.as_bytes(), &[verified.body]);
        let signature = required(verified.headers, "x-webhook-signature");
        assert!(is_hex_of(signature, &tag), "verified {signature:?}");
        assert_eq!(verified.delivery.timestamp(), None);
        check_event_id(verified, None);
    });
});
