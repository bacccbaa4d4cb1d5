//! How long a delivery waits for its 503 while Redis is down, and how soon the layer
//! processes deliveries again once Redis is back: a real `redis-server`, killed and
//! restarted, behind the layer with the default operation timeout (2 s).
//!
//! The connection's breaker (`webhook_core::redis`) opens after a few failed calls;
//! from then on a delivery is refused at once instead of waiting for the timeout. The
//! figures are printed (`cargo test -p webhook-idempotency --features redis --test
//! redis_outage -- --nocapture`).
#![cfg(feature = "redis")]

mod common;

use std::time::{Duration, Instant};

use common::{Recorder, event, send_ok, stack};
use http::StatusCode;
use test_redis::RedisServer;
use tokio::task::block_in_place;
use webhook_core::redis::{DEFAULT_OPERATION_TIMEOUT, FAILURES_TO_OPEN, RedisConnection};
use webhook_idempotency::IdempotencyLayer;
use webhook_idempotency::store::RedisStore;

/// The longest a delivery may wait for its 503 once Redis is known to be down.
const FAST_REFUSAL: Duration = Duration::from_millis(50);
/// The longest the layer may take to process deliveries again after Redis returns.
const RECOVERY: Duration = Duration::from_secs(2);
/// Deliveries sent one after another during the outage.
const DURING: usize = 12;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn during_an_outage_deliveries_are_refused_at_once_and_processed_again_after_it() {
    let mut server = RedisServer::start();
    let connection = RedisConnection::connect(server.url()).await.unwrap();
    assert_eq!(connection.operation_timeout(), DEFAULT_OPERATION_TIMEOUT);
    let recorder = Recorder::default();
    let service = stack(
        IdempotencyLayer::new(RedisStore::new(connection).unwrap()),
        &recorder,
    );
    for n in 0..5 {
        let answer = send_ok(&service, &event(&format!("before_{n}"))).await;
        assert_eq!(answer.status, StatusCode::OK);
    }

    block_in_place(|| server.kill());
    let mut waits = Vec::new();
    for n in 0..DURING {
        let sent = Instant::now();
        let answer = send_ok(&service, &event(&format!("during_{n}"))).await;
        waits.push(sent.elapsed());
        assert_eq!(
            answer.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{}",
            answer.text()
        );
        assert_eq!(answer.retry_after, Some(5));
        assert_eq!(answer.code().as_deref(), Some("store_unavailable"));
    }
    println!("503 latency of {DURING} deliveries in a row, Redis down: {waits:?}");

    // Before the breaker opens, a delivery may wait up to the operation timeout; the
    // ones after it are refused at once.
    let (before, after) = waits.split_at(FAILURES_TO_OPEN as usize);
    let slowest_before = before.iter().max().unwrap();
    let slowest_after = after.iter().max().unwrap();
    println!(
        "before the breaker opens: slowest {slowest_before:?}; after: slowest \
         {slowest_after:?} (bound {FAST_REFUSAL:?})"
    );
    assert!(
        *slowest_after <= FAST_REFUSAL,
        "refused in {slowest_after:?} once Redis is known to be down: {waits:?}"
    );

    let restarting = Instant::now();
    block_in_place(|| server.restart());
    let restarted = Instant::now();
    let mut refused = 0;
    loop {
        let answer = send_ok(&service, &event("after")).await;
        if answer.status == StatusCode::OK {
            break;
        }
        assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
        refused += 1;
        assert!(
            restarting.elapsed() < RECOVERY * 3,
            "not processing after {refused} tries"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let recovery = restarting.elapsed();
    println!(
        "recovery: first 200 {recovery:?} after the restart began ({:?} after Redis \
         answered PING), {refused} refused before it",
        restarted.elapsed()
    );
    assert!(recovery <= RECOVERY, "processing again after {recovery:?}");
    assert_eq!(recorder.runs("after"), 1);
    assert_eq!(
        recorder.total_runs(),
        6,
        "no delivery ran during the outage"
    );
}
