//! The stack the tests drive (rate limit before verification, signature, idempotency,
//! event router, under the observe layer), signed deliveries, and a metrics snapshot
//! reader.
#![allow(dead_code)] // each test file uses a different subset

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::future::Future;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::BodyExt;
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshot};
use tokio::sync::Notify;
use tower::{Service, ServiceBuilder, ServiceExt};
use webhook_event::{EventRouter, Handled, WebhookEvent};
use webhook_idempotency::IdempotencyLayer;
use webhook_observe::ObserveLayer;
use webhook_ratelimit::{Quota, RateLimitLayer};
use webhook_signature::scheme::StandardWebhooks;
use webhook_signature::{Signer, Verifier, VerifySignatureLayer};

/// The receiver's secret (Standard Webhooks: `whsec_` + base64).
pub(crate) const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// The base64 part of [`SECRET`]: what a leak would most likely show.
pub(crate) const SECRET_BASE64: &str = "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// A secret the receiver does not know.
pub(crate) const WRONG_SECRET: &str = "whsec_c2VjcmV0LW9mLWFuLWF0dGFja2Vy";
/// The receiver's key id for [`SECRET`].
pub(crate) const KEY_ID: &str = "2025-11";
/// The receiver's clock, in Unix seconds.
pub(crate) const NOW: i64 = 1_762_077_900;
/// How long before [`NOW`] the deliveries are signed: the clock skew recorded.
pub(crate) const SIGNED_AGO: i64 = 3;

/// The event types the observe layer is told about.
pub(crate) const TYPES: [&str; 3] = ["payout.completed", "payout.failed", "payout.slow"];

pub(crate) fn clock() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(NOW as u64)
}

/// The observe layer of the tests: the allow-listed types and the fixed clock.
pub(crate) fn observe() -> webhook_observe::ObserveLayerBuilder {
    ObserveLayer::builder().event_types(TYPES).clock(clock)
}

/// A handler parked until the test lets it go, to hold a delivery in flight.
#[derive(Clone, Default)]
pub(crate) struct Gate {
    pub(crate) entered: Arc<Notify>,
    pub(crate) release: Arc<Notify>,
}

/// The event router: `payout.completed` is processed, `payout.failed` answers 500,
/// `payout.slow` waits for the gate; other types are ignored (200).
pub(crate) fn router(gate: Gate) -> EventRouter {
    EventRouter::new()
        .on("payout.completed", |_: WebhookEvent| async {
            Handled::Processed
        })
        .on("payout.failed", |_: WebhookEvent| async {
            StatusCode::INTERNAL_SERVER_ERROR
        })
        .on("payout.slow", move |_: WebhookEvent| {
            let gate = gate.clone();
            async move {
                gate.entered.notify_one();
                gate.release.notified().await;
                Handled::Processed
            }
        })
}

/// The full in-memory stack, outermost first: `observe`, a global rate limit of
/// `burst` requests (before verification), signature verification (Standard
/// Webhooks, key [`KEY_ID`], clock at [`NOW`]), idempotency, the router.
pub(crate) fn stack(
    observe: ObserveLayer,
    burst: u32,
    gate: Gate,
) -> impl Service<
    Request<String>,
    Response = Response<impl http_body::Body<Data = Bytes, Error = Infallible> + Send>,
    Error = Infallible,
    Future = impl Send,
> + Clone
+ Send
+ Sync
+ 'static {
    let verifier = Verifier::builder(StandardWebhooks)
        .secret(KEY_ID, SECRET)
        .clock(clock)
        .build()
        .unwrap();
    let limit = RateLimitLayer::builder(Quota::per_hour(NonZeroU32::new(burst).unwrap()))
        .build()
        .unwrap();
    ServiceBuilder::new()
        .layer(observe)
        .layer(limit)
        .layer(VerifySignatureLayer::new(verifier))
        .layer(IdempotencyLayer::in_memory())
        .service(router(gate))
}

/// The JSON body of an event.
pub(crate) fn body(id: &str, event_type: &str) -> String {
    format!(r#"{{"id":"{id}","type":"{event_type}","created":{NOW},"data":{{}}}}"#)
}

/// The Standard Webhooks headers of `body`, signed with `secret` [`SIGNED_AGO`]
/// seconds before [`NOW`].
pub(crate) fn signature(secret: &str, id: &str, body: &str) -> HeaderMap {
    Signer::new(StandardWebhooks, secret)
        .unwrap()
        .sign(body.as_bytes(), NOW - SIGNED_AGO, id)
        .unwrap()
}

/// A delivery signed with [`SECRET`].
pub(crate) fn delivery(id: &str, event_type: &str) -> Request<String> {
    signed(SECRET, id, event_type)
}

/// A delivery signed with an unknown secret: `signature_mismatch`.
pub(crate) fn forged(id: &str, event_type: &str) -> Request<String> {
    signed(WRONG_SECRET, id, event_type)
}

pub(crate) fn signed(secret: &str, id: &str, event_type: &str) -> Request<String> {
    let body = body(id, event_type);
    let mut request = Request::post("/webhooks")
        .header("content-type", "application/json")
        .body(body.clone())
        .unwrap();
    request.headers_mut().extend(signature(secret, id, &body));
    request
}

/// What a sender sees.
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Reply {
    pub(crate) fn code(&self) -> Option<String> {
        let value: serde_json::Value = serde_json::from_slice(&self.body).ok()?;
        value["code"].as_str().map(str::to_owned)
    }
}

pub(crate) async fn send<S, B>(service: &S, request: Request<String>) -> Reply
where
    S: Service<Request<String>, Response = Response<B>, Error = Infallible> + Clone,
    B: http_body::Body<Data = Bytes, Error = Infallible>,
{
    let response = service.clone().oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    Reply {
        status: parts.status,
        headers: parts.headers,
        body: body.collect().await.unwrap().to_bytes(),
    }
}

/// Runs `test` on a current-thread runtime with a fresh debugging recorder installed
/// for this thread, and returns its result with the metrics it recorded.
pub(crate) fn with_metrics<F, Fut>(test: F) -> (Fut::Output, Metrics)
where
    F: FnOnce() -> Fut,
    Fut: Future,
{
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let output = metrics::with_local_recorder(&recorder, || runtime.block_on(test()));
    (output, Metrics::new(snapshotter.snapshot()))
}

type Labels = Vec<(String, String)>;

/// The recorded metrics, by name and labels.
pub(crate) struct Metrics {
    values: BTreeMap<(String, Labels), DebugValue>,
}

impl Metrics {
    pub(crate) fn new(snapshot: Snapshot) -> Self {
        let values = snapshot
            .into_vec()
            .into_iter()
            .map(|(key, _, _, value)| {
                let key = key.key();
                let mut labels: Labels = key
                    .labels()
                    .map(|l| (l.key().to_owned(), l.value().to_owned()))
                    .collect();
                labels.sort();
                ((key.name().to_owned(), labels), value)
            })
            .collect();
        Self { values }
    }

    fn labels(labels: &[(&str, &str)]) -> Labels {
        let mut labels: Labels = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        labels.sort();
        labels
    }

    /// A counter's value; 0 when it was never recorded.
    pub(crate) fn counter(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
        match self.values.get(&(name.to_owned(), Self::labels(labels))) {
            Some(DebugValue::Counter(value)) => *value,
            Some(other) => panic!("{name} is not a counter: {other:?}"),
            None => 0,
        }
    }

    /// A histogram's samples; empty when it was never recorded.
    pub(crate) fn histogram(&self, name: &str, labels: &[(&str, &str)]) -> Vec<f64> {
        match self.values.get(&(name.to_owned(), Self::labels(labels))) {
            Some(DebugValue::Histogram(values)) => values.iter().map(|v| v.into_inner()).collect(),
            Some(other) => panic!("{name} is not a histogram: {other:?}"),
            None => Vec::new(),
        }
    }

    /// The label sets recorded under `name`.
    pub(crate) fn series(&self, name: &str) -> Vec<Labels> {
        self.values
            .keys()
            .filter(|(n, _)| n == name)
            .map(|(_, labels)| labels.clone())
            .collect()
    }

    /// Every metric name recorded.
    pub(crate) fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.values.keys().map(|(n, _)| n.clone()).collect();
        names.dedup();
        names
    }
}
