use http::{HeaderName, StatusCode};
use webhook_core::define_rejection;

define_rejection! {
    /// Why the signature layer refused a delivery.
    ///
    /// | variant | status | `code` | gRPC status |
    /// |---|---|---|---|
    /// | [`MissingSignature`](Self::MissingSignature) | 401 | `missing_signature` | 16 `UNAUTHENTICATED` |
    /// | [`SignatureMismatch`](Self::SignatureMismatch) | 401 | `signature_mismatch` | 16 `UNAUTHENTICATED` |
    /// | [`TimestampOutOfTolerance`](Self::TimestampOutOfTolerance) | 401 | `timestamp_out_of_tolerance` | 16 `UNAUTHENTICATED` |
    /// | [`MalformedSignature`](Self::MalformedSignature) | 400 | `malformed_signature` | 3 `INVALID_ARGUMENT` |
    /// | [`ConflictingHeaders`](Self::ConflictingHeaders) | 400 | `conflicting_headers` | 3 `INVALID_ARGUMENT` |
    /// | [`MissingHeader`](Self::MissingHeader) | 400 | `missing_header` | 3 `INVALID_ARGUMENT` |
    /// | [`MalformedHeader`](Self::MalformedHeader) | 400 | `malformed_header` | 3 `INVALID_ARGUMENT` |
    /// | [`PublicUrlUnset`](Self::PublicUrlUnset) | 500 | `public_url_unset` | 13 `INTERNAL` |
    /// | [`InvalidBody`](Self::InvalidBody) | 400 | `invalid_body` | 3 `INVALID_ARGUMENT` |
    /// | [`BodyTimeout`](Self::BodyTimeout) | 408 | `body_timeout` | 4 `DEADLINE_EXCEEDED` |
    /// | [`PayloadTooLarge`](Self::PayloadTooLarge) | 413 | `payload_too_large` | 8 `RESOURCE_EXHAUSTED` |
    /// | [`InvalidHandshake`](Self::InvalidHandshake) | 400 | `invalid_handshake` | 3 `INVALID_ARGUMENT` |
    /// | [`HandshakeRefused`](Self::HandshakeRefused) | 403 | `handshake_refused` | 7 `PERMISSION_DENIED` |
    ///
    /// A gRPC request (`content-type: application/grpc*`) gets the gRPC status instead
    /// of the HTTP one (see [`webhook_core::refuse`]). The messages name headers and
    /// limits, never a secret or the expected signature.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum SignatureRejection {
        /// The signature header is absent, or holds no signature of a version this scheme
        /// checks.
        #[rejection(status = StatusCode::UNAUTHORIZED, code = "missing_signature")]
        MissingSignature {
            /// The header that should carry the signature.
            header: HeaderName,
        } => ("the request carries no signature in `{header}`"),
        /// The signatures are well formed but none matches any configured key.
        #[rejection(status = StatusCode::UNAUTHORIZED, code = "signature_mismatch")]
        SignatureMismatch {
            /// How the scheme builds the signed content, to help find why (no secret).
            signed_content: &'static str,
        } => ("no configured secret produced a matching signature (signed content: {signed_content})"),
        /// The signed timestamp is further from now than the tolerance.
        #[rejection(status = StatusCode::UNAUTHORIZED, code = "timestamp_out_of_tolerance")]
        TimestampOutOfTolerance {
            /// `now - timestamp`, in seconds (negative: the timestamp is in the future).
            skew_seconds: i64,
            /// The configured tolerance, in seconds.
            tolerance_seconds: u64,
        } => (
            "the signed timestamp is {} s {} now, beyond the tolerance of {tolerance_seconds} s",
            skew_seconds.unsigned_abs(),
            if *skew_seconds >= 0 { "before" } else { "after" }
        ),
        /// A signature is not valid hex or base64, is empty, or has the wrong length.
        #[rejection(status = StatusCode::BAD_REQUEST, code = "malformed_signature")]
        MalformedSignature {
            /// What is wrong with it.
            reason: &'static str,
        } => ("malformed signature: {reason}"),
        /// A header the scheme reads appears several times with different values.
        #[rejection(status = StatusCode::BAD_REQUEST, code = "conflicting_headers")]
        ConflictingHeaders {
            /// The repeated header.
            header: HeaderName,
        } => ("`{header}` appears several times with different values"),
        /// A header the scheme needs (timestamp, message id) is absent.
        #[rejection(status = StatusCode::BAD_REQUEST, code = "missing_header")]
        MissingHeader {
            /// The absent header.
            header: HeaderName,
        } => ("the required header `{header}` is missing"),
        /// A header the scheme reads is not in the expected format.
        #[rejection(status = StatusCode::BAD_REQUEST, code = "malformed_header")]
        MalformedHeader {
            /// The header.
            header: HeaderName,
            /// What is wrong with it.
            reason: &'static str,
        } => ("malformed `{header}`: {reason}"),
        /// The scheme signs the URL the provider called, and the verifier was given
        /// none: a misconfiguration, answered 500 so that the provider retries once
        /// it is fixed.
        #[rejection(status = StatusCode::INTERNAL_SERVER_ERROR, code = "public_url_unset")]
        PublicUrlUnset => ("the scheme signs the URL the provider called, and no public URL is configured"),
        /// The request body could not be read.
        #[rejection(status = StatusCode::BAD_REQUEST, code = "invalid_body")]
        InvalidBody => ("the request body could not be read"),
        /// The body did not arrive within the read timeout.
        #[rejection(status = StatusCode::REQUEST_TIMEOUT, code = "body_timeout")]
        BodyTimeout {
            /// The configured timeout, in seconds.
            timeout_seconds: u64,
        } => ("the request body did not arrive within {timeout_seconds} s"),
        /// The body is larger than the configured limit.
        #[rejection(status = StatusCode::PAYLOAD_TOO_LARGE, code = "payload_too_large")]
        PayloadTooLarge {
            /// The configured limit, in bytes.
            limit: usize,
        } => ("the request body is larger than the limit of {limit} bytes"),
        /// A setup handshake's token or challenge is not of the shape its provider
        /// sends (see the crate docs, "Handshakes"): refused rather than answered,
        /// so that no answer can be made over text the caller chose.
        #[rejection(status = StatusCode::BAD_REQUEST, code = "invalid_handshake")]
        InvalidHandshake {
            /// What is wrong with it (never the text itself).
            reason: &'static str,
        } => ("invalid handshake: {reason}"),
        /// Meta's verification request carries a verify token that is not the
        /// configured one (or none is configured).
        #[rejection(status = StatusCode::FORBIDDEN, code = "handshake_refused")]
        HandshakeRefused => ("the handshake's verify token does not match"),
    }
}

#[cfg(test)]
mod tests {
    use webhook_core::Rejection;

    use super::*;

    #[test]
    fn statuses_and_codes_are_stable() {
        let cases = [
            (
                SignatureRejection::SignatureMismatch {
                    signed_content: "<body>",
                },
                401,
                "signature_mismatch",
            ),
            (
                SignatureRejection::PayloadTooLarge { limit: 1 },
                413,
                "payload_too_large",
            ),
            (
                SignatureRejection::BodyTimeout {
                    timeout_seconds: 30,
                },
                408,
                "body_timeout",
            ),
            (
                SignatureRejection::MalformedSignature { reason: "x" },
                400,
                "malformed_signature",
            ),
        ];
        for (rejection, status, code) in cases {
            assert_eq!(rejection.status().as_u16(), status);
            assert_eq!(rejection.code(), code);
            let response = rejection.to_problem().into_response();
            let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
            assert_eq!(body["code"], code);
            assert_eq!(body["status"], status);
        }
    }

    #[test]
    fn skew_is_described_in_both_directions() {
        let past = SignatureRejection::TimestampOutOfTolerance {
            skew_seconds: 301,
            tolerance_seconds: 300,
        };
        assert!(past.to_string().contains("301 s before now"));
        let future = SignatureRejection::TimestampOutOfTolerance {
            skew_seconds: -301,
            tolerance_seconds: 300,
        };
        assert!(future.to_string().contains("301 s after now"));
    }
}
