//! The layer on a real `redis-server`, started by each test on a free port.
#![cfg(feature = "redis")]

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{Recorder, Stack, delivery, event, send, send_ok, stack};
use http::StatusCode;
use test_redis::{RedisServer, Reply};
use tokio::sync::mpsc;
use webhook_core::redis::{RedisConnection, RedisErrorKind};
use webhook_idempotency::store::{Claim, Completion, RedisStore, Store, StoredResponse, Token};
use webhook_idempotency::{IdempotencyLayer, IdempotencyLayerBuilder, StoreErrorPolicy};

async fn connect(server: &RedisServer) -> RedisConnection {
    RedisConnection::connect(server.url())
        .await
        .expect("connect to the test server")
}

async fn redis_stack(server: &RedisServer, recorder: &Recorder) -> Stack {
    let store = RedisStore::new(connect(server).await).unwrap();
    stack(IdempotencyLayer::new(store), recorder)
}

async fn configured(
    server: &RedisServer,
    recorder: &Recorder,
    timeout: Duration,
    configure: impl FnOnce(IdempotencyLayerBuilder<RedisStore>) -> IdempotencyLayerBuilder<RedisStore>,
) -> Stack {
    let connection = RedisConnection::builder(server.url())
        .operation_timeout(timeout)
        .connect()
        .await
        .expect("connect to the test server");
    let store = RedisStore::new(connection).unwrap();
    stack(
        configure(IdempotencyLayer::builder(store)).build().unwrap(),
        recorder,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_copies_run_the_handler_once() {
    let server = RedisServer::start();
    let recorder = Recorder::default();
    let service = redis_stack(&server, &recorder).await;
    common::two_hundred_copies_while_held(std::slice::from_ref(&service), &recorder, "evt_held")
        .await;
    common::two_hundred_copies_racing(&[service], &recorder, "evt_race").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_distinct_events_sent_twice_at_once_each_run_once() {
    let server = RedisServer::start();
    let recorder = Recorder::default();
    let service = redis_stack(&server, &recorder).await;
    common::thousand_events_twice(&[service], &recorder, "evt").await;
    assert_eq!(recorder.total_runs(), 1000);
    let keys = server.command(&["DBSIZE"]).unwrap();
    assert_eq!(keys, Reply::Integer(1000));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_receivers_sharing_redis_process_each_event_once_across_both() {
    let server = RedisServer::start();
    let recorder = Recorder::default();
    // Two layers, two stores, two connections: two receivers in different processes.
    let a = redis_stack(&server, &recorder).await;
    let b = redis_stack(&server, &recorder).await;
    let both = [a, b];
    common::two_hundred_copies_while_held(&both, &recorder, "evt_held").await;
    common::two_hundred_copies_racing(&both, &recorder, "evt_race").await;
    common::thousand_events_twice(&both, &recorder, "evt").await;
}

#[tokio::test]
async fn a_failed_handler_is_retried_and_succeeds_once() {
    let server = RedisServer::start();
    let recorder = Recorder::default();
    let service = redis_stack(&server, &recorder).await;
    common::failure_then_retry(&service, &recorder, "evt_fail").await;
}

#[tokio::test]
async fn a_dropped_handler_future_releases_its_claim() {
    let server = RedisServer::start();
    let recorder = Recorder::default();
    let service = redis_stack(&server, &recorder).await;
    common::dropped_then_retry(&service, &recorder, "evt_drop", Duration::from_millis(5)).await;
}

#[tokio::test]
async fn a_claim_held_past_its_lease_lets_the_retry_through_and_cannot_overwrite_it() {
    let server = RedisServer::start();
    let recorder = Recorder::default();
    let lease = Duration::from_millis(300);
    let service = configured(&server, &recorder, Duration::from_secs(2), |layer| {
        layer.lease(lease)
    })
    .await;
    common::lease_expiry_then_retry(&service, &recorder).await;
}

#[tokio::test]
async fn extend_resets_the_ttl_of_the_holders_claim_only() {
    let server = RedisServer::start();
    let store = RedisStore::new(connect(&server).await).unwrap();
    let pttl = |key: &str| match server.command(&["PTTL", key]).unwrap() {
        Reply::Integer(ms) => ms,
        other => panic!("{other:?}"),
    };
    let key = "webhook:idempotency:hopnow:evt_extend";
    let (holder, other) = (Token::generate(), Token::generate());
    let short = Duration::from_secs(5);
    let claim = store.claim("hopnow:evt_extend", holder, short).await;
    assert!(matches!(claim, Ok(Claim::Acquired)), "{claim:?}");
    assert!(pttl(key) <= 5_000);

    let lease = Duration::from_secs(60);
    assert!(
        !store
            .extend("hopnow:evt_extend", other, lease)
            .await
            .unwrap()
    );
    assert!(pttl(key) <= 5_000);
    assert!(
        store
            .extend("hopnow:evt_extend", holder, lease)
            .await
            .unwrap()
    );
    assert!((55_000..=60_000).contains(&pttl(key)), "{}", pttl(key));

    // Gone (expired or deleted): nothing to extend, and nothing is written.
    server.command(&["DEL", key]).unwrap();
    assert!(
        !store
            .extend("hopnow:evt_extend", holder, lease)
            .await
            .unwrap()
    );
    assert_eq!(server.command(&["EXISTS", key]).unwrap(), Reply::Integer(0));

    // A record is never extended as a claim.
    store
        .claim("hopnow:evt_extend", holder, lease)
        .await
        .unwrap();
    let response = StoredResponse::new(StatusCode::OK);
    let retention = Duration::from_secs(3600);
    let recorded = store.complete("hopnow:evt_extend", holder, &response, retention);
    assert_eq!(recorded.await.unwrap(), Completion::Recorded);
    assert!(
        !store
            .extend("hopnow:evt_extend", holder, lease)
            .await
            .unwrap()
    );
    assert!(pttl(key) > 3_500_000);
}

#[tokio::test]
async fn claims_and_records_live_under_the_prefix_with_the_lease_and_retention_as_ttl() {
    let server = RedisServer::start();
    let recorder = Recorder::default();
    let store = RedisStore::builder(connect(&server).await)
        .key_prefix("shop:")
        .build()
        .unwrap();
    assert_eq!(store.key_prefix(), "shop:");
    let service = stack(IdempotencyLayer::new(store), &recorder);
    let pttl = |key: &str| match server.command(&["PTTL", key]).unwrap() {
        Reply::Integer(ms) => ms,
        other => panic!("{other:?}"),
    };

    let held = tokio::spawn({
        let service = service.clone();
        async move { send_ok(&service, r#"{"id":"evt_ttl","block_runs":1}"#).await }
    });
    recorder.started().await;
    let lease_ms = pttl("shop:hopnow:evt_ttl");
    assert!((55_000..=60_000).contains(&lease_ms), "{lease_ms}");
    recorder.open_gate();
    held.await.unwrap();
    let retention_ms = pttl("shop:hopnow:evt_ttl");
    assert!(
        (72 * 3_600_000 - 5_000..=72 * 3_600_000).contains(&retention_ms),
        "{retention_ms}"
    );
    assert_eq!(server.command(&["DBSIZE"]).unwrap(), Reply::Integer(1));
}

#[tokio::test]
async fn a_fresh_delivery_costs_two_redis_commands_and_a_duplicate_one() {
    let server = RedisServer::start();
    let recorder = Recorder::default();
    let service = redis_stack(&server, &recorder).await;
    // Warm up: the client loads each script once (NOSCRIPT, SCRIPT LOAD).
    send_ok(&service, &event("warm")).await;
    send_ok(&service, &event("warm")).await;

    const N: u64 = 100;
    server.reset_stats().unwrap();
    for n in 0..N {
        assert!(
            !send_ok(&service, &event(&format!("evt_{n}")))
                .await
                .replayed
        );
    }
    let fresh = server.command_stats().unwrap();
    server.reset_stats().unwrap();
    for n in 0..N {
        assert!(
            send_ok(&service, &event(&format!("evt_{n}")))
                .await
                .replayed
        );
    }
    let duplicate = server.command_stats().unwrap();

    let per = |stats: &[(String, u64)], name: &str| {
        stats
            .iter()
            .find(|(n, _)| n == name)
            .map_or(0, |(_, calls)| *calls) as f64
            / N as f64
    };
    let client_sent = |stats: &[(String, u64)]| {
        // Everything but the test's own CONFIG RESETSTAT / INFO and the commands
        // scripts run inside Redis.
        stats
            .iter()
            .filter(|(name, _)| {
                !["get", "set", "del", "pttl", "info", "config|resetstat"].contains(&name.as_str())
            })
            .map(|(_, calls)| *calls)
            .sum::<u64>() as f64
            / N as f64
    };
    println!("per fresh delivery: {fresh:?} / {N}");
    println!("per duplicate: {duplicate:?} / {N}");
    assert_eq!(per(&fresh, "evalsha"), 2.0);
    assert_eq!(client_sent(&fresh), 2.0);
    assert_eq!(per(&duplicate, "evalsha"), 1.0);
    assert_eq!(client_sent(&duplicate), 1.0);
    // Inside the scripts: claim = GET + SET, complete = GET + SET; a duplicate = GET.
    assert_eq!(per(&fresh, "get") + per(&fresh, "set"), 4.0);
    assert_eq!(per(&duplicate, "get"), 1.0);
    assert_eq!(per(&duplicate, "set"), 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_means_503_then_restarted_the_same_layer_recovers() {
    let mut server = RedisServer::builder().aof(true).start();
    let recorder = Recorder::default();
    let service = configured(&server, &recorder, Duration::from_millis(300), |layer| {
        layer
    })
    .await;

    for n in 0..20 {
        assert_eq!(
            send_ok(&service, &event(&format!("before_{n}")))
                .await
                .status,
            StatusCode::OK
        );
    }
    server.kill();
    for n in 0..20 {
        let answer = send_ok(&service, &event(&format!("during_{n}"))).await;
        assert_eq!(
            answer.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{}",
            answer.text()
        );
        assert_eq!(answer.retry_after, Some(5));
        assert_eq!(answer.code().as_deref(), Some("store_unavailable"));
        // A duplicate cannot be told apart either: refused, not processed.
        let answer = send_ok(&service, &event(&format!("before_{n}"))).await;
        assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    }
    assert_eq!(recorder.total_runs(), 20);

    server.restart();
    // The same service, without rebuilding anything: it reconnects by itself.
    let mut probes = 0;
    loop {
        let answer = send_ok(&service, &event("probe")).await;
        if answer.status == StatusCode::OK {
            break;
        }
        assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
        probes += 1;
        assert!(probes < 100, "the layer did not recover");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!("recovered after {probes} refused probes");
    for n in 0..20 {
        // Written with appendfsync always before the kill: still there.
        let replay = send_ok(&service, &event(&format!("before_{n}"))).await;
        assert!(replay.replayed, "before_{n}");
        // Refused while Redis was down, processed now, once.
        let fresh = send_ok(&service, &event(&format!("during_{n}"))).await;
        assert_eq!(fresh.status, StatusCode::OK);
        assert!(!fresh.replayed);
        assert!(
            send_ok(&service, &event(&format!("during_{n}")))
                .await
                .replayed
        );
    }
    for (id, runs) in recorder.all_runs() {
        assert_eq!(runs, 1, "{id}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_under_load_never_lets_the_handler_run_unclaimed() {
    let mut server = RedisServer::builder().aof(true).start();
    let recorder = Recorder::default();
    let lease = Duration::from_secs(1);
    let service = configured(&server, &recorder, Duration::from_millis(300), |layer| {
        layer.lease(lease)
    })
    .await;

    // 8 senders, 40 distinct events each, one after the other; Redis is killed once
    // 100 answers are in.
    let answered = Arc::new(AtomicUsize::new(0));
    let (kill, mut kill_now) = mpsc::unbounded_channel::<()>();
    let mut senders = Vec::new();
    for sender in 0..8 {
        let service = service.clone();
        let answered = answered.clone();
        let kill = kill.clone();
        senders.push(tokio::spawn(async move {
            let mut answers = Vec::new();
            for n in 0..40 {
                let id = format!("evt_{sender}_{n}");
                let mut request = delivery(&event(&id));
                request
                    .headers_mut()
                    .insert("x-attempt", id.parse().unwrap());
                let answer = send(&service, request).await.unwrap();
                if answered.fetch_add(1, Ordering::SeqCst) + 1 == 100 {
                    kill.send(()).unwrap();
                }
                answers.push((id, answer));
            }
            answers
        }));
    }
    kill_now.recv().await.unwrap();
    server.kill();
    let mut answers = HashMap::new();
    for sender in senders {
        answers.extend(sender.await.unwrap());
    }
    let reached: std::collections::HashSet<String> = recorder.attempts().into_iter().collect();
    let (mut ok, mut refused) = (0, 0);
    for (id, answer) in &answers {
        match answer.status {
            StatusCode::OK => {
                ok += 1;
                assert!(reached.contains(id), "{id} answered 200 without running");
            }
            StatusCode::SERVICE_UNAVAILABLE => {
                refused += 1;
                assert_eq!(answer.retry_after, Some(5));
                assert!(!reached.contains(id), "{id} ran although its claim failed");
            }
            other => panic!("unexpected {other} for {id}: {}", answer.text()),
        }
    }
    println!("{ok} processed, {refused} refused while Redis was down");
    assert!(
        ok >= 100 && refused > 0,
        "{ok} processed, {refused} refused"
    );

    server.restart();
    let mut probes = 0;
    while send_ok(&service, &event("probe")).await.status != StatusCode::OK {
        probes += 1;
        assert!(probes < 100, "the layer did not recover");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The sender retries what was refused: each is processed now, once. A claim that
    // reached Redis just before the kill (its answer lost with the connection) is
    // still held after the restart: 409 until its lease ends, then processed.
    for (id, answer) in &answers {
        if answer.status == StatusCode::SERVICE_UNAVAILABLE {
            let retry = common::send_until_not_in_flight(
                &service,
                &event(id),
                100,
                Duration::from_millis(50),
            )
            .await;
            assert_eq!(retry.status, StatusCode::OK, "{id}");
            assert!(!retry.replayed);
            assert_eq!(recorder.runs(id), 1);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_that_cannot_be_written_while_redis_restarts_is_written_once_it_is_back() {
    let mut server = RedisServer::builder().aof(true).start();
    let recorder = Recorder::default();
    let lease = Duration::from_secs(3);
    let service = configured(&server, &recorder, Duration::from_millis(300), |layer| {
        layer.lease(lease)
    })
    .await;
    let body = r#"{"id":"evt_outage","block_runs":1}"#;
    let first = tokio::spawn({
        let service = service.clone();
        async move { send_ok(&service, body).await }
    });
    // Claimed (in the AOF), the handler running: Redis dies.
    recorder.started().await;
    tokio::task::block_in_place(|| server.kill());
    recorder.open_gate();
    // The handler ran: its sender gets its answer, though the record was not written.
    let first = first.await.unwrap();
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.text(), r#"{"id":"evt_outage","run":1}"#);
    assert!(!first.replayed);
    tokio::task::block_in_place(|| server.restart());

    // The write is retried until it lands, before the lease ends: a duplicate (409
    // meanwhile) gets the record, it does not run the handler again once the claim
    // expires.
    let deadline = tokio::time::Instant::now() + lease * 2;
    let duplicate = loop {
        let answer = send_ok(&service, body).await;
        if answer.status == StatusCode::OK {
            break answer;
        }
        assert!(
            matches!(
                answer.status,
                StatusCode::CONFLICT | StatusCode::SERVICE_UNAVAILABLE
            ),
            "{answer:?}"
        );
        assert!(tokio::time::Instant::now() < deadline, "never answered 200");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(duplicate.replayed, "{}", duplicate.text());
    assert_eq!(duplicate.text(), r#"{"id":"evt_outage","run":1}"#);
    assert_eq!(recorder.runs("evt_outage"), 1);
}

#[tokio::test]
async fn with_the_allow_policy_deliveries_are_processed_while_redis_is_down() {
    let mut server = RedisServer::start();
    let recorder = Recorder::default();
    let service = configured(&server, &recorder, Duration::from_millis(200), |layer| {
        layer.store_errors(StoreErrorPolicy::PassThrough)
    })
    .await;
    server.kill();
    assert_eq!(
        send_ok(&service, &event("evt_1")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        send_ok(&service, &event("evt_1")).await.status,
        StatusCode::OK
    );
    assert_eq!(recorder.runs("evt_1"), 2);
}

#[tokio::test]
async fn connecting_to_a_server_that_is_not_there_fails_with_a_redis_error() {
    let mut server = RedisServer::start();
    let url = server.url();
    server.kill();
    let error = RedisConnection::builder(url)
        .operation_timeout(Duration::from_millis(200))
        .connect()
        .await
        .unwrap_err();
    println!("{error}");
    assert!(
        matches!(
            error.kind(),
            RedisErrorKind::Unavailable | RedisErrorKind::Timeout
        ),
        "{error}"
    );
    let refused = RedisConnection::connect("not a url").await.unwrap_err();
    assert_eq!(refused.kind(), RedisErrorKind::Other);
}
