//! Shared by the integration tests: a signed-delivery stack and a recording handler.
#![allow(dead_code, unreachable_pub, missing_docs)]

pub mod lease;

use std::collections::HashMap;
use std::convert::Infallible;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use tokio::sync::{Notify, Semaphore, mpsc};
use tower::util::BoxCloneSyncService;
use tower::{ServiceBuilder, ServiceExt, service_fn};
use webhook_core::{ResponseBody, VerifiedBody};
use webhook_idempotency::{IdempotencyLayer, Store};
use webhook_signature::scheme::HopNow;
use webhook_signature::{Signer, Verifier, VerifySignatureLayer};

pub const SECRET: &str = "test-secret";

pub type Stack = BoxCloneSyncService<Request<String>, Response<Bytes>, io::Error>;

/// What a test sees of a response.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: StatusCode,
    pub replayed: bool,
    pub retry_after: Option<u64>,
    pub content_type: Option<String>,
    pub body: Bytes,
}

impl Answer {
    pub fn code(&self) -> Option<String> {
        let value: serde_json::Value = serde_json::from_slice(&self.body).ok()?;
        value["code"].as_str().map(str::to_owned)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// The handler: counts runs per event id and behaves as the body asks.
///
/// Body fields: `id`; `block_runs: n` (runs 1..=n wait for [`Recorder::open_gate`]);
/// `fail_runs: n` (runs 1..=n answer 500); `err_runs: n` (runs 1..=n return `Err`);
/// `status` (the success status, default 200); `big: n` (a body of n bytes with an
/// unknown size).
#[derive(Clone, Default)]
pub struct Recorder {
    inner: Arc<RecorderInner>,
}

#[derive(Default)]
struct RecorderInner {
    runs: Mutex<HashMap<String, usize>>,
    attempts: Mutex<Vec<String>>,
    started: Notify,
    gate: GateCell,
}

struct GateCell(Semaphore);

impl Default for GateCell {
    fn default() -> Self {
        Self(Semaphore::new(0))
    }
}

impl Recorder {
    pub fn runs(&self, id: &str) -> usize {
        self.inner
            .runs
            .lock()
            .unwrap()
            .get(id)
            .copied()
            .unwrap_or(0)
    }

    pub fn total_runs(&self) -> usize {
        self.inner.runs.lock().unwrap().values().sum()
    }

    pub fn all_runs(&self) -> HashMap<String, usize> {
        self.inner.runs.lock().unwrap().clone()
    }

    /// The `x-attempt` header of every request that reached the handler.
    pub fn attempts(&self) -> Vec<String> {
        self.inner.attempts.lock().unwrap().clone()
    }

    /// Waits until a blocking run has started.
    pub async fn started(&self) {
        self.inner.started.notified().await;
    }

    /// Lets every blocked run (now and later) go on.
    pub fn open_gate(&self) {
        self.inner.gate.0.add_permits(Semaphore::MAX_PERMITS / 2);
    }

    async fn handle(&self, request: Request<VerifiedBody>) -> Result<Response<Body>, io::Error> {
        let attempt = request
            .headers()
            .get("x-attempt")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let body = request.into_body().collect().await.unwrap().to_bytes();
        let fields: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let id = fields["id"]
            .as_str()
            .map_or_else(|| fields["id"].to_string(), str::to_owned);
        let run = {
            let mut runs = self.inner.runs.lock().unwrap();
            let run = runs.entry(id.clone()).or_default();
            *run += 1;
            *run
        };
        self.inner.attempts.lock().unwrap().push(attempt);
        let below = |field: &str| fields[field].as_u64().is_some_and(|n| run as u64 <= n);
        if below("block_runs") {
            self.inner.started.notify_one();
            let permit = self.inner.gate.0.acquire().await.unwrap();
            permit.forget();
        }
        if below("err_runs") {
            return Err(io::Error::other("handler failed"));
        }
        let status = if below("fail_runs") {
            StatusCode::INTERNAL_SERVER_ERROR
        } else {
            fields["status"]
                .as_u64()
                .map_or(StatusCode::OK, |s| StatusCode::from_u16(s as u16).unwrap())
        };
        let text = format!(r#"{{"id":"{id}","run":{run}}}"#);
        let body = match fields["big"].as_u64() {
            Some(n) => Body::Streamed(Some(Bytes::from(vec![b'x'; n as usize]))),
            None => Body::Full(Some(Bytes::from(text))),
        };
        Ok(Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .header("x-not-kept", "1")
            .body(body)
            .unwrap())
    }
}

/// A response body: known size, or unknown size (a stream).
pub enum Body {
    Full(Option<Bytes>),
    Streamed(Option<Bytes>),
}

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>> {
        let next = match self.get_mut() {
            Body::Full(bytes) | Body::Streamed(bytes) => bytes.take(),
        };
        std::task::Poll::Ready(next.map(|b| Ok(http_body::Frame::data(b))))
    }

    fn size_hint(&self) -> http_body::SizeHint {
        match self {
            Body::Full(bytes) => {
                http_body::SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64))
            }
            Body::Streamed(_) => http_body::SizeHint::default(),
        }
    }
}

/// Signature layer, then `layer`, then the recorder; bodies collected to bytes.
pub fn stack<St: Store>(layer: IdempotencyLayer<St>, recorder: &Recorder) -> Stack {
    let verifier = Verifier::builder(HopNow)
        .secret("k1", SECRET)
        .build()
        .unwrap();
    let recorder = recorder.clone();
    let service = ServiceBuilder::new()
        .layer(VerifySignatureLayer::new(verifier))
        .layer(layer)
        .service(service_fn(move |request| {
            let recorder = recorder.clone();
            async move { recorder.handle(request).await }
        }));
    let service = ServiceExt::<Request<String>>::and_then(
        service,
        |response: Response<ResponseBody<ResponseBody<Body>>>| async move {
            let (parts, body) = response.into_parts();
            let bytes = body.collect().await.unwrap().to_bytes();
            Ok(Response::from_parts(parts, bytes))
        },
    );
    BoxCloneSyncService::new(service)
}

/// A signed delivery of `body` (HopNow: signature over the body only).
pub fn delivery(body: &str) -> Request<String> {
    let mut request = Request::post("/webhooks").body(body.to_owned()).unwrap();
    let headers = Signer::new(HopNow, SECRET)
        .unwrap()
        .sign(body.as_bytes(), 0, "")
        .unwrap();
    request.headers_mut().extend(headers);
    request
}

pub fn event(id: &str) -> String {
    format!(r#"{{"id":"{id}","type":"payout.completed"}}"#)
}

pub async fn send(service: &Stack, request: Request<String>) -> Result<Answer, io::Error> {
    let response = service.clone().oneshot(request).await?;
    Ok(answer(response))
}

pub async fn send_ok(service: &Stack, body: &str) -> Answer {
    send(service, delivery(body))
        .await
        .expect("the handler did not fail")
}

pub fn answer(response: Response<Bytes>) -> Answer {
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    Answer {
        status: response.status(),
        replayed: header("idempotent-replayed").as_deref() == Some("true"),
        retry_after: header("retry-after").map(|v| v.parse().unwrap()),
        content_type: header("content-type"),
        body: response.body().clone(),
    }
}

/// Sends `body` until the answer is not 409 (the claim is gone), at most `tries` times,
/// `pause` apart.
pub async fn send_until_not_in_flight(
    service: &Stack,
    body: &str,
    tries: usize,
    pause: Duration,
) -> Answer {
    for _ in 0..tries {
        let answer = send_ok(service, body).await;
        if answer.status != StatusCode::CONFLICT {
            return answer;
        }
        tokio::time::sleep(pause).await;
    }
    panic!("still in flight after {tries} tries");
}

/// 200 concurrent copies of one delivery while the first run is held: exactly one run,
/// 199 answers 409 with `Retry-After`; then the first answers 200 and a later copy is a
/// replay.
pub async fn two_hundred_copies_while_held(services: &[Stack], recorder: &Recorder, id: &str) {
    let body = format!(r#"{{"id":"{id}","block_runs":1}}"#);
    let (sender, mut answers) = mpsc::unbounded_channel();
    for i in 0..200 {
        let service = services[i % services.len()].clone();
        let body = body.clone();
        let sender = sender.clone();
        tokio::spawn(async move {
            let answer = send_ok(&service, &body).await;
            sender.send(answer).unwrap();
        });
    }
    for _ in 0..199 {
        let answer = answers.recv().await.unwrap();
        assert_eq!(answer.status, StatusCode::CONFLICT, "{}", answer.text());
        assert_eq!(answer.code().as_deref(), Some("in_flight"));
        assert!(answer.retry_after.unwrap() >= 1);
        assert!(!answer.replayed);
    }
    assert_eq!(recorder.runs(id), 1);
    recorder.open_gate();
    let first = answers.recv().await.unwrap();
    assert_eq!(first.status, StatusCode::OK);
    assert!(!first.replayed);
    assert_eq!(first.text(), format!(r#"{{"id":"{id}","run":1}}"#));
    let again = send_ok(&services[0], &body).await;
    assert!(again.replayed);
    assert_eq!(again.body, first.body);
    assert_eq!(recorder.runs(id), 1);
}

/// 200 concurrent copies racing freely: the handler runs once; one answer is fresh, the
/// others are 409 or replays of it.
pub async fn two_hundred_copies_racing(services: &[Stack], recorder: &Recorder, id: &str) {
    let body = event(id);
    let mut tasks = Vec::new();
    for i in 0..200 {
        let service = services[i % services.len()].clone();
        let body = body.clone();
        tasks.push(tokio::spawn(async move { send_ok(&service, &body).await }));
    }
    let mut fresh = Vec::new();
    let (mut conflicts, mut replays) = (0, 0);
    for task in tasks {
        let answer = task.await.unwrap();
        match (answer.status, answer.replayed) {
            (StatusCode::OK, false) => fresh.push(answer),
            (StatusCode::OK, true) => replays += 1,
            (StatusCode::CONFLICT, false) => conflicts += 1,
            other => panic!("unexpected answer {other:?}: {}", answer.text()),
        }
    }
    assert_eq!(recorder.runs(id), 1);
    assert_eq!(fresh.len(), 1);
    assert_eq!(conflicts + replays, 199);
    println!("{id}: 1 processed, {conflicts} in flight (409), {replays} replays");
}

/// 1,000 distinct events, each sent twice, all at once: every event runs exactly once.
pub async fn thousand_events_twice(services: &[Stack], recorder: &Recorder, prefix: &str) {
    let mut tasks = Vec::new();
    for copy in 0..2 {
        for n in 0..1000 {
            let service = services[(n + copy) % services.len()].clone();
            let id = format!("{prefix}-{n}");
            tasks.push(tokio::spawn(async move {
                let answer = send_ok(&service, &event(&id)).await;
                (id, answer)
            }));
        }
    }
    let mut fresh: HashMap<String, usize> = HashMap::new();
    for task in tasks {
        let (id, answer) = task.await.unwrap();
        match (answer.status, answer.replayed) {
            (StatusCode::OK, false) => *fresh.entry(id).or_default() += 1,
            (StatusCode::OK, true) | (StatusCode::CONFLICT, false) => {}
            other => panic!("unexpected answer {other:?}: {}", answer.text()),
        }
    }
    assert_eq!(fresh.len(), 1000);
    assert!(fresh.values().all(|&n| n == 1));
    for n in 0..1000 {
        assert_eq!(recorder.runs(&format!("{prefix}-{n}")), 1);
    }
}

/// The handler answers 500 the first time: the retry is processed and succeeds once.
pub async fn failure_then_retry(service: &Stack, recorder: &Recorder, id: &str) {
    let body = format!(r#"{{"id":"{id}","fail_runs":1}}"#);
    let first = send_ok(service, &body).await;
    assert_eq!(first.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(!first.replayed);
    let retry = send_ok(service, &body).await;
    assert_eq!(retry.status, StatusCode::OK);
    assert!(!retry.replayed);
    assert_eq!(retry.text(), format!(r#"{{"id":"{id}","run":2}}"#));
    let third = send_ok(service, &body).await;
    assert!(third.replayed);
    assert_eq!(third.body, retry.body);
    assert_eq!(recorder.runs(id), 2);

    // Same with a handler that returns `Err`.
    let id = format!("{id}-err");
    let body = format!(r#"{{"id":"{id}","err_runs":1}}"#);
    assert!(send(service, delivery(&body)).await.is_err());
    let retry = send_ok(service, &body).await;
    assert_eq!(retry.status, StatusCode::OK);
    assert!(!retry.replayed);
    assert_eq!(recorder.runs(&id), 2);
}

/// The handler's future is dropped mid-flight (the client went away): the claim is
/// released and the retry is processed.
pub async fn dropped_then_retry(service: &Stack, recorder: &Recorder, id: &str, pause: Duration) {
    let body = format!(r#"{{"id":"{id}","block_runs":1}}"#);
    let call = send(service, delivery(&body));
    tokio::select! {
        _ = call => panic!("the blocked run answered"),
        () = recorder.started() => {}
    }
    // `call` was dropped at the end of the select: the client is gone.
    assert_eq!(recorder.runs(id), 1);
    let retry = send_until_not_in_flight(service, &body, 200, pause).await;
    assert_eq!(retry.status, StatusCode::OK);
    assert!(!retry.replayed);
    assert_eq!(retry.text(), format!(r#"{{"id":"{id}","run":2}}"#));
    assert_eq!(recorder.runs(id), 2);
}

/// A handler blocked past its lease (of a layer answering `Retry-After: 1` for it): a
/// copy sent while it runs gets 409, a retry once the lease is over runs the handler
/// again, and the blocked run, released, cannot overwrite that retry's record.
pub async fn lease_expiry_then_retry(service: &Stack, recorder: &Recorder) {
    let body = r#"{"id":"evt_stuck","block_runs":1}"#;

    let stuck = tokio::spawn({
        let service = service.clone();
        async move { send_ok(&service, body).await }
    });
    recorder.started().await;
    let early = send_ok(service, body).await;
    assert_eq!(early.status, StatusCode::CONFLICT);
    assert_eq!(early.retry_after, Some(1));

    // The store expires the claim with the lease; the next retry is processed.
    let retry = send_until_not_in_flight(service, body, 100, Duration::from_millis(20)).await;
    assert_eq!(retry.status, StatusCode::OK);
    assert_eq!(retry.text(), r#"{"id":"evt_stuck","run":2}"#);

    recorder.open_gate();
    assert_eq!(stuck.await.unwrap().text(), r#"{"id":"evt_stuck","run":1}"#);
    let duplicate = send_ok(service, body).await;
    assert!(duplicate.replayed);
    assert_eq!(duplicate.text(), r#"{"id":"evt_stuck","run":2}"#);
    assert_eq!(recorder.runs("evt_stuck"), 2);
}
