//! Rate-limit keys: who a request is counted against.
//!
//! A [`KeyExtractor`] reads a [`Key`] from the request head. Built in:
//!
//! | extractor | key | missing when |
//! |---|---|---|
//! | [`Global`] | one bucket for every request | never |
//! | [`PeerIp`] | the peer address (or the client behind trusted proxies) | the connection address is not in the extensions |
//! | [`HeaderKey`] | a header's value | the header is absent or empty |
//! | [`VerifiedSource`] | the scheme and key id that verified the delivery | no [`VerifiedDelivery`] marker |
//! | a closure `Fn(&RequestHead<'_>) -> Option<Key>` | whatever it returns | it returns `None` |
//!
//! What happens to a request without a key is the layer's
//! [`MissingKey`](crate::MissingKey) policy.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use bytes::Bytes;
use http::header::HeaderName;
use http::{Extensions, HeaderMap, HeaderValue, Method, Request, Uri, Version};
use webhook_core::VerifiedDelivery;
use webhook_core::net::{PeerLookup, TrustedProxies, peer_ip};

/// The identity a request is counted against: one bucket per distinct key.
///
/// Cheap to clone and to hash. Build one from an address, text or bytes:
///
/// ```
/// use std::net::IpAddr;
/// use webhook_ratelimit::Key;
///
/// let ip: IpAddr = "192.0.2.7".parse().unwrap();
/// assert_eq!(Key::from(ip), Key::ip(ip));
/// assert_eq!(Key::from("tenant-42").to_bytes(), b"key:tenant-42");
/// assert_eq!(Key::ip(ip).to_bytes(), b"ip:192.0.2.7");
/// assert_ne!(Key::from("192.0.2.7"), Key::ip(ip)); // text and addresses never collide
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Key(Repr);

#[derive(Clone, PartialEq, Eq)]
enum Repr {
    Global,
    // Addresses as integers: aligned words hash and compare faster than the 17-byte,
    // byte-aligned `IpAddr`.
    V4(u32),
    V6([u64; 2]),
    // Text as a shared slice, not `Bytes`: 16 bytes instead of 32 keep every key at
    // 24 bytes, which is what each map entry holds.
    Source(Arc<[u8]>),
    Bytes(Arc<[u8]>),
}

/// One write into the hasher per key (keys are hashed on every request; SipHash pays
/// per write). Consistent with `Eq`: equal keys write equal bytes.
impl Hash for Key {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        match &self.0 {
            Repr::Global => state.write_u8(0),
            Repr::V4(ip) => state.write_u32(*ip),
            Repr::V6([high, low]) => state.write_u128(u128::from(*high) << 64 | u128::from(*low)),
            Repr::Source(bytes) | Repr::Bytes(bytes) => state.write(bytes),
        }
    }
}

impl Key {
    /// The single key shared by every request.
    pub fn global() -> Self {
        Self(Repr::Global)
    }

    /// An address.
    pub fn ip(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(ip) => Self(Repr::V4(ip.to_bits())),
            IpAddr::V6(ip) => {
                let bits = ip.to_bits();
                Self(Repr::V6([(bits >> 64) as u64, bits as u64]))
            }
        }
    }

    /// The address, for an address key.
    pub fn as_ip(&self) -> Option<IpAddr> {
        match self.0 {
            Repr::V4(ip) => Some(IpAddr::V4(Ipv4Addr::from_bits(ip))),
            Repr::V6([high, low]) => Some(IpAddr::V6(Ipv6Addr::from_bits(
                u128::from(high) << 64 | u128::from(low),
            ))),
            _ => None,
        }
    }

    /// The source of a verified delivery: its scheme and the id of the key that
    /// matched.
    pub fn source(delivery: &VerifiedDelivery) -> Self {
        let (scheme, key_id) = (
            delivery.scheme().as_bytes(),
            delivery.key_id().as_str().as_bytes(),
        );
        let mut text = Vec::with_capacity(scheme.len() + 1 + key_id.len());
        text.extend_from_slice(scheme);
        text.push(b'/');
        text.extend_from_slice(key_id);
        Self(Repr::Source(Arc::from(text)))
    }

    /// Arbitrary bytes (a header value, a tenant id), copied into the key.
    pub fn bytes(bytes: impl Into<Bytes>) -> Self {
        Self::from_slice(&bytes.into())
    }

    fn from_slice(bytes: &[u8]) -> Self {
        Self(Repr::Bytes(Arc::from(bytes)))
    }

    /// A stable, binary-safe rendering for backends that store keys by name (Redis):
    /// `global`, `ip:<address>`, `src:<scheme>/<key id>` or `key:<bytes>`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_to(&mut out);
        out
    }

    /// Appends [`to_bytes`](Self::to_bytes) to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        match &self.0 {
            Repr::Global => out.extend_from_slice(b"global"),
            Repr::V4(_) | Repr::V6(_) => {
                use std::io::Write as _;
                let ip = self.as_ip().expect("an address key");
                let _ = write!(out, "ip:{ip}");
            }
            Repr::Source(bytes) => {
                out.extend_from_slice(b"src:");
                out.extend_from_slice(bytes);
            }
            Repr::Bytes(bytes) => {
                out.extend_from_slice(b"key:");
                out.extend_from_slice(bytes);
            }
        }
    }

    /// What kind of key this is, for logs: `global`, `ip`, `source` or `bytes`.
    pub fn kind(&self) -> &'static str {
        match self.0 {
            Repr::Global => "global",
            Repr::V4(_) | Repr::V6(_) => "ip",
            Repr::Source(_) => "source",
            Repr::Bytes(_) => "bytes",
        }
    }
}

/// Shows addresses and sources; arbitrary bytes (which may be a token) only by length.
impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Repr::Global => f.write_str("Key::Global"),
            Repr::V4(_) | Repr::V6(_) => {
                write!(f, "Key::Ip({})", self.as_ip().expect("an address key"))
            }
            Repr::Source(source) => write!(f, "Key::Source({})", String::from_utf8_lossy(source)),
            Repr::Bytes(bytes) => write!(f, "Key::Bytes(len={})", bytes.len()),
        }
    }
}

impl From<IpAddr> for Key {
    fn from(ip: IpAddr) -> Self {
        Self::ip(ip)
    }
}

impl From<&str> for Key {
    fn from(text: &str) -> Self {
        Self::from_slice(text.as_bytes())
    }
}

impl From<String> for Key {
    fn from(text: String) -> Self {
        Self::from_slice(text.as_bytes())
    }
}

impl From<Bytes> for Key {
    fn from(bytes: Bytes) -> Self {
        Self::bytes(bytes)
    }
}

impl From<&HeaderValue> for Key {
    fn from(value: &HeaderValue) -> Self {
        Self::from_slice(value.as_bytes())
    }
}

/// What a [`KeyExtractor`] sees of a request: everything but the body.
#[derive(Debug, Clone, Copy)]
pub struct RequestHead<'a> {
    method: &'a Method,
    uri: &'a Uri,
    version: Version,
    headers: &'a HeaderMap,
    extensions: &'a Extensions,
}

impl<'a> RequestHead<'a> {
    /// The head of `request`.
    pub fn new<B>(request: &'a Request<B>) -> Self {
        Self {
            method: request.method(),
            uri: request.uri(),
            version: request.version(),
            headers: request.headers(),
            extensions: request.extensions(),
        }
    }

    /// The head described by `parts`.
    pub fn from_parts(parts: &'a http::request::Parts) -> Self {
        Self {
            method: &parts.method,
            uri: &parts.uri,
            version: parts.version,
            headers: &parts.headers,
            extensions: &parts.extensions,
        }
    }

    /// The method.
    pub fn method(&self) -> &'a Method {
        self.method
    }

    /// The URI.
    pub fn uri(&self) -> &'a Uri {
        self.uri
    }

    /// The HTTP version.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The headers.
    pub fn headers(&self) -> &'a HeaderMap {
        self.headers
    }

    /// The extensions (connection info, the [`VerifiedDelivery`] marker).
    pub fn extensions(&self) -> &'a Extensions {
        self.extensions
    }
}

/// Reads the rate-limit key of a request.
///
/// Implemented by the built-in extractors and by every closure
/// `Fn(&RequestHead<'_>) -> Option<Key>`. `None` means the request has no key; the
/// layer's [`MissingKey`](crate::MissingKey) policy decides what happens to it.
///
/// ```
/// use webhook_ratelimit::{Key, KeyExtractor, RequestHead};
///
/// // A tenant id set by the API gateway in front of this service.
/// let tenant = |head: &RequestHead<'_>| head.headers().get("x-tenant").map(Key::from);
///
/// let request = http::Request::get("/").header("x-tenant", "acme").body(()).unwrap();
/// assert_eq!(tenant.extract(&RequestHead::new(&request)), Some(Key::from("acme")));
/// ```
pub trait KeyExtractor: Send + Sync + 'static {
    /// The key of this request, or `None` if it has none.
    fn extract(&self, request: &RequestHead<'_>) -> Option<Key>;
}

impl<F> KeyExtractor for F
where
    F: Fn(&RequestHead<'_>) -> Option<Key> + Send + Sync + 'static,
{
    fn extract(&self, request: &RequestHead<'_>) -> Option<Key> {
        self(request)
    }
}

/// One bucket for all requests: a ceiling on what the service accepts in total.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Global;

impl KeyExtractor for Global {
    fn extract(&self, _request: &RequestHead<'_>) -> Option<Key> {
        Some(Key::global())
    }
}

/// The value of one request header (the first, if it is repeated); an absent or empty
/// header is no key.
///
/// Anybody can send any header: use this only for a value set by a proxy you trust
/// (which overwrites what the client sent), or after verification. A client choosing
/// a fresh value per request would otherwise get a fresh bucket per request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderKey {
    name: HeaderName,
}

impl HeaderKey {
    /// Keys requests by the value of `name`.
    pub fn new(name: HeaderName) -> Self {
        Self { name }
    }
}

impl KeyExtractor for HeaderKey {
    fn extract(&self, request: &RequestHead<'_>) -> Option<Key> {
        let value = request.headers().get(&self.name)?;
        (!value.is_empty()).then(|| Key::from(value))
    }
}

/// The verified source of a delivery: the scheme and the id of the key that matched,
/// read from the [`VerifiedDelivery`] marker the signature layer inserts.
///
/// The layer must run after (inside) the signature layer; a request without the marker
/// has no key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VerifiedSource;

impl KeyExtractor for VerifiedSource {
    fn extract(&self, request: &RequestHead<'_>) -> Option<Key> {
        request
            .extensions()
            .get::<VerifiedDelivery>()
            .map(Key::source)
    }
}

/// The client address: the connection's peer, or, when the peer is a trusted proxy,
/// the address that proxy forwarded.
///
/// The peer comes from the request extensions through a [`PeerLookup`]: a
/// [`SocketAddr`](std::net::SocketAddr) or [`IpAddr`], or axum's `ConnectInfo<SocketAddr>`
/// (feature `axum`);
/// set your own lookup with [`peer_from`](Self::peer_from) (tonic's `TcpConnectInfo`,
/// a Unix socket...).
///
/// Forwarding headers (`X-Forwarded-For`, or the `for` of `Forwarded`) are honoured
/// **only** when the peer is one of the [trusted proxies](Self::trusted_proxies). The
/// chain is then read from the right (the hop nearest to us): every address that is
/// itself a trusted proxy is skipped, and the first one that is not is the client. An
/// entry that cannot be parsed stops the walk at the last trusted hop. A client behind
/// an untrusted peer, or in front of a trusted proxy, cannot choose its key by sending
/// a forged header. See [`TrustedProxies`] for the details.
///
/// IPv4-mapped IPv6 peers (`::ffff:192.0.2.7`) count as IPv4. IPv6 clients are keyed
/// by their /64 network by default, since one host usually holds a whole /64; see
/// [`ipv6_prefix`](Self::ipv6_prefix).
///
/// ```
/// use std::net::SocketAddr;
/// use webhook_ratelimit::{Key, KeyExtractor, PeerIp, ProxyHeader, RequestHead, TrustedProxies};
///
/// let proxies = TrustedProxies::new(ProxyHeader::XForwarded, ["10.0.0.0/8".parse().unwrap()]);
/// let key = PeerIp::new().trusted_proxies(proxies);
///
/// let mut request = http::Request::get("/")
///     .header("x-forwarded-for", "203.0.113.50, 198.51.100.7")
///     .body(())
///     .unwrap();
///
/// // From the trusted proxy: its record of the client counts (the rightmost entry; the
/// // one left of it was sent by the client and is not trusted).
/// request.extensions_mut().insert("10.1.2.3:40000".parse::<SocketAddr>().unwrap());
/// let client = key.extract(&RequestHead::new(&request)).unwrap();
/// assert_eq!(client, Key::ip("198.51.100.7".parse().unwrap()));
///
/// // From anybody else the header is ignored: the peer is the key.
/// request.extensions_mut().insert("192.0.2.99:40000".parse::<SocketAddr>().unwrap());
/// let peer = key.extract(&RequestHead::new(&request)).unwrap();
/// assert_eq!(peer, Key::ip("192.0.2.99".parse().unwrap()));
/// ```
#[derive(Clone)]
pub struct PeerIp {
    proxies: TrustedProxies,
    ipv6_prefix: u8,
    lookup: PeerLookup,
}

impl Default for PeerIp {
    fn default() -> Self {
        Self::new()
    }
}

impl PeerIp {
    /// The connection's peer address; no proxy trusted.
    pub fn new() -> Self {
        Self {
            proxies: TrustedProxies::none(),
            ipv6_prefix: 64,
            lookup: PeerLookup::new(),
        }
    }

    /// Believes the client address `proxies` report (`X-Forwarded-For`, or
    /// `Forwarded: for=`), from them only (default: no proxy trusted). Give the HTTPS
    /// guard the same value.
    #[must_use]
    pub fn trusted_proxies(mut self, proxies: TrustedProxies) -> Self {
        self.proxies = proxies;
        self
    }

    /// How many leading bits of an IPv6 client address form the key (default 64, at
    /// most 128: one key per address).
    #[must_use]
    pub fn ipv6_prefix(mut self, bits: u8) -> Self {
        self.ipv6_prefix = bits.min(128);
        self
    }

    /// Reads the peer address from the extensions with `lookup` instead of the
    /// built-in records (see [`PeerLookup`]). For tonic:
    ///
    /// ```
    /// use webhook_ratelimit::PeerIp;
    /// # struct TcpConnectInfo(Option<std::net::SocketAddr>);
    /// # impl TcpConnectInfo { fn remote_addr(&self) -> Option<std::net::SocketAddr> { self.0 } }
    ///
    /// let key = PeerIp::new().peer_from(|extensions| {
    ///     let info = extensions.get::<TcpConnectInfo>()?; // tonic::transport::server::TcpConnectInfo
    ///     Some(info.remote_addr()?.ip())
    /// });
    /// # drop(key);
    /// ```
    #[must_use]
    pub fn peer_from<F>(mut self, lookup: F) -> Self
    where
        F: Fn(&Extensions) -> Option<IpAddr> + Send + Sync + 'static,
    {
        self.lookup = PeerLookup::from_fn(lookup);
        self
    }

    /// The client address of a request, before IPv6 prefix grouping.
    #[inline]
    pub fn client_ip(&self, request: &RequestHead<'_>) -> Option<IpAddr> {
        let peer = self.lookup.peer(request.extensions())?;
        if self.proxies.is_empty() {
            return Some(peer);
        }
        Some(self.proxies.client_ip(peer, request.headers()))
    }
}

fn mask_v6(ip: Ipv6Addr, bits: u8) -> Ipv6Addr {
    if bits >= 128 {
        return ip;
    }
    let mask = if bits == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(bits))
    };
    Ipv6Addr::from(u128::from(ip) & mask)
}

impl PeerIp {
    /// The key of an address: IPv4 as is, IPv6 (IPv4-mapped ones as IPv4) cut to the
    /// prefix.
    #[inline]
    fn key_of(&self, ip: IpAddr) -> Key {
        match ip.to_canonical() {
            IpAddr::V4(v4) => Key(Repr::V4(v4.to_bits())),
            IpAddr::V6(v6) => Key::ip(IpAddr::V6(mask_v6(v6, self.ipv6_prefix))),
        }
    }

    /// Everything but the common case: a custom lookup, trusted proxies.
    #[inline(never)]
    fn extract_slow(&self, request: &RequestHead<'_>) -> Option<Key> {
        self.client_ip(request).map(|ip| self.key_of(ip))
    }
}

impl KeyExtractor for PeerIp {
    #[inline]
    fn extract(&self, request: &RequestHead<'_>) -> Option<Key> {
        if self.lookup.is_custom() || !self.proxies.is_empty() {
            return self.extract_slow(request);
        }
        // The common case: the recorded peer is the key.
        peer_ip(request.extensions()).map(|ip| self.key_of(ip))
    }
}

impl fmt::Debug for PeerIp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PeerIp")
            .field("proxies", &self.proxies)
            .field("ipv6_prefix", &self.ipv6_prefix)
            .field("peer_lookup", &self.lookup)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use webhook_core::net::ProxyHeader;

    use super::*;

    fn head_with(peer: &str, headers: &[(&str, &str)]) -> Request<()> {
        let mut request = Request::new(());
        for (name, value) in headers {
            request.headers_mut().append(
                HeaderName::try_from(*name).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        request
            .extensions_mut()
            .insert(peer.parse::<SocketAddr>().unwrap());
        request
    }

    fn key_of(extractor: &impl KeyExtractor, request: &Request<()>) -> Option<Key> {
        extractor.extract(&RequestHead::new(request))
    }

    fn ip(text: &str) -> Key {
        Key::ip(text.parse().unwrap())
    }

    fn behind(header: ProxyHeader) -> PeerIp {
        PeerIp::new().trusted_proxies(TrustedProxies::new(
            header,
            [
                "10.0.0.0/8".parse().unwrap(),
                "2001:db8:ffff::/48".parse().unwrap(),
            ],
        ))
    }

    #[test]
    fn spoofed_x_forwarded_for_from_an_untrusted_peer_is_ignored() {
        let spoofed = head_with("203.0.113.9:5000", &[("x-forwarded-for", "1.2.3.4")]);
        assert_eq!(
            key_of(&behind(ProxyHeader::XForwarded), &spoofed),
            Some(ip("203.0.113.9"))
        );
        // With no proxy trusted at all, even a proxy-looking peer is the key.
        let from_private = head_with("10.0.0.1:5000", &[("x-forwarded-for", "1.2.3.4")]);
        assert_eq!(key_of(&PeerIp::new(), &from_private), Some(ip("10.0.0.1")));
    }

    #[test]
    fn x_forwarded_for_from_a_trusted_proxy_names_the_client() {
        let key = behind(ProxyHeader::XForwarded);
        let request = head_with("10.0.0.1:5000", &[("x-forwarded-for", "198.51.100.7")]);
        assert_eq!(key_of(&key, &request), Some(ip("198.51.100.7")));
    }

    #[test]
    fn a_client_cannot_prepend_its_own_x_forwarded_for_entry() {
        let key = behind(ProxyHeader::XForwarded);
        // The client sent `1.2.3.4`; the trusted proxy appended the real peer.
        let request = head_with(
            "10.0.0.1:5000",
            &[("x-forwarded-for", "1.2.3.4, 198.51.100.7")],
        );
        assert_eq!(key_of(&key, &request), Some(ip("198.51.100.7")));
        // Several header lines form one list, in order.
        let split = head_with(
            "10.0.0.1:5000",
            &[
                ("x-forwarded-for", "1.2.3.4"),
                ("x-forwarded-for", "198.51.100.7, 10.9.9.9"),
            ],
        );
        assert_eq!(key_of(&key, &split), Some(ip("198.51.100.7")));
    }

    #[test]
    fn a_chain_of_trusted_proxies_is_skipped() {
        let key = behind(ProxyHeader::XForwarded);
        let request = head_with(
            "10.0.0.1:5000",
            &[("x-forwarded-for", "198.51.100.7, 10.2.2.2, 10.3.3.3")],
        );
        assert_eq!(key_of(&key, &request), Some(ip("198.51.100.7")));
        // Only trusted hops: the leftmost one is the best we know.
        let internal = head_with(
            "10.0.0.1:5000",
            &[("x-forwarded-for", "10.2.2.2, 10.3.3.3")],
        );
        assert_eq!(key_of(&key, &internal), Some(ip("10.2.2.2")));
        // No header: the proxy itself.
        let bare = head_with("10.0.0.1:5000", &[]);
        assert_eq!(key_of(&key, &bare), Some(ip("10.0.0.1")));
    }

    #[test]
    fn garbage_stops_the_walk_at_the_last_trusted_hop() {
        let key = behind(ProxyHeader::XForwarded);
        let request = head_with(
            "10.0.0.1:5000",
            &[("x-forwarded-for", "1.2.3.4, not-an-ip, 10.3.3.3")],
        );
        assert_eq!(key_of(&key, &request), Some(ip("10.3.3.3")));
    }

    #[test]
    fn ports_and_brackets_are_understood() {
        let key = behind(ProxyHeader::XForwarded);
        let request = head_with("10.0.0.1:5000", &[("x-forwarded-for", "198.51.100.7:4711")]);
        assert_eq!(key_of(&key, &request), Some(ip("198.51.100.7")));
        let key = key.ipv6_prefix(128);
        let request = head_with(
            "10.0.0.1:5000",
            &[("x-forwarded-for", "[2001:db8::17]:4711")],
        );
        assert_eq!(key_of(&key, &request), Some(ip("2001:db8::17")));
    }

    #[test]
    fn forwarded_header_is_read_only_when_chosen() {
        let forwarded = [(
            "forwarded",
            r#"for=1.2.3.4, for="[2001:db8:cafe::17]:4711";proto=https"#,
        )];
        let request = head_with("10.0.0.1:5000", &forwarded);
        let key = behind(ProxyHeader::Forwarded).ipv6_prefix(128);
        assert_eq!(key_of(&key, &request), Some(ip("2001:db8:cafe::17")));
        // A proxy that writes X-Forwarded-For passes a client's `Forwarded` through:
        // it is not read.
        let key = behind(ProxyHeader::XForwarded);
        assert_eq!(key_of(&key, &request), Some(ip("10.0.0.1")));
        // Obfuscated identifiers stop the walk.
        let hidden = head_with(
            "10.0.0.1:5000",
            &[("forwarded", "for=_hidden, for=10.4.4.4")],
        );
        assert_eq!(
            key_of(&behind(ProxyHeader::Forwarded), &hidden),
            Some(ip("10.4.4.4"))
        );
    }

    #[test]
    fn ipv6_clients_are_grouped_by_prefix_and_mapped_ipv4_is_ipv4() {
        let a = head_with("[2001:db8:1:2:aaaa::1]:5000", &[]);
        let b = head_with("[2001:db8:1:2:bbbb::2]:5000", &[]);
        assert_eq!(key_of(&PeerIp::new(), &a), Some(ip("2001:db8:1:2::")));
        assert_eq!(key_of(&PeerIp::new(), &a), key_of(&PeerIp::new(), &b));
        let exact = PeerIp::new().ipv6_prefix(128);
        assert_ne!(key_of(&exact, &a), key_of(&exact, &b));
        let mapped = head_with("[::ffff:192.0.2.7]:5000", &[]);
        assert_eq!(key_of(&PeerIp::new(), &mapped), Some(ip("192.0.2.7")));
    }

    #[test]
    fn a_request_without_connection_info_has_no_peer_key() {
        let request = Request::new(());
        assert_eq!(key_of(&PeerIp::new(), &request), None);
        let custom = PeerIp::new().peer_from(|_| Some("192.0.2.1".parse().unwrap()));
        assert_eq!(key_of(&custom, &request), Some(ip("192.0.2.1")));
    }

    #[test]
    fn header_and_source_keys() {
        let key = HeaderKey::new(HeaderName::from_static("x-tenant"));
        let request = head_with("192.0.2.1:1", &[("x-tenant", "acme")]);
        assert_eq!(key_of(&key, &request), Some(Key::from("acme")));
        let empty = head_with("192.0.2.1:1", &[("x-tenant", "")]);
        assert_eq!(key_of(&key, &empty), None);

        let mut request = Request::new(());
        assert_eq!(key_of(&VerifiedSource, &request), None);
        let delivery = VerifiedDelivery::new("hopnow", "2025-11".into(), Bytes::new());
        request.extensions_mut().insert(delivery);
        let source = key_of(&VerifiedSource, &request).unwrap();
        assert_eq!(source.to_bytes(), b"src:hopnow/2025-11");
        assert_eq!(format!("{source:?}"), "Key::Source(hopnow/2025-11)");
    }

    #[test]
    fn byte_keys_are_not_shown_in_debug() {
        let key = Key::from("Bearer secret-token");
        assert_eq!(format!("{key:?}"), "Key::Bytes(len=19)");
        assert_eq!(Key::global().to_bytes(), b"global");
    }
}
