//! The providers whose scheme is data: each a [`GenericHmac`] constant, read by the
//! one engine in `generic.rs`. Each description follows the provider's own SDK (or
//! its documentation where it has none); the conformance vectors under
//! `crates/webhook-testing/conformance/providers/` name the sources.

use std::borrow::Cow;
use std::time::Duration;

use http::HeaderName;
use webhook_core::Handshake;

use super::algorithm::Algorithm;
use super::envelopes;
use super::generic::{Encoding, Field, GenericHmac, KeyForm, Part, SignatureField, TimeFormat};
use crate::DEFAULT_TOLERANCE;

const fn header(name: &'static str, prefix: &'static str) -> SignatureField {
    SignatureField::Header {
        header: HeaderName::from_static(name),
        prefix: Cow::Borrowed(prefix),
    }
}

const fn items(
    name: &'static str,
    separator: char,
    join: &'static str,
    key: &'static str,
) -> SignatureField {
    SignatureField::Items {
        header: HeaderName::from_static(name),
        separator,
        join,
        key,
    }
}

const fn from_header(name: &'static str) -> Field {
    Field::Header(HeaderName::from_static(name))
}

const fn lit(text: &'static str) -> Part {
    Part::Literal(Cow::Borrowed(text))
}

/// HMAC-SHA256 in hex of the raw body, keyed with the secret's text: the most common
/// scheme, which each description below starts from.
fn body_hex() -> GenericHmac {
    GenericHmac {
        name: "",
        algorithm: Algorithm::HmacSha256,
        encoding: Encoding::Hex,
        signature: header("x-signature", ""),
        timestamp: None,
        id: None,
        envelope: &envelopes::STANDARD,
        content: Cow::Borrowed(&[Part::Body]),
        tolerance: DEFAULT_TOLERANCE,
        key_form: KeyForm::Text,
        signed_content: "`<body>`",
        handshake: None,
    }
}

/// Paddle Billing: `Paddle-Signature: ts=<unix>;h1=<hex>` over `<ts>:<body>`, 5 s.
pub(crate) fn paddle() -> GenericHmac {
    GenericHmac {
        name: "paddle",
        envelope: &envelopes::PADDLE,
        signature: items("paddle-signature", ';', ";", "h1"),
        timestamp: Some((Field::Item("ts"), TimeFormat::UnixSeconds)),
        content: Cow::Borrowed(const { &[Part::Timestamp, lit(":"), Part::Body] }),
        tolerance: Duration::from_secs(5),
        signed_content: "`<ts>:<body>`, ts from `Paddle-Signature`",
        ..body_hex()
    }
}

/// Linear: `Linear-Signature: <hex>` of the body; the body's `webhookTimestamp`
/// (milliseconds) within 60 s.
pub(crate) fn linear() -> GenericHmac {
    GenericHmac {
        name: "linear",
        envelope: &envelopes::LINEAR,
        signature: header("linear-signature", ""),
        timestamp: Some((Field::Json(&["webhookTimestamp"]), TimeFormat::UnixMillis)),
        id: Some(from_header("linear-delivery")),
        tolerance: Duration::from_secs(60),
        signed_content: "`<body>`; the body's `webhookTimestamp` is checked",
        ..body_hex()
    }
}

/// Intercom: `X-Hub-Signature: sha1=<hex>`, HMAC-SHA1 of the body with the app's
/// client secret.
pub(crate) fn intercom() -> GenericHmac {
    GenericHmac {
        name: "intercom",
        envelope: &envelopes::INTERCOM,
        algorithm: Algorithm::HmacSha1,
        signature: header("x-hub-signature", "sha1="),
        signed_content: "`<body>`, HMAC-SHA1 with the client secret",
        ..body_hex()
    }
}

/// Bitbucket Cloud: `X-Hub-Signature: sha256=<hex>` of the body.
pub(crate) fn bitbucket() -> GenericHmac {
    GenericHmac {
        name: "bitbucket",
        envelope: &envelopes::BITBUCKET,
        signature: header("x-hub-signature", "sha256="),
        id: Some(from_header("x-request-uuid")),
        ..body_hex()
    }
}

/// Typeform: `Typeform-Signature: sha256=<base64>` of the body.
pub(crate) fn typeform() -> GenericHmac {
    GenericHmac {
        name: "typeform",
        envelope: &envelopes::TYPEFORM,
        encoding: Encoding::Base64,
        signature: header("typeform-signature", "sha256="),
        ..body_hex()
    }
}

/// Calendly: `Calendly-Webhook-Signature: t=<unix>,v1=<hex>` over `<t>.<body>`, 3 min.
pub(crate) fn calendly() -> GenericHmac {
    GenericHmac {
        name: "calendly",
        envelope: &envelopes::CALENDLY,
        signature: items("calendly-webhook-signature", ',', ",", "v1"),
        timestamp: Some((Field::Item("t"), TimeFormat::UnixSeconds)),
        content: Cow::Borrowed(const { &[Part::Timestamp, lit("."), Part::Body] }),
        tolerance: Duration::from_secs(180),
        signed_content: "`<t>.<body>`, t from `Calendly-Webhook-Signature`",
        ..body_hex()
    }
}

/// Lemon Squeezy: `X-Signature: <hex>` of the body.
pub(crate) fn lemonsqueezy() -> GenericHmac {
    GenericHmac {
        name: "lemonsqueezy",
        envelope: &envelopes::LEMONSQUEEZY,
        ..body_hex()
    }
}

/// Mux: `Mux-Signature: t=<unix>,v1=<hex>` over `<t>.<body>`.
pub(crate) fn mux() -> GenericHmac {
    GenericHmac {
        name: "mux",
        envelope: &envelopes::MUX,
        signature: items("mux-signature", ',', ",", "v1"),
        timestamp: Some((Field::Item("t"), TimeFormat::UnixSeconds)),
        content: Cow::Borrowed(const { &[Part::Timestamp, lit("."), Part::Body] }),
        signed_content: "`<t>.<body>`, t from `Mux-Signature`",
        ..body_hex()
    }
}

/// Vercel: `x-vercel-signature: <hex>`, HMAC-SHA1 of the body.
pub(crate) fn vercel() -> GenericHmac {
    GenericHmac {
        name: "vercel",
        envelope: &envelopes::VERCEL,
        algorithm: Algorithm::HmacSha1,
        signature: header("x-vercel-signature", ""),
        signed_content: "`<body>`, HMAC-SHA1",
        ..body_hex()
    }
}

/// Sentry integration platform: `Sentry-Hook-Signature: <hex>` of the raw body.
pub(crate) fn sentry() -> GenericHmac {
    GenericHmac {
        name: "sentry",
        envelope: &envelopes::SENTRY,
        signature: header("sentry-hook-signature", ""),
        id: Some(from_header("request-id")),
        ..body_hex()
    }
}

/// WorkOS: `WorkOS-Signature: t=<ms>, v1=<hex>` over `<t>.<body>`, 180 s.
pub(crate) fn workos() -> GenericHmac {
    GenericHmac {
        name: "workos",
        envelope: &envelopes::WORKOS,
        signature: items("workos-signature", ',', ", ", "v1"),
        timestamp: Some((Field::Item("t"), TimeFormat::UnixMillis)),
        content: Cow::Borrowed(const { &[Part::Timestamp, lit("."), Part::Body] }),
        tolerance: Duration::from_secs(180),
        signed_content: "`<t>.<body>`, t (milliseconds) from `WorkOS-Signature`",
        ..body_hex()
    }
}

/// Coinbase Commerce: `X-CC-Webhook-Signature: <hex>` of the body.
pub(crate) fn coinbase() -> GenericHmac {
    GenericHmac {
        name: "coinbase",
        envelope: &envelopes::COINBASE,
        signature: header("x-cc-webhook-signature", ""),
        ..body_hex()
    }
}

/// Meta (Facebook, Instagram, WhatsApp): `X-Hub-Signature-256: sha256=<hex>` of the
/// body with the app secret.
pub(crate) fn meta() -> GenericHmac {
    GenericHmac {
        name: "meta",
        envelope: &envelopes::META,
        signature: header("x-hub-signature-256", "sha256="),
        signed_content: "`<body>`, keyed with the app secret",
        handshake: Some(Handshake::MetaSubscribe),
        ..body_hex()
    }
}

/// X (Twitter) Account Activity: `X-Twitter-Webhooks-Signature: sha256=<base64>` of
/// the body with the consumer secret.
pub(crate) fn twitter() -> GenericHmac {
    GenericHmac {
        name: "twitter",
        envelope: &envelopes::TWITTER,
        encoding: Encoding::Base64,
        signature: header("x-twitter-webhooks-signature", "sha256="),
        signed_content: "`<body>`, keyed with the consumer secret",
        handshake: Some(Handshake::XCrc),
        ..body_hex()
    }
}

/// Dropbox: `X-Dropbox-Signature: <hex>` of the body with the app secret.
pub(crate) fn dropbox() -> GenericHmac {
    GenericHmac {
        name: "dropbox",
        envelope: &envelopes::DROPBOX,
        signature: header("x-dropbox-signature", ""),
        signed_content: "`<body>`, keyed with the app secret",
        handshake: Some(Handshake::DropboxChallenge),
        ..body_hex()
    }
}

/// Zoom: `x-zm-signature: v0=<hex>` over `v0:<x-zm-request-timestamp>:<body>`.
pub(crate) fn zoom() -> GenericHmac {
    GenericHmac {
        name: "zoom",
        envelope: &envelopes::ZOOM,
        signature: header("x-zm-signature", "v0="),
        timestamp: Some((
            from_header("x-zm-request-timestamp"),
            TimeFormat::UnixSeconds,
        )),
        content: Cow::Borrowed(const { &[lit("v0:"), Part::Timestamp, lit(":"), Part::Body] }),
        signed_content: "`v0:<x-zm-request-timestamp>:<body>`, keyed with the secret token",
        handshake: Some(Handshake::ZoomUrlValidation),
        ..body_hex()
    }
}

/// Twitch EventSub: `Twitch-Eventsub-Message-Signature: sha256=<hex>` over
/// `<message id><RFC 3339 timestamp><body>`, 10 min.
pub(crate) fn twitch() -> GenericHmac {
    GenericHmac {
        name: "twitch",
        envelope: &envelopes::TWITCH,
        signature: header("twitch-eventsub-message-signature", "sha256="),
        timestamp: Some((
            from_header("twitch-eventsub-message-timestamp"),
            TimeFormat::Rfc3339,
        )),
        id: Some(from_header("twitch-eventsub-message-id")),
        content: Cow::Borrowed(&[Part::Id, Part::Timestamp, Part::Body]),
        tolerance: Duration::from_secs(600),
        signed_content: "`<Twitch-Eventsub-Message-Id><Twitch-Eventsub-Message-Timestamp><body>`",
        handshake: Some(Handshake::TwitchCallbackVerification),
        ..body_hex()
    }
}

/// Square: `x-square-hmacsha256-signature: <base64>` over `<notification URL><body>`.
pub(crate) fn square() -> GenericHmac {
    GenericHmac {
        name: "square",
        envelope: &envelopes::SQUARE,
        encoding: Encoding::Base64,
        signature: header("x-square-hmacsha256-signature", ""),
        content: Cow::Borrowed(&[Part::Url, Part::Body]),
        signed_content: "`<notification URL><body>`, keyed with the signature key",
        ..body_hex()
    }
}

/// HubSpot (v3): `X-HubSpot-Signature-v3: <base64>` over
/// `<method><URL><body><X-HubSpot-Request-Timestamp>` (milliseconds), 5 min.
pub(crate) fn hubspot() -> GenericHmac {
    GenericHmac {
        name: "hubspot",
        envelope: &envelopes::HUBSPOT,
        encoding: Encoding::Base64,
        signature: header("x-hubspot-signature-v3", ""),
        timestamp: Some((
            from_header("x-hubspot-request-timestamp"),
            TimeFormat::UnixMillis,
        )),
        content: Cow::Borrowed(&[Part::Method, Part::Url, Part::Body, Part::Timestamp]),
        signed_content: "`<method><URL><body><X-HubSpot-Request-Timestamp>`, keyed with the app's client secret",
        ..body_hex()
    }
}

/// Discord interactions: `X-Signature-Ed25519: <hex>` over
/// `<X-Signature-Timestamp><body>`, verified with the application's public key. The
/// SDKs check no window; the 5-minute default applies.
pub(crate) fn discord() -> GenericHmac {
    GenericHmac {
        name: "discord",
        envelope: &envelopes::DISCORD,
        algorithm: Algorithm::Ed25519,
        signature: header("x-signature-ed25519", ""),
        timestamp: Some((
            from_header("x-signature-timestamp"),
            TimeFormat::UnixSeconds,
        )),
        content: Cow::Borrowed(&[Part::Timestamp, Part::Body]),
        key_form: KeyForm::Ed25519,
        signed_content: "`<X-Signature-Timestamp><body>`, Ed25519 with the application's public key",
        handshake: Some(Handshake::DiscordPing),
        ..body_hex()
    }
}

/// SendGrid Event Webhook: `X-Twilio-Email-Event-Webhook-Signature: <base64 DER>`,
/// ECDSA P-256 over `<X-Twilio-Email-Event-Webhook-Timestamp><body>`. The SDKs check
/// no window; the 5-minute default applies.
pub(crate) fn sendgrid() -> GenericHmac {
    GenericHmac {
        name: "sendgrid",
        envelope: &envelopes::SENDGRID,
        algorithm: Algorithm::EcdsaP256Sha256,
        encoding: Encoding::Base64,
        signature: header("x-twilio-email-event-webhook-signature", ""),
        timestamp: Some((
            from_header("x-twilio-email-event-webhook-timestamp"),
            TimeFormat::UnixSeconds,
        )),
        content: Cow::Borrowed(&[Part::Timestamp, Part::Body]),
        key_form: KeyForm::EcdsaP256,
        signed_content: "`<X-Twilio-Email-Event-Webhook-Timestamp><body>`, ECDSA P-256 with the verification key",
        ..body_hex()
    }
}

/// Every description, for the checks in `tests`.
#[cfg(test)]
pub(crate) const ALL: &[fn() -> GenericHmac] = &[
    paddle,
    linear,
    intercom,
    bitbucket,
    typeform,
    calendly,
    lemonsqueezy,
    mux,
    vercel,
    sentry,
    workos,
    coinbase,
    meta,
    twitter,
    dropbox,
    zoom,
    twitch,
    square,
    hubspot,
    discord,
    sendgrid,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_description_is_consistent() {
        for scheme in ALL.iter().map(|make| make()) {
            assert!(!scheme.name.is_empty());
            scheme
                .check()
                .unwrap_or_else(|error| panic!("{}: {error}", scheme.name));
        }
    }
}
