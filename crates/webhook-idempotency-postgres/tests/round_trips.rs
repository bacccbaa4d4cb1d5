//! Statements per operation, counted on the wire: a proxy between the pool and the
//! server counts the client's `Execute` (extended protocol) and `Query` (simple
//! protocol) messages. Each statement is one round trip; sqlx's pool adds a ping
//! (a bare `Sync`, not counted) when a connection goes back to the pool, off the
//! operation's path, and one before handing a connection out unless
//! `test_before_acquire(false)`.
#![cfg(feature = "axum")]

mod support;

use std::time::Duration;

use http::StatusCode;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use support::TestSchema;
use support::wire::{WireCount, counting_proxy};
use webhook_idempotency::store::{Claim, Store, StoredResponse, Token};
use webhook_idempotency_postgres::{Begin, Inbox, PostgresStore};

async fn pool(port: u16) -> PgPool {
    let url = format!("postgres://postgres@127.0.0.1:{port}/test?sslmode=disable");
    PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(2))
        .connect(&url)
        .await
        .unwrap()
}

/// Runs `operation` and returns the statements it sent.
async fn trips<T>(count: &WireCount, operation: impl Future<Output = T>) -> (usize, T) {
    let (before, _) = count.read();
    let value = operation.await;
    (count.read().0 - before, value)
}

#[tokio::test]
async fn a_fresh_delivery_costs_two_statements_and_a_duplicate_one() {
    let schema = TestSchema::new("trips");
    let (port, count) = counting_proxy().await;
    let store = PostgresStore::builder(pool(port).await)
        .schema(&schema.name)
        .build()
        .await
        .unwrap();
    let lease = Duration::from_secs(60);
    let response = StoredResponse::new(StatusCode::OK);
    // Warm: each statement is prepared on the connection the first time it runs.
    let token = Token::generate();
    store.claim("warm", token, lease).await.unwrap();
    store.extend("warm", token, lease).await.unwrap();
    store
        .complete("warm", token, &response, lease)
        .await
        .unwrap();
    store.claim("warm", token, lease).await.unwrap();
    store.release("warm", token).await.unwrap();

    let token = Token::generate();
    let (claim, acquired) = trips(&count, store.claim("fresh", token, lease)).await;
    assert!(matches!(acquired, Ok(Claim::Acquired)));
    let (complete, _) = trips(&count, store.complete("fresh", token, &response, lease)).await;
    assert_eq!((claim, complete), (1, 1));
    let (duplicate, done) = trips(&count, store.claim("fresh", Token::generate(), lease)).await;
    assert!(matches!(done, Ok(Claim::Done(_))));
    assert_eq!(duplicate, 1);
    let (extend, _) = trips(&count, store.extend("fresh", token, lease)).await;
    let (release, _) = trips(&count, store.release("fresh", token)).await;
    assert_eq!((extend, release), (1, 1));
}

#[tokio::test]
async fn the_inbox_costs_four_statements_for_a_fresh_event_and_three_for_a_duplicate() {
    let schema = TestSchema::new("inbox_trips");
    let (port, count) = counting_proxy().await;
    let store = PostgresStore::builder(pool(port).await)
        .schema(&schema.name)
        .build()
        .await
        .unwrap();
    let inbox = Inbox::new(&store);
    let response = StoredResponse::new(StatusCode::OK);
    for key in ["warm", "warm"] {
        if let Begin::Fresh(tx) = inbox.begin(key).await.unwrap() {
            let _ = tx.commit(response.clone()).await.unwrap();
        }
    }

    let (begin, fresh) = trips(&count, inbox.begin("fresh")).await;
    let Ok(Begin::Fresh(tx)) = fresh else {
        panic!("fresh");
    };
    let (commit, committed) = trips(&count, tx.commit(response.clone())).await;
    assert!(committed.is_ok());
    assert_eq!((begin, commit), (2, 2));
    let (duplicate, done) = trips(&count, inbox.begin("fresh")).await;
    assert!(matches!(done, Ok(Begin::Done(_))));
    assert_eq!(duplicate, 3);
}
