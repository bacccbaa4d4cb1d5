//! Runs the example programs as a user would (the binaries `cargo test` builds) and
//! drives their main paths over a real socket.

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use http::StatusCode;
use serde_json::{Value, json};
use test_redis::RedisServer;
use webhook_signature::Signer;
use webhook_signature::scheme::HopNow;
use webhook_testing::{Created, MockEvent};

use common::{Reply, post_full, send_http1};

const SECRET: &str = "example-test-secret";

/// A running example program, killed on drop.
struct Example {
    child: Child,
    addr: SocketAddr,
    addrs: Vec<SocketAddr>,
    stdout: std::sync::mpsc::Receiver<String>,
}

impl Example {
    /// Starts `examples/<name>` with `env` and waits for its `listening on` line.
    fn start(name: &str, env: &[(&str, &str)]) -> Self {
        Self::start_servers(name, env, 1)
    }

    /// Starts `examples/<name>` and waits for `servers` `listening on` lines.
    fn start_servers(name: &str, env: &[(&str, &str)], servers: usize) -> Self {
        Self::spawn(name, env, &[], servers)
    }

    /// Starts `examples/<name> args...` and waits for `servers` `listening on` lines.
    fn spawn(name: &str, env: &[(&str, &str)], args: &[&str], servers: usize) -> Self {
        let binary = examples_dir().join(name);
        assert!(
            binary.exists(),
            "{} is missing: run `cargo test --workspace` (it builds the examples)",
            binary.display()
        );
        let mut command = Command::new(&binary);
        command
            .args(args)
            .env("BIND", "127.0.0.1:0")
            .env("RUST_LOG", "warn")
            .env_remove("REDIS_URL")
            .env_remove("WEBHOOK_SECRET")
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("start the example");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let mut addrs: Vec<SocketAddr> = Vec::new();
        while addrs.len() < servers {
            let line = lines
                .next()
                .expect("the example exited before listening")
                .expect("read stdout");
            if let Some(rest) = line.strip_prefix("listening on http://") {
                let addr = rest.split('/').next().expect("an address");
                addrs.push(addr.parse().expect("a socket address"));
            }
        }
        // Keep reading stdout so the program never blocks on a full pipe.
        let (sender, stdout) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                let _ = sender.send(line);
            }
        });
        Self {
            child,
            addr: addrs.first().copied().unwrap_or(([0, 0, 0, 0], 0).into()),
            addrs,
            stdout,
        }
    }

    /// Waits (up to 10 s) for a line of output containing `needle`.
    fn wait_for_line(&self, needle: &str) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.stdout.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => {}
                Err(error) => panic!("no line containing {needle:?}: {error}"),
            }
        }
    }

    async fn post(&self, event: &MockEvent, secret: &str) -> Reply {
        self.post_to(0, event, secret).await
    }

    /// Posts to the `server`-th address the program listens on.
    async fn post_to(&self, server: usize, event: &MockEvent, secret: &str) -> Reply {
        let (headers, body) = event.clone().sign(HopNow, secret).parts().expect("signed");
        send_http1(self.addrs[server], post_full("/webhooks", headers, body)).await
    }
}

impl Drop for Example {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn examples_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    exe.parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps")
        .join("examples")
}

fn json(reply: &Reply) -> Value {
    serde_json::from_slice(&reply.body).expect("a JSON body")
}

fn payout(id: &str, event_type: &str, created: i64) -> MockEvent {
    MockEvent::new(event_type)
        .id(id)
        .created(Created::unix(created))
        .data(json!({"id": "po_1", "status": "completed"}))
}

#[tokio::test]
async fn the_reference_receiver_verifies_deduplicates_and_orders() {
    let receiver = Example::start("receiver", &[("WEBHOOK_SECRET", SECRET)]);
    let now = Created::now().unix_seconds();

    let ping = MockEvent::new("ping").id("evt_ping");
    let first = receiver.post(&ping, SECRET).await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(
        json(&first),
        json!({"status": "processed", "event_id": "evt_ping", "event_type": "ping"})
    );
    assert!(first.headers.get("idempotent-replayed").is_none());

    let retry = receiver.post(&ping, SECRET).await;
    assert_eq!(retry.status, StatusCode::OK);
    assert_eq!(retry.headers["idempotent-replayed"], "true");
    assert_eq!(json(&retry), json(&first));

    let forged = receiver
        .post(&MockEvent::new("ping"), "not-the-secret")
        .await;
    forged.assert_problem(StatusCode::UNAUTHORIZED, "signature_mismatch", &[SECRET]);

    let completed = receiver
        .post(&payout("evt_done", "payout.completed", now), SECRET)
        .await;
    assert_eq!(json(&completed)["status"], "processed");
    let late = payout("evt_made", "payout.created", now - 60);
    let created = receiver.post(&late, SECRET).await;
    assert_eq!(created.status, StatusCode::OK);
    assert_eq!(
        json(&created),
        json!({"status": "stale", "event_id": "evt_made", "event_type": "payout.created"})
    );

    let unknown = receiver.post(&MockEvent::new("invoice.paid"), SECRET).await;
    assert_eq!(unknown.status, StatusCode::OK);
    assert_eq!(json(&unknown)["status"], "ignored");
}

#[tokio::test]
async fn two_receivers_sharing_redis_process_an_event_once() {
    let redis = RedisServer::start();
    let url = redis.url();
    let env = [("WEBHOOK_SECRET", SECRET), ("REDIS_URL", url.as_str())];
    let (a, b) = (
        Example::start("receiver", &env),
        Example::start("receiver", &env),
    );
    let now = Created::now().unix_seconds();

    let event = payout("evt_shared", "payout.completed", now);
    let first = a.post(&event, SECRET).await;
    assert_eq!(json(&first)["status"], "processed");
    let second = b.post(&event, SECRET).await;
    assert_eq!(second.status, StatusCode::OK);
    assert_eq!(second.headers["idempotent-replayed"], "true");

    // The ordering guard is shared too: an older event about the payout, first seen
    // by the other receiver, is stale.
    let older = b
        .post(&payout("evt_older", "payout.created", now - 60), SECRET)
        .await;
    assert_eq!(json(&older)["status"], "stale");
}

#[tokio::test]
async fn the_hyper_receiver_verifies_and_deduplicates() {
    let receiver = Example::start("hyper_receiver", &[("WEBHOOK_SECRET", SECRET)]);
    let ping = MockEvent::new("ping").id("evt_hyper");
    let first = receiver.post(&ping, SECRET).await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(
        json(&first),
        json!({"status": "processed", "event_id": "evt_hyper"})
    );
    let retry = receiver.post(&ping, SECRET).await;
    assert_eq!(retry.headers["idempotent-replayed"], "true");
    let forged = receiver.post(&ping, "wrong").await;
    forged.assert_problem(StatusCode::UNAUTHORIZED, "signature_mismatch", &[SECRET]);
}

#[tokio::test]
async fn the_receiver_limits_each_verified_source() {
    let redis = RedisServer::start();
    let url = redis.url();
    let env = [
        ("WEBHOOK_SECRET", SECRET),
        ("WEBHOOK_RATE_PER_MINUTE", "2"),
        ("REDIS_URL", url.as_str()),
    ];
    // Two receivers share one quota through Redis.
    let (a, b) = (
        Example::start("receiver", &env),
        Example::start("receiver", &env),
    );
    assert_eq!(
        a.post(&MockEvent::new("ping"), SECRET).await.status,
        StatusCode::OK
    );
    assert_eq!(
        b.post(&MockEvent::new("ping"), SECRET).await.status,
        StatusCode::OK
    );
    let limited = a.post(&MockEvent::new("ping"), SECRET).await;
    limited.assert_problem(StatusCode::TOO_MANY_REQUESTS, "rate_limited", &[SECRET]);
    let retry_after: u64 = limited.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (1..=60).contains(&retry_after),
        "Retry-After: {retry_after}"
    );

    // Forged deliveries are refused before the limit: they use none of the quota.
    let forged = b.post(&MockEvent::new("ping"), "wrong").await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);
}

/// One signed (or unsigned) `grpc.health.v1.Health/Check` call over HTTP/2.
async fn health_check(addr: SocketAddr, secret: Option<&str>) -> Reply {
    use bytes::Bytes;
    use http_body_util::Full;
    // A gRPC frame holding an empty `HealthCheckRequest`.
    const EMPTY_CHECK: [u8; 5] = [0, 0, 0, 0, 0];
    let mut request = http::Request::post(format!("http://{addr}/grpc.health.v1.Health/Check"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(Full::new(Bytes::from_static(&EMPTY_CHECK)))
        .unwrap();
    if let Some(secret) = secret {
        let signer = webhook_signature::Signer::new(HopNow, secret).unwrap();
        request
            .headers_mut()
            .extend(signer.sign(&EMPTY_CHECK, 0, "").unwrap());
    }
    common::send_http2(addr, request).await
}

#[tokio::test]
async fn the_tonic_service_verifies_and_limits_calls() {
    let service = Example::start(
        "tonic_service",
        &[("WEBHOOK_SECRET", SECRET), ("WEBHOOK_RATE_PER_MINUTE", "2")],
    );
    for _ in 0..2 {
        let reply = health_check(service.addr, Some(SECRET)).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.body, &[0, 0, 0, 0, 2, 0x08, 0x01][..], "SERVING");
        assert_eq!(reply.trailers.as_ref().unwrap()["grpc-status"], "0");
    }
    let limited = health_check(service.addr, Some(SECRET)).await;
    assert_eq!(limited.status, StatusCode::OK);
    let status = limited
        .headers
        .get("grpc-status")
        .or_else(|| limited.trailers.as_ref()?.get("grpc-status"));
    assert_eq!(status.unwrap(), "8", "RESOURCE_EXHAUSTED");

    let unsigned = health_check(service.addr, None).await;
    assert_eq!(unsigned.status, StatusCode::OK);
    assert_eq!(unsigned.headers["grpc-status"], "16", "UNAUTHENTICATED");
}

#[tokio::test]
async fn multi_instance_shares_idempotency_and_the_rate_limit() {
    let redis = RedisServer::start();
    let url = redis.url();
    let env = [
        ("WEBHOOK_SECRET", SECRET),
        ("REDIS_URL", url.as_str()),
        ("BIND_A", "127.0.0.1:0"),
        ("BIND_B", "127.0.0.1:0"),
        ("WEBHOOK_RATE_PER_MINUTE", "3"),
    ];
    let fleet = Example::start_servers("multi_instance", &env, 2);

    let event = MockEvent::new("order.paid").id("evt_fleet");
    let first = fleet.post_to(0, &event, SECRET).await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(json(&first)["instance"], "BIND_A");
    let second = fleet.post_to(1, &event, SECRET).await;
    assert_eq!(second.headers["idempotent-replayed"], "true");
    assert_eq!(
        json(&second)["instance"],
        "BIND_A",
        "instance B replays A's answer"
    );

    // Three deliveries a minute per source, across both instances.
    assert_eq!(
        fleet
            .post_to(1, &MockEvent::new("ping"), SECRET)
            .await
            .status,
        StatusCode::OK
    );
    let limited = fleet.post_to(0, &MockEvent::new("ping"), SECRET).await;
    limited.assert_problem(StatusCode::TOO_MANY_REQUESTS, "rate_limited", &[SECRET]);
}

#[tokio::test]
async fn the_receiver_queues_and_answers_202() {
    let redis = RedisServer::builder().aof(true).start();
    let url = redis.url();
    for queue in ["memory", "redis"] {
        let env = [
            ("WEBHOOK_SECRET", SECRET),
            ("WEBHOOK_QUEUE", queue),
            ("REDIS_URL", url.as_str()),
        ];
        let receiver = Example::start("receiver", &env);
        let event = MockEvent::new("ping").id(format!("evt_queued_{queue}"));
        let accepted = receiver.post(&event, SECRET).await;
        assert_eq!(accepted.status, StatusCode::ACCEPTED, "{queue}");
        assert_eq!(json(&accepted)["status"], "queued");
        assert_eq!(json(&accepted)["event_id"], format!("evt_queued_{queue}"));
        // The sender's retry is answered from the idempotency record: queued once.
        let retry = receiver.post(&event, SECRET).await;
        assert_eq!(retry.status, StatusCode::ACCEPTED);
        assert_eq!(retry.headers["idempotent-replayed"], "true");
    }
}

#[tokio::test]
async fn a_separate_worker_processes_what_the_receiver_queued() {
    let redis = RedisServer::builder().aof(true).start();
    let url = redis.url();
    let receiver = Example::start(
        "receiver",
        &[
            ("WEBHOOK_SECRET", SECRET),
            ("WEBHOOK_QUEUE", "redis"),
            ("WEBHOOK_WORKERS", "0"),
            ("REDIS_URL", url.as_str()),
        ],
    );
    let accepted = receiver
        .post(&MockEvent::new("ping").id("evt_for_worker"), SECRET)
        .await;
    assert_eq!(accepted.status, StatusCode::ACCEPTED);

    let worker = Example::spawn("worker", &[("REDIS_URL", url.as_str())], &[], 0);
    let line = worker.wait_for_line("processed evt_for_worker");
    assert!(
        line.trim_end().ends_with("processed evt_for_worker (ping)"),
        "{line}"
    );

    let mut listing = Example::spawn(
        "worker",
        &[("REDIS_URL", url.as_str())],
        &["dead-letters"],
        0,
    );
    let status = listing.child.wait().expect("the listing exits");
    assert!(status.success(), "nothing dead-lettered, exit 0");
}

/// `GET path` on the example's first address.
async fn get(example: &Example, path: &str) -> Reply {
    get_at(example.addr, path).await
}

/// `GET path` on `addr`.
async fn get_at(addr: SocketAddr, path: &str) -> Reply {
    let request = http::Request::get(path)
        .header("host", "localhost")
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .unwrap();
    send_http1(addr, request).await
}

/// The value of the Prometheus sample `series` (name and labels, as rendered).
fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test]
async fn metrics_count_a_scripted_mix_of_deliveries() {
    let receiver = Example::start(
        "receiver",
        &[("WEBHOOK_SECRET", SECRET), ("WEBHOOK_RATE_PER_MINUTE", "4")],
    );
    let good = MockEvent::new("ping").id("evt_a");
    assert_eq!(receiver.post(&good, SECRET).await.status, StatusCode::OK);
    let duplicate = receiver.post(&good, SECRET).await;
    assert_eq!(duplicate.headers["idempotent-replayed"], "true");
    for _ in 0..2 {
        let forged = receiver.post(&MockEvent::new("ping"), "forged").await;
        assert_eq!(forged.status, StatusCode::UNAUTHORIZED);
    }
    for id in ["evt_b", "evt_c"] {
        let reply = receiver.post(&MockEvent::new("ping").id(id), SECRET).await;
        assert_eq!(reply.status, StatusCode::OK);
    }
    let limited = receiver
        .post(&MockEvent::new("ping").id("evt_d"), SECRET)
        .await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    let hostile = receiver
        .post(&MockEvent::new("x.random.type.1"), SECRET)
        .await;
    assert_eq!(hostile.status, StatusCode::TOO_MANY_REQUESTS);

    let scrape = get(&receiver, "/metrics").await;
    assert_eq!(scrape.status, StatusCode::OK);
    let text = String::from_utf8(scrape.body.to_vec()).unwrap();
    let count =
        |series: &str| sample(&text, series).unwrap_or_else(|| panic!("{series} in\n{text}"));
    assert_eq!(count("webhooks_received_total"), 8.0);
    assert_eq!(
        count(r#"webhooks_rejected_total{reason="signature_mismatch"}"#),
        2.0
    );
    assert_eq!(count("webhooks_duplicates_total"), 1.0);
    assert_eq!(count("webhooks_rate_limited_total"), 2.0);
    assert_eq!(count(r#"webhooks_processed_total{event_type="ping"}"#), 3.0);
    assert_eq!(
        count(r#"webhooks_verified_total{scheme="hopnow",key_id="0"}"#),
        6.0
    );
    assert!(!text.contains(SECRET), "no secret in the metrics");

    let health = get(&receiver, "/healthz").await;
    assert_eq!(health.status, StatusCode::OK);
}

#[tokio::test]
async fn healthz_reports_redis_and_https_is_required_when_asked() {
    let mut redis = RedisServer::start();
    let url = redis.url();
    let receiver = Example::start(
        "receiver",
        &[
            ("WEBHOOK_SECRET", SECRET),
            ("REDIS_URL", url.as_str()),
            ("WEBHOOK_REQUIRE_HTTPS", "1"),
        ],
    );
    assert_eq!(get(&receiver, "/healthz").await.status, StatusCode::OK);

    // Plain HTTP from an untrusted peer: refused before verification.
    let plain = receiver.post(&MockEvent::new("ping"), SECRET).await;
    plain.assert_problem(StatusCode::FORBIDDEN, "https_required", &[SECRET]);

    redis.kill();
    let down = get(&receiver, "/healthz").await;
    assert_eq!(down.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(json(&down)["redis"], "unreachable");
}

#[tokio::test]
async fn a_trusted_proxy_vouches_for_https() {
    let receiver = Example::start(
        "receiver",
        &[
            ("WEBHOOK_SECRET", SECRET),
            ("WEBHOOK_REQUIRE_HTTPS", "1"),
            ("WEBHOOK_TRUSTED_PROXIES", "127.0.0.1"),
        ],
    );
    let event = MockEvent::new("ping");
    let (mut headers, body) = event.sign(HopNow, SECRET).parts().unwrap();
    headers.insert("x-forwarded-proto", "https".parse().unwrap());
    let reply = send_http1(receiver.addr, post_full("/webhooks", headers, body)).await;
    assert_eq!(reply.status, StatusCode::OK);
    let plain = receiver.post(&MockEvent::new("ping"), SECRET).await;
    assert_eq!(plain.status, StatusCode::FORBIDDEN);
}

/// An event as the guide's mock-event helper (`simulate_webhook_event`) posts it:
/// `json.dumps(event)`, with Python's separators `", "` and `": "`; `data` is given
/// written the same way.
fn guide_mock_event(id: &str, event_type: &str, created: &str, data: &str) -> String {
    format!(r#"{{"id": "{id}", "type": "{event_type}", "created": "{created}", "data": {data}}}"#)
}

/// What Python's `json.dumps` writes for the same event, when `python3` is installed.
fn python_json_dumps(id: &str, event_type: &str, created: &str, data: &str) -> Option<String> {
    const SCRIPT: &str = "import json, sys\n\
        id, event_type, created, data = sys.argv[1:]\n\
        event = {'id': id, 'type': event_type, 'created': created, 'data': json.loads(data)}\n\
        sys.stdout.write(json.dumps(event))";
    let output = Command::new("python3")
        .args(["-c", SCRIPT, id, event_type, created, data])
        .output()
        .ok()?;
    assert!(output.status.success(), "python3: {output:?}");
    Some(String::from_utf8(output.stdout).expect("UTF-8"))
}

/// Posts `body` as the guide's helper does: JSON, with `X-Webhook-Signature`, the hex
/// HMAC-SHA256 of the body under the receiver's secret.
async fn post_as_the_guide(example: &Example, body: &str) -> Reply {
    let mut headers = webhook_signature::Signer::new(HopNow, SECRET)
        .unwrap()
        .sign(body.as_bytes(), 0, "")
        .unwrap();
    assert!(headers.contains_key("x-webhook-signature"));
    headers.insert(
        http::header::CONTENT_TYPE,
        "application/json".parse().unwrap(),
    );
    send_http1(
        example.addr,
        post_full("/webhooks", headers, body.to_owned()),
    )
    .await
}

#[tokio::test]
async fn the_guides_mock_event_is_processed_once_and_orders_the_payout() {
    let receiver = Example::start("receiver", &[("WEBHOOK_SECRET", SECRET)]);
    let id = "evt_test_3f6c1a52-8e0d-4b7a-9c21-5d4e8f7a6b10";
    let created = "2026-12-06T09:30:12.123456+00:00";
    let data = r#"{"id": "pout_test_123", "status": "completed"}"#;
    let completed = guide_mock_event(id, "payout.completed", created, data);
    assert_eq!(
        completed,
        r#"{"id": "evt_test_3f6c1a52-8e0d-4b7a-9c21-5d4e8f7a6b10", "type": "payout.completed", "created": "2026-12-06T09:30:12.123456+00:00", "data": {"id": "pout_test_123", "status": "completed"}}"#
    );
    if let Some(python) = python_json_dumps(id, "payout.completed", created, data) {
        assert_eq!(completed, python, "the bytes Python sends");
    }

    let first = post_as_the_guide(&receiver, &completed).await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(
        json(&first),
        json!({"status": "processed", "event_id": id, "event_type": "payout.completed"})
    );
    assert!(first.headers.get("idempotent-replayed").is_none());

    let retry = post_as_the_guide(&receiver, &completed).await;
    assert_eq!(retry.status, StatusCode::OK);
    assert_eq!(retry.headers["idempotent-replayed"], "true");
    assert_eq!(json(&retry), json(&first));

    // The payout's `payout.created`, created a minute earlier, arrives after it.
    let late_id = "evt_test_9a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d";
    let late = guide_mock_event(
        late_id,
        "payout.created",
        "2026-12-06T09:29:12.654321+00:00",
        r#"{"id": "pout_test_123", "status": "pending"}"#,
    );
    let stale = post_as_the_guide(&receiver, &late).await;
    assert_eq!(stale.status, StatusCode::OK);
    assert_eq!(
        json(&stale),
        json!({"status": "stale", "event_id": late_id, "event_type": "payout.created"})
    );

    // The guard keys on `data.id`: the same older event about another payout applies.
    let other_id = "evt_test_0c9d8e7f-6a5b-4c3d-8e2f-1a0b9c8d7e6f";
    let other = guide_mock_event(
        other_id,
        "payout.created",
        "2026-12-06T09:29:12.654321+00:00",
        r#"{"id": "pout_test_456", "status": "pending"}"#,
    );
    let applied = post_as_the_guide(&receiver, &other).await;
    assert_eq!(
        json(&applied),
        json!({"status": "processed", "event_id": other_id, "event_type": "payout.created"})
    );
}

#[tokio::test]
async fn a_payout_whose_data_does_not_match_is_acknowledged_logged_and_counted() {
    let receiver = Example::start("receiver", &[("WEBHOOK_SECRET", SECRET)]);
    let id = "evt_test_7b8c9d0e-1f2a-4b3c-9d4e-5f6a7b8c9d0e";
    let body = guide_mock_event(
        id,
        "payout.completed",
        "2026-12-06T09:30:12.123456+00:00",
        r#"{"id": 123, "status": "completed"}"#,
    );
    let reply = post_as_the_guide(&receiver, &body).await;
    assert_eq!(reply.status, StatusCode::OK, "the sender does not retry");
    assert_eq!(
        json(&reply),
        json!({
            "status": "invalid_data",
            "event_id": id,
            "path": "data.id",
            "reason": "invalid type: integer `123`, expected a string",
        })
    );
    let log = receiver.wait_for_line(id);
    assert!(log.contains("ERROR"), "{log}");
    assert!(log.contains(r#"path="data.id""#), "{log}");

    // A retry all the same is answered from the idempotency record.
    let retry = post_as_the_guide(&receiver, &body).await;
    assert_eq!(retry.status, StatusCode::OK);
    assert_eq!(retry.headers["idempotent-replayed"], "true");

    let scrape = get(&receiver, "/metrics").await;
    let text = String::from_utf8(scrape.body.to_vec()).unwrap();
    assert_eq!(
        sample(&text, r#"webhooks_rejected_total{reason="invalid_data"}"#),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            r#"webhooks_processed_total{event_type="payout.completed"}"#
        ),
        None,
        "not applied: {text}"
    );
}

/// A signed delivery of `event` as raw HTTP/1.1: the head, then the body.
fn raw_delivery(event: &MockEvent) -> (Vec<u8>, Vec<u8>) {
    let (headers, body) = event.clone().sign(HopNow, SECRET).parts().expect("signed");
    let mut head = format!(
        "POST /webhooks HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    for (name, value) in &headers {
        head.push_str(&format!("{name}: {}\r\n", value.to_str().unwrap()));
    }
    head.push_str("\r\n");
    (head.into_bytes(), body.to_vec())
}

/// How a raw HTTP/1.1 exchange ended.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    /// A response: its status, and whether it was an idempotent replay.
    Answered { status: u16, replayed: bool },
    /// The connection failed or closed with no response.
    ConnectionError,
}

/// Reads the rest of the connection and parses the response head, if any.
async fn read_outcome(stream: &mut tokio::net::TcpStream) -> Outcome {
    use tokio::io::AsyncReadExt;
    let mut response = Vec::new();
    if stream.read_to_end(&mut response).await.is_err() && response.is_empty() {
        return Outcome::ConnectionError;
    }
    let text = String::from_utf8_lossy(&response).to_ascii_lowercase();
    let Some(status) = text
        .strip_prefix("http/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
    else {
        return Outcome::ConnectionError;
    };
    Outcome::Answered {
        status,
        replayed: text.contains("\r\nidempotent-replayed: true\r\n"),
    }
}

/// Sends a whole signed delivery over a fresh connection and reads the outcome.
async fn deliver_raw(addr: SocketAddr, event: &MockEvent) -> Outcome {
    use tokio::io::AsyncWriteExt;
    let (head, body) = raw_delivery(event);
    let Ok(mut stream) = tokio::net::TcpStream::connect(addr).await else {
        return Outcome::ConnectionError;
    };
    if stream.write_all(&[head, body].concat()).await.is_err() {
        return Outcome::ConnectionError;
    }
    read_outcome(&mut stream).await
}

#[tokio::test]
async fn slow_headers_are_closed_within_the_header_read_timeout() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    const TIMEOUT: Duration = Duration::from_secs(4);
    let receiver = Example::start(
        "receiver",
        &[
            ("WEBHOOK_SECRET", SECRET),
            ("HEADER_READ_TIMEOUT_SECS", "4"),
        ],
    );
    // 50 connections send a request line, then one header byte every 2 s.
    let mut attackers = Vec::new();
    for _ in 0..50 {
        let addr = receiver.addr;
        attackers.push(tokio::spawn(async move {
            let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
            let started = Instant::now();
            let (mut read, mut write) = stream.into_split();
            write
                .write_all(b"POST /webhooks HTTP/1.1\r\nhost: localhost\r\nx-slow: ")
                .await
                .expect("write the request line");
            let trickle = tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_secs(2)).await;
                    if write.write_all(b"a").await.is_err() {
                        return;
                    }
                }
            });
            // Closed when the read ends: EOF, or a reset.
            let mut rest = Vec::new();
            let _ = tokio::time::timeout(Duration::from_secs(30), read.read_to_end(&mut rest))
                .await
                .expect("the receiver closes a slow header");
            trickle.abort();
            started.elapsed()
        }));
    }
    let mut closed = Vec::new();
    for attacker in attackers {
        closed.push(attacker.await.unwrap());
    }
    let (first, last) = (*closed.iter().min().unwrap(), *closed.iter().max().unwrap());
    println!(
        "slow headers: {} connections closed after {first:?} to {last:?} (header read timeout {TIMEOUT:?})",
        closed.len()
    );
    assert!(first >= TIMEOUT - Duration::from_millis(200), "{first:?}");
    assert!(last <= TIMEOUT + Duration::from_millis(1500), "{last:?}");

    // The receiver still answers a delivery.
    let reply = receiver.post(&MockEvent::new("ping"), SECRET).await;
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn a_connection_flood_past_the_cap_does_not_stop_good_deliveries() {
    const GOOD: usize = 8;
    let receiver = Example::start(
        "receiver",
        &[
            ("WEBHOOK_SECRET", SECRET),
            ("MAX_CONNECTIONS", "16"),
            ("HEADER_READ_TIMEOUT_SECS", "2"),
        ],
    );
    // 64 connections that send nothing: four times the cap.
    let mut flood = Vec::new();
    for _ in 0..64 {
        flood.push(
            tokio::net::TcpStream::connect(receiver.addr)
                .await
                .expect("connect"),
        );
    }
    // Good deliveries during the flood, each given a sender's 30 s.
    let started = Instant::now();
    let mut senders = Vec::new();
    for n in 0..GOOD {
        let addr = receiver.addr;
        senders.push(tokio::spawn(async move {
            let event = MockEvent::new("ping").id(format!("evt_flood_{n}"));
            let outcome = tokio::time::timeout(Duration::from_secs(30), deliver_raw(addr, &event))
                .await
                .unwrap_or(Outcome::ConnectionError);
            (outcome, started.elapsed())
        }));
    }
    let mut answered = 0;
    let mut slowest = Duration::ZERO;
    for sender in senders {
        let (outcome, elapsed) = sender.await.unwrap();
        if outcome
            == (Outcome::Answered {
                status: 200,
                replayed: false,
            })
        {
            answered += 1;
            slowest = slowest.max(elapsed);
        }
    }
    println!(
        "connection flood (cap 16, 64 idle connections): {answered} of {GOOD} good deliveries answered 200, the slowest after {slowest:?}"
    );
    assert_eq!(answered, GOOD);
    drop(flood);
}

/// Sends `SIGINT` to the example, as Ctrl-C does.
fn interrupt(example: &Example) {
    let status = Command::new("kill")
        .args(["-INT", &example.child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
}

#[tokio::test]
async fn graceful_shutdown_answers_every_delivery_in_flight_or_refuses_it_before_processing() {
    use tokio::io::AsyncWriteExt;
    const IN_FLIGHT: usize = 24;
    const LATE: usize = 8;
    let redis = RedisServer::start();
    let url = redis.url();
    let env = [
        ("WEBHOOK_SECRET", SECRET),
        ("REDIS_URL", url.as_str()),
        // The ping handler logs each event it runs: `ping event_id=...`.
        ("RUST_LOG", "info"),
    ];
    let mut receiver = Example::start("receiver", &env);
    let ids: Vec<String> = (0..IN_FLIGHT + LATE)
        .map(|n| format!("evt_drain_{n}"))
        .collect();
    let events: Vec<MockEvent> = ids
        .iter()
        .map(|id| MockEvent::new("ping").id(id.as_str()))
        .collect();

    // Deliveries in flight: the head and half the body sent, the rest after SIGINT.
    let mut streams = Vec::new();
    for event in &events[..IN_FLIGHT] {
        let (head, body) = raw_delivery(event);
        let mut stream = tokio::net::TcpStream::connect(receiver.addr)
            .await
            .expect("connect");
        let half = body.len() / 2;
        stream.write_all(&head).await.unwrap();
        stream.write_all(&body[..half]).await.unwrap();
        streams.push((stream, body[half..].to_vec()));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    interrupt(&receiver);
    let mut in_flight = Vec::new();
    for (mut stream, rest) in streams {
        in_flight.push(tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            if stream.write_all(&rest).await.is_err() {
                return Outcome::ConnectionError;
            }
            read_outcome(&mut stream).await
        }));
    }
    // Deliveries that arrive while the receiver shuts down.
    let mut late = Vec::new();
    for event in &events[IN_FLIGHT..] {
        let (addr, event) = (receiver.addr, event.clone());
        late.push(tokio::spawn(async move { deliver_raw(addr, &event).await }));
    }
    let mut outcomes = Vec::new();
    for task in in_flight.into_iter().chain(late) {
        outcomes.push(task.await.unwrap());
    }
    let exit = receiver.child.wait().expect("the receiver exits");
    assert!(exit.success(), "{exit:?}");
    let log: Vec<String> = receiver.stdout.try_iter().collect();

    let mut refused = 0;
    for (id, outcome) in ids.iter().zip(&outcomes) {
        let ran = log
            .iter()
            .any(|line| line.contains(&format!("ping event_id={id} ")));
        match outcome {
            Outcome::Answered { status: 200, .. } => assert!(ran, "{id} answered, not run"),
            Outcome::ConnectionError => {
                assert!(!ran, "{id} processed, then its connection failed");
                refused += 1;
            }
            other => panic!("{id}: {other:?}"),
        }
    }
    let drained = outcomes[..IN_FLIGHT]
        .iter()
        .filter(|outcome| matches!(outcome, Outcome::Answered { status: 200, .. }))
        .count();
    println!(
        "graceful shutdown: {drained} of {IN_FLIGHT} deliveries in flight answered 200; \
         of {LATE} sent during shutdown, {} answered, {refused} refused before processing",
        LATE - refused
    );
    assert_eq!(drained, IN_FLIGHT, "every delivery in flight finishes");

    // The sender retries everything on a new receiver: what was answered is replayed
    // from its record, what was refused is processed now.
    let restarted = Example::start("receiver", &env);
    for ((id, event), first) in ids.iter().zip(&events).zip(&outcomes) {
        let retry = deliver_raw(restarted.addr, event).await;
        let replayed = matches!(first, Outcome::Answered { .. });
        assert_eq!(
            retry,
            Outcome::Answered {
                status: 200,
                replayed
            },
            "{id}"
        );
    }
}

#[tokio::test]
async fn metrics_bind_serves_metrics_there_and_not_on_the_webhook_listener() {
    let receiver = Example::start(
        "receiver",
        &[("WEBHOOK_SECRET", SECRET), ("METRICS_BIND", "127.0.0.1:0")],
    );
    let line = receiver.wait_for_line("metrics on http://");
    let metrics_addr: SocketAddr = line
        .trim_start_matches("metrics on http://")
        .trim_end_matches("/metrics")
        .parse()
        .expect("the metrics address");
    assert_eq!(
        receiver.post(&MockEvent::new("ping"), SECRET).await.status,
        StatusCode::OK
    );

    // On the webhook listener they are answered as any path it does not serve.
    let unknown = get(&receiver, "/no-such-path").await;
    assert_ne!(unknown.status, StatusCode::OK);
    for path in ["/metrics", "/healthz"] {
        let reply = get(&receiver, path).await;
        assert_eq!(reply.status, unknown.status, "{path}");
        assert_eq!(reply.body, unknown.body, "{path}");
    }
    let scrape = get_at(metrics_addr, "/metrics").await;
    assert_eq!(scrape.status, StatusCode::OK);
    let text = String::from_utf8(scrape.body.to_vec()).unwrap();
    assert_eq!(
        sample(&text, r#"webhooks_processed_total{event_type="ping"}"#),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        get_at(metrics_addr, "/healthz").await.status,
        StatusCode::OK
    );
}

/// A network namespace joined to this host by a veth pair: a peer on another
/// address, on one machine. Removed on drop, the namespace and both links.
struct Netns {
    name: String,
    host_link: String,
    host_ip: String,
}

impl Netns {
    /// Creates the namespace with `169.254.<n>.2/24` inside and `169.254.<n>.1/24` on
    /// this host's end; `Err` says why it could not (not root, no `ip`).
    fn create() -> Result<Self, String> {
        let pid = std::process::id();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let tag = format!("{}{}", pid % 10_000, nanos % 1000);
        // A link-local /24 this host does not use (169.254.169.0/24 holds cloud
        // metadata services: never that one).
        let used = ip(&["-4", "addr"]).unwrap_or_default();
        let subnet = (100..160)
            .map(|n| (n + pid % 60) % 60 + 100)
            .find(|n| !used.contains(&format!("169.254.{n}.")))
            .ok_or("no free 169.254.x.0/24")?;
        let netns = Self {
            name: format!("twh-{tag}"),
            host_link: format!("twh{tag}h"),
            host_ip: format!("169.254.{subnet}.1"),
        };
        let inner_link = format!("twh{tag}n");
        let inner_ip = format!("169.254.{subnet}.2/24");
        let host_cidr = format!("{}/24", netns.host_ip);
        ip(&["netns", "add", &netns.name])?;
        // From here on, drop removes whatever was made.
        let steps: [&[&str]; 6] = [
            &[
                "link",
                "add",
                &netns.host_link,
                "type",
                "veth",
                "peer",
                "name",
                &inner_link,
            ],
            &["link", "set", &inner_link, "netns", &netns.name],
            &["addr", "add", &host_cidr, "dev", &netns.host_link],
            &["link", "set", &netns.host_link, "up"],
            &[
                "-n",
                &netns.name,
                "addr",
                "add",
                &inner_ip,
                "dev",
                &inner_link,
            ],
            &["-n", &netns.name, "link", "set", &inner_link, "up"],
        ];
        for step in steps {
            ip(step)?;
        }
        Ok(netns)
    }

    /// Sends `request` from inside the namespace to `addr` and returns the raw reply.
    fn send(&self, addr: SocketAddr, request: &[u8]) -> String {
        use std::io::Write;
        let mut child = Command::new("ip")
            .args(["netns", "exec", &self.name, "timeout", "10", "bash", "-c"])
            .arg("exec 3<>\"/dev/tcp/$0/$1\" && cat >&3 && cat <&3")
            .args([addr.ip().to_string(), addr.port().to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("run bash in the namespace");
        child.stdin.take().unwrap().write_all(request).unwrap();
        let output = child.wait_with_output().expect("the reply");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Deleting one end of a veth pair deletes both.
        let _ = ip(&["link", "del", &self.host_link]);
        let _ = ip(&["netns", "del", &self.name]);
    }
}

/// Runs `ip args...`; its stdout, or why it failed.
fn ip(args: &[&str]) -> Result<String, String> {
    let output = Command::new("ip")
        .args(args)
        .output()
        .map_err(|error| format!("`ip` did not run: {error}"))?;
    if !output.status.success() {
        return Err(format!(
            "`ip {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The status code of a raw HTTP/1.1 reply, `0` for none.
fn raw_status(reply: &str) -> u16 {
    reply
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn a_peer_on_another_address_cannot_read_metrics_on_the_webhook_listener() {
    let netns = match Netns::create() {
        Ok(netns) => netns,
        Err(why) => {
            println!("skipped: no network namespace ({why}); the test needs root and `ip`");
            return;
        }
    };
    let bind = format!("{}:0", netns.host_ip);
    let get = |path: &str| {
        format!("GET {path} HTTP/1.1\r\nhost: receiver\r\nconnection: close\r\n\r\n").into_bytes()
    };
    let (head, body) = raw_delivery(&MockEvent::new("ping"));
    let delivery = [head, body].concat();

    let receiver = Example::start(
        "receiver",
        &[("WEBHOOK_SECRET", SECRET), ("BIND", bind.as_str())],
    );
    let addr = receiver.addr;
    let peer = netns.send(addr, &delivery);
    assert_eq!(
        raw_status(&peer),
        200,
        "the peer reaches the receiver: {peer}"
    );
    for path in ["/metrics", "/healthz"] {
        let reply = netns.send(addr, &get(path));
        assert_eq!(raw_status(&reply), 404, "{path}: {reply}");
        assert!(!reply.contains("webhooks_"), "{reply}");
    }

    // The operator opts in: the same peer reads them.
    let public = Example::start(
        "receiver",
        &[
            ("WEBHOOK_SECRET", SECRET),
            ("BIND", bind.as_str()),
            ("METRICS_PUBLIC", "1"),
        ],
    );
    assert_eq!(raw_status(&netns.send(public.addr, &delivery)), 200);
    let reply = netns.send(public.addr, &get("/metrics"));
    assert_eq!(raw_status(&reply), 200, "{reply}");
    assert!(reply.contains("webhooks_"), "{reply}");
}

/// With `DATABASE_URL` the receiver keeps its idempotency records in Postgres (the
/// server these machines run on 127.0.0.1:5432): a retry is replayed, and so it is by a
/// receiver started afresh on the same database.
#[tokio::test]
async fn the_receiver_keeps_its_records_in_postgres_with_database_url() {
    let database = "postgres://postgres@127.0.0.1:5432/test";
    let env = [("WEBHOOK_SECRET", SECRET), ("DATABASE_URL", database)];
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let event = MockEvent::new("ping").id(format!("evt_pg_{nanos}"));

    let receiver = Example::start("receiver", &env);
    let first = receiver.post(&event, SECRET).await;
    assert_eq!(first.status, StatusCode::OK, "{:?}", first.body);
    assert!(first.headers.get("idempotent-replayed").is_none());
    let retry = receiver.post(&event, SECRET).await;
    assert_eq!(retry.headers["idempotent-replayed"], "true");
    drop(receiver);

    let restarted = Example::start("receiver", &env);
    let after_restart = restarted.post(&event, SECRET).await;
    assert_eq!(after_restart.status, StatusCode::OK);
    assert_eq!(after_restart.headers["idempotent-replayed"], "true");
    assert_eq!(after_restart.body, first.body);
}

/// Runs `examples/receiver` with `env`, which must refuse to start; its standard
/// error.
fn receiver_refuses_to_start(env: &[(&str, &str)]) -> String {
    let mut command = Command::new(examples_dir().join("receiver"));
    command
        .env("BIND", "127.0.0.1:0")
        .env_remove("REDIS_URL")
        .env_remove("WEBHOOK_SECRET")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().expect("run the receiver");
    assert!(
        !output.status.success(),
        "the receiver started with {env:?}"
    );
    String::from_utf8(output.stderr).expect("UTF-8")
}

/// Lowercase hex, for the public key as Discord shows it.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[tokio::test]
async fn the_receiver_verifies_discord_with_the_public_key() {
    use webhook_signature::scheme::{PrivateKey, PublicKey, by_name};
    let seed = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
    let PublicKey::Ed25519(public) = PrivateKey::ed25519(seed).unwrap().public_key() else {
        panic!("an Ed25519 key");
    };
    let public = hex(public.as_bytes());

    let stderr = receiver_refuses_to_start(&[("WEBHOOK_SCHEME", "discord")]);
    assert!(
        stderr.contains("WEBHOOK_SCHEME `discord` verifies with the provider's public key: set WEBHOOK_PUBLIC_KEY"),
        "{stderr}"
    );

    // A key that is not this application's first: key ids continue by position.
    let other = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
    let keys = format!("{other},{public}");
    let receiver = Example::start(
        "receiver",
        &[("WEBHOOK_SCHEME", "discord"), ("WEBHOOK_PUBLIC_KEY", &keys)],
    );
    let now = Created::now().unix_seconds();
    let event = MockEvent::new("ping").id("evt_discord");
    let signer = Signer::with_private_key(by_name("discord").unwrap(), seed).unwrap();
    let headers = signer.sign(&event.body(), now, "").unwrap();
    let reply = send_http1(
        receiver.addr,
        post_full("/webhooks", headers.clone(), event.body()),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(
        json(&reply),
        json!({"status": "processed", "event_id": "evt_discord", "event_type": "ping"})
    );

    // The same signature over another body, and a signature by another key.
    let changed = MockEvent::new("ping").id("evt_forged");
    let forged = send_http1(
        receiver.addr,
        post_full("/webhooks", headers, changed.body()),
    )
    .await;
    forged.assert_problem(StatusCode::UNAUTHORIZED, "signature_mismatch", &[seed]);
    let stranger = Signer::with_private_key(by_name("discord").unwrap(), &"42".repeat(32))
        .unwrap()
        .sign(&event.body(), now, "")
        .unwrap();
    let forged = send_http1(
        receiver.addr,
        post_full("/webhooks", stranger, event.body()),
    )
    .await;
    forged.assert_problem(StatusCode::UNAUTHORIZED, "signature_mismatch", &[seed]);
}

#[tokio::test]
async fn the_receiver_verifies_a_url_signing_scheme_against_its_public_url() {
    use webhook_signature::scheme::{SignRequest, by_name};
    let stderr =
        receiver_refuses_to_start(&[("WEBHOOK_SCHEME", "square"), ("WEBHOOK_SECRET", SECRET)]);
    assert!(
        stderr.contains(
            "WEBHOOK_SCHEME `square` signs the URL the provider calls: set WEBHOOK_PUBLIC_URL"
        ),
        "{stderr}"
    );

    let receiver = Example::start(
        "receiver",
        &[
            ("WEBHOOK_SCHEME", "square"),
            ("WEBHOOK_SECRET", SECRET),
            ("WEBHOOK_PUBLIC_URL", "https://hooks.example.com"),
        ],
    );
    // Square names its event in `event_id`.
    let event = MockEvent::new("ping").member("event_id", serde_json::json!("evt_square"));
    let body = event.body();
    let signer = Signer::new(by_name("square").unwrap(), SECRET).unwrap();
    let signed_for = |url: &str| {
        signer
            .sign_request(&SignRequest::new(&body, 0, "").with_url(url))
            .unwrap()
    };
    let headers = signed_for("https://hooks.example.com/webhooks");
    let reply = send_http1(receiver.addr, post_full("/webhooks", headers, body.clone())).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(json(&reply)["event_id"], "evt_square");

    // Signed for another URL: the one the receiver was reached at, not its public one.
    let headers = signed_for(&format!("http://{}/webhooks", receiver.addr));
    let reply = send_http1(receiver.addr, post_full("/webhooks", headers, body)).await;
    reply.assert_problem(StatusCode::UNAUTHORIZED, "signature_mismatch", &[SECRET]);
}

#[tokio::test]
async fn the_receiver_answers_get_and_post_handshakes_on_the_same_route() {
    use webhook_signature::scheme::by_name;
    // Meta's verification GET, with the verify token from WEBHOOK_VERIFY_TOKEN.
    let receiver = Example::start(
        "receiver",
        &[
            ("WEBHOOK_SCHEME", "meta"),
            ("WEBHOOK_SECRET", SECRET),
            ("WEBHOOK_VERIFY_TOKEN", "meatyhamhock"),
        ],
    );
    let verification =
        "/webhooks?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=meatyhamhock";
    let reply = get(&receiver, verification).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(
        reply.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    assert_eq!(reply.body, "1158201444");
    let forged = "/webhooks?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=guess";
    get(&receiver, forged).await.assert_problem(
        StatusCode::FORBIDDEN,
        "handshake_refused",
        &["meatyhamhock"],
    );
    // Any other GET is verified as a delivery.
    get(&receiver, "/webhooks").await.assert_problem(
        StatusCode::UNAUTHORIZED,
        "missing_signature",
        &[SECRET],
    );

    // Slack's url_verification POST, signed.
    let receiver = Example::start(
        "receiver",
        &[("WEBHOOK_SCHEME", "slack"), ("WEBHOOK_SECRET", SECRET)],
    );
    let body = r#"{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}"#;
    let now = Created::now().unix_seconds();
    let headers = Signer::new(by_name("slack").unwrap(), SECRET)
        .unwrap()
        .sign(body.as_bytes(), now, "")
        .unwrap();
    let reply = send_http1(receiver.addr, post_full("/webhooks", headers, body)).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.body,
        "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    );
    let metrics = get(&receiver, "/metrics").await;
    let metrics = String::from_utf8_lossy(&metrics.body);
    assert_eq!(
        sample(
            &metrics,
            r#"webhooks_handshakes_total{kind="slack_url_verification"}"#
        ),
        Some(1.0),
        "{metrics}"
    );
}

#[tokio::test]
async fn the_github_example_routes_typed_events_and_processes_each_delivery_once() {
    use webhook_signature::scheme::GitHub;
    let secret = "github-example-secret";
    let github = Example::start("github", &[("GITHUB_WEBHOOK_SECRET", secret)]);
    // GitHub's own `issues.opened` sample (octokit/webhooks), as the envelope tests use it.
    let samples: Value = serde_json::from_str(include_str!(
        "../crates/webhook-testing/conformance/envelopes/github.json"
    ))
    .unwrap();
    let issues = &samples["deliveries"][0];
    let body = issues["body"].as_str().unwrap().to_owned();
    let delivery = issues["headers"]["X-GitHub-Delivery"].as_str().unwrap();
    let signed = |body: &str, event: &str| {
        let mut headers = Signer::new(GitHub, secret)
            .unwrap()
            .sign(body.as_bytes(), 0, delivery)
            .unwrap();
        headers.insert("x-github-event", event.parse().unwrap());
        headers
    };
    let send = |headers, body: String| {
        send_http1(github.addr, post_full("/webhooks/github", headers, body))
    };

    let reply = send(signed(&body, "issues"), body.clone()).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(json(&reply)["status"], "processed");
    let line = github.wait_for_line(" opened: ");
    assert!(
        line.starts_with("Codertocat/Hello-World #1 opened: "),
        "{line}"
    );

    // GitHub's "Redeliver" sends the same delivery id: answered from the record.
    let again = send(signed(&body, "issues"), body.clone()).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.headers["idempotent-replayed"], "true");

    // A type with no handler is acknowledged; a forged signature never reaches one.
    let star = r#"{"action":"created","starred_at":null}"#.to_owned();
    let mut headers = signed(&star, "star");
    headers.insert("x-github-delivery", "d-star".parse().unwrap());
    let reply = send(headers, star).await;
    assert_eq!(
        (reply.status, json(&reply)["status"].clone()),
        (StatusCode::OK, json!("ignored"))
    );
    let reply = send(signed("{}", "issues"), body).await;
    reply.assert_problem(StatusCode::UNAUTHORIZED, "signature_mismatch", &[secret]);
}
