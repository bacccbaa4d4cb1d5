//! The layer under the global recorder, as a service runs it: the metric handles are
//! registered once and kept, and every delivery is still counted where it belongs.
//! (A test binary of its own: the global recorder is set once per process.)

mod common;

use http::StatusCode;
use metrics_util::debugging::DebuggingRecorder;
use webhook_observe::names;

use common::{Gate, KEY_ID, Metrics, delivery, forged, observe, send, stack};

#[test]
fn under_the_global_recorder_each_delivery_is_counted_once_in_its_series() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::set_global_recorder(recorder).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let statuses = runtime.block_on(async {
        let service = stack(observe().build().unwrap(), 100, Gate::default());
        let mut statuses = Vec::new();
        for request in [
            delivery("evt_1", "payout.completed"),
            delivery("evt_2", "payout.completed"),
            delivery("evt_3", "payout.completed"),
            delivery("evt_1", "payout.completed"), // a retry
            delivery("evt_4", "payout.failed"),
            delivery("evt_5", "invoice.paid"), // not allow-listed
            forged("evt_6", "payout.completed"),
            forged("evt_7", "payout.completed"),
        ] {
            statuses.push(send(&service, request).await.status);
        }
        statuses
    });
    assert_eq!(
        statuses,
        [
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::INTERNAL_SERVER_ERROR,
            StatusCode::OK,
            StatusCode::UNAUTHORIZED,
            StatusCode::UNAUTHORIZED,
        ]
    );
    let metrics = Metrics::new(snapshotter.snapshot());
    assert_eq!(metrics.counter(names::RECEIVED, &[]), 8);
    assert_eq!(
        metrics.counter(
            names::VERIFIED,
            &[("scheme", "standard"), ("key_id", KEY_ID)]
        ),
        6
    );
    assert_eq!(
        metrics.counter(names::PROCESSED, &[("event_type", "payout.completed")]),
        3
    );
    assert_eq!(
        metrics.counter(names::PROCESSED, &[("event_type", "other")]),
        1
    );
    assert_eq!(
        metrics.counter(names::FAILED, &[("event_type", "payout.failed")]),
        1
    );
    assert_eq!(metrics.counter(names::DUPLICATES, &[]), 1);
    assert_eq!(
        metrics.counter(names::REJECTED, &[("reason", "signature_mismatch")]),
        2
    );
    assert_eq!(metrics.counter(names::RATE_LIMITED, &[]), 0);
    assert_eq!(
        metrics
            .histogram(
                names::PROCESSING_SECONDS,
                &[("event_type", "payout.completed")]
            )
            .len(),
        3
    );
    assert_eq!(metrics.histogram(names::CLOCK_SKEW_SECONDS, &[]).len(), 6);
    // No series for what did not happen.
    assert_eq!(metrics.series(names::FAILED).len(), 1);
    assert_eq!(metrics.series(names::REJECTED).len(), 1);
}
