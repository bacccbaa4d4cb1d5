//! Scenarios shared by the memory and Redis tests: the full receiver stack
//! (signature, idempotency, enqueue) and workers with a recording processing function.
#![allow(dead_code, unreachable_pub)]

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use tokio::sync::Notify;
use tower::util::BoxCloneSyncService;
use tower::{ServiceBuilder, ServiceExt};
use webhook_idempotency::IdempotencyLayer;
use webhook_queue::metrics::Metrics;
use webhook_queue::{
    DeadLetterKind, Enqueue, Job, ProcessError, Queue, RetryPolicy, Workers, WorkersBuilder,
};
use webhook_signature::{Signer, Verifier, VerifySignatureLayer, scheme::HopNow};

pub const SECRET: &str = "queue-test-secret";

/// What the sender saw.
#[derive(Debug, Clone)]
pub struct Sent {
    pub status: StatusCode,
    pub retry_after: Option<u64>,
    pub replayed: bool,
    pub json: serde_json::Value,
}

impl Sent {
    pub fn code(&self) -> &str {
        self.json["code"].as_str().unwrap_or_default()
    }
}

pub type Stack = BoxCloneSyncService<Request<String>, Sent, Infallible>;

/// Signature verification, idempotency (in memory), then the enqueue service.
pub fn stack<Q: Queue + Clone>(enqueue: Enqueue<Q>) -> Stack {
    let verifier = Verifier::builder(HopNow)
        .secret("current", SECRET)
        .build()
        .unwrap();
    let service = ServiceBuilder::new()
        .layer(VerifySignatureLayer::new(verifier))
        .layer(IdempotencyLayer::in_memory())
        .service(enqueue);
    let service =
        ServiceExt::<Request<String>>::and_then(service, |response: Response<_>| async move {
            Ok(read(response).await)
        });
    BoxCloneSyncService::new(service)
}

async fn read<B>(response: Response<B>) -> Sent
where
    B: http_body::Body<Data = Bytes>,
    B::Error: std::fmt::Debug,
{
    let status = response.status();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    let replayed = response.headers().contains_key("idempotent-replayed");
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    Sent {
        status,
        retry_after,
        replayed,
        json,
    }
}

pub fn body(event_id: &str) -> String {
    format!(r#"{{"id":"{event_id}","type":"payout.completed","amount":1200}}"#)
}

/// A signed delivery of `body`, as the sender would send it.
pub fn signed(body: String) -> Request<String> {
    let headers = Signer::new(HopNow, SECRET)
        .unwrap()
        .sign(body.as_bytes(), 0, "")
        .unwrap();
    let mut request = Request::post("/webhooks")
        .header("content-type", "application/json")
        .body(body)
        .unwrap();
    request.headers_mut().extend(headers);
    request
}

pub async fn send(stack: &Stack, event_id: &str) -> Sent {
    stack.clone().oneshot(signed(body(event_id))).await.unwrap()
}

/// Sends `events` with `concurrency` senders at once; returns every answer by event.
pub async fn send_all(
    stack: &Stack,
    events: &[String],
    concurrency: usize,
) -> HashMap<String, Sent> {
    let chunk = events.len().div_ceil(concurrency);
    let mut tasks = tokio::task::JoinSet::new();
    for part in events.chunks(chunk) {
        let part = part.to_vec();
        let stack = stack.clone();
        tasks.spawn(async move {
            let mut answers = Vec::with_capacity(part.len());
            for event in part {
                let sent = send(&stack, &event).await;
                answers.push((event, sent));
            }
            answers
        });
    }
    let mut all = HashMap::new();
    while let Some(answers) = tasks.join_next().await {
        all.extend(answers.unwrap());
    }
    all
}

/// What the processing function and the metrics saw.
#[derive(Default)]
pub struct Recorder {
    /// Successful runs per event id.
    pub successes: Mutex<HashMap<String, u32>>,
    /// The `attempts()` of each successful job, per event id.
    pub success_attempts: Mutex<HashMap<String, u32>>,
    /// Calls of the processing function.
    pub calls: AtomicU64,
    /// Transient failures the function returned on purpose.
    pub injected: AtomicU64,
    pub retried: AtomicU64,
    pub attempts: AtomicU64,
    pub dead: AtomicU64,
    pub enqueued: AtomicU64,
    /// Events that fail permanently while set.
    pub broken: Mutex<Vec<String>>,
    pub changed: Notify,
}

impl Recorder {
    pub fn success_count(&self) -> usize {
        self.successes.lock().unwrap().len()
    }

    pub fn runs(&self, event: &str) -> u32 {
        self.successes
            .lock()
            .unwrap()
            .get(event)
            .copied()
            .unwrap_or(0)
    }

    /// Waits until `done` holds, woken by every change; panics after `limit`.
    pub async fn wait_until(&self, limit: Duration, what: &str, done: impl Fn(&Self) -> bool) {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if done(self) {
                return;
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                assert!(done(self), "timed out waiting for {what}");
                return;
            }
        }
    }

    fn record_success(&self, job: &Job) {
        let event = job
            .event_id()
            .expect("every test event has an id")
            .to_owned();
        *self
            .successes
            .lock()
            .unwrap()
            .entry(event.clone())
            .or_default() += 1;
        self.success_attempts
            .lock()
            .unwrap()
            .insert(event, job.attempts());
        self.changed.notify_waiters();
    }
}

impl Metrics for Recorder {
    fn enqueued(&self, _job: &Job) {
        self.enqueued.fetch_add(1, Ordering::Relaxed);
    }
    fn attempt(&self, _job: &Job) {
        self.attempts.fetch_add(1, Ordering::Relaxed);
    }
    fn retried(&self, _job: &Job, _delay: Duration) {
        self.retried.fetch_add(1, Ordering::Relaxed);
    }
    fn dead_lettered(&self, _job: &Job, _kind: DeadLetterKind) {
        self.dead.fetch_add(1, Ordering::Relaxed);
        self.changed.notify_waiters();
    }
}

/// A deterministic 10% of (event, attempt) pairs fail transiently.
pub fn injected_failure(event: &str, attempts: u32) -> bool {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in event.bytes().chain(attempts.to_be_bytes()) {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    hash % 10 == 0
}

/// The processing function of the tests: idempotent (records successes per event id),
/// failing transiently on `injected_failure` when `flaky`, permanently for the events
/// in `recorder.broken`, and waiting for `gate` (if given) before anything.
pub fn workers<Q: Queue + Clone>(
    queue: Q,
    recorder: &Arc<Recorder>,
    flaky: bool,
    gate: Option<Arc<Gate>>,
) -> WorkersBuilder<Q> {
    let recorder_fn = recorder.clone();
    Workers::builder(queue, move |job: Job| {
        let recorder = recorder_fn.clone();
        let gate = gate.clone();
        async move {
            if let Some(gate) = gate {
                gate.wait().await;
            }
            recorder.calls.fetch_add(1, Ordering::Relaxed);
            let event = job.event_id().unwrap_or_default().to_owned();
            if recorder.broken.lock().unwrap().contains(&event) {
                return Err(ProcessError::permanent(format!(
                    "unknown event type in {event}"
                )));
            }
            if flaky && injected_failure(&event, job.attempts()) {
                recorder.injected.fetch_add(1, Ordering::Relaxed);
                return Err(ProcessError::transient("injected: the ledger answered 503"));
            }
            recorder.record_success(&job);
            Ok(())
        }
    })
    .metrics(recorder.clone())
    .retry(fast_retries())
}

/// Retries within milliseconds; ten attempts make exhausting them (10^-10) impossible
/// in practice for the 10% injected failures.
pub fn fast_retries() -> RetryPolicy {
    RetryPolicy::new()
        .with_max_attempts(10)
        .with_initial_delay(Duration::from_millis(2))
        .with_max_delay(Duration::from_millis(20))
}

/// Holds processing until opened.
#[derive(Default)]
pub struct Gate {
    open: AtomicBool,
    notify: Notify,
    /// How many calls are waiting at the gate.
    pub waiting: AtomicU64,
    pub arrived: Notify,
}

impl Gate {
    pub fn open(&self) {
        self.open.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    pub async fn wait(&self) {
        self.waiting.fetch_add(1, Ordering::SeqCst);
        self.arrived.notify_waiters();
        loop {
            let opened = self.notify.notified();
            tokio::pin!(opened);
            opened.as_mut().enable();
            if self.open.load(Ordering::SeqCst) {
                return;
            }
            opened.await;
        }
    }

    /// Waits until `count` calls are held at the gate.
    pub async fn until_waiting(&self, count: u64) {
        loop {
            let arrived = self.arrived.notified();
            tokio::pin!(arrived);
            arrived.as_mut().enable();
            if self.waiting.load(Ordering::SeqCst) >= count {
                return;
            }
            tokio::time::timeout(Duration::from_secs(30), arrived)
                .await
                .expect("calls reach the gate");
        }
    }
}

/// 10,000 events through the full stack, 10% of attempts failing transiently: each
/// event succeeds exactly once, none is lost, none is dead-lettered.
pub async fn ten_thousand_events_with_transient_failures<Q: Queue + Clone>(queue: Q) {
    const EVENTS: usize = 10_000;
    let recorder = Arc::new(Recorder::default());
    let workers = workers(queue.clone(), &recorder, true, None)
        .concurrency(16)
        .spawn()
        .unwrap();
    let stack = stack(
        Enqueue::builder(queue.clone())
            .metrics(recorder.clone())
            .build()
            .unwrap(),
    );

    let events: Vec<String> = (0..EVENTS).map(|n| format!("evt_{n:05}")).collect();
    let answers = send_all(&stack, &events, 32).await;
    assert_eq!(answers.len(), EVENTS);
    for (event, sent) in &answers {
        assert_eq!(sent.status, StatusCode::ACCEPTED, "{event}: {sent:?}");
        assert_eq!(sent.json["event_id"], event.as_str());
        assert_eq!(sent.json["status"], "queued");
    }
    assert_eq!(recorder.enqueued.load(Ordering::Relaxed), EVENTS as u64);

    recorder
        .wait_until(Duration::from_secs(120), "every event processed", |r| {
            r.success_count() == EVENTS
        })
        .await;
    workers.shutdown().await.unwrap();

    let successes = recorder.successes.lock().unwrap().clone();
    assert_eq!(successes.len(), EVENTS);
    for event in &events {
        assert_eq!(successes.get(event), Some(&1), "{event} succeeded once");
    }
    let injected = recorder.injected.load(Ordering::Relaxed);
    // 10% of first attempts fail, and 10% of the retries.
    assert!((900..1350).contains(&injected), "injected {injected}");
    assert_eq!(recorder.retried.load(Ordering::Relaxed), injected);
    assert_eq!(
        recorder.attempts.load(Ordering::Relaxed),
        EVENTS as u64 + injected
    );
    // Every success after a failure saw its earlier failures counted.
    let attempts = recorder.success_attempts.lock().unwrap().clone();
    for event in &events {
        let expected = (0..).find(|&n| !injected_failure(event, n)).unwrap();
        assert_eq!(attempts[event], expected, "{event}");
    }
    assert_eq!(recorder.dead.load(Ordering::Relaxed), 0);
    assert!(queue.dead_letters(10).await.unwrap().is_empty());
    assert_eq!(queue.depth().await.unwrap().unfinished(), 0);

    // A duplicate delivery gets the recorded 202 replayed, and is not queued again.
    let duplicate = send(&stack, "evt_00042").await;
    assert_eq!(duplicate.status, StatusCode::ACCEPTED);
    assert!(duplicate.replayed);
    assert_eq!(duplicate.json, answers["evt_00042"].json);
    assert_eq!(queue.depth().await.unwrap().unfinished(), 0);
}

/// A permanent error goes straight to the dead letters, without retry; a replay after
/// the fix processes it, with its attempts reset.
pub async fn a_permanent_error_is_dead_lettered_then_replayed<Q: Queue + Clone>(queue: Q) {
    let recorder = Arc::new(Recorder::default());
    recorder.broken.lock().unwrap().push("evt_bad".into());
    let workers = workers(queue.clone(), &recorder, false, None)
        .concurrency(2)
        .spawn()
        .unwrap();
    let stack = stack(Enqueue::new(queue.clone()));

    assert_eq!(send(&stack, "evt_bad").await.status, StatusCode::ACCEPTED);
    assert_eq!(send(&stack, "evt_good").await.status, StatusCode::ACCEPTED);
    recorder
        .wait_until(
            Duration::from_secs(20),
            "a dead letter and a success",
            |r| r.dead.load(Ordering::Relaxed) == 1 && r.runs("evt_good") == 1,
        )
        .await;
    let dead = queue.dead_letters(10).await.unwrap();
    assert_eq!(dead.len(), 1);
    let letter = &dead[0];
    assert_eq!(letter.kind(), DeadLetterKind::Permanent);
    assert_eq!(letter.error(), "unknown event type in evt_bad");
    assert_eq!(letter.job().event_id(), Some("evt_bad"));
    assert_eq!(letter.job().scheme(), "hopnow");
    assert_eq!(letter.job().key_id().as_str(), "current");
    assert_eq!(letter.job().body(), body("evt_bad").as_bytes());
    assert_eq!(
        letter.job().attempts(),
        1,
        "one failed attempt, not retried"
    );
    // One call for each event: a permanent error is not retried.
    assert_eq!(recorder.calls.load(Ordering::Relaxed), 2);
    assert_eq!(recorder.retried.load(Ordering::Relaxed), 0);
    assert_eq!(queue.depth().await.unwrap().dead, 1);

    // The fix is deployed; the operator replays the dead letter.
    recorder.broken.lock().unwrap().clear();
    assert!(queue.replay(letter.id()).await.unwrap());
    recorder
        .wait_until(Duration::from_secs(20), "the replayed event", |r| {
            r.runs("evt_bad") == 1
        })
        .await;
    assert_eq!(recorder.success_attempts.lock().unwrap()["evt_bad"], 0);
    assert!(queue.dead_letters(10).await.unwrap().is_empty());
    assert!(
        !queue.replay(letter.id()).await.unwrap(),
        "replayed once only"
    );
    workers.shutdown().await.unwrap();
    assert_eq!(recorder.runs("evt_bad"), 1);
    assert_eq!(recorder.runs("evt_good"), 1);
    assert_eq!(queue.depth().await.unwrap().unfinished(), 0);
}
