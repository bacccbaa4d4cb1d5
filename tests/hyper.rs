//! The signature layer around a plain tower service, without axum, served by hyper 1
//! (HTTP/1.1 and HTTP/2) through `hyper_util::service::TowerToHyperService` on a
//! loopback socket.

mod common;

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use tower::ServiceBuilder;
use tower_webhook::core::{VerifiedBody, VerifiedDelivery};

use common::{
    BODY_LIMIT, KEY_ID, PAYLOAD, Recorder, post_chunked, post_full, send_http1, send_http2, sign,
    sign_with,
};

#[derive(Clone, Copy)]
enum Protocol {
    Http1,
    Http2,
}

/// Serves `ServiceBuilder::new().layer(signature).service_fn(handler)` with hyper.
async fn serve(protocol: Protocol) -> (SocketAddr, Recorder) {
    let recorder = Recorder::default();
    let handler_recorder = recorder.clone();
    let service = ServiceBuilder::new().layer(common::layer()).service_fn(
        move |request: Request<VerifiedBody>| {
            let recorder = handler_recorder.clone();
            async move {
                let delivery = request.extensions().get::<VerifiedDelivery>().cloned();
                let body = request.into_body().collect().await?.to_bytes();
                recorder.record(body, delivery);
                Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"accepted"))))
            }
        },
    );

    let (listener, addr) = common::bind().await;
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.expect("accept");
            let io = TokioIo::new(stream);
            let service = TowerToHyperService::new(service.clone());
            tokio::spawn(async move {
                // A connection the server closes after an early rejection may end in an
                // error; the client side asserts what the sender saw.
                let _ = match protocol {
                    Protocol::Http1 => {
                        hyper::server::conn::http1::Builder::new()
                            .serve_connection(io, service)
                            .await
                    }
                    Protocol::Http2 => {
                        hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                            .serve_connection(io, service)
                            .await
                    }
                };
            });
        }
    });
    (addr, recorder)
}

fn assert_handler_saw(recorder: &Recorder, expected: &[u8]) {
    let (body, delivery) = recorder.last();
    assert_eq!(body, expected, "the handler reads the exact signed bytes");
    let delivery = delivery.expect("the marker is in the extensions");
    assert_eq!(delivery.scheme(), "hopnow");
    assert_eq!(delivery.key_id().as_str(), KEY_ID);
    assert_eq!(delivery.body(), expected);
}

#[tokio::test]
async fn http1_signed_delivery_reaches_the_service_with_its_exact_bytes() {
    let (addr, recorder) = serve(Protocol::Http1).await;
    let reply = send_http1(addr, post_full("/webhooks", sign(PAYLOAD), PAYLOAD)).await;
    assert_eq!(reply.status, StatusCode::OK, "body: {:?}", reply.body);
    assert_eq!(reply.body, "accepted");
    assert_eq!(recorder.calls(), 1);
    assert_handler_saw(&recorder, PAYLOAD);
}

#[tokio::test]
async fn http1_chunked_delivery_is_reassembled_and_verified() {
    let (addr, recorder) = serve(Protocol::Http1).await;
    let request = post_chunked("/webhooks", sign(PAYLOAD), PAYLOAD, 7);
    let reply = send_http1(addr, request).await;
    assert_eq!(reply.status, StatusCode::OK, "body: {:?}", reply.body);
    assert_eq!(recorder.calls(), 1);
    assert_handler_saw(&recorder, PAYLOAD);
}

#[tokio::test]
async fn http1_unsigned_and_forged_deliveries_get_401_problems() {
    let (addr, recorder) = serve(Protocol::Http1).await;
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
    assert_eq!(recorder.calls(), 0, "the service never runs on a rejection");
}

#[tokio::test]
async fn http1_oversized_delivery_gets_413_declared_or_streamed() {
    let (addr, recorder) = serve(Protocol::Http1).await;
    let big = vec![b'x'; BODY_LIMIT + 1];

    // Refused on its Content-Length, before the body is read.
    let reply = send_http1(addr, post_full("/webhooks", sign(&big), big.clone())).await;
    reply.assert_problem(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", &[]);

    // No Content-Length: cut off once the streamed body passes the limit.
    let reply = send_http1(addr, post_chunked("/webhooks", sign(&big), &big, 256)).await;
    reply.assert_problem(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", &[]);
    assert_eq!(recorder.calls(), 0);
}

#[tokio::test]
async fn http2_signed_streamed_and_unsigned_deliveries() {
    let (addr, recorder) = serve(Protocol::Http2).await;
    let uri = format!("http://{addr}/webhooks");

    let reply = send_http2(addr, post_full(&uri, sign(PAYLOAD), PAYLOAD)).await;
    assert_eq!(reply.status, StatusCode::OK, "body: {:?}", reply.body);
    assert_eq!(reply.body, "accepted");
    assert_eq!(recorder.calls(), 1);
    assert_handler_saw(&recorder, PAYLOAD);

    let reply = send_http2(addr, post_chunked(&uri, sign(PAYLOAD), PAYLOAD, 5)).await;
    assert_eq!(reply.status, StatusCode::OK, "body: {:?}", reply.body);
    assert_eq!(recorder.calls(), 2);
    assert_handler_saw(&recorder, PAYLOAD);

    let reply = send_http2(addr, post_full(&uri, HeaderMap::new(), PAYLOAD)).await;
    reply.assert_problem(
        StatusCode::UNAUTHORIZED,
        "missing_signature",
        &[common::SECRET],
    );
    let big = vec![b'x'; BODY_LIMIT + 1];
    let reply = send_http2(addr, post_chunked(&uri, sign(&big), &big, 256)).await;
    reply.assert_problem(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", &[]);
    assert_eq!(recorder.calls(), 2, "the service never runs on a rejection");
}
