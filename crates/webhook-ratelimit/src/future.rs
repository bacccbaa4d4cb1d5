use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::{Request, Response};
use pin_project_lite::pin_project;
use tower_service::Service;
use webhook_core::ResponseBody;

use crate::Key;
use crate::backend::Decision;
use crate::layer::{Core, Outcome, RateLimitHeaders, ratelimit, ratelimit_policy};

type PendingCheck = Pin<Box<dyn Future<Output = Decision> + Send + 'static>>;

pin_project! {
    /// The response future of [`RateLimit`](crate::RateLimit).
    pub struct ResponseFuture<S, B>
    where
        S: Service<Request<B>>,
    {
        #[pin]
        state: State<S, B>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S, B>
    where
        S: Service<Request<B>>,
    {
        // Waiting for a backend that needs I/O (Redis).
        Checking {
            check: PendingCheck,
            pending: Option<Box<(Request<B>, S, Key, Arc<Core>)>>,
        },
        Inner {
            #[pin]
            future: S::Future,
            headers: Option<Box<RateLimitHeaders>>,
        },
        Respond {
            response: Option<Box<Response<Bytes>>>,
        },
    }
}

impl<S, B> ResponseFuture<S, B>
where
    S: Service<Request<B>>,
{
    pub(crate) fn forward(future: S::Future, headers: Option<Box<RateLimitHeaders>>) -> Self {
        Self {
            state: State::Inner { future, headers },
        }
    }

    pub(crate) fn respond(response: Box<Response<Bytes>>) -> Self {
        Self {
            state: State::Respond {
                response: Some(response),
            },
        }
    }

    pub(crate) fn checking(
        check: PendingCheck,
        request: Request<B>,
        inner: S,
        key: Key,
        core: Arc<Core>,
    ) -> Self {
        Self {
            state: State::Checking {
                check,
                pending: Some(Box::new((request, inner, key, core))),
            },
        }
    }
}

impl<S, B, ResBody> Future for ResponseFuture<S, B>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
{
    type Output = Result<Response<ResponseBody<ResBody>>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                StateProj::Checking { check, pending } => {
                    let decision = ready!(check.as_mut().poll(cx));
                    let (request, mut inner, key, core) =
                        *pending.take().expect("polled after completion");
                    let next = match core.decide(decision, &request, Some(&key)) {
                        Outcome::Forward(headers) => State::Inner {
                            future: inner.call(request),
                            headers,
                        },
                        Outcome::Respond(response) => State::Respond {
                            response: Some(response),
                        },
                    };
                    this.state.set(next);
                }
                StateProj::Inner { future, headers } => {
                    let mut response = ready!(future.poll(cx))?;
                    if let Some(rate_limit) = headers.take() {
                        let (policy, state) = *rate_limit;
                        let headers = response.headers_mut();
                        headers.insert(ratelimit_policy(), policy);
                        headers.insert(ratelimit(), state);
                    }
                    return Poll::Ready(Ok(response.map(ResponseBody::new)));
                }
                StateProj::Respond { response } => {
                    let response = *response.take().expect("polled after completion");
                    return Poll::Ready(Ok(response.map(ResponseBody::full)));
                }
            }
        }
    }
}
