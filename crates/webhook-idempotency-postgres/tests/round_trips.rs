//! Statements per operation, counted on the wire: a proxy between the pool and the
//! server counts the client's `Execute` (extended protocol) and `Query` (simple
//! protocol) messages. Each statement is one round trip; sqlx's pool adds a ping
//! (a bare `Sync`, not counted) when a connection goes back to the pool, off the
//! operation's path, and one before handing a connection out unless
//! `test_before_acquire(false)`.
#![cfg(feature = "axum")]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use http::StatusCode;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use support::TestSchema;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use webhook_idempotency::store::{Claim, Store, StoredResponse, Token};
use webhook_idempotency_postgres::{Begin, Inbox, PostgresStore};

/// Listens on a free port, forwards to 127.0.0.1:5432 and counts statements.
async fn counting_proxy() -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    tokio::spawn(async move {
        loop {
            let (client, _) = listener.accept().await.unwrap();
            let server = TcpStream::connect("127.0.0.1:5432").await.unwrap();
            let counter = counter.clone();
            tokio::spawn(forward(client, server, counter));
        }
    });
    (port, count)
}

async fn forward(client: TcpStream, server: TcpStream, count: Arc<AtomicUsize>) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    tokio::spawn(async move {
        let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
    });
    let mut pending = Vec::new();
    let mut started = false;
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let Ok(read) = client_read.read(&mut chunk).await else {
            return;
        };
        if read == 0 || server_write.write_all(&chunk[..read]).await.is_err() {
            return;
        }
        pending.extend_from_slice(&chunk[..read]);
        // Frames: untyped (length, payload) until the startup message, then typed.
        loop {
            let header = if started { 5 } else { 4 };
            if pending.len() < header {
                break;
            }
            let at = header - 4;
            let len = u32::from_be_bytes(pending[at..at + 4].try_into().unwrap()) as usize;
            if pending.len() < at + len {
                break;
            }
            if started {
                if matches!(pending[0], b'E' | b'Q') {
                    count.fetch_add(1, Ordering::SeqCst);
                }
            } else {
                let code = u32::from_be_bytes(pending[4..8].try_into().unwrap());
                // Anything but an SSL or GSS encryption request is the startup message.
                started = !matches!(code, 80_877_103 | 80_877_104);
            }
            pending.drain(..at + len);
        }
    }
}

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
async fn trips<T>(count: &AtomicUsize, operation: impl Future<Output = T>) -> (usize, T) {
    let before = count.load(Ordering::SeqCst);
    let value = operation.await;
    (count.load(Ordering::SeqCst) - before, value)
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
