//! `FacadeMetrics` records the queue's life through the `metrics` facade.
#![cfg(feature = "metrics")]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, StatusCode};
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use tower::ServiceExt;
use webhook_core::{KeyId, VerifiedDelivery};
use webhook_queue::metrics::FacadeMetrics;
use webhook_queue::{Enqueue, Job, MemoryQueue, ProcessError, RetryPolicy, Workers};

fn delivery(id: &str, body: &'static str) -> Request<()> {
    let mut request = Request::post("/webhooks").body(()).unwrap();
    let marker = VerifiedDelivery::new(
        "hopnow",
        KeyId::from("0"),
        Bytes::from_static(body.as_bytes()),
    )
    .with_event_id(id);
    request.extensions_mut().insert(marker);
    request
}

#[test]
fn counters_follow_enqueues_retries_successes_and_dead_letters() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    metrics::with_local_recorder(&recorder, || {
        runtime.block_on(async {
            let queue = MemoryQueue::new();
            let failures = Arc::new(AtomicUsize::new(0));
            let seen = failures.clone();
            let workers = Workers::builder(queue.clone(), move |job: Job| {
                let seen = seen.clone();
                async move {
                    match job.event_id() {
                        Some("evt_bad") => Err(ProcessError::permanent("invalid")),
                        // The first attempt of evt_flaky fails, the retry succeeds.
                        Some("evt_flaky") if seen.fetch_add(1, Ordering::SeqCst) == 0 => {
                            Err(ProcessError::transient("try again"))
                        }
                        _ => Ok(()),
                    }
                }
            })
            .retry(RetryPolicy::new().with_initial_delay(Duration::from_millis(10)))
            .metrics(Arc::new(FacadeMetrics))
            .spawn()
            .unwrap();
            let enqueue = Enqueue::builder(queue.clone())
                .metrics(Arc::new(FacadeMetrics))
                .build()
                .unwrap();
            for (id, body) in [("evt_ok", "{}"), ("evt_flaky", "{}"), ("evt_bad", "{}")] {
                let response = enqueue.clone().oneshot(delivery(id, body)).await.unwrap();
                assert_eq!(response.status(), StatusCode::ACCEPTED);
            }
            tokio::time::sleep(Duration::from_secs(5)).await; // paused: advances instantly
            workers.shutdown().await.unwrap();
        })
    });

    let counters: std::collections::HashMap<String, u64> = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .filter_map(|(key, _, _, value)| match value {
            DebugValue::Counter(count) => {
                let key = key.key();
                let labels: Vec<String> = key
                    .labels()
                    .map(|l| format!("{}={}", l.key(), l.value()))
                    .collect();
                Some((format!("{}{{{}}}", key.name(), labels.join(",")), count))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        counters["webhook_queue_enqueued_total{}"], 3,
        "{counters:?}"
    );
    assert_eq!(
        counters["webhook_queue_attempts_total{}"], 4,
        "{counters:?}"
    );
    assert_eq!(
        counters["webhook_queue_succeeded_total{}"], 2,
        "{counters:?}"
    );
    assert_eq!(counters["webhook_queue_retries_total{}"], 1, "{counters:?}");
    assert_eq!(
        counters["webhook_queue_dead_letters_total{kind=permanent}"], 1,
        "{counters:?}"
    );
}
