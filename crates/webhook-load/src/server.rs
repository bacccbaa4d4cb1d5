//! The servers under load, each in its own child process so that its memory is
//! measured alone: a bare axum handler, and the full stack with in-memory or Redis
//! state. Every one parses the same JSON envelope and answers the same small JSON.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::time::Duration;

use axum::routing::post;
use axum::{Json, Router};
use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderValue, StatusCode};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
use serde::Deserialize;
use serde_json::{Value, json};
use tower_webhook::WebhookStack;
use tower_webhook::core::redis::RedisConnection;
use tower_webhook::event::WebhookEvent;
use tower_webhook::https::{IpNet, ProxyHeader, RequireHttpsLayer, TrustedProxies};
use tower_webhook::idempotency::IdempotencyLayer;
use tower_webhook::idempotency::Store;
use tower_webhook::idempotency::store::{MemoryStore, RedisStore, StoredResponse, Token};
use tower_webhook::observe::{
    CLOCK_SKEW_SECONDS_BUCKETS, ObserveLayer, PROCESSING_SECONDS_BUCKETS,
};
use tower_webhook::ratelimit::{PeerIp, Quota, RateLimitLayer, RedisRateLimiter, VerifiedSource};
use tower_webhook::signature::{Verifier, VerifySignatureLayer, scheme};
use tracing::Level;

use crate::Target;

/// The secret every target verifies with (the client signs with it too): the reference
/// receiver's development secret, which it uses when `WEBHOOK_SECRET` is unset, so
/// that one client drives every target alike.
pub(crate) const SECRET: &str = "dev-secret-change-me";

/// The largest body the servers accept: room for the 1 MiB deliveries of the memory run.
const BODY_LIMIT: usize = 2 * 1024 * 1024;

/// The envelope the bare handler parses: the same fields `WebhookEvent<Value>` reads.
#[derive(Deserialize)]
struct Envelope {
    id: String,
    #[serde(rename = "type")]
    event_type: String,
    #[allow(dead_code, reason = "parsed like the stack's extractor does, not read")]
    created: i64,
    data: Value,
}

/// What the handler does with a delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Handler {
    /// Parses the JSON envelope (bare: `Json<Envelope>`; stack: `WebhookEvent`).
    Parse,
    /// Takes the body as `Bytes` and answers its length: what the memory run uses, so
    /// that the bytes held are the deliveries themselves, not a parsed copy.
    Bytes,
}

/// Serves `target` on a free loopback port, prints `listening on ADDR`, and runs until
/// killed. `hold` delays every answer, so that many deliveries are in flight at once;
/// `busy` is the computation `bare-busy` adds to each ([`Busy`]); `steady_store` starts
/// an in-memory target's idempotency store full ([`steady_store`]).
pub(crate) async fn serve(
    target: Target,
    handler: Handler,
    redis_url: Option<String>,
    hold: Duration,
    busy: Duration,
    steady_store: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    install_prometheus()?;
    let app = app(target, handler, redis_url, hold, busy, steady_store).await?;
    let listener =
        tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?;
    println!("listening on {}", listener.local_addr()?);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await?;
    Ok(())
}

/// The app of `target`: routes and layers, before it is bound to a listener. The
/// full stacks need the Prometheus recorder of [`install_prometheus`] (without
/// one, their metrics cost nothing).
pub(crate) async fn app(
    target: Target,
    handler: Handler,
    redis_url: Option<String>,
    hold: Duration,
    busy: Duration,
    steady_store: bool,
) -> Result<Router, Box<dyn std::error::Error>> {
    let bytes_handler = post(move |body: Bytes| async move {
        hold_for(hold).await;
        Json(json!({ "status": "processed", "bytes": body.len() }))
    });
    Ok(match target {
        Target::Receiver => return Err("the receiver target is its own binary".into()),
        Target::Bare | Target::BareBusy if handler == Handler::Bytes => {
            Router::new().route("/webhooks", bytes_handler)
        }
        Target::Bare | Target::BareBusy => {
            let busy = (target == Target::BareBusy).then(|| Busy::calibrate(busy));
            Router::new().route(
                "/webhooks",
                post(move |Json(event): Json<Envelope>| async move {
                    hold_for(hold).await;
                    if let Some(busy) = busy {
                        busy.run();
                    }
                    processed(&event.id, &event.event_type, &event.data)
                }),
            )
        }
        Target::Memory | Target::MemoryQuiet | Target::MemorySpans | Target::Redis => {
            let parse_handler = post(move |event: WebhookEvent| async move {
                hold_for(hold).await;
                processed(&event.id, event.event_type.as_str(), &event.data)
            });
            let routes = match handler {
                Handler::Parse => Router::new().route("/webhooks", parse_handler),
                Handler::Bytes => Router::new().route("/webhooks", bytes_handler),
            };
            match (target, redis_url) {
                (Target::Redis, Some(url)) => routes.layer(redis_stack(&url).await?),
                (Target::Redis, None) => return Err("the redis target needs --redis-url".into()),
                (Target::MemoryQuiet, _) => {
                    routes.layer(memory_stack(false, Level::DEBUG, steady_store).await?)
                }
                (Target::MemorySpans, _) => {
                    routes.layer(memory_stack(true, Level::INFO, steady_store).await?)
                }
                _ => routes.layer(memory_stack(true, Level::DEBUG, steady_store).await?),
            }
        }
    })
}

/// The answer of every target that parses: the same small JSON, bare or not.
fn processed(event_id: &str, event_type: &str, data: &Value) -> Json<Value> {
    let fields = data.as_object().map_or(0, serde_json::Map::len);
    Json(json!({
        "status": "processed",
        "event_id": event_id,
        "type": event_type,
        "fields": fields,
    }))
}

/// A fixed amount of computation, the same for every delivery: a chain of dependent
/// multiplications, as many as take the asked time on an idle core. A fixed amount
/// rather than a clock to spin on, so that a thread preempted halfway still does all
/// of it.
#[derive(Clone, Copy)]
struct Busy {
    steps: u64,
}

impl Busy {
    /// As many steps as take `time`: the fastest of several timed runs, the one least
    /// disturbed by anything else on the machine.
    fn calibrate(time: Duration) -> Self {
        const TRIAL: u64 = 1_000_000;
        let fastest = (0..5)
            .map(|_| {
                let start = std::time::Instant::now();
                Self { steps: TRIAL }.run();
                start.elapsed()
            })
            .min()
            .unwrap_or(Duration::from_millis(1));
        let steps = time.as_secs_f64() / fastest.as_secs_f64().max(1e-9) * TRIAL as f64;
        Self {
            steps: steps as u64,
        }
    }

    fn run(self) {
        let mut x = std::hint::black_box(1u64);
        for _ in 0..self.steps {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        }
        std::hint::black_box(x);
    }
}

/// Waits `hold`, or not at all: even a zero-length `tokio::time::sleep` waits for the
/// timer's next tick (about a millisecond), which no handler without a hold should.
async fn hold_for(hold: Duration) {
    if !hold.is_zero() {
        tokio::time::sleep(hold).await;
    }
}

/// Installs a Prometheus recorder as the reference receiver does: histograms with the
/// documented buckets (not the exporter's default summaries), and upkeep even though
/// nobody scrapes, as the recorder keeps histogram samples until rendered or upkept.
/// Call it once per process, on a Tokio runtime.
pub(crate) fn install_prometheus() -> Result<(), Box<dyn std::error::Error>> {
    let prometheus = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full("webhook_processing_seconds".into()),
            PROCESSING_SECONDS_BUCKETS,
        )?
        .set_buckets_for_metric(
            Matcher::Full("webhook_clock_skew_seconds".into()),
            CLOCK_SKEW_SECONDS_BUCKETS,
        )?
        .install_recorder()?;
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(5));
        loop {
            every.tick().await;
            prometheus.run_upkeep();
        }
    });
    Ok(())
}

/// The full stack, with its idempotency state in `St`.
type FullStack<St> = WebhookStack<
    ObserveLayer,
    RequireHttpsLayer,
    RateLimitLayer<PeerIp>,
    RateLimitLayer<VerifiedSource>,
    IdempotencyLayer<St>,
>;

/// A limit no load run reaches: the limiter does all its work, and never says no.
fn unreachable_quota() -> Quota {
    Quota::per_second(NonZeroU32::new(10_000_000).expect("non-zero"))
}

/// The pieces every full stack shares: metrics and tracing, both on when `observe` is, the delivery span at `span_level`; the
/// HTTPS guard believing the loopback proxy's `X-Forwarded-Proto`, and signature
/// verification (the reference scheme).
fn common_layers(
    observe: bool,
    span_level: Level,
) -> Result<(ObserveLayer, RequireHttpsLayer, VerifySignatureLayer), Box<dyn std::error::Error>> {
    let observe = ObserveLayer::builder()
        .event_types(["payout.completed"])
        .metrics(observe)
        .tracing(observe)
        .span_level(span_level)
        .build()?;
    let https = RequireHttpsLayer::new().trusted_proxies(TrustedProxies::new(
        ProxyHeader::XForwarded,
        [IpNet::from(IpAddr::V4(Ipv4Addr::LOCALHOST))],
    ));
    let verifier = Verifier::builder(scheme::HopNow)
        .secret("0", SECRET)
        .build()?;
    let verify = VerifySignatureLayer::new(verifier).body_limit(BODY_LIMIT);
    Ok((observe, https, verify))
}

/// The full stack with in-memory state: per-IP limit before verification, per-source
/// limit after it, idempotency in a `MemoryStore` that keeps one minute of deliveries
/// (full from the start with `steady`: [`steady_store`]); metrics and tracing when
/// `observe` is on, the delivery span at `span_level`.
async fn memory_stack(
    observe: bool,
    span_level: Level,
    steady: bool,
) -> Result<FullStack<MemoryStore>, Box<dyn std::error::Error>> {
    let (observe, https, verify) = common_layers(observe, span_level)?;
    let per_ip = RateLimitLayer::builder(unreachable_quota())
        .key(PeerIp::new())
        .build()?;
    let per_source = RateLimitLayer::builder(unreachable_quota())
        .key(VerifiedSource)
        .build()?;
    let store = if steady {
        steady_store().await?
    } else {
        MemoryStore::new()
    };
    let idempotency = IdempotencyLayer::builder(store)
        .retention(Duration::from_secs(60))
        .build()?;
    Ok(WebhookStack::new(verify)
        .observe(observe)
        .require_https(https)
        .limit_before_verification(per_ip)
        .limit_per_source(per_source)
        .idempotency(idempotency))
}

/// A `MemoryStore` of the default capacity in the state a long-running service's is
/// in: full, so that every new delivery evicts the oldest record, and past the one
/// time its hash table grows under that churn (when the tombstones of evicted entries
/// use up its spare room, some 50,000 deliveries after it filled). A run that
/// started empty would measure a store with no evictions, then that one-time growth.
async fn steady_store() -> Result<MemoryStore, Box<dyn std::error::Error>> {
    let store = MemoryStore::new();
    let response = StoredResponse::new(StatusCode::OK)
        .with_header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
        .with_body(Bytes::from_static(
            br#"{"event_id":"evt_steady_000000","fields":5,"status":"processed","type":"payout.completed"}"#,
        ));
    let lease = Duration::from_secs(60);
    for i in 0..2 * store.capacity() {
        let key = format!("hopnow:evt_steady_{i}");
        let token = Token::generate();
        store.claim(&key, token, lease).await?;
        store.complete(&key, token, &response, lease).await?;
    }
    Ok(store)
}

/// The full stack with its state in Redis: both limits and the idempotency store.
async fn redis_stack(url: &str) -> Result<FullStack<RedisStore>, Box<dyn std::error::Error>> {
    let (observe, https, verify) = common_layers(true, Level::DEBUG)?;
    let redis = RedisConnection::connect(url).await?;
    let limiter = |prefix: &str| {
        RedisRateLimiter::builder(redis.clone(), unreachable_quota())
            .key_prefix(prefix)
            .build()
    };
    let per_ip = RateLimitLayer::builder_with(limiter("load:ip:")?)
        .key(PeerIp::new())
        .build()?;
    let per_source = RateLimitLayer::builder_with(limiter("load:source:")?)
        .key(VerifiedSource)
        .build()?;
    let idempotency = IdempotencyLayer::builder(RedisStore::new(redis)?)
        .retention(Duration::from_secs(60))
        .build()?;
    Ok(WebhookStack::new(verify)
        .observe(observe)
        .require_https(https)
        .limit_before_verification(per_ip)
        .limit_per_source(per_source)
        .idempotency(idempotency))
}
