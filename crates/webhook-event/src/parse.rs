//! Parsing the event envelope in one pass over the verified bytes.
//!
//! The envelope is read by a hand-written visitor (no `#[serde(flatten)]`, which would
//! buffer): `id`, `type` and `created` are read as they come, and `data` is handed to
//! `T` directly. When `data` comes before `type` (Stripe puts `type` last) and `T` is
//! an enum tagged by `type`, `T` cannot be built yet: [`TagAware`] then reads `data` as
//! a borrowed [`RawValue`], keeps it, and stops `T` with an error that the envelope
//! visitor recognizes and drops; `T` is built from those bytes once `type` is known.
//! (serde_json's map access carries on after an error from a value: the value was read
//! whole. The unit tests cover this order for structs and enums.)
//!
//! `T` sees `data` through [`TagAware`], which forwards everything to the JSON
//! deserializer except one shape: an enum with `#[serde(tag = "type", content = "data")]`
//! asks for a struct with exactly the fields `["type", "data"]`; it is given a map
//! holding the envelope's `type` and `data`, so the enum picks its variant by type.
//!
//! Paths are tracked only after a failure: the parse runs again with
//! `serde_path_to_error` around `data`, so the successful path pays nothing for it.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::StrDeserializer;
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Unexpected,
    Visitor,
};
use serde_json::error::Category;
use serde_json::value::RawValue;
use serde_path_to_error::{Segment, Track};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::EventRejection;

/// The envelope as found in the body; `id` and `created` may be filled in from the
/// verified-delivery marker afterwards.
pub(crate) struct Envelope<T> {
    pub(crate) id: Option<String>,
    pub(crate) event_type: String,
    pub(crate) created: Option<OffsetDateTime>,
    pub(crate) data: T,
}

/// Parses `bytes` as an envelope whose `data` is a `T`.
pub(crate) fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<Envelope<T>, EventRejection> {
    let text = utf8(bytes)?;
    match attempt::<T>(text, None) {
        Ok(envelope) => Ok(envelope),
        Err(Failure::Rejection(rejection)) => Err(rejection),
        Err(Failure::Json(failure)) if failure.needs_path() => {
            // Parse again, tracking the path this time; the parse is deterministic, so
            // it fails at the same place.
            let mut track = Track::new();
            let again = match attempt::<T>(text, Some(&mut track)) {
                Err(Failure::Json(again)) => again,
                _ => failure,
            };
            let path = data_path(&track.path());
            Err(again.into_rejection(bytes, Some(path)))
        }
        Err(Failure::Json(failure)) => Err(failure.into_rejection(bytes, None)),
    }
}

/// Reads only the envelope's `type`, checking that the whole body is well-formed JSON.
pub(crate) fn peek_type(bytes: &[u8]) -> Result<Cow<'_, str>, EventRejection> {
    let text = utf8(bytes)?;
    let cx = Cx::default();
    let mut de = serde_json::Deserializer::from_str(text);
    let peeked = de
        .deserialize_map(PeekVisitor { cx: &cx })
        .and_then(|event_type| de.end().map(|()| event_type))
        .map_err(|error| cx.failure(error, 0).into_rejection(bytes, None))?;
    match peeked {
        None => Err(missing("type")),
        Some(event_type) if event_type.is_empty() => Err(empty("type")),
        Some(event_type) => Ok(event_type),
    }
}

/// The body as text: JSON is UTF-8 (RFC 8259), all of it, also inside the members
/// that are skipped (serde_json would not look at those bytes).
fn utf8(bytes: &[u8]) -> Result<&str, EventRejection> {
    std::str::from_utf8(bytes).map_err(|error| {
        let (line, column) = position(bytes, error.valid_up_to(), 1, 1);
        EventRejection::MalformedJson {
            line,
            column,
            reason: "invalid UTF-8".to_owned(),
        }
    })
}

fn missing(field: &'static str) -> EventRejection {
    EventRejection::InvalidEnvelope {
        path: field.to_owned(),
        reason: format!("missing field `{field}`"),
    }
}

/// `id` and `type` name the event: an empty one names nothing.
pub(crate) fn empty(field: &'static str) -> EventRejection {
    EventRejection::InvalidEnvelope {
        path: field.to_owned(),
        reason: format!("field `{field}` is empty"),
    }
}

enum Failure {
    Json(JsonFailure),
    Rejection(EventRejection),
}

struct JsonFailure {
    error: serde_json::Error,
    /// The envelope member being read when the error happened.
    field: Option<Field>,
    /// The event type a tagged enum refused.
    rejected_type: Option<String>,
    /// Where `data` starts in the body when it was parsed on its own (after `type`).
    offset: usize,
}

impl JsonFailure {
    fn needs_path(&self) -> bool {
        self.error.classify() == Category::Data
            && self.field == Some(Field::Data)
            && self.rejected_type.is_none()
    }

    fn into_rejection(self, bytes: &[u8], path: Option<String>) -> EventRejection {
        let (line, column) = position(bytes, self.offset, self.error.line(), self.error.column());
        let reason = reason(&self.error);
        match (self.error.classify(), self.field) {
            (Category::Syntax | Category::Eof | Category::Io, _) => EventRejection::MalformedJson {
                line,
                column,
                reason,
            },
            (Category::Data, Some(Field::Data)) => match self.rejected_type {
                Some(event_type) => EventRejection::UnsupportedType { event_type },
                None => EventRejection::InvalidData {
                    path: path.unwrap_or_else(|| "data".to_owned()),
                    reason,
                    line,
                    column,
                },
            },
            (Category::Data, field) => EventRejection::InvalidEnvelope {
                path: field.map_or(".", Field::name).to_owned(),
                reason,
            },
        }
    }
}

/// serde_json's message without the ` at line L column C` it appends.
fn reason(error: &serde_json::Error) -> String {
    let text = error.to_string();
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    match text.strip_suffix(&suffix) {
        Some(stripped) => stripped.to_owned(),
        None => text,
    }
}

/// The line and column in the whole body of a position reported relative to
/// `bytes[offset..]`.
fn position(bytes: &[u8], offset: usize, line: usize, column: usize) -> (usize, usize) {
    if offset == 0 || line == 0 {
        return (line, column);
    }
    let before = &bytes[..offset.min(bytes.len())];
    let base_line = 1 + before.iter().filter(|&&b| b == b'\n').count();
    let base_column = before.iter().rev().take_while(|&&b| b != b'\n').count();
    if line == 1 {
        (base_line, base_column + column)
    } else {
        (base_line + line - 1, column)
    }
}

/// `data`, `data.amount`, `data.items[0].sku`.
fn data_path(path: &serde_path_to_error::Path) -> String {
    let mut out = String::from("data");
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                out.push('.');
                out.push_str(key);
            }
            Segment::Unknown => out.push_str(".?"),
        }
    }
    out
}

fn attempt<T: DeserializeOwned>(
    text: &str,
    mut track: Option<&mut Track>,
) -> Result<Envelope<T>, Failure> {
    let bytes = text.as_bytes();
    let cx = Cx::default();
    let mut de = serde_json::Deserializer::from_str(text);
    let visitor = EnvelopeVisitor::<T> {
        cx: &cx,
        track: track.as_deref_mut(),
        marker: PhantomData,
    };
    let partial = de
        .deserialize_map(visitor)
        .and_then(|partial| de.end().map(|()| partial))
        .map_err(|error| Failure::Json(cx.failure(error, 0)))?;

    let event_type = partial
        .event_type
        .ok_or_else(|| Failure::Rejection(missing("type")))?;
    let data = match (partial.data, partial.raw_data) {
        (Some(data), _) => data,
        (None, Some(raw)) => {
            let offset = (raw.get().as_ptr() as usize).saturating_sub(bytes.as_ptr() as usize);
            // From `str`: the bytes were checked as UTF-8 when they were set aside.
            let mut de = serde_json::Deserializer::from_str(raw.get());
            cx.field.set(Some(Field::Data));
            DataSeed::<T>::new(Some(&event_type), &cx, track)
                .deserialize(&mut de)
                .and_then(|data| de.end().map(|()| data))
                .map_err(|error| Failure::Json(cx.failure(error, offset)))?
        }
        (None, None) => {
            let seed = DataSeed::<T>::new(Some(&event_type), &cx, track);
            seed.deserialize_missing()
                .map_err(|error| match cx.rejected_type.take() {
                    Some(event_type) => {
                        Failure::Rejection(EventRejection::UnsupportedType { event_type })
                    }
                    None => Failure::Rejection(EventRejection::InvalidEnvelope {
                        path: "data".to_owned(),
                        reason: reason(&error),
                    }),
                })?
        }
    };
    Ok(Envelope {
        id: partial.id,
        event_type: event_type.into_owned(),
        created: partial.created,
        data,
    })
}

/// What the visitors record for the error report.
#[derive(Default)]
struct Cx<'de> {
    field: Cell<Option<Field>>,
    rejected_type: RefCell<Option<String>>,
    /// Set by [`TagAware`] when it set `data` aside for later.
    deferred: Cell<Option<&'de RawValue>>,
}

/// The message of the error that stops `T` when `data` is set aside.
const DEFERRED: &str = "`data` comes before `type`";

impl Cx<'_> {
    fn failure(&self, error: serde_json::Error, offset: usize) -> JsonFailure {
        JsonFailure {
            error,
            field: self.field.get(),
            rejected_type: self.rejected_type.take(),
            offset,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    Id,
    Type,
    Created,
    Data,
}

impl Field {
    fn name(self) -> &'static str {
        match self {
            Self::Id => "id",
            Self::Type => "type",
            Self::Created => "created",
            Self::Data => "data",
        }
    }
}

/// Reads a key: one of the envelope's members, or `None` for any other.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Option<Field>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_identifier(self)
    }
}

impl Visitor<'_> for KeySeed {
    type Value = Option<Field>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Self::Value, E> {
        Ok(match key {
            "id" => Some(Field::Id),
            "type" => Some(Field::Type),
            // `timestamp`: Standard Webhooks' name for the same member.
            "created" | "timestamp" => Some(Field::Created),
            "data" => Some(Field::Data),
            _ => None,
        })
    }
}

struct Partial<'de, T> {
    id: Option<String>,
    event_type: Option<Cow<'de, str>>,
    created: Option<OffsetDateTime>,
    data: Option<T>,
    raw_data: Option<&'de RawValue>,
}

struct EnvelopeVisitor<'a, 'de, T> {
    cx: &'a Cx<'de>,
    track: Option<&'a mut Track>,
    marker: PhantomData<fn() -> T>,
}

impl<'de, T: DeserializeOwned> Visitor<'de> for EnvelopeVisitor<'_, 'de, T> {
    type Value = Partial<'de, T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a webhook event: a JSON object with `id`, `type`, `created` and `data`")
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = Partial {
            id: None,
            event_type: None,
            created: None,
            data: None,
            raw_data: None,
        };
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let Some(field) = key else {
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            self.cx.field.set(Some(field));
            match field {
                Field::Id => {
                    if out.id.is_some() {
                        return Err(de::Error::duplicate_field("id"));
                    }
                    out.id = Some(map.next_value::<IdValue>()?.0);
                }
                Field::Type => {
                    if out.event_type.is_some() {
                        return Err(de::Error::duplicate_field("type"));
                    }
                    out.event_type = Some(map.next_value::<TypeValue<'de>>()?.0);
                }
                Field::Created => {
                    if out.created.is_some() {
                        return Err(de::Error::duplicate_field("created"));
                    }
                    out.created = Some(map.next_value::<CreatedValue>()?.0);
                }
                Field::Data => {
                    if out.data.is_some() || out.raw_data.is_some() {
                        return Err(de::Error::duplicate_field("data"));
                    }
                    match &out.event_type {
                        Some(event_type) => {
                            let track = self.track.as_deref_mut();
                            let seed = DataSeed::<T>::new(Some(event_type), self.cx, track);
                            out.data = Some(map.next_value_seed(seed)?);
                        }
                        // Tracking the path (after a failure): keep it simple, set
                        // `data` aside whatever `T` is.
                        None if self.track.is_some() => {
                            out.raw_data = Some(map.next_value::<&'de RawValue>()?);
                        }
                        None => {
                            match map.next_value_seed(DataSeed::<T>::new(None, self.cx, None)) {
                                Ok(data) => out.data = Some(data),
                                Err(error) => match self.cx.deferred.take() {
                                    Some(raw) => out.raw_data = Some(raw),
                                    None => return Err(error),
                                },
                            }
                        }
                    }
                }
            }
            self.cx.field.set(None);
        }
        Ok(out)
    }
}

/// Reads only `type`, skipping (and so checking) everything else.
struct PeekVisitor<'a> {
    cx: &'a Cx<'static>,
}

impl<'de> Visitor<'de> for PeekVisitor<'_> {
    type Value = Option<Cow<'de, str>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a webhook event: a JSON object with `id`, `type`, `created` and `data`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut event_type = None;
        while let Some(key) = map.next_key_seed(KeySeed)? {
            if key == Some(Field::Type) {
                self.cx.field.set(Some(Field::Type));
                if event_type.is_some() {
                    return Err(de::Error::duplicate_field("type"));
                }
                event_type = Some(map.next_value::<TypeValue<'de>>()?.0);
                self.cx.field.set(None);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(event_type)
    }
}

/// `id`: a string, or an integer kept as its decimal text.
struct IdValue(String);

impl<'de> de::Deserialize<'de> for IdValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IdVisitor;

        impl Visitor<'_> for IdVisitor {
            type Value = IdValue;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an integer")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<IdValue, E> {
                Ok(IdValue(v.to_owned()))
            }

            fn visit_string<E: de::Error>(self, v: String) -> Result<IdValue, E> {
                Ok(IdValue(v))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<IdValue, E> {
                Ok(IdValue(v.to_string()))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<IdValue, E> {
                Ok(IdValue(v.to_string()))
            }
        }

        deserializer.deserialize_any(IdVisitor)
    }
}

/// `type`: a string, borrowed from the body when it has no escapes.
struct TypeValue<'de>(Cow<'de, str>);

impl<'de> de::Deserialize<'de> for TypeValue<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TypeVisitor;

        impl<'de> Visitor<'de> for TypeVisitor {
            type Value = TypeValue<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(TypeValue(Cow::Borrowed(v)))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(TypeValue(Cow::Owned(v.to_owned())))
            }

            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(TypeValue(Cow::Owned(v)))
            }
        }

        deserializer.deserialize_str(TypeVisitor)
    }
}

/// `created`: RFC 3339 text, or integer Unix seconds.
struct CreatedValue(OffsetDateTime);

impl<'de> de::Deserialize<'de> for CreatedValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(CreatedVisitor)
    }
}

struct CreatedVisitor;

impl Visitor<'_> for CreatedVisitor {
    type Value = CreatedValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an RFC 3339 timestamp or integer Unix seconds")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<CreatedValue, E> {
        OffsetDateTime::from_unix_timestamp(v)
            .map(CreatedValue)
            .map_err(|_| E::invalid_value(Unexpected::Signed(v), &self))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<CreatedValue, E> {
        i64::try_from(v)
            .ok()
            .and_then(|v| OffsetDateTime::from_unix_timestamp(v).ok())
            .map(CreatedValue)
            .ok_or_else(|| E::invalid_value(Unexpected::Unsigned(v), &self))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<CreatedValue, E> {
        OffsetDateTime::parse(v, &Rfc3339)
            .map(CreatedValue)
            .map_err(|error| E::custom(format_args!("invalid RFC 3339 timestamp `{v}`: {error}")))
    }
}

/// Deserializes `T` from `data`, through [`TagAware`].
struct DataSeed<'a, 'de, T> {
    /// `None` while `type` has not been read.
    event_type: Option<&'a str>,
    cx: &'a Cx<'de>,
    track: Option<&'a mut Track>,
    marker: PhantomData<fn() -> T>,
}

impl<'a, 'de, T: DeserializeOwned> DataSeed<'a, 'de, T> {
    fn new(event_type: Option<&'a str>, cx: &'a Cx<'de>, track: Option<&'a mut Track>) -> Self {
        Self {
            event_type,
            cx,
            track,
            marker: PhantomData,
        }
    }

    /// `T` when the envelope has no `data`: `Option` gives `None`, `()` and
    /// `IgnoredAny` succeed, a tagged enum gets a map with `type` only (a unit
    /// variant), anything else fails with "missing field `data`".
    fn deserialize_missing(self) -> Result<T, serde_json::Error> {
        T::deserialize(TagAware {
            inner: MissingData,
            data_present: false,
            event_type: self.event_type,
            cx: self.cx,
        })
    }
}

impl<'de, T: DeserializeOwned> DeserializeSeed<'de> for DataSeed<'_, 'de, T> {
    type Value = T;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<T, D::Error> {
        match self.track {
            Some(track) => T::deserialize(TagAware {
                inner: serde_path_to_error::Deserializer::new(deserializer, track),
                data_present: true,
                event_type: self.event_type,
                cx: self.cx,
            }),
            None => T::deserialize(TagAware {
                inner: deserializer,
                data_present: true,
                event_type: self.event_type,
                cx: self.cx,
            }),
        }
    }
}

/// `data`'s deserializer, except for enums tagged `type` with content `data`.
struct TagAware<'a, 'de, D> {
    inner: D,
    data_present: bool,
    event_type: Option<&'a str>,
    cx: &'a Cx<'de>,
}

macro_rules! forward {
    ($($method:ident($($arg:ident: $ty:ty),*);)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, D::Error> {
                self.inner.$method($($arg,)* visitor)
            }
        )*
    };
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for TagAware<'_, 'de, D> {
    type Error = D::Error;

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        // What serde derives for `#[serde(tag = "type", content = "data")]`.
        if fields == ["type", "data"] {
            let Some(event_type) = self.event_type else {
                let raw = <&RawValue as de::Deserialize<'de>>::deserialize(self.inner)?;
                self.cx.deferred.set(Some(raw));
                return Err(de::Error::custom(DEFERRED));
            };
            return visitor.visit_map(TaggedMap {
                step: 0,
                event_type,
                data: self.data_present.then_some(self.inner),
                cx: self.cx,
            });
        }
        self.inner.deserialize_struct(name, fields, visitor)
    }

    fn is_human_readable(&self) -> bool {
        self.inner.is_human_readable()
    }

    forward! {
        deserialize_any();
        deserialize_bool();
        deserialize_i8();
        deserialize_i16();
        deserialize_i32();
        deserialize_i64();
        deserialize_i128();
        deserialize_u8();
        deserialize_u16();
        deserialize_u32();
        deserialize_u64();
        deserialize_u128();
        deserialize_f32();
        deserialize_f64();
        deserialize_char();
        deserialize_str();
        deserialize_string();
        deserialize_bytes();
        deserialize_byte_buf();
        deserialize_option();
        deserialize_unit();
        deserialize_unit_struct(name: &'static str);
        deserialize_newtype_struct(name: &'static str);
        deserialize_seq();
        deserialize_tuple(len: usize);
        deserialize_tuple_struct(name: &'static str, len: usize);
        deserialize_map();
        deserialize_enum(name: &'static str, variants: &'static [&'static str]);
        deserialize_identifier();
        deserialize_ignored_any();
    }
}

/// `{"type": <the envelope's type>, "data": <data>}` for a tagged enum.
struct TaggedMap<'a, 'de, D> {
    step: u8,
    event_type: &'a str,
    data: Option<D>,
    cx: &'a Cx<'de>,
}

impl<'de, D: Deserializer<'de>> MapAccess<'de> for TaggedMap<'_, 'de, D> {
    type Error = D::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, D::Error> {
        let key = match self.step {
            0 => "type",
            2 if self.data.is_some() => "data",
            _ => return Ok(None),
        };
        self.step += 1;
        seed.deserialize(StrDeserializer::<D::Error>::new(key))
            .map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, D::Error> {
        if self.step == 3 {
            self.step = 4;
            let data = self
                .data
                .take()
                .ok_or_else(|| de::Error::custom("`data` was read twice"))?;
            return seed.deserialize(data);
        }
        self.step = 2;
        seed.deserialize(StrDeserializer::<D::Error>::new(self.event_type))
            .inspect_err(|_| {
                self.cx
                    .rejected_type
                    .replace(Some(self.event_type.to_owned()));
            })
    }
}

/// The value of an absent `data` member.
struct MissingData;

impl<'de> Deserializer<'de> for MissingData {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::missing_field("data"))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_none()
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_unit()
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::Value;

    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Payout {
        payout_id: String,
        amount: u64,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(tag = "type", content = "data")]
    enum PayoutEvent {
        #[serde(rename = "payout.created")]
        Created(Payout),
        #[serde(rename = "payout.completed")]
        Completed(Payout),
        #[serde(rename = "ping")]
        Ping,
    }

    const CREATED: &str = r#"{"id":"evt_1","type":"payout.created","created":1700000000,"data":{"payout_id":"po_1","amount":5}}"#;

    #[test]
    fn struct_data_in_one_pass() {
        let envelope = parse::<Payout>(CREATED.as_bytes()).unwrap();
        assert_eq!(envelope.id.as_deref(), Some("evt_1"));
        assert_eq!(envelope.event_type, "payout.created");
        assert_eq!(envelope.created.unwrap().unix_timestamp(), 1_700_000_000);
        assert_eq!(envelope.data.amount, 5);
    }

    #[test]
    fn tagged_enum_sees_the_type_in_either_order() {
        let envelope = parse::<PayoutEvent>(CREATED.as_bytes()).unwrap();
        assert!(matches!(
            envelope.data,
            PayoutEvent::Created(Payout { amount: 5, .. })
        ));
        let type_last = r#"{"data":{"payout_id":"po_1","amount":7},"id":"evt_2","created":1,"type":"payout.completed"}"#;
        let envelope = parse::<PayoutEvent>(type_last.as_bytes()).unwrap();
        assert!(matches!(
            envelope.data,
            PayoutEvent::Completed(Payout { amount: 7, .. })
        ));
        let unit = r#"{"id":"evt_3","created":1,"type":"ping"}"#;
        assert_eq!(
            parse::<PayoutEvent>(unit.as_bytes()).unwrap().data,
            PayoutEvent::Ping
        );
    }

    #[test]
    fn type_last_parses_a_struct_directly_and_defers_only_an_enum() {
        let body = r#"{"data":{"payout_id":"po_1","amount":7},"id":"e","created":1,"type":"payout.created"}"#;
        assert_eq!(parse::<Payout>(body.as_bytes()).unwrap().data.amount, 7);
        assert!(matches!(
            parse::<PayoutEvent>(body.as_bytes()).unwrap().data,
            PayoutEvent::Created(Payout { amount: 7, .. })
        ));
        // Errors inside a deferred `data` keep their path and absolute position.
        let body = "{\"data\":{\"payout_id\":\"po_1\",\n\"amount\":true},\"id\":\"e\",\"created\":1,\"type\":\"payout.created\"}";
        for rejection in [
            parse::<Payout>(body.as_bytes()).err().unwrap(),
            parse::<PayoutEvent>(body.as_bytes()).err().unwrap(),
        ] {
            match rejection {
                EventRejection::InvalidData {
                    path, line, column, ..
                } => assert_eq!((path.as_str(), line, column), ("data.amount", 2, 13)),
                other => panic!("unexpected {other:?}"),
            }
        }
        // Syntax errors inside a deferred `data` are 400.
        let body = r#"{"data":{"payout_id":"po_1",},"id":"e","created":1,"type":"payout.created"}"#;
        match parse::<PayoutEvent>(body.as_bytes()).err().unwrap() {
            EventRejection::MalformedJson { line, column, .. } => {
                assert_eq!((line, column), (1, 29))
            }
            other => panic!("unexpected {other:?}"),
        }
        // `type` missing after a deferred `data`.
        let body = r#"{"data":{"payout_id":"po_1","amount":7},"id":"e","created":1}"#;
        assert_eq!(
            parse::<PayoutEvent>(body.as_bytes()).err().unwrap(),
            missing("type")
        );
    }

    #[test]
    fn type_with_escapes_is_read() {
        let body = r#"{"id":"e","type":"payout\u002ecreated","created":1,"data":{"payout_id":"p","amount":1}}"#;
        let envelope = parse::<PayoutEvent>(body.as_bytes()).unwrap();
        assert_eq!(envelope.event_type, "payout.created");
        assert!(matches!(envelope.data, PayoutEvent::Created(_)));
        assert_eq!(peek_type(body.as_bytes()).unwrap(), "payout.created");
    }

    #[test]
    fn data_error_after_type_has_path_and_absolute_position() {
        let body = "{\"data\": {\"payout_id\": \"p\",\n  \"amount\": \"five\"},\n \"type\": \"payout.created\", \"id\": \"e\", \"created\": 1}";
        let rejection = parse::<Payout>(body.as_bytes()).err().unwrap();
        match rejection {
            EventRejection::InvalidData {
                path, line, column, ..
            } => {
                assert_eq!(path, "data.amount");
                assert_eq!(line, 2);
                // `  "amount": "five"` ends at byte 18 of line 2.
                assert_eq!(column, 18);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn nested_paths_use_brackets_for_indexes() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Order {
            items: Vec<Item>,
        }
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Item {
            sku: String,
        }
        let body =
            r#"{"id":"e","type":"order","created":1,"data":{"items":[{"sku":"a"},{"sku":2}]}}"#;
        match parse::<Order>(body.as_bytes()).err().unwrap() {
            EventRejection::InvalidData { path, .. } => assert_eq!(path, "data.items[1].sku"),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn unknown_variant_is_an_unsupported_type() {
        let body = r#"{"id":"e","type":"payout.exploded","created":1,"data":{}}"#;
        assert_eq!(
            parse::<PayoutEvent>(body.as_bytes()).err().unwrap(),
            EventRejection::UnsupportedType {
                event_type: "payout.exploded".into()
            }
        );
        let body = r#"{"id":"e","created":1,"type":"payout.exploded"}"#;
        assert_eq!(
            parse::<PayoutEvent>(body.as_bytes()).err().unwrap(),
            EventRejection::UnsupportedType {
                event_type: "payout.exploded".into()
            }
        );
    }

    #[test]
    fn duplicate_members_are_refused() {
        let body = r#"{"id":"e","type":"a","type":"b","created":1,"data":{}}"#;
        match parse::<Value>(body.as_bytes()).err().unwrap() {
            EventRejection::InvalidEnvelope { path, reason } => {
                assert_eq!(path, "type");
                assert!(reason.contains("duplicate field `type`"), "{reason}");
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(peek_type(body.as_bytes()).is_err());
    }

    #[test]
    fn missing_data_is_none_for_option_and_an_error_otherwise() {
        let body = r#"{"id":"e","type":"a","created":1}"#;
        assert_eq!(parse::<Option<Payout>>(body.as_bytes()).unwrap().data, None);
        match parse::<Payout>(body.as_bytes()).err().unwrap() {
            EventRejection::InvalidEnvelope { path, reason } => {
                assert_eq!(path, "data");
                assert_eq!(reason, "missing field `data`");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn trailing_garbage_is_malformed() {
        let body = format!("{CREATED} x");
        assert!(matches!(
            parse::<Value>(body.as_bytes()),
            Err(EventRejection::MalformedJson { .. })
        ));
        assert!(matches!(
            peek_type(body.as_bytes()),
            Err(EventRejection::MalformedJson { .. })
        ));
    }
}
