use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use http::{Request, Response};
use tower_service::Service;

use crate::layer::Config;
use crate::{ObserveLayer, ResponseFuture};

/// The service built by [`ObserveLayer`]; see there.
///
/// Passes requests and responses through unchanged (same body types, same errors),
/// counting each request when it is called and recording its outcome when the
/// response (or the error) comes back. It reads no request header.
pub struct Observe<S> {
    inner: S,
    config: Arc<Config>,
}

impl<S> Observe<S> {
    /// Wraps `inner` with the defaults of [`ObserveLayer::new`].
    pub fn new(inner: S) -> Self {
        tower_layer::Layer::layer(&ObserveLayer::new(), inner)
    }

    /// A layer with the defaults of [`ObserveLayer::new`].
    pub fn layer() -> ObserveLayer {
        ObserveLayer::new()
    }

    pub(crate) fn from_config(inner: S, config: Arc<Config>) -> Self {
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

impl<S: Clone> Clone for Observe<S> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            config: self.config.clone(),
        }
    }
}

impl<S: fmt::Debug> fmt::Debug for Observe<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Observe")
            .field("inner", &self.inner)
            .field("metrics", &self.config.metrics)
            .field("tracing", &self.config.tracing)
            .finish_non_exhaustive()
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Observe<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let start = Instant::now();
        self.config.received();
        let span = self.config.span();
        // Inner layers that log while being called (before their future runs) log in
        // the delivery's span too.
        let future = {
            let _entered = span.enter();
            self.inner.call(request)
        };
        ResponseFuture::new(future, span, start, self.config.clone())
    }
}
