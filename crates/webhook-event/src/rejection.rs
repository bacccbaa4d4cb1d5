use http::StatusCode;
use webhook_core::define_rejection;

define_rejection! {
    /// Why a webhook event could not be extracted from a request.
    ///
    /// | variant | status | `code` |
    /// |---|---|---|
    /// | [`Unverified`](Self::Unverified) | 500 | `missing_verified_delivery` |
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
    ///
    /// [`Rejection::to_problem`]: webhook_core::Rejection::to_problem
    /// [`Rejection::code`]: webhook_core::Rejection::code
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum EventRejection {
        /// The request carries no [`VerifiedDelivery`](webhook_core::VerifiedDelivery)
        /// marker: the signature layer does not run before the extractor. This is a
        /// misconfiguration of the server, hence 500.
        #[rejection(status = StatusCode::INTERNAL_SERVER_ERROR, code = "missing_verified_delivery")]
        Unverified => (
            "the request has no verified-delivery marker: the signature verification layer \
             (VerifySignatureLayer) does not run before the event extractor; add it in front \
             of this route, or use UnverifiedWebhookEvent for local tools"
        ),
        /// The body is not valid JSON, or not valid UTF-8 (anywhere in it, also in members
        /// the envelope does not read).
        #[rejection(status = StatusCode::BAD_REQUEST, code = "malformed_json")]
        MalformedJson {
            /// The line of the error, from 1.
            line: usize,
            /// The column of the error, from 1.
            column: usize,
            /// What is wrong.
            reason: String,
        } => ("the body is not valid JSON: {reason} at line {line} column {column}"),
        /// The envelope (`id`, `type`, `created`) is missing a member, has one of the
        /// wrong type, has an empty `id` or `type`, or the body is not a JSON object.
        #[rejection(status = StatusCode::UNPROCESSABLE_ENTITY, code = "invalid_envelope")]
        InvalidEnvelope {
            /// The member: `id`, `type`, `created`, or `.` for the whole body.
            path: String,
            /// What is wrong.
            reason: String,
        } => ("the event envelope does not match at `{path}`: {reason}"),
        /// `data` does not match the type the handler asked for.
        ///
        /// 422 keeps the event at the sender: when the handler's type is what is wrong,
        /// the sender's retries are processed once a fix is deployed (the idempotency
        /// layer does not record a 4xx by default). When the sender's data is what is
        /// wrong, every retry fails the same way, for as long as the sender retries a
        /// 4xx (days, for most). To acknowledge such events instead ("log and alert,
        /// don't retry", as HopNow's guide advises for invalid data), answer them 200
        /// with [`EventRouter::on_rejection`](crate::EventRouter::on_rejection), or
        /// take the envelope in the handler and parse `data` there to log the event id
        /// too, as the reference receiver (`examples/receiver.rs`) does.
        #[rejection(status = StatusCode::UNPROCESSABLE_ENTITY, code = "invalid_data")]
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
        } => ("the event data does not match at `{path}`: {reason} (line {line} column {column})"),
        /// The handler's type is an enum tagged by `type`, and it has no variant for this
        /// event type. Route by type with [`EventRouter`](crate::EventRouter) to answer
        /// unknown types with 200 instead.
        #[rejection(status = StatusCode::UNPROCESSABLE_ENTITY, code = "unsupported_event_type")]
        UnsupportedType {
            /// The event's `type`.
            event_type: String,
        } => ("the event type `{event_type}` is not one this endpoint accepts"),
        /// The request body could not be read (only [`UnverifiedWebhookEvent`]'s axum
        /// extractor reads the body itself).
        ///
        /// [`UnverifiedWebhookEvent`]: crate::UnverifiedWebhookEvent
        #[rejection(status = *status, code = "unreadable_body")]
        UnreadableBody {
            /// The status to answer with (413 for a body over the limit).
            status: StatusCode,
            /// What is wrong.
            reason: String,
        } => ("the request body could not be read: {reason}"),
    }
}
