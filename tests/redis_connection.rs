//! One `RedisConnection`, cloned into the four Redis backends (idempotency store,
//! queue, rate limiter, ordering guard), against a real `redis-server` that asks for a
//! password.

use std::num::NonZeroU32;
use std::time::Duration;

use test_redis::RedisServer;
use tower_webhook::core::redis::RedisConnection;
use tower_webhook::event::{OffsetDateTime, OrderingGuard, RedisOrderingGuard};
use tower_webhook::idempotency::store::{Claim, RedisStore, Store, Token};
use tower_webhook::queue::{Job, Queue, RedisQueue};
use tower_webhook::ratelimit::{Backend, Decision, Key, Quota, RedisRateLimiter};

const PASSWORD: &str = "hunter2";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_connection_serves_the_store_the_queue_the_rate_limiter_and_the_ordering_guard() {
    let server = RedisServer::start();
    server
        .command(&["CONFIG", "SET", "requirepass", PASSWORD])
        .unwrap();
    let url = format!("redis://:{PASSWORD}@127.0.0.1:{}/", server.port());

    let builder = RedisConnection::builder(url.as_str()).operation_timeout(Duration::from_secs(1));
    let builder_debug = format!("{builder:?}");
    let redis = builder.connect().await.unwrap();
    redis.ping().await.unwrap();

    let store = RedisStore::builder(redis.clone())
        .key_prefix("shared:idempotency:")
        .build()
        .unwrap();
    let queue = RedisQueue::builder(redis.clone())
        .key_prefix("shared:queue:")
        .build()
        .await
        .unwrap();
    let per_hour = Quota::per_hour(NonZeroU32::new(1).unwrap());
    let limiter = RedisRateLimiter::builder(redis.clone(), per_hour)
        .key_prefix("shared:rate:")
        .build()
        .unwrap();
    let guard = RedisOrderingGuard::builder(redis.clone())
        .key_prefix("shared:order:")
        .build()
        .unwrap();

    let lease = Duration::from_secs(60);
    let claim = store.claim("hopnow:evt_1", Token::generate(), lease).await;
    assert!(matches!(claim, Ok(Claim::Acquired)), "{claim:?}");
    let again = store.claim("hopnow:evt_1", Token::generate(), lease).await;
    assert!(matches!(again, Ok(Claim::InFlight { .. })), "{again:?}");

    queue
        .enqueue(&Job::new(&b"{}"[..]).with_event_id("evt_1"))
        .await
        .unwrap();
    assert_eq!(queue.depth().await.unwrap().ready, 1);
    let received = queue.receive("worker-0").await.unwrap().expect("the job");
    assert_eq!(received.job().event_id(), Some("evt_1"));
    queue.ack(&received).await.unwrap();
    assert_eq!(queue.depth().await.unwrap().ready, 0);

    let first = limiter.check(&Key::global()).decision().await;
    assert!(matches!(first, Decision::Allowed(_)), "{first:?}");
    let second = limiter.check(&Key::global()).decision().await;
    assert!(matches!(second, Decision::Limited { .. }), "{second:?}");

    let newer = OffsetDateTime::from_unix_timestamp(1_762_077_600).unwrap();
    let older = newer - Duration::from_secs(3600);
    let applied = guard.apply_if_newer("payout:po_1", newer, "evt_2").await;
    assert!(applied.unwrap().is_applied());
    let stale = guard.apply_if_newer("payout:po_1", older, "evt_1").await;
    assert!(stale.unwrap().is_stale());

    // The four backends sent everything through the one connection; the queue's
    // blocking read has one of its own.
    let clients: String = redis::cmd("CLIENT")
        .arg("LIST")
        .query_async(&mut redis.clone())
        .await
        .unwrap();
    assert_eq!(clients.lines().count(), 2, "{clients}");

    for debug in [
        builder_debug,
        format!("{redis:?}"),
        format!("{store:?}"),
        format!("{queue:?}"),
        format!("{limiter:?}"),
        format!("{guard:?}"),
    ] {
        assert!(!debug.contains(PASSWORD), "{debug}");
    }
}
