//! [`DynQueue`]: the object-safe face of [`Queue`], to choose a queue at run time.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::{DeadLetter, DeadLetterKind, Depth, Job, Queue, QueueError, Received};

/// The future a [`DynQueue`] operation returns.
pub type QueueFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, QueueError>> + Send + 'a>>;

/// A [`Queue`] usable as `Arc<dyn DynQueue>`, to pick the backend from configuration
/// with one code path.
///
/// [`Queue`] returns `impl Future`, so the enqueue service and the workers call a
/// concrete queue without boxing, but `dyn Queue` cannot exist. Every queue is a
/// `DynQueue` (a blanket impl boxes its futures), and `Arc<dyn DynQueue>` is a
/// [`Queue`] again, so it goes wherever a queue does:
///
/// ```
/// use std::sync::Arc;
/// use webhook_queue::{DynQueue, Enqueue, Job, MemoryQueue, Queue};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// // The backend named in the configuration. With the `redis` feature, a `"redis"`
/// // arm gives `Arc::new(RedisQueue::new(connection).await?)`.
/// let backend = "memory";
/// let queue: Arc<dyn DynQueue> = match backend {
///     "memory" => Arc::new(MemoryQueue::new()),
///     other => panic!("unknown queue `{other}`"),
/// };
/// let enqueue = Enqueue::new(queue.clone());
/// # drop(enqueue);
///
/// queue.enqueue(&Job::new("{}").with_event_id("evt_1")).await.unwrap();
/// assert_eq!(queue.depth().await.unwrap().ready, 1);
/// let received = queue.receive("worker-0").await.unwrap().unwrap();
/// assert_eq!(received.job().event_id(), Some("evt_1"));
/// queue.ack(&received).await.unwrap();
/// assert_eq!(queue.depth().await.unwrap().unfinished(), 0);
/// # }
/// ```
///
/// The methods are prefixed `dyn_` so that a file that imports both traits can still
/// call [`Queue::enqueue`] on a concrete queue; call the [`Queue`] methods, which
/// `Arc<dyn DynQueue>` has too.
pub trait DynQueue: Send + Sync + 'static {
    /// [`Queue::enqueue`], boxed.
    fn dyn_enqueue<'a>(&'a self, job: &'a Job) -> QueueFuture<'a, ()>;

    /// [`Queue::receive`], boxed.
    fn dyn_receive<'a>(&'a self, consumer: &'a str) -> QueueFuture<'a, Option<Received>>;

    /// [`Queue::ack`], boxed.
    fn dyn_ack<'a>(&'a self, received: &'a Received) -> QueueFuture<'a, ()>;

    /// [`Queue::retry`], boxed.
    fn dyn_retry<'a>(&'a self, received: &'a Received, delay: Duration) -> QueueFuture<'a, ()>;

    /// [`Queue::dead_letter`], boxed.
    fn dyn_dead_letter<'a>(
        &'a self,
        received: &'a Received,
        kind: DeadLetterKind,
        error: &'a str,
    ) -> QueueFuture<'a, ()>;

    /// [`Queue::dead_letters`], boxed.
    fn dyn_dead_letters(&self, limit: usize) -> QueueFuture<'_, Vec<DeadLetter>>;

    /// [`Queue::replay`], boxed.
    fn dyn_replay<'a>(&'a self, id: &'a str) -> QueueFuture<'a, bool>;

    /// [`Queue::depth`], boxed.
    fn dyn_depth(&self) -> QueueFuture<'_, Depth>;

    /// [`Queue::close`].
    fn dyn_close(&self);

    /// [`Queue::is_closed`].
    fn dyn_is_closed(&self) -> bool;
}

impl<Q: Queue> DynQueue for Q {
    fn dyn_enqueue<'a>(&'a self, job: &'a Job) -> QueueFuture<'a, ()> {
        Box::pin(self.enqueue(job))
    }

    fn dyn_receive<'a>(&'a self, consumer: &'a str) -> QueueFuture<'a, Option<Received>> {
        Box::pin(self.receive(consumer))
    }

    fn dyn_ack<'a>(&'a self, received: &'a Received) -> QueueFuture<'a, ()> {
        Box::pin(self.ack(received))
    }

    fn dyn_retry<'a>(&'a self, received: &'a Received, delay: Duration) -> QueueFuture<'a, ()> {
        Box::pin(self.retry(received, delay))
    }

    fn dyn_dead_letter<'a>(
        &'a self,
        received: &'a Received,
        kind: DeadLetterKind,
        error: &'a str,
    ) -> QueueFuture<'a, ()> {
        Box::pin(self.dead_letter(received, kind, error))
    }

    fn dyn_dead_letters(&self, limit: usize) -> QueueFuture<'_, Vec<DeadLetter>> {
        Box::pin(self.dead_letters(limit))
    }

    fn dyn_replay<'a>(&'a self, id: &'a str) -> QueueFuture<'a, bool> {
        Box::pin(self.replay(id))
    }

    fn dyn_depth(&self) -> QueueFuture<'_, Depth> {
        Box::pin(self.depth())
    }

    fn dyn_close(&self) {
        self.close();
    }

    fn dyn_is_closed(&self) -> bool {
        self.is_closed()
    }
}

// `async fn`: the future borrows every argument (a boxed future names one lifetime).
impl Queue for Arc<dyn DynQueue> {
    async fn enqueue(&self, job: &Job) -> Result<(), QueueError> {
        (**self).dyn_enqueue(job).await
    }

    async fn receive(&self, consumer: &str) -> Result<Option<Received>, QueueError> {
        (**self).dyn_receive(consumer).await
    }

    async fn ack(&self, received: &Received) -> Result<(), QueueError> {
        (**self).dyn_ack(received).await
    }

    async fn retry(&self, received: &Received, delay: Duration) -> Result<(), QueueError> {
        (**self).dyn_retry(received, delay).await
    }

    async fn dead_letter(
        &self,
        received: &Received,
        kind: DeadLetterKind,
        error: &str,
    ) -> Result<(), QueueError> {
        (**self).dyn_dead_letter(received, kind, error).await
    }

    fn dead_letters(
        &self,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<DeadLetter>, QueueError>> + Send {
        (**self).dyn_dead_letters(limit)
    }

    async fn replay(&self, id: &str) -> Result<bool, QueueError> {
        (**self).dyn_replay(id).await
    }

    fn depth(&self) -> impl Future<Output = Result<Depth, QueueError>> + Send {
        (**self).dyn_depth()
    }

    fn close(&self) {
        (**self).dyn_close();
    }

    fn is_closed(&self) -> bool {
        (**self).dyn_is_closed()
    }
}
