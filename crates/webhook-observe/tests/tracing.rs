//! The `webhook.delivery` span: its fields for each outcome, the level of the closing
//! event, and no secret or signature anywhere in what is logged.

mod common;

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use common::*;
use http::StatusCode;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::Layer as _;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

type Fields = BTreeMap<String, String>;

#[derive(Debug, Clone)]
struct SpanRecord {
    name: &'static str,
    fields: Fields,
}

#[derive(Debug, Clone)]
struct EventRecord {
    level: Level,
    fields: Fields,
    /// The `webhook.delivery` span the event happened in, if any (its index).
    delivery: Option<usize>,
}

#[derive(Default)]
struct Spans {
    /// Every span opened, in order (the registry reuses the ids of closed spans).
    all: Vec<SpanRecord>,
    /// The index in `all` of each open span id.
    open: BTreeMap<u64, usize>,
}

/// A `tracing` layer keeping every span (with the fields recorded so far) and event.
#[derive(Clone, Default)]
struct Capture {
    spans: Arc<Mutex<Spans>>,
    events: Arc<Mutex<Vec<EventRecord>>>,
}

struct Visitor<'a>(&'a mut Fields);

impl Visit for Visitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

impl<S> tracing_subscriber::Layer<S> for Capture
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, _ctx: Context<'_, S>) {
        let mut fields = Fields::new();
        attrs.record(&mut Visitor(&mut fields));
        let mut spans = self.spans.lock().unwrap();
        spans.all.push(SpanRecord {
            name: attrs.metadata().name(),
            fields,
        });
        let index = spans.all.len() - 1;
        spans.open.insert(id.into_u64(), index);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, _ctx: Context<'_, S>) {
        let mut spans = self.spans.lock().unwrap();
        let index = spans.open[&id.into_u64()];
        values.record(&mut Visitor(&mut spans.all[index].fields));
    }

    fn on_close(&self, id: Id, _ctx: Context<'_, S>) {
        self.spans.lock().unwrap().open.remove(&id.into_u64());
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut fields = Fields::new();
        event.record(&mut Visitor(&mut fields));
        let delivery = ctx.event_scope(event).and_then(|scope| {
            let span = scope
                .into_iter()
                .find(|span| span.name() == "webhook.delivery")?;
            Some(self.spans.lock().unwrap().open[&span.id().into_u64()])
        });
        self.events.lock().unwrap().push(EventRecord {
            level: *event.metadata().level(),
            fields,
            delivery,
        });
    }
}

impl Capture {
    fn deliveries(&self) -> Vec<(usize, Fields)> {
        self.spans
            .lock()
            .unwrap()
            .all
            .iter()
            .enumerate()
            .filter(|(_, span)| span.name == "webhook.delivery")
            .map(|(index, span)| (index, span.fields.clone()))
            .collect()
    }

    /// The one delivery span and the events logged in it.
    fn only_delivery(&self) -> (Fields, Vec<EventRecord>) {
        let deliveries = self.deliveries();
        assert_eq!(deliveries.len(), 1, "{deliveries:?}");
        let (id, fields) = deliveries.into_iter().next().unwrap();
        let events = self
            .events
            .lock()
            .unwrap()
            .iter()
            .filter(|event| event.delivery == Some(id))
            .cloned()
            .collect();
        (fields, events)
    }

    /// Every value of every span and event field.
    fn all_values(&self) -> Vec<String> {
        let spans = self.spans.lock().unwrap();
        let events = self.events.lock().unwrap();
        spans
            .all
            .iter()
            .flat_map(|span| span.fields.values().cloned())
            .chain(
                events
                    .iter()
                    .flat_map(|event| event.fields.values().cloned()),
            )
            .collect()
    }
}

/// Runs `test` on a current-thread runtime with the capturing subscriber, every
/// level enabled.
fn traced<F, Fut>(test: F) -> (Fut::Output, Capture)
where
    F: FnOnce() -> Fut,
    Fut: Future,
{
    traced_at(LevelFilter::TRACE, test)
}

/// Runs `test` with the capturing subscriber at `level`, as a service logging at
/// that level would.
fn traced_at<F, Fut>(level: LevelFilter, test: F) -> (Fut::Output, Capture)
where
    F: FnOnce() -> Fut,
    Fut: Future,
{
    let capture = Capture::default();
    let subscriber = tracing_subscriber::registry().with(capture.clone().with_filter(level));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let output = tracing::subscriber::with_default(subscriber, || runtime.block_on(test()));
    (output, capture)
}

fn field<'a>(fields: &'a Fields, name: &str) -> Option<&'a str> {
    fields.get(name).map(String::as_str)
}

fn closing_event(events: &[EventRecord]) -> &EventRecord {
    events
        .iter()
        .rev()
        .find(|event| event.fields.contains_key("outcome"))
        .expect("an outcome event in the delivery span")
}

#[test]
fn a_processed_delivery_fills_every_field() {
    let (status, capture) = traced(|| async {
        let service = stack(observe().build().unwrap(), 100, Gate::default());
        send(&service, delivery("evt_1", "payout.completed"))
            .await
            .status
    });
    assert_eq!(status, StatusCode::OK);
    let (fields, events) = capture.only_delivery();
    assert_eq!(field(&fields, "event_id"), Some("evt_1"));
    assert_eq!(field(&fields, "event_type"), Some("payout.completed"));
    assert_eq!(field(&fields, "scheme"), Some("standard"));
    assert_eq!(field(&fields, "key_id"), Some(KEY_ID));
    assert_eq!(field(&fields, "verified"), Some("true"));
    assert_eq!(field(&fields, "outcome"), Some("processed"));
    assert_eq!(field(&fields, "status"), Some("200"));
    assert_eq!(field(&fields, "reason"), None);
    let duration: f64 = field(&fields, "duration_ms").unwrap().parse().unwrap();
    assert!((0.0..5000.0).contains(&duration), "{duration}");
    let closing = closing_event(&events);
    assert_eq!(closing.level, Level::DEBUG);
    assert_eq!(
        field(&closing.fields, "message"),
        Some("webhook delivery processed")
    );
}

#[test]
fn a_forged_delivery_is_a_warn_with_its_code_and_no_key() {
    let (status, capture) = traced(|| async {
        let service = stack(observe().build().unwrap(), 100, Gate::default());
        send(&service, forged("evt_1", "payout.completed"))
            .await
            .status
    });
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (fields, events) = capture.only_delivery();
    assert_eq!(field(&fields, "outcome"), Some("rejected"));
    assert_eq!(field(&fields, "reason"), Some("signature_mismatch"));
    assert_eq!(field(&fields, "verified"), Some("false"));
    assert_eq!(field(&fields, "status"), Some("401"));
    assert_eq!(field(&fields, "key_id"), None);
    assert_eq!(field(&fields, "event_id"), None);
    // One warning per refused delivery: the signature layer's, nested in the
    // delivery's span; the layer's closing event is at DEBUG.
    let closing = closing_event(&events);
    assert_eq!(closing.level, Level::DEBUG);
    assert_eq!(field(&closing.fields, "reason"), Some("signature_mismatch"));
    let warnings: Vec<_> = events
        .iter()
        .filter(|event| event.level == Level::WARN)
        .collect();
    assert_eq!(warnings.len(), 1, "{events:?}");
    assert_eq!(
        field(&warnings[0].fields, "code"),
        Some("signature_mismatch")
    );
    assert_eq!(field(&warnings[0].fields, "status"), Some("401"));
}

#[test]
fn a_failing_handler_is_an_error() {
    let (_, capture) = traced(|| async {
        let service = stack(observe().build().unwrap(), 100, Gate::default());
        send(&service, delivery("evt_1", "payout.failed")).await
    });
    let (fields, events) = capture.only_delivery();
    assert_eq!(field(&fields, "outcome"), Some("failed"));
    assert_eq!(field(&fields, "event_type"), Some("payout.failed"));
    assert_eq!(field(&fields, "status"), Some("500"));
    assert_eq!(closing_event(&events).level, Level::ERROR);
}

#[test]
fn duplicates_and_rate_limited_deliveries_have_their_own_outcome() {
    let (_, capture) = traced(|| async {
        let service = stack(observe().build().unwrap(), 2, Gate::default());
        send(&service, delivery("evt_1", "payout.completed")).await;
        send(&service, delivery("evt_1", "payout.completed")).await;
        send(&service, delivery("evt_2", "payout.completed")).await;
    });
    let deliveries = capture.deliveries();
    let outcomes: Vec<_> = deliveries
        .iter()
        .map(|(_, fields)| field(fields, "outcome").unwrap().to_owned())
        .collect();
    // One span per delivery, in order.
    assert_eq!(outcomes, ["processed", "duplicate", "rate_limited"]);
    assert_eq!(field(&deliveries[1].1, "event_id"), Some("evt_1"));
    assert_eq!(field(&deliveries[1].1, "status"), Some("200"));
    assert_eq!(field(&deliveries[2].1, "status"), Some("429"));
    assert_eq!(field(&deliveries[2].1, "verified"), Some("false"));
    let events = capture.events.lock().unwrap();
    let limited = events
        .iter()
        .find(|event| {
            event.delivery == Some(deliveries[2].0) && event.fields.contains_key("outcome")
        })
        .unwrap();
    assert_eq!(limited.level, Level::WARN);
}

#[test]
fn no_secret_or_signature_is_ever_logged() {
    let good = delivery("evt_1", "payout.completed");
    let forged = forged("evt_2", "payout.completed");
    let signatures: Vec<String> = [&good, &forged]
        .iter()
        .map(|request| {
            let value = request.headers()["webhook-signature"].to_str().unwrap();
            value.trim_start_matches("v1,").to_owned()
        })
        .collect();
    let (_, capture) = traced(|| async move {
        let service = stack(observe().build().unwrap(), 100, Gate::default());
        send(&service, good).await;
        send(&service, forged).await;
        send(&service, delivery("evt_3", "payout.failed")).await;
    });
    let values = capture.all_values();
    assert!(values.len() > 20, "{values:?}");
    for value in &values {
        for secret in [
            SECRET,
            SECRET_BASE64,
            WRONG_SECRET,
            &signatures[0],
            &signatures[1],
        ] {
            assert!(!value.contains(secret), "{value:?} contains {secret:?}");
        }
    }
}

#[test]
fn with_tracing_off_no_span_is_opened() {
    let (status, capture) = traced(|| async {
        let service = stack(
            observe().tracing(false).build().unwrap(),
            100,
            Gate::default(),
        );
        send(&service, forged("evt_1", "payout.completed"))
            .await
            .status
    });
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(capture.deliveries().is_empty());
    let events = capture.events.lock().unwrap();
    assert!(
        !events
            .iter()
            .any(|event| event.fields.contains_key("outcome")),
        "{events:?}"
    );
}

#[test]
fn the_span_is_at_debug_unless_asked_and_a_refusal_is_one_warning_without_it() {
    let (_, capture) = traced_at(LevelFilter::INFO, || async {
        let service = stack(observe().build().unwrap(), 100, Gate::default());
        assert_eq!(
            send(&service, delivery("evt_1", "payout.completed"))
                .await
                .status,
            StatusCode::OK
        );
        send(&service, forged("evt_2", "payout.completed")).await;
        send(&service, delivery("evt_3", "payout.failed")).await;
    });
    assert!(capture.deliveries().is_empty());
    let events = capture.events.lock().unwrap();
    let closing: Vec<_> = events
        .iter()
        .filter(|event| event.fields.contains_key("outcome"))
        .collect();
    // The processed delivery's closing event is at DEBUG, and so is the forged one's:
    // the signature layer logged that refusal already. Neither is logged.
    assert_eq!(closing.len(), 1, "{events:?}");
    assert_eq!(closing[0].level, Level::ERROR);
    assert_eq!(field(&closing[0].fields, "outcome"), Some("failed"));
    assert_eq!(field(&closing[0].fields, "event_id"), Some("evt_3"));
    assert_eq!(
        field(&closing[0].fields, "event_type"),
        Some("payout.failed")
    );
    assert_eq!(field(&closing[0].fields, "status"), Some("500"));
    let warnings: Vec<_> = events
        .iter()
        .filter(|event| event.level == Level::WARN)
        .collect();
    assert_eq!(
        warnings.len(),
        1,
        "one warning for the forged delivery: {events:?}"
    );
    assert_eq!(
        field(&warnings[0].fields, "code"),
        Some("signature_mismatch")
    );
    assert_eq!(field(&warnings[0].fields, "status"), Some("401"));

    let (_, capture) = traced_at(LevelFilter::INFO, || async {
        let layer = observe().span_level(Level::INFO).build().unwrap();
        let service = stack(layer, 100, Gate::default());
        send(&service, delivery("evt_1", "payout.completed")).await;
    });
    let (fields, _) = capture.only_delivery();
    assert_eq!(field(&fields, "event_id"), Some("evt_1"));
    assert_eq!(field(&fields, "outcome"), Some("processed"));
}

#[test]
fn an_answered_handshake_is_logged_at_info_with_its_kind() {
    use tower::ServiceBuilder;
    use webhook_signature::scheme::by_name;
    use webhook_signature::{Verifier, VerifySignatureLayer};

    let (status, capture) = traced_at(LevelFilter::INFO, || async {
        let verifier = Verifier::builder(by_name("twitter").unwrap())
            .secret("consumer", "x-consumer-secret")
            .build()
            .unwrap();
        let handler = tower::service_fn(|_: http::Request<webhook_core::VerifiedBody>| async {
            Ok::<_, std::convert::Infallible>(http::Response::new(http_body_util::Full::new(
                bytes::Bytes::from_static(b"handled"),
            )))
        });
        let service = ServiceBuilder::new()
            .layer(observe().build().unwrap())
            .layer(VerifySignatureLayer::new(verifier))
            .service(handler);
        let request = http::Request::get("/webhooks?crc_token=abc123")
            .body(String::new())
            .unwrap();
        send(&service, request).await.status
    });
    assert_eq!(status, StatusCode::OK);
    let events = capture.events.lock().unwrap();
    let answered = events
        .iter()
        .find(|event| field(&event.fields, "outcome") == Some("handshake"))
        .expect("the closing event");
    assert_eq!(answered.level, Level::INFO);
    assert_eq!(field(&answered.fields, "handshake"), Some("x_crc"));
    assert_eq!(field(&answered.fields, "status"), Some("200"));
    drop(events);
    assert!(
        capture
            .all_values()
            .iter()
            .all(|value| !value.contains("x-consumer-secret"))
    );
}
