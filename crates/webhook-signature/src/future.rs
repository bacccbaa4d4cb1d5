use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::request::Parts;
use http::{Request, Response};
use http_body::Body;
use pin_project_lite::pin_project;
use tokio::time::Timeout;
use tower_service::Service;
use webhook_core::{ResponseBody, VerifiedBody, VerifiedDelivery};

use crate::handshake;
use crate::layer::Config;
use crate::read::{ReadBody, ReadError};
use crate::{BoxError, SignatureRejection};

pin_project! {
    /// The response future of [`VerifySignature`](crate::VerifySignature).
    pub struct ResponseFuture<S, B>
    where
        S: Service<Request<VerifiedBody>>,
        B: Body,
        B::Error: Into<BoxError>,
    {
        #[pin]
        state: State<S, B>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S, B>
    where
        S: Service<Request<VerifiedBody>>,
        B: Body,
        B::Error: Into<BoxError>,
    {
        Collecting {
            #[pin]
            read: Timeout<ReadBody<B>>,
            pending: Option<(Parts, S, Arc<Config>)>,
        },
        Inner {
            #[pin]
            future: S::Future,
            delivery: Option<VerifiedDelivery>,
        },
        Ready {
            response: Option<Response<Bytes>>,
        },
    }
}

impl<S, B> ResponseFuture<S, B>
where
    S: Service<Request<VerifiedBody>>,
    B: Body,
    B::Error: Into<BoxError>,
{
    /// A response of the layer's own: a rejection, or a handshake's answer.
    pub(crate) fn ready(response: Response<Bytes>) -> Self {
        Self {
            state: State::Ready {
                response: Some(response),
            },
        }
    }

    pub(crate) fn collecting(
        read: Timeout<ReadBody<B>>,
        parts: Parts,
        inner: S,
        config: Arc<Config>,
    ) -> Self {
        Self {
            state: State::Collecting {
                read,
                pending: Some((parts, inner, config)),
            },
        }
    }
}

impl<S, B, ResBody> Future for ResponseFuture<S, B>
where
    S: Service<Request<VerifiedBody>, Response = Response<ResBody>>,
    B: Body,
    B::Error: Into<BoxError>,
{
    type Output = Result<Response<ResponseBody<ResBody>>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                StateProj::Collecting { read, pending } => {
                    let read = ready!(read.poll(cx));
                    let (parts, mut inner, config) =
                        pending.take().expect("polled after completion");
                    let body = match read {
                        Ok(Ok(body)) => Ok(body),
                        Ok(Err(ReadError::TooLarge)) => Err(SignatureRejection::PayloadTooLarge {
                            limit: config.body_limit,
                        }),
                        Ok(Err(ReadError::Body)) => Err(SignatureRejection::InvalidBody),
                        Err(_elapsed) => Err(SignatureRejection::BodyTimeout {
                            timeout_seconds: config.read_timeout.as_secs(),
                        }),
                    };
                    let verified = body.and_then(|body| {
                        config.verifier.verify_request(
                            &parts.method,
                            Some(&parts.uri),
                            &parts.headers,
                            &body,
                        )
                    });
                    match verified {
                        Ok(delivery) => {
                            let delivery = delivery
                                .with_envelope(config.verifier.scheme().envelope(), &parts.headers);
                            if let Some(answer) =
                                handshake::answer_verified(&config, &parts.headers, &delivery)
                            {
                                return Poll::Ready(Ok(answer.map(ResponseBody::full)));
                            }
                            let body = VerifiedBody::new(delivery.body().clone());
                            let mut request = Request::from_parts(parts, body);
                            request.extensions_mut().insert(delivery.clone());
                            let future = inner.call(request);
                            this.state.set(State::Inner {
                                future,
                                delivery: Some(delivery),
                            });
                        }
                        Err(rejection) => {
                            let response = config.reject(&rejection, &parts.headers);
                            return Poll::Ready(Ok(response.map(ResponseBody::full)));
                        }
                    }
                }
                StateProj::Inner { future, delivery } => {
                    let mut response = ready!(future.poll(cx))?;
                    if let Some(delivery) = delivery.take() {
                        response.extensions_mut().insert(delivery);
                    }
                    return Poll::Ready(Ok(response.map(ResponseBody::new)));
                }
                StateProj::Ready { response } => {
                    let response = response.take().expect("polled after completion");
                    return Poll::Ready(Ok(response.map(ResponseBody::full)));
                }
            }
        }
    }
}
