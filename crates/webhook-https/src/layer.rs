use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{Extensions, HeaderMap, Request, Response, Uri};
use tower_layer::Layer;
use webhook_core::RenderRejection;
use webhook_core::net::{PeerLookup, TrustedProxies};

use crate::{HttpsRejection, RequireHttps};

type TlsCheck = Arc<dyn Fn(&Extensions) -> bool + Send + Sync>;

/// How a request passed the guard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Via {
    /// A trusted proxy reported `https`.
    TrustedProxy,
    /// The [TLS check](RequireHttpsLayer::tls_from) said the connection is TLS.
    Tls,
    /// The request URI's scheme is `https`.
    UriScheme,
    /// The guard is [switched off](RequireHttpsLayer::enabled).
    NotRequired,
}

#[derive(Clone)]
pub(crate) struct Config {
    enabled: bool,
    proxies: TrustedProxies,
    lookup: PeerLookup,
    tls: Option<TlsCheck>,
    trust_uri_scheme: bool,
    on_rejection: Option<RenderRejection<HttpsRejection>>,
}

impl Config {
    /// Whether the request arrived over TLS, and how we know.
    pub(crate) fn check(
        &self,
        uri: &Uri,
        headers: &HeaderMap,
        extensions: &Extensions,
    ) -> Result<Via, Refusal> {
        if !self.enabled {
            return Ok(Via::NotRequired);
        }
        let mut ignored_header = false;
        if !self.proxies.is_empty() && headers.contains_key(self.proxies.header().proto_header()) {
            match self.lookup.peer(extensions) {
                Some(peer) if self.proxies.contains(peer) => {
                    // The proxy saw the sender's connection; what it says wins over
                    // anything about the proxy's own connection to us.
                    let https = self
                        .proxies
                        .forwarded_proto(headers)
                        .is_some_and(|proto| proto.eq_ignore_ascii_case("https"));
                    return if https {
                        Ok(Via::TrustedProxy)
                    } else {
                        Err(Refusal {
                            peer: Some(peer),
                            ignored_header: false,
                        })
                    };
                }
                _ => ignored_header = true,
            }
        }
        if self.tls.as_ref().is_some_and(|tls| tls(extensions)) {
            return Ok(Via::Tls);
        }
        if self.trust_uri_scheme && uri.scheme() == Some(&http::uri::Scheme::HTTPS) {
            return Ok(Via::UriScheme);
        }
        Err(Refusal {
            peer: self.lookup.peer(extensions),
            ignored_header,
        })
    }

    pub(crate) fn refuse<B>(&self, request: &Request<B>, refusal: &Refusal) -> Response<Bytes> {
        tracing::debug!(
            peer = ?refusal.peer,
            forwarded_header_ignored = refusal.ignored_header,
            path = request.uri().path(),
            "not sent over HTTPS"
        );
        webhook_core::refuse(
            "https",
            &HttpsRejection::HttpsRequired,
            request.headers(),
            self.on_rejection.as_ref(),
        )
    }
}

/// Why a request was refused: logged, never sent to the client.
#[derive(Debug)]
pub(crate) struct Refusal {
    peer: Option<IpAddr>,
    /// A forwarding header was present but the peer is not a trusted proxy.
    ignored_header: bool,
}

/// Refuses webhook deliveries that did not arrive over TLS with 403 `https_required`.
///
/// A request passes when:
///
/// 1. its peer is a [trusted proxy](Self::trusted_proxies) that sent the configured
///    forwarding header: then that header alone decides (see [`TrustedProxies`] for
///    which value counts), since the proxy saw the sender's connection; otherwise
/// 2. the [TLS check](Self::tls_from) says this connection is TLS; or
/// 3. the request URI's scheme is `https` (HTTP/2's `:scheme`, or an absolute-form
///    request line), unless [turned off](Self::trust_uri_scheme).
///
/// A forwarding header from any other peer is ignored (and the refusal is logged with
/// `forwarded_header_ignored = true`, to help set up the trusted networks). The peer
/// address comes from the request extensions through a [`PeerLookup`], like
/// `webhook-ratelimit`'s `PeerIp`: a [`SocketAddr`](std::net::SocketAddr) or
/// [`IpAddr`], axum's `ConnectInfo<SocketAddr>` (feature `axum`), or your own
/// [lookup](Self::peer_from). IPv4-mapped IPv6 peers count as IPv4.
///
/// The URI scheme is written by the client, so rule 3 stops honest mistakes (a sender
/// configured with an `http://` URL sends an origin-form request line over plain TCP,
/// and is refused), not a client set on sending its own delivery in clear text. Where
/// your server terminates TLS itself, prefer [`tls_from`](Self::tls_from) with a marker
/// your TLS acceptor puts in the extensions.
///
/// Refusals are `application/problem+json` (a gRPC request gets HTTP 200 with
/// `grpc-status: 7`), with the [`RejectionCode`](webhook_core::RejectionCode) in the response extensions, custom
/// responses included; they never reach the inner service.
///
/// ```
/// use std::convert::Infallible;
/// use std::net::SocketAddr;
/// use http::{Request, Response, StatusCode};
/// use tower::{ServiceBuilder, ServiceExt};
/// use webhook_https::{ProxyHeader, RequireHttpsLayer, TrustedProxies};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let proxies = TrustedProxies::new(ProxyHeader::XForwarded, ["10.0.0.0/8".parse().unwrap()]);
/// let guard = RequireHttpsLayer::new().trusted_proxies(proxies);
/// let service = ServiceBuilder::new()
///     .layer(guard)
///     .service_fn(|_: Request<String>| async { Ok::<_, Infallible>(Response::new(String::from("ok"))) });
///
/// let from = |peer: &str| {
///     let mut request = Request::post("/webhooks")
///         .header("x-forwarded-proto", "https")
///         .body(String::new())
///         .unwrap();
///     request.extensions_mut().insert(peer.parse::<SocketAddr>().unwrap());
///     request
/// };
/// // The load balancer terminated TLS and says so.
/// let response = service.clone().oneshot(from("10.1.2.3:40000")).await.unwrap();
/// assert_eq!(response.status(), StatusCode::OK);
/// // The same header straight from the internet is ignored.
/// let response = service.oneshot(from("203.0.113.9:40000")).await.unwrap();
/// assert_eq!(response.status(), StatusCode::FORBIDDEN);
/// # }
/// ```
#[derive(Clone)]
pub struct RequireHttpsLayer {
    config: Arc<Config>,
}

impl RequireHttpsLayer {
    /// A guard passing requests whose URI scheme is `https`; no proxy trusted, no TLS
    /// check.
    pub fn new() -> Self {
        Self {
            config: Arc::new(Config {
                enabled: true,
                proxies: TrustedProxies::none(),
                lookup: PeerLookup::new(),
                tls: None,
                trust_uri_scheme: true,
                on_rejection: None,
            }),
        }
    }

    /// Switches the guard on (the default) or off. Off, every request passes: a
    /// receiver can keep one stack type and turn the guard on from its configuration
    /// (`WEBHOOK_REQUIRE_HTTPS=1`), where `Option<RequireHttpsLayer>` would change the
    /// response type.
    ///
    /// ```
    /// use webhook_https::{RequireHttpsLayer, Via};
    ///
    /// let require = std::env::var("WEBHOOK_REQUIRE_HTTPS").as_deref() == Ok("1");
    /// let guard = RequireHttpsLayer::new().enabled(require);
    /// let plain = http::Request::get("/webhooks").body(()).unwrap();
    /// assert_eq!(guard.check(&plain).is_some(), !require);
    /// ```
    #[must_use]
    pub fn enabled(mut self, on: bool) -> Self {
        Arc::make_mut(&mut self.config).enabled = on;
        self
    }

    /// `true` unless the guard was [switched off](Self::enabled).
    pub fn is_enabled(&self) -> bool {
        self.config.enabled
    }

    /// Believes what `proxies` report about the sender's protocol
    /// (`X-Forwarded-Proto`, or `Forwarded: proto=`), from them only (default: no
    /// proxy trusted). Give the rate limiter's `PeerIp` the same value.
    #[must_use]
    pub fn trusted_proxies(mut self, proxies: TrustedProxies) -> Self {
        Arc::make_mut(&mut self.config).proxies = proxies;
        self
    }

    /// Reads the peer address from the extensions with `lookup` instead of the
    /// built-in records (see [`PeerLookup`]). For tonic:
    ///
    /// ```
    /// use webhook_https::RequireHttpsLayer;
    /// # struct TcpConnectInfo(Option<std::net::SocketAddr>);
    /// # impl TcpConnectInfo { fn remote_addr(&self) -> Option<std::net::SocketAddr> { self.0 } }
    ///
    /// let guard = RequireHttpsLayer::new().peer_from(|extensions| {
    ///     let info = extensions.get::<TcpConnectInfo>()?; // tonic::transport::server::TcpConnectInfo
    ///     Some(info.remote_addr()?.ip())
    /// });
    /// # drop(guard);
    /// ```
    #[must_use]
    pub fn peer_from<F>(mut self, lookup: F) -> Self
    where
        F: Fn(&Extensions) -> Option<IpAddr> + Send + Sync + 'static,
    {
        Arc::make_mut(&mut self.config).lookup = PeerLookup::from_fn(lookup);
        self
    }

    /// Passes requests for which `is_tls` is true: read a marker your TLS acceptor
    /// puts in the extensions (tonic: `TlsConnectInfo`).
    ///
    /// ```
    /// use webhook_https::RequireHttpsLayer;
    ///
    /// #[derive(Clone)]
    /// struct Tls; // inserted by the server for connections it accepted over TLS
    ///
    /// let guard = RequireHttpsLayer::new().tls_from(|extensions| extensions.get::<Tls>().is_some());
    /// # drop(guard);
    /// ```
    #[must_use]
    pub fn tls_from<F>(mut self, is_tls: F) -> Self
    where
        F: Fn(&Extensions) -> bool + Send + Sync + 'static,
    {
        Arc::make_mut(&mut self.config).tls = Some(Arc::new(is_tls));
        self
    }

    /// Whether a request URI with the scheme `https` passes (default `true`). Turn it
    /// off when plain-text clients can reach the server and only the
    /// [TLS check](Self::tls_from) or a trusted proxy should count.
    #[must_use]
    pub fn trust_uri_scheme(mut self, trust: bool) -> Self {
        Arc::make_mut(&mut self.config).trust_uri_scheme = trust;
        self
    }

    /// Replaces the default responses (`application/problem+json`, or the gRPC
    /// mapping for gRPC requests). The [`RejectionCode`](webhook_core::RejectionCode) is added to the extensions of
    /// whatever `render` returns.
    #[must_use]
    pub fn on_rejection<F>(mut self, render: F) -> Self
    where
        F: Fn(&HttpsRejection) -> Response<Bytes> + Send + Sync + 'static,
    {
        Arc::make_mut(&mut self.config).on_rejection = Some(Arc::new(render));
        self
    }

    /// How `request` passes the guard, or `None` if it would be refused.
    ///
    /// ```
    /// use webhook_https::{RequireHttpsLayer, Via};
    ///
    /// let guard = RequireHttpsLayer::new();
    /// let direct = http::Request::get("https://hooks.example.com/webhooks").body(()).unwrap();
    /// assert_eq!(guard.check(&direct), Some(Via::UriScheme));
    /// let plain = http::Request::get("/webhooks").body(()).unwrap();
    /// assert_eq!(guard.check(&plain), None);
    /// ```
    pub fn check<B>(&self, request: &Request<B>) -> Option<Via> {
        self.config
            .check(request.uri(), request.headers(), request.extensions())
            .ok()
    }

    pub(crate) fn config(&self) -> &Arc<Config> {
        &self.config
    }
}

impl Default for RequireHttpsLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for RequireHttpsLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequireHttpsLayer")
            .field("enabled", &self.config.enabled)
            .field("proxies", &self.config.proxies)
            .field("peer_lookup", &self.config.lookup)
            .field("tls_check", &self.config.tls.is_some())
            .field("trust_uri_scheme", &self.config.trust_uri_scheme)
            .finish_non_exhaustive()
    }
}

impl<S> Layer<S> for RequireHttpsLayer {
    type Service = RequireHttps<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireHttps::from_config(inner, self.config.clone())
    }
}
