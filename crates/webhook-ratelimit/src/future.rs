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
        // The inner service's answer, as it is: the path of every allowed request
        // (in memory, no fields on success), with nothing beside the inner future.
        Inner {
            #[pin]
            future: S::Future,
        },
        // Everything else, boxed: it adds nothing to the size of the future, nor to
        // the cost of moving and dropping it on the common path.
        Other {
            other: Pin<Box<Other<S, B>>>,
        },
    }
}

pin_project! {
    #[project = OtherProj]
    enum Other<S, B>
    where
        S: Service<Request<B>>,
    {
        // Waiting for a backend that needs I/O (Redis).
        Checking {
            check: PendingCheck,
            pending: Option<(Request<B>, S, Key, Arc<Core>)>,
        },
        // The inner service's answer, with the rate-limit fields added if there are.
        Forward {
            #[pin]
            future: S::Future,
            headers: Option<RateLimitHeaders>,
        },
        // The layer's own answer.
        Respond {
            response: Option<Response<Bytes>>,
        },
    }
}

impl<S, B> ResponseFuture<S, B>
where
    S: Service<Request<B>>,
{
    /// The inner service's answer, as it is.
    #[inline]
    pub(crate) fn inner(future: S::Future) -> Self {
        Self {
            state: State::Inner { future },
        }
    }

    /// The inner service's answer, with `headers` added.
    #[inline]
    pub(crate) fn forward(future: S::Future, headers: Option<RateLimitHeaders>) -> Self {
        match headers {
            None => Self::inner(future),
            headers => Self::other(Other::Forward { future, headers }),
        }
    }

    /// The layer's own answer.
    #[inline(never)]
    pub(crate) fn respond(response: Response<Bytes>) -> Self {
        Self::other(Other::Respond {
            response: Some(response),
        })
    }

    pub(crate) fn checking(
        check: PendingCheck,
        request: Request<B>,
        inner: S,
        key: Key,
        core: Arc<Core>,
    ) -> Self {
        Self::other(Other::Checking {
            check,
            pending: Some((request, inner, key, core)),
        })
    }

    fn other(other: Other<S, B>) -> Self {
        Self {
            state: State::Other {
                other: Box::pin(other),
            },
        }
    }
}

impl<S, B, ResBody> Future for ResponseFuture<S, B>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
{
    type Output = Result<Response<ResponseBody<ResBody>>, S::Error>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Inner { future } => {
                let response = ready!(future.poll(cx))?;
                Poll::Ready(Ok(response.map(ResponseBody::new)))
            }
            StateProj::Other { other } => {
                let mut response = None;
                ready!(other.as_mut().poll_into(cx, &mut response))?;
                Poll::Ready(Ok(response.expect("set when ready")))
            }
        }
    }
}

impl<S, B> Other<S, B>
where
    S: Service<Request<B>>,
{
    /// Polls the states other than a plain [`State::Inner`], out of line.
    ///
    /// The response goes to `out` rather than being returned: an out-of-line call
    /// returning a response by value makes the compiler copy every response through a
    /// temporary, those of the common path included.
    #[inline(never)]
    fn poll_into<ResBody>(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut Option<Response<ResponseBody<ResBody>>>,
    ) -> Poll<Result<(), S::Error>>
    where
        S: Service<Request<B>, Response = Response<ResBody>>,
    {
        loop {
            match self.as_mut().project() {
                OtherProj::Checking { check, pending } => {
                    let decision = ready!(check.as_mut().poll(cx));
                    let (request, mut inner, key, core) =
                        pending.take().expect("polled after completion");
                    let next = match core.decide(decision, &request, Some(&key)) {
                        Outcome::Forward(headers) => Self::Forward {
                            future: inner.call(request),
                            headers,
                        },
                        Outcome::Respond(response) => Self::Respond {
                            response: Some(response),
                        },
                    };
                    self.set(next);
                }
                OtherProj::Forward { future, headers } => {
                    let mut response = ready!(future.poll(cx))?;
                    if let Some((policy, state)) = headers.take() {
                        let headers = response.headers_mut();
                        headers.insert(ratelimit_policy(), policy);
                        headers.insert(ratelimit(), state);
                    }
                    *out = Some(response.map(ResponseBody::new));
                    return Poll::Ready(Ok(()));
                }
                OtherProj::Respond { response } => {
                    let response = response.take().expect("polled after completion");
                    *out = Some(response.map(ResponseBody::full));
                    return Poll::Ready(Ok(()));
                }
            }
        }
    }
}
