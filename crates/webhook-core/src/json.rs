//! Reading one value out of a JSON body without building a document tree.

use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// The string or integer at `path` (object member names, or array indexes as decimal
/// text) in the JSON document `body`, as text.
///
/// The document is walked with `serde` and only the value looked for is kept. An
/// object, array, float, boolean or `null` at the end of the path is no value, and so
/// is a path through a member name that appears twice in one object, or a body whose
/// structure is not one JSON document.
///
/// Values off the path are skipped, not read: a string there that is not UTF-8 or
/// holds a lone surrogate escape, which `serde_json::Value` would refuse, does not
/// hide the value looked for. This reads the id of a verified body cheaply; the
/// event layer then refuses such a body as malformed JSON.
///
/// ```
/// let body = br#"{"id":"evt_1","data":{"items":[{"sku":7}]}}"#;
/// assert_eq!(webhook_core::json::find(body, &["id"]).as_deref(), Some("evt_1"));
/// assert_eq!(webhook_core::json::find(body, &["data", "items", "0", "sku"]).as_deref(), Some("7"));
/// assert_eq!(webhook_core::json::find(body, &["data"]), None);
/// assert_eq!(webhook_core::json::find(br#"{"id":1,"id":2}"#, &["id"]), None);
/// ```
pub fn find<T: AsRef<str>>(body: &[u8], path: &[T]) -> Option<String> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let found = Find {
        path,
        decimals: false,
    }
    .deserialize(&mut deserializer)
    .ok()?;
    deserializer.end().ok()?;
    found
}

/// [`find`] for a time: a number with a fraction is a value too, as its decimal text
/// (Mailgun's `"timestamp": 1521472262.908181`).
///
/// ```
/// let body = br#"{"event-data":{"timestamp":1521472262.908181}}"#;
/// assert_eq!(webhook_core::json::find_time(body, &["event-data", "timestamp"]).as_deref(), Some("1521472262.908181"));
/// ```
pub fn find_time<T: AsRef<str>>(body: &[u8], path: &[T]) -> Option<String> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let found = Find {
        path,
        decimals: true,
    }
    .deserialize(&mut deserializer)
    .ok()?;
    deserializer.end().ok()?;
    found
}

/// The name of the first member of the top-level object of `body` whose name ends
/// with `suffix`; `None` when there is none, or `body` is not one JSON object.
///
/// ```
/// let body = br#"{"for_user_id":"2244994945","tweet_create_events":[]}"#;
/// assert_eq!(webhook_core::json::first_member_ending_with(body, "_events").as_deref(), Some("tweet_create_events"));
/// ```
pub fn first_member_ending_with(body: &[u8], suffix: &str) -> Option<String> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let found =
        serde::Deserializer::deserialize_map(&mut deserializer, NameEndingWith(suffix)).ok()?;
    deserializer.end().ok()?;
    found
}

struct NameEndingWith<'a>(&'a str);

impl<'de> Visitor<'de> for NameEndingWith<'_> {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(name) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            map.next_value::<IgnoredAny>()?;
            if found.is_none() && name.ends_with(self.0) {
                found = Some(name.into_owned());
            }
        }
        Ok(found)
    }
}

struct Find<'p, T> {
    path: &'p [T],
    /// Whether a number with a fraction is a value.
    decimals: bool,
}

impl<'de, T: AsRef<str>> DeserializeSeed<'de> for Find<'_, T> {
    type Value = Option<String>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        if self.path.is_empty() {
            deserializer.deserialize_any(Leaf {
                decimals: self.decimals,
            })
        } else {
            deserializer.deserialize_any(self)
        }
    }
}

impl<'de, T: AsRef<str>> Visitor<'de> for Find<'_, T> {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON document")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (head, rest) = self.path.split_first().expect("the path is not empty here");
        let mut found = None;
        let mut seen = false;
        while let Some(matches) = map.next_key_seed(KeyIs(head.as_ref()))? {
            if matches {
                if seen {
                    return Err(de::Error::custom("the name appears twice"));
                }
                seen = true;
                found = map.next_value_seed(Find {
                    path: rest,
                    decimals: self.decimals,
                })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let (head, rest) = self.path.split_first().expect("the path is not empty here");
        let head = head.as_ref();
        let index = if head == "0"
            || (!head.starts_with('0') && head.bytes().all(|b| b.is_ascii_digit()))
        {
            head.parse::<usize>().ok()
        } else {
            None
        };
        let mut found = None;
        let mut position = 0usize;
        loop {
            if Some(position) == index {
                match seq.next_element_seed(Find {
                    path: rest,
                    decimals: self.decimals,
                })? {
                    Some(value) => found = value,
                    None => break,
                }
            } else if seq.next_element::<IgnoredAny>()?.is_none() {
                break;
            }
            position += 1;
        }
        Ok(found)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// The value at the end of the path: a string or an integer is an id.
struct Leaf {
    decimals: bool,
}

impl<'de> Visitor<'de> for Leaf {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an event id")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
        Ok(Some(value.to_owned()))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Self::Value, E> {
        Ok(Some(value.to_string()))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Self::Value, E> {
        Ok(Some(value.to_string()))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Self::Value, E> {
        Ok((self.decimals && value.is_finite()).then(|| value.to_string()))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }
}

/// Compares an object's member name with the wanted one, without allocating.
struct KeyIs<'a>(&'a str);

impl<'de> DeserializeSeed<'de> for KeyIs<'_> {
    type Value = bool;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeyIs<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<bool, E> {
        Ok(value == self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::find;

    #[test]
    fn values_off_the_path_are_skipped_unread() {
        // Pinned from fuzzing: strings off the path are not validated, so the id of
        // a body `serde_json::Value` refuses is still read (the event layer refuses
        // the body itself as malformed JSON).
        for body in [
            &b"{\"event_id\":\"evt_1\",\"x\":\"\xff\"}"[..],
            br#"{"event_id":"evt_1","x":"\ud800"}"#,
        ] {
            assert!(serde_json::from_slice::<serde_json::Value>(body).is_err());
            assert_eq!(find(body, &["event_id"]).as_deref(), Some("evt_1"));
        }
        // A structure that is not JSON is no value.
        assert_eq!(find(br#"{"event_id":"evt_1","x":"#, &["event_id"]), None);
    }
}
