//! The layer on the in-memory backend, driven by governor's fake clock: no sleeping,
//! every value exact.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use futures_util::FutureExt as _;
use http::{Request, Response, StatusCode};
use tower::{Service, ServiceBuilder, ServiceExt};
use webhook_ratelimit::clock::FakeRelativeClock;
use webhook_ratelimit::{
    Allowance, Backend, Check, Decision, GovernorLimiter, HOUSEKEEPING_EVERY, HeaderKey, Key,
    KeyExtractor, MissingKeyPolicy, PeerIp, ProxyHeader, Quota, RateLimitLayer, RateLimitRejection,
    TrustedProxies, VerifiedSource,
};
use webhook_signature::scheme::HopNow;
use webhook_signature::{Signer, Verifier, VerifySignatureLayer};

mod common;

use common::{BoxService, Calls, from_peer, nz, quota, request, send, service};

fn layer_on<K: KeyExtractor<Key>>(
    quota: Quota,
    clock: &FakeRelativeClock,
    key: K,
) -> RateLimitLayer<K> {
    RateLimitLayer::builder_with(GovernorLimiter::with_clock(quota, clock.clone()))
        .key(key)
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_burst_passes_then_429_with_retry_after_and_ietf_headers() {
    let clock = FakeRelativeClock::default();
    let calls = Calls::default();
    let service = service(
        layer_on(quota(3, Duration::from_secs(1)), &clock, PeerIp::new()),
        &calls,
    );

    for _ in 0..3 {
        let reply = send(&service, request()).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.body, "handled");
        assert!(
            reply.headers.get("ratelimit").is_none(),
            "success headers are opt-in"
        );
    }
    let reply = send(&service, request()).await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(reply.problem_code(), "rate_limited");
    assert_eq!(reply.header("retry-after"), "1");
    assert_eq!(reply.header("ratelimit-policy"), r#""default";q=3;w=3"#);
    assert_eq!(reply.header("ratelimit"), r#""default";r=0;t=1"#);
    assert_eq!(
        calls.get(),
        3,
        "the limited request never reached the handler"
    );
}

#[tokio::test]
async fn the_bucket_refills_one_request_per_interval() {
    let clock = FakeRelativeClock::default();
    let calls = Calls::default();
    let service = service(
        layer_on(quota(2, Duration::from_secs(1)), &clock, PeerIp::new()),
        &calls,
    );

    assert_eq!(send(&service, request()).await.status, StatusCode::OK);
    assert_eq!(send(&service, request()).await.status, StatusCode::OK);
    assert_eq!(
        send(&service, request()).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );

    clock.advance(Duration::from_millis(999));
    let reply = send(&service, request()).await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(reply.header("retry-after"), "1", "1 ms left, rounded up");

    clock.advance(Duration::from_millis(1));
    assert_eq!(send(&service, request()).await.status, StatusCode::OK);
    assert_eq!(
        send(&service, request()).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );

    // A long pause refills the burst, never more.
    clock.advance(Duration::from_secs(3600));
    assert_eq!(send(&service, request()).await.status, StatusCode::OK);
    assert_eq!(send(&service, request()).await.status, StatusCode::OK);
    assert_eq!(
        send(&service, request()).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(calls.get(), 5);
}

#[tokio::test]
async fn retry_after_is_the_wait_in_whole_seconds_rounded_up() {
    let clock = FakeRelativeClock::default();
    let calls = Calls::default();
    // One request a minute.
    let service = service(
        layer_on(Quota::per_minute(nz(1)), &clock, PeerIp::new()),
        &calls,
    );

    assert_eq!(send(&service, request()).await.status, StatusCode::OK);
    let reply = send(&service, request()).await;
    assert_eq!(reply.header("retry-after"), "60");
    assert_eq!(reply.header("ratelimit-policy"), r#""default";q=1;w=60"#);
    assert_eq!(reply.header("ratelimit"), r#""default";r=0;t=60"#);

    clock.advance(Duration::from_millis(500));
    assert_eq!(
        send(&service, request()).await.header("retry-after"),
        "60",
        "59.5 s"
    );
    clock.advance(Duration::from_secs(59));
    assert_eq!(
        send(&service, request()).await.header("retry-after"),
        "1",
        "0.5 s"
    );
    clock.advance(Duration::from_millis(500));
    assert_eq!(send(&service, request()).await.status, StatusCode::OK);
}

#[tokio::test]
async fn keys_are_isolated() {
    let clock = FakeRelativeClock::default();
    let calls = Calls::default();
    let key = HeaderKey::new(http::HeaderName::from_static("x-sender"));
    let service = service(
        layer_on(quota(1, Duration::from_secs(10)), &clock, key),
        &calls,
    );
    let as_sender = |sender: &str| from_peer("192.0.2.1:1", &[("x-sender", sender)]);

    assert_eq!(send(&service, as_sender("a")).await.status, StatusCode::OK);
    assert_eq!(
        send(&service, as_sender("a")).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(send(&service, as_sender("b")).await.status, StatusCode::OK);
    assert_eq!(
        send(&service, as_sender("b")).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(send(&service, as_sender("c")).await.status, StatusCode::OK);

    // Per peer address as well.
    let service = service_for_peers(&clock, &calls);
    assert_eq!(
        send(&service, from_peer("192.0.2.1:1", &[])).await.status,
        StatusCode::OK
    );
    assert_eq!(
        send(&service, from_peer("192.0.2.1:2", &[])).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        send(&service, from_peer("192.0.2.2:1", &[])).await.status,
        StatusCode::OK
    );
}

fn service_for_peers(clock: &FakeRelativeClock, calls: &Calls) -> BoxService {
    service(
        layer_on(quota(1, Duration::from_secs(10)), clock, PeerIp::new()),
        calls,
    )
}

/// `RateLimitLayer::builder` (the default clock) takes a path of its own, without
/// dynamic dispatch: it answers like the fake-clock layers above. An hour per request
/// keeps every value exact on a real clock.
#[tokio::test]
async fn the_default_in_memory_backend_answers_the_same() {
    let calls = Calls::default();
    let layer = RateLimitLayer::builder(quota(3, Duration::from_secs(3600)))
        .key(PeerIp::new())
        .headers_on_success(true)
        .build()
        .unwrap();
    let with_headers = service(layer, &calls);
    for expected in [
        r#""default";r=2;t=3600"#,
        r#""default";r=1;t=7200"#,
        r#""default";r=0;t=10800"#,
    ] {
        let reply = send(&with_headers, request()).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.body, "handled");
        assert_eq!(reply.header("ratelimit-policy"), r#""default";q=3;w=10800"#);
        assert_eq!(reply.header("ratelimit"), expected);
    }
    let reply = send(&with_headers, request()).await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(reply.problem_code(), "rate_limited");
    assert_eq!(reply.header("retry-after"), "3600");
    assert_eq!(reply.header("ratelimit-policy"), r#""default";q=3;w=10800"#);
    assert_eq!(reply.header("ratelimit"), r#""default";r=0;t=3600"#);
    assert_eq!(calls.get(), 3);

    // Without success headers, and for gRPC.
    let layer = RateLimitLayer::builder(quota(1, Duration::from_secs(3600)))
        .key(PeerIp::new())
        .build()
        .unwrap();
    let grpc_service = service(layer, &calls);
    let grpc = || from_peer("192.0.2.1:1", &[("content-type", "application/grpc")]);
    let reply = send(&grpc_service, grpc()).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.headers.get("ratelimit").is_none());
    let reply = send(&grpc_service, grpc()).await;
    assert_eq!(reply.header("grpc-status"), "8");
    assert_eq!(reply.header("retry-after"), "3600");
    assert_eq!(reply.header("ratelimit"), r#""default";r=0;t=3600"#);
    assert_eq!(calls.get(), 4);
}

#[tokio::test]
async fn success_headers_count_down_when_enabled() {
    let clock = FakeRelativeClock::default();
    let calls = Calls::default();
    let layer = RateLimitLayer::builder_with(GovernorLimiter::with_clock(
        quota(3, Duration::from_secs(1)),
        clock.clone(),
    ))
    .key(PeerIp::new())
    .policy_name("per-ip")
    .headers_on_success(true)
    .build()
    .unwrap();
    assert_eq!(layer.policy_header(), r#""per-ip";q=3;w=3"#);
    let service = service(layer, &calls);

    let expected = [
        r#""per-ip";r=2;t=1"#,
        r#""per-ip";r=1;t=2"#,
        r#""per-ip";r=0;t=3"#,
    ];
    for expected in expected {
        let reply = send(&service, request()).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.header("ratelimit-policy"), r#""per-ip";q=3;w=3"#);
        assert_eq!(reply.header("ratelimit"), expected);
    }
    clock.advance(Duration::from_secs(1));
    let reply = send(&service, request()).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("ratelimit"), r#""per-ip";r=0;t=3"#);
}

#[tokio::test]
async fn a_spoofed_x_forwarded_for_from_an_untrusted_peer_is_ignored() {
    let clock = FakeRelativeClock::default();
    let calls = Calls::default();
    let proxies = TrustedProxies::new(ProxyHeader::XForwarded, ["10.0.0.0/8".parse().unwrap()]);
    let key = PeerIp::new().trusted_proxies(proxies);
    let service = service(
        layer_on(quota(1, Duration::from_secs(10)), &clock, key),
        &calls,
    );

    // An attacker at 203.0.113.9 invents a new client address per request: they all
    // count against the attacker's own address.
    let spoofed = |fake: &str| from_peer("203.0.113.9:5000", &[("x-forwarded-for", fake)]);
    assert_eq!(
        send(&service, spoofed("1.1.1.1")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        send(&service, spoofed("2.2.2.2")).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        send(&service, spoofed("3.3.3.3")).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(calls.get(), 1);
}

#[tokio::test]
async fn x_forwarded_for_from_a_trusted_proxy_names_the_client() {
    let clock = FakeRelativeClock::default();
    let calls = Calls::default();
    let proxies = TrustedProxies::new(ProxyHeader::XForwarded, ["10.0.0.0/8".parse().unwrap()]);
    let key = PeerIp::new().trusted_proxies(proxies);
    let service = service(
        layer_on(quota(1, Duration::from_secs(10)), &clock, key),
        &calls,
    );
    let via = |proxy: &str, xff: &str| from_peer(proxy, &[("x-forwarded-for", xff)]);

    assert_eq!(
        send(&service, via("10.0.0.1:80", "198.51.100.7"))
            .await
            .status,
        StatusCode::OK
    );
    // The same client through another proxy of the fleet: same bucket.
    let reply = send(&service, via("10.0.0.2:80", "198.51.100.7")).await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    // The client prepends a fake address; the proxy appends the real one.
    let reply = send(&service, via("10.0.0.1:80", "1.2.3.4, 198.51.100.7")).await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    // Other clients behind the same proxies are not affected.
    assert_eq!(
        send(&service, via("10.0.0.1:80", "198.51.100.8"))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(calls.get(), 2);
}

#[tokio::test]
async fn a_request_without_a_key_is_refused_with_500_by_default_or_passed() {
    let clock = FakeRelativeClock::default();
    let calls = Calls::default();
    let no_peer = || Request::post("/webhooks").body(String::new()).unwrap();

    let refusing = service(
        layer_on(quota(1, Duration::from_secs(1)), &clock, PeerIp::new()),
        &calls,
    );
    let reply = send(&refusing, no_peer()).await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(reply.problem_code(), "rate_limit_key_missing");
    assert_eq!(calls.get(), 0);

    let layer = RateLimitLayer::builder_with(GovernorLimiter::with_clock(
        quota(1, Duration::from_secs(1)),
        clock.clone(),
    ))
    .key(VerifiedSource)
    .missing_key(MissingKeyPolicy::PassThrough)
    .build()
    .unwrap();
    let passing = service(layer, &calls);
    for _ in 0..3 {
        assert_eq!(send(&passing, no_peer()).await.status, StatusCode::OK);
    }
    assert_eq!(calls.get(), 3, "passed uncounted");
}

#[tokio::test]
async fn every_clone_of_the_layer_shares_one_limiter() {
    let clock = FakeRelativeClock::default();
    let calls = Calls::default();
    let layer = layer_on(quota(2, Duration::from_secs(10)), &clock, PeerIp::new());
    let first = service(layer.clone(), &calls);
    let second = service(layer, &calls);

    assert_eq!(send(&first, request()).await.status, StatusCode::OK);
    assert_eq!(send(&second, request()).await.status, StatusCode::OK);
    assert_eq!(
        send(&first, request()).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        send(&second, request()).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn a_limited_grpc_request_gets_resource_exhausted() {
    let clock = FakeRelativeClock::default();
    let calls = Calls::default();
    let service = service(
        layer_on(quota(1, Duration::from_secs(2)), &clock, PeerIp::new()),
        &calls,
    );
    let grpc = || from_peer("192.0.2.1:1", &[("content-type", "application/grpc+proto")]);

    assert_eq!(send(&service, grpc()).await.status, StatusCode::OK);
    let reply = send(&service, grpc()).await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "gRPC errors travel in grpc-status"
    );
    assert_eq!(reply.header("content-type"), "application/grpc");
    assert_eq!(reply.header("grpc-status"), "8");
    assert!(
        reply
            .header("grpc-message")
            .starts_with("too many requests")
    );
    assert_eq!(reply.header("retry-after"), "2");
    assert_eq!(reply.header("ratelimit"), r#""default";r=0;t=2"#);
    assert!(reply.body.is_empty(), "a Trailers-Only response");
    assert_eq!(calls.get(), 1);
}

#[tokio::test]
async fn the_service_stays_ready_and_never_errs_when_limited() {
    let clock = FakeRelativeClock::default();
    let calls = Calls::default();
    let mut service = service(
        layer_on(quota(1, Duration::from_secs(10)), &clock, PeerIp::new()),
        &calls,
    );
    for expected in [
        StatusCode::OK,
        StatusCode::TOO_MANY_REQUESTS,
        StatusCode::TOO_MANY_REQUESTS,
    ] {
        let ready = service.ready().now_or_never().expect("ready at once");
        assert!(ready.is_ok());
        let response = service
            .call(request())
            .now_or_never()
            .expect("answered at once");
        assert_eq!(response.unwrap().status(), expected);
    }
}

#[tokio::test]
async fn a_custom_rejection_keeps_the_rate_limit_headers() {
    let clock = FakeRelativeClock::default();
    let calls = Calls::default();
    let layer = RateLimitLayer::builder_with(GovernorLimiter::with_clock(
        quota(1, Duration::from_secs(5)),
        clock.clone(),
    ))
    .key(PeerIp::new())
    .on_rejection(|rejection: &RateLimitRejection| {
        let mut response = Response::new(Bytes::from(format!(
            "slow down: {}",
            webhook_core::Rejection::retry_after(rejection).unwrap()
        )));
        *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
        response
    })
    .build()
    .unwrap();
    let service = service(layer, &calls);
    send(&service, request()).await;
    let reply = send(&service, request()).await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(reply.body, "slow down: 5");
    assert_eq!(reply.header("ratelimit"), r#""default";r=0;t=5"#);
}

#[tokio::test]
async fn invalid_policy_names_are_refused_at_build_time() {
    for name in ["", "has space", "quote\"", &"x".repeat(65)] {
        let result = RateLimitLayer::builder(Quota::per_second(nz(1)))
            .policy_name(name)
            .build();
        assert!(result.is_err(), "{name:?} accepted");
    }
}

/// Per verified source, behind the real signature layer: forged requests are refused
/// by the signature layer and never spend a sender's quota.
#[tokio::test]
async fn per_source_limit_behind_the_signature_layer() {
    let clock = FakeRelativeClock::default();
    let calls = Calls::default();
    let verifier = Verifier::builder(HopNow)
        .secret("sender-a", "secret-a")
        .secret("sender-b", "secret-b")
        .build()
        .unwrap();
    let per_source = RateLimitLayer::builder_with(GovernorLimiter::with_clock(
        quota(2, Duration::from_secs(30)),
        clock.clone(),
    ))
    .key(VerifiedSource)
    .policy_name("per-source")
    .build()
    .unwrap();
    let handler_calls = calls.clone();
    let service = ServiceBuilder::new()
        .layer(VerifySignatureLayer::new(verifier))
        .layer(per_source)
        .service_fn(move |_request: Request<webhook_core::VerifiedBody>| {
            handler_calls.0.fetch_add(1, Ordering::SeqCst);
            async { Ok::<_, Infallible>(Response::new(String::from("handled"))) }
        });
    let signed = |secret: &str| {
        let body = br#"{"id":"evt_1"}"#;
        let mut request = Request::post("/webhooks")
            .body(String::from_utf8_lossy(body).into_owned())
            .unwrap();
        request.headers_mut().extend(
            Signer::new(HopNow, secret)
                .unwrap()
                .sign(body, 0, "")
                .unwrap(),
        );
        request
    };
    let status = |request| {
        let service = service.clone();
        async move { service.oneshot(request).await.unwrap().status() }
    };

    for _ in 0..5 {
        assert_eq!(status(signed("forged")).await, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(status(signed("secret-a")).await, StatusCode::OK);
    assert_eq!(status(signed("secret-a")).await, StatusCode::OK);
    let limited = service.clone().oneshot(signed("secret-a")).await.unwrap();
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        limited.headers()["ratelimit-policy"],
        r#""per-source";q=2;w=60"#
    );
    assert_eq!(limited.headers()["retry-after"], "30");
    assert_eq!(status(signed("secret-b")).await, StatusCode::OK);
    assert_eq!(calls.get(), 3);
}

/// A backend that answers after a round trip, like Redis: the layer waits for it,
/// then forwards or answers.
#[derive(Debug)]
struct Scripted(Decision);

impl Backend for Scripted {
    fn quota(&self) -> Quota {
        Quota::per_second(nz(10))
    }

    fn check(&self, _key: &Key) -> Check {
        let decision = self.0.clone();
        Check::pending(async move {
            tokio::task::yield_now().await;
            decision
        })
    }
}

#[tokio::test]
async fn asynchronous_backends_decide_every_outcome() {
    let calls = Calls::default();
    let build = |decision| {
        RateLimitLayer::builder_with(Scripted(decision))
            .headers_on_success(true)
            .build()
            .unwrap()
    };

    let allowed = service(
        build(Decision::Allowed(Allowance::new(
            4,
            Duration::from_millis(1500),
        ))),
        &calls,
    );
    let reply = send(&allowed, request()).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("ratelimit"), r#""default";r=4;t=2"#);

    let unchecked = service(build(Decision::Unchecked), &calls);
    let reply = send(&unchecked, request()).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(
        reply.headers.get("ratelimit").is_none(),
        "nothing known to report"
    );

    let limited = service(
        build(Decision::Limited {
            retry_after: Duration::from_millis(2001),
        }),
        &calls,
    );
    let reply = send(&limited, request()).await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(reply.header("retry-after"), "3");

    let unavailable = service(
        build(Decision::Unavailable {
            retry_after: Duration::from_secs(5),
        }),
        &calls,
    );
    let reply = send(&unavailable, request()).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.problem_code(), "rate_limiter_unavailable");
    assert_eq!(reply.header("retry-after"), "5");
    assert_eq!(calls.get(), 2);
}

#[tokio::test]
async fn stale_keys_are_removed_without_a_manual_call() {
    let clock = FakeRelativeClock::default();
    let calls = Calls::default();
    let limiter = Arc::new(GovernorLimiter::with_clock(
        quota(1, Duration::from_secs(1)),
        clock.clone(),
    ));
    let layer = RateLimitLayer::builder_with(limiter.clone())
        .key(PeerIp::new())
        .build()
        .unwrap();
    let service = service(layer, &calls);

    for i in 0..3000u32 {
        let peer = SocketAddr::from(([10, 0, (i >> 8) as u8, i as u8], 1));
        let mut request = request();
        request.extensions_mut().insert(peer);
        assert_eq!(send(&service, request).await.status, StatusCode::OK);
    }
    assert_eq!(limiter.len(), 3000);

    // Every bucket refills after 1 s; governor keeps a key one more interval.
    clock.advance(Duration::from_secs(3));
    for _ in 0..HOUSEKEEPING_EVERY {
        send(&service, request()).await;
    }
    assert_eq!(limiter.len(), 1, "only the key still in use is left");
}
