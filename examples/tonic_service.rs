//! Webhook layers on a gRPC service: a tower `ServiceBuilder` around tonic's `Routes`
//! verifies each call's signature, limits each verified source, and the service reads
//! the verified-delivery marker through a tonic interceptor. `tower_webhook::serve`
//! serves it (HTTP/2 stream limits and the rapid-reset defence, header read and idle
//! timeouts, a connection cap, a graceful shutdown on Ctrl-C or `SIGTERM`).
//!
//! ```text
//! WEBHOOK_SECRET=my-secret cargo run --example tonic_service
//! ```
//!
//! The service is `grpc.health.v1.Health` (from `tonic-health`, so the example needs
//! no code generation); a caller signs the raw HTTP/2 body (the gRPC frames) with the
//! reference `hopnow` scheme. Settings: `BIND` (default `127.0.0.1:50051`),
//! `WEBHOOK_SECRET` (comma-separated), `WEBHOOK_RATE_PER_MINUTE` (default 60, per
//! verified source). Over the limit a call fails with gRPC status 8
//! (`RESOURCE_EXHAUSTED`); an unsigned call gets HTTP 401.

use std::net::SocketAddr;
use std::num::NonZeroU32;

use tonic::service::{InterceptorLayer, Routes};
use tower::ServiceBuilder;
use tower_webhook::core::VerifiedDelivery;
use tower_webhook::ratelimit::{Quota, RateLimitLayer, VerifiedSource};
use tower_webhook::signature::{Verifier, VerifySignatureLayer, scheme::HopNow};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let bind: SocketAddr = std::env::var("BIND")
        .unwrap_or_else(|_| "127.0.0.1:50051".to_owned())
        .parse()?;
    let secrets = std::env::var("WEBHOOK_SECRET").map_err(|_| "set WEBHOOK_SECRET")?;
    let per_minute: NonZeroU32 = std::env::var("WEBHOOK_RATE_PER_MINUTE")
        .unwrap_or_else(|_| "60".to_owned())
        .parse()?;

    let verifier = Verifier::builder(HopNow)
        .secrets(secrets.split(',').map(str::trim))
        .build()?;
    let rate_limit = RateLimitLayer::builder(Quota::per_minute(per_minute))
        .key(VerifiedSource)
        .build()?;
    let (_reporter, health) = tonic_health::server::health_reporter();

    let listener = tokio::net::TcpListener::bind(bind).await?;
    println!(
        "listening on http://{}/grpc.health.v1.Health",
        listener.local_addr()?
    );
    let service = ServiceBuilder::new()
        .layer(VerifySignatureLayer::new(verifier))
        .layer(rate_limit)
        .layer(InterceptorLayer::new(log_verified_call))
        .service(Routes::new(health));
    tower_webhook::serve::serve(listener, service).await;
    Ok(())
}

/// Reads the marker the signature layer put on the call: tonic copies the HTTP
/// request's extensions into the `tonic::Request`.
fn log_verified_call(request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
    let delivery = request
        .extensions()
        .get::<VerifiedDelivery>()
        .ok_or_else(|| tonic::Status::unauthenticated("the call was not verified"))?;
    println!(
        "verified call: scheme {} key {} ({} bytes)",
        delivery.scheme(),
        delivery.key_id(),
        delivery.body().len()
    );
    Ok(request)
}
