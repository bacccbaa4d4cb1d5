//! Measures the heap bytes a `MemoryStore` entry costs, by counting what the allocator
//! hands out (`stats_alloc` wraps the system allocator in this test binary only).
//!
//! Run: `cargo test -p webhook-idempotency --test memory_footprint -- --nocapture`

use std::alloc::System;
use std::time::Duration;

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderValue, StatusCode};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use webhook_idempotency::store::{MemoryStore, Store, StoredResponse, Token};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const ENTRIES: usize = 100_000;

/// `hopnow:evt_` and digits, padded to 40 bytes: a typical namespaced event id.
fn key(n: usize) -> String {
    format!("hopnow:evt_{n:029}")
}

#[tokio::test(flavor = "current_thread")]
async fn bytes_per_memory_store_entry() {
    let lease = Duration::from_secs(60);
    let retention = Duration::from_secs(72 * 3600);
    let response = StoredResponse::new(StatusCode::OK)
        .with_header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
        .with_body(Bytes::from_static(b"{\"received\":1} ")); // 16 bytes
    assert_eq!(key(1).len(), 40);
    let record_len = response.to_bytes().len();
    let keys: Vec<String> = (0..ENTRIES).map(key).collect();
    let tokens: Vec<Token> = (0..ENTRIES).map(|_| Token::generate()).collect();

    // Processed entries: claimed, then completed. The store's tables are allocated
    // when it is built, so the region starts before.
    let region = Region::new(GLOBAL);
    let store = MemoryStore::with_capacity(ENTRIES);
    for (key, token) in keys.iter().zip(&tokens) {
        store.claim(key, *token, lease).await.unwrap();
        store
            .complete(key, *token, &response, retention)
            .await
            .unwrap();
    }
    let change = region.change();
    let done_bytes = (change.bytes_allocated - change.bytes_deallocated) as f64 / ENTRIES as f64;
    let done_allocs = (change.allocations - change.deallocations) as f64 / ENTRIES as f64;
    assert_eq!(store.len(), ENTRIES);

    // Claims in flight.
    let region = Region::new(GLOBAL);
    let claims = MemoryStore::with_capacity(ENTRIES);
    for (key, token) in keys.iter().zip(&tokens) {
        claims.claim(key, *token, lease).await.unwrap();
    }
    let change = region.change();
    let claim_bytes = (change.bytes_allocated - change.bytes_deallocated) as f64 / ENTRIES as f64;
    let claim_allocs = (change.allocations - change.deallocations) as f64 / ENTRIES as f64;

    println!(
        "MemoryStore, {ENTRIES} entries, 40-byte keys, {record_len}-byte records: \
         {done_bytes:.0} bytes and {done_allocs:.2} live allocations per processed entry; \
         {claim_bytes:.0} bytes and {claim_allocs:.2} live allocations per claim"
    );
    // Bounds documented on `MemoryStore` (its tables included: room for twice the
    // capacity in the hash table); the allocator's own per-allocation overhead (about
    // 16 bytes each with glibc) comes on top.
    assert!(done_bytes < 340.0, "{done_bytes}");
    assert!(claim_bytes < 350.0, "{claim_bytes}");
    // One block per record, key and response together (the tables' own blocks are
    // shared by all entries).
    assert!(done_allocs < 1.05, "{done_allocs}");
}
