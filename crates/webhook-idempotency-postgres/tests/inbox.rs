//! The transactional inbox on a real Postgres: an axum handler writes its effect in the
//! inbox transaction; effects are counted in a table of the test's schema.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use sqlx::PgPool;
use support::{PgServer, TestSchema};
use tower::ServiceExt;
use webhook_core::VerifiedDelivery;
use webhook_idempotency::store::StoredResponse;
use webhook_idempotency_postgres::{
    Begin, Committed, Inbox, InboxError, InboxTransaction, PostgresStore,
};
use webhook_signature::scheme::HopNow;
use webhook_signature::{Signer, Verifier, VerifySignatureLayer};

const SECRET: &str = "test-secret";

#[derive(Clone)]
struct App {
    inbox: Inbox,
    effects: Arc<str>,
}

impl axum::extract::FromRef<App> for Inbox {
    fn from_ref(app: &App) -> Inbox {
        app.inbox.clone()
    }
}

/// The handler: one effect row per run, then commit with the event id as the body.
async fn credit(
    State(app): State<App>,
    axum::Extension(delivery): axum::Extension<VerifiedDelivery>,
    mut tx: InboxTransaction,
) -> Result<Committed, InboxError> {
    let id = delivery.event_id().unwrap_or_default().to_owned();
    sqlx::query(&format!(
        "INSERT INTO {} (event_id) VALUES ($1)",
        app.effects
    ))
    .bind(&id)
    .execute(&mut *tx)
    .await?;
    tx.commit(StoredResponse::new(StatusCode::OK).with_body(Bytes::from(id)))
        .await
}

async fn setup(pool: PgPool, schema: &str) -> (Router, App) {
    let store = PostgresStore::builder(pool.clone())
        .schema(schema)
        .build()
        .await
        .unwrap();
    let effects: Arc<str> = format!("\"{schema}\".effects").into();
    sqlx::query(&format!(
        "CREATE TABLE IF NOT EXISTS {effects} (event_id text NOT NULL)"
    ))
    .execute(&pool)
    .await
    .unwrap();
    let app = App {
        inbox: Inbox::new(&store),
        effects,
    };
    let verifier = Verifier::builder(HopNow)
        .secret("k1", SECRET)
        .build()
        .unwrap();
    let router = Router::new()
        .route("/webhooks", post(credit))
        .with_state(app.clone())
        .layer(VerifySignatureLayer::new(verifier));
    (router, app)
}

fn delivery(id: &str) -> Request<axum::body::Body> {
    let body = format!(r#"{{"id":"{id}","type":"payout.completed"}}"#);
    let headers = Signer::new(HopNow, SECRET)
        .unwrap()
        .sign(body.as_bytes(), 0, "")
        .unwrap();
    let mut request = Request::post("/webhooks")
        .body(axum::body::Body::from(body))
        .unwrap();
    request.headers_mut().extend(headers);
    request
}

/// Status, replayed, body.
async fn send(router: &Router, id: &str) -> (StatusCode, bool, Bytes) {
    let response = router.clone().oneshot(delivery(id)).await.unwrap();
    let status = response.status();
    let replayed = response.headers().get("idempotent-replayed").is_some();
    (
        status,
        replayed,
        response.into_body().collect().await.unwrap().to_bytes(),
    )
}

async fn effect_counts(pool: &PgPool, effects: &str) -> (i64, i64) {
    sqlx::query_as(&format!(
        "SELECT count(*), count(DISTINCT event_id) FROM {effects}"
    ))
    .fetch_one(pool)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_duplicate_storm_applies_each_event_once() {
    const EVENTS: usize = 1000;
    const COPIES: usize = 200;
    let schema = TestSchema::new("storm");
    let pool = schema.pool(32).await;
    let (router, app) = setup(pool.clone(), &schema.name).await;
    let started = Instant::now();
    let mut statuses = std::collections::HashMap::new();
    // Events ten at a time, 200 concurrent copies of each.
    for wave in 0..EVENTS / 10 {
        let mut copies = tokio::task::JoinSet::new();
        for n in wave * 10..wave * 10 + 10 {
            for _ in 0..COPIES {
                let router = router.clone();
                copies.spawn(async move {
                    let id = format!("evt_{n}");
                    let (status, replayed, body) = send(&router, &id).await;
                    if status == StatusCode::OK {
                        assert_eq!(body, id.as_bytes());
                    }
                    (status, replayed)
                });
            }
        }
        while let Some(answer) = copies.join_next().await {
            *statuses.entry(answer.unwrap()).or_insert(0usize) += 1;
        }
    }
    let fresh = statuses.get(&(StatusCode::OK, false)).copied().unwrap_or(0);
    assert_eq!(fresh, EVENTS, "{statuses:?}");
    // On a loaded machine a copy can wait past the pool's acquire timeout: it is
    // answered 503, so that its sender retries, and never applied. Rare, and never
    // in place of the one copy that applies each event.
    let unavailable: usize = statuses
        .iter()
        .filter(|((status, _), _)| *status == StatusCode::SERVICE_UNAVAILABLE)
        .map(|(_, count)| count)
        .sum();
    assert!(unavailable <= EVENTS * COPIES / 1000, "{statuses:?}");
    for (status, _) in statuses.keys() {
        assert!(
            [
                StatusCode::OK,
                StatusCode::CONFLICT,
                StatusCode::SERVICE_UNAVAILABLE
            ]
            .contains(status),
            "{statuses:?}"
        );
    }
    assert_eq!(
        effect_counts(&pool, &app.effects).await,
        (EVENTS as i64, EVENTS as i64)
    );
    eprintln!(
        "{EVENTS} events x {COPIES} copies in {:?}: {statuses:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn an_error_rolls_back_the_effect_and_the_retry_processes_the_event() {
    let schema = TestSchema::new("rollback");
    let pool = schema.pool(4).await;
    let (router, app) = setup(pool.clone(), &schema.name).await;
    let store = PostgresStore::builder(pool.clone())
        .schema(&schema.name)
        .build()
        .await
        .unwrap();
    let inbox = Inbox::new(&store);

    // The handler writes, then fails: dropped without a commit.
    let Begin::Fresh(mut tx) = inbox.begin("hopnow:evt_err").await.unwrap() else {
        panic!("fresh");
    };
    sqlx::query(&format!(
        "INSERT INTO {} (event_id) VALUES ('evt_err')",
        app.effects
    ))
    .execute(&mut *tx)
    .await
    .unwrap();
    // Meanwhile a duplicate gets 409.
    let (status, _, _) = send(&router, "evt_err").await;
    assert_eq!(status, StatusCode::CONFLICT);
    drop(tx);

    // The retry is processed (once the rollback ran), then replayed.
    let mut answer = send(&router, "evt_err").await;
    for _ in 0..50 {
        if answer.0 != StatusCode::CONFLICT {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        answer = send(&router, "evt_err").await;
    }
    assert_eq!(answer, (StatusCode::OK, false, Bytes::from("evt_err")));
    assert_eq!(
        send(&router, "evt_err").await,
        (StatusCode::OK, true, Bytes::from("evt_err"))
    );
    assert_eq!(effect_counts(&pool, &app.effects).await, (1, 1));
}

/// The child of the crash test: writes the effect in the inbox transaction, says so,
/// and waits to be killed before it commits.
#[tokio::test]
async fn crash_child() {
    let Ok(schema) = std::env::var("INBOX_CRASH_CHILD_SCHEMA") else {
        return;
    };
    let pool = support::pool(&support::shared_url(), 2).await;
    let (_, app) = setup(pool.clone(), &schema).await;
    let Begin::Fresh(mut tx) = app.inbox.begin("hopnow:evt_crash").await.unwrap() else {
        panic!("fresh");
    };
    sqlx::query(&format!(
        "INSERT INTO {} (event_id) VALUES ('evt_crash')",
        app.effects
    ))
    .execute(&mut *tx)
    .await
    .unwrap();
    println!("WRITTEN");
    tokio::time::sleep(Duration::from_secs(600)).await;
    drop(tx);
}

#[tokio::test]
async fn a_process_killed_between_its_write_and_its_commit_applies_the_effect_once() {
    use tokio::io::AsyncBufReadExt;

    let schema = TestSchema::new("crash");
    let pool = schema.pool(4).await;
    let (router, app) = setup(pool.clone(), &schema.name).await;

    let mut child = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
        .env("INBOX_CRASH_CHILD_SCHEMA", &schema.name)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    loop {
        let line = lines.next_line().await.unwrap().expect("the child wrote");
        if line.contains("WRITTEN") {
            break;
        }
    }
    // The child holds the event: a duplicate gets 409.
    assert_eq!(send(&router, "evt_crash").await.0, StatusCode::CONFLICT);
    child.kill().await.unwrap(); // SIGKILL

    // Retries until processed: the server rolls the child's transaction back when it
    // sees the connection close.
    let mut answer = send(&router, "evt_crash").await;
    for _ in 0..100 {
        if answer.0 != StatusCode::CONFLICT {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        answer = send(&router, "evt_crash").await;
    }
    assert_eq!(answer, (StatusCode::OK, false, Bytes::from("evt_crash")));
    assert!(send(&router, "evt_crash").await.1, "replayed");
    assert_eq!(effect_counts(&pool, &app.effects).await, (1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_server_restarted_under_load_loses_nothing_and_doubles_nothing() {
    const EVENTS: usize = 300;
    let server = PgServer::start();
    let pool = support::pool(&server.url(), 8).await;
    let (router, app) = setup(pool.clone(), "inbox").await;

    // Each sender retries its event until it gets 200, as a webhook sender does.
    let mut senders = tokio::task::JoinSet::new();
    for n in 0..EVENTS {
        let router = router.clone();
        senders.spawn(async move {
            tokio::time::sleep(Duration::from_millis(5 * n as u64)).await;
            let id = format!("evt_{n}");
            let mut unavailable = 0;
            loop {
                let (status, _, body) = send(&router, &id).await;
                match status {
                    StatusCode::OK => {
                        assert_eq!(body, id.as_bytes());
                        return unavailable;
                    }
                    StatusCode::SERVICE_UNAVAILABLE | StatusCode::CONFLICT => {
                        unavailable += usize::from(status == StatusCode::SERVICE_UNAVAILABLE);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    other => panic!("{other}"),
                }
            }
        });
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    server.stop();
    // Down for longer than the pool's 2 s acquire timeout: the calls waiting for a
    // connection give up with 503, not only the ones that found the server gone.
    tokio::time::sleep(Duration::from_millis(3000)).await;
    server.resume();
    let mut refused = 0;
    while let Some(unavailable) = senders.join_next().await {
        refused += unavailable.unwrap();
    }
    assert!(
        refused > 0,
        "some deliveries were refused with 503 while the server was down"
    );
    assert_eq!(
        effect_counts(&pool, &app.effects).await,
        (EVENTS as i64, EVENTS as i64)
    );
}
