//! The keyed HMAC-SHA256 state of one secret, set up once.

use hmac::KeyInit;
use hmac::block_api::HmacCore;
use hmac::digest::Output;
use hmac::digest::block_api::{Buffer, FixedOutputCore, UpdateCore};
use sha2::Sha256;

use crate::scheme::Tag;

/// An HMAC-SHA256 key with the key already absorbed (`hmac`'s block-level core: the
/// `key ^ ipad` and `key ^ opad` SHA-256 states). Each message clones the core alone
/// (two states, no block buffer) instead of setting the key up again; the states are
/// zeroized on drop (the `zeroize` feature of `sha2`).
pub(crate) struct HmacKey(HmacCore<Sha256>);

impl HmacKey {
    /// Absorbs `key` (any length, as HMAC allows).
    pub(crate) fn new(key: &[u8]) -> Self {
        Self(HmacCore::new_from_slice(key).expect("HMAC takes keys of any length"))
    }

    /// The tag of `prefix` pieces, then `body`.
    #[inline]
    pub(crate) fn tag(&self, prefix: &[&[u8]], body: &[u8]) -> Tag {
        let mut core = self.0.clone();
        let mut buffer = Buffer::<HmacCore<Sha256>>::default();
        for piece in prefix {
            buffer.digest_blocks(piece, |blocks| core.update_blocks(blocks));
        }
        buffer.digest_blocks(body, |blocks| core.update_blocks(blocks));
        let mut tag = Output::<HmacCore<Sha256>>::default();
        core.finalize_fixed_core(&mut buffer, &mut tag);
        tag.into()
    }
}

#[cfg(test)]
mod tests {
    use hmac::Mac;

    use super::*;
    use crate::scheme::HmacSha256;

    #[test]
    fn rfc_4231_test_case_2_through_the_cloned_core() {
        let key = HmacKey::new(b"Jefe");
        for _ in 0..2 {
            let tag = key.tag(&[b"what do ya want "], b"for nothing?");
            assert_eq!(
                hex::encode(tag),
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
            );
        }
    }

    #[test]
    fn agrees_with_the_hmac_crate_at_every_block_boundary() {
        let data: Vec<u8> = (0..300u32).map(|i| (i * 7 + 3) as u8).collect();
        for key_len in [0, 1, 32, 63, 64, 65, 200] {
            let key = &data[..key_len];
            let ours = HmacKey::new(key);
            for body_len in (0..=140).chain([190, 191, 192, 247, 248, 256, 300]) {
                let body = &data[..body_len];
                let prefix: [&[u8]; 4] = [&data[5..36], b".", &data[40..50], b"."];
                let mut reference = HmacSha256::new_from_slice(key).unwrap();
                prefix.iter().for_each(|piece| reference.update(piece));
                reference.update(body);
                let expected: Tag = reference.finalize().into_bytes().into();
                assert_eq!(
                    ours.tag(&prefix, body),
                    expected,
                    "key {key_len}, body {body_len}"
                );
            }
        }
    }
}
