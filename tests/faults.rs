//! Fault injection with real `redis-server` processes, through the stack a fleet runs
//! (signature verification, then the Redis idempotency store, then the handler or
//! the durable queue), over a real loopback socket:
//!
//! - Redis killed under load, down for a second, restarted (AOF, `appendfsync
//!   always`): every event is processed exactly once, every 2xx was processed, and a
//!   new event gets its 2xx within 2 s of Redis returning; once with a handler, once
//!   with the ack-fast queue and its workers;
//! - a Redis Cluster master killed: its replica takes over, deliveries hashing to its
//!   slots succeed again, nothing is processed twice;
//! - a handler slower than the idempotency lease: the documented double run.
//!
//! Senders behave like webhook providers: distinct events, one in four sent twice at
//! once, each retried after any non-2xx answer or connection error with a short
//! backoff until it gets a 2xx.
//!
//! A kill lands between commands Redis ran and the answers it never sent: the
//! idempotency record written after the handler ran is lost unless the layer retries
//! the write until the lease ends, and an enqueue answered 503 may have been stored,
//! so the Redis queue deduplicates enqueues by event id.
#![cfg(all(feature = "redis-cluster", feature = "queue"))]

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::post;
use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;
use test_redis::{RedisCluster, RedisServer};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::task::{JoinHandle, block_in_place};
use tower_webhook::WebhookStack;
use tower_webhook::core::redis::RedisConnection;
use tower_webhook::idempotency::IdempotencyLayer;
use tower_webhook::idempotency::store::{RedisStore, Store};
use tower_webhook::queue::{Enqueue, Job, Queue, RedisQueue, Workers};

/// How long the handler (or a worker) works on one event: long enough for the kill
/// to fall between the claim and the record of some deliveries.
const WORK: Duration = Duration::from_millis(5);
/// Concurrent senders; each sends one event after the other.
const SENDERS: usize = 16;
/// Every `TWIN_EVERY`-th event of a sender is sent twice at once.
const TWIN_EVERY: usize = 4;
/// The idempotency lease: far above `WORK`, short enough for a claim stranded by the
/// kill (its answer lost with the connection) to free itself within the test.
const LEASE: Duration = Duration::from_secs(5);
/// The deliberate outage.
const OUTAGE: Duration = Duration::from_secs(1);
/// How long one Redis operation may take: shorter than the outage, so every
/// operation attempted while Redis is down fails (the default, 2 s, would let most of
/// them wait the outage out).
const OPERATION_TIMEOUT: Duration = Duration::from_millis(500);
/// The longest time from Redis returning to a new event's first 2xx.
const RECOVERY: Duration = Duration::from_secs(2);
/// A sender gives up on one attempt after this long.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// A delivery still without a 2xx after this long fails the test.
const DELIVERY_DEADLINE: Duration = Duration::from_secs(40);

/// The load tests run one at a time: each measures a recovery time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// How many times each event id was processed.
#[derive(Clone, Default)]
struct Processed(Arc<Mutex<HashMap<String, usize>>>);

impl Processed {
    /// Counts one run of `id`; returns the run's number.
    fn record(&self, id: &str) -> usize {
        let mut runs = self.0.lock().unwrap();
        let run = runs.entry(id.to_owned()).or_default();
        *run += 1;
        *run
    }

    fn snapshot(&self) -> HashMap<String, usize> {
        self.0.lock().unwrap().clone()
    }
}

fn event_body(id: &str, hold: bool) -> Bytes {
    Bytes::from(format!(
        r#"{{"id":"{id}","type":"payout.completed","hold":{hold}}}"#
    ))
}

fn event_id(body: &[u8]) -> String {
    let event: serde_json::Value = serde_json::from_slice(body).expect("a JSON event");
    event["id"].as_str().expect("an event id").to_owned()
}

/// The idempotency key of `id` in Redis: default prefix, the scheme as namespace.
fn store_key(id: &str) -> String {
    format!("webhook:idempotency:hopnow:{id}")
}

async fn serve(app: Router) -> SocketAddr {
    let (listener, addr) = common::bind().await;
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// An answer as a sender sees it.
#[derive(Debug)]
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Answer {
    fn replayed(&self) -> bool {
        self.headers
            .get("idempotent-replayed")
            .is_some_and(|value| value == "true")
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One attempt over a fresh HTTP/1.1 connection; a connection error or a timeout is
/// an `Err`, as a sender sees it.
/// Serves the stack with idempotency in `store` (lease [`LEASE`]) in front of a
/// handler that works [`WORK`] and counts its runs per event id.
async fn serve_counting<St: Store + Clone>(store: St) -> (SocketAddr, Processed) {
    let idempotency = IdempotencyLayer::builder(store)
        .lease(LEASE)
        .store_retry_after(Duration::from_secs(1))
        .build()
        .unwrap();
    let processed = Processed::default();
    let handler = {
        let processed = processed.clone();
        move |body: Bytes| {
            let processed = processed.clone();
            async move {
                tokio::time::sleep(WORK).await;
                let id = event_id(&body);
                let run = processed.record(&id);
                format!(r#"{{"id":"{id}","run":{run}}}"#)
            }
        }
    };
    let app = Router::new()
        .route("/webhooks", post(handler))
        .layer(WebhookStack::new(common::layer()).idempotency(idempotency));
    (serve(app).await, processed)
}

async fn post_once(addr: SocketAddr, body: &Bytes, headers: &HeaderMap) -> Result<Answer, String> {
    let attempt = async {
        let stream = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(connection);
        let request = common::post_full("/webhooks", headers.clone(), body.clone());
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| e.to_string())?;
        let (parts, body) = response.into_parts();
        let body = body.collect().await.map_err(|e| e.to_string())?.to_bytes();
        Ok(Answer {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    };
    tokio::time::timeout(ATTEMPT_TIMEOUT, attempt)
        .await
        .map_err(|_| "timed out".to_owned())?
}

async fn post_event(addr: SocketAddr, body: &Bytes) -> Answer {
    post_once(addr, body, &common::sign(body))
        .await
        .expect("the receiver answers")
}

/// Every answer that was not a 2xx, by status (or `connection error`).
#[derive(Default)]
struct Tally(Mutex<BTreeMap<String, usize>>);

impl Tally {
    fn count(&self, what: String) {
        *self.0.lock().unwrap().entry(what).or_default() += 1;
    }

    fn snapshot(&self) -> BTreeMap<String, usize> {
        self.0.lock().unwrap().clone()
    }
}

/// One event delivered: when it was first sent, when it got its 2xx, in how many
/// attempts, and that 2xx.
struct Delivered {
    id: String,
    first_sent: Instant,
    succeeded: Instant,
    attempts: u32,
    answer: Answer,
}

/// Sends `id` until it gets a 2xx, like a webhook sender: any other answer or a
/// connection error is retried after a short, growing pause.
async fn deliver(addr: SocketAddr, id: &str, tally: &Tally) -> Delivered {
    let body = event_body(id, false);
    let headers = common::sign(&body);
    let first_sent = Instant::now();
    let mut attempts = 0;
    loop {
        attempts += 1;
        match post_once(addr, &body, &headers).await {
            Ok(answer) if answer.status.is_success() => {
                return Delivered {
                    id: id.to_owned(),
                    first_sent,
                    succeeded: Instant::now(),
                    attempts,
                    answer,
                };
            }
            Ok(answer) => tally.count(answer.status.as_str().to_owned()),
            Err(_) => tally.count("connection error".to_owned()),
        }
        assert!(
            first_sent.elapsed() < DELIVERY_DEADLINE,
            "{id}: no 2xx after {attempts} attempts"
        );
        tokio::time::sleep(Duration::from_millis(20) * attempts.min(5)).await;
    }
}

/// [`SENDERS`] senders delivering new events until stopped.
struct Load {
    stop: Arc<AtomicBool>,
    delivered: Arc<Mutex<Vec<Delivered>>>,
    tally: Arc<Tally>,
    senders: Vec<JoinHandle<()>>,
}

impl Load {
    fn start(addr: SocketAddr, prefix: &'static str) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let delivered = Arc::new(Mutex::new(Vec::new()));
        let tally = Arc::new(Tally::default());
        let senders = (0..SENDERS)
            .map(|sender| {
                let (stop, delivered, tally) = (stop.clone(), delivered.clone(), tally.clone());
                tokio::spawn(async move {
                    let mut n = 0;
                    while !stop.load(Ordering::SeqCst) {
                        let id = format!("{prefix}_{sender}_{n}");
                        let copies = if n % TWIN_EVERY == 0 {
                            let (a, b) = tokio::join!(
                                deliver(addr, &id, &tally),
                                deliver(addr, &id, &tally)
                            );
                            vec![a, b]
                        } else {
                            vec![deliver(addr, &id, &tally).await]
                        };
                        delivered.lock().unwrap().extend(copies);
                        n += 1;
                    }
                })
            })
            .collect();
        Self {
            stop,
            delivered,
            tally,
            senders,
        }
    }

    /// Waits until `count` deliveries first sent after `since` got their 2xx.
    async fn wait_for(&self, since: Instant, count: usize) {
        let delivered = self.delivered.clone();
        poll_until(
            &format!("{count} deliveries"),
            Duration::from_secs(30),
            || {
                let delivered = delivered.lock().unwrap();
                delivered.iter().filter(|d| d.first_sent >= since).count() >= count
            },
        )
        .await;
    }

    /// Stops the senders once each has its current event answered 2xx.
    async fn finish(self) -> (Vec<Delivered>, BTreeMap<String, usize>) {
        self.stop.store(true, Ordering::SeqCst);
        for sender in self.senders {
            sender.await.expect("a sender panicked");
        }
        let delivered = std::mem::take(&mut *self.delivered.lock().unwrap());
        (delivered, self.tally.snapshot())
    }
}

/// Polls `condition` every 10 ms until it holds; fails the test after `timeout`.
async fn poll_until(what: &str, timeout: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A `redis-server` that writes every command to its append-only file before it
/// answers (so a kill loses nothing it acknowledged), and a store on it.
async fn durable_redis() -> (RedisServer, RedisStore) {
    let server = RedisServer::builder().aof(true).start();
    let connection = RedisConnection::builder(server.url())
        .operation_timeout(OPERATION_TIMEOUT)
        .connect()
        .await
        .unwrap();
    (server, RedisStore::new(connection).unwrap())
}

/// Kills Redis, keeps it down for [`OUTAGE`], restarts it (reloading the AOF);
/// returns when `restart` returned.
async fn outage(server: &mut RedisServer) -> Instant {
    block_in_place(|| server.kill());
    tokio::time::sleep(OUTAGE).await;
    block_in_place(|| server.restart());
    Instant::now()
}

/// Loads `addr` for 200 deliveries, takes Redis down and back ([`outage`]), probes with
/// a new event, and loads 200 more deliveries past the restart. Returns every delivery
/// (the probe included), the refusals, when Redis was back, and how long after that
/// the probe's first 2xx came.
async fn load_through_outage(
    addr: SocketAddr,
    server: &mut RedisServer,
) -> (Vec<Delivered>, BTreeMap<String, usize>, Instant, Duration) {
    let started = Instant::now();
    let load = Load::start(addr, "evt");
    load.wait_for(started, 200).await;
    let restarted = outage(server).await;
    let probe = deliver(addr, "probe", &load.tally).await;
    let recovery = probe.succeeded - restarted;
    load.wait_for(restarted, 200).await;
    let (mut delivered, tally) = load.finish().await;
    delivered.push(probe);
    (delivered, tally, restarted, recovery)
}

/// Asserts each event id in `delivered` (and only those) was processed once.
fn assert_each_processed_once(delivered: &[Delivered], processed: &HashMap<String, usize>) {
    let sent: HashSet<&str> = delivered.iter().map(|d| d.id.as_str()).collect();
    let mut wrong: Vec<(&str, usize)> = sent
        .iter()
        .map(|&id| (id, processed.get(id).copied().unwrap_or(0)))
        .filter(|&(_, runs)| runs != 1)
        .collect();
    wrong.sort_unstable();
    assert!(
        wrong.is_empty(),
        "events not processed exactly once (id, runs): {wrong:?}"
    );
    assert_eq!(processed.len(), sent.len(), "processed events nobody sent");
}

fn report(
    name: &str,
    delivered: &[Delivered],
    tally: &BTreeMap<String, usize>,
    since: Instant,
    recovery: Duration,
) {
    let events: HashSet<&str> = delivered.iter().map(|d| d.id.as_str()).collect();
    let attempts: u32 = delivered.iter().map(|d| d.attempts).sum();
    let retried = delivered.iter().filter(|d| d.attempts > 1).count();
    let first_after = delivered
        .iter()
        .filter(|d| d.succeeded >= since)
        .map(|d| d.succeeded - since)
        .min();
    println!(
        "{name}: {} events ({} deliveries, twins included), {attempts} attempts, \
         {retried} deliveries retried; refused: {tally:?}; first 2xx after recovery \
         started: {first_after:?}; a new event's first 2xx: {recovery:?}",
        events.len(),
        delivered.len(),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_killed_under_load_then_restarted_processes_every_event_once() {
    let _serial = SERIAL.lock().await;
    let (mut server, store) = durable_redis().await;
    let (addr, processed) = serve_counting(store).await;

    let (delivered, tally, restarted, recovery) = load_through_outage(addr, &mut server).await;

    report("idempotency store", &delivered, &tally, restarted, recovery);
    assert!(
        tally.get("503").copied().unwrap_or(0) > 0,
        "the outage was not felt: {tally:?}"
    );
    assert_each_processed_once(&delivered, &processed.snapshot());
    for d in &delivered {
        assert_eq!(d.answer.status, StatusCode::OK, "{}", d.id);
        // Whichever copy got it, the 2xx is the one run's response.
        assert_eq!(d.answer.text(), format!(r#"{{"id":"{}","run":1}}"#, d.id));
    }
    assert!(recovery <= RECOVERY, "recovered in {recovery:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_killed_under_load_then_restarted_queues_and_works_every_event_once() {
    let _serial = SERIAL.lock().await;
    let (mut server, store) = durable_redis().await;
    let connection = store.connection().clone();
    let idempotency = IdempotencyLayer::builder(store)
        .lease(LEASE)
        .store_retry_after(Duration::from_secs(1))
        .build()
        .unwrap();
    // An entry whose XREADGROUP answer was lost with the connection stays pending
    // with its consumer: reclaimed after the idle time, short here to end the test.
    let queue = RedisQueue::builder(connection)
        .claim_idle(Duration::from_secs(3))
        .reclaim_interval(Duration::from_millis(500))
        .build()
        .await
        .unwrap();
    let processed = Processed::default();
    let workers = {
        let processed = processed.clone();
        Workers::builder(queue.clone(), move |job: Job| {
            let processed = processed.clone();
            async move {
                tokio::time::sleep(WORK).await;
                processed.record(&event_id(job.body()));
                Ok(())
            }
        })
        .concurrency(4)
        .spawn()
        .unwrap()
    };
    let enqueue = Enqueue::builder(queue.clone())
        .retry_after(Duration::from_secs(1))
        .build()
        .unwrap();
    let app = Router::new()
        .route_service("/webhooks", enqueue)
        .layer(WebhookStack::new(common::layer()).idempotency(idempotency));
    let addr = serve(app).await;

    let (delivered, tally, restarted, recovery) = load_through_outage(addr, &mut server).await;

    // Every 202 is a job: wait until the workers ran each and the queue is empty.
    let sent: HashSet<String> = delivered.iter().map(|d| d.id.clone()).collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let runs = processed.snapshot();
        let depth = queue.depth().await.unwrap();
        if sent.iter().all(|id| runs.contains_key(id)) && depth.unfinished() == 0 {
            assert_eq!(depth.dead, 0, "dead letters: {depth:?}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "jobs answered 202 but not worked: {:?}, {depth:?}",
            sent.iter()
                .filter(|id| !runs.contains_key(*id))
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    workers.shutdown().await.unwrap();

    report("queue", &delivered, &tally, restarted, recovery);
    assert!(
        tally.get("503").copied().unwrap_or(0) > 0,
        "the outage was not felt: {tally:?}"
    );
    assert_each_processed_once(&delivered, &processed.snapshot());
    for d in &delivered {
        assert_eq!(d.answer.status, StatusCode::ACCEPTED, "{}", d.id);
    }
    assert!(recovery <= RECOVERY, "recovered in {recovery:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cluster_master_killed_its_replica_takes_over_and_each_event_is_processed_once() {
    let _serial = SERIAL.lock().await;
    let mut cluster = block_in_place(|| {
        RedisCluster::builder()
            .masters(3)
            .replicas(1)
            .node_timeout(Duration::from_millis(1000))
            .start()
    });
    let connection = RedisConnection::cluster(cluster.urls())
        .connect()
        .await
        .unwrap();
    let store = RedisStore::new(connection).unwrap();
    let (addr, processed) = serve_counting(store).await;

    // Load on every master, then a pause until the replicas have every record:
    // replication is asynchronous, and a write the replica never got is lost with its
    // master whatever the client does.
    let started = Instant::now();
    let load = Load::start(addr, "before");
    load.wait_for(started, 300).await;
    let (before, before_tally) = load.finish().await;
    block_in_place(|| cluster.wait_for_replication(Duration::from_secs(10))).unwrap();

    let victim = block_in_place(|| cluster.master_for_key(&store_key(&before[0].id))).unwrap();
    let on_victim: Vec<String> = block_in_place(|| {
        let ids: HashSet<&str> = before.iter().map(|d| d.id.as_str()).collect();
        ids.into_iter()
            .map(str::to_owned)
            .filter(|id| cluster.master_for_key(&store_key(id)).unwrap() == victim)
            .collect()
    });
    block_in_place(|| cluster.nodes_mut()[victim].kill());
    let killed = Instant::now();
    // New events keep coming while the master is down and during the failover.
    let load = Load::start(addr, "after");
    let promoted =
        block_in_place(|| cluster.wait_for_failover(victim, Duration::from_secs(30))).unwrap();
    let failed_over = Instant::now();

    // Deliveries whose keys hash to the failed master's slots succeed again.
    let probes: Vec<String> = block_in_place(|| {
        (0..)
            .map(|n| format!("probe_{n}"))
            .filter(|id| cluster.master_for_key(&store_key(id)).unwrap() == promoted)
            .take(20)
            .collect()
    });
    let mut probed = Vec::new();
    for id in &probes {
        probed.push(deliver(addr, id, &load.tally).await);
    }
    let recovery = probed[0].succeeded - failed_over;
    // The records written before the kill survived on the replica: duplicates of
    // those events, on the failed master's slots included, are replayed.
    for id in &on_victim {
        let answer = post_event(addr, &event_body(id, false)).await;
        assert_eq!(answer.status, StatusCode::OK, "{id}: {}", answer.text());
        assert!(answer.replayed(), "{id} was not replayed");
        assert_eq!(answer.text(), format!(r#"{{"id":"{id}","run":1}}"#));
    }
    load.wait_for(failed_over, 100).await;
    let (after, tally) = load.finish().await;

    println!(
        "cluster: master {victim} killed, replica {promoted} promoted after {:?}; \
         {} events before the kill ({} on the failed master, replayed after), \
         refused before: {before_tally:?}",
        failed_over - killed,
        before.len(),
        on_victim.len(),
    );
    let mut delivered = before;
    delivered.extend(after);
    delivered.extend(probed);
    report("cluster", &delivered, &tally, failed_over, recovery);
    assert!(!on_victim.is_empty());
    assert!(
        tally.get("503").copied().unwrap_or(0) > 0,
        "the failure was not felt: {tally:?}"
    );
    assert_each_processed_once(&delivered, &processed.snapshot());
    assert!(recovery <= RECOVERY, "recovered in {recovery:?}");
}

/// A handler that reports each run to the test and, for an event whose body says
/// `"hold": true`, waits until the test lets that run go on.
type Runs = mpsc::UnboundedReceiver<(String, usize, oneshot::Sender<()>)>;

async fn held_receiver(lease: Duration) -> (SocketAddr, Runs, Processed, RedisServer) {
    let server = RedisServer::start();
    let store = RedisStore::new(RedisConnection::connect(server.url()).await.unwrap()).unwrap();
    let idempotency = IdempotencyLayer::builder(store)
        .lease(lease)
        .build()
        .unwrap();
    let processed = Processed::default();
    let (runs_tx, runs) = mpsc::unbounded_channel();
    let handler = {
        let processed = processed.clone();
        move |body: Bytes| {
            let (processed, runs_tx) = (processed.clone(), runs_tx.clone());
            async move {
                let id = event_id(&body);
                let run = processed.record(&id);
                let (go, wait) = oneshot::channel();
                runs_tx.send((id.clone(), run, go)).unwrap();
                let hold: serde_json::Value = serde_json::from_slice(&body).unwrap();
                if hold["hold"] == true {
                    wait.await.unwrap();
                }
                format!("{id} run {run}")
            }
        }
    };
    let app = Router::new()
        .route("/webhooks", post(handler))
        .layer(WebhookStack::new(common::layer()).idempotency(idempotency));
    (serve(app).await, runs, processed, server)
}

/// Sends the event until an answer other than 409 comes back (the lease ended).
fn send_until_claimed(addr: SocketAddr, body: Bytes) -> JoinHandle<(Answer, u32)> {
    tokio::spawn(async move {
        let mut refused = 0;
        loop {
            let answer = post_event(addr, &body).await;
            if answer.status != StatusCode::CONFLICT {
                return (answer, refused);
            }
            refused += 1;
            assert!(refused < 500, "the lease never ended");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_slower_than_the_lease_runs_twice_and_the_last_claim_is_recorded() {
    let lease = Duration::from_secs(1);
    let (addr, mut runs, processed, _server) = held_receiver(lease).await;

    for second_finishes_first in [true, false] {
        let id = if second_finishes_first {
            "evt_second_first"
        } else {
            "evt_first_first"
        };
        let body = event_body(id, true);
        let first = tokio::spawn({
            let body = body.clone();
            async move { post_event(addr, &body).await }
        });
        let (_, run, release_first) = runs.recv().await.unwrap();
        assert_eq!(run, 1);

        // While the lease holds: 409 with the lease's time left, the handler not called.
        let early = post_event(addr, &body).await;
        assert_eq!(early.status, StatusCode::CONFLICT, "{}", early.text());
        assert_eq!(early.headers["retry-after"], "1");

        // The lease ends while run 1 still works: the next copy runs the handler again.
        let second = send_until_claimed(addr, body.clone());
        let (_, run, release_second) = runs.recv().await.unwrap();
        assert_eq!(run, 2);

        let (first, second) = if second_finishes_first {
            release_second.send(()).unwrap();
            let (second, refused) = second.await.unwrap();
            assert!(
                refused >= 1,
                "the second copy was let in before the lease ended"
            );
            release_first.send(()).unwrap();
            (first.await.unwrap(), second)
        } else {
            release_first.send(()).unwrap();
            let first = first.await.unwrap();
            // Run 1 could not record (run 2's claim fences it): run 2 still holds it.
            let meanwhile = post_event(addr, &body).await;
            assert_eq!(meanwhile.status, StatusCode::CONFLICT);
            release_second.send(()).unwrap();
            (first, second.await.unwrap().0)
        };
        // Each sender gets its own run's response; neither is a replay.
        assert_eq!(first.status, StatusCode::OK);
        assert_eq!(first.text(), format!("{id} run 1"));
        assert!(!first.replayed());
        assert_eq!(second.status, StatusCode::OK);
        assert_eq!(second.text(), format!("{id} run 2"));
        assert!(!second.replayed());

        // The record is the last claim's (run 2), whichever run finished first.
        let later = post_event(addr, &body).await;
        assert_eq!(later.status, StatusCode::OK);
        assert!(later.replayed());
        assert_eq!(later.text(), format!("{id} run 2"));
        assert_eq!(processed.snapshot()[id], 2);
    }
    assert!(runs.try_recv().is_err(), "the handler ran a third time");
}
