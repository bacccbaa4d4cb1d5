//! `tower_webhook::serve::Server` on real loopback sockets: graceful shutdown with
//! handlers mid-run, the drain timeout, connections that send nothing or a slow head,
//! the idle timeout, and the peer address the layers read.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::post;
use http::StatusCode;
use tokio::io::AsyncReadExt;
use tokio::sync::oneshot;
use tower_webhook::idempotency::IdempotencyLayer;
use tower_webhook::serve::{ConfigError, Server};

use common::{bind, post_full, send_http1, sign};

/// Serves `app` until `stop` is sent; the task ends once drained.
fn spawn(
    app: Router,
    server: Server,
    listener: tokio::net::TcpListener,
) -> (oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        server
            .serve(listener, app, async {
                let _ = stopped.await;
            })
            .await;
    });
    (stop, task)
}

/// Waits until `counter` reaches `n`.
async fn until(counter: &AtomicUsize, n: usize) {
    while counter.load(Ordering::SeqCst) < n {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A signed delivery whose event id is `id`.
async fn deliver(addr: SocketAddr, id: String) -> common::Reply {
    let body = format!(r#"{{"id":"{id}","type":"ping"}}"#);
    send_http1(addr, post_full("/webhooks", sign(body.as_bytes()), body)).await
}

#[tokio::test]
async fn shutdown_lets_handlers_mid_run_answer_and_record() {
    const DELIVERIES: usize = 8;
    let started = Arc::new(AtomicUsize::new(0));
    let counter = started.clone();
    let app = Router::new()
        .route(
            "/webhooks",
            post(move || {
                let counter = counter.clone();
                async move {
                    counter.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    "processed"
                }
            }),
        )
        .layer(IdempotencyLayer::in_memory())
        .layer(common::layer());
    let (listener, addr) = bind().await;
    let server = Server::builder()
        .drain_timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let (stop, serving) = spawn(app.clone(), server, listener);

    let deliveries: Vec<_> = (0..DELIVERIES)
        .map(|n| tokio::spawn(deliver(addr, format!("evt_mid_run_{n}"))))
        .collect();
    // Every handler is running when shutdown starts.
    until(&started, DELIVERIES).await;
    stop.send(()).unwrap();
    for delivery in deliveries {
        let reply = delivery.await.unwrap();
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.body, "processed");
    }
    serving.await.unwrap();
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "no longer accepting"
    );

    // Each record was written before its answer left: the retries are replays.
    let (listener, addr) = bind().await;
    let (_stop, _serving) = spawn(app, Server::default(), listener);
    for n in 0..DELIVERIES {
        let retry = deliver(addr, format!("evt_mid_run_{n}")).await;
        assert_eq!(retry.headers["idempotent-replayed"], "true");
    }
    assert_eq!(started.load(Ordering::SeqCst), DELIVERIES, "run once each");
}

#[tokio::test]
async fn the_drain_timeout_bounds_shutdown() {
    let started = Arc::new(AtomicUsize::new(0));
    let counter = started.clone();
    let app = Router::new().route(
        "/webhooks",
        post(move || {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_secs(60)).await;
                "too late"
            }
        }),
    );
    let (listener, addr) = bind().await;
    let server = Server::builder()
        .drain_timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let (stop, serving) = spawn(app, server, listener);
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    tokio::io::AsyncWriteExt::write_all(
        &mut stream,
        b"POST /webhooks HTTP/1.1\r\nhost: localhost\r\ncontent-length: 0\r\n\r\n",
    )
    .await
    .unwrap();
    until(&started, 1).await;

    let stopping = Instant::now();
    stop.send(()).unwrap();
    serving.await.unwrap();
    let took = stopping.elapsed();
    assert!(
        (Duration::from_millis(900)..Duration::from_secs(3)).contains(&took),
        "{took:?}"
    );
    // The handler still running at the deadline is cut: no answer.
    let mut reply = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut reply))
        .await
        .expect("the connection ends");
    assert!(reply.is_empty(), "{}", String::from_utf8_lossy(&reply));
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_at_the_header_read_timeout() {
    let app = Router::new().route("/webhooks", post(|| async { "ok" }));
    let (listener, addr) = bind().await;
    let server = Server::builder()
        .header_read_timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let (_stop, _serving) = spawn(app, server, listener);
    // Nothing sent: neither HTTP/1 nor HTTP/2 has begun, so only the server's own
    // timer can close it. A partial HTTP/2 preface stays undecided the same way.
    for opening in [&b""[..], b"PRI * HTTP/2"] {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        tokio::io::AsyncWriteExt::write_all(&mut stream, opening)
            .await
            .unwrap();
        let opened = Instant::now();
        let mut rest = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut rest))
            .await
            .expect("closed by the server");
        let took = opened.elapsed();
        assert!(
            (Duration::from_millis(900)..Duration::from_secs(3)).contains(&took),
            "{opening:?}: {took:?}"
        );
    }
}

#[tokio::test]
async fn a_kept_alive_http1_connection_gets_the_header_read_timeout_between_requests() {
    use tokio::io::AsyncWriteExt;
    let app = Router::new().route("/webhooks", post(|| async { "ok" }));
    let (listener, addr) = bind().await;
    let server = Server::builder()
        .header_read_timeout(Duration::from_secs(1))
        .idle_timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let (_stop, _serving) = spawn(app, server, listener);
    let request = b"POST /webhooks HTTP/1.1\r\nhost: localhost\r\ncontent-length: 0\r\n\r\n";
    // After an answered request: nothing more, then a head that trickles in.
    for next in [&b""[..], b"POST /webhooks HTTP/1.1\r\nx-slow: "] {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream.write_all(request).await.unwrap();
        let mut answer = [0; 1024];
        let read = stream.read(&mut answer).await.unwrap();
        assert!(answer[..read].starts_with(b"HTTP/1.1 200"), "{next:?}");
        let answered = Instant::now();
        stream.write_all(next).await.unwrap();
        let (mut reader, mut writer) = stream.into_split();
        let trickle = tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(200)).await;
                if writer.write_all(b"a").await.is_err() {
                    return;
                }
            }
        });
        let mut rest = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(10), reader.read_to_end(&mut rest))
            .await
            .expect("closed by the server");
        trickle.abort();
        let took = answered.elapsed();
        assert!(rest.is_empty(), "{next:?}: {rest:?}");
        assert!(
            (Duration::from_millis(900)..Duration::from_secs(3)).contains(&took),
            "{next:?}: {took:?}"
        );
    }
}

#[tokio::test]
async fn a_response_still_being_sent_is_not_an_idle_connection() {
    // A body that takes three header read timeouts to send, a chunk at a time.
    let app = Router::new().route(
        "/webhooks",
        post(|| async {
            let chunks = futures_util::stream::unfold(0, |sent| async move {
                if sent == 6 {
                    return None;
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
                Some((Ok::<_, std::io::Error>(format!("chunk {sent}\n")), sent + 1))
            });
            axum::body::Body::from_stream(chunks)
        }),
    );
    let (listener, addr) = bind().await;
    let server = Server::builder()
        .header_read_timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let (_stop, _serving) = spawn(app, server, listener);
    let reply = send_http1(
        addr,
        http::Request::post("/webhooks")
            .body(String::new())
            .unwrap(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.body,
        "chunk 0\nchunk 1\nchunk 2\nchunk 3\nchunk 4\nchunk 5\n"
    );
}

#[tokio::test]
async fn an_http2_connection_gets_the_idle_timeout_between_requests() {
    let app = Router::new().route("/webhooks", post(|| async { "ok" }));
    let (listener, addr) = bind().await;
    let server = Server::builder()
        .header_read_timeout(Duration::from_millis(500))
        .idle_timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let (_stop, _serving) = spawn(app, server, listener);
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(stream),
    )
    .await
    .unwrap();
    let connection = tokio::spawn(connection);
    let request = || {
        http::Request::post(format!("http://{addr}/webhooks"))
            .body(http_body_util::Empty::<bytes::Bytes>::new())
            .unwrap()
    };
    let opened = Instant::now();
    assert_eq!(
        sender.send_request(request()).await.unwrap().status(),
        StatusCode::OK
    );
    // Past the header read timeout, within the idle timeout: still open.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        sender.send_request(request()).await.unwrap().status(),
        StatusCode::OK
    );
    // Then idle: closed (GOAWAY) once the idle timeout has passed.
    let _ = tokio::time::timeout(Duration::from_secs(10), connection)
        .await
        .expect("closed by the server");
    let took = opened.elapsed();
    assert!(
        (Duration::from_secs(3)..Duration::from_secs(6)).contains(&took),
        "{took:?}"
    );
}

#[tokio::test]
async fn the_peer_address_reaches_the_service() {
    let app = Router::new().route(
        "/webhooks",
        post(|request: axum::extract::Request| async move {
            let peer = request.extensions().get::<SocketAddr>().copied();
            #[cfg(feature = "axum")]
            assert_eq!(
                request
                    .extensions()
                    .get::<axum::extract::ConnectInfo<SocketAddr>>()
                    .map(|info| info.0),
                peer
            );
            peer.map(|peer| peer.ip().to_string()).unwrap_or_default()
        }),
    );
    let (listener, addr) = bind().await;
    let (_stop, _serving) = spawn(app, Server::default(), listener);
    let reply = send_http1(addr, post_full("/webhooks", Default::default(), "")).await;
    assert_eq!(reply.body, "127.0.0.1");
    let reply = common::send_http2(addr, post_full("/webhooks", Default::default(), "")).await;
    assert_eq!(reply.body, "127.0.0.1", "HTTP/2 too");
}

#[test]
fn settings_that_cannot_work_are_refused() {
    let zero = Server::builder().max_connections(0).build().unwrap_err();
    assert_eq!(
        zero,
        ConfigError::Zero {
            setting: "max_connections"
        }
    );
    assert_eq!(zero.to_string(), "`max_connections` must be above zero");
    let error = Server::builder()
        .header_read_timeout(Duration::ZERO)
        .build()
        .unwrap_err();
    assert_eq!(
        error,
        ConfigError::Zero {
            setting: "header_read_timeout"
        }
    );
}
