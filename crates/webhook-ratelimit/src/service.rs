use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_service::Service;
use webhook_core::{KeyExtractor, MissingKeyPolicy, RequestHead, ResponseBody};

use crate::backend::{Allowance, CheckKind};
use crate::future::ResponseFuture;
use crate::layer::{Core, Limiter, Outcome};
use crate::{Global, Key, RateLimitLayer, RateLimitRejection};

/// The service built by [`RateLimitLayer`]; see there.
///
/// Requests within the quota reach the inner service unchanged. The others get a
/// response from this service (429, or the gRPC mapping); it never returns an error of
/// its own and is ready whenever the inner service is.
pub struct RateLimit<S, K = Global> {
    inner: S,
    key: Arc<K>,
    core: Arc<Core>,
}

impl<S, K> RateLimit<S, K> {
    pub(crate) fn from_parts(inner: S, key: Arc<K>, core: Arc<Core>) -> Self {
        Self { inner, key, core }
    }

    /// Wraps `inner` with the limiter of `layer` (sharing its state).
    pub fn new(inner: S, layer: &RateLimitLayer<K>) -> Self {
        tower_layer::Layer::layer(layer, inner)
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

impl<S: Clone, K> Clone for RateLimit<S, K> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            key: self.key.clone(),
            core: self.core.clone(),
        }
    }
}

impl<S: fmt::Debug, K: fmt::Debug> fmt::Debug for RateLimit<S, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimit")
            .field("inner", &self.inner)
            .field("key", &self.key)
            .field("backend", self.core.limiter())
            .finish_non_exhaustive()
    }
}

impl<S, K, ReqBody, ResBody> Service<Request<ReqBody>> for RateLimit<S, K>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
    K: KeyExtractor<Key>,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S, ReqBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    #[inline]
    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let Some(key) = self.key.extract(&RequestHead::new(&request)) else {
            return self.without_key(request);
        };
        // The in-memory backend decides at once, without dynamic dispatch: the path of
        // every allowed request. The other cases are out of line.
        let Limiter::Memory(memory) = self.core.limiter() else {
            return self.call_backend(key, request);
        };
        match memory.check_in_memory(&key) {
            Ok(_) if !self.core.headers_on_success() => {
                ResponseFuture::inner(self.inner.call(request))
            }
            Ok(allowance) => self.forward_with_headers(&allowance, request),
            Err(retry_after) => {
                ResponseFuture::respond(self.core.limited(retry_after, &request, Some(&key)))
            }
        }
    }
}

impl<S, K> RateLimit<S, K> {
    /// An allowed request, when the layer adds `RateLimit-Policy` and `RateLimit` to
    /// its response.
    #[inline(never)]
    fn forward_with_headers<ReqBody, ResBody>(
        &mut self,
        allowance: &Allowance,
        request: Request<ReqBody>,
    ) -> ResponseFuture<S, ReqBody>
    where
        S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    {
        let headers = self.core.success_headers(allowance);
        ResponseFuture::forward(self.inner.call(request), headers)
    }

    /// Any backend but the in-memory one: through [`Backend::check`](crate::Backend::check).
    #[inline(never)]
    fn call_backend<ReqBody, ResBody>(
        &mut self,
        key: Key,
        request: Request<ReqBody>,
    ) -> ResponseFuture<S, ReqBody>
    where
        S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
    {
        match self.core.limiter().as_backend().check(&key).0 {
            CheckKind::Ready(decision) => match self.core.decide(decision, &request, Some(&key)) {
                Outcome::Forward(headers) => {
                    ResponseFuture::forward(self.inner.call(request), headers)
                }
                Outcome::Respond(response) => ResponseFuture::respond(response),
            },
            CheckKind::Pending(check) => {
                // Call the instance that was polled ready, keep a fresh clone for the next call.
                let clone = self.inner.clone();
                let inner = std::mem::replace(&mut self.inner, clone);
                ResponseFuture::checking(check, request, inner, key, self.core.clone())
            }
        }
    }

    /// A request without a key: the layer's [`MissingKeyPolicy`].
    #[inline(never)]
    fn without_key<ReqBody, ResBody>(
        &mut self,
        request: Request<ReqBody>,
    ) -> ResponseFuture<S, ReqBody>
    where
        S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    {
        match self.core.missing_key() {
            MissingKeyPolicy::PassThrough => {
                ResponseFuture::forward(self.inner.call(request), None)
            }
            MissingKeyPolicy::Reject => {
                tracing::warn!(
                    method = %request.method(),
                    path = request.uri().path(),
                    "rate limit: the request has no key (is the layer placed after the one that provides it?)"
                );
                let response = self.core.reject(&RateLimitRejection::MissingKey, &request);
                ResponseFuture::respond(response)
            }
        }
    }
}
