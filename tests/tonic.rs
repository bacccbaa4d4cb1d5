//! The signature layer in a tonic 0.14 server (`Server::builder().layer(..)`) in front
//! of tonic-health's ready-made `grpc.health.v1.Health` service, driven by a raw HTTP/2
//! client and by tonic's own client on a loopback socket.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, StatusCode};
use http_body_util::Full;
use hyper::body::Body as _;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tower::util::MapRequestLayer;
use tower_webhook::core::{VerifiedBody, VerifiedDelivery};

use common::{KEY_ID, Reply, send_http2, sign, sign_with};

/// A gRPC frame (uncompressed, 0-byte length) holding an empty `HealthCheckRequest`:
/// `service = ""`, the server's overall health.
const EMPTY_CHECK: [u8; 5] = [0, 0, 0, 0, 0];

/// A gRPC frame holding `HealthCheckResponse { status: SERVING }` (field 1, varint 1).
const SERVING: [u8; 7] = [0, 0, 0, 0, 2, 0x08, 0x01];

/// What reached the service behind the signature layer.
#[derive(Clone, Default)]
struct Seen {
    calls: Arc<AtomicUsize>,
    verified: Arc<AtomicUsize>,
}

async fn serve() -> (SocketAddr, Seen) {
    let (_reporter, health) = tonic_health::server::health_reporter();
    let seen = Seen::default();
    let inner_seen = seen.clone();
    // Sits between the signature layer and the gRPC routes, to count the requests
    // that got through and check what they carry.
    let count = MapRequestLayer::new(move |request: Request<VerifiedBody>| {
        inner_seen.calls.fetch_add(1, Ordering::SeqCst);
        let marker = request.extensions().get::<VerifiedDelivery>();
        if marker.is_some_and(|d| d.body() == &EMPTY_CHECK[..] && d.key_id().as_str() == KEY_ID)
            && request.body().size_hint().exact() == Some(EMPTY_CHECK.len() as u64)
        {
            inner_seen.verified.fetch_add(1, Ordering::SeqCst);
        }
        request
    });

    let (listener, addr) = common::bind().await;
    let router = Server::builder()
        .layer(common::layer())
        .layer(count)
        .add_service(health);
    tokio::spawn(async move {
        router
            .serve_with_incoming(TcpIncoming::from(listener))
            .await
            .expect("tonic server");
    });
    (addr, seen)
}

async fn check(addr: SocketAddr, signature: HeaderMap) -> Reply {
    let mut request = Request::post(format!("http://{addr}/grpc.health.v1.Health/Check"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(Full::new(Bytes::from_static(&EMPTY_CHECK)))
        .expect("a valid request");
    request.headers_mut().extend(signature);
    send_http2(addr, request).await
}

#[tokio::test]
async fn signed_health_check_is_answered_serving() {
    let (addr, seen) = serve().await;
    let reply = check(addr, sign(&EMPTY_CHECK)).await;
    assert_eq!(reply.status, StatusCode::OK, "body: {:?}", reply.body);
    assert_eq!(reply.headers["content-type"], "application/grpc");
    assert_eq!(reply.body, &SERVING[..]);
    let trailers = reply.trailers.as_ref().expect("gRPC trailers");
    assert_eq!(
        trailers.get("grpc-status"),
        Some(&HeaderValue::from_static("0"))
    );
    assert_eq!(seen.calls.load(Ordering::SeqCst), 1);
    assert_eq!(
        seen.verified.load(Ordering::SeqCst),
        1,
        "the service got the marker and exactly the signed frame"
    );
}

#[tokio::test]
async fn unsigned_and_forged_health_checks_get_a_grpc_status_and_never_reach_the_service() {
    let (addr, seen) = serve().await;

    let reply = check(addr, HeaderMap::new()).await;
    assert_grpc_refusal(&reply, "16", "missing_signature", &[common::SECRET]);

    let reply = check(addr, sign_with("a guessed secret", &EMPTY_CHECK)).await;
    let expected = common::expected_signature(&EMPTY_CHECK);
    assert_grpc_refusal(
        &reply,
        "16",
        "signature_mismatch",
        &[common::SECRET, &expected],
    );
    assert_eq!(seen.calls.load(Ordering::SeqCst), 0);
}

/// A gRPC "Trailers-Only" refusal: HTTP 200, `content-type: application/grpc`,
/// `grpc-status` and a `grpc-message` in the headers, no body, and no secret anywhere.
fn assert_grpc_refusal(reply: &Reply, grpc_status: &str, code: &str, secret_material: &[&str]) {
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.headers["content-type"], "application/grpc");
    assert_eq!(reply.headers["grpc-status"], grpc_status, "{code}");
    assert!(reply.body.is_empty());
    let message = reply.headers["grpc-message"].to_str().unwrap();
    for secret in secret_material {
        assert!(!message.contains(secret), "{message}");
    }
}

#[tokio::test]
async fn a_tonic_client_refused_by_the_signature_layer_reads_unauthenticated() {
    use tonic::metadata::{MetadataKey, MetadataValue};
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_client::HealthClient;

    let (addr, seen) = serve().await;
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .expect("an endpoint")
        .connect()
        .await
        .expect("connected");
    let request = || HealthCheckRequest {
        service: String::new(),
    };

    let status = HealthClient::new(channel.clone())
        .check(request())
        .await
        .expect_err("an unsigned call is refused");
    assert_eq!(status.code(), tonic::Code::Unauthenticated, "{status:?}");
    assert!(
        status.message().contains("x-webhook-signature"),
        "{status:?}"
    );

    let sign_metadata = |signature: HeaderMap| {
        move |mut call: tonic::Request<()>| {
            for (name, value) in &signature {
                call.metadata_mut().insert(
                    MetadataKey::from_bytes(name.as_str().as_bytes()).expect("a metadata key"),
                    MetadataValue::try_from(value.as_bytes()).expect("a metadata value"),
                );
            }
            Ok(call)
        }
    };
    let forged = sign_with("a guessed secret", &EMPTY_CHECK);
    let status = HealthClient::with_interceptor(channel.clone(), sign_metadata(forged))
        .check(request())
        .await
        .expect_err("a forged call is refused");
    assert_eq!(status.code(), tonic::Code::Unauthenticated, "{status:?}");
    assert!(!status.message().contains(common::SECRET));
    assert_eq!(seen.calls.load(Ordering::SeqCst), 0);

    // The client encodes the empty request as the empty frame, which is what was signed.
    let reply = HealthClient::with_interceptor(channel, sign_metadata(sign(&EMPTY_CHECK)))
        .check(request())
        .await
        .expect("a signed call is answered");
    assert_eq!(reply.into_inner().status, 1, "SERVING");
    assert_eq!(seen.verified.load(Ordering::SeqCst), 1);
}
