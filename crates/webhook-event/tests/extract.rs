//! The extractor and the router, framework-free: every rejection as a client sees it,
//! the `created` formats, the marker fallbacks, typed dispatch and unknown types.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};
use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use serde::Deserialize;
use serde_json::Value;
use time::macros::datetime;
use tower::{ServiceBuilder, ServiceExt};
use webhook_core::{KeyId, PROBLEM_JSON, Rejection, VerifiedDelivery};
use webhook_event::{
    EventRejection, EventRouter, Handled, RejectedEvent, UnverifiedWebhookEvent, WebhookEvent,
};
use webhook_signature::scheme::{HopNow, StandardWebhooks};
use webhook_signature::{Signer, Verifier, VerifySignatureLayer};

#[derive(Debug, Clone, Deserialize, PartialEq)]
struct Payout {
    payout_id: String,
    amount: u64,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(tag = "type", content = "data")]
enum PayoutEvent {
    #[serde(rename = "payout.created")]
    Created(Payout),
    #[serde(rename = "payout.completed")]
    Completed(Payout),
    #[serde(rename = "payout.failed")]
    Failed { payout_id: String, reason: String },
}

fn delivery(body: &str) -> VerifiedDelivery {
    VerifiedDelivery::new("hopnow", KeyId::from("k1"), Bytes::from(body.to_owned()))
}

fn extract<T: serde::de::DeserializeOwned>(body: &str) -> Result<WebhookEvent<T>, EventRejection> {
    WebhookEvent::<T>::from_delivery(delivery(body))
}

/// The response a client sees for a rejection: status, content type, parsed body.
fn problem(rejection: &EventRejection) -> (StatusCode, String, Value) {
    let response = rejection.to_problem().into_response();
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    let body = serde_json::from_slice(response.body()).unwrap();
    (response.status(), content_type, body)
}

fn assert_problem(rejection: &EventRejection, status: u16, code: &str, detail_contains: &[&str]) {
    let (got_status, content_type, body) = problem(rejection);
    assert_eq!(got_status.as_u16(), status, "{rejection:?}");
    assert_eq!(rejection.code(), code);
    assert_eq!(content_type, PROBLEM_JSON);
    assert_eq!(body["status"], status);
    assert_eq!(body["code"], code);
    let detail = body["detail"].as_str().unwrap();
    for part in detail_contains {
        assert!(detail.contains(part), "`{detail}` should contain `{part}`");
    }
}

const COMPLETED: &str = r#"{"id":"evt_2","type":"payout.completed","created":1762077900,"data":{"payout_id":"po_1","amount":1200}}"#;

#[test]
fn request_without_the_marker_is_a_500_naming_the_missing_layer() {
    let request = Request::post("/webhooks").body(COMPLETED).unwrap();
    let rejection = WebhookEvent::<Value>::from_request(&request).unwrap_err();
    assert_eq!(rejection, EventRejection::Unverified);
    assert_problem(
        &rejection,
        500,
        "missing_verified_delivery",
        &["VerifySignatureLayer", "UnverifiedWebhookEvent"],
    );
    // The same through the parts.
    let (parts, _) = request.into_parts();
    assert_eq!(
        WebhookEvent::<Value>::from_parts(&parts).unwrap_err(),
        EventRejection::Unverified
    );
}

#[test]
fn the_unverified_variant_accepts_a_plain_request() {
    let (parts, _) = Request::post("/dev").body(()).unwrap().into_parts();
    let event = UnverifiedWebhookEvent::<Payout>::from_request_parts_and_bytes(
        &parts,
        &Bytes::from_static(COMPLETED.as_bytes()),
    )
    .unwrap();
    assert_eq!(event.id, "evt_2");
    assert_eq!(event.event_type, "payout.completed");
    assert_eq!(event.data.amount, 1200);
}

#[test]
fn malformed_json_is_400_with_line_and_column() {
    let body = "{\"id\": \"evt_1\",\n \"type\": \"payout.created\",\n \"data\": {\"amount\": 12,}}";
    let rejection = extract::<Value>(body).unwrap_err();
    match &rejection {
        EventRejection::MalformedJson {
            line,
            column,
            reason,
        } => {
            assert_eq!((*line, *column), (3, 24));
            assert_eq!(reason, "trailing comma");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_problem(
        &rejection,
        400,
        "malformed_json",
        &["trailing comma", "line 3 column 24"],
    );

    for body in ["", "{\"id\":", "not json", "{} {}"] {
        let rejection = extract::<Value>(body).unwrap_err();
        assert_eq!(
            rejection.code(),
            "malformed_json",
            "{body:?}: {rejection:?}"
        );
        assert_eq!(rejection.status(), StatusCode::BAD_REQUEST);
    }
}

#[test]
fn envelope_mismatches_are_422_with_the_member() {
    let cases: &[(&str, &str, &str)] = &[
        (
            r#"{"id":"e","created":1,"data":{}}"#,
            "type",
            "missing field `type`",
        ),
        (
            r#"{"id":"e","type":7,"created":1,"data":{}}"#,
            "type",
            "expected a string",
        ),
        (
            r#"{"type":"a","created":1,"data":{}}"#,
            "id",
            "missing field `id`",
        ),
        (
            r#"{"id":{"x":1},"type":"a","created":1,"data":{}}"#,
            "id",
            "expected a string or an integer",
        ),
        (
            r#"{"id":"e","type":"a","data":{}}"#,
            "created",
            "missing field `created`",
        ),
        (
            r#"{"id":"e","type":"a","created":"yesterday","data":{}}"#,
            "created",
            "invalid RFC 3339 timestamp `yesterday`",
        ),
        (
            r#"{"id":"e","type":"a","created":1.5,"data":{}}"#,
            "created",
            "an RFC 3339 timestamp or integer Unix seconds",
        ),
        (
            r#"{"id":"e","type":"a","created":1,"created":2,"data":{}}"#,
            "created",
            "duplicate field `created`",
        ),
        (
            r#"{"id":"e","type":"a","created":1}"#,
            "data",
            "missing field `data`",
        ),
        (r#"[1,2]"#, ".", "expected a webhook event"),
    ];
    for (body, path, reason) in cases {
        let rejection = extract::<Value>(body).unwrap_err();
        match &rejection {
            EventRejection::InvalidEnvelope {
                path: got,
                reason: why,
            } => {
                assert_eq!(got, path, "{body}");
                assert!(
                    why.contains(reason),
                    "{body}: `{why}` should contain `{reason}`"
                );
            }
            other => panic!("{body}: unexpected {other:?}"),
        }
        assert_problem(
            &rejection,
            422,
            "invalid_envelope",
            &[&format!("`{path}`"), reason],
        );
    }
}

#[test]
fn data_mismatch_is_422_with_the_json_path() {
    let body = r#"{"id":"e","type":"payout.created","created":1,"data":{"payout_id":"po_1","amount":"12"}}"#;
    let rejection = extract::<Payout>(body).unwrap_err();
    match &rejection {
        EventRejection::InvalidData {
            path,
            reason,
            line,
            column,
        } => {
            assert_eq!(path, "data.amount");
            assert!(
                reason.contains("invalid type: string \"12\", expected u64"),
                "{reason}"
            );
            assert_eq!((*line, *column), (1, 86));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_problem(
        &rejection,
        422,
        "invalid_data",
        &["`data.amount`", "expected u64", "line 1 column 86"],
    );

    // A missing field inside `data`, and the same through a tagged enum.
    let body = r#"{"id":"e","type":"payout.created","created":1,"data":{"amount":12}}"#;
    for rejection in [
        extract::<Payout>(body).unwrap_err(),
        extract::<PayoutEvent>(body).unwrap_err(),
    ] {
        assert_problem(
            &rejection,
            422,
            "invalid_data",
            &["`data`", "missing field `payout_id`"],
        );
    }
    let body = r#"{"id":"e","type":"payout.failed","created":1,"data":{"payout_id":"po_1","reason":false}}"#;
    let rejection = extract::<PayoutEvent>(body).unwrap_err();
    assert_problem(&rejection, 422, "invalid_data", &["`data.reason`"]);
}

#[test]
fn an_enum_without_the_type_is_422_unsupported() {
    let body =
        r#"{"id":"e","type":"payout.reversed","created":1,"data":{"payout_id":"po_1","amount":1}}"#;
    let rejection = extract::<PayoutEvent>(body).unwrap_err();
    assert_eq!(
        rejection,
        EventRejection::UnsupportedType {
            event_type: "payout.reversed".into()
        }
    );
    assert_problem(
        &rejection,
        422,
        "unsupported_event_type",
        &["`payout.reversed`"],
    );
}

#[test]
fn created_accepts_rfc3339_and_unix_seconds() {
    let with = |created: &str| {
        let body = format!(r#"{{"id":"e","type":"a","created":{created},"data":null}}"#);
        extract::<Value>(&body).map(|event| event.created.unwrap())
    };
    let at = datetime!(2025-11-02 10:05:00 UTC);
    assert_eq!(with("1762077900").unwrap(), at);
    assert_eq!(with(r#""2025-11-02T10:05:00Z""#).unwrap(), at);
    assert_eq!(with(r#""2025-11-02T12:05:00+02:00""#).unwrap(), at);
    let precise = with(r#""2025-11-02T10:05:00.123456789Z""#).unwrap();
    assert_eq!(precise.nanosecond(), 123_456_789);
    assert_eq!(precise.unix_timestamp(), 1_762_077_900);
    assert_eq!(with("0").unwrap().unix_timestamp(), 0);
    assert_eq!(with("-1").unwrap().unix_timestamp(), -1);
    // Not RFC 3339: no offset, or a date alone.
    assert!(with(r#""2025-11-02T10:05:00""#).is_err());
    assert!(with(r#""2025-11-02""#).is_err());
    // Out of range for a date.
    assert_eq!(
        with("99999999999999999").unwrap_err().code(),
        "invalid_envelope"
    );
    // Standard Webhooks calls it `timestamp`.
    let body = r#"{"id":"e","type":"a","timestamp":"2025-11-02T10:05:00Z","data":null}"#;
    assert_eq!(extract::<Value>(body).unwrap().created, Some(at));
}

#[test]
fn data_in_any_order_and_extra_members_ignored() {
    // Stripe's order: `data` first, `type` last, and many other members.
    let body = r#"{"object":"event","data":{"payout_id":"po_1","amount":5},"livemode":false,
                   "created":1762077900,"id":"evt_9","request":{"id":null},"type":"payout.created"}"#;
    let event = extract::<PayoutEvent>(body).unwrap();
    assert_eq!(
        event.data,
        PayoutEvent::Created(Payout {
            payout_id: "po_1".into(),
            amount: 5
        })
    );
    assert_eq!(event.id, "evt_9");
    assert_eq!(extract::<Payout>(body).unwrap().data.amount, 5);
    // An integer id is kept as text.
    let body = r#"{"id":12345,"type":"a","created":1,"data":[1,2]}"#;
    let event = extract::<Vec<u8>>(body).unwrap();
    assert_eq!((event.id.as_str(), event.data), ("12345", vec![1, 2]));
}

#[test]
fn the_marker_is_exposed_and_fills_in_id_and_created() {
    // Standard Webhooks: the id and timestamp are headers; the body has neither.
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let body = br#"{"type":"contact.created","data":{"name":"Ada"}}"#;
    let signed_at = 1_762_077_900;
    let headers = Signer::new(StandardWebhooks, secret)
        .unwrap()
        .sign(body, signed_at, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W")
        .unwrap();
    let verifier = Verifier::builder(StandardWebhooks)
        .secret("2025-11", secret)
        .clock(move || UNIX_EPOCH + Duration::from_secs(signed_at as u64))
        .build()
        .unwrap();
    let delivery = verifier
        .verify(&headers, &Bytes::from_static(body))
        .unwrap();

    let event = WebhookEvent::<Value>::from_delivery(delivery).unwrap();
    assert_eq!(event.id, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W");
    assert_eq!(event.created.unwrap().unix_timestamp(), signed_at);
    assert_eq!(event.scheme(), "standard");
    assert_eq!(event.key_id().as_str(), "2025-11");
    assert_eq!(event.delivery().body(), &body[..]);
    assert_eq!(event.data["name"], "Ada");
    // Members in the body win over the headers.
    let event = extract::<Value>(COMPLETED).unwrap();
    assert_eq!(event.id, "evt_2");
}

// The router.

fn request(body: &str) -> Request<()> {
    let mut request = Request::post("/webhooks").body(()).unwrap();
    request.extensions_mut().insert(delivery(body));
    request
}

async fn send(router: &EventRouter, request: Request<()>) -> (StatusCode, String, Bytes) {
    let response = router.clone().oneshot(request).await.unwrap();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let status = response.status();
    (
        status,
        content_type,
        response.into_body().collect().await.unwrap().to_bytes(),
    )
}

#[derive(Default)]
struct Seen {
    created: AtomicUsize,
    completed: AtomicUsize,
    failed: AtomicUsize,
    other: AtomicUsize,
}

fn payout_router(seen: Arc<Seen>) -> EventRouter {
    let others = seen.clone();
    EventRouter::new()
        .on_each(
            ["payout.created", "payout.completed", "payout.failed"],
            move |event: WebhookEvent<PayoutEvent>| {
                let seen = seen.clone();
                async move {
                    let counter = match &event.data {
                        PayoutEvent::Created(_) => &seen.created,
                        PayoutEvent::Completed(_) => &seen.completed,
                        PayoutEvent::Failed { .. } => &seen.failed,
                    };
                    counter.fetch_add(1, AtomicOrdering::SeqCst);
                    Handled::Processed
                }
            },
        )
        .on("invoice.paid", move |event: WebhookEvent<Value>| {
            let seen = others.clone();
            async move {
                seen.other.fetch_add(1, AtomicOrdering::SeqCst);
                (StatusCode::ACCEPTED, event.data)
            }
        })
}

#[tokio::test]
async fn the_router_dispatches_a_typed_enum_by_type() {
    let seen = Arc::new(Seen::default());
    let router = payout_router(seen.clone());
    assert!(router.handles("payout.failed"));
    assert!(!router.handles("payout.reversed"));

    let (status, content_type, body) = send(&router, request(COMPLETED)).await;
    assert_eq!(
        (status, content_type.as_str()),
        (StatusCode::OK, "application/json")
    );
    assert_eq!(body, r#"{"status":"processed"}"#);
    let failed = r#"{"type":"payout.failed","id":"e3","created":1,"data":{"payout_id":"po_1","reason":"closed"}}"#;
    assert_eq!(send(&router, request(failed)).await.0, StatusCode::OK);
    let paid = r#"{"type":"invoice.paid","id":"e4","created":1,"data":{"n":1}}"#;
    let (status, _, body) = send(&router, request(paid)).await;
    assert_eq!(
        (status, &body[..]),
        (StatusCode::ACCEPTED, &br#"{"n":1}"#[..])
    );

    assert_eq!(seen.created.load(AtomicOrdering::SeqCst), 0);
    assert_eq!(seen.completed.load(AtomicOrdering::SeqCst), 1);
    assert_eq!(seen.failed.load(AtomicOrdering::SeqCst), 1);
    assert_eq!(seen.other.load(AtomicOrdering::SeqCst), 1);
}

#[tokio::test]
async fn the_router_ignores_unknown_types_with_200() {
    let seen = Arc::new(Seen::default());
    let router = payout_router(seen.clone());
    let unknown = r#"{"id":"e","type":"payout.reversed","created":1,"data":{"anything":[1,2,3]}}"#;
    let (status, content_type, body) = send(&router, request(unknown)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type, "application/json");
    assert_eq!(body, r#"{"status":"ignored"}"#);
    let total = seen.created.load(AtomicOrdering::SeqCst)
        + seen.completed.load(AtomicOrdering::SeqCst)
        + seen.failed.load(AtomicOrdering::SeqCst)
        + seen.other.load(AtomicOrdering::SeqCst);
    assert_eq!(total, 0, "no handler ran");

    // Configurable: a fallback handler.
    let router = payout_router(seen.clone()).fallback(|event: WebhookEvent<Value>| async move {
        assert_eq!(event.event_type, "payout.reversed");
        StatusCode::NOT_IMPLEMENTED
    });
    assert_eq!(
        send(&router, request(unknown)).await.0,
        StatusCode::NOT_IMPLEMENTED
    );
}

#[tokio::test]
async fn the_router_answers_rejections_as_problems() {
    let router = payout_router(Arc::default());
    let unsigned = Request::post("/webhooks").body(()).unwrap();
    let (status, content_type, body) = send(&router, unsigned).await;
    assert_eq!(
        (status, content_type.as_str()),
        (StatusCode::INTERNAL_SERVER_ERROR, PROBLEM_JSON)
    );
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["code"], "missing_verified_delivery");

    let cases = [
        ("{\"type\":", 400, "malformed_json"),
        (
            r#"{"id":"e","created":1,"data":{}}"#,
            422,
            "invalid_envelope",
        ),
        (
            r#"{"id":"e","type":"payout.created","created":"soon","data":{}}"#,
            422,
            "invalid_envelope",
        ),
        (
            r#"{"id":"e","type":"payout.created","created":1,"data":{"payout_id":1}}"#,
            422,
            "invalid_data",
        ),
        // Malformed even though nobody handles the type.
        (
            r#"{"id":"e","type":"nobody.cares","data":{]}"#,
            400,
            "malformed_json",
        ),
    ];
    for (body, status, code) in cases {
        let (got, content_type, answer) = send(&router, request(body)).await;
        assert_eq!(got.as_u16(), status, "{body}");
        assert_eq!(content_type, PROBLEM_JSON);
        let answer: Value = serde_json::from_slice(&answer).unwrap();
        assert_eq!(answer["code"], code, "{body}");
    }

    // Remapped.
    let router = payout_router(Arc::default()).on_rejection(|rejection| {
        let mut response = Response::new(Bytes::from(rejection.code()));
        *response.status_mut() = StatusCode::OK;
        response
    });
    let (status, _, body) = send(&router, request("{")).await;
    assert_eq!(
        (status, &body[..]),
        (StatusCode::OK, &b"malformed_json"[..])
    );
}

#[tokio::test]
async fn a_handler_taking_a_result_answers_the_events_that_do_not_parse() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let router = EventRouter::new().on_each(
        ["payout.created", "payout.completed"],
        move |event: Result<WebhookEvent<PayoutEvent>, RejectedEvent>| {
            counted.fetch_add(1, AtomicOrdering::SeqCst);
            async move {
                match event {
                    Ok(event) => (StatusCode::OK, serde_json::json!({ "applied": event.id })),
                    Err(RejectedEvent {
                        rejection: EventRejection::InvalidData { path, .. },
                        delivery,
                    }) => (
                        StatusCode::OK,
                        serde_json::json!({ "invalid": delivery.event_id(), "path": path }),
                    ),
                    Err(other) => (
                        StatusCode::BAD_GATEWAY,
                        serde_json::json!({ "other": other.rejection.code() }),
                    ),
                }
            }
        },
    );
    let (status, _, body) = send(&router, request(COMPLETED)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, r#"{"applied":"evt_2"}"#);

    // The handler's own answer, with the delivery's event id, not the router's 422.
    let bad =
        r#"{"id":"evt_3","type":"payout.created","created":1,"data":{"payout_id":7,"amount":1}}"#;
    let marked = delivery(bad).with_event_id("evt_3");
    let mut with_marker = Request::post("/webhooks").body(()).unwrap();
    with_marker.extensions_mut().insert(marked);
    let (status, _, body) = send(&router, with_marker).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, r#"{"invalid":"evt_3","path":"data.payout_id"}"#);

    // Every other rejection of the parse reaches the handler too.
    let no_created = r#"{"id":"evt_4","type":"payout.created","created":"soon","data":{}}"#;
    let (status, _, body) = send(&router, request(no_created)).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert_eq!(body, r#"{"other":"invalid_envelope"}"#);
    assert_eq!(calls.load(AtomicOrdering::SeqCst), 3);

    // What the router refuses before choosing a handler never reaches one.
    let (status, _, _) = send(&router, request("{")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(calls.load(AtomicOrdering::SeqCst), 3);
}

#[tokio::test]
async fn handlers_can_use_question_mark() {
    let router = EventRouter::new().on("a", |event: WebhookEvent<Value>| async move {
        let amount = event.data["amount"]
            .as_u64()
            .ok_or(StatusCode::UNPROCESSABLE_ENTITY)?;
        Ok::<_, StatusCode>(if amount > 0 {
            Handled::Processed
        } else {
            Handled::Ignored
        })
    });
    let ok = r#"{"id":"e","type":"a","created":1,"data":{"amount":1}}"#;
    assert_eq!(
        send(&router, request(ok)).await.2,
        r#"{"status":"processed"}"#
    );
    let bad = r#"{"id":"e","type":"a","created":1,"data":{}}"#;
    assert_eq!(
        send(&router, request(bad)).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
}

#[test]
#[should_panic(expected = "the event type `a` already has a handler")]
fn routing_a_type_twice_panics() {
    let _ = EventRouter::new()
        .on("a", |_: WebhookEvent| async {})
        .on_each(["b", "a"], |_: WebhookEvent| async {});
}

#[tokio::test]
async fn behind_the_signature_layer() {
    let verifier = Verifier::builder(HopNow)
        .secret("k1", "dev-secret")
        .build()
        .unwrap();
    let seen = Arc::new(Seen::default());
    let service = ServiceBuilder::new()
        .layer(VerifySignatureLayer::new(verifier))
        .service(payout_router(seen.clone()));

    let mut signed = Request::post("/webhooks")
        .body(COMPLETED.to_owned())
        .unwrap();
    let headers = Signer::new(HopNow, "dev-secret")
        .unwrap()
        .sign(COMPLETED.as_bytes(), 0, "")
        .unwrap();
    signed.headers_mut().extend(headers);
    let response = service.clone().oneshot(signed).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(seen.completed.load(AtomicOrdering::SeqCst), 1);

    // A forged delivery never reaches the router.
    let forged = Request::post("/webhooks")
        .header("x-webhook-signature", "00".repeat(32))
        .body(COMPLETED.to_owned())
        .unwrap();
    let response = service.oneshot(forged).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(seen.completed.load(AtomicOrdering::SeqCst), 1);
}

#[tokio::test]
async fn routed_responses_carry_the_event_type_for_outer_layers() {
    use tower::ServiceExt;
    let router = payout_router(Arc::new(Seen::default()));
    let response = router.clone().oneshot(request(COMPLETED)).await.unwrap();
    assert_eq!(
        response
            .extensions()
            .get::<webhook_core::EventType>()
            .map(|t| t.as_str()),
        Some("payout.completed")
    );
    let unknown = r#"{"id":"e","type":"payout.reversed","created":1,"data":{}}"#;
    let response = router.clone().oneshot(request(unknown)).await.unwrap();
    assert_eq!(
        response
            .extensions()
            .get::<webhook_core::EventType>()
            .map(|t| t.as_str()),
        Some("payout.reversed")
    );
    let response = router.oneshot(request("not json")).await.unwrap();
    assert!(
        response
            .extensions()
            .get::<webhook_core::EventType>()
            .is_none()
    );
}

/// serde_json does not look at the bytes of a member it skips, so invalid UTF-8 there
/// must be caught on its own; and `""` is no event's id or type.
#[tokio::test]
async fn invalid_utf8_anywhere_is_400_empty_ids_or_types_422_and_no_handler_runs() {
    let delivery_with = |body: &[u8]| {
        VerifiedDelivery::new("hopnow", KeyId::from("k1"), Bytes::from(body.to_vec()))
    };
    let skipped = b"{\"id\":\"evt_3\",\"type\":\"invoice.paid\",\n\"extra\":\"\xd0\x30\",\"created\":1,\"data\":{}}";
    let rejection = WebhookEvent::<Value>::from_delivery(delivery_with(skipped)).unwrap_err();
    assert_eq!(
        rejection,
        EventRejection::MalformedJson {
            line: 2,
            column: 10,
            reason: "invalid UTF-8".to_owned()
        }
    );
    assert_problem(&rejection, 400, "malformed_json", &["invalid UTF-8"]);
    // Valid UTF-8 in the same place is fine.
    let fine =
        "{\"id\":\"evt_3\",\"type\":\"invoice.paid\",\"extra\":\"Ð0\",\"created\":1,\"data\":{}}";
    assert_eq!(extract::<Value>(fine).unwrap().id, "evt_3");

    for (body, field) in [
        (
            r#"{"id":"","type":"invoice.paid","created":1,"data":{}}"#,
            "id",
        ),
        (r#"{"id":"evt_4","type":"","created":1,"data":{}}"#, "type"),
    ] {
        let rejection = extract::<Value>(body).unwrap_err();
        assert_eq!(
            rejection,
            EventRejection::InvalidEnvelope {
                path: field.to_owned(),
                reason: format!("field `{field}` is empty"),
            }
        );
        assert_problem(&rejection, 422, "invalid_envelope", &["is empty"]);
    }

    // Through the router: refused, and no handler runs.
    let seen = Arc::new(Seen::default());
    let router = payout_router(seen.clone());
    let mut invalid = Request::post("/webhooks").body(()).unwrap();
    invalid.extensions_mut().insert(delivery_with(skipped));
    let (status, _, _) = send(&router, invalid).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    for body in [
        r#"{"id":"","type":"invoice.paid","created":1,"data":{}}"#,
        r#"{"id":"evt_5","type":"","created":1,"data":{}}"#,
    ] {
        let (status, _, reply) = send(&router, request(body)).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {reply:?}"
        );
    }
    assert_eq!(seen.other.load(AtomicOrdering::SeqCst), 0);
}
