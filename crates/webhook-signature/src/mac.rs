//! The keyed HMAC state of one secret, set up once.

use hmac::EagerHash;
use hmac::KeyInit;
use hmac::block_api::HmacCore;
use hmac::digest::Output;
use hmac::digest::block_api::{Buffer, FixedOutputCore, UpdateCore};
use sha1::Sha1;
use sha2::{Sha256, Sha512};

use subtle::{Choice, ConstantTimeEq as _};

use crate::scheme::{Algorithm, Signature, Tag};

/// An HMAC key with the key already absorbed (`hmac`'s block-level core: the
/// `key ^ ipad` and `key ^ opad` hash states). Each message clones the core alone
/// (two states, no block buffer) instead of setting the key up again; the states are
/// zeroized on drop (the `zeroize` features of `sha1` and `sha2`).
pub(crate) struct HmacKey<D: EagerHash = Sha256>(HmacCore<D>);

impl<D: EagerHash> HmacKey<D> {
    /// Absorbs `key` (any length, as HMAC allows).
    pub(crate) fn new(key: &[u8]) -> Self {
        Self(HmacCore::new_from_slice(key).expect("HMAC takes keys of any length"))
    }

    /// The tag of the `pieces`, in order.
    #[inline]
    pub(crate) fn tag_of(&self, pieces: &[&[u8]]) -> Output<HmacCore<D>> {
        let mut core = self.0.clone();
        let mut buffer = Buffer::<HmacCore<D>>::default();
        for piece in pieces {
            buffer.digest_blocks(piece, |blocks| core.update_blocks(blocks));
        }
        let mut tag = Output::<HmacCore<D>>::default();
        core.finalize_fixed_core(&mut buffer, &mut tag);
        tag
    }
}

impl HmacKey<Sha256> {
    /// The tag of `prefix` pieces, then `body`, then `suffix`.
    #[inline]
    pub(crate) fn tag(&self, prefix: &[&[u8]], body: &[u8], suffix: &[u8]) -> Tag {
        let mut core = self.0.clone();
        let mut buffer = Buffer::<HmacCore<Sha256>>::default();
        for piece in prefix {
            buffer.digest_blocks(piece, |blocks| core.update_blocks(blocks));
        }
        buffer.digest_blocks(body, |blocks| core.update_blocks(blocks));
        buffer.digest_blocks(suffix, |blocks| core.update_blocks(blocks));
        let mut tag = Output::<HmacCore<Sha256>>::default();
        core.finalize_fixed_core(&mut buffer, &mut tag);
        tag.into()
    }
}

impl HmacKey<Sha1> {
    /// The tag of `prefix` pieces, then `body`, then `suffix`, followed by zeros to the
    /// length of an HMAC-SHA256 tag.
    #[inline]
    pub(crate) fn padded_tag(&self, prefix: &[&[u8]], body: &[u8], suffix: &[u8]) -> Tag {
        let mut core = self.0.clone();
        let mut buffer = Buffer::<HmacCore<Sha1>>::default();
        for piece in prefix {
            buffer.digest_blocks(piece, |blocks| core.update_blocks(blocks));
        }
        buffer.digest_blocks(body, |blocks| core.update_blocks(blocks));
        buffer.digest_blocks(suffix, |blocks| core.update_blocks(blocks));
        let mut tag = Output::<HmacCore<Sha1>>::default();
        core.finalize_fixed_core(&mut buffer, &mut tag);
        let mut padded = Tag::default();
        padded[..20].copy_from_slice(&tag);
        padded
    }
}

/// An HMAC key for one of the hashes providers use.
pub(crate) enum MacKey {
    Sha1(HmacKey<Sha1>),
    Sha256(HmacKey<Sha256>),
    Sha512(HmacKey<Sha512>),
}

impl MacKey {
    /// Absorbs `key` for `algorithm`, or `None` when it is not an HMAC.
    pub(crate) fn new(algorithm: Algorithm, key: &[u8]) -> Option<Self> {
        Some(match algorithm {
            Algorithm::HmacSha1 => Self::Sha1(HmacKey::new(key)),
            Algorithm::HmacSha256 => Self::Sha256(HmacKey::new(key)),
            Algorithm::HmacSha512 => Self::Sha512(HmacKey::new(key)),
            _ => return None,
        })
    }

    /// The algorithm.
    pub(crate) fn algorithm(&self) -> Algorithm {
        match self {
            Self::Sha1(_) => Algorithm::HmacSha1,
            Self::Sha256(_) => Algorithm::HmacSha256,
            Self::Sha512(_) => Algorithm::HmacSha512,
        }
    }

    /// The tag of the `pieces`, in order.
    pub(crate) fn tag(&self, pieces: &[&[u8]]) -> Signature {
        let signature = match self {
            Self::Sha1(key) => Signature::new(Algorithm::HmacSha1, &key.tag_of(pieces)),
            Self::Sha256(key) => Signature::new(Algorithm::HmacSha256, &key.tag_of(pieces)),
            Self::Sha512(key) => Signature::new(Algorithm::HmacSha512, &key.tag_of(pieces)),
        };
        signature.expect("a tag has its hash's length")
    }
}

/// Whether two tags are equal, in constant time: their lengths (public) first, then
/// every byte, folded word by word with no branch on the contents, so that `subtle`
/// compares one word.
pub(crate) fn tags_equal(a: &[u8], b: &[u8]) -> Choice {
    if a.len() != b.len() {
        return Choice::from(0);
    }
    let mut difference = 0u64;
    let (a_words, b_words) = (a.chunks_exact(8), b.chunks_exact(8));
    for (x, y) in a_words.remainder().iter().zip(b_words.remainder()) {
        difference |= u64::from(x ^ y);
    }
    for (x, y) in a_words.zip(b_words) {
        let word = |bytes: &[u8]| u64::from_ne_bytes(bytes.try_into().expect("8 bytes"));
        difference |= word(x) ^ word(y);
    }
    difference.ct_eq(&0)
}

/// The HMAC of `pieces` under `key`, for signing.
pub(crate) fn hmac(algorithm: Algorithm, key: &[u8], pieces: &[&[u8]]) -> Signature {
    MacKey::new(algorithm, key)
        .expect("an HMAC algorithm")
        .tag(pieces)
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
            let tag = key.tag(&[b"what do ya want "], b"for nothing?", b"");
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
                let suffix = &data[60..73];
                let mut reference = HmacSha256::new_from_slice(key).unwrap();
                prefix.iter().for_each(|piece| reference.update(piece));
                reference.update(body);
                reference.update(suffix);
                let expected: Tag = reference.finalize().into_bytes().into();
                assert_eq!(
                    ours.tag(&prefix, body, suffix),
                    expected,
                    "key {key_len}, body {body_len}"
                );
            }
        }
    }
}
