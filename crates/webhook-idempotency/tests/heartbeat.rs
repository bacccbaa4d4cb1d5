//! The lease heartbeat: a handler longer than the lease runs once while the layer
//! extends its claim, and sees in its `Lease` when the claim is lost. In memory with
//! paused time, and on a real `redis-server`.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::time::Duration;

use common::lease::{LongHandler, long_handler_runs_again, long_handler_runs_once, long_stack};
use common::{delivery, send, send_ok};
use http::StatusCode;
use webhook_idempotency::store::{
    Claim, Completion, MemoryStore, StoreError, StoreErrorKind, StoredResponse, Token,
};
use webhook_idempotency::{IdempotencyLayer, Store};

const LEASE: Duration = Duration::from_secs(60);

/// A memory store that counts extensions, and can answer them as if the claim were
/// lost or the store down.
#[derive(Clone, Default)]
struct Watched {
    inner: MemoryStore,
    extends: Arc<AtomicUsize>,
    mode: Arc<AtomicU8>,
}

const WORKING: u8 = 0;
const CLAIM_LOST: u8 = 1;
const DOWN: u8 = 2;

impl Watched {
    fn extends(&self) -> usize {
        self.extends.load(Ordering::SeqCst)
    }

    fn set(&self, mode: u8) {
        self.mode.store(mode, Ordering::SeqCst);
    }
}

impl Store for Watched {
    async fn claim(&self, key: &str, token: Token, lease: Duration) -> Result<Claim, StoreError> {
        self.inner.claim(key, token, lease).await
    }

    async fn extend(&self, key: &str, token: Token, lease: Duration) -> Result<bool, StoreError> {
        self.extends.fetch_add(1, Ordering::SeqCst);
        match self.mode.load(Ordering::SeqCst) {
            CLAIM_LOST => Ok(false),
            DOWN => Err(StoreError::new(
                StoreErrorKind::Unavailable,
                "connection refused",
            )),
            _ => self.inner.extend(key, token, lease).await,
        }
    }

    async fn complete(
        &self,
        key: &str,
        token: Token,
        response: &StoredResponse,
        retention: Duration,
    ) -> Result<Completion, StoreError> {
        self.inner.complete(key, token, response, retention).await
    }

    async fn release(&self, key: &str, token: Token) -> Result<bool, StoreError> {
        self.inner.release(key, token).await
    }
}

fn layer(store: Watched, heartbeat: bool) -> IdempotencyLayer<Watched> {
    IdempotencyLayer::builder(store)
        .lease(LEASE)
        .heartbeat(heartbeat)
        .build()
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn with_the_heartbeat_a_handler_three_times_longer_than_the_lease_runs_once() {
    let store = Watched::default();
    let handler = LongHandler::default();
    let service = long_stack(layer(store.clone(), true), &handler);
    long_handler_runs_once(&service, &handler, "evt_long", LEASE * 3).await;
    // One extension per third of the lease while the handler ran.
    assert!((8..=9).contains(&store.extends()), "{}", store.extends());
}

#[tokio::test(start_paused = true)]
async fn without_the_heartbeat_the_same_handler_runs_again_and_nothing_is_extended() {
    let store = Watched::default();
    let handler = LongHandler::default();
    let service = long_stack(layer(store.clone(), false), &handler);
    long_handler_runs_again(&service, &handler, "evt_long", LEASE * 3).await;
    assert_eq!(store.extends(), 0);
}

#[tokio::test(start_paused = true)]
async fn dropping_the_response_future_stops_the_heartbeat_and_releases_the_claim() {
    let store = Watched::default();
    let handler = LongHandler::default();
    let service = long_stack(layer(store.clone(), true), &handler);
    let body = r#"{"id":"evt_dropped","work_ms":180000}"#;
    tokio::select! {
        _ = send(&service, delivery(body)) => panic!("the handler answered"),
        () = tokio::time::sleep(Duration::from_secs(50)) => {}
    }
    // The client went away after 50 s: two beats (20 s, 40 s), then none.
    assert_eq!(store.extends(), 2);
    tokio::time::sleep(LEASE * 5).await;
    assert_eq!(store.extends(), 2);
    // The claim was released: the sender's retry runs the handler.
    let retry = send_ok(&service, r#"{"id":"evt_dropped","work_ms":1}"#).await;
    assert_eq!(retry.status, StatusCode::OK);
    assert!(!retry.replayed);
    assert_eq!(handler.runs("evt_dropped"), 2);
}

/// Runs an `until_lost` handler while the store's extensions answer as `mode`; returns
/// how long the handler waited for the loss, in ms.
async fn lost_after(mode: u8) -> u64 {
    let store = Watched::default();
    store.set(mode);
    let handler = LongHandler::default();
    let service = long_stack(layer(store.clone(), true), &handler);
    let body = r#"{"id":"evt_lost","until_lost":true,"give_up_ms":600000}"#;
    let answer = send_ok(&service, body).await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!(body["lease"], "lost");
    assert_eq!(handler.commits("evt_lost"), 0);
    body["waited_ms"].as_u64().unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_lost_claim_is_seen_at_the_next_beat_and_a_store_down_when_the_lease_ends() {
    // The store says another token holds the key: lost at the first beat.
    assert_eq!(lost_after(CLAIM_LOST).await, 20_000);
    // Every extension fails: the claim holds until its lease ends, then is lost.
    assert_eq!(lost_after(DOWN).await, 60_000);
}

#[tokio::test(start_paused = true)]
async fn an_extension_that_lands_again_after_failures_keeps_the_claim() {
    let store = Watched::default();
    let handler = LongHandler::default();
    let service = long_stack(layer(store.clone(), true), &handler);
    let body = r#"{"id":"evt_blip","work_ms":100000}"#;
    let call = tokio::spawn({
        let service = service.clone();
        async move { send_ok(&service, body).await }
    });
    handler.started().await;
    // Down from the beat at 20 s on, back before the lease ends at 60 s: tried again
    // meanwhile, an extension lands.
    store.set(DOWN);
    tokio::time::sleep(Duration::from_secs(45)).await;
    store.set(WORKING);
    let answer = call.await.unwrap();
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    assert_eq!(answer.text(), r#"{"id":"evt_blip","run":1,"lease":"held"}"#);
    assert!(send_ok(&service, body).await.replayed);
}

#[cfg(feature = "redis")]
mod redis {
    use std::time::Duration;

    use http::StatusCode;
    use test_redis::{RedisServer, Reply};
    use webhook_core::redis::RedisConnection;
    use webhook_idempotency::IdempotencyLayer;
    use webhook_idempotency::store::RedisStore;

    use crate::common::lease::{
        LongHandler, long_handler_runs_again, long_handler_runs_once, long_stack,
    };
    use crate::common::{Answer, Stack, send_ok};

    const LEASE: Duration = Duration::from_millis(600);

    async fn redis_stack(server: &RedisServer, handler: &LongHandler, heartbeat: bool) -> Stack {
        let connection = RedisConnection::builder(server.url())
            .operation_timeout(Duration::from_millis(100))
            .connect()
            .await
            .expect("connect to the test server");
        let layer = IdempotencyLayer::builder(RedisStore::new(connection).unwrap())
            .lease(LEASE)
            .heartbeat(heartbeat)
            .build()
            .unwrap();
        long_stack(layer, handler)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn with_the_heartbeat_a_handler_three_times_longer_than_the_lease_runs_once() {
        let server = RedisServer::start();
        let handler = LongHandler::default();
        let service = redis_stack(&server, &handler, true).await;
        long_handler_runs_once(&service, &handler, "evt_long", LEASE * 3).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn without_the_heartbeat_the_same_handler_runs_again() {
        let server = RedisServer::start();
        let handler = LongHandler::default();
        let service = redis_stack(&server, &handler, false).await;
        long_handler_runs_again(&service, &handler, "evt_long", LEASE * 3).await;
    }

    /// Starts an `until_lost` handler for `id`, runs `meddle` once it holds its claim,
    /// and returns its answer and how long it waited for the loss, in ms.
    async fn lost_after(
        service: &Stack,
        handler: &LongHandler,
        id: &str,
        meddle: impl FnOnce(),
    ) -> (Answer, u64) {
        let body = format!(r#"{{"id":"{id}","until_lost":true}}"#);
        let call = tokio::spawn({
            let service = service.clone();
            async move { send_ok(&service, &body).await }
        });
        handler.started().await;
        tokio::task::block_in_place(meddle);
        let answer = call.await.unwrap();
        assert_eq!(
            answer.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{}",
            answer.text()
        );
        let fields: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
        assert_eq!(fields["lease"], "lost");
        assert_eq!(handler.commits(id), 0);
        let waited = fields["waited_ms"].as_u64().unwrap();
        println!("{id}: the handler saw its lease lost after {waited} ms");
        (answer, waited)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_claim_deleted_or_taken_by_another_token_is_seen_lost_by_the_handler() {
        let server = RedisServer::start();
        let handler = LongHandler::default();
        let service = redis_stack(&server, &handler, true).await;

        // Deleted: the next beat, a third of the lease later, finds it gone.
        let key = "webhook:idempotency:hopnow:evt_deleted";
        let (_, waited) = lost_after(&service, &handler, "evt_deleted", || {
            assert_eq!(server.command(&["DEL", key]).unwrap(), Reply::Integer(1));
        })
        .await;
        assert!(waited < LEASE.as_millis() as u64, "{waited} ms");

        // Taken by another token: lost too, and the other claim is left alone.
        let key = "webhook:idempotency:hopnow:evt_taken";
        let other = format!("c{}", "0".repeat(31) + "7");
        lost_after(&service, &handler, "evt_taken", || {
            let set = server
                .command(&["SET", key, &other, "PX", "60000"])
                .unwrap();
            assert_eq!(set.as_text().as_deref(), Some("OK"));
        })
        .await;
        let held = server.command(&["GET", key]).unwrap();
        assert_eq!(held.as_text(), Some(other));
        let duplicate = send_ok(&service, r#"{"id":"evt_taken","work_ms":1}"#).await;
        assert_eq!(duplicate.status, StatusCode::CONFLICT);
        assert_eq!(handler.runs("evt_taken"), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn with_redis_down_the_handler_sees_its_lease_lost_when_it_ends() {
        let mut server = RedisServer::start();
        let handler = LongHandler::default();
        let service = redis_stack(&server, &handler, true).await;
        let (_, waited) = lost_after(&service, &handler, "evt_down", || server.kill()).await;
        // Not at the first failed beat: held until the end of the last lease that
        // landed (the claim's, or the one the beat before the kill extended).
        let lease = LEASE.as_millis() as u64;
        assert!(
            (lease - 100..=lease * 4 / 3 + 100).contains(&waited),
            "{waited} ms"
        );
    }
}
