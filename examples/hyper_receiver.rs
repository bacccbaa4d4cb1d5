//! A webhook receiver on hyper 1, without axum: the same layers as the reference
//! receiver (signature verification, idempotency, an event router) as one tower
//! service, served by hyper through `tower_webhook::serve::serve` (header read and
//! idle timeouts, a connection cap, HTTP/2 limits, a graceful shutdown on Ctrl-C or
//! `SIGTERM`).
//!
//! ```text
//! WEBHOOK_SECRET=my-secret cargo run --example hyper_receiver
//! ```
//!
//! `BIND` (default `127.0.0.1:3000`) and `WEBHOOK_SECRET` (comma-separated, the
//! reference `hopnow` scheme) come from the environment. Every path is the webhook
//! endpoint; send a signed event with
//! `cargo run -p webhook-cli -- send --url http://127.0.0.1:3000/webhooks --scheme hopnow --secret my-secret --type ping`.

use std::net::SocketAddr;

use serde_json::json;
use tower::ServiceBuilder;
use tower_webhook::event::{EventRouter, WebhookEvent};
use tower_webhook::idempotency::IdempotencyLayer;
use tower_webhook::signature::{Verifier, VerifySignatureLayer, scheme::HopNow};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let bind: SocketAddr = std::env::var("BIND")
        .unwrap_or_else(|_| "127.0.0.1:3000".to_owned())
        .parse()?;
    let secrets = std::env::var("WEBHOOK_SECRET").map_err(|_| "set WEBHOOK_SECRET")?;
    let verifier = Verifier::builder(HopNow)
        .secrets(secrets.split(',').map(str::trim))
        .build()?;

    let events = EventRouter::new().on("ping", |event: WebhookEvent| async move {
        json!({ "status": "processed", "event_id": event.id })
    });
    let service = ServiceBuilder::new()
        .layer(VerifySignatureLayer::new(verifier))
        .layer(IdempotencyLayer::in_memory())
        .service(events);

    let listener = tokio::net::TcpListener::bind(bind).await?;
    println!("listening on http://{}/webhooks", listener.local_addr()?);
    tower_webhook::serve::serve(listener, service).await;
    Ok(())
}
