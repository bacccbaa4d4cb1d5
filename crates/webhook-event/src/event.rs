use bytes::Bytes;
use http::request::Parts;
use http::{Extensions, Request};
use serde::de::DeserializeOwned;
use time::OffsetDateTime;
use webhook_core::{KeyId, VerifiedDelivery};

use crate::ordering::{GuardDecision, GuardError, OrderingGuard};
use crate::parse::{self, Envelope};
use crate::{EventRejection, RejectedEvent};

/// A verified webhook event: the envelope `{ id, type, created, data }` with `data`
/// parsed as `T`, and the [`VerifiedDelivery`] marker of the signature layer.
///
/// It is built from the marker's verified bytes (the body is not buffered twice), and
/// only from a request that carries the marker: without it, extraction fails with
/// [`EventRejection::Unverified`] (500, a misconfiguration). For local tools
/// that receive unsigned events, use [`UnverifiedWebhookEvent`].
///
/// The envelope members:
///
/// | member | JSON | notes |
/// |---|---|---|
/// | [`id`](Self::id) | string or integer | the marker's [`event_id`](VerifiedDelivery::event_id) when it has one (the scheme's id, such as `webhook-id` or `X-GitHub-Delivery`, else this member), so that the event, idempotency and the queue agree |
/// | [`event_type`](Self::event_type) | `type`, a string | required |
/// | [`created`](Self::created) | `created` (or `timestamp`): RFC 3339 text or integer Unix seconds | falls back to the marker's signed [`timestamp`](VerifiedDelivery::timestamp) when absent |
/// | [`data`](Self::data) | any | parsed as `T`; absent `data` is accepted only by `Option<_>`, `()` and unit variants |
///
/// Other members are ignored; a member given twice is refused.
///
/// That is the standard envelope. A provider with its own (GitHub's id and type in
/// headers and its payload as the whole body, Paddle's `event_id` and `occurred_at`,
/// ...) is read by the [`Envelope`](webhook_core::envelope::Envelope) the signature
/// layer attached to the marker: the type and created time where it says, `data` the
/// payload at its path, and `created` `None` where the provider sends no such time.
///
/// # Typed events
///
/// `T` is usually the payload struct of one event type, or `serde_json::Value` (the
/// default). An enum tagged by `type` with its payload in `data` works directly: it
/// is given the envelope's `type` and `data`, in whatever order they come. Dotted
/// type names are mapped with `rename`:
///
/// ```
/// use bytes::Bytes;
/// use serde::Deserialize;
/// use webhook_core::{KeyId, VerifiedDelivery};
/// use webhook_event::WebhookEvent;
///
/// #[derive(Debug, Deserialize)]
/// struct Payout {
///     payout_id: String,
///     amount: u64,
/// }
///
/// #[derive(Debug, Deserialize)]
/// #[serde(tag = "type", content = "data")]
/// enum PayoutEvent {
///     #[serde(rename = "payout.created")]
///     Created(Payout),
///     #[serde(rename = "payout.completed")]
///     Completed(Payout),
/// }
///
/// let body = br#"{"id":"evt_2","type":"payout.completed","created":"2025-11-02T10:00:00Z",
///                 "data":{"payout_id":"po_1","amount":1200}}"#;
/// let delivery = VerifiedDelivery::new("hopnow", KeyId::from("k1"), Bytes::from_static(body));
/// let event = WebhookEvent::<PayoutEvent>::from_delivery(delivery).unwrap();
/// assert_eq!(event.event_type, "payout.completed");
/// assert_eq!(event.created.unwrap().unix_timestamp(), 1_762_077_600);
/// match event.data {
///     PayoutEvent::Completed(payout) => assert_eq!(payout.amount, 1200),
///     PayoutEvent::Created(_) => unreachable!(),
/// }
/// ```
///
/// A type the enum does not know is refused with
/// [`EventRejection::UnsupportedType`] (422), and the sender will retry it. Providers
/// add types without notice: route by type with [`EventRouter`](crate::EventRouter),
/// which answers unknown types with 200, or give the enum a unit variant with
/// `#[serde(other)]`.
///
/// One caveat of the detection: a *payload* struct whose only fields are exactly
/// `type` and `data`, in that order, is read like such an enum (it gets the
/// envelope's `type` and `data`). Wrap it in a newtype to opt out.
#[derive(Debug, Clone)]
pub struct WebhookEvent<T = serde_json::Value> {
    /// The event id (`id`).
    pub id: String,
    /// The event type (`type`), such as `payout.completed`.
    pub event_type: String,
    /// When the provider created the event (`created`); `None` for a provider whose
    /// envelope has no such time (GitHub, GitLab, Bitbucket, Meta, X, ...).
    pub created: Option<OffsetDateTime>,
    /// The payload (`data`).
    pub data: T,
    delivery: VerifiedDelivery,
}

impl<T: DeserializeOwned> WebhookEvent<T> {
    /// Parses the event from the verified bytes the marker holds.
    ///
    /// This is the framework-free constructor, also handy to build events in tests.
    pub fn from_delivery(delivery: VerifiedDelivery) -> Result<Self, EventRejection> {
        Self::parse(delivery).map_err(|rejected| rejected.rejection)
    }

    /// [`from_delivery`](Self::from_delivery), giving the marker back with the
    /// rejection (boxed: the error is the rare case).
    pub(crate) fn parse(delivery: VerifiedDelivery) -> Result<Self, Box<RejectedEvent>> {
        let parsed = if delivery.envelope().is_standard() {
            parse::parse::<T>(delivery.body())
        } else {
            parse::provider::parse::<T>(&delivery)
        }
        .and_then(|envelope| complete(envelope, Some(&delivery)));
        match parsed {
            Ok((id, event_type, created, data)) => Ok(Self {
                id,
                event_type,
                created,
                data,
                delivery,
            }),
            Err(rejection) => Err(Box::new(RejectedEvent {
                rejection,
                delivery,
            })),
        }
    }

    /// Parses the event from the marker in the request's extensions (hyper, tonic, or
    /// any tower stack after [`VerifySignatureLayer`]). The body is not read: the
    /// marker holds the verified bytes.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use http::Request;
    /// use webhook_core::{KeyId, Rejection, VerifiedDelivery};
    /// use webhook_event::{EventRejection, WebhookEvent};
    ///
    /// let body = Bytes::from_static(br#"{"id":"evt_1","type":"ping","created":1700000000,"data":{}}"#);
    /// let mut request = Request::new(());
    /// let rejection = WebhookEvent::<serde_json::Value>::from_request(&request).unwrap_err();
    /// assert_eq!(rejection, EventRejection::Unverified);
    /// assert_eq!(rejection.status(), 500);
    ///
    /// request.extensions_mut().insert(VerifiedDelivery::new("hopnow", KeyId::from("k1"), body));
    /// let event = WebhookEvent::<serde_json::Value>::from_request(&request).unwrap();
    /// assert_eq!(event.event_type, "ping");
    /// assert_eq!(event.key_id().as_str(), "k1");
    /// ```
    ///
    /// [`VerifySignatureLayer`]: https://docs.rs/webhook-signature
    pub fn from_request<B>(request: &Request<B>) -> Result<Self, EventRejection> {
        Self::from_extensions(request.extensions())
    }

    /// Like [`from_request`](Self::from_request), from the request's parts.
    pub fn from_parts(parts: &Parts) -> Result<Self, EventRejection> {
        Self::from_extensions(&parts.extensions)
    }

    /// Like [`from_request`](Self::from_request), from the request's extensions.
    pub fn from_extensions(extensions: &Extensions) -> Result<Self, EventRejection> {
        let delivery = extensions
            .get::<VerifiedDelivery>()
            .ok_or(EventRejection::Unverified)?;
        Self::from_delivery(delivery.clone())
    }
}

impl<T: DeserializeOwned> WebhookEvent<T> {
    /// One event of a batch delivery, from its element of the array.
    pub(crate) fn from_element(
        delivery: VerifiedDelivery,
        element: &[u8],
    ) -> Result<Self, Box<RejectedEvent>> {
        match parse::provider::parse_item::<T>(&delivery, element) {
            Ok(item) => Ok(Self {
                id: item.id,
                event_type: item.envelope.event_type,
                created: item.envelope.created,
                data: item.envelope.data,
                delivery,
            }),
            Err(rejection) => Err(Box::new(RejectedEvent {
                rejection,
                delivery,
            })),
        }
    }
}

/// The events of a batch delivery: HubSpot and SendGrid send an array of events in
/// one request.
///
/// The delivery is verified, and processed once, as a whole: its id (the
/// [`event_id`](VerifiedDelivery::event_id) idempotency keys on) is the SHA-256 of
/// the body, which a retry resends unchanged. Each event has its own
/// [`id`](WebhookEvent::id), type, created time and payload (`T`), read within its
/// element of the array; each event's [`delivery`](WebhookEvent::delivery) is the
/// whole batch's. A batch that fails part-way is retried whole: key your own effects
/// on each event's id.
///
/// ```
/// use bytes::Bytes;
/// use http::HeaderMap;
/// use webhook_core::{KeyId, VerifiedDelivery};
/// use webhook_event::WebhookBatch;
/// use webhook_signature::scheme::envelopes;
///
/// let body = br#"[{"eventId":1,"subscriptionType":"contact.creation","occurredAt":1700000000000,"objectId":7},
///                 {"eventId":2,"subscriptionType":"contact.deletion","occurredAt":1700000001000,"objectId":7}]"#;
/// let delivery = VerifiedDelivery::new("hubspot", KeyId::from("k"), Bytes::from_static(body))
///     .with_envelope(&envelopes::HUBSPOT, &HeaderMap::new());
/// let batch = WebhookBatch::<serde_json::Value>::from_delivery(delivery).unwrap();
/// let types: Vec<_> = batch.events.iter().map(|e| (e.id.as_str(), e.event_type.as_str())).collect();
/// assert_eq!(types, [("1", "contact.creation"), ("2", "contact.deletion")]);
/// assert_eq!(batch.events[1].created.unwrap().unix_timestamp(), 1_700_000_001);
/// ```
#[derive(Debug, Clone)]
pub struct WebhookBatch<T = serde_json::Value> {
    /// The events, in the order of the array.
    pub events: Vec<WebhookEvent<T>>,
    delivery: VerifiedDelivery,
}

impl<T: DeserializeOwned> WebhookBatch<T> {
    /// Parses every event of the batch from the verified bytes the marker holds. A
    /// delivery whose provider sends one event per request is refused (422
    /// `invalid_envelope`): extract a [`WebhookEvent`].
    pub fn from_delivery(delivery: VerifiedDelivery) -> Result<Self, EventRejection> {
        let events = parse::provider::batch_items(&delivery)?
            .iter()
            .map(|element| WebhookEvent::from_element(delivery.clone(), element))
            .collect::<Result<_, _>>()
            .map_err(|rejected: Box<RejectedEvent>| rejected.rejection)?;
        Ok(Self { events, delivery })
    }

    /// Like [`WebhookEvent::from_request`]: from the marker in the extensions.
    pub fn from_request<B>(request: &Request<B>) -> Result<Self, EventRejection> {
        Self::from_extensions(request.extensions())
    }

    /// Like [`from_request`](Self::from_request), from the request's parts.
    pub fn from_parts(parts: &Parts) -> Result<Self, EventRejection> {
        Self::from_extensions(&parts.extensions)
    }

    /// Like [`from_request`](Self::from_request), from the request's extensions.
    pub fn from_extensions(extensions: &Extensions) -> Result<Self, EventRejection> {
        let delivery = extensions
            .get::<VerifiedDelivery>()
            .ok_or(EventRejection::Unverified)?;
        Self::from_delivery(delivery.clone())
    }
}

impl<T> WebhookBatch<T> {
    /// The signature layer's marker of the whole batch.
    pub fn delivery(&self) -> &VerifiedDelivery {
        &self.delivery
    }
}

impl<T> WebhookEvent<T> {
    /// The signature layer's marker: scheme, key id, event id, signed timestamp and
    /// the verified bytes.
    pub fn delivery(&self) -> &VerifiedDelivery {
        &self.delivery
    }

    /// The name of the scheme that verified the delivery (`"hopnow"`, `"stripe"`, ...).
    pub fn scheme(&self) -> &str {
        self.delivery.scheme()
    }

    /// The id of the secret that verified the delivery.
    pub fn key_id(&self) -> &KeyId {
        self.delivery.key_id()
    }

    /// The payload, dropping the envelope.
    pub fn into_data(self) -> T {
        self.data
    }

    /// Replaces the payload, keeping the envelope and the marker.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> WebhookEvent<U> {
        WebhookEvent {
            id: self.id,
            event_type: self.event_type,
            created: self.created,
            data: f(self.data),
            delivery: self.delivery,
        }
    }

    /// Asks `guard` whether this event is the newest seen for `entity`, recording it
    /// if so: `guard.apply_if_newer(entity, self.created, &self.id)`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use bytes::Bytes;
    /// use webhook_core::{KeyId, VerifiedDelivery};
    /// use webhook_event::{MemoryOrderingGuard, GuardDecision, WebhookEvent};
    ///
    /// let event = |body: &'static str| {
    ///     let delivery = VerifiedDelivery::new("hopnow", KeyId::from("k"), Bytes::from_static(body.as_bytes()));
    ///     WebhookEvent::<serde_json::Value>::from_delivery(delivery).unwrap()
    /// };
    /// let completed = event(r#"{"id":"evt_2","type":"payout.completed","created":200,"data":{}}"#);
    /// let created = event(r#"{"id":"evt_1","type":"payout.created","created":100,"data":{}}"#);
    ///
    /// let guard = MemoryOrderingGuard::new();
    /// assert_eq!(completed.apply_if_newer(&guard, "payout:po_1").await.unwrap(), GuardDecision::Applied);
    /// assert_eq!(created.apply_if_newer(&guard, "payout:po_1").await.unwrap(), GuardDecision::Stale);
    /// # }
    /// ```
    pub async fn apply_if_newer<G>(
        &self,
        guard: &G,
        entity: &str,
    ) -> Result<GuardDecision, GuardError>
    where
        G: OrderingGuard + ?Sized,
    {
        let created = self.created.ok_or_else(|| {
            GuardError::new(format!(
                "`{}` events carry no created time: order them by a time in their payload with \
                 `OrderingGuard::apply_if_newer`",
                self.delivery.scheme()
            ))
        })?;
        guard.apply_if_newer(entity, created, &self.id).await
    }
}

/// An event parsed from a body that nobody verified, for local tools and tests.
///
/// Same envelope and rejections as [`WebhookEvent`], without the marker: anyone who
/// can reach the endpoint can forge it. Do not use it to act on a real provider's
/// events; put [`VerifySignatureLayer`] in front and use [`WebhookEvent`].
///
/// ```
/// use webhook_event::UnverifiedWebhookEvent;
///
/// let event = UnverifiedWebhookEvent::<serde_json::Value>::from_slice(
///     br#"{"id":"evt_1","type":"ping","created":"2025-11-02T10:00:00+01:00","data":{"n":1}}"#,
/// )
/// .unwrap();
/// assert_eq!(event.id, "evt_1");
/// assert_eq!(event.created.unwrap().unix_timestamp(), 1_762_074_000);
/// assert_eq!(event.data["n"], 1);
/// ```
///
/// [`VerifySignatureLayer`]: https://docs.rs/webhook-signature
#[derive(Debug, Clone)]
pub struct UnverifiedWebhookEvent<T = serde_json::Value> {
    /// The event id (`id`).
    pub id: String,
    /// The event type (`type`).
    pub event_type: String,
    /// When the provider created the event (`created`).
    pub created: Option<OffsetDateTime>,
    /// The payload (`data`).
    pub data: T,
}

impl<T: DeserializeOwned> UnverifiedWebhookEvent<T> {
    /// Parses an event from a body.
    pub fn from_slice(body: &[u8]) -> Result<Self, EventRejection> {
        Self::parse(body, None)
    }

    /// Parses an event from a request's parts and its buffered body (hyper, tonic).
    /// When the request does carry a [`VerifiedDelivery`] marker, its event id and
    /// timestamp fill in an absent `id` or `created`, as for [`WebhookEvent`].
    pub fn from_request_parts_and_bytes(
        parts: &Parts,
        body: &Bytes,
    ) -> Result<Self, EventRejection> {
        Self::parse(body, parts.extensions.get::<VerifiedDelivery>())
    }

    pub(crate) fn parse(
        body: &[u8],
        delivery: Option<&VerifiedDelivery>,
    ) -> Result<Self, EventRejection> {
        let envelope = parse::parse::<T>(body)?;
        let (id, event_type, created, data) = complete(envelope, delivery)?;
        Ok(Self {
            id,
            event_type,
            created,
            data,
        })
    }
}

impl<T> From<WebhookEvent<T>> for UnverifiedWebhookEvent<T> {
    fn from(event: WebhookEvent<T>) -> Self {
        Self {
            id: event.id,
            event_type: event.event_type,
            created: event.created,
            data: event.data,
        }
    }
}

/// Fills an absent `id` or `created` from the marker, or refuses the envelope.
fn complete<T>(
    envelope: Envelope<T>,
    delivery: Option<&VerifiedDelivery>,
) -> Result<(String, String, Option<OffsetDateTime>, T), EventRejection> {
    if envelope.event_type.is_empty() {
        return Err(parse::empty("type"));
    }
    // The family's one rule (`VerifiedDelivery::event_id`): the scheme's id, else the
    // body's; the envelope's own `id` only serves a delivery nobody verified.
    let id = match (delivery.and_then(VerifiedDelivery::event_id), envelope.id) {
        (Some(id), _) => id.to_owned(),
        (None, Some(id)) if id.is_empty() => return Err(parse::empty("id")),
        (None, Some(id)) => id,
        (None, None) => {
            return Err(EventRejection::InvalidEnvelope {
                path: "id".to_owned(),
                reason: "missing field `id` (and the delivery's headers carry no event id)"
                    .to_owned(),
            });
        }
    };
    let created = match envelope.created {
        Some(created) => Some(created),
        None if delivery.is_some_and(|d| !d.envelope().is_standard()) => None,
        None => delivery
            .and_then(VerifiedDelivery::timestamp)
            .and_then(|seconds| OffsetDateTime::from_unix_timestamp(seconds).ok())
            .ok_or_else(|| EventRejection::InvalidEnvelope {
                path: "created".to_owned(),
                reason:
                    "missing field `created` (and the delivery's headers carry no signed timestamp)"
                        .to_owned(),
            })
            .map(Some)?,
    };
    Ok((id, envelope.event_type, created, envelope.data))
}
