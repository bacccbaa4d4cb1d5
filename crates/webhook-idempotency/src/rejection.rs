use std::fmt;

use http::StatusCode;
use webhook_core::{Problem, Rejection};

/// Why the idempotency layer answered instead of the handler.
///
/// | variant | status | `code` | `Retry-After` |
/// |---|---|---|---|
/// | [`Unverified`](Self::Unverified) | 500 | `unverified_request` | |
/// | [`MissingEventId`](Self::MissingEventId) | 400 | `missing_event_id` | |
/// | [`InvalidEventId`](Self::InvalidEventId) | 400 | `invalid_event_id` | |
/// | [`InFlight`](Self::InFlight) | 409 | `in_flight` | time left on the lease |
/// | [`StoreUnavailable`](Self::StoreUnavailable) | 503 | `store_unavailable` | configured |
///
/// Each renders as `application/problem+json` through [`Rejection::to_problem`].
///
/// ```
/// use webhook_core::Rejection;
/// use webhook_idempotency::IdempotencyRejection;
///
/// let response = IdempotencyRejection::InFlight { retry_after_seconds: 42 }.to_problem().into_response();
/// assert_eq!(response.status(), 409);
/// assert_eq!(response.headers()["retry-after"], "42");
/// let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
/// assert_eq!(body["code"], "in_flight");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdempotencyRejection {
    /// The request carries no [`VerifiedDelivery`](webhook_core::VerifiedDelivery)
    /// marker: the signature layer is missing in front of this one. A configuration
    /// error, refused rather than processed unprotected.
    Unverified,
    /// No event id was found in the delivery.
    MissingEventId,
    /// The event id is unusable.
    InvalidEventId {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The same event is being processed by another request; try again later.
    InFlight {
        /// Seconds left on the other request's lease (at least 1).
        retry_after_seconds: u64,
    },
    /// The store could not be reached, so the delivery was not processed; nothing is
    /// lost, the sender retries.
    StoreUnavailable {
        /// Seconds to wait before retrying.
        retry_after_seconds: u64,
    },
}

impl fmt::Display for IdempotencyRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unverified => f.write_str(
                "the request reached the idempotency layer without a verified-delivery marker: \
                 put the signature layer in front of it",
            ),
            Self::MissingEventId => f.write_str("the delivery carries no event id"),
            Self::InvalidEventId { reason } => write!(f, "unusable event id: {reason}"),
            Self::InFlight {
                retry_after_seconds,
            } => write!(
                f,
                "this event is being processed by another request; retry in {retry_after_seconds} s"
            ),
            Self::StoreUnavailable {
                retry_after_seconds,
            } => write!(
                f,
                "the idempotency store is unavailable, the delivery was not processed; retry in {retry_after_seconds} s"
            ),
        }
    }
}

impl std::error::Error for IdempotencyRejection {}

impl Rejection for IdempotencyRejection {
    fn status(&self) -> StatusCode {
        match self {
            Self::Unverified => StatusCode::INTERNAL_SERVER_ERROR,
            Self::MissingEventId | Self::InvalidEventId { .. } => StatusCode::BAD_REQUEST,
            Self::InFlight { .. } => StatusCode::CONFLICT,
            Self::StoreUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::Unverified => "unverified_request",
            Self::MissingEventId => "missing_event_id",
            Self::InvalidEventId { .. } => "invalid_event_id",
            Self::InFlight { .. } => "in_flight",
            Self::StoreUnavailable { .. } => "store_unavailable",
        }
    }

    fn to_problem(&self) -> Problem {
        let problem = Problem::new(self.status(), self.code(), self.to_string());
        match self {
            Self::InFlight {
                retry_after_seconds,
            }
            | Self::StoreUnavailable {
                retry_after_seconds,
            } => problem.retry_after(*retry_after_seconds),
            _ => problem,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_codes_and_retry_after_are_stable() {
        let cases = [
            (
                IdempotencyRejection::Unverified,
                500,
                "unverified_request",
                None,
            ),
            (
                IdempotencyRejection::MissingEventId,
                400,
                "missing_event_id",
                None,
            ),
            (
                IdempotencyRejection::InvalidEventId { reason: "too long" },
                400,
                "invalid_event_id",
                None,
            ),
            (
                IdempotencyRejection::InFlight {
                    retry_after_seconds: 7,
                },
                409,
                "in_flight",
                Some("7"),
            ),
            (
                IdempotencyRejection::StoreUnavailable {
                    retry_after_seconds: 5,
                },
                503,
                "store_unavailable",
                Some("5"),
            ),
        ];
        for (rejection, status, code, retry_after) in cases {
            let response = rejection.to_problem().into_response();
            assert_eq!(response.status().as_u16(), status);
            assert_eq!(
                response.headers()["content-type"],
                "application/problem+json"
            );
            assert_eq!(
                response
                    .headers()
                    .get("retry-after")
                    .map(|v| v.to_str().unwrap()),
                retry_after
            );
            let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
            assert_eq!(body["code"], code);
            assert_eq!(body["status"], status);
        }
    }
}
