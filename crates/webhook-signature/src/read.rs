//! Reading a request body into one buffer, under a size limit.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use http_body::Body;
use pin_project_lite::pin_project;

/// Why a body could not be read.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ReadError {
    /// More than the limit arrived.
    TooLarge,
    /// The body failed (the connection broke, a framing error).
    Body,
}

pin_project! {
    /// Reads a whole body into one `Bytes`: a body of one frame as it is (no copy),
    /// a longer one copied into a single buffer frame by frame, each frame dropped as
    /// soon as it is copied.
    ///
    /// This is what `http_body_util`'s `Collect` + `to_bytes` do, without holding
    /// every frame until the end and then copying them all: for a large delivery that
    /// holds the body twice at its peak (the frames and the copy), and allocators keep
    /// such peaks. The buffer is sized from the declared length when the second frame
    /// arrives (a sender has to send before we reserve), never above the limit.
    pub(crate) struct ReadBody<B> {
        #[pin]
        body: B,
        limit: usize,
        declared: usize,
        first: Option<Bytes>,
        rest: BytesMut,
        total: usize,
    }
}

impl<B> ReadBody<B> {
    /// Reads `body`, failing once more than `limit` bytes arrived; `declared` is the
    /// length the request announced (0 if none), at most `limit`.
    pub(crate) fn new(body: B, limit: usize, declared: usize) -> Self {
        Self {
            body,
            limit,
            declared: declared.min(limit),
            first: None,
            rest: BytesMut::new(),
            total: 0,
        }
    }
}

impl<B: Body> Future for ReadBody<B> {
    type Output = Result<Bytes, ReadError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            let Some(frame) = ready!(this.body.as_mut().poll_frame(cx)) else {
                let bytes = match this.first.take() {
                    Some(first) => first,
                    None => std::mem::take(this.rest).freeze(),
                };
                return Poll::Ready(Ok(bytes));
            };
            let Ok(mut data) = frame.map_err(|_| ReadError::Body)?.into_data() else {
                continue; // trailers are not signed content
            };
            let len = data.remaining();
            *this.total = this.total.saturating_add(len);
            if *this.total > *this.limit {
                return Poll::Ready(Err(ReadError::TooLarge));
            }
            if len == 0 {
                continue;
            }
            if this.first.is_none() && this.rest.is_empty() {
                *this.first = Some(data.copy_to_bytes(len));
                continue;
            }
            if let Some(first) = this.first.take() {
                this.rest.reserve((*this.declared).max(*this.total));
                this.rest.extend_from_slice(&first);
            }
            this.rest.put(data);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use http_body::Frame;
    use http_body_util::{BodyExt, Full, StreamBody};

    use super::*;

    fn frames(
        parts: &[&'static [u8]],
    ) -> StreamBody<impl futures_util::Stream<Item = Result<Frame<Bytes>, Infallible>>> {
        let frames: Vec<_> = parts
            .iter()
            .map(|part| Ok(Frame::data(Bytes::from_static(part))))
            .collect();
        StreamBody::new(futures_util::stream::iter(frames))
    }

    #[tokio::test]
    async fn one_frame_is_passed_on_without_a_copy() {
        let body = Bytes::from_static(b"{\"id\":\"evt_1\"}");
        let read = ReadBody::new(Full::new(body.clone()), 64, 14)
            .await
            .unwrap();
        assert_eq!(read, body);
        assert_eq!(read.as_ptr(), body.as_ptr(), "the frame itself, not a copy");
    }

    #[tokio::test]
    async fn frames_are_joined_in_order_into_one_buffer_of_the_declared_size() {
        let body = frames(&[b"ab", b"", b"cde", b"f"]);
        let read = ReadBody::new(body, 64, 6).await.unwrap();
        assert_eq!(read, "abcdef");
        // Without a declared length, or with a wrong one, the buffer grows as needed.
        assert_eq!(
            ReadBody::new(frames(&[b"ab", b"cd"]), 64, 0).await.unwrap(),
            "abcd"
        );
        assert_eq!(
            ReadBody::new(frames(&[b"ab", b"cd"]), 64, 1).await.unwrap(),
            "abcd"
        );
    }

    #[tokio::test]
    async fn more_than_the_limit_is_refused_even_if_the_declared_length_is_small() {
        assert_eq!(
            ReadBody::new(frames(&[b"abc", b"def"]), 5, 2).await,
            Err(ReadError::TooLarge)
        );
        assert_eq!(
            ReadBody::new(frames(&[b"abcdef"]), 5, 0).await,
            Err(ReadError::TooLarge)
        );
        assert_eq!(
            ReadBody::new(frames(&[b"abc", b"de"]), 5, 5).await.unwrap(),
            "abcde"
        );
        assert_eq!(ReadBody::new(frames(&[]), 5, 0).await.unwrap(), "");
    }

    #[test]
    fn the_declared_length_is_reserved_only_once_a_second_frame_arrives_and_never_above_the_limit()
    {
        use futures_util::StreamExt;
        use std::task::{Context, Waker};

        // A sender that announces 1 MiB, sends a few bytes, then stalls.
        let stalled = |parts: &[&'static [u8]]| {
            let frames: Vec<Result<Frame<Bytes>, Infallible>> = parts
                .iter()
                .map(|part| Ok(Frame::data(Bytes::from_static(part))))
                .collect();
            StreamBody::new(
                futures_util::stream::iter(frames).chain(futures_util::stream::pending()),
            )
        };
        let mut cx = Context::from_waker(Waker::noop());

        let mut one = ReadBody::new(stalled(&[b"ab"]), 4 << 20, 1 << 20);
        assert!(Pin::new(&mut one).poll(&mut cx).is_pending());
        assert_eq!(
            one.rest.capacity(),
            0,
            "nothing reserved on the first frame"
        );

        let mut two = ReadBody::new(stalled(&[b"ab", b"cd"]), 4 << 20, 1 << 20);
        assert!(Pin::new(&mut two).poll(&mut cx).is_pending());
        assert!(two.rest.capacity() >= 1 << 20);

        let mut capped = ReadBody::new(stalled(&[b"ab", b"cd"]), 64 << 10, 1 << 20);
        assert!(Pin::new(&mut capped).poll(&mut cx).is_pending());
        assert!(
            capped.rest.capacity() < 1 << 20,
            "never more than the limit"
        );
    }

    #[tokio::test]
    async fn a_failing_body_is_an_error_and_trailers_are_skipped() {
        let failing = StreamBody::new(futures_util::stream::iter(vec![
            Ok(Frame::data(Bytes::from_static(b"ab"))),
            Err(std::io::Error::other("connection reset")),
        ]));
        assert_eq!(ReadBody::new(failing, 64, 0).await, Err(ReadError::Body));
        let with_trailers = Full::new(Bytes::from_static(b"ab"))
            .with_trailers(async { Some(Ok(http::HeaderMap::new())) });
        assert_eq!(ReadBody::new(with_trailers, 64, 0).await.unwrap(), "ab");
    }
}
