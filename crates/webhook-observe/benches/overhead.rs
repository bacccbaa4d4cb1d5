//! Per-request overhead of the observe layer on the full in-memory stack, with metrics
//! and tracing on against off, side by side in one run.
//!
//! ```text
//! cargo bench -p webhook-observe --bench overhead
//! ```
//!
//! The stack, outermost first: the observe layer, a global rate limit (a quota nothing
//! exceeds), Standard Webhooks signature verification, idempotency (memory store), an
//! `EventRouter` whose handler answers at once. Every request is a fresh, signed,
//! processed delivery (a new event id each time: the handler runs, the response is
//! recorded), signed outside the timed part.
//!
//! A real recorder is installed (`metrics-exporter-prometheus`, with the suggested
//! buckets) and a real subscriber (`tracing-subscriber`'s `fmt` at `INFO`, writing to
//! a sink), so "on" pays for what a deployment pays: label lookups, histogram
//! updates, and with `span_level(INFO)` a span whose fields are formatted. Four cases:
//! - `no_layer`: the stack without the observe layer;
//! - `off`: the layer with metrics and tracing switched off;
//! - `on`: the layer with its defaults: both on, the span at `DEBUG` (not recorded by
//!   a subscriber at `INFO`);
//! - `on, INFO span`: the same with the span at `INFO`, recorded and formatted.
//!
//! After criterion, the cases (and "metrics only", "INFO span only") run in
//! alternating batches (200 rounds of 500 deliveries each, the order rotating every
//! round), so drift from other load hits them alike, and the median ratio `on / off`
//! is printed with the per-request times. `RATIO_ONLY=1` skips criterion and runs
//! only that part.

use std::convert::Infallible;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use criterion::{BatchSize, Criterion};
use http::Request;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
use tokio::runtime::Runtime;
use tower::util::BoxCloneService;
use tower::{Layer, ServiceBuilder, ServiceExt};
use tracing::Level;
use webhook_event::{EventRouter, Handled, WebhookEvent};
use webhook_idempotency::IdempotencyLayer;
use webhook_observe::{CLOCK_SKEW_SECONDS_BUCKETS, ObserveLayer, PROCESSING_SECONDS_BUCKETS};
use webhook_ratelimit::{Quota, RateLimitLayer};
use webhook_signature::scheme::StandardWebhooks;
use webhook_signature::{Signer, Verifier, VerifySignatureLayer};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const EVENT_TYPE: &str = "payout.completed";
const ROUNDS: usize = 200;
const BATCH: usize = 500;

static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// Every case is boxed the same way, so the box costs all of them alike.
type Stack = BoxCloneService<Request<String>, (), Infallible>;

fn install_recorder_and_subscriber() {
    let recorder = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full("webhook_processing_seconds".into()),
            PROCESSING_SECONDS_BUCKETS,
        )
        .unwrap()
        .set_buckets_for_metric(
            Matcher::Full("webhook_clock_skew_seconds".into()),
            CLOCK_SKEW_SECONDS_BUCKETS,
        )
        .unwrap()
        .build_recorder();
    metrics::set_global_recorder(recorder).unwrap();
    webhook_observe::describe_metrics();
    tracing_subscriber::fmt()
        .with_max_level(Level::INFO)
        .with_writer(std::io::sink)
        .init();
}

/// The stack under `observe` (`None`: without the layer).
fn stack(observe: Option<ObserveLayer>) -> Stack {
    let verifier = Verifier::builder(StandardWebhooks)
        .secret("2025-11", SECRET)
        .build()
        .unwrap();
    let limit = RateLimitLayer::builder(Quota::per_second(NonZeroU32::MAX))
        .build()
        .unwrap();
    let router = EventRouter::new().on(EVENT_TYPE, |_: WebhookEvent| async { Handled::Processed });
    let inner = ServiceBuilder::new()
        .layer(limit)
        .layer(VerifySignatureLayer::new(verifier))
        .layer(IdempotencyLayer::in_memory())
        .service(router);
    match observe {
        Some(layer) => BoxCloneService::new(ServiceExt::<Request<String>>::map_response(
            layer.layer(inner),
            |_| (),
        )),
        None => BoxCloneService::new(ServiceExt::<Request<String>>::map_response(inner, |_| ())),
    }
}

fn observe(on: bool) -> ObserveLayer {
    observe_with(on, on, Level::DEBUG)
}

fn observe_with(metrics: bool, tracing: bool, span_level: Level) -> ObserveLayer {
    ObserveLayer::builder()
        .event_types([EVENT_TYPE, "payout.created", "payout.failed"])
        .metrics(metrics)
        .tracing(tracing)
        .span_level(span_level)
        .build()
        .unwrap()
}

/// A fresh delivery with a new event id, signed now.
fn delivery(signer: &Signer) -> Request<String> {
    let id = format!("evt_{}", NEXT_ID.fetch_add(1, Ordering::Relaxed));
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let body = format!(
        r#"{{"id":"{id}","type":"{EVENT_TYPE}","created":{now},"data":{{"payout_id":"po_1","amount":1200}}}}"#
    );
    let headers = signer.sign(body.as_bytes(), now, &id).unwrap();
    let mut request = Request::post("/webhooks")
        .header("content-type", "application/json")
        .body(body)
        .unwrap();
    request.headers_mut().extend(headers);
    request
}

fn bench_case(c: &mut Criterion, runtime: &Runtime, signer: &Signer, name: &str, service: &Stack) {
    c.benchmark_group("observe_overhead")
        .bench_function(name, |b| {
            b.iter_batched(
                || delivery(signer),
                |request| {
                    runtime.block_on(service.clone().oneshot(request)).unwrap();
                },
                BatchSize::SmallInput,
            );
        });
}

/// Seconds to send one batch of fresh deliveries through `service`.
fn batch(runtime: &Runtime, signer: &Signer, service: &Stack) -> f64 {
    let requests: Vec<_> = (0..BATCH).map(|_| delivery(signer)).collect();
    let start = Instant::now();
    runtime.block_on(async {
        for request in requests {
            service.clone().oneshot(request).await.unwrap();
        }
    });
    start.elapsed().as_secs_f64()
}

fn main() {
    if std::env::args().any(|arg| arg == "--test" || arg == "--list") {
        return; // `cargo test --benches` runs nothing here.
    }
    install_recorder_and_subscriber();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let signer = Signer::new(StandardWebhooks, SECRET).unwrap();
    let no_layer = stack(None);
    let off = stack(Some(observe(false)));
    let on = stack(Some(observe(true)));
    let on_info = stack(Some(observe_with(true, true, Level::INFO)));

    if std::env::var_os("RATIO_ONLY").is_none() {
        let mut criterion = Criterion::default()
            .warm_up_time(Duration::from_secs(2))
            .measurement_time(Duration::from_secs(5))
            .configure_from_args();
        bench_case(&mut criterion, &runtime, &signer, "no_layer", &no_layer);
        bench_case(&mut criterion, &runtime, &signer, "off", &off);
        bench_case(&mut criterion, &runtime, &signer, "on", &on);
        bench_case(&mut criterion, &runtime, &signer, "on_info_span", &on_info);
        criterion.final_summary();
    }

    // The alternating part also times each half alone, to tell their costs apart.
    let metrics_only = stack(Some(observe_with(true, false, Level::DEBUG)));
    let info_span_only = stack(Some(observe_with(false, true, Level::INFO)));
    let cases: [(&str, &Stack); 6] = [
        ("no_layer", &no_layer),
        ("off", &off),
        ("on", &on),
        ("on, INFO span", &on_info),
        ("metrics only", &metrics_only),
        ("INFO span only", &info_span_only),
    ];
    let mut totals = [0.0; 6];
    let mut ratios = Vec::with_capacity(ROUNDS);
    for round in 0..ROUNDS {
        let mut times = [0.0; 6];
        // Rotate the order each round, so no case always runs after the same one.
        for step in 0..cases.len() {
            let index = (round + step) % cases.len();
            times[index] = batch(&runtime, &signer, cases[index].1);
        }
        for (total, time) in totals.iter_mut().zip(times) {
            *total += time;
        }
        ratios.push(times[2] / times[1]);
    }
    ratios.sort_by(f64::total_cmp);
    let per_request = |total: f64| total / (ROUNDS * BATCH) as f64 * 1e9;
    println!("\nalternating batches ({ROUNDS} rounds x {BATCH} fresh deliveries per case):");
    for ((name, _), total) in cases.iter().zip(totals) {
        println!("  {name:>14}: {:>6.0} ns/request", per_request(total));
    }
    println!(
        "  on / off: median {:.3} (quartiles {:.3} .. {:.3}); on - off: {:.0} ns/request",
        ratios[ROUNDS / 2],
        ratios[ROUNDS / 4],
        ratios[3 * ROUNDS / 4],
        per_request(totals[2]) - per_request(totals[1]),
    );
}
