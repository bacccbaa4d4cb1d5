//! An in-process error-rate alarm, for services without Prometheus.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

type Clock = Arc<dyn Fn() -> Instant + Send + Sync>;
type Callback = Arc<dyn Fn(&ErrorRate) + Send + Sync>;

/// The default window: 15 minutes.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(15 * 60);

/// The default threshold: 5 % errors.
pub const DEFAULT_THRESHOLD: f64 = 0.05;

/// The default minimum number of samples in the window before the ratio counts: 20.
pub const DEFAULT_MIN_SAMPLES: u64 = 20;

/// The default number of buckets the window is split into: 60 (15 s each for the
/// default window).
pub const DEFAULT_BUCKETS: usize = 60;

/// The errors and the total in the monitor's window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorRate {
    errors: u64,
    total: u64,
}

impl ErrorRate {
    /// The number of errors in the window.
    pub fn errors(&self) -> u64 {
        self.errors
    }

    /// The number of samples in the window.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// `errors / total`, 0 when the window is empty.
    pub fn ratio(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.errors as f64 / self.total as f64
        }
    }
}

/// Why an [`ErrorRateMonitor`] could not be built.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum MonitorConfigError {
    /// The threshold is not a ratio above 0 and at most 1.
    InvalidThreshold(f64),
    /// The window is zero.
    ZeroWindow,
    /// The bucket count is 0 or above 3,600.
    InvalidBuckets(usize),
    /// The minimum sample count is 0.
    ZeroMinSamples,
}

impl fmt::Display for MonitorConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidThreshold(value) => {
                write!(
                    f,
                    "the threshold must be above 0 and at most 1, not {value}"
                )
            }
            Self::ZeroWindow => f.write_str("the window must be longer than zero"),
            Self::InvalidBuckets(count) => {
                write!(f, "the bucket count must be 1 to 3600, not {count}")
            }
            Self::ZeroMinSamples => f.write_str("the minimum sample count must be at least 1"),
        }
    }
}

impl std::error::Error for MonitorConfigError {}

#[derive(Clone, Copy, Default)]
struct Bucket {
    index: u64,
    total: u64,
    errors: u64,
}

struct State {
    buckets: Vec<Bucket>,
    firing: bool,
}

struct Inner {
    window: Duration,
    bucket_nanos: u128,
    threshold: f64,
    min_samples: u64,
    clock: Clock,
    epoch: Instant,
    on_alert: Option<Callback>,
    on_recover: Option<Callback>,
    state: Mutex<State>,
}

/// Watches the ratio of failed deliveries over a sliding window and calls back when
/// it crosses a threshold, for services without Prometheus.
///
/// The condition is "at least `min_samples` samples in the window, and `errors / total`
/// at or above the threshold". The alert callback runs once when the condition
/// becomes true; the monitor is then re-armed only when the condition becomes false
/// again (the ratio falls below the threshold, or old samples leave the window), which
/// calls the recovery callback. Callbacks run on the thread that recorded the sample,
/// outside the monitor's lock: keep them short (send on a channel, set a flag).
///
/// The window slides by buckets (default 60 per window): a sample leaves it between
/// `window - window / buckets` and `window` after it was recorded. Memory is fixed.
/// Cheap to clone: clones share the window.
///
/// Feed it by hand with [`record`](Self::record), or let
/// [`ObserveLayerBuilder::error_monitor`](crate::ObserveLayerBuilder::error_monitor)
/// feed it every delivery ([`DeliveryOutcome::is_error`](crate::DeliveryOutcome::is_error);
/// rate-limited deliveries are left out).
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::time::Duration;
/// use webhook_observe::monitor::{ErrorRateMonitor, ManualClock};
///
/// let clock = ManualClock::new();
/// let alerts = Arc::new(AtomicUsize::new(0));
/// let monitor = ErrorRateMonitor::builder()
///     .window(Duration::from_secs(60))
///     .threshold(0.5)
///     .min_samples(4)
///     .clock({ let clock = clock.clone(); move || clock.now() })
///     .on_alert({ let alerts = alerts.clone(); move |rate| {
///         assert_eq!((rate.errors(), rate.total()), (2, 4));
///         alerts.fetch_add(1, Ordering::SeqCst);
///     }})
///     .build()
///     .unwrap();
///
/// monitor.record(false);
/// monitor.record(true);
/// monitor.record(false);
/// assert_eq!(alerts.load(Ordering::SeqCst), 0); // 3 samples: under the minimum
/// monitor.record(true); // 2 of 4: at the threshold
/// assert_eq!(alerts.load(Ordering::SeqCst), 1);
/// assert!(monitor.is_firing());
///
/// clock.advance(Duration::from_secs(61)); // everything leaves the window
/// assert_eq!(monitor.check().total(), 0);
/// assert!(!monitor.is_firing()); // re-armed
/// ```
#[derive(Clone)]
pub struct ErrorRateMonitor {
    inner: Arc<Inner>,
}

impl ErrorRateMonitor {
    /// Starts a monitor with the defaults: a 15 minute window in 60 buckets, 5 %
    /// threshold, 20 samples minimum, the system clock, no callbacks.
    pub fn builder() -> ErrorRateMonitorBuilder {
        ErrorRateMonitorBuilder {
            window: DEFAULT_WINDOW,
            buckets: DEFAULT_BUCKETS,
            threshold: DEFAULT_THRESHOLD,
            min_samples: DEFAULT_MIN_SAMPLES,
            clock: None,
            on_alert: None,
            on_recover: None,
        }
    }

    /// Records one sample: an error or a success. May call the alert or recovery
    /// callback.
    pub fn record(&self, error: bool) {
        self.update(Some(error));
    }

    /// Records a success.
    pub fn record_success(&self) {
        self.record(false);
    }

    /// Records an error.
    pub fn record_error(&self) {
        self.record(true);
    }

    /// Re-evaluates the window at the current time without recording, so a monitor
    /// whose traffic stopped can recover; returns the window's counts.
    pub fn check(&self) -> ErrorRate {
        self.update(None)
    }

    /// `true` between an alert and the following recovery.
    pub fn is_firing(&self) -> bool {
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .firing
    }

    /// The window.
    pub fn window(&self) -> Duration {
        self.inner.window
    }

    /// The threshold ratio.
    pub fn threshold(&self) -> f64 {
        self.inner.threshold
    }

    /// The minimum number of samples.
    pub fn min_samples(&self) -> u64 {
        self.inner.min_samples
    }

    fn update(&self, sample: Option<bool>) -> ErrorRate {
        let inner = &*self.inner;
        let now = (inner.clock)();
        let elapsed = now.saturating_duration_since(inner.epoch).as_nanos();
        let current = (elapsed / inner.bucket_nanos) as u64;
        let (rate, transition) = {
            let mut state = inner.state.lock().unwrap_or_else(PoisonError::into_inner);
            let count = state.buckets.len() as u64;
            if let Some(error) = sample {
                let slot = &mut state.buckets[(current % count) as usize];
                if slot.index != current {
                    *slot = Bucket {
                        index: current,
                        ..Bucket::default()
                    };
                }
                slot.total += 1;
                slot.errors += u64::from(error);
            }
            let mut rate = ErrorRate {
                errors: 0,
                total: 0,
            };
            for bucket in &state.buckets {
                if bucket.index <= current && current - bucket.index < count {
                    rate.total += bucket.total;
                    rate.errors += bucket.errors;
                }
            }
            let above = rate.total >= inner.min_samples
                && rate.errors as f64 >= inner.threshold * rate.total as f64;
            let transition = match (state.firing, above) {
                (false, true) => inner.on_alert.clone(),
                (true, false) => inner.on_recover.clone(),
                _ => None,
            };
            state.firing = above;
            (rate, transition)
        };
        if let Some(callback) = transition {
            callback(&rate);
        }
        rate
    }
}

impl fmt::Debug for ErrorRateMonitor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ErrorRateMonitor")
            .field("window", &self.inner.window)
            .field("threshold", &self.inner.threshold)
            .field("min_samples", &self.inner.min_samples)
            .field("firing", &self.is_firing())
            .finish_non_exhaustive()
    }
}

/// Configures an [`ErrorRateMonitor`]; [`build`](Self::build) checks the settings.
#[must_use]
pub struct ErrorRateMonitorBuilder {
    window: Duration,
    buckets: usize,
    threshold: f64,
    min_samples: u64,
    clock: Option<Clock>,
    on_alert: Option<Callback>,
    on_recover: Option<Callback>,
}

impl ErrorRateMonitorBuilder {
    /// The sliding window (default 15 minutes).
    pub fn window(mut self, window: Duration) -> Self {
        self.window = window;
        self
    }

    /// How many buckets the window slides by (default 60, at most 3,600): more is
    /// smoother, and costs a little more per sample.
    pub fn buckets(mut self, buckets: usize) -> Self {
        self.buckets = buckets;
        self
    }

    /// The error ratio that fires the alert, above 0 and at most 1 (default 0.05).
    pub fn threshold(mut self, ratio: f64) -> Self {
        self.threshold = ratio;
        self
    }

    /// How many samples the window must hold before the ratio counts (default 20), so
    /// one failure out of two deliveries at night does not page anyone.
    pub fn min_samples(mut self, samples: u64) -> Self {
        self.min_samples = samples;
        self
    }

    /// The clock (default [`Instant::now`]); tests inject a [`ManualClock`].
    pub fn clock<F>(mut self, now: F) -> Self
    where
        F: Fn() -> Instant + Send + Sync + 'static,
    {
        self.clock = Some(Arc::new(now));
        self
    }

    /// Called once each time the condition becomes true, with the window's counts.
    pub fn on_alert<F>(mut self, callback: F) -> Self
    where
        F: Fn(&ErrorRate) + Send + Sync + 'static,
    {
        self.on_alert = Some(Arc::new(callback));
        self
    }

    /// Called once each time the condition becomes false again after an alert.
    pub fn on_recover<F>(mut self, callback: F) -> Self
    where
        F: Fn(&ErrorRate) + Send + Sync + 'static,
    {
        self.on_recover = Some(Arc::new(callback));
        self
    }

    /// Checks the settings and builds the monitor.
    pub fn build(self) -> Result<ErrorRateMonitor, MonitorConfigError> {
        if !(self.threshold > 0.0 && self.threshold <= 1.0) {
            return Err(MonitorConfigError::InvalidThreshold(self.threshold));
        }
        if self.window.is_zero() {
            return Err(MonitorConfigError::ZeroWindow);
        }
        if !(1..=3600).contains(&self.buckets) {
            return Err(MonitorConfigError::InvalidBuckets(self.buckets));
        }
        if self.min_samples == 0 {
            return Err(MonitorConfigError::ZeroMinSamples);
        }
        let clock = self.clock.unwrap_or_else(|| Arc::new(Instant::now));
        let epoch = clock();
        let bucket_nanos = (self.window.as_nanos() / self.buckets as u128).max(1);
        Ok(ErrorRateMonitor {
            inner: Arc::new(Inner {
                window: self.window,
                bucket_nanos,
                threshold: self.threshold,
                min_samples: self.min_samples,
                clock,
                epoch,
                on_alert: self.on_alert,
                on_recover: self.on_recover,
                state: Mutex::new(State {
                    // Index 0 is the first bucket in use: mark the others as never used.
                    buckets: vec![
                        Bucket {
                            index: u64::MAX,
                            ..Bucket::default()
                        };
                        self.buckets
                    ],
                    firing: false,
                }),
            }),
        })
    }
}

impl fmt::Debug for ErrorRateMonitorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ErrorRateMonitorBuilder")
            .field("window", &self.window)
            .field("buckets", &self.buckets)
            .field("threshold", &self.threshold)
            .field("min_samples", &self.min_samples)
            .finish_non_exhaustive()
    }
}

/// A clock that moves only when told, for tests of the [`ErrorRateMonitor`] (and of
/// anything else that takes a `Fn() -> Instant`).
///
/// ```
/// use std::time::Duration;
/// use webhook_observe::monitor::ManualClock;
///
/// let clock = ManualClock::new();
/// let start = clock.now();
/// clock.advance(Duration::from_secs(5));
/// assert_eq!(clock.now() - start, Duration::from_secs(5));
/// ```
#[derive(Debug, Clone)]
pub struct ManualClock {
    base: Instant,
    offset: Arc<Mutex<Duration>>,
}

impl ManualClock {
    /// A clock standing at the current instant.
    pub fn new() -> Self {
        Self {
            base: Instant::now(),
            offset: Arc::new(Mutex::new(Duration::ZERO)),
        }
    }

    /// The clock's time.
    pub fn now(&self) -> Instant {
        self.base + *self.offset.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Moves the clock (and every clone of it) forward by `by`.
    pub fn advance(&self, by: Duration) {
        *self.offset.lock().unwrap_or_else(PoisonError::into_inner) += by;
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    struct Harness {
        clock: ManualClock,
        alerts: Arc<Mutex<Vec<ErrorRate>>>,
        recoveries: Arc<AtomicUsize>,
        monitor: ErrorRateMonitor,
    }

    fn harness(threshold: f64, min_samples: u64) -> Harness {
        let clock = ManualClock::new();
        let alerts = Arc::new(Mutex::new(Vec::new()));
        let recoveries = Arc::new(AtomicUsize::new(0));
        let monitor = ErrorRateMonitor::builder()
            .window(Duration::from_secs(60))
            .buckets(60)
            .threshold(threshold)
            .min_samples(min_samples)
            .clock({
                let clock = clock.clone();
                move || clock.now()
            })
            .on_alert({
                let alerts = alerts.clone();
                move |rate| alerts.lock().unwrap().push(*rate)
            })
            .on_recover({
                let recoveries = recoveries.clone();
                move |_| {
                    recoveries.fetch_add(1, Ordering::SeqCst);
                }
            })
            .build()
            .unwrap();
        Harness {
            clock,
            alerts,
            recoveries,
            monitor,
        }
    }

    impl Harness {
        fn alerts(&self) -> Vec<(u64, u64)> {
            self.alerts
                .lock()
                .unwrap()
                .iter()
                .map(|rate| (rate.errors(), rate.total()))
                .collect()
        }
    }

    #[test]
    fn fires_once_when_the_ratio_reaches_the_threshold() {
        let h = harness(0.25, 8);
        for _ in 0..6 {
            h.monitor.record_success();
        }
        h.monitor.record_error();
        assert!(h.alerts().is_empty(), "7 samples: under the minimum");
        h.monitor.record_error(); // 2 of 8 = 0.25
        assert_eq!(h.alerts(), [(2, 8)]);
        assert!(h.monitor.is_firing());
        // Still above: no second call.
        h.monitor.record_error();
        h.monitor.record_success();
        assert_eq!(h.alerts().len(), 1);
        assert_eq!(h.recoveries.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn just_under_the_threshold_does_not_fire() {
        let h = harness(0.25, 4);
        for _ in 0..4 {
            h.monitor.record_success();
        }
        h.monitor.record_error(); // 1 of 5 = 0.2
        assert!(h.alerts().is_empty());
        assert_eq!(h.monitor.check().ratio(), 0.2);
        assert!(!h.monitor.is_firing());
    }

    #[test]
    fn re_arms_when_the_ratio_falls_back_and_fires_again() {
        let h = harness(0.5, 2);
        h.monitor.record_error();
        h.monitor.record_error(); // 2 of 2
        assert_eq!(h.alerts(), [(2, 2)]);
        h.monitor.record_success();
        assert_eq!(
            h.recoveries.load(Ordering::SeqCst),
            0,
            "2 of 3: still above"
        );
        h.monitor.record_success(); // 2 of 4: at the threshold
        h.monitor.record_success(); // 2 of 5: below
        assert_eq!(h.recoveries.load(Ordering::SeqCst), 1);
        assert!(!h.monitor.is_firing());
        h.monitor.record_error(); // 3 of 6: at the threshold again
        assert_eq!(h.alerts(), [(2, 2), (3, 6)]);
    }

    #[test]
    fn samples_slide_out_of_the_window() {
        let h = harness(0.5, 2);
        h.monitor.record_error();
        h.clock.advance(Duration::from_secs(30));
        h.monitor.record_error();
        assert_eq!(h.alerts(), [(2, 2)]);
        // 31 s later the first error has left the 60 s window: one sample, under the
        // minimum, so the condition is false and the monitor re-arms.
        h.clock.advance(Duration::from_secs(31));
        let rate = h.monitor.check();
        assert_eq!((rate.errors(), rate.total()), (1, 1));
        assert_eq!(h.recoveries.load(Ordering::SeqCst), 1);
        // Fresh successes after a long pause start from an empty window.
        h.clock.advance(Duration::from_secs(3600));
        h.monitor.record_success();
        h.monitor.record_success();
        assert_eq!(h.monitor.check().total(), 2);
        assert_eq!(h.monitor.check().errors(), 0);
        assert_eq!(h.alerts().len(), 1);
    }

    #[test]
    fn clones_share_the_window() {
        let h = harness(0.5, 2);
        let clone = h.monitor.clone();
        h.monitor.record_error();
        clone.record_error();
        assert_eq!(h.alerts(), [(2, 2)]);
    }

    #[test]
    fn configuration_is_checked() {
        let error = |builder: ErrorRateMonitorBuilder| builder.build().unwrap_err();
        assert_eq!(
            error(ErrorRateMonitor::builder().threshold(0.0)),
            MonitorConfigError::InvalidThreshold(0.0)
        );
        assert!(matches!(
            error(ErrorRateMonitor::builder().threshold(f64::NAN)),
            MonitorConfigError::InvalidThreshold(_)
        ));
        assert_eq!(
            error(ErrorRateMonitor::builder().threshold(1.5)),
            MonitorConfigError::InvalidThreshold(1.5)
        );
        assert_eq!(
            error(ErrorRateMonitor::builder().window(Duration::ZERO)),
            MonitorConfigError::ZeroWindow
        );
        assert_eq!(
            error(ErrorRateMonitor::builder().buckets(0)),
            MonitorConfigError::InvalidBuckets(0)
        );
        assert_eq!(
            error(ErrorRateMonitor::builder().min_samples(0)),
            MonitorConfigError::ZeroMinSamples
        );
        let monitor = ErrorRateMonitor::builder().build().unwrap();
        assert_eq!(monitor.window(), DEFAULT_WINDOW);
        assert_eq!(monitor.threshold(), DEFAULT_THRESHOLD);
        assert_eq!(monitor.min_samples(), DEFAULT_MIN_SAMPLES);
    }
}
