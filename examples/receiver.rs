//! The reference webhook receiver: an axum app that verifies signed deliveries.
//!
//! Run it with in-memory defaults, no setup:
//!
//! ```text
//! cargo run --example receiver
//! ```
//!
//! It serves `POST /webhooks` and prints a `curl` command that sends a signed test
//! event. Settings come from the environment:
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `BIND` | `127.0.0.1:3000` | address to listen on |
//! | `WEBHOOK_SCHEME` | `hopnow` | `hopnow`, `github`, `stripe`, `standard`, `slack` or `shopify` |
//! | `WEBHOOK_SECRET` | a development secret, printed at start | comma-separated secrets; key ids `0`, `1`, ... by position (rotation) |
//! | `WEBHOOK_BODY_LIMIT` | `1048576` | largest body accepted, in bytes |
//! | `WEBHOOK_TOLERANCE_SECS` | `300` | replay tolerance for schemes that sign a timestamp |
//! | `REDIS_URL` | unset: in-memory store | Redis for the idempotency store, so several receivers deduplicate together |
//! | `RUST_LOG` | `info` | log filter (`tracing-subscriber` syntax) |

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::Request;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Value, json};
use tower_webhook::core::VerifiedDelivery;
use tower_webhook::idempotency::store::{MemoryStore, RedisStore, Store};
use tower_webhook::idempotency::{IdempotencyLayer, MissingKeyPolicy};
use tower_webhook::signature::{Signer, Verifier, VerifySignatureLayer, scheme};

/// Used when `WEBHOOK_SECRET` is unset. Standard Webhooks secrets are `whsec_<base64>`.
const DEV_SECRET: &str = "dev-secret-change-me";
const DEV_SECRET_STANDARD: &str = "whsec_ZGV2LXNlY3JldC1jaGFuZ2UtbWU=";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();

    let bind: SocketAddr = env_or("BIND", "127.0.0.1:3000").parse()?;
    let scheme_name = env_or("WEBHOOK_SCHEME", "hopnow");
    let scheme = scheme::by_name(&scheme_name).ok_or_else(|| {
        format!(
            "unknown WEBHOOK_SCHEME `{scheme_name}`; expected one of {}",
            scheme::NAMES.join(", ")
        )
    })?;
    let dev_secret = if scheme.name() == "standard" {
        DEV_SECRET_STANDARD
    } else {
        DEV_SECRET
    };
    let secrets: Vec<String> = match std::env::var("WEBHOOK_SECRET") {
        Ok(list) => list.split(',').map(|s| s.trim().to_owned()).collect(),
        Err(_) => {
            println!("WEBHOOK_SECRET is unset: using the development secret `{dev_secret}`");
            vec![dev_secret.to_owned()]
        }
    };
    let body_limit: usize = env_or("WEBHOOK_BODY_LIMIT", "1048576").parse()?;
    let tolerance: u64 = env_or("WEBHOOK_TOLERANCE_SECS", "300").parse()?;

    let verifier = Verifier::builder(scheme)
        .secrets(secrets.iter().cloned())
        .tolerance(Duration::from_secs(tolerance))
        .build()?;

    let verify = VerifySignatureLayer::new(verifier).body_limit(body_limit);
    let app = match std::env::var("REDIS_URL") {
        Ok(url) => {
            let store = RedisStore::connect(url.as_str()).await?;
            println!("idempotency store: Redis (REDIS_URL)");
            app(verify, store)?
        }
        Err(_) => {
            println!("idempotency store: in memory (set REDIS_URL to share it)");
            app(verify, MemoryStore::new())?
        }
    };

    let listener = tokio::net::TcpListener::bind(bind).await?;
    let address = listener.local_addr()?;
    println!("listening on http://{address}/webhooks (scheme `{scheme_name}`)");
    if std::env::var("WEBHOOK_SECRET").is_err() {
        print_example(&scheme_name, dev_secret, address)?;
    }
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

/// The routes and layers, in order: signature verification, then idempotency.
fn app<St: Store + Clone>(
    verify: VerifySignatureLayer,
    store: St,
) -> Result<Router, Box<dyn std::error::Error>> {
    // Deliveries without an event id are processed (not deduplicated) rather than refused.
    let idempotency = IdempotencyLayer::builder(store)
        .missing_key(MissingKeyPolicy::PassThrough)
        .build()?;
    Ok(Router::new()
        .route("/webhooks", post(receive))
        .layer(idempotency)
        .layer(verify))
}

/// Handles a verified delivery: the signature layer has checked it already.
async fn receive(request: Request) -> Json<Value> {
    let delivery = request
        .extensions()
        .get::<VerifiedDelivery>()
        .expect("the signature layer runs before this handler");
    let body_id = serde_json::from_slice::<Value>(delivery.body())
        .ok()
        .and_then(|body| body.get("id").and_then(Value::as_str).map(str::to_owned));
    let event_id = delivery.event_id().map(str::to_owned).or(body_id);
    tracing::info!(
        event_id = event_id.as_deref().unwrap_or("-"),
        scheme = delivery.scheme(),
        key_id = %delivery.key_id(),
        bytes = delivery.body().len(),
        "webhook verified"
    );
    Json(json!({ "status": "processed", "event_id": event_id }))
}

/// Prints a `curl` command that sends a freshly signed test event.
fn print_example(
    scheme_name: &str,
    secret: &str,
    address: SocketAddr,
) -> Result<(), Box<dyn std::error::Error>> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs() as i64;
    let body = format!(r#"{{"id":"evt_test_{now}","type":"ping","created":{now},"data":{{}}}}"#);
    let signer = Signer::new(scheme::by_name(scheme_name).expect("checked above"), secret)?;
    let headers = signer.sign(body.as_bytes(), now, &format!("evt_test_{now}"))?;
    let mut command =
        format!("curl -i http://{address}/webhooks -H 'content-type: application/json'");
    for (name, value) in &headers {
        command.push_str(&format!(" -H '{name}: {}'", value.to_str()?));
    }
    command.push_str(&format!(" --data '{body}'"));
    println!("send a signed test event (valid for the replay tolerance):\n\n  {command}\n");
    Ok(())
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}
