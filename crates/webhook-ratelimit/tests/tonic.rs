//! The rate-limit layer on a tonic 0.14 server (`Server::builder().layer(..)`) in
//! front of tonic-health's `grpc.health.v1.Health`, keyed by the peer address tonic
//! records (`TcpConnectInfo`), driven by a raw HTTP/2 client on a loopback socket.

use std::net::SocketAddr;
use std::num::NonZeroU32;

use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::{TcpListener, TcpStream};
use tonic::transport::Server;
use tonic::transport::server::{TcpConnectInfo, TcpIncoming};
use webhook_ratelimit::{PeerIp, Quota, RateLimitLayer};

/// A gRPC frame holding an empty `HealthCheckRequest` (the server's overall health).
const EMPTY_CHECK: [u8; 5] = [0, 0, 0, 0, 0];

/// A gRPC frame holding `HealthCheckResponse { status: SERVING }`.
const SERVING: [u8; 7] = [0, 0, 0, 0, 2, 0x08, 0x01];

async fn serve(burst: u32) -> SocketAddr {
    let (_reporter, health) = tonic_health::server::health_reporter();
    let quota = Quota::per_hour(NonZeroU32::new(burst).unwrap());
    let key = PeerIp::new()
        .peer_from(|extensions| Some(extensions.get::<TcpConnectInfo>()?.remote_addr()?.ip()));
    let layer = RateLimitLayer::builder(quota).key(key).build().unwrap();

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = Server::builder().layer(layer).add_service(health);
    tokio::spawn(async move {
        router
            .serve_with_incoming(TcpIncoming::from(listener))
            .await
            .expect("tonic server");
    });
    addr
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    trailers: Option<HeaderMap>,
}

/// One `Check` call over a fresh HTTP/2 connection.
async fn check(addr: SocketAddr) -> Reply {
    let request = Request::post(format!("http://{addr}/grpc.health.v1.Health/Check"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(Full::new(Bytes::from_static(&EMPTY_CHECK)))
        .unwrap();
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(connection);
    let response = sender.send_request(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let collected = body.collect().await.unwrap();
    Reply {
        status: parts.status,
        headers: parts.headers,
        trailers: collected.trailers().cloned(),
        body: collected.to_bytes(),
    }
}

#[tokio::test]
async fn calls_within_the_limit_succeed_and_the_next_gets_resource_exhausted() {
    let addr = serve(2).await;

    for _ in 0..2 {
        let reply = check(addr).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.body, &SERVING[..]);
        let trailers = reply.trailers.expect("gRPC trailers");
        assert_eq!(trailers["grpc-status"], "0");
    }

    let reply = check(addr).await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "gRPC reports errors in grpc-status"
    );
    assert_eq!(reply.headers["content-type"], "application/grpc");
    assert_eq!(reply.headers["grpc-status"], "8", "RESOURCE_EXHAUSTED");
    assert!(
        reply.headers["grpc-message"]
            .to_str()
            .unwrap()
            .starts_with("too many requests")
    );
    assert_eq!(reply.headers["retry-after"], "1800");
    assert_eq!(reply.headers["ratelimit"], r#""default";r=0;t=1800"#);
    assert!(reply.body.is_empty(), "Trailers-Only: no message");
}
