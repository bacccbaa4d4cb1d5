//! The signature layer in an axum 0.8 app served by `axum::serve` on a loopback
//! socket, as `Router::layer` and as `Router::route_layer`.

mod common;

use axum::extract::State;
use axum::routing::post;
use axum::{Extension, Router};
use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use std::net::SocketAddr;
use tower_webhook::core::VerifiedDelivery;

use common::{BODY_LIMIT, KEY_ID, PAYLOAD, Recorder, post_full, send_http1, sign, sign_with};

async fn handler(
    State(recorder): State<Recorder>,
    Extension(delivery): Extension<VerifiedDelivery>,
    body: Bytes,
) -> &'static str {
    recorder.record(body, Some(delivery));
    "accepted"
}

fn routes() -> Router<Recorder> {
    Router::new().route("/webhooks", post(handler))
}

async fn serve(app: Router) -> SocketAddr {
    let (listener, addr) = common::bind().await;
    tokio::spawn(async move { axum::serve(listener, app).await.expect("axum::serve") });
    addr
}

/// `Router::layer`: the layer wraps every route and the fallback.
async fn serve_with_layer() -> (SocketAddr, Recorder) {
    let recorder = Recorder::default();
    let app = routes().layer(common::layer()).with_state(recorder.clone());
    (serve(app).await, recorder)
}

/// `Router::route_layer`: the layer wraps only the matched routes.
async fn serve_with_route_layer() -> (SocketAddr, Recorder) {
    let recorder = Recorder::default();
    let app = routes()
        .route_layer(common::layer())
        .with_state(recorder.clone());
    (serve(app).await, recorder)
}

async fn assert_signed_delivery_reaches_the_handler(addr: SocketAddr, recorder: &Recorder) {
    let reply = send_http1(addr, post_full("/webhooks", sign(PAYLOAD), PAYLOAD)).await;
    assert_eq!(reply.status, StatusCode::OK, "body: {:?}", reply.body);
    assert_eq!(reply.body, "accepted");
    assert_eq!(recorder.calls(), 1);
    let (body, delivery) = recorder.last();
    assert_eq!(
        body, PAYLOAD,
        "the Bytes extractor sees the exact signed bytes"
    );
    let delivery = delivery.expect("the marker is in the extensions");
    assert_eq!(delivery.scheme(), "hopnow");
    assert_eq!(delivery.key_id().as_str(), KEY_ID);
    assert_eq!(delivery.body(), PAYLOAD);
}

async fn assert_unsigned_and_forged_are_refused(addr: SocketAddr, recorder: &Recorder) {
    let reply = send_http1(addr, post_full("/webhooks", HeaderMap::new(), PAYLOAD)).await;
    reply.assert_problem(
        StatusCode::UNAUTHORIZED,
        "missing_signature",
        &[common::SECRET],
    );

    let forged = sign_with("a guessed secret", PAYLOAD);
    let reply = send_http1(addr, post_full("/webhooks", forged, PAYLOAD)).await;
    let expected = common::expected_signature(PAYLOAD);
    reply.assert_problem(
        StatusCode::UNAUTHORIZED,
        "signature_mismatch",
        &[common::SECRET, &expected],
    );

    // A valid signature over other bytes: the body was tampered with in transit.
    let tampered = post_full("/webhooks", sign(b"{\"amount\":1}"), PAYLOAD);
    let reply = send_http1(addr, tampered).await;
    reply.assert_problem(
        StatusCode::UNAUTHORIZED,
        "signature_mismatch",
        &[common::SECRET],
    );

    assert_eq!(recorder.calls(), 0, "the handler never runs on a rejection");
}

async fn assert_oversized_is_refused(addr: SocketAddr, recorder: &Recorder) {
    let big = vec![b'x'; BODY_LIMIT + 1];
    let reply = send_http1(addr, post_full("/webhooks", sign(&big), big)).await;
    reply.assert_problem(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", &[]);
    assert_eq!(recorder.calls(), 0);

    // Exactly at the limit still passes.
    let exact = vec![b'x'; BODY_LIMIT];
    let reply = send_http1(addr, post_full("/webhooks", sign(&exact), exact.clone())).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(recorder.calls(), 1);
    assert_eq!(recorder.last().0, exact);
}

#[tokio::test]
async fn layer_passes_a_signed_delivery_with_its_exact_bytes() {
    let (addr, recorder) = serve_with_layer().await;
    assert_signed_delivery_reaches_the_handler(addr, &recorder).await;
}

#[tokio::test]
async fn layer_refuses_unsigned_and_forged_deliveries_with_401_problems() {
    let (addr, recorder) = serve_with_layer().await;
    assert_unsigned_and_forged_are_refused(addr, &recorder).await;
}

#[tokio::test]
async fn layer_refuses_an_oversized_delivery_with_413() {
    let (addr, recorder) = serve_with_layer().await;
    assert_oversized_is_refused(addr, &recorder).await;
}

#[tokio::test]
async fn layer_also_guards_the_fallback() {
    let (addr, recorder) = serve_with_layer().await;
    // `Router::layer` wraps the fallback too: an unsigned request to an unknown path
    // is refused before routing, and a signed one then gets the fallback's 404.
    let reply = send_http1(addr, post_full("/elsewhere", HeaderMap::new(), PAYLOAD)).await;
    reply.assert_problem(StatusCode::UNAUTHORIZED, "missing_signature", &[]);
    let reply = send_http1(addr, post_full("/elsewhere", sign(PAYLOAD), PAYLOAD)).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(recorder.calls(), 0);
}

#[tokio::test]
async fn route_layer_passes_a_signed_delivery_with_its_exact_bytes() {
    let (addr, recorder) = serve_with_route_layer().await;
    assert_signed_delivery_reaches_the_handler(addr, &recorder).await;
}

#[tokio::test]
async fn route_layer_refuses_unsigned_and_forged_deliveries_with_401_problems() {
    let (addr, recorder) = serve_with_route_layer().await;
    assert_unsigned_and_forged_are_refused(addr, &recorder).await;
}

#[tokio::test]
async fn route_layer_refuses_an_oversized_delivery_with_413() {
    let (addr, recorder) = serve_with_route_layer().await;
    assert_oversized_is_refused(addr, &recorder).await;
}

#[tokio::test]
async fn route_layer_leaves_unmatched_paths_to_the_404_fallback() {
    let (addr, recorder) = serve_with_route_layer().await;
    let reply = send_http1(addr, post_full("/elsewhere", HeaderMap::new(), PAYLOAD)).await;
    assert_eq!(
        reply.status,
        StatusCode::NOT_FOUND,
        "body: {:?}",
        reply.body
    );
    assert_ne!(
        reply.headers.get("content-type").map(|v| v.as_bytes()),
        Some(&b"application/problem+json"[..]),
        "a 404, not a signature rejection"
    );
    assert_eq!(recorder.calls(), 0);

    // The matched route is still guarded.
    let reply = send_http1(addr, post_full("/webhooks", HeaderMap::new(), PAYLOAD)).await;
    reply.assert_problem(StatusCode::UNAUTHORIZED, "missing_signature", &[]);
    assert_eq!(recorder.calls(), 0);
}
