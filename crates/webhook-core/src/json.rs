//! Reading one value out of a JSON body without building a document tree.

use std::fmt;
use std::ops::Range;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// `visit_*` methods for values that are not the one looked for: `Ok(None)`, an
/// object or an array read through to its end.
macro_rules! no_value {
    (@scalar $method:ident $ty:ty) => {
        fn $method<E: de::Error>(self, _: $ty) -> Result<Self::Value, E> {
            Ok(None)
        }
    };
    ($de:lifetime; $($kind:ident),+) => { $(no_value!(@ $de $kind);)+ };
    (@ $de:lifetime bool) => { no_value!(@scalar visit_bool bool); };
    (@ $de:lifetime i64) => { no_value!(@scalar visit_i64 i64); };
    (@ $de:lifetime u64) => { no_value!(@scalar visit_u64 u64); };
    (@ $de:lifetime f64) => { no_value!(@scalar visit_f64 f64); };
    (@ $de:lifetime str) => { no_value!(@scalar visit_str &str); };
    (@ $de:lifetime unit) => {
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    };
    (@ $de:lifetime map) => {
        fn visit_map<A: MapAccess<$de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(None)
        }
    };
    (@ $de:lifetime seq) => {
        fn visit_seq<A: SeqAccess<$de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(None)
        }
    };
}

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
    let leaf = Leaf { decimals: false };
    let found = Find { path, leaf }.deserialize(&mut deserializer).ok()?;
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
    let leaf = Leaf { decimals: true };
    let found = Find { path, leaf }.deserialize(&mut deserializer).ok()?;
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

/// The strings or integers named `names` (distinct) in the object at `path`, as
/// text, reading the document once: what [`find`] gives for each name appended to
/// `path`, when it gives a value for all of them, and otherwise `None`.
///
/// ```
/// use webhook_core::json::find_members;
///
/// let body = br#"{"signature":{"timestamp":"1700000000","token":"t1","signature":"ab"}}"#;
/// let names = ["timestamp", "token", "signature"];
/// let [timestamp, token, signature] = find_members(body, &["signature"], names).unwrap();
/// assert_eq!([timestamp, token, signature], ["1700000000", "t1", "ab"]);
/// assert_eq!(find_members(body, &["signature"], ["token", "nonce"]), None);
/// ```
pub fn find_members<T: AsRef<str>, const N: usize>(
    body: &[u8],
    path: &[T],
    names: [&str; N],
) -> Option<[String; N]> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let leaf = Members(names);
    let found = Find { path, leaf }.deserialize(&mut deserializer).ok()?;
    deserializer.end().ok()?;
    found
}

/// What [`find`] gives for `&[id]` in `body`, and where in `body` the text is that
/// it gives for `&[event_type]`, reading the document once. The place is kept only
/// for a string written without escapes (its bytes are the text), not empty.
///
/// The signature layer reads a standard envelope's id this way, so that the event
/// router can route on the type without reading the body again.
pub(crate) fn find_id_and_type(
    body: &[u8],
    id: &str,
    event_type: &str,
) -> (Option<String>, Option<Range<usize>>) {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let visitor = IdAndType {
        names: [id, event_type],
        start: body.as_ptr() as usize,
    };
    match serde::Deserializer::deserialize_map(&mut deserializer, visitor)
        .and_then(|found| deserializer.end().map(|()| found))
    {
        Ok(found) => found,
        // Reading the type's text checks that it is UTF-8, where `find` skips it when
        // looking for the id: read the id as `find` does.
        Err(_) => (find(body, &[id]), None),
    }
}

struct IdAndType<'n> {
    names: [&'n str; 2],
    /// The address of the body's first byte.
    start: usize,
}

impl<'de> Visitor<'de> for IdAndType<'_> {
    type Value = (Option<String>, Option<Range<usize>>);

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (mut id, mut event_type) = (None, None);
        // A name that appears twice has no value, as for `find`.
        let mut seen = [false; 2];
        let mut twice = [false; 2];
        while let Some(at) = map.next_key_seed(KeyAmong(&self.names))? {
            match at {
                Some(at) if std::mem::replace(&mut seen[at], true) => {
                    twice[at] = true;
                    map.next_value::<IgnoredAny>()?;
                }
                Some(0) => {
                    id = map.next_value_seed(Find::<&str, _> {
                        path: &[],
                        leaf: Leaf { decimals: false },
                    })?;
                }
                Some(_) => event_type = map.next_value_seed(PlaceOfText(self.start))?,
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok((id.filter(|_| !twice[0]), event_type.filter(|_| !twice[1])))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok((None, None))
    }
}

/// Where a string value's text is in the body, when its bytes are the text.
struct PlaceOfText(usize);

impl<'de> DeserializeSeed<'de> for PlaceOfText {
    type Value = Option<Range<usize>>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for PlaceOfText {
    type Value = Option<Range<usize>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_borrowed_str<E: de::Error>(self, value: &'de str) -> Result<Self::Value, E> {
        let at = (value.as_ptr() as usize).wrapping_sub(self.0);
        Ok((!value.is_empty()).then(|| at..at + value.len()))
    }

    no_value!('de; str, bool, i64, u64, f64, unit, map, seq);
}

/// Walks `path`, then reads the value at its end with `leaf`.
struct Find<'p, T, L> {
    path: &'p [T],
    leaf: L,
}

impl<'de, T: AsRef<str>, L, V> DeserializeSeed<'de> for Find<'_, T, L>
where
    L: Visitor<'de, Value = Option<V>> + Copy,
{
    type Value = Option<V>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        if self.path.is_empty() {
            deserializer.deserialize_any(self.leaf)
        } else {
            deserializer.deserialize_any(self)
        }
    }
}

impl<'de, T: AsRef<str>, L, V> Visitor<'de> for Find<'_, T, L>
where
    L: Visitor<'de, Value = Option<V>> + Copy,
{
    type Value = Option<V>;

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
                    leaf: self.leaf,
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
                    leaf: self.leaf,
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

    no_value!('de; bool, i64, u64, f64, str, unit);
}

/// The value at the end of the path: a string or an integer is an id.
#[derive(Clone, Copy)]
struct Leaf {
    /// Whether a number with a fraction is a value.
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

    no_value!('de; bool, unit, map, seq);
}

/// The object at the end of the path, for [`find_members`]: each named member read
/// as [`Leaf`] reads it, a name that appears twice refused.
#[derive(Clone, Copy)]
struct Members<'n, const N: usize>([&'n str; N]);

impl<'de, const N: usize> Visitor<'de> for Members<'_, N> {
    type Value = Option<[String; N]>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found: [Option<String>; N] = std::array::from_fn(|_| None);
        let mut seen = [false; N];
        while let Some(at) = map.next_key_seed(KeyAmong(&self.0))? {
            let Some(at) = at else {
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            if std::mem::replace(&mut seen[at], true) {
                return Err(de::Error::custom("the name appears twice"));
            }
            found[at] = map.next_value_seed(Find::<&str, _> {
                path: &[],
                leaf: Leaf { decimals: false },
            })?;
        }
        if found.iter().any(Option::is_none) {
            return Ok(None);
        }
        Ok(Some(found.map(|value| value.unwrap_or_default())))
    }

    no_value!('de; seq, bool, i64, u64, f64, str, unit);
}

/// Which of the wanted names an object's member name is, without allocating.
struct KeyAmong<'a, 'n, const N: usize>(&'a [&'n str; N]);

impl<'de, const N: usize> DeserializeSeed<'de> for KeyAmong<'_, '_, N> {
    type Value = Option<usize>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Option<usize>, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de, const N: usize> Visitor<'de> for KeyAmong<'_, '_, N> {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Option<usize>, E> {
        Ok(self.0.iter().position(|name| *name == value))
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
    use super::{find, find_id_and_type, find_members};

    #[test]
    fn members_read_in_one_pass_are_what_find_reads_for_each() {
        let names = ["timestamp", "token", "signature"];
        for body in [
            &br#"{"signature":{"timestamp":"1","token":"t","signature":"s"}}"#[..],
            br#"{"signature":{"timestamp":1,"token":"t","signature":"s","x":{}},"y":[]}"#,
            br#"{"signature":{"timestamp":"1","token":"t","signature":"s","token":"u"}}"#,
            br#"{"signature":{"timestamp":"1","token":"t","signature":"s"},"signature":{}}"#,
            br#"{"signature":{"timestamp":"1","token":"t","signature":"s","x":1,"x":2}}"#,
            br#"{"signature":{"timestamp":"1","token":"t","signature":1.5}}"#,
            br#"{"signature":{"timestamp":"1","token":"t"}}"#,
            br#"{"signature":{"timestamp":"1","token":"t","signature":"s"}} x"#,
            br#"{"signature":{"timestamp":"1","token":"t","signature":"s"},"x":}"#,
            br#"{"signature":["1","t","s"]}"#,
            br#"{"signature":"s"}"#,
            br#"[{"signature":{"timestamp":"1","token":"t","signature":"s"}}]"#,
            br#"{"signature":{"timestamp":"\u0031","tok\u0065n":"t","signature":"s"}}"#,
            b"{\"signature\":{\"timestamp\":\"1\",\"token\":\"\xff\",\"signature\":\"s\"}}",
        ] {
            let each: Option<Vec<String>> = names
                .iter()
                .map(|name| find(body, &["signature", name]))
                .collect();
            let once = find_members(body, &["signature"], names).map(Vec::from);
            assert_eq!(once, each, "{}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn id_and_type_read_in_one_pass_are_what_find_reads_for_each() {
        // The type is read when `find` gives it from a string written without
        // escapes: the body's bytes are then its text.
        for (body, read) in [
            (
                &br#"{"id":"evt_1","type":"payout.paid","data":{"type":"x"}}"#[..],
                Some("payout.paid"),
            ),
            (br#"{"type":"payout.paid","id":42}"#, Some("payout.paid")),
            (
                br#"{"id":"evt_1","type":"payout.paid","id":"evt_2"}"#,
                Some("payout.paid"),
            ),
            (
                br#"{"id":"evt_1","type":"payout.paid","type":"ping"}"#,
                None,
            ),
            (br#"{"id":"evt_1","type":""}"#, None),
            (br#"{"id":"","type":"ping"}"#, Some("ping")),
            (br#"{"id":"evt_1","type":7}"#, None),
            (br#"{"id":{"a":1},"type":["ping"]}"#, None),
            (br#"{"id":"evt_1","type":"pi\u006eg"}"#, None),
            (br#"{"i\u0064":"evt_1","typ\u0065":"ping"}"#, Some("ping")),
            (br#"{"id":"evt_1","type":"ping"} x"#, None),
            (br#"{"id":"evt_1","type":"ping","x":}"#, None),
            (br#"[{"id":"evt_1","type":"ping"}]"#, None),
            (br#""ping""#, None),
            (
                b"{\"id\":\"evt_1\",\"type\":\"ping\",\"x\":\"\xff\"}",
                Some("ping"),
            ),
            (b"{\"id\":\"evt_1\",\"type\":\"\xff\"}", None),
        ] {
            let shown = String::from_utf8_lossy(body);
            let (id, at) = find_id_and_type(body, "id", "type");
            assert_eq!(id, find(body, &["id"]), "{shown}");
            let text = at.map(|at| std::str::from_utf8(&body[at]).unwrap());
            assert_eq!(text, read, "{shown}");
            if let Some(text) = text {
                assert_eq!(find(body, &["type"]).as_deref(), Some(text), "{shown}");
            }
        }
    }

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
