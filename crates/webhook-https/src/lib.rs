//! Refuse webhook deliveries that did not arrive over TLS, as a tower layer.
//!
//! A webhook endpoint configured with an `http://` URL sends every payload, and its
//! signature, in clear text. [`RequireHttpsLayer`] answers such deliveries with
//! `403` and the code `https_required`, so the sender's dashboard shows the mistake
//! at once instead of the data leaking for months.
//!
//! Behind a load balancer or reverse proxy that terminates TLS, the connection that
//! reaches the service is plain HTTP: the proxy reports the sender's protocol in
//! `X-Forwarded-Proto` or `Forwarded` ([`ProxyHeader`]). Those headers are honoured
//! **only** from the [`TrustedProxies`] you name; from any other peer they are
//! ignored, since a client can send them itself. `TrustedProxies` and the peer
//! lookup come from `webhook-core`: the rate limiter's `PeerIp` takes the same value.
//!
//! ```
//! use std::convert::Infallible;
//! use std::net::SocketAddr;
//! use http::{Request, Response, StatusCode};
//! use http_body_util::BodyExt;
//! use tower::{ServiceBuilder, ServiceExt};
//! use webhook_https::{ProxyHeader, RequireHttpsLayer, TrustedProxies};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let proxies = TrustedProxies::parse(ProxyHeader::Forwarded, "10.0.0.0/8").unwrap();
//! let guard = RequireHttpsLayer::new().trusted_proxies(proxies);
//! let service = ServiceBuilder::new()
//!     .layer(guard)
//!     .service_fn(|_: Request<String>| async { Ok::<_, Infallible>(Response::new(String::from("ok"))) });
//!
//! // Direct HTTPS (HTTP/2 `:scheme`, or an absolute-form request line).
//! let direct = Request::post("https://hooks.example.com/webhooks").body(String::new()).unwrap();
//! assert_eq!(service.clone().oneshot(direct).await.unwrap().status(), StatusCode::OK);
//!
//! // Through the TLS-terminating proxy at 10.0.0.2.
//! let mut proxied = Request::post("/webhooks")
//!     .header("forwarded", "for=203.0.113.7;proto=https")
//!     .body(String::new())
//!     .unwrap();
//! proxied.extensions_mut().insert("10.0.0.2:51000".parse::<SocketAddr>().unwrap());
//! assert_eq!(service.clone().oneshot(proxied).await.unwrap().status(), StatusCode::OK);
//!
//! // Plain HTTP.
//! let plain = Request::post("/webhooks").body(String::new()).unwrap();
//! let response = service.oneshot(plain).await.unwrap();
//! assert_eq!(response.status(), StatusCode::FORBIDDEN);
//! assert_eq!(response.headers()["content-type"], "application/problem+json");
//! let body: serde_json::Value = serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap();
//! assert_eq!(body["code"], "https_required");
//! # }
//! ```
//!
//! # Which forwarded value counts
//!
//! Proxies append: a request that went through several hops, or that the client
//! seeded with its own header, carries several values. The rule is to believe only
//! what a trusted proxy wrote about the sender's connection:
//!
//! - `X-Forwarded-Proto`: the **last** value (over all header lines), the one our
//!   peer appended. `https, http` is refused. If you chain proxies, have the inner
//!   ones pass the edge proxy's value through, or use `Forwarded`.
//! - `Forwarded`: elements are walked from the right while their `for` is a trusted
//!   proxy; the `proto` of the element written by the outermost trusted proxy counts.
//!   A client prepending `for=<a trusted address>;proto=https` gains nothing: the
//!   element our proxy appended names the client, an untrusted address, so the walk
//!   stops there. An element without `proto` is refused.
//! - A trusted proxy's header wins over the URI scheme and the TLS check: they only
//!   describe the proxy's connection to us.
//!
//! # Placement
//!
//! Outermost among the refusing layers (inside the observability layer): a delivery
//! sent over plain HTTP is refused before a rate limit counts it or the signature
//! layer buffers its body.
//!
//! # Features
//!
//! - `axum`: the peer address is read from axum's `ConnectInfo<SocketAddr>` too
//!   (through `webhook-core`'s feature `axum`);
//!   [`HttpsRejection`] implements `IntoResponse`.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod future;
mod layer;
mod rejection;
mod service;

pub use future::ResponseFuture;
pub use layer::{RequireHttpsLayer, Via};
pub use rejection::HttpsRejection;
pub use service::RequireHttps;
pub use webhook_core::net::{IpNet, PeerLookup, ProxyHeader, TrustedProxies};
