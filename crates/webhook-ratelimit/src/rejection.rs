use std::fmt;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderName, HeaderValue, RETRY_AFTER};
use http::{Response, StatusCode};
use webhook_core::{Problem, Rejection};

/// Why the rate-limit layer refused a request.
///
/// | variant | status | `code` | gRPC status |
/// |---|---|---|---|
/// | [`Limited`](Self::Limited) | 429 | `rate_limited` | 8 `RESOURCE_EXHAUSTED` |
/// | [`Unavailable`](Self::Unavailable) | 503 | `rate_limiter_unavailable` | 14 `UNAVAILABLE` |
/// | [`MissingKey`](Self::MissingKey) | 500 | `rate_limit_key_missing` | 13 `INTERNAL` |
///
/// `Limited` and `Unavailable` carry `Retry-After` in whole seconds, rounded up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RateLimitRejection {
    /// The sender is over its quota.
    Limited {
        /// Seconds until a request under the same key conforms again (at least 1).
        retry_after_secs: u64,
    },
    /// The backend (Redis) could not be reached and is configured to fail closed.
    Unavailable {
        /// Seconds to wait before trying again.
        retry_after_secs: u64,
    },
    /// The request carries nothing to count it against (no connection address, no
    /// verified-delivery marker: the layer is misplaced) and the layer is configured
    /// to refuse such requests. A server-side problem, hence 500: the sender retries
    /// later instead of dropping the delivery.
    MissingKey,
}

impl fmt::Display for RateLimitRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Limited { .. } => {
                f.write_str("too many requests: the rate limit is exhausted; retry after the delay in `Retry-After`")
            }
            Self::Unavailable { .. } => f.write_str(
                "the rate limiter cannot be reached; retry after the delay in `Retry-After`",
            ),
            Self::MissingKey => {
                f.write_str("the request carries no rate-limit key; the server is misconfigured")
            }
        }
    }
}

impl std::error::Error for RateLimitRejection {}

impl Rejection for RateLimitRejection {
    fn status(&self) -> StatusCode {
        match self {
            Self::Limited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::MissingKey => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::Limited { .. } => "rate_limited",
            Self::Unavailable { .. } => "rate_limiter_unavailable",
            Self::MissingKey => "rate_limit_key_missing",
        }
    }

    fn to_problem(&self) -> Problem {
        let problem = Problem::new(self.status(), self.code(), self.to_string());
        match self.retry_after_secs() {
            Some(seconds) => problem.retry_after(seconds),
            None => problem,
        }
    }
}

impl RateLimitRejection {
    /// The `Retry-After` value, in seconds, for the variants that have one.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            Self::Limited { retry_after_secs } | Self::Unavailable { retry_after_secs } => {
                Some(*retry_after_secs)
            }
            Self::MissingKey => None,
        }
    }

    /// The gRPC status code: 8 `RESOURCE_EXHAUSTED`, 14 `UNAVAILABLE` or 13 `INTERNAL`.
    pub fn grpc_status(&self) -> u16 {
        match self {
            Self::Limited { .. } => 8,
            Self::Unavailable { .. } => 14,
            Self::MissingKey => 13,
        }
    }

    /// The rejection as a gRPC "Trailers-Only" response: HTTP 200, `content-type:
    /// application/grpc`, `grpc-status`, a percent-encoded `grpc-message`, an empty
    /// body, and `Retry-After` where there is one.
    ///
    /// ```
    /// use webhook_ratelimit::RateLimitRejection;
    ///
    /// let response = RateLimitRejection::Limited { retry_after_secs: 3 }.to_grpc_response();
    /// assert_eq!(response.status(), 200);
    /// assert_eq!(response.headers()["grpc-status"], "8");
    /// assert_eq!(response.headers()["retry-after"], "3");
    /// assert!(response.body().is_empty());
    /// ```
    pub fn to_grpc_response(&self) -> Response<Bytes> {
        let mut response = Response::new(Bytes::new());
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
        headers.insert(grpc_status_header(), HeaderValue::from(self.grpc_status()));
        let message = percent_encode(&self.to_string());
        if let Ok(message) = HeaderValue::from_str(&message) {
            headers.insert(grpc_message_header(), message);
        }
        if let Some(seconds) = self.retry_after_secs() {
            headers.insert(RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
impl axum::response::IntoResponse for RateLimitRejection {
    fn into_response(self) -> axum::response::Response {
        axum::response::IntoResponse::into_response(self.to_problem())
    }
}

fn grpc_status_header() -> HeaderName {
    HeaderName::from_static("grpc-status")
}

fn grpc_message_header() -> HeaderName {
    HeaderName::from_static("grpc-message")
}

/// Percent-encodes a `grpc-message` as the gRPC HTTP/2 protocol asks: every byte
/// outside printable ASCII, and `%`.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if (0x20..=0x7e).contains(&byte) && byte != b'%' {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_codes_and_retry_after() {
        let limited = RateLimitRejection::Limited {
            retry_after_secs: 7,
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
            retry_after_secs: 2,
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
            retry_after_secs: 1,
        }
        .to_grpc_response();
        assert_eq!(response.headers()["grpc-status"], "14");
        assert_eq!(response.headers()["content-type"], "application/grpc");
        let message = response.headers()["grpc-message"].to_str().unwrap();
        assert!(message.starts_with("the rate limiter cannot be reached"));
        assert_eq!(RateLimitRejection::MissingKey.grpc_status(), 13);
        assert_eq!(percent_encode("50% café"), "50%25 caf%C3%A9");
    }
}
