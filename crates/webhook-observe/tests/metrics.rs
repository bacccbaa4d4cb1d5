//! The metrics recorded for each outcome, through a real stack (rate limit, signature,
//! idempotency, event router) under the observe layer, read from a debugging recorder.

mod common;

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use common::*;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use tower::{ServiceBuilder, ServiceExt, service_fn};
use webhook_core::Problem;
use webhook_observe::monitor::ManualClock;
use webhook_observe::{ErrorRateMonitor, ObserveLayer, names};

const VERIFIED_LABELS: [(&str, &str); 2] = [("scheme", "standard"), ("key_id", KEY_ID)];

#[test]
fn a_good_delivery_is_received_verified_processed_and_timed() {
    let (reply, metrics) = with_metrics(|| async {
        let service = stack(observe().build().unwrap(), 100, Gate::default());
        send(&service, delivery("evt_1", "payout.completed")).await
    });
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, r#"{"status":"processed"}"#);

    assert_eq!(metrics.counter(names::RECEIVED, &[]), 1);
    assert_eq!(metrics.counter(names::VERIFIED, &VERIFIED_LABELS), 1);
    assert_eq!(
        metrics.counter(names::PROCESSED, &[("event_type", "payout.completed")]),
        1
    );
    let timings = metrics.histogram(
        names::PROCESSING_SECONDS,
        &[("event_type", "payout.completed")],
    );
    assert_eq!(timings.len(), 1);
    assert!(timings[0] >= 0.0 && timings[0] < 5.0, "{timings:?}");
    assert_eq!(
        metrics.histogram(names::CLOCK_SKEW_SECONDS, &[]),
        [SIGNED_AGO as f64]
    );
    assert!(metrics.series(names::REJECTED).is_empty());
    assert!(metrics.series(names::FAILED).is_empty());
    assert_eq!(metrics.counter(names::DUPLICATES, &[]), 0);
    assert_eq!(metrics.counter(names::RATE_LIMITED, &[]), 0);
}

#[test]
fn forged_and_unsigned_deliveries_are_rejected_with_their_code() {
    let (statuses, metrics) = with_metrics(|| async {
        let service = stack(observe().build().unwrap(), 100, Gate::default());
        let forged = send(&service, forged("evt_1", "payout.completed")).await;
        let mut unsigned = delivery("evt_2", "payout.completed");
        unsigned.headers_mut().remove("webhook-signature");
        let unsigned = send(&service, unsigned).await;
        let stale = {
            let body = body("evt_3", "payout.completed");
            let headers =
                webhook_signature::Signer::new(webhook_signature::scheme::StandardWebhooks, SECRET)
                    .unwrap()
                    .sign(body.as_bytes(), NOW - 301, "evt_3")
                    .unwrap();
            let mut request = Request::post("/webhooks").body(body).unwrap();
            request.headers_mut().extend(headers);
            send(&service, request).await
        };
        [forged, unsigned, stale].map(|reply| (reply.status, reply.code()))
    });
    assert_eq!(
        statuses,
        [
            (StatusCode::UNAUTHORIZED, Some("signature_mismatch".into())),
            (StatusCode::UNAUTHORIZED, Some("missing_signature".into())),
            (
                StatusCode::UNAUTHORIZED,
                Some("timestamp_out_of_tolerance".into())
            ),
        ]
    );
    assert_eq!(metrics.counter(names::RECEIVED, &[]), 3);
    for reason in [
        "signature_mismatch",
        "missing_signature",
        "timestamp_out_of_tolerance",
    ] {
        assert_eq!(
            metrics.counter(names::REJECTED, &[("reason", reason)]),
            1,
            "{reason}"
        );
    }
    assert!(metrics.series(names::VERIFIED).is_empty());
    assert!(metrics.series(names::PROCESSED).is_empty());
    assert!(metrics.histogram(names::CLOCK_SKEW_SECONDS, &[]).is_empty());
}

#[test]
fn a_retry_is_processed_once_and_counted_as_a_duplicate() {
    let (replays, metrics) = with_metrics(|| async {
        let service = stack(observe().build().unwrap(), 100, Gate::default());
        let first = send(&service, delivery("evt_1", "payout.completed")).await;
        let retry = send(&service, delivery("evt_1", "payout.completed")).await;
        (
            first.headers.get("idempotent-replayed").cloned(),
            retry.headers["idempotent-replayed"].clone(),
        )
    });
    assert_eq!(replays.0, None);
    assert_eq!(replays.1, "true");
    assert_eq!(metrics.counter(names::RECEIVED, &[]), 2);
    assert_eq!(metrics.counter(names::VERIFIED, &VERIFIED_LABELS), 2);
    assert_eq!(
        metrics.counter(names::PROCESSED, &[("event_type", "payout.completed")]),
        1
    );
    assert_eq!(metrics.counter(names::DUPLICATES, &[]), 1);
    assert!(metrics.series(names::REJECTED).is_empty());
}

#[test]
fn a_copy_arriving_while_the_first_runs_is_a_duplicate_not_a_rejection() {
    let (statuses, metrics) = with_metrics(|| async {
        let gate = Gate::default();
        let service = stack(observe().build().unwrap(), 100, gate.clone());
        let first = tokio::spawn({
            let service = service.clone();
            async move {
                send(&service, delivery("evt_1", "payout.slow"))
                    .await
                    .status
            }
        });
        gate.entered.notified().await; // the first copy is in the handler
        let second = send(&service, delivery("evt_1", "payout.slow")).await;
        gate.release.notify_one();
        (first.await.unwrap(), second.status, second.code())
    });
    assert_eq!(
        statuses,
        (
            StatusCode::OK,
            StatusCode::CONFLICT,
            Some("in_flight".into())
        )
    );
    assert_eq!(metrics.counter(names::DUPLICATES, &[]), 1);
    assert_eq!(
        metrics.counter(names::PROCESSED, &[("event_type", "payout.slow")]),
        1
    );
    assert!(metrics.series(names::REJECTED).is_empty());
}

#[test]
fn rate_limited_deliveries_are_counted_apart() {
    let (statuses, metrics) = with_metrics(|| async {
        let service = stack(observe().build().unwrap(), 2, Gate::default());
        let mut statuses = Vec::new();
        for id in ["evt_1", "evt_2", "evt_3"] {
            statuses.push(
                send(&service, delivery(id, "payout.completed"))
                    .await
                    .status,
            );
        }
        statuses
    });
    assert_eq!(
        statuses,
        [
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
    assert_eq!(metrics.counter(names::RECEIVED, &[]), 3);
    assert_eq!(metrics.counter(names::RATE_LIMITED, &[]), 1);
    assert_eq!(
        metrics.counter(names::PROCESSED, &[("event_type", "payout.completed")]),
        2
    );
    // The limit runs before verification: the refused copy was never verified.
    assert_eq!(metrics.counter(names::VERIFIED, &VERIFIED_LABELS), 2);
    assert!(metrics.series(names::REJECTED).is_empty());
}

#[test]
fn the_grpc_answer_of_the_rate_limit_is_counted_as_rate_limited() {
    let (replies, metrics) = with_metrics(|| async {
        let service = stack(observe().build().unwrap(), 1, Gate::default());
        let grpc = |id: &str| {
            let mut request = delivery(id, "payout.completed");
            request.headers_mut().insert(
                "content-type",
                http::HeaderValue::from_static("application/grpc"),
            );
            request
        };
        let first = send(&service, grpc("evt_1")).await;
        let second = send(&service, grpc("evt_2")).await;
        (
            first.status,
            second.status,
            second.headers.get("grpc-status").cloned(),
        )
    });
    assert_eq!(replies.0, StatusCode::OK);
    assert_eq!(replies.1, StatusCode::OK);
    assert_eq!(replies.2.unwrap(), "8");
    assert_eq!(metrics.counter(names::RATE_LIMITED, &[]), 1);
    assert_eq!(
        metrics.counter(names::PROCESSED, &[("event_type", "payout.completed")]),
        1
    );
}

#[test]
fn a_failing_handler_is_counted_as_failed_with_its_type() {
    let (status, metrics) = with_metrics(|| async {
        let service = stack(observe().build().unwrap(), 100, Gate::default());
        send(&service, delivery("evt_1", "payout.failed"))
            .await
            .status
    });
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        metrics.counter(names::FAILED, &[("event_type", "payout.failed")]),
        1
    );
    assert_eq!(
        metrics
            .histogram(
                names::PROCESSING_SECONDS,
                &[("event_type", "payout.failed")]
            )
            .len(),
        1
    );
    // Still verified: the failure came after the signature.
    assert_eq!(metrics.counter(names::VERIFIED, &VERIFIED_LABELS), 1);
    assert!(metrics.series(names::PROCESSED).is_empty());
    assert!(metrics.series(names::REJECTED).is_empty());
}

#[test]
fn an_error_from_the_inner_service_is_a_failure_of_unknown_type() {
    let (result, metrics) = with_metrics(|| async {
        let service = ServiceBuilder::new()
            .layer(observe().build().unwrap())
            .service(service_fn(|_: Request<String>| async {
                Err::<Response<String>, _>(std::io::Error::other("connection reset"))
            }));
        service.oneshot(Request::new(String::new())).await
    });
    assert_eq!(result.unwrap_err().to_string(), "connection reset");
    assert_eq!(metrics.counter(names::RECEIVED, &[]), 1);
    assert_eq!(
        metrics.counter(names::FAILED, &[("event_type", "unknown")]),
        1
    );
}

#[test]
fn an_unknown_event_type_is_processed_under_other() {
    let (reply, metrics) = with_metrics(|| async {
        let service = stack(observe().build().unwrap(), 100, Gate::default());
        send(&service, delivery("evt_1", "balance.available")).await
    });
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, r#"{"status":"ignored"}"#);
    assert_eq!(
        metrics.series(names::PROCESSED),
        [vec![("event_type".to_owned(), "other".to_owned())]]
    );
    assert_eq!(
        metrics.counter(names::PROCESSED, &[("event_type", "other")]),
        1
    );
}

#[test]
fn a_hostile_sender_cannot_create_series_with_random_event_types() {
    let (_, metrics) = with_metrics(|| async {
        let service = stack(observe().build().unwrap(), 1000, Gate::default());
        for n in 0..200 {
            let event_type = format!("attack.{n:x}.{}", n * 7919);
            let reply = send(&service, delivery(&format!("evt_{n}"), &event_type)).await;
            assert_eq!(reply.status, StatusCode::OK);
        }
    });
    assert_eq!(
        metrics.series(names::PROCESSED),
        [vec![("event_type".to_owned(), "other".to_owned())]]
    );
    assert_eq!(
        metrics.counter(names::PROCESSED, &[("event_type", "other")]),
        200
    );
    assert_eq!(
        metrics.series(names::PROCESSING_SECONDS).len(),
        1,
        "one histogram series"
    );
}

type Answer = std::future::Ready<Result<Response<Full<Bytes>>, Infallible>>;

/// A service answering every request with a 400 problem of code `code`.
fn answering(code: &'static str) -> impl Fn(Request<String>) -> Answer + Clone {
    move |_| {
        let problem = Problem::new(StatusCode::BAD_REQUEST, code, "refused");
        std::future::ready(Ok(problem.into_response().map(Full::new)))
    }
}

#[test]
fn unknown_rejection_codes_are_counted_as_other_unless_added() {
    let (_, metrics) = with_metrics(|| async {
        let service = ServiceBuilder::new()
            .layer(observe().build().unwrap())
            .service(service_fn(answering("made_up_code")));
        send(&service, Request::new(String::new())).await;
        let service = ServiceBuilder::new()
            .layer(observe().reasons(["made_up_code"]).build().unwrap())
            .service(service_fn(answering("made_up_code")));
        send(&service, Request::new(String::new())).await;
    });
    assert_eq!(metrics.counter(names::REJECTED, &[("reason", "other")]), 1);
    assert_eq!(
        metrics.counter(names::REJECTED, &[("reason", "made_up_code")]),
        1
    );
}

/// Every code the family's crates define, from the crates themselves, once each.
fn codes_the_layers_define() -> Vec<&'static str> {
    use webhook_core::Rejection as _;
    let guard = webhook_event::GuardError::new("down");
    let mut codes = [
        webhook_signature::SignatureRejection::CODES,
        webhook_idempotency::IdempotencyRejection::CODES,
        webhook_event::EventRejection::CODES,
        &[guard.code()],
        webhook_ratelimit::RateLimitRejection::CODES,
        webhook_queue::QueueRejection::CODES,
        webhook_https::HttpsRejection::CODES,
    ]
    .concat();
    codes.sort_unstable();
    codes.dedup();
    codes
}

#[test]
fn every_code_a_layer_defines_is_labelled_as_itself() {
    let codes = codes_the_layers_define();
    let (_, metrics) = with_metrics(|| async {
        let layer = observe().build().unwrap();
        for code in codes_the_layers_define() {
            let service = ServiceBuilder::new()
                .layer(layer.clone())
                .service(service_fn(answering(code)));
            send(&service, Request::new(String::new())).await;
        }
    });
    for code in &codes {
        // A copy in flight and a rate-limited delivery have counters of their own.
        let counted = match *code {
            "in_flight" => metrics.counter(names::DUPLICATES, &[]),
            "rate_limited" => metrics.counter(names::RATE_LIMITED, &[]),
            _ => metrics.counter(names::REJECTED, &[("reason", code)]),
        };
        assert_eq!(
            counted, 1,
            "`{code}` is defined by a layer but ObserveLayer does not label it as itself"
        );
    }
    assert_eq!(metrics.counter(names::REJECTED, &[("reason", "other")]), 0);
    // And the shared list holds no code that no layer defines any more.
    for code in webhook_core::REJECTION_CODES {
        assert!(
            codes.contains(code),
            "`{code}` is listed but no layer defines it"
        );
    }
}

#[test]
fn with_metrics_off_nothing_is_recorded() {
    let (status, metrics) = with_metrics(|| async {
        let service = stack(
            observe().metrics(false).build().unwrap(),
            100,
            Gate::default(),
        );
        send(&service, delivery("evt_1", "payout.completed")).await;
        send(&service, forged("evt_2", "payout.completed"))
            .await
            .status
    });
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(metrics.names(), Vec::<String>::new());
}

#[test]
fn the_layer_feeds_the_error_monitor() {
    let clock = ManualClock::new();
    let alerts = Arc::new(Mutex::new(Vec::new()));
    let monitor = ErrorRateMonitor::builder()
        .window(Duration::from_secs(60))
        .threshold(0.4)
        .min_samples(4)
        .clock({
            let clock = clock.clone();
            move || clock.now()
        })
        .on_alert({
            let alerts = alerts.clone();
            move |rate| alerts.lock().unwrap().push((rate.errors(), rate.total()))
        })
        .build()
        .unwrap();
    let ((), _) = with_metrics(|| async {
        let layer = observe().error_monitor(monitor.clone()).build().unwrap();
        let service = stack(layer, 5, Gate::default());
        send(&service, delivery("evt_1", "payout.completed")).await;
        send(&service, delivery("evt_1", "payout.completed")).await; // duplicate: a success
        send(&service, forged("evt_2", "payout.completed")).await;
        assert!(
            alerts.lock().unwrap().is_empty(),
            "3 samples: under the minimum"
        );
        send(&service, delivery("evt_3", "payout.failed")).await; // 2 errors of 4
        assert_eq!(*alerts.lock().unwrap(), [(2, 4)]);
        // 2 errors of 5: still at the threshold. Rate-limited deliveries are not samples.
        send(&service, delivery("evt_4", "payout.completed")).await;
        let limited = send(&service, delivery("evt_5", "payout.completed")).await;
        assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    });
    let rate = monitor.check();
    assert_eq!((rate.errors(), rate.total()), (2, 5));
    assert!(monitor.is_firing());
    clock.advance(Duration::from_secs(61));
    assert_eq!(monitor.check().total(), 0);
    assert!(!monitor.is_firing());
    assert_eq!(alerts.lock().unwrap().len(), 1);
}

#[test]
fn the_service_is_send_sync_and_clone_with_a_send_future() {
    fn assert_service<S: Send + Sync + Clone>(_: &S) {}
    fn assert_send<T: Send>(_: &T) {}
    let service = stack(ObserveLayer::new(), 1, Gate::default());
    assert_service(&service);
    assert_send(
        &service
            .clone()
            .oneshot(delivery("evt_1", "payout.completed")),
    );
}

#[test]
fn the_https_guard_refusal_is_a_rejection_with_its_code() {
    let (statuses, metrics) = with_metrics(|| async {
        let service = ServiceBuilder::new()
            .layer(observe().build().unwrap())
            .layer(webhook_https::RequireHttpsLayer::new())
            .service(stack(
                ObserveLayer::builder().metrics(false).build().unwrap(),
                100,
                Gate::default(),
            ));
        let plain = send(&service, delivery("evt_1", "payout.completed")).await;
        let mut https = delivery("evt_2", "payout.completed");
        *https.uri_mut() = "https://hooks.example.com/webhooks".parse().unwrap();
        let https = send(&service, https).await;
        (plain.status, https.status)
    });
    assert_eq!(statuses, (StatusCode::FORBIDDEN, StatusCode::OK));
    assert_eq!(metrics.counter(names::RECEIVED, &[]), 2);
    assert_eq!(
        metrics.counter(names::REJECTED, &[("reason", "https_required")]),
        1
    );
    assert_eq!(
        metrics.counter(names::PROCESSED, &[("event_type", "payout.completed")]),
        1
    );
}

#[test]
fn one_layer_under_two_local_recorders_in_turn_counts_into_each() {
    // The second recorder is likely made where the first was: the layer must not keep
    // handles of the first (it keeps handles only for the global recorder).
    let service = stack(observe().build().unwrap(), 100, Gate::default());
    for (round, id) in ["evt_1", "evt_2"].into_iter().enumerate() {
        let (status, metrics) = with_metrics(|| {
            let service = service.clone();
            async move {
                send(&service, delivery(id, "payout.completed"))
                    .await
                    .status
            }
        });
        assert_eq!(status, StatusCode::OK);
        assert_eq!(metrics.counter(names::RECEIVED, &[]), 1, "round {round}");
        assert_eq!(
            metrics.counter(names::VERIFIED, &VERIFIED_LABELS),
            1,
            "round {round}"
        );
        assert_eq!(
            metrics.counter(names::PROCESSED, &[("event_type", "payout.completed")]),
            1,
            "round {round}"
        );
    }
}

#[test]
fn answered_handshakes_are_counted_by_kind_and_refused_ones_as_rejections() {
    use webhook_signature::scheme::by_name;
    use webhook_signature::{Signer, Verifier, VerifySignatureLayer};

    let (statuses, metrics) = with_metrics(|| async {
        let handler = service_fn(|_: Request<webhook_core::VerifiedBody>| async {
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"handled"))))
        });
        let dropbox = Verifier::builder(by_name("dropbox").unwrap())
            .secret("app", "dropbox-secret")
            .build()
            .unwrap();
        let dropbox = ServiceBuilder::new()
            .layer(observe().build().unwrap())
            .layer(VerifySignatureLayer::new(dropbox))
            .service(handler);
        let challenge = Request::get("/webhooks?challenge=abc123")
            .body(String::new())
            .unwrap();
        let answered = send(&dropbox, challenge).await.status;
        let bad = Request::get("/webhooks?challenge=%3Cb%3E")
            .body(String::new())
            .unwrap();
        let refused = send(&dropbox, bad).await.status;

        let slack = Verifier::builder(by_name("slack").unwrap())
            .secret("k", "slack-secret")
            .build()
            .unwrap();
        let slack = ServiceBuilder::new()
            .layer(observe().build().unwrap())
            .layer(VerifySignatureLayer::new(slack))
            .service(handler);
        let body = r#"{"token":"t","challenge":"c1","type":"url_verification"}"#;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let headers = Signer::new(by_name("slack").unwrap(), "slack-secret")
            .unwrap()
            .sign(body.as_bytes(), now, "")
            .unwrap();
        let mut request = Request::post("/webhooks").body(body.to_owned()).unwrap();
        request.headers_mut().extend(headers);
        let slack_status = send(&slack, request).await.status;
        (answered, refused, slack_status)
    });
    assert_eq!(
        statuses,
        (StatusCode::OK, StatusCode::BAD_REQUEST, StatusCode::OK)
    );
    assert_eq!(
        metrics.counter(names::HANDSHAKES, &[("kind", "dropbox_challenge")]),
        1
    );
    assert_eq!(
        metrics.counter(names::HANDSHAKES, &[("kind", "slack_url_verification")]),
        1
    );
    assert_eq!(
        metrics.counter(names::REJECTED, &[("reason", "invalid_handshake")]),
        1
    );
    // The signed one verified first.
    assert_eq!(
        metrics.counter(names::VERIFIED, &[("scheme", "slack"), ("key_id", "k")]),
        1
    );
    assert!(metrics.series(names::PROCESSED).is_empty());
}
