//! The built-in schemes, by name ([`by_name`], [`NAMES`]) and by type, with the
//! fast path each takes.

use std::any::TypeId;

use http::HeaderMap;

use super::fast::{Builtin, Usual};
use super::{GitHub, HopNow, Scheme, Shopify, Slack, StandardWebhooks, Stripe};

/// The built-in scheme called `name`: `hopnow`, `github`, `stripe`, `standard`
/// (also `standardwebhooks`, `svix`), `slack` or `shopify`.
pub fn by_name(name: &str) -> Option<Box<dyn Scheme>> {
    Some(match name.to_ascii_lowercase().as_str() {
        "hopnow" => Box::new(HopNow),
        "github" => Box::new(GitHub),
        "stripe" => Box::new(Stripe),
        "standard" | "standardwebhooks" | "standard-webhooks" | "svix" => {
            Box::new(StandardWebhooks)
        }
        "slack" => Box::new(Slack),
        "shopify" => Box::new(Shopify),
        _ => return None,
    })
}

/// The names [`by_name`] accepts, for help texts.
pub const NAMES: &[&str] = &["hopnow", "github", "stripe", "standard", "slack", "shopify"];

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
