//! The in-memory limiter's memory with a million distinct keys, measured with a
//! counting global allocator (`stats_alloc`: live bytes = allocated - freed), through
//! the layer, with no manual cleanup call. Run with `--nocapture` to see the figures.
//!
//! The two tests share the process-wide allocator counters, so they take turns.

use std::alloc::System;
use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::FutureExt as _;
use http::{Request, Response, StatusCode};
use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};
use tower::{Service, ServiceBuilder};
use webhook_ratelimit::clock::FakeRelativeClock;
use webhook_ratelimit::{
    GovernorLimiter, HOUSEKEEPING_EVERY, HOUSEKEEPING_MIN_KEYS, PeerIp, Quota, RateLimitLayer,
};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

static TURN: Mutex<()> = Mutex::new(());

const KEYS: u32 = 1_000_000;

/// Bytes allocated and not yet freed by the whole process.
fn live_bytes() -> i64 {
    let stats = GLOBAL.stats();
    stats.bytes_allocated as i64 - stats.bytes_deallocated as i64
}

const MIB: f64 = 1024.0 * 1024.0;

struct Setup {
    clock: FakeRelativeClock,
    limiter: Arc<GovernorLimiter<FakeRelativeClock>>,
    send: Box<dyn FnMut(u32) -> StatusCode>,
}

/// A layer keyed by peer address, one request a second per key, in front of a
/// handler that answers at once.
fn setup() -> Setup {
    let clock = FakeRelativeClock::default();
    let quota = Quota::with_period(Duration::from_secs(1)).unwrap();
    let limiter = Arc::new(GovernorLimiter::with_clock(quota, clock.clone()));
    let layer = RateLimitLayer::builder_with(limiter.clone())
        .key(PeerIp::new())
        .build()
        .unwrap();
    let mut service = ServiceBuilder::new()
        .layer(layer)
        .service_fn(|_: Request<()>| async { Ok::<_, Infallible>(Response::new(())) });
    let send = move |peer: u32| {
        let mut request = Request::new(());
        request
            .extensions_mut()
            .insert(SocketAddr::from((Ipv4Addr::from(peer), 443)));
        let response = service
            .call(request)
            .now_or_never()
            .expect("answered at once");
        response.unwrap().status()
    };
    Setup {
        clock,
        limiter,
        send: Box::new(send),
    }
}

#[test]
fn a_million_live_keys_stay_under_the_bound_and_are_given_back() {
    let _turn = TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let Setup {
        clock,
        limiter,
        mut send,
    } = setup();
    let baseline = live_bytes();

    // A million distinct clients within the same instant: every key is live.
    for peer in 0..KEYS {
        assert_eq!(send(peer), StatusCode::OK);
    }
    let held = live_bytes() - baseline;
    let per_key = held as f64 / f64::from(KEYS);
    println!(
        "1,000,000 live keys: {} entries, {:.1} MiB, {per_key:.1} bytes per key",
        limiter.len(),
        held as f64 / MIB
    );
    assert_eq!(limiter.len(), KEYS as usize, "live keys are kept");
    // Documented bound: 76 bytes per IP key (a 33-byte bucket in a table between
    // 7/16 and 7/8 full).
    assert!(per_key <= 76.0, "{per_key:.1} bytes per key");

    // They all refill after 1 s; governor drops a key one interval after that. The
    // next requests clean up on their own.
    clock.advance(Duration::from_secs(3));
    for _ in 0..HOUSEKEEPING_EVERY {
        send(u32::MAX); // one client, limited after its first request
    }
    let after = live_bytes() - baseline;
    println!(
        "after they went stale: {} entries, {:.1} KiB",
        limiter.len(),
        after as f64 / 1024.0
    );
    assert_eq!(limiter.len(), 1);
    assert!(after < 256 * 1024, "{after} bytes still held");
}

#[test]
fn a_steady_stream_of_a_million_new_keys_keeps_the_map_small() {
    let _turn = TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let Setup {
        clock,
        limiter,
        mut send,
    } = setup();
    let baseline = live_bytes();

    // A million distinct clients, one every 100 µs (10,000 new keys a second, for
    // 100 s). A key is live for 1 s and kept one more: about 20,000 at any time.
    let retained = 20_000;
    let bound = 2 * retained.max(HOUSEKEEPING_MIN_KEYS) + HOUSEKEEPING_EVERY as usize;
    let (mut max_len, mut max_bytes) = (0, 0);
    for peer in 0..KEYS {
        assert_eq!(send(peer), StatusCode::OK);
        clock.advance(Duration::from_micros(100));
        if peer % 1024 == 0 {
            max_len = max_len.max(limiter.len());
            max_bytes = max_bytes.max(live_bytes() - baseline);
        }
    }
    println!(
        "1,000,000 keys over 100 s: at most {max_len} entries (bound {bound}), {:.2} MiB",
        max_bytes as f64 / MIB
    );
    assert!(max_len <= bound, "{max_len} entries");
    assert!(max_bytes <= bound as i64 * 76, "{max_bytes} bytes");
}
