//! The slowest deliveries of a `MemoryStore` of the default capacity from empty: a
//! claim and a record for each of N fresh keys (600,000 by default: the store fills
//! at 100,000, then every delivery evicts the oldest record), one thread, timed one
//! by one. A table that grows, or rehashes its tombstones, shows as a delivery taking
//! milliseconds at the same count in every run; the scheduler's preemptions on a
//! busy host show too, at a different count each run.
//!
//! ```text
//! cargo run --release -p webhook-idempotency --example fill_stall [N]
//! ```

use std::time::{Duration, Instant};

use bytes::Bytes;
use http::StatusCode;
use webhook_idempotency::store::{MemoryStore, Store, StoredResponse, Token};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let deliveries: usize = match std::env::args().nth(1) {
        Some(n) => n.parse()?,
        None => 600_000,
    };
    let response = StoredResponse::new(StatusCode::OK).with_body(Bytes::from_static(
        br#"{"status":"processed","event_id":"evt_000000000000"}"#,
    ));
    let built = Instant::now();
    let store = MemoryStore::new();
    let built = built.elapsed();
    let lease = Duration::from_secs(60);
    let retention = Duration::from_secs(72 * 3600);
    let mut slow: Vec<(Duration, usize)> = Vec::new();
    let mut total = Duration::ZERO;
    for i in 0..deliveries {
        let key = format!("hopnow:evt_load_{i}_abcdefgh");
        let token = Token::generate();
        let started = Instant::now();
        store.claim(&key, token, lease).await?;
        store.complete(&key, token, &response, retention).await?;
        let took = started.elapsed();
        total += took;
        if took > Duration::from_micros(500) {
            slow.push((took, i));
        }
    }
    slow.sort_unstable_by(|a, b| b.cmp(a));
    println!(
        "built in {built:?}; {deliveries} deliveries, mean {:?}; {} over 0.5 ms; the slowest (time, delivery number): {:?}",
        total / u32::try_from(deliveries)?,
        slow.len(),
        &slow[..slow.len().min(6)]
    );
    Ok(())
}
