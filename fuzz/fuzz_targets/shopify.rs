//! Shopify: `X-Shopify-Hmac-Sha256: <base64>` over the body, event id from
//! `X-Shopify-Webhook-Id`. See `webhook_fuzz` for the input format.
#![no_main]

use http::HeaderName;
use libfuzzer_sys::fuzz_target;
use webhook_fuzz::{Target, check_event_id, hmac, is_base64_of, required, value};
use webhook_signature::scheme::Shopify;

static TARGET: Target<Shopify> = Target {
    scheme: Shopify,
    signature: HeaderName::from_static("x-shopify-hmac-sha256"),
    now: 1_700_000_000,
    secrets: &["test_secret_key", "shopify-rotated-secret"],
    unconfigured: "shopify-unknown-secret",
};

fuzz_target!(|data: &[u8]| {
    TARGET.run(data, 1, |verified| {
        let tag = hmac(verified.secret.as_bytes(), &[verified.body]);
        let signature = required(verified.headers, "x-shopify-hmac-sha256");
        assert!(is_base64_of(signature, &tag), "verified {signature:?}");
        assert_eq!(verified.delivery.timestamp(), None);
        check_event_id(verified, value(verified.headers, "x-shopify-webhook-id"));
    });
});
