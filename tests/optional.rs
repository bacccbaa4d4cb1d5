//! `OptionalLayer`: a layer applied or left out by configuration, one service type
//! either way, each way behaving as the layer or its absence.

use std::convert::Infallible;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use http::{Request, Response, StatusCode};
use tower::util::BoxCloneSyncService;
use tower::{ServiceBuilder, ServiceExt, service_fn};
use tower_webhook::core::VerifiedBody;
use tower_webhook::idempotency::IdempotencyLayer;
use tower_webhook::observe::ObserveLayer;
use tower_webhook::ratelimit::{Quota, RateLimitLayer, VerifiedSource};
use tower_webhook::signature::{Signer, Verifier, VerifySignatureLayer, scheme::HopNow};
use tower_webhook::{OptionalLayer, WebhookStack};

const SECRET: &str = "optional-secret";

type Receiver = BoxCloneSyncService<Request<String>, (StatusCode, bool), Infallible>;

/// The stack with each optional piece on or off, as a configuration would choose;
/// every combination is the same service type.
fn receiver(limit: bool, deduplicate: bool, observe: bool, runs: &Arc<AtomicUsize>) -> Receiver {
    let verifier = Verifier::builder(HopNow)
        .secret("current", SECRET)
        .build()
        .unwrap();
    let quota = Quota::per_hour(NonZeroU32::new(2).unwrap());
    let rate_limit = limit.then(|| {
        RateLimitLayer::builder(quota)
            .key(VerifiedSource)
            .build()
            .unwrap()
    });
    let stack = WebhookStack::new(VerifySignatureLayer::new(verifier))
        .observe(OptionalLayer::new(observe.then(ObserveLayer::new)))
        .limit_per_source(OptionalLayer::new(rate_limit))
        .idempotency(OptionalLayer::new(
            deduplicate.then(IdempotencyLayer::in_memory),
        ));
    let runs = runs.clone();
    let service =
        ServiceBuilder::new()
            .layer(stack)
            .service(service_fn(move |_: Request<VerifiedBody>| {
                runs.fetch_add(1, Ordering::SeqCst);
                async { Ok::<_, Infallible>(Response::new(String::from("processed"))) }
            }));
    let service = ServiceExt::<Request<String>>::map_response(service, |response| {
        let replayed = response.headers().contains_key("idempotent-replayed");
        (response.status(), replayed)
    });
    BoxCloneSyncService::new(service)
}

async fn send(receiver: &Receiver, id: &str) -> (StatusCode, bool) {
    let body = format!(r#"{{"id":"{id}","type":"ping"}}"#);
    let headers = Signer::new(HopNow, SECRET)
        .unwrap()
        .sign(body.as_bytes(), 0, "")
        .unwrap();
    let mut request = Request::post("/webhooks").body(body).unwrap();
    request.headers_mut().extend(headers);
    receiver.clone().oneshot(request).await.unwrap()
}

#[tokio::test]
async fn an_optional_rate_limit_limits_when_present_and_not_when_left_out() {
    let runs = Arc::new(AtomicUsize::new(0));
    let limited = receiver(true, false, false, &runs);
    let answers = [
        send(&limited, "evt_1").await.0,
        send(&limited, "evt_2").await.0,
        send(&limited, "evt_3").await.0,
    ];
    assert_eq!(
        answers,
        [
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );

    let unlimited = receiver(false, false, false, &runs);
    for id in ["evt_1", "evt_2", "evt_3"] {
        assert_eq!(send(&unlimited, id).await.0, StatusCode::OK);
    }
    assert_eq!(runs.load(Ordering::SeqCst), 5);
}

#[tokio::test]
async fn an_optional_idempotency_layer_replays_duplicates_only_when_present() {
    let runs = Arc::new(AtomicUsize::new(0));
    let deduplicated = receiver(false, true, true, &runs);
    assert_eq!(
        send(&deduplicated, "evt_dup").await,
        (StatusCode::OK, false)
    );
    assert_eq!(send(&deduplicated, "evt_dup").await, (StatusCode::OK, true));
    assert_eq!(runs.load(Ordering::SeqCst), 1);

    let runs = Arc::new(AtomicUsize::new(0));
    let plain = receiver(false, false, true, &runs);
    assert_eq!(send(&plain, "evt_dup").await, (StatusCode::OK, false));
    assert_eq!(send(&plain, "evt_dup").await, (StatusCode::OK, false));
    assert_eq!(runs.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_forged_delivery_is_refused_whichever_optional_layers_are_present() {
    for (limit, deduplicate, observe) in [(true, true, true), (false, false, false)] {
        let runs = Arc::new(AtomicUsize::new(0));
        let receiver = receiver(limit, deduplicate, observe, &runs);
        let mut request = Request::post("/webhooks")
            .body(String::from(r#"{"id":"evt_forged"}"#))
            .unwrap();
        let headers = Signer::new(HopNow, "not-the-secret")
            .unwrap()
            .sign(request.body().as_bytes(), 0, "")
            .unwrap();
        request.headers_mut().extend(headers);
        let (status, _) = receiver.oneshot(request).await.unwrap();
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(runs.load(Ordering::SeqCst), 0);
    }
}
