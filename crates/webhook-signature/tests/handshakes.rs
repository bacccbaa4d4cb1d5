//! The setup handshakes the layer answers: each provider's documented example
//! request gets the documented answer (status, content type, body), a forged one is
//! refused, the inner service never sees an answered handshake, and no handshake
//! can be made to answer with a signature of a body the caller chose.

mod common;

use common::{Answer, Recorder, clock_at};
use http::{Method, Request, Response};
use proptest::prelude::*;
use tower::{ServiceBuilder, ServiceExt};
use webhook_core::{Handshake, RejectionCode, VerifiedDelivery};
use webhook_signature::scheme::{Algorithm, by_name, hmac_tag};
use webhook_signature::{ConfigError, Signer, Verifier, VerifierBuilder, VerifySignatureLayer};
use webhook_testing::TestKeyPair;

const NOW: i64 = 1_700_000_000;
const SECRET: &str = "handshake-test-secret";

fn builder(scheme: &str) -> VerifierBuilder {
    Verifier::builder(by_name(scheme).unwrap()).clock(clock_at(NOW))
}

/// Sends `request` through the layer with `verifier`; the answer, and how often the
/// inner service ran.
async fn send(verifier: Verifier, request: Request<String>) -> (Answer, Option<Handshake>, usize) {
    let recorder = Recorder::default();
    let service = ServiceBuilder::new()
        .layer(VerifySignatureLayer::new(verifier))
        .service_fn(recorder.handler());
    let response: Response<_> = service.oneshot(request).await.unwrap();
    let handshake = response.extensions().get::<Handshake>().copied();
    if handshake.is_some() && response.status().is_success() {
        assert!(response.extensions().get::<RejectionCode>().is_none());
    }
    (Answer::read(response).await, handshake, recorder.calls())
}

fn get(uri: &str) -> Request<String> {
    Request::get(uri).body(String::new()).unwrap()
}

/// A `POST` of `body` signed with `scheme` and `secret`, with `extra` headers.
fn signed_post(scheme: &str, secret: &str, body: &str, extra: &[(&str, &str)]) -> Request<String> {
    let headers = Signer::new(by_name(scheme).unwrap(), secret)
        .unwrap()
        .sign(body.as_bytes(), NOW, "msg_1")
        .unwrap();
    let mut request = Request::post("/webhooks").body(body.to_owned()).unwrap();
    request.headers_mut().extend(headers);
    for (name, value) in extra {
        common::set(request.headers_mut(), name, value);
    }
    request
}

fn content_type(answer: &Answer) -> &str {
    answer.headers["content-type"].to_str().unwrap()
}

// Slack Events API, https://api.slack.com/events/url_verification
const SLACK_EXAMPLE: &str = r#"{
    "token": "Jhj5dZrVaK7ZwHHjRyZWjbDl",
    "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
    "type": "url_verification"
}"#;

#[tokio::test]
async fn slack_url_verification_is_answered_with_its_challenge_as_plain_text() {
    let verifier = builder("slack").secret("k", SECRET).build().unwrap();
    let request = signed_post("slack", SECRET, SLACK_EXAMPLE, &[]);
    let (answer, handshake, calls) = send(verifier.clone(), request).await;
    assert_eq!(answer.status, 200);
    assert!(content_type(&answer).starts_with("text/plain"));
    assert_eq!(
        answer.text(),
        "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    );
    assert_eq!(handshake, Some(Handshake::SlackUrlVerification));
    assert_eq!(calls, 0, "the handler never sees a handshake");

    let forged = signed_post("slack", "not the secret", SLACK_EXAMPLE, &[]);
    let (answer, _, calls) = send(verifier.clone(), forged).await;
    assert_eq!(
        (answer.status.as_u16(), answer.code().as_str()),
        (401, "signature_mismatch")
    );
    assert_eq!(calls, 0);

    // Any other event goes on to the handler.
    let event = r#"{"type":"event_callback","event_id":"Ev1","challenge":"x"}"#;
    let (answer, handshake, calls) = send(verifier, signed_post("slack", SECRET, event, &[])).await;
    assert_eq!(
        (answer.status.as_u16(), answer.text().as_str()),
        (200, "handled")
    );
    assert_eq!((handshake, calls), (None, 1));
}

// Zoom, "Validate your webhook endpoint",
// https://developers.zoom.us/docs/api/webhooks/#validate-your-webhook-endpoint
const ZOOM_EXAMPLE: &str = r#"{"payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"},"event_ts":1654503849680,"event":"endpoint.url_validation"}"#;

#[tokio::test]
async fn zoom_url_validation_is_answered_with_the_token_and_its_hmac_under_the_key_that_verified() {
    // Two secrets: the answer uses the one that verified the request.
    let verifier = builder("zoom")
        .secret("old", "zoom-old-secret")
        .secret("new", SECRET)
        .build()
        .unwrap();
    let request = signed_post("zoom", SECRET, ZOOM_EXAMPLE, &[]);
    let (answer, handshake, calls) = send(verifier.clone(), request).await;
    assert_eq!(answer.status, 200);
    assert_eq!(content_type(&answer), "application/json");
    let json: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
    // Computed apart, with Python's hmac module.
    let expected = "f2a9a740d5e79b8ac28d4d3083517de07a9c4e3576acf0dccc72f680f833013a";
    assert_eq!(
        expected,
        hex::encode(hmac_tag(SECRET.as_bytes(), &[], b"qgg8vlvZRS6UYooatFL8Aw"))
    );
    assert_eq!(
        json,
        serde_json::json!({"plainToken": "qgg8vlvZRS6UYooatFL8Aw", "encryptedToken": expected})
    );
    assert_eq!(handshake, Some(Handshake::ZoomUrlValidation));
    assert_eq!(calls, 0);

    let forged = signed_post("zoom", "guess", ZOOM_EXAMPLE, &[]);
    let (answer, _, calls) = send(verifier.clone(), forged).await;
    assert_eq!(
        (answer.status.as_u16(), answer.code().as_str()),
        (401, "signature_mismatch")
    );
    assert_eq!(calls, 0);

    // A signed validation whose token is not of Zoom's shape: refused, not answered.
    let oracle = r#"{"payload":{"plainToken":"v0:1700000000:{\"event\":\"x\"}"},"event":"endpoint.url_validation"}"#;
    let (answer, _, calls) = send(verifier, signed_post("zoom", SECRET, oracle, &[])).await;
    assert_eq!(
        (answer.status.as_u16(), answer.code().as_str()),
        (400, "invalid_handshake")
    );
    assert!(
        !answer.text().contains("v0:"),
        "the message does not echo the token"
    );
    assert_eq!(calls, 0);
}

#[tokio::test]
async fn x_crc_is_answered_with_the_sha256_prefixed_base64_hmac_of_the_first_key() {
    // X's "Securing webhooks" example: its consumer secret and crc_token (the
    // expected answer computed apart, with Python's hmac module),
    // https://developer.x.com/en/docs/x-api/enterprise/account-activity-api/guides/securing-webhooks
    let consumer_secret = "z3ZX4v7mAAUGykl3EcmkqbartmuW8VFOOzCloLx9Q45P0hLrFu";
    let verifier = builder("twitter")
        .secret("current", consumer_secret)
        .secret("previous", "older")
        .build()
        .unwrap();
    let token = "9b4507b3-9040-4669-9ca3-6b94edb50553";
    let (answer, handshake, calls) = send(
        verifier.clone(),
        get(&format!("/webhooks?crc_token={token}&nonce=1")),
    )
    .await;
    assert_eq!(answer.status, 200);
    assert_eq!(content_type(&answer), "application/json");
    assert_eq!(
        answer.text(),
        r#"{"response_token":"sha256=Cytd4Sq+NvEcV3MMrXxWJGJx5A+y/lXzzU2Maartkx8="}"#
    );
    assert_eq!(handshake, Some(Handshake::XCrc));
    assert_eq!(calls, 0);

    // A token that is an event body: refused.
    let body = percent(r#"{"for_user_id":"1","tweet_create_events":[]}"#);
    let (answer, _, _) = send(
        verifier.clone(),
        get(&format!("/webhooks?crc_token={body}")),
    )
    .await;
    assert_eq!(
        (answer.status.as_u16(), answer.code().as_str()),
        (400, "invalid_handshake")
    );
    let (answer, _, _) = send(verifier.clone(), get("/webhooks?crc_token=")).await;
    assert_eq!(answer.status, 400);
    let long = "a".repeat(257);
    let (answer, _, _) = send(
        verifier.clone(),
        get(&format!("/webhooks?crc_token={long}")),
    )
    .await;
    assert_eq!(answer.status, 400);

    // Any other GET, and a POST carrying the parameter, are verified as before.
    let (answer, handshake, _) = send(verifier.clone(), get("/webhooks?other=1")).await;
    assert_eq!(
        (answer.status.as_u16(), answer.code().as_str()),
        (401, "missing_signature")
    );
    assert_eq!(handshake, None);
    let post = Request::post(format!("/webhooks?crc_token={token}"))
        .body(String::new())
        .unwrap();
    let (answer, _, _) = send(verifier, post).await;
    assert_eq!(answer.status, 401);
}

#[tokio::test]
async fn meta_verification_is_answered_when_the_verify_token_matches_and_refused_403_otherwise() {
    // Meta Graph API webhooks, "Verification Requests",
    // https://developers.facebook.com/docs/graph-api/webhooks/getting-started#verification-requests
    let example =
        "/webhooks?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=meatyhamhock";
    let verifier = builder("meta")
        .secret("app", SECRET)
        .verify_token("meatyhamhock")
        .build()
        .unwrap();
    let (answer, handshake, calls) = send(verifier.clone(), get(example)).await;
    assert_eq!(answer.status, 200);
    assert!(content_type(&answer).starts_with("text/plain"));
    assert_eq!(answer.text(), "1158201444");
    assert_eq!(handshake, Some(Handshake::MetaSubscribe));
    assert_eq!(calls, 0);

    let forged =
        "/webhooks?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=meatyhamhocks";
    let (answer, _, calls) = send(verifier.clone(), get(forged)).await;
    assert_eq!(
        (answer.status.as_u16(), answer.code().as_str()),
        (403, "handshake_refused")
    );
    assert!(!answer.text().contains("meatyhamhock"));
    assert_eq!(calls, 0);
    let no_token = "/webhooks?hub.mode=subscribe&hub.challenge=1158201444";
    let (answer, _, _) = send(verifier.clone(), get(no_token)).await;
    assert_eq!(answer.status, 403);
    let bad_challenge =
        "/webhooks?hub.mode=subscribe&hub.challenge=%3Cb%3E&hub.verify_token=meatyhamhock";
    let (answer, _, _) = send(verifier, get(bad_challenge)).await;
    assert_eq!(
        (answer.status.as_u16(), answer.code().as_str()),
        (400, "invalid_handshake")
    );

    // Without a configured verify token every verification request is refused.
    let unconfigured = builder("meta").secret("app", SECRET).build().unwrap();
    let (answer, _, _) = send(unconfigured, get(example)).await;
    assert_eq!(answer.status, 403);
}

#[test]
fn an_empty_verify_token_is_refused_and_a_set_one_is_redacted() {
    let empty = builder("meta")
        .secret("app", SECRET)
        .verify_token("")
        .build();
    assert_eq!(empty.unwrap_err(), ConfigError::EmptyVerifyToken);
    let builder = builder("meta")
        .secret("app", SECRET)
        .verify_token("meatyhamhock");
    assert!(!format!("{builder:?}").contains("meatyhamhock"));
    let verifier = builder.build().unwrap();
    assert!(!format!("{verifier:?}").contains("meatyhamhock"));
}

// Twitch EventSub, "Responding to a challenge request",
// https://dev.twitch.tv/docs/eventsub/handling-webhook-events/#responding-to-a-challenge-request
const TWITCH_EXAMPLE: &str = r#"{
    "challenge": "pogchamp-kappa-360noscope-vohiyo",
    "subscription": {
        "id": "f1c2a387-161a-49f9-a165-0f21d7a4e1c4",
        "status": "webhook_callback_verification_pending",
        "type": "channel.follow",
        "version": "1",
        "cost": 1,
        "condition": {"broadcaster_user_id": "12826"},
        "transport": {"method": "webhook", "callback": "https://example.com/webhooks/callback"},
        "created_at": "2019-11-16T10:11:12.634234626Z"
    }
}"#;

const TWITCH_TYPE: &str = "twitch-eventsub-message-type";

#[tokio::test]
async fn twitch_callback_verification_is_answered_with_the_challenge_and_revocation_goes_on() {
    let verifier = builder("twitch").secret("k", SECRET).build().unwrap();
    let kind = [(TWITCH_TYPE, "webhook_callback_verification")];
    let request = signed_post("twitch", SECRET, TWITCH_EXAMPLE, &kind);
    let (answer, handshake, calls) = send(verifier.clone(), request).await;
    assert_eq!(answer.status, 200);
    assert!(content_type(&answer).starts_with("text/plain"));
    assert_eq!(answer.text(), "pogchamp-kappa-360noscope-vohiyo");
    assert_eq!(handshake, Some(Handshake::TwitchCallbackVerification));
    assert_eq!(calls, 0);

    let forged = signed_post("twitch", "guess", TWITCH_EXAMPLE, &kind);
    let (answer, _, calls) = send(verifier.clone(), forged).await;
    assert_eq!(
        (answer.status.as_u16(), answer.code().as_str()),
        (401, "signature_mismatch")
    );
    assert_eq!(calls, 0);

    // A revocation is a signed notification for the handler, as is a notification;
    // the revocation is logged, with the subscription's type and status.
    let revocation = r#"{"subscription":{"id":"f1c2a387","status":"authorization_revoked","type":"channel.follow"}}"#;
    for message_type in ["revocation", "notification"] {
        let request = signed_post("twitch", SECRET, revocation, &[(TWITCH_TYPE, message_type)]);
        let logs = Logs::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(logs.clone())
            .with_ansi(false)
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let (answer, handshake, calls) = send(verifier.clone(), request).await;
        assert_eq!(
            (answer.status.as_u16(), handshake, calls),
            (200, None, 1),
            "{message_type}"
        );
        let logged = logs.text();
        if message_type == "revocation" {
            assert!(logged.contains("WARN"), "{logged}");
            assert!(
                logged.contains("subscription_type=\"channel.follow\""),
                "{logged}"
            );
            assert!(
                logged.contains("status=\"authorization_revoked\""),
                "{logged}"
            );
            assert!(!logged.contains(SECRET));
        } else {
            assert!(!logged.contains("revoked"), "{logged}");
        }
    }
}

/// What a `tracing` `fmt` subscriber wrote.
#[derive(Clone, Default)]
struct Logs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Logs {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for Logs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Logs {
    type Writer = Self;
    fn make_writer(&'a self) -> Self {
        self.clone()
    }
}

#[tokio::test]
async fn dropbox_challenge_is_echoed_as_plain_text_with_nosniff() {
    // Dropbox webhooks, "Verification request",
    // https://www.dropbox.com/developers/reference/webhooks#documentation
    let verifier = builder("dropbox").secret("app", SECRET).build().unwrap();
    let (answer, handshake, calls) =
        send(verifier.clone(), get("/webhooks?challenge=3a2c5b7e9d1f")).await;
    assert_eq!(answer.status, 200);
    assert!(content_type(&answer).starts_with("text/plain"));
    assert_eq!(answer.headers["x-content-type-options"], "nosniff");
    assert_eq!(answer.text(), "3a2c5b7e9d1f");
    assert_eq!(handshake, Some(Handshake::DropboxChallenge));
    assert_eq!(calls, 0);

    let script = percent("<script>alert(1)</script>");
    let (answer, _, _) = send(verifier, get(&format!("/webhooks?challenge={script}"))).await;
    assert_eq!(
        (answer.status.as_u16(), answer.code().as_str()),
        (400, "invalid_handshake")
    );
    assert!(!answer.text().contains("<script>"));
}

#[tokio::test]
async fn discord_pings_are_answered_once_verified() {
    // Discord, "Receiving an interaction" (a PING, type 1, is answered with a PONG,
    // type 1), https://discord.com/developers/docs/interactions/receiving-and-responding#receiving-an-interaction;
    // and "Webhook Events" (a ping, type 0, is answered 204),
    // https://discord.com/developers/docs/events/webhook-events#responding-to-a-webhook-event
    let keys = TestKeyPair::new(Algorithm::Ed25519, 0).unwrap();
    let verifier = builder("discord")
        .public_key("app", keys.public_key())
        .build()
        .unwrap();
    let signed = |body: &str, key: &str| {
        let headers = Signer::with_private_key(by_name("discord").unwrap(), key)
            .unwrap()
            .sign(body.as_bytes(), NOW, "")
            .unwrap();
        let mut request = Request::post("/interactions")
            .body(body.to_owned())
            .unwrap();
        request.headers_mut().extend(headers);
        request
    };
    let ping = r#"{"id":"1","application_id":"2","type":1,"version":1,"token":"t"}"#;
    let (answer, handshake, calls) = send(verifier.clone(), signed(ping, keys.private_key())).await;
    assert_eq!(answer.status, 200);
    assert_eq!(content_type(&answer), "application/json");
    assert_eq!(answer.text(), r#"{"type":1}"#);
    assert_eq!((handshake, calls), (Some(Handshake::DiscordPing), 0));

    let events_ping = r#"{"version":1,"application_id":"1234560123453231555","type":0}"#;
    let (answer, handshake, calls) =
        send(verifier.clone(), signed(events_ping, keys.private_key())).await;
    assert_eq!(answer.status, 204);
    assert!(answer.body.is_empty());
    assert_eq!((handshake, calls), (Some(Handshake::DiscordPing), 0));

    let other = TestKeyPair::new(Algorithm::Ed25519, 1).unwrap();
    let (answer, _, calls) = send(verifier.clone(), signed(ping, other.private_key())).await;
    assert_eq!((answer.status.as_u16(), calls), (401, 0));

    // A webhook event (type 1 with an `event`) and an interaction go on.
    let event = r#"{"version":1,"application_id":"1","type":1,"event":{"type":"APPLICATION_AUTHORIZED","timestamp":"2024-10-18T14:42:53.064834"}}"#;
    let command = r#"{"id":"1","application_id":"2","type":2,"data":{"name":"hi"}}"#;
    for body in [event, command] {
        let (answer, handshake, calls) =
            send(verifier.clone(), signed(body, keys.private_key())).await;
        assert_eq!(
            (answer.status.as_u16(), handshake, calls),
            (200, None, 1),
            "{body}"
        );
    }
}

#[tokio::test]
async fn handshakes_can_be_turned_off() {
    let verifier = builder("slack")
        .secret("k", SECRET)
        .handshakes(false)
        .build()
        .unwrap();
    let (answer, handshake, calls) =
        send(verifier, signed_post("slack", SECRET, SLACK_EXAMPLE, &[])).await;
    assert_eq!(
        (answer.text().as_str(), handshake, calls),
        ("handled", None, 1)
    );

    let verifier = builder("dropbox")
        .secret("k", SECRET)
        .handshakes(false)
        .build()
        .unwrap();
    let (answer, _, calls) = send(verifier, get("/webhooks?challenge=abc")).await;
    assert_eq!(
        (answer.status.as_u16(), calls),
        (401, 0),
        "verified as any GET"
    );
}

#[tokio::test]
async fn an_answered_post_handshake_carries_its_verified_marker() {
    let verifier = builder("slack").secret("k", SECRET).build().unwrap();
    let recorder = Recorder::default();
    let service = ServiceBuilder::new()
        .layer(VerifySignatureLayer::new(verifier))
        .service_fn(recorder.handler());
    let request = signed_post("slack", SECRET, SLACK_EXAMPLE, &[]);
    let response = service.oneshot(request).await.unwrap();
    let delivery = response.extensions().get::<VerifiedDelivery>().unwrap();
    assert_eq!(
        (delivery.scheme(), delivery.key_id().as_str()),
        ("slack", "k")
    );
}

/// Percent-encodes every byte that is not unreserved in a URL.
fn percent(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A JSON object the caller chose, as an event body.
fn chosen_body() -> impl Strategy<Value = String> {
    prop::collection::btree_map("[a-z_]{1,8}", "[ -~]{0,12}", 0..4)
        .prop_map(|members| serde_json::to_string(&members).unwrap())
}

/// The texts an attacker would try as a handshake token to get a signature of
/// `body`: the body itself, Zoom's signed content for it, and arbitrary text.
fn attempts(body: String) -> impl Strategy<Value = (String, String)> {
    let zoom = format!("v0:{NOW}:{body}");
    (
        Just(body.clone()),
        prop_oneof![
            Just(body),
            Just(zoom),
            "[ -~]{0,64}",
            "[A-Za-z0-9+/=_.~-]{1,64}"
        ],
    )
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// X signs a delivery `sha256=<base64 HMAC(consumer secret, body)>`, exactly the
    /// CRC's answer over a token equal to the body: no token gets that answer.
    #[test]
    fn no_x_crc_answers_with_the_signature_of_a_chosen_body((body, token) in chosen_body().prop_flat_map(attempts)) {
        let signature = Signer::new(by_name("twitter").unwrap(), SECRET).unwrap().sign(body.as_bytes(), NOW, "").unwrap();
        let signature = signature["x-twitter-webhooks-signature"].to_str().unwrap().to_owned();
        let verifier = builder("twitter").secret("k", SECRET).build().unwrap();
        let (answer, _, calls) = runtime().block_on(send(verifier, get(&format!("/webhooks?crc_token={}", percent(&token)))));
        prop_assert_eq!(calls, 0);
        prop_assert!(!answer.text().contains(&signature), "{} answered {}", token, answer.text());
        let base64 = signature.trim_start_matches("sha256=");
        prop_assert!(!answer.text().contains(base64));
    }

    /// Zoom signs a delivery `v0=<hex HMAC(secret, v0:<ts>:<body>)>`: no signed URL
    /// validation, whatever its plainToken, answers with that.
    #[test]
    fn no_zoom_validation_answers_with_the_signature_of_a_chosen_body((body, token) in chosen_body().prop_flat_map(attempts)) {
        let signature = Signer::new(by_name("zoom").unwrap(), SECRET).unwrap().sign(body.as_bytes(), NOW, "").unwrap();
        let signature = signature["x-zm-signature"].to_str().unwrap().trim_start_matches("v0=").to_owned();
        let validation = serde_json::json!({"event": "endpoint.url_validation", "payload": {"plainToken": token}}).to_string();
        let verifier = builder("zoom").secret("k", SECRET).build().unwrap();
        let (answer, _, calls) = runtime().block_on(send(verifier, signed_post("zoom", SECRET, &validation, &[])));
        prop_assert_eq!(calls, 0);
        prop_assert!(!answer.text().contains(&signature), "{} answered {}", token, answer.text());
    }

    /// The echo handshakes are keyed with nothing, and answer only text of the
    /// providers' alphabet, so never a JSON body or markup.
    #[test]
    fn echoes_answer_only_the_providers_alphabet(challenge in "[ -~]{0,300}") {
        let verifier = builder("dropbox").secret("k", SECRET).build().unwrap();
        let (answer, _, _) = runtime().block_on(send(verifier, get(&format!("/webhooks?challenge={}", percent(&challenge)))));
        if answer.status == 200 {
            prop_assert_eq!(answer.text(), challenge.clone());
            prop_assert!(challenge.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.~+/=".contains(&b)));
            prop_assert!((1..=256).contains(&challenge.len()));
        } else {
            prop_assert_eq!(answer.status.as_u16(), 400);
        }
    }
}

#[test]
fn a_method_other_than_get_is_never_a_get_handshake() {
    let verifier = builder("dropbox").secret("k", SECRET).build().unwrap();
    for method in [Method::POST, Method::HEAD, Method::PUT] {
        let request = Request::builder()
            .method(method.clone())
            .uri("/webhooks?challenge=abc")
            .body(String::new())
            .unwrap();
        let (answer, handshake, _) = runtime().block_on(send(verifier.clone(), request));
        assert_eq!((answer.status.as_u16(), handshake), (401, None), "{method}");
    }
}
