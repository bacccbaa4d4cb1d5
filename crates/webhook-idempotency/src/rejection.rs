use http::StatusCode;
use webhook_core::define_rejection;

define_rejection! {
    /// Why the idempotency layer answered instead of the handler.
    ///
    /// | variant | status | `code` | `Retry-After` |
    /// |---|---|---|---|
    /// | [`Unverified`](Self::Unverified) | 500 | `missing_verified_delivery` | |
    /// | [`MissingEventId`](Self::MissingEventId) | 400 | `missing_event_id` | |
    /// | [`InvalidEventId`](Self::InvalidEventId) | 400 | `invalid_event_id` | |
    /// | [`InFlight`](Self::InFlight) | 409 | `in_flight` | time left on the lease |
    /// | [`StoreUnavailable`](Self::StoreUnavailable) | 503 | `store_unavailable` | configured |
    ///
    /// Each renders as `application/problem+json` through [`Rejection::to_problem`], or
    /// in gRPC form to a gRPC client (see [`webhook_core::refuse`]).
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
    ///
    /// [`Rejection::to_problem`]: webhook_core::Rejection::to_problem
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum IdempotencyRejection {
        /// The request carries no [`VerifiedDelivery`](webhook_core::VerifiedDelivery)
        /// marker: the signature layer is missing in front of this one. A configuration
        /// error, refused rather than processed unprotected.
        #[rejection(status = StatusCode::INTERNAL_SERVER_ERROR, code = "missing_verified_delivery")]
        Unverified => (
            "the request reached the idempotency layer without a verified-delivery marker: \
             put the signature layer in front of it"
        ),
        /// No event id was found in the delivery.
        #[rejection(status = StatusCode::BAD_REQUEST, code = "missing_event_id")]
        MissingEventId => ("the delivery carries no event id"),
        /// The event id is unusable.
        #[rejection(status = StatusCode::BAD_REQUEST, code = "invalid_event_id")]
        InvalidEventId {
            /// What is wrong with it.
            reason: &'static str,
        } => ("unusable event id: {reason}"),
        /// The same event is being processed by another request; try again later.
        #[rejection(status = StatusCode::CONFLICT, code = "in_flight", retry_after = retry_after_seconds)]
        InFlight {
            /// Seconds left on the other request's lease (at least 1).
            retry_after_seconds: u64,
        } => ("this event is being processed by another request; retry in {retry_after_seconds} s"),
        /// The store could not be reached, so the delivery was not processed; nothing is
        /// lost, the sender retries.
        #[rejection(status = StatusCode::SERVICE_UNAVAILABLE, code = "store_unavailable", retry_after = retry_after_seconds)]
        StoreUnavailable {
            /// Seconds to wait before retrying.
            retry_after_seconds: u64,
        } => ("the idempotency store is unavailable, the delivery was not processed; retry in {retry_after_seconds} s"),
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
                IdempotencyRejection::Unverified,
                500,
                "missing_verified_delivery",
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
