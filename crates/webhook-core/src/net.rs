//! Peer addresses, as servers record them and proxies forward them: shared by the
//! layers that key on the peer (rate limits) or trust it (the HTTPS guard).

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use http::Extensions;

/// The peer address a server put in the request extensions: a [`SocketAddr`] or an
/// [`IpAddr`]. Framework-specific records (axum's `ConnectInfo`, tonic's
/// `TcpConnectInfo`) are read by the layers that know them.
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
pub fn peer_ip(extensions: &Extensions) -> Option<IpAddr> {
    if let Some(addr) = extensions.get::<SocketAddr>() {
        return Some(addr.ip());
    }
    extensions.get::<IpAddr>().copied()
}

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
