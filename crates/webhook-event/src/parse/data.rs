//! `data`, handed to `T` through [`TagAware`]: an enum tagged by the envelope's
//! `type` is given that type, and is set aside as raw JSON while `type` is not known.

use std::marker::PhantomData;

use serde::de::value::StrDeserializer;
use serde::de::{self, DeserializeOwned, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_path_to_error::Track;

use super::report::Cx;

/// The message of the error that stops `T` when `data` is set aside.
const DEFERRED: &str = "`data` comes before `type`";

/// Deserializes `T` from `data`, through [`TagAware`].
pub(super) struct DataSeed<'a, 'de, T> {
    /// `None` while `type` has not been read.
    event_type: Option<&'a str>,
    cx: &'a Cx<'de>,
    track: Option<&'a mut Track>,
    marker: PhantomData<fn() -> T>,
}

impl<'a, 'de, T: DeserializeOwned> DataSeed<'a, 'de, T> {
    pub(super) fn new(
        event_type: Option<&'a str>,
        cx: &'a Cx<'de>,
        track: Option<&'a mut Track>,
    ) -> Self {
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
    pub(super) fn deserialize_missing(self) -> Result<T, serde_json::Error> {
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
