//! A queue chosen at run time, as `Arc<dyn DynQueue>`: the same operations, the same
//! enqueue service and the same workers as the concrete queue behind it.

mod common;

use std::sync::Arc;
use std::time::Duration;

use webhook_queue::{DeadLetterKind, DynQueue, Job, MemoryQueue, Queue};

/// The queue a configuration names: one code path for every backend.
#[cfg_attr(not(feature = "redis"), allow(unused_variables))]
async fn queue(backend: &str, redis_url: Option<String>) -> Arc<dyn DynQueue> {
    match backend {
        "memory" => Arc::new(MemoryQueue::new()),
        #[cfg(feature = "redis")]
        "redis" => {
            let url = redis_url.expect("a Redis URL");
            let connection = webhook_core::redis::RedisConnection::connect(url)
                .await
                .expect("connect to the test server");
            let queue = webhook_queue::RedisQueue::builder(connection)
                .poll_interval(Duration::from_millis(20))
                .build()
                .await
                .unwrap();
            Arc::new(queue)
        }
        other => panic!("unknown queue `{other}`"),
    }
}

/// A job's whole life through the trait object: queued, retried, dead-lettered,
/// replayed, acknowledged; then the queue closes.
async fn operations(queue: Arc<dyn DynQueue>) {
    let job = Job::new(r#"{"id":"evt_dyn"}"#).with_event_id("evt_dyn");
    queue.enqueue(&job).await.unwrap();
    assert_eq!(queue.depth().await.unwrap().ready, 1);

    let mut received = queue.receive("dyn-0").await.unwrap().unwrap();
    assert_eq!(received.job().id(), job.id());
    assert_eq!(received.consumer(), "dyn-0");
    received.job_mut().set_attempts(1);
    queue
        .retry(&received, Duration::from_millis(1))
        .await
        .unwrap();

    let received = queue.receive("dyn-0").await.unwrap().unwrap();
    assert_eq!(received.job().id(), job.id());
    assert_eq!(received.job().attempts(), 1);
    queue
        .dead_letter(&received, DeadLetterKind::Permanent, "unknown event type")
        .await
        .unwrap();
    let dead = queue.dead_letters(10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].error(), "unknown event type");
    assert_eq!(dead[0].job().event_id(), Some("evt_dyn"));
    assert_eq!(queue.depth().await.unwrap().dead, 1);

    assert!(queue.replay(dead[0].id()).await.unwrap());
    assert!(!queue.replay(dead[0].id()).await.unwrap(), "replayed once");
    let received = queue.receive("dyn-0").await.unwrap().unwrap();
    assert_eq!(received.job().attempts(), 0, "a replay resets the attempts");
    queue.ack(&received).await.unwrap();
    assert_eq!(queue.depth().await.unwrap().unfinished(), 0);

    assert!(!queue.is_closed());
    queue.close();
    assert!(queue.is_closed());
    assert!(queue.receive("dyn-0").await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_memory_queue_behind_arc_dyn_dyn_queue_takes_a_job_through_its_whole_life() {
    operations(queue("memory", None).await).await;
    common::a_permanent_error_is_dead_lettered_then_replayed(queue("memory", None).await).await;
}

#[cfg(feature = "redis")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_queue_behind_arc_dyn_dyn_queue_takes_a_job_through_its_whole_life() {
    let server = test_redis::RedisServer::start();
    operations(queue("redis", Some(server.url())).await).await;
    let server = test_redis::RedisServer::start();
    common::a_permanent_error_is_dead_lettered_then_replayed(
        queue("redis", Some(server.url())).await,
    )
    .await;
}
