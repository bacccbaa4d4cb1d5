use std::fmt;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderName, HeaderValue, RETRY_AFTER};
use http::{HeaderMap, Response, StatusCode};

/// The media type of every rejection body: `application/problem+json` (RFC 9457).
pub const PROBLEM_JSON: &str = "application/problem+json";

/// A failure family's rejection: one `#[non_exhaustive]` enum per layer implements it.
///
/// The contract: [`status`](Rejection::status) is the HTTP answer, [`code`](Rejection::code)
/// a short, stable, machine-readable name, and `Display` a message for humans that never
/// contains a secret or an expected signature.
pub trait Rejection: std::error::Error {
    /// The HTTP status to answer with.
    fn status(&self) -> StatusCode;

    /// A short, stable, machine-readable code such as `signature_mismatch`.
    fn code(&self) -> &'static str;

    /// Renders the rejection as a [`Problem`]. Override to add headers (`Retry-After`).
    fn to_problem(&self) -> Problem {
        Problem::new(self.status(), self.code(), self.to_string())
    }
}

/// The machine-readable code of a layer's rejection, found in the extensions of every
/// response a layer produced itself (custom rejection responses included).
///
/// Outer layers (metrics, tracing) read it to tell a rejection from the handler's
/// own answer without parsing the body.
///
/// ```
/// use http::StatusCode;
/// use webhook_core::{Problem, RejectionCode};
///
/// let response = Problem::new(StatusCode::UNAUTHORIZED, "signature_mismatch", "no key matched").into_response();
/// assert_eq!(response.extensions().get::<RejectionCode>(), Some(&RejectionCode("signature_mismatch")));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RejectionCode(pub &'static str);

/// An `application/problem+json` response under construction.
///
/// The body has the RFC 9457 members `type`, `title`, `status` and `detail`, plus the
/// extension member `code` that clients match on:
///
/// ```
/// use http::StatusCode;
/// use webhook_core::Problem;
///
/// let problem = Problem::new(StatusCode::UNAUTHORIZED, "signature_mismatch", "no key matched");
/// let body: serde_json::Value = serde_json::from_slice(&problem.to_json()).unwrap();
/// assert_eq!(body["code"], "signature_mismatch");
/// assert_eq!(body["status"], 401);
/// assert_eq!(body["title"], "Unauthorized");
/// assert_eq!(body["detail"], "no key matched");
/// ```
#[derive(Clone, Debug)]
pub struct Problem {
    status: StatusCode,
    code: &'static str,
    detail: String,
    headers: HeaderMap,
}

impl Problem {
    /// A problem with the given status, machine-readable code and human-readable detail.
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
            headers: HeaderMap::new(),
        }
    }

    /// Adds `Retry-After: <seconds>`, telling the sender when to try again.
    #[must_use]
    pub fn retry_after(self, seconds: u64) -> Self {
        self.header(RETRY_AFTER, HeaderValue::from(seconds))
    }

    /// Adds a response header.
    #[must_use]
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.append(name, value);
        self
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The machine-readable code.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The human-readable detail.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// The JSON body.
    pub fn to_json(&self) -> Bytes {
        let value = serde_json::json!({
            "type": "about:blank",
            "title": self.status.canonical_reason().unwrap_or("Error"),
            "status": self.status.as_u16(),
            "code": self.code,
            "detail": self.detail,
        });
        Bytes::from(value.to_string())
    }

    /// Builds the response: status, headers, `Content-Type: application/problem+json`
    /// and the JSON body, with the [`RejectionCode`] in the response extensions.
    pub fn into_response(self) -> Response<Bytes> {
        let body = self.to_json();
        let mut response = Response::new(body);
        *response.status_mut() = self.status;
        response.extensions_mut().insert(RejectionCode(self.code));
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        headers.extend(self.headers);
        response
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.status, self.code, self.detail)
    }
}

#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
impl axum_core::response::IntoResponse for Problem {
    fn into_response(self) -> axum_core::response::Response {
        Problem::into_response(self).map(axum_core::body::Body::from)
    }
}
