//! The ordering guards under concurrency, the in-memory one and the Redis one against
//! a real `redis-server` started by the test.

use std::sync::Arc;

use time::OffsetDateTime;
use time::macros::datetime;
use webhook_event::{GuardDecision, MemoryOrderingGuard, Newest, OrderingGuard};

/// 1,000 events about one entity, with random `created` times drawn from a narrow
/// range so that many share a second (the id breaks those ties).
fn random_events(seed: u64) -> Vec<(OffsetDateTime, String)> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let base = datetime!(2025-11-02 10:00 UTC);
    (0..1000)
        .map(|i| {
            let created = base
                + time::Duration::seconds(rng.i64(0..300))
                + time::Duration::milliseconds(rng.i64(0..2) * 500);
            // Unique ids, in no relation to the times.
            (created, format!("evt_{:06}_{i}", rng.u32(0..1_000_000)))
        })
        .collect()
}

fn newest_of(events: &[(OffsetDateTime, String)]) -> Newest {
    let (created, event_id) = events
        .iter()
        .max_by(|a, b| (a.0, a.1.as_bytes()).cmp(&(b.0, b.1.as_bytes())))
        .unwrap()
        .clone();
    Newest { created, event_id }
}

/// Fires every event at once; returns each event's answer.
async fn storm<G: OrderingGuard + 'static>(
    guard: Arc<G>,
    entity: &'static str,
    events: &[(OffsetDateTime, String)],
) -> Vec<GuardDecision> {
    let barrier = Arc::new(tokio::sync::Barrier::new(events.len()));
    let tasks: Vec<_> = events
        .iter()
        .cloned()
        .map(|(created, id)| {
            let guard = guard.clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                guard.apply_if_newer(entity, created, &id).await.unwrap()
            })
        })
        .collect();
    let mut answers = Vec::with_capacity(tasks.len());
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    answers
}

/// What must hold after a storm, whatever the interleaving.
async fn check_storm<G: OrderingGuard>(
    guard: &G,
    entity: &str,
    events: &[(OffsetDateTime, String)],
    answers: &[GuardDecision],
) {
    let newest = newest_of(events);
    // The newest event can never be stale.
    for ((created, id), answer) in events.iter().zip(answers) {
        if (*created, id.as_str()) == (newest.created, newest.event_id.as_str()) {
            assert_eq!(*answer, GuardDecision::Applied);
        }
    }
    let applied = answers.iter().filter(|a| a.is_applied()).count();
    assert!(applied >= 1 && applied < events.len(), "{applied} applied");
    // Every other event is stale now; the newest itself is applied again.
    for (created, id) in events {
        let answer = guard.apply_if_newer(entity, *created, id).await.unwrap();
        let expected = if *id == newest.event_id && *created == newest.created {
            GuardDecision::Applied
        } else {
            GuardDecision::Stale
        };
        assert_eq!(answer, expected, "{created} {id}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_1000_concurrent_calls_keep_the_newest() {
    for seed in [1, 2, 3] {
        let guard = Arc::new(MemoryOrderingGuard::new());
        let events = random_events(seed);
        let answers = storm(guard.clone(), "payout:po_1", &events).await;
        assert_eq!(
            guard.newest("payout:po_1").unwrap(),
            newest_of(&events),
            "seed {seed}"
        );
        check_storm(&*guard, "payout:po_1", &events, &answers).await;
        assert_eq!(guard.len(), 1);
    }
}

#[tokio::test]
async fn a_dyn_guard_is_usable() {
    let guard: Arc<dyn OrderingGuard> = Arc::new(MemoryOrderingGuard::new());
    let t = datetime!(2025-11-02 10:00 UTC);
    assert!(
        guard
            .apply_if_newer("e", t, "b")
            .await
            .unwrap()
            .is_applied()
    );
    assert!(guard.apply_if_newer("e", t, "a").await.unwrap().is_stale());
}

#[cfg(feature = "redis")]
mod redis_guard {
    use std::sync::Arc;
    use std::time::Duration;

    use http::StatusCode;
    use test_redis::{RedisServer, Reply};
    use time::macros::datetime;
    use webhook_core::Rejection;
    use webhook_core::redis::RedisConnection;
    use webhook_event::{GuardConfigError, GuardDecision, OrderingGuard, RedisOrderingGuard};

    use super::{check_storm, newest_of, random_events, storm};

    async fn connect(server: &RedisServer) -> RedisConnection {
        RedisConnection::builder(server.url())
            .operation_timeout(Duration::from_secs(2))
            .connect()
            .await
            .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn redis_1000_concurrent_calls_keep_the_newest_in_one_round_trip_each() {
        let server = RedisServer::start();
        let guard = Arc::new(
            RedisOrderingGuard::builder(connect(&server).await)
                .key_prefix("test:order:")
                .build()
                .unwrap(),
        );
        // Load the script once, then count the commands of the storm.
        let warm = datetime!(2000-01-01 0:00 UTC);
        guard.apply_if_newer("warm-up", warm, "x").await.unwrap();
        server.reset_stats().unwrap();

        for (round, seed) in [11u64, 12, 13].into_iter().enumerate() {
            let entity: &'static str = ["payout:po_1", "payout:po_2", "payout:po_3"][round];
            let events = random_events(seed);
            let answers = storm(guard.clone(), entity, &events).await;
            assert_eq!(
                guard.newest(entity).await.unwrap(),
                Some(newest_of(&events)),
                "seed {seed}"
            );
            check_storm(&*guard, entity, &events, &answers).await;
        }
        // 3 rounds of 1,000 calls, each checked again with 1,000 calls: one EVALSHA
        // per call (the script was loaded by the warm-up). Redis also counts the
        // commands the script runs: one HMGET each, plus the three reads of `newest`.
        assert_eq!(server.command_calls("evalsha").unwrap(), 6_000);
        assert_eq!(server.command_calls("eval").unwrap(), 0);
        assert_eq!(server.command_calls("script|load").unwrap(), 0);
        assert_eq!(server.command_calls("hmget").unwrap(), 6_003);
    }

    #[tokio::test]
    async fn keys_use_the_prefix_and_the_ttl() {
        let server = RedisServer::start();
        let guard = RedisOrderingGuard::builder(connect(&server).await)
            .key_prefix("shop:")
            .ttl(Duration::from_secs(3600))
            .build()
            .unwrap();
        assert_eq!(guard.key("payout:po_1"), "shop:payout:po_1");
        let t = datetime!(2025-11-02 10:00:00.123456789 UTC);
        assert_eq!(
            guard
                .apply_if_newer("payout:po_1", t, "evt_1")
                .await
                .unwrap(),
            GuardDecision::Applied
        );
        let Reply::Integer(ttl) = server.command(&["PTTL", "shop:payout:po_1"]).unwrap() else {
            panic!("PTTL answers an integer");
        };
        assert!((3_590_000..=3_600_000).contains(&ttl), "{ttl}");
        // Nanoseconds survive the round trip, and order within a second.
        let newest = guard.newest("payout:po_1").await.unwrap().unwrap();
        assert_eq!(newest.created, t);
        let earlier = datetime!(2025-11-02 10:00:00.123456788 UTC);
        assert_eq!(
            guard
                .apply_if_newer("payout:po_1", earlier, "evt_9")
                .await
                .unwrap(),
            GuardDecision::Stale
        );
        // Ties on `created`: the id decides, byte by byte.
        assert_eq!(
            guard
                .apply_if_newer("payout:po_1", t, "evt_0")
                .await
                .unwrap(),
            GuardDecision::Stale
        );
        assert_eq!(
            guard
                .apply_if_newer("payout:po_1", t, "evt_1")
                .await
                .unwrap(),
            GuardDecision::Applied
        );
        assert_eq!(
            guard
                .apply_if_newer("payout:po_1", t, "evt_10")
                .await
                .unwrap(),
            GuardDecision::Applied
        );
        assert_eq!(
            guard
                .apply_if_newer("payout:po_1", t, "evt_2")
                .await
                .unwrap(),
            GuardDecision::Applied
        );
        assert_eq!(
            guard
                .apply_if_newer("payout:po_1", t, "evt_10")
                .await
                .unwrap(),
            GuardDecision::Stale
        );
        // A stale answer does not touch the stored state (nor its TTL).
        assert_eq!(
            guard.newest("payout:po_1").await.unwrap().unwrap().event_id,
            "evt_2"
        );
        // Before 1970 too.
        let old = datetime!(1969-12-31 23:59:59.5 UTC);
        assert!(
            guard
                .apply_if_newer("old", old, "a")
                .await
                .unwrap()
                .is_applied()
        );
        assert!(
            guard
                .apply_if_newer("old", old - time::Duration::milliseconds(1), "b")
                .await
                .unwrap()
                .is_stale()
        );
        assert_eq!(guard.newest("old").await.unwrap().unwrap().created, old);
        assert_eq!(guard.newest("never-seen").await.unwrap(), None);

        let refused = RedisOrderingGuard::builder(connect(&server).await)
            .ttl(Duration::from_micros(10))
            .build();
        assert_eq!(refused.unwrap_err(), GuardConfigError::ZeroTtl);
    }

    #[tokio::test]
    async fn redis_down_is_a_503_then_recovers() {
        let mut server = RedisServer::start();
        let guard = RedisOrderingGuard::new(connect(&server).await).unwrap();
        let t = datetime!(2025-11-02 10:00 UTC);
        assert!(
            guard
                .apply_if_newer("e", t, "a")
                .await
                .unwrap()
                .is_applied()
        );

        server.kill();
        let error = guard.apply_if_newer("e", t, "b").await.unwrap_err();
        assert_eq!(error.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(error.code(), "ordering_unavailable");
        let problem = error.to_problem();
        assert!(
            !problem.detail().contains("127.0.0.1"),
            "the store's error stays in the logs"
        );

        server.restart();
        // `restart` returns once the server answers PING. The manager reconnects on
        // the first call after the failure, which may still report the old error.
        let mut answer = None;
        for _ in 0..5 {
            if let Ok(ordering) = guard.apply_if_newer("e", t, "c").await {
                answer = Some(ordering);
                break;
            }
        }
        // Without persistence the restarted server is empty: `c` is the first event.
        assert_eq!(answer, Some(GuardDecision::Applied));
    }
}
