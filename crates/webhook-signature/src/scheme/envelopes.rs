//! Each built-in provider's [`Envelope`]: where its deliveries put the event's id,
//! type, created time and data. [`Scheme::envelope`](super::Scheme::envelope) returns
//! these; a custom scheme can reuse one.
//!
//! Each follows the provider's documentation and SDKs; the sample deliveries under
//! `crates/webhook-testing/conformance/envelopes/` name the sources and pin the
//! result for each.
//!
//! ```
//! use webhook_signature::scheme::{Provider, envelopes};
//!
//! let github = (Provider::find("github").unwrap().scheme)();
//! assert_eq!(github.envelope(), &envelopes::GITHUB);
//! ```

use webhook_core::envelope::{Envelope, Member, TimeFormat};

const fn header(name: &'static str) -> Member {
    Member::Header(name)
}

/// `{ id, type, created, data }` in the body: HopNow, Stripe.
pub static STANDARD: Envelope = Envelope::STANDARD;

/// Standard Webhooks (and Svix, Clerk, Resend): the id is the signed `webhook-id`
/// header; `type` and `data` in the body; the created time is `timestamp` (RFC 3339
/// in the specification, Unix milliseconds at Clerk) or Resend's `created_at`.
pub static STANDARD_WEBHOOKS: Envelope = Envelope::new()
    .id(&[header("webhook-id"), header("svix-id")])
    .created(
        &[Member::Body(&["timestamp"]), Member::Body(&["created_at"])],
        TimeFormat::UnixMillis,
    );

/// GitHub: `X-GitHub-Delivery` and `X-GitHub-Event` headers (neither is signed);
/// no created time; the payload is the body.
pub static GITHUB: Envelope = Envelope::new()
    .id(&[header("x-github-delivery")])
    .event_type(&[header("x-github-event")])
    .created(&[], TimeFormat::UnixSeconds)
    .data(&[]);

/// Shopify: `X-Shopify-Webhook-Id` (one per delivery, kept by its retries;
/// `X-Shopify-Event-Id` is shared by the deliveries of one action to several
/// subscriptions), `X-Shopify-Topic`, `X-Shopify-Triggered-At`; the payload is the
/// body.
pub static SHOPIFY: Envelope = Envelope::new()
    .id(&[header("x-shopify-webhook-id")])
    .event_type(&[header("x-shopify-topic")])
    .created(&[header("x-shopify-triggered-at")], TimeFormat::Rfc3339)
    .data(&[]);

/// Slack's Events API `event_callback`: `event_id`, the inner `event.type`,
/// `event_time`; the payload is `event`.
pub static SLACK: Envelope = Envelope::new()
    .id(&[Member::Body(&["event_id"])])
    .event_type(&[Member::Body(&["event", "type"]), Member::Body(&["type"])])
    .created(&[Member::Body(&["event_time"])], TimeFormat::UnixSeconds)
    .data(&["event"]);

/// Twilio's form callbacks: the id is `I-Twilio-Idempotency-Token` (kept by
/// retries), else the hash of the body; the type is the status the callback reports
/// (`MessageStatus`, `CallStatus`, or an incoming message's `SmsStatus`); no created
/// time; the payload is the form.
pub static TWILIO: Envelope = Envelope::new()
    .id(&[header("i-twilio-idempotency-token"), Member::BodyHash])
    .event_type(&[
        Member::Form("MessageStatus"),
        Member::Form("CallStatus"),
        Member::Form("SmsStatus"),
    ])
    .created(&[], TimeFormat::UnixSeconds)
    .data(&[])
    .form();

/// Discord: an interaction's `id`, else the hash of the body (webhook events carry
/// no id); the type is the webhook event's `event.type`, else the interaction's
/// numeric `type`; the created time is the event's `event.timestamp` (written
/// without an offset: UTC); the payload is the body.
pub static DISCORD: Envelope = Envelope::new()
    .id(&[Member::Body(&["id"]), Member::BodyHash])
    .event_type(&[Member::Body(&["event", "type"]), Member::Body(&["type"])])
    .created(
        &[Member::Body(&["event", "timestamp"])],
        TimeFormat::Rfc3339,
    )
    .data(&[]);

/// Zoom: no id (the hash of the body, which a retry resends unchanged); `event`;
/// `event_ts` in milliseconds; the payload is `payload`.
pub static ZOOM: Envelope = Envelope::new()
    .id(&[Member::BodyHash])
    .event_type(&[Member::Body(&["event"])])
    .created(&[Member::Body(&["event_ts"])], TimeFormat::UnixMillis)
    .data(&["payload"]);

/// Twitch EventSub: `Twitch-Eventsub-Message-Id`, the subscription type (or
/// `revocation` for a revocation), `Twitch-Eventsub-Message-Timestamp`; the payload
/// is the body (`subscription`, and `event` but in a revocation).
pub static TWITCH: Envelope = Envelope::new()
    .id(&[header("twitch-eventsub-message-id")])
    .event_type(&[
        Member::HeaderEquals {
            name: "twitch-eventsub-message-type",
            value: "revocation",
        },
        header("twitch-eventsub-subscription-type"),
    ])
    .created(
        &[header("twitch-eventsub-message-timestamp")],
        TimeFormat::Rfc3339,
    )
    .data(&[]);

/// Paddle Billing: `event_id`, `event_type`, `occurred_at`, `data`.
pub static PADDLE: Envelope = Envelope::new()
    .id(&[Member::Body(&["event_id"])])
    .event_type(&[Member::Body(&["event_type"])])
    .created(&[Member::Body(&["occurred_at"])], TimeFormat::Rfc3339);

/// Linear: the `Linear-Delivery` header (the body's `webhookId` names the webhook,
/// not the delivery); the entity `type` (`Issue`, `Comment`); `createdAt`; `data`.
pub static LINEAR: Envelope = Envelope::new()
    .id(&[header("linear-delivery")])
    .created(&[Member::Body(&["createdAt"])], TimeFormat::UnixMillis);

/// Intercom: `id`, `topic`, `created_at`; the payload is `data.item`.
pub static INTERCOM: Envelope = Envelope::new()
    .event_type(&[Member::Body(&["topic"])])
    .created(&[Member::Body(&["created_at"])], TimeFormat::UnixSeconds)
    .data(&["data", "item"]);

/// Bitbucket Cloud: `X-Request-UUID`, `X-Event-Key`; no created time; the payload
/// is the body.
pub static BITBUCKET: Envelope = Envelope::new()
    .id(&[header("x-request-uuid")])
    .event_type(&[header("x-event-key")])
    .created(&[], TimeFormat::UnixSeconds)
    .data(&[]);

/// Typeform: `event_id`, `event_type`, `form_response.submitted_at`; the payload is
/// `form_response`.
pub static TYPEFORM: Envelope = Envelope::new()
    .id(&[Member::Body(&["event_id"])])
    .event_type(&[Member::Body(&["event_type"])])
    .created(
        &[Member::Body(&["form_response", "submitted_at"])],
        TimeFormat::Rfc3339,
    )
    .data(&["form_response"]);

/// Calendly: no id (the hash of the body); `event`; `created_at`; `payload`.
pub static CALENDLY: Envelope = Envelope::new()
    .id(&[Member::BodyHash])
    .event_type(&[Member::Body(&["event"])])
    .created(&[Member::Body(&["created_at"])], TimeFormat::Rfc3339)
    .data(&["payload"]);

/// Lemon Squeezy: no event id (the hash of the body); `meta.event_name` (also the
/// `X-Event-Name` header); no created time of the event (`data.attributes` has the
/// resource's); `data`.
pub static LEMONSQUEEZY: Envelope = Envelope::new()
    .id(&[Member::BodyHash])
    .event_type(&[Member::Body(&["meta", "event_name"])])
    .created(&[], TimeFormat::UnixSeconds);

/// Mailgun: `event-data.id`, `event-data.event`, `event-data.timestamp` (seconds
/// with a fraction); the payload is `event-data`.
pub static MAILGUN: Envelope = Envelope::new()
    .id(&[Member::Body(&["event-data", "id"])])
    .event_type(&[Member::Body(&["event-data", "event"])])
    .created(
        &[Member::Body(&["event-data", "timestamp"])],
        TimeFormat::UnixSeconds,
    )
    .data(&["event-data"]);

/// X (Twitter) Account Activity: no id (the hash of the body); the type is the name
/// of the `*_events` member (`tweet_create_events`); no created time; the payload is
/// the body.
pub static TWITTER: Envelope = Envelope::new()
    .id(&[Member::BodyHash])
    .event_type(&[Member::BodyMemberEndingWith("_events")])
    .created(&[], TimeFormat::UnixSeconds)
    .data(&[]);

/// Dropbox: one kind of notification (`list_folder`), no id (the hash of the body),
/// no created time; the payload is the body.
pub static DROPBOX: Envelope = Envelope::new()
    .id(&[Member::BodyHash])
    .event_type(&[Member::Literal("list_folder")])
    .created(&[], TimeFormat::UnixSeconds)
    .data(&[]);

/// GitLab: `Idempotency-Key` (kept by retries), else `X-Gitlab-Event-UUID` (shared by
/// the hooks one event triggers); `X-Gitlab-Event` (`Push Hook`); no created time;
/// the payload is the body.
pub static GITLAB: Envelope = Envelope::new()
    .id(&[header("idempotency-key"), header("x-gitlab-event-uuid")])
    .event_type(&[header("x-gitlab-event")])
    .created(&[], TimeFormat::UnixSeconds)
    .data(&[]);

/// Mux: `id`, `type`, `created_at`, `data`.
pub static MUX: Envelope =
    Envelope::new().created(&[Member::Body(&["created_at"])], TimeFormat::Rfc3339);

/// Vercel: `id`, `type`, `createdAt` in milliseconds; the payload is `payload`.
pub static VERCEL: Envelope = Envelope::new()
    .created(&[Member::Body(&["createdAt"])], TimeFormat::UnixMillis)
    .data(&["payload"]);

/// Sentry integrations: `Request-ID`, `Sentry-Hook-Resource`,
/// `Sentry-Hook-Timestamp`; the payload is `data`.
pub static SENTRY: Envelope = Envelope::new()
    .id(&[header("request-id")])
    .event_type(&[header("sentry-hook-resource")])
    .created(&[header("sentry-hook-timestamp")], TimeFormat::UnixSeconds);

/// WorkOS: `id`, `event`, `created_at`, `data`.
pub static WORKOS: Envelope = Envelope::new()
    .event_type(&[Member::Body(&["event"])])
    .created(&[Member::Body(&["created_at"])], TimeFormat::Rfc3339);

/// Coinbase Commerce: `event.id`, `event.type`, `event.created_at`; the payload is
/// `event.data`.
pub static COINBASE: Envelope = Envelope::new()
    .id(&[Member::Body(&["event", "id"])])
    .event_type(&[Member::Body(&["event", "type"])])
    .created(
        &[Member::Body(&["event", "created_at"])],
        TimeFormat::Rfc3339,
    )
    .data(&["event", "data"]);

/// Meta (Facebook, Instagram, WhatsApp): no id (the hash of the body); the type is
/// the `object` (`page`, `whatsapp_business_account`); no created time (each entry
/// has its own, WhatsApp's none); the payload is the body (`entry` holds the
/// changes).
pub static META: Envelope = Envelope::new()
    .id(&[Member::BodyHash])
    .event_type(&[Member::Body(&["object"])])
    .created(&[], TimeFormat::UnixSeconds)
    .data(&[]);

/// Square: `event_id`, `type`, `created_at`, `data`.
pub static SQUARE: Envelope = Envelope::new()
    .id(&[Member::Body(&["event_id"])])
    .created(&[Member::Body(&["created_at"])], TimeFormat::Rfc3339);

/// One HubSpot event: `eventId`, `subscriptionType`, `occurredAt` in milliseconds;
/// the payload is the event.
pub static HUBSPOT_EVENT: Envelope = Envelope::new()
    .id(&[Member::Body(&["eventId"])])
    .event_type(&[Member::Body(&["subscriptionType"])])
    .created(&[Member::Body(&["occurredAt"])], TimeFormat::UnixMillis)
    .data(&[]);

/// HubSpot: a batch, the body an array of [`HUBSPOT_EVENT`]s; the delivery's id is
/// the hash of the body.
pub static HUBSPOT: Envelope = Envelope::new()
    .id(&[Member::BodyHash])
    .event_type(&[])
    .created(&[], TimeFormat::UnixSeconds)
    .data(&[])
    .batch(&[], &HUBSPOT_EVENT);

/// One SendGrid event: `sg_event_id`, `event`, `timestamp`; the payload is the
/// event.
pub static SENDGRID_EVENT: Envelope = Envelope::new()
    .id(&[Member::Body(&["sg_event_id"])])
    .event_type(&[Member::Body(&["event"])])
    .created(&[Member::Body(&["timestamp"])], TimeFormat::UnixSeconds)
    .data(&[]);

/// SendGrid's Event Webhook: a batch, the body an array of [`SENDGRID_EVENT`]s; the
/// delivery's id is the hash of the body.
pub static SENDGRID: Envelope = Envelope::new()
    .id(&[Member::BodyHash])
    .event_type(&[])
    .created(&[], TimeFormat::UnixSeconds)
    .data(&[])
    .batch(&[], &SENDGRID_EVENT);
