//! Helpers shared by the integration tests: a counting handler behind the layer, and
//! requests from a given peer address.
#![allow(dead_code)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::BodyExt;
use tower::{ServiceBuilder, ServiceExt};
use webhook_ratelimit::{Key, KeyExtractor, Quota, RateLimitLayer};

pub(crate) fn nz(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap()
}

/// `burst` requests at once, then one more each `interval`.
pub(crate) fn quota(burst: u32, interval: Duration) -> Quota {
    Quota::with_period(interval).unwrap().allow_burst(nz(burst))
}

/// Counts the requests that reached the handler.
#[derive(Clone, Default)]
pub(crate) struct Calls(pub(crate) Arc<AtomicUsize>);

impl Calls {
    pub(crate) fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

pub(crate) type BoxService = tower::util::BoxCloneService<
    Request<String>,
    Response<webhook_core::ResponseBody<String>>,
    Infallible,
>;

pub(crate) fn service<K: KeyExtractor<Key>>(layer: RateLimitLayer<K>, calls: &Calls) -> BoxService {
    let calls = calls.clone();
    let handler = tower::service_fn(move |_request: Request<String>| {
        calls.0.fetch_add(1, Ordering::SeqCst);
        async { Ok::<_, Infallible>(Response::new(String::from("handled"))) }
    });
    BoxService::new(ServiceBuilder::new().layer(layer).service(handler))
}

/// A request from `peer`, with extra headers.
pub(crate) fn from_peer(peer: &str, headers: &[(&'static str, &str)]) -> Request<String> {
    let mut request = Request::post("/webhooks").body(String::from("{}")).unwrap();
    for (name, value) in headers {
        request.headers_mut().append(*name, value.parse().unwrap());
    }
    request
        .extensions_mut()
        .insert(peer.parse::<SocketAddr>().unwrap());
    request
}

pub(crate) fn request() -> Request<String> {
    from_peer("192.0.2.1:40000", &[])
}

pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Reply {
    pub(crate) fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no `{name}` header"))
            .to_str()
            .unwrap()
    }

    pub(crate) fn problem_code(&self) -> String {
        assert_eq!(self.header("content-type"), "application/problem+json");
        let body: serde_json::Value = serde_json::from_slice(&self.body).unwrap();
        assert_eq!(body["status"], self.status.as_u16());
        body["code"].as_str().unwrap().to_owned()
    }
}

pub(crate) async fn send(service: &BoxService, request: Request<String>) -> Reply {
    let response = service.clone().oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    Reply {
        status: parts.status,
        headers: parts.headers,
        body: body.collect().await.unwrap().to_bytes(),
    }
}
