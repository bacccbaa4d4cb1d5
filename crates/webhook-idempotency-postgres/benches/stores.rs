//! The idempotency stores side by side, in one run: a fresh delivery (claim + complete;
//! for the inbox, `begin` + an effect-free transaction + `commit`) and a duplicate
//! (a claim that finds the record; for the inbox, `begin` finding it), 1 and 64
//! deliveries in flight. Latency per operation (median, p99), the ratio to the Redis
//! store, and the round trips each operation makes.
//!
//! Run: `cargo bench -p webhook-idempotency-postgres --bench stores`
//! (`STORES_BENCH_ROUNDS=3` for a quick look; the default is 20 timed rounds).
//!
//! The stores:
//! - the memory store, the floor: no I/O;
//! - the Redis store on a `redis-server` the bench starts on a free port, without
//!   persistence (test-redis's default), and on a second one with `appendfsync always`
//!   (each write on disk before the answer, as a Postgres commit is);
//! - the Postgres store and inbox on the machine's Postgres (`TEST_DATABASE_URL`, else
//!   the `test` database on 127.0.0.1:5432), in a schema of their own dropped at the
//!   end, each through a pool of 10 connections (sqlx's default size, as the reference
//!   receiver builds it): with sqlx's defaults (`test_before_acquire(true)`: a ping
//!   before each operation), with `test_before_acquire(false)`, and with
//!   `synchronous_commit = off` (a commit answers before its WAL is on disk).
//!
//! One warm-up round (statements prepared, scripts loaded, pools filled), then the timed
//! rounds. In each round every store runs a batch at 1 in flight, then at 64, the
//! stores' order rotating from round to round so that the host's noise falls on all of
//! them alike. A batch: fresh deliveries, each with a new key, then one duplicate of
//! each. The round trips are counted in a separate pass, one delivery at a time: Redis
//! commands from the server's `INFO commandstats`, Postgres messages through a counting
//! proxy (`tests/support/wire.rs`, in front of 127.0.0.1:5432, database `test`).
//!
//! Without `--bench` (`cargo test --benches`) it does nothing.

#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderValue, StatusCode};
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use support::TestSchema;
use support::wire::counting_proxy;
use test_redis::RedisServer;
use webhook_core::redis::RedisConnection;
use webhook_idempotency::store::{
    Claim, Completion, MemoryStore, RedisStore, Store, StoredResponse, Token,
};
use webhook_idempotency_postgres::{Begin, Inbox, PostgresStore};

const LEASE: Duration = Duration::from_secs(60);
const RETENTION: Duration = Duration::from_secs(72 * 3600);
/// Deliveries in flight, and the fresh deliveries of one batch at that concurrency.
const BATCHES: [(usize, usize); 2] = [(1, 100), (64, 640)];
/// sqlx's default pool size.
const POOL_CONNECTIONS: u32 = 10;
/// Deliveries per store in the round-trip pass.
const COUNTED: usize = 50;

fn response() -> StoredResponse {
    StoredResponse::new(StatusCode::OK)
        .with_header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
        .with_body(Bytes::from_static(b"{\"received\":1} "))
}

/// A store under test; each operation asserts its outcome.
enum Subject {
    Memory(MemoryStore),
    Redis(RedisStore),
    Postgres(PostgresStore),
    Inbox(Inbox),
}

impl Subject {
    async fn fresh(&self, key: &str) {
        match self {
            Self::Memory(store) => process(store, key).await,
            Self::Redis(store) => process(store, key).await,
            Self::Postgres(store) => process(store, key).await,
            Self::Inbox(inbox) => {
                let Begin::Fresh(tx) = inbox.begin(key).await.unwrap() else {
                    panic!("{key}: not fresh");
                };
                let committed = tx.commit(response()).await.unwrap();
                assert_eq!(committed.response().status(), StatusCode::OK);
            }
        }
    }

    async fn duplicate(&self, key: &str) {
        match self {
            Self::Memory(store) => replay(store, key).await,
            Self::Redis(store) => replay(store, key).await,
            Self::Postgres(store) => replay(store, key).await,
            Self::Inbox(inbox) => {
                let found = inbox.begin(key).await.unwrap();
                assert!(matches!(found, Begin::Done(_)), "{key}: {found:?}");
            }
        }
    }
}

async fn process<St: Store>(store: &St, key: &str) {
    let token = Token::generate();
    let claim = store.claim(key, token, LEASE).await.unwrap();
    assert!(matches!(claim, Claim::Acquired), "{key}: {claim:?}");
    let done = store.complete(key, token, &response(), RETENTION).await;
    assert_eq!(done.unwrap(), Completion::Recorded);
}

async fn replay<St: Store>(store: &St, key: &str) {
    let claim = store.claim(key, Token::generate(), LEASE).await.unwrap();
    assert!(matches!(claim, Claim::Done(_)), "{key}: {claim:?}");
}

#[derive(Clone, Copy)]
enum Operation {
    Fresh,
    Duplicate,
}

/// Runs `operation` on every key, `in_flight` at a time; the latency of each, in ns.
async fn timed(
    subject: &Arc<Subject>,
    operation: Operation,
    keys: &Arc<Vec<String>>,
    in_flight: usize,
) -> Vec<u64> {
    let next = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..in_flight)
        .map(|_| {
            let (subject, keys, next) = (subject.clone(), keys.clone(), next.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                loop {
                    let Some(key) = keys.get(next.fetch_add(1, Ordering::Relaxed)) else {
                        return latencies;
                    };
                    let start = Instant::now();
                    match operation {
                        Operation::Fresh => subject.fresh(key).await,
                        Operation::Duplicate => subject.duplicate(key).await,
                    }
                    latencies.push(u64::try_from(start.elapsed().as_nanos()).unwrap());
                }
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(keys.len());
    for worker in workers {
        latencies.extend(worker.await.unwrap());
    }
    latencies
}

/// How to count one store's round trips.
enum Wire {
    /// No I/O.
    None,
    /// Commands the client sent, from the server's statistics.
    Redis(RedisServer),
    /// Messages through a counting proxy, on a pool built as the store's.
    Postgres { config: PgConfig, inbox: bool },
}

/// How a Postgres pool is built.
#[derive(Clone, Copy)]
struct PgConfig {
    /// `test_before_acquire`.
    ping: bool,
    /// `synchronous_commit` on (the server's default) or off.
    synchronous_commit: bool,
}

struct Target {
    name: String,
    subject: Arc<Subject>,
    wire: Wire,
}

/// The latencies of one store at one concurrency, all rounds, and each round's medians.
#[derive(Default)]
struct Samples {
    fresh: Vec<u64>,
    duplicate: Vec<u64>,
    round_medians: Vec<(u64, u64)>,
}

fn quantile(sorted: &[u64], q: f64) -> u64 {
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn median(latencies: &[u64]) -> u64 {
    let mut sorted = latencies.to_vec();
    sorted.sort_unstable();
    quantile(&sorted, 0.5)
}

fn micros(ns: u64) -> String {
    let us = ns as f64 / 1000.0;
    if us < 10.0 {
        format!("{us:.1}")
    } else {
        format!("{us:.0}")
    }
}

async fn postgres_pool(config: PgConfig, connections: u32, url: &str) -> PgPool {
    let mut options: PgConnectOptions = url.parse().expect("a Postgres URL");
    if !config.synchronous_commit {
        options = options.options([("synchronous_commit", "off")]);
    }
    PgPoolOptions::new()
        .max_connections(connections)
        .test_before_acquire(config.ping)
        .connect_with(options)
        .await
        .expect("connect to Postgres")
}

/// Per delivery: (round trips of a fresh one, of a duplicate), as the table prints them.
async fn count_round_trips(target: &Target, schema: &str) -> (String, String) {
    match &target.wire {
        Wire::None => ("none".to_owned(), "none".to_owned()),
        Wire::Redis(server) => {
            let mut per = Vec::new();
            for operation in [Operation::Fresh, Operation::Duplicate] {
                let keys = counted_keys(&target.name);
                server.reset_stats().unwrap();
                timed(&target.subject, operation, &keys, 1).await;
                let sent: u64 = server
                    .command_stats()
                    .unwrap()
                    .iter()
                    // Everything but this pass's own CONFIG RESETSTAT and INFO, and
                    // the commands scripts run inside Redis.
                    .filter(|(name, _)| {
                        !["get", "set", "del", "pttl", "info", "config|resetstat"]
                            .contains(&name.as_str())
                    })
                    .map(|(_, calls)| calls)
                    .sum();
                per.push(per_delivery(sent as f64 / COUNTED as f64));
            }
            (per[0].clone(), per[1].clone())
        }
        &Wire::Postgres { config, inbox } => {
            let (port, count) = counting_proxy().await;
            let url = format!("postgres://postgres@127.0.0.1:{port}/test?sslmode=disable");
            let pool = postgres_pool(config, 1, &url).await;
            let store = PostgresStore::builder(pool.clone())
                .schema(schema)
                .build()
                .await
                .unwrap();
            let subject = if inbox {
                Subject::Inbox(Inbox::new(&store))
            } else {
                Subject::Postgres(store)
            };
            // The pool's ping on release comes after the operation: wait for it, so
            // that it is counted with the operation that caused it.
            let settled = || async {
                while pool.num_idle() < 1 {
                    tokio::time::sleep(Duration::from_micros(100)).await;
                }
            };
            // Prepares each statement on the proxied connection.
            subject.fresh(&format!("{}:warm", target.name)).await;
            subject.duplicate(&format!("{}:warm", target.name)).await;
            settled().await;
            let mut per = Vec::new();
            for fresh in [true, false] {
                let keys = counted_keys(&target.name);
                let (statements, round_trips) = count.read();
                for key in keys.iter() {
                    if fresh {
                        subject.fresh(key).await;
                    } else {
                        subject.duplicate(key).await;
                    }
                    settled().await;
                }
                let (statements_after, round_trips_after) = count.read();
                let statements = (statements_after - statements) as f64 / COUNTED as f64;
                let round_trips = (round_trips_after - round_trips) as f64 / COUNTED as f64;
                per.push(format!(
                    "{} ({} + {})",
                    per_delivery(round_trips),
                    per_delivery(statements),
                    per_delivery(round_trips - statements)
                ));
            }
            pool.close().await;
            (per[0].clone(), per[1].clone())
        }
    }
}

/// A count per delivery: whole, or to two decimals when it is not.
fn per_delivery(count: f64) -> String {
    if count.fract() == 0.0 {
        format!("{count}")
    } else {
        format!("{count:.2}")
    }
}

/// The keys of the round-trip pass: fresh the first time, duplicates the second.
fn counted_keys(store: &str) -> Arc<Vec<String>> {
    Arc::new(
        (0..COUNTED)
            .map(|n| format!("hopnow:counted_{store}_{n:06}"))
            .collect(),
    )
}

fn main() {
    if !std::env::args().any(|arg| arg == "--bench") {
        return;
    }
    let rounds: usize = std::env::var("STORES_BENCH_ROUNDS")
        .map(|rounds| rounds.parse().expect("STORES_BENCH_ROUNDS: a number"))
        .unwrap_or(20);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(rounds));
}

async fn run(rounds: usize) {
    let redis = RedisServer::start();
    let redis_aof = RedisServer::builder().aof(true).start();
    let schema = TestSchema::new("bench_stores");
    let url = support::shared_url();
    let redis_store = |server: &RedisServer| {
        let url = server.url();
        async move {
            let connection = RedisConnection::connect(url).await.unwrap();
            Subject::Redis(RedisStore::new(connection).unwrap())
        }
    };
    let mut targets = vec![
        Target {
            name: "memory".to_owned(),
            subject: Arc::new(Subject::Memory(MemoryStore::new())),
            wire: Wire::None,
        },
        Target {
            name: "redis".to_owned(),
            subject: Arc::new(redis_store(&redis).await),
            wire: Wire::Redis(redis),
        },
        Target {
            name: "redis, appendfsync always".to_owned(),
            subject: Arc::new(redis_store(&redis_aof).await),
            wire: Wire::Redis(redis_aof),
        },
    ];
    // One pool per configuration; the inbox shares the store's, as in an application.
    let mut stores = Vec::new();
    for (variant, ping, synchronous_commit) in [
        ("", true, true),
        (", no acquire ping", false, true),
        (", synchronous_commit off", true, false),
    ] {
        let config = PgConfig {
            ping,
            synchronous_commit,
        };
        let pool = postgres_pool(config, POOL_CONNECTIONS, &url).await;
        let store = PostgresStore::builder(pool)
            .schema(&schema.name)
            .build()
            .await
            .unwrap();
        stores.push((variant, config, store));
    }
    for inbox in [false, true] {
        for (variant, config, store) in &stores {
            targets.push(Target {
                name: format!(
                    "postgres {}{variant}",
                    if inbox { "inbox" } else { "store" }
                ),
                subject: Arc::new(if inbox {
                    Subject::Inbox(Inbox::new(store))
                } else {
                    Subject::Postgres(store.clone())
                }),
                wire: Wire::Postgres {
                    config: *config,
                    inbox,
                },
            });
        }
    }

    let mut samples: Vec<Vec<Samples>> = targets
        .iter()
        .map(|_| BATCHES.iter().map(|_| Samples::default()).collect())
        .collect();
    let started = Instant::now();
    for round in 0..=rounds {
        for (batch, &(in_flight, deliveries)) in BATCHES.iter().enumerate() {
            for turn in 0..targets.len() {
                let index = (turn + round) % targets.len();
                let keys: Arc<Vec<String>> = Arc::new(
                    (0..deliveries)
                        .map(|n| format!("hopnow:evt_{round}_{index}_{in_flight}_{n:06}"))
                        .collect(),
                );
                let subject = &targets[index].subject;
                let fresh = timed(subject, Operation::Fresh, &keys, in_flight).await;
                let duplicate = timed(subject, Operation::Duplicate, &keys, in_flight).await;
                // Round 0 warms up.
                if round > 0 {
                    let cell = &mut samples[index][batch];
                    cell.round_medians
                        .push((median(&fresh), median(&duplicate)));
                    cell.fresh.extend(fresh);
                    cell.duplicate.extend(duplicate);
                }
            }
        }
        eprintln!(
            "round {round}/{rounds} done ({:.0} s)",
            started.elapsed().as_secs_f64()
        );
    }

    let mut round_trips = Vec::new();
    for target in &targets {
        round_trips.push(count_round_trips(target, &schema.name).await);
    }
    let (settings,): (String,) = sqlx::query_as(
        "SELECT string_agg(format('%s %s', name, setting), ', ' ORDER BY name) FROM pg_settings \
         WHERE name IN ('fsync', 'synchronous_commit', 'server_version')",
    )
    .fetch_one(stores[0].2.pool())
    .await
    .unwrap();
    for (_, _, store) in &stores {
        store.pool().close().await;
    }

    println!();
    println!("{rounds} rounds after a warm-up round; Postgres: {settings}");
    let redis = targets.iter().position(|t| t.name == "redis").unwrap();
    for (batch, &(in_flight, _)) in BATCHES.iter().enumerate() {
        for cells in &mut samples {
            cells[batch].fresh.sort_unstable();
            cells[batch].duplicate.sort_unstable();
        }
        println!();
        println!("{in_flight} in flight:");
        println!();
        println!(
            "| store | fresh p50 µs | fresh p99 µs | fresh p50 vs Redis (each round) \
             | duplicate p50 µs | duplicate p99 µs | duplicate p50 vs Redis (each round) |"
        );
        println!("|---|---:|---:|---:|---:|---:|---:|");
        let base = &samples[redis][batch];
        for (target, cells) in targets.iter().zip(&samples) {
            let cell = &cells[batch];
            let vs_redis = |ours: &[u64], theirs: &[u64], pick: fn(&(u64, u64)) -> u64| {
                let ratios: Vec<f64> = cell
                    .round_medians
                    .iter()
                    .zip(&base.round_medians)
                    .map(|(ours, theirs)| pick(ours) as f64 / pick(theirs) as f64)
                    .collect();
                let low = ratios.iter().copied().fold(f64::INFINITY, f64::min);
                let high = ratios.iter().copied().fold(0.0, f64::max);
                let whole = quantile(ours, 0.5) as f64 / quantile(theirs, 0.5) as f64;
                format!("{} ({}-{})", ratio(whole), ratio(low), ratio(high))
            };
            println!(
                "| {} | {} | {} | {} | {} | {} | {} |",
                target.name,
                micros(quantile(&cell.fresh, 0.5)),
                micros(quantile(&cell.fresh, 0.99)),
                vs_redis(&cell.fresh, &base.fresh, |medians| medians.0),
                micros(quantile(&cell.duplicate, 0.5)),
                micros(quantile(&cell.duplicate, 0.99)),
                vs_redis(&cell.duplicate, &base.duplicate, |medians| medians.1),
            );
        }
    }
    println!();
    println!("Round trips per delivery (Postgres: statements + the pool's pings):");
    println!();
    println!("| store | fresh delivery | duplicate |");
    println!("|---|---|---|");
    for (target, (fresh, duplicate)) in targets.iter().zip(&round_trips) {
        println!("| {} | {fresh} | {duplicate} |", target.name);
    }
}

/// A ratio: to two decimals, or as a fraction below 0.1 (the memory store's).
fn ratio(x: f64) -> String {
    if x < 0.1 {
        format!("1/{:.0}", 1.0 / x)
    } else {
        format!("{x:.2}x")
    }
}
