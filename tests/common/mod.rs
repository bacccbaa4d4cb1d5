//! Helpers shared by the cross-framework tests: a verifier and signer for the
//! reference scheme, a recorder for what the handler saw, and small HTTP/1 and
//! HTTP/2 clients that talk to a server over a real loopback socket.
//!
//! Each test binary uses a different subset, so unused helpers are allowed here.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Body;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::{TcpListener, TcpStream};
use tower_webhook::core::{PROBLEM_JSON, VerifiedDelivery};
use tower_webhook::signature::scheme::HopNow;
use tower_webhook::signature::{Signer, Verifier, VerifySignatureLayer};

/// The secret the server trusts. Never printed.
pub(crate) const SECRET: &str = "cross-framework-test-secret";
/// The key id the server files [`SECRET`] under.
pub(crate) const KEY_ID: &str = "current";
/// The body limit the tests configure, small so an oversized body stays small.
pub(crate) const BODY_LIMIT: usize = 1024;

/// A body with bytes a re-encoding would change: key order, spaces, a non-ASCII
/// character and a trailing newline.
pub(crate) const PAYLOAD: &[u8] = b"{\"type\":\"payout.completed\",  \"id\":\"evt_1\", \"amount\":12.50, \"note\":\"caf\xc3\xa9\"}\n";

/// A signature layer for the reference scheme with [`SECRET`] and [`BODY_LIMIT`].
pub(crate) fn layer() -> VerifySignatureLayer {
    let verifier = Verifier::builder(HopNow)
        .secret(KEY_ID, SECRET)
        .build()
        .expect("a non-empty keyring");
    VerifySignatureLayer::new(verifier).body_limit(BODY_LIMIT)
}

/// The headers a sender holding `secret` attaches to `body`.
pub(crate) fn sign_with(secret: &str, body: &[u8]) -> HeaderMap {
    Signer::new(HopNow, secret)
        .expect("a valid secret")
        .sign(body, 0, "")
        .expect("a valid header value")
}

/// The headers a legitimate sender attaches to `body`.
pub(crate) fn sign(body: &[u8]) -> HeaderMap {
    sign_with(SECRET, body)
}

/// The signature a legitimate sender computes for `body`, as sent on the wire.
pub(crate) fn expected_signature(body: &[u8]) -> String {
    sign(body)["x-webhook-signature"]
        .to_str()
        .expect("hex is ASCII")
        .to_owned()
}

/// One handler call: the body it read and the marker it found.
pub(crate) type Call = (Bytes, Option<VerifiedDelivery>);

/// What the inner handler was called with.
#[derive(Clone, Default)]
pub(crate) struct Recorder {
    calls: Arc<AtomicUsize>,
    seen: Arc<Mutex<Vec<Call>>>,
}

impl Recorder {
    /// Records one call with the body the handler read and the marker it found.
    pub(crate) fn record(&self, body: Bytes, delivery: Option<VerifiedDelivery>) {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.seen.lock().unwrap().push((body, delivery));
    }

    /// How many times the handler ran.
    pub(crate) fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// The body and marker of the last call.
    pub(crate) fn last(&self) -> Call {
        self.seen
            .lock()
            .unwrap()
            .last()
            .cloned()
            .expect("the handler ran")
    }
}

/// Binds a listener on a free loopback port.
pub(crate) async fn bind() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("a local address");
    (listener, addr)
}

/// A response as the client saw it, body and trailers fully read.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
    pub(crate) trailers: Option<HeaderMap>,
}

impl Reply {
    async fn read<B>(response: Response<B>) -> Self
    where
        B: Body<Data = Bytes>,
        B::Error: std::fmt::Debug,
    {
        let (parts, body) = response.into_parts();
        let collected = body.collect().await.expect("read the response body");
        let trailers = collected.trailers().cloned();
        Self {
            status: parts.status,
            headers: parts.headers,
            body: collected.to_bytes(),
            trailers,
        }
    }

    /// Asserts this is an `application/problem+json` rejection with `status` and
    /// `code`, that it does not leak `secret_material`, and returns the parsed body.
    pub(crate) fn assert_problem(
        &self,
        status: StatusCode,
        code: &str,
        secret_material: &[&str],
    ) -> serde_json::Value {
        assert_eq!(self.status, status, "body: {:?}", self.body);
        assert_eq!(self.headers["content-type"], PROBLEM_JSON);
        let problem: serde_json::Value =
            serde_json::from_slice(&self.body).expect("a JSON problem body");
        assert_eq!(problem["code"], code);
        assert_eq!(problem["status"], status.as_u16());
        let text = String::from_utf8_lossy(&self.body);
        for leak in secret_material {
            assert!(!text.contains(leak), "the rejection leaks secret material");
        }
        problem
    }
}

/// A POST of `body` to `path` with the given extra headers.
pub(crate) fn post_full(
    path: &str,
    headers: HeaderMap,
    body: impl Into<Bytes>,
) -> Request<Full<Bytes>> {
    let mut request = Request::post(path)
        .header("host", "localhost")
        .body(Full::new(body.into()))
        .expect("a valid request");
    request.headers_mut().extend(headers);
    request
}

/// Sends one request over a fresh HTTP/1.1 connection to `addr`.
pub(crate) async fn send_http1<B>(addr: SocketAddr, request: Request<B>) -> Reply
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let stream = TcpStream::connect(addr).await.expect("connect");
    stream.set_nodelay(true).expect("set TCP_NODELAY");
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("HTTP/1 handshake");
    tokio::spawn(connection);
    let response = sender.send_request(request).await.expect("a response");
    Reply::read(response).await
}

/// Sends one request over a fresh HTTP/2 (prior knowledge) connection to `addr`.
pub(crate) async fn send_http2<B>(addr: SocketAddr, request: Request<B>) -> Reply
where
    B: Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let stream = TcpStream::connect(addr).await.expect("connect");
    stream.set_nodelay(true).expect("set TCP_NODELAY");
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .expect("HTTP/2 handshake");
    tokio::spawn(connection);
    let response = sender.send_request(request).await.expect("a response");
    Reply::read(response).await
}

/// A request body sent in several chunks with no `Content-Length` (HTTP/1.1
/// `Transfer-Encoding: chunked`, or HTTP/2 DATA frames without a length).
#[derive(Debug)]
pub(crate) struct Chunked {
    chunks: std::collections::VecDeque<Bytes>,
}

impl Chunked {
    /// Splits `body` into chunks of `size` bytes.
    pub(crate) fn new(body: &[u8], size: usize) -> Self {
        Self {
            chunks: body.chunks(size).map(Bytes::copy_from_slice).collect(),
        }
    }
}

impl Body for Chunked {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Self::Error>>> {
        std::task::Poll::Ready(
            self.chunks
                .pop_front()
                .map(|chunk| Ok(hyper::body::Frame::data(chunk))),
        )
    }
}

/// A POST of `body` to `path` in chunks of `size` bytes, with the given extra headers.
pub(crate) fn post_chunked(
    path: &str,
    headers: HeaderMap,
    body: &[u8],
    size: usize,
) -> Request<Chunked> {
    let mut request = Request::post(path)
        .header("host", "localhost")
        .body(Chunked::new(body, size))
        .expect("a valid request");
    request.headers_mut().extend(headers);
    request
}
