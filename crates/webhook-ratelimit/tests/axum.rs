//! The layer on an axum 0.8 router served over a real loopback socket, keyed by the
//! peer address axum records (`ConnectInfo<SocketAddr>`, feature `axum`).
#![cfg(feature = "axum")]

use std::net::SocketAddr;
use std::num::NonZeroU32;

use axum::Router;
use axum::routing::post;
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use webhook_ratelimit::{PeerIp, Quota, RateLimitLayer};

async fn post_once(addr: SocketAddr) -> (StatusCode, http::HeaderMap, Bytes) {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    let request = Request::post("/webhooks")
        .header("host", "localhost")
        .body(Full::new(Bytes::from_static(b"{}")))
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    let (parts, body) = response.into_parts();
    (
        parts.status,
        parts.headers,
        body.collect().await.unwrap().to_bytes(),
    )
}

#[tokio::test]
async fn an_axum_router_limits_per_connection_address() {
    let quota = Quota::per_hour(NonZeroU32::new(2).unwrap());
    let layer = RateLimitLayer::builder(quota)
        .key(PeerIp::new())
        .build()
        .unwrap();
    let app = Router::new()
        .route("/webhooks", post(|| async { "received" }))
        .layer(layer);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });

    for _ in 0..2 {
        let (status, _, body) = post_once(addr).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, "received");
    }
    let (status, headers, body) = post_once(addr).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(headers["retry-after"], "1800");
    assert_eq!(headers["content-type"], "application/problem+json");
    let problem: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(problem["code"], "rate_limited");
}
