//! Every provider's realistic deliveries (the samples under
//! `crates/webhook-testing/conformance/envelopes/`, taken from each provider's docs or
//! SDK tests, each with the id, type and created time the provider means) through the
//! layers as a user stacks them: the signature layer, idempotency in memory, and an
//! `EventRouter`. Each delivery is signed here with a test key (the samples carry no
//! signature), keeping the provider's other headers as sent.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tower::{ServiceBuilder, ServiceExt};
use tower_webhook::core::VerifiedDelivery;
use tower_webhook::core::envelope::Member;
use tower_webhook::event::{EventRouter, Handled, WebhookBatch, WebhookEvent};
use tower_webhook::idempotency::IdempotencyLayer;
use tower_webhook::signature::scheme::{Algorithm, Mailgun, Provider, Scheme, SignRequest};
use tower_webhook::signature::{Signer, Verifier, VerifySignatureLayer};

const DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/crates/webhook-testing/conformance/envelopes"
);
const HMAC_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// Discord's test key pair (Ed25519, hex), as in the conformance vectors.
const ED25519_PRIVATE: &str = "d089bd7b163322a45575c5bb3cb8ab1300009ef44d460509aa22abc04fbb5aca";
const ED25519_PUBLIC: &str = "728ecb43957575293748e78d14cfda9b069337638e40742abc08955631357199";
/// SendGrid's test key pair (P-256, base64 DER), as in the conformance vectors.
const P256_PRIVATE: &str = "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgVqsGBKnGEbG6lUObzbLlPcfXYceREYhDiTvxKlIRPyihRANCAAS9PRD0N6yVSE4AU/rUvQXHqW6X2eOgVA7Wj6LK0fyQDOwKkizNLq+eA54Kv+X/0VD2/rlNstViW7GZBYa3GyOB";
const P256_PUBLIC: &str = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEvT0Q9DeslUhOAFP61L0Fx6lul9njoFQO1o+iytH8kAzsCpIszS6vngOeCr/l/9FQ9v65TbLVYluxmQWGtxsjgQ==";
const PUBLIC_URL: &str = "https://receiver.example";
const PATH: &str = "/webhooks/in";
/// When the deliveries are signed and verified.
const NOW: i64 = 1_700_000_000;

/// What a sample expects of one event.
#[derive(Debug, Clone, PartialEq)]
struct Expected {
    id: String,
    event_type: String,
    created: Option<OffsetDateTime>,
}

/// One sample delivery, signed for its provider.
struct Sample {
    provider: &'static Provider,
    name: String,
    headers: HeaderMap,
    body: Bytes,
    /// One per event: a batch has several.
    events: Vec<Expected>,
}

fn created(value: &Value) -> Option<OffsetDateTime> {
    value
        .as_str()
        .map(|text| OffsetDateTime::parse(text, &Rfc3339).unwrap_or_else(|e| panic!("{text}: {e}")))
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

fn verifier(provider: &Provider) -> Verifier {
    let builder = Verifier::builder((provider.scheme)())
        .public_url(PUBLIC_URL)
        .tolerance(Duration::from_secs(20 * 365 * 86_400))
        .clock(|| std::time::UNIX_EPOCH + Duration::from_secs(NOW as u64));
    match provider.algorithm {
        Algorithm::Ed25519 => builder.public_key("k1", ED25519_PUBLIC),
        Algorithm::EcdsaP256Sha256 => builder.public_key("k1", P256_PUBLIC),
        _ => builder.secret("k1", HMAC_SECRET),
    }
    .build()
    .unwrap_or_else(|e| panic!("{}: {e}", provider.name))
}

fn signer(provider: &Provider) -> Signer {
    match provider.algorithm {
        Algorithm::Ed25519 => Signer::with_private_key((provider.scheme)(), ED25519_PRIVATE),
        Algorithm::EcdsaP256Sha256 => Signer::with_private_key((provider.scheme)(), P256_PRIVATE),
        _ => Signer::new((provider.scheme)(), HMAC_SECRET),
    }
    .unwrap_or_else(|e| panic!("{}: {e}", provider.name))
}

/// Mailgun signs inside the body: the sample's `signature` is recomputed for the test
/// key (members come out in sorted order, which Mailgun's signature does not cover).
fn mailgun_body(body: &str) -> String {
    let mut document: Value = serde_json::from_str(body).unwrap();
    let signature = &mut document["signature"];
    let tag = Mailgun::signature(
        HMAC_SECRET,
        signature["timestamp"].as_str().unwrap(),
        signature["token"].as_str().unwrap(),
    );
    signature["signature"] = Value::String(tag);
    document.to_string()
}

fn samples() -> Vec<Sample> {
    let mut files: Vec<_> = std::fs::read_dir(DIR)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    let mut samples = Vec::new();
    for path in files {
        let file: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let name = file["provider"].as_str().unwrap();
        let provider = Provider::find(name).unwrap_or_else(|| panic!("no provider {name}"));
        // A setup handshake is the signature layer's to answer (tests/handshakes.rs).
        for delivery in file["deliveries"].as_array().unwrap() {
            if delivery["handshake"] != Value::Bool(true) {
                samples.push(sample(provider, delivery));
            }
        }
    }
    samples
}

fn sample(provider: &'static Provider, delivery: &Value) -> Sample {
    let name = format!("{}: {}", provider.name, delivery["name"].as_str().unwrap());
    let mut body = delivery["body"].as_str().unwrap().to_owned();
    if provider.name == "mailgun" {
        body = mailgun_body(&body);
    }
    let mut headers = HeaderMap::new();
    for (header, value) in delivery["headers"].as_object().unwrap() {
        headers.insert(
            HeaderName::from_bytes(header.as_bytes()).unwrap(),
            HeaderValue::from_str(value.as_str().unwrap()).unwrap(),
        );
    }
    let expect = &delivery["expect"];
    // The id a signed header carries (Standard Webhooks, Twitch) is signed as sent.
    let envelope = (provider.scheme)().envelope();
    let signed_id = envelope
        .id_members()
        .iter()
        .find_map(|member| member.from_headers(&headers))
        .map(|value| value.to_str().unwrap().to_owned())
        .or_else(|| text(&expect["id"]))
        .unwrap_or_default();
    let url = format!("{PUBLIC_URL}{PATH}");
    let request = SignRequest::new(body.as_bytes(), NOW, &signed_id).with_url(&url);
    if provider.signature_header != "body" {
        let signed = signer(provider)
            .sign_request(&request)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        for (header, value) in &signed {
            headers.insert(header.clone(), value.clone());
        }
    }
    // A created time in a header the signer rewrote (Twitch signs its timestamp
    // header) is the one signed here.
    let resigned_created = envelope
        .created_members()
        .iter()
        .find_map(|member| member.from_headers(&headers))
        .and_then(|value| OffsetDateTime::parse(value.to_str().unwrap(), &Rfc3339).ok());
    let body = Bytes::from(body);
    let body_hash = Member::BodyHash.from_body(&body).unwrap().into_owned();
    let one = |expect: &Value, id_default: &str| Expected {
        id: text(&expect["id"]).unwrap_or_else(|| id_default.to_owned()),
        event_type: text(&expect["type"]).unwrap_or_else(|| panic!("{name}: no type")),
        created: created(&expect["created"]),
    };
    let events = match expect["events"].as_array() {
        Some(events) => events.iter().map(|event| one(event, "")).collect(),
        None => {
            let mut event = one(expect, &body_hash);
            if resigned_created.is_some() && event.created.is_some() {
                event.created = resigned_created;
            }
            vec![event]
        }
    };
    Sample {
        provider,
        name,
        headers,
        body,
        events,
    }
}

fn request(sample: &Sample) -> Request<String> {
    let mut request = Request::post(PATH)
        .body(String::from_utf8(sample.body.to_vec()).unwrap())
        .unwrap();
    *request.headers_mut() = sample.headers.clone();
    request
}

/// The sample verified, with its provider's envelope attached, as the signature
/// layer does.
fn verified(sample: &Sample) -> VerifiedDelivery {
    verifier(sample.provider)
        .verify_request(
            &http::Method::POST,
            Some(&PATH.parse().unwrap()),
            &sample.headers,
            &sample.body,
        )
        .unwrap_or_else(|e| panic!("{}: {e}", sample.name))
        .with_envelope((sample.provider.scheme)().envelope(), &sample.headers)
}

fn seen(event: &WebhookEvent<Value>) -> Expected {
    Expected {
        id: event.id.clone(),
        event_type: event.event_type.clone(),
        created: event.created,
    }
}

#[test]
fn the_samples_cover_every_provider() {
    let samples = samples();
    let mut names: Vec<&str> = samples.iter().map(|s| s.provider.name).collect();
    names.dedup();
    assert!(names.len() >= 30, "{names:?}");
    for provider in tower_webhook::signature::scheme::PROVIDERS {
        assert!(
            names.contains(&provider.name),
            "no sample for {}",
            provider.name
        );
    }
}

#[test]
fn each_sample_yields_its_id_type_and_created_time() {
    for sample in samples() {
        let name = &sample.name;
        let delivery = verified(&sample);
        let got: Vec<Expected> = if delivery.envelope().batch_of().is_some() {
            let batch = WebhookBatch::<Value>::from_delivery(delivery.clone())
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            batch.events.iter().map(seen).collect()
        } else {
            let event = WebhookEvent::<Value>::from_delivery(delivery.clone())
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            vec![seen(&event)]
        };
        assert_eq!(got, sample.events, "{name}");
    }
}

#[tokio::test]
async fn each_sample_is_routed_once_and_its_duplicate_replayed() {
    for sample in samples() {
        let name = sample.name.clone();
        let handled: Arc<Mutex<Vec<Expected>>> = Arc::default();
        let router = {
            let handled = handled.clone();
            let types: Vec<String> = sample.events.iter().map(|e| e.event_type.clone()).collect();
            let mut types: Vec<&str> = types.iter().map(String::as_str).collect();
            types.sort_unstable();
            types.dedup();
            EventRouter::new().on_each(types.iter().copied(), move |event: WebhookEvent<Value>| {
                handled.lock().unwrap().push(seen(&event));
                async { Handled::Processed }
            })
        };
        let service = ServiceBuilder::new()
            .layer(VerifySignatureLayer::new(verifier(sample.provider)))
            .layer(IdempotencyLayer::in_memory())
            .service(router);

        let first = service.clone().oneshot(request(&sample)).await.unwrap();
        assert_eq!(first.status(), StatusCode::OK, "{name}");
        let delivery = first.extensions().get::<VerifiedDelivery>().cloned();
        let body = first.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, r#"{"status":"processed"}"#, "{name}");
        assert_eq!(*handled.lock().unwrap(), sample.events, "{name}");
        let delivery_id = delivery.and_then(|d| d.event_id().map(str::to_owned));
        assert!(delivery_id.is_some_and(|id| !id.is_empty()), "{name}");

        let again = service.clone().oneshot(request(&sample)).await.unwrap();
        assert_eq!(again.status(), StatusCode::OK, "{name}");
        assert_eq!(again.headers()["idempotent-replayed"], "true", "{name}");
        assert_eq!(handled.lock().unwrap().len(), sample.events.len(), "{name}");
    }
}

#[tokio::test]
async fn a_forged_sample_never_reaches_the_router() {
    // Mailgun signs a timestamp and a token, not the body: documented, not testable
    // by changing the body.
    for mut sample in samples()
        .into_iter()
        .filter(|s| s.provider.name != "mailgun")
    {
        let name = sample.name.clone();
        let handled = Arc::new(Mutex::new(0));
        let router = {
            let handled = handled.clone();
            EventRouter::new().fallback(move |_: WebhookEvent<Value>| {
                *handled.lock().unwrap() += 1;
                async { Handled::Processed }
            })
        };
        let service = ServiceBuilder::new()
            .layer(VerifySignatureLayer::new(verifier(sample.provider)))
            .service(router);
        let mut body = sample.body.to_vec();
        let last = body.iter().rposition(u8::is_ascii_alphanumeric).unwrap();
        body[last] = if body[last] == b'0' { b'1' } else { b'0' };
        sample.body = Bytes::from(body);
        let response = service.oneshot(request(&sample)).await.unwrap();
        assert!(
            response.status().is_client_error(),
            "{name}: {}",
            response.status()
        );
        assert_eq!(*handled.lock().unwrap(), 0, "{name}");
    }
}

/// GitHub's delivery id is an unsigned header: a captured delivery resent under a
/// fresh id is new to the default key (the id), and a duplicate to `BodyHashKey`.
#[tokio::test]
async fn a_resend_under_a_fresh_unsigned_id_is_caught_only_when_keyed_on_the_body() {
    use tower_webhook::core::BodyHashKey;
    use tower_webhook::idempotency::store::MemoryStore;

    let sample = samples()
        .into_iter()
        .find(|s| s.provider.name == "github")
        .unwrap();
    let runs = |layer: IdempotencyLayer| {
        let handled = Arc::new(Mutex::new(0));
        let router = {
            let handled = handled.clone();
            EventRouter::new().fallback(move |_: WebhookEvent<Value>| {
                *handled.lock().unwrap() += 1;
                async { Handled::Processed }
            })
        };
        let service = ServiceBuilder::new()
            .layer(VerifySignatureLayer::new(verifier(sample.provider)))
            .layer(layer)
            .service(router);
        let (first, resent) = (request(&sample), {
            let mut resent = request(&sample);
            resent.headers_mut().insert(
                "x-github-delivery",
                HeaderValue::from_static("forged-fresh-id"),
            );
            resent
        });
        async move {
            let first = service.clone().oneshot(first).await.unwrap();
            let resent = service.oneshot(resent).await.unwrap();
            assert_eq!(
                (first.status(), resent.status()),
                (StatusCode::OK, StatusCode::OK)
            );
            let replayed = resent.headers().contains_key("idempotent-replayed");
            (*handled.lock().unwrap(), replayed)
        }
    };
    assert_eq!(runs(IdempotencyLayer::in_memory()).await, (2, false));
    let by_body = IdempotencyLayer::builder(MemoryStore::new())
        .key(BodyHashKey)
        .build()
        .unwrap();
    assert_eq!(runs(by_body).await, (1, true));
}

/// A delivery queued in a backend that stores bytes (Redis) comes back without its
/// envelope; given back by scheme name, as `WorkersBuilder::envelopes` does, the
/// worker reads each sample as the live delivery was read.
#[tokio::test]
async fn each_sample_is_read_alike_after_the_queue() {
    use tower_webhook::queue::Job;
    use tower_webhook::signature::scheme::by_name;

    for sample in samples() {
        let name = &sample.name;
        let delivery = verified(&sample);
        let stored = Job::from_bytes(&Job::from_delivery(&delivery).to_bytes()).unwrap();
        let job = stored.with_envelope(by_name(sample.provider.name).unwrap().envelope());

        let handled: Arc<Mutex<Vec<Expected>>> = Arc::default();
        let router = {
            let handled = handled.clone();
            EventRouter::new().fallback(move |event: WebhookEvent<Value>| {
                handled.lock().unwrap().push(seen(&event));
                async { Handled::Processed }
            })
        };
        let response = router.oneshot(job.to_request()).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{name}");
        assert_eq!(*handled.lock().unwrap(), sample.events, "{name}");
    }
}
