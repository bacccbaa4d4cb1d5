//! A catalogue of hostile requests against a realistic stack on a real socket.
//!
//! The server: axum on 127.0.0.1, one route per scheme, each behind
//! `WebhookStack::new(VerifySignatureLayer(..).body_limit(64 KiB).read_timeout(1 s))`
//! with a per-IP limit before verification (high: it must not interfere), a
//! per-source limit after it, `IdempotencyLayer::in_memory()`, and an `EventRouter`
//! whose handlers count their runs.
//!
//! Every row of the table is one request, sent over TCP (by hyper's client when it is
//! well-formed HTTP, as raw bytes when hyper would refuse to send it), with the answer
//! it must get: the stack's own status and problem+json `code`, axum's 404/405, or,
//! for malformed HTTP that hyper's server refuses itself, "a 4xx or the connection
//! closed". No row may reach a handler: the run counter is checked after each one.
//! Control deliveries (valid, one per scheme) reach a handler exactly once each.
//!
//! Run with `-- --nocapture` to print the catalogue: request, expected, actual.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::ConnectInfo;
use axum::routing::{MethodRouter, post_service};
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Frame;
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tower_webhook::WebhookStack;
use tower_webhook::core::PROBLEM_JSON;
use tower_webhook::event::{EventRouter, Handled, WebhookEvent};
use tower_webhook::idempotency::IdempotencyLayer;
use tower_webhook::ratelimit::{PeerIp, Quota, RateLimitLayer, VerifiedSource};
use tower_webhook::signature::scheme::{
    HopNow, Scheme, Shopify, StandardWebhooks, Stripe, decode_base64_tag, decode_hex_tag,
    encode_base64,
};
use tower_webhook::signature::{Signer, Verifier, VerifySignatureLayer};
use webhook_testing::MockEvent;

use Expect::{Problem, Refused, Replayed, Status};

/// The body limit of every route.
const LIMIT: usize = 64 * 1024;
/// The read timeout of every route: short, so the slow-loris rows take a second.
const READ_TIMEOUT: Duration = Duration::from_secs(1);
/// How long a row may take before it counts as a hang.
const HANG: Duration = Duration::from_secs(10);

/// The secrets the server trusts (never printed; every answer is checked not to
/// contain them).
const CURRENT: &str = "hostile-test-current-secret";
const PREVIOUS: &str = "hostile-test-previous-secret";
/// Retired at the last rotation: no longer in the keyring.
const RETIRED: &str = "hostile-test-retired-secret";
const STRIPE: &str = "whsec_hostile_stripe_secret";
const STANDARD: &str = "whsec_aG9zdGlsZS10ZXN0LXN0YW5kYXJkLXNlY3JldA==";
const SHOPIFY: &str = "hostile-test-shopify-secret";
const SECRETS: [&str; 6] = [CURRENT, PREVIOUS, RETIRED, STRIPE, STANDARD, SHOPIFY];

// ---------------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------------

/// The `data` of a `payout.created` event, for the typed handler.
#[derive(Debug, Deserialize)]
struct Payout {
    payout_id: String,
    amount: u64,
}

/// What the handlers saw: how many runs, and each event's id.
#[derive(Clone, Default)]
struct Runs {
    count: Arc<AtomicUsize>,
    ids: Arc<Mutex<Vec<String>>>,
}

impl Runs {
    fn record(&self, id: &str) {
        self.count.fetch_add(1, Ordering::SeqCst);
        self.ids.lock().unwrap().push(id.to_owned());
    }

    fn count(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }

    fn last_id(&self) -> Option<String> {
        self.ids.lock().unwrap().last().cloned()
    }
}

fn events(runs: &Runs) -> EventRouter {
    let (ping, payout, other) = (runs.clone(), runs.clone(), runs.clone());
    EventRouter::new()
        .on("ping", move |event: WebhookEvent| {
            ping.record(&event.id);
            async { Handled::Processed }
        })
        .on("payout.created", move |event: WebhookEvent<Payout>| {
            let Payout { payout_id, amount } = &event.data;
            payout.record(&format!("{}/{payout_id}/{amount}", event.id));
            async { Handled::Processed }
        })
        // Every other type runs a handler too, so "no handler ran" means no code of
        // the receiver's saw the event.
        .fallback(move |event: WebhookEvent| {
            other.record(&event.id);
            async { Handled::Ignored }
        })
}

fn endpoint(verifier: Verifier, runs: &Runs) -> MethodRouter {
    // Before verification: a per-IP flood limit, far above what the table sends.
    let per_ip = RateLimitLayer::builder(Quota::per_second(NonZeroU32::new(10_000).unwrap()))
        .key(
            PeerIp::new()
                .peer_from(|extensions| Some(extensions.get::<ConnectInfo<SocketAddr>>()?.0.ip())),
        )
        .policy_name("per-ip")
        .build()
        .unwrap();
    let per_source = RateLimitLayer::builder(Quota::per_second(NonZeroU32::new(10_000).unwrap()))
        .key(VerifiedSource)
        .policy_name("per-source")
        .build()
        .unwrap();
    let verify = VerifySignatureLayer::new(verifier)
        .body_limit(LIMIT)
        .read_timeout(READ_TIMEOUT);
    let stack = WebhookStack::new(verify)
        .limit_before_verification(per_ip)
        .limit_per_source(per_source)
        .idempotency(IdempotencyLayer::in_memory());
    post_service(events(runs)).layer(stack)
}

/// Serves `/webhooks` (HopNow, the reference scheme, keys `current` and `previous`),
/// `/stripe`, `/standard` and `/shopify`.
async fn serve() -> (SocketAddr, Runs) {
    let runs = Runs::default();
    let hopnow = Verifier::builder(HopNow)
        .secret("current", CURRENT)
        .secret("previous", PREVIOUS)
        .build()
        .unwrap();
    let stripe = Verifier::builder(Stripe)
        .secret("current", STRIPE)
        .build()
        .unwrap();
    let standard = Verifier::builder(StandardWebhooks)
        .secret("current", STANDARD)
        .build()
        .unwrap();
    let shopify = Verifier::builder(Shopify)
        .secret("current", SHOPIFY)
        .build()
        .unwrap();
    let app = Router::new()
        .route("/webhooks", endpoint(hopnow, &runs))
        .route("/stripe", endpoint(stripe, &runs))
        .route("/standard", endpoint(standard, &runs))
        .route("/shopify", endpoint(shopify, &runs));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap()
    });
    (addr, runs)
}

// ---------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A unique event id.
fn fresh_id() -> String {
    webhook_testing::generate_id()
}

/// An event body: `{"id", "type", "created", "data"}` with `data` as given (raw JSON).
fn event_body(id: &str, event_type: &str, data: &str) -> Vec<u8> {
    format!(
        r#"{{"id":"{id}","type":"{event_type}","created":{},"data":{data}}}"#,
        now()
    )
    .into_bytes()
}

/// A fresh `ping` event body.
fn ping() -> Vec<u8> {
    event_body(&fresh_id(), "ping", "{}")
}

/// The headers a sender holding `secret` attaches to `body` under `scheme`.
fn sign(scheme: impl Scheme, secret: &str, body: &[u8], timestamp: i64, id: &str) -> HeaderMap {
    Signer::new(scheme, secret)
        .unwrap()
        .sign(body, timestamp, id)
        .unwrap()
}

/// HopNow headers for `body` with the `current` secret.
fn hopnow(body: &[u8]) -> HeaderMap {
    sign(HopNow, CURRENT, body, 0, "")
}

/// The HopNow signature of `body` under `secret`, as hex.
fn hopnow_hex(secret: &str, body: &[u8]) -> String {
    sign(HopNow, secret, body, 0, "")["x-webhook-signature"]
        .to_str()
        .unwrap()
        .to_owned()
}

fn header(name: &'static str, value: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        HeaderName::from_static(name),
        HeaderValue::from_str(value).unwrap(),
    );
    headers
}

fn with(mut headers: HeaderMap, name: &'static str, value: HeaderValue) -> HeaderMap {
    headers.append(HeaderName::from_static(name), value);
    headers
}

/// One hostile request, as it goes on the wire.
enum Wire {
    /// Well-formed HTTP/1.1, sent by hyper's client.
    Http(Request<Full<Bytes>>),
    /// Well-formed HTTP/1.1 with `Transfer-Encoding: chunked`, sent by hyper's client.
    Chunked(Request<ChunkedBody>),
    /// Raw bytes on a TCP connection: what hyper's client would not send.
    Raw(Vec<u8>),
    /// Raw bytes, then the write half of the connection shut.
    RawThenClose(Vec<u8>),
    /// A raw request head, then its body one byte every `every`.
    Trickle {
        head: Vec<u8>,
        body: Vec<u8>,
        every: Duration,
    },
}

/// A request body sent in chunks, with no `Content-Length`.
struct ChunkedBody(std::collections::VecDeque<Bytes>);

impl hyper::body::Body for ChunkedBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        std::task::Poll::Ready(self.0.pop_front().map(|chunk| Ok(Frame::data(chunk))))
    }
}

fn post(path: &str, headers: HeaderMap, body: impl Into<Bytes>) -> Wire {
    Wire::Http(request(Method::POST, path, headers, body))
}

fn request(
    method: Method,
    path: &str,
    headers: HeaderMap,
    body: impl Into<Bytes>,
) -> Request<Full<Bytes>> {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "localhost")
        .header("content-type", "application/json")
        .body(Full::new(body.into()))
        .unwrap();
    request.headers_mut().extend(headers);
    request
}

fn post_chunked(path: &str, headers: HeaderMap, body: &[u8], size: usize) -> Wire {
    let chunks = body.chunks(size).map(Bytes::copy_from_slice).collect();
    let mut request = Request::post(path)
        .header("host", "localhost")
        .body(ChunkedBody(chunks))
        .unwrap();
    request.headers_mut().extend(headers);
    Wire::Chunked(request)
}

/// A raw HTTP/1.1 request head: the request line, `Host`, the given header lines (as
/// they are, CR/LF and all), and the blank line.
fn raw_head(request_line: &str, lines: &[&[u8]]) -> Vec<u8> {
    let mut head = format!("{request_line}\r\nHost: localhost\r\n").into_bytes();
    for line in lines {
        head.extend_from_slice(line);
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"\r\n");
    head
}

/// A raw POST of `body` to `/webhooks` with its HopNow signature, `Content-Length`,
/// and the extra header lines.
fn raw_signed(body: &[u8], extra: &[&[u8]]) -> Vec<u8> {
    let signature = format!("X-Webhook-Signature: {}", hopnow_hex(CURRENT, body));
    let length = format!("Content-Length: {}", body.len());
    let mut lines: Vec<&[u8]> = vec![signature.as_bytes(), length.as_bytes()];
    lines.extend_from_slice(extra);
    let mut raw = raw_head("POST /webhooks HTTP/1.1", &lines);
    raw.extend_from_slice(body);
    raw
}

// ---------------------------------------------------------------------------------
// Answers
// ---------------------------------------------------------------------------------

/// What came back.
#[derive(Debug)]
enum Answer {
    Response {
        status: StatusCode,
        headers: HeaderMap,
        body: Bytes,
    },
    /// The connection closed (or reset) without a response.
    Closed(String),
    /// Nothing within [`HANG`].
    Hung,
}

impl Answer {
    fn code(&self) -> Option<String> {
        let Answer::Response { headers, body, .. } = self else {
            return None;
        };
        if headers.get("content-type")? != PROBLEM_JSON {
            return None;
        }
        let problem: serde_json::Value = serde_json::from_slice(body).ok()?;
        Some(problem["code"].as_str()?.to_owned())
    }

    fn describe(&self) -> String {
        match self {
            Answer::Response {
                status, headers, ..
            } => {
                let mut text = status.as_u16().to_string();
                if let Some(code) = self.code() {
                    text.push(' ');
                    text.push_str(&code);
                }
                if headers.get("idempotent-replayed").is_some() {
                    text.push_str(" (replayed)");
                }
                text
            }
            Answer::Closed(reason) => format!("closed ({reason})"),
            Answer::Hung => "hung".to_owned(),
        }
    }
}

/// What a row must get.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// The stack's own answer: this status and problem+json `code`.
    Problem(u16, &'static str),
    /// Axum's answer (no problem body): 404, 405.
    Status(u16),
    /// hyper's server refuses malformed HTTP: a 4xx without a problem body, or the
    /// connection closed, never the handler.
    Refused,
    /// A duplicate of a delivery already processed: its recorded 200 replayed with
    /// `Idempotent-Replayed: true`, the handler not run again.
    Replayed,
}

impl Expect {
    fn describe(self) -> String {
        match self {
            Expect::Problem(status, code) => format!("{status} {code}"),
            Expect::Status(status) => status.to_string(),
            Expect::Refused => "4xx or closed".to_owned(),
            Expect::Replayed => "200 (replayed)".to_owned(),
        }
    }

    fn matches(self, answer: &Answer) -> bool {
        match (self, answer) {
            (Expect::Problem(status, code), Answer::Response { status: got, .. }) => {
                got.as_u16() == status && answer.code().as_deref() == Some(code)
            }
            (Expect::Status(status), Answer::Response { status: got, .. }) => {
                got.as_u16() == status && answer.code().is_none()
            }
            (Expect::Refused, Answer::Response { status, .. }) => {
                status.is_client_error() && answer.code().is_none()
            }
            (Expect::Refused, Answer::Closed(_)) => true,
            (
                Expect::Replayed,
                Answer::Response {
                    status, headers, ..
                },
            ) => *status == StatusCode::OK && headers.get("idempotent-replayed").is_some(),
            _ => false,
        }
    }
}

async fn send(addr: SocketAddr, what: Wire) -> Answer {
    match tokio::time::timeout(HANG, send_now(addr, what)).await {
        Ok(answer) => answer,
        Err(_) => Answer::Hung,
    }
}

async fn send_now(addr: SocketAddr, what: Wire) -> Answer {
    match what {
        Wire::Http(request) => send_hyper(addr, request).await,
        Wire::Chunked(request) => send_hyper(addr, request).await,
        Wire::Raw(bytes) => send_raw(addr, &bytes, false).await,
        Wire::RawThenClose(bytes) => send_raw(addr, &bytes, true).await,
        Wire::Trickle { head, body, every } => {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            stream.write_all(&head).await.unwrap();
            let (mut read, mut write) = stream.into_split();
            let writer = tokio::spawn(async move {
                for byte in body {
                    tokio::time::sleep(every).await;
                    if write.write_all(&[byte]).await.is_err() {
                        break;
                    }
                }
                write
            });
            let answer = read_response(&mut read).await;
            writer.abort();
            answer
        }
    }
}

async fn send_hyper<B>(addr: SocketAddr, request: Request<B>) -> Answer
where
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) =
        match hyper::client::conn::http1::handshake(TokioIo::new(stream)).await {
            Ok(handshake) => handshake,
            Err(error) => return Answer::Closed(error.to_string()),
        };
    tokio::spawn(connection);
    let response = match sender.send_request(request).await {
        Ok(response) => response,
        Err(error) => return Answer::Closed(error.to_string()),
    };
    let (parts, body) = response.into_parts();
    match body.collect().await {
        Ok(collected) => Answer::Response {
            status: parts.status,
            headers: parts.headers,
            body: collected.to_bytes(),
        },
        Err(error) => Answer::Closed(format!("{} then {error}", parts.status)),
    }
}

async fn send_raw(addr: SocketAddr, bytes: &[u8], close: bool) -> Answer {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    // The server may answer and close before it has read everything: keep going to
    // read what it said.
    let _ = stream.write_all(bytes).await;
    if close {
        let _ = stream.shutdown().await;
    }
    read_response(&mut stream).await
}

/// Reads one HTTP/1.1 response: status line, headers, and a `Content-Length` body.
async fn read_response(stream: &mut (impl AsyncReadExt + Unpin)) -> Answer {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(end) = find(&buffer, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buffer[..end]).into_owned();
            let mut lines = head.split("\r\n");
            let status_line = lines.next().unwrap_or_default();
            let Some(status) = status_line
                .split(' ')
                .nth(1)
                .and_then(|code| code.parse::<u16>().ok())
                .and_then(|code| StatusCode::from_u16(code).ok())
            else {
                return Answer::Closed(format!("unparsable response {status_line:?}"));
            };
            let mut headers = HeaderMap::new();
            for line in lines {
                if let Some((name, value)) = line.split_once(':') {
                    if let (Ok(name), Ok(value)) = (
                        HeaderName::from_bytes(name.trim().as_bytes()),
                        HeaderValue::from_str(value.trim()),
                    ) {
                        headers.append(name, value);
                    }
                }
            }
            let length: usize = headers
                .get("content-length")
                .and_then(|value| value.to_str().ok()?.parse().ok())
                .unwrap_or(0);
            let mut body = buffer[end + 4..].to_vec();
            while body.len() < length {
                match stream.read(&mut chunk).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => body.extend_from_slice(&chunk[..n]),
                }
            }
            body.truncate(length);
            return Answer::Response {
                status,
                headers,
                body: Bytes::from(body),
            };
        }
        match stream.read(&mut chunk).await {
            Ok(0) => return Answer::Closed("end of stream".to_owned()),
            Err(error) => return Answer::Closed(error.to_string()),
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

// ---------------------------------------------------------------------------------
// The catalogue
// ---------------------------------------------------------------------------------

struct Row {
    name: &'static str,
    send: Wire,
    expect: Expect,
}

fn row(name: &'static str, expect: Expect, send: Wire) -> Row {
    Row { name, send, expect }
}

/// A delivery captured from the wire earlier, for the replay rows: processed once by
/// the controls, then sent again by the table.
struct Captured {
    body: Vec<u8>,
    signature: String,
}

/// The hostile rows, each with its documented answer. `captured` was processed
/// already (a control).
fn catalogue(captured: &Captured) -> Vec<Row> {
    let t = now();
    // A valid ping padded to `size` bytes.
    let big = |size: usize| {
        let id = fresh_id();
        let empty = event_body(&id, "ping", r#"{"pad":""}"#).len();
        let pad = "x".repeat(size - empty);
        event_body(&id, "ping", &format!(r#"{{"pad":"{pad}"}}"#))
    };
    let oversized = big(LIMIT + 1);
    assert_eq!(oversized.len(), LIMIT + 1);
    let oversized_chunked = big(LIMIT + 16 * 1024);

    // A payout.created the typed handler would accept, for the rows that change one
    // thing about it.
    let payout = |data: &str| event_body(&fresh_id(), "payout.created", data);
    let good_payout = r#"{"payout_id":"po_1","amount":1200}"#;

    // Bodies that are signed correctly but hostile.
    let invalid_utf8_data = {
        let mut body = format!(
            r#"{{"id":"{}","type":"ping","created":{t},"data":{{"note":""#,
            fresh_id()
        )
        .into_bytes();
        body.extend_from_slice(b"caf\xff\xfe");
        body.extend_from_slice(b"\"}}");
        body
    };
    let invalid_utf8_id =
        b"{\"id\":\"evt_\xc3\x28\",\"type\":\"ping\",\"created\":1,\"data\":{}}".to_vec();
    let nested_whole = "[".repeat(10_000).into_bytes();
    let nested_data = format!(
        r#"{{"id":"{}","type":"ping","created":{t},"data":{}{}}}"#,
        fresh_id(),
        "[".repeat(10_000),
        "]".repeat(10_000)
    )
    .into_bytes();
    let nested_objects = format!(
        r#"{{"id":"{}","type":"ping","created":{t},"data":{}1{}}}"#,
        fresh_id(),
        r#"{"a":"#.repeat(5_000),
        "}".repeat(5_000)
    )
    .into_bytes();
    let long_id = event_body(&"x".repeat(10 * 1024), "ping", "{}");
    let float_id = format!(r#"{{"id":1.5,"type":"ping","created":{t},"data":{{}}}}"#).into_bytes();
    let huge_int_id = format!(
        r#"{{"id":123456789012345678901234567890,"type":"ping","created":{t},"data":{{}}}}"#
    )
    .into_bytes();
    let object_id =
        format!(r#"{{"id":{{"$gt":""}},"type":"ping","created":{t},"data":{{}}}}"#).into_bytes();
    let null_id = format!(r#"{{"id":null,"type":"ping","created":{t},"data":{{}}}}"#).into_bytes();
    let duplicate_id = format!(
        r#"{{"id":"{}","id":"{}","type":"ping","created":{t},"data":{{}}}}"#,
        fresh_id(),
        fresh_id()
    )
    .into_bytes();
    let duplicate_type = format!(
        r#"{{"id":"{}","type":"ping","type":"payout.created","created":{t},"data":{{}}}}"#,
        fresh_id()
    )
    .into_bytes();
    let missing_type =
        format!(r#"{{"id":"{}","created":{t},"data":{{}}}}"#, fresh_id()).into_bytes();
    let number_type = format!(
        r#"{{"id":"{}","type":5,"created":{t},"data":{{}}}}"#,
        fresh_id()
    )
    .into_bytes();
    let missing_created =
        format!(r#"{{"id":"{}","type":"ping","data":{{}}}}"#, fresh_id()).into_bytes();
    let bad_created = format!(
        r#"{{"id":"{}","type":"ping","created":"yesterday","data":{{}}}}"#,
        fresh_id()
    )
    .into_bytes();
    let trailing_garbage = {
        let mut body = ping();
        body.extend_from_slice(b" {\"id\":\"evt_smuggled\"}");
        body
    };
    let raw_nul = {
        let mut body = format!(
            r#"{{"id":"{}","type":"ping","created":{t},"data":{{"n":""#,
            fresh_id()
        )
        .into_bytes();
        body.extend_from_slice(b"a\0b\"}}");
        body
    };
    let nul_before = {
        let mut body = b"\0".to_vec();
        body.extend_from_slice(&ping());
        body
    };

    // Signatures.
    let body = ping();
    let good = hopnow_hex(CURRENT, &body);
    let upper_wrong = hopnow_hex(RETIRED, &body).to_uppercase();
    let base64_of_good = encode_base64(&decode_hex_tag(&good).unwrap());

    // Stripe.
    let stripe_body = ping();
    let stripe_at = |timestamp: i64| sign(Stripe, STRIPE, &stripe_body, timestamp, "");
    let stripe_raw = |value: &str| header("stripe-signature", value);
    let stripe_good_hex = {
        let headers = stripe_at(t);
        let value = headers["stripe-signature"].to_str().unwrap().to_owned();
        value.split_once(",v1=").unwrap().1.to_owned()
    };

    // Standard Webhooks.
    let standard_body = ping();
    let standard_id = fresh_id();
    let standard_at = |timestamp: i64| {
        sign(
            StandardWebhooks,
            STANDARD,
            &standard_body,
            timestamp,
            &standard_id,
        )
    };
    let standard_with = |name: &'static str, value: &str| {
        let mut headers = standard_at(t);
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_str(value).unwrap(),
        );
        headers
    };

    // Shopify.
    let shopify_body = ping();
    let shopify_good = sign(Shopify, SHOPIFY, &shopify_body, 0, "")["x-shopify-hmac-sha256"]
        .to_str()
        .unwrap()
        .to_owned();
    let shopify_hex: String = decode_base64_tag(&shopify_good)
        .unwrap()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();

    vec![
        // ---- Size, time and framing -------------------------------------------
        // 413 by `Content-Length`, before a byte of the body is read.
        row(
            "oversized body by Content-Length (64 KiB + 1, signed)",
            Problem(413, "payload_too_large"),
            post("/webhooks", hopnow(&oversized), oversized.clone()),
        ),
        row(
            "Content-Length of 1 TB, no body sent",
            Problem(413, "payload_too_large"),
            Wire::Raw(raw_head(
                "POST /webhooks HTTP/1.1",
                &[b"X-Webhook-Signature: 00", b"Content-Length: 1000000000000"],
            )),
        ),
        // `Expect: 100-continue`: hyper sends `100 Continue` only when the body is
        // polled, and the stack refuses on the length without polling it (the first
        // status line read is the 413, not a 100).
        row(
            "Expect: 100-continue with an oversized Content-Length",
            Problem(413, "payload_too_large"),
            Wire::Raw(raw_head(
                "POST /webhooks HTTP/1.1",
                &[
                    b"X-Webhook-Signature: 00",
                    b"Content-Length: 10000000",
                    b"Expect: 100-continue",
                ],
            )),
        ),
        row(
            "oversized chunked body (80 KiB in 4 KiB chunks, signed, no length)",
            Problem(413, "payload_too_large"),
            post_chunked(
                "/webhooks",
                hopnow(&oversized_chunked),
                &oversized_chunked,
                4096,
            ),
        ),
        row(
            "one chunk declared larger than the limit",
            Problem(413, "payload_too_large"),
            Wire::Raw({
                let mut raw = raw_head(
                    "POST /webhooks HTTP/1.1",
                    &[b"X-Webhook-Signature: 00", b"Transfer-Encoding: chunked"],
                );
                raw.extend_from_slice(b"20000\r\n");
                raw.extend(std::iter::repeat_n(b'x', LIMIT + 1));
                raw
            }),
        ),
        // Slow-loris: one byte every 150 ms of a 100-byte body; the whole body must
        // arrive within the read timeout (1 s).
        row(
            "slow-loris body (1 byte / 150 ms)",
            Problem(408, "body_timeout"),
            Wire::Trickle {
                head: raw_head(
                    "POST /webhooks HTTP/1.1",
                    &[b"X-Webhook-Signature: 00", b"Content-Length: 100"],
                ),
                body: vec![b' '; 100],
                every: Duration::from_millis(150),
            },
        ),
        row(
            "headers, then silence (Content-Length: 50, no body)",
            Problem(408, "body_timeout"),
            Wire::Trickle {
                head: raw_head(
                    "POST /webhooks HTTP/1.1",
                    &[b"X-Webhook-Signature: 00", b"Content-Length: 50"],
                ),
                body: Vec::new(),
                every: Duration::ZERO,
            },
        ),
        // The body ends early: hyper reports an incomplete body, the stack 400.
        row(
            "Content-Length larger than the body, then close",
            Problem(400, "invalid_body"),
            Wire::RawThenClose({
                let body = ping();
                let mut raw = raw_signed(&body, &[]);
                // Claim 100 bytes more than sent.
                let claimed = format!("Content-Length: {}", body.len() + 100);
                let real = format!("Content-Length: {}", body.len());
                let text = String::from_utf8(raw).unwrap().replace(&real, &claimed);
                raw = text.into_bytes();
                raw
            }),
        ),
        row(
            "chunk size that is not hex",
            Problem(400, "invalid_body"),
            Wire::Raw({
                let mut raw = raw_head(
                    "POST /webhooks HTTP/1.1",
                    &[b"X-Webhook-Signature: 00", b"Transfer-Encoding: chunked"],
                );
                raw.extend_from_slice(b"zz\r\nhello\r\n0\r\n\r\n");
                raw
            }),
        ),
        row(
            "chunk size that overflows 64 bits",
            Problem(400, "invalid_body"),
            Wire::Raw({
                let mut raw = raw_head(
                    "POST /webhooks HTTP/1.1",
                    &[b"X-Webhook-Signature: 00", b"Transfer-Encoding: chunked"],
                );
                raw.extend_from_slice(b"fffffffffffffffffff\r\nhello\r\n0\r\n\r\n");
                raw
            }),
        ),
        // Request smuggling shapes: hyper refuses them before any service runs.
        row(
            "two different Content-Length headers",
            Refused,
            Wire::Raw({
                let body = ping();
                raw_signed(&body, &[b"Content-Length: 5"])
            }),
        ),
        // hyper reads a request with both as chunked (the Transfer-Encoding
        // overrides the Content-Length, RFC 9112 section 6.1); this JSON is not valid
        // chunked framing, so the stack sees a body error: 400 `invalid_body`.
        row(
            "Content-Length and Transfer-Encoding: chunked, body not chunked (smuggling)",
            Problem(400, "invalid_body"),
            Wire::Raw({
                let body = ping();
                let mut raw = raw_head(
                    "POST /webhooks HTTP/1.1",
                    &[
                        format!("X-Webhook-Signature: {}", hopnow_hex(CURRENT, &body)).as_bytes(),
                        format!("Content-Length: {}", body.len()).as_bytes(),
                        b"Transfer-Encoding: chunked",
                    ],
                );
                raw.extend_from_slice(&body);
                raw
            }),
        ),
        row(
            "negative Content-Length",
            Refused,
            Wire::Raw(raw_head(
                "POST /webhooks HTTP/1.1",
                &[b"X-Webhook-Signature: 00", b"Content-Length: -1"],
            )),
        ),
        // ---- Header injection and malformed heads (raw) -------------------------
        row(
            "CR inside a header value (X-Note: ab\\rX-Injected: 1)",
            Refused,
            Wire::Raw({
                let body = ping();
                raw_signed(&body, &[b"X-Note: ab\rX-Injected: 1"])
            }),
        ),
        // httparse accepts a bare LF as a line end (RFC 9112 section 2.2 allows it),
        // so this is two signature headers with different values: the stack refuses
        // them as conflicting rather than picking one.
        row(
            "bare LF splitting a signature header in two (00, then the right one)",
            Problem(400, "conflicting_headers"),
            Wire::Raw({
                let body = ping();
                let good = hopnow_hex(CURRENT, &body);
                let line = format!("X-Webhook-Signature: 00\nX-Webhook-Signature: {good}");
                let mut raw = raw_head(
                    "POST /webhooks HTTP/1.1",
                    &[
                        line.as_bytes(),
                        format!("Content-Length: {}", body.len()).as_bytes(),
                    ],
                );
                raw.extend_from_slice(&body);
                raw
            }),
        ),
        row(
            "obs-fold: a header continued on the next line",
            Refused,
            Wire::Raw({
                let body = ping();
                raw_signed(&body, &[b"X-Note: first\r\n second"])
            }),
        ),
        row(
            "NUL byte in a header value",
            Refused,
            Wire::Raw({
                let body = ping();
                raw_signed(&body, &[b"X-Note: a\0b"])
            }),
        ),
        row(
            "space between a header name and the colon",
            Refused,
            Wire::Raw({
                let body = ping();
                raw_signed(&body, &[b"X-Webhook-Signature : 00"])
            }),
        ),
        row(
            "500 headers",
            Refused,
            Wire::Raw({
                let body = ping();
                let lines: Vec<String> = (0..500).map(|i| format!("X-Filler-{i}: {i}")).collect();
                let refs: Vec<&[u8]> = lines.iter().map(|line| line.as_bytes()).collect();
                raw_signed(&body, &refs)
            }),
        ),
        row(
            "a 1 MiB header value (past hyper's buffer)",
            Refused,
            Wire::Raw({
                let body = ping();
                let line = format!("X-Note: {}", "a".repeat(1024 * 1024));
                raw_signed(&body, &[line.as_bytes()])
            }),
        ),
        row(
            "a 100 KiB request target",
            Refused,
            Wire::Raw(raw_head(
                &format!("POST /webhooks?{} HTTP/1.1", "a".repeat(100 * 1024)),
                &[b"Content-Length: 0"],
            )),
        ),
        row(
            "not HTTP at all",
            Refused,
            Wire::Raw(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 hello\r\n\r\n".to_vec()),
        ),
        row(
            "HTTP/2.0 in an HTTP/1 request line",
            Refused,
            Wire::Raw(raw_head("POST /webhooks HTTP/2.0", &[b"Content-Length: 0"])),
        ),
        // ---- Signature headers -------------------------------------------------
        row(
            "no signature header",
            Problem(401, "missing_signature"),
            post("/webhooks", HeaderMap::new(), ping()),
        ),
        row(
            "empty signature",
            Problem(400, "malformed_signature"),
            post("/webhooks", header("x-webhook-signature", ""), ping()),
        ),
        row(
            "signature of another body",
            Problem(401, "signature_mismatch"),
            post("/webhooks", hopnow(&ping()), ping()),
        ),
        row(
            "signature with a different key",
            Problem(401, "signature_mismatch"),
            post(
                "/webhooks",
                sign(HopNow, "a guess", &body, 0, ""),
                body.clone(),
            ),
        ),
        row(
            "signed with a rotated-out secret",
            Problem(401, "signature_mismatch"),
            post(
                "/webhooks",
                sign(HopNow, RETIRED, &body, 0, ""),
                body.clone(),
            ),
        ),
        row(
            "truncated signature (63 hex digits)",
            Problem(400, "malformed_signature"),
            post(
                "/webhooks",
                header("x-webhook-signature", &good[..63]),
                body.clone(),
            ),
        ),
        row(
            "over-long signature (66 hex digits: the right one + 00)",
            Problem(400, "malformed_signature"),
            post(
                "/webhooks",
                header("x-webhook-signature", &format!("{good}00")),
                body.clone(),
            ),
        ),
        row(
            "a 60 KiB signature",
            Problem(400, "malformed_signature"),
            post(
                "/webhooks",
                header("x-webhook-signature", &"ab".repeat(30 * 1024)),
                body.clone(),
            ),
        ),
        // Hex is read in either case (documented); a wrong signature in upper case
        // is still wrong.
        row(
            "uppercase hex of a wrong signature",
            Problem(401, "signature_mismatch"),
            post(
                "/webhooks",
                header("x-webhook-signature", &upper_wrong),
                body.clone(),
            ),
        ),
        row(
            "base64 where hex is expected (the right tag)",
            Problem(400, "malformed_signature"),
            post(
                "/webhooks",
                header("x-webhook-signature", &base64_of_good),
                body.clone(),
            ),
        ),
        row(
            "GitHub-style `sha256=` prefix on the right signature",
            Problem(400, "malformed_signature"),
            post(
                "/webhooks",
                header("x-webhook-signature", &format!("sha256={good}")),
                body.clone(),
            ),
        ),
        row(
            "bytes above 0x7F in the signature header",
            Problem(400, "malformed_header"),
            post(
                "/webhooks",
                with(
                    HeaderMap::new(),
                    "x-webhook-signature",
                    HeaderValue::from_bytes(b"\xe9\xe9").unwrap(),
                ),
                body.clone(),
            ),
        ),
        row(
            "two signature headers: the right one, then a forgery",
            Problem(400, "conflicting_headers"),
            post(
                "/webhooks",
                with(
                    hopnow(&body),
                    "x-webhook-signature",
                    HeaderValue::from_static("00"),
                ),
                body.clone(),
            ),
        ),
        row(
            "two signature headers: a forgery, then the right one",
            Problem(400, "conflicting_headers"),
            post(
                "/webhooks",
                with(
                    header("x-webhook-signature", &"0".repeat(64)),
                    "x-webhook-signature",
                    HeaderValue::from_str(&good).unwrap(),
                ),
                body.clone(),
            ),
        ),
        // ---- Replays -------------------------------------------------------------
        // A captured delivery sent again: HopNow signs no timestamp, so only
        // idempotency stands between a replay and a second run. It answers with
        // the recorded response; the handler does not run.
        row(
            "replay of a processed delivery",
            Replayed,
            post(
                "/webhooks",
                header("x-webhook-signature", &captured.signature),
                captured.body.clone(),
            ),
        ),
        row(
            "replay of a processed delivery, signature re-encoded in upper case",
            Replayed,
            post(
                "/webhooks",
                header("x-webhook-signature", &captured.signature.to_uppercase()),
                captured.body.clone(),
            ),
        ),
        // ---- Bodies that verify but are not events ---------------------------------
        // The idempotency layer reads the id before the event router parses the
        // body, so a body without a usable top-level id stops there (400
        // `missing_event_id`); a body with one goes on to the router's parser.
        row(
            "invalid UTF-8 inside `data` (signed)",
            Problem(400, "malformed_json"),
            post(
                "/webhooks",
                hopnow(&invalid_utf8_data),
                invalid_utf8_data.clone(),
            ),
        ),
        row(
            "invalid UTF-8 inside the id (signed)",
            Problem(400, "missing_event_id"),
            post(
                "/webhooks",
                hopnow(&invalid_utf8_id),
                invalid_utf8_id.clone(),
            ),
        ),
        row(
            "10,000 `[` as the whole body (signed)",
            Problem(400, "missing_event_id"),
            post("/webhooks", hopnow(&nested_whole), nested_whole.clone()),
        ),
        // serde_json stops at 128 levels: "recursion limit exceeded", a syntax error.
        row(
            "10,000 nested arrays inside `data` (signed)",
            Problem(400, "malformed_json"),
            post("/webhooks", hopnow(&nested_data), nested_data.clone()),
        ),
        row(
            "5,000 nested objects inside `data` (signed)",
            Problem(400, "malformed_json"),
            post("/webhooks", hopnow(&nested_objects), nested_objects.clone()),
        ),
        // Longer than the idempotency layer's 256-byte key limit.
        row(
            "an id of 10 KiB (signed)",
            Problem(400, "invalid_event_id"),
            post("/webhooks", hopnow(&long_id), long_id.clone()),
        ),
        // An id is a string or an integer; a float, an object, null, or an integer
        // past 64 bits is no id.
        row(
            "a float as the id (signed)",
            Problem(400, "missing_event_id"),
            post("/webhooks", hopnow(&float_id), float_id.clone()),
        ),
        row(
            "a 30-digit integer as the id (signed)",
            Problem(400, "missing_event_id"),
            post("/webhooks", hopnow(&huge_int_id), huge_int_id.clone()),
        ),
        row(
            "an object as the id (signed)",
            Problem(400, "missing_event_id"),
            post("/webhooks", hopnow(&object_id), object_id.clone()),
        ),
        row(
            "null as the id (signed)",
            Problem(400, "missing_event_id"),
            post("/webhooks", hopnow(&null_id), null_id.clone()),
        ),
        // Two ids: which one is the event? Neither (no id), rather than a guess a
        // second parser might not share.
        row(
            "two `id` members (signed)",
            Problem(400, "missing_event_id"),
            post("/webhooks", hopnow(&duplicate_id), duplicate_id.clone()),
        ),
        row(
            "two `type` members (signed)",
            Problem(422, "invalid_envelope"),
            post("/webhooks", hopnow(&duplicate_type), duplicate_type.clone()),
        ),
        // 422: well-formed JSON (so not 400) whose envelope does not match.
        row(
            "`type` missing (signed)",
            Problem(422, "invalid_envelope"),
            post("/webhooks", hopnow(&missing_type), missing_type.clone()),
        ),
        row(
            "`type` a number (signed)",
            Problem(422, "invalid_envelope"),
            post("/webhooks", hopnow(&number_type), number_type.clone()),
        ),
        row(
            "`created` missing, and HopNow signs no timestamp (signed)",
            Problem(422, "invalid_envelope"),
            post(
                "/webhooks",
                hopnow(&missing_created),
                missing_created.clone(),
            ),
        ),
        row(
            "`created` neither Unix seconds nor RFC 3339 (signed)",
            Problem(422, "invalid_envelope"),
            post("/webhooks", hopnow(&bad_created), bad_created.clone()),
        ),
        row(
            "`data` of the wrong shape for the typed handler (signed)",
            Problem(422, "invalid_data"),
            {
                let body = payout(r#"{"payout_id":"po_1","amount":"12"}"#);
                post("/webhooks", hopnow(&body), body)
            },
        ),
        row(
            "`data` missing for the typed handler (signed)",
            Problem(422, "invalid_envelope"),
            {
                let body = format!(
                    r#"{{"id":"{}","type":"payout.created","created":{t}}}"#,
                    fresh_id()
                )
                .into_bytes();
                post("/webhooks", hopnow(&body), body)
            },
        ),
        row(
            "`data.payout_id` a number for the typed handler (signed)",
            Problem(422, "invalid_data"),
            {
                let body = payout(r#"{"payout_id":7,"amount":1200}"#);
                post("/webhooks", hopnow(&body), body)
            },
        ),
        row(
            "valid JSON, not an object: an array (signed)",
            Problem(400, "missing_event_id"),
            post("/webhooks", hopnow(b"[1,2,3]"), &b"[1,2,3]"[..]),
        ),
        row(
            "valid JSON, not an object: a string (signed)",
            Problem(400, "missing_event_id"),
            post("/webhooks", hopnow(br#""evt_1""#), &br#""evt_1""#[..]),
        ),
        row(
            "empty body (signed)",
            Problem(400, "missing_event_id"),
            post("/webhooks", hopnow(b""), Bytes::new()),
        ),
        // The idempotency layer's id reader checks that the whole body is one JSON
        // document and finds no id in one that is not: 400 before the parser.
        row(
            "a second JSON document after the event (signed)",
            Problem(400, "missing_event_id"),
            post(
                "/webhooks",
                hopnow(&trailing_garbage),
                trailing_garbage.clone(),
            ),
        ),
        // A raw control byte in a string is invalid JSON, which the id reader
        // already sees (invalid UTF-8 inside a string it skips, it does not: that one
        // reaches the parser, above).
        row(
            "raw NUL byte inside a string in `data` (signed)",
            Problem(400, "missing_event_id"),
            post("/webhooks", hopnow(&raw_nul), raw_nul.clone()),
        ),
        row(
            "NUL byte before the JSON (signed)",
            Problem(400, "missing_event_id"),
            post("/webhooks", hopnow(&nul_before), nul_before.clone()),
        ),
        // ---- Method and path (axum's answers) ------------------------------------
        // The stack wraps the route's method router, so a signed GET is verified,
        // then axum answers 405 (idempotency releases the 4xx: nothing recorded).
        row("GET with a valid delivery", Status(405), {
            let body = ping();
            Wire::Http(request(Method::GET, "/webhooks", hopnow(&body), body))
        }),
        row("PUT with a valid delivery", Status(405), {
            let body = ping();
            Wire::Http(request(Method::PUT, "/webhooks", hopnow(&body), body))
        }),
        row("wrong path (/webhook)", Status(404), {
            let body = ping();
            post("/webhook", hopnow(&body), body)
        }),
        row(
            "wrong path (/webhooks/ with a trailing slash)",
            Status(404),
            {
                let body = ping();
                post("/webhooks/", hopnow(&body), body)
            },
        ),
        row(
            "path traversal (/x/../webhooks, not normalised)",
            Status(404),
            {
                let body = ping();
                post("/x/../webhooks", hopnow(&body), body)
            },
        ),
        // ---- Stripe: signed timestamps ---------------------------------------------
        row(
            "Stripe: timestamp one hour in the future",
            Problem(401, "timestamp_out_of_tolerance"),
            post("/stripe", stripe_at(t + 3600), stripe_body.clone()),
        ),
        row(
            "Stripe: timestamp one day in the past",
            Problem(401, "timestamp_out_of_tolerance"),
            post("/stripe", stripe_at(t - 86_400), stripe_body.clone()),
        ),
        row(
            "Stripe: replay of a delivery captured 301 s ago",
            Problem(401, "timestamp_out_of_tolerance"),
            post("/stripe", stripe_at(t - 301), stripe_body.clone()),
        ),
        row(
            "Stripe: t=0",
            Problem(401, "timestamp_out_of_tolerance"),
            post("/stripe", stripe_at(0), stripe_body.clone()),
        ),
        row(
            "Stripe: t=999999999999999999 (18 digits, year 3e10)",
            Problem(401, "timestamp_out_of_tolerance"),
            post(
                "/stripe",
                stripe_at(999_999_999_999_999_999),
                stripe_body.clone(),
            ),
        ),
        row(
            "Stripe: a 19-digit timestamp (past i64 parsing)",
            Problem(400, "malformed_header"),
            post(
                "/stripe",
                stripe_raw(&format!("t=9999999999999999999,v1={stripe_good_hex}")),
                stripe_body.clone(),
            ),
        ),
        row(
            "Stripe: negative timestamp",
            Problem(400, "malformed_header"),
            post(
                "/stripe",
                stripe_raw(&format!("t=-1,v1={stripe_good_hex}")),
                stripe_body.clone(),
            ),
        ),
        // The timestamp is signed: moving it breaks the signature.
        row(
            "Stripe: a fresh timestamp on a signature made 10 minutes ago",
            Problem(401, "signature_mismatch"),
            {
                let old = stripe_at(t - 600)["stripe-signature"]
                    .to_str()
                    .unwrap()
                    .to_owned();
                let tag = old.split_once(",v1=").unwrap().1.to_owned();
                post(
                    "/stripe",
                    stripe_raw(&format!("t={t},v1={tag}")),
                    stripe_body.clone(),
                )
            },
        ),
        row(
            "Stripe: two `t=` items",
            Problem(400, "malformed_header"),
            post(
                "/stripe",
                stripe_raw(&format!("t={t},t={},v1={stripe_good_hex}", t - 600)),
                stripe_body.clone(),
            ),
        ),
        row(
            "Stripe: only a `v0=` signature",
            Problem(401, "missing_signature"),
            post(
                "/stripe",
                stripe_raw(&format!("t={t},v0={stripe_good_hex}")),
                stripe_body.clone(),
            ),
        ),
        row(
            "Stripe: bare `v1=`",
            Problem(400, "malformed_signature"),
            post(
                "/stripe",
                stripe_raw(&format!("t={t},v1=")),
                stripe_body.clone(),
            ),
        ),
        // Every `v1` must be well formed, even next to a good one.
        row(
            "Stripe: the right v1 plus a malformed one",
            Problem(400, "malformed_signature"),
            post(
                "/stripe",
                stripe_raw(&format!("t={t},v1={stripe_good_hex},v1=abc")),
                stripe_body.clone(),
            ),
        ),
        // ---- Standard Webhooks -------------------------------------------------------
        // svix#1190: comparing up to the shorter length let `v1,` pass.
        row(
            "Standard: bare `v1,`",
            Problem(400, "malformed_signature"),
            post(
                "/standard",
                standard_with("webhook-signature", "v1,"),
                standard_body.clone(),
            ),
        ),
        row(
            "Standard: timestamp 10 minutes in the future",
            Problem(401, "timestamp_out_of_tolerance"),
            post("/standard", standard_at(t + 600), standard_body.clone()),
        ),
        row(
            "Standard: replay of a delivery captured an hour ago",
            Problem(401, "timestamp_out_of_tolerance"),
            post("/standard", standard_at(t - 3600), standard_body.clone()),
        ),
        // The id is signed: a replay under a new id (to dodge idempotency) fails.
        row(
            "Standard: webhook-id swapped for a fresh one",
            Problem(401, "signature_mismatch"),
            post(
                "/standard",
                standard_with("webhook-id", &fresh_id()),
                standard_body.clone(),
            ),
        ),
        row(
            "Standard: webhook-id missing",
            Problem(400, "missing_header"),
            {
                let mut headers = standard_at(t);
                headers.remove("webhook-id");
                post("/standard", headers, standard_body.clone())
            },
        ),
        row(
            "Standard: two different webhook-id headers",
            Problem(400, "conflicting_headers"),
            post(
                "/standard",
                with(
                    standard_at(t),
                    "webhook-id",
                    HeaderValue::from_static("msg_other"),
                ),
                standard_body.clone(),
            ),
        ),
        row(
            "Standard: webhook-timestamp not a number",
            Problem(400, "malformed_header"),
            post(
                "/standard",
                standard_with("webhook-timestamp", "soon"),
                standard_body.clone(),
            ),
        ),
        row(
            "Standard: hex where base64 is expected",
            Problem(400, "malformed_signature"),
            post(
                "/standard",
                standard_with("webhook-signature", &format!("v1,{}", "ab".repeat(32))),
                standard_body.clone(),
            ),
        ),
        row(
            "Standard: only a `v2,` signature",
            Problem(401, "missing_signature"),
            {
                let good = standard_at(t)["webhook-signature"]
                    .to_str()
                    .unwrap()
                    .replace("v1,", "v2,");
                post(
                    "/standard",
                    standard_with("webhook-signature", &good),
                    standard_body.clone(),
                )
            },
        ),
        // ---- Shopify (base64) ------------------------------------------------------------
        row(
            "Shopify: hex where base64 is expected (the right tag)",
            Problem(400, "malformed_signature"),
            post(
                "/shopify",
                header("x-shopify-hmac-sha256", &shopify_hex),
                shopify_body.clone(),
            ),
        ),
        row(
            "Shopify: base64 without its padding",
            Problem(400, "malformed_signature"),
            post(
                "/shopify",
                header("x-shopify-hmac-sha256", shopify_good.trim_end_matches('=')),
                shopify_body.clone(),
            ),
        ),
        row(
            "Shopify: signature with another key",
            Problem(401, "signature_mismatch"),
            post(
                "/shopify",
                sign(Shopify, "a guess", &shopify_body, 0, ""),
                shopify_body.clone(),
            ),
        ),
        row(
            "a payout with a good signature for the wrong route (HopNow tag on /stripe)",
            Problem(401, "missing_signature"),
            {
                let body = payout(good_payout);
                post("/stripe", hopnow(&body), body)
            },
        ),
    ]
}

/// Sends a valid delivery and asserts it reached a handler exactly once, with `id`.
async fn control(
    addr: SocketAddr,
    runs: &Runs,
    path: &str,
    headers: HeaderMap,
    body: Vec<u8>,
    id: &str,
) {
    let before = runs.count();
    let answer = send(addr, post(path, headers, body)).await;
    assert_eq!(answer.describe(), "200", "control {path} {id}");
    assert_eq!(runs.count(), before + 1, "control {path} {id}: one run");
    assert_eq!(runs.last_id().as_deref(), Some(id), "control {path}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_hostile_request_reaches_a_handler() {
    let (addr, runs) = serve().await;

    // Controls: a valid delivery per route, one under the previous key and one for
    // the typed handler, each reaches a handler exactly once. The first is also
    // captured, for the replay rows.
    let event = MockEvent::new("ping");
    let id = event.id.clone();
    let (headers, body) = event.sign(HopNow, CURRENT).parts().unwrap();
    let captured = Captured {
        body: body.to_vec(),
        signature: headers["x-webhook-signature"].to_str().unwrap().to_owned(),
    };
    control(addr, &runs, "/webhooks", headers, body.to_vec(), &id).await;
    let payout = serde_json::json!({"payout_id": "po_1", "amount": 1200});
    let others: [(&str, Box<dyn Scheme>, &str, MockEvent); 5] = [
        // The previous key is still in the keyring during the rotation.
        (
            "/webhooks",
            Box::new(HopNow),
            PREVIOUS,
            MockEvent::new("ping"),
        ),
        // The typed handler (it records `<id>/<payout_id>/<amount>`).
        (
            "/webhooks",
            Box::new(HopNow),
            CURRENT,
            MockEvent::new("payout.created").data(payout),
        ),
        ("/stripe", Box::new(Stripe), STRIPE, MockEvent::new("ping")),
        (
            "/standard",
            Box::new(StandardWebhooks),
            STANDARD,
            MockEvent::new("ping"),
        ),
        (
            "/shopify",
            Box::new(Shopify),
            SHOPIFY,
            MockEvent::new("ping"),
        ),
    ];
    for (path, scheme, secret, event) in others {
        let mut id = event.id.clone();
        if event.event_type == "payout.created" {
            id.push_str("/po_1/1200");
        }
        let (headers, body) = event.sign(scheme, secret).parts().unwrap();
        control(addr, &runs, path, headers, body.to_vec(), &id).await;
    }
    let controls = runs.count();
    assert_eq!(controls, 6);

    let rows = catalogue(&captured);
    let total = rows.len();
    assert!(total >= 40, "the catalogue has {total} rows");
    let mut failures = Vec::new();
    eprintln!("{:<78} | {:<32} | actual", "request", "expected");
    for Row {
        name,
        send: what,
        expect,
    } in rows
    {
        let before = runs.count();
        let started = Instant::now();
        let answer = send(addr, what).await;
        let elapsed = started.elapsed();
        let ran = runs.count() - before;
        let ok = expect.matches(&answer) && ran == 0;
        eprintln!(
            "{:<78} | {:<32} | {}{}{}",
            name,
            expect.describe(),
            answer.describe(),
            if ran > 0 {
                format!(" HANDLER RAN {ran}x")
            } else {
                String::new()
            },
            if ok {
                String::new()
            } else {
                format!("   <-- MISMATCH ({elapsed:?})")
            }
        );
        if let Answer::Response { body, .. } = &answer {
            let text = String::from_utf8_lossy(body);
            for secret in SECRETS {
                assert!(!text.contains(secret), "{name}: the answer leaks a secret");
            }
        }
        if !ok {
            failures.push(format!(
                "{name}: expected {}, got {}{}",
                expect.describe(),
                answer.describe(),
                if ran > 0 { " and the handler ran" } else { "" }
            ));
        }
    }
    assert_eq!(
        runs.count(),
        controls,
        "no hostile request reached a handler"
    );
    assert!(
        failures.is_empty(),
        "{} of {total} rows failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Signed deliveries that look odd but are authentic: the stack processes each once,
/// by design. (A forged variant of each is in the catalogue.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authentic_oddities_are_processed_once() {
    let (addr, runs) = serve().await;
    let t = now();

    // An id may be a string or an integer (envelope and idempotency key alike).
    let id = t.to_string();
    let body = format!(r#"{{"id":{id},"type":"ping","created":{t},"data":{{}}}}"#).into_bytes();
    let answer = send(addr, post("/webhooks", hopnow(&body), body.clone())).await;
    assert_eq!(answer.describe(), "200");
    assert_eq!((runs.count(), runs.last_id()), (1, Some(id)));
    let again = send(addr, post("/webhooks", hopnow(&body), body)).await;
    assert_eq!(again.describe(), "200 (replayed)");
    assert_eq!(runs.count(), 1);

    // Hex is read in either case: the right tag in upper case verifies.
    let body = ping();
    let upper = hopnow_hex(CURRENT, &body).to_uppercase();
    let answer = send(
        addr,
        post("/webhooks", header("x-webhook-signature", &upper), body),
    )
    .await;
    assert_eq!(answer.describe(), "200");
    assert_eq!(runs.count(), 2);

    // Two identical copies of the signature header count as one.
    let body = ping();
    let headers = hopnow(&body);
    let copy = headers["x-webhook-signature"].clone();
    let answer = send(
        addr,
        post(
            "/webhooks",
            with(headers, "x-webhook-signature", copy),
            body,
        ),
    )
    .await;
    assert_eq!(answer.describe(), "200");
    assert_eq!(runs.count(), 3);

    // Content-Length and Transfer-Encoding together, with valid chunked framing of
    // a signed body: hyper follows the Transfer-Encoding (RFC 9112 section 6.1), so
    // the body is the signed one and verifies. Behind a proxy that frames by
    // Content-Length instead, the proxy must refuse such requests.
    let body = ping();
    let mut raw = raw_head(
        "POST /webhooks HTTP/1.1",
        &[
            format!("X-Webhook-Signature: {}", hopnow_hex(CURRENT, &body)).as_bytes(),
            b"Content-Length: 3",
            b"Transfer-Encoding: chunked",
        ],
    );
    raw.extend_from_slice(format!("{:x}\r\n", body.len()).as_bytes());
    raw.extend_from_slice(&body);
    raw.extend_from_slice(b"\r\n0\r\n\r\n");
    let answer = send(addr, Wire::Raw(raw)).await;
    assert_eq!(answer.describe(), "200");
    assert_eq!(runs.count(), 4);
}
