//! Peer addresses and trusted proxies, shared by the layers that key on the client
//! (rate limits) or trust what its proxy says about it (the HTTPS guard).
//!
//! - [`PeerLookup`] finds the connection's peer address in the request extensions.
//! - [`TrustedProxies`] names the proxies whose forwarding headers are believed, and
//!   which header family they write ([`ProxyHeader`]). Build it once and give the
//!   same value to every layer: the rate limiter reads the client address a proxy
//!   reports, the HTTPS guard the protocol.
//!
//! A forwarding header is worth nothing from any other peer: a client can send it
//! itself. Values are read from the right (the one our peer appended) over trusted
//! hops only, so a client that seeds its own header gains nothing.
//!
//! ```
//! use std::net::{IpAddr, SocketAddr};
//! use http::{Extensions, HeaderMap};
//! use webhook_core::net::{PeerLookup, ProxyHeader, TrustedProxies};
//!
//! let proxies = TrustedProxies::parse(ProxyHeader::XForwarded, "10.0.0.0/8, 192.0.2.1").unwrap();
//!
//! let mut extensions = Extensions::new();
//! extensions.insert("10.1.2.3:40000".parse::<SocketAddr>().unwrap());
//! let peer = PeerLookup::new().peer(&extensions).unwrap();
//! assert!(proxies.contains(peer));
//!
//! let mut headers = HeaderMap::new();
//! headers.insert("x-forwarded-for", "203.0.113.50, 198.51.100.7".parse().unwrap());
//! headers.insert("x-forwarded-proto", "https".parse().unwrap());
//! // The client is the rightmost entry that is not itself a trusted proxy.
//! assert_eq!(proxies.client_ip(peer, &headers), "198.51.100.7".parse::<IpAddr>().unwrap());
//! assert_eq!(proxies.forwarded_proto(&headers).as_deref(), Some("https"));
//! ```

use std::borrow::Cow;
use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use http::header::{FORWARDED, HeaderName};
use http::{Extensions, HeaderMap};

/// A CIDR network (re-exported from `ipnet`), for [`TrustedProxies`].
pub use ipnet::IpNet;

static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
static FORWARDED_NAME: HeaderName = FORWARDED;

/// The peer address a server put in the request extensions: axum's
/// `ConnectInfo<SocketAddr>` (feature `axum`), a [`SocketAddr`] or an [`IpAddr`], as
/// recorded (IPv4-mapped IPv6 addresses are not mapped back; [`PeerLookup::peer`]
/// does that).
///
/// ```
/// use std::net::{IpAddr, SocketAddr};
/// use http::Extensions;
///
/// let mut extensions = Extensions::new();
/// assert_eq!(webhook_core::net::peer_ip(&extensions), None);
/// extensions.insert("192.0.2.7:4711".parse::<SocketAddr>().unwrap());
/// assert_eq!(webhook_core::net::peer_ip(&extensions), Some("192.0.2.7".parse::<IpAddr>().unwrap()));
/// ```
#[inline]
pub fn peer_ip(extensions: &Extensions) -> Option<IpAddr> {
    #[cfg(feature = "axum")]
    if let Some(info) = extensions.get::<axum::extract::ConnectInfo<SocketAddr>>() {
        return Some(info.0.ip());
    }
    if let Some(addr) = extensions.get::<SocketAddr>() {
        return Some(addr.ip());
    }
    extensions.get::<IpAddr>().copied()
}

type LookupFn = dyn Fn(&Extensions) -> Option<IpAddr> + Send + Sync;

/// How a layer finds the address of the connection's peer: the records of
/// [`peer_ip`] by default, or your own function of the request extensions (tonic's
/// `TcpConnectInfo`, a Unix socket...).
///
/// Cheap to clone. IPv4-mapped IPv6 peers (`::ffff:192.0.2.7`) count as IPv4.
///
/// ```
/// use std::net::IpAddr;
/// use http::Extensions;
/// use webhook_core::net::PeerLookup;
/// # struct TcpConnectInfo(Option<std::net::SocketAddr>);
/// # impl TcpConnectInfo { fn remote_addr(&self) -> Option<std::net::SocketAddr> { self.0 } }
///
/// let tonic = PeerLookup::from_fn(|extensions| {
///     let info = extensions.get::<TcpConnectInfo>()?; // tonic::transport::server::TcpConnectInfo
///     Some(info.remote_addr()?.ip())
/// });
/// assert!(tonic.is_custom());
///
/// let mut extensions = Extensions::new();
/// extensions.insert("::ffff:192.0.2.7".parse::<IpAddr>().unwrap());
/// assert_eq!(PeerLookup::new().peer(&extensions), "192.0.2.7".parse().ok());
/// assert_eq!(tonic.peer(&extensions), None);
/// ```
#[derive(Clone, Default)]
pub struct PeerLookup {
    custom: Option<Arc<LookupFn>>,
}

impl PeerLookup {
    /// Reads the records of [`peer_ip`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads the peer address with `lookup`.
    pub fn from_fn<F>(lookup: F) -> Self
    where
        F: Fn(&Extensions) -> Option<IpAddr> + Send + Sync + 'static,
    {
        Self {
            custom: Some(Arc::new(lookup)),
        }
    }

    /// `true` for a lookup made by [`from_fn`](Self::from_fn).
    pub fn is_custom(&self) -> bool {
        self.custom.is_some()
    }

    /// The peer address, IPv4-mapped IPv6 as IPv4; `None` when the extensions hold no
    /// record of it.
    #[inline]
    pub fn peer(&self, extensions: &Extensions) -> Option<IpAddr> {
        let peer = match &self.custom {
            Some(lookup) => lookup(extensions),
            None => peer_ip(extensions),
        };
        peer.map(|ip| ip.to_canonical())
    }
}

impl fmt::Debug for PeerLookup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.is_custom() {
            "PeerLookup::Custom"
        } else {
            "PeerLookup::Builtin"
        })
    }
}

/// The family of forwarding headers a proxy writes.
///
/// Pick the one your proxies write: a client can send either family itself, and a
/// proxy that sets one passes the other through untouched, so reading both would let
/// a client choose its own address or protocol.
///
/// ```
/// use webhook_core::net::ProxyHeader;
///
/// assert_eq!(ProxyHeader::XForwarded.address_header(), "x-forwarded-for");
/// assert_eq!(ProxyHeader::XForwarded.proto_header(), "x-forwarded-proto");
/// assert_eq!(ProxyHeader::Forwarded.proto_header(), "forwarded");
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProxyHeader {
    /// `X-Forwarded-For: client, proxy1` for the client address and
    /// `X-Forwarded-Proto: https` for the protocol (the default).
    #[default]
    XForwarded,
    /// `Forwarded: for=client;proto=https, for=proxy1` (RFC 7239): the `for` and `proto`
    /// parameters.
    Forwarded,
}

impl ProxyHeader {
    /// The header the client address is read from: `x-forwarded-for` or `forwarded`.
    pub fn address_header(self) -> &'static HeaderName {
        match self {
            Self::XForwarded => &X_FORWARDED_FOR,
            Self::Forwarded => &FORWARDED_NAME,
        }
    }

    /// The header the protocol is read from: `x-forwarded-proto` or `forwarded`.
    pub fn proto_header(self) -> &'static HeaderName {
        match self {
            Self::XForwarded => &X_FORWARDED_PROTO,
            Self::Forwarded => &FORWARDED_NAME,
        }
    }
}

/// The proxies whose forwarding headers are believed: their networks, and the
/// [`ProxyHeader`] family they write.
///
/// Name only your own proxies' networks: a peer in them can claim anything. Cheap to
/// clone; the default trusts nobody.
///
/// What counts, when the peer is trusted:
///
/// - **client address** ([`client_ip`](Self::client_ip)): the `X-Forwarded-For`
///   entries (or the `for` of the `Forwarded` elements) are read from the right, over
///   every header line in order; each address that is itself a trusted proxy is
///   skipped, and the first one that is not is the client. An entry that is not an
///   address (`unknown`, `_hidden`, garbage) stops the walk at the last trusted hop.
/// - **protocol** ([`forwarded_proto`](Self::forwarded_proto)): with `X-Forwarded-*`,
///   the **last** `X-Forwarded-Proto` value, the one our peer appended (chained proxies
///   must pass the edge proxy's value through, or use `Forwarded`). With `Forwarded`,
///   the elements are walked from the right while their `for` is a trusted proxy, and
///   the `proto` of the element where the walk stops (written by the outermost trusted
///   proxy, the one the sender connected to) counts.
///
/// Either way a client behind an untrusted peer, or one that prepends its own values,
/// cannot choose what counts. A header line that is not visible ASCII stops the walk
/// like an entry that is not an address.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies {
    networks: Arc<[IpNet]>,
    header: ProxyHeader,
}

impl TrustedProxies {
    /// Trusts nobody: the peer is the client, and forwarding headers are ignored.
    pub fn none() -> Self {
        Self::default()
    }

    /// Trusts the proxies in `networks` to write `header`.
    pub fn new(header: ProxyHeader, networks: impl IntoIterator<Item = IpNet>) -> Self {
        Self {
            networks: networks.into_iter().map(|net| net.trunc()).collect(),
            header,
        }
    }

    /// Trusts the comma-separated addresses and CIDR networks of `list` (such as a
    /// `WEBHOOK_TRUSTED_PROXIES` setting) to write `header`. An empty list trusts
    /// nobody.
    ///
    /// ```
    /// use webhook_core::net::{ProxyHeader, TrustedProxies};
    ///
    /// let proxies = TrustedProxies::parse(ProxyHeader::Forwarded, "10.0.0.0/8, 2001:db8::7").unwrap();
    /// assert_eq!(proxies.networks().len(), 2);
    /// assert!(proxies.contains("2001:db8::7".parse().unwrap()));
    /// assert!(TrustedProxies::parse(ProxyHeader::Forwarded, "").unwrap().is_empty());
    /// let error = TrustedProxies::parse(ProxyHeader::Forwarded, "10.0.0.0/8, proxy.internal").unwrap_err();
    /// assert_eq!(error.to_string(), "`proxy.internal` is not an IP address or a CIDR network");
    /// ```
    pub fn parse(header: ProxyHeader, list: &str) -> Result<Self, InvalidNetwork> {
        let networks = list
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(|item| {
                item.parse::<IpNet>()
                    .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| InvalidNetwork {
                        text: item.to_owned(),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self::new(header, networks))
    }

    /// The header family the proxies write.
    pub fn header(&self) -> ProxyHeader {
        self.header
    }

    /// The trusted networks.
    pub fn networks(&self) -> &[IpNet] {
        &self.networks
    }

    /// `true` when no proxy is trusted.
    pub fn is_empty(&self) -> bool {
        self.networks.is_empty()
    }

    /// Whether `ip` (IPv4-mapped IPv6 as IPv4) is in a trusted network.
    #[inline]
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.networks.iter().any(|net| net.contains(&ip))
    }

    /// The client address of a request from `peer`: `peer` itself unless it is a
    /// trusted proxy, else the address the trusted proxies recorded (see the
    /// [type docs](Self)). IPv4-mapped IPv6 addresses count as IPv4.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = peer.to_canonical();
        if !self.contains(client) {
            return client;
        }
        let mut step = |hop: Option<IpAddr>| -> bool {
            match hop {
                Some(ip) => {
                    client = ip.to_canonical();
                    self.contains(client)
                }
                None => false,
            }
        };
        match self.header {
            ProxyHeader::XForwarded => {
                'walk: for value in headers.get_all(&X_FORWARDED_FOR).iter().rev() {
                    let Ok(text) = value.to_str() else { break };
                    for entry in text.rsplit(',') {
                        if !step(parse_forwarded_node(entry.trim())) {
                            break 'walk;
                        }
                    }
                }
            }
            ProxyHeader::Forwarded => walk_forwarded(headers, |element| {
                step(element.and_then(|element| element.for_ip()))
            }),
        }
        client
    }

    /// The protocol the trusted proxies report for the sender's connection (see the
    /// [type docs](Self)), such as `https`; `None` when they report none. Ask only
    /// about a request whose peer the proxies [contain](Self::contains).
    pub fn forwarded_proto<'h>(&self, headers: &'h HeaderMap) -> Option<Cow<'h, str>> {
        match self.header {
            ProxyHeader::XForwarded => {
                let last = headers.get_all(&X_FORWARDED_PROTO).iter().next_back()?;
                let value = last.to_str().ok()?.rsplit(',').next()?.trim();
                (!value.is_empty()).then_some(Cow::Borrowed(value))
            }
            ProxyHeader::Forwarded => {
                let mut chosen = None;
                walk_forwarded(headers, |element| {
                    let next_is_trusted = element
                        .as_ref()
                        .and_then(Element::for_ip)
                        .is_some_and(|ip| self.contains(ip));
                    chosen = element.and_then(|element| element.proto);
                    next_is_trusted
                });
                chosen
            }
        }
    }
}

impl fmt::Debug for TrustedProxies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrustedProxies")
            .field("header", &self.header)
            .field("networks", &self.networks)
            .finish()
    }
}

/// An entry of a proxy list that is neither an IP address nor a CIDR network, from
/// [`TrustedProxies::parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidNetwork {
    text: String,
}

impl InvalidNetwork {
    /// The entry.
    pub fn text(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for InvalidNetwork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` is not an IP address or a CIDR network", self.text)
    }
}

impl std::error::Error for InvalidNetwork {}

/// An address as proxies write it in `X-Forwarded-For` or `Forwarded`: `192.0.2.7`,
/// `192.0.2.7:443`, `2001:db8::1`, `[2001:db8::1]` or `[2001:db8::1]:443`.
///
/// ```
/// use webhook_core::net::parse_forwarded_node;
///
/// assert_eq!(parse_forwarded_node("[2001:db8::1]:4711"), "2001:db8::1".parse().ok());
/// assert_eq!(parse_forwarded_node("192.0.2.7:443"), "192.0.2.7".parse().ok());
/// assert_eq!(parse_forwarded_node("unknown"), None);
/// ```
pub fn parse_forwarded_node(text: &str) -> Option<IpAddr> {
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Some(addr.ip());
    }
    text.strip_prefix('[')?
        .strip_suffix(']')?
        .parse::<Ipv6Addr>()
        .ok()
        .map(IpAddr::V6)
}

/// Hands the `Forwarded` elements to `visit` from the right, over every header line,
/// while it returns `true`. A line that is not visible ASCII is handed over as `None`.
fn walk_forwarded<'h>(headers: &'h HeaderMap, mut visit: impl FnMut(Option<Element<'h>>) -> bool) {
    for value in headers.get_all(FORWARDED).iter().rev() {
        let Ok(text) = value.to_str() else {
            visit(None);
            return;
        };
        for element in split_unquoted(text, ',').into_iter().rev() {
            if !visit(Some(Element::parse(element))) {
                return;
            }
        }
    }
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
fn unquote(value: &str) -> Cow<'_, str> {
    let Some(inner) = value
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
    else {
        return Cow::Borrowed(value);
    };
    if !inner.contains('\\') {
        return Cow::Borrowed(inner);
    }
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
    Cow::Owned(out)
}

/// The parameters of one `Forwarded` element that matter here.
struct Element<'a> {
    for_node: Option<Cow<'a, str>>,
    proto: Option<Cow<'a, str>>,
}

impl<'a> Element<'a> {
    fn parse(element: &'a str) -> Self {
        let mut parsed = Element {
            for_node: None,
            proto: None,
        };
        for pair in split_unquoted(element, ';') {
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            let name = name.trim();
            let value = unquote(value.trim());
            if name.eq_ignore_ascii_case("for") {
                parsed.for_node = Some(value);
            } else if name.eq_ignore_ascii_case("proto") {
                parsed.proto = Some(value);
            }
        }
        parsed
    }

    fn for_ip(&self) -> Option<IpAddr> {
        self.for_node.as_deref().and_then(parse_forwarded_node)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(HeaderName::try_from(*name).unwrap(), value.parse().unwrap());
        }
        headers
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn trusting(header: ProxyHeader) -> TrustedProxies {
        TrustedProxies::new(
            header,
            [
                "10.0.0.0/8".parse().unwrap(),
                "2001:db8:ffff::/48".parse().unwrap(),
            ],
        )
    }

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
        let element = Element::parse(r#" For="[2001:db8::1]:4711" ; Proto=HTTPS ;by=x"#);
        assert_eq!(element.for_node.as_deref(), Some("[2001:db8::1]:4711"));
        assert_eq!(element.proto.as_deref(), Some("HTTPS"));
        assert_eq!(element.for_ip(), Some(ip("2001:db8::1")));
        assert_eq!(
            parse_forwarded_node("[2001:db8::1]"),
            Some(ip("2001:db8::1"))
        );
        assert_eq!(parse_forwarded_node("192.0.2.7:443"), Some(ip("192.0.2.7")));
        assert_eq!(parse_forwarded_node("_hidden"), None);
        assert_eq!(parse_forwarded_node("unknown"), None);
    }

    #[test]
    fn the_last_x_forwarded_proto_counts() {
        let proxies = trusting(ProxyHeader::XForwarded);
        let mut headers = headers(&[("x-forwarded-proto", "https, http")]);
        assert_eq!(proxies.forwarded_proto(&headers).as_deref(), Some("http"));
        headers.append(&X_FORWARDED_PROTO, " HTTPS ".parse().unwrap());
        assert_eq!(proxies.forwarded_proto(&headers).as_deref(), Some("HTTPS"));
        headers.append(&X_FORWARDED_PROTO, "https,".parse().unwrap());
        assert_eq!(proxies.forwarded_proto(&headers), None);
        // The other family is not read.
        let forwarded = headers_with_forwarded("for=198.51.100.7;proto=https");
        assert_eq!(proxies.forwarded_proto(&forwarded), None);
    }

    fn headers_with_forwarded(value: &str) -> HeaderMap {
        headers(&[("forwarded", value)])
    }

    #[test]
    fn the_forwarded_proto_of_the_outermost_trusted_proxy_counts() {
        let proxies = trusting(ProxyHeader::Forwarded);
        let proto = |value: &str| {
            proxies
                .forwarded_proto(&headers_with_forwarded(value))
                .map(Cow::into_owned)
        };
        // Our proxy names the client, an untrusted address: its element counts.
        assert_eq!(
            proto("for=10.9.9.9;proto=https, for=198.51.100.7;proto=http").as_deref(),
            Some("http")
        );
        // Our proxy names an inner trusted proxy: the element before counts.
        assert_eq!(
            proto("for=198.51.100.7;proto=https, for=10.9.9.9;proto=http").as_deref(),
            Some("https")
        );
        // An element without `for` address stops the walk; one without proto is none.
        assert_eq!(
            proto("for=10.1.1.1;proto=http, for=_hidden;proto=https").as_deref(),
            Some("https")
        );
        assert_eq!(proto("for=198.51.100.7"), None);
    }

    #[test]
    fn a_client_behind_a_trusted_proxy_is_found_over_trusted_hops() {
        let proxies = trusting(ProxyHeader::XForwarded);
        let client =
            |peer: &str, pairs: &[(&str, &str)]| proxies.client_ip(ip(peer), &headers(pairs));
        // From an untrusted peer the header is ignored.
        assert_eq!(
            client("203.0.113.9", &[("x-forwarded-for", "1.2.3.4")]),
            ip("203.0.113.9")
        );
        // A client cannot prepend its own entry; lines form one list; trusted hops are skipped.
        assert_eq!(
            client(
                "10.0.0.1",
                &[
                    ("x-forwarded-for", "1.2.3.4"),
                    ("x-forwarded-for", "198.51.100.7, 10.9.9.9")
                ]
            ),
            ip("198.51.100.7")
        );
        // Garbage stops the walk at the last trusted hop.
        assert_eq!(
            client(
                "10.0.0.1",
                &[("x-forwarded-for", "1.2.3.4, not-an-ip, 10.3.3.3")]
            ),
            ip("10.3.3.3")
        );
        // No header: the proxy itself; mapped IPv4 counts as IPv4.
        assert_eq!(client("::ffff:10.0.0.1", &[]), ip("10.0.0.1"));
        // With no proxy trusted, the peer is the client.
        assert_eq!(
            TrustedProxies::none()
                .client_ip(ip("10.0.0.1"), &headers(&[("x-forwarded-for", "1.2.3.4")])),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn forwarded_for_is_read_with_quotes_and_obfuscation() {
        let proxies = trusting(ProxyHeader::Forwarded);
        let client =
            |value: &str| proxies.client_ip(ip("10.0.0.1"), &headers_with_forwarded(value));
        assert_eq!(
            client(r#"for=1.2.3.4, for="[2001:db8:cafe::17]:4711";proto=https"#),
            ip("2001:db8:cafe::17")
        );
        assert_eq!(client("for=_hidden, for=10.4.4.4"), ip("10.4.4.4"));
        // The other family is not read.
        let xff = headers(&[("x-forwarded-for", "198.51.100.7")]);
        assert_eq!(proxies.client_ip(ip("10.0.0.1"), &xff), ip("10.0.0.1"));
    }

    #[test]
    fn the_builtin_lookup_reads_socket_and_ip_records() {
        let mut extensions = Extensions::new();
        assert_eq!(PeerLookup::new().peer(&extensions), None);
        extensions.insert(ip("::ffff:192.0.2.9"));
        assert_eq!(PeerLookup::new().peer(&extensions), Some(ip("192.0.2.9")));
        extensions.insert("[2001:db8::5]:80".parse::<SocketAddr>().unwrap());
        assert_eq!(PeerLookup::new().peer(&extensions), Some(ip("2001:db8::5")));
        assert_eq!(format!("{:?}", PeerLookup::new()), "PeerLookup::Builtin");
    }
}
