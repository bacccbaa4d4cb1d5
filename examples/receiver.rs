//! The reference webhook receiver: an axum app that verifies signed deliveries,
//! processes each event once, and applies payout events in order.
//!
//! Run it with in-memory defaults, no setup:
//!
//! ```text
//! cargo run --example receiver
//! ```
//!
//! It serves `POST /webhooks`, `GET /metrics` (Prometheus text) and `GET /healthz`,
//! and prints `curl` commands that send it signed test events, including two payout
//! events out of order. Settings come from the
//! environment:
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `BIND` | `127.0.0.1:3000` | address to listen on |
//! | `WEBHOOK_SCHEME` | `hopnow` | `hopnow`, `github`, `stripe`, `standard`, `slack` or `shopify` |
//! | `WEBHOOK_SECRET` | a development secret, printed at start | comma-separated secrets; key ids `0`, `1`, ... by position (rotation) |
//! | `WEBHOOK_BODY_LIMIT` | `1048576` | largest body accepted, in bytes |
//! | `WEBHOOK_TOLERANCE_SECS` | `300` | replay tolerance for schemes that sign a timestamp |
//! | `WEBHOOK_RATE_PER_MINUTE` | unset: no limit | deliveries a minute per verified source (scheme + key id); 429 past it |
//! | `WEBHOOK_QUEUE` | unset: process inline | `memory` or `redis` (needs `REDIS_URL`): answer 202 once queued, process in background workers with retries and dead letters |
//! | `WEBHOOK_WORKERS` | `4` | queue workers in this process; `0` with `redis`: only queue, and run `cargo run --example worker` |
//! | `WEBHOOK_REQUIRE_HTTPS` | unset: off | `1`: refuse deliveries not sent over HTTPS (403 `https_required`) |
//! | `WEBHOOK_TRUSTED_PROXIES` | none | comma-separated addresses or networks of TLS-terminating proxies whose `X-Forwarded-Proto` is believed |
//! | `REDIS_URL` | unset: in memory | Redis for the idempotency store, the ordering guard, the rate limit and the queue, so several receivers work together |
//! | `RUST_LOG` | `info` | log filter (`tracing-subscriber` syntax) |
//!
//! The layers, stacked by `WebhookStack`, outermost first: tracing and metrics, the
//! HTTPS guard, signature verification, the per-source rate limit, idempotency, then
//! an `EventRouter` that dispatches on the event `type` (unknown types: 200
//! `ignored`), or the queue.

use std::future::Future;
use std::io::IsTerminal as _;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::StatusCode;
use axum::routing::{MethodRouter, get, post_service};
use axum::{Json, Router};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use serde::Deserialize;
use serde_json::{Value, json};
use tower_webhook::WebhookStack;
use tower_webhook::core::redis::RedisConnection;
use tower_webhook::event::{
    EventRouter, GuardError, MemoryOrderingGuard, Ordering, OrderingGuard, RedisOrderingGuard,
    WebhookEvent,
};
use tower_webhook::https::{ProxyHeader, RequireHttpsLayer, TrustedProxies};
use tower_webhook::idempotency::store::{MemoryStore, RedisStore, Store};
use tower_webhook::idempotency::{IdempotencyLayer, MissingKeyPolicy};
use tower_webhook::observe::{
    CLOCK_SKEW_SECONDS_BUCKETS, ObserveLayer, PROCESSING_SECONDS_BUCKETS, describe_metrics,
};
use tower_webhook::queue::metrics::{FacadeMetrics, Metrics as QueueMetrics};
use tower_webhook::queue::{Enqueue, MemoryQueue, Queue, RedisQueue, Workers};
use tower_webhook::ratelimit::{Quota, RateLimitLayer, RedisRateLimiter, VerifiedSource};
use tower_webhook::signature::{Signer, Verifier, VerifySignatureLayer, scheme};

/// Used when `WEBHOOK_SECRET` is unset. Standard Webhooks secrets are `whsec_<base64>`.
const DEV_SECRET: &str = "dev-secret-change-me";
const DEV_SECRET_STANDARD: &str = "whsec_ZGV2LXNlY3JldC1jaGFuZ2UtbWU=";

/// The `data` of a payout event.
#[derive(Debug, Deserialize)]
struct Payout {
    payout_id: String,
    amount: u64,
    currency: String,
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

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
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
    // Everything shared between instances goes to Redis when REDIS_URL is set, through
    // one connection. Never print REDIS_URL itself: it may hold a password.
    let redis = match std::env::var("REDIS_URL") {
        Ok(url) => Some(RedisConnection::connect(url).await?),
        Err(_) => None,
    };
    let rate_limit = rate_limit(redis.as_ref())?;

    let guard: Arc<dyn OrderingGuard> = match &redis {
        Some(redis) => Arc::new(RedisOrderingGuard::new(redis.clone())?),
        None => Arc::new(MemoryOrderingGuard::new()),
    };
    let events = events(guard);

    let (endpoint, drain) = match std::env::var("WEBHOOK_QUEUE").as_deref() {
        Err(_) => (post_service(events), None),
        Ok("memory") => {
            println!("queue: in memory (jobs held by a process that dies are lost)");
            queued(MemoryQueue::new(), events)?
        }
        Ok("redis") => {
            let redis = redis
                .as_ref()
                .ok_or("WEBHOOK_QUEUE=redis needs REDIS_URL")?;
            println!("queue: Redis Streams (run Redis with appendonly yes, appendfsync always)");
            queued(RedisQueue::new(redis.clone()).await?, events)?
        }
        Ok(other) => {
            return Err(
                format!("unknown WEBHOOK_QUEUE `{other}`: expected memory or redis").into(),
            );
        }
    };
    let https = https_guard()?;
    let webhooks = match &redis {
        Some(redis) => {
            println!("idempotency store, ordering guard and rate limit: Redis (REDIS_URL)");
            let store = RedisStore::new(redis.clone())?;
            app(verify, https, rate_limit, store, endpoint)?
        }
        None => {
            println!("idempotency store, ordering guard and rate limit: in memory");
            app(verify, https, rate_limit, MemoryStore::new(), endpoint)?
        }
    };
    // Added after the webhook layers: neither guarded nor counted.
    let metrics = install_metrics()?;
    let app = webhooks
        .route(
            "/metrics",
            get(move || std::future::ready(metrics.render())),
        )
        .route("/healthz", get(move || healthz(redis.clone())));

    let listener = tokio::net::TcpListener::bind(bind).await?;
    let address = listener.local_addr()?;
    println!("listening on http://{address}/webhooks (scheme `{scheme_name}`)");
    if std::env::var("WEBHOOK_SECRET").is_err() {
        print_examples(&scheme_name, dev_secret, address)?;
    }
    // The HTTPS guard and per-IP limits read the peer address from `ConnectInfo`.
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    if let Some(drain) = drain {
        println!("draining the queue...");
        drain.await?;
    }
    Ok(())
}

/// Finishes the queued work at shutdown.
type Drain = Pin<Box<dyn Future<Output = Result<(), Box<dyn std::error::Error>>> + Send>>;

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

/// The event handlers, by event `type`; unknown types are answered 200 `ignored`.
fn events(guard: Arc<dyn OrderingGuard>) -> EventRouter {
    EventRouter::new()
        .on_each(
            ["payout.created", "payout.completed", "payout.failed"],
            move |event: WebhookEvent<PayoutEvent>| apply_payout(event, guard.clone()),
        )
        .on("ping", |event: WebhookEvent| async move {
            tracing::info!(event_id = %event.id, key_id = %event.key_id(), "ping");
            json!({ "status": "processed", "event_id": event.id })
        })
}

/// Queued mode: the endpoint stores the verified delivery and answers 202; workers
/// run the same event router in the background, and its answer settles each job
/// (retried with backoff, or dead-lettered: see `Workers::serve`).
fn queued<Q: Queue + Clone>(
    queue: Q,
    events: EventRouter,
) -> Result<(MethodRouter, Option<Drain>), Box<dyn std::error::Error>> {
    let concurrency: usize = env_or("WEBHOOK_WORKERS", "4").parse()?;
    let metrics: Arc<dyn QueueMetrics> = Arc::new(FacadeMetrics);
    let enqueue = Enqueue::builder(queue.clone())
        .metrics(metrics.clone())
        .build()?;
    if concurrency == 0 {
        println!("no workers in this process: run `cargo run --example worker`");
        return Ok((post_service(enqueue), None));
    }
    let workers = Workers::serve(queue, events)
        .concurrency(concurrency)
        .metrics(metrics)
        .spawn()?;
    let drain: Drain = Box::pin(async move { Ok(workers.shutdown().await?) });
    Ok((post_service(enqueue), Some(drain)))
}

/// The `/webhooks` route behind the whole stack, outermost first: tracing and
/// metrics, the HTTPS guard, signature verification, the per-source rate limit,
/// idempotency, then `endpoint` (the event router, or the queue).
fn app<St: Store + Clone>(
    verify: VerifySignatureLayer,
    https: RequireHttpsLayer,
    rate_limit: Option<RateLimitLayer<VerifiedSource>>,
    store: St,
    endpoint: MethodRouter,
) -> Result<Router, Box<dyn std::error::Error>> {
    // Deliveries without an event id are processed (not deduplicated) rather than refused.
    let idempotency = IdempotencyLayer::builder(store)
        .missing_key(MissingKeyPolicy::PassThrough)
        .build()?;
    let observe = ObserveLayer::builder().event_types(EVENT_TYPES).build()?;
    let stack = WebhookStack::new(verify)
        .observe(observe)
        .require_https(https)
        .idempotency(idempotency);
    let routes = Router::new().route("/webhooks", endpoint);
    Ok(match rate_limit {
        Some(rate_limit) => routes.layer(stack.limit_per_source(rate_limit)),
        None => routes.layer(stack),
    })
}

/// The `event_type` label values of the metrics; any other type counts as `other`,
/// so a hostile sender cannot grow the number of series.
const EVENT_TYPES: [&str; 4] = [
    "payout.created",
    "payout.completed",
    "payout.failed",
    "ping",
];

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
/// already. A guard failure answers 503, so the sender retries.
async fn apply_payout(
    event: WebhookEvent<PayoutEvent>,
    guard: Arc<dyn OrderingGuard>,
) -> Result<Value, GuardError> {
    let payout = event.data.payout();
    let entity = format!("payout:{}", payout.payout_id);
    let status = match event.apply_if_newer(&guard, &entity).await? {
        Ordering::Applied => {
            tracing::info!(
                event_id = %event.id,
                event_type = %event.event_type,
                payout_id = %payout.payout_id,
                amount = payout.amount,
                currency = %payout.currency,
                key_id = %event.key_id(),
                "payout event applied"
            );
            "processed"
        }
        Ordering::Stale => {
            tracing::info!(
                event_id = %event.id,
                event_type = %event.event_type,
                payout_id = %payout.payout_id,
                "stale: a newer event about this payout was applied already"
            );
            "stale"
        }
    };
    Ok(json!({ "status": status, "event_id": event.id }))
}

/// Prints `curl` commands that send freshly signed test events: a ping, then a payout
/// completed and, after it, the same payout's older `payout.created`.
fn print_examples(
    scheme_name: &str,
    secret: &str,
    address: SocketAddr,
) -> Result<(), Box<dyn std::error::Error>> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs() as i64;
    let signer = Signer::new(scheme::by_name(scheme_name).expect("checked above"), secret)?;
    let payout = format!(r#"{{"payout_id":"po_{now}","amount":1200,"currency":"usd"}}"#);
    let events = [
        (
            "a ping",
            format!("evt_ping_{now}"),
            "ping",
            now,
            "{}".to_owned(),
        ),
        (
            "a payout completed",
            format!("evt_completed_{now}"),
            "payout.completed",
            now,
            payout.clone(),
        ),
        (
            "the same payout's older `payout.created`, out of order (answered `stale`)",
            format!("evt_created_{now}"),
            "payout.created",
            now - 60,
            payout,
        ),
    ];
    println!("send signed test events (valid for the replay tolerance):\n");
    for (what, id, event_type, created, data) in events {
        let body =
            format!(r#"{{"id":"{id}","type":"{event_type}","created":{created},"data":{data}}}"#);
        let headers = signer.sign(body.as_bytes(), now, &id)?;
        let mut command =
            format!("curl -i http://{address}/webhooks -H 'content-type: application/json'");
        for (name, value) in &headers {
            command.push_str(&format!(" -H '{name}: {}'", value.to_str()?));
        }
        println!("# {what}\n  {command} --data '{body}'\n");
    }
    Ok(())
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}
