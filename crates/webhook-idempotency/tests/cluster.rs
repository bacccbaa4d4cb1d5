//! The layer on a 3-master Redis Cluster that each test starts
//! (`redis-server --cluster-enabled yes` x3, `redis-cli --cluster create`).
#![cfg(feature = "redis-cluster")]

mod common;

use std::time::Duration;

use common::lease::{LongHandler, long_handler_runs_once, long_stack};
use common::{Recorder, Stack, event, send_ok, stack};
use test_redis::{RedisCluster, Reply};
use webhook_core::redis::RedisConnection;
use webhook_idempotency::IdempotencyLayer;
use webhook_idempotency::store::RedisStore;

async fn cluster_stack(cluster: &RedisCluster, recorder: &Recorder) -> Stack {
    let connection = RedisConnection::cluster(cluster.urls())
        .connect()
        .await
        .expect("connect to the cluster");
    let store = RedisStore::new(connection).unwrap();
    assert!(store.connection().is_cluster());
    stack(IdempotencyLayer::new(store), recorder)
}

fn keys_per_node(cluster: &RedisCluster) -> Vec<i64> {
    cluster
        .nodes()
        .iter()
        .map(|node| match node.command(&["DBSIZE"]).unwrap() {
            Reply::Integer(n) => n,
            other => panic!("{other:?}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_copies_across_two_receivers_run_the_handler_once() {
    let cluster = RedisCluster::start(3);
    let recorder = Recorder::default();
    let a = cluster_stack(&cluster, &recorder).await;
    let b = cluster_stack(&cluster, &recorder).await;
    common::two_hundred_copies_while_held(&[a.clone(), b.clone()], &recorder, "evt_held").await;
    common::two_hundred_copies_racing(&[a, b], &recorder, "evt_race").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_distinct_events_sent_twice_run_once_and_spread_over_every_master() {
    let cluster = RedisCluster::start(3);
    let recorder = Recorder::default();
    let a = cluster_stack(&cluster, &recorder).await;
    let b = cluster_stack(&cluster, &recorder).await;
    common::thousand_events_twice(&[a, b], &recorder, "evt").await;
    assert_eq!(recorder.total_runs(), 1000);
    let keys = keys_per_node(&cluster);
    println!("keys per master: {keys:?}");
    assert_eq!(keys.iter().sum::<i64>(), 1000);
    assert!(keys.iter().all(|&n| n > 200), "{keys:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_drops_and_command_counts_on_a_cluster() {
    let cluster = RedisCluster::start(3);
    let recorder = Recorder::default();
    let service = cluster_stack(&cluster, &recorder).await;
    common::failure_then_retry(&service, &recorder, "evt_fail").await;
    common::dropped_then_retry(&service, &recorder, "evt_drop", Duration::from_millis(5)).await;

    // Each master loads each script once on its first NOSCRIPT: warm every node up.
    for n in 0..30 {
        send_ok(&service, &event(&format!("warm_{n}"))).await;
        send_ok(&service, &event(&format!("warm_{n}"))).await;
    }
    const N: u64 = 100;
    cluster.reset_stats().unwrap();
    for n in 0..N {
        assert!(
            !send_ok(&service, &event(&format!("evt_{n}")))
                .await
                .replayed
        );
    }
    let fresh = cluster.command_calls("evalsha").unwrap();
    cluster.reset_stats().unwrap();
    for n in 0..N {
        assert!(
            send_ok(&service, &event(&format!("evt_{n}")))
                .await
                .replayed
        );
    }
    let duplicate = cluster.command_calls("evalsha").unwrap();
    println!(
        "cluster EVALSHA per fresh delivery: {}, per duplicate: {}",
        fresh as f64 / N as f64,
        duplicate as f64 / N as f64
    );
    assert_eq!(fresh, 2 * N);
    assert_eq!(duplicate, N);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_heartbeat_keeps_a_handler_three_times_longer_than_the_lease_to_one_run() {
    let cluster = RedisCluster::start(3);
    let connection = RedisConnection::cluster(cluster.urls())
        .connect()
        .await
        .expect("connect to the cluster");
    let lease = Duration::from_millis(600);
    let layer = IdempotencyLayer::builder(RedisStore::new(connection).unwrap())
        .lease(lease)
        .heartbeat(true)
        .build()
        .unwrap();
    let handler = LongHandler::default();
    let service = long_stack(layer, &handler);
    long_handler_runs_once(&service, &handler, "evt_long", lease * 3).await;
}
