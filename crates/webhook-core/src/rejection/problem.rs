use std::fmt;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderName, HeaderValue, RETRY_AFTER};
use http::{HeaderMap, Response, StatusCode};

use super::grpc::{self, grpc_status_for};

/// The media type of every rejection body: `application/problem+json` (RFC 9457).
pub const PROBLEM_JSON: &str = "application/problem+json";

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

/// In a response's extensions: the layer that refused the request has logged the
/// refusal already (see [`refuse`](crate::refuse)), so an outer layer that logs every
/// outcome records this one below `WARN`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefusalLogged;

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
    grpc_status: u16,
    headers: HeaderMap,
}

impl Problem {
    /// A problem with the given status, machine-readable code and human-readable detail;
    /// its gRPC status is [`grpc_status_for`] the HTTP status.
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
            grpc_status: grpc_status_for(status),
            headers: HeaderMap::new(),
        }
    }

    /// Sets the gRPC status code a gRPC client receives (see [`into_grpc_response`](Self::into_grpc_response)).
    #[must_use]
    pub fn grpc_status(mut self, code: u16) -> Self {
        self.grpc_status = code;
        self
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

    /// Builds the answer a gRPC client can read: a "Trailers-Only" response (HTTP 200,
    /// `content-type: application/grpc`, `grpc-status`, the percent-encoded detail in
    /// `grpc-message`, an empty body), with the problem's own headers (`Retry-After`)
    /// and the [`RejectionCode`] in the extensions.
    ///
    /// ```
    /// use http::StatusCode;
    /// use webhook_core::Problem;
    ///
    /// let response = Problem::new(StatusCode::UNAUTHORIZED, "signature_mismatch", "no key matched, 100%")
    ///     .into_grpc_response();
    /// assert_eq!(response.status(), StatusCode::OK);
    /// assert_eq!(response.headers()["content-type"], "application/grpc");
    /// assert_eq!(response.headers()["grpc-status"], "16");
    /// assert_eq!(response.headers()["grpc-message"], "no key matched, 100%25");
    /// assert!(response.body().is_empty());
    /// ```
    pub fn into_grpc_response(self) -> Response<Bytes> {
        let mut response = Response::new(Bytes::new());
        response.extensions_mut().insert(RejectionCode(self.code));
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
        headers.insert(grpc::GRPC_STATUS, HeaderValue::from(self.grpc_status));
        if let Ok(message) = HeaderValue::from_str(&grpc::percent_encode(&self.detail)) {
            headers.insert(grpc::GRPC_MESSAGE, message);
        }
        headers.extend(self.headers);
        response
    }

    /// The response for a request with these headers: [`into_grpc_response`](Self::into_grpc_response)
    /// when it is a gRPC request ([`is_grpc`](crate::is_grpc)), else
    /// [`into_response`](Self::into_response).
    pub fn into_response_for(self, request_headers: &HeaderMap) -> Response<Bytes> {
        if grpc::is_grpc(request_headers) {
            self.into_grpc_response()
        } else {
            self.into_response()
        }
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
