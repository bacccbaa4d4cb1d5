//! Helpers shared by the integration tests: an injected clock, a recording inner
//! service, and readers for rejection responses.
#![allow(dead_code)] // each test file uses a different subset

use std::convert::Infallible;
use std::future::Ready;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode};
use http_body::Body;
use http_body_util::BodyExt;
use webhook_core::{Rejection, VerifiedBody};
use webhook_signature::scheme::Scheme;
use webhook_signature::{SignatureRejection, Signer, Verifier};

/// A clock frozen at `unix` seconds.
pub(crate) fn clock_at(unix: i64) -> impl Fn() -> SystemTime + Send + Sync + 'static {
    let at = UNIX_EPOCH + Duration::from_secs(u64::try_from(unix).expect("positive time"));
    move || at
}

/// A verifier with one key (`"k1"`) whose clock reads `now`.
pub(crate) fn verifier_at(scheme: impl Scheme, secret: &str, now: i64) -> Verifier {
    Verifier::builder(scheme)
        .secret("k1", secret)
        .clock(clock_at(now))
        .build()
        .expect("valid configuration")
}

/// Signs with `scheme` and `secret`.
pub(crate) fn sign(
    scheme: impl Scheme,
    secret: &str,
    body: &[u8],
    timestamp: i64,
    id: &str,
) -> HeaderMap {
    Signer::new(scheme, secret)
        .expect("valid secret")
        .sign(body, timestamp, id)
        .expect("valid header values")
}

/// The status and code a rejection answers with.
pub(crate) fn answer(rejection: &SignatureRejection) -> (u16, &'static str) {
    (rejection.status().as_u16(), rejection.code())
}

/// Replaces the value of `name` with `value`.
pub(crate) fn set(headers: &mut HeaderMap, name: &str, value: &str) {
    headers.insert(
        HeaderName::from_bytes(name.as_bytes()).unwrap(),
        HeaderValue::from_str(value).unwrap(),
    );
}

/// The text value of `name`.
pub(crate) fn get<'h>(headers: &'h HeaderMap, name: &str) -> &'h str {
    headers
        .get(name)
        .unwrap_or_else(|| panic!("no `{name}` header"))
        .to_str()
        .unwrap()
}

/// The built-in schemes written as code, each with a fast path (the providers
/// described as data are covered by `tests/providers.rs`).
pub(crate) const CODED: [&str; 6] = ["hopnow", "github", "stripe", "standard", "slack", "shopify"];

/// The header that carries the signature for each built-in scheme.
pub(crate) fn signature_header(name: &str) -> &'static str {
    match name {
        "hopnow" => "x-webhook-signature",
        "github" => "x-hub-signature-256",
        "stripe" => "stripe-signature",
        "standard" => "webhook-signature",
        "slack" => "x-slack-signature",
        "shopify" => "x-shopify-hmac-sha256",
        other => panic!("unknown scheme {other}"),
    }
}

/// What the inner service saw: how often it ran and the last request.
#[derive(Clone, Default)]
pub(crate) struct Recorder {
    calls: Arc<AtomicUsize>,
    seen: Arc<Mutex<Option<Request<VerifiedBody>>>>,
}

impl Recorder {
    /// An inner service that records the request and answers 200 `handled`.
    pub(crate) fn handler(
        &self,
    ) -> impl FnMut(Request<VerifiedBody>) -> Ready<Result<Response<String>, Infallible>> + Clone
    {
        let this = self.clone();
        move |request| {
            this.calls.fetch_add(1, Ordering::SeqCst);
            *this.seen.lock().unwrap() = Some(request);
            std::future::ready(Ok(Response::new(String::from("handled"))))
        }
    }

    pub(crate) fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    pub(crate) fn take(&self) -> Request<VerifiedBody> {
        self.seen
            .lock()
            .unwrap()
            .take()
            .expect("the inner service ran")
    }
}

/// A response read whole.
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Answer {
    pub(crate) async fn read<B>(response: Response<B>) -> Self
    where
        B: Body,
        B::Error: std::fmt::Debug,
    {
        let (parts, body) = response.into_parts();
        Self {
            status: parts.status,
            headers: parts.headers,
            body: body.collect().await.unwrap().to_bytes(),
        }
    }

    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The problem+json body; panics if the response is not one.
    pub(crate) fn problem(&self) -> serde_json::Value {
        assert_eq!(
            self.headers.get(http::header::CONTENT_TYPE).unwrap(),
            "application/problem+json"
        );
        let value: serde_json::Value = serde_json::from_slice(&self.body).unwrap();
        assert_eq!(value["status"], self.status.as_u16());
        value
    }

    /// The `code` member of the problem+json body.
    pub(crate) fn code(&self) -> String {
        self.problem()["code"].as_str().unwrap().to_owned()
    }
}

/// Whether the scheme writes its signature in base64 (else hex).
pub(crate) fn base64_encoded(name: &str) -> bool {
    matches!(name, "standard" | "shopify")
}

/// The encoded signature inside the scheme's framing (the last `v1` for Stripe).
pub(crate) fn presented(name: &str, headers: &HeaderMap) -> String {
    let value = get(headers, signature_header(name));
    let text = match name {
        "github" => value.strip_prefix("sha256="),
        "stripe" => value.rsplit_once(",v1=").map(|(_, sig)| sig),
        "standard" => value.strip_prefix("v1,"),
        "slack" => value.strip_prefix("v0="),
        _ => Some(value),
    };
    text.unwrap_or_else(|| panic!("{name}: unexpected framing {value:?}"))
        .to_owned()
}

/// The decoded tag of `presented`.
pub(crate) fn presented_tag(name: &str, headers: &HeaderMap) -> [u8; 32] {
    let text = presented(name, headers);
    if base64_encoded(name) {
        webhook_signature::scheme::decode_base64_tag(&text)
    } else {
        webhook_signature::scheme::decode_hex_tag(&text)
    }
    .unwrap()
}
