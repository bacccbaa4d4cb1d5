//! The one-line helpers: a layered tower stack, an axum router, and a real socket.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::routing::post;
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use serde_json::{Value, json};
use tower::ServiceBuilder;
use tower::service_fn;
use webhook_core::VerifiedBody;
use webhook_idempotency::IdempotencyLayer;
use webhook_signature::scheme::HopNow;
use webhook_signature::{Verifier, VerifySignatureLayer};
use webhook_testing::{MockEvent, SendError, TestResponse, TestServer, send, try_send};

const SECRET: &str = "dev-secret";

fn verify_layer() -> VerifySignatureLayer {
    VerifySignatureLayer::new(
        Verifier::builder(HopNow)
            .secret("k1", SECRET)
            .build()
            .unwrap(),
    )
}

fn counting_router(runs: Arc<AtomicUsize>) -> Router {
    Router::new()
        .route(
            "/webhooks",
            post(move || {
                let run = runs.fetch_add(1, Ordering::SeqCst) + 1;
                async move { axum::Json(json!({"status": "processed", "run": run})) }
            }),
        )
        .layer(IdempotencyLayer::in_memory())
        .layer(verify_layer())
}

#[tokio::test]
async fn a_layered_tower_stack_is_driven_in_one_line() {
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = runs.clone();
    let mut service = ServiceBuilder::new()
        .layer(verify_layer())
        .layer(IdempotencyLayer::in_memory())
        .service_fn(move |request: Request<VerifiedBody>| {
            counter.fetch_add(1, Ordering::SeqCst);
            async move {
                let body = request.into_body().into_bytes();
                Ok::<_, Infallible>(Response::new(Full::new(body)))
            }
        });
    let event = MockEvent::new("payout.completed").data(json!({"payout_id": "po_1"}));
    let delivery = event.clone().sign(HopNow, SECRET);

    let first = send(&mut service, delivery.request::<String>().unwrap()).await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(
        first.body,
        event.body(),
        "the handler echoed the exact signed bytes"
    );
    assert_eq!(first.json::<Value>()["data"]["payout_id"], "po_1");
    assert!(!first.replayed());

    let retry = send(&mut service, delivery.request::<String>().unwrap()).await;
    assert_eq!(retry.status, StatusCode::OK);
    assert!(retry.replayed());
    assert_eq!(retry.headers["idempotent-replayed"], "true");
    assert_eq!(retry.body, first.body);

    let forged = event.sign(HopNow, SECRET).corrupt_signature();
    let response = send(&mut service, forged.request::<String>().unwrap()).await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.problem_code().as_deref(),
        Some("signature_mismatch")
    );
    assert_eq!(response.headers["content-type"], "application/problem+json");
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_axum_router_is_driven_with_any_body_type() {
    let runs = Arc::new(AtomicUsize::new(0));
    let mut router = counting_router(runs.clone());
    let delivery = MockEvent::new("ping").sign(HopNow, SECRET);

    let response = send(&mut router, delivery.request::<axum::body::Body>().unwrap()).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(
        response.json::<Value>(),
        json!({"status": "processed", "run": 1})
    );

    let response = send(&mut router, delivery.request::<String>().unwrap()).await;
    assert!(response.replayed());
    assert_eq!(response.json::<Value>()["run"], 1);

    let other = MockEvent::new("ping").sign(HopNow, "a guess");
    let response = send(&mut router, other.request::<Full<Bytes>>().unwrap()).await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_failing_service_is_an_error_from_try_send() {
    let mut failing = service_fn(|_: Request<String>| async {
        Err::<Response<String>, _>(std::io::Error::other("backend down"))
    });
    let request = MockEvent::new("ping")
        .sign(HopNow, SECRET)
        .request()
        .unwrap();
    let error = try_send(&mut failing, request).await.unwrap_err();
    assert!(matches!(error, SendError::Service(_)));
    assert_eq!(error.to_string(), "the service failed: backend down");
}

#[tokio::test]
#[should_panic(expected = "the service failed")]
async fn send_panics_when_the_service_fails() {
    let mut failing = service_fn(|_: Request<String>| async {
        Err::<Response<String>, _>(std::io::Error::other("backend down"))
    });
    let request = MockEvent::new("ping")
        .sign(HopNow, SECRET)
        .request()
        .unwrap();
    send(&mut failing, request).await;
}

#[test]
#[should_panic(expected = "is not the expected JSON")]
fn json_panics_with_the_body_when_it_is_not_json() {
    let response = TestResponse {
        status: StatusCode::OK,
        headers: Default::default(),
        body: Bytes::from_static(b"plain text"),
    };
    assert_eq!(response.text(), "plain text");
    assert_eq!(response.problem_code(), None);
    let _: Value = response.json();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_server_serves_the_router_on_a_loopback_socket() {
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;

    let runs = Arc::new(AtomicUsize::new(0));
    let server = TestServer::spawn(counting_router(runs.clone()))
        .await
        .unwrap();
    assert!(server.addr().ip().is_loopback());

    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let delivery = MockEvent::new("ping").sign(HopNow, SECRET);
    for expected_replay in [false, true] {
        let mut request: Request<Full<Bytes>> = delivery.request().unwrap();
        *request.uri_mut() = server.url("/webhooks").parse().unwrap();
        let response = client.request(request).await.unwrap();
        let response = TestResponse::collect(response).await.unwrap();
        assert_eq!(response.status, StatusCode::OK);
        assert_eq!(response.replayed(), expected_replay);
        assert_eq!(response.json::<Value>()["run"], 1);
    }
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}
