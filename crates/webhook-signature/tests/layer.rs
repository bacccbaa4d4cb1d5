//! The layer as a user sees it: `ServiceBuilder::new().layer(..).service_fn(..)`, then
//! `oneshot`. Each test asserts on the status, headers and problem+json `code`, on what
//! the inner service received, and on how many times it ran.

mod common;

use std::convert::Infallible;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{StreamExt, stream};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Version};
use http_body::{Body, Frame, SizeHint};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use tower::{ServiceBuilder, ServiceExt};
use webhook_core::{Rejection, VerifiedDelivery};
use webhook_signature::scheme::{HopNow, Scheme, StandardWebhooks, by_name, encode_base64};
use webhook_signature::{
    DEFAULT_READ_TIMEOUT, SignatureRejection, Signer, Verifier, VerifySignature,
    VerifySignatureLayer,
};

use common::{Answer, Recorder, clock_at, presented_tag, set, sign, signature_header};

const NOW: i64 = 1_700_000_000;
const SECRET: &str = "layer-test-secret-5f1c";
const STANDARD_SECRET: &str = "whsec_YSBTdGFuZGFyZCBXZWJob29rcyB0ZXN0IGtleSE=";
const LIMIT: usize = 4096;

fn hopnow_layer() -> VerifySignatureLayer {
    let verifier = Verifier::builder(HopNow)
        .secret("current", SECRET)
        .build()
        .unwrap();
    VerifySignatureLayer::new(verifier).body_limit(LIMIT)
}

/// A POST of `body` with headers signed for `signed_body` (the same bytes unless a test
/// wants a mismatch).
fn hopnow_request<B>(signed_body: &[u8], body: B) -> Request<B> {
    let mut request = Request::post("/webhooks").body(body).unwrap();
    request
        .headers_mut()
        .extend(sign(HopNow, SECRET, signed_body, 0, ""));
    request
}

/// A body that counts how often it is polled, and never ends.
struct CountingBody {
    polls: Arc<AtomicUsize>,
    hint: SizeHint,
}

impl CountingBody {
    fn new(hint: SizeHint) -> (Self, Arc<AtomicUsize>) {
        let polls = Arc::new(AtomicUsize::new(0));
        (
            Self {
                polls: polls.clone(),
                hint,
            },
            polls,
        )
    }
}

impl Body for CountingBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.polls.fetch_add(1, Ordering::SeqCst);
        Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(&[b'x'; 512])))))
    }

    fn size_hint(&self) -> SizeHint {
        self.hint
    }
}

fn chunk(bytes: &'static [u8]) -> Result<Frame<Bytes>, io::Error> {
    Ok(Frame::data(Bytes::from_static(bytes)))
}

// --- Size, time and broken bodies ---------------------------------------------------

#[tokio::test]
async fn content_length_over_the_limit_is_413_before_the_body_is_polled() {
    let recorder = Recorder::default();
    let service = ServiceBuilder::new()
        .layer(hopnow_layer())
        .service_fn(recorder.handler());

    let (body, polls) = CountingBody::new(SizeHint::default());
    let mut request = hopnow_request(b"", body);
    request
        .headers_mut()
        .insert(http::header::CONTENT_LENGTH, HeaderValue::from(LIMIT + 1));
    let answer = Answer::read(service.clone().oneshot(request).await.unwrap()).await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(answer.code(), "payload_too_large");
    assert!(
        answer.problem()["detail"]
            .as_str()
            .unwrap()
            .contains("4096")
    );
    assert_eq!(polls.load(Ordering::SeqCst), 0, "the body was read");

    // The same for a body that announces its exact size without a header.
    let (body, polls) = CountingBody::new(SizeHint::with_exact(LIMIT as u64 + 1));
    let answer = Answer::read(service.oneshot(hopnow_request(b"", body)).await.unwrap()).await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(answer.code(), "payload_too_large");
    assert_eq!(polls.load(Ordering::SeqCst), 0, "the body was read");
    assert_eq!(recorder.calls(), 0);
}

#[tokio::test]
async fn streamed_body_without_content_length_is_413_as_soon_as_it_passes_the_limit() {
    let recorder = Recorder::default();
    let service = ServiceBuilder::new()
        .layer(hopnow_layer())
        .service_fn(recorder.handler());

    // An endless stream of 1 KiB chunks: without the limit this request never ends.
    let pulled = Arc::new(AtomicUsize::new(0));
    let counter = pulled.clone();
    let endless = stream::repeat_with(|| chunk(&[b'a'; 1024])).inspect(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    let request = hopnow_request(b"", StreamBody::new(endless));
    assert!(
        request
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .is_none()
    );
    let answer = Answer::read(service.oneshot(request).await.unwrap()).await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(answer.code(), "payload_too_large");
    // Four chunks fill the limit exactly; the fifth passes it and stops the read.
    assert_eq!(pulled.load(Ordering::SeqCst), LIMIT / 1024 + 1);
    assert_eq!(recorder.calls(), 0);
}

#[tokio::test]
async fn body_of_exactly_the_limit_passes_streamed_or_declared() {
    let recorder = Recorder::default();
    let service = ServiceBuilder::new()
        .layer(hopnow_layer())
        .service_fn(recorder.handler());
    let full = [b'a'; LIMIT];

    let streamed = StreamBody::new(stream::iter((0..4).map(|_| chunk(&[b'a'; 1024]))));
    let answer = Answer::read(
        service
            .clone()
            .oneshot(hopnow_request(&full, streamed))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    assert_eq!(recorder.take().into_body().into_bytes(), &full[..]);

    let mut request = hopnow_request(&full, Full::new(Bytes::copy_from_slice(&full)));
    request
        .headers_mut()
        .insert(http::header::CONTENT_LENGTH, HeaderValue::from(LIMIT));
    let answer = Answer::read(service.oneshot(request).await.unwrap()).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    assert_eq!(recorder.calls(), 2);
}

#[tokio::test]
async fn body_that_errors_is_400_invalid_body() {
    let recorder = Recorder::default();
    let service = ServiceBuilder::new()
        .layer(hopnow_layer())
        .service_fn(recorder.handler());
    let broken = stream::iter([
        chunk(b"{\"id\":"),
        Err(io::Error::new(io::ErrorKind::ConnectionReset, "peer reset")),
    ]);
    let answer = Answer::read(
        service
            .oneshot(hopnow_request(b"", StreamBody::new(broken)))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.code(), "invalid_body");
    assert!(
        !answer.text().contains("peer reset"),
        "the I/O error is not echoed"
    );
    assert_eq!(recorder.calls(), 0);
}

#[tokio::test(start_paused = true)]
async fn body_that_never_finishes_is_408_after_the_read_timeout() {
    let recorder = Recorder::default();
    let service = ServiceBuilder::new()
        .layer(hopnow_layer())
        .service_fn(recorder.handler());
    let stalled = stream::iter([chunk(b"{\"id\":")]).chain(stream::pending());

    let started = tokio::time::Instant::now();
    let answer = Answer::read(
        service
            .oneshot(hopnow_request(b"", StreamBody::new(stalled)))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(answer.status, StatusCode::REQUEST_TIMEOUT);
    assert_eq!(answer.code(), "body_timeout");
    // Paused time jumps straight to the deadline: no real waiting, and not a second early.
    assert_eq!(started.elapsed(), DEFAULT_READ_TIMEOUT);
    assert_eq!(recorder.calls(), 0);
}

/// A body that sends `chunks` copies of `piece`, one every 7 (virtual) seconds.
fn trickle(
    chunks: usize,
    piece: &'static [u8],
) -> StreamBody<impl futures_util::Stream<Item = Result<Frame<Bytes>, io::Error>>> {
    StreamBody::new(stream::unfold(0, move |sent| async move {
        if sent == chunks {
            return None;
        }
        tokio::time::sleep(Duration::from_secs(7)).await;
        Some((chunk(piece), sent + 1))
    }))
}

#[tokio::test(start_paused = true)]
async fn read_timeout_bounds_the_whole_body_not_each_chunk() {
    let recorder = Recorder::default();
    let layer = hopnow_layer().read_timeout(Duration::from_secs(30));
    let service = ServiceBuilder::new()
        .layer(layer)
        .service_fn(recorder.handler());

    // Three chunks in 21 s: in time.
    let started = tokio::time::Instant::now();
    let answer = Answer::read(
        service
            .clone()
            .oneshot(hopnow_request(b"abcabcabc", trickle(3, b"abc")))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    assert_eq!(started.elapsed(), Duration::from_secs(21));
    assert_eq!(recorder.take().into_body().into_bytes(), "abcabcabc");

    // Five chunks, each 7 s apart (a slow-loris sender): cut off at 30 s.
    let started = tokio::time::Instant::now();
    let answer = Answer::read(
        service
            .oneshot(hopnow_request(b"abcabcabcabcabc", trickle(5, b"abc")))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(answer.status, StatusCode::REQUEST_TIMEOUT);
    assert_eq!(answer.code(), "body_timeout");
    assert_eq!(started.elapsed(), Duration::from_secs(30));
    assert_eq!(recorder.calls(), 1);
}

// --- What the inner service receives ------------------------------------------------

#[derive(Clone, Debug, PartialEq)]
struct Tenant(&'static str);

#[tokio::test]
async fn inner_service_receives_the_request_intact_with_the_verified_delivery() {
    let verifier = Verifier::builder(StandardWebhooks)
        .secret("primary", STANDARD_SECRET)
        .clock(clock_at(NOW))
        .build()
        .unwrap();
    let recorder = Recorder::default();
    let service = ServiceBuilder::new()
        .layer(VerifySignatureLayer::new(verifier))
        .service_fn(recorder.handler());

    let body: &[u8] = b"{\"id\":\"evt_42\"}\n\xff\x00 trailing bytes, not UTF-8";
    let mut request = Request::builder()
        .method(Method::PUT)
        .uri("https://hooks.example/webhooks/standard?tenant=acme")
        .version(Version::HTTP_2)
        .header("x-request-id", "req-7")
        .header("content-type", "application/json")
        .extension(Tenant("acme"))
        .body(Full::new(Bytes::from_static(body)))
        .unwrap();
    let signed = sign(StandardWebhooks, STANDARD_SECRET, body, NOW, "msg_42");
    request.headers_mut().extend(signed.clone());
    let sent_headers = request.headers().clone();

    let response = service.oneshot(request).await.unwrap();
    let answer = Answer::read(response).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body, "handled");
    assert_eq!(recorder.calls(), 1);

    let received = recorder.take();
    assert_eq!(received.method(), Method::PUT);
    assert_eq!(
        received.uri(),
        "https://hooks.example/webhooks/standard?tenant=acme"
    );
    assert_eq!(received.version(), Version::HTTP_2);
    assert_eq!(received.headers(), &sent_headers);
    assert_eq!(received.extensions().get::<Tenant>(), Some(&Tenant("acme")));

    let delivery = received
        .extensions()
        .get::<VerifiedDelivery>()
        .unwrap()
        .clone();
    assert_eq!(delivery.scheme(), "standard");
    assert_eq!(delivery.key_id().as_str(), "primary");
    assert_eq!(delivery.event_id(), Some("msg_42"));
    assert_eq!(delivery.timestamp(), Some(NOW));
    assert_eq!(delivery.body(), body);
    assert_eq!(received.into_body().into_bytes(), body);
}

#[tokio::test]
async fn key_rotation_is_visible_to_the_inner_service() {
    let verifier = Verifier::builder(HopNow)
        .secret("2025-11", "new secret")
        .secret("2025-05", "old secret")
        .build()
        .unwrap();
    let recorder = Recorder::default();
    let service = ServiceBuilder::new()
        .layer(VerifySignatureLayer::new(verifier))
        .service_fn(recorder.handler());
    for (secret, key_id) in [("old secret", "2025-05"), ("new secret", "2025-11")] {
        let mut request = Request::post("/")
            .body(Full::new(Bytes::from_static(b"{}")))
            .unwrap();
        request
            .headers_mut()
            .extend(sign(HopNow, secret, b"{}", 0, ""));
        let answer = Answer::read(service.clone().oneshot(request).await.unwrap()).await;
        assert_eq!(answer.status, StatusCode::OK);
        let delivery = recorder
            .take()
            .extensions()
            .get::<VerifiedDelivery>()
            .cloned()
            .unwrap();
        assert_eq!(delivery.key_id().as_str(), key_id);
    }
}

// --- Rejections ---------------------------------------------------------------------

#[tokio::test]
async fn conflicting_duplicate_signature_header_is_400_conflicting_headers() {
    let recorder = Recorder::default();
    let service = ServiceBuilder::new()
        .layer(hopnow_layer())
        .service_fn(recorder.handler());
    let mut request = hopnow_request(b"{}", Full::new(Bytes::from_static(b"{}")));
    let forged = sign(HopNow, "another secret", b"{}", 0, "");
    request
        .headers_mut()
        .append("x-webhook-signature", forged["x-webhook-signature"].clone());
    let answer = Answer::read(service.oneshot(request).await.unwrap()).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.code(), "conflicting_headers");
    assert_eq!(recorder.calls(), 0);
}

type BoxBody = UnsyncBoxBody<Bytes, io::Error>;

fn full(body: &'static [u8]) -> BoxBody {
    Full::new(Bytes::from_static(body))
        .map_err(|never| match never {})
        .boxed_unsync()
}

fn streamed<S>(stream: S) -> BoxBody
where
    S: futures_util::Stream<Item = Result<Frame<Bytes>, io::Error>> + Send + 'static,
{
    StreamBody::new(stream).boxed_unsync()
}

fn post(body: BoxBody, headers: HeaderMap) -> Request<BoxBody> {
    let mut request = Request::post("/webhooks").body(body).unwrap();
    *request.headers_mut() = headers;
    request
}

#[tokio::test(start_paused = true)]
async fn inner_service_is_never_called_on_any_rejection() {
    let recorder = Recorder::default();
    let verifier = Verifier::builder(StandardWebhooks)
        .secret("k", STANDARD_SECRET)
        .clock(clock_at(NOW))
        .build()
        .unwrap();
    let service = ServiceBuilder::new()
        .layer(VerifySignatureLayer::new(verifier).body_limit(LIMIT))
        .service_fn(recorder.handler());

    let good = sign(StandardWebhooks, STANDARD_SECRET, b"{}", NOW, "msg_1");
    let changed = |edit: &dyn Fn(&mut HeaderMap)| {
        let mut headers = good.clone();
        edit(&mut headers);
        headers
    };
    let stale = sign(StandardWebhooks, STANDARD_SECRET, b"{}", NOW - 301, "msg_1");
    let other = sign(StandardWebhooks, STANDARD_SECRET, b"{ }", NOW, "msg_1");

    let cases: Vec<(&str, Request<BoxBody>, StatusCode, &str)> = vec![
        (
            "body changed",
            post(full(b"{ }"), good.clone()),
            StatusCode::UNAUTHORIZED,
            "signature_mismatch",
        ),
        (
            "no headers",
            post(full(b"{}"), HeaderMap::new()),
            StatusCode::UNAUTHORIZED,
            "missing_signature",
        ),
        (
            "replayed late",
            post(full(b"{}"), stale),
            StatusCode::UNAUTHORIZED,
            "timestamp_out_of_tolerance",
        ),
        (
            "bare v1,",
            post(
                full(b"{}"),
                changed(&|h| set(h, "webhook-signature", "v1,")),
            ),
            StatusCode::BAD_REQUEST,
            "malformed_signature",
        ),
        (
            "no id",
            post(full(b"{}"), changed(&|h| drop(h.remove("webhook-id")))),
            StatusCode::BAD_REQUEST,
            "missing_header",
        ),
        (
            "bad timestamp",
            post(
                full(b"{}"),
                changed(&|h| set(h, "webhook-timestamp", "soon")),
            ),
            StatusCode::BAD_REQUEST,
            "malformed_header",
        ),
        (
            "two signature headers",
            post(
                full(b"{}"),
                changed(&|h| {
                    h.append("webhook-signature", other["webhook-signature"].clone());
                }),
            ),
            StatusCode::BAD_REQUEST,
            "conflicting_headers",
        ),
        (
            "declared too long",
            post(
                full(b"{}"),
                changed(&|h| {
                    h.insert(http::header::CONTENT_LENGTH, HeaderValue::from(LIMIT + 1));
                }),
            ),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
        (
            "streamed too long",
            post(
                streamed(stream::repeat_with(|| chunk(&[0; 1000]))),
                good.clone(),
            ),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
        (
            "broken body",
            post(
                streamed(stream::iter([Err(io::Error::other("boom"))])),
                good.clone(),
            ),
            StatusCode::BAD_REQUEST,
            "invalid_body",
        ),
        (
            "stalled body",
            post(streamed(stream::pending()), good.clone()),
            StatusCode::REQUEST_TIMEOUT,
            "body_timeout",
        ),
    ];
    for (what, request, status, code) in cases {
        let answer = Answer::read(service.clone().oneshot(request).await.unwrap()).await;
        assert_eq!(
            (answer.status, answer.code().as_str()),
            (status, code),
            "{what}"
        );
    }
    assert_eq!(recorder.calls(), 0);

    // Positive control: the same service does reach the inner service for a good delivery.
    let answer = Answer::read(service.oneshot(post(full(b"{}"), good)).await.unwrap()).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(recorder.calls(), 1);
}

#[tokio::test]
async fn custom_on_rejection_response_is_used() {
    let recorder = Recorder::default();
    let layer = hopnow_layer().on_rejection(|rejection: &SignatureRejection| {
        Response::builder()
            .status(StatusCode::FORBIDDEN)
            .header("content-type", "text/plain")
            .header("x-rejection-code", rejection.code())
            .body(Bytes::from(format!(
                "refused ({})",
                rejection.status().as_u16()
            )))
            .unwrap()
    });
    let service = ServiceBuilder::new()
        .layer(layer)
        .service_fn(recorder.handler());

    // A signature mismatch, read from the body.
    let request = hopnow_request(b"signed", Full::new(Bytes::from_static(b"sent")));
    let answer = Answer::read(service.clone().oneshot(request).await.unwrap()).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(answer.headers["content-type"], "text/plain");
    assert_eq!(answer.headers["x-rejection-code"], "signature_mismatch");
    assert_eq!(answer.body, "refused (401)");

    // The early answer, before the body is read, goes through it too.
    let (body, polls) = CountingBody::new(SizeHint::with_exact(LIMIT as u64 * 2));
    let answer = Answer::read(service.oneshot(hopnow_request(b"", body)).await.unwrap()).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(answer.headers["x-rejection-code"], "payload_too_large");
    assert_eq!(answer.body, "refused (413)");
    assert_eq!(polls.load(Ordering::SeqCst), 0);
    assert_eq!(recorder.calls(), 0);
}

// --- No secret and no expected signature in rejections or Debug -------------------

/// A secret of the right form that the verifier does not hold.
fn guess_for(name: &str, n: usize) -> &'static str {
    match (name, n) {
        // base64 of "guessed key" and "other guess"
        ("standard", 0) => "whsec_Z3Vlc3NlZCBrZXk=",
        ("standard", _) => "whsec_b3RoZXIgZ3Vlc3M=",
        (_, 0) => "guessed secret",
        _ => "other guess",
    }
}

fn secret_for(name: &str) -> &'static str {
    if name == "standard" {
        STANDARD_SECRET
    } else {
        SECRET
    }
}

/// Every spelling of a tag a leaky message could contain.
fn spellings(tag: &[u8]) -> Vec<String> {
    let hex = hex::encode(tag);
    let base64 = encode_base64(tag.try_into().unwrap());
    vec![
        hex.clone(),
        hex.to_ascii_uppercase(),
        hex[..16].to_owned(),
        base64.clone(),
        base64[..16].to_owned(),
    ]
}

/// The tag a verifier keyed with the right secret computes for this content.
fn expected_tag(name: &str, body: &[u8], timestamp: i64, id: &str) -> [u8; 32] {
    let headers = sign(
        by_name(name).unwrap(),
        secret_for(name),
        body,
        timestamp,
        id,
    );
    presented_tag(name, &headers)
}

#[tokio::test]
async fn rejection_bodies_never_contain_the_secret_or_the_expected_signature() {
    for name in common::CODED {
        let secret = secret_for(name);
        let verifier = Verifier::builder(by_name(name).unwrap())
            .secret("k", secret)
            .clock(clock_at(NOW))
            .build()
            .unwrap();
        let recorder = Recorder::default();
        let service = ServiceBuilder::new()
            .layer(VerifySignatureLayer::new(verifier))
            .service_fn(recorder.handler());

        let body: &[u8] = b"{\"amount\":100}";
        // A forgery of the right shape, a truncated one, a stale one, and a conflict.
        let forged = sign(
            by_name(name).unwrap(),
            guess_for(name, 0),
            body,
            NOW,
            "msg_1",
        );
        let mut truncated = forged.clone();
        let value = truncated[signature_header(name)]
            .to_str()
            .unwrap()
            .to_owned();
        set(
            &mut truncated,
            signature_header(name),
            &value[..value.len() - 3],
        );
        let stale = sign(by_name(name).unwrap(), secret, body, NOW - 3600, "msg_1");
        let mut conflicting = forged.clone();
        conflicting.append(
            http::HeaderName::from_static(signature_header(name)),
            sign(
                by_name(name).unwrap(),
                guess_for(name, 1),
                body,
                NOW,
                "msg_1",
            )[signature_header(name)]
            .clone(),
        );

        let mut cases = vec![(&forged, NOW), (&truncated, NOW), (&conflicting, NOW)];
        if matches!(name, "stripe" | "standard" | "slack") {
            cases.push((&stale, NOW - 3600));
        }
        for (headers, timestamp) in cases {
            let mut request = Request::post("/")
                .body(Full::new(Bytes::from_static(body)))
                .unwrap();
            *request.headers_mut() = headers.clone();
            let answer = Answer::read(service.clone().oneshot(request).await.unwrap()).await;
            assert!(answer.status.is_client_error(), "{name}: {}", answer.status);
            let code = answer.code();
            let shown = format!("{} {:?}", answer.text(), answer.headers);
            let mut forbidden = vec![
                secret.to_owned(),
                secret.trim_start_matches("whsec_").to_owned(),
            ];
            let signed_now = expected_tag(name, body, timestamp, "msg_1");
            forbidden.extend(spellings(&signed_now));
            // Non-timestamped schemes: the expected tag does not depend on the time.
            forbidden.extend(spellings(&expected_tag(name, body, NOW, "msg_1")));
            for needle in &forbidden {
                assert!(
                    !shown.contains(needle.as_str()),
                    "{name} ({code}) leaked {needle}: {shown}"
                );
            }
        }
        assert_eq!(recorder.calls(), 0);
    }
}

#[test]
fn rejection_messages_never_contain_the_secret_or_the_expected_signature() {
    // The same through `Verifier::verify`, for `Display` and `Debug` of the rejection,
    // which is what ends up in logs.
    for name in common::CODED {
        let secret = secret_for(name);
        let verifier = Verifier::builder(by_name(name).unwrap())
            .secret("k", secret)
            .clock(clock_at(NOW))
            .build()
            .unwrap();
        let body = Bytes::from_static(b"{\"amount\":100}");
        let forged = sign(
            by_name(name).unwrap(),
            guess_for(name, 0),
            &body,
            NOW,
            "msg_1",
        );
        let rejection = verifier.verify(&forged, &body).unwrap_err();
        let shown = format!("{rejection} {rejection:?} {}", rejection.to_problem());
        for needle in spellings(&expected_tag(name, &body, NOW, "msg_1")) {
            assert!(!shown.contains(&needle), "{name}: {shown}");
        }
        assert!(!shown.contains(secret), "{name}: {shown}");
    }
}

#[test]
fn debug_output_never_contains_the_secret() {
    for name in common::CODED {
        let secret = secret_for(name);
        let builder = Verifier::builder(by_name(name).unwrap()).secret("visible-key-id", secret);
        let builder_debug = format!("{builder:?}");
        let verifier = builder.build().unwrap();
        let verifier_debug = format!("{verifier:?}");
        let signer_debug = format!("{:?}", Signer::new(by_name(name).unwrap(), secret).unwrap());
        let layer = VerifySignatureLayer::new(verifier.clone());
        let layer_debug = format!("{layer:?}");
        let service_debug = format!(
            "{:?}",
            VerifySignature::new(tower::service_fn(Recorder::default().handler()), verifier)
        );
        for shown in [
            &builder_debug,
            &verifier_debug,
            &signer_debug,
            &layer_debug,
            &service_debug,
        ] {
            assert!(!shown.contains(secret), "{name}: {shown}");
            assert!(
                !shown.contains(secret.trim_start_matches("whsec_")),
                "{name}: {shown}"
            );
            // The decoded Standard Webhooks key, as text and as bytes.
            assert!(
                !shown.contains("a Standard Webhooks test key"),
                "{name}: {shown}"
            );
            assert!(!shown.contains("97, 32, 83"), "{name}: {shown}");
            assert!(shown.contains(name), "{name}: the scheme is shown: {shown}");
        }
        for shown in [
            &builder_debug,
            &verifier_debug,
            &layer_debug,
            &service_debug,
        ] {
            assert!(
                shown.contains("visible-key-id"),
                "{name}: key ids are shown: {shown}"
            );
        }
    }
}

#[test]
fn scheme_names_match_their_headers() {
    // Guards the helpers above: each scheme signs into the header the tests read.
    for name in common::CODED {
        let scheme: Box<dyn Scheme> = by_name(name).unwrap();
        let headers = sign(scheme, secret_for(name), b"{}", NOW, "id");
        assert!(
            headers.contains_key(signature_header(name)),
            "{name}: {headers:?}"
        );
    }
}
