//! The Redis Streams queue on a real `redis-server`, started by each test on a free
//! port (with AOF and `appendfsync always` where a restart is tested).
#![cfg(feature = "redis")]

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::{Gate, Recorder, Sent, Stack, send, stack, workers};
use http::StatusCode;
use test_redis::{RedisServer, Reply};
use webhook_core::redis::{DEFAULT_OPERATION_TIMEOUT, RedisConnection};
use webhook_queue::{Enqueue, Queue, RedisQueue, RedisQueueBuilder};

/// A queue on a connection of its own to `server`, as another process would have.
async fn connect(
    server: &RedisServer,
    configure: impl FnOnce(RedisQueueBuilder) -> RedisQueueBuilder,
) -> RedisQueue {
    connect_within(server, DEFAULT_OPERATION_TIMEOUT, configure).await
}

/// [`connect`], on a connection whose operations give up after `timeout`.
async fn connect_within(
    server: &RedisServer,
    timeout: Duration,
    configure: impl FnOnce(RedisQueueBuilder) -> RedisQueueBuilder,
) -> RedisQueue {
    let connection = RedisConnection::builder(server.url())
        .operation_timeout(timeout)
        .connect()
        .await
        .expect("connect to the test server");
    configure(RedisQueue::builder(connection))
        .poll_interval(Duration::from_millis(20))
        .build()
        .await
        .expect("create the queue")
}

fn integer(reply: Reply) -> i64 {
    match reply {
        Reply::Integer(n) => n,
        other => panic!("expected an integer, got {other:?}"),
    }
}

fn stream_len(server: &RedisServer) -> i64 {
    integer(server.command(&["XLEN", "webhook:queue:stream"]).unwrap())
}

/// The consumers holding pending entries, from `XPENDING <stream> workers`.
fn pending(server: &RedisServer) -> (i64, Vec<String>) {
    let Reply::Array(Some(items)) = server
        .command(&["XPENDING", "webhook:queue:stream", "workers"])
        .unwrap()
    else {
        panic!("XPENDING answers an array");
    };
    let count = integer(items[0].clone());
    let consumers = match &items[3] {
        Reply::Array(Some(list)) => list
            .iter()
            .map(|pair| match pair {
                Reply::Array(Some(pair)) => pair[0].as_text().unwrap(),
                other => panic!("{other:?}"),
            })
            .collect(),
        _ => Vec::new(),
    };
    (count, consumers)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_thousand_events_with_ten_percent_transient_failures_each_succeed_once() {
    let server = RedisServer::start();
    let queue = connect(&server, |queue| queue.max_len(20_000)).await;
    common::ten_thousand_events_with_transient_failures(queue).await;
    assert_eq!(stream_len(&server), 0, "acknowledged entries are deleted");
    assert_eq!(pending(&server).0, 0);
    assert_eq!(
        integer(server.command(&["ZCARD", "webhook:queue:delayed"]).unwrap()),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanent_error_is_dead_lettered_and_a_replay_processes_it() {
    let server = RedisServer::start();
    let queue = connect(&server, |queue| queue).await;
    common::a_permanent_error_is_dead_lettered_then_replayed(queue).await;
    assert_eq!(
        integer(server.command(&["XLEN", "webhook:queue:dead"]).unwrap()),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_killed_mid_event_leaves_it_pending_and_another_reclaims_and_finishes_it() {
    let server = RedisServer::start();
    let claim_idle = Duration::from_millis(300);

    // Process A takes the event, then dies before finishing it.
    let queue_a = connect(&server, |queue| queue.claim_idle(claim_idle)).await;
    let recorder_a = Arc::new(Recorder::default());
    let stuck = Arc::new(Gate::default()); // never opened
    let a = workers(queue_a.clone(), &recorder_a, false, Some(stuck.clone()))
        .concurrency(1)
        .consumer_prefix("a")
        .spawn()
        .unwrap();
    let stack_a = stack(Enqueue::new(queue_a.clone()));
    // A receives the entry after this instant; B may reclaim it only `claim_idle` later.
    let sent_at = Instant::now();
    assert_eq!(
        send(&stack_a, "evt_crash").await.status,
        StatusCode::ACCEPTED
    );
    stuck.until_waiting(1).await;
    a.abort();
    assert_eq!(pending(&server), (1, vec!["a-0".to_owned()]));

    // Process B reclaims it once it has been idle for the claim idle time.
    let queue_b = connect(&server, |queue| {
        queue
            .claim_idle(claim_idle)
            .reclaim_interval(Duration::from_millis(50))
    })
    .await;
    let recorder_b = Arc::new(Recorder::default());
    let b = workers(queue_b.clone(), &recorder_b, false, None)
        .concurrency(1)
        .consumer_prefix("b")
        .spawn()
        .unwrap();
    recorder_b
        .wait_until(Duration::from_secs(10), "the reclaimed event", |r| {
            r.runs("evt_crash") == 1
        })
        .await;
    assert!(sent_at.elapsed() >= claim_idle, "not reclaimed before idle");
    // The crashed attempt counts: B's attempt is the second.
    assert_eq!(recorder_b.success_attempts.lock().unwrap()["evt_crash"], 1);
    assert_eq!(recorder_a.calls.load(Ordering::Relaxed), 0);
    b.shutdown().await.unwrap();
    assert_eq!(pending(&server).0, 0);
    assert_eq!(stream_len(&server), 0);
}

/// Sends `event` the way a sender does: again after each 503, until a 202. Returns
/// how many 503s were answered on the way.
async fn send_until_accepted(stack: &Stack, event: &str) -> u32 {
    for refused in 0..200 {
        let sent: Sent = send(stack, event).await;
        if sent.status == StatusCode::ACCEPTED {
            return refused;
        }
        assert_eq!(sent.status, StatusCode::SERVICE_UNAVAILABLE, "{sent:?}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{event} was never accepted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_restarted_mid_run_answers_503_while_down_loses_nothing_accepted_and_resumes() {
    let mut server = RedisServer::builder().aof(true).start();
    let queue = connect_within(&server, Duration::from_millis(500), |queue| queue).await;
    let recorder = Arc::new(Recorder::default());
    let gate = Arc::new(Gate::default());
    let workers = workers(queue.clone(), &recorder, false, Some(gate.clone()))
        .concurrency(4)
        .spawn()
        .unwrap();
    let stack = stack(
        Enqueue::builder(queue.clone())
            .retry_after(Duration::from_secs(1))
            .build()
            .unwrap(),
    );

    // Before: 200 events accepted; the workers hold 4 of them when Redis dies.
    let before: Vec<String> = (0..200).map(|n| format!("evt_before_{n}")).collect();
    for (event, sent) in common::send_all(&stack, &before, 8).await {
        assert_eq!(sent.status, StatusCode::ACCEPTED, "{event}");
    }
    gate.until_waiting(4).await;
    server.kill();

    // While down: every delivery is refused with 503 and Retry-After, none queued.
    let during: Vec<String> = (0..20).map(|n| format!("evt_during_{n}")).collect();
    for (event, sent) in common::send_all(&stack, &during, 4).await {
        assert_eq!(sent.status, StatusCode::SERVICE_UNAVAILABLE, "{event}");
        assert_eq!(sent.code(), "queue_unavailable");
        assert_eq!(sent.retry_after, Some(1));
    }

    // After the restart (the AOF reloaded): the senders retry, new events arrive.
    server.restart();
    // An enqueue that timed out while Redis came back may have landed though it was
    // answered 503: the sender's retry then queues the event again (at least once).
    let mut refused = HashMap::new();
    let after: Vec<String> = (0..200).map(|n| format!("evt_after_{n}")).collect();
    for event in during.iter().chain(&after) {
        let count = send_until_accepted(&stack, event).await;
        refused.insert(event.clone(), count);
    }
    gate.open();

    let accepted: HashSet<String> = before
        .iter()
        .chain(&during)
        .chain(&after)
        .cloned()
        .collect();
    recorder
        .wait_until(Duration::from_secs(60), "every accepted event", |r| {
            r.success_count() == accepted.len()
        })
        .await;
    workers.shutdown().await.unwrap();
    let successes = recorder.successes.lock().unwrap().clone();
    let processed: HashSet<String> = successes.keys().cloned().collect();
    assert_eq!(processed, accepted, "nothing answered 202 was lost");
    for (event, runs) in &successes {
        let refusals = refused.get(event).copied().unwrap_or(0);
        assert!(
            *runs <= 1 + refusals,
            "{event} ran {runs} times after {refusals} refusals"
        );
    }
    assert_eq!(pending(&server).0, 0);
    assert_eq!(stream_len(&server), 0);
}

#[tokio::test]
async fn the_stream_bound_refuses_instead_of_trimming_unprocessed_entries() {
    let server = RedisServer::start();
    let queue = connect(&server, |queue| queue.max_len(3)).await;
    let stack = stack(Enqueue::new(queue.clone()));
    for n in 0..3 {
        assert_eq!(
            send(&stack, &format!("evt_{n}")).await.status,
            StatusCode::ACCEPTED
        );
    }
    let full = send(&stack, "evt_3").await;
    assert_eq!(full.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(full.code(), "queue_full");
    assert_eq!(full.retry_after, Some(5));
    assert_eq!(stream_len(&server), 3, "nothing trimmed, nothing added");
    let depth = queue.depth().await.unwrap();
    assert_eq!((depth.ready, depth.in_flight), (3, 0));
}

fn polled(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_enqueue_answered_503_that_landed_is_not_queued_again_by_the_retry() {
    let server = RedisServer::start();
    let queue = connect_within(&server, Duration::from_millis(200), |queue| queue).await;
    let stack = stack(
        Enqueue::builder(queue.clone())
            .retry_after(Duration::from_secs(1))
            .build()
            .unwrap(),
    );
    // The client loads the script on its first NOSCRIPT: load it now.
    assert_eq!(send(&stack, "evt_warm").await.status, StatusCode::ACCEPTED);
    // Redis holds every command for 1 s, then runs them: the enqueue times out and is
    // answered 503, then the job is stored anyway (what a reply lost to a dropped
    // connection or a killed Redis does too).
    assert_eq!(
        server
            .command(&["CLIENT", "PAUSE", "1000", "WRITE"])
            .unwrap(),
        Reply::Simple("OK".into())
    );
    let refused = send(&stack, "evt_landed").await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(refused.code(), "queue_unavailable");
    tokio::task::block_in_place(|| polled("the job to land", || stream_len(&server) == 2));

    // The sender retries: answered 202, not queued a second time.
    let retry = send(&stack, "evt_landed").await;
    assert_eq!(retry.status, StatusCode::ACCEPTED);
    assert_eq!(retry.json["event_id"], "evt_landed");
    assert_eq!(stream_len(&server), 2);

    let recorder = Arc::new(Recorder::default());
    let workers = workers(queue.clone(), &recorder, false, None)
        .spawn()
        .unwrap();
    recorder
        .wait_until(Duration::from_secs(10), "the jobs", |r| {
            r.success_count() == 2
        })
        .await;
    workers.shutdown().await.unwrap();
    assert_eq!(recorder.runs("evt_landed"), 1);
    assert_eq!(recorder.calls.load(Ordering::Relaxed), 2);
    assert_eq!(stream_len(&server), 0);
}

#[tokio::test]
async fn an_event_id_is_queued_once_per_dedupe_window_and_jobs_without_one_always() {
    use webhook_queue::{DEFAULT_DEDUPE_WINDOW, Job};
    let server = RedisServer::start();
    let queue = connect(&server, |queue| queue).await;
    let job = || Job::new("{}").with_scheme("hopnow").with_event_id("evt_1");
    queue.enqueue(&job()).await.unwrap();
    queue.enqueue(&job()).await.unwrap();
    assert_eq!(stream_len(&server), 1);
    // The same id from another scheme is another event.
    queue.enqueue(&job().with_scheme("stripe")).await.unwrap();
    assert_eq!(stream_len(&server), 2);
    let ttl = integer(
        server
            .command(&["PTTL", "webhook:queue:queued:hopnow:evt_1"])
            .unwrap(),
    );
    let window = DEFAULT_DEDUPE_WINDOW.as_millis() as i64;
    assert!((window - 60_000..=window).contains(&ttl), "{ttl}");
    // Without an event id there is nothing to deduplicate on.
    queue.enqueue(&Job::new("{}")).await.unwrap();
    queue.enqueue(&Job::new("{}")).await.unwrap();
    assert_eq!(stream_len(&server), 4);

    // A zero window turns deduplication off.
    let server = RedisServer::start();
    let queue = connect(&server, |queue| queue.dedupe_window(Duration::ZERO)).await;
    queue.enqueue(&job()).await.unwrap();
    queue.enqueue(&job()).await.unwrap();
    assert_eq!(stream_len(&server), 2);
    assert_eq!(
        integer(server.command(&["DBSIZE"]).unwrap()),
        1,
        "no marker, the stream only"
    );
}
