use http::StatusCode;
use webhook_core::define_rejection;

define_rejection! {
    /// Why [`RequireHttpsLayer`](crate::RequireHttpsLayer) refused a request.
    ///
    /// | variant | status | `code` | gRPC status |
    /// |---|---|---|---|
    /// | [`HttpsRequired`](Self::HttpsRequired) | 403 | `https_required` | 7 `PERMISSION_DENIED` |
    ///
    /// A gRPC request gets the gRPC form (see [`Problem::into_grpc_response`]).
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
    ///
    /// let grpc = HttpsRejection::HttpsRequired.to_problem().into_grpc_response();
    /// assert_eq!(grpc.status(), 200);
    /// assert_eq!(grpc.headers()["grpc-status"], "7");
    /// ```
    ///
    /// [`Problem::into_grpc_response`]: webhook_core::Problem::into_grpc_response
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum HttpsRejection {
        /// The request did not arrive over TLS (or no trusted proxy said it did).
        #[rejection(status = StatusCode::FORBIDDEN, code = "https_required")]
        HttpsRequired => ("webhook deliveries must be sent over HTTPS: configure the endpoint URL with https://"),
    }
}

#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
impl axum::response::IntoResponse for HttpsRejection {
    fn into_response(self) -> axum::response::Response {
        axum::response::IntoResponse::into_response(webhook_core::Rejection::to_problem(&self))
    }
}
