//! Claim + complete per delivery, and a duplicate's claim, for the memory store and for
//! Redis on loopback (a `redis-server` the benchmark starts on a free port); then the
//! whole layer (fresh delivery, replay) on each store.
//!
//! Run: `cargo bench -p webhook-idempotency --features redis --bench store`

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use http::header::CONTENT_TYPE;
use http::{HeaderValue, Request, Response, StatusCode};
use tower::{ServiceExt, service_fn};
use webhook_core::redis::RedisConnection;
use webhook_core::{KeyId, VerifiedDelivery};
use webhook_idempotency::store::{MemoryStore, RedisStore, Store, StoredResponse, Token};
use webhook_idempotency::{Idempotency, IdempotencyLayer};

const LEASE: Duration = Duration::from_secs(60);
const RETENTION: Duration = Duration::from_secs(72 * 3600);

fn response() -> StoredResponse {
    StoredResponse::new(StatusCode::OK)
        .with_header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
        .with_body(Bytes::from_static(b"{\"received\":1} "))
}

fn fresh_key(counter: &AtomicU64) -> String {
    format!("hopnow:evt_{:029}", counter.fetch_add(1, Ordering::Relaxed))
}

/// One processed delivery: claim `key`, then record `stored` under it.
async fn process<St: Store>(store: &St, key: &str, stored: &StoredResponse) {
    let token = Token::generate();
    store.claim(key, token, LEASE).await.unwrap();
    store.complete(key, token, stored, RETENTION).await.unwrap();
}

fn bench_store<St: Store>(
    c: &mut Criterion,
    runtime: &tokio::runtime::Runtime,
    name: &str,
    store: &St,
) {
    let counter = AtomicU64::new(0);
    let stored = response();
    let mut group = c.benchmark_group("store");
    group.bench_function(format!("{name}/claim+complete"), |b| {
        b.to_async(runtime)
            .iter(|| async { process(store, &fresh_key(&counter), &stored).await });
    });
    runtime.block_on(process(store, "hopnow:dup", &stored));
    group.bench_function(format!("{name}/duplicate claim"), |b| {
        b.to_async(runtime).iter(|| async {
            store
                .claim("hopnow:dup", Token::generate(), LEASE)
                .await
                .unwrap();
        });
    });
    group.finish();
}

/// A full store (the usual state of a busy service: the default retention is 72 h)
/// with 256 claims in flight: each new delivery evicts the oldest record.
fn bench_full_memory_store(c: &mut Criterion, runtime: &tokio::runtime::Runtime) {
    const CAPACITY: usize = 20_000;
    const IN_FLIGHT: usize = 256;
    let store = MemoryStore::with_capacity(CAPACITY);
    let counter = AtomicU64::new(0);
    let stored = response();
    runtime.block_on(async {
        for _ in 0..CAPACITY - IN_FLIGHT {
            process(&store, &fresh_key(&counter), &stored).await;
        }
        for _ in 0..IN_FLIGHT {
            store
                .claim(&fresh_key(&counter), Token::generate(), LEASE)
                .await
                .unwrap();
        }
    });
    assert_eq!(store.len(), CAPACITY);
    let mut group = c.benchmark_group("store");
    group.bench_function("memory, full, 256 claims in flight/claim+complete", |b| {
        b.to_async(runtime)
            .iter(|| async { process(&store, &fresh_key(&counter), &stored).await });
    });
    group.finish();
}

fn request(id: &str) -> Request<()> {
    let body = Bytes::from(format!(r#"{{"id":"{id}","type":"payout.completed"}}"#));
    let mut request = Request::post("/webhooks").body(()).unwrap();
    request
        .extensions_mut()
        .insert(VerifiedDelivery::new("hopnow", KeyId::from("k"), body));
    request
}

fn bench_layer<St: Store + Clone>(
    c: &mut Criterion,
    runtime: &tokio::runtime::Runtime,
    name: &str,
    store: &St,
) {
    let handler = service_fn(|_request: Request<()>| async {
        let mut response = Response::new(String::from(r#"{"received":1}"#));
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        Ok::<_, Infallible>(response)
    });
    let service: Idempotency<_, St> =
        tower::Layer::layer(&IdempotencyLayer::new(store.clone()), handler);
    let counter = AtomicU64::new(0);
    let mut group = c.benchmark_group("layer");
    group.bench_function(format!("{name}/fresh delivery"), |b| {
        b.to_async(runtime).iter(|| async {
            let id = format!("evt_{}", counter.fetch_add(1, Ordering::Relaxed));
            let response = service.clone().oneshot(request(&id)).await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
        });
    });
    runtime
        .block_on(service.clone().oneshot(request("dup")))
        .unwrap();
    group.bench_function(format!("{name}/replay"), |b| {
        b.to_async(runtime).iter(|| async {
            let response = service.clone().oneshot(request("dup")).await.unwrap();
            assert!(response.headers().contains_key("idempotent-replayed"));
        });
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    let memory = MemoryStore::new();
    bench_store(c, &runtime, "memory", &memory);
    bench_full_memory_store(c, &runtime);
    bench_layer(c, &runtime, "memory", &MemoryStore::new());

    let server = test_redis::RedisServer::start();
    let connection = runtime
        .block_on(RedisConnection::connect(server.url()))
        .unwrap();
    let redis = RedisStore::new(connection).unwrap();
    bench_store(c, &runtime, "redis", &redis);
    bench_layer(c, &runtime, "redis", &redis);
    drop(server);
}

criterion_group! {
    name = store;
    config = Criterion::default()
        .sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    targets = benches
}
criterion_main!(store);
