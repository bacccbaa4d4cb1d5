use std::convert::Infallible;
use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use crate::store::{Store, Token};

/// The claim a handler runs under, as the layer's
/// [heartbeat](crate::IdempotencyLayerBuilder::heartbeat) keeps it: in the request
/// extensions of a delivery that holds a claim, when the heartbeat is on.
///
/// The claim is what keeps duplicates out. While the handler runs, the heartbeat
/// extends its lease every third of its length. If the claim is lost (the key was
/// deleted or another worker claimed it: [`Store::extend`] answered `false`), or the
/// lease ended before an extension landed (the store unreachable), the lease is lost
/// for good: a duplicate can run the handler concurrently. A long handler checks
/// [`is_held`](Self::is_held) before it commits its effects, and answers 5xx instead
/// when the lease is lost: nothing is recorded, and the sender retries.
///
/// ```
/// use std::time::Duration;
/// use bytes::Bytes;
/// use http::{Request, Response, StatusCode};
/// use webhook_core::VerifiedBody;
/// use webhook_idempotency::Lease;
///
/// async fn handle(request: Request<VerifiedBody>) -> Result<Response<Bytes>, std::io::Error> {
///     let lease = request.extensions().get::<Lease>().cloned();
///     // Long work without side effects: compute, call other services.
///     tokio::time::sleep(Duration::from_millis(10)).await;
///     if lease.is_some_and(|lease| !lease.is_held()) {
///         // Another run may be processing this event now: commit nothing.
///         let mut response = Response::new(Bytes::from_static(b"lease lost"));
///         *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
///         return Ok(response);
///     }
///     // Commit the effects (one transaction), then answer.
///     Ok(Response::new(Bytes::from_static(b"processed")))
/// }
/// # let _ = handle;
/// ```
///
/// A request without a `Lease` holds no claim the heartbeat keeps: the heartbeat is
/// off, or the layer passed it through without a claim
/// ([`MissingKeyPolicy::PassThrough`](crate::MissingKeyPolicy::PassThrough),
/// [`StoreErrorPolicy::PassThrough`](crate::StoreErrorPolicy::PassThrough)).
///
/// Between the check and the commit the lease can still be lost; keep that step
/// shorter than a third of the lease, or race it against [`lost`](Self::lost).
/// Cheap to clone; once the handler has answered, a clone it kept reports the lease
/// lost (the claim becomes the record, or is released).
#[derive(Clone)]
pub struct Lease {
    /// When the claim is known to end, if the heartbeat has not lost it.
    state: watch::Receiver<Option<Instant>>,
}

impl Lease {
    /// A lease held until `until`, and the sender the heartbeat updates it through.
    pub(crate) fn held_until(until: Instant) -> (watch::Sender<Option<Instant>>, Self) {
        let (sender, state) = watch::channel(Some(until));
        (sender, Self { state })
    }

    /// Whether the claim still holds: the last extension landed and its lease has
    /// not ended, and the handler has not answered yet.
    pub fn is_held(&self) -> bool {
        if self.state.has_changed().is_err() {
            // The layer stopped the heartbeat: the handler answered.
            return false;
        }
        matches!(*self.state.borrow(), Some(until) if Instant::now() < until)
    }

    /// Completes once the lease is lost (at once if it is already), to race a long
    /// step against it with `tokio::select!`.
    pub async fn lost(&self) {
        let mut state = self.state.clone();
        // An error means the layer dropped the sender: the handler answered.
        let _ = state.wait_for(Option::is_none).await;
    }
}

impl fmt::Debug for Lease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lease")
            .field("held", &self.is_held())
            .finish()
    }
}

/// The first pause before a failed extension is tried again; doubled each time.
const FIRST_RETRY: Duration = Duration::from_millis(50);

/// Extends the claim on `key` every third of `lease` from the last extension,
/// publishing how long it holds in `state`, until it is lost; then waits forever.
///
/// A failed extension (the store unreachable) is tried again, pausing 50 ms and
/// doubling up to a third of the lease: the claim holds until the end of the last
/// lease that landed, and is lost then if no extension landed meanwhile. Polled beside the handler (see [`while_beating`]), so
/// it stops with the handler's future, spawns nothing, and needs no runtime handle.
pub(crate) async fn heartbeat<St: Store>(
    store: &St,
    key: &str,
    token: Token,
    lease: Duration,
    state: &watch::Sender<Option<Instant>>,
) -> Infallible {
    let period = lease / 3;
    let mut pause = FIRST_RETRY.min(period);
    let held = *state.borrow();
    if let Some(mut held_until) = held {
        let mut next = held_until.checked_sub(lease).unwrap_or(held_until) + period;
        loop {
            tokio::time::sleep_until(next.min(held_until)).await;
            if Instant::now() >= held_until {
                tracing::warn!(
                    key,
                    "the lease ended before the heartbeat could extend it: the claim is lost"
                );
                break;
            }
            let sent = Instant::now();
            // An extension still unanswered when the lease ends counts as failed.
            let Ok(extended) =
                tokio::time::timeout_at(held_until, store.extend(key, token, lease)).await
            else {
                tracing::warn!(
                    key,
                    "the lease ended before the store answered the heartbeat: the claim is lost"
                );
                break;
            };
            match extended {
                Ok(true) => {
                    held_until = sent + lease;
                    state.send_replace(Some(held_until));
                    next = sent + period;
                    pause = FIRST_RETRY.min(period);
                }
                Ok(false) => {
                    tracing::warn!(
                        key,
                        "the claim is lost: the key was deleted or another request claimed it"
                    );
                    break;
                }
                Err(error) => {
                    tracing::warn!(%error, key, "cannot extend the lease: trying again");
                    next = sent + pause;
                    pause = (pause * 2).min(period);
                }
            }
        }
        state.send_replace(None);
    }
    std::future::pending().await
}

/// Runs `work` to its end, polling `beat` beside it in the same task.
pub(crate) async fn while_beating<F: Future>(
    work: F,
    beat: impl Future<Output = Infallible>,
) -> F::Output {
    let mut work = pin!(work);
    let mut beat = pin!(beat);
    poll_fn(|cx| {
        if let Poll::Ready(output) = work.as_mut().poll(cx) {
            return Poll::Ready(output);
        }
        match beat.as_mut().poll(cx) {
            Poll::Ready(never) => match never {},
            Poll::Pending => Poll::Pending,
        }
    })
    .await
}
