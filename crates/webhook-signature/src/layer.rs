use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tower_layer::Layer;
use webhook_core::RenderRejection;

use crate::{SignatureRejection, Verifier, VerifySignature};

/// The default body limit: 1 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

/// The default time allowed to receive the whole body: 30 seconds.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone)]
pub(crate) struct Config {
    pub(crate) verifier: Verifier,
    pub(crate) body_limit: usize,
    pub(crate) read_timeout: Duration,
    on_rejection: Option<RenderRejection<SignatureRejection>>,
}

impl Config {
    pub(crate) fn reject(
        &self,
        rejection: &SignatureRejection,
        request_headers: &http::HeaderMap,
    ) -> http::Response<Bytes> {
        webhook_core::refuse(
            "signature",
            rejection,
            request_headers,
            self.on_rejection.as_ref(),
        )
    }
}

/// Buffers the request body under a limit, verifies its signature, and passes the
/// exact verified bytes on with a [`VerifiedDelivery`](webhook_core::VerifiedDelivery)
/// marker in the extensions.
///
/// A body that arrives in one frame is passed on as it is; a longer one is copied into
/// a single buffer (sized from `Content-Length`, never above the limit) frame by frame,
/// each frame dropped once copied, so a delivery is held about once, not twice, while
/// it is read.
///
/// Rejections are responses (see [`SignatureRejection`] for the statuses and codes),
/// logged once at `warn` with their code (see [`webhook_core::refuse`]), answered in
/// gRPC form to gRPC clients; they never reach the inner service.
#[derive(Clone)]
pub struct VerifySignatureLayer {
    config: Arc<Config>,
}

impl VerifySignatureLayer {
    /// A layer verifying with `verifier`, with a 1 MiB body limit and a 30 s read
    /// timeout.
    pub fn new(verifier: Verifier) -> Self {
        Self {
            config: Arc::new(Config {
                verifier,
                body_limit: DEFAULT_BODY_LIMIT,
                read_timeout: DEFAULT_READ_TIMEOUT,
                on_rejection: None,
            }),
        }
    }

    /// The largest body accepted, in bytes. A larger `Content-Length` is refused before
    /// reading; a streamed body is cut off as soon as it passes the limit. Both get 413.
    #[must_use]
    pub fn body_limit(mut self, bytes: usize) -> Self {
        Arc::make_mut(&mut self.config).body_limit = bytes;
        self
    }

    /// How long the whole body may take to arrive; a slower one gets 408.
    #[must_use]
    pub fn read_timeout(mut self, timeout: Duration) -> Self {
        Arc::make_mut(&mut self.config).read_timeout = timeout;
        self
    }

    /// Replaces the default `application/problem+json` rejection responses.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use webhook_core::Rejection;
    /// use webhook_signature::{Verifier, VerifySignatureLayer, scheme::HopNow};
    ///
    /// let verifier = Verifier::builder(HopNow).secret("k", "secret").build().unwrap();
    /// let layer = VerifySignatureLayer::new(verifier).on_rejection(|rejection| {
    ///     let mut response = http::Response::new(Bytes::from(rejection.code()));
    ///     *response.status_mut() = rejection.status();
    ///     response
    /// });
    /// # drop(layer);
    /// ```
    #[must_use]
    pub fn on_rejection<F>(mut self, render: F) -> Self
    where
        F: Fn(&SignatureRejection) -> http::Response<Bytes> + Send + Sync + 'static,
    {
        Arc::make_mut(&mut self.config).on_rejection = Some(Arc::new(render));
        self
    }

    /// The verifier.
    pub fn verifier(&self) -> &Verifier {
        &self.config.verifier
    }
}

impl fmt::Debug for VerifySignatureLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifySignatureLayer")
            .field("verifier", &self.config.verifier)
            .field("body_limit", &self.config.body_limit)
            .field("read_timeout", &self.config.read_timeout)
            .finish_non_exhaustive()
    }
}

impl<S> Layer<S> for VerifySignatureLayer {
    type Service = VerifySignature<S>;

    fn layer(&self, inner: S) -> Self::Service {
        VerifySignature::from_config(inner, self.config.clone())
    }
}
