//! The axum extractors, with and without the signature layer in front.
#![cfg(feature = "axum")]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};

use axum::Router;
use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::routing::post;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde::Deserialize;
use serde_json::Value;
use tower::ServiceExt;
use webhook_event::{EventRejection, EventRouter, Handled, UnverifiedWebhookEvent, WebhookEvent};
use webhook_signature::scheme::HopNow;
use webhook_signature::{Signer, Verifier, VerifySignatureLayer};

#[derive(Debug, Deserialize)]
struct Payout {
    payout_id: String,
    amount: u64,
}

const SECRET: &str = "dev-secret";
const BODY: &str = r#"{"id":"evt_1","type":"payout.completed","created":"2025-11-02T10:05:00Z","data":{"payout_id":"po_1","amount":1200}}"#;

fn layer() -> VerifySignatureLayer {
    VerifySignatureLayer::new(
        Verifier::builder(HopNow)
            .secret("k1", SECRET)
            .build()
            .unwrap(),
    )
}

fn signed(uri: &str, body: &str) -> Request<Body> {
    let mut request = Request::post(uri)
        .body(Body::from(body.to_owned()))
        .unwrap();
    let headers = Signer::new(HopNow, SECRET)
        .unwrap()
        .sign(body.as_bytes(), 0, "")
        .unwrap();
    request.headers_mut().extend(headers);
    request
}

fn unsigned(uri: &str, body: &str) -> Request<Body> {
    Request::post(uri)
        .body(Body::from(body.to_owned()))
        .unwrap()
}

async fn call(app: &Router, request: Request<Body>) -> (StatusCode, String, Value) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, content_type, body)
}

async fn payout(event: WebhookEvent<Payout>) -> Handled {
    assert_eq!(event.scheme(), "hopnow");
    assert_eq!(event.key_id().as_str(), "k1");
    assert_eq!(
        (event.data.payout_id.as_str(), event.data.amount),
        ("po_1", 1200)
    );
    Handled::Processed
}

#[tokio::test]
async fn the_extractor_reads_the_verified_marker() {
    let app = Router::new()
        .route("/webhooks", post(payout))
        .layer(layer());
    let (status, content_type, body) = call(&app, signed("/webhooks", BODY)).await;
    assert_eq!(
        (status, content_type.as_str()),
        (StatusCode::OK, "application/json")
    );
    assert_eq!(body["status"], "processed");

    // 422 as problem+json, with the path.
    let wrong = r#"{"id":"e","type":"payout.completed","created":1,"data":{"payout_id":"po_1","amount":-1}}"#;
    let (status, content_type, body) = call(&app, signed("/webhooks", wrong)).await;
    assert_eq!(
        (status, content_type.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "application/problem+json")
    );
    assert_eq!(body["code"], "invalid_data");
    assert!(body["detail"].as_str().unwrap().contains("`data.amount`"));

    // 400 with line and column.
    let (status, _, body) = call(&app, signed("/webhooks", "{\"id\":\n\"e\" \"type\"")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], "malformed_json");
    assert!(
        body["detail"].as_str().unwrap().contains("line 2 column 5"),
        "{body}"
    );
}

#[tokio::test]
async fn an_missing_verified_delivery_is_refused_as_a_misconfiguration() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    // The signature layer is forgotten.
    let app = Router::new().route(
        "/webhooks",
        post(move |_: WebhookEvent<Payout>| {
            counted.fetch_add(1, AtomicOrdering::SeqCst);
            async { Handled::Processed }
        }),
    );
    let (status, content_type, body) = call(&app, unsigned("/webhooks", BODY)).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(content_type, "application/problem+json");
    assert_eq!(body["code"], "missing_verified_delivery");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("VerifySignatureLayer")
    );
    assert_eq!(
        calls.load(AtomicOrdering::SeqCst),
        0,
        "the handler never ran"
    );
}

#[tokio::test]
async fn the_unverified_variant_reads_the_body_itself() {
    async fn dev(event: UnverifiedWebhookEvent<Payout>) -> String {
        format!("{} {}", event.event_type, event.data.amount)
    }
    let app = Router::new()
        .route("/dev", post(dev))
        .layer(DefaultBodyLimit::max(256));
    let response = app.clone().oneshot(unsigned("/dev", BODY)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(text, "payout.completed 1200");

    // Over axum's body limit: 413, unreadable_body.
    let big = format!(
        r#"{{"id":"e","type":"a","created":1,"data":{{"pad":"{}"}}}}"#,
        "x".repeat(300)
    );
    let (status, content_type, body) = call(&app, unsigned("/dev", &big)).await;
    assert_eq!(
        (status, content_type.as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "application/problem+json")
    );
    assert_eq!(body["code"], "unreadable_body");

    // Behind the signature layer, it uses the verified bytes.
    let app = Router::new().route("/dev", post(dev)).layer(layer());
    let response = app.oneshot(signed("/dev", BODY)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn rejections_can_be_remapped_by_the_handler() {
    async fn lenient(event: Result<WebhookEvent<Payout>, EventRejection>) -> StatusCode {
        match event {
            Ok(_) => StatusCode::OK,
            Err(EventRejection::Unverified) => StatusCode::INTERNAL_SERVER_ERROR,
            Err(_) => StatusCode::ACCEPTED,
        }
    }
    let app = Router::new()
        .route("/webhooks", post(lenient))
        .layer(layer());
    let (status, _, _) = call(&app, signed("/webhooks", r#"{"id":"e"}"#)).await;
    assert_eq!(status, StatusCode::ACCEPTED);
}

#[tokio::test]
async fn the_router_is_an_axum_service() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let router = EventRouter::new().on("payout.completed", move |event: WebhookEvent<Payout>| {
        counted.fetch_add(1, AtomicOrdering::SeqCst);
        async move {
            assert_eq!(event.data.amount, 1200);
            Handled::Processed
        }
    });
    let app = Router::new()
        .route_service("/webhooks", router)
        .layer(layer());
    let (status, _, body) = call(&app, signed("/webhooks", BODY)).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("processed"))
    );

    let unknown = r#"{"id":"e2","type":"charge.refunded","created":1,"data":{}}"#;
    let (status, _, body) = call(&app, signed("/webhooks", unknown)).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("ignored"))
    );
    assert_eq!(calls.load(AtomicOrdering::SeqCst), 1);

    // Forged: the signature layer answers, the router never runs.
    let (status, _, _) = call(&app, unsigned("/webhooks", BODY)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(calls.load(AtomicOrdering::SeqCst), 1);
}

/// The signature layer reads the type with the event id; the router routes on it
/// only where reading the body itself would give the same answer.
#[tokio::test]
async fn the_router_routes_on_the_type_the_signature_layer_read_as_it_would_on_the_body() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let router = EventRouter::new().on("payout.completed", move |event: WebhookEvent<Payout>| {
        counted.fetch_add(1, AtomicOrdering::SeqCst);
        async move { Handled::Processed.for_event(&event) }
    });
    let app = Router::new()
        .route_service("/webhooks", router)
        .layer(layer());
    let signed_bytes = |body: &[u8]| {
        let mut request = Request::post("/webhooks")
            .body(Body::from(body.to_vec()))
            .unwrap();
        let headers = Signer::new(HopNow, SECRET)
            .unwrap()
            .sign(body, 0, "")
            .unwrap();
        request.headers_mut().extend(headers);
        request
    };

    let (status, _, body) = call(&app, signed("/webhooks", BODY)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        serde_json::json!({"status": "processed", "event_id": "evt_1", "event_type": "payout.completed"})
    );

    // Escaped, the type is read by the router itself, to the same handler.
    let escaped = BODY.replace("payout.completed", r"payout\u002ecompleted");
    let (status, _, body) = call(&app, signed("/webhooks", &escaped)).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("processed"))
    );
    assert_eq!(calls.load(AtomicOrdering::SeqCst), 2);

    // A type with no handler, in a body that is not UTF-8: malformed, not ignored.
    let mut bytes = br#"{"id":"e3","type":"charge.refunded","created":1,"data":{"note":"#.to_vec();
    bytes.extend_from_slice(b"\"\xff\"}}");
    let (status, _, body) = call(&app, signed_bytes(&bytes)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], "malformed_json");

    // Twice the type: refused, and the handler never runs.
    let twice = BODY.replace(r#""created""#, r#""type":"payout.completed","created""#);
    let (status, _, body) = call(&app, signed("/webhooks", &twice)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["code"], "invalid_envelope");
    assert_eq!(calls.load(AtomicOrdering::SeqCst), 2);
}
