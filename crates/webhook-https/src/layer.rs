use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use webhook_core::net::parse_forwarded_node;

use bytes::Bytes;
use http::header::FORWARDED;
use http::{Extensions, HeaderMap, Request, Response, Uri};
use ipnet::IpNet;
use tower_layer::Layer;
use webhook_core::RenderRejection;

use crate::{HttpsRejection, RequireHttps};

type PeerLookup = Arc<dyn Fn(&Extensions) -> Option<IpAddr> + Send + Sync>;
type TlsCheck = Arc<dyn Fn(&Extensions) -> bool + Send + Sync>;

/// The header a trusted proxy reports the client's protocol in.
///
/// Pick the one your proxy writes: a client can send either header itself, and a
/// proxy that sets one passes the other through untouched, so reading both would let
/// a client claim HTTPS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ForwardedHeader {
    /// `X-Forwarded-Proto: https`. With several values (`https, http`, or several
    /// header lines), the **last** one counts: the one our peer, the nearest trusted
    /// proxy, appended. The ones before it were written by hops further away (or by
    /// the client) and are ignored.
    XForwardedProto,
    /// `Forwarded: for=203.0.113.7;proto=https` (RFC 7239). Elements are read from
    /// the right (the one our peer appended) while their `for` address is itself a
    /// trusted proxy; the `proto` of the element where the walk stops (written by the
    /// outermost trusted proxy, the one the sender connected to) counts. An element
    /// whose `for` is not an address (`unknown`, `_hidden`) stops the walk too.
    Forwarded,
}

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

pub(crate) struct Config {
    enabled: bool,
    trusted: Arc<[IpNet]>,
    header: ForwardedHeader,
    lookup: Option<PeerLookup>,
    tls: Option<TlsCheck>,
    trust_uri_scheme: bool,
    on_rejection: Option<RenderRejection<HttpsRejection>>,
}

impl Clone for Config {
    fn clone(&self) -> Self {
        Self {
            enabled: self.enabled,
            trusted: self.trusted.clone(),
            header: self.header,
            lookup: self.lookup.clone(),
            tls: self.tls.clone(),
            trust_uri_scheme: self.trust_uri_scheme,
            on_rejection: self.on_rejection.clone(),
        }
    }
}

impl Config {
    fn peer(&self, extensions: &Extensions) -> Option<IpAddr> {
        let peer = match &self.lookup {
            Some(lookup) => lookup(extensions),
            None => builtin_peer(extensions),
        };
        peer.map(|ip| ip.to_canonical())
    }

    fn is_trusted(&self, ip: IpAddr) -> bool {
        self.trusted.iter().any(|net| net.contains(&ip))
    }

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
        if !self.trusted.is_empty() {
            let present = match self.header {
                ForwardedHeader::XForwardedProto => headers.contains_key(&X_FORWARDED_PROTO),
                ForwardedHeader::Forwarded => headers.contains_key(FORWARDED),
            };
            if present {
                match self.peer(extensions) {
                    Some(peer) if self.is_trusted(peer) => {
                        // The proxy saw the sender's connection; what it says wins over
                        // anything about the proxy's own connection to us.
                        return if self.proxy_says_https(headers) {
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
        }
        if self.tls.as_ref().is_some_and(|tls| tls(extensions)) {
            return Ok(Via::Tls);
        }
        if self.trust_uri_scheme && uri.scheme() == Some(&http::uri::Scheme::HTTPS) {
            return Ok(Via::UriScheme);
        }
        Err(Refusal {
            peer: self.peer(extensions),
            ignored_header,
        })
    }

    fn proxy_says_https(&self, headers: &HeaderMap) -> bool {
        let proto = match self.header {
            ForwardedHeader::XForwardedProto => last_forwarded_proto(headers),
            ForwardedHeader::Forwarded => self.forwarded_proto(headers),
        };
        proto.is_some_and(|proto| proto.eq_ignore_ascii_case("https"))
    }

    /// The `proto` of the element written by the outermost trusted proxy.
    fn forwarded_proto(&self, headers: &HeaderMap) -> Option<String> {
        let mut elements = Vec::new();
        for value in headers.get_all(FORWARDED) {
            elements.extend(split_unquoted(value.to_str().ok()?, ','));
        }
        let mut chosen = None;
        for element in elements.iter().rev() {
            let element = parse_element(element);
            let next_is_trusted = element
                .for_address
                .as_deref()
                .and_then(parse_forwarded_node)
                .is_some_and(|ip| self.is_trusted(ip.to_canonical()));
            chosen = Some(element.proto);
            if !next_is_trusted {
                break;
            }
        }
        chosen.flatten()
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

static X_FORWARDED_PROTO: http::HeaderName = http::HeaderName::from_static("x-forwarded-proto");

fn builtin_peer(extensions: &Extensions) -> Option<IpAddr> {
    #[cfg(feature = "axum")]
    if let Some(info) = extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>() {
        return Some(info.0.ip());
    }
    webhook_core::net::peer_ip(extensions)
}

/// The last value of `X-Forwarded-Proto`, over every header line.
fn last_forwarded_proto(headers: &HeaderMap) -> Option<String> {
    let last = headers.get_all(&X_FORWARDED_PROTO).iter().next_back()?;
    let text = last.to_str().ok()?;
    let value = text.rsplit(',').next()?.trim();
    (!value.is_empty()).then(|| value.to_owned())
}

/// Splits on `separator` outside double-quoted strings.
fn split_unquoted(text: &str, separator: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    let mut escaped = false;
    for (index, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            c if c == separator && !quoted => {
                parts.push(&text[start..index]);
                start = index + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// A `quoted-string` without its quotes and escapes, or a token as it is.
fn unquote(value: &str) -> String {
    let Some(inner) = value
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
    else {
        return value.to_owned();
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

struct Element {
    for_address: Option<String>,
    proto: Option<String>,
}

fn parse_element(element: &str) -> Element {
    let mut parsed = Element {
        for_address: None,
        proto: None,
    };
    for pair in split_unquoted(element, ';') {
        let Some((name, value)) = pair.split_once('=') else {
            continue;
        };
        let name = name.trim();
        let value = unquote(value.trim());
        if name.eq_ignore_ascii_case("for") {
            parsed.for_address = Some(value);
        } else if name.eq_ignore_ascii_case("proto") {
            parsed.proto = Some(value);
        }
    }
    parsed
}

/// Refuses webhook deliveries that did not arrive over TLS with 403 `https_required`.
///
/// A request passes when:
///
/// 1. its peer is a [trusted proxy](Self::trust_proxies) that sent the configured
///    forwarding header: then that header alone decides (see [`ForwardedHeader`] for
///    which value counts), since the proxy saw the sender's connection; otherwise
/// 2. the [TLS check](Self::tls_from) says this connection is TLS; or
/// 3. the request URI's scheme is `https` (HTTP/2's `:scheme`, or an absolute-form
///    request line), unless [turned off](Self::trust_uri_scheme).
///
/// A forwarding header from any other peer is ignored (and the refusal is logged with
/// `forwarded_header_ignored = true`, to help set up the trusted networks). The peer
/// address comes from the request extensions like `webhook-ratelimit`'s `PeerIp`: a
/// [`SocketAddr`] or [`IpAddr`], axum's `ConnectInfo<SocketAddr>` (feature `axum`), or
/// your own [lookup](Self::peer_from). IPv4-mapped IPv6 peers count as IPv4.
///
/// The URI scheme is written by the client, so rule 3 stops honest mistakes (a sender
/// configured with an `http://` URL sends an origin-form request line over plain TCP,
/// and is refused), not a client set on sending its own delivery in clear text. Where
/// your server terminates TLS itself, prefer [`tls_from`](Self::tls_from) with a marker
/// your TLS acceptor puts in the extensions.
///
/// Refusals are `application/problem+json` (a gRPC request gets HTTP 200 with
/// `grpc-status: 7`), with the [`RejectionCode`] in the response extensions, custom
/// responses included; they never reach the inner service.
///
/// ```
/// use std::convert::Infallible;
/// use std::net::SocketAddr;
/// use http::{Request, Response, StatusCode};
/// use tower::{ServiceBuilder, ServiceExt};
/// use webhook_https::{ForwardedHeader, RequireHttpsLayer};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let guard = RequireHttpsLayer::new()
///     .trust_proxies(ForwardedHeader::XForwardedProto, ["10.0.0.0/8".parse().unwrap()]);
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
                trusted: Arc::from(Vec::new()),
                header: ForwardedHeader::XForwardedProto,
                lookup: None,
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

    /// Trusts the proxies in `networks` to report the sender's protocol in `header`.
    /// Name only your own proxies' networks: a peer in them can claim anything.
    #[must_use]
    pub fn trust_proxies(
        mut self,
        header: ForwardedHeader,
        networks: impl IntoIterator<Item = IpNet>,
    ) -> Self {
        let config = Arc::make_mut(&mut self.config);
        config.header = header;
        config.trusted = networks.into_iter().map(|net| net.trunc()).collect();
        self
    }

    /// Reads the peer address from the extensions with `lookup` instead of the
    /// built-in types. For tonic:
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
        Arc::make_mut(&mut self.config).lookup = Some(Arc::new(lookup));
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
    /// mapping for gRPC requests). The [`RejectionCode`] is added to the extensions of
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
            .field("trusted", &self.config.trusted)
            .field("header", &self.config.header)
            .field("custom_peer_lookup", &self.config.lookup.is_some())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_separators_do_not_split() {
        assert_eq!(
            split_unquoted(r#"for="a,b";proto=https, for=c"#, ','),
            [r#"for="a,b";proto=https"#, " for=c"]
        );
        assert_eq!(unquote(r#""[2001:db8::1]:4711""#), "[2001:db8::1]:4711");
        assert_eq!(unquote(r#""a\"b""#), "a\"b");
        assert_eq!(unquote("https"), "https");
    }

    #[test]
    fn elements_and_nodes_parse() {
        let element = parse_element(r#" For="[2001:db8::1]:4711" ; Proto=HTTPS ;by=x"#);
        assert_eq!(element.for_address.as_deref(), Some("[2001:db8::1]:4711"));
        assert_eq!(element.proto.as_deref(), Some("HTTPS"));
        assert_eq!(
            parse_forwarded_node("[2001:db8::1]:4711"),
            Some("2001:db8::1".parse().unwrap())
        );
        assert_eq!(
            parse_forwarded_node("[2001:db8::1]"),
            Some("2001:db8::1".parse().unwrap())
        );
        assert_eq!(
            parse_forwarded_node("192.0.2.7:443"),
            Some("192.0.2.7".parse().unwrap())
        );
        assert_eq!(parse_forwarded_node("_hidden"), None);
        assert_eq!(parse_forwarded_node("unknown"), None);
    }

    #[test]
    fn the_last_x_forwarded_proto_counts() {
        let mut headers = HeaderMap::new();
        headers.append(X_FORWARDED_PROTO.clone(), "https, http".parse().unwrap());
        assert_eq!(last_forwarded_proto(&headers).as_deref(), Some("http"));
        headers.append(X_FORWARDED_PROTO.clone(), " HTTPS ".parse().unwrap());
        assert_eq!(last_forwarded_proto(&headers).as_deref(), Some("HTTPS"));
        headers.append(X_FORWARDED_PROTO.clone(), "https,".parse().unwrap());
        assert_eq!(last_forwarded_proto(&headers), None);
    }
}
