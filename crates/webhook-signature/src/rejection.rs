use std::fmt;

use http::{HeaderName, StatusCode};
use webhook_core::Rejection;

/// Why the signature layer refused a delivery.
///
/// | variant | status | `code` |
/// |---|---|---|
/// | [`MissingSignature`](Self::MissingSignature) | 401 | `missing_signature` |
/// | [`SignatureMismatch`](Self::SignatureMismatch) | 401 | `signature_mismatch` |
/// | [`TimestampOutOfTolerance`](Self::TimestampOutOfTolerance) | 401 | `timestamp_out_of_tolerance` |
/// | [`MalformedSignature`](Self::MalformedSignature) | 400 | `malformed_signature` |
/// | [`ConflictingHeaders`](Self::ConflictingHeaders) | 400 | `conflicting_headers` |
/// | [`MissingHeader`](Self::MissingHeader) | 400 | `missing_header` |
/// | [`MalformedHeader`](Self::MalformedHeader) | 400 | `malformed_header` |
/// | [`InvalidBody`](Self::InvalidBody) | 400 | `invalid_body` |
/// | [`BodyTimeout`](Self::BodyTimeout) | 408 | `body_timeout` |
/// | [`PayloadTooLarge`](Self::PayloadTooLarge) | 413 | `payload_too_large` |
///
/// The messages name headers and limits, never a secret or the expected signature.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureRejection {
    /// The signature header is absent, or holds no signature of a version this scheme
    /// checks.
    MissingSignature {
        /// The header that should carry the signature.
        header: HeaderName,
    },
    /// The signatures are well formed but none matches any configured key.
    SignatureMismatch {
        /// How the scheme builds the signed content, to help find why (no secret).
        signed_content: &'static str,
    },
    /// The signed timestamp is further from now than the tolerance.
    TimestampOutOfTolerance {
        /// `now - timestamp`, in seconds (negative: the timestamp is in the future).
        skew_seconds: i64,
        /// The configured tolerance, in seconds.
        tolerance_seconds: u64,
    },
    /// A signature is not valid hex or base64, is empty, or has the wrong length.
    MalformedSignature {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A header the scheme reads appears several times with different values.
    ConflictingHeaders {
        /// The repeated header.
        header: HeaderName,
    },
    /// A header the scheme needs (timestamp, message id) is absent.
    MissingHeader {
        /// The absent header.
        header: HeaderName,
    },
    /// A header the scheme reads is not in the expected format.
    MalformedHeader {
        /// The header.
        header: HeaderName,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The request body could not be read.
    InvalidBody,
    /// The body did not arrive within the read timeout.
    BodyTimeout {
        /// The configured timeout, in seconds.
        timeout_seconds: u64,
    },
    /// The body is larger than the configured limit.
    PayloadTooLarge {
        /// The configured limit, in bytes.
        limit: usize,
    },
}

impl fmt::Display for SignatureRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingSignature { header } => {
                write!(f, "the request carries no signature in `{header}`")
            }
            Self::SignatureMismatch { signed_content } => write!(
                f,
                "no configured secret produced a matching signature (signed content: {signed_content})"
            ),
            Self::TimestampOutOfTolerance {
                skew_seconds,
                tolerance_seconds,
            } => write!(
                f,
                "the signed timestamp is {} s {} now, beyond the tolerance of {tolerance_seconds} s",
                skew_seconds.unsigned_abs(),
                if *skew_seconds >= 0 {
                    "before"
                } else {
                    "after"
                }
            ),
            Self::MalformedSignature { reason } => write!(f, "malformed signature: {reason}"),
            Self::ConflictingHeaders { header } => {
                write!(f, "`{header}` appears several times with different values")
            }
            Self::MissingHeader { header } => {
                write!(f, "the required header `{header}` is missing")
            }
            Self::MalformedHeader { header, reason } => write!(f, "malformed `{header}`: {reason}"),
            Self::InvalidBody => f.write_str("the request body could not be read"),
            Self::BodyTimeout { timeout_seconds } => write!(
                f,
                "the request body did not arrive within {timeout_seconds} s"
            ),
            Self::PayloadTooLarge { limit } => {
                write!(
                    f,
                    "the request body is larger than the limit of {limit} bytes"
                )
            }
        }
    }
}

impl std::error::Error for SignatureRejection {}

impl Rejection for SignatureRejection {
    fn status(&self) -> StatusCode {
        match self {
            Self::MissingSignature { .. }
            | Self::SignatureMismatch { .. }
            | Self::TimestampOutOfTolerance { .. } => StatusCode::UNAUTHORIZED,
            Self::MalformedSignature { .. }
            | Self::ConflictingHeaders { .. }
            | Self::MissingHeader { .. }
            | Self::MalformedHeader { .. }
            | Self::InvalidBody => StatusCode::BAD_REQUEST,
            Self::BodyTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::MissingSignature { .. } => "missing_signature",
            Self::SignatureMismatch { .. } => "signature_mismatch",
            Self::TimestampOutOfTolerance { .. } => "timestamp_out_of_tolerance",
            Self::MalformedSignature { .. } => "malformed_signature",
            Self::ConflictingHeaders { .. } => "conflicting_headers",
            Self::MissingHeader { .. } => "missing_header",
            Self::MalformedHeader { .. } => "malformed_header",
            Self::InvalidBody => "invalid_body",
            Self::BodyTimeout { .. } => "body_timeout",
            Self::PayloadTooLarge { .. } => "payload_too_large",
        }
    }
}

#[cfg(test)]
mod tests {
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
