use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::Response;
use metrics::SharedString;
use tower_layer::Layer;
use tracing::field::{Empty, Value};
use tracing::{Level, Span};
use webhook_core::{EventType, REJECTION_CODES, RefusalLogged, VerifiedDelivery};

use crate::handles::{self, Handles, with_handle};
use crate::monitor::ErrorRateMonitor;
use crate::outcome::{OTHER, UNKNOWN};
use crate::{DeliveryOutcome, Observe, names};

/// The most event types an allow-list may hold: 1,024.
pub const MAX_EVENT_TYPES: usize = 1024;

/// The longest event type accepted in an allow-list: 128 bytes.
pub const MAX_EVENT_TYPE_LEN: usize = 128;

type WallClock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// Why an [`ObserveLayer`] could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// An allow-listed event type is empty, longer than [`MAX_EVENT_TYPE_LEN`], or one
    /// of the reserved label values `other` and `unknown`.
    InvalidEventType {
        /// The event type.
        event_type: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// More than [`MAX_EVENT_TYPES`] event types.
    TooManyEventTypes {
        /// How many were given.
        count: usize,
    },
    /// An added rejection code is empty or the reserved `other`.
    InvalidReason {
        /// The code.
        reason: &'static str,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidEventType { event_type, reason } => {
                write!(f, "invalid event type {event_type:?}: {reason}")
            }
            Self::TooManyEventTypes { count } => write!(
                f,
                "{count} event types allow-listed; at most {MAX_EVENT_TYPES} keep the metrics' cardinality bounded"
            ),
            Self::InvalidReason { reason } => {
                write!(f, "invalid rejection code {reason:?}: empty or reserved")
            }
        }
    }
}

impl std::error::Error for ConfigError {}

pub(crate) struct Config {
    pub(crate) metrics: bool,
    pub(crate) tracing: bool,
    span_level: Level,
    event_types: HashSet<Arc<str>>,
    reasons: HashSet<&'static str>,
    monitor: Option<ErrorRateMonitor>,
    clock: Option<WallClock>,
    /// The metric handles, for the recorder in use at the first delivery.
    handles: OnceLock<(usize, Option<Handles>)>,
}

impl Config {
    /// The delivery's span, with every field declared (filled in when the response
    /// comes back).
    pub(crate) fn span(&self) -> Span {
        if !self.tracing {
            return Span::none();
        }
        // A callsite's level is a constant: one `span!` per level.
        macro_rules! delivery_span {
            ($level:expr) => {
                tracing::span!(
                    $level,
                    "webhook.delivery",
                    event_id = Empty,
                    event_type = Empty,
                    scheme = Empty,
                    key_id = Empty,
                    verified = Empty,
                    outcome = Empty,
                    reason = Empty,
                    status = Empty,
                    duration_ms = Empty,
                )
            };
        }
        match self.span_level {
            Level::ERROR => delivery_span!(Level::ERROR),
            Level::WARN => delivery_span!(Level::WARN),
            Level::INFO => delivery_span!(Level::INFO),
            Level::DEBUG => delivery_span!(Level::DEBUG),
            Level::TRACE => delivery_span!(Level::TRACE),
        }
    }

    pub(crate) fn received(&self) {
        if self.metrics {
            let handles = self.handles();
            with_handle(
                handles.map(|h| &h.received),
                || metrics::counter!(names::RECEIVED),
                |counter| counter.increment(1),
            );
        }
    }

    /// The cached metric handles, when the recorder in use allows it (see
    /// `handles.rs`).
    fn handles(&self) -> Option<&Handles> {
        handles::cached(&self.handles, || {
            Handles::new(&self.event_types, &self.reasons)
        })
    }

    /// Records what became of a delivery: `response` is `None` when the inner service
    /// returned `Err`.
    pub(crate) fn finish<B>(&self, response: Option<&Response<B>>, elapsed: Duration, span: &Span) {
        let outcome = response.map_or(DeliveryOutcome::Failed, DeliveryOutcome::of);
        let extensions = response.map(Response::extensions);
        let delivery = extensions.and_then(|e| e.get::<VerifiedDelivery>());
        let event_type = extensions.and_then(|e| e.get::<EventType>());
        let logged = extensions.is_some_and(|e| e.get::<RefusalLogged>().is_some());
        if self.metrics {
            self.record_metrics(outcome, delivery, event_type, elapsed);
        }
        if self.tracing {
            let status = response.map(|r| r.status().as_u16());
            record_span(span, outcome, delivery, event_type, status, elapsed, logged);
        }
        if let Some(monitor) = &self.monitor {
            if outcome != DeliveryOutcome::RateLimited {
                monitor.record(outcome.is_error());
            }
        }
    }

    fn record_metrics(
        &self,
        outcome: DeliveryOutcome,
        delivery: Option<&VerifiedDelivery>,
        event_type: Option<&EventType>,
        elapsed: Duration,
    ) {
        let handles = self.handles();
        if let Some(delivery) = delivery {
            let (scheme, key_id) = (delivery.scheme(), delivery.key_id());
            let register = || {
                metrics::counter!(
                    names::VERIFIED,
                    "scheme" => scheme.to_owned(),
                    "key_id" => key_id.as_str().to_owned(),
                )
            };
            match handles {
                Some(handles) => handles.verified(scheme, key_id, register),
                None => register().increment(1),
            }
            if let Some(signed) = delivery.timestamp() {
                with_handle(
                    handles.map(|h| &h.clock_skew),
                    || metrics::histogram!(names::CLOCK_SKEW_SECONDS),
                    |histogram| histogram.record(self.skew(signed)),
                );
            }
        }
        match outcome {
            DeliveryOutcome::Processed | DeliveryOutcome::Failed => {
                let label = self.event_type_label(event_type);
                let by_type = handles.and_then(|h| h.by_type(label.as_str()));
                let (name, slot) = match outcome {
                    DeliveryOutcome::Processed => (names::PROCESSED, by_type.map(|t| &t.processed)),
                    _ => (names::FAILED, by_type.map(|t| &t.failed)),
                };
                with_handle(
                    slot,
                    || metrics::counter!(name, "event_type" => label.shared()),
                    |counter| counter.increment(1),
                );
                with_handle(
                    by_type.map(|t| &t.processing),
                    || metrics::histogram!(names::PROCESSING_SECONDS, "event_type" => label.shared()),
                    |histogram| histogram.record(elapsed.as_secs_f64()),
                );
            }
            DeliveryOutcome::Rejected { reason } => {
                let label = self.reason_label(reason);
                with_handle(
                    handles.and_then(|h| h.by_reason(label)),
                    || metrics::counter!(names::REJECTED, "reason" => label),
                    |counter| counter.increment(1),
                );
            }
            DeliveryOutcome::Duplicate => with_handle(
                handles.map(|h| &h.duplicates),
                || metrics::counter!(names::DUPLICATES),
                |counter| counter.increment(1),
            ),
            DeliveryOutcome::RateLimited => with_handle(
                handles.map(|h| &h.rate_limited),
                || metrics::counter!(names::RATE_LIMITED),
                |counter| counter.increment(1),
            ),
            // Rare (a provider's setup), so registered per use rather than cached.
            DeliveryOutcome::Handshake { kind } => {
                metrics::counter!(names::HANDSHAKES, "kind" => kind).increment(1);
            }
        }
    }

    /// Seconds from the signed timestamp to now: positive when the signature is older
    /// than the receiver's clock (delivery latency, or a sender clock running late).
    fn skew(&self, signed: i64) -> f64 {
        let now = self
            .clock
            .as_ref()
            .map_or_else(SystemTime::now, |clock| clock());
        let now = match now.duration_since(UNIX_EPOCH) {
            Ok(since) => since.as_secs_f64(),
            Err(before) => -before.duration().as_secs_f64(),
        };
        now - signed as f64
    }

    /// The `event_type` label value: the allowed type (shared with the allow-list, so
    /// a label built from it copies nothing), `other` or `unknown`.
    fn event_type_label(&self, event_type: Option<&EventType>) -> Label<'_> {
        match event_type {
            None => Label::Fixed(UNKNOWN),
            Some(event_type) => match self.event_types.get(event_type.as_str()) {
                Some(allowed) => Label::Allowed(allowed),
                None => Label::Fixed(OTHER),
            },
        }
    }

    fn reason_label(&self, code: &'static str) -> &'static str {
        if self.reasons.contains(code) {
            code
        } else {
            OTHER
        }
    }
}

/// An `event_type` label value, turned into a metric label only when a series is
/// registered.
#[derive(Clone, Copy)]
enum Label<'a> {
    Allowed(&'a Arc<str>),
    Fixed(&'static str),
}

impl Label<'_> {
    fn as_str(&self) -> &str {
        match self {
            Self::Allowed(allowed) => allowed,
            Self::Fixed(label) => label,
        }
    }

    fn shared(&self) -> SharedString {
        match self {
            Self::Allowed(allowed) => SharedString::from(Arc::clone(allowed)),
            Self::Fixed(label) => SharedString::const_str(label),
        }
    }
}

fn record_span(
    span: &Span,
    outcome: DeliveryOutcome,
    delivery: Option<&VerifiedDelivery>,
    event_type: Option<&EventType>,
    status: Option<u16>,
    elapsed: Duration,
    logged: bool,
) {
    let event_id = delivery.and_then(VerifiedDelivery::event_id);
    let event_type = event_type.map(EventType::as_str);
    let outcome_name = outcome.as_str();
    let reason = match outcome {
        DeliveryOutcome::Rejected { reason } => Some(reason),
        _ => None,
    };
    // A disabled span (below the subscriber's level) has nothing to record.
    if let Some(metadata) = span.metadata().filter(|_| !span.is_disabled()) {
        let fields = metadata.fields();
        let field = |name| fields.field(name).expect("declared in `Config::span`");
        let scheme = delivery.map(VerifiedDelivery::scheme);
        let key_id = delivery.map(|delivery| delivery.key_id().as_str());
        let verified = delivery.is_some();
        let duration_ms = elapsed.as_secs_f64() * 1000.0;
        // All at once: a subscriber that formats fields (the `fmt` layer) does so in
        // one pass, rather than once per field.
        span.record_all(&fields.value_set(&[
            (
                &field("event_id"),
                event_id.as_ref().map(|v| v as &dyn Value),
            ),
            (
                &field("event_type"),
                event_type.as_ref().map(|v| v as &dyn Value),
            ),
            (&field("scheme"), scheme.as_ref().map(|v| v as &dyn Value)),
            (&field("key_id"), key_id.as_ref().map(|v| v as &dyn Value)),
            (&field("verified"), Some(&verified as &dyn Value)),
            (&field("outcome"), Some(&outcome_name as &dyn Value)),
            (&field("reason"), reason.as_ref().map(|v| v as &dyn Value)),
            (&field("status"), status.as_ref().map(|v| v as &dyn Value)),
            (&field("duration_ms"), Some(&duration_ms as &dyn Value)),
        ]));
    }
    // The closing event names the delivery itself, so that it says which delivery
    // it is about when the span is not recorded.
    match outcome {
        DeliveryOutcome::Processed => {
            tracing::debug!(parent: span, outcome = outcome_name, status, event_id, event_type, "webhook delivery processed");
        }
        DeliveryOutcome::Duplicate => {
            tracing::debug!(parent: span, outcome = outcome_name, status, event_id, event_type, "duplicate webhook delivery");
        }
        DeliveryOutcome::RateLimited => {
            tracing::warn!(parent: span, outcome = outcome_name, status, event_id, event_type, "webhook delivery rate limited");
        }
        // The layer that refused it logged it already (`webhook_core::refuse`): one
        // warning per refused delivery.
        DeliveryOutcome::Rejected { reason } if logged => {
            tracing::debug!(parent: span, outcome = outcome_name, reason, status, event_id, event_type, "webhook delivery rejected");
        }
        DeliveryOutcome::Rejected { reason } => {
            tracing::warn!(parent: span, outcome = outcome_name, reason, status, event_id, event_type, "webhook delivery rejected");
        }
        DeliveryOutcome::Failed => {
            tracing::error!(parent: span, outcome = outcome_name, status, event_id, event_type, "webhook delivery failed");
        }
        DeliveryOutcome::Handshake { kind } => {
            tracing::info!(parent: span, outcome = outcome_name, handshake = kind, status, "webhook handshake answered");
        }
    }
}

/// Observes every delivery: one `tracing` span, metrics through the [`metrics`]
/// facade, and optionally an [`ErrorRateMonitor`]. Put it outermost, so it sees the
/// answers of every other layer. See the [crate docs](crate) for the span fields and
/// the metrics.
///
/// Cheap to clone: the configuration is shared (an `Arc`).
#[derive(Clone)]
pub struct ObserveLayer {
    config: Arc<Config>,
}

impl ObserveLayer {
    /// A layer with metrics and tracing on, no event type allow-listed (every event
    /// type is labelled `other`), the rejection codes of [`REJECTION_CODES`], and no
    /// monitor.
    pub fn new() -> Self {
        Self::builder().build().expect("the defaults are valid")
    }

    /// Starts a layer, to configure.
    pub fn builder() -> ObserveLayerBuilder {
        ObserveLayerBuilder {
            metrics: true,
            tracing: true,
            span_level: Level::DEBUG,
            event_types: Vec::new(),
            reasons: Vec::new(),
            monitor: None,
            clock: None,
        }
    }

    /// `true` when metrics are recorded.
    pub fn metrics_enabled(&self) -> bool {
        self.config.metrics
    }

    /// `true` when a span is opened per delivery.
    pub fn tracing_enabled(&self) -> bool {
        self.config.tracing
    }

    /// `true` when `event_type` is allow-listed (labelled with its own name).
    pub fn labels_event_type(&self, event_type: &str) -> bool {
        self.config.event_types.contains(event_type)
    }
}

impl Default for ObserveLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for ObserveLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut types: Vec<&str> = self.config.event_types.iter().map(|t| &**t).collect();
        types.sort_unstable();
        f.debug_struct("ObserveLayer")
            .field("metrics", &self.config.metrics)
            .field("tracing", &self.config.tracing)
            .field("span_level", &self.config.span_level)
            .field("event_types", &types)
            .field("monitor", &self.config.monitor)
            .finish_non_exhaustive()
    }
}

impl<S> Layer<S> for ObserveLayer {
    type Service = Observe<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Observe::from_config(inner, self.config.clone())
    }
}

/// Configures an [`ObserveLayer`]; [`build`](Self::build) checks the settings.
///
/// ```
/// use webhook_observe::{ErrorRateMonitor, ObserveLayer};
///
/// let monitor = ErrorRateMonitor::builder()
///     .on_alert(|rate| eprintln!("webhook error ratio {:.1} %", rate.ratio() * 100.0))
///     .build()
///     .unwrap();
/// let layer = ObserveLayer::builder()
///     .event_types(["payout.created", "payout.completed", "payout.failed"])
///     .error_monitor(monitor)
///     .build()
///     .unwrap();
/// assert!(layer.labels_event_type("payout.completed"));
/// assert!(!layer.labels_event_type("balance.available"));
///
/// let error = ObserveLayer::builder().event_types(["other"]).build().unwrap_err();
/// assert_eq!(error.to_string(), r#"invalid event type "other": a reserved label value"#);
/// ```
#[must_use]
pub struct ObserveLayerBuilder {
    metrics: bool,
    tracing: bool,
    span_level: Level,
    event_types: Vec<String>,
    reasons: Vec<&'static str>,
    monitor: Option<ErrorRateMonitor>,
    clock: Option<WallClock>,
}

impl ObserveLayerBuilder {
    /// Records metrics (default on). Off, the layer records none, whatever recorder
    /// is installed.
    pub fn metrics(mut self, on: bool) -> Self {
        self.metrics = on;
        self
    }

    /// Opens a span per delivery and logs its outcome (default on).
    pub fn tracing(mut self, on: bool) -> Self {
        self.tracing = on;
        self
    }

    /// The level of the `webhook.delivery` span (default `DEBUG`, as `tower-http`'s
    /// `TraceLayer`). A subscriber below that level records no span, and pays almost
    /// nothing for it; the closing event of a refused or failed delivery is logged at
    /// `WARN` or `ERROR` either way, with the delivery's id and type. Set `INFO` to
    /// keep a span per delivery where services log at `INFO` (for a trace exporter,
    /// say); see the [crate docs](crate#cost) for what it costs.
    pub fn span_level(mut self, level: Level) -> Self {
        self.span_level = level;
        self
    }

    /// Allow-lists event types for the `event_type` label: these are labelled with
    /// their name, any other type with `other`, so a sender cannot create series at
    /// will. Adds to the types given before. Pass the types your router handles.
    pub fn event_types<I>(mut self, event_types: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.event_types
            .extend(event_types.into_iter().map(Into::into));
        self
    }

    /// Keeps these rejection codes as `reason` label values, in addition to
    /// [`REJECTION_CODES`] (for your own layers' codes).
    pub fn reasons(mut self, codes: impl IntoIterator<Item = &'static str>) -> Self {
        self.reasons.extend(codes);
        self
    }

    /// Feeds `monitor` one sample per delivery: an error for
    /// [`Rejected`](DeliveryOutcome::Rejected) and [`Failed`](DeliveryOutcome::Failed), a success for
    /// [`Processed`](DeliveryOutcome::Processed) and [`Duplicate`](DeliveryOutcome::Duplicate);
    /// rate-limited deliveries are left out (a flood would hide the errors).
    pub fn error_monitor(mut self, monitor: ErrorRateMonitor) -> Self {
        self.monitor = Some(monitor);
        self
    }

    /// The wall clock the clock skew is measured against (default
    /// [`SystemTime::now`]).
    pub fn clock<F>(mut self, now: F) -> Self
    where
        F: Fn() -> SystemTime + Send + Sync + 'static,
    {
        self.clock = Some(Arc::new(now));
        self
    }

    /// Checks the settings and builds the layer.
    pub fn build(self) -> Result<ObserveLayer, ConfigError> {
        let mut event_types = HashSet::with_capacity(self.event_types.len());
        for event_type in self.event_types {
            let problem = if event_type.is_empty() {
                Some("empty")
            } else if event_type.len() > MAX_EVENT_TYPE_LEN {
                Some("longer than 128 bytes")
            } else if event_type == OTHER || event_type == UNKNOWN {
                Some("a reserved label value")
            } else {
                None
            };
            if let Some(reason) = problem {
                return Err(ConfigError::InvalidEventType { event_type, reason });
            }
            event_types.insert(Arc::<str>::from(event_type));
        }
        if event_types.len() > MAX_EVENT_TYPES {
            return Err(ConfigError::TooManyEventTypes {
                count: event_types.len(),
            });
        }
        let mut reasons: HashSet<&'static str> = REJECTION_CODES.iter().copied().collect();
        for reason in self.reasons {
            if reason.is_empty() || reason == OTHER {
                return Err(ConfigError::InvalidReason { reason });
            }
            reasons.insert(reason);
        }
        Ok(ObserveLayer {
            config: Arc::new(Config {
                metrics: self.metrics,
                tracing: self.tracing,
                span_level: self.span_level,
                event_types,
                reasons,
                monitor: self.monitor,
                clock: self.clock,
                handles: OnceLock::new(),
            }),
        })
    }
}

impl fmt::Debug for ObserveLayerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObserveLayerBuilder")
            .field("metrics", &self.metrics)
            .field("tracing", &self.tracing)
            .field("span_level", &self.span_level)
            .field("event_types", &self.event_types)
            .field("reasons", &self.reasons)
            .field("monitor", &self.monitor)
            .finish_non_exhaustive()
    }
}
