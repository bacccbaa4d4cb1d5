//! `WebhookStack` as one layer on axum (real socket) and tonic, with the pieces in
//! the documented order whatever order the builder was called in.

mod common;

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::routing::post;
use bytes::Bytes;
use http::StatusCode;
use tower_webhook::WebhookStack;
use tower_webhook::idempotency::IdempotencyLayer;
use tower_webhook::ratelimit::{Global, Quota, RateLimitLayer, VerifiedSource};

use common::{PAYLOAD, SECRET, bind, layer, post_full, send_http1, sign, sign_with};

fn limit<K>(per_hour: u32, key: K) -> RateLimitLayer<K>
where
    K: tower_webhook::ratelimit::KeyExtractor<tower_webhook::ratelimit::Key>,
{
    RateLimitLayer::builder(Quota::per_hour(NonZeroU32::new(per_hour).unwrap()))
        .key(key)
        .build()
        .unwrap()
}

/// Serves an axum router whose handler counts its runs, behind the full stack:
/// a global limit of `before` per hour, and `per_source` per hour per source.
async fn serve(before: u32, per_source: u32) -> (std::net::SocketAddr, Arc<AtomicUsize>) {
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = runs.clone();
    // The builder methods in an order unlike the stack's: the stack fixes the order.
    let stack = WebhookStack::new(layer())
        .idempotency(IdempotencyLayer::in_memory())
        .limit_before_verification(limit(before, Global))
        .limit_per_source(limit(per_source, VerifiedSource));
    let app = Router::new()
        .route(
            "/webhooks",
            post(move |body: Bytes| {
                counter.fetch_add(1, Ordering::SeqCst);
                async move { format!("processed {} bytes", body.len()) }
            }),
        )
        .layer(stack);
    let (listener, addr) = bind().await;
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, runs)
}

fn delivery(id: &str) -> Vec<u8> {
    format!(r#"{{"id":"{id}","type":"ping"}}"#).into_bytes()
}

async fn post_signed(addr: std::net::SocketAddr, body: Vec<u8>) -> common::Reply {
    let headers = sign(&body);
    send_http1(addr, post_full("/webhooks", headers, body)).await
}

#[tokio::test]
async fn forgeries_use_the_flood_limit_but_never_a_sources_quota() {
    let (addr, runs) = serve(100, 2).await;
    for _ in 0..5 {
        let forged = sign_with("a guess", &delivery("evt_x"));
        let reply = send_http1(addr, post_full("/webhooks", forged, delivery("evt_x"))).await;
        reply.assert_problem(StatusCode::UNAUTHORIZED, "signature_mismatch", &[SECRET]);
    }
    // The source's two deliveries an hour are all still there.
    assert_eq!(
        post_signed(addr, delivery("evt_1")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        post_signed(addr, delivery("evt_2")).await.status,
        StatusCode::OK
    );
    let limited = post_signed(addr, delivery("evt_3")).await;
    limited.assert_problem(StatusCode::TOO_MANY_REQUESTS, "rate_limited", &[SECRET]);
    assert_eq!(runs.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn the_flood_limit_comes_before_verification_and_idempotency_after_it() {
    let (addr, runs) = serve(3, 100).await;
    let first = post_signed(addr, delivery("evt_1")).await;
    assert_eq!(first.status, StatusCode::OK);
    let replay = post_signed(addr, delivery("evt_1")).await;
    assert_eq!(replay.status, StatusCode::OK);
    assert_eq!(replay.headers["idempotent-replayed"], "true");
    assert_eq!(replay.body, first.body);
    assert_eq!(
        runs.load(Ordering::SeqCst),
        1,
        "the duplicate was not processed"
    );

    // The global limit counts every request, verified or not, before the body is read.
    let unsigned = send_http1(addr, post_full("/webhooks", Default::default(), PAYLOAD)).await;
    assert_eq!(unsigned.status, StatusCode::UNAUTHORIZED);
    let flooded = post_signed(addr, delivery("evt_2")).await;
    flooded.assert_problem(StatusCode::TOO_MANY_REQUESTS, "rate_limited", &[SECRET]);
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn the_stack_is_one_layer_for_tonic() {
    use tonic::transport::Server;
    use tonic::transport::server::TcpIncoming;
    // A gRPC frame holding an empty `HealthCheckRequest`.
    const EMPTY_CHECK: [u8; 5] = [0, 0, 0, 0, 0];

    let (_reporter, health) = tonic_health::server::health_reporter();
    let stack = WebhookStack::new(layer()).limit_per_source(limit(1, VerifiedSource));
    let (listener, addr) = bind().await;
    let router = Server::builder().layer(stack).add_service(health);
    tokio::spawn(async move {
        router
            .serve_with_incoming(TcpIncoming::from(listener))
            .await
            .unwrap()
    });

    let call = || {
        let mut request = http::Request::post(format!("http://{addr}/grpc.health.v1.Health/Check"))
            .header("content-type", "application/grpc")
            .header("te", "trailers")
            .body(http_body_util::Full::new(Bytes::from_static(&EMPTY_CHECK)))
            .unwrap();
        request.headers_mut().extend(sign(&EMPTY_CHECK));
        common::send_http2(addr, request)
    };
    let served = call().await;
    assert_eq!(served.status, StatusCode::OK);
    assert_eq!(served.trailers.unwrap()["grpc-status"], "0");
    let limited = call().await;
    let status = limited
        .headers
        .get("grpc-status")
        .or_else(|| limited.trailers.as_ref()?.get("grpc-status"));
    assert_eq!(status.unwrap(), "8", "RESOURCE_EXHAUSTED");
}

/// The event id follows one rule everywhere: the scheme's id, else the body's `id`
/// (here an integer, which the scheme does not carry), applied once by the signature
/// layer. Idempotency keys on it, the event extractor reports it, and a queued job
/// carries it.
#[tokio::test]
async fn idempotency_the_event_and_the_queue_read_one_event_id() {
    use std::sync::Mutex;
    use tower::{ServiceBuilder, ServiceExt};
    use tower_webhook::event::{EventRouter, WebhookEvent};
    use tower_webhook::queue::Job;

    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let router = EventRouter::new().on("ping", move |event: WebhookEvent| {
        let job = Job::from_delivery(event.delivery());
        record
            .lock()
            .unwrap()
            .push((event.id.clone(), job.event_id().map(str::to_owned)));
        async {}
    });
    let service = ServiceBuilder::new()
        .layer(layer())
        .layer(IdempotencyLayer::in_memory())
        .service(router);
    let body = br#"{"id":42,"type":"ping","created":1700000000,"data":{}}"#.to_vec();
    let mut answers = Vec::new();
    for _ in 0..2 {
        let request = post_full("/webhooks", sign(&body), body.clone());
        answers.push(service.clone().oneshot(request).await.unwrap());
    }
    assert_eq!(answers[0].status(), StatusCode::OK);
    assert!(answers[0].headers().get("idempotent-replayed").is_none());
    assert_eq!(answers[1].status(), StatusCode::OK);
    assert_eq!(answers[1].headers()["idempotent-replayed"], "true");
    assert_eq!(
        *seen.lock().unwrap(),
        [("42".to_owned(), Some("42".to_owned()))],
        "handled once, with one id"
    );
}
