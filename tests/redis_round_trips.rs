//! The Redis round trips of one fresh delivery through the full stack (rate limit per
//! verified source, idempotency, ordering guard), counted with `MONITOR` while the
//! reference receiver runs with `REDIS_URL` and `WEBHOOK_RATE_PER_MINUTE` (the example
//! binary `cargo test` builds). The list is printed (`-- --nocapture`): a fresh
//! delivery takes four, a duplicate two.

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

use http::StatusCode;
use serde_json::json;
use test_redis::RedisServer;
use webhook_signature::scheme::HopNow;
use webhook_testing::{Created, MockEvent};

use common::{post_full, send_http1};

const SECRET: &str = "round-trip-test-secret";
/// The marker the test sends through its own client to end a count.
const MARKER: &str = "round-trips-counted";

/// A running process, killed on drop, with its stdout lines on a channel.
struct Running {
    child: Child,
    lines: Receiver<String>,
}

impl Running {
    fn spawn(mut command: Command) -> Self {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the process");
        let stdout = child.stdout.take().expect("piped stdout");
        let (sender, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = sender.send(line);
            }
        });
        Self { child, lines }
    }

    /// The next line, within 10 s.
    fn next_line(&self) -> String {
        self.lines
            .recv_timeout(Duration::from_secs(10))
            .expect("a line of output")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn receiver(redis: &RedisServer) -> (Running, SocketAddr) {
    let exe = std::env::current_exe().expect("the test binary's path");
    let binary: PathBuf = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps")
        .join("examples/receiver");
    assert!(
        binary.exists(),
        "{} is missing: run `cargo test --workspace` (it builds the examples)",
        binary.display()
    );
    let mut command = Command::new(binary);
    command
        .env("BIND", "127.0.0.1:0")
        .env("RUST_LOG", "warn")
        .env("WEBHOOK_SECRET", SECRET)
        .env("REDIS_URL", redis.url())
        .env("WEBHOOK_RATE_PER_MINUTE", "6000")
        .env_remove("WEBHOOK_QUEUE");
    let running = Running::spawn(command);
    let addr = loop {
        let line = running.next_line();
        if let Some(rest) = line.strip_prefix("listening on http://") {
            break rest.split('/').next().unwrap().parse().unwrap();
        }
    };
    (running, addr)
}

/// `MONITOR` on `redis`, ready once it answered `OK`.
fn monitor(redis: &RedisServer) -> Running {
    let cli = std::env::var("TEST_REDIS_CLI").unwrap_or_else(|_| "/usr/bin/redis-cli".into());
    let mut command = Command::new(cli);
    command.args(["-p", &redis.port().to_string(), "MONITOR"]);
    let running = Running::spawn(command);
    assert_eq!(running.next_line(), "OK");
    running
}

/// The commands clients sent (not those scripts ran) until the marker: each command's
/// name and, for a script, its first key.
fn commands_until_marker(monitor: &Running, redis: &RedisServer) -> Vec<String> {
    redis.command(&["ECHO", MARKER]).unwrap();
    let mut commands = Vec::new();
    loop {
        let line = monitor.next_line();
        if line.contains(MARKER) {
            return commands;
        }
        // `<time> [<db> <client address or "lua">] "COMMAND" "arg" ...`
        let Some((client, command)) = line.split_once("] ") else {
            continue;
        };
        if client.ends_with(" lua") {
            continue;
        }
        let words: Vec<&str> = command.split('"').skip(1).step_by(2).collect();
        let name = words
            .first()
            .copied()
            .unwrap_or_default()
            .to_ascii_uppercase();
        match name.as_str() {
            "EVALSHA" | "EVAL" => commands.push(format!("{name} {}", words.get(3).unwrap_or(&""))),
            _ => commands.push(name),
        }
    }
}

fn payout(id: &str, created: i64) -> MockEvent {
    MockEvent::new("payout.completed")
        .id(id)
        .created(Created::unix(created))
        .data(json!({"id": format!("po_{id}"), "status": "completed"}))
}

async fn post(addr: SocketAddr, event: &MockEvent) -> StatusCode {
    let (headers, body) = event.clone().sign(HopNow, SECRET).parts().expect("signed");
    send_http1(addr, post_full("/webhooks", headers, body))
        .await
        .status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_delivery_through_the_full_stack_takes_four_round_trips() {
    let redis = RedisServer::start();
    let (_receiver, addr) = receiver(&redis);
    let now = Created::now().unix_seconds();
    // The first delivery loads the scripts; the count is for the ones after it.
    assert_eq!(post(addr, &payout("evt_warm", now)).await, StatusCode::OK);

    let monitor = monitor(&redis);
    let mut counts = Vec::new();
    for n in 0..3 {
        let event = payout(&format!("evt_fresh_{n}"), now);
        assert_eq!(post(addr, &event).await, StatusCode::OK);
        // The processed delivery is recorded after the answer is sent.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let commands = commands_until_marker(&monitor, &redis);
        println!(
            "fresh delivery {n}: {} round trips: {commands:?}",
            commands.len()
        );
        counts.push(commands);
    }
    let duplicate = payout("evt_fresh_0", now);
    assert_eq!(post(addr, &duplicate).await, StatusCode::OK);
    let replayed = commands_until_marker(&monitor, &redis);
    println!("duplicate: {} round trips: {replayed:?}", replayed.len());

    // One script each, in order: the rate limit, the claim, the ordering guard, the
    // record. Each needs the one before it to have answered (a limited delivery claims
    // nothing, an event in flight elsewhere does not reach the guard, the record holds
    // the handler's answer), so none can share a round trip with another.
    for (n, commands) in counts.iter().enumerate() {
        let fresh = format!("evt_fresh_{n}");
        assert_eq!(
            commands,
            &[
                "EVALSHA webhook-receiver:per-source:src:hopnow/0".to_owned(),
                format!("EVALSHA webhook:idempotency:hopnow:{fresh}"),
                format!("EVALSHA webhook:order:payout:po_{fresh}"),
                format!("EVALSHA webhook:idempotency:hopnow:{fresh}"),
            ],
        );
    }
    // A duplicate: the rate limit, then the claim that finds the record to replay.
    assert_eq!(
        replayed,
        [
            "EVALSHA webhook-receiver:per-source:src:hopnow/0",
            "EVALSHA webhook:idempotency:hopnow:evt_fresh_0",
        ]
    );
}
