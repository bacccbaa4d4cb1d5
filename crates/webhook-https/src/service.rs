use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_service::Service;
use webhook_core::ResponseBody;

use crate::layer::Config;
use crate::{RequireHttpsLayer, ResponseFuture};

/// The service built by [`RequireHttpsLayer`]; see there.
///
/// Requests that arrived over TLS reach the inner service unchanged; the others get a
/// 403 from this service. It never returns an error of its own and is ready whenever
/// the inner service is.
pub struct RequireHttps<S> {
    inner: S,
    config: Arc<Config>,
}

impl<S> RequireHttps<S> {
    /// Wraps `inner` with the guard of `layer`.
    pub fn new(inner: S, layer: &RequireHttpsLayer) -> Self {
        Self::from_config(inner, layer.config().clone())
    }

    /// A guard with the defaults of [`RequireHttpsLayer::new`].
    pub fn layer() -> RequireHttpsLayer {
        RequireHttpsLayer::new()
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

impl<S: Clone> Clone for RequireHttps<S> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            config: self.config.clone(),
        }
    }
}

impl<S: fmt::Debug> fmt::Debug for RequireHttps<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequireHttps")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for RequireHttps<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        match self
            .config
            .check(request.uri(), request.headers(), request.extensions())
        {
            Ok(_) => ResponseFuture::inner(self.inner.call(request)),
            Err(refusal) => ResponseFuture::rejected(self.config.refuse(&request, &refusal)),
        }
    }
}
