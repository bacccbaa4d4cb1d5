//! Stripe: `Stripe-Signature: t=<unix>,v1=<hex>[,...]` over `<t>.<body>`. See
//! `webhook_fuzz` for the input format.
#![no_main]

use http::HeaderName;
use libfuzzer_sys::fuzz_target;
use webhook_fuzz::{Target, check_event_id, check_timestamp, hmac, is_hex_of, required};
use webhook_signature::scheme::Stripe;

static TARGET: Target<Stripe> = Target {
    scheme: Stripe,
    signature: HeaderName::from_static("stripe-signature"),
    // Stripe's published library vector was signed at this time.
    now: 1_533_204_620,
    secrets: &["webhook_secret", "whsec_rotated"],
    unconfigured: "whsec_unknown",
};

fuzz_target!(|data: &[u8]| {
    TARGET.run(data, 1, |verified| {
        let signature = required(verified.headers, "stripe-signature");
        let items: Vec<&[u8]> = signature
            .split(|&b| b == b',')
            .map(<[u8]>::trim_ascii)
            .collect();
        let timestamps: Vec<&[u8]> = items
            .iter()
            .filter_map(|item| item.strip_prefix(b"t="))
            .collect();
        assert_eq!(timestamps.len(), 1, "verified {signature:?}");
        let timestamp = timestamps[0];
        check_timestamp(verified, timestamp);
        let tag = hmac(
            verified.secret.as_bytes(),
            &[timestamp, b".", verified.body],
        );
        assert!(
            items.iter().any(|item| item
                .strip_prefix(b"v1=")
                .is_some_and(|hex| is_hex_of(hex, &tag))),
            "verified {signature:?}"
        );
        check_event_id(verified, None);
    });
});
