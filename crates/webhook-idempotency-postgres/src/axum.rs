//! The inbox with axum: [`InboxTransaction`] as an extractor.

use axum_core::body::Body;
use axum_core::extract::{FromRef, FromRequestParts};
use axum_core::response::{IntoResponse, Response};
use http::request::Parts;
use webhook_core::{Rejection, RequestHead};
use webhook_idempotency::IdempotencyRejection;
use webhook_idempotency::store::StoredResponse;

use crate::inbox::{Begin, Committed, Inbox, InboxError, InboxTransaction, replay};

/// Why the [`InboxTransaction`] extractor did not call the handler.
#[derive(Debug)]
#[non_exhaustive]
pub enum InboxRejection {
    /// The event was processed: its recorded response is replayed.
    Replay(StoredResponse),
    /// 409 while another transaction holds the event, 503 when Postgres fails, 400 or
    /// 500 when the delivery has no usable event id or no verified-delivery marker.
    Rejected(IdempotencyRejection),
}

impl IntoResponse for InboxRejection {
    fn into_response(self) -> Response {
        match self {
            Self::Replay(stored) => replay(stored).map(Body::from),
            Self::Rejected(rejection) => rejection.to_problem().into_response().map(Body::from),
        }
    }
}

impl IntoResponse for Committed {
    fn into_response(self) -> Response {
        Committed::into_response(self).map(Body::from)
    }
}

impl IntoResponse for InboxError {
    fn into_response(self) -> Response {
        InboxError::into_response(self).map(Body::from)
    }
}

impl<S> FromRequestParts<S> for InboxTransaction
where
    Inbox: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = InboxRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let inbox = Inbox::from_ref(state);
        let key = inbox
            .key_of(&RequestHead::from_parts(parts))
            .map_err(InboxRejection::Rejected)?;
        match inbox.begin(&key).await {
            Ok(Begin::Fresh(tx)) => Ok(tx),
            Ok(Begin::Done(stored)) => Err(InboxRejection::Replay(stored)),
            Ok(Begin::InFlight) => Err(InboxRejection::Rejected(IdempotencyRejection::InFlight {
                retry_after_seconds: inbox.in_flight_retry_after_seconds(),
            })),
            Err(error) => {
                tracing::warn!(%error, "inbox unavailable: the delivery is refused, the sender will retry");
                Err(InboxRejection::Rejected(
                    IdempotencyRejection::StoreUnavailable {
                        retry_after_seconds: 1,
                    },
                ))
            }
        }
    }
}
