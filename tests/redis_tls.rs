//! Redis over TLS (`rediss://`, feature `redis-tls`) against a real `redis-server`
//! listening with `--tls-port`, with certificates made at run time: every backend over
//! one TLS connection, a wrong CA refused at `connect` and by the reference receiver,
//! and client certificates.

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use http::StatusCode;
use test_redis::{ClientAuth, RedisCluster, RedisServer, Reply, TestCertificates};
use tower_webhook::core::redis::{RedisConnection, RedisErrorKind};
use tower_webhook::event::{OffsetDateTime, OrderingGuard, RedisOrderingGuard};
use tower_webhook::idempotency::store::{Claim, RedisStore, Store, Token};
use tower_webhook::queue::{Job, Queue, RedisQueue};
use tower_webhook::ratelimit::{Backend, Decision, Key, Quota, RedisRateLimiter};
use webhook_signature::scheme::HopNow;
use webhook_testing::MockEvent;

use common::{post_full, send_http1};

const TIMEOUT: Duration = Duration::from_secs(1);

const SECRET: &str = "tls-test-secret";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_backend_works_over_rediss_trusting_the_servers_ca() {
    let certificates = TestCertificates::generate();
    let server = RedisServer::builder()
        .tls(&certificates, ClientAuth::Optional)
        .start();
    let url = server.tls_url().unwrap();

    let redis = RedisConnection::builder(url)
        .operation_timeout(TIMEOUT)
        .tls_root_ca(certificates.ca_pem())
        .connect()
        .await
        .unwrap();
    redis.ping().await.unwrap();

    let store = RedisStore::new(redis.clone()).unwrap();
    let lease = Duration::from_secs(60);
    let claim = store.claim("hopnow:evt_1", Token::generate(), lease).await;
    assert!(matches!(claim, Ok(Claim::Acquired)), "{claim:?}");
    let again = store.claim("hopnow:evt_1", Token::generate(), lease).await;
    assert!(matches!(again, Ok(Claim::InFlight { .. })), "{again:?}");

    // The queue's blocking read opens a dedicated connection: over TLS too.
    let queue = RedisQueue::new(redis.clone()).await.unwrap();
    queue
        .enqueue(&Job::new(&b"{}"[..]).with_event_id("evt_1"))
        .await
        .unwrap();
    let received = queue.receive("worker-0").await.unwrap().expect("the job");
    assert_eq!(received.job().event_id(), Some("evt_1"));
    queue.ack(&received).await.unwrap();

    let per_hour = Quota::per_hour(NonZeroU32::new(1).unwrap());
    let limiter = RedisRateLimiter::builder(redis.clone(), per_hour)
        .build()
        .unwrap();
    let first = limiter.check(&Key::global()).decision().await;
    assert!(matches!(first, Decision::Allowed(_)), "{first:?}");
    let second = limiter.check(&Key::global()).decision().await;
    assert!(matches!(second, Decision::Limited { .. }), "{second:?}");

    let guard = RedisOrderingGuard::new(redis.clone()).unwrap();
    let newer = OffsetDateTime::from_unix_timestamp(1_762_077_600).unwrap();
    let applied = guard.apply_if_newer("payout:po_1", newer, "evt_2").await;
    assert!(applied.unwrap().is_applied());
    let stale = guard
        .apply_if_newer("payout:po_1", newer - Duration::from_secs(60), "evt_1")
        .await;
    assert!(stale.unwrap().is_stale());
}

#[tokio::test]
async fn a_wrong_ca_is_refused_at_connect_with_a_clear_error() {
    let certificates = TestCertificates::generate();
    let server = RedisServer::builder()
        .tls(&certificates, ClientAuth::Optional)
        .start();
    let other_ca = TestCertificates::generate();

    let started = Instant::now();
    let error = RedisConnection::builder(server.tls_url().unwrap())
        .operation_timeout(TIMEOUT)
        .tls_root_ca(other_ca.ca_pem())
        .connect()
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(
        message == "cannot connect to Redis: invalid peer certificate: UnknownIssuer",
        "{message}"
    );
    assert_eq!(error.kind(), RedisErrorKind::Unavailable);
    assert!(
        started.elapsed() < 4 * TIMEOUT + 2 * TIMEOUT,
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn tls_settings_that_cannot_be_used_are_refused() {
    let certificates = TestCertificates::generate();
    let error = RedisConnection::builder("redis://127.0.0.1:1/")
        .tls_root_ca(certificates.ca_pem())
        .connect()
        .await
        .unwrap_err();
    assert_eq!(error.kind(), RedisErrorKind::Other);
    assert!(error.to_string().contains("rediss://"), "{error}");

    // Host-name checks stay on.
    let server = RedisServer::builder()
        .tls(&certificates, ClientAuth::Optional)
        .start();
    let insecure = format!("{}#insecure", server.tls_url().unwrap());
    let error = RedisConnection::builder(insecure)
        .tls_root_ca(certificates.ca_pem())
        .connect()
        .await
        .unwrap_err();
    assert!(error.to_string().contains("insecure"), "{error}");

    let error = RedisConnection::builder("rediss://127.0.0.1:1/")
        .tls_root_ca("not a certificate")
        .connect()
        .await
        .unwrap_err();
    assert_eq!(error.kind(), RedisErrorKind::Other);
    assert_eq!(
        error.to_string(),
        "the TLS root CA is not a PEM certificate"
    );

    let error = RedisConnection::builder("rediss://127.0.0.1:1/")
        .tls_client_cert(certificates.client_cert_pem(), "not a key")
        .connect()
        .await
        .unwrap_err();
    assert_eq!(error.kind(), RedisErrorKind::Other);
    assert_eq!(
        error.to_string(),
        "the TLS client key is not a PEM private key"
    );
}

#[tokio::test]
async fn a_server_that_requires_client_certificates_takes_only_its_cas() {
    let certificates = TestCertificates::generate();
    let server = RedisServer::builder()
        .tls(&certificates, ClientAuth::Required)
        .start();
    let url = server.tls_url().unwrap();
    let other_ca = TestCertificates::generate();

    let without = RedisConnection::builder(url.as_str())
        .operation_timeout(TIMEOUT)
        .tls_root_ca(certificates.ca_pem())
        .connect()
        .await
        .unwrap_err();
    let message = without.to_string();
    assert!(message.contains("CertificateRequired"), "{message}");

    let foreign = RedisConnection::builder(url.as_str())
        .operation_timeout(TIMEOUT)
        .tls_root_ca(certificates.ca_pem())
        .tls_client_cert(other_ca.client_cert_pem(), other_ca.client_key_pem())
        .connect()
        .await
        .unwrap_err();
    let message = foreign.to_string();
    assert!(message.contains("UnknownCA"), "{message}");

    let builder = RedisConnection::builder(url.as_str())
        .operation_timeout(TIMEOUT)
        .tls_root_ca(certificates.ca_pem())
        .tls_client_cert(
            certificates.client_cert_pem(),
            certificates.client_key_pem(),
        );
    let debug = format!("{builder:?}");
    assert!(debug.contains("tls_client_cert: true"), "{debug}");
    assert!(!debug.contains("PRIVATE KEY"), "{debug}");
    let redis = builder.connect().await.unwrap();
    redis.ping().await.unwrap();
    assert!(!format!("{redis:?}").contains("PRIVATE KEY"));
    let store = RedisStore::new(redis).unwrap();
    let claim = store
        .claim("hopnow:evt_1", Token::generate(), Duration::from_secs(60))
        .await;
    assert!(matches!(claim, Ok(Claim::Acquired)), "{claim:?}");
}

/// The `examples/receiver` binary `cargo test` built.
fn receiver_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let binary = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps")
        .join("examples")
        .join("receiver");
    assert!(
        binary.exists(),
        "{} is missing: run `cargo test --workspace` (it builds the examples)",
        binary.display()
    );
    binary
}

/// The reference receiver with `REDIS_URL` and the `REDIS_TLS_*` files of `env`.
fn receiver(env: &[(&str, &std::ffi::OsStr)]) -> Command {
    let mut command = Command::new(receiver_binary());
    command
        .env("BIND", "127.0.0.1:0")
        .env("RUST_LOG", "warn")
        .env("WEBHOOK_SECRET", SECRET)
        .env_remove("REDIS_TLS_CA")
        .env_remove("REDIS_TLS_CERT")
        .env_remove("REDIS_TLS_KEY")
        .envs(env.iter().copied())
        .stdin(Stdio::null());
    command
}

#[tokio::test]
async fn the_receiver_refuses_to_start_when_it_cannot_trust_redis() {
    let certificates = TestCertificates::generate();
    let server = RedisServer::builder()
        .tls(&certificates, ClientAuth::Optional)
        .start();
    let url = server.tls_url().unwrap();
    let other_ca = TestCertificates::generate();
    let ca = other_ca.ca_file();

    let output = receiver(&[
        ("REDIS_URL", url.as_ref()),
        ("REDIS_TLS_CA", ca.as_os_str()),
    ])
    .output()
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    // It never listened, so no delivery reached a handler without its Redis store.
    assert!(!stdout.contains("listening on"), "{stdout}");
    assert!(
        stderr.contains(
            "REDIS_URL: cannot connect to Redis: invalid peer certificate: UnknownIssuer"
        ),
        "{stderr}"
    );
    assert_eq!(server.command(&["DBSIZE"]).unwrap(), Reply::Integer(0));
}

#[tokio::test]
async fn the_receiver_reads_its_ca_and_client_certificate_from_files() {
    let certificates = TestCertificates::generate();
    let server = RedisServer::builder()
        .tls(&certificates, ClientAuth::Required)
        .start();
    let url = server.tls_url().unwrap();
    let (ca, cert, key) = (
        certificates.ca_file(),
        certificates.client_cert_file(),
        certificates.client_key_file(),
    );
    let mut child = receiver(&[
        ("REDIS_URL", url.as_ref()),
        ("REDIS_TLS_CA", ca.as_os_str()),
        ("REDIS_TLS_CERT", cert.as_os_str()),
        ("REDIS_TLS_KEY", key.as_os_str()),
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let stdout = child.stdout.take().unwrap();
    let addr = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find_map(|line| {
            let rest = line.strip_prefix("listening on http://")?;
            rest.split('/').next()?.parse::<SocketAddr>().ok()
        });
    let reply = async {
        let addr = addr.expect("the receiver listens");
        let event = MockEvent::new("ping").id("evt_tls");
        let (headers, body) = event.sign(HopNow, SECRET).parts().unwrap();
        let first = send_http1(addr, post_full("/webhooks", headers.clone(), body.clone())).await;
        let second = send_http1(addr, post_full("/webhooks", headers, body)).await;
        (first, second)
    };
    let (first, second) = reply.await;
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(second.status, StatusCode::OK);
    assert_eq!(second.headers["idempotent-replayed"], "true");
    // The idempotency record went to the Redis reached over TLS.
    let keys = server.command(&["DBSIZE"]).unwrap();
    assert!(matches!(keys, Reply::Integer(n) if n > 0), "{keys:?}");
}

#[cfg(feature = "redis-cluster")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_serves_the_backends_over_rediss() {
    let certificates = TestCertificates::generate();
    let cluster = RedisCluster::builder().tls(&certificates).start();
    let redis = RedisConnection::cluster(cluster.tls_urls())
        .operation_timeout(TIMEOUT)
        .tls_root_ca(certificates.ca_pem())
        .connect()
        .await
        .unwrap();
    assert!(redis.is_cluster());

    // Keys on every master: the client follows the slot map to each node's TLS port.
    let store = RedisStore::new(redis.clone()).unwrap();
    for id in ["evt_1", "evt_2", "evt_3", "evt_4", "evt_5", "evt_6"] {
        let key = format!("hopnow:{id}");
        let claim = store
            .claim(&key, Token::generate(), Duration::from_secs(60))
            .await;
        assert!(matches!(claim, Ok(Claim::Acquired)), "{claim:?}");
    }
    let per_hour = Quota::per_hour(NonZeroU32::new(1).unwrap());
    let limiter = RedisRateLimiter::builder(redis.clone(), per_hour)
        .build()
        .unwrap();
    let first = limiter.check(&Key::global()).decision().await;
    assert!(matches!(first, Decision::Allowed(_)), "{first:?}");
    let guard = RedisOrderingGuard::new(redis).unwrap();
    let applied = guard
        .apply_if_newer("payout:po_1", OffsetDateTime::now_utc(), "evt_1")
        .await;
    assert!(applied.unwrap().is_applied());
    let masters_with_keys = cluster
        .nodes()
        .iter()
        .filter(|node| !matches!(node.command(&["DBSIZE"]), Ok(Reply::Integer(0))))
        .count();
    assert_eq!(masters_with_keys, 3);

    let other_ca = TestCertificates::generate();
    let error = RedisConnection::cluster(cluster.tls_urls())
        .operation_timeout(TIMEOUT)
        .tls_root_ca(other_ca.ca_pem())
        .connect()
        .await
        .unwrap_err();
    assert!(error.to_string().contains("UnknownIssuer"), "{error}");
}
