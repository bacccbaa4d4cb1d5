use http::StatusCode;
use webhook_core::define_rejection;

define_rejection! {
    /// Why the rate-limit layer refused a request.
    ///
    /// | variant | status | `code` | gRPC status |
    /// |---|---|---|---|
    /// | [`Limited`](Self::Limited) | 429 | `rate_limited` | 8 `RESOURCE_EXHAUSTED` |
    /// | [`Unavailable`](Self::Unavailable) | 503 | `rate_limiter_unavailable` | 14 `UNAVAILABLE` |
    /// | [`MissingKey`](Self::MissingKey) | 500 | `rate_limit_key_missing` | 13 `INTERNAL` |
    ///
    /// `Limited` and `Unavailable` carry `Retry-After` in whole seconds, rounded up. A
    /// gRPC request gets the gRPC form (see [`Problem::into_grpc_response`]).
    ///
    /// [`Problem::into_grpc_response`]: webhook_core::Problem::into_grpc_response
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum RateLimitRejection {
        /// The sender is over its quota.
        #[rejection(status = StatusCode::TOO_MANY_REQUESTS, code = "rate_limited", retry_after = retry_after_seconds)]
        Limited {
            /// Seconds until a request under the same key conforms again (at least 1).
            retry_after_seconds: u64,
        } => ("too many requests: the rate limit is exhausted; retry after the delay in `Retry-After`"),
        /// The backend (Redis) could not be reached and is configured to fail closed.
        #[rejection(status = StatusCode::SERVICE_UNAVAILABLE, code = "rate_limiter_unavailable", retry_after = retry_after_seconds)]
        Unavailable {
            /// Seconds to wait before trying again.
            retry_after_seconds: u64,
        } => ("the rate limiter cannot be reached; retry after the delay in `Retry-After`"),
        /// The request carries nothing to count it against (no connection address, no
        /// verified-delivery marker: the layer is misplaced) and the layer is configured
        /// to refuse such requests. A server-side problem, hence 500: the sender retries
        /// later instead of dropping the delivery.
        #[rejection(status = StatusCode::INTERNAL_SERVER_ERROR, code = "rate_limit_key_missing")]
        MissingKey => ("the request carries no rate-limit key; the server is misconfigured"),
    }
}

#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
impl axum::response::IntoResponse for RateLimitRejection {
    fn into_response(self) -> axum::response::Response {
        axum::response::IntoResponse::into_response(webhook_core::Rejection::to_problem(&self))
    }
}

#[cfg(test)]
mod tests {
    use webhook_core::Rejection;

    use super::*;

    #[test]
    fn statuses_codes_and_retry_after() {
        let limited = RateLimitRejection::Limited {
            retry_after_seconds: 7,
        };
        let response = limited.to_problem().into_response();
        assert_eq!(response.status(), 429);
        assert_eq!(response.headers()["retry-after"], "7");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
        assert_eq!(body["code"], "rate_limited");
        assert_eq!(body["status"], 429);

        let unavailable = RateLimitRejection::Unavailable {
            retry_after_seconds: 2,
        };
        assert_eq!(unavailable.status(), 503);
        assert_eq!(unavailable.code(), "rate_limiter_unavailable");
        assert_eq!(
            unavailable.to_problem().into_response().headers()["retry-after"],
            "2"
        );

        let missing = RateLimitRejection::MissingKey;
        assert_eq!(missing.status(), 500);
        assert_eq!(missing.code(), "rate_limit_key_missing");
        assert!(
            missing
                .to_problem()
                .into_response()
                .headers()
                .get("retry-after")
                .is_none()
        );
    }

    #[test]
    fn grpc_mapping() {
        let response = RateLimitRejection::Unavailable {
            retry_after_seconds: 1,
        }
        .to_problem()
        .into_grpc_response();
        assert_eq!(response.headers()["grpc-status"], "14");
        assert_eq!(response.headers()["content-type"], "application/grpc");
        let message = response.headers()["grpc-message"].to_str().unwrap();
        assert!(message.starts_with("the rate limiter cannot be reached"));
        assert_eq!(RateLimitRejection::MissingKey.grpc_status(), 13);
    }
}
