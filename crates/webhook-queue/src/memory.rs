use std::collections::{BTreeMap, HashSet, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use tokio::sync::Notify;
use tokio::time::Instant;

use crate::{
    ConfigError, DeadLetter, DeadLetterKind, Depth, Job, Queue, QueueError, QueueErrorKind,
    Received,
};

/// The default bound of a [`MemoryQueue`]: 10,000 unfinished jobs.
pub const DEFAULT_CAPACITY: usize = 10_000;

/// The default number of dead letters a [`MemoryQueue`] keeps: 10,000.
pub const DEFAULT_DEAD_LETTER_CAPACITY: usize = 10_000;

/// A bounded queue inside the process, on tokio: the embedded default.
///
/// - **Bounded**: it holds at most [`capacity`](MemoryQueueBuilder::capacity)
///   unfinished jobs (ready, waiting for a retry, or being processed); beyond that
///   [`enqueue`](Queue::enqueue) fails with [`QueueErrorKind::Full`] and the enqueue
///   service answers 503 with `Retry-After`. Retries of jobs already accepted are never
///   refused.
/// - **Graceful shutdown**: after [`close`](Queue::close) (which
///   [`Workers::shutdown`](crate::Workers::shutdown) calls) it refuses new jobs and
///   keeps handing out the ones it holds, retries included, until every job is
///   finished; then [`receive`](Queue::receive) answers `None` and the workers stop.
/// - **Not durable**: the jobs live in this process. If it dies (crash, `SIGKILL`, a
///   shutdown that times out), jobs answered 202 and not yet processed are lost; the
///   sender does not retry them. Use the Redis backend when that matters.
/// - **Dead letters** are kept in memory too, the oldest dropped beyond
///   [`dead_letter_capacity`](MemoryQueueBuilder::dead_letter_capacity) (logged).
///
/// Retry delays run on tokio's clock, so tests can use `tokio::time::pause`.
///
/// ```
/// use webhook_queue::{Job, MemoryQueue, Queue, QueueErrorKind};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let queue = MemoryQueue::builder().capacity(1).build().unwrap();
/// queue.enqueue(&Job::new("first")).await.unwrap();
/// let error = queue.enqueue(&Job::new("second")).await.unwrap_err();
/// assert_eq!(error.kind(), QueueErrorKind::Full);
///
/// let received = queue.receive("worker-0").await.unwrap().unwrap();
/// assert_eq!(received.job().body(), "first");
/// queue.ack(&received).await.unwrap();
/// assert_eq!(queue.depth().await.unwrap().unfinished(), 0);
/// # }
/// ```
#[derive(Clone)]
pub struct MemoryQueue {
    inner: Arc<Inner>,
}

struct Inner {
    state: Mutex<State>,
    notify: Notify,
    capacity: usize,
    dead_capacity: usize,
}

#[derive(Default)]
struct State {
    ready: VecDeque<Job>,
    /// Jobs waiting for their retry delay, by due time then arrival.
    delayed: BTreeMap<(Instant, u64), Job>,
    /// Receipts of the jobs handed out and not settled.
    in_flight: HashSet<u64>,
    dead: VecDeque<DeadLetter>,
    closed: bool,
    sequence: u64,
}

impl State {
    fn next(&mut self) -> u64 {
        self.sequence += 1;
        self.sequence
    }

    fn unfinished(&self) -> usize {
        self.ready.len() + self.delayed.len() + self.in_flight.len()
    }

    fn promote_due(&mut self, now: Instant) {
        while let Some(entry) = self.delayed.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let job = entry.remove();
            self.ready.push_back(job);
        }
    }

    fn drained(&self) -> bool {
        self.closed && self.unfinished() == 0
    }
}

impl MemoryQueue {
    /// A queue with [`DEFAULT_CAPACITY`] and [`DEFAULT_DEAD_LETTER_CAPACITY`].
    pub fn new() -> Self {
        Self::builder().build().expect("the defaults are valid")
    }

    /// Options: capacity, dead-letter capacity.
    pub fn builder() -> MemoryQueueBuilder {
        MemoryQueueBuilder {
            capacity: DEFAULT_CAPACITY,
            dead_capacity: DEFAULT_DEAD_LETTER_CAPACITY,
        }
    }

    /// The bound on unfinished jobs.
    pub fn capacity(&self) -> usize {
        self.inner.capacity
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves the state consistent (every update is
        // a few lines without calls out): keep going.
        self.inner
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Removes the receipt from the in-flight set; `false` if it was not there.
    fn settle(state: &mut State, received: &Received) -> bool {
        received
            .receipt()
            .parse::<u64>()
            .is_ok_and(|receipt| state.in_flight.remove(&receipt))
    }

    /// Wakes a waiting consumer for one new job; everyone when the queue may be drained.
    fn wake(&self, state: &State) {
        if state.closed {
            self.inner.notify.notify_waiters();
        } else {
            self.inner.notify.notify_one();
        }
    }
}

impl Default for MemoryQueue {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for MemoryQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("MemoryQueue")
            .field("capacity", &self.inner.capacity)
            .field("ready", &state.ready.len())
            .field("delayed", &state.delayed.len())
            .field("in_flight", &state.in_flight.len())
            .field("dead", &state.dead.len())
            .field("closed", &state.closed)
            .finish()
    }
}

/// Builds a [`MemoryQueue`]: see [`MemoryQueue::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct MemoryQueueBuilder {
    capacity: usize,
    dead_capacity: usize,
}

impl MemoryQueueBuilder {
    /// The most unfinished jobs (ready, delayed, in flight) the queue holds before
    /// refusing new ones (default [`DEFAULT_CAPACITY`]).
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity;
        self
    }

    /// The most dead letters kept; the oldest is dropped (logged at `error`) to make
    /// room (default [`DEFAULT_DEAD_LETTER_CAPACITY`]).
    pub fn dead_letter_capacity(mut self, capacity: usize) -> Self {
        self.dead_capacity = capacity;
        self
    }

    /// Checks the settings and builds the queue.
    pub fn build(self) -> Result<MemoryQueue, ConfigError> {
        if self.capacity == 0 || self.dead_capacity == 0 {
            return Err(ConfigError::ZeroCapacity);
        }
        Ok(MemoryQueue {
            inner: Arc::new(Inner {
                state: Mutex::new(State::default()),
                notify: Notify::new(),
                capacity: self.capacity,
                dead_capacity: self.dead_capacity,
            }),
        })
    }
}

impl Queue for MemoryQueue {
    async fn enqueue(&self, job: &Job) -> Result<(), QueueError> {
        let mut state = self.lock();
        if state.closed {
            return Err(QueueError::new(
                QueueErrorKind::Closed,
                "the queue is closed: the receiver is shutting down",
            ));
        }
        if state.unfinished() >= self.inner.capacity {
            return Err(QueueError::new(
                QueueErrorKind::Full,
                format!(
                    "the queue holds its capacity of {} jobs",
                    self.inner.capacity
                ),
            ));
        }
        state.ready.push_back(job.clone());
        self.wake(&state);
        Ok(())
    }

    async fn receive(&self, consumer: &str) -> Result<Option<Received>, QueueError> {
        loop {
            // Registered before looking at the state, so a wake-up in between is kept.
            let notified = self.inner.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let next_due = {
                let mut state = self.lock();
                state.promote_due(Instant::now());
                if let Some(job) = state.ready.pop_front() {
                    let receipt = state.next();
                    state.in_flight.insert(receipt);
                    return Ok(Some(Received::new(job, receipt.to_string(), consumer)));
                }
                if state.drained() {
                    return Ok(None);
                }
                state.delayed.first_key_value().map(|((due, _), _)| *due)
            };
            match next_due {
                Some(due) => {
                    tokio::select! {
                        () = &mut notified => {}
                        () = tokio::time::sleep_until(due) => {}
                    }
                }
                None => notified.await,
            }
        }
    }

    async fn ack(&self, received: &Received) -> Result<(), QueueError> {
        let mut state = self.lock();
        if Self::settle(&mut state, received) && state.closed {
            self.wake(&state);
        }
        Ok(())
    }

    async fn retry(&self, received: &Received, delay: Duration) -> Result<(), QueueError> {
        let mut state = self.lock();
        if !Self::settle(&mut state, received) {
            return Ok(());
        }
        let sequence = state.next();
        state
            .delayed
            .insert((Instant::now() + delay, sequence), received.job().clone());
        // A waiting consumer may sleep until a later due time: wake it to look again.
        self.wake(&state);
        Ok(())
    }

    async fn dead_letter(
        &self,
        received: &Received,
        kind: DeadLetterKind,
        error: &str,
    ) -> Result<(), QueueError> {
        let mut state = self.lock();
        if !Self::settle(&mut state, received) {
            return Ok(());
        }
        if state.dead.len() >= self.inner.dead_capacity {
            if let Some(dropped) = state.dead.pop_front() {
                tracing::error!(
                    job_id = %dropped.job().id(),
                    event_id = dropped.job().event_id().unwrap_or("-"),
                    "the dead letters are full: dropping the oldest"
                );
            }
        }
        let id = state.next().to_string();
        state.dead.push_back(DeadLetter::new(
            id,
            received.job().clone(),
            kind,
            error,
            SystemTime::now(),
        ));
        if state.closed {
            self.wake(&state);
        }
        Ok(())
    }

    async fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>, QueueError> {
        let state = self.lock();
        Ok(state.dead.iter().take(limit).cloned().collect())
    }

    async fn replay(&self, id: &str) -> Result<bool, QueueError> {
        let mut state = self.lock();
        let Some(position) = state.dead.iter().position(|dead| dead.id() == id) else {
            return Ok(false);
        };
        if state.closed {
            return Err(QueueError::new(
                QueueErrorKind::Closed,
                "the queue is closed: the receiver is shutting down",
            ));
        }
        if state.unfinished() >= self.inner.capacity {
            return Err(QueueError::new(
                QueueErrorKind::Full,
                "the queue holds its capacity: replay later",
            ));
        }
        let dead = state.dead.remove(position).expect("the position was found");
        state.ready.push_back(dead.job().clone().with_attempts(0));
        self.wake(&state);
        Ok(true)
    }

    async fn depth(&self) -> Result<Depth, QueueError> {
        let state = self.lock();
        Ok(Depth::new(
            state.ready.len() as u64,
            state.delayed.len() as u64,
            state.in_flight.len() as u64,
            state.dead.len() as u64,
        ))
    }

    fn close(&self) {
        let mut state = self.lock();
        state.closed = true;
        self.inner.notify.notify_waiters();
    }

    fn is_closed(&self) -> bool {
        self.lock().closed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(body: &'static str) -> Job {
        Job::new(body).with_event_id(body)
    }

    #[tokio::test(start_paused = true)]
    async fn a_retried_job_comes_back_after_its_delay_and_not_before() {
        let queue = MemoryQueue::new();
        queue.enqueue(&job("evt_1")).await.unwrap();
        let mut received = queue.receive("c").await.unwrap().unwrap();
        received.job_mut().set_attempts(1);
        let start = Instant::now();
        queue
            .retry(&received, Duration::from_secs(30))
            .await
            .unwrap();
        assert_eq!(queue.depth().await.unwrap(), Depth::new(0, 1, 0, 0));

        let again = queue.receive("c").await.unwrap().unwrap();
        assert_eq!(Instant::now() - start, Duration::from_secs(30));
        assert_eq!(again.job().event_id(), Some("evt_1"));
        assert_eq!(again.job().attempts(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_waiting_consumer_wakes_for_an_earlier_retry() {
        let queue = MemoryQueue::new();
        queue.enqueue(&job("late")).await.unwrap();
        queue.enqueue(&job("early")).await.unwrap();
        let late = queue.receive("a").await.unwrap().unwrap();
        let early = queue.receive("a").await.unwrap().unwrap();
        queue.retry(&late, Duration::from_secs(60)).await.unwrap();
        let start = Instant::now();
        let waiting = tokio::spawn({
            let queue = queue.clone();
            async move { queue.receive("b").await }
        });
        tokio::task::yield_now().await;
        queue.retry(&early, Duration::from_secs(5)).await.unwrap();
        let first = waiting.await.unwrap().unwrap().unwrap();
        assert_eq!(first.job().event_id(), Some("early"));
        assert_eq!(Instant::now() - start, Duration::from_secs(5));
    }

    #[tokio::test]
    async fn settling_twice_changes_nothing() {
        let queue = MemoryQueue::new();
        queue.enqueue(&job("evt")).await.unwrap();
        let received = queue.receive("c").await.unwrap().unwrap();
        queue.ack(&received).await.unwrap();
        queue
            .dead_letter(&received, DeadLetterKind::Permanent, "late")
            .await
            .unwrap();
        queue.retry(&received, Duration::ZERO).await.unwrap();
        assert_eq!(queue.depth().await.unwrap(), Depth::default());
    }

    #[tokio::test]
    async fn a_closed_queue_refuses_jobs_and_ends_receivers_once_drained() {
        let queue = MemoryQueue::new();
        queue.enqueue(&job("held")).await.unwrap();
        let held = queue.receive("a").await.unwrap().unwrap();
        queue.close();
        assert_eq!(
            queue.enqueue(&job("late")).await.unwrap_err().kind(),
            QueueErrorKind::Closed
        );
        let waiting = tokio::spawn({
            let queue = queue.clone();
            async move { queue.receive("b").await }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "a job is still held");
        // The held job fails transiently: it is retried even after close.
        queue.retry(&held, Duration::ZERO).await.unwrap();
        let again = waiting.await.unwrap().unwrap().unwrap();
        assert_eq!(again.job().event_id(), Some("held"));
        queue.ack(&again).await.unwrap();
        assert!(queue.receive("b").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn the_oldest_dead_letter_makes_room() {
        let queue = MemoryQueue::builder()
            .dead_letter_capacity(2)
            .build()
            .unwrap();
        for id in ["a", "b", "c"] {
            queue.enqueue(&job(id)).await.unwrap();
            let received = queue.receive("c").await.unwrap().unwrap();
            queue
                .dead_letter(&received, DeadLetterKind::Exhausted, "boom")
                .await
                .unwrap();
        }
        let dead = queue.dead_letters(10).await.unwrap();
        let ids: Vec<_> = dead.iter().map(|d| d.job().event_id().unwrap()).collect();
        assert_eq!(ids, ["b", "c"]);
        assert_eq!(
            MemoryQueue::builder().capacity(0).build().unwrap_err(),
            ConfigError::ZeroCapacity
        );
    }
}
