//! Where a provider puts its event's id, type, created time and data: the
//! [`Envelope`], a description that the layers interpret.
//!
//! The signature layer attaches its scheme's envelope to the
//! [`VerifiedDelivery`](crate::VerifiedDelivery) it builds, and reads there, once,
//! what the envelope takes from headers: the event id (the family's one rule, see
//! [`VerifiedDelivery::event_id`](crate::VerifiedDelivery::event_id)), and the type
//! and created time where the provider sends them as headers. The event extractor
//! reads the rest from the verified body.
//!
//! Each member is a list of [`Member`]s tried in order; the first that gives a value
//! wins. The standard envelope, `{ "id", "type", "created", "data" }` in the body, is
//! [`Envelope::STANDARD`]; a provider that differs starts from [`Envelope::new`]:
//!
//! ```
//! use webhook_core::envelope::{Envelope, Member, TimeFormat};
//!
//! // GitHub: the id and type are headers, no created time, the payload is the body.
//! static GITHUB: Envelope = Envelope::new()
//!     .id(&[Member::Header("x-github-delivery")])
//!     .event_type(&[Member::Header("x-github-event")])
//!     .created(&[], TimeFormat::UnixSeconds)
//!     .data(&[]);
//! assert_eq!(GITHUB.created_members(), &[]);
//! assert!(!GITHUB.is_standard());
//! assert!(Envelope::STANDARD.is_standard());
//! ```

use std::borrow::Cow;
use std::fmt;

use http::{HeaderMap, HeaderValue};
use sha2::{Digest, Sha256};

/// How a time is written: Unix seconds, Unix milliseconds, or RFC 3339 text.
///
/// A signature scheme reads its signed timestamp in exactly this form. An envelope's
/// created time is read more leniently: RFC 3339 text is always understood, and the
/// format says what unit a number (or text of digits) is in, seconds for
/// [`Rfc3339`](Self::Rfc3339).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimeFormat {
    /// Unix seconds, as decimal digits.
    #[default]
    UnixSeconds,
    /// Unix milliseconds, as decimal digits.
    UnixMillis,
    /// RFC 3339 in UTC (`2024-01-02T03:04:05.123Z`).
    Rfc3339,
}

/// One place a member of the envelope can come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Member {
    /// A request header, by its lowercase name. The value is read at verification.
    Header(&'static str),
    /// `value` itself, when the header `name` has exactly that value (Twitch names a
    /// revocation in `Twitch-Eventsub-Message-Type`).
    HeaderEquals {
        /// The header's lowercase name.
        name: &'static str,
        /// The value it must have; also the member's value.
        value: &'static str,
    },
    /// The string or integer at this path of the JSON body: member names, or array
    /// indexes as decimal text (see [`json::find`](crate::json::find)).
    Body(&'static [&'static str]),
    /// The value of this field of an `application/x-www-form-urlencoded` body
    /// (Twilio), decoded; the first when it appears twice.
    Form(&'static str),
    /// The name of the body's first top-level member whose name ends with this
    /// suffix (X's Account Activity API: `tweet_create_events`, `favorite_events`).
    BodyMemberEndingWith(&'static str),
    /// Fixed text: the provider sends one kind of notification only.
    Literal(&'static str),
    /// The SHA-256 of the verified body, as lowercase hex: an id for providers whose
    /// deliveries carry none. A retry resends the same bytes, so it keeps the id; two
    /// distinct deliveries with identical bytes share it.
    BodyHash,
}

impl Member {
    /// Whether the value comes from the request's headers (read at verification).
    pub const fn is_header(&self) -> bool {
        matches!(self, Self::Header(_) | Self::HeaderEquals { .. })
    }

    /// The member's value in `headers`: for [`Header`](Self::Header) and
    /// [`HeaderEquals`](Self::HeaderEquals); `None` for the others, and for an empty
    /// value.
    pub fn from_headers<'h>(&self, headers: &'h HeaderMap) -> Option<&'h HeaderValue> {
        match *self {
            Self::Header(name) => headers.get(name).filter(|value| !value.is_empty()),
            Self::HeaderEquals { name, value } => headers
                .get(name)
                .filter(|sent| sent.as_bytes() == value.as_bytes()),
            _ => None,
        }
    }

    /// The member's value in the JSON document `body`, for the members that are not
    /// headers; `None` for headers, and for an empty value.
    ///
    /// ```
    /// use webhook_core::envelope::Member;
    ///
    /// let body = br#"{"for_user_id":"2244994945","favorite_events":[{"id":"a"}]}"#;
    /// assert_eq!(Member::BodyMemberEndingWith("_events").from_body(body).as_deref(), Some("favorite_events"));
    /// assert_eq!(Member::Body(&["for_user_id"]).from_body(body).as_deref(), Some("2244994945"));
    /// assert_eq!(Member::BodyHash.from_body(b"").as_deref(), Some("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    /// assert_eq!(Member::Header("x-github-event").from_body(body), None);
    /// ```
    pub fn from_body(&self, body: &[u8]) -> Option<Cow<'static, str>> {
        self.read_body(body, false)
    }

    /// [`from_body`](Self::from_body) for a time: a number with a fraction at a
    /// [`Body`](Self::Body) path is a value too (see
    /// [`json::find_time`](crate::json::find_time)).
    pub fn time_from_body(&self, body: &[u8]) -> Option<Cow<'static, str>> {
        self.read_body(body, true)
    }

    fn read_body(&self, body: &[u8], decimals: bool) -> Option<Cow<'static, str>> {
        let value: Cow<'static, str> = match *self {
            Self::Header(_) | Self::HeaderEquals { .. } => return None,
            Self::Body(path) if decimals => crate::json::find_time(body, path)?.into(),
            Self::Body(path) => crate::json::find(body, path)?.into(),
            Self::Form(name) => form_urlencoded::parse(body)
                .find(|(field, _)| field == name)
                .map(|(_, value)| Cow::Owned(value.into_owned()))?,
            Self::BodyMemberEndingWith(suffix) => {
                crate::json::first_member_ending_with(body, suffix)?.into()
            }
            Self::Literal(text) => text.into(),
            Self::BodyHash => hex::encode(Sha256::digest(body)).into(),
        };
        (!value.is_empty()).then_some(value)
    }
}

impl fmt::Display for Member {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Header(name) => write!(f, "header `{name}`"),
            Self::HeaderEquals { name, value } => write!(f, "`{value}` when header `{name}` is"),
            Self::Body(path) => write!(f, "body `{}`", path.join(".")),
            Self::Form(name) => write!(f, "form field `{name}`"),
            Self::BodyMemberEndingWith(suffix) => write!(f, "body member `*{suffix}`"),
            Self::Literal(text) => write!(f, "`{text}`"),
            Self::BodyHash => f.write_str("SHA-256 of the body"),
        }
    }
}

/// Where a provider puts its event's id, type, created time and data.
///
/// See the [module docs](self). Built in `const` context, so a provider's envelope is
/// a `static`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Envelope {
    id: &'static [Member],
    event_type: &'static [Member],
    created: &'static [Member],
    created_format: TimeFormat,
    data: &'static [&'static str],
    form: bool,
    batch: Option<Batch>,
}

/// A delivery that carries several events: an array of them in the body.
///
/// The delivery keeps its own id (the envelope's `id`: processed once as a whole);
/// each event's id, type, created time and data are read within its element of the
/// array, by the item envelope's [`Member::Body`] paths (headers still read the
/// request's headers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Batch {
    /// The path of the array in the body; empty when the body is the array.
    pub items: &'static [&'static str],
    /// Where each event's members are, within its element.
    pub item: &'static Envelope,
}

impl Envelope {
    /// `{ "id", "type", "created", "data" }` in the body (`created` or Standard
    /// Webhooks' `timestamp`, RFC 3339 or Unix seconds): HopNow, Stripe, Standard
    /// Webhooks.
    pub const STANDARD: Envelope = Envelope {
        id: &[Member::Body(&["id"])],
        event_type: &[Member::Body(&["type"])],
        created: &[Member::Body(&["created"]), Member::Body(&["timestamp"])],
        created_format: TimeFormat::UnixSeconds,
        data: &["data"],
        form: false,
        batch: None,
    };

    /// The [`STANDARD`](Self::STANDARD) envelope, to change member by member.
    pub const fn new() -> Self {
        Self::STANDARD
    }

    /// Where the event id is, when the signature scheme carries none.
    #[must_use]
    pub const fn id(mut self, members: &'static [Member]) -> Self {
        self.id = members;
        self
    }

    /// Where the event type is.
    #[must_use]
    pub const fn event_type(mut self, members: &'static [Member]) -> Self {
        self.event_type = members;
        self
    }

    /// Where the created time is, and how numbers there are written; none (`&[]`)
    /// when the provider sends no such time.
    #[must_use]
    pub const fn created(mut self, members: &'static [Member], format: TimeFormat) -> Self {
        self.created = members;
        self.created_format = format;
        self
    }

    /// The path of the payload in the body; empty for the whole body.
    #[must_use]
    pub const fn data(mut self, path: &'static [&'static str]) -> Self {
        self.data = path;
        self
    }

    /// Says the body is `application/x-www-form-urlencoded` (Twilio), not JSON: the
    /// payload is the whole form, read with [`Member::Form`].
    #[must_use]
    pub const fn form(mut self) -> Self {
        self.form = true;
        self
    }

    /// Whether the body is a form rather than JSON: see [`form`](Self::form).
    pub const fn is_form(&self) -> bool {
        self.form
    }

    /// Makes this a batch envelope: see [`Batch`].
    #[must_use]
    pub const fn batch(mut self, items: &'static [&'static str], item: &'static Envelope) -> Self {
        self.batch = Some(Batch { items, item });
        self
    }

    /// Where the event id is.
    pub const fn id_members(&self) -> &'static [Member] {
        self.id
    }

    /// Where the event type is.
    pub const fn event_type_members(&self) -> &'static [Member] {
        self.event_type
    }

    /// Where the created time is.
    pub const fn created_members(&self) -> &'static [Member] {
        self.created
    }

    /// How numbers in the created time are written.
    pub const fn created_format(&self) -> TimeFormat {
        self.created_format
    }

    /// The path of the payload in the body; empty for the whole body.
    pub const fn data_path(&self) -> &'static [&'static str] {
        self.data
    }

    /// The batch, when the delivery carries several events.
    pub const fn batch_of(&self) -> Option<&Batch> {
        self.batch.as_ref()
    }

    /// Whether type, created time and data are the standard ones (the id may differ:
    /// Standard Webhooks takes it from a header).
    pub fn is_standard(&self) -> bool {
        self.event_type == Self::STANDARD.event_type
            && self.created == Self::STANDARD.created
            && self.created_format == Self::STANDARD.created_format
            && self.data == Self::STANDARD.data
            && !self.form
            && self.batch.is_none()
    }
}

impl Default for Envelope {
    fn default() -> Self {
        Self::STANDARD
    }
}
