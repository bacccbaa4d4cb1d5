use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

/// A request body holding exactly the bytes a layer buffered and verified: the
/// signature layer hands the inner service a `Request<VerifiedBody>`.
///
/// It is a [`BytesBody`]: one frame, no copy, accepted by any framework that takes an
/// [`http_body::Body`] with `Bytes` data (axum routes, hyper and tonic services).
pub type VerifiedBody = BytesBody;

/// A body of bytes held in memory, yielded in one frame without copying them.
///
/// The verified request body ([`VerifiedBody`]) and the responses the family's
/// services build themselves (the event router's, the queue's 202) use it.
#[derive(Debug, Default, Clone)]
pub struct BytesBody {
    bytes: Option<Bytes>,
}

impl BytesBody {
    /// A body holding `bytes`.
    pub fn new(bytes: Bytes) -> Self {
        Self {
            bytes: (!bytes.is_empty()).then_some(bytes),
        }
    }

    /// The bytes not yet read from the body.
    pub fn into_bytes(self) -> Bytes {
        self.bytes.unwrap_or_default()
    }
}

impl Body for BytesBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.bytes.take().map(|bytes| Ok(Frame::data(bytes))))
    }

    fn is_end_stream(&self) -> bool {
        self.bytes.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.bytes.as_ref().map_or(0, |b| b.len() as u64))
    }
}

pin_project! {
    /// A response body: the inner service's, or a layer's own (a rejection).
    ///
    /// Layers that answer by themselves use this type so they stay generic over the
    /// inner service's body type.
    pub struct ResponseBody<B> {
        #[pin]
        kind: Kind<B>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<B> {
        Inner { #[pin] body: B },
        // Boxed: the layer's own bodies are rare (rejections, replays), and a boxed
        // `Bytes` keeps this enum the size of a small inner body, so a response on
        // the common path stays small enough to move without a `memcpy` call (see
        // BENCHMARKS.md, "Rate limit against tower_governor").
        Full { bytes: Option<Box<Bytes>> },
    }
}

impl<B> ResponseBody<B> {
    /// The inner service's body.
    pub fn new(body: B) -> Self {
        Self {
            kind: Kind::Inner { body },
        }
    }

    /// A body the layer produced itself.
    pub fn full(bytes: Bytes) -> Self {
        Self {
            kind: Kind::Full {
                bytes: (!bytes.is_empty()).then(|| Box::new(bytes)),
            },
        }
    }
}

impl<B> std::fmt::Debug for ResponseBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            Kind::Inner { .. } => f.write_str("ResponseBody::Inner"),
            Kind::Full { bytes } => f
                .debug_struct("ResponseBody::Full")
                .field("len", &bytes.as_ref().map_or(0, |bytes| bytes.len()))
                .finish(),
        }
    }
}

impl<B> Body for ResponseBody<B>
where
    B: Body<Data = Bytes>,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        match self.project().kind.project() {
            KindProj::Inner { body } => body.poll_frame(cx),
            KindProj::Full { bytes } => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(*b)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Inner { body } => body.is_end_stream(),
            Kind::Full { bytes } => bytes.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Inner { body } => body.size_hint(),
            Kind::Full { bytes } => {
                SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn verified_body_yields_its_bytes_once() {
        let body = VerifiedBody::new(Bytes::from_static(b"payload"));
        assert_eq!(body.size_hint().exact(), Some(7));
        let collected = body.collect().await.unwrap().to_bytes();
        assert_eq!(collected, "payload");
    }

    #[tokio::test]
    async fn empty_verified_body_is_at_end() {
        let body = VerifiedBody::new(Bytes::new());
        assert!(body.is_end_stream());
        assert!(body.collect().await.unwrap().to_bytes().is_empty());
    }

    #[tokio::test]
    async fn response_body_passes_inner_or_full() {
        let inner = ResponseBody::new(VerifiedBody::new(Bytes::from_static(b"inner")));
        assert_eq!(inner.collect().await.unwrap().to_bytes(), "inner");
        let own = ResponseBody::<VerifiedBody>::full(Bytes::from_static(b"own"));
        assert_eq!(own.size_hint().exact(), Some(3));
        assert_eq!(own.collect().await.unwrap().to_bytes(), "own");
    }
}
