//! Where the limiter state lives: the [`Backend`] trait, and the in-memory
//! [`GovernorLimiter`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock, Reference};
use governor::middleware::{StateInformationMiddleware, StateSnapshot};
use governor::state::keyed::DashMapStateStore;
use governor::{Quota, RateLimiter};

use crate::Key;

/// What a backend decided about one request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Decision {
    /// The request conforms to the quota and was counted.
    Allowed(Allowance),
    /// The request is over the quota and was not counted.
    Limited {
        /// How long until a request under this key conforms again.
        retry_after: Duration,
    },
    /// The backend could not decide and lets the request through (fail open).
    Unchecked,
    /// The backend could not decide and asks to refuse the request (fail closed).
    Unavailable {
        /// When to try again.
        retry_after: Duration,
    },
}

/// The state of a bucket after an allowed request: what the `RateLimit` field reports.
///
/// Computed only when read (the in-memory backend keeps governor's snapshot), so a
/// layer that sends no headers on success does not pay for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allowance(AllowanceRepr);

#[derive(Debug, Clone, PartialEq, Eq)]
enum AllowanceRepr {
    Known { remaining: u32, reset: Duration },
    Snapshot(StateSnapshot),
}

impl Allowance {
    /// `remaining` more requests would conform now; the bucket is full again after
    /// `reset`.
    pub fn new(remaining: u32, reset: Duration) -> Self {
        Self(AllowanceRepr::Known { remaining, reset })
    }

    /// How many more requests would conform right now.
    pub fn remaining(&self) -> u32 {
        match &self.0 {
            AllowanceRepr::Known { remaining, .. } => *remaining,
            AllowanceRepr::Snapshot(snapshot) => snapshot.remaining_burst_capacity(),
        }
    }

    /// How long until the bucket is full again.
    pub fn reset(&self) -> Duration {
        match &self.0 {
            AllowanceRepr::Known { reset, .. } => *reset,
            AllowanceRepr::Snapshot(snapshot) => {
                // Exact to within one replenish interval: governor's snapshot tells
                // the whole cells left, not the fraction of the next one.
                let quota = snapshot.quota();
                let used = quota.burst_size().get() - snapshot.remaining_burst_capacity();
                quota.replenish_interval() * used
            }
        }
    }
}

/// A [`Backend`]'s answer: at once, or after a round trip.
pub struct Check(pub(crate) CheckKind);

pub(crate) enum CheckKind {
    Ready(Decision),
    Pending(Pin<Box<dyn Future<Output = Decision> + Send + 'static>>),
}

impl Check {
    /// A decision taken at once (in memory).
    pub fn ready(decision: Decision) -> Self {
        Self(CheckKind::Ready(decision))
    }

    /// A decision that needs I/O (a network round trip).
    pub fn pending(future: impl Future<Output = Decision> + Send + 'static) -> Self {
        Self(CheckKind::Pending(Box::pin(future)))
    }

    /// Waits for the decision.
    pub async fn decision(self) -> Decision {
        match self.0 {
            CheckKind::Ready(decision) => decision,
            CheckKind::Pending(future) => future.await,
        }
    }
}

impl fmt::Debug for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            CheckKind::Ready(decision) => f.debug_tuple("Check::Ready").field(decision).finish(),
            CheckKind::Pending(_) => f.write_str("Check::Pending"),
        }
    }
}

/// Holds the limiter state and decides, per key, whether a request conforms.
///
/// [`GovernorLimiter`] keeps it in memory; `RedisRateLimiter` (feature `redis`) in
/// Redis, shared by a fleet. The layer holds the backend behind this trait, so its
/// type does not change with the backend.
pub trait Backend: fmt::Debug + Send + Sync + 'static {
    /// The quota every key gets, advertised in `RateLimit-Policy`.
    fn quota(&self) -> Quota;

    /// Counts one request under `key`, if it conforms.
    fn check(&self, key: &Key) -> Check;
}

impl<B: Backend + ?Sized> Backend for Arc<B> {
    fn quota(&self) -> Quota {
        (**self).quota()
    }

    fn check(&self, key: &Key) -> Check {
        (**self).check(key)
    }
}

impl<B: Backend + ?Sized> Backend for Box<B> {
    fn quota(&self) -> Quota {
        (**self).quota()
    }

    fn check(&self, key: &Key) -> Check {
        (**self).check(key)
    }
}

/// Housekeeping looks at the clock and the map once every this many requests.
pub const HOUSEKEEPING_EVERY: u64 = 1024;

/// Below this many keys, growth alone never triggers a cleanup.
pub const HOUSEKEEPING_MIN_KEYS: usize = 4096;

/// The in-memory backend: a keyed [`governor`] GCRA limiter on a sharded `DashMap`,
/// with housekeeping that needs no call from you.
///
/// # Memory
///
/// Every distinct key takes one map entry until its bucket is full again (a key used
/// once is "stale" one replenish interval after; governor keeps it one more interval).
/// Stale entries are removed from the request path: every [`HOUSEKEEPING_EVERY`]
/// requests, one request looks at the clock and the map size and, if the
/// [cleanup interval](Self::cleanup_interval) has passed since the last cleanup **or**
/// the map has doubled since then (and holds at least [`HOUSEKEEPING_MIN_KEYS`]), runs
/// governor's `retain_recent`, then `shrink_to_fit` if that removed anything.
///
/// The bound: the map holds fewer than
/// `2 × max(live keys, HOUSEKEEPING_MIN_KEYS) + HOUSEKEEPING_EVERY` entries, where
/// live keys are those governor still keeps (used within about two replenish
/// intervals, or longer after a burst). An entry is a 33-byte bucket (24-byte key,
/// 8-byte state, 1 control byte) in a table kept between 7/16 and 7/8 full: at most
/// 76 bytes for an address key, plus, for a text key, its bytes and a 16-byte
/// header. `tests/memory.rs` checks both with a counting allocator: live address keys
/// stay within that size and are all given back once stale, and a stream of distinct
/// keys stays within the bound (figures in BENCHMARKS.md, "Other figures").
///
/// Why the request path and not a timer task: it needs no runtime and no task to
/// start or stop with the layer, follows the limiter's own clock (so it is
/// deterministic under a fake clock in tests), and costs one relaxed atomic increment
/// per request. The request that runs a cleanup pays for it, in proportion to the
/// stale keys it removes (BENCHMARKS.md, "Other figures"); the map's shards are
/// locked one at a time, so other requests wait at most for one shard.
pub struct GovernorLimiter<C: Clock = DefaultClock> {
    limiter: RateLimiter<Key, DashMapStateStore<Key>, C, StateInformationMiddleware>,
    quota: Quota,
    start: C::Instant,
    cleanup_interval: u64,
    requests: AtomicU64,
    last_cleanup: AtomicU64,
    len_after_cleanup: AtomicUsize,
    cleaning: AtomicBool,
}

impl GovernorLimiter {
    /// An in-memory limiter giving each key `quota`, on governor's default clock.
    pub fn new(quota: Quota) -> Self {
        Self::with_clock(quota, DefaultClock::default())
    }
}

impl<C: Clock> GovernorLimiter<C> {
    /// An in-memory limiter on `clock`, such as governor's `FakeRelativeClock` in tests.
    ///
    /// ```
    /// use std::num::NonZeroU32;
    /// use std::time::Duration;
    /// use webhook_ratelimit::{Backend, Decision, GovernorLimiter, Key, Quota};
    /// use webhook_ratelimit::clock::FakeRelativeClock;
    ///
    /// let clock = FakeRelativeClock::default();
    /// let quota = Quota::per_second(NonZeroU32::new(1).unwrap());
    /// let limiter = GovernorLimiter::with_clock(quota, clock.clone());
    /// let key = Key::from("sender");
    /// let check = |limiter: &GovernorLimiter<FakeRelativeClock>| limiter.check(&key).ready_decision().unwrap();
    /// assert!(matches!(check(&limiter), Decision::Allowed(a) if a.remaining() == 0));
    /// assert_eq!(check(&limiter), Decision::Limited { retry_after: Duration::from_secs(1) });
    /// clock.advance(Duration::from_secs(1));
    /// assert!(matches!(check(&limiter), Decision::Allowed(_)));
    /// ```
    pub fn with_clock(quota: Quota, clock: C) -> Self {
        let start = clock.now();
        let limiter = RateLimiter::new(quota, DashMapStateStore::default(), clock);
        let full = quota.burst_size_replenished_in();
        Self {
            limiter,
            quota,
            start,
            cleanup_interval: nanos(full.clamp(Duration::from_secs(1), Duration::from_secs(60))),
            requests: AtomicU64::new(0),
            last_cleanup: AtomicU64::new(0),
            len_after_cleanup: AtomicUsize::new(0),
            cleaning: AtomicBool::new(false),
        }
    }

    /// How often stale keys are removed at the latest (default: the time the quota
    /// takes to refill completely, between 1 s and 60 s).
    #[must_use]
    pub fn cleanup_interval(mut self, interval: Duration) -> Self {
        self.cleanup_interval = nanos(interval);
        self
    }

    /// How many keys the limiter holds now (live and not yet removed).
    pub fn len(&self) -> usize {
        self.limiter.len()
    }

    /// Whether the limiter holds no key.
    pub fn is_empty(&self) -> bool {
        self.limiter.is_empty()
    }

    /// Counts one request under `key`: the allowance, or how long until it conforms.
    /// The layer calls this directly, without the enums of [`Backend::check`].
    #[inline]
    pub(crate) fn check_in_memory(&self, key: &Key) -> Result<Allowance, Duration> {
        let outcome = match self.limiter.check_key(key) {
            Ok(snapshot) => Ok(Allowance(AllowanceRepr::Snapshot(snapshot))),
            Err(not_until) => Err(not_until.wait_time_from(self.limiter.clock().now())),
        };
        self.housekeeping();
        outcome
    }

    fn elapsed(&self) -> u64 {
        self.limiter
            .clock()
            .now()
            .duration_since(self.start)
            .as_u64()
    }

    #[inline]
    fn housekeeping(&self) {
        // A plain load and store, not an atomic increment: concurrent requests may
        // lose a count (housekeeping then runs a little later), but every value is
        // reached, and the hot path takes no locked instruction.
        let n = self.requests.load(Ordering::Relaxed).wrapping_add(1);
        self.requests.store(n, Ordering::Relaxed);
        if n % HOUSEKEEPING_EVERY == 0 {
            self.clean_up_if_due();
        }
    }

    #[cold]
    #[inline(never)]
    fn clean_up_if_due(&self) {
        let now = self.elapsed();
        let due_by_time =
            now.saturating_sub(self.last_cleanup.load(Ordering::Relaxed)) >= self.cleanup_interval;
        let due = due_by_time || {
            let len = self.limiter.len();
            let after = self.len_after_cleanup.load(Ordering::Relaxed);
            len >= HOUSEKEEPING_MIN_KEYS && len >= after.saturating_mul(2)
        };
        if !due || self.cleaning.swap(true, Ordering::Acquire) {
            return;
        }
        let before = self.limiter.len();
        self.limiter.retain_recent();
        let after = self.limiter.len();
        if after < before {
            // Also clears the tombstones `retain` leaves, which would make the table
            // grow as if the removed keys were still there.
            self.limiter.shrink_to_fit();
        }
        self.len_after_cleanup.store(after, Ordering::Relaxed);
        self.last_cleanup.store(now, Ordering::Relaxed);
        self.cleaning.store(false, Ordering::Release);
        tracing::trace!(before, after, "rate-limit keys cleaned up");
    }
}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

impl<C> Backend for GovernorLimiter<C>
where
    C: Clock + Send + Sync + 'static,
    C::Instant: Send + Sync,
{
    fn quota(&self) -> Quota {
        self.quota
    }

    fn check(&self, key: &Key) -> Check {
        let decision = match self.check_in_memory(key) {
            Ok(allowance) => Decision::Allowed(allowance),
            Err(retry_after) => Decision::Limited { retry_after },
        };
        Check::ready(decision)
    }
}

impl<C: Clock> fmt::Debug for GovernorLimiter<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GovernorLimiter")
            .field("quota", &self.quota)
            .field(
                "cleanup_interval",
                &Duration::from_nanos(self.cleanup_interval),
            )
            .finish_non_exhaustive()
    }
}

impl Check {
    /// The decision, if it was taken at once; `None` for one that needs I/O.
    pub fn ready_decision(&self) -> Option<Decision> {
        match &self.0 {
            CheckKind::Ready(decision) => Some(decision.clone()),
            CheckKind::Pending(_) => None,
        }
    }
}
