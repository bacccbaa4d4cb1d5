//! Dispatch verified events to handlers by their `type`.

use std::borrow::Cow;
use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderValue};
use http::{Request, Response, StatusCode};
use serde::de::DeserializeOwned;
use tower_service::Service;
use webhook_core::{
    EventType, Problem, RefusalLogged, Rejection, RenderRejection, VerifiedDelivery,
};

use crate::ordering::GuardError;
use crate::{EventRejection, WebhookEvent, parse};

type HandlerFuture = Pin<Box<dyn Future<Output = Response<Bytes>> + Send>>;
/// A handler behind its parsing: of the delivery's event, or of one element of a
/// batch delivery.
type ErasedHandler = Arc<
    dyn Fn(VerifiedDelivery, Option<&[u8]>) -> Result<HandlerFuture, EventRejection> + Send + Sync,
>;

/// A tower [`Service`] that parses a verified event and calls the handler registered
/// for its `type`.
///
/// Put it behind the signature layer: it reads the
/// [`VerifiedDelivery`] marker (a request without it gets 500
/// `missing_verified_delivery`) and never reads the request body. Each handler
/// receives a [`WebhookEvent<T>`] for its own `T`; a body that does not parse as that
/// `T` gets the [`EventRejection`] response (400 or 422), unless the handler takes
/// `Result<WebhookEvent<T>, RejectedEvent>` to answer it itself ([`FromDelivery`]).
///
/// An event type with no handler is answered `200 {"status":"ignored"}` and logged at
/// `debug`: providers add types without notice, and refusing them would make the
/// sender retry for days. Change that with [`fallback`](Self::fallback).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use bytes::Bytes;
/// use http::{Request, StatusCode};
/// use http_body_util::BodyExt;
/// use serde::Deserialize;
/// use tower::ServiceExt;
/// use webhook_core::{KeyId, VerifiedDelivery};
/// use webhook_event::{EventRouter, Handled, WebhookEvent};
///
/// #[derive(Deserialize)]
/// struct Payout {
///     payout_id: String,
/// }
///
/// let router = EventRouter::new().on("payout.completed", |event: WebhookEvent<Payout>| async move {
///     println!("payout {} completed", event.data.payout_id);
///     Handled::Processed
/// });
///
/// let send = |body: &'static str| {
///     let delivery = VerifiedDelivery::new("hopnow", KeyId::from("k"), Bytes::from_static(body.as_bytes()));
///     let mut request = Request::post("/webhooks").body(()).unwrap();
///     request.extensions_mut().insert(delivery);
///     router.clone().oneshot(request)
/// };
///
/// let response = send(r#"{"id":"evt_1","type":"payout.completed","created":1,"data":{"payout_id":"po_1"}}"#)
///     .await
///     .unwrap();
/// assert_eq!(response.status(), StatusCode::OK);
/// let body = response.into_body().collect().await.unwrap().to_bytes();
/// assert_eq!(body, r#"{"status":"processed"}"#);
///
/// let response = send(r#"{"id":"evt_2","type":"account.updated","created":1,"data":{}}"#).await.unwrap();
/// assert_eq!(response.status(), StatusCode::OK);
/// let body = response.into_body().collect().await.unwrap().to_bytes();
/// assert_eq!(body, r#"{"status":"ignored"}"#);
/// # }
/// ```
///
/// With axum: `Router::new().route_service("/webhooks", router)` (or
/// `post_service(router)`), with `VerifySignatureLayer` as a layer on that route.
#[derive(Clone)]
pub struct EventRouter {
    inner: Arc<Inner>,
}

#[derive(Clone, Default)]
struct Inner {
    routes: HashMap<Box<str>, ErasedHandler>,
    fallback: Option<ErasedHandler>,
    on_rejection: Option<RenderRejection<EventRejection>>,
}

fn erase<E, H, Fut, R>(handler: H) -> ErasedHandler
where
    E: FromDelivery,
    H: Fn(E) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = R> + Send + 'static,
    R: IntoEventResponse,
{
    Arc::new(move |delivery, element| {
        let future = handler(E::from_delivery(delivery, element)?);
        Ok(Box::pin(async move { future.await.into_event_response() }) as HandlerFuture)
    })
}

/// What an [`EventRouter`] handler takes, read from the verified delivery.
///
/// - [`WebhookEvent<T>`]: the event, its `data` parsed as `T`. An event that does not
///   parse never reaches the handler: the router answers its [`EventRejection`].
/// - `Result<WebhookEvent<T>, RejectedEvent>`: the same, but the handler answers the
///   events that do not parse too, knowing their delivery (its event id, for one).
///
/// ```
/// use http::StatusCode;
/// use serde::Deserialize;
/// use webhook_core::Rejection;
/// use webhook_event::{EventRejection, EventRouter, RejectedEvent, WebhookEvent};
///
/// #[derive(Deserialize)]
/// struct Payout {
///     payout_id: String,
/// }
///
/// // Acknowledge a payout whose data does not match (the sender would retry the same
/// // bytes for days), and log its id to look it up at the sender.
/// let router = EventRouter::new().on(
///     "payout.completed",
///     |event: Result<WebhookEvent<Payout>, RejectedEvent>| async move {
///         match event {
///             Ok(event) => {
///                 println!("payout {} completed", event.data.payout_id);
///                 StatusCode::OK
///             }
///             Err(RejectedEvent { rejection: EventRejection::InvalidData { path, .. }, delivery }) => {
///                 eprintln!("event {:?}: its data does not match at {path}", delivery.event_id());
///                 StatusCode::OK
///             }
///             Err(other) => other.rejection.status(),
///         }
///     },
/// );
/// # drop(router);
/// ```
pub trait FromDelivery: Sized + Send + 'static {
    /// Reads the input from `delivery`, or from `element`, one event of a batch
    /// delivery (see [`WebhookBatch`](crate::WebhookBatch)).
    ///
    /// # Errors
    ///
    /// The rejection the router answers instead of calling the handler.
    fn from_delivery(
        delivery: VerifiedDelivery,
        element: Option<&[u8]>,
    ) -> Result<Self, EventRejection>;
}

impl<T: DeserializeOwned + Send + 'static> FromDelivery for WebhookEvent<T> {
    fn from_delivery(
        delivery: VerifiedDelivery,
        element: Option<&[u8]>,
    ) -> Result<Self, EventRejection> {
        match element {
            None => WebhookEvent::parse(delivery),
            Some(element) => WebhookEvent::from_element(delivery, element),
        }
        .map_err(|rejected| rejected.rejection)
    }
}

impl<T: DeserializeOwned + Send + 'static> FromDelivery for Result<WebhookEvent<T>, RejectedEvent> {
    fn from_delivery(
        delivery: VerifiedDelivery,
        element: Option<&[u8]>,
    ) -> Result<Self, EventRejection> {
        let parsed = match element {
            None => WebhookEvent::parse(delivery),
            Some(element) => WebhookEvent::from_element(delivery, element),
        };
        Ok(parsed.map_err(|rejected| *rejected))
    }
}

/// An event that did not parse as its handler's type, given to a handler that takes
/// `Result<WebhookEvent<T>, RejectedEvent>` (see [`FromDelivery`]).
#[derive(Debug, Clone)]
pub struct RejectedEvent {
    /// Why it did not parse: the answer the router would have given.
    pub rejection: EventRejection,
    /// The verified delivery it came in: its [`event_id`](VerifiedDelivery::event_id),
    /// scheme and key id, and the body as the sender signed it.
    pub delivery: VerifiedDelivery,
}

impl EventRouter {
    /// A router with no routes: every event is ignored (200).
    pub fn new() -> Self {
        Self::default()
    }

    /// Calls `handler` for events of type `event_type`, parsed as `WebhookEvent<T>`
    /// (or as another [`FromDelivery`] input).
    ///
    /// # Panics
    ///
    /// When `event_type` already has a handler.
    #[must_use]
    pub fn on<E, H, Fut, R>(self, event_type: &str, handler: H) -> Self
    where
        E: FromDelivery,
        H: Fn(E) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = R> + Send + 'static,
        R: IntoEventResponse,
    {
        self.insert([event_type], erase(handler))
    }

    /// Calls one `handler` for several event types: typically an enum tagged by `type`
    /// (see [`WebhookEvent`]) whose variants are these types.
    ///
    /// # Panics
    ///
    /// When one of the types already has a handler.
    #[must_use]
    pub fn on_each<'t, E, H, Fut, R>(
        self,
        event_types: impl IntoIterator<Item = &'t str>,
        handler: H,
    ) -> Self
    where
        E: FromDelivery,
        H: Fn(E) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = R> + Send + 'static,
        R: IntoEventResponse,
    {
        self.insert(event_types, erase(handler))
    }

    /// Calls `handler` for the event types that have no handler, instead of answering
    /// `200 {"status":"ignored"}`.
    ///
    /// ```
    /// use http::StatusCode;
    /// use webhook_event::{EventRouter, WebhookEvent};
    ///
    /// // Refuse unknown types (the sender will retry them).
    /// let router = EventRouter::new().fallback(|_: WebhookEvent| async { StatusCode::UNPROCESSABLE_ENTITY });
    /// # drop(router);
    /// ```
    #[must_use]
    pub fn fallback<E, H, Fut, R>(mut self, handler: H) -> Self
    where
        E: FromDelivery,
        H: Fn(E) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = R> + Send + 'static,
        R: IntoEventResponse,
    {
        Arc::make_mut(&mut self.inner).fallback = Some(erase(handler));
        self
    }

    /// Replaces the default `application/problem+json` responses to an
    /// [`EventRejection`].
    ///
    /// ```
    /// use bytes::Bytes;
    /// use http::{Response, StatusCode};
    /// use webhook_core::Rejection;
    /// use webhook_event::{EventRejection, EventRouter};
    ///
    /// // Acknowledge events that do not parse, so the sender stops retrying them;
    /// // keep the 500 for a missing signature layer.
    /// let router = EventRouter::new().on_rejection(|rejection: &EventRejection| {
    ///     let mut response = Response::new(Bytes::from(rejection.code()));
    ///     if *rejection == EventRejection::Unverified {
    ///         *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    ///     }
    ///     response
    /// });
    /// # drop(router);
    /// ```
    #[must_use]
    pub fn on_rejection<F>(mut self, render: F) -> Self
    where
        F: Fn(&EventRejection) -> Response<Bytes> + Send + Sync + 'static,
    {
        Arc::make_mut(&mut self.inner).on_rejection = Some(Arc::new(render));
        self
    }

    /// `true` when `event_type` has a handler.
    pub fn handles(&self, event_type: &str) -> bool {
        self.inner.routes.contains_key(event_type)
    }

    fn insert<'t>(
        mut self,
        event_types: impl IntoIterator<Item = &'t str>,
        handler: ErasedHandler,
    ) -> Self {
        let inner = Arc::make_mut(&mut self.inner);
        for event_type in event_types {
            let previous = inner.routes.insert(event_type.into(), handler.clone());
            assert!(
                previous.is_none(),
                "the event type `{event_type}` already has a handler"
            );
        }
        self
    }

    fn route(
        &self,
        delivery: VerifiedDelivery,
    ) -> Result<(HandlerFuture, EventType), EventRejection> {
        if delivery.envelope().batch_of().is_some() {
            return self.route_batch(delivery);
        }
        let event_type = if delivery.envelope().is_standard() {
            // Read with the event id at verification: what `peek_type` gives for a
            // body that is UTF-8 (`peek_type` answers the others).
            match delivery.event_type_read() {
                Some(read) if std::str::from_utf8(delivery.body()).is_ok() => Cow::Borrowed(read),
                _ => parse::peek_type(delivery.body())?,
            }
        } else {
            parse::provider::event_type(&delivery)?
        };
        let tag = EventType::new(&*event_type);
        let Some(handler) = self.handler(&event_type) else {
            let ignored = Handled::Ignored.into_event_response();
            return Ok((Box::pin(std::future::ready(ignored)), tag));
        };
        Ok((handler(delivery, None)?, tag))
    }

    /// The handler of `event_type`, or the fallback; `None` (logged) when neither.
    fn handler(&self, event_type: &str) -> Option<&ErasedHandler> {
        let handler = self
            .inner
            .routes
            .get(event_type)
            .or(self.inner.fallback.as_ref());
        if handler.is_none() {
            tracing::debug!(event_type, "no handler for this event type: ignored");
        }
        handler
    }

    /// Every event of a batch, parsed before any handler runs (a malformed event
    /// refuses the whole delivery), then handled one after the other in the order of
    /// the array. The first answer that is not a success is the delivery's (the
    /// sender retries the whole batch); else `{"status":"processed"}`, or
    /// `{"status":"ignored"}` when no event had a handler. The response is tagged
    /// with the first event's type.
    fn route_batch(
        &self,
        delivery: VerifiedDelivery,
    ) -> Result<(HandlerFuture, EventType), EventRejection> {
        let elements = parse::provider::batch_items(&delivery)?;
        let mut futures = Vec::with_capacity(elements.len());
        let mut first_type = None;
        for element in &elements {
            let event_type = parse::provider::item_type(&delivery, element)?;
            if let Some(handler) = self.handler(&event_type) {
                futures.push(handler(delivery.clone(), Some(element))?);
            }
            first_type.get_or_insert(event_type);
        }
        let tag = EventType::new(first_type.unwrap_or_default());
        let future = async move {
            if futures.is_empty() {
                return Handled::Ignored.into_event_response();
            }
            for future in futures {
                let response = future.await;
                if !response.status().is_success() {
                    return response;
                }
            }
            Handled::Processed.into_event_response()
        };
        Ok((Box::pin(future), tag))
    }

    fn reject(
        &self,
        rejection: &EventRejection,
        request_headers: &http::HeaderMap,
    ) -> Response<Bytes> {
        webhook_core::refuse(
            "event",
            rejection,
            request_headers,
            self.inner.on_rejection.as_ref(),
        )
    }
}

impl Default for EventRouter {
    fn default() -> Self {
        Self {
            inner: Arc::new(Inner::default()),
        }
    }
}

impl fmt::Debug for EventRouter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut types: Vec<&str> = self.inner.routes.keys().map(|t| &**t).collect();
        types.sort_unstable();
        f.debug_struct("EventRouter")
            .field("types", &types)
            .field("fallback", &self.inner.fallback.is_some())
            .finish_non_exhaustive()
    }
}

impl<B> Service<Request<B>> for EventRouter {
    type Response = Response<EventBody>;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: Request<B>) -> ResponseFuture {
        // Taken, not cloned: the request goes no further.
        let routed = request
            .extensions_mut()
            .remove::<VerifiedDelivery>()
            .ok_or(EventRejection::Unverified)
            .and_then(|delivery| self.route(delivery));
        match routed {
            Ok((future, event_type)) => ResponseFuture {
                inner: future,
                event_type: Some(event_type),
            },
            Err(rejection) => ResponseFuture {
                inner: Box::pin(std::future::ready(
                    self.reject(&rejection, request.headers()),
                )),
                event_type: None,
            },
        }
    }
}

/// The future of [`EventRouter`]'s responses.
///
/// A routed event's response carries its [`EventType`] in the extensions, for outer
/// layers (metrics, tracing).
pub struct ResponseFuture {
    inner: HandlerFuture,
    event_type: Option<EventType>,
}

impl Future for ResponseFuture {
    type Output = Result<Response<EventBody>, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut response = ready!(self.inner.as_mut().poll(cx));
        if let Some(event_type) = self.event_type.take() {
            response.extensions_mut().insert(event_type);
        }
        Poll::Ready(Ok(response.map(EventBody::new)))
    }
}

impl fmt::Debug for ResponseFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

/// The body of [`EventRouter`]'s responses: bytes held in memory, sent in one frame.
pub type EventBody = webhook_core::BytesBody;

/// What an [`EventRouter`] handler can return.
///
/// Implemented for [`Handled`], [`StatusCode`], `()` (200, empty),
/// `serde_json::Value` (200, JSON), `(StatusCode, R)`, `http::Response<Bytes>` and
/// `http::Response<String>`, the rejections ([`EventRejection`], [`GuardError`],
/// [`Problem`]), and `Result<R, E>` of any two of these, so a handler can use `?`.
pub trait IntoEventResponse {
    /// Builds the response.
    fn into_event_response(self) -> Response<Bytes>;
}

/// How a handler handled an event: its usual answers, each `200` with a small JSON
/// body `{"status":"processed"}`, `{"status":"ignored"}` or `{"status":"stale"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Handled {
    /// The event was applied.
    Processed,
    /// The event is of no interest to this receiver.
    Ignored,
    /// A newer event about the same entity was applied already (see
    /// [`OrderingGuard`](crate::OrderingGuard)); this one was not.
    Stale,
}

impl Handled {
    /// `processed`, `ignored` or `stale`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Processed => "processed",
            Self::Ignored => "ignored",
            Self::Stale => "stale",
        }
    }

    pub(crate) fn to_json(self) -> Bytes {
        Bytes::from(format!(r#"{{"status":"{}"}}"#, self.as_str()))
    }

    /// This answer about `event`: `200` with
    /// `{"status":"processed","event_id":"evt_1","event_type":"payout.paid"}`, so that
    /// the sender's delivery log shows which event was handled, and how. Written
    /// straight to bytes, with no JSON tree built first.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use webhook_core::{KeyId, VerifiedDelivery};
    /// use webhook_event::{Handled, WebhookEvent};
    ///
    /// let body = Bytes::from_static(br#"{"id":"evt_1","type":"payout.paid","created":1700000000,"data":{}}"#);
    /// let delivery = VerifiedDelivery::new("hopnow", KeyId::from("k"), body);
    /// let event: WebhookEvent = WebhookEvent::from_delivery(delivery).unwrap();
    /// let response = Handled::Stale.for_event(&event);
    /// assert_eq!(response.status(), 200);
    /// assert_eq!(
    ///     response.body().as_ref(),
    ///     br#"{"status":"stale","event_id":"evt_1","event_type":"payout.paid"}"#
    /// );
    /// ```
    pub fn for_event<T>(self, event: &WebhookEvent<T>) -> Response<Bytes> {
        #[derive(serde::Serialize)]
        struct Answer<'a> {
            status: &'static str,
            event_id: &'a str,
            event_type: &'a str,
        }
        let answer = Answer {
            status: self.as_str(),
            event_id: &event.id,
            event_type: &event.event_type,
        };
        let body = serde_json::to_vec(&answer).expect("strings always serialize");
        json_response(Bytes::from(body))
    }
}

fn json_response(body: Bytes) -> Response<Bytes> {
    let mut response = Response::new(body);
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

impl IntoEventResponse for Handled {
    fn into_event_response(self) -> Response<Bytes> {
        json_response(self.to_json())
    }
}

impl IntoEventResponse for StatusCode {
    fn into_event_response(self) -> Response<Bytes> {
        let mut response = Response::new(Bytes::new());
        *response.status_mut() = self;
        response
    }
}

impl IntoEventResponse for () {
    fn into_event_response(self) -> Response<Bytes> {
        Response::new(Bytes::new())
    }
}

impl IntoEventResponse for serde_json::Value {
    fn into_event_response(self) -> Response<Bytes> {
        // Serialized into one buffer of serde_json's starting size: `Display` would
        // go through the formatter and grow a `String` from empty.
        let body = serde_json::to_vec(&self).expect("a JSON value always serializes");
        json_response(Bytes::from(body))
    }
}

impl<R: IntoEventResponse> IntoEventResponse for (StatusCode, R) {
    fn into_event_response(self) -> Response<Bytes> {
        let mut response = self.1.into_event_response();
        *response.status_mut() = self.0;
        response
    }
}

impl IntoEventResponse for Response<Bytes> {
    fn into_event_response(self) -> Response<Bytes> {
        self
    }
}

impl IntoEventResponse for Response<String> {
    fn into_event_response(self) -> Response<Bytes> {
        self.map(Bytes::from)
    }
}

impl IntoEventResponse for Problem {
    fn into_event_response(self) -> Response<Bytes> {
        self.into_response()
    }
}

impl IntoEventResponse for EventRejection {
    fn into_event_response(self) -> Response<Bytes> {
        self.to_problem().into_response()
    }
}

impl IntoEventResponse for GuardError {
    fn into_event_response(self) -> Response<Bytes> {
        tracing::error!(error = %self, "webhook event not applied");
        let mut response = self.to_problem().into_response();
        response.extensions_mut().insert(RefusalLogged);
        response
    }
}

impl<R: IntoEventResponse, E: IntoEventResponse> IntoEventResponse for Result<R, E> {
    fn into_event_response(self) -> Response<Bytes> {
        match self {
            Ok(response) => response.into_event_response(),
            Err(error) => error.into_event_response(),
        }
    }
}
