//! Per-request overhead of the rate-limit layer, side by side with `tower_governor`,
//! on the same quota and the same key (the peer address, from axum's
//! `ConnectInfo<SocketAddr>`), plus the Redis backend: latency and round trips per
//! request, read from the server's `INFO commandstats`.
//!
//! Run with `cargo bench -p webhook-ratelimit --all-features --bench overhead`
//! (it starts its own `redis-server` on a free loopback port).
//!
//! Each criterion group times one request through a service (build the request with
//! its `ConnectInfo`, `poll_ready`, `call`, poll the future, drop the response):
//! - `baseline`: the inner service alone (a handler that answers at once);
//! - `tower_governor`: `GovernorLayer` with `PeerIpKeyExtractor`;
//! - `ours`: `RateLimitLayer` with `PeerIp`, in-memory backend.
//!
//! Group `allowed` uses a quota nothing exceeds; group `limited` one every request
//! exceeds (a 429 built per request). Requests cycle over 1,024 client addresses.
//! After criterion, a table prints each layer's overhead (mean minus baseline) and the
//! ratio ours / tower_governor.

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::hint::black_box;
use std::net::{Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::ConnectInfo;
use criterion::{Bencher, Criterion};
use futures_util::FutureExt as _;
use futures_util::task::noop_waker_ref;
use http::{Request, Response};
use tower::{Layer, Service};
use tower_governor::GovernorLayer;
use tower_governor::governor::GovernorConfigBuilder;
use webhook_core::redis::RedisConnection;
use webhook_ratelimit::clock::FakeRelativeClock;
use webhook_ratelimit::{
    Backend, GovernorLimiter, HOUSEKEEPING_EVERY, Key, PeerIp, Quota, RateLimitLayer,
    RedisRateLimiter,
};

const PEERS: usize = 1024;

/// The inner service: answers at once with an empty body.
#[derive(Clone, Copy)]
struct Handler;

impl Service<Request<()>> for Handler {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Ready<Result<Response<Body>, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _request: Request<()>) -> Self::Future {
        ready(Ok(Response::new(Body::empty())))
    }
}

fn peers() -> Vec<SocketAddr> {
    (0..PEERS as u32)
        .map(|i| SocketAddr::from((Ipv4Addr::from(0x0a00_0000 + i), 40_000)))
        .collect()
}

fn request(peer: SocketAddr) -> Request<()> {
    let mut request = Request::new(());
    request.extensions_mut().insert(ConnectInfo(peer));
    request
}

/// Times one request through `service`, cycling over the peers.
fn run<S, B>(bencher: &mut Bencher<'_>, service: &mut S, peers: &[SocketAddr])
where
    S: Service<Request<()>, Response = Response<B>>,
    S::Error: std::fmt::Debug,
{
    let mut cx = Context::from_waker(noop_waker_ref());
    let mut i = 0;
    bencher.iter(|| {
        let peer = peers[i % PEERS];
        i += 1;
        assert!(service.poll_ready(&mut cx).is_ready());
        let response = service.call(request(peer)).now_or_never().unwrap().unwrap();
        black_box(response.status())
    });
}

/// The same quota as tower_governor's: a burst of `burst`, one more every `period`.
fn ours_layer(period: Duration, burst: u32) -> RateLimitLayer<PeerIp> {
    let quota = Quota::with_period(period)
        .unwrap()
        .allow_burst(NonZeroU32::new(burst).unwrap());
    RateLimitLayer::builder(quota)
        .key(PeerIp::new())
        .build()
        .unwrap()
}

fn group(criterion: &mut Criterion, name: &str, period: Duration, burst: u32) {
    let peers = peers();
    let mut baseline = Handler;
    let config = GovernorConfigBuilder::default()
        .period(period)
        .burst_size(burst)
        .finish()
        .unwrap();
    let mut theirs = GovernorLayer::<_, _, Body>::new(Arc::new(config)).layer(Handler);
    let mut ours = ours_layer(period, burst).layer(Handler);
    // Exhaust every bucket first when the group measures the limited path.
    for _ in 0..2 {
        for &peer in &peers {
            let _ = theirs.call(request(peer)).now_or_never();
            let _ = ours.call(request(peer)).now_or_never();
        }
    }
    let mut group = criterion.benchmark_group(name);
    group.bench_function("baseline", |b| run(b, &mut baseline, &peers));
    group.bench_function("tower_governor", |b| run(b, &mut theirs, &peers));
    group.bench_function("ours", |b| run(b, &mut ours, &peers));
    group.finish();
}

fn redis_group(criterion: &mut Criterion, server: &test_redis::RedisServer) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let peers = peers();
    let quota = Quota::with_period(Duration::from_nanos(1000))
        .unwrap()
        .allow_burst(NonZeroU32::new(1_000_000).unwrap());
    let limiter = runtime.block_on(async {
        let connection = RedisConnection::connect(server.url()).await.unwrap();
        let limiter = RedisRateLimiter::builder(connection, quota)
            .key_prefix("bench:")
            .build()
            .unwrap();
        limiter.preload().await.unwrap();
        limiter
    });
    let mut service = RateLimitLayer::builder_with(limiter)
        .key(PeerIp::new())
        .build()
        .unwrap()
        .layer(Handler);

    let mut group = criterion.benchmark_group("redis");
    let mut i = 0;
    group.bench_function("ours_allowed", |b| {
        b.iter(|| {
            let peer = peers[i % PEERS];
            i += 1;
            let response = runtime.block_on(service.call(request(peer))).unwrap();
            black_box(response.status())
        })
    });
    group.finish();

    // Round trips: every command the server received from clients, per request.
    server.reset_stats().unwrap();
    let requests = 1000u64;
    runtime.block_on(async {
        for n in 0..requests {
            service
                .call(request(peers[n as usize % PEERS]))
                .await
                .unwrap();
        }
    });
    let stats = server.command_stats().unwrap();
    let from_clients: u64 = stats
        .iter()
        .filter(|(name, _)| !matches!(name.as_str(), "time" | "get" | "set" | "config|resetstat"))
        .map(|(_, calls)| calls)
        .sum();
    println!("\nRedis INFO commandstats after {requests} requests: {stats:?}");
    println!(
        "Redis round trips per request: {:.3} (commands from clients / requests; `time`, `get`, `set` run inside the script)",
        from_clients as f64 / requests as f64
    );
}

/// How long the request that triggers a cleanup of a million stale keys takes.
fn cleanup_timing() {
    let clock = FakeRelativeClock::default();
    let quota = Quota::with_period(Duration::from_secs(1)).unwrap();
    let limiter = GovernorLimiter::with_clock(quota, clock.clone());
    for i in 0..1_000_000u32 {
        let _ = limiter.check(&Key::ip(Ipv4Addr::from(i).into()));
    }
    clock.advance(Duration::from_secs(3));
    let key = Key::from("one");
    let mut slowest = Duration::ZERO;
    for _ in 0..HOUSEKEEPING_EVERY {
        let started = Instant::now();
        let _ = limiter.check(&key);
        slowest = slowest.max(started.elapsed());
    }
    println!(
        "cleanup of 1,000,000 stale keys: {:.1} ms in the request that ran it ({} keys left)",
        slowest.as_secs_f64() * 1000.0,
        limiter.len()
    );
}

/// Criterion's estimate (the slope, or the mean) of one benchmark, in ns.
fn estimate_ns(dir: &Path, group: &str, bench: &str) -> Option<f64> {
    let path = dir.join(group).join(bench).join("new/estimates.json");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    json["slope"]["point_estimate"]
        .as_f64()
        .or_else(|| json["mean"]["point_estimate"].as_f64())
}

/// The three services of a group timed in turns (batches of `BATCH` requests, for
/// `ROUNDS` rounds), so that load from other processes hits all of them alike; the
/// fastest batch of each is its cost with the least interference.
fn interleaved(period: Duration, burst: u32) -> [f64; 3] {
    const ROUNDS: usize = 60;
    const BATCH: usize = 20_000;
    let peers = peers();
    let mut baseline = Handler;
    let config = GovernorConfigBuilder::default()
        .period(period)
        .burst_size(burst)
        .finish()
        .unwrap();
    let mut theirs = GovernorLayer::<_, _, Body>::new(Arc::new(config)).layer(Handler);
    let mut ours = ours_layer(period, burst).layer(Handler);
    for _ in 0..2 {
        for &peer in &peers {
            let _ = theirs.call(request(peer)).now_or_never();
            let _ = ours.call(request(peer)).now_or_never();
        }
    }
    let mut cx = Context::from_waker(noop_waker_ref());
    let mut i = 0usize;
    let mut one = |variant: usize| {
        let peer = peers[i % PEERS];
        i += 1;
        let status = match variant {
            0 => {
                assert!(baseline.poll_ready(&mut cx).is_ready());
                baseline
                    .call(request(peer))
                    .now_or_never()
                    .unwrap()
                    .unwrap()
                    .status()
            }
            1 => {
                assert!(theirs.poll_ready(&mut cx).is_ready());
                theirs
                    .call(request(peer))
                    .now_or_never()
                    .unwrap()
                    .unwrap()
                    .status()
            }
            _ => {
                assert!(ours.poll_ready(&mut cx).is_ready());
                ours.call(request(peer))
                    .now_or_never()
                    .unwrap()
                    .unwrap()
                    .status()
            }
        };
        black_box(status);
    };
    let mut best = [f64::MAX; 3];
    for _ in 0..ROUNDS {
        for (variant, best) in best.iter_mut().enumerate() {
            let started = Instant::now();
            for _ in 0..BATCH {
                one(variant);
            }
            *best = best.min(started.elapsed().as_nanos() as f64 / BATCH as f64);
        }
    }
    best
}

fn row(group: &str, [base, theirs, ours]: [f64; 3]) {
    println!(
        "| {group} | {base:.1} ns | {theirs:.1} ns | {ours:.1} ns | {:.1} ns | {:.1} ns | {:.2} |",
        theirs - base,
        ours - base,
        (ours - base) / (theirs - base)
    );
}

const HEADER: &str = "| group | baseline | tower_governor | ours | overhead tower_governor | overhead ours | ratio ours / tower_governor |\n|---|---|---|---|---|---|---|";

fn print_criterion_table(dir: &Path) {
    println!("\nCriterion estimates:\n{HEADER}");
    for group in ["allowed", "limited"] {
        let (Some(base), Some(theirs), Some(ours)) = (
            estimate_ns(dir, group, "baseline"),
            estimate_ns(dir, group, "tower_governor"),
            estimate_ns(dir, group, "ours"),
        ) else {
            println!("| {group} | (no estimates under {}) |", dir.display());
            continue;
        };
        row(group, [base, theirs, ours]);
    }
    if let Some(redis) = estimate_ns(dir, "redis", "ours_allowed") {
        println!(
            "| redis, ours (loopback round trip) | | | {:.1} µs | | | |",
            redis / 1000.0
        );
    }
}

fn main() {
    if std::env::var_os("RATELIMIT_BENCH_TABLE_ONLY").is_some() {
        println!("Interleaved, fastest of 60 batches of 20,000 requests:\n{HEADER}");
        row(
            "allowed",
            interleaved(Duration::from_nanos(1), 1_000_000_000),
        );
        row("limited", interleaved(Duration::from_secs(3600), 1));
        return;
    }
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("criterion");
    let mut criterion = Criterion::default()
        .output_directory(&dir)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    // Nothing exceeds this quota: a burst of a billion.
    group(
        &mut criterion,
        "allowed",
        Duration::from_nanos(1),
        1_000_000_000,
    );
    // Everything exceeds this one: one request an hour.
    group(&mut criterion, "limited", Duration::from_secs(3600), 1);
    let server = test_redis::RedisServer::start();
    redis_group(&mut criterion, &server);
    criterion.final_summary();
    cleanup_timing();
    print_criterion_table(&dir);
    println!("\nInterleaved, fastest of 60 batches of 20,000 requests:\n{HEADER}");
    row(
        "allowed",
        interleaved(Duration::from_nanos(1), 1_000_000_000),
    );
    row("limited", interleaved(Duration::from_secs(3600), 1));
}
