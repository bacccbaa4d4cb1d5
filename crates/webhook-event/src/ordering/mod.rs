//! The out-of-order guard: apply an event about an entity only if it is newer than the
//! last one applied.
//!
//! Providers do not promise order: `payout.created` can arrive after
//! `payout.completed` (a retry, two workers, two regions). An [`OrderingGuard`] keeps,
//! per entity key, the `(created, event id)` of the newest event applied, and
//! [`apply_if_newer`](OrderingGuard::apply_if_newer) atomically answers
//! [`GuardDecision::Applied`] (newer: it is now the stored state, apply it) or
//! [`GuardDecision::Stale`] (older: answer 200 and do not apply it, so the sender does not
//! retry it).
//!
//! - Order is by `created`, then by event id (compared as bytes) when two events have
//!   the same `created`. The same event again (same `created` and id) is `Applied`
//!   again, so a retry after a failed handler is not lost; suppress duplicates with
//!   the idempotency layer.
//! - Entries expire after a retention TTL since the last applied event (default
//!   7 days, longer than providers retry). After that an old event would be applied:
//!   keep the TTL longer than the sender's retry window.
//! - [`MemoryOrderingGuard`]: one process, bounded. `RedisOrderingGuard` (feature
//!   `redis`): shared by every replica, one Lua compare-and-set per call.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use time::macros::datetime;
//! use webhook_event::{MemoryOrderingGuard, GuardDecision, OrderingGuard};
//!
//! let guard = MemoryOrderingGuard::new();
//! let completed = datetime!(2025-11-02 10:05 UTC);
//! let created = datetime!(2025-11-02 10:00 UTC);
//! assert_eq!(guard.apply_if_newer("payout:po_1", completed, "evt_2").await.unwrap(), GuardDecision::Applied);
//! // Arrives late: older than what was applied.
//! assert_eq!(guard.apply_if_newer("payout:po_1", created, "evt_1").await.unwrap(), GuardDecision::Stale);
//! // Other entities are independent.
//! assert_eq!(guard.apply_if_newer("payout:po_2", created, "evt_3").await.unwrap(), GuardDecision::Applied);
//! # }
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use http::StatusCode;
use time::OffsetDateTime;
use webhook_core::{Problem, Rejection};

mod memory;
#[cfg(feature = "redis")]
mod redis;

pub use memory::{MemoryOrderingGuard, MemoryOrderingGuardBuilder};
#[cfg(feature = "redis")]
pub use redis::{DEFAULT_KEY_PREFIX, RedisOrderingGuard, RedisOrderingGuardBuilder};

/// How long an entity's newest event is remembered by default: 7 days.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(7 * 24 * 60 * 60);

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The future returned by [`OrderingGuard::apply_if_newer`].
pub type GuardFuture<'a> =
    Pin<Box<dyn Future<Output = Result<GuardDecision, GuardError>> + Send + 'a>>;

/// The answer of [`OrderingGuard::apply_if_newer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GuardDecision {
    /// The event is the newest seen for the entity (or the same event again): it is
    /// now the stored state. Apply it.
    Applied,
    /// A newer event was already applied for the entity. Do not apply this one, and
    /// answer 200 so the sender does not retry it.
    Stale,
}

impl GuardDecision {
    /// `true` for [`GuardDecision::Applied`].
    pub fn is_applied(self) -> bool {
        self == Self::Applied
    }

    /// `true` for [`GuardDecision::Stale`].
    pub fn is_stale(self) -> bool {
        self == Self::Stale
    }
}

/// Keeps, per entity, the newest `(created, event id)` applied, and decides atomically
/// whether an event is newer.
///
/// Object safe: store an `Arc<dyn OrderingGuard>` to choose the backend at run time.
/// To write one (a SQL table, say), box the future:
///
/// ```
/// use time::OffsetDateTime;
/// use webhook_event::{GuardFuture, GuardDecision, OrderingGuard};
///
/// /// Applies everything: ordering is handled by the database's own versioning.
/// struct Always;
///
/// impl OrderingGuard for Always {
///     fn apply_if_newer<'a>(&'a self, _entity: &'a str, _created: OffsetDateTime, _event_id: &'a str) -> GuardFuture<'a> {
///         Box::pin(async { Ok(GuardDecision::Applied) })
///     }
/// }
/// ```
pub trait OrderingGuard: Send + Sync {
    /// Records `(created, event_id)` as the newest event of `entity` and answers
    /// [`GuardDecision::Applied`] if it is newer than, or the same as, the stored one (or
    /// none is stored); otherwise answers [`GuardDecision::Stale`] and changes nothing.
    /// The check and the write are one atomic step.
    fn apply_if_newer<'a>(
        &'a self,
        entity: &'a str,
        created: OffsetDateTime,
        event_id: &'a str,
    ) -> GuardFuture<'a>;
}

impl<G: OrderingGuard + ?Sized> OrderingGuard for &G {
    fn apply_if_newer<'a>(
        &'a self,
        entity: &'a str,
        created: OffsetDateTime,
        event_id: &'a str,
    ) -> GuardFuture<'a> {
        (**self).apply_if_newer(entity, created, event_id)
    }
}

impl<G: OrderingGuard + ?Sized> OrderingGuard for Arc<G> {
    fn apply_if_newer<'a>(
        &'a self,
        entity: &'a str,
        created: OffsetDateTime,
        event_id: &'a str,
    ) -> GuardFuture<'a> {
        (**self).apply_if_newer(entity, created, event_id)
    }
}

impl<G: OrderingGuard + ?Sized> OrderingGuard for Box<G> {
    fn apply_if_newer<'a>(
        &'a self,
        entity: &'a str,
        created: OffsetDateTime,
        event_id: &'a str,
    ) -> GuardFuture<'a> {
        (**self).apply_if_newer(entity, created, event_id)
    }
}

/// The newest event applied for an entity, as a guard stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Newest {
    /// Its `created` time (in UTC when read back from Redis).
    pub created: OffsetDateTime,
    /// Its event id.
    pub event_id: String,
}

/// `true` when `(created, id)` sorts before the stored `newest`: the event is stale.
pub(crate) fn is_older(created: OffsetDateTime, id: &str, newest: &Newest) -> bool {
    (created, id.as_bytes()) < (newest.created, newest.event_id.as_bytes())
}

/// The guard's store could not answer (Redis down, a timeout).
///
/// As a [`Rejection`] it is 503 `ordering_unavailable`: the sender retries later. The
/// response does not carry the store's error message; `Display` (for logs) does.
#[derive(Debug)]
pub struct GuardError {
    source: BoxError,
}

impl GuardError {
    /// Wraps the store's error.
    pub fn new(source: impl Into<BoxError>) -> Self {
        Self {
            source: source.into(),
        }
    }

    /// The store's error.
    pub fn into_inner(self) -> BoxError {
        self.source
    }
}

impl fmt::Display for GuardError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the ordering store is unavailable: {}", self.source)
    }
}

impl std::error::Error for GuardError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.source)
    }
}

impl Rejection for GuardError {
    fn status(&self) -> StatusCode {
        StatusCode::SERVICE_UNAVAILABLE
    }

    fn code(&self) -> &'static str {
        "ordering_unavailable"
    }

    fn to_problem(&self) -> Problem {
        Problem::new(
            self.status(),
            self.code(),
            "the event ordering store is unavailable; retry later",
        )
    }
}

/// Why a guard could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum GuardConfigError {
    /// The retention TTL is zero (or under a millisecond, for Redis): nothing would be
    /// remembered.
    ZeroTtl,
    /// The memory guard may hold no entry.
    ZeroCapacity,
}

impl fmt::Display for GuardConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ZeroTtl => f.write_str("the retention TTL must be at least one millisecond"),
            Self::ZeroCapacity => f.write_str("the guard must hold at least one entry"),
        }
    }
}

impl std::error::Error for GuardConfigError {}
