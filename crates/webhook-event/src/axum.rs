//! axum extractors and responses (feature `axum`).
//!
//! - [`WebhookEvent<T>`] implements `FromRequestParts`: it reads the marker from the
//!   extensions and does not consume the body, so it combines with other extractors
//!   in any position.
//! - [`UnverifiedWebhookEvent<T>`] implements `FromRequest`: it reads the body (under
//!   axum's `DefaultBodyLimit`), or uses the marker's bytes when there is one.
//! - [`EventRejection`], [`GuardError`] and [`Handled`] implement `IntoResponse`.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use axum::Router;
//! use axum::body::Body;
//! use axum::routing::post;
//! use http::{Request, StatusCode};
//! use serde::Deserialize;
//! use tower::ServiceExt;
//! use webhook_event::{EventRejection, Handled, WebhookEvent};
//!
//! #[derive(Deserialize)]
//! struct Payout {
//!     payout_id: String,
//! }
//!
//! async fn payout(event: WebhookEvent<Payout>) -> Handled {
//!     println!("{} {} (key {})", event.event_type, event.data.payout_id, event.key_id());
//!     Handled::Processed
//! }
//!
//! // Remap a rejection: take `Result<WebhookEvent<T>, EventRejection>`.
//! async fn lenient(event: Result<WebhookEvent<Payout>, EventRejection>) -> StatusCode {
//!     match event {
//!         Ok(_) => StatusCode::OK,
//!         Err(EventRejection::Unverified) => StatusCode::INTERNAL_SERVER_ERROR,
//!         Err(_) => StatusCode::OK, // acknowledge what cannot be parsed
//!     }
//! }
//!
//! // No signature layer here: the extractor refuses with 500, naming the misconfiguration.
//! let app = Router::new().route("/webhooks", post(payout)).route("/lenient", post(lenient));
//! let response = app
//!     .oneshot(Request::post("/webhooks").body(Body::from("{}")).unwrap())
//!     .await
//!     .unwrap();
//! assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
//! assert_eq!(response.headers()["content-type"], "application/problem+json");
//! # }
//! ```

use axum_core::extract::{FromRequest, FromRequestParts, Request};
use axum_core::response::{IntoResponse, Response};
use bytes::Bytes;
use http::request::Parts;
use serde::de::DeserializeOwned;
use webhook_core::{Rejection, VerifiedDelivery};

use crate::router::IntoEventResponse;
use crate::{EventRejection, GuardError, Handled, UnverifiedWebhookEvent, WebhookEvent};

#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
impl<T, S> FromRequestParts<S> for WebhookEvent<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = EventRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Self::from_parts(parts)
    }
}

#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
impl<T, S> FromRequest<S> for UnverifiedWebhookEvent<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = EventRejection;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(delivery) = request.extensions().get::<VerifiedDelivery>() {
            return Self::parse(delivery.body(), Some(delivery));
        }
        let body = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| EventRejection::UnreadableBody {
                status: rejection.status(),
                reason: rejection.body_text(),
            })?;
        Self::parse(&body, None)
    }
}

#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
impl IntoResponse for EventRejection {
    /// Logs the rejection once and renders it (see [`webhook_core::refuse`]).
    fn into_response(self) -> Response {
        webhook_core::refuse_with("event", &self, false, None).map(axum_core::body::Body::from)
    }
}

#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
impl IntoResponse for GuardError {
    fn into_response(self) -> Response {
        tracing::error!(error = %self, "webhook event not applied");
        let mut response = IntoResponse::into_response(self.to_problem());
        response
            .extensions_mut()
            .insert(webhook_core::RefusalLogged);
        response
    }
}

#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
impl IntoResponse for Handled {
    fn into_response(self) -> Response {
        self.into_event_response().map(axum_core::body::Body::from)
    }
}
