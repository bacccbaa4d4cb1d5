//! The reference webhook receiver: an axum app that verifies signed deliveries,
//! processes each event once, and applies payout events in order.
//!
//! Run it with in-memory defaults, no setup:
//!
//! ```text
//! cargo run --example receiver
//! ```
//!
//! It serves `GET` and `POST /webhooks`, `GET /metrics` (Prometheus text) and
//! `GET /healthz`,
//! and prints `curl` commands that send it signed test events, including two payout
//! events out of order. `/metrics` and `/healthz` tell event types, rates, rejection
//! reasons and key ids: with `METRICS_BIND` set they are served on that address only,
//! and otherwise answered on the webhook listener to loopback peers only (404 to
//! anyone else) unless `METRICS_PUBLIC=1`. The listeners are served by
//! `tower_webhook::serve::Server`: header read and idle timeouts, a connection cap,
//! HTTP/2 limits, and on Ctrl-C or `SIGTERM` a graceful shutdown that finishes the
//! deliveries in flight. Settings come from the environment:
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `BIND` | `127.0.0.1:3000` | address to listen on |
//! | `WEBHOOK_SCHEME` | `hopnow` | any provider `webhook providers` lists (`github`, `stripe`, `standard`, `discord`, `square`, ...) or an alias of one |
//! | `WEBHOOK_SECRET` | a development secret, printed at start (unless `WEBHOOK_PUBLIC_KEY` is set) | comma-separated secrets; key ids `0`, `1`, ... by position (rotation) |
//! | `WEBHOOK_PUBLIC_KEY` | unset | comma-separated public keys, for the schemes with asymmetric signatures (required by them): Discord's 64 hex characters, SendGrid's base64 DER, Standard Webhooks' `whpk_<base64>`; key ids continue after the secrets' |
//! | `WEBHOOK_VERIFY_TOKEN` | unset: Meta's verification requests get 403 | Meta's verify token (the text set beside the callback URL in the app dashboard), which its `GET` verification request must carry |
//! | `WEBHOOK_PUBLIC_URL` | unset | the URL the provider calls, up to where the path begins (`https://hooks.example.com`); required by the schemes that sign the URL (Square, HubSpot, Twilio), which sign it joined with the request's path and query |
//! | `WEBHOOK_BODY_LIMIT` | `1048576` | largest body accepted, in bytes |
//! | `WEBHOOK_TOLERANCE_SECS` | `300` | replay tolerance for schemes that sign a timestamp |
//! | `WEBHOOK_RATE_PER_MINUTE` | unset: no limit | deliveries a minute per verified source (scheme + key id); 429 past it |
//! | `WEBHOOK_QUEUE` | unset: process inline | `memory` or `redis` (needs `REDIS_URL`): answer 202 once queued, process in background workers with retries and dead letters |
//! | `WEBHOOK_WORKERS` | `4` | queue workers in this process; `0` with `redis`: only queue, and run `cargo run --example worker` |
//! | `WEBHOOK_REQUIRE_HTTPS` | unset: off | `1`: refuse deliveries not sent over HTTPS (403 `https_required`) |
//! | `WEBHOOK_TRUSTED_PROXIES` | none | comma-separated addresses or networks of TLS-terminating proxies whose `X-Forwarded-Proto` is believed |
//! | `DATABASE_URL` | unset | Postgres for the idempotency store (`webhook-idempotency-postgres`; its schema `webhook_idempotency` is created at start), before `REDIS_URL`'s store |
//! | `REDIS_URL` | unset: in memory | Redis for the idempotency store, the ordering guard, the rate limit and the queue, so several receivers work together; `rediss://` for TLS |
//! | `REDIS_TLS_CA` | unset: the system's roots | with `rediss://`: path of a PEM file of the CA certificates that sign the server's certificate |
//! | `REDIS_TLS_CERT` | unset: no client certificate | with `rediss://`: path of a PEM file of the client certificate chain, for servers that ask for one; needs `REDIS_TLS_KEY` |
//! | `REDIS_TLS_KEY` | unset | path of the PEM file of `REDIS_TLS_CERT`'s private key |
//! | `METRICS_BIND` | unset: the webhook listener, loopback peers only | address of a separate listener for `/metrics` and `/healthz` (then not served on the webhook listener) |
//! | `IDEMPOTENCY_HEARTBEAT` | unset: off | `1`: extend each claim every third of its lease while the handler runs (see `IdempotencyLayerBuilder::heartbeat`) |
//! | `METRICS_PUBLIC` | unset: off | `1`: answer `/metrics` and `/healthz` on the webhook listener to any peer (when `METRICS_BIND` is unset) |
//! | `HEADER_READ_TIMEOUT_SECS` | `10` | a connection must send a complete request head within it, or is closed |
//! | `IDLE_TIMEOUT_SECS` | `60` | a connection with no request in flight this long is closed |
//! | `MAX_CONNECTIONS` | `1024` | connections open at once; past it new ones wait in the listen backlog |
//! | `DRAIN_TIMEOUT_SECS` | `30` | at shutdown, how long deliveries in flight may take to finish |
//! | `RUST_LOG` | `info` | log filter (`tracing-subscriber` syntax) |
//!
//! The layers, stacked by `WebhookStack`, outermost first: tracing and metrics, the
//! HTTPS guard, signature verification, the per-source rate limit, idempotency, then
//! an `EventRouter` that dispatches on the event `type` (unknown types: 200
//! `ignored`), or the queue.
//!
//! The signature layer answers the setup handshake of the scheme's provider itself,
//! on the same stack: Slack's `url_verification`, Zoom's `endpoint.url_validation`,
//! X's CRC `GET`, Meta's verification `GET` (with `WEBHOOK_VERIFY_TOKEN`), Twitch's
//! `webhook_callback_verification`, Dropbox's challenge `GET` and Discord's PING
//! (`webhook send --handshake` sends each). Any other `GET /webhooks` is verified as
//! a delivery.
//!
//! # The events it understands
//!
//! HopNow's events, as HopNow's webhooks guide documents them: a JSON envelope
//! `{"id", "type", "created", "data"}` whose `created` is RFC 3339 text (as Python's
//! `datetime.now(UTC).isoformat()` writes it: `2026-12-06T09:30:12.123456+00:00`) or
//! Unix seconds, signed (scheme `hopnow`, the default) as
//! `X-Webhook-Signature: <hex HMAC-SHA256 of the body>`. The payout events
//! `payout.created`, `payout.completed` and `payout.failed` carry the payout's `data.id`
//! (`pout_test_123`) and `data.status`; other members are ignored. They are applied in
//! order per payout: an event older than one already applied to the same payout is
//! answered `{"status":"stale"}` and not applied.
//!
//! A signed payout event whose `data` does not match (no `data.id`, a number where a
//! string belongs) is answered 200 `{"status":"invalid_data"}` with the JSON path that
//! failed, logged at `ERROR` with its event id and that path, and counted in
//! `webhooks_rejected_total{reason="invalid_data"}` to alert on. The library's default
//! answer is 422 `invalid_data`, but most senders retry a 4xx for days, and every retry
//! carries the same signed bytes, which fail the same way; HopNow's guide says of
//! invalid data "log and alert, don't retry". The event is not applied: the id in the
//! log is what to look up at the sender, and to have resent once the type is fixed.

use std::future::Future;
use std::io::IsTerminal as _;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::Request;
use axum::http::{Method, Response, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::IntoResponse;
use axum::routing::{MethodFilter, MethodRouter, get, on_service};
use axum::{Json, Router};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use serde::Deserialize;
use serde_json::{Value, json};
use tower_webhook::core::redis::RedisConnection;
use tower_webhook::core::{RefusalLogged, RejectionCode, VerifiedDelivery};
use tower_webhook::event::{EventRejection, IntoEventResponse, OffsetDateTime, RejectedEvent};
use tower_webhook::event::{
    EventRouter, GuardDecision, GuardError, Handled, MemoryOrderingGuard, OrderingGuard,
    RedisOrderingGuard, WebhookEvent,
};
use tower_webhook::https::{ProxyHeader, RequireHttpsLayer, TrustedProxies};
use tower_webhook::idempotency::store::{DynStore, MemoryStore, RedisStore};
use tower_webhook::idempotency::{IdempotencyLayer, MissingKeyPolicy};
use tower_webhook::observe::{
    CLOCK_SKEW_SECONDS_BUCKETS, ObserveLayer, PROCESSING_SECONDS_BUCKETS, describe_metrics,
};
use tower_webhook::queue::metrics::{FacadeMetrics, Metrics as QueueMetrics};
use tower_webhook::queue::{DynQueue, Enqueue, MemoryQueue, RedisQueue, Workers};
use tower_webhook::ratelimit::{Quota, RateLimitLayer, RedisRateLimiter, VerifiedSource};
use tower_webhook::serve::{
    DEFAULT_DRAIN_TIMEOUT, DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_CONNECTIONS, Server, shutdown_signal,
};
use tower_webhook::signature::scheme::SignRequest;
use tower_webhook::signature::{ConfigError, Signer, Verifier, VerifySignatureLayer, scheme};
use tower_webhook::{OptionalLayer, WebhookStack};
use webhook_idempotency_postgres::PostgresStore;

/// The allocator: under load glibc's malloc takes about a fifth of a receiver's CPU,
/// and mimalloc much less (BENCHMARKS.md, "the reference receiver").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Used when `WEBHOOK_SECRET` is unset. Standard Webhooks secrets are `whsec_<base64>`.
const DEV_SECRET: &str = "dev-secret-change-me";
const DEV_SECRET_STANDARD: &str = "whsec_ZGV2LXNlY3JldC1jaGFuZ2UtbWU=";

/// The `data` of a payout event, as HopNow sends it; other members are ignored.
#[derive(Debug, Deserialize)]
struct Payout {
    /// The payout's id, such as `pout_test_123`.
    id: String,
    /// Its status, such as `completed`.
    status: String,
}

/// The payout events this receiver understands, tagged by the envelope's `type`.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", content = "data")]
enum PayoutEvent {
    #[serde(rename = "payout.created")]
    Created(Payout),
    #[serde(rename = "payout.completed")]
    Completed(Payout),
    #[serde(rename = "payout.failed")]
    Failed(Payout),
}

impl PayoutEvent {
    fn payout(&self) -> &Payout {
        match self {
            Self::Created(payout) | Self::Completed(payout) | Self::Failed(payout) => payout,
        }
    }
}

/// The types of [`PayoutEvent`], handled by [`apply_payout`].
const PAYOUT_EVENTS: [&str; 3] = ["payout.created", "payout.completed", "payout.failed"];

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // mimalloc asks the kernel for transparent huge pages. Where the host lets a page
    // fault assemble one (THP `defrag` set to `madvise`, a common default), the first
    // touch of each 2 MiB page holds up the deliveries in flight: p99 rose to 40-50 ms
    // in the first second after a start (BENCHMARKS.md, "The reference receiver from a
    // cold start"). With 4 KiB pages that second is like any other.
    #[cfg(target_os = "linux")]
    if let Err(error) = nix::sys::prctl::set_thp_disable(true) {
        eprintln!(
            "cannot turn transparent huge pages off ({error}): the first seconds may be slower"
        );
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        // Colour codes only for a person at a terminal: written to a file or a log
        // collector they are noise, and formatting them costs on every delivery.
        .with_ansi(std::io::stdout().is_terminal())
        .init();

    let bind: SocketAddr = env_or("BIND", "127.0.0.1:3000").parse()?;
    let scheme_name = env_or("WEBHOOK_SCHEME", "hopnow");
    let scheme = scheme::by_name(&scheme_name).ok_or_else(|| {
        format!(
            "unknown WEBHOOK_SCHEME `{scheme_name}`; expected one of {}",
            scheme::NAMES.join(", ")
        )
    })?;
    let public_url = std::env::var("WEBHOOK_PUBLIC_URL").ok();
    if scheme.signs_url() && public_url.is_none() {
        return Err(format!(
            "WEBHOOK_SCHEME `{scheme_name}` signs the URL the provider calls: set \
             WEBHOOK_PUBLIC_URL to that URL up to where the path begins \
             (https://hooks.example.com for https://hooks.example.com/webhooks)"
        )
        .into());
    }
    let list = |name: &str| {
        std::env::var(name).ok().map(|list| {
            list.split(',')
                .map(|item| item.trim().to_owned())
                .collect::<Vec<_>>()
        })
    };
    let public_keys = list("WEBHOOK_PUBLIC_KEY");
    // The development secret only when no key at all is configured: it is public.
    let dev_secret = match (list("WEBHOOK_SECRET"), &public_keys) {
        (None, None) if !scheme.algorithm().is_hmac() => {
            return Err(format!(
                "WEBHOOK_SCHEME `{scheme_name}` verifies with the provider's public key: set \
                 WEBHOOK_PUBLIC_KEY to it, as the provider shows it"
            )
            .into());
        }
        (None, None) if scheme.name() == "standard" => Some(DEV_SECRET_STANDARD),
        (None, None) => Some(DEV_SECRET),
        _ => None,
    };
    if let Some(secret) = dev_secret {
        println!("WEBHOOK_SECRET is unset: using the development secret `{secret}`");
    }
    let secrets = list("WEBHOOK_SECRET")
        .or_else(|| dev_secret.map(|secret| vec![secret.to_owned()]))
        .unwrap_or_default();
    let body_limit: usize = env_or("WEBHOOK_BODY_LIMIT", "1048576").parse()?;
    let tolerance: u64 = env_or("WEBHOOK_TOLERANCE_SECS", "300").parse()?;

    let mut verifier = Verifier::builder(scheme)
        .secrets(secrets)
        .public_keys(public_keys.unwrap_or_default())
        .tolerance(Duration::from_secs(tolerance));
    if let Some(url) = &public_url {
        verifier = verifier.public_url(url.as_str());
    }
    if let Ok(token) = std::env::var("WEBHOOK_VERIFY_TOKEN") {
        verifier = verifier.verify_token(token);
    }
    let verifier = verifier.build().map_err(|error| match error {
        ConfigError::InvalidScheme { .. } => format!("WEBHOOK_PUBLIC_URL: {error}"),
        ConfigError::EmptyVerifyToken => format!("WEBHOOK_VERIFY_TOKEN: {error}"),
        _ => format!("WEBHOOK_SECRET or WEBHOOK_PUBLIC_KEY: {error}"),
    })?;
    let verify = VerifySignatureLayer::new(verifier.clone()).body_limit(body_limit);
    // Everything shared between instances goes to Redis when REDIS_URL is set, through
    // one connection. Never print REDIS_URL itself: it may hold a password.
    let redis = match std::env::var("REDIS_URL") {
        Ok(url) => Some(redis_connection(url).await?),
        Err(_) => None,
    };
    let rate_limit = rate_limit(redis.as_ref())?;

    let guard: Arc<dyn OrderingGuard> = match &redis {
        Some(redis) => Arc::new(RedisOrderingGuard::new(redis.clone())?),
        None => Arc::new(MemoryOrderingGuard::new()),
    };
    let events = events(guard);

    let (endpoint, drain) = match std::env::var("WEBHOOK_QUEUE").as_deref() {
        Err(_) => (webhook_endpoint(events), None),
        Ok(kind) => {
            let queue: Arc<dyn DynQueue> = match (kind, &redis) {
                ("memory", _) => {
                    println!("queue: in memory (jobs held by a process that dies are lost)");
                    Arc::new(MemoryQueue::new())
                }
                ("redis", Some(redis)) => {
                    println!(
                        "queue: Redis Streams (run Redis with appendonly yes, appendfsync always)"
                    );
                    Arc::new(RedisQueue::new(redis.clone()).await?)
                }
                ("redis", None) => return Err("WEBHOOK_QUEUE=redis needs REDIS_URL".into()),
                (other, _) => {
                    return Err(format!(
                        "unknown WEBHOOK_QUEUE `{other}`: expected memory or redis"
                    )
                    .into());
                }
            };
            queued(queue, events)?
        }
    };
    let store: Arc<dyn DynStore> = match (std::env::var("DATABASE_URL"), &redis) {
        // Never print DATABASE_URL either: it may hold a password.
        (Ok(url), _) => {
            println!("idempotency store: Postgres (DATABASE_URL)");
            let pool = sqlx::postgres::PgPoolOptions::new()
                .connect(&url)
                .await
                .map_err(|error| format!("DATABASE_URL: {error}"))?;
            let store = PostgresStore::builder(pool).build().await?;
            // Expired records are deleted in small batches every five minutes.
            store.spawn_cleanup(Duration::from_secs(300));
            Arc::new(store)
        }
        (Err(_), Some(redis)) => {
            println!("idempotency store: Redis (REDIS_URL)");
            Arc::new(RedisStore::new(redis.clone())?)
        }
        (Err(_), None) => {
            println!("idempotency store: in memory");
            Arc::new(MemoryStore::new())
        }
    };
    println!(
        "ordering guard and rate limit: {}",
        if redis.is_some() {
            "Redis (REDIS_URL)"
        } else {
            "in memory"
        }
    );
    let webhooks = app(verify, https_guard()?, rate_limit, store, endpoint)?;
    let server = server()?;
    // Merged after the webhook layers: neither guarded nor counted.
    let operations = operations(install_metrics()?, redis);
    let metrics_bind = std::env::var("METRICS_BIND").ok();
    let public = std::env::var("METRICS_PUBLIC").is_ok_and(|value| value == "1");
    let app = match &metrics_bind {
        Some(_) => webhooks,
        None if public => webhooks.merge(operations.clone()),
        None => webhooks.merge(
            operations
                .clone()
                .route_layer(middleware::from_fn(loopback_only)),
        ),
    };

    let listener = tokio::net::TcpListener::bind(bind).await?;
    let address = listener.local_addr()?;
    println!("listening on http://{address}/webhooks (scheme `{scheme_name}`)");
    if let Some(secret) = dev_secret {
        print_examples(&verifier, secret, address)?;
    }
    let operations = match metrics_bind {
        Some(bind) => {
            let listener = tokio::net::TcpListener::bind(bind).await?;
            println!("metrics on http://{}/metrics", listener.local_addr()?);
            let server = server.clone();
            Some(tokio::spawn(async move {
                let operations = operations.with_state(());
                server.serve(listener, operations, shutdown_signal()).await;
            }))
        }
        None => None,
    };
    // Until Ctrl-C or SIGTERM, then the deliveries in flight finish (DRAIN_TIMEOUT_SECS).
    // Routes turned into services once, not on every request (see `serve`'s docs).
    server
        .serve(listener, app.with_state(()), shutdown_signal())
        .await;
    if let Some(operations) = operations {
        operations.await?;
    }
    if let Some(drain) = drain {
        println!("draining the queue...");
        drain.await?;
    }
    Ok(())
}

/// Finishes the queued work at shutdown.
type Drain = Pin<Box<dyn Future<Output = Result<(), Box<dyn std::error::Error>>> + Send>>;

/// Connects to `REDIS_URL`; a `rediss://` URL trusts the CA in the `REDIS_TLS_CA` file
/// (else the system's roots) and presents the `REDIS_TLS_CERT` and `REDIS_TLS_KEY`
/// files when both are set.
async fn redis_connection(url: String) -> Result<RedisConnection, Box<dyn std::error::Error>> {
    let read = |name: &str| match std::env::var(name) {
        Ok(path) => std::fs::read(&path)
            .map(Some)
            .map_err(|error| format!("cannot read {name} `{path}`: {error}")),
        Err(_) => Ok(None),
    };
    let mut builder = RedisConnection::builder(url);
    if let Some(ca) = read("REDIS_TLS_CA")? {
        builder = builder.tls_root_ca(ca);
    }
    match (read("REDIS_TLS_CERT")?, read("REDIS_TLS_KEY")?) {
        (Some(cert), Some(key)) => builder = builder.tls_client_cert(cert, key),
        (None, None) => {}
        _ => {
            return Err("REDIS_TLS_CERT and REDIS_TLS_KEY go together: set both or neither".into());
        }
    }
    let redis = builder
        .connect()
        .await
        .map_err(|error| format!("REDIS_URL: {error}"))?;
    Ok(redis)
}

/// The per-source rate limit from `WEBHOOK_RATE_PER_MINUTE` (none when unset), in
/// Redis when `redis` is given.
fn rate_limit(
    redis: Option<&RedisConnection>,
) -> Result<Option<RateLimitLayer<VerifiedSource>>, Box<dyn std::error::Error>> {
    let Ok(rate) = std::env::var("WEBHOOK_RATE_PER_MINUTE") else {
        return Ok(None);
    };
    let per_minute: NonZeroU32 = rate
        .parse()
        .map_err(|_| format!("WEBHOOK_RATE_PER_MINUTE must be a positive integer, got `{rate}`"))?;
    let quota = Quota::per_minute(per_minute);
    let builder = match redis {
        Some(redis) => RateLimitLayer::builder_with(
            RedisRateLimiter::builder(redis.clone(), quota)
                .key_prefix("webhook-receiver:per-source:")
                .build()?,
        ),
        None => RateLimitLayer::builder(quota),
    };
    Ok(Some(
        builder
            .key(VerifiedSource)
            .policy_name("per-source")
            .build()?,
    ))
}

/// The event handlers, by event `type`: the HopNow payouts and `ping`; any other
/// type, from any provider's envelope, is logged and answered 200 `ignored` with its
/// id and type.
fn events(guard: Arc<dyn OrderingGuard>) -> EventRouter {
    EventRouter::new()
        // A `Result`: the handler answers the payout events that do not parse too.
        .on_each(
            PAYOUT_EVENTS,
            move |event: Result<WebhookEvent<PayoutEvent>, RejectedEvent>| {
                apply_payout(event, guard.clone())
            },
        )
        .on("ping", |event: WebhookEvent| async move {
            tracing::info!(event_id = %event.id, key_id = %event.key_id(), "ping");
            Handled::Processed.for_event(&event)
        })
        .fallback(|event: WebhookEvent| async move {
            tracing::info!(
                event_id = %event.id,
                event_type = %event.event_type,
                scheme = event.scheme(),
                "no handler for this event type: acknowledged"
            );
            Handled::Ignored.for_event(&event)
        })
}

/// Queued mode: the endpoint stores the verified delivery and answers 202; workers
/// run the same event router in the background, and its answer settles each job
/// (retried with backoff, or dead-lettered: see `Workers::serve`).
fn queued(
    queue: Arc<dyn DynQueue>,
    events: EventRouter,
) -> Result<(MethodRouter, Option<Drain>), Box<dyn std::error::Error>> {
    let concurrency: usize = env_or("WEBHOOK_WORKERS", "4").parse()?;
    let metrics: Arc<dyn QueueMetrics> = Arc::new(FacadeMetrics);
    let enqueue = Enqueue::builder(queue.clone())
        .metrics(metrics.clone())
        .build()?;
    if concurrency == 0 {
        println!("no workers in this process: run `cargo run --example worker`");
        return Ok((webhook_endpoint(enqueue), None));
    }
    let workers = Workers::serve(queue, events)
        // Jobs read back from Redis are read with their provider's envelope.
        .envelopes(|name| Some(tower_webhook::signature::scheme::by_name(name)?.envelope()))
        .concurrency(concurrency)
        .metrics(metrics)
        .spawn()?;
    let drain: Drain = Box::pin(async move { Ok(workers.shutdown().await?) });
    Ok((webhook_endpoint(enqueue), Some(drain)))
}

/// `GET` and `POST` to `service`: the signature layer in front answers the `GET`
/// handshakes (X, Meta, Dropbox) and verifies any other request.
fn webhook_endpoint<S>(service: S) -> MethodRouter
where
    S: tower::Service<Request, Error = std::convert::Infallible> + Clone + Send + Sync + 'static,
    S::Response: IntoResponse + 'static,
    S::Future: Send + 'static,
{
    on_service(MethodFilter::GET.or(MethodFilter::POST), service)
}

/// The `/webhooks` route behind the whole stack, outermost first: tracing and
/// metrics, the HTTPS guard, signature verification, the per-source rate limit,
/// idempotency, then `endpoint` (the event router, or the queue).
fn app(
    verify: VerifySignatureLayer,
    https: RequireHttpsLayer,
    rate_limit: Option<RateLimitLayer<VerifiedSource>>,
    store: Arc<dyn DynStore>,
    endpoint: MethodRouter,
) -> Result<Router, Box<dyn std::error::Error>> {
    // Deliveries without an event id are processed (not deduplicated) rather than refused.
    // `IDEMPOTENCY_HEARTBEAT=1`: handlers longer than the lease keep their claim.
    let heartbeat = std::env::var("IDEMPOTENCY_HEARTBEAT").is_ok_and(|value| value == "1");
    let idempotency = IdempotencyLayer::builder(store)
        .missing_key(MissingKeyPolicy::PassThrough)
        .heartbeat(heartbeat)
        .build()?;
    let observe = ObserveLayer::builder().event_types(EVENT_TYPES).build()?;
    let stack = WebhookStack::new(verify)
        .observe(observe)
        .require_https(https)
        .limit_per_source(OptionalLayer::new(rate_limit))
        .idempotency(idempotency);
    Ok(Router::new().route("/webhooks", endpoint).layer(stack))
}

/// The `event_type` label values of the metrics; any other type counts as `other`,
/// so a hostile sender cannot grow the number of series.
const EVENT_TYPES: [&str; 4] = [
    "payout.created",
    "payout.completed",
    "payout.failed",
    "ping",
];

/// The connection limits, from the environment: `HEADER_READ_TIMEOUT_SECS`,
/// `IDLE_TIMEOUT_SECS`, `MAX_CONNECTIONS`, `DRAIN_TIMEOUT_SECS`.
fn server() -> Result<Server, Box<dyn std::error::Error>> {
    let seconds = |name: &str, default: Duration| -> Result<Duration, String> {
        let text = env_or(name, &default.as_secs().to_string());
        let seconds = text
            .parse()
            .map_err(|_| format!("{name} must be whole seconds, got `{text}`"))?;
        Ok(Duration::from_secs(seconds))
    };
    let connections = env_or("MAX_CONNECTIONS", &DEFAULT_MAX_CONNECTIONS.to_string());
    Ok(Server::builder()
        .header_read_timeout(seconds(
            "HEADER_READ_TIMEOUT_SECS",
            DEFAULT_HEADER_READ_TIMEOUT,
        )?)
        .idle_timeout(seconds("IDLE_TIMEOUT_SECS", DEFAULT_IDLE_TIMEOUT)?)
        .max_connections(connections.parse().map_err(|_| {
            format!("MAX_CONNECTIONS must be a positive integer, got `{connections}`")
        })?)
        .drain_timeout(seconds("DRAIN_TIMEOUT_SECS", DEFAULT_DRAIN_TIMEOUT)?)
        .build()?)
}

/// `/metrics` and `/healthz`.
fn operations(metrics: PrometheusHandle, redis: Option<RedisConnection>) -> Router {
    Router::new()
        .route(
            "/metrics",
            get(move || std::future::ready(metrics.render())),
        )
        .route("/healthz", get(move || healthz(redis.clone())))
}

/// Answers 404, as if the route did not exist, to a peer that is not on this host.
async fn loopback_only(request: Request, next: Next) -> axum::response::Response {
    // `Server` records the peer of every request.
    let local = request
        .extensions()
        .get::<SocketAddr>()
        .is_some_and(|peer| peer.ip().to_canonical().is_loopback());
    if local {
        next.run(request).await
    } else {
        StatusCode::NOT_FOUND.into_response()
    }
}

/// Installs the Prometheus recorder behind `/metrics`.
fn install_metrics() -> Result<PrometheusHandle, Box<dyn std::error::Error>> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full("webhook_processing_seconds".into()),
            PROCESSING_SECONDS_BUCKETS,
        )?
        .set_buckets_for_metric(
            Matcher::Full("webhook_clock_skew_seconds".into()),
            CLOCK_SKEW_SECONDS_BUCKETS,
        )?
        .install_recorder()?;
    describe_metrics();
    // The recorder keeps every histogram sample until it is rendered or upkept: run
    // the upkeep even when nobody scrapes `/metrics`, or memory grows per delivery.
    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(5));
        loop {
            every.tick().await;
            upkeep.run_upkeep();
        }
    });
    Ok(handle)
}

/// `WEBHOOK_REQUIRE_HTTPS=1` refuses deliveries that did not arrive over HTTPS (off by
/// default, for local use); `WEBHOOK_TRUSTED_PROXIES` lists the TLS-terminating
/// proxies whose `X-Forwarded-Proto` is believed.
fn https_guard() -> Result<RequireHttpsLayer, Box<dyn std::error::Error>> {
    let require = std::env::var("WEBHOOK_REQUIRE_HTTPS").is_ok_and(|value| value == "1");
    let proxies = TrustedProxies::parse(
        ProxyHeader::XForwarded,
        &env_or("WEBHOOK_TRUSTED_PROXIES", ""),
    )
    .map_err(|error| format!("WEBHOOK_TRUSTED_PROXIES: {error}"))?;
    if require {
        println!(
            "HTTPS required; X-Forwarded-Proto believed from {:?}",
            proxies.networks()
        );
    }
    Ok(RequireHttpsLayer::new()
        .enabled(require)
        .trusted_proxies(proxies))
}

/// `/healthz`: 200 when the service can work; with Redis configured, 503 while Redis
/// does not answer a `PING` within a second.
async fn healthz(redis: Option<RedisConnection>) -> (StatusCode, Json<Value>) {
    let Some(redis) = redis else {
        return (StatusCode::OK, Json(json!({ "status": "ok" })));
    };
    match tokio::time::timeout(Duration::from_secs(1), redis.ping()).await {
        Ok(Ok(_)) => (
            StatusCode::OK,
            Json(json!({ "status": "ok", "redis": "ok" })),
        ),
        _ => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "unavailable", "redis": "unreachable" })),
        ),
    }
}

/// Applies a payout event unless a newer event about the same payout was applied
/// already. A guard failure answers 503, so the sender retries; `data` that does not
/// match [`Payout`] is acknowledged, see [`invalid_data`].
async fn apply_payout(
    event: Result<WebhookEvent<PayoutEvent>, RejectedEvent>,
    guard: Arc<dyn OrderingGuard>,
) -> Result<Response<Bytes>, GuardError> {
    let event = match event {
        Ok(event) => event,
        Err(RejectedEvent {
            rejection: EventRejection::InvalidData { path, reason, .. },
            delivery,
        }) => return Ok(invalid_data(&delivery, &path, &reason)),
        // Any other rejection keeps the library's answer.
        Err(other) => return Ok(other.rejection.into_event_response()),
    };
    let payout = event.data.payout();
    let entity = format!("payout:{}", payout.id);
    let status = match event.apply_if_newer(&guard, &entity).await? {
        GuardDecision::Applied => {
            tracing::info!(
                event_id = %event.id,
                event_type = %event.event_type,
                payout_id = %payout.id,
                payout_status = %payout.status,
                key_id = %event.key_id(),
                "payout event applied"
            );
            Handled::Processed
        }
        GuardDecision::Stale => {
            tracing::info!(
                event_id = %event.id,
                event_type = %event.event_type,
                payout_id = %payout.id,
                "stale: a newer event about this payout was applied already"
            );
            Handled::Stale
        }
    };
    Ok(status.for_event(&event))
}

/// Answers a signed payout event whose `data` does not match [`Payout`]: 200, so the
/// sender stops retrying bytes that will never match (HopNow's guide: "log and alert,
/// don't retry"); logged at `ERROR` with the event id and the JSON `path` that failed;
/// its [`RejectionCode`] counts it in `webhooks_rejected_total{reason="invalid_data"}`,
/// and [`RefusalLogged`] keeps `ObserveLayer` from logging it a second time.
fn invalid_data(delivery: &VerifiedDelivery, path: &str, reason: &str) -> Response<Bytes> {
    let event_id = delivery.event_id();
    tracing::error!(
        event_id,
        path,
        reason,
        "payout event not applied: its data does not match; acknowledged so the sender does not retry it"
    );
    let body = json!({
        "status": "invalid_data",
        "event_id": event_id,
        "path": path,
        "reason": reason,
    });
    let mut response = body.into_event_response();
    response
        .extensions_mut()
        .insert(RejectionCode("invalid_data"));
    response.extensions_mut().insert(RefusalLogged);
    response
}

/// Prints `curl` commands that send freshly signed test events, written as the
/// guide's mock events are (`json.dumps` of the event, `created` in ISO 8601): a ping,
/// then a payout completed and, after it, the same payout's older `payout.created`.
/// A scheme that signs the URL signs the public URL joined with `/webhooks`. Each
/// command is checked with `verifier` first: a scheme whose deliveries need what
/// HopNow's events lack (Mailgun's signature inside the body, Linear's
/// `webhookTimestamp`) gets a line saying so instead.
fn print_examples(
    verifier: &Verifier,
    secret: &str,
    address: SocketAddr,
) -> Result<(), Box<dyn std::error::Error>> {
    let scheme_name = verifier.scheme().name();
    let now = OffsetDateTime::now_utc();
    let unix = now.unix_timestamp();
    let signer = Signer::new(scheme::by_name(scheme_name).expect("built in"), secret)?;
    let url = format!("{}/webhooks", verifier.public_url().unwrap_or_default());
    let path = Uri::from_static("/webhooks");
    let payout = |status: &str| format!(r#"{{"id": "pout_{unix}", "status": "{status}"}}"#);
    let events = [
        (
            "a ping",
            format!("evt_ping_{unix}"),
            "ping",
            now,
            "{}".to_owned(),
        ),
        (
            "a payout completed",
            format!("evt_completed_{unix}"),
            "payout.completed",
            now,
            payout("completed"),
        ),
        (
            "the same payout's older `payout.created`, out of order (answered `stale`)",
            format!("evt_created_{unix}"),
            "payout.created",
            now - Duration::from_secs(60),
            payout("pending"),
        ),
    ];
    let mut examples = String::new();
    for (what, id, event_type, created, data) in events {
        let created = isoformat(created);
        let body = format!(
            r#"{{"id": "{id}", "type": "{event_type}", "created": "{created}", "data": {data}}}"#
        );
        let request = SignRequest::new(body.as_bytes(), unix, &id).with_url(&url);
        let checked = signer
            .sign_request(&request)
            .map_err(|error| error.to_string())
            .and_then(|headers| {
                let bytes = Bytes::from(body.clone());
                match verifier.verify_request(&Method::POST, Some(&path), &headers, &bytes) {
                    Ok(_) => Ok(headers),
                    Err(rejection) => Err(format!("a HopNow event is refused: {rejection}")),
                }
            });
        let headers = match checked {
            Ok(headers) => headers,
            Err(reason) => {
                println!("no curl example for scheme `{scheme_name}`: {reason}");
                return Ok(());
            }
        };
        let mut command = format!("curl -i http://{address}/webhooks");
        // Twilio's form-encoded deliveries set their own.
        if !headers.contains_key("content-type") {
            command.push_str(" -H 'content-type: application/json'");
        }
        for (name, value) in &headers {
            command.push_str(&format!(" -H '{name}: {}'", value.to_str()?));
        }
        examples.push_str(&format!("# {what}\n  {command} --data '{body}'\n\n"));
    }
    println!("send signed test events (valid for the replay tolerance):\n\n{examples}");
    Ok(())
}

/// A UTC time as the guide's mock events write `created`: Python's
/// `datetime.now(UTC).isoformat()`, such as `2026-12-06T09:30:12.123456+00:00`.
fn isoformat(time: OffsetDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}+00:00",
        time.year(),
        u8::from(time.month()),
        time.day(),
        time.hour(),
        time.minute(),
        time.second(),
        time.microsecond()
    )
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}
