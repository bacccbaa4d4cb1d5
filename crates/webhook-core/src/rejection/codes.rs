//! The rejection codes of the `tower-webhook` layers, in one list.

/// Every `code` a `tower-webhook` layer answers with, by the crate that defines it.
///
/// [`define_rejection!`](crate::define_rejection) refuses to compile a rejection whose
/// code is missing here, so outer layers (the `reason` label of `ObserveLayer`'s
/// metrics) know every code without depending on the crates that define them.
///
/// | crate | codes |
/// |---|---|
/// | every layer that reads the verified marker | `missing_verified_delivery` |
/// | webhook-signature | `missing_signature`, `signature_mismatch`, `timestamp_out_of_tolerance`, `malformed_signature`, `conflicting_headers`, `missing_header`, `malformed_header`, `public_url_unset`, `invalid_body`, `body_timeout`, `payload_too_large` |
/// | webhook-idempotency | `missing_event_id`, `invalid_event_id`, `in_flight`, `store_unavailable` |
/// | webhook-event | `malformed_json`, `invalid_envelope`, `invalid_data`, `unsupported_event_type`, `unreadable_body`, `ordering_unavailable` |
/// | webhook-ratelimit | `rate_limited`, `rate_limiter_unavailable`, `rate_limit_key_missing` |
/// | webhook-queue | `queue_full`, `queue_closed`, `queue_unavailable` |
/// | webhook-https | `https_required` |
pub const REJECTION_CODES: &[&str] = &[
    "missing_verified_delivery",
    // webhook-signature
    "missing_signature",
    "signature_mismatch",
    "timestamp_out_of_tolerance",
    "malformed_signature",
    "conflicting_headers",
    "missing_header",
    "malformed_header",
    "public_url_unset",
    "invalid_body",
    "body_timeout",
    "payload_too_large",
    "invalid_handshake",
    "handshake_refused",
    // webhook-idempotency
    "missing_event_id",
    "invalid_event_id",
    "in_flight",
    "store_unavailable",
    // webhook-event
    "malformed_json",
    "invalid_envelope",
    "invalid_data",
    "unsupported_event_type",
    "unreadable_body",
    "ordering_unavailable",
    // webhook-ratelimit
    "rate_limited",
    "rate_limiter_unavailable",
    "rate_limit_key_missing",
    // webhook-queue
    "queue_full",
    "queue_closed",
    "queue_unavailable",
    // webhook-https
    "https_required",
];

/// Whether `code` is in [`REJECTION_CODES`]; usable in constants, which is how
/// [`define_rejection!`](crate::define_rejection) checks each code at compile time.
///
/// ```
/// assert!(webhook_core::is_known_code("signature_mismatch"));
/// assert!(!webhook_core::is_known_code("teapot"));
/// ```
pub const fn is_known_code(code: &str) -> bool {
    let mut i = 0;
    while i < REJECTION_CODES.len() {
        if eq(REJECTION_CODES[i].as_bytes(), code.as_bytes()) {
            return true;
        }
        i += 1;
    }
    false
}

const fn eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_lowercase_identifiers() {
        for (i, code) in REJECTION_CODES.iter().enumerate() {
            assert!(
                code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{code}"
            );
            assert!(!REJECTION_CODES[i + 1..].contains(code), "{code} twice");
            assert!(is_known_code(code));
        }
        assert!(!is_known_code("signature_mismatc"));
        assert!(!is_known_code(""));
    }
}
