//! The usual delivery of each built-in scheme, read for the verifier's fast path.
//!
//! Almost every delivery is well formed: each header once, one signature in the
//! layout its provider sends. For those, [`Builtin::read`] takes the headers
//! straight into a [`Usual`], with no [`Signed`](super::Signed) to build and move,
//! no dynamic call, and the signature still encoded, for the verifier to decode when
//! it costs least ([`Usual::decode_first`]).
//!
//! Anything else (a header absent, repeated or malformed, several signatures, a
//! signature that does not decode, a timestamp out of tolerance) is `None` or is
//! handed back by the verifier to [`Scheme::parse`] and the general path, which
//! answers exactly as it always did. Each reader accepts only what its scheme's
//! `parse` reads the same way: the same signature text, prefix, timestamp and event
//! id (checked against `parse` in `tests/fast_path.rs`).

use std::any::TypeId;

use http::{HeaderMap, HeaderValue};

use super::{
    Found, GitHub, HopNow, Scheme, Shopify, Slack, StandardWebhooks, Stripe, Tag,
    base64_tag_from_bytes, hex_tag_from_bytes,
};

/// A built-in scheme, known by its type when the verifier is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Builtin {
    HopNow,
    GitHub,
    Stripe,
    Standard,
    Slack,
    Shopify,
}

impl Builtin {
    /// The built-in scheme `S` is, if it is one.
    pub(crate) fn of<S: Scheme>() -> Option<Self> {
        let id = TypeId::of::<S>();
        [
            (TypeId::of::<HopNow>(), Self::HopNow),
            (TypeId::of::<GitHub>(), Self::GitHub),
            (TypeId::of::<Stripe>(), Self::Stripe),
            (TypeId::of::<StandardWebhooks>(), Self::Standard),
            (TypeId::of::<Slack>(), Self::Slack),
            (TypeId::of::<Shopify>(), Self::Shopify),
        ]
        .into_iter()
        .find_map(|(builtin, this)| (builtin == id).then_some(this))
    }

    /// The usual delivery in `headers`, or `None` for anything else.
    #[inline]
    pub(crate) fn read(self, headers: &HeaderMap) -> Option<Usual<'_>> {
        match self {
            Self::HopNow => super::hopnow::read_usual(headers),
            Self::GitHub => super::github::read_usual(headers),
            Self::Stripe => super::stripe::read_usual(headers),
            Self::Standard => super::standard::read_usual(headers),
            Self::Slack => super::slack::read_usual(headers),
            Self::Shopify => super::shopify::read_usual(headers),
        }
    }

    /// The scheme's [`Scheme::name`], without a dynamic call.
    #[inline]
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::HopNow => HopNow.name(),
            Self::GitHub => GitHub.name(),
            Self::Stripe => Stripe.name(),
            Self::Standard => StandardWebhooks.name(),
            Self::Slack => Slack.name(),
            Self::Shopify => Shopify.name(),
        }
    }
}

/// A presented signature, not yet decoded.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Encoded<'a> {
    /// 64 hex digits, either case.
    Hex(&'a [u8]),
    /// The canonical base64 of 32 bytes.
    Base64(&'a [u8]),
}

/// What a usual delivery's headers hold.
#[derive(Debug)]
pub(crate) struct Usual<'a> {
    signature: Encoded<'a>,
    prefix: [&'a [u8]; 4],
    prefix_len: usize,
    /// The signed timestamp, for schemes that sign one.
    pub(crate) timestamp: Option<i64>,
    /// The header value carrying the event id, and the id (its bytes trimmed,
    /// checked ASCII).
    pub(crate) event_id: Option<(&'a HeaderValue, &'a [u8])>,
}

impl<'a> Usual<'a> {
    #[inline]
    pub(crate) fn new(signature: Encoded<'a>) -> Self {
        Self {
            signature,
            prefix: [&[]; 4],
            prefix_len: 0,
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

    /// The pieces signed before the body.
    #[inline]
    pub(crate) fn prefix(&self) -> &[&'a [u8]] {
        &self.prefix[..self.prefix_len]
    }

    /// Whether the signature has its encoding's length (64 hex digits, 44 base64
    /// characters): one that has not never verifies, and is sent to `parse` before
    /// any hashing.
    #[inline]
    pub(crate) fn well_sized(&self) -> bool {
        match self.signature {
            Encoded::Hex(text) => text.len() == 64,
            Encoded::Base64(text) => text.len() == 44,
        }
    }

    /// Whether to decode the signature before hashing rather than after. The hex
    /// decoder is a short branch-free pass: done first, it is out of the way when
    /// the hash starts. The base64 one is longer: done after the first hash calls,
    /// it overlaps the rest of the hash. Measured, each order is the faster one for
    /// its encoding, by 5 to 10 ns at 256 bytes.
    #[inline]
    pub(crate) fn decode_first(&self) -> bool {
        matches!(self.signature, Encoded::Hex(_))
    }

    /// The presented tag, or `None` when the signature does not decode (then
    /// `parse` says why).
    #[inline]
    pub(crate) fn decode(&self) -> Option<Tag> {
        match self.signature {
            Encoded::Hex(text) => hex_tag_from_bytes(text).ok(),
            Encoded::Base64(text) => base64_tag_from_bytes(text).ok(),
        }
    }
}

impl<'h> Found<'h> {
    /// The value, when the header is there exactly once (or in identical copies).
    #[inline]
    pub(crate) fn one(self) -> Option<&'h HeaderValue> {
        match self {
            Self::One(value) => Some(value),
            Self::Absent | Self::Conflicting => None,
        }
    }

    /// For an optional header: `Some(None)` when absent, `Some(Some(..))` with the
    /// value and its bytes trimmed and checked ASCII, `None` for anything else.
    #[inline]
    pub(crate) fn optional_ascii(self) -> Option<Option<(&'h HeaderValue, &'h [u8])>> {
        match self {
            Self::Absent => Some(None),
            Self::One(value) => ascii(value).map(|id| Some((value, id))),
            Self::Conflicting => None,
        }
    }
}

/// The value's bytes trimmed, if they are ASCII: what [`super::ascii_value`]
/// accepts, without building its rejection.
#[inline]
pub(crate) fn ascii(value: &HeaderValue) -> Option<&[u8]> {
    let bytes = value.as_bytes().trim_ascii();
    bytes.is_ascii().then_some(bytes)
}

/// The value's bytes trimmed: what [`Found::raw`] reads.
#[inline]
pub(crate) fn trimmed(value: &HeaderValue) -> &[u8] {
    value.as_bytes().trim_ascii()
}
