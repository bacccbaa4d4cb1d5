//! [`OptionalLayer`]: a layer applied or left out by configuration, in one line.
//!
//! tower's `option_layer` needs the layer's service to answer with the inner
//! service's own response type. Most layers of this family answer with
//! [`ResponseBody<B>`] instead (the inner body, or their own rejection), so
//! `option_layer(rate_limit)` does not compile. [`OptionalLayer`] does the same job for
//! every layer: when the layer is left out, the inner service's response is converted
//! to the layer's response type ([`FromInner`]).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http::Response;
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;
use webhook_core::ResponseBody;

/// Applies the layer it holds, or passes requests straight to the inner service when
/// it holds none; the service type is the same either way.
///
/// ```
/// use std::num::NonZeroU32;
/// use axum::{Router, routing::post};
/// use tower_webhook::{OptionalLayer, WebhookStack};
/// use tower_webhook::ratelimit::{Quota, RateLimitLayer, VerifiedSource};
/// use tower_webhook::signature::{Verifier, VerifySignatureLayer, scheme::HopNow};
///
/// let verifier = Verifier::builder(HopNow).secret("current", "dev-secret").build().unwrap();
/// let verify = VerifySignatureLayer::new(verifier);
/// let quota = Quota::per_minute(NonZeroU32::new(600).unwrap());
/// let limit = RateLimitLayer::builder(quota).key(VerifiedSource).build().unwrap();
///
/// // With the limit or without it, the stack has one type: the configuration decides.
/// let [limited, unlimited] = [Some(limit), None].map(|limit| {
///     WebhookStack::new(verify.clone()).limit_per_source(OptionalLayer::new(limit))
/// });
/// for stack in [limited, unlimited] {
///     let app: Router = Router::new().route("/webhooks", post(|| async { "ok" })).layer(stack);
/// #   drop(app);
/// }
/// /// ```
#[derive(Debug, Clone)]
pub struct OptionalLayer<L> {
    layer: Option<L>,
}

impl<L> OptionalLayer<L> {
    /// Applies `layer` if it is `Some`.
    pub fn new(layer: Option<L>) -> Self {
        Self { layer }
    }

    /// The layer, if there is one.
    pub fn get_ref(&self) -> Option<&L> {
        self.layer.as_ref()
    }
}

impl<L> From<Option<L>> for OptionalLayer<L> {
    fn from(layer: Option<L>) -> Self {
        Self::new(layer)
    }
}

impl<L: Layer<S>, S> Layer<S> for OptionalLayer<L> {
    type Service = Optional<L::Service, S>;

    fn layer(&self, inner: S) -> Self::Service {
        Optional {
            inner: match &self.layer {
                Some(layer) => Inner::Applied(layer.layer(inner)),
                None => Inner::Skipped(inner),
            },
        }
    }
}

/// The service of an [`OptionalLayer`]: the layer's service `A` on `S`, or `S` alone.
#[derive(Clone)]
pub struct Optional<A, S> {
    inner: Inner<A, S>,
}

#[derive(Clone)]
enum Inner<A, S> {
    Applied(A),
    Skipped(S),
}

impl<A, S> Optional<A, S> {
    /// The layer's service, when the layer was applied.
    pub fn applied(&self) -> Option<&A> {
        match &self.inner {
            Inner::Applied(service) => Some(service),
            Inner::Skipped(_) => None,
        }
    }

    /// The inner service, when the layer was left out.
    pub fn skipped(&self) -> Option<&S> {
        match &self.inner {
            Inner::Applied(_) => None,
            Inner::Skipped(service) => Some(service),
        }
    }
}

impl<A, S> fmt::Debug for Optional<A, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Optional")
            .field("applied", &matches!(self.inner, Inner::Applied(_)))
            .finish_non_exhaustive()
    }
}

impl<A, S, Request> Service<Request> for Optional<A, S>
where
    A: Service<Request, Error = S::Error>,
    S: Service<Request>,
    A::Response: FromInner<S::Response>,
{
    type Response = A::Response;
    type Error = S::Error;
    type Future = ResponseFuture<A::Future, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        match &mut self.inner {
            Inner::Applied(service) => service.poll_ready(cx),
            Inner::Skipped(service) => service.poll_ready(cx),
        }
    }

    fn call(&mut self, request: Request) -> Self::Future {
        ResponseFuture {
            kind: match &mut self.inner {
                Inner::Applied(service) => Kind::Applied {
                    future: service.call(request),
                },
                Inner::Skipped(service) => Kind::Skipped {
                    future: service.call(request),
                },
            },
        }
    }
}

pin_project! {
    /// The response future of [`Optional`].
    pub struct ResponseFuture<A, S> {
        #[pin]
        kind: Kind<A, S>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<A, S> {
        Applied { #[pin] future: A },
        Skipped { #[pin] future: S },
    }
}

impl<A, S, R, E, T> Future for ResponseFuture<A, S>
where
    A: Future<Output = Result<R, E>>,
    S: Future<Output = Result<T, E>>,
    R: FromInner<T>,
{
    type Output = Result<R, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Applied { future } => future.poll(cx),
            KindProj::Skipped { future } => Poll::Ready(ready!(future.poll(cx)).map(R::from_inner)),
        }
    }
}

impl<A, S> fmt::Debug for ResponseFuture<A, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

/// A layer's response type, built from the inner service's response when the layer
/// is left out (see [`OptionalLayer`]).
///
/// Implemented for the family's two shapes: a layer that answers with the inner
/// response as it is (`Response<B>`, such as `ObserveLayer`), and one that may answer
/// by itself (`Response<ResponseBody<B>>`).
pub trait FromInner<R> {
    /// Converts the inner service's response.
    fn from_inner(response: R) -> Self;
}

impl<B> FromInner<Response<B>> for Response<B> {
    fn from_inner(response: Response<B>) -> Self {
        response
    }
}

impl<B> FromInner<Response<B>> for Response<ResponseBody<B>> {
    fn from_inner(response: Response<B>) -> Self {
        response.map(ResponseBody::new)
    }
}
