//! A store chosen at run time, as `Arc<dyn DynStore>`: the same operations and the
//! same layer behaviour as the concrete store behind it.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Recorder, stack};
use http::StatusCode;
use webhook_idempotency::IdempotencyLayer;
use webhook_idempotency::store::{
    Claim, Completion, DynStore, MemoryStore, Store, StoredResponse, Token,
};

/// The store a configuration names: one code path for every backend.
#[cfg_attr(not(feature = "redis"), allow(unused_variables))]
async fn store(backend: &str, redis_url: Option<String>) -> Arc<dyn DynStore> {
    match backend {
        "memory" => Arc::new(MemoryStore::new()),
        #[cfg(feature = "redis")]
        "redis" => {
            let url = redis_url.expect("a Redis URL");
            let connection = webhook_core::redis::RedisConnection::connect(url)
                .await
                .expect("connect to the test server");
            Arc::new(webhook_idempotency::store::RedisStore::new(connection).unwrap())
        }
        other => panic!("unknown store `{other}`"),
    }
}

/// Claim, contend, extend, fence, record, replay and release, through the trait object.
async fn operations(store: Arc<dyn DynStore>) {
    let lease = Duration::from_secs(60);
    let retention = Duration::from_secs(3600);
    let (first, second) = (Token::generate(), Token::generate());

    let claim = store.claim("hopnow:evt_dyn", first, lease).await.unwrap();
    assert!(matches!(claim, Claim::Acquired), "{claim:?}");
    match store.claim("hopnow:evt_dyn", second, lease).await.unwrap() {
        Claim::InFlight { remaining } => assert!(remaining <= lease),
        other => panic!("expected in flight, got {other:?}"),
    }

    // Only the holder extends its lease.
    assert!(!store.extend("hopnow:evt_dyn", second, lease).await.unwrap());
    assert!(store.extend("hopnow:evt_dyn", first, lease).await.unwrap());

    let response = StoredResponse::new(StatusCode::ACCEPTED);
    let fenced = store.complete("hopnow:evt_dyn", second, &response, retention);
    assert_eq!(fenced.await.unwrap(), Completion::Fenced);
    let recorded = store.complete("hopnow:evt_dyn", first, &response, retention);
    assert_eq!(recorded.await.unwrap(), Completion::Recorded);
    match store.claim("hopnow:evt_dyn", second, lease).await.unwrap() {
        Claim::Done(stored) => assert_eq!(stored.status(), StatusCode::ACCEPTED),
        other => panic!("expected the record, got {other:?}"),
    }

    // A claim is released only by its holder.
    let third = Token::generate();
    assert!(matches!(
        store
            .claim("hopnow:evt_released", third, lease)
            .await
            .unwrap(),
        Claim::Acquired
    ));
    assert!(!store.release("hopnow:evt_released", first).await.unwrap());
    assert!(store.release("hopnow:evt_released", third).await.unwrap());
    assert!(matches!(
        store
            .claim("hopnow:evt_released", first, lease)
            .await
            .unwrap(),
        Claim::Acquired
    ));
}

/// The layer on the trait object: a failed run is retried, a success replayed.
async fn layer(store: Arc<dyn DynStore>) {
    let recorder = Recorder::default();
    let service = stack(IdempotencyLayer::builder(store).build().unwrap(), &recorder);
    common::failure_then_retry(&service, &recorder, "evt_dyn_layer").await;
}

#[tokio::test]
async fn a_memory_store_behind_arc_dyn_dyn_store_claims_fences_records_and_releases() {
    operations(store("memory", None).await).await;
    layer(store("memory", None).await).await;
}

#[cfg(feature = "redis")]
#[tokio::test]
async fn a_redis_store_behind_arc_dyn_dyn_store_claims_fences_records_and_releases() {
    let server = test_redis::RedisServer::start();
    operations(store("redis", Some(server.url())).await).await;
    layer(store("redis", Some(server.url())).await).await;
}
