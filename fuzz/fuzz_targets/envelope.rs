//! The event envelope `{ id, type, created, data }`: the input is the body.
//!
//! Parsed as `serde_json::Value` data, as a small struct and as an enum tagged by
//! `type` (the path that sets `data` aside when it comes before `type`). Whatever
//! parses must agree with what `serde_json` reads from the same bytes as a `Value`;
//! whatever is refused as malformed JSON must be refused by `serde_json` too.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use serde::Deserialize;
use serde_json::{Map, Value};
use webhook_core::{KeyId, Rejection, VerifiedDelivery};
use webhook_event::{EventRejection, UnverifiedWebhookEvent, WebhookEvent};

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

/// The id and timestamp a verified delivery's headers would carry.
const FALLBACK_ID: &str = "evt_from_headers";
const FALLBACK_CREATED: i64 = 1_700_000_000;

/// Checks `id`, `type` and `created` against the object `serde_json` read.
fn check_envelope<T>(event: &UnverifiedWebhookEvent<T>, object: &Map<String, Value>) {
    assert!(!event.id.is_empty(), "an empty id accepted");
    assert!(!event.event_type.is_empty(), "an empty type accepted");
    match object.get("id") {
        Some(Value::String(id)) => assert_eq!(&event.id, id),
        Some(Value::Number(id)) => {
            assert!(id.is_i64() || id.is_u64(), "id {id} accepted");
            assert_eq!(event.id, id.to_string());
        }
        other => panic!("id {other:?} accepted"),
    }
    assert_eq!(
        object.get("type"),
        Some(&Value::String(event.event_type.clone()))
    );
    let created = match (object.get("created"), object.get("timestamp")) {
        (Some(created), None) | (None, Some(created)) => created,
        both => panic!("created {both:?} accepted"),
    };
    match created {
        Value::Number(seconds) => {
            assert_eq!(seconds.as_i64(), Some(event.created.unix_timestamp()));
            assert_eq!(event.created.nanosecond(), 0);
        }
        Value::String(_) => {}
        other => panic!("created {other:?} accepted"),
    }
}

/// `well_formed`: whether `serde_json` reads the body as a `Value`.
fn check_rejection(rejection: &EventRejection, well_formed: bool) {
    let status = rejection.status().as_u16();
    assert!(status == 400 || status == 422, "status {status}");
    rejection.to_problem().to_json();
    if matches!(rejection, EventRejection::MalformedJson { .. }) {
        assert!(
            !well_formed,
            "well-formed JSON refused as malformed: {rejection:?}"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    // Whatever the envelope accepts, `serde_json` reads as an object: the whole body
    // is UTF-8 (also in the members the envelope skips, which `IgnoredAny` would not
    // check) and well-formed.
    let reference = serde_json::from_slice::<Value>(data).ok();
    let object = reference.as_ref().and_then(Value::as_object);

    let value = UnverifiedWebhookEvent::<Value>::from_slice(data);
    match &value {
        Ok(event) => {
            let object = object.expect("an envelope that serde_json does not read as an object");
            check_envelope(event, object);
            assert_eq!(Some(&event.data), object.get("data"));
        }
        Err(rejection) => check_rejection(rejection, reference.is_some()),
    }

    match UnverifiedWebhookEvent::<Payout>::from_slice(data) {
        Ok(event) => {
            let object = object.expect("an envelope that serde_json does not read as an object");
            check_envelope(&event, object);
            let expected = Payout::deserialize(&object["data"]).expect("the same data");
            assert_eq!(event.data, expected);
            assert!(value.is_ok(), "a Payout event that is not a Value event");
        }
        Err(rejection) => check_rejection(&rejection, reference.is_some()),
    }

    match UnverifiedWebhookEvent::<PayoutEvent>::from_slice(data) {
        Ok(event) => {
            let object = object.expect("an envelope that serde_json does not read as an object");
            check_envelope(&event, object);
            let mut tagged = Map::new();
            tagged.insert("type".to_owned(), object["type"].clone());
            if let Some(data) = object.get("data") {
                tagged.insert("data".to_owned(), data.clone());
                assert!(
                    value.is_ok(),
                    "a PayoutEvent event that is not a Value event"
                );
            }
            let expected = PayoutEvent::deserialize(&Value::Object(tagged)).expect("the same data");
            assert_eq!(event.data, expected);
        }
        Err(rejection) => check_rejection(&rejection, reference.is_some()),
    }

    // Behind the signature layer: the headers' id is the event's (the event-id rule:
    // the scheme's id wins over the body's), their timestamp fills in a missing
    // `created`, and nothing else changes.
    let delivery = VerifiedDelivery::new("hopnow", KeyId::from("k1"), Bytes::copy_from_slice(data))
        .with_event_id(FALLBACK_ID)
        .with_timestamp(FALLBACK_CREATED);
    let verified = WebhookEvent::<Value>::from_delivery(delivery);
    match (&value, &verified) {
        (Ok(unverified), Ok(verified)) => {
            assert_eq!(verified.id, FALLBACK_ID);
            assert_eq!(unverified.event_type, verified.event_type);
            assert_eq!(unverified.created, verified.created);
            assert_eq!(unverified.data, verified.data);
        }
        (Ok(_), Err(rejection)) => panic!("refused only behind the signature layer: {rejection:?}"),
        (Err(rejection), Ok(verified)) => {
            let object = object.expect("an envelope that serde_json does not read as an object");
            assert!(
                matches!(rejection, EventRejection::InvalidEnvelope { path, .. } if path == "id" || path == "created"),
                "{rejection:?} filled in by the headers"
            );
            assert_eq!(verified.id, FALLBACK_ID);
            if !object.contains_key("created") && !object.contains_key("timestamp") {
                assert_eq!(verified.created.unix_timestamp(), FALLBACK_CREATED);
            }
        }
        (Err(_), Err(rejection)) => check_rejection(rejection, reference.is_some()),
    }
});
