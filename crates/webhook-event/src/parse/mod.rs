//! Parsing the event envelope in one pass over the verified bytes.
//!
//! The envelope is read by a hand-written visitor (no `#[serde(flatten)]`, which would
//! buffer): `id`, `type` and `created` are read as they come, and `data` is handed to
//! `T` directly. When `data` comes before `type` (Stripe puts `type` last) and `T` is
//! an enum tagged by `type`, `T` cannot be built yet: `TagAware` (in `data.rs`) then
//! reads `data` as a borrowed [`RawValue`](serde_json::value::RawValue), keeps it,
//! and stops `T` with an error that the envelope visitor recognizes and drops; `T` is
//! built from those bytes once `type` is known. (serde_json's map access carries on
//! after an error from a value: the value was read whole. The unit tests cover this
//! order for structs and enums.)
//!
//! `T` sees `data` through `TagAware`, which forwards everything to the JSON
//! deserializer except one shape: an enum with
//! `#[serde(tag = "type", content = "data")]` asks for a struct with exactly the
//! fields `["type", "data"]`; it is given a map holding the envelope's `type` and
//! `data`, so the enum picks its variant by type.
//!
//! Paths are tracked only after a failure: the parse runs again with
//! `serde_path_to_error` around `data`, so the successful path pays nothing for it.
//!
//! The entry points and the envelope they return are here; `envelope.rs` reads the
//! envelope's members, `data.rs` hands `data` to `T`, and `report.rs` turns what
//! went wrong into an [`EventRejection`].

mod data;
mod envelope;
pub(crate) mod provider;
mod report;

use std::borrow::Cow;
use std::marker::PhantomData;

use serde::de::{DeserializeOwned, DeserializeSeed, Deserializer};
use serde_path_to_error::Track;
use time::OffsetDateTime;

use self::data::DataSeed;
use self::envelope::{EnvelopeVisitor, PeekVisitor};
pub(crate) use self::report::empty;
use self::report::{Cx, Failure, Field, data_path, missing, reason, utf8};
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
