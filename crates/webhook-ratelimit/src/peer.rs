//! The client address as a key: [`PeerIp`].

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

use http::Extensions;
use webhook_core::net::{PeerLookup, TrustedProxies, peer_ip};
use webhook_core::{KeyExtractor, RequestHead};

use crate::Key;

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
            IpAddr::V4(v4) => Key::ip(IpAddr::V4(v4)),
            IpAddr::V6(v6) => Key::ip(IpAddr::V6(mask_v6(v6, self.ipv6_prefix))),
        }
    }

    /// Everything but the common case: a custom lookup, trusted proxies.
    #[inline(never)]
    fn extract_slow(&self, request: &RequestHead<'_>) -> Option<Key> {
        self.client_ip(request).map(|ip| self.key_of(ip))
    }
}

impl KeyExtractor<Key> for PeerIp {
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

    use http::header::HeaderName;
    use http::{HeaderValue, Request};
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

    fn key_of(extractor: &impl KeyExtractor<Key>, request: &Request<()>) -> Option<Key> {
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
}
