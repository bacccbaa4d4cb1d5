//! A GitHub webhook endpoint on axum: `X-Hub-Signature-256` verified over the raw
//! body, typed `issues` and `push` events routed by `X-GitHub-Event`, and each
//! delivery processed once, keyed on `X-GitHub-Delivery` (a redelivery from GitHub's
//! settings page is answered from the record, the handler does not run again).
//!
//! ```text
//! GITHUB_WEBHOOK_SECRET=my-secret cargo run --example github
//! ```
//!
//! Typed payload crates plug in as `T` where they deserialize the whole body, as
//! GitHub's payload is: octocrab's per-event payload structs (such as its issues
//! payload) fit `WebhookEvent<T>` for their event's route.

use axum::{Router, routing::post_service};
use serde::Deserialize;
use tower::ServiceBuilder;
use tower_webhook::event::{EventRouter, Handled, WebhookEvent};
use tower_webhook::idempotency::IdempotencyLayer;
use tower_webhook::signature::{Verifier, VerifySignatureLayer, scheme::GitHub};

#[derive(Deserialize)]
struct Repository {
    full_name: String,
}

#[derive(Deserialize)]
struct Issue {
    number: u64,
    title: String,
}

/// The `issues` event's payload (GitHub sends it as the whole body).
#[derive(Deserialize)]
struct Issues {
    action: String,
    issue: Issue,
    repository: Repository,
}

/// The `push` event's payload.
#[derive(Deserialize)]
struct Push {
    #[serde(rename = "ref")]
    git_ref: String,
    commits: Vec<serde_json::Value>,
    repository: Repository,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let secret = std::env::var("GITHUB_WEBHOOK_SECRET").map_err(|_| "set GITHUB_WEBHOOK_SECRET")?;
    let verifier = Verifier::builder(GitHub)
        .secret("current", secret)
        .build()?;
    let events = EventRouter::new()
        .on("issues", |event: WebhookEvent<Issues>| async move {
            let Issues {
                action,
                issue,
                repository,
            } = event.data;
            println!(
                "{} #{} {action}: {}",
                repository.full_name, issue.number, issue.title
            );
            Handled::Processed
        })
        .on("push", |event: WebhookEvent<Push>| async move {
            let push = event.data;
            println!(
                "{} {}: {} commits",
                push.repository.full_name,
                push.git_ref,
                push.commits.len()
            );
            Handled::Processed
        });
    let layers = ServiceBuilder::new()
        .layer(VerifySignatureLayer::new(verifier))
        .layer(IdempotencyLayer::in_memory());
    let app = Router::new().route("/webhooks/github", post_service(layers.service(events)));

    let bind = std::env::var("BIND").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
    let listener = tokio::net::TcpListener::bind(bind).await?;
    println!(
        "listening on http://{}/webhooks/github",
        listener.local_addr()?
    );
    axum::serve(listener, app).await?;
    Ok(())
}
