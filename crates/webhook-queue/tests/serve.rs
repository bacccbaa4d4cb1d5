//! Workers running a real `EventRouter`: the router that answers live deliveries
//! processes queued jobs, and its answers settle them.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{SECRET, signed};
use http::StatusCode;
use serde::Deserialize;
use tower::{ServiceBuilder, ServiceExt};
use webhook_event::{EventRouter, Handled, WebhookEvent};
use webhook_queue::{DeadLetterKind, Enqueue, MemoryQueue, Queue, RetryPolicy, Workers};
use webhook_signature::{Verifier, VerifySignatureLayer, scheme::HopNow};

#[derive(Deserialize)]
struct Payout {
    id: String,
}

/// What the handlers saw: each call, as `(event id, payout id, key id)`.
#[derive(Clone, Default)]
struct Calls(Arc<Mutex<Vec<(String, String, String)>>>);

impl Calls {
    fn of(&self, event_id: &str) -> usize {
        let calls = self.0.lock().unwrap();
        calls.iter().filter(|(id, _, _)| id == event_id).count()
    }
}

/// `payout.completed` records the payout; `ledger.synced` answers 503 to its first
/// `outages` calls (the ledger is down), then 200.
fn router(calls: &Calls, outages: usize) -> EventRouter {
    let payouts = calls.clone();
    let ledger = calls.clone();
    EventRouter::new()
        .on("payout.completed", move |event: WebhookEvent<Payout>| {
            let key_id = event.key_id().to_string();
            payouts
                .0
                .lock()
                .unwrap()
                .push((event.id, event.data.id, key_id));
            async { Handled::Processed }
        })
        .on("ledger.synced", move |event: WebhookEvent| {
            let mut calls = ledger.0.lock().unwrap();
            let down = calls.iter().filter(|(id, _, _)| *id == event.id).count() < outages;
            calls.push((event.id, String::new(), String::new()));
            async move {
                if down {
                    StatusCode::SERVICE_UNAVAILABLE
                } else {
                    StatusCode::OK
                }
            }
        })
}

fn event(id: &str, event_type: &str, data: &str) -> String {
    format!(r#"{{"id":"{id}","type":"{event_type}","created":1700000000,"data":{data}}}"#)
}

fn verify() -> VerifySignatureLayer {
    VerifySignatureLayer::new(
        Verifier::builder(HopNow)
            .secret("current", SECRET)
            .build()
            .unwrap(),
    )
}

fn fast_retries() -> RetryPolicy {
    RetryPolicy::new()
        .with_max_attempts(5)
        .with_initial_delay(Duration::from_millis(2))
        .with_max_delay(Duration::from_millis(10))
}

#[tokio::test]
async fn one_router_serves_a_live_delivery_and_a_queued_job_each_once() {
    let calls = Calls::default();
    let events = router(&calls, 0);
    let queue = MemoryQueue::new();
    let workers = Workers::serve(queue.clone(), events.clone())
        .retry(fast_retries())
        .spawn()
        .unwrap();

    let inline = ServiceBuilder::new().layer(verify()).service(events);
    let live = event("evt_live", "payout.completed", r#"{"id":"pout_1"}"#);
    let response = inline.oneshot(signed(live)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    let queued = ServiceBuilder::new()
        .layer(verify())
        .service(Enqueue::new(queue.clone()));
    let job = event("evt_queued", "payout.completed", r#"{"id":"pout_2"}"#);
    let response = queued.oneshot(signed(job)).await.unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    workers.shutdown().await.unwrap(); // the memory queue drains first

    let seen = calls.0.lock().unwrap().clone();
    assert_eq!(
        seen,
        [
            ("evt_live".into(), "pout_1".into(), "current".into()),
            ("evt_queued".into(), "pout_2".into(), "current".into()),
        ]
    );
    assert!(queue.dead_letters(10).await.unwrap().is_empty());
    assert_eq!(queue.depth().await.unwrap().unfinished(), 0);
}

#[tokio::test]
async fn a_5xx_answer_is_retried_until_it_succeeds_and_a_4xx_is_dead_lettered_at_once() {
    let calls = Calls::default();
    let queue = MemoryQueue::new();
    let workers = Workers::serve(queue.clone(), router(&calls, 2))
        .retry(fast_retries())
        .spawn()
        .unwrap();
    let enqueue = ServiceBuilder::new()
        .layer(verify())
        .service(Enqueue::new(queue.clone()));
    for body in [
        event("evt_flaky", "ledger.synced", "{}"),
        // `data` lacks the payout's `id`: 422 `invalid_data`, which no retry fixes.
        event(
            "evt_invalid",
            "payout.completed",
            r#"{"status":"completed"}"#,
        ),
        // No handler for the type: 200 `ignored`, acknowledged.
        event("evt_unknown", "account.updated", "{}"),
    ] {
        let response = enqueue.clone().oneshot(signed(body)).await.unwrap();
        assert_eq!(response.status(), StatusCode::ACCEPTED);
    }
    workers.shutdown().await.unwrap();

    assert_eq!(calls.of("evt_flaky"), 3, "two 503s, then 200");
    let dead = queue.dead_letters(10).await.unwrap();
    assert_eq!(dead.len(), 1, "{dead:?}");
    let letter = &dead[0];
    assert_eq!(letter.job().event_id(), Some("evt_invalid"));
    assert_eq!(letter.kind(), DeadLetterKind::Permanent);
    assert_eq!(letter.job().attempts(), 1, "not retried");
    assert!(
        letter
            .error()
            .starts_with("the service answered 422 Unprocessable Entity: {"),
        "{}",
        letter.error()
    );
    assert!(
        letter.error().contains(r#""code":"invalid_data""#),
        "{}",
        letter.error()
    );
    assert_eq!(queue.depth().await.unwrap().unfinished(), 0);
}

#[tokio::test]
async fn a_5xx_answer_every_time_exhausts_the_attempts() {
    let calls = Calls::default();
    let queue = MemoryQueue::new();
    let workers = Workers::serve(queue.clone(), router(&calls, usize::MAX))
        .retry(fast_retries())
        .spawn()
        .unwrap();
    let enqueue = ServiceBuilder::new()
        .layer(verify())
        .service(Enqueue::new(queue.clone()));
    let body = event("evt_down", "ledger.synced", "{}");
    let response = enqueue.oneshot(signed(body)).await.unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    workers.shutdown().await.unwrap();

    assert_eq!(calls.of("evt_down"), 5);
    let dead = queue.dead_letters(10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].kind(), DeadLetterKind::Exhausted);
    assert_eq!(
        dead[0].error(),
        "the service answered 503 Service Unavailable"
    );
}
