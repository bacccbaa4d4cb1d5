use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderValue, Request, Response, StatusCode};
use tower_service::Service;
use webhook_core::{RenderRejection, VerifiedDelivery};

use crate::metrics::{Metrics, NoopMetrics};
use crate::{ConfigError, Job, Queue, QueueErrorKind, QueueRejection};

/// The default `Retry-After` of a 503: 5 seconds.
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(5);

/// The enqueue service: stores each verified delivery as a [`Job`] and answers 202.
///
/// Use it as the innermost service, behind the signature layer (it reads the
/// [`VerifiedDelivery`] marker, not the body) and the idempotency layer (which then
/// records the 202 and replays it to duplicates, so a duplicate is not queued twice).
/// With axum: `Router::new().route_service("/webhooks", enqueue)`.
///
/// | the request | the answer |
/// |---|---|
/// | has the marker, the queue stored the job | 202, `{"status":"queued","event_id":...,"job_id":...}`, sent only after the store answered |
/// | the queue is full | 503 `queue_full`, `Retry-After` |
/// | the queue is closed (shutting down) | 503 `queue_closed`, `Retry-After` |
/// | the backend failed or timed out | 503 `queue_unavailable`, `Retry-After` |
/// | no marker | 500 `missing_verified_delivery`: the signature layer is missing |
///
/// The service is always ready (a full queue is answered, not waited for), never
/// fails (`Error = Infallible`), and clones share the queue.
pub struct Enqueue<Q> {
    config: Arc<Config<Q>>,
}

struct Config<Q> {
    queue: Q,
    retry_after: u64,
    metrics: Arc<dyn Metrics>,
    on_rejection: Option<RenderRejection<QueueRejection>>,
}

impl<Q: Queue> Enqueue<Q> {
    /// An enqueue service on `queue` with the defaults.
    pub fn new(queue: Q) -> Self {
        Self::builder(queue)
            .build()
            .expect("the defaults are valid")
    }

    /// Options: `Retry-After`, metrics, custom rejection responses.
    pub fn builder(queue: Q) -> EnqueueBuilder<Q> {
        EnqueueBuilder {
            queue,
            retry_after: DEFAULT_RETRY_AFTER,
            metrics: Arc::new(NoopMetrics),
            on_rejection: None,
        }
    }

    /// The queue.
    pub fn queue(&self) -> &Q {
        &self.config.queue
    }
}

impl<Q> Clone for Enqueue<Q> {
    fn clone(&self) -> Self {
        Self {
            config: self.config.clone(),
        }
    }
}

impl<Q: fmt::Debug> fmt::Debug for Enqueue<Q> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Enqueue")
            .field("queue", &self.config.queue)
            .field("retry_after", &self.config.retry_after)
            .finish_non_exhaustive()
    }
}

/// Configures an [`Enqueue`] service; [`build`](Self::build) checks the settings.
///
/// ```
/// use std::time::Duration;
/// use webhook_queue::{ConfigError, Enqueue, MemoryQueue};
///
/// let enqueue = Enqueue::builder(MemoryQueue::new())
///     .retry_after(Duration::from_secs(30))
///     .build()
///     .unwrap();
/// # drop(enqueue);
/// let error = Enqueue::builder(MemoryQueue::new())
///     .retry_after(Duration::from_millis(10))
///     .build()
///     .unwrap_err();
/// assert_eq!(error, ConfigError::RetryAfterTooShort);
/// ```
#[must_use]
pub struct EnqueueBuilder<Q> {
    queue: Q,
    retry_after: Duration,
    metrics: Arc<dyn Metrics>,
    on_rejection: Option<RenderRejection<QueueRejection>>,
}

impl<Q: Queue> EnqueueBuilder<Q> {
    /// The `Retry-After` of every 503 (default [`DEFAULT_RETRY_AFTER`]; whole seconds,
    /// rounded up; at least 1 s).
    pub fn retry_after(mut self, retry_after: Duration) -> Self {
        self.retry_after = retry_after;
        self
    }

    /// Where to report enqueued jobs and refusals.
    pub fn metrics(mut self, metrics: Arc<dyn Metrics>) -> Self {
        self.metrics = metrics;
        self
    }

    /// Replaces the default `application/problem+json` rejection responses.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use webhook_core::Rejection;
    /// use webhook_queue::{Enqueue, MemoryQueue};
    ///
    /// let enqueue = Enqueue::builder(MemoryQueue::new())
    ///     .on_rejection(|rejection| {
    ///         let mut response = http::Response::new(Bytes::from(rejection.code()));
    ///         *response.status_mut() = rejection.status();
    ///         response
    ///     })
    ///     .build()
    ///     .unwrap();
    /// # drop(enqueue);
    /// ```
    pub fn on_rejection<F>(mut self, render: F) -> Self
    where
        F: Fn(&QueueRejection) -> Response<Bytes> + Send + Sync + 'static,
    {
        self.on_rejection = Some(Arc::new(render));
        self
    }

    /// Checks the settings and builds the service.
    pub fn build(self) -> Result<Enqueue<Q>, ConfigError> {
        if self.retry_after < Duration::from_secs(1) {
            return Err(ConfigError::RetryAfterTooShort);
        }
        let seconds = self.retry_after.as_secs() + u64::from(self.retry_after.subsec_nanos() > 0);
        Ok(Enqueue {
            config: Arc::new(Config {
                queue: self.queue,
                retry_after: seconds,
                metrics: self.metrics,
                on_rejection: self.on_rejection,
            }),
        })
    }
}

impl<Q> fmt::Debug for EnqueueBuilder<Q> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnqueueBuilder")
            .field("retry_after", &self.retry_after)
            .finish_non_exhaustive()
    }
}

impl<Q: Queue> Config<Q> {
    fn reject(&self, rejection: &QueueRejection, grpc: bool) -> Response<EnqueueBody> {
        if !matches!(rejection, QueueRejection::Unverified) {
            self.metrics.enqueue_rejected(rejection);
        }
        webhook_core::refuse_with("queue", rejection, grpc, self.on_rejection.as_ref())
            .map(EnqueueBody::new)
    }

    async fn enqueue(&self, job: Job, grpc: bool) -> Response<EnqueueBody> {
        let retry_after_seconds = self.retry_after;
        match self.queue.enqueue(&job).await {
            Ok(()) => {
                self.metrics.enqueued(&job);
                tracing::debug!(
                    job_id = %job.id(),
                    event_id = job.event_id().unwrap_or("-"),
                    "delivery queued"
                );
                accepted(&job)
            }
            Err(error) => {
                let rejection = match error.kind() {
                    QueueErrorKind::Full => QueueRejection::QueueFull {
                        retry_after_seconds,
                    },
                    QueueErrorKind::Closed => QueueRejection::QueueClosed {
                        retry_after_seconds,
                    },
                    _ => QueueRejection::QueueUnavailable {
                        retry_after_seconds,
                    },
                };
                tracing::warn!(
                    %error,
                    event_id = job.event_id().unwrap_or("-"),
                    "cannot queue the delivery: refused, the sender will retry"
                );
                self.reject(&rejection, grpc)
            }
        }
    }
}

fn accepted(job: &Job) -> Response<EnqueueBody> {
    let body = serde_json::json!({
        "status": "queued",
        "event_id": job.event_id(),
        "job_id": job.id().as_str(),
    });
    let mut response = Response::new(EnqueueBody::new(Bytes::from(body.to_string())));
    *response.status_mut() = StatusCode::ACCEPTED;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

impl<Q, B> Service<Request<B>> for Enqueue<Q>
where
    Q: Queue,
{
    type Response = Response<EnqueueBody>;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let config = self.config.clone();
        let grpc = webhook_core::is_grpc(request.headers());
        let Some(delivery) = request.extensions().get::<VerifiedDelivery>() else {
            return ResponseFuture::ready(config.reject(&QueueRejection::Unverified, grpc));
        };
        // The body is not read: the marker holds the verified bytes.
        let job = Job::from_delivery(delivery);
        drop(request);
        ResponseFuture {
            inner: Box::pin(async move { Ok(config.enqueue(job, grpc).await) }),
        }
    }
}

/// The future of [`Enqueue`]'s responses.
pub struct ResponseFuture {
    inner: Pin<Box<dyn Future<Output = Result<Response<EnqueueBody>, Infallible>> + Send>>,
}

impl ResponseFuture {
    fn ready(response: Response<EnqueueBody>) -> Self {
        Self {
            inner: Box::pin(std::future::ready(Ok(response))),
        }
    }
}

impl Future for ResponseFuture {
    type Output = Result<Response<EnqueueBody>, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.as_mut().poll(cx)
    }
}

impl fmt::Debug for ResponseFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

/// The body of [`Enqueue`]'s responses: the 202's JSON or a rejection, in one frame.
pub type EnqueueBody = webhook_core::BytesBody;

#[cfg(test)]
mod tests {
    use webhook_core::Rejection;

    use super::*;
    use crate::MemoryQueue;
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    use webhook_core::KeyId;

    fn verified(body: &'static str, event_id: Option<&str>) -> Request<()> {
        let mut delivery = VerifiedDelivery::new(
            "hopnow",
            KeyId::from("current"),
            Bytes::from_static(body.as_bytes()),
        );
        if let Some(id) = event_id {
            delivery = delivery.with_event_id(id);
        }
        let mut request = Request::post("/webhooks").body(()).unwrap();
        request.extensions_mut().insert(delivery);
        request
    }

    async fn json(response: Response<EnqueueBody>) -> serde_json::Value {
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn a_verified_delivery_is_queued_then_answered_202() {
        let queue = MemoryQueue::new();
        let enqueue = Enqueue::new(queue.clone());
        let response = enqueue
            .oneshot(verified(r#"{"id":"evt_body"}"#, Some("msg_1")))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        assert_eq!(response.headers()["content-type"], "application/json");
        let body = json(response).await;
        assert_eq!(body["status"], "queued");
        assert_eq!(body["event_id"], "msg_1");

        let received = queue.receive("c").await.unwrap().unwrap();
        let job = received.job();
        assert_eq!(body["job_id"], job.id().as_str());
        assert_eq!(job.event_id(), Some("msg_1"));
        assert_eq!(job.scheme(), "hopnow");
        assert_eq!(job.key_id().as_str(), "current");
        assert_eq!(job.body(), r#"{"id":"evt_body"}"#);
        assert_eq!(job.attempts(), 0);
    }

    #[tokio::test]
    async fn without_the_marker_the_request_is_refused_and_nothing_queued() {
        let queue = MemoryQueue::new();
        let request = Request::post("/webhooks").body(()).unwrap();
        let response = Enqueue::new(queue.clone()).oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        assert_eq!(json(response).await["code"], "missing_verified_delivery");
        assert_eq!(queue.depth().await.unwrap().unfinished(), 0);
    }

    #[tokio::test]
    async fn a_custom_rejection_replaces_the_problem_body() {
        let enqueue = Enqueue::builder(MemoryQueue::builder().capacity(1).build().unwrap())
            .retry_after(Duration::from_millis(1500))
            .on_rejection(|rejection| {
                let mut response = Response::new(Bytes::from(rejection.code()));
                *response.status_mut() = rejection.status();
                response
            })
            .build()
            .unwrap();
        let first = enqueue.clone().oneshot(verified("{}", None)).await.unwrap();
        assert_eq!(first.status(), StatusCode::ACCEPTED);
        assert_eq!(json(first).await["event_id"], serde_json::Value::Null);
        let full = enqueue.oneshot(verified("{}", None)).await.unwrap();
        assert_eq!(full.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body = full.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, "queue_full");
    }

    #[test]
    fn retry_after_is_rounded_up_to_whole_seconds() {
        let enqueue = Enqueue::builder(MemoryQueue::new())
            .retry_after(Duration::from_millis(1500))
            .build()
            .unwrap();
        assert_eq!(enqueue.config.retry_after, 2);
    }
}
