use std::fmt;
use std::future::poll_fn;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::header::CONTENT_LENGTH;
use http::{HeaderName, HeaderValue, Request, Response};
use http_body::Body;
use http_body_util::BodyExt;
use tokio::sync::oneshot;
use tokio::time::Instant;
use tower_service::Service;
use webhook_core::{IDEMPOTENT_REPLAYED, RequestHead, ResponseBody, VerifiedDelivery};

use crate::layer::Config;
use crate::lease::{Lease, heartbeat, while_beating};
use crate::store::{Claim, Completion, Store, StoreErrorKind, StoredResponse, Token};
use crate::{
    ClientErrorPolicy, IdempotencyLayer, IdempotencyRejection, MissingKeyPolicy, ResponseFuture,
    StoreErrorPolicy,
};

/// The service built by [`IdempotencyLayer`]; see there.
///
/// The inner service receives the request unchanged, but for a [`Lease`] in its
/// extensions when the [heartbeat](crate::IdempotencyLayerBuilder::heartbeat) is on;
/// its response body is wrapped in [`ResponseBody`] (replays and rejections use the
/// layer's own bodies).
pub struct Idempotency<S, St> {
    inner: S,
    config: Arc<Config<St>>,
}

impl<S, St: Store> Idempotency<S, St> {
    /// Wraps `inner` with the defaults of [`IdempotencyLayer::new`].
    pub fn new(inner: S, store: St) -> Self {
        tower_layer::Layer::layer(&IdempotencyLayer::new(store), inner)
    }

    /// A layer on `store` with the defaults.
    pub fn layer(store: St) -> IdempotencyLayer<St> {
        IdempotencyLayer::new(store)
    }
}

impl<S, St> Idempotency<S, St> {
    pub(crate) fn from_config(inner: S, config: Arc<Config<St>>) -> Self {
        Self { inner, config }
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: Clone, St> Clone for Idempotency<S, St> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            config: self.config.clone(),
        }
    }
}

impl<S: fmt::Debug, St> fmt::Debug for Idempotency<S, St> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Idempotency")
            .field("inner", &self.inner)
            .field("lease", &self.config.lease)
            .field("retention", &self.config.retention)
            .finish_non_exhaustive()
    }
}

impl<S, St, ReqBody, ResBody> Service<Request<ReqBody>> for Idempotency<S, St>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    St: Store,
    ReqBody: Send + 'static,
    ResBody: Body<Data = Bytes> + Send + 'static,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        // Call the instance that was polled ready, keep a fresh clone for the next call.
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let config = self.config.clone();
        let grpc = webhook_core::is_grpc(request.headers());

        let Some(delivery) = request.extensions().get::<VerifiedDelivery>() else {
            return ResponseFuture::ready(rejected(
                &config,
                &IdempotencyRejection::Unverified,
                grpc,
            ));
        };
        match config.key(&RequestHead::new(&request), delivery) {
            Ok(Some(key)) => ResponseFuture::new(process(config, inner, request, key)),
            Ok(None) => match config.missing_key {
                MissingKeyPolicy::PassThrough => ResponseFuture::new(pass_through(inner, request)),
                MissingKeyPolicy::Reject => ResponseFuture::ready(rejected(
                    &config,
                    &IdempotencyRejection::MissingEventId,
                    grpc,
                )),
            },
            Err(rejection) => ResponseFuture::ready(rejected(&config, &rejection, grpc)),
        }
    }
}

fn rejected<St, B, E>(
    config: &Config<St>,
    rejection: &IdempotencyRejection,
    grpc: bool,
) -> Result<Response<ResponseBody<B>>, E> {
    Ok(config.reject(rejection, grpc).map(ResponseBody::full))
}

async fn pass_through<S, ReqBody, ResBody>(
    mut inner: S,
    request: Request<ReqBody>,
) -> Result<Response<ResponseBody<ResBody>>, S::Error>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    let response = inner.call(request).await?;
    Ok(response.map(ResponseBody::new))
}

/// Releases a claim when dropped while armed: the handler's future was dropped (the
/// client went away, a timeout fired, a panic unwound), so the sender's retry must be
/// processed. The release runs on the current Tokio runtime, in the background.
struct ReleaseGuard<St: Store> {
    config: Arc<Config<St>>,
    key: String,
    token: Token,
    armed: bool,
}

impl<St: Store> ReleaseGuard<St> {
    fn disarm(&mut self) {
        self.armed = false;
    }

    /// Releases now, staying armed until the store answered (a drop meanwhile
    /// releases in the background instead).
    async fn release(&mut self) {
        if self.armed {
            if let Err(error) = self.config.store.release(&self.key, self.token).await {
                tracing::warn!(%error, "cannot release the claim: it frees itself when the lease ends");
            }
        }
        self.disarm();
    }
}

impl<St: Store> Drop for ReleaseGuard<St> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!(
                "no Tokio runtime to release a dropped claim: it frees itself when the lease ends"
            );
            return;
        };
        let config = self.config.clone();
        let key = std::mem::take(&mut self.key);
        let token = self.token;
        tracing::debug!(key, "handler dropped before answering: releasing the claim");
        runtime.spawn(async move {
            if let Err(error) = config.store.release(&key, token).await {
                tracing::warn!(%error, "cannot release a dropped claim: it frees itself when the lease ends");
            }
        });
    }
}

fn retry_after_seconds(duration: Duration) -> u64 {
    let seconds = duration.as_secs() + u64::from(duration.subsec_nanos() > 0);
    seconds.max(1)
}

/// What the handler's answer asks of the claim.
enum Handled<B> {
    /// Record it: the response to send, and the record.
    Record(Response<ResponseBody<B>>, StoredResponse),
    /// Release it: the response to send.
    Release(Response<B>),
}

async fn process<S, St, ReqBody, ResBody>(
    config: Arc<Config<St>>,
    mut inner: S,
    mut request: Request<ReqBody>,
    key: String,
) -> Result<Response<ResponseBody<ResBody>>, S::Error>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    St: Store,
    ResBody: Body<Data = Bytes>,
{
    let grpc = webhook_core::is_grpc(request.headers());
    let token = Token::generate();
    // The lease runs from the claim, which is sent after this instant: the claim is
    // still held at `lease_end`, unless another request took the event meanwhile.
    let lease_end = Instant::now() + config.lease;
    // Armed before the claim is sent: if this future is dropped while the claim is in
    // flight, the claim may land, and must be released.
    let mut guard = ReleaseGuard {
        config: config.clone(),
        key,
        token,
        armed: true,
    };
    let held = match config.store.claim(&guard.key, token, config.lease).await {
        Ok(Claim::Acquired) => true,
        Ok(Claim::InFlight { remaining }) => {
            guard.disarm();
            let rejection = IdempotencyRejection::InFlight {
                retry_after_seconds: retry_after_seconds(remaining),
            };
            return rejected(&config, &rejection, grpc);
        }
        Ok(Claim::Done(stored)) => {
            guard.disarm();
            tracing::debug!(
                key = guard.key,
                "duplicate delivery: replaying the recorded response"
            );
            return Ok(replay(stored));
        }
        Err(error) => match config.store_errors {
            StoreErrorPolicy::Reject => {
                tracing::warn!(%error, "idempotency store failed: the delivery is refused, the sender will retry");
                if matches!(error.kind(), StoreErrorKind::Full | StoreErrorKind::Corrupt) {
                    // The store answered: nothing was written. After a timeout or a
                    // lost connection the claim may have landed; the guard releases it
                    // in the background (or it frees itself with its lease).
                    guard.disarm();
                }
                let rejection = IdempotencyRejection::StoreUnavailable {
                    retry_after_seconds: retry_after_seconds(config.store_retry_after),
                };
                return rejected(&config, &rejection, grpc);
            }
            StoreErrorPolicy::PassThrough => {
                tracing::warn!(%error, "idempotency store failed: processing the delivery without deduplication");
                false
            }
        },
    };

    // The heartbeat's state, and the handler's view of it, for a claim held.
    let lease = (held && config.heartbeat).then(|| {
        let (state, lease) = Lease::held_until(lease_end);
        request.extensions_mut().insert(lease);
        state
    });
    let work = async {
        let response = inner.call(request).await?;
        let status = response.status();
        let record = status.is_success()
            || (status.is_client_error() && config.client_errors == ClientErrorPolicy::Record);
        Ok::<_, S::Error>(if record {
            let (response, stored) = capture(response, &config).await;
            Handled::Record(response, stored)
        } else {
            Handled::Release(response)
        })
    };
    let handled = match &lease {
        Some(state) => {
            let beat = heartbeat(&config.store, &guard.key, token, config.lease, state);
            while_beating(work, beat).await
        }
        None => work.await,
    };
    // Past the last extension that landed, another request may hold the event.
    let lease_end = match lease {
        Some(state) => (*state.borrow()).unwrap_or_else(Instant::now),
        None => lease_end,
    };
    let (response, stored) = match handled {
        Ok(Handled::Record(response, stored)) => (response, stored),
        Ok(Handled::Release(response)) => {
            guard.release().await;
            return Ok(response.map(ResponseBody::new));
        }
        Err(error) => {
            guard.release().await;
            return Err(error);
        }
    };
    // From here the recording task owns the claim: a release would let a retry run
    // the handler again.
    guard.disarm();
    let key = std::mem::take(&mut guard.key);
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        // No Tokio runtime to wait or spawn on: one try.
        let (first_try, _) = oneshot::channel();
        write_record(config, key, token, stored, Instant::now(), first_try).await;
        return Ok(response);
    };
    let (first_try, tried) = oneshot::channel();
    let mut write = Box::pin(write_record(
        config, key, token, stored, lease_end, first_try,
    ));
    // Tried here first: a store that answers at once (the in-memory one) is done
    // without a task to spawn and schedule. One that is still writing continues in a
    // task of its own, so a sender hanging up (the response future dropped) cancels
    // neither the write nor its retries. The response waits for the first try only:
    // then a duplicate gets the record replayed, or, while the write is retried, 409.
    if poll_fn(|cx| Poll::Ready(write.as_mut().poll(cx)))
        .await
        .is_pending()
    {
        runtime.spawn(write);
        let _ = tried.await;
    }
    Ok(response)
}

/// The first pause between two tries of a failed record write; doubled each time.
const FIRST_RECORD_RETRY: Duration = Duration::from_millis(50);
/// The longest pause between two tries of a failed record write.
const MAX_RECORD_RETRY: Duration = Duration::from_secs(1);

/// Records the processed delivery, and signals `first_try` once the first write
/// answered or failed.
///
/// The handler has run: if the record is lost, the claim expires with its lease and
/// a retry runs the handler again. So a write that failed for want of the store
/// (unreachable, timed out: Redis restarting) is tried again, pausing 50 ms and
/// doubling up to 1 s, until `lease_end`; past it another request may hold the event,
/// and the record would be fenced anyway.
async fn write_record<St: Store>(
    config: Arc<Config<St>>,
    key: String,
    token: Token,
    stored: StoredResponse,
    lease_end: Instant,
    first_try: oneshot::Sender<()>,
) {
    let mut first_try = Some(first_try);
    let mut pause = FIRST_RECORD_RETRY;
    let mut failed = 0u32;
    loop {
        let outcome = config
            .store
            .complete(&key, token, &stored, config.retention)
            .await;
        if let Some(first_try) = first_try.take() {
            let _ = first_try.send(());
        }
        match outcome {
            Ok(Completion::Recorded) => {
                if failed > 0 {
                    tracing::info!(
                        key,
                        failed,
                        "recorded the processed delivery after retrying"
                    );
                }
                return;
            }
            Ok(Completion::Fenced) if failed > 0 => {
                tracing::warn!(
                    key,
                    failed,
                    "the processed delivery is recorded already, most likely by a try whose \
                     answer was lost; or the lease ran out and another request took the event"
                );
                return;
            }
            Ok(Completion::Fenced) => {
                tracing::warn!(
                    key,
                    lease = ?config.lease,
                    "the handler finished after its lease ran out and another request took the event: \
                     it may have been processed twice; use a longer lease"
                );
                return;
            }
            Err(error) => {
                failed += 1;
                let transient = matches!(
                    error.kind(),
                    StoreErrorKind::Unavailable | StoreErrorKind::Timeout
                );
                if !transient || Instant::now() + pause >= lease_end {
                    tracing::error!(
                        %error,
                        key,
                        failed,
                        "cannot record the processed delivery: a retry after the lease ends \
                         would be processed again"
                    );
                    return;
                }
                tracing::warn!(%error, key, "cannot record the processed delivery yet: retrying");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(MAX_RECORD_RETRY);
            }
        }
    }
}

/// Splits the handler's response into the response to send and the record to keep,
/// reading a small body into memory.
async fn capture<St, B>(
    response: Response<B>,
    config: &Config<St>,
) -> (Response<ResponseBody<B>>, StoredResponse)
where
    B: Body<Data = Bytes>,
{
    let (mut parts, body) = response.into_parts();
    let record = |body| stored(&parts, &config.replay_headers, body);
    let small = body
        .size_hint()
        .upper()
        .is_some_and(|upper| upper <= config.max_stored_body as u64);
    if !small {
        let stored = record(Bytes::new());
        return (Response::from_parts(parts, ResponseBody::new(body)), stored);
    }
    match collect(body, config.max_stored_body).await {
        Ok(Some(bytes)) => {
            let stored = record(bytes.clone());
            (
                Response::from_parts(parts, ResponseBody::full(bytes)),
                stored,
            )
        }
        Ok(None) => {
            // The body broke its size hint: send what was read, keep no body.
            tracing::warn!("response body larger than its size hint: recorded without body");
            let stored = record(Bytes::new());
            parts.headers.remove(CONTENT_LENGTH);
            (
                Response::from_parts(parts, ResponseBody::full(Bytes::new())),
                stored,
            )
        }
        Err(()) => {
            tracing::warn!("the handler's response body failed: recorded and sent without body");
            let stored = record(Bytes::new());
            parts.headers.remove(CONTENT_LENGTH);
            (
                Response::from_parts(parts, ResponseBody::full(Bytes::new())),
                stored,
            )
        }
    }
}

/// The record of a response: its status, the headers of `names` it has, and `body`.
fn stored(parts: &http::response::Parts, names: &[HeaderName], body: Bytes) -> StoredResponse {
    let mut stored = StoredResponse::new(parts.status).with_body(body);
    for name in names {
        for value in parts.headers.get_all(name) {
            stored = stored.with_header(name.clone(), value.clone());
        }
    }
    stored
}

/// Reads the whole body; `Ok(None)` if it turned out larger than `limit`.
async fn collect<B: Body<Data = Bytes>>(body: B, limit: usize) -> Result<Option<Bytes>, ()> {
    let mut body = std::pin::pin!(body);
    let mut first: Option<Bytes> = None;
    let mut rest = BytesMut::new();
    let mut total = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| ())?;
        let Ok(data) = frame.into_data() else {
            continue; // trailers are not recorded
        };
        total += data.len();
        if total > limit {
            return Ok(None);
        }
        match &first {
            None if rest.is_empty() => first = Some(data),
            _ => {
                if let Some(first) = first.take() {
                    rest.extend_from_slice(&first);
                }
                rest.extend_from_slice(&data);
            }
        }
    }
    Ok(Some(first.unwrap_or_else(|| rest.freeze())))
}

fn replay<B>(stored: StoredResponse) -> Response<ResponseBody<B>> {
    let (status, headers, body) = stored.into_parts();
    let mut response = Response::new(ResponseBody::full(body));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response.headers_mut().insert(
        IDEMPOTENT_REPLAYED.clone(),
        HeaderValue::from_static("true"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_seconds(Duration::ZERO), 1);
        assert_eq!(retry_after_seconds(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_seconds(Duration::from_millis(1000)), 1);
        assert_eq!(retry_after_seconds(Duration::from_millis(1001)), 2);
        assert_eq!(retry_after_seconds(Duration::from_secs(59)), 59);
    }

    #[tokio::test]
    async fn bodies_are_collected_in_one_piece_or_refused_over_the_limit() {
        let one = http_body_util::Full::new(Bytes::from_static(b"hello"));
        assert_eq!(
            collect(one, 5).await,
            Ok(Some(Bytes::from_static(b"hello")))
        );
        let one = http_body_util::Full::new(Bytes::from_static(b"hello"));
        assert_eq!(collect(one, 4).await, Ok(None));
        let empty = http_body_util::Empty::<Bytes>::new();
        assert_eq!(collect(empty, 0).await, Ok(Some(Bytes::new())));
    }
}
