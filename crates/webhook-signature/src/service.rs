use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use http_body::Body;
use tower_service::Service;
use webhook_core::{ResponseBody, VerifiedBody};

use crate::future::ResponseFuture;
use crate::handshake;
use crate::layer::Config;
use crate::read::ReadBody;
use crate::{BoxError, SignatureRejection, Verifier, VerifySignatureLayer};

/// The service built by [`VerifySignatureLayer`]; see there.
///
/// The inner service receives `Request<VerifiedBody>`: the original method, URI,
/// version, headers and extensions, the verified bytes as the body, and a
/// [`VerifiedDelivery`](webhook_core::VerifiedDelivery) in the extensions. The same
/// marker is copied onto the inner service's response extensions, for outer layers
/// (metrics, tracing); the layer's own rejections carry a
/// [`RejectionCode`](webhook_core::RejectionCode) there instead.
pub struct VerifySignature<S> {
    inner: S,
    config: Arc<Config>,
}

impl<S> VerifySignature<S> {
    /// Wraps `inner` with the default limits of [`VerifySignatureLayer::new`].
    pub fn new(inner: S, verifier: Verifier) -> Self {
        VerifySignatureLayer::new(verifier).into_service(inner)
    }

    pub(crate) fn from_config(inner: S, config: Arc<Config>) -> Self {
        Self { inner, config }
    }

    /// A layer wrapping services with `verifier`.
    pub fn layer(verifier: Verifier) -> VerifySignatureLayer {
        VerifySignatureLayer::new(verifier)
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

impl VerifySignatureLayer {
    fn into_service<S>(self, inner: S) -> VerifySignature<S> {
        tower_layer::Layer::layer(&self, inner)
    }
}

impl<S: Clone> Clone for VerifySignature<S> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            config: self.config.clone(),
        }
    }
}

impl<S: fmt::Debug> fmt::Debug for VerifySignature<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifySignature")
            .field("inner", &self.inner)
            .field("verifier", &self.config.verifier)
            .finish_non_exhaustive()
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for VerifySignature<S>
where
    S: Service<Request<VerifiedBody>, Response = Response<ResBody>> + Clone,
    ReqBody: Body,
    ReqBody::Error: Into<BoxError>,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S, ReqBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        if let Some(answer) = handshake::answer_get(
            &self.config,
            request.method(),
            request.uri(),
            request.headers(),
        ) {
            return ResponseFuture::ready(answer);
        }
        let limit = self.config.body_limit;
        let declared = request
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok()?.parse::<u64>().ok())
            .unwrap_or(0)
            .max(request.body().size_hint().lower());
        if declared > limit as u64 {
            let rejection = SignatureRejection::PayloadTooLarge { limit };
            return ResponseFuture::ready(self.config.reject(&rejection, request.headers()));
        }
        let (parts, body) = request.into_parts();
        let read = tokio::time::timeout(
            self.config.read_timeout,
            ReadBody::new(body, limit, usize::try_from(declared).unwrap_or(limit)),
        );
        // Call the instance that was polled ready, keep a fresh clone for the next call.
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        ResponseFuture::collecting(read, parts, inner, self.config.clone())
    }
}
