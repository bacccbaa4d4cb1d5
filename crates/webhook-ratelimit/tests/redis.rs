//! The Redis backend against a real `redis-server` started by each test on a free
//! loopback port (never the shared one on 6379), killed and restarted to test faults.
#![cfg(feature = "redis")]

mod common;

use std::time::{Duration, Instant};

use http::StatusCode;
use test_redis::{RedisServer, Reply as RedisReply};
use webhook_core::redis::RedisConnection;
use webhook_ratelimit::clock::FakeRelativeClock;
use webhook_ratelimit::{
    BackendErrorPolicy, ConfigError, GovernorLimiter, Key, PeerIp, Quota, RateLimitLayer,
    RedisRateLimiter,
};

use common::{Calls, from_peer, nz, quota, request, send, service};

const HOUR: Duration = Duration::from_secs(3600);

/// A connection whose operations (and reconnections) give up after 300 ms.
async fn connect(server: &RedisServer) -> RedisConnection {
    RedisConnection::builder(server.url())
        .operation_timeout(Duration::from_millis(300))
        .connect()
        .await
        .expect("connect to the test server")
}

async fn redis_limiter(server: &RedisServer, quota: Quota, prefix: &str) -> RedisRateLimiter {
    RedisRateLimiter::builder(connect(server).await, quota)
        .key_prefix(prefix)
        .operation_timeout(Duration::from_millis(300))
        .build()
        .unwrap()
}

fn layer(limiter: RedisRateLimiter) -> RateLimitLayer<PeerIp> {
    RateLimitLayer::builder_with(limiter)
        .key(PeerIp::new())
        .headers_on_success(true)
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_layer_instances_on_one_redis_enforce_one_combined_quota() {
    let server = RedisServer::start();
    let calls = Calls::default();
    let quota = Quota::per_hour(nz(5));
    // Two instances of a service: separate limiters, separate connections.
    let first_limiter = redis_limiter(&server, quota, "fleet:").await;
    let first = service(layer(first_limiter.clone()), &calls);
    let second = service(layer(redis_limiter(&server, quota, "fleet:").await), &calls);

    for service in [&first, &first, &first, &second, &second] {
        assert_eq!(send(service, request()).await.status, StatusCode::OK);
    }
    for service in [&first, &second] {
        let reply = send(service, request()).await;
        assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(reply.problem_code(), "rate_limited");
        assert_eq!(reply.header("retry-after"), "720", "one request per 720 s");
        assert_eq!(reply.header("ratelimit-policy"), r#""default";q=5;w=3600"#);
        assert_eq!(reply.header("ratelimit"), r#""default";r=0;t=720"#);
    }
    assert_eq!(calls.get(), 5);
    // Another client is not affected.
    assert_eq!(
        send(&second, from_peer("192.0.2.2:1", &[])).await.status,
        StatusCode::OK
    );

    // The bucket lives under the prefix and expires when it would be full again.
    let redis_key = first_limiter.redis_key(&Key::ip("192.0.2.1".parse().unwrap()));
    assert_eq!(redis_key, b"fleet:ip:192.0.2.1");
    let key = String::from_utf8(redis_key).unwrap();
    let RedisReply::Integer(pttl) = server.command(&["PTTL", &key]).unwrap() else {
        panic!("PTTL did not answer an integer");
    };
    assert!((3_590_000..=3_600_000).contains(&pttl), "PTTL {pttl} ms");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_and_governor_give_the_same_answers_for_the_same_quota() {
    let server = RedisServer::start();
    let calls = Calls::default();
    let quota = Quota::per_hour(nz(3));
    let redis = service(layer(redis_limiter(&server, quota, "same:").await), &calls);
    let clock = FakeRelativeClock::default();
    let memory = service(
        RateLimitLayer::builder_with(GovernorLimiter::with_clock(quota, clock))
            .key(PeerIp::new())
            .headers_on_success(true)
            .build()
            .unwrap(),
        &calls,
    );

    let mut answers = Vec::new();
    for service in [&redis, &memory] {
        let mut seen = Vec::new();
        for _ in 0..5 {
            let reply = send(service, request()).await;
            let retry_after = reply
                .headers
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_owned());
            seen.push((
                reply.status,
                reply.header("ratelimit").to_owned(),
                retry_after,
            ));
        }
        answers.push(seen);
    }
    assert_eq!(answers[0], answers[1]);
    let ok = |r: u32, t: u32| (StatusCode::OK, format!(r#""default";r={r};t={t}"#), None);
    let limited = (
        StatusCode::TOO_MANY_REQUESTS,
        r#""default";r=0;t=1200"#.to_owned(),
        Some("1200".to_owned()),
    );
    assert_eq!(
        answers[0],
        [
            ok(2, 1200),
            ok(1, 2400),
            ok(0, 3600),
            limited.clone(),
            limited
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_round_trip_per_request() {
    let server = RedisServer::start();
    let calls = Calls::default();
    let limiter = redis_limiter(&server, quota(10, Duration::from_secs(60)), "trips:").await;
    limiter.preload().await.unwrap();
    let service = service(layer(limiter), &calls);
    // Connect before counting.
    send(&service, from_peer("198.51.100.1:1", &[])).await;
    server.reset_stats().unwrap();

    let requests = 50;
    for _ in 0..requests {
        send(&service, request()).await;
    }
    assert_eq!(calls.get(), 1 + 10, "ten passed, forty limited");
    let stats = server.command_stats().unwrap();
    // Commands a script runs are listed too (time, get, set), and so is the
    // measurement's own `CONFIG RESETSTAT` (`INFO` is not counted yet when read).
    let sent: Vec<_> = stats
        .iter()
        .filter(|(name, _)| {
            !matches!(
                name.as_str(),
                "time" | "get" | "set" | "info" | "config|resetstat"
            )
        })
        .collect();
    assert_eq!(
        sent,
        [&("evalsha".to_owned(), requests)],
        "all commands: {stats:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_fails_open_by_default_then_limits_again_when_it_is_back() {
    let mut server = RedisServer::start();
    let calls = Calls::default();
    let service = service(
        layer(redis_limiter(&server, quota(1, HOUR), "down:").await),
        &calls,
    );

    assert_eq!(send(&service, request()).await.status, StatusCode::OK);
    assert_eq!(
        send(&service, request()).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );

    server.kill();
    for _ in 0..3 {
        let reply = send(&service, request()).await;
        assert_eq!(reply.status, StatusCode::OK, "allowed while Redis is down");
        assert!(reply.headers.get("ratelimit").is_none(), "nothing is known");
    }
    assert_eq!(calls.get(), 4);

    server.restart(); // empty: the buckets were not persisted
    let limited_again = wait_for(|| async {
        send(&service, request()).await.status == StatusCode::TOO_MANY_REQUESTS
    })
    .await;
    assert!(
        limited_again,
        "the limiter uses Redis again after it came back"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_fails_closed_with_503_when_configured() {
    let mut server = RedisServer::start();
    let calls = Calls::default();
    let limiter = RedisRateLimiter::builder(connect(&server).await, quota(5, HOUR))
        .key_prefix("closed:")
        .operation_timeout(Duration::from_millis(300))
        .backend_errors(BackendErrorPolicy::Reject {
            retry_after: Duration::from_secs(3),
        })
        .build()
        .unwrap();
    let service = service(layer(limiter), &calls);
    assert_eq!(send(&service, request()).await.status, StatusCode::OK);

    server.kill();
    let started = Instant::now();
    let reply = send(&service, request()).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.problem_code(), "rate_limiter_unavailable");
    assert_eq!(reply.header("retry-after"), "3");
    let grpc = send(
        &service,
        from_peer("192.0.2.1:1", &[("content-type", "application/grpc")]),
    )
    .await;
    assert_eq!(grpc.status, StatusCode::OK);
    assert_eq!(grpc.header("grpc-status"), "14");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the timeout bounds the wait"
    );
    assert_eq!(calls.get(), 1);

    server.restart();
    let back =
        wait_for(|| async { send(&service, request()).await.status == StatusCode::OK }).await;
    assert!(back, "requests pass again once Redis is back");
}

#[tokio::test]
async fn configuration_is_checked_when_built() {
    let server = RedisServer::start();
    let connection = connect(&server).await;
    let quota = Quota::per_minute(nz(60)); // refills in 60 s
    let error = RedisRateLimiter::builder(connection, quota)
        .key_ttl(Duration::from_secs(59))
        .build()
        .unwrap_err();
    assert_eq!(error, ConfigError::KeyTtlTooShort { minimum_ms: 60_000 });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fixed_key_ttl_is_applied() {
    let server = RedisServer::start();
    let limiter = RedisRateLimiter::builder(connect(&server).await, Quota::per_minute(nz(60)))
        .key_prefix("ttl:")
        .key_ttl(Duration::from_secs(7200))
        .build()
        .unwrap();
    let service = service(layer(limiter), &Calls::default());
    send(&service, request()).await;
    let RedisReply::Integer(pttl) = server.command(&["PTTL", "ttl:ip:192.0.2.1"]).unwrap() else {
        panic!("PTTL did not answer an integer");
    };
    assert!((7_190_000..=7_200_000).contains(&pttl), "PTTL {pttl} ms");
}

/// Retries `attempt` until it holds, for up to 10 s: waits for a restarted server and
/// the client's reconnection (real I/O), not for a limiter.
async fn wait_for<F, Fut>(mut attempt: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if attempt().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}
