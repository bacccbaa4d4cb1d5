//! The layer's behaviour, with the in-process store, through the signature layer.

mod common;

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use common::{Recorder, delivery, event, send_ok, stack};
use http::{HeaderName, Request, Response, StatusCode};
use http_body_util::BodyExt;
use tower::{ServiceBuilder, ServiceExt, service_fn};
use webhook_core::{KeyId, RequestHead, VerifiedDelivery};
use webhook_idempotency::store::{
    Claim, Completion, MemoryStore, Store, StoreError, StoreErrorKind, StoredResponse, Token,
};
use webhook_idempotency::{
    ClientErrorPolicy, IdempotencyLayer, MissingKeyPolicy, StoreErrorPolicy,
};
use webhook_signature::scheme::{GitHub, HopNow};
use webhook_signature::{Signer, Verifier, VerifySignatureLayer};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_copies_run_the_handler_once() {
    let recorder = Recorder::default();
    let service = stack(IdempotencyLayer::in_memory(), &recorder);
    common::two_hundred_copies_while_held(std::slice::from_ref(&service), &recorder, "evt_held")
        .await;
    common::two_hundred_copies_racing(&[service], &recorder, "evt_race").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_distinct_events_sent_twice_at_once_each_run_once() {
    let recorder = Recorder::default();
    let service = stack(IdempotencyLayer::in_memory(), &recorder);
    common::thousand_events_twice(&[service], &recorder, "evt").await;
    assert_eq!(recorder.total_runs(), 1000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_layers_sharing_one_store_deduplicate_together() {
    let recorder = Recorder::default();
    let store = MemoryStore::new();
    let a = stack(IdempotencyLayer::new(store.clone()), &recorder);
    let b = stack(IdempotencyLayer::new(store), &recorder);
    common::two_hundred_copies_racing(&[a, b], &recorder, "evt_shared").await;
}

#[tokio::test]
async fn a_failed_handler_is_retried_and_succeeds_once() {
    let recorder = Recorder::default();
    let service = stack(IdempotencyLayer::in_memory(), &recorder);
    common::failure_then_retry(&service, &recorder, "evt_fail").await;
}

#[tokio::test]
async fn a_dropped_handler_future_releases_its_claim() {
    let recorder = Recorder::default();
    let service = stack(IdempotencyLayer::in_memory(), &recorder);
    common::dropped_then_retry(&service, &recorder, "evt_drop", Duration::from_millis(1)).await;
}

#[tokio::test(start_paused = true)]
async fn a_claim_held_past_its_lease_lets_the_retry_through_and_cannot_overwrite_it() {
    let recorder = Recorder::default();
    let service = stack(IdempotencyLayer::in_memory(), &recorder);
    let body = r#"{"id":"evt_stuck","block_runs":1}"#;

    // The first worker hangs (a stuck handler, a crashed process's claim).
    let stuck = tokio::spawn({
        let service = service.clone();
        async move { send_ok(&service, body).await }
    });
    recorder.started().await;
    let early = send_ok(&service, body).await;
    assert_eq!(early.status, StatusCode::CONFLICT);
    assert_eq!(early.retry_after, Some(60));

    tokio::time::advance(Duration::from_secs(30)).await;
    let later = send_ok(&service, body).await;
    assert_eq!(later.status, StatusCode::CONFLICT);
    assert_eq!(later.retry_after, Some(30));

    tokio::time::advance(Duration::from_secs(30)).await;
    let retry = send_ok(&service, body).await;
    assert_eq!(retry.status, StatusCode::OK);
    assert!(!retry.replayed);
    assert_eq!(retry.text(), r#"{"id":"evt_stuck","run":2}"#);

    // The stuck worker finishes late: its client gets its answer, but the record stays
    // the retry's (the token fences it).
    recorder.open_gate();
    let late = stuck.await.unwrap();
    assert_eq!(late.text(), r#"{"id":"evt_stuck","run":1}"#);
    let duplicate = send_ok(&service, body).await;
    assert!(duplicate.replayed);
    assert_eq!(duplicate.text(), r#"{"id":"evt_stuck","run":2}"#);
    assert_eq!(recorder.runs("evt_stuck"), 2);
}

#[tokio::test(start_paused = true)]
async fn records_are_replayed_for_the_retention_then_forgotten() {
    let recorder = Recorder::default();
    let layer = IdempotencyLayer::builder(MemoryStore::new())
        .retention(Duration::from_secs(3600))
        .build()
        .unwrap();
    let service = stack(layer, &recorder);
    assert!(!send_ok(&service, &event("evt_r")).await.replayed);
    tokio::time::advance(Duration::from_secs(3599)).await;
    assert!(send_ok(&service, &event("evt_r")).await.replayed);
    tokio::time::advance(Duration::from_secs(1)).await;
    let after = send_ok(&service, &event("evt_r")).await;
    assert!(!after.replayed);
    assert_eq!(recorder.runs("evt_r"), 2);
}

#[tokio::test]
async fn a_replay_carries_the_status_kept_headers_and_body() {
    let recorder = Recorder::default();
    let service = stack(IdempotencyLayer::in_memory(), &recorder);
    let body = r#"{"id":"evt_h","status":202}"#;
    let first = send_ok(&service, body).await;
    assert_eq!(first.status, StatusCode::ACCEPTED);
    let replay = send_ok(&service, body).await;
    assert_eq!(replay.status, StatusCode::ACCEPTED);
    assert!(replay.replayed);
    assert_eq!(replay.content_type.as_deref(), Some("application/json"));
    assert_eq!(replay.body, first.body);

    // Headers outside the kept list are not replayed, unless configured.
    let raw = |layer| {
        let verifier = Verifier::builder(HopNow)
            .secret("k1", common::SECRET)
            .build()
            .unwrap();
        ServiceBuilder::new()
            .layer(VerifySignatureLayer::new(verifier))
            .layer(layer)
            .service(service_fn(|_request: Request<_>| async {
                let response = Response::builder()
                    .header("x-trace", "abc")
                    .header("content-type", "text/plain")
                    .body(String::from("ok"))
                    .unwrap();
                Ok::<_, Infallible>(response)
            }))
    };
    let default = raw(IdempotencyLayer::in_memory());
    default
        .clone()
        .oneshot(delivery(&event("evt_x")))
        .await
        .unwrap();
    let replay = default.oneshot(delivery(&event("evt_x"))).await.unwrap();
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    assert_eq!(replay.headers()["content-type"], "text/plain");
    assert!(replay.headers().get("x-trace").is_none());

    let layer = IdempotencyLayer::builder(MemoryStore::new())
        .replay_headers([HeaderName::from_static("x-trace")])
        .build()
        .unwrap();
    let configured = raw(layer);
    configured
        .clone()
        .oneshot(delivery(&event("evt_x")))
        .await
        .unwrap();
    let replay = configured.oneshot(delivery(&event("evt_x"))).await.unwrap();
    assert_eq!(replay.headers()["x-trace"], "abc");
    assert!(replay.headers().get("content-type").is_none());
    assert_eq!(replay.into_body().collect().await.unwrap().to_bytes(), "ok");
}

#[tokio::test]
async fn a_large_or_unsized_body_is_streamed_and_replayed_without_body() {
    let recorder = Recorder::default();
    let service = stack(IdempotencyLayer::in_memory(), &recorder);
    let body = r#"{"id":"evt_big","big":100000}"#;
    let first = send_ok(&service, body).await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.body.len(), 100_000);
    let replay = send_ok(&service, body).await;
    assert!(replay.replayed);
    assert_eq!(replay.status, StatusCode::OK);
    assert!(replay.body.is_empty());
    assert_eq!(recorder.runs("evt_big"), 1);
}

#[tokio::test]
async fn client_errors_are_released_by_default_or_recorded_when_configured() {
    let recorder = Recorder::default();
    let body = r#"{"id":"evt_422","status":422}"#;

    let service = stack(IdempotencyLayer::in_memory(), &recorder);
    assert_eq!(
        send_ok(&service, body).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let retry = send_ok(&service, body).await;
    assert_eq!(retry.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!retry.replayed);
    assert_eq!(recorder.runs("evt_422"), 2);

    let recorder = Recorder::default();
    let layer = IdempotencyLayer::builder(MemoryStore::new())
        .client_errors(ClientErrorPolicy::Record)
        .build()
        .unwrap();
    let service = stack(layer, &recorder);
    assert_eq!(
        send_ok(&service, body).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let retry = send_ok(&service, body).await;
    assert_eq!(retry.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(retry.replayed);
    assert_eq!(recorder.runs("evt_422"), 1);
}

#[tokio::test]
async fn a_request_without_the_verified_marker_is_refused_not_processed() {
    let service = ServiceBuilder::new()
        .layer(IdempotencyLayer::in_memory())
        .service(service_fn(|_request: Request<String>| async {
            panic!("the handler must not run without verification");
            #[allow(unreachable_code)]
            Ok::<_, Infallible>(Response::new(String::new()))
        }));
    let response = service.oneshot(delivery(&event("evt_1"))).await.unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let problem: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(problem["code"], "missing_verified_delivery");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("signature layer")
    );
}

#[tokio::test]
async fn a_delivery_without_event_id_is_refused_or_passed_through() {
    let recorder = Recorder::default();
    let service = stack(IdempotencyLayer::in_memory(), &recorder);
    let body = r#"{"type":"ping","data":{"id":"nested"}}"#;
    let answer = send_ok(&service, body).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.code().as_deref(), Some("missing_event_id"));
    assert_eq!(recorder.total_runs(), 0);

    let layer = IdempotencyLayer::builder(MemoryStore::new())
        .missing_key(MissingKeyPolicy::PassThrough)
        .build()
        .unwrap();
    let service = stack(layer, &recorder);
    assert_eq!(send_ok(&service, body).await.status, StatusCode::OK);
    assert_eq!(send_ok(&service, body).await.status, StatusCode::OK);
    assert_eq!(recorder.total_runs(), 2);
}

#[tokio::test]
async fn an_overlong_event_id_is_refused() {
    let recorder = Recorder::default();
    let layer = IdempotencyLayer::builder(MemoryStore::new())
        .max_key_len(8)
        .build()
        .unwrap();
    let service = stack(layer, &recorder);
    let answer = send_ok(&service, &event("evt_123456789")).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.code().as_deref(), Some("invalid_event_id"));
    assert_eq!(
        send_ok(&service, &event("evt_1")).await.status,
        StatusCode::OK
    );
    assert_eq!(recorder.total_runs(), 1);
}

#[tokio::test]
async fn keys_are_namespaced_by_scheme_unless_a_namespace_is_set() {
    let body = br#"{"id":"evt_same"}"#;
    let run = |layer: IdempotencyLayer, scheme: &'static str| {
        let verifier = match scheme {
            "github" => Verifier::builder(GitHub).secret("k", "s").build().unwrap(),
            _ => Verifier::builder(HopNow).secret("k", "s").build().unwrap(),
        };
        let service = ServiceBuilder::new()
            .layer(VerifySignatureLayer::new(verifier))
            .layer(layer)
            .service(service_fn(|request: Request<_>| async move {
                let delivery = request
                    .extensions()
                    .get::<VerifiedDelivery>()
                    .unwrap()
                    .clone();
                Ok::<_, Infallible>(Response::new(delivery.scheme().to_owned()))
            }));
        async move {
            let mut request = Request::post("/")
                .body(String::from_utf8_lossy(body).into_owned())
                .unwrap();
            let headers = match scheme {
                // The same id, in GitHub's `X-GitHub-Delivery`.
                "github" => Signer::new(GitHub, "s")
                    .unwrap()
                    .sign(body, 0, "evt_same")
                    .unwrap(),
                _ => Signer::new(HopNow, "s").unwrap().sign(body, 0, "").unwrap(),
            };
            request.headers_mut().extend(headers);
            service.oneshot(request).await.unwrap()
        }
    };
    let store = MemoryStore::new();
    let hopnow = run(IdempotencyLayer::new(store.clone()), "hopnow").await;
    let github = run(IdempotencyLayer::new(store.clone()), "github").await;
    assert!(hopnow.headers().get("idempotent-replayed").is_none());
    assert!(github.headers().get("idempotent-replayed").is_none());
    assert_eq!(store.len(), 2);

    let store = MemoryStore::new();
    let shared = IdempotencyLayer::builder(store.clone())
        .namespace("acme")
        .build()
        .unwrap();
    let first = run(shared.clone(), "hopnow").await;
    let second = run(shared, "github").await;
    assert!(first.headers().get("idempotent-replayed").is_none());
    assert_eq!(second.headers()["idempotent-replayed"], "true");
    assert_eq!(
        second.into_body().collect().await.unwrap().to_bytes(),
        "hopnow"
    );
}

#[tokio::test]
async fn the_event_id_can_come_from_a_header_a_pointer_or_a_closure() {
    let recorder = Recorder::default();
    let layer = IdempotencyLayer::builder(MemoryStore::new())
        .json_pointer("/data/object/id")
        .build()
        .unwrap();
    let service = stack(layer, &recorder);
    let a = r#"{"id":"evt_a","data":{"object":{"id":"pi_1"}}}"#;
    let b = r#"{"id":"evt_b","data":{"object":{"id":"pi_1"}}}"#;
    assert!(!send_ok(&service, a).await.replayed);
    assert!(send_ok(&service, b).await.replayed);

    let layer = IdempotencyLayer::builder(MemoryStore::new())
        .header(HeaderName::from_static("x-attempt"))
        .build()
        .unwrap();
    let service = stack(layer, &recorder);
    let with = |id: &str| {
        let mut request = delivery(&event("evt_c"));
        request
            .headers_mut()
            .insert("x-attempt", id.parse().unwrap());
        request
    };
    let first = common::send(&service, with("one")).await.unwrap();
    let second = common::send(&service, with("two")).await.unwrap();
    let third = common::send(&service, with("one")).await.unwrap();
    assert!(!first.replayed && !second.replayed && third.replayed);

    let layer = IdempotencyLayer::builder(MemoryStore::new())
        .key(|head: &RequestHead<'_>| Some(format!("len-{}", head.delivery()?.body().len())))
        .build()
        .unwrap();
    let service = stack(layer, &recorder);
    assert!(!send_ok(&service, r#"{"id":"x1"}"#).await.replayed);
    assert!(send_ok(&service, r#"{"id":"x2"}"#).await.replayed);

    let invalid = IdempotencyLayer::builder(MemoryStore::new())
        .json_pointer("data")
        .build();
    assert!(invalid.is_err());
}

/// A store that is down: every operation fails.
#[derive(Clone, Copy)]
struct DownStore;

impl Store for DownStore {
    async fn claim(&self, _: &str, _: Token, _: Duration) -> Result<Claim, StoreError> {
        Err(StoreError::new(
            StoreErrorKind::Unavailable,
            "connection refused",
        ))
    }

    async fn extend(&self, _: &str, _: Token, _: Duration) -> Result<bool, StoreError> {
        Err(StoreError::new(
            StoreErrorKind::Unavailable,
            "connection refused",
        ))
    }

    async fn complete(
        &self,
        _: &str,
        _: Token,
        _: &StoredResponse,
        _: Duration,
    ) -> Result<Completion, StoreError> {
        Err(StoreError::new(
            StoreErrorKind::Unavailable,
            "connection refused",
        ))
    }

    async fn release(&self, _: &str, _: Token) -> Result<bool, StoreError> {
        Err(StoreError::new(
            StoreErrorKind::Unavailable,
            "connection refused",
        ))
    }
}

#[tokio::test]
async fn a_failing_store_means_503_by_default_or_processing_without_dedup_when_allowed() {
    let recorder = Recorder::default();
    let service = stack(IdempotencyLayer::new(DownStore), &recorder);
    let answer = send_ok(&service, &event("evt_down")).await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.retry_after, Some(5));
    assert_eq!(answer.code().as_deref(), Some("store_unavailable"));
    assert_eq!(recorder.total_runs(), 0);

    let layer = IdempotencyLayer::builder(DownStore)
        .store_errors(StoreErrorPolicy::PassThrough)
        .build()
        .unwrap();
    let service = stack(layer, &recorder);
    assert_eq!(
        send_ok(&service, &event("evt_down")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        send_ok(&service, &event("evt_down")).await.status,
        StatusCode::OK
    );
    assert_eq!(recorder.runs("evt_down"), 2);
}

#[tokio::test]
async fn a_full_memory_store_refuses_new_claims_with_503() {
    let recorder = Recorder::default();
    let store = MemoryStore::with_capacity(1);
    let service = stack(IdempotencyLayer::new(store), &recorder);
    let held = tokio::spawn({
        let service = service.clone();
        async move { send_ok(&service, r#"{"id":"evt_hold","block_runs":1}"#).await }
    });
    recorder.started().await;
    let answer = send_ok(&service, &event("evt_other")).await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(recorder.runs("evt_other"), 0);
    recorder.open_gate();
    assert_eq!(held.await.unwrap().status, StatusCode::OK);
    // Full of a record now, not of a claim: the record is evicted for the new event.
    assert_eq!(
        send_ok(&service, &event("evt_other")).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn rejections_can_be_rendered_by_the_user() {
    let layer = IdempotencyLayer::builder(MemoryStore::new())
        .on_rejection(|rejection| {
            let mut response = Response::new(Bytes::from(format!(
                "custom {}",
                webhook_core::Rejection::code(rejection)
            )));
            *response.status_mut() = StatusCode::IM_A_TEAPOT;
            response
        })
        .build()
        .unwrap();
    let service =
        ServiceBuilder::new()
            .layer(layer)
            .service(service_fn(|_: Request<String>| async {
                Ok::<_, Infallible>(Response::new(String::new()))
            }));
    let response = service.oneshot(Request::new(String::new())).await.unwrap();
    assert_eq!(response.status(), StatusCode::IM_A_TEAPOT);
    assert_eq!(
        response.into_body().collect().await.unwrap().to_bytes(),
        "custom missing_verified_delivery"
    );
}

#[tokio::test]
async fn the_service_keeps_the_request_intact_and_exposes_its_inner_service() {
    let marker = VerifiedDelivery::new(
        "hopnow",
        KeyId::from("k"),
        Bytes::from_static(br#"{"id":"e"}"#),
    )
    .with_event_id_from_body();
    let mut request = Request::post("/hook?x=1")
        .body(String::from("body"))
        .unwrap();
    request.extensions_mut().insert(marker);
    request.extensions_mut().insert(42u32);
    let inner = service_fn(|request: Request<String>| async move {
        assert_eq!(request.uri(), "/hook?x=1");
        assert_eq!(request.extensions().get::<u32>(), Some(&42));
        Ok::<_, Infallible>(Response::new(request.into_body()))
    });
    let mut service = webhook_idempotency::Idempotency::new(inner, MemoryStore::new());
    let _: &_ = service.get_ref();
    let _: &mut _ = service.get_mut();
    let response = service.clone().oneshot(request).await.unwrap();
    assert_eq!(
        response.into_body().collect().await.unwrap().to_bytes(),
        "body"
    );
    let _inner = service.into_inner();
}
