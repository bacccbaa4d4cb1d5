//! Decoding what a header presents: hex and base64 tags, checked for length first,
//! and Unix timestamps.

use http::HeaderName;

use super::content::Tag;
use crate::SignatureRejection;

/// Parses a Unix timestamp in seconds: ASCII digits only.
#[inline]
pub fn parse_timestamp(value: &str, header: &HeaderName) -> Result<i64, SignatureRejection> {
    timestamp_from_bytes(value.as_bytes(), header)
}

/// [`parse_timestamp`] on bytes.
#[inline]
pub(crate) fn timestamp_from_bytes(
    value: &[u8],
    header: &HeaderName,
) -> Result<i64, SignatureRejection> {
    seconds(value).ok_or_else(|| SignatureRejection::MalformedHeader {
        header: header.clone(),
        reason: "expected a Unix timestamp in seconds",
    })
}

/// 1 to 18 ASCII digits as a number, or `None`.
#[inline]
pub(crate) fn seconds(value: &[u8]) -> Option<i64> {
    if value.is_empty() || value.len() > 18 {
        return None;
    }
    // No early exit: one branch at the end instead of one per digit. At most 18
    // digits are below 10^18, so a valid value cannot overflow; an invalid one may
    // wrap, and is refused.
    let mut seconds = 0i64;
    let mut invalid = false;
    for &c in value {
        let digit = c.wrapping_sub(b'0');
        invalid |= digit >= 10;
        seconds = seconds.wrapping_mul(10).wrapping_add(i64::from(digit));
    }
    (!invalid).then_some(seconds)
}

/// Marks a byte outside the base64 alphabet.
const INVALID: u8 = 0xFF;

/// Decodes a hex signature (either case) to a tag, checking its length first.
#[inline]
pub fn decode_hex_tag(text: &str) -> Result<Tag, SignatureRejection> {
    hex_tag_from_bytes(text.as_bytes())
}

/// [`decode_hex_tag`] on bytes.
pub(crate) fn hex_tag_from_bytes(text: &[u8]) -> Result<Tag, SignatureRejection> {
    if text.is_empty() {
        return Err(SignatureRejection::MalformedSignature {
            reason: "empty signature",
        });
    }
    if text.len() != 64 {
        return Err(SignatureRejection::MalformedSignature {
            reason: "expected 64 hex characters (32 bytes)",
        });
    }
    // Branch-free per character, so it vectorises: `hex::decode_to_slice` costs as
    // much as a SHA-256 block on a small body. Accepts exactly what it accepts.
    let mut digits = [0u8; 64];
    let mut invalid = 0u8;
    for (digit, &c) in digits.iter_mut().zip(text) {
        let decimal = c.wrapping_sub(b'0');
        let letter = (c | 0x20).wrapping_sub(b'a');
        invalid |= u8::from(decimal >= 10 && letter >= 6);
        *digit = if decimal < 10 {
            decimal
        } else {
            letter.wrapping_add(10)
        };
    }
    if invalid != 0 {
        return Err(SignatureRejection::MalformedSignature {
            reason: "not hexadecimal",
        });
    }
    let mut tag = [0u8; 32];
    for (byte, pair) in tag.iter_mut().zip(digits.chunks_exact(2)) {
        *byte = (pair[0] << 4) | pair[1];
    }
    Ok(tag)
}

/// Each byte's value in the standard base64 alphabet, or [`INVALID`].
///
/// A table lookup takes as long as the cache says, which reveals nothing here: the
/// bytes looked up are the presented signature, which the sender already knows, not
/// the secret or the expected tag.
static BASE64_VALUES: [u8; 256] = {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut table = [INVALID; 256];
    let mut i = 0;
    while i < alphabet.len() {
        table[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    table
};

/// The canonical encoding of 32 bytes: 43 alphabet characters whose last one carries
/// two zero trailing bits, then one `=`. `None` for anything else; the `base64` crate
/// accepts exactly these (and gives the reason for the rest).
#[inline]
pub(crate) fn decode_base64_tag_fast(text: &[u8]) -> Option<Tag> {
    let text: &[u8; 44] = text.try_into().ok()?;
    if text[43] != b'=' {
        return None;
    }
    let value = |at: usize| u32::from(BASE64_VALUES[usize::from(text[at])]);
    let mut tag = [0u8; 33];
    let mut seen = 0;
    for quad in 0..11 {
        let at = 4 * quad;
        let (a, b, c) = (value(at), value(at + 1), value(at + 2));
        // The last quad is three characters and a zero fill: its third byte holds
        // only the trailing bits.
        let d = if quad < 10 { value(at + 3) } else { 0 };
        seen |= a | b | c | d;
        let bits = a << 18 | b << 12 | c << 6 | d;
        tag[3 * quad..3 * quad + 3].copy_from_slice(&bits.to_be_bytes()[1..]);
    }
    if seen > 0x3F || tag[32] != 0 {
        return None;
    }
    tag[..32].try_into().ok()
}

/// Decodes a standard, padded base64 signature to a tag, checking its length.
#[inline]
pub fn decode_base64_tag(text: &str) -> Result<Tag, SignatureRejection> {
    base64_tag_from_bytes(text.as_bytes())
}

/// [`decode_base64_tag`] on bytes.
pub(crate) fn base64_tag_from_bytes(text: &[u8]) -> Result<Tag, SignatureRejection> {
    use base64::Engine as _;
    if text.is_empty() {
        return Err(SignatureRejection::MalformedSignature {
            reason: "empty signature",
        });
    }
    if text.len() != 44 {
        return Err(SignatureRejection::MalformedSignature {
            reason: "expected 44 base64 characters (32 bytes)",
        });
    }
    if let Some(tag) = decode_base64_tag_fast(text) {
        return Ok(tag);
    }
    // Anything else is refused below, by the `base64` crate, with its reason.
    let mut buf = [0u8; 33];
    let len = base64::engine::general_purpose::STANDARD
        .decode_slice(text, &mut buf)
        .map_err(|_| SignatureRejection::MalformedSignature {
            reason: "not base64",
        })?;
    if len != 32 {
        return Err(SignatureRejection::MalformedSignature {
            reason: "expected 44 base64 characters (32 bytes)",
        });
    }
    let mut tag = [0u8; 32];
    tag.copy_from_slice(&buf[..32]);
    Ok(tag)
}

/// Encodes a tag as standard, padded base64.
pub fn encode_base64(tag: &Tag) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_tags_are_length_checked_before_decoding() {
        let good = "a".repeat(64);
        assert!(decode_hex_tag(&good).is_ok());
        assert!(decode_hex_tag(&"A".repeat(64)).is_ok());
        for bad in ["", "ab", &"a".repeat(62), &"a".repeat(66), &"g".repeat(64)] {
            assert!(
                matches!(
                    decode_hex_tag(bad),
                    Err(SignatureRejection::MalformedSignature { .. })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn base64_tags_are_length_checked_before_decoding() {
        let good = encode_base64(&[7u8; 32]);
        assert_eq!(decode_base64_tag(&good).unwrap(), [7u8; 32]);
        for bad in [
            "",
            "AAAA",
            &good[..43],
            &format!("{good}A"),
            &"!".repeat(44),
        ] {
            assert!(
                matches!(
                    decode_base64_tag(bad),
                    Err(SignatureRejection::MalformedSignature { .. })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn timestamps_are_plain_digits() {
        let name = HeaderName::from_static("t");
        assert_eq!(parse_timestamp("1700000000", &name).unwrap(), 1_700_000_000);
        for bad in ["", "-1", "+1", "1.5", "1e9", "99999999999999999999", " 1"] {
            assert!(parse_timestamp(bad, &name).is_err(), "{bad:?}");
        }
        assert_eq!(parse_timestamp("0", &name).unwrap(), 0);
        assert_eq!(
            parse_timestamp(&"9".repeat(18), &name).unwrap(),
            999_999_999_999_999_999
        );
        assert!(parse_timestamp(&"9".repeat(19), &name).is_err());
        for c in 0..=u8::MAX {
            let text = format!("17{}0", char::from(c));
            assert_eq!(
                parse_timestamp(&text, &name).is_ok(),
                c.is_ascii_digit(),
                "{c}"
            );
        }
    }

    /// What the fast decoders replaced: the `hex` and `base64` crates.
    fn reference_hex(text: &str) -> Option<Tag> {
        let mut tag = [0u8; 32];
        (text.len() == 64 && hex::decode_to_slice(text, &mut tag).is_ok()).then_some(tag)
    }

    fn reference_base64(text: &str) -> Option<Tag> {
        use base64::Engine as _;
        let mut buf = [0u8; 33];
        let len = base64::engine::general_purpose::STANDARD
            .decode_slice(text, &mut buf)
            .ok()?;
        (text.len() == 44 && len == 32).then(|| buf[..32].try_into().unwrap())
    }

    #[test]
    fn hex_decoding_agrees_with_the_hex_crate_on_every_byte() {
        let good = "0123456789abcdefABCDEF".repeat(3)[..64].to_owned();
        assert_eq!(decode_hex_tag(&good).ok(), reference_hex(&good));
        assert!(reference_hex(&good).is_some());
        for c in 0..=u8::MAX {
            for at in [0, 1, 31, 62, 63] {
                let mut bytes = good.clone().into_bytes();
                bytes[at] = c;
                let Ok(text) = String::from_utf8(bytes) else {
                    continue;
                };
                assert_eq!(
                    decode_hex_tag(&text).ok(),
                    reference_hex(&text),
                    "{c} at {at}"
                );
            }
        }
    }

    #[test]
    fn base64_decoding_agrees_with_the_base64_crate_on_every_byte() {
        let good = encode_base64(&core::array::from_fn(|i| (i * 37) as u8));
        assert!(reference_base64(&good).is_some());
        for c in 0..=u8::MAX {
            for at in [0, 1, 20, 40, 41, 42, 43] {
                let mut bytes = good.clone().into_bytes();
                bytes[at] = c;
                let Ok(text) = String::from_utf8(bytes) else {
                    continue;
                };
                assert_eq!(
                    decode_base64_tag(&text).ok(),
                    reference_base64(&text),
                    "{c} at {at}"
                );
            }
        }
    }

    #[test]
    fn timestamps_are_digits_only_and_at_most_eighteen() {
        let header = HeaderName::from_static("x-ts");
        assert_eq!(parse_timestamp("0", &header).unwrap(), 0);
        assert_eq!(
            parse_timestamp("999999999999999999", &header).unwrap(),
            999_999_999_999_999_999
        );
        for bad in [
            "",
            " 1",
            "+1",
            "-1",
            "1.0",
            "1e9",
            "99999999999999999a",
            "a99999999999999999",
            "\u{ff}\u{ff}",
            &"9".repeat(19),
        ] {
            assert!(parse_timestamp(bad, &header).is_err(), "{bad:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn hex_decoding_agrees_with_the_hex_crate(text in "[0-9a-fA-Fg-zG-Z:/@`]{64}") {
            proptest::prop_assert_eq!(decode_hex_tag(&text).ok(), reference_hex(&text));
        }

        #[test]
        fn base64_decoding_agrees_with_the_base64_crate(text in "[A-Za-z0-9+/=_-]{43}[=A-Za-z]") {
            proptest::prop_assert_eq!(decode_base64_tag(&text).ok(), reference_base64(&text));
        }

        #[test]
        fn timestamps_agree_with_the_standard_parser(text in "[0-9]{0,20}|[0-9a+ -]{0,20}|\\PC{0,20}") {
            let reference = (1..=18).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit());
            let parsed = parse_timestamp(&text, &HeaderName::from_static("x-ts")).ok();
            proptest::prop_assert_eq!(parsed, reference.then(|| text.parse::<i64>().unwrap()));
        }

        #[test]
        fn base64_tags_round_trip(tag in proptest::prelude::any::<[u8; 32]>()) {
            proptest::prop_assert_eq!(decode_base64_tag(&encode_base64(&tag)).unwrap(), tag);
            proptest::prop_assert_eq!(decode_hex_tag(&hex::encode(tag)).unwrap(), tag);
            proptest::prop_assert_eq!(decode_hex_tag(&hex::encode_upper(tag)).unwrap(), tag);
        }
    }
}
