//! Signature verification throughput: the six schemes with a fast path through
//! `Verifier::verify`, against a raw HMAC-SHA256 floor over the same signed content
//! and against the `standardwebhooks` crate; then every provider against its own raw
//! baseline, and against the `webhook-verify` crate.
//!
//! Run with `cargo bench -p webhook-signature --bench verify`.
//!
//! Per body size (256 B, 4 KiB, 64 KiB, 1 MiB) one criterion group holds:
//! - `raw/<Scheme>`: `Hmac::<Sha256>::new_from_slice(key)` per message, then the
//!   scheme's signed prefix and the body, then a plain `==` with the expected tag;
//!   the floor any verifier pays (it sets the key up per message, which our verifier
//!   avoids by cloning a precomputed keyed state);
//! - `ours/<Scheme>`: `Verifier::verify(&headers, &body)` on headers made by `Signer`,
//!   one key, a clock injected at the signed timestamp;
//! - `standardwebhooks/StandardWebhooks`: the `standardwebhooks` crate's
//!   `Webhook::verify` on the very same body and headers.
//!
//! Each `raw` runs right before its scheme so drift on a busy machine hits both alike.
//!
//! Timing: on a shared machine (other builds and benchmarks running), a plain mean
//! mostly measures who else was scheduled, and ratios of a few percent drown in it.
//! So each sample times the routine in short chunks (about 100 µs, or one call for
//! large bodies) and keeps the fastest chunk's time per call, which drops the chunks
//! that were preempted. Set `VERIFY_BENCH_MEAN=1` for criterion's plain `iter`.
//!
//! After criterion, one more table times `raw` and `ours` in turns, chunk against
//! chunk, at 256 B and 4 KiB (see [`interleaved`]): the ratio a busy machine moves
//! least. Its `(by name)` rows verify with the scheme `scheme::by_name` returns (a
//! `Box<dyn Scheme>`, as a receiver configured by name holds it).
//! `VERIFY_BENCH_INTERLEAVED_ONLY=1` prints that table alone (a few seconds).
//!
//! Last, every provider in `scheme::PROVIDERS` against two baselines of its own, in
//! turns, at 256 B, 4 KiB and 64 KiB: `raw` (HMAC-SHA1 or HMAC-SHA256 with a pre-keyed
//! state cloned per message, Ed25519, ECDSA P-256) and `user` (the same check as the
//! providers' docs write it: keyed per message, the received signature decoded); then
//! the `webhook-verify` crate against ours on the providers both verify: see
//! `verify/providers.rs`.
//! `VERIFY_BENCH_PROVIDERS_ONLY=1` prints those two tables alone (about a minute);
//! `VERIFY_BENCH_PROVIDERS=stripe,discord` keeps the providers it names.

use std::hint::black_box;
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use bytes::Bytes;
use criterion::{Bencher, BenchmarkId, Criterion, Throughput};
use hmac::{Hmac, KeyInit, Mac};
use http::HeaderMap;
use sha2::Sha256;
use webhook_signature::scheme::{
    GitHub, HopNow, Scheme, Shopify, Slack, StandardWebhooks, Stripe, by_name,
};
use webhook_signature::{Signer, Verifier};

const SIZES: [(usize, &str); 4] = [
    (256, "256B"),
    (4 << 10, "4KiB"),
    (64 << 10, "64KiB"),
    (1 << 20, "1MiB"),
];

const EVENT_ID: &str = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W";
const PLAIN_SECRET: &str = "whsec_bench_5WbX5kEWLlfzsGNjH64I8lOOqUB6e8FH";
const STANDARD_SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";

/// A webhook-like JSON document of exactly `size` bytes: an event envelope, as many
/// line items as fit, and a string field that pads to the size.
fn payload(size: usize) -> Bytes {
    payload_with(size, "", "")
}

/// [`payload`] with `lead` (members and their commas) as the envelope's first
/// members and `trail` (a comma and members) as its last, within the `size` bytes.
fn payload_with(size: usize, lead: &str, trail: &str) -> Bytes {
    let head = r#"{"id":"evt_1NG8Du2eZvKYlo2CUI2bh4Mf","type":"order.paid","created":1700000000,"data":{"object":{"id":"ord_9Hq2LxT7","amount":129900,"currency":"usd","items":["#;
    let tail_start = r#"]},"pad":""#;
    let tail_end = format!(r#""}}{trail}}}"#);
    let mut json = String::with_capacity(size);
    json.push('{');
    json.push_str(lead);
    json.push_str(&head[1..]);
    let mut n = 0;
    loop {
        let item = format!(
            r#"{}{{"sku":"SKU-{n:05}","name":"Widget {n}","qty":{},"unit_price":1299}}"#,
            if n == 0 { "" } else { "," },
            n % 7 + 1,
        );
        if json.len() + item.len() + tail_start.len() + tail_end.len() > size {
            break;
        }
        json.push_str(&item);
        n += 1;
    }
    json.push_str(tail_start);
    let pad = size
        .checked_sub(json.len() + tail_end.len())
        .expect("size too small for the envelope");
    json.extend(std::iter::repeat_n('x', pad));
    json.push_str(&tail_end);
    assert_eq!(json.len(), size);
    serde_json::from_str::<serde_json::Value>(&json).expect("payload is JSON");
    Bytes::from(json)
}

/// One scheme's benchmark inputs.
struct Case {
    name: &'static str,
    verifier: Verifier,
    /// The same keys and clock, with the scheme [`by_name`] returns.
    by_name: Verifier,
    headers: HeaderMap,
    /// The decoded HMAC key.
    key: Vec<u8>,
    /// What the scheme signs before the body.
    prefix: Vec<u8>,
    /// HMAC-SHA256(key, prefix || body).
    expected: [u8; 32],
}

impl Case {
    /// The raw floor: the key set up, the signed content hashed, a plain `==`.
    #[inline]
    fn raw(&self, body: &Bytes) {
        let tag = hmac_tag(
            black_box(&self.key),
            black_box(&self.prefix),
            black_box(body),
        );
        assert!(tag == self.expected);
    }

    /// Ours, through the public API.
    #[inline]
    fn ours(&self, body: &Bytes) -> webhook_core::VerifiedDelivery {
        Self::verify(&self.verifier, &self.headers, body)
    }

    /// Ours, with the scheme chosen by name.
    #[inline]
    fn ours_by_name(&self, body: &Bytes) -> webhook_core::VerifiedDelivery {
        Self::verify(&self.by_name, &self.headers, body)
    }

    #[inline]
    fn verify(
        verifier: &Verifier,
        headers: &HeaderMap,
        body: &Bytes,
    ) -> webhook_core::VerifiedDelivery {
        verifier
            .verify(black_box(headers), black_box(body))
            .expect("verifies")
    }
}

#[inline]
fn hmac_tag(key: &[u8], prefix: &[u8], body: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
    mac.update(prefix);
    mac.update(body);
    mac.finalize().into_bytes().into()
}

fn case<S: Scheme + Copy>(
    name: &'static str,
    scheme: S,
    secret: &str,
    prefix: String,
    body: &Bytes,
    now: i64,
) -> Case {
    let key = scheme.decode_secret(secret).expect("valid secret");
    let headers = Signer::new(scheme, secret)
        .expect("valid secret")
        .sign(body, now, EVENT_ID)
        .expect("valid headers");
    let clock = move || UNIX_EPOCH + Duration::from_secs(now as u64);
    let verifier = Verifier::builder(scheme)
        .secret("current", secret)
        .clock(clock)
        .build()
        .expect("valid verifier");
    let by_name = Verifier::builder(by_name(scheme.name()).expect("a built-in scheme"))
        .secret("current", secret)
        .clock(clock)
        .build()
        .expect("valid verifier");
    let prefix = prefix.into_bytes();
    let expected = hmac_tag(&key, &prefix, body);
    // The raw floor must sign exactly what the scheme signs: the header carries it.
    let hex = hex::encode(expected);
    let b64 = base64::engine::general_purpose::STANDARD.encode(expected);
    assert!(
        headers.values().any(|v| v
            .to_str()
            .is_ok_and(|v| v.contains(&hex) || v.contains(&b64))),
        "{name}: raw signed content differs from the scheme's"
    );
    verifier.verify(&headers, body).expect("verifies");
    by_name.verify(&headers, body).expect("verifies");
    Case {
        name,
        verifier,
        by_name,
        headers,
        key,
        prefix,
        expected,
    }
}

fn cases(body: &Bytes, now: i64) -> Vec<Case> {
    vec![
        case("HopNow", HopNow, PLAIN_SECRET, String::new(), body, now),
        case("GitHub", GitHub, PLAIN_SECRET, String::new(), body, now),
        case("Stripe", Stripe, PLAIN_SECRET, format!("{now}."), body, now),
        case(
            "StandardWebhooks",
            StandardWebhooks,
            STANDARD_SECRET,
            format!("{EVENT_ID}.{now}."),
            body,
            now,
        ),
        case(
            "Slack",
            Slack,
            PLAIN_SECRET,
            format!("v0:{now}:"),
            body,
            now,
        ),
        case("Shopify", Shopify, PLAIN_SECRET, String::new(), body, now),
    ]
}

/// Runs `routine` for criterion: per call, the fastest of chunks of `chunk` calls (see
/// the top of the file), or criterion's own mean with `VERIFY_BENCH_MEAN=1`.
fn measure<O>(b: &mut Bencher<'_>, chunk: u64, mut routine: impl FnMut() -> O) {
    static MEAN: OnceLock<bool> = OnceLock::new();
    if *MEAN.get_or_init(|| std::env::var_os("VERIFY_BENCH_MEAN").is_some_and(|v| v == "1")) {
        return b.iter(routine);
    }
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

fn verify(c: &mut Criterion) {
    for (size, label) in SIZES {
        let body = payload(size);
        // `standardwebhooks` reads the system clock, so sign at the real now; each
        // group runs well within its 300 s tolerance.
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("after 1970")
            .as_secs() as i64;
        let cases = cases(&body, now);
        // About 100 KB of body per chunk (100 µs at 1 GB/s); one call from 64 KiB up.
        let chunk = (100_000 / size as u64).max(1);
        let mut group = c.benchmark_group(format!("verify/{label}"));
        group.throughput(Throughput::Bytes(size as u64));
        for case in &cases {
            group.bench_function(BenchmarkId::new("raw", case.name), |b| {
                measure(b, chunk, || case.raw(&body))
            });
            group.bench_function(BenchmarkId::new("ours", case.name), |b| {
                measure(b, chunk, || case.ours(&body))
            });
            if case.name == "StandardWebhooks" {
                let webhook =
                    standardwebhooks::Webhook::new(STANDARD_SECRET).expect("valid secret");
                webhook.verify(&body, &case.headers).expect("verifies");
                group.bench_function(BenchmarkId::new("standardwebhooks", case.name), |b| {
                    measure(b, chunk, || {
                        webhook
                            .verify(black_box(&body), black_box(&case.headers))
                            .expect("verifies")
                    })
                });
            }
        }
        group.finish();
    }
}

/// `raw` and `ours` for each scheme timed in turns, chunk against chunk (about 50 µs
/// each, the order swapped every round), so that a neighbour's load or a frequency
/// change hits both alike. Prints, per scheme, the fastest chunk of each (per call)
/// and two ratios: of those fastest chunks, and the median of the per-round ratios.
fn interleaved() {
    println!(
        "\nInterleaved, {ROUNDS} rounds of raw and ours in turns:\n\
         | size | scheme | raw, fastest | ours, fastest | ratio of fastest | median ratio |\n\
         |---|---|---:|---:|---:|---:|"
    );
    for (size, label) in &SIZES[..2] {
        let body = payload(*size);
        let now = 1_700_000_000;
        let chunk = (50_000 / *size).max(1);
        for case in cases(&body, now) {
            let raw = || case.raw(&body);
            interleaved_row(label, case.name, chunk, &raw, &|| {
                case.ours(&body);
            });
            let name = format!("{} (by name)", case.name);
            interleaved_row(label, &name, chunk, &raw, &|| {
                case.ours_by_name(&body);
            });
        }
    }
}

/// Rounds of [`interleaved`] per row.
const ROUNDS: usize = 2_000;

/// One row of [`interleaved`]: `raw` and `ours` in turns, `chunk` calls at a time.
fn interleaved_row(label: &str, name: &str, chunk: usize, raw: &dyn Fn(), ours: &dyn Fn()) {
    let timed = interleave(chunk, ROUNDS, raw, ours);
    println!(
        "| {label} | {name} | {:.1} ns | {:.1} ns | {:.3}x | {:.3}x |",
        timed.raw_ns,
        timed.ours_ns,
        timed.ratio(),
        timed.median_ratio,
    );
}

/// What [`interleave`] measured.
struct Interleaved {
    /// The fastest `raw` chunk, per call, in nanoseconds.
    raw_ns: f64,
    /// The fastest `ours` chunk, per call, in nanoseconds.
    ours_ns: f64,
    /// The median over the rounds of `ours / raw` within the round.
    median_ratio: f64,
}

impl Interleaved {
    /// The ratio of the fastest chunks, `ours / raw`.
    fn ratio(&self) -> f64 {
        self.ours_ns / self.raw_ns
    }
}

/// `raw` and `ours` in turns, `chunk` calls at a time, for `rounds` rounds, the order
/// swapped every round, so that a neighbour's load or a frequency change hits both
/// alike.
fn interleave(chunk: usize, rounds: usize, raw: &dyn Fn(), ours: &dyn Fn()) -> Interleaved {
    let time = |routine: &dyn Fn()| {
        let start = Instant::now();
        for _ in 0..chunk {
            routine();
        }
        start.elapsed().as_secs_f64() * 1e9 / chunk as f64
    };
    let (mut raw_ns, mut ours_ns) = (f64::MAX, f64::MAX);
    let mut ratios = Vec::with_capacity(rounds);
    for round in 0..rounds {
        let (r, o) = if round % 2 == 0 {
            let r = time(raw);
            (r, time(ours))
        } else {
            let o = time(ours);
            (time(raw), o)
        };
        raw_ns = raw_ns.min(r);
        ours_ns = ours_ns.min(o);
        ratios.push(o / r);
    }
    ratios.sort_by(f64::total_cmp);
    Interleaved {
        raw_ns,
        ours_ns,
        median_ratio: ratios[rounds / 2],
    }
}

#[path = "verify/providers.rs"]
mod providers;

fn main() {
    if std::env::var_os("VERIFY_BENCH_INTERLEAVED_ONLY").is_some() {
        return interleaved();
    }
    // Comma-separated provider names; all of them when unset or empty.
    let only: Vec<String> = std::env::var("VERIFY_BENCH_PROVIDERS")
        .unwrap_or_default()
        .split(',')
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
        .collect();
    if std::env::var_os("VERIFY_BENCH_PROVIDERS_ONLY").is_some() {
        providers::table(&only);
        return providers::webhook_verify_table(&only);
    }
    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(40)
        .nresamples(20_000)
        .configure_from_args();
    verify(&mut criterion);
    criterion.final_summary();
    if !std::env::args().any(|arg| arg == "--profile-time") {
        interleaved();
        providers::table(&only);
        providers::webhook_verify_table(&only);
    }
}
