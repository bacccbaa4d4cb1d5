use std::fmt;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use http::{Response, StatusCode};
use webhook_core::{Rejection, RejectionCode};

/// Why [`RequireHttpsLayer`](crate::RequireHttpsLayer) refused a request.
///
/// | variant | status | `code` | gRPC status |
/// |---|---|---|---|
/// | [`HttpsRequired`](Self::HttpsRequired) | 403 | `https_required` | 7 `PERMISSION_DENIED` |
///
/// ```
/// use webhook_core::{Rejection, RejectionCode};
/// use webhook_https::HttpsRejection;
///
/// let response = HttpsRejection::HttpsRequired.to_problem().into_response();
/// assert_eq!(response.status(), 403);
/// assert_eq!(response.extensions().get::<RejectionCode>(), Some(&RejectionCode("https_required")));
/// let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
/// assert_eq!(body["code"], "https_required");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HttpsRejection {
    /// The request did not arrive over TLS (or no trusted proxy said it did).
    HttpsRequired,
}

impl fmt::Display for HttpsRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::HttpsRequired => f.write_str(
                "webhook deliveries must be sent over HTTPS: configure the endpoint URL with https://",
            ),
        }
    }
}

impl std::error::Error for HttpsRejection {}

impl Rejection for HttpsRejection {
    fn status(&self) -> StatusCode {
        match self {
            Self::HttpsRequired => StatusCode::FORBIDDEN,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::HttpsRequired => "https_required",
        }
    }
}

impl HttpsRejection {
    /// The gRPC status code: 7 `PERMISSION_DENIED`.
    pub fn grpc_status(&self) -> u16 {
        match self {
            Self::HttpsRequired => 7,
        }
    }

    /// The rejection as a gRPC "Trailers-Only" response: HTTP 200, `content-type:
    /// application/grpc`, `grpc-status`, `grpc-message`, an empty body, and the
    /// [`RejectionCode`] in the extensions.
    ///
    /// ```
    /// use webhook_https::HttpsRejection;
    ///
    /// let response = HttpsRejection::HttpsRequired.to_grpc_response();
    /// assert_eq!(response.status(), 200);
    /// assert_eq!(response.headers()["grpc-status"], "7");
    /// assert!(response.body().is_empty());
    /// ```
    pub fn to_grpc_response(&self) -> Response<Bytes> {
        let mut response = Response::new(Bytes::new());
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
        headers.insert(
            HeaderName::from_static("grpc-status"),
            HeaderValue::from(self.grpc_status()),
        );
        // The message is printable ASCII without `%`: no percent-encoding needed.
        if let Ok(message) = HeaderValue::from_str(&self.to_string()) {
            headers.insert(HeaderName::from_static("grpc-message"), message);
        }
        response.extensions_mut().insert(RejectionCode(self.code()));
        response
    }
}

#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
impl axum::response::IntoResponse for HttpsRejection {
    fn into_response(self) -> axum::response::Response {
        axum::response::IntoResponse::into_response(self.to_problem())
    }
}
