use std::fmt;

use http::StatusCode;
use webhook_core::{Problem, Rejection};

/// Why the enqueue service answered something else than 202.
///
/// | variant | status | `code` | `Retry-After` |
/// |---|---|---|---|
/// | [`Unverified`](Self::Unverified) | 500 | `unverified_request` | |
/// | [`QueueFull`](Self::QueueFull) | 503 | `queue_full` | configured |
/// | [`QueueClosed`](Self::QueueClosed) | 503 | `queue_closed` | configured |
/// | [`QueueUnavailable`](Self::QueueUnavailable) | 503 | `queue_unavailable` | configured |
///
/// In every 503 case nothing was stored (or, after a timeout, maybe stored: the job may
/// then run twice, which the processing function must tolerate); the sender retries.
/// Each renders as `application/problem+json` through [`Rejection::to_problem`].
///
/// ```
/// use webhook_core::Rejection;
/// use webhook_queue::QueueRejection;
///
/// let response = QueueRejection::QueueFull { retry_after_seconds: 5 }.to_problem().into_response();
/// assert_eq!(response.status(), 503);
/// assert_eq!(response.headers()["retry-after"], "5");
/// let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
/// assert_eq!(body["code"], "queue_full");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum QueueRejection {
    /// The request carries no [`VerifiedDelivery`](webhook_core::VerifiedDelivery)
    /// marker: the signature layer is missing in front of the enqueue service. A
    /// configuration error, refused rather than queued unverified.
    Unverified,
    /// The queue holds its bound.
    QueueFull {
        /// Seconds to wait before retrying.
        retry_after_seconds: u64,
    },
    /// The queue stopped taking jobs: the receiver is shutting down.
    QueueClosed {
        /// Seconds to wait before retrying.
        retry_after_seconds: u64,
    },
    /// The queue's backend could not store the job (Redis unreachable or slow).
    QueueUnavailable {
        /// Seconds to wait before retrying.
        retry_after_seconds: u64,
    },
}

impl fmt::Display for QueueRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unverified => f.write_str(
                "the request reached the enqueue service without a verified-delivery marker: \
                 put the signature layer in front of it",
            ),
            Self::QueueFull {
                retry_after_seconds,
            } => write!(
                f,
                "the delivery queue is full, the delivery was not accepted; retry in {retry_after_seconds} s"
            ),
            Self::QueueClosed {
                retry_after_seconds,
            } => write!(
                f,
                "the receiver is shutting down, the delivery was not accepted; retry in {retry_after_seconds} s"
            ),
            Self::QueueUnavailable {
                retry_after_seconds,
            } => write!(
                f,
                "the delivery queue is unavailable, the delivery was not accepted; retry in {retry_after_seconds} s"
            ),
        }
    }
}

impl std::error::Error for QueueRejection {}

impl Rejection for QueueRejection {
    fn status(&self) -> StatusCode {
        match self {
            Self::Unverified => StatusCode::INTERNAL_SERVER_ERROR,
            Self::QueueFull { .. } | Self::QueueClosed { .. } | Self::QueueUnavailable { .. } => {
                StatusCode::SERVICE_UNAVAILABLE
            }
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::Unverified => "unverified_request",
            Self::QueueFull { .. } => "queue_full",
            Self::QueueClosed { .. } => "queue_closed",
            Self::QueueUnavailable { .. } => "queue_unavailable",
        }
    }

    fn to_problem(&self) -> Problem {
        let problem = Problem::new(self.status(), self.code(), self.to_string());
        match self {
            Self::Unverified => problem,
            Self::QueueFull {
                retry_after_seconds,
            }
            | Self::QueueClosed {
                retry_after_seconds,
            }
            | Self::QueueUnavailable {
                retry_after_seconds,
            } => problem.retry_after(*retry_after_seconds),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_codes_and_retry_after_are_stable() {
        let cases = [
            (QueueRejection::Unverified, 500, "unverified_request", None),
            (
                QueueRejection::QueueFull {
                    retry_after_seconds: 5,
                },
                503,
                "queue_full",
                Some("5"),
            ),
            (
                QueueRejection::QueueClosed {
                    retry_after_seconds: 7,
                },
                503,
                "queue_closed",
                Some("7"),
            ),
            (
                QueueRejection::QueueUnavailable {
                    retry_after_seconds: 2,
                },
                503,
                "queue_unavailable",
                Some("2"),
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
