//! The envelope's members: which key is which, and the visitors that read `id`,
//! `type` and `created` as they come and hand `data` on (see `data.rs`).

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Unexpected,
    Visitor,
};
use serde_json::value::RawValue;
use serde_path_to_error::Track;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::data::DataSeed;
use super::report::{Cx, Field};

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

pub(super) struct Partial<'de, T> {
    pub(super) id: Option<String>,
    pub(super) event_type: Option<Cow<'de, str>>,
    pub(super) created: Option<OffsetDateTime>,
    pub(super) data: Option<T>,
    pub(super) raw_data: Option<&'de RawValue>,
}

pub(super) struct EnvelopeVisitor<'a, 'de, T> {
    pub(super) cx: &'a Cx<'de>,
    pub(super) track: Option<&'a mut Track>,
    pub(super) marker: PhantomData<fn() -> T>,
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
pub(super) struct PeekVisitor<'a> {
    pub(super) cx: &'a Cx<'static>,
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
