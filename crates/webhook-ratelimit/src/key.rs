//! The rate-limit key: who a request is counted against.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use bytes::Bytes;
use http::HeaderValue;
use webhook_core::VerifiedDelivery;

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
    #[inline]
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

    pub(crate) fn from_slice(bytes: &[u8]) -> Self {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_keys_are_not_shown_in_debug() {
        let key = Key::from("Bearer secret-token");
        assert_eq!(format!("{key:?}"), "Key::Bytes(len=19)");
        assert_eq!(Key::global().to_bytes(), b"global");
    }
}
