//! Signature verification side by side with the peers, on their own schemes:
//! `svix` and `standardwebhooks` on Standard Webhooks, async-stripe's webhook crate on
//! Stripe; each against raw HMAC-SHA256 of the same signed content and against ours.
//!
//! Run with `cargo bench --manifest-path bench-peers/Cargo.toml`, then print the
//! ratio table with `cargo run --manifest-path bench-peers/Cargo.toml --bin table`.
//!
//! Per body size (256 B, 4 KiB, 64 KiB, 1 MiB), one criterion group holds:
//! - `raw/<scheme>`: `Hmac::<Sha256>::new_from_slice(key)` per message over the
//!   signed content (prefix, then body), then `==` with the expected tag;
//! - `ours/<scheme>`: `Verifier::verify(&headers, &body)` (headers parsed, body in
//!   `Bytes`, one key, system clock);
//! - `ours+event/Stripe`: the same, then `WebhookEvent::<serde_json::Value>::from_delivery`
//!   (the envelope parsed), to set beside async-stripe's `construct_event`;
//! - `svix/Standard`, `standardwebhooks/Standard`: their `Webhook::verify` on the same
//!   body and headers;
//! - `async-stripe-signature/Stripe`: `construct_event_with_timestamp` with a "now" one
//!   second past its fixed 300 s tolerance, so it parses the header, computes and
//!   compares the HMAC (which matches), then returns `BadTimestamp` before parsing
//!   the JSON: its signature check alone (not public on its own);
//! - `async-stripe-construct_event/Stripe`: `construct_event`, signature check and
//!   event parsing, on a Stripe-shaped event.
//!
//! Timing as in `crates/webhook-signature/benches/verify.rs`: each sample keeps the
//! fastest ~100 µs chunk's time per call, which drops chunks that another process
//! preempted on a busy machine.

use std::hint::black_box;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use bytes::Bytes;
use criterion::{Bencher, Criterion, Throughput, criterion_group, criterion_main};
use hmac::{Hmac, KeyInit, Mac};
use http::HeaderMap;
use sha2::Sha256;
use stripe_webhook::Webhook as StripeWebhook;
use webhook_event::WebhookEvent;
use webhook_signature::scheme::{Scheme, StandardWebhooks, Stripe};
use webhook_signature::{Signer, Verifier};

const SIZES: [(usize, &str); 4] = [
    (256, "256B"),
    (4 << 10, "4KiB"),
    (64 << 10, "64KiB"),
    (1 << 20, "1MiB"),
];

const EVENT_ID: &str = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W";
const STRIPE_SECRET: &str = "whsec_stripe_bench_5WbX5kEWLlfzsGNjH64I8lOOqUB6";
const STANDARD_SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";

/// A Stripe-shaped event of exactly `size` bytes (a type async-stripe does not know,
/// so it keeps `data.object` as parsed JSON), padded in `data.object.pad`.
fn payload(size: usize) -> Bytes {
    let head = r#"{"id":"evt_1NG8Du2eZvKYlo2C","object":"event","api_version":null,"created":1700000000,"data":{"object":{"id":"obj_9Hq2LxT7","object":"bench","pad":""#;
    let tail = r#""}},"livemode":false,"pending_webhooks":1,"request":null,"type":"bench.padded"}"#;
    let pad = size
        .checked_sub(head.len() + tail.len())
        .expect("size fits the envelope");
    let mut json = String::with_capacity(size);
    json.push_str(head);
    json.extend(std::iter::repeat_n('x', pad));
    json.push_str(tail);
    Bytes::from(json)
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64
}

fn hmac_tag(key: &[u8], prefix: &[u8], body: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
    mac.update(prefix);
    mac.update(body);
    mac.finalize().into_bytes().into()
}

/// What one scheme's benchmarks share: our verifier, the signed headers, and the raw
/// floor's key, signed prefix and expected tag.
struct Case {
    verifier: Verifier,
    headers: HeaderMap,
    key: Vec<u8>,
    prefix: Vec<u8>,
    expected: [u8; 32],
}

fn case<S: Scheme + Copy>(scheme: S, secret: &str, prefix: String, body: &Bytes, now: i64) -> Case {
    let key = scheme.decode_secret(secret).expect("valid secret");
    let headers = Signer::new(scheme, secret)
        .expect("valid secret")
        .sign(body, now, EVENT_ID)
        .expect("valid headers");
    let verifier = Verifier::builder(scheme)
        .secret("current", secret)
        .build()
        .expect("valid verifier");
    let prefix = prefix.into_bytes();
    let expected = hmac_tag(&key, &prefix, body);
    let hex = hex::encode(expected);
    let b64 = base64::engine::general_purpose::STANDARD.encode(expected);
    assert!(
        headers.values().any(|v| v
            .to_str()
            .is_ok_and(|v| v.contains(&hex) || v.contains(&b64))),
        "raw signed content differs from the scheme's"
    );
    verifier.verify(&headers, body).expect("ours verifies");
    Case {
        verifier,
        headers,
        key,
        prefix,
        expected,
    }
}

/// Per call, the fastest chunk of `chunk` calls (see the top of the file).
fn measure<O>(b: &mut Bencher<'_>, chunk: u64, mut routine: impl FnMut() -> O) {
    b.iter_custom(|iters| {
        let mut best = f64::MAX;
        let mut done = 0;
        while done < iters {
            let n = chunk.min(iters - done);
            let start = Instant::now();
            for _ in 0..n {
                black_box(routine());
            }
            best = best.min(start.elapsed().as_secs_f64() / n as f64);
            done += n;
        }
        Duration::from_secs_f64(best * iters as f64)
    });
}

fn raw(case: &Case, body: &Bytes) -> bool {
    hmac_tag(&case.key, &case.prefix, body) == case.expected
}

fn peers(c: &mut Criterion) {
    for (size, label) in SIZES {
        let body = payload(size);
        // The peers read the system clock: sign at the real now; each group runs well
        // within the 300 s tolerance.
        let now = unix_now();
        let stripe = case(Stripe, STRIPE_SECRET, format!("{now}."), &body, now);
        let standard = case(
            StandardWebhooks,
            STANDARD_SECRET,
            format!("{EVENT_ID}.{now}."),
            &body,
            now,
        );
        let text = std::str::from_utf8(&body).expect("UTF-8 payload");
        let stripe_header = stripe.headers["stripe-signature"]
            .to_str()
            .expect("ASCII header")
            .to_owned();
        StripeWebhook::construct_event(text, &stripe_header, STRIPE_SECRET)
            .expect("async-stripe verifies and parses");
        assert!(matches!(
            StripeWebhook::construct_event_with_timestamp(
                text,
                &stripe_header,
                STRIPE_SECRET,
                now + 301
            ),
            Err(stripe_webhook::WebhookError::BadTimestamp(_))
        ));
        let svix = svix::webhooks::Webhook::new(STANDARD_SECRET).expect("svix secret");
        svix.verify(&body, &standard.headers)
            .expect("svix verifies");
        let standardwebhooks =
            standardwebhooks::Webhook::new(STANDARD_SECRET).expect("standardwebhooks secret");
        standardwebhooks
            .verify(&body, &standard.headers)
            .expect("standardwebhooks verifies");
        let delivery = stripe
            .verifier
            .verify(&stripe.headers, &body)
            .expect("ours");
        WebhookEvent::<serde_json::Value>::from_delivery(delivery).expect("ours parses");

        let chunk = (100_000 / size as u64).max(1);
        let mut group = c.benchmark_group(format!("peers/{label}"));
        group.throughput(Throughput::Bytes(size as u64));
        if size >= 64 << 10 {
            group.sample_size(20);
        }
        group.bench_function("raw/Stripe", |b| measure(b, chunk, || raw(&stripe, &body)));
        group.bench_function("ours/Stripe", |b| {
            measure(b, chunk, || stripe.verifier.verify(&stripe.headers, &body))
        });
        group.bench_function("async-stripe-signature/Stripe", |b| {
            measure(b, chunk, || {
                StripeWebhook::construct_event_with_timestamp(
                    text,
                    &stripe_header,
                    STRIPE_SECRET,
                    now + 301,
                )
                .is_err()
            })
        });
        group.bench_function("ours+event/Stripe", |b| {
            measure(b, chunk, || {
                stripe
                    .verifier
                    .verify(&stripe.headers, &body)
                    .ok()
                    .and_then(|delivery| {
                        WebhookEvent::<serde_json::Value>::from_delivery(delivery).ok()
                    })
            })
        });
        group.bench_function("async-stripe-construct_event/Stripe", |b| {
            measure(b, chunk, || {
                StripeWebhook::construct_event(text, &stripe_header, STRIPE_SECRET).is_ok()
            })
        });
        group.bench_function("raw/Standard", |b| {
            measure(b, chunk, || raw(&standard, &body))
        });
        group.bench_function("ours/Standard", |b| {
            measure(b, chunk, || {
                standard.verifier.verify(&standard.headers, &body)
            })
        });
        group.bench_function("svix/Standard", |b| {
            measure(b, chunk, || svix.verify(&body, &standard.headers).is_ok())
        });
        group.bench_function("standardwebhooks/Standard", |b| {
            measure(b, chunk, || {
                standardwebhooks.verify(&body, &standard.headers).is_ok()
            })
        });
        group.finish();
    }
}

criterion_group!(benches, peers);
criterion_main!(benches);
