//! The layer on the Postgres store: the Redis store's behavioural cases, each test in
//! a schema of its own on the shared server (127.0.0.1:5432, database `test`), or on
//! a private server it stops and starts.

#[path = "../../webhook-idempotency/tests/common/mod.rs"]
mod common;
mod support;

use std::time::Duration;

use common::{Recorder, Stack, event, send_ok, stack};
use http::StatusCode;
use support::{PgServer, TestSchema};
use webhook_idempotency::store::{Claim, Completion, Store, StoreErrorKind, StoredResponse, Token};
use webhook_idempotency::{IdempotencyLayer, StoreErrorPolicy};
use webhook_idempotency_postgres::PostgresStore;

async fn store(schema: &TestSchema) -> PostgresStore {
    let pool = schema.pool(16).await;
    PostgresStore::builder(pool)
        .schema(&schema.name)
        .build()
        .await
        .unwrap()
}

async fn pg_stack(schema: &TestSchema, recorder: &Recorder) -> Stack {
    stack(IdempotencyLayer::new(store(schema).await), recorder)
}

async fn rows(store: &PostgresStore) -> i64 {
    sqlx::query_scalar(&format!(
        "SELECT count(*) FROM \"{}\".deliveries",
        store.schema()
    ))
    .fetch_one(store.pool())
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_copies_run_the_handler_once() {
    let schema = TestSchema::new("copies");
    let recorder = Recorder::default();
    let service = pg_stack(&schema, &recorder).await;
    common::two_hundred_copies_while_held(std::slice::from_ref(&service), &recorder, "evt_held")
        .await;
    common::two_hundred_copies_racing(&[service], &recorder, "evt_race").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_receivers_sharing_the_database_process_each_event_once_across_both() {
    let schema = TestSchema::new("receivers");
    let recorder = Recorder::default();
    let a = pg_stack(&schema, &recorder).await;
    let b = pg_stack(&schema, &recorder).await;
    let both = [a, b];
    common::thousand_events_twice(&both, &recorder, "evt").await;
    assert_eq!(recorder.total_runs(), 1000);
    assert_eq!(rows(&store(&schema).await).await, 1000);
}

#[tokio::test]
async fn a_failed_handler_is_retried_and_succeeds_once() {
    let schema = TestSchema::new("failed");
    let recorder = Recorder::default();
    let service = pg_stack(&schema, &recorder).await;
    common::failure_then_retry(&service, &recorder, "evt_fail").await;
}

#[tokio::test]
async fn a_dropped_handler_future_releases_its_claim() {
    let schema = TestSchema::new("dropped");
    let recorder = Recorder::default();
    let service = pg_stack(&schema, &recorder).await;
    common::dropped_then_retry(&service, &recorder, "evt_drop", Duration::from_millis(20)).await;
}

#[tokio::test]
async fn a_claim_held_past_its_lease_lets_the_retry_through_and_cannot_overwrite_it() {
    let schema = TestSchema::new("lease");
    let recorder = Recorder::default();
    let layer = IdempotencyLayer::builder(store(&schema).await)
        .lease(Duration::from_millis(300))
        .build()
        .unwrap();
    let service = stack(layer, &recorder);
    common::lease_expiry_then_retry(&service, &recorder).await;
}

#[tokio::test]
async fn the_operations_follow_the_store_table() {
    let schema = TestSchema::new("table");
    let store = store(&schema).await;
    let (holder, other) = (Token::generate(), Token::generate());
    let lease = Duration::from_secs(60);
    let retention = Duration::from_secs(3600);
    let response = StoredResponse::new(StatusCode::ACCEPTED);

    assert!(matches!(
        store.claim("k", holder, lease).await,
        Ok(Claim::Acquired)
    ));
    match store.claim("k", other, lease).await {
        Ok(Claim::InFlight { remaining }) => {
            assert!(
                remaining > Duration::from_secs(58) && remaining <= lease,
                "{remaining:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(!store.extend("k", other, lease).await.unwrap());
    assert!(store.extend("k", holder, lease).await.unwrap());
    assert!(!store.release("k", other).await.unwrap());
    let fenced = store.complete("k", other, &response, retention).await;
    assert_eq!(fenced.unwrap(), Completion::Fenced);
    let recorded = store.complete("k", holder, &response, retention).await;
    assert_eq!(recorded.unwrap(), Completion::Recorded);
    match store.claim("k", other, lease).await {
        Ok(Claim::Done(stored)) => assert_eq!(stored, response),
        other => panic!("{other:?}"),
    }
    // A record is never extended, released or overwritten.
    assert!(!store.extend("k", holder, lease).await.unwrap());
    assert!(!store.release("k", holder).await.unwrap());
    let again = store.complete("k", holder, &response, retention).await;
    assert_eq!(again.unwrap(), Completion::Fenced);

    // Released: the next claim acquires it. Completing a free key records it.
    assert!(matches!(
        store.claim("r", holder, lease).await,
        Ok(Claim::Acquired)
    ));
    assert!(store.release("r", holder).await.unwrap());
    assert!(matches!(
        store.claim("r", other, lease).await,
        Ok(Claim::Acquired)
    ));
    let free = store.complete("free", holder, &response, retention).await;
    assert_eq!(free.unwrap(), Completion::Recorded);
}

/// A duplicate, or a copy of an event in flight, is answered from a read: the row keeps
/// its version (`xmin`), so the claim's commit has nothing to flush to disk.
#[tokio::test]
async fn a_duplicate_and_a_copy_in_flight_leave_the_row_untouched() {
    let schema = TestSchema::new("untouched");
    let store = store(&schema).await;
    let version = async |key: &str| -> String {
        sqlx::query_scalar(&format!(
            "SELECT xmin::text FROM \"{}\".deliveries WHERE key = $1",
            store.schema()
        ))
        .bind(key)
        .fetch_one(store.pool())
        .await
        .unwrap()
    };
    let (holder, other) = (Token::generate(), Token::generate());
    let lease = Duration::from_secs(60);
    let response = StoredResponse::new(StatusCode::OK);

    assert!(matches!(
        store.claim("k", holder, lease).await,
        Ok(Claim::Acquired)
    ));
    let claimed = version("k").await;
    let copy = store.claim("k", other, lease).await;
    assert!(matches!(copy, Ok(Claim::InFlight { .. })), "{copy:?}");
    // The holder claiming again still holds it.
    assert!(matches!(
        store.claim("k", holder, lease).await,
        Ok(Claim::Acquired)
    ));
    assert_eq!(version("k").await, claimed);

    let recorded = store.complete("k", holder, &response, lease).await;
    assert_eq!(recorded.unwrap(), Completion::Recorded);
    let recorded = version("k").await;
    assert_ne!(recorded, claimed);
    for _ in 0..3 {
        let duplicate = store.claim("k", Token::generate(), lease).await;
        assert!(matches!(duplicate, Ok(Claim::Done(_))), "{duplicate:?}");
    }
    assert_eq!(version("k").await, recorded);
}

#[tokio::test]
async fn expired_claims_and_records_are_free_and_the_cleanup_deletes_them_in_batches() {
    let schema = TestSchema::new("cleanup");
    let pool = schema.pool(4).await;
    let store = PostgresStore::builder(pool)
        .schema(&schema.name)
        .cleanup_batch(7)
        .build()
        .await
        .unwrap();
    let short = Duration::from_millis(50);
    let response = StoredResponse::new(StatusCode::OK);
    for n in 0..20 {
        let token = Token::generate();
        store.claim(&format!("c{n}"), token, short).await.unwrap();
        store
            .complete(&format!("d{n}"), token, &response, short)
            .await
            .unwrap();
    }
    store
        .claim("live", Token::generate(), Duration::from_secs(60))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;

    // Expired: a new claim takes the key, whoever held it.
    assert!(matches!(
        store.claim("d0", Token::generate(), short).await,
        Ok(Claim::Acquired)
    ));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(store.cleanup().await.unwrap(), 40);
    assert_eq!(rows(&store).await, 1);
    assert_eq!(store.cleanup().await.unwrap(), 0);
}

#[tokio::test]
async fn schema_names_that_need_quoting_are_refused_at_build() {
    let schema = TestSchema::new("names");
    let pool = schema.pool(1).await;
    let error = PostgresStore::builder(pool)
        .schema("Robert'); DROP TABLE students;--")
        .build()
        .await
        .unwrap_err();
    assert!(error.message().contains("invalid schema name"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_stopped_means_503_then_restarted_the_same_layer_recovers() {
    let server = PgServer::start();
    let pool = support::pool(&server.url(), 4).await;
    let store = PostgresStore::builder(pool)
        .operation_timeout(Duration::from_secs(3))
        .build()
        .await
        .unwrap();
    let recorder = Recorder::default();
    let service = stack(IdempotencyLayer::new(store.clone()), &recorder);
    assert_eq!(
        send_ok(&service, &event("evt_before")).await.status,
        StatusCode::OK
    );

    server.stop();
    let down = send_ok(&service, &event("evt_down")).await;
    assert_eq!(down.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(down.code().as_deref(), Some("store_unavailable"));
    assert_eq!(recorder.runs("evt_down"), 0);
    let error = store
        .claim("k", Token::generate(), Duration::from_secs(1))
        .await
        .unwrap_err();
    assert!(
        matches!(
            error.kind(),
            StoreErrorKind::Unavailable | StoreErrorKind::Timeout
        ),
        "{error}"
    );

    server.resume();
    let mut answer = send_ok(&service, &event("evt_down")).await;
    for _ in 0..50 {
        if answer.status == StatusCode::OK {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        answer = send_ok(&service, &event("evt_down")).await;
    }
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(recorder.runs("evt_down"), 1);
    let replay = send_ok(&service, &event("evt_before")).await;
    assert!(replay.replayed, "the record survived the restart");
}

#[tokio::test]
async fn with_the_pass_through_policy_deliveries_are_processed_while_the_server_is_down() {
    let server = PgServer::start();
    let pool = support::pool(&server.url(), 2).await;
    let store = PostgresStore::new(pool).await.unwrap();
    let recorder = Recorder::default();
    let layer = IdempotencyLayer::builder(store)
        .store_errors(StoreErrorPolicy::PassThrough)
        .build()
        .unwrap();
    let service = stack(layer, &recorder);
    server.stop();
    assert_eq!(
        send_ok(&service, &event("evt_open")).await.status,
        StatusCode::OK
    );
    assert_eq!(recorder.runs("evt_open"), 1);
}
