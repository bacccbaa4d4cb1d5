//! Enqueue-to-202 latency through the enqueue service, and end-to-end throughput
//! (events per second from the enqueue call to the processing function's return), for
//! the memory queue and for Redis on loopback: a `redis-server` the benchmark starts on
//! a free port, once with AOF and `appendfsync always` (the setting the durability
//! guarantee needs), once without persistence.
//!
//! Run: `cargo bench -p webhook-queue --features redis --bench queue`

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use http::{Request, StatusCode};
use tokio::sync::Notify;
use tower::ServiceExt;
use webhook_core::redis::RedisConnection;
use webhook_core::{KeyId, VerifiedDelivery};
use webhook_queue::{Enqueue, Job, MemoryQueue, Queue, RedisQueue, Workers};

/// Events per throughput measurement.
const BATCH: u64 = 2_000;
/// Concurrent senders in the throughput measurement.
const SENDERS: u64 = 16;

fn request(n: u64) -> Request<()> {
    let body = Bytes::from(format!(
        r#"{{"id":"evt_{n:012}","type":"payout.completed","amount":1200}}"#
    ));
    let mut request = Request::post("/webhooks").body(()).unwrap();
    request.extensions_mut().insert(VerifiedDelivery::new(
        "hopnow",
        KeyId::from("current"),
        body,
    ));
    request
}

struct Processed {
    count: AtomicU64,
    changed: Notify,
}

impl Processed {
    async fn wait_for(&self, target: u64) {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if self.count.load(Ordering::Acquire) >= target {
                return;
            }
            changed.await;
        }
    }
}

fn bench_backend<Q: Queue + Clone>(
    c: &mut Criterion,
    runtime: &tokio::runtime::Runtime,
    name: &str,
    queue: Q,
) {
    let processed = Arc::new(Processed {
        count: AtomicU64::new(0),
        changed: Notify::new(),
    });
    let workers = runtime.block_on(async {
        let processed = processed.clone();
        Workers::builder(queue.clone(), move |_job: Job| {
            let processed = processed.clone();
            async move {
                processed.count.fetch_add(1, Ordering::AcqRel);
                processed.changed.notify_waiters();
                Ok(())
            }
        })
        .concurrency(8)
        .spawn()
        .unwrap()
    });
    let enqueue = Enqueue::new(queue.clone());
    let sequence = Arc::new(AtomicU64::new(0));

    let mut group = c.benchmark_group("enqueue-to-202");
    group.measurement_time(Duration::from_secs(4));
    group.bench_function(name, |b| {
        b.to_async(runtime).iter(|| async {
            let n = sequence.fetch_add(1, Ordering::Relaxed);
            let response = enqueue.clone().oneshot(request(n)).await.unwrap();
            assert_eq!(response.status(), StatusCode::ACCEPTED);
        });
    });
    group.finish();

    // Let the workers catch up before measuring throughput.
    runtime.block_on(processed.wait_for(sequence.load(Ordering::Relaxed)));

    let mut group = c.benchmark_group("end-to-end");
    group.throughput(Throughput::Elements(BATCH));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(8));
    group.bench_function(name, |b| {
        b.iter_custom(|iterations| {
            runtime.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iterations {
                    let target = processed.count.load(Ordering::Acquire) + BATCH;
                    let start = Instant::now();
                    let mut senders = tokio::task::JoinSet::new();
                    for _ in 0..SENDERS {
                        let enqueue = enqueue.clone();
                        let sequence = sequence.clone();
                        senders.spawn(async move {
                            for _ in 0..BATCH / SENDERS {
                                let n = sequence.fetch_add(1, Ordering::Relaxed);
                                let response = enqueue.clone().oneshot(request(n)).await?;
                                assert_eq!(response.status(), StatusCode::ACCEPTED);
                            }
                            Ok::<_, Infallible>(())
                        });
                    }
                    while let Some(sent) = senders.join_next().await {
                        sent.unwrap().unwrap();
                    }
                    processed.wait_for(target).await;
                    total += start.elapsed();
                }
                total
            })
        });
    });
    group.finish();
    runtime.block_on(workers.shutdown()).unwrap();
}

fn benches(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    let memory = MemoryQueue::builder().capacity(1_000_000).build().unwrap();
    bench_backend(c, &runtime, "memory", memory);

    let aof = test_redis::RedisServer::builder().aof(true).start();
    let queue = runtime.block_on(redis_queue(&aof));
    bench_backend(c, &runtime, "redis (AOF, appendfsync always)", queue);
    drop(aof);

    let volatile = test_redis::RedisServer::start();
    let queue = runtime.block_on(redis_queue(&volatile));
    bench_backend(c, &runtime, "redis (no persistence)", queue);
}

async fn redis_queue(server: &test_redis::RedisServer) -> RedisQueue {
    let connection = RedisConnection::connect(server.url()).await.unwrap();
    RedisQueue::builder(connection)
        .max_len(1_000_000)
        .build()
        .await
        .unwrap()
}

criterion_group!(queue, benches);
criterion_main!(queue);
