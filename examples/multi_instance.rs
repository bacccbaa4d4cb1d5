//! Two receivers sharing one Redis: each event is processed once across both, and
//! the per-source rate limit is one quota for both, as on a fleet of machines.
//!
//! ```text
//! REDIS_URL=redis://127.0.0.1:6379 WEBHOOK_SECRET=my-secret cargo run --example multi_instance
//! ```
//!
//! It serves `POST /webhooks` on `BIND_A` (default `127.0.0.1:3001`) and `BIND_B`
//! (default `127.0.0.1:3002`), in one process for the demonstration; in production
//! each instance is its own process with the same settings. `REDIS_URL` (required),
//! `WEBHOOK_SECRET` (comma-separated, `hopnow` scheme) and `WEBHOOK_RATE_PER_MINUTE`
//! (default 600, per verified source, shared) come from the environment. Send the same
//! event to both ports with `webhook send` and the second answer is a replay. Each
//! listener is served by `tower_webhook::serve::serve`: connection limits on, and a
//! graceful shutdown on Ctrl-C or `SIGTERM`.

use std::num::NonZeroU32;

use axum::Router;
use axum::routing::post_service;
use serde_json::json;
use tower_webhook::core::redis::RedisConnection;
use tower_webhook::event::{EventRouter, WebhookEvent};
use tower_webhook::idempotency::IdempotencyLayer;
use tower_webhook::idempotency::store::RedisStore;
use tower_webhook::ratelimit::{Quota, RateLimitLayer, RedisRateLimiter, VerifiedSource};
use tower_webhook::signature::{Verifier, VerifySignatureLayer, scheme::HopNow};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let redis_url = std::env::var("REDIS_URL").map_err(|_| "set REDIS_URL")?;
    let secrets = std::env::var("WEBHOOK_SECRET").map_err(|_| "set WEBHOOK_SECRET")?;
    let per_minute: NonZeroU32 = std::env::var("WEBHOOK_RATE_PER_MINUTE")
        .unwrap_or_else(|_| "600".to_owned())
        .parse()?;

    let mut servers = Vec::new();
    for (name, default) in [("BIND_A", "127.0.0.1:3001"), ("BIND_B", "127.0.0.1:3002")] {
        // Everything an instance needs, built as a separate process would build it.
        let verifier = Verifier::builder(HopNow)
            .secrets(secrets.split(',').map(str::trim))
            .build()?;
        let redis = RedisConnection::connect(redis_url.as_str()).await?;
        let store = RedisStore::new(redis.clone())?;
        let limiter = RedisRateLimiter::new(redis, Quota::per_minute(per_minute))?;
        let rate_limit = RateLimitLayer::builder_with(limiter)
            .key(VerifiedSource)
            .build()?;
        let instance = name.to_owned();
        let events = EventRouter::new().fallback(move |event: WebhookEvent| {
            let instance = instance.clone();
            async move {
                println!("{instance} processed {} ({})", event.id, event.event_type);
                json!({ "status": "processed", "event_id": event.id, "instance": instance })
            }
        });
        let app = Router::new()
            .route("/webhooks", post_service(events))
            .layer(IdempotencyLayer::new(store))
            .layer(rate_limit)
            .layer(VerifySignatureLayer::new(verifier));

        let bind = std::env::var(name).unwrap_or_else(|_| default.to_owned());
        let listener = tokio::net::TcpListener::bind(bind).await?;
        println!(
            "listening on http://{}/webhooks ({name})",
            listener.local_addr()?
        );
        servers.push(tokio::spawn(tower_webhook::serve::serve(listener, app)));
    }
    for server in servers {
        server.await?;
    }
    Ok(())
}
