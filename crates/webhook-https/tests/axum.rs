//! The guard on an axum router served on a loopback socket, reading the peer from
//! `ConnectInfo<SocketAddr>` (feature `axum`).
#![cfg(feature = "axum")]

use std::net::SocketAddr;

use axum::Router;
use axum::routing::post;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use webhook_https::{ProxyHeader, RequireHttpsLayer, TrustedProxies};

async fn serve(trusted: &str) -> SocketAddr {
    let proxies = TrustedProxies::new(ProxyHeader::XForwarded, [trusted.parse().unwrap()]);
    let guard = RequireHttpsLayer::new().trusted_proxies(proxies);
    let app = Router::new()
        .route("/webhooks", post(|| async { "processed" }))
        .layer(guard);
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
    addr
}

/// One HTTP/1.1 request; the status line and the body.
async fn post_with(addr: SocketAddr, headers: &str) -> (String, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "POST /webhooks HTTP/1.1\r\nhost: {addr}\r\n{headers}content-length: 0\r\nconnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let status = response.lines().next().unwrap().to_owned();
    let body = response
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    (status, body)
}

#[tokio::test]
async fn the_loopback_proxy_is_trusted_when_configured() {
    let addr = serve("127.0.0.0/8").await;
    let (status, body) = post_with(addr, "x-forwarded-proto: https\r\n").await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(body, "processed");
    let (status, _) = post_with(addr, "x-forwarded-proto: http\r\n").await;
    assert_eq!(status, "HTTP/1.1 403 Forbidden");
    let (status, _) = post_with(addr, "").await;
    assert_eq!(status, "HTTP/1.1 403 Forbidden");
}

#[tokio::test]
async fn an_untrusted_peer_cannot_claim_https() {
    let addr = serve("10.0.0.0/8").await;
    let (status, body) = post_with(addr, "x-forwarded-proto: https\r\n").await;
    assert_eq!(status, "HTTP/1.1 403 Forbidden");
    let problem: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(problem["code"], "https_required");
    assert_eq!(problem["status"], 403);
}
