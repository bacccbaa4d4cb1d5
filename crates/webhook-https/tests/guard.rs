//! The HTTPS guard: direct TLS, plain HTTP, and forwarding headers from trusted and
//! untrusted peers, including the forged and conflicting cases.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::BodyExt;
use tower::{Service, ServiceBuilder, ServiceExt};
use webhook_core::RejectionCode;
use webhook_https::{HttpsRejection, ProxyHeader, RequireHttpsLayer, TrustedProxies, Via};

/// The proxies' network.
const PROXIES: &str = "10.0.0.0/8";
const PROXY: &str = "10.0.0.2:51000";
const EDGE_PROXY: &str = "10.0.0.1";
const INTERNET: &str = "203.0.113.9:40000";

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    code: Option<RejectionCode>,
}

impl Reply {
    fn problem_code(&self) -> String {
        let value: serde_json::Value = serde_json::from_slice(&self.body).unwrap();
        value["code"].as_str().unwrap().to_owned()
    }
}

/// The guard in front of a handler counting its calls and echoing `ok`.
fn guarded(
    guard: RequireHttpsLayer,
) -> (
    impl Service<
        Request<String>,
        Response = Response<impl http_body::Body<Data = Bytes, Error = Infallible>>,
        Error = Infallible,
        Future = impl Send,
    > + Clone
    + Send
    + Sync,
    Arc<AtomicUsize>,
) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let service = ServiceBuilder::new()
        .layer(guard)
        .service_fn(move |request: Request<String>| {
            counter.fetch_add(1, Ordering::SeqCst);
            // What the handler sees: the request unchanged.
            let seen = request.body().clone();
            async move { Ok::<_, Infallible>(Response::new(format!("ok {seen}"))) }
        });
    (service, calls)
}

async fn send<S, B>(service: &S, request: Request<String>) -> Reply
where
    S: Service<Request<String>, Response = Response<B>, Error = Infallible> + Clone,
    B: http_body::Body<Data = Bytes, Error = Infallible>,
{
    let response = service.clone().oneshot(request).await.unwrap();
    let code = response.extensions().get::<RejectionCode>().copied();
    let (parts, body) = response.into_parts();
    Reply {
        status: parts.status,
        headers: parts.headers,
        body: body.collect().await.unwrap().to_bytes(),
        code,
    }
}

fn trusting(header: ProxyHeader) -> RequireHttpsLayer {
    RequireHttpsLayer::new()
        .trusted_proxies(TrustedProxies::new(header, [PROXIES.parse().unwrap()]))
}

/// A request from `peer` with the given headers, origin-form (no scheme).
fn from(peer: &str, headers: &[(&str, &str)]) -> Request<String> {
    let mut builder = Request::post("/webhooks");
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let mut request = builder.body("payload".to_owned()).unwrap();
    request
        .extensions_mut()
        .insert(peer.parse::<SocketAddr>().unwrap());
    request
}

async fn status(guard: RequireHttpsLayer, request: Request<String>) -> StatusCode {
    let (service, _) = guarded(guard);
    send(&service, request).await.status
}

#[tokio::test]
async fn a_direct_https_request_passes() {
    let (service, calls) = guarded(RequireHttpsLayer::new());
    let request = Request::post("https://hooks.example.com/webhooks")
        .body("payload".to_owned())
        .unwrap();
    let reply = send(&service, request).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, "ok payload");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn plain_http_is_refused_with_https_required() {
    let (service, calls) = guarded(RequireHttpsLayer::new());
    for request in [
        Request::post("/webhooks").body(String::new()).unwrap(),
        Request::post("http://hooks.example.com/webhooks")
            .body(String::new())
            .unwrap(),
    ] {
        let reply = send(&service, request).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN);
        assert_eq!(reply.headers["content-type"], "application/problem+json");
        assert_eq!(reply.problem_code(), "https_required");
        assert_eq!(reply.code, Some(RejectionCode("https_required")));
    }
    assert_eq!(calls.load(Ordering::SeqCst), 0, "never reaches the handler");
}

#[tokio::test]
async fn x_forwarded_proto_https_from_a_trusted_proxy_passes() {
    let (service, calls) = guarded(trusting(ProxyHeader::XForwarded));
    let reply = send(&service, from(PROXY, &[("x-forwarded-proto", "https")])).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    // Case does not matter.
    let reply = send(&service, from(PROXY, &[("x-forwarded-proto", "HTTPS")])).await;
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn x_forwarded_proto_from_an_untrusted_peer_is_ignored() {
    let (service, calls) = guarded(trusting(ProxyHeader::XForwarded));
    let reply = send(&service, from(INTERNET, &[("x-forwarded-proto", "https")])).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(reply.problem_code(), "https_required");
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn forwarding_headers_count_for_nothing_without_a_known_peer() {
    let guard = trusting(ProxyHeader::XForwarded);
    let request = Request::post("/webhooks")
        .header("x-forwarded-proto", "https")
        .body(String::new())
        .unwrap();
    assert_eq!(status(guard, request).await, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn forwarding_headers_count_for_nothing_when_no_proxy_is_trusted() {
    let request = from(PROXY, &[("x-forwarded-proto", "https")]);
    assert_eq!(
        status(RequireHttpsLayer::new(), request).await,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn forwarded_proto_https_from_a_trusted_proxy_passes() {
    let guard = trusting(ProxyHeader::Forwarded);
    let request = from(PROXY, &[("forwarded", "for=198.51.100.17;proto=https")]);
    assert_eq!(status(guard.clone(), request).await, StatusCode::OK);
    // Quoted values, an IPv6 node with a port, parameter names in any case.
    let request = from(
        PROXY,
        &[(
            "forwarded",
            r#"For="[2001:db8:cafe::17]:4711";Proto=HTTPS;by=10.0.0.2"#,
        )],
    );
    assert_eq!(status(guard.clone(), request).await, StatusCode::OK);
    let request = from(INTERNET, &[("forwarded", "for=198.51.100.17;proto=https")]);
    assert_eq!(status(guard, request).await, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn only_the_configured_header_is_read() {
    // The proxy writes X-Forwarded-Proto and passes `Forwarded` through untouched: a
    // client's own `Forwarded: proto=https` must not count.
    let guard = trusting(ProxyHeader::XForwarded);
    let request = from(PROXY, &[("forwarded", "for=198.51.100.17;proto=https")]);
    assert_eq!(status(guard.clone(), request).await, StatusCode::FORBIDDEN);
    let request = from(
        PROXY,
        &[
            ("x-forwarded-proto", "http"),
            ("forwarded", "for=198.51.100.17;proto=https"),
        ],
    );
    assert_eq!(status(guard, request).await, StatusCode::FORBIDDEN);
    // And the other way round.
    let guard = trusting(ProxyHeader::Forwarded);
    let request = from(PROXY, &[("x-forwarded-proto", "https")]);
    assert_eq!(status(guard, request).await, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_value_appended_by_the_nearest_proxy_counts_in_x_forwarded_proto() {
    let guard = trusting(ProxyHeader::XForwarded);
    // The client sent `https` over plain HTTP, our proxy appended what it saw.
    let request = from(PROXY, &[("x-forwarded-proto", "https, http")]);
    assert_eq!(status(guard.clone(), request).await, StatusCode::FORBIDDEN);
    let request = from(PROXY, &[("x-forwarded-proto", "http, https")]);
    assert_eq!(status(guard.clone(), request).await, StatusCode::OK);
    // Several header lines: the last line's last value.
    let mut request = from(PROXY, &[]);
    request
        .headers_mut()
        .append("x-forwarded-proto", "https".parse().unwrap());
    request
        .headers_mut()
        .append("x-forwarded-proto", "http".parse().unwrap());
    assert_eq!(status(guard.clone(), request).await, StatusCode::FORBIDDEN);
    // Empty or garbage: refused.
    for value in ["", "https,", "ftp", "https;q=1"] {
        let request = from(PROXY, &[("x-forwarded-proto", value)]);
        assert_eq!(
            status(guard.clone(), request).await,
            StatusCode::FORBIDDEN,
            "{value:?}"
        );
    }
}

#[tokio::test]
async fn forwarded_is_walked_through_trusted_proxies_to_the_edge() {
    let guard = trusting(ProxyHeader::Forwarded);
    // Sender -TLS-> edge proxy 10.0.0.1 -plain-> proxy 10.0.0.2 -> us. The inner
    // proxy's element says `http` (its own hop); the edge's says `https`.
    let chain = format!("for=198.51.100.17;proto=https, for={EDGE_PROXY};proto=http");
    let request = from(PROXY, &[("forwarded", &chain)]);
    assert_eq!(status(guard.clone(), request).await, StatusCode::OK);
    // The same chain on two header lines.
    let mut request = from(PROXY, &[]);
    request.headers_mut().append(
        "forwarded",
        "for=198.51.100.17;proto=https".parse().unwrap(),
    );
    request.headers_mut().append(
        "forwarded",
        format!("for={EDGE_PROXY};proto=http").parse().unwrap(),
    );
    assert_eq!(status(guard.clone(), request).await, StatusCode::OK);
    // The edge proxy saw plain HTTP: refused, whatever came later.
    let chain = format!("for=198.51.100.17;proto=http, for={EDGE_PROXY};proto=https");
    let request = from(PROXY, &[("forwarded", &chain)]);
    assert_eq!(status(guard, request).await, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_client_prepending_a_trusted_hop_gains_nothing() {
    let guard = trusting(ProxyHeader::Forwarded);
    // The client sent the first element itself, over plain HTTP; our proxy appended
    // the second, naming the client (an untrusted address): the walk stops there.
    let forged = format!("for={EDGE_PROXY};proto=https, for=198.51.100.17;proto=http");
    let request = from(PROXY, &[("forwarded", &forged)]);
    assert_eq!(status(guard.clone(), request).await, StatusCode::FORBIDDEN);
    // An element without `proto` is refused, even if an earlier one says https.
    let request = from(
        PROXY,
        &[(
            "forwarded",
            "for=198.51.100.17;proto=https, for=198.51.100.17",
        )],
    );
    assert_eq!(status(guard.clone(), request).await, StatusCode::FORBIDDEN);
    // An obfuscated `for` stops the walk at its element.
    let request = from(
        PROXY,
        &[(
            "forwarded",
            "for=10.0.0.3;proto=http, for=_hidden;proto=https",
        )],
    );
    assert_eq!(status(guard, request).await, StatusCode::OK);
}

#[tokio::test]
async fn a_trusted_proxy_saying_http_wins_over_an_https_uri() {
    let guard = trusting(ProxyHeader::XForwarded);
    let mut request = Request::post("https://hooks.example.com/webhooks")
        .header("x-forwarded-proto", "http")
        .body(String::new())
        .unwrap();
    request
        .extensions_mut()
        .insert(PROXY.parse::<SocketAddr>().unwrap());
    assert_eq!(status(guard.clone(), request).await, StatusCode::FORBIDDEN);
    // Without the header, the URI scheme counts as usual.
    let mut request = Request::post("https://hooks.example.com/webhooks")
        .body(String::new())
        .unwrap();
    request
        .extensions_mut()
        .insert(PROXY.parse::<SocketAddr>().unwrap());
    assert_eq!(status(guard, request).await, StatusCode::OK);
}

#[tokio::test]
async fn peers_are_read_like_the_rate_limit_reads_them() {
    let guard = trusting(ProxyHeader::XForwarded);
    // An IPv4-mapped IPv6 peer counts as IPv4.
    let request = from("[::ffff:10.0.0.2]:51000", &[("x-forwarded-proto", "https")]);
    assert_eq!(status(guard.clone(), request).await, StatusCode::OK);
    // A bare IpAddr.
    let mut request = Request::post("/webhooks")
        .header("x-forwarded-proto", "https")
        .body(String::new())
        .unwrap();
    request
        .extensions_mut()
        .insert("10.9.9.9".parse::<IpAddr>().unwrap());
    assert_eq!(status(guard.clone(), request).await, StatusCode::OK);
    // A custom lookup (tonic's TcpConnectInfo, ...).
    #[derive(Clone)]
    struct ConnInfo(IpAddr);
    let custom = guard.peer_from(|extensions| extensions.get::<ConnInfo>().map(|info| info.0));
    let mut request = Request::post("/webhooks")
        .header("x-forwarded-proto", "https")
        .body(String::new())
        .unwrap();
    request
        .extensions_mut()
        .insert(ConnInfo("10.0.0.7".parse().unwrap()));
    assert_eq!(status(custom, request).await, StatusCode::OK);
}

#[tokio::test]
async fn a_tls_marker_passes_and_the_uri_scheme_can_be_ignored() {
    #[derive(Clone)]
    struct Tls;
    let guard = RequireHttpsLayer::new()
        .tls_from(|extensions| extensions.get::<Tls>().is_some())
        .trust_uri_scheme(false);
    let mut request = Request::post("/webhooks").body(String::new()).unwrap();
    request.extensions_mut().insert(Tls);
    assert_eq!(guard.check(&request), Some(Via::Tls));
    assert_eq!(status(guard.clone(), request).await, StatusCode::OK);
    // A client writing `https://` in its request line proves nothing here.
    let request = Request::post("https://hooks.example.com/webhooks")
        .body(String::new())
        .unwrap();
    assert_eq!(guard.check(&request), None);
    assert_eq!(status(guard, request).await, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn grpc_requests_get_permission_denied() {
    let (service, calls) = guarded(RequireHttpsLayer::new());
    let request = Request::post("/pkg.Service/Method")
        .header("content-type", "application/grpc+proto")
        .body(String::new())
        .unwrap();
    let reply = send(&service, request).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.headers["grpc-status"], "7");
    assert_eq!(reply.headers["content-type"], "application/grpc");
    assert!(reply.body.is_empty());
    assert_eq!(reply.code, Some(RejectionCode("https_required")));
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn custom_rejections_keep_the_rejection_code() {
    let guard = RequireHttpsLayer::new().on_rejection(|rejection: &HttpsRejection| {
        let mut response = Response::new(Bytes::from_static(b"use https"));
        *response.status_mut() = StatusCode::MISDIRECTED_REQUEST;
        assert_eq!(rejection, &HttpsRejection::HttpsRequired);
        response
    });
    let (service, _) = guarded(guard);
    let reply = send(
        &service,
        Request::post("/webhooks").body(String::new()).unwrap(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::MISDIRECTED_REQUEST);
    assert_eq!(reply.body, "use https");
    assert_eq!(reply.code, Some(RejectionCode("https_required")));
}

#[tokio::test]
async fn a_switched_off_guard_passes_everything() {
    let guard = RequireHttpsLayer::new().enabled(false);
    assert!(!guard.is_enabled());
    let (service, calls) = guarded(guard);
    let reply = send(
        &service,
        Request::post("/webhooks").body(String::new()).unwrap(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(
        RequireHttpsLayer::new()
            .enabled(false)
            .check(&Request::get("/").body(()).unwrap()),
        Some(Via::NotRequired)
    );
}

#[test]
fn the_service_is_send_sync_and_clone() {
    fn assert_service<S: Send + Sync + Clone>(_: &S) {}
    let (service, _) = guarded(RequireHttpsLayer::new());
    assert_service(&service);
    fn assert_send<T: Send>(_: &T) {}
    assert_send(&service.oneshot(Request::new(String::new())));
}
