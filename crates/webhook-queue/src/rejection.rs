use http::StatusCode;
use webhook_core::define_rejection;

define_rejection! {
    /// Why the enqueue service answered something else than 202.
    ///
    /// | variant | status | `code` | `Retry-After` |
    /// |---|---|---|---|
    /// | [`Unverified`](Self::Unverified) | 500 | `missing_verified_delivery` | |
    /// | [`QueueFull`](Self::QueueFull) | 503 | `queue_full` | configured |
    /// | [`QueueClosed`](Self::QueueClosed) | 503 | `queue_closed` | configured |
    /// | [`QueueUnavailable`](Self::QueueUnavailable) | 503 | `queue_unavailable` | configured |
    ///
    /// In every 503 case nothing was stored (or, after a timeout, maybe stored: the job may
    /// then run twice, which the processing function must tolerate); the sender retries.
    /// Each renders as `application/problem+json` through [`Rejection::to_problem`], or
    /// in gRPC form to a gRPC client (see [`webhook_core::refuse`]).
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
    ///
    /// [`Rejection::to_problem`]: webhook_core::Rejection::to_problem
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum QueueRejection {
        /// The request carries no [`VerifiedDelivery`](webhook_core::VerifiedDelivery)
        /// marker: the signature layer is missing in front of the enqueue service. A
        /// configuration error, refused rather than queued unverified.
        #[rejection(status = StatusCode::INTERNAL_SERVER_ERROR, code = "missing_verified_delivery")]
        Unverified => (
            "the request reached the enqueue service without a verified-delivery marker: \
             put the signature layer in front of it"
        ),
        /// The queue holds its bound.
        #[rejection(status = StatusCode::SERVICE_UNAVAILABLE, code = "queue_full", retry_after = retry_after_seconds)]
        QueueFull {
            /// Seconds to wait before retrying.
            retry_after_seconds: u64,
        } => ("the delivery queue is full, the delivery was not accepted; retry in {retry_after_seconds} s"),
        /// The queue stopped taking jobs: the receiver is shutting down.
        #[rejection(status = StatusCode::SERVICE_UNAVAILABLE, code = "queue_closed", retry_after = retry_after_seconds)]
        QueueClosed {
            /// Seconds to wait before retrying.
            retry_after_seconds: u64,
        } => ("the receiver is shutting down, the delivery was not accepted; retry in {retry_after_seconds} s"),
        /// The queue's backend could not store the job (Redis unreachable or slow).
        #[rejection(status = StatusCode::SERVICE_UNAVAILABLE, code = "queue_unavailable", retry_after = retry_after_seconds)]
        QueueUnavailable {
            /// Seconds to wait before retrying.
            retry_after_seconds: u64,
        } => ("the delivery queue is unavailable, the delivery was not accepted; retry in {retry_after_seconds} s"),
    }
}

#[cfg(test)]
mod tests {
    use webhook_core::Rejection;

    use super::*;

    #[test]
    fn statuses_codes_and_retry_after_are_stable() {
        let cases = [
            (
                QueueRejection::Unverified,
                500,
                "missing_verified_delivery",
                None,
            ),
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
