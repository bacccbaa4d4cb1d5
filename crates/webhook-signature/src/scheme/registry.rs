//! The built-in schemes: the provider table ([`PROVIDERS`]), lookup by name
//! ([`by_name`], [`NAMES`]), and by fast path (the reader and name behind each
//! [`FastPath`]).

use http::HeaderMap;

use super::fast::{Builtin, FastPath, Target, Usual};
use super::providers::*;
use super::{
    Algorithm, GitHub, GitLab, HopNow, Mailgun, Scheme, Shopify, Slack, StandardWebhooks, Stripe,
    Twilio,
};

/// A built-in provider: its names, what it signs with, and where the signature is.
///
/// [`PROVIDERS`] lists one per provider; a tool that lists or chooses providers
/// (the `webhook` command's `providers` and `--scheme`) reads it, so a provider added
/// to the table shows up there with no change to the tool.
///
/// ```
/// use webhook_signature::scheme::{PROVIDERS, Provider};
///
/// let github = Provider::find("GitHub").unwrap();
/// assert_eq!(
///     (github.name, github.algorithm.as_str(), github.signature_header),
///     ("github", "hmac-sha256", "x-hub-signature-256")
/// );
/// assert_eq!(Provider::find("svix").unwrap().name, "standard");
/// assert_eq!((github.scheme)().name(), "github");
/// assert_eq!(PROVIDERS.len(), webhook_signature::scheme::NAMES.len());
/// ```
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Provider {
    /// The stable lowercase name, equal to the scheme's [`Scheme::name`] (`"stripe"`).
    pub name: &'static str,
    /// Other names [`by_name`] accepts for it (`"svix"` for `standard`).
    pub aliases: &'static [&'static str],
    /// The signature algorithm (`hmac-sha256` as text).
    pub algorithm: Algorithm,
    /// The header that carries the signature, lowercase (`"stripe-signature"`), or
    /// `"body"` where the signature travels inside the body (Mailgun).
    pub signature_header: &'static str,
    /// A fresh instance of the scheme.
    pub scheme: fn() -> Box<dyn Scheme>,
}

impl Provider {
    /// The provider called `name` or one of its aliases, ignoring ASCII case.
    pub fn find(name: &str) -> Option<&'static Provider> {
        PROVIDERS.iter().find(|provider| {
            provider.name.eq_ignore_ascii_case(name)
                || provider
                    .aliases
                    .iter()
                    .any(|alias| alias.eq_ignore_ascii_case(name))
        })
    }
}

/// Every built-in provider, in the order help texts list them.
pub const PROVIDERS: &[Provider] = &[
    Provider {
        name: "hopnow",
        aliases: &[],
        algorithm: Algorithm::HmacSha256,
        signature_header: "x-webhook-signature",
        scheme: || Box::new(HopNow),
    },
    Provider {
        name: "github",
        aliases: &[],
        algorithm: Algorithm::HmacSha256,
        signature_header: "x-hub-signature-256",
        scheme: || Box::new(GitHub),
    },
    Provider {
        name: "stripe",
        aliases: &[],
        algorithm: Algorithm::HmacSha256,
        signature_header: "stripe-signature",
        scheme: || Box::new(Stripe),
    },
    Provider {
        name: "standard",
        aliases: &[
            "svix",
            "standardwebhooks",
            "standard-webhooks",
            "clerk",
            "resend",
        ],
        algorithm: Algorithm::HmacSha256,
        signature_header: "webhook-signature",
        scheme: || Box::new(StandardWebhooks),
    },
    Provider {
        name: "slack",
        aliases: &[],
        algorithm: Algorithm::HmacSha256,
        signature_header: "x-slack-signature",
        scheme: || Box::new(Slack),
    },
    Provider {
        name: "shopify",
        aliases: &[],
        algorithm: Algorithm::HmacSha256,
        signature_header: "x-shopify-hmac-sha256",
        scheme: || Box::new(Shopify),
    },
    Provider {
        name: "paddle",
        aliases: &[],
        algorithm: Algorithm::HmacSha256,
        signature_header: "paddle-signature",
        scheme: || Box::new(paddle()),
    },
    Provider {
        name: "linear",
        aliases: &[],
        algorithm: Algorithm::HmacSha256,
        signature_header: "linear-signature",
        scheme: || Box::new(linear()),
    },
    Provider {
        name: "intercom",
        aliases: &[],
        algorithm: Algorithm::HmacSha1,
        signature_header: "x-hub-signature",
        scheme: || Box::new(intercom()),
    },
    Provider {
        name: "bitbucket",
        aliases: &[],
        algorithm: Algorithm::HmacSha256,
        signature_header: "x-hub-signature",
        scheme: || Box::new(bitbucket()),
    },
    Provider {
        name: "typeform",
        aliases: &[],
        algorithm: Algorithm::HmacSha256,
        signature_header: "typeform-signature",
        scheme: || Box::new(typeform()),
    },
    Provider {
        name: "calendly",
        aliases: &[],
        algorithm: Algorithm::HmacSha256,
        signature_header: "calendly-webhook-signature",
        scheme: || Box::new(calendly()),
    },
    Provider {
        name: "lemonsqueezy",
        aliases: &["lemon-squeezy"],
        algorithm: Algorithm::HmacSha256,
        signature_header: "x-signature",
        scheme: || Box::new(lemonsqueezy()),
    },
    Provider {
        name: "mux",
        aliases: &[],
        algorithm: Algorithm::HmacSha256,
        signature_header: "mux-signature",
        scheme: || Box::new(mux()),
    },
    Provider {
        name: "vercel",
        aliases: &[],
        algorithm: Algorithm::HmacSha1,
        signature_header: "x-vercel-signature",
        scheme: || Box::new(vercel()),
    },
    Provider {
        name: "sentry",
        aliases: &[],
        algorithm: Algorithm::HmacSha256,
        signature_header: "sentry-hook-signature",
        scheme: || Box::new(sentry()),
    },
    Provider {
        name: "workos",
        aliases: &[],
        algorithm: Algorithm::HmacSha256,
        signature_header: "workos-signature",
        scheme: || Box::new(workos()),
    },
    Provider {
        name: "coinbase",
        aliases: &["coinbase-commerce"],
        algorithm: Algorithm::HmacSha256,
        signature_header: "x-cc-webhook-signature",
        scheme: || Box::new(coinbase()),
    },
    Provider {
        name: "meta",
        aliases: &["facebook", "instagram", "whatsapp"],
        algorithm: Algorithm::HmacSha256,
        signature_header: "x-hub-signature-256",
        scheme: || Box::new(meta()),
    },
    Provider {
        name: "twitter",
        aliases: &["x"],
        algorithm: Algorithm::HmacSha256,
        signature_header: "x-twitter-webhooks-signature",
        scheme: || Box::new(twitter()),
    },
    Provider {
        name: "dropbox",
        aliases: &[],
        algorithm: Algorithm::HmacSha256,
        signature_header: "x-dropbox-signature",
        scheme: || Box::new(dropbox()),
    },
    Provider {
        name: "zoom",
        aliases: &[],
        algorithm: Algorithm::HmacSha256,
        signature_header: "x-zm-signature",
        scheme: || Box::new(zoom()),
    },
    Provider {
        name: "twitch",
        aliases: &[],
        algorithm: Algorithm::HmacSha256,
        signature_header: "twitch-eventsub-message-signature",
        scheme: || Box::new(twitch()),
    },
    Provider {
        name: "square",
        aliases: &[],
        algorithm: Algorithm::HmacSha256,
        signature_header: "x-square-hmacsha256-signature",
        scheme: || Box::new(square()),
    },
    Provider {
        name: "hubspot",
        aliases: &[],
        algorithm: Algorithm::HmacSha256,
        signature_header: "x-hubspot-signature-v3",
        scheme: || Box::new(hubspot()),
    },
    Provider {
        name: "discord",
        aliases: &[],
        algorithm: Algorithm::Ed25519,
        signature_header: "x-signature-ed25519",
        scheme: || Box::new(discord()),
    },
    Provider {
        name: "sendgrid",
        aliases: &[],
        algorithm: Algorithm::EcdsaP256Sha256,
        signature_header: "x-twilio-email-event-webhook-signature",
        scheme: || Box::new(sendgrid()),
    },
    Provider {
        name: "twilio",
        aliases: &[],
        algorithm: Algorithm::HmacSha1,
        signature_header: "x-twilio-signature",
        scheme: || Box::new(Twilio),
    },
    Provider {
        name: "mailgun",
        aliases: &[],
        algorithm: Algorithm::HmacSha256,
        signature_header: "body",
        scheme: || Box::new(Mailgun),
    },
    Provider {
        name: "gitlab",
        aliases: &[],
        algorithm: Algorithm::HmacSha256,
        signature_header: "x-gitlab-token",
        scheme: || Box::new(GitLab),
    },
];

/// The built-in scheme called `name` (or one of its aliases, ignoring ASCII case):
/// see [`PROVIDERS`].
pub fn by_name(name: &str) -> Option<Box<dyn Scheme>> {
    Provider::find(name).map(|provider| (provider.scheme)())
}

/// The names of [`PROVIDERS`], in order, for help texts.
pub const NAMES: &[&str] = &{
    let mut names = [""; PROVIDERS.len()];
    let mut at = 0;
    while at < names.len() {
        names[at] = PROVIDERS[at].name;
        at += 1;
    }
    names
};

impl FastPath {
    /// The usual delivery in `headers` (and `target`, for a scheme that signs the
    /// method or the URL), or `None` for anything else.
    #[inline]
    pub(crate) fn read<'a>(
        &'a self,
        headers: &'a HeaderMap,
        target: Target<'a>,
    ) -> Option<Usual<'a>> {
        match &self.0 {
            Builtin::HopNow => super::hopnow::read_usual(headers),
            Builtin::GitHub => super::github::read_usual(headers),
            Builtin::Stripe => super::stripe::read_usual(headers),
            Builtin::Standard => super::standard::read_usual(headers),
            Builtin::Slack => super::slack::read_usual(headers),
            Builtin::Shopify => super::shopify::read_usual(headers),
            Builtin::GitLab => super::gitlab::read_usual(headers),
            Builtin::Described(scheme) => scheme.read_usual(headers, target),
        }
    }

    /// The scheme's [`Scheme::name`], without a dynamic call.
    #[inline]
    pub(crate) fn name(&self) -> &'static str {
        match &self.0 {
            Builtin::HopNow => HopNow.name(),
            Builtin::GitHub => GitHub.name(),
            Builtin::Stripe => Stripe.name(),
            Builtin::Standard => StandardWebhooks.name(),
            Builtin::Slack => Slack.name(),
            Builtin::Shopify => Shopify.name(),
            Builtin::GitLab => GitLab.name(),
            Builtin::Described(scheme) => scheme.name,
        }
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderName;

    use super::*;
    use crate::scheme::SignRequest;

    #[test]
    fn each_provider_describes_its_scheme() {
        let request =
            SignRequest::new(b"{}", 1_700_000_000, "msg_1").with_url("https://example.com/hooks");
        for provider in PROVIDERS {
            let scheme = (provider.scheme)();
            assert_eq!(scheme.name(), provider.name);
            assert_eq!(scheme.algorithm(), provider.algorithm);
            if provider.signature_header == "body" {
                assert!(scheme.sign(b"secret", &request).is_err());
                continue;
            }
            let headers = if provider.algorithm.is_hmac() {
                scheme.sign(b"secret", &request).unwrap()
            } else {
                let key = match provider.algorithm {
                    Algorithm::Ed25519 => crate::scheme::PrivateKey::ed25519(&"11".repeat(32)),
                    _ => crate::scheme::PrivateKey::ecdsa_p256(&"22".repeat(32)),
                };
                scheme
                    .sign_with_private_key(&key.unwrap(), &request)
                    .unwrap()
            };
            assert!(
                headers.contains_key(HeaderName::from_static(provider.signature_header)),
                "{}: signs no {}",
                provider.name,
                provider.signature_header
            );
            for name in std::iter::once(&provider.name).chain(provider.aliases) {
                assert_eq!(by_name(name).unwrap().name(), provider.name);
                assert_eq!(
                    by_name(&name.to_ascii_uppercase()).unwrap().name(),
                    provider.name
                );
            }
        }
        assert!(by_name("unknown").is_none());
    }
}
