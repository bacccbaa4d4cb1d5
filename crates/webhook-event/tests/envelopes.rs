//! Events in providers' own envelopes: what a malformed one is answered, and the
//! time forms each provider writes. Realistic deliveries of every provider run in the
//! workspace's `tests/envelopes.rs`.

use bytes::Bytes;
use http::HeaderMap;
use serde::Deserialize;
use serde_json::Value;
use webhook_core::envelope::Envelope;
use webhook_core::{KeyId, Rejection, VerifiedDelivery};
use webhook_event::{EventRejection, WebhookBatch, WebhookEvent};
use webhook_signature::scheme::envelopes;

fn delivery(envelope: &'static Envelope, headers: &[(&str, &str)], body: &str) -> VerifiedDelivery {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        let name = http::HeaderName::from_bytes(name.as_bytes()).unwrap();
        map.insert(name, value.parse().unwrap());
    }
    VerifiedDelivery::new("test", KeyId::from("k"), Bytes::from(body.to_owned()))
        .with_envelope(envelope, &map)
}

fn github(body: &str) -> VerifiedDelivery {
    delivery(
        &envelopes::GITHUB,
        &[("x-github-delivery", "d-1"), ("x-github-event", "issues")],
        body,
    )
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct Issues {
    action: String,
    issue: Issue,
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct Issue {
    number: u64,
}

#[test]
fn a_whole_body_payload_is_typed_and_its_errors_name_the_path_from_the_top() {
    let event = WebhookEvent::<Issues>::from_delivery(github(
        r#"{"action":"opened","issue":{"number":7}}"#,
    ))
    .unwrap();
    assert_eq!(
        (event.id.as_str(), event.event_type.as_str()),
        ("d-1", "issues")
    );
    assert_eq!((event.data.issue.number, event.created), (7, None));

    let rejection = WebhookEvent::<Issues>::from_delivery(github(
        r#"{"action":"opened","issue":{"number":"7"}}"#,
    ))
    .unwrap_err();
    assert_eq!(rejection.code(), "invalid_data");
    assert!(
        matches!(&rejection, EventRejection::InvalidData { path, .. } if path == "issue.number"),
        "{rejection:?}"
    );
    let rejection = WebhookEvent::<Value>::from_delivery(github(r#"{"action":"#)).unwrap_err();
    assert_eq!(rejection.code(), "malformed_json");
}

#[test]
fn a_type_the_envelope_cannot_find_is_refused_and_says_where_it_looked() {
    let body = r#"{"action":"opened"}"#;
    let untyped = delivery(&envelopes::GITHUB, &[("x-github-delivery", "d-1")], body);
    let rejection = WebhookEvent::<Value>::from_delivery(untyped).unwrap_err();
    assert_eq!(
        (rejection.status().as_u16(), rejection.code()),
        (422, "invalid_envelope")
    );
    assert!(
        rejection.to_string().contains("x-github-event"),
        "{rejection}"
    );
}

#[test]
fn a_payload_member_given_twice_is_refused() {
    let body = r#"{"event_id":"Ev1","event_time":1,"event":{"type":"a"},"event":{"type":"b"}}"#;
    let rejection =
        WebhookEvent::<Value>::from_delivery(delivery(&envelopes::SLACK, &[], body)).unwrap_err();
    assert_eq!(rejection.code(), "invalid_envelope");
}

#[test]
fn each_providers_time_form_is_read() {
    let at = |envelope: &'static Envelope, body: &str| {
        WebhookEvent::<Value>::from_delivery(delivery(envelope, &[], body))
            .unwrap()
            .created
            .map(|time| time.unix_timestamp_nanos() / 1_000)
    };
    // Discord writes no offset: UTC.
    let discord = r#"{"type":1,"event":{"type":"APPLICATION_AUTHORIZED","timestamp":"2024-10-18T14:42:53.064834","data":{}}}"#;
    assert_eq!(
        at(&envelopes::DISCORD, discord),
        Some(1_729_262_573_064_834)
    );
    // Mailgun: seconds with a fraction.
    let mailgun = r#"{"event-data":{"id":"e","event":"opened","timestamp":1521472262.908181}}"#;
    assert_eq!(
        at(&envelopes::MAILGUN, mailgun),
        Some(1_521_472_262_908_181)
    );
    // Zoom: milliseconds.
    let zoom = r#"{"event":"meeting.started","event_ts":1626230691572,"payload":{}}"#;
    assert_eq!(at(&envelopes::ZOOM, zoom), Some(1_626_230_691_572_000));
    // A created time that is no time is refused.
    let rejection = WebhookEvent::<Value>::from_delivery(delivery(
        &envelopes::ZOOM,
        &[],
        r#"{"event":"meeting.started","event_ts":"soon","payload":{}}"#,
    ))
    .unwrap_err();
    assert_eq!(rejection.code(), "invalid_envelope");
}

#[test]
fn a_batch_is_one_extractor_and_a_single_event_another() {
    let body = r#"[{"eventId":1,"subscriptionType":"contact.creation","occurredAt":1000},{"eventId":2,"occurredAt":2000}]"#;
    let batch = delivery(&envelopes::HUBSPOT, &[], body);
    // The second event has no type: the whole batch is refused.
    let rejection = WebhookBatch::<Value>::from_delivery(batch.clone()).unwrap_err();
    assert_eq!(rejection.code(), "invalid_envelope");
    let rejection = WebhookEvent::<Value>::from_delivery(batch).unwrap_err();
    assert!(
        rejection.to_string().contains("WebhookBatch"),
        "{rejection}"
    );
    let single = github("{}");
    let rejection = WebhookBatch::<Value>::from_delivery(single).unwrap_err();
    assert!(
        rejection.to_string().contains("WebhookEvent"),
        "{rejection}"
    );
}
