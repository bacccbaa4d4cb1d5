//! Events in a provider's own envelope (`webhook_core::envelope`): the type and the
//! created time by the envelope's members (headers were read at verification), the
//! payload at the envelope's data path, or the whole form of a form body; and the
//! events of a batch, one per element of the array.

use std::borrow::Cow;
use std::fmt;

use bytes::Bytes;
use serde::de::{self, DeserializeOwned, DeserializeSeed, Deserializer, IgnoredAny, MapAccess};
use serde_json::value::RawValue;
use serde_path_to_error::{Segment, Track};
use time::format_description::well_known::{Iso8601, Rfc3339};
use time::{OffsetDateTime, PrimitiveDateTime};
use webhook_core::VerifiedDelivery;
use webhook_core::envelope::{Envelope as Layout, Member, TimeFormat};

use super::Envelope;
use super::data::DataSeed;
use super::report::{Cx, Field, empty, reason, utf8};
use crate::EventRejection;

/// Parses the event of `delivery` by its provider's envelope.
pub(crate) fn parse<T: DeserializeOwned>(
    delivery: &VerifiedDelivery,
) -> Result<Envelope<T>, EventRejection> {
    let layout = delivery.envelope();
    if layout.batch_of().is_some() {
        return Err(EventRejection::InvalidEnvelope {
            path: ".".to_owned(),
            reason: "this provider sends a batch of events: extract `WebhookBatch<T>`".to_owned(),
        });
    }
    let bytes = delivery.body();
    if layout.is_form() {
        let event_type = required_type(delivery.event_type(), layout)?;
        let data = serde_urlencoded::from_bytes::<T>(bytes).map_err(|error| {
            EventRejection::InvalidData {
                path: "form".to_owned(),
                reason: error.to_string(),
                line: 1,
                column: 1,
            }
        })?;
        let created = created(delivery.created(), layout.created_format())?;
        return Ok(envelope(event_type, created, data));
    }
    let text = utf8(bytes)?;
    let data_raw = locate(text, layout.data_path(), bytes)?;
    let event_type = required_type(delivery.event_type(), layout)?;
    let created = created(delivery.created(), layout.created_format())?;
    let data = data::<T>(text, data_raw, &event_type, layout.data_path())?;
    Ok(envelope(event_type, created, data))
}

fn envelope<T>(event_type: String, created: Option<OffsetDateTime>, data: T) -> Envelope<T> {
    Envelope {
        id: None,
        event_type,
        created,
        data,
    }
}

/// One event of a batch: its id, type, created time and payload, read within its
/// element of the array.
pub(crate) struct Item<T> {
    pub(crate) id: String,
    pub(crate) envelope: Envelope<T>,
}

/// The elements of a batch delivery's array, each as the bytes of the body it spans.
pub(crate) fn batch_items(delivery: &VerifiedDelivery) -> Result<Vec<Bytes>, EventRejection> {
    let Some(batch) = delivery.envelope().batch_of() else {
        return Err(EventRejection::InvalidEnvelope {
            path: ".".to_owned(),
            reason: "this provider sends one event per delivery: extract `WebhookEvent<T>`"
                .to_owned(),
        });
    };
    let bytes = delivery.body();
    let text = utf8(bytes)?;
    let array =
        locate(text, batch.items, bytes)?.ok_or_else(|| EventRejection::InvalidEnvelope {
            path: path_text(batch.items),
            reason: "missing the array of events".to_owned(),
        })?;
    let elements: Vec<&RawValue> =
        serde_json::from_str(array.get()).map_err(|error| EventRejection::InvalidEnvelope {
            path: path_text(batch.items),
            reason: reason(&error),
        })?;
    Ok(elements
        .into_iter()
        .map(|element| bytes.slice_ref(element.get().as_bytes()))
        .collect())
}

/// Parses one element of a batch (from [`batch_items`]) by the batch's item envelope.
pub(crate) fn parse_item<T: DeserializeOwned>(
    delivery: &VerifiedDelivery,
    element: &[u8],
) -> Result<Item<T>, EventRejection> {
    let Some(batch) = delivery.envelope().batch_of() else {
        return Err(EventRejection::InvalidEnvelope {
            path: ".".to_owned(),
            reason: "not a batch".to_owned(),
        });
    };
    let layout = batch.item;
    let text = utf8(element)?;
    let read = |members: &[Member], time: bool| {
        members.iter().find_map(|member| {
            if time {
                member.time_from_body(element)
            } else {
                member.from_body(element)
            }
        })
    };
    let id = read(layout.id_members(), false)
        .ok_or_else(|| missing_member("id", layout.id_members()))?
        .into_owned();
    let event_type = required_type(read(layout.event_type_members(), false), layout)?;
    let created = created(
        read(layout.created_members(), true),
        layout.created_format(),
    )?;
    let data_raw = locate(text, layout.data_path(), element)?;
    let data = data::<T>(text, data_raw, &event_type, layout.data_path())?;
    Ok(Item {
        id,
        envelope: envelope(event_type, created, data),
    })
}

/// The type of a delivery's event (not a batch) by its envelope.
pub(crate) fn event_type(delivery: &VerifiedDelivery) -> Result<Cow<'_, str>, EventRejection> {
    let layout = delivery.envelope();
    if !layout.is_form() {
        // Refuse a body that is not JSON as the extractor would, before routing.
        let text = utf8(delivery.body())?;
        locate(text, &[], delivery.body())?;
    }
    required_type(delivery.event_type(), layout).map(Cow::Owned)
}

/// The type of one element of a batch, by the batch's item envelope.
pub(crate) fn item_type(
    delivery: &VerifiedDelivery,
    element: &[u8],
) -> Result<String, EventRejection> {
    let layout = delivery
        .envelope()
        .batch_of()
        .map_or(delivery.envelope(), |batch| batch.item);
    let found = layout
        .event_type_members()
        .iter()
        .find_map(|member| member.from_body(element));
    required_type(found, layout)
}

fn required_type(found: Option<Cow<'_, str>>, layout: &Layout) -> Result<String, EventRejection> {
    match found {
        Some(event_type) if event_type.is_empty() => Err(empty("type")),
        Some(event_type) => Ok(event_type.into_owned()),
        None => Err(missing_member("type", layout.event_type_members())),
    }
}

fn missing_member(field: &'static str, members: &[Member]) -> EventRejection {
    let places: Vec<String> = members.iter().map(Member::to_string).collect();
    EventRejection::InvalidEnvelope {
        path: field.to_owned(),
        reason: if places.is_empty() {
            format!("this provider's envelope has no `{field}`")
        } else {
            format!("missing `{field}` (looked in: {})", places.join(", "))
        },
    }
}

/// Reads a created time as the provider wrote it: RFC 3339 text (or ISO 8601 without
/// an offset, taken as UTC: Discord), or a number in the envelope's unit; none when
/// the delivery has none (a Discord interaction, a GitHub event).
fn created(
    text: Option<Cow<'_, str>>,
    format: TimeFormat,
) -> Result<Option<OffsetDateTime>, EventRejection> {
    let Some(text) = text else {
        return Ok(None);
    };
    parse_time(&text, format)
        .map(Some)
        .ok_or_else(|| EventRejection::InvalidEnvelope {
            path: "created".to_owned(),
            reason: format!("`{text}` is not a time (RFC 3339, or Unix {format:?})"),
        })
}

pub(crate) fn parse_time(text: &str, format: TimeFormat) -> Option<OffsetDateTime> {
    let scale: i128 = match format {
        TimeFormat::UnixMillis => 1_000_000,
        TimeFormat::UnixSeconds | TimeFormat::Rfc3339 => 1_000_000_000,
    };
    if let Ok(number) = text.parse::<i64>() {
        return OffsetDateTime::from_unix_timestamp_nanos(i128::from(number) * scale).ok();
    }
    if let Ok(number) = text.parse::<f64>() {
        if !number.is_finite() || text.contains(['e', 'E', 'i', 'n', 'N', 'I']) {
            return None;
        }
        // The fraction to the microsecond: a float cannot carry more.
        let micros = (number * (scale / 1000) as f64).round();
        if micros.abs() > 1e17 {
            return None;
        }
        return OffsetDateTime::from_unix_timestamp_nanos(micros as i128 * 1000).ok();
    }
    OffsetDateTime::parse(text, &Rfc3339).ok().or_else(|| {
        PrimitiveDateTime::parse(text, &Iso8601::DEFAULT)
            .ok()
            .map(PrimitiveDateTime::assume_utc)
    })
}

/// The value at `path` in the JSON text (the whole text for an empty path), checking
/// that the whole text is one JSON document; `None` when a member on the path is
/// missing. A member named twice on the path is refused.
fn locate<'t>(
    text: &'t str,
    path: &[&str],
    bytes: &[u8],
) -> Result<Option<&'t RawValue>, EventRejection> {
    let cx = Cx::default();
    let whole: &'t RawValue = serde_json::from_str(text)
        .map_err(|error| cx.failure(error, 0).into_rejection(bytes, None))?;
    let mut current = whole;
    for (depth, name) in path.iter().enumerate() {
        let mut de = serde_json::Deserializer::from_str(current.get());
        match de.deserialize_map(MemberSeed { name }) {
            Ok(Some(value)) => current = value,
            Ok(None) => return Ok(None),
            Err(error) => {
                return Err(EventRejection::InvalidEnvelope {
                    path: path_text(&path[..=depth]),
                    reason: reason(&error),
                });
            }
        }
    }
    Ok(Some(current))
}

/// Finds one member of an object, refusing it twice (anything but an object on the
/// path is refused too).
struct MemberSeed<'n> {
    name: &'n str,
}

impl<'de> de::Visitor<'de> for MemberSeed<'_> {
    type Value = Option<&'de RawValue>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            if key == self.name {
                if found.is_some() {
                    return Err(de::Error::custom(format_args!(
                        "duplicate field `{}`",
                        self.name
                    )));
                }
                found = Some(map.next_value::<&'de RawValue>()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// `T` from the payload (`raw`, within `text`), or from no payload when `raw` is
/// `None`; a failure names the JSON path from the body's top.
fn data<T: DeserializeOwned>(
    text: &str,
    raw: Option<&RawValue>,
    event_type: &str,
    path: &[&str],
) -> Result<T, EventRejection> {
    let cx = Cx::default();
    cx.field.set(Some(Field::Data));
    let Some(raw) = raw else {
        return DataSeed::<T>::new(Some(event_type), &cx, None)
            .deserialize_missing()
            .map_err(|error| match cx.rejected_type.take() {
                Some(event_type) => EventRejection::UnsupportedType { event_type },
                None => EventRejection::InvalidEnvelope {
                    path: path_text(path),
                    reason: reason(&error),
                },
            });
    };
    let bytes = text.as_bytes();
    let offset = (raw.get().as_ptr() as usize).saturating_sub(bytes.as_ptr() as usize);
    let attempt = |track: Option<&mut Track>| {
        let mut de = serde_json::Deserializer::from_str(raw.get());
        DataSeed::<T>::new(Some(event_type), &cx, track)
            .deserialize(&mut de)
            .and_then(|data| de.end().map(|()| data))
    };
    let error = match attempt(None) {
        Ok(data) => return Ok(data),
        Err(error) => error,
    };
    let failure = cx.failure(error, offset);
    if !failure.needs_path() {
        return Err(failure.into_rejection(bytes, Some(path_text(path))));
    }
    let mut track = Track::new();
    cx.field.set(Some(Field::Data));
    let again = match attempt(Some(&mut track)) {
        Err(error) => cx.failure(error, offset),
        Ok(_) => failure,
    };
    let mut at = path.join(".");
    for segment in track.path().iter() {
        match segment {
            Segment::Seq { index } => at.push_str(&format!("[{index}]")),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                if !at.is_empty() {
                    at.push('.');
                }
                at.push_str(key);
            }
            Segment::Unknown => at.push_str(".?"),
        }
    }
    if at.is_empty() {
        at.push('.');
    }
    Err(again.into_rejection(bytes, Some(at)))
}

/// `payload`, `event.data`, or `.` for the whole body.
fn path_text(path: &[&str]) -> String {
    if path.is_empty() {
        ".".to_owned()
    } else {
        path.join(".")
    }
}
