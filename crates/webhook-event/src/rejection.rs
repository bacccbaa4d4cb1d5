use std::fmt;

use http::StatusCode;
use webhook_core::Rejection;

/// Why a webhook event could not be extracted from a request.
///
/// | variant | status | `code` |
/// |---|---|---|
/// | [`MissingDelivery`](Self::MissingDelivery) | 500 | `missing_verified_delivery` |
/// | [`MalformedJson`](Self::MalformedJson) | 400 | `malformed_json` |
/// | [`InvalidEnvelope`](Self::InvalidEnvelope) | 422 | `invalid_envelope` |
/// | [`InvalidData`](Self::InvalidData) | 422 | `invalid_data` |
/// | [`UnsupportedType`](Self::UnsupportedType) | 422 | `unsupported_event_type` |
/// | [`UnreadableBody`](Self::UnreadableBody) | 400, 413, ... | `unreadable_body` |
///
/// It renders as an `application/problem+json` response through
/// [`Rejection::to_problem`]; the `detail` names the JSON path of the field that did
/// not match, or the line and column of a syntax error. To answer differently, match
/// on the variants (their fields are public) or on [`Rejection::code`]:
///
/// ```
/// use http::StatusCode;
/// use webhook_core::Rejection;
/// use webhook_event::{EventRejection, UnverifiedWebhookEvent};
///
/// let rejection = UnverifiedWebhookEvent::<serde_json::Value>::from_slice(br#"{"id": 1,"#).unwrap_err();
/// assert_eq!(rejection.status(), StatusCode::BAD_REQUEST);
/// assert_eq!(rejection.code(), "malformed_json");
/// assert!(matches!(rejection, EventRejection::MalformedJson { line: 1, .. }));
///
/// // Remap: answer 200 to malformed events so the sender stops retrying them.
/// let status = match rejection.status() {
///     StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY => StatusCode::OK,
///     other => other,
/// };
/// assert_eq!(status, StatusCode::OK);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventRejection {
    /// The request carries no [`VerifiedDelivery`](webhook_core::VerifiedDelivery)
    /// marker: the signature layer does not run before the extractor. This is a
    /// misconfiguration of the server, hence 500.
    MissingDelivery,
    /// The body is not valid JSON, or not valid UTF-8 (anywhere in it, also in members
    /// the envelope does not read).
    MalformedJson {
        /// The line of the error, from 1.
        line: usize,
        /// The column of the error, from 1.
        column: usize,
        /// What is wrong.
        reason: String,
    },
    /// The envelope (`id`, `type`, `created`) is missing a member, has one of the
    /// wrong type, has an empty `id` or `type`, or the body is not a JSON object.
    InvalidEnvelope {
        /// The member: `id`, `type`, `created`, or `.` for the whole body.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// `data` does not match the type the handler asked for.
    InvalidData {
        /// The JSON path of the field that did not match, such as `data.amount` or
        /// `data.items[0].sku`.
        path: String,
        /// What is wrong.
        reason: String,
        /// The line in the body, from 1.
        line: usize,
        /// The column in the body, from 1.
        column: usize,
    },
    /// The handler's type is an enum tagged by `type`, and it has no variant for this
    /// event type. Route by type with [`EventRouter`](crate::EventRouter) to answer
    /// unknown types with 200 instead.
    UnsupportedType {
        /// The event's `type`.
        event_type: String,
    },
    /// The request body could not be read (only [`UnverifiedWebhookEvent`]'s axum
    /// extractor reads the body itself).
    ///
    /// [`UnverifiedWebhookEvent`]: crate::UnverifiedWebhookEvent
    UnreadableBody {
        /// The status to answer with (413 for a body over the limit).
        status: StatusCode,
        /// What is wrong.
        reason: String,
    },
}

impl fmt::Display for EventRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingDelivery => f.write_str(
                "the request has no verified-delivery marker: the signature verification layer \
                 (VerifySignatureLayer) does not run before the event extractor; add it in front \
                 of this route, or use UnverifiedWebhookEvent for local tools",
            ),
            Self::MalformedJson {
                line,
                column,
                reason,
            } => {
                write!(
                    f,
                    "the body is not valid JSON: {reason} at line {line} column {column}"
                )
            }
            Self::InvalidEnvelope { path, reason } => {
                write!(f, "the event envelope does not match at `{path}`: {reason}")
            }
            Self::InvalidData {
                path,
                reason,
                line,
                column,
            } => write!(
                f,
                "the event data does not match at `{path}`: {reason} (line {line} column {column})"
            ),
            Self::UnsupportedType { event_type } => {
                write!(
                    f,
                    "the event type `{event_type}` is not one this endpoint accepts"
                )
            }
            Self::UnreadableBody { reason, .. } => {
                write!(f, "the request body could not be read: {reason}")
            }
        }
    }
}

impl std::error::Error for EventRejection {}

impl Rejection for EventRejection {
    fn status(&self) -> StatusCode {
        match self {
            Self::MissingDelivery => StatusCode::INTERNAL_SERVER_ERROR,
            Self::MalformedJson { .. } => StatusCode::BAD_REQUEST,
            Self::InvalidEnvelope { .. }
            | Self::InvalidData { .. }
            | Self::UnsupportedType { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::UnreadableBody { status, .. } => *status,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::MissingDelivery => "missing_verified_delivery",
            Self::MalformedJson { .. } => "malformed_json",
            Self::InvalidEnvelope { .. } => "invalid_envelope",
            Self::InvalidData { .. } => "invalid_data",
            Self::UnsupportedType { .. } => "unsupported_event_type",
            Self::UnreadableBody { .. } => "unreadable_body",
        }
    }
}

impl EventRejection {
    /// Logs the rejection: `error` for the misconfiguration, `warn` for the rest.
    pub(crate) fn log(&self) {
        match self {
            Self::MissingDelivery => tracing::error!(code = self.code(), "{self}"),
            _ => tracing::warn!(code = self.code(), reason = %self, "webhook event rejected"),
        }
    }
}
