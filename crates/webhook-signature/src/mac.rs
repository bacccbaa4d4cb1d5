//! The keyed HMAC-SHA256 state of one secret, set up once.

use hmac::{KeyInit, Mac};

use crate::scheme::{HmacSha256, Tag};

/// An HMAC-SHA256 key with the key already absorbed (the `key ^ ipad` and
/// `key ^ opad` states): each message clones it instead of setting the key up again.
/// `hmac`'s state is zeroized on drop (its `zeroize` feature).
pub(crate) struct HmacKey(HmacSha256);

impl HmacKey {
    /// Absorbs `key` (any length, as HMAC allows).
    pub(crate) fn new(key: &[u8]) -> Self {
        Self(HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length"))
    }

    /// The tag of `prefix` pieces, then `body`.
    #[inline]
    pub(crate) fn tag(&self, prefix: &[&[u8]], body: &[u8]) -> Tag {
        let mut mac = self.0.clone();
        for piece in prefix {
            mac.update(piece);
        }
        mac.update(body);
        mac.finalize().into_bytes().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_4231_test_case_2_through_the_cloned_state() {
        let key = HmacKey::new(b"Jefe");
        for _ in 0..2 {
            let tag = key.tag(&[b"what do ya want "], b"for nothing?");
            assert_eq!(
                hex::encode(tag),
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
            );
        }
    }
}
