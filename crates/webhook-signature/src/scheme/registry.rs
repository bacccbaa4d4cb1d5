//! The built-in schemes: by name ([`by_name`], [`NAMES`]), and by fast path (the
//! reader and name behind each [`FastPath`]).

use http::HeaderMap;

use super::fast::{Builtin, FastPath, Usual};
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

impl FastPath {
    /// The usual delivery in `headers`, or `None` for anything else.
    #[inline]
    pub(crate) fn read(self, headers: &HeaderMap) -> Option<Usual<'_>> {
        match self.0 {
            Builtin::HopNow => super::hopnow::read_usual(headers),
            Builtin::GitHub => super::github::read_usual(headers),
            Builtin::Stripe => super::stripe::read_usual(headers),
            Builtin::Standard => super::standard::read_usual(headers),
            Builtin::Slack => super::slack::read_usual(headers),
            Builtin::Shopify => super::shopify::read_usual(headers),
        }
    }

    /// The scheme's [`Scheme::name`], without a dynamic call.
    #[inline]
    pub(crate) fn name(self) -> &'static str {
        match self.0 {
            Builtin::HopNow => HopNow.name(),
            Builtin::GitHub => GitHub.name(),
            Builtin::Stripe => Stripe.name(),
            Builtin::Standard => StandardWebhooks.name(),
            Builtin::Slack => Slack.name(),
            Builtin::Shopify => Shopify.name(),
        }
    }
}
