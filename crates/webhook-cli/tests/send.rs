//! `webhook send` against a real receiver started by the test on a loopback port: an
//! axum router with the signature layer, the idempotency layer and a handler that
//! counts its runs. Checks what a user sees: exit status, the lines printed, and what
//! the receiver did.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Extension, Request};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::post;
use base64::Engine as _;
use serde_json::{Value, json};
use tokio::sync::Notify;
use webhook_core::VerifiedDelivery;
use webhook_idempotency::IdempotencyLayer;
use webhook_signature::scheme::{Algorithm, HopNow, PROVIDERS, Provider};
use webhook_signature::{Verifier, VerifySignatureLayer};
use webhook_testing::TestServer;

const NEW: &str = "new-secret";
const OLD: &str = "old-secret";

#[derive(Debug)]
struct Output {
    status: i32,
    stdout: String,
    stderr: String,
}

fn webhook(args: &[&str]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_webhook"))
        .args(args)
        .env_remove("WEBHOOK_SECRET")
        .stdin(Stdio::null())
        .output()
        .expect("the webhook binary runs");
    Output {
        status: output.status.code().expect("exited, not killed"),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    }
}

/// What the handler saw.
#[derive(Default)]
struct Seen {
    runs: AtomicUsize,
    /// (key id, body) of each run.
    deliveries: Mutex<Vec<(String, Value)>>,
}

/// The receiver under test, on its own runtime so the test can block on the CLI.
struct Receiver {
    seen: Arc<Seen>,
    server: TestServer,
    _runtime: tokio::runtime::Runtime,
}

impl Receiver {
    fn start() -> Self {
        Self::start_holding(None)
    }

    /// With `Some(n)`, the handler holds its first run until `n` other responses
    /// have been sent, so that every duplicate of a storm arrives while it runs.
    fn start_holding(hold_until: Option<usize>) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let seen = Arc::new(Seen::default());
        let answered = Arc::new(AtomicUsize::new(0));
        let gate = Arc::new(Notify::new());

        let handler = {
            let seen = seen.clone();
            let gate = gate.clone();
            move |Extension(delivery): Extension<VerifiedDelivery>| {
                let seen = seen.clone();
                let gate = gate.clone();
                async move {
                    let run = seen.runs.fetch_add(1, Ordering::SeqCst) + 1;
                    let body: Value = serde_json::from_slice(delivery.body()).unwrap();
                    seen.deliveries
                        .lock()
                        .unwrap()
                        .push((delivery.key_id().to_string(), body));
                    if hold_until.is_some() && run == 1 {
                        gate.notified().await;
                    }
                    // Written by hand: the key order is part of what the test reads.
                    format!(r#"{{"run":{run},"status":"processed"}}"#)
                }
            }
        };
        let count_answers = {
            let answered = answered.clone();
            move |request: Request, next: Next| {
                let answered = answered.clone();
                let gate = gate.clone();
                async move {
                    let response: Response = next.run(request).await;
                    let done = answered.fetch_add(1, Ordering::SeqCst) + 1;
                    if hold_until == Some(done) {
                        gate.notify_one();
                    }
                    response
                }
            }
        };
        let verifier = Verifier::builder(HopNow)
            .secret("new", NEW)
            .secret("old", OLD)
            .build()
            .unwrap();
        let router = Router::new()
            .route("/webhooks", post(handler))
            .layer(IdempotencyLayer::in_memory())
            .layer(VerifySignatureLayer::new(verifier))
            .layer(middleware::from_fn(count_answers));
        let server = runtime.block_on(TestServer::spawn(router)).unwrap();
        Self {
            seen,
            server,
            _runtime: runtime,
        }
    }

    fn url(&self) -> String {
        self.server.url("/webhooks")
    }

    fn runs(&self) -> usize {
        self.seen.runs.load(Ordering::SeqCst)
    }

    fn deliveries(&self) -> Vec<(String, Value)> {
        self.seen.deliveries.lock().unwrap().clone()
    }
}

fn send(url: &str, extra: &[&str]) -> Output {
    let mut args = vec!["send", "--url", url, "--scheme", "hopnow", "--secret", NEW];
    args.extend_from_slice(extra);
    webhook(&args)
}

/// The `#N ...` response lines.
fn response_lines(stdout: &str) -> Vec<&str> {
    stdout
        .lines()
        .filter(|line| line.starts_with('#'))
        .collect()
}

fn temp_file(name: &str, contents: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("webhook-send-{}-{name}", std::process::id()));
    std::fs::write(&path, contents).unwrap();
    path
}

#[test]
fn a_single_send_is_processed_and_a_resend_is_replayed() {
    let receiver = Receiver::start();
    let url = receiver.url();
    let event = [
        "--type",
        "payout.completed",
        "--data",
        r#"{"payout_id":"po_1","amount":1200}"#,
        "--id",
        "evt_cli_1",
        "--created",
        "2025-11-02T10:00:00Z",
    ];
    let out = send(&url, &event);
    assert_eq!(out.status, 0, "{out:?}");
    assert_eq!(out.stderr, "");
    assert_eq!(
        out.stdout,
        format!(
            "POST {url} event evt_cli_1 type payout.completed (scheme hopnow), 1 time\n\
             #1 200 OK  {{\"run\":1,\"status\":\"processed\"}}\n\
             summary: 1 sent; 200: 1\n"
        )
    );
    assert_eq!(receiver.runs(), 1);
    let (key_id, body) = receiver.deliveries().remove(0);
    assert_eq!(key_id, "new");
    assert_eq!(
        body,
        json!({"id": "evt_cli_1", "type": "payout.completed", "created": "2025-11-02T10:00:00Z",
               "data": {"payout_id": "po_1", "amount": 1200}})
    );

    // The sender retries: the receiver replays its recorded answer.
    let out = send(&url, &event);
    assert_eq!(out.status, 0, "{out:?}");
    assert_eq!(
        response_lines(&out.stdout),
        ["#1 200 OK idempotent-replayed: true  {\"run\":1,\"status\":\"processed\"}"]
    );
    assert!(
        out.stdout
            .ends_with("summary: 1 sent; 200: 1 (1 replayed)\n"),
        "{}",
        out.stdout
    );
    assert_eq!(receiver.runs(), 1);
}

#[test]
fn defaults_generate_an_id_and_created_now() {
    let receiver = Receiver::start();
    let out = send(&receiver.url(), &["--type", "ping"]);
    assert_eq!(out.status, 0, "{out:?}");
    let (_, body) = receiver.deliveries().remove(0);
    assert!(body["id"].as_str().unwrap().starts_with("evt_"), "{body}");
    assert!(
        out.stdout
            .contains(&format!("event {} type ping", body["id"].as_str().unwrap()))
    );
    assert!(body["created"].as_i64().unwrap() > 1_700_000_000, "{body}");
    assert_eq!(body["data"], json!({}));
}

#[test]
fn a_duplicate_storm_runs_the_handler_once() {
    // The handler holds the first copy until the 19 others have been answered.
    let receiver = Receiver::start_holding(Some(19));
    let out = send(
        &receiver.url(),
        &[
            "--type",
            "payout.completed",
            "--repeat",
            "20",
            "--concurrency",
            "20",
        ],
    );
    assert_eq!(out.status, 0, "409 is expected in a storm: {out:?}");
    assert_eq!(receiver.runs(), 1);
    let lines = response_lines(&out.stdout);
    assert_eq!(lines.len(), 20, "{}", out.stdout);
    for (index, line) in lines.iter().enumerate() {
        assert!(line.starts_with(&format!("#{} ", index + 1)), "{line}");
    }
    let processed: Vec<_> = lines
        .iter()
        .filter(|line| line.contains(" 200 OK  "))
        .collect();
    assert_eq!(processed.len(), 1, "{}", out.stdout);
    assert!(processed[0].ends_with("{\"run\":1,\"status\":\"processed\"}"));
    let in_flight = lines
        .iter()
        .filter(|line| line.contains(" 409 Conflict  ") && line.contains("in_flight"))
        .count();
    assert_eq!(in_flight, 19, "{}", out.stdout);
    assert!(
        out.stdout.ends_with("summary: 20 sent; 200: 1; 409: 19\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .starts_with(&format!("POST {} event evt_", receiver.url()))
    );
    assert!(
        out.stdout
            .lines()
            .next()
            .unwrap()
            .ends_with("20 times, 20 at once")
    );
}

#[test]
fn a_sequential_storm_is_answered_by_replays() {
    let receiver = Receiver::start();
    let out = send(&receiver.url(), &["--type", "ping", "--repeat", "3"]);
    assert_eq!(out.status, 0, "{out:?}");
    assert_eq!(receiver.runs(), 1);
    let lines = response_lines(&out.stdout);
    assert!(lines[0].starts_with("#1 200 OK  "), "{lines:?}");
    assert!(
        lines[1].starts_with("#2 200 OK idempotent-replayed: true  "),
        "{lines:?}"
    );
    assert!(
        lines[2].starts_with("#3 200 OK idempotent-replayed: true  "),
        "{lines:?}"
    );
    assert!(
        out.stdout
            .ends_with("summary: 3 sent; 200: 3 (2 replayed)\n")
    );
}

#[test]
fn a_refused_delivery_exits_1() {
    let receiver = Receiver::start();
    let out = webhook(&[
        "send",
        "--url",
        &receiver.url(),
        "--scheme",
        "hopnow",
        "--secret",
        "a guess",
        "--type",
        "ping",
    ]);
    assert_eq!(out.status, 1, "{out:?}");
    let lines = response_lines(&out.stdout);
    assert_eq!(lines.len(), 1);
    assert!(lines[0].starts_with("#1 401 Unauthorized  {"), "{lines:?}");
    assert!(lines[0].contains("signature_mismatch"), "{lines:?}");
    assert!(
        !out.stdout.contains("a guess"),
        "the secret is never printed"
    );
    assert!(out.stdout.ends_with("summary: 1 sent; 401: 1\n"));
    assert_eq!(receiver.runs(), 0);
}

#[test]
fn a_refused_connection_exits_2_with_a_clear_message() {
    // A port nobody listens on: bound, then closed.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/webhooks");
    let out = send(&url, &["--type", "ping"]);
    assert_eq!(out.status, 2, "{out:?}");
    assert_eq!(
        out.stderr,
        format!("error: cannot connect to {url}: connection refused; is the receiver running?\n")
    );
    assert_eq!(
        response_lines(&out.stdout),
        ["#1 failed: connection refused"]
    );
    assert!(out.stdout.ends_with("summary: 1 sent; failed: 1\n"));

    let out = send(
        &url,
        &["--type", "ping", "--repeat", "3", "--concurrency", "3"],
    );
    assert_eq!(out.status, 2, "{out:?}");
    assert!(
        out.stdout.ends_with("summary: 3 sent; failed: 3\n"),
        "{}",
        out.stdout
    );
}

#[test]
fn bad_input_exits_2_before_sending() {
    let receiver = Receiver::start();
    let url = receiver.url();
    let cases: Vec<(Vec<&str>, String)> = vec![
        (
            vec!["--type", "ping", "--data", r#"{"amount":"#],
            "error: --data: not valid JSON: EOF while parsing a value at line 1 column 10\n".into(),
        ),
        (
            vec!["--type", "ping", "--data", "{amount: 1}"],
            "error: --data: not valid JSON: key must be a string at line 1 column 2\n".into(),
        ),
        (
            vec!["--type", "ping", "--created", "yesterday"],
            "error: --created: \"yesterday\" is neither Unix seconds nor an RFC 3339 time such as 2025-11-02T10:00:00Z\n".into(),
        ),
        (
            vec!["--type", "ping", "--id", "evt\u{e9}"],
            "error: --id: the id must be printable ASCII\n".into(),
        ),
    ];
    for (extra, stderr) in cases {
        let out = send(&url, &extra);
        assert_eq!(
            (out.status, out.stdout.as_str(), out.stderr.as_str()),
            (2, "", stderr.as_str()),
            "{extra:?}"
        );
    }

    let file = temp_file("bad.json", "[1, 2,]");
    let out = send(
        &url,
        &["--type", "ping", "--data-file", file.to_str().unwrap()],
    );
    assert_eq!(out.status, 2, "{out:?}");
    assert_eq!(
        out.stderr,
        format!(
            "error: {}: not valid JSON: trailing comma at line 1 column 7\n",
            file.display()
        )
    );
    std::fs::remove_file(file).unwrap();

    for (bad, reason) in [
        (
            "localhost:3000/webhooks",
            "not a URL; expected http://HOST:PORT/PATH",
        ),
        ("/webhooks", "expected http://HOST:PORT/PATH"),
        (
            "https://127.0.0.1/webhooks",
            "https is not supported (no TLS); use http://",
        ),
        (
            "http://exa mple/",
            "not a URL; expected http://HOST:PORT/PATH",
        ),
    ] {
        let out = send(bad, &["--type", "ping"]);
        assert_eq!(out.status, 2, "{out:?}");
        assert_eq!(out.stderr, format!("error: --url {bad:?}: {reason}\n"));
    }

    let out = webhook(&[
        "send",
        "--url",
        &url,
        "--scheme",
        "standard",
        "--secret",
        "not-whsec!",
        "--type",
        "ping",
    ]);
    assert_eq!(out.status, 2, "{out:?}");
    assert!(
        out.stderr.starts_with("error: --secret: invalid secret"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("not-whsec!"));

    // clap's own errors: no event type, --data with --data-file.
    let out = send(&url, &[]);
    assert_eq!(out.status, 2, "{out:?}");
    assert!(out.stderr.contains("--type <TYPE>"), "{}", out.stderr);
    let out = send(&url, &["--type", "t", "--data", "{}", "--data-file", "x"]);
    assert_eq!(out.status, 2, "{out:?}");
    assert!(out.stderr.contains("cannot be used with"), "{}", out.stderr);
    assert_eq!(receiver.runs(), 0);
}

#[test]
fn the_basic_scenario_passes_against_a_correct_receiver() {
    let receiver = Receiver::start();
    let scenario = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/basic.json");
    let out = webhook(&[
        "send",
        "--url",
        &receiver.url(),
        "--scheme",
        "hopnow",
        "--secret",
        NEW,
        "--secret",
        OLD,
        "--scenario",
        scenario,
    ]);
    assert_eq!(out.status, 0, "{out:?}");
    assert_eq!(out.stderr, "");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines[0],
        format!(
            "scenario {scenario}: 5 steps, POST {} (scheme hopnow)",
            receiver.url()
        )
    );
    let steps = &lines[1..6];
    for (step, (name, expected)) in steps.iter().zip([
        ("send", "expected 200 not replayed, got 200  ok"),
        ("duplicate", "expected 200 replayed, got 200 replayed  ok"),
        ("out_of_order", "expected 200 not replayed, got 200  ok"),
        ("rotated_secret", "expected 200 not replayed, got 200  ok"),
        ("forged", "expected 401, got 401  ok"),
    ]) {
        assert!(step.contains(&format!(" {name} ")), "{step}");
        assert!(step.ends_with(expected), "{step}");
    }
    assert_eq!(lines[6], "scenario: 5 steps, 5 as expected, 0 differ");

    // send, out_of_order and rotated_secret ran the handler; the duplicate was
    // replayed and the forgery refused.
    let deliveries = receiver.deliveries();
    let keys: Vec<&str> = deliveries.iter().map(|(key, _)| key.as_str()).collect();
    assert_eq!(keys, ["new", "new", "old"]);
    let (first, older) = (&deliveries[0].1, &deliveries[1].1);
    assert_eq!(first["type"], "payout.completed");
    assert_eq!(older["data"], first["data"], "the same entity");
    assert_ne!(older["id"], first["id"]);
    assert_eq!(
        older["created"].as_i64().unwrap(),
        first["created"].as_i64().unwrap() - 300
    );
}

#[test]
fn a_scenario_with_a_wrong_expectation_exits_1() {
    let receiver = Receiver::start();
    let toml = temp_file(
        "wrong.toml",
        r#"
description = "expects the forgery to be accepted"
event = { type = "invoice.paid", data = { invoice_id = "in_1" } }

[[steps]]
step = "send"
expect = 200

[[steps]]
step = "forged"
expect = 200
"#,
    );
    let out = webhook(&[
        "send",
        "--url",
        &receiver.url(),
        "--scheme",
        "hopnow",
        "--secret",
        NEW,
        "--scenario",
        toml.to_str().unwrap(),
    ]);
    assert_eq!(out.status, 1, "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(
        lines[1].ends_with("expected 200, got 200  ok"),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].contains("expected 200, got 401  DIFFERS  401 Unauthorized  {"),
        "{}",
        lines[2]
    );
    assert!(lines[2].contains("signature_mismatch"), "{}", lines[2]);
    assert_eq!(lines[3], "scenario: 2 steps, 1 as expected, 1 differ");
    assert_eq!(
        receiver.deliveries()[0].1["data"],
        json!({"invoice_id": "in_1"})
    );
    std::fs::remove_file(toml).unwrap();
}

#[test]
fn a_scenario_that_cannot_run_exits_2_before_sending() {
    let receiver = Receiver::start();
    let scenario = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/basic.json");
    // basic.json has a rotated_secret step: it needs a second secret.
    let out = send(&receiver.url(), &["--scenario", scenario]);
    assert_eq!(out.status, 2, "{out:?}");
    assert!(
        out.stderr.starts_with(&format!(
            "error: {scenario}: a `rotated_secret` step needs a second key"
        )),
        "{}",
        out.stderr
    );

    let broken = temp_file(
        "broken.json",
        r#"{"steps": [{"step": "duplicate", "expect": 200}]}"#,
    );
    let out = send(&receiver.url(), &["--scenario", broken.to_str().unwrap()]);
    assert_eq!(out.status, 2, "{out:?}");
    assert_eq!(
        out.stderr,
        format!(
            "error: {}: step 1 (duplicate): no previous event to resend; put a `send` step before it\n",
            broken.display()
        )
    );
    std::fs::remove_file(broken).unwrap();

    let out = send(
        &receiver.url(),
        &["--scenario", "/nonexistent/scenario.json"],
    );
    assert_eq!(out.status, 2, "{out:?}");
    assert!(
        out.stderr
            .starts_with("error: cannot read /nonexistent/scenario.json: ")
    );
    assert_eq!(receiver.runs(), 0);
}

#[test]
fn send_help_says_what_each_flag_means() {
    let out = webhook(&["send", "--help"]);
    assert_eq!(out.status, 0, "{out:?}");
    for text in [
        "--url <URL>",
        "--type <TYPE>",
        "--data <JSON>",
        "--data-file <PATH>",
        "--created <TIME>",
        "--repeat <N>",
        "--concurrency <C>",
        "--scenario <FILE>",
        "duplicate storm",
        "rotated_secret",
        "WEBHOOK_SECRET",
        "--private-key <KEY>",
        "WEBHOOK_PRIVATE_KEY",
        "--signed-url <URL>",
    ] {
        assert!(
            out.stdout.contains(text),
            "send --help lacks {text:?}:\n{}",
            out.stdout
        );
    }
}

/// The flags `webhook send` signs with for key `slot` of `provider`, and the key the
/// receiver verifies it with: a secret, or a private key and its public key.
fn provider_keys(provider: &Provider, slot: u8) -> (String, String, String) {
    let seed = [0x20 + slot; 32];
    match provider.algorithm {
        Algorithm::Ed25519 => {
            let key = ed25519_dalek::SigningKey::from_bytes(&seed);
            let public = hex::encode(key.verifying_key().as_bytes());
            ("--private-key".into(), hex::encode(seed), public)
        }
        Algorithm::EcdsaP256Sha256 => {
            use p256::pkcs8::EncodePublicKey as _;
            let key = p256::ecdsa::SigningKey::from_slice(&seed).unwrap();
            let der = key.verifying_key().to_public_key_der().unwrap();
            let public = base64::engine::general_purpose::STANDARD.encode(der.as_bytes());
            ("--private-key".into(), hex::encode(seed), public)
        }
        _ => {
            // GitLab with its signing token, which `forged` corrupts in its Standard
            // Webhooks signature; `tests/cli.rs` covers its secret token too.
            let secret = match provider.name {
                "standard" | "gitlab" => format!(
                    "whsec_{}",
                    base64::engine::general_purpose::STANDARD.encode(format!("key {slot}"))
                ),
                name => format!("{name}-secret-{slot}"),
            };
            ("--secret".into(), secret.clone(), secret)
        }
    }
}

#[test]
fn a_scenario_runs_against_a_receiver_of_every_provider() {
    let providers: Vec<&Provider> = PROVIDERS.iter().collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let seen: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    // Bound first: the URL-signing providers' verifiers need the public URL.
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let mut router = Router::new();
    for provider in &providers {
        let mut verifier = Verifier::builder((provider.scheme)()).public_url(base.as_str());
        for slot in [0, 1] {
            let (_, _, key) = provider_keys(provider, slot);
            verifier = if provider.algorithm.is_hmac() {
                verifier.secret(slot.to_string(), key)
            } else {
                verifier.public_key(slot.to_string(), key)
            };
        }
        let seen = seen.clone();
        let handler = move |Extension(delivery): Extension<VerifiedDelivery>| {
            let seen = seen.clone();
            async move {
                seen.lock()
                    .unwrap()
                    .push((delivery.scheme().to_owned(), delivery.key_id().to_string()));
                "processed"
            }
        };
        router = router.route(
            &format!("/hooks/{}", provider.name),
            post(handler).layer(VerifySignatureLayer::new(verifier.build().unwrap())),
        );
    }
    runtime.spawn(async move { axum::serve(listener, router).await });
    let scenario = temp_file(
        "every-provider.json",
        r#"{"event": {"type": "ping"}, "steps": [
            {"step": "send", "expect": 200},
            {"step": "rotated_secret", "expect": 200},
            {"step": "forged", "expect": 401}]}"#,
    );
    for provider in &providers {
        let name = provider.name;
        let url = format!("{base}/hooks/{name}");
        let (flag, first, _) = provider_keys(provider, 0);
        let (_, second, _) = provider_keys(provider, 1);
        let out = webhook(&[
            "send",
            "--url",
            &url,
            "--scheme",
            name,
            &flag,
            &first,
            &flag,
            &second,
            "--scenario",
            scenario.to_str().unwrap(),
        ]);
        assert_eq!(out.status, 0, "{name}: {out:?}");
        assert!(
            out.stdout
                .ends_with("scenario: 3 steps, 3 as expected, 0 differ\n"),
            "{name}: {}",
            out.stdout
        );
        let mut seen = seen.lock().unwrap();
        assert_eq!(
            seen.drain(..).collect::<Vec<_>>(),
            [
                (name.to_owned(), "0".to_owned()),
                (name.to_owned(), "1".to_owned())
            ],
            "{name}"
        );
    }
    std::fs::remove_file(scenario).unwrap();
}

#[test]
fn a_url_signing_provider_is_signed_for_the_url_the_receiver_is_told() {
    // Behind a proxy the receiver knows its public URL; --signed-url signs for it.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let verifier = Verifier::builder(webhook_signature::scheme::by_name("square").unwrap())
        .secret("k", "square-key")
        .public_url("https://hooks.example.com")
        .build()
        .unwrap();
    let router = Router::new().route(
        "/in",
        post(|| async { "processed" }).layer(VerifySignatureLayer::new(verifier)),
    );
    let server = runtime.block_on(TestServer::spawn(router)).unwrap();
    let send = |extra: &[&str]| {
        let url = server.url("/in");
        let mut args = vec!["send", "--url", &url, "--scheme", "square"];
        args.extend_from_slice(&["--secret", "square-key", "--type", "ping"]);
        args.extend_from_slice(extra);
        webhook(&args)
    };
    let out = send(&["--signed-url", "https://hooks.example.com/in"]);
    assert_eq!(out.status, 0, "{out:?}");
    assert_eq!(response_lines(&out.stdout), ["#1 200 OK  processed"]);
    // Signed for the address it was sent to, which is not the public one: refused.
    let out = send(&[]);
    assert_eq!(out.status, 1, "{out:?}");
    assert!(out.stdout.contains("#1 401 Unauthorized"), "{}", out.stdout);
    let out = send(&["--signed-url", "/in"]);
    assert_eq!(out.status, 2, "{out:?}");
    assert!(
        out.stderr.starts_with("error: --url \"/in\": "),
        "{}",
        out.stderr
    );
}

#[test]
fn handshakes_are_sent_as_each_provider_sends_them_and_their_answers_checked() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let runs = Arc::new(AtomicUsize::new(0));
    let names = [
        "slack", "zoom", "twitter", "meta", "twitch", "dropbox", "discord",
    ];
    let mut router = Router::new();
    for name in names {
        let provider = Provider::find(name).unwrap();
        let (_, _, key) = provider_keys(provider, 0);
        let verifier = Verifier::builder((provider.scheme)()).verify_token("meatyhamhock");
        let verifier = if provider.algorithm.is_hmac() {
            verifier.secret("0", key)
        } else {
            verifier.public_key("0", key)
        };
        let runs = runs.clone();
        let handler = move || {
            runs.fetch_add(1, Ordering::SeqCst);
            async { "handled" }
        };
        router = router.route(
            &format!("/hooks/{name}"),
            axum::routing::get(handler.clone())
                .post(handler)
                .layer(VerifySignatureLayer::new(verifier.build().unwrap())),
        );
    }
    let server = runtime.block_on(TestServer::spawn(router)).unwrap();
    for name in names {
        let provider = Provider::find(name).unwrap();
        let (flag, key, _) = provider_keys(provider, 0);
        let url = server.url(&format!("/hooks/{name}"));
        let mut args = vec![
            "send",
            "--url",
            &url,
            "--scheme",
            name,
            &flag,
            &key,
            "--handshake",
        ];
        if name == "meta" {
            args.extend(["--verify-token", "meatyhamhock"]);
        }
        let out = webhook(&args);
        assert_eq!(out.status, 0, "{name}: {out:?}");
        let lines = response_lines(&out.stdout);
        assert!(lines[0].starts_with("#1 200 OK"), "{name}: {}", out.stdout);
        assert!(
            out.stdout
                .ends_with("handshake: the answer is what the provider expects\n"),
            "{name}: {}",
            out.stdout
        );
    }
    assert_eq!(
        runs.load(Ordering::SeqCst),
        0,
        "no handshake reached a handler"
    );

    // A wrong verify token is refused, and a wrong secret too where it is signed.
    let url = server.url("/hooks/meta");
    let out = webhook(&[
        "send",
        "--url",
        &url,
        "--scheme",
        "meta",
        "--handshake",
        "--verify-token",
        "guess",
    ]);
    assert_eq!(out.status, 1, "{out:?}");
    assert!(
        response_lines(&out.stdout)[0].starts_with("#1 403 Forbidden"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("handshake: unexpected answer: status 403"),
        "{}",
        out.stdout
    );
    let url = server.url("/hooks/zoom");
    let out = webhook(&[
        "send",
        "--url",
        &url,
        "--scheme",
        "zoom",
        "--secret",
        "guess",
        "--handshake",
    ]);
    assert_eq!(out.status, 1, "{out:?}");
    assert!(
        response_lines(&out.stdout)[0].starts_with("#1 401 Unauthorized"),
        "{}",
        out.stdout
    );

    // X signs nothing: the answer comes, keyed with another secret than the one given.
    let url = server.url("/hooks/twitter");
    let out = webhook(&[
        "send",
        "--url",
        &url,
        "--scheme",
        "twitter",
        "--secret",
        "guess",
        "--handshake",
    ]);
    assert_eq!(out.status, 1, "{out:?}");
    assert!(
        out.stdout.ends_with(
            "handshake: unexpected answer: the body is not the answer keyed with the secret given\n"
        ),
        "{}",
        out.stdout
    );

    // A provider without a handshake, and Meta without its token: usage errors.
    let out = webhook(&[
        "send",
        "--url",
        &url,
        "--scheme",
        "github",
        "--secret",
        "s",
        "--handshake",
    ]);
    assert_eq!(out.status, 2, "{out:?}");
    assert!(
        out.stderr
            .contains("--handshake: this scheme's provider sends no setup handshake"),
        "{}",
        out.stderr
    );
    let out = webhook(&["send", "--url", &url, "--scheme", "meta", "--handshake"]);
    assert_eq!(out.status, 2, "{out:?}");
    assert!(out.stderr.contains("--verify-token"), "{}", out.stderr);
}
