//! The in-process queue behind the full receiver stack.

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use common::{Gate, Recorder, send, signed, stack, workers};
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;
use webhook_idempotency::IdempotencyLayer;
use webhook_queue::{Enqueue, MemoryQueue, Queue};
use webhook_signature::{Verifier, VerifySignatureLayer, scheme::HopNow};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_thousand_events_with_ten_percent_transient_failures_each_succeed_once() {
    let queue = MemoryQueue::builder().capacity(20_000).build().unwrap();
    common::ten_thousand_events_with_transient_failures(queue).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanent_error_is_dead_lettered_and_a_replay_processes_it() {
    common::a_permanent_error_is_dead_lettered_then_replayed(MemoryQueue::new()).await;
}

#[tokio::test]
async fn a_full_queue_answers_503_with_retry_after_and_accepts_again_once_drained() {
    let queue = MemoryQueue::builder().capacity(3).build().unwrap();
    let stack = stack(Enqueue::new(queue.clone()));
    for n in 0..3 {
        let sent = send(&stack, &format!("evt_{n}")).await;
        assert_eq!(sent.status, StatusCode::ACCEPTED);
    }
    let full = send(&stack, "evt_3").await;
    assert_eq!(full.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(full.retry_after, Some(5));
    assert_eq!(full.code(), "queue_full");
    assert!(!full.replayed);
    assert_eq!(queue.depth().await.unwrap().ready, 3, "nothing was added");

    // Workers drain the queue: the sender's retry of the refused event is accepted
    // (the idempotency layer released it, since the answer was a 503).
    let recorder = Arc::new(Recorder::default());
    let workers = workers(queue.clone(), &recorder, false, None)
        .spawn()
        .unwrap();
    recorder
        .wait_until(Duration::from_secs(10), "the queue drained", |r| {
            r.success_count() == 3
        })
        .await;
    let retry = send(&stack, "evt_3").await;
    assert_eq!(retry.status, StatusCode::ACCEPTED);
    assert!(!retry.replayed);
    recorder
        .wait_until(Duration::from_secs(10), "the retried event", |r| {
            r.runs("evt_3") == 1
        })
        .await;
    workers.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_refuses_new_deliveries_and_drains_the_jobs_in_flight_and_queued() {
    let queue = MemoryQueue::new();
    let recorder = Arc::new(Recorder::default());
    let gate = Arc::new(Gate::default());
    let workers = workers(queue.clone(), &recorder, false, Some(gate.clone()))
        .concurrency(2)
        .spawn()
        .unwrap();
    let stack = stack(Enqueue::new(queue.clone()));
    for n in 0..10 {
        assert_eq!(
            send(&stack, &format!("evt_{n}")).await.status,
            StatusCode::ACCEPTED
        );
    }
    // Both workers hold a job, eight are queued.
    gate.until_waiting(2).await;
    let depth = queue.depth().await.unwrap();
    assert_eq!((depth.in_flight, depth.ready), (2, 8));

    let shutdown = tokio::spawn(workers.shutdown());
    // The queue closed at once: new deliveries are refused, the sender retries later.
    let refused = send(&stack, "evt_late").await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(refused.code(), "queue_closed");
    assert_eq!(refused.retry_after, Some(5));
    assert!(!shutdown.is_finished());

    gate.open();
    shutdown.await.unwrap().unwrap();
    assert_eq!(
        recorder.success_count(),
        10,
        "every accepted job was processed"
    );
    for n in 0..10 {
        assert_eq!(recorder.runs(&format!("evt_{n}")), 1);
    }
    assert_eq!(recorder.runs("evt_late"), 0);
    assert_eq!(queue.depth().await.unwrap().unfinished(), 0);
}

#[tokio::test]
async fn a_shutdown_that_times_out_aborts_the_stuck_workers() {
    let queue = MemoryQueue::new();
    let recorder = Arc::new(Recorder::default());
    let gate = Arc::new(Gate::default()); // never opened
    let workers = workers(queue.clone(), &recorder, false, Some(gate.clone()))
        .concurrency(1)
        .shutdown_timeout(Duration::from_millis(50))
        .spawn()
        .unwrap();
    let stack = stack(Enqueue::new(queue.clone()));
    assert_eq!(send(&stack, "evt_stuck").await.status, StatusCode::ACCEPTED);
    gate.until_waiting(1).await;
    let error = workers.shutdown().await.unwrap_err();
    assert_eq!(error.aborted(), 1);
    assert_eq!(recorder.calls.load(Ordering::Relaxed), 0);
}

#[tokio::test]
async fn the_enqueue_service_is_an_axum_route_behind_the_layers() {
    let queue = MemoryQueue::new();
    let verifier = Verifier::builder(HopNow)
        .secret("current", common::SECRET)
        .build()
        .unwrap();
    let app = Router::new()
        .route_service("/webhooks", Enqueue::new(queue.clone()))
        .layer(IdempotencyLayer::in_memory())
        .layer(VerifySignatureLayer::new(verifier));

    let request = signed(common::body("evt_axum")).map(Body::from);
    let response = app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(json["event_id"], "evt_axum");
    let received = queue.receive("c").await.unwrap().unwrap();
    assert_eq!(received.job().event_id(), Some("evt_axum"));

    // A forged delivery never reaches the queue.
    let forged = Request::post("/webhooks")
        .header("x-webhook-signature", "00".repeat(32))
        .body(Body::from(common::body("evt_forged")))
        .unwrap();
    let response = app.oneshot(forged).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(queue.depth().await.unwrap().ready, 0);
}
