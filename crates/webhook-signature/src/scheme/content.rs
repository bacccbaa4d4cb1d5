//! The signed content: the MAC every built-in scheme uses, and its tag.

use hmac::{KeyInit, Mac};

/// HMAC-SHA256, the MAC every built-in scheme uses.
pub type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// An HMAC-SHA256 tag: 32 bytes.
pub type Tag = [u8; 32];

/// HMAC-SHA256 of `prefix pieces || body` under `key`.
pub fn hmac_tag(key: &[u8], prefix: &[&[u8]], body: &[u8]) -> Tag {
    let mut mac =
        <HmacSha256 as KeyInit>::new_from_slice(key).expect("HMAC accepts any key length");
    for piece in prefix {
        mac.update(piece);
    }
    mac.update(body);
    mac.finalize().into_bytes().into()
}
