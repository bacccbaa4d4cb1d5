//! Standard Webhooks: `webhook-signature: v1,<base64> [...]` (or the `svix-` names)
//! over `<id>.<timestamp>.<body>`, with a `whsec_` base64 secret. See `webhook_fuzz`
//! for the input format.
#![no_main]

use base64::Engine as _;
use http::HeaderName;
use libfuzzer_sys::fuzz_target;
use webhook_fuzz::{Target, check_event_id, check_timestamp, hmac, is_base64_of, required, value};
use webhook_signature::scheme::StandardWebhooks;

static TARGET: Target<StandardWebhooks> = Target {
    scheme: StandardWebhooks,
    signature: HeaderName::from_static("webhook-signature"),
    // The Standard Webhooks reference vector was signed at this time.
    now: 1_614_265_330,
    secrets: &[
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "whsec_YW5vdGhlciBzdGFuZGFyZCB3ZWJob29rcyBrZXk=",
    ],
    unconfigured: "whsec_dW5rbm93biBrZXk=",
};

fuzz_target!(|data: &[u8]| {
    TARGET.run(data, 1, |verified| {
        // The `webhook-` names win whenever `webhook-signature` is present.
        let prefix = if value(verified.headers, "webhook-signature").is_some() {
            "webhook"
        } else {
            "svix"
        };
        let signature = required(verified.headers, &format!("{prefix}-signature"));
        let id = required(verified.headers, &format!("{prefix}-id"));
        let timestamp = required(verified.headers, &format!("{prefix}-timestamp"));
        check_timestamp(verified, timestamp);
        check_event_id(verified, Some(id));
        let encoded = verified
            .secret
            .strip_prefix("whsec_")
            .unwrap_or(verified.secret);
        let key = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .expect("the target's secrets are base64");
        let tag = hmac(&key, &[id, b".", timestamp, b".", verified.body]);
        assert!(
            signature.split(u8::is_ascii_whitespace).any(|entry| entry
                .strip_prefix(b"v1,")
                .is_some_and(|encoded| is_base64_of(encoded, &tag))),
            "verified {signature:?}"
        );
    });
});
