//! How a layer refuses a request: the [`Rejection`] trait, the [`define_rejection!`]
//! macro that declares a failure family, the [`REJECTION_CODES`] every layer answers
//! with, and [`refuse`], the one path by which a layer logs and renders a refusal.
//!
//! [`define_rejection!`]: crate::define_rejection

mod codes;
mod grpc;
mod macros;
mod problem;

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, Response, StatusCode};

pub use codes::{REJECTION_CODES, is_known_code};
pub use grpc::{grpc_status_for, is_grpc};
pub use problem::{PROBLEM_JSON, Problem, RefusalLogged, RejectionCode};

/// A failure family's rejection: one `#[non_exhaustive]` enum per layer implements it,
/// declared with [`define_rejection!`](crate::define_rejection).
///
/// The contract: [`status`](Rejection::status) is the HTTP answer, [`code`](Rejection::code)
/// a short, stable, machine-readable name listed in [`REJECTION_CODES`], and `Display` a
/// message for humans that never contains a secret or an expected signature.
pub trait Rejection: std::error::Error {
    /// The HTTP status to answer with.
    fn status(&self) -> StatusCode;

    /// A short, stable, machine-readable code such as `signature_mismatch`.
    fn code(&self) -> &'static str;

    /// The gRPC status code a gRPC client receives instead (`grpc-status`); by default
    /// [`grpc_status_for`] the HTTP status.
    fn grpc_status(&self) -> u16 {
        grpc_status_for(self.status())
    }

    /// Seconds the sender should wait before retrying (`Retry-After`), if the
    /// rejection says.
    fn retry_after(&self) -> Option<u64> {
        None
    }

    /// Renders the rejection as a [`Problem`]: status, code, message, gRPC status and
    /// `Retry-After`.
    fn to_problem(&self) -> Problem {
        let problem = Problem::new(self.status(), self.code(), self.to_string())
            .grpc_status(self.grpc_status());
        match self.retry_after() {
            Some(seconds) => problem.retry_after(seconds),
            None => problem,
        }
    }
}

/// A user's replacement for a layer's default rejection responses (each layer's
/// `on_rejection`).
pub type RenderRejection<R> = Arc<dyn Fn(&R) -> Response<Bytes> + Send + Sync>;

/// Logs a layer's refusal once and renders its answer.
///
/// - Logged once, with the `code`, the `layer` that refused and the message: at
///   `ERROR` when the status is 500 (the server is misconfigured: a layer is missing
///   or misplaced), at `DEBUG` for a 409 (a copy of a delivery being processed: nothing
///   is wrong), at `WARN` otherwise. The response carries [`RefusalLogged`], so
///   an outer layer that also logs outcomes (`ObserveLayer`) does not warn a second time.
/// - Rendered by `render` when the user set one, else as a gRPC "Trailers-Only"
///   response when the request is gRPC ([`is_grpc`]), else as
///   `application/problem+json`.
/// - The [`RejectionCode`] is in the response extensions, whatever rendered it.
///
/// ```
/// use webhook_core::{Rejection, RejectionCode, refuse};
/// # #[derive(Debug)] struct Gone;
/// # impl std::fmt::Display for Gone { fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str("gone") } }
/// # impl std::error::Error for Gone {}
/// # impl Rejection for Gone {
/// #     fn status(&self) -> http::StatusCode { http::StatusCode::PAYLOAD_TOO_LARGE }
/// #     fn code(&self) -> &'static str { "payload_too_large" }
/// # }
/// let grpc = http::Request::post("/pkg.Svc/Call").header("content-type", "application/grpc").body(()).unwrap();
/// let response = refuse("example", &Gone, grpc.headers(), None);
/// assert_eq!(response.status(), 200);
/// assert_eq!(response.headers()["grpc-status"], "8");
/// assert_eq!(response.extensions().get::<RejectionCode>(), Some(&RejectionCode("payload_too_large")));
/// ```
pub fn refuse<R: Rejection>(
    layer: &'static str,
    rejection: &R,
    request_headers: &HeaderMap,
    render: Option<&RenderRejection<R>>,
) -> Response<Bytes> {
    refuse_with(layer, rejection, is_grpc(request_headers), render)
}

/// [`refuse`], for a layer that kept only whether the request was gRPC (the request
/// itself went on to the inner service).
pub fn refuse_with<R: Rejection>(
    layer: &'static str,
    rejection: &R,
    grpc: bool,
    render: Option<&RenderRejection<R>>,
) -> Response<Bytes> {
    let code = rejection.code();
    let status = rejection.status();
    match status {
        StatusCode::INTERNAL_SERVER_ERROR => {
            tracing::error!(code, layer, status = status.as_u16(), detail = %rejection, "webhook delivery refused: the server is misconfigured");
        }
        StatusCode::CONFLICT => {
            tracing::debug!(code, layer, status = status.as_u16(), detail = %rejection, "duplicate webhook delivery refused");
        }
        _ => {
            tracing::warn!(code, layer, status = status.as_u16(), detail = %rejection, "webhook delivery rejected");
        }
    }
    let mut response = match render {
        Some(render) => render(rejection),
        None if grpc => rejection.to_problem().into_grpc_response(),
        None => rejection.to_problem().into_response(),
    };
    let extensions = response.extensions_mut();
    extensions.insert(RejectionCode(code));
    extensions.insert(RefusalLogged);
    response
}
