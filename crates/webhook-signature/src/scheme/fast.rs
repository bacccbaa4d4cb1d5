//! The verifier's fast path: the usual delivery of each built-in scheme, read
//! straight from the headers (and the request's method and URL, for the providers
//! that sign them).
//!
//! Almost every delivery is well formed: each header once, one signature in the
//! layout its provider sends. For those, each built-in scheme's `read_usual` takes
//! the headers straight into a [`Usual`], with no [`Signed`](super::Signed) to build
//! and move, no dynamic call, and the signature still encoded, for the verifier to
//! decode when it costs least ([`Usual::decode_first`]).
//!
//! Anything else (a header absent, repeated or malformed, several signatures, a
//! signature that does not decode, a timestamp out of tolerance) is `None` or is
//! handed back by the verifier to [`Scheme::parse`](super::Scheme::parse) and the
//! general path, which gives the full answer. Each reader accepts only what its
//! scheme's `parse` reads the same way: the same signature text, prefix, timestamp
//! and event id (checked against `parse` in `tests/fast_path.rs`).
//!
//! A scheme names its reader with [`Scheme::fast_path`](super::Scheme::fast_path),
//! so a built-in scheme behind `Box<dyn Scheme>` (from [`by_name`](super::by_name))
//! takes the fast path as its own type does. The scheme files import this module;
//! `registry.rs` dispatches to them.

use base64::Engine as _;
use http::HeaderValue;

use super::content::Tag;
use std::sync::Arc;

use super::decode::{base64_tag_from_bytes, hex_tag_from_bytes};
use super::generic::GenericHmac;

/// Which fast path a scheme takes: see
/// [`Scheme::fast_path`](super::Scheme::fast_path).
///
/// Only this crate's schemes make one, so a custom scheme is always read by its own
/// [`Scheme::parse`](super::Scheme::parse). Cheap to clone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FastPath(pub(crate) Builtin);

/// A built-in scheme with a fast path.
#[derive(Debug, Clone)]
pub(crate) enum Builtin {
    HopNow,
    GitHub,
    Stripe,
    Standard,
    Slack,
    Shopify,
    /// GitLab's signing token, read as Standard Webhooks.
    GitLab,
    /// A provider described as data, whose usual delivery the engine reads.
    Described(Arc<GenericHmac>),
}

impl PartialEq for Builtin {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Described(a), Self::Described(b)) => a.name == b.name,
            (a, b) => std::mem::discriminant(a) == std::mem::discriminant(b),
        }
    }
}

impl Eq for Builtin {}

/// A presented signature, not yet decoded.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Encoded<'a> {
    /// 64 hex digits, either case.
    Hex(&'a [u8]),
    /// The canonical base64 of 32 bytes.
    Base64(&'a [u8]),
    /// 40 hex digits, either case: an HMAC-SHA1 tag.
    Sha1Hex(&'a [u8]),
    /// The canonical base64 of 20 bytes: an HMAC-SHA1 tag.
    Sha1Base64(&'a [u8]),
}

/// What a scheme that signs the request line reads besides the headers: the method,
/// and the URL the provider called as two pieces, the public URL and then the
/// request's path and query (`None` without a public URL).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Target<'a> {
    pub(crate) method: &'a [u8],
    pub(crate) url: Option<[&'a [u8]; 2]>,
}

/// What a usual delivery's headers hold.
#[derive(Debug)]
pub(crate) struct Usual<'a> {
    signature: Encoded<'a>,
    prefix: [&'a [u8]; 4],
    prefix_len: usize,
    /// What is signed after the body (HubSpot's timestamp), or nothing.
    pub(crate) suffix: &'a [u8],
    /// The signed timestamp, for schemes that sign one.
    pub(crate) timestamp: Option<i64>,
    /// The header value carrying the event id, and the id (its bytes trimmed,
    /// checked ASCII).
    pub(crate) event_id: Option<(&'a HeaderValue, &'a [u8])>,
}

impl<'a> Usual<'a> {
    /// A delivery presenting `signature`, with nothing signed before the body.
    #[inline]
    pub(crate) fn new(signature: Encoded<'a>) -> Self {
        Self {
            signature,
            prefix: [&[]; 4],
            prefix_len: 0,
            suffix: &[],
            timestamp: None,
            event_id: None,
        }
    }

    /// Sets what is signed before the body, up to four pieces.
    #[inline]
    pub(crate) fn with_prefix<const N: usize>(mut self, pieces: [&'a [u8]; N]) -> Self {
        self.prefix[..N].copy_from_slice(&pieces);
        self.prefix_len = N;
        self
    }

    /// Appends a piece signed before the body; `None` past four.
    #[inline]
    pub(crate) fn push_prefix(&mut self, piece: &'a [u8]) -> Option<()> {
        *self.prefix.get_mut(self.prefix_len)? = piece;
        self.prefix_len += 1;
        Some(())
    }

    /// The pieces signed before the body.
    #[inline]
    pub(crate) fn prefix(&self) -> &[&'a [u8]] {
        &self.prefix[..self.prefix_len]
    }

    /// Whether the signature has its encoding's length (64 hex digits, 44 base64
    /// characters; 40 and 28 for HMAC-SHA1): one that has not never verifies, and is
    /// sent to `parse` before any hashing.
    #[inline]
    pub(crate) fn well_sized(&self) -> bool {
        match self.signature {
            Encoded::Hex(text) => text.len() == 64,
            Encoded::Base64(text) => text.len() == 44,
            Encoded::Sha1Hex(text) => text.len() == 40,
            Encoded::Sha1Base64(text) => text.len() == 28,
        }
    }

    /// Whether the signature is an HMAC-SHA1 tag.
    #[inline]
    pub(crate) fn sha1(&self) -> bool {
        matches!(self.signature, Encoded::Sha1Hex(_) | Encoded::Sha1Base64(_))
    }

    /// Whether to decode the signature before hashing rather than after. The hex
    /// decoder is a short branch-free pass: done first, it is out of the way when
    /// the hash starts. The base64 one is longer: done after the first hash calls,
    /// it overlaps the rest of the hash. Measured, each order is the faster one for
    /// its encoding.
    #[inline]
    pub(crate) fn decode_first(&self) -> bool {
        matches!(self.signature, Encoded::Hex(_) | Encoded::Sha1Hex(_))
    }

    /// The presented tag (an HMAC-SHA1 one followed by zeros), or `None` when the
    /// signature does not decode (then `parse` says why). The SHA-1 ones are decoded
    /// by the functions `GenericHmac::decode` calls.
    #[inline]
    pub(crate) fn decode(&self) -> Option<Tag> {
        let mut tag = Tag::default();
        match self.signature {
            Encoded::Hex(text) => return hex_tag_from_bytes(text).ok(),
            Encoded::Base64(text) => return base64_tag_from_bytes(text).ok(),
            Encoded::Sha1Hex(text) => hex::decode_to_slice(text, &mut tag[..20]).ok()?,
            Encoded::Sha1Base64(text) => {
                let len = base64::engine::general_purpose::STANDARD
                    .decode_slice(text, &mut tag[..21])
                    .ok()?;
                if len != 20 {
                    return None;
                }
            }
        }
        Some(tag)
    }
}
