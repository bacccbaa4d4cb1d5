//! Driving a tower service (an axum router, a hyper service, a layered stack) with a
//! request in one line, and reading the response in full.

use std::fmt;
use std::future::poll_fn;

use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body::Body;
use http_body_util::BodyExt;
use serde::de::DeserializeOwned;
use tower_service::Service;

/// A response read in full: status, headers and body bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct TestResponse {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Bytes,
}

impl TestResponse {
    /// Reads `response`'s body to the end.
    pub async fn collect<B: Body>(response: Response<B>) -> Result<Self, B::Error> {
        let (parts, body) = response.into_parts();
        let body = body.collect().await?.to_bytes();
        Ok(Self {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON.
    ///
    /// # Panics
    ///
    /// When the body is not JSON of type `T`; the message shows the body.
    #[track_caller]
    pub fn json<T: DeserializeOwned>(&self) -> T {
        match serde_json::from_slice(&self.body) {
            Ok(value) => value,
            Err(error) => panic!(
                "the {} response body is not the expected JSON ({error}): {:?}",
                self.status,
                self.text()
            ),
        }
    }

    /// The `code` of an `application/problem+json` body (a layer's rejection).
    pub fn problem_code(&self) -> Option<String> {
        let value: serde_json::Value = serde_json::from_slice(&self.body).ok()?;
        value.get("code")?.as_str().map(str::to_owned)
    }

    /// Whether the idempotency layer replayed a recorded response
    /// (`Idempotent-Replayed: true`) instead of running the handler.
    pub fn replayed(&self) -> bool {
        self.headers
            .get(&webhook_core::IDEMPOTENT_REPLAYED)
            .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"true"))
    }
}

impl fmt::Debug for TestResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestResponse")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("body", &self.text())
            .finish()
    }
}

/// Why [`try_send`] failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum SendError<S, B> {
    /// The service failed to become ready or to answer.
    Service(S),
    /// The response body failed while being read.
    Body(B),
}

impl<S: fmt::Display, B: fmt::Display> fmt::Display for SendError<S, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Service(error) => write!(f, "the service failed: {error}"),
            Self::Body(error) => write!(f, "the response body failed: {error}"),
        }
    }
}

impl<S, B> std::error::Error for SendError<S, B>
where
    S: fmt::Debug + fmt::Display,
    B: fmt::Debug + fmt::Display,
{
}

/// Waits for `service` to be ready, calls it with `request` and reads the whole
/// response.
pub async fn try_send<S, ReqBody, ResBody>(
    service: &mut S,
    request: Request<ReqBody>,
) -> Result<TestResponse, SendError<S::Error, ResBody::Error>>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: Body,
{
    poll_fn(|cx| service.poll_ready(cx))
        .await
        .map_err(SendError::Service)?;
    let response = service.call(request).await.map_err(SendError::Service)?;
    TestResponse::collect(response)
        .await
        .map_err(SendError::Body)
}

/// Sends `request` through `service` (ready first) and reads the whole response: one
/// line per request in a test.
///
/// Works with anything that is a `tower::Service` over `http` types: an axum
/// `Router`, a `ServiceBuilder` stack, a hyper service adapted with `service_fn`.
///
/// # Panics
///
/// When the service or the response body fails (an HTTP error status is not a
/// failure: it is in [`TestResponse::status`]). Use [`try_send`] to get the error.
///
/// ```
/// use std::convert::Infallible;
/// use http::{Request, Response, StatusCode};
/// use tower::ServiceBuilder;
/// use webhook_core::VerifiedBody;
/// use webhook_signature::{Verifier, VerifySignatureLayer, scheme::HopNow};
/// use webhook_testing::{MockEvent, send};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let verifier = Verifier::builder(HopNow).secret("k1", "dev-secret").build().unwrap();
/// let mut service = ServiceBuilder::new()
///     .layer(VerifySignatureLayer::new(verifier))
///     .service_fn(|_: Request<VerifiedBody>| async { Ok::<_, Infallible>(Response::new("ok".to_owned())) });
///
/// let event = MockEvent::new("ping");
/// let response = send(&mut service, event.clone().sign(HopNow, "dev-secret").request::<String>().unwrap()).await;
/// assert_eq!((response.status, response.text().as_str()), (StatusCode::OK, "ok"));
///
/// let forged = event.sign(HopNow, "dev-secret").corrupt_signature().request::<String>().unwrap();
/// let response = send(&mut service, forged).await;
/// assert_eq!(response.status, StatusCode::UNAUTHORIZED);
/// assert_eq!(response.problem_code().as_deref(), Some("signature_mismatch"));
/// # }
/// ```
pub async fn send<S, ReqBody, ResBody>(service: &mut S, request: Request<ReqBody>) -> TestResponse
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Error: fmt::Debug,
    ResBody: Body,
    ResBody::Error: fmt::Debug,
{
    match try_send(service, request).await {
        Ok(response) => response,
        Err(SendError::Service(error)) => panic!("the service failed: {error:?}"),
        Err(SendError::Body(error)) => panic!("the response body failed: {error:?}"),
    }
}
