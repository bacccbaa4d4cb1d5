//! The load generator runs end to end: every target answers every request 200, and
//! the table it prints has one row per target and connection count.

use std::process::Command;

fn webhook_load(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_webhook-load"))
        .args(args)
        .env_remove("REDIS_URL")
        .output()
        .expect("webhook-load runs");
    assert!(
        output.status.success(),
        "webhook-load {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

/// The rows of every table in `output` whose header starts with `| {first}`, such as
/// `| target | connections | requests | req/s | p50 | p99 | errors | vs bare | each round | server CPU |`.
fn rows_of(output: &str, first: &str) -> Vec<Vec<String>> {
    let header = format!("| {first} |");
    let mut rows = Vec::new();
    let mut inside = false;
    for line in output.lines() {
        if line.starts_with(&header) {
            inside = true;
        } else if !line.starts_with('|') {
            inside = false;
        } else if inside && !line.starts_with("|---") {
            rows.push(
                line.trim_matches('|')
                    .split('|')
                    .map(|cell| cell.trim().to_owned())
                    .collect(),
            );
        }
    }
    rows
}

/// The rows of the tables headed `| target |`.
fn rows(output: &str) -> Vec<Vec<String>> {
    rows_of(output, "target")
}

/// The reference receiver's binary, where `webhook-load` looks for it by default.
fn receiver_binary() -> std::path::PathBuf {
    let binary = std::path::Path::new(env!("CARGO_BIN_EXE_webhook-load"))
        .with_file_name("examples")
        .join("receiver");
    assert!(
        binary.exists(),
        "{} is missing: run `cargo test --workspace` (it builds the examples) or `cargo build --example receiver`",
        binary.display()
    );
    binary
}

#[test]
fn every_target_answers_every_request() {
    let table = webhook_load(&[
        "run",
        "--targets",
        "bare,memory,memory-quiet,memory-spans,redis",
        "--connections",
        "1,4",
        "--duration",
        "1",
        "--warmup",
        "0",
        "--max-requests",
        "200",
    ]);
    let rows = rows(&table);
    assert_eq!(rows.len(), 10, "{table}");
    for row in &rows {
        let requests: u64 = row[2].parse().unwrap();
        assert!(requests > 0, "{table}");
        assert_eq!(row[6], "0", "errors in {row:?}:\n{table}");
        let (low, high) = row[8]
            .strip_suffix('x')
            .and_then(|spread| spread.split_once('-'))
            .unwrap_or_else(|| panic!("no round-by-round spread in {row:?}"));
        let (low, high): (f64, f64) = (low.parse().unwrap(), high.parse().unwrap());
        assert!(0.0 < low && low <= high, "{table}");
        if row[0] == "bare" {
            assert_eq!(row[8], "1.00-1.00x", "{table}");
        }
        let cpu: f64 = row[9].parse().unwrap();
        assert!(cpu.is_finite() && cpu >= 0.0, "{table}");
    }
    let targets: Vec<&str> = rows.iter().map(|row| row[0].as_str()).collect();
    assert_eq!(
        targets,
        [
            "bare",
            "memory",
            "memory-quiet",
            "memory-spans",
            "redis",
            "bare",
            "memory",
            "memory-quiet",
            "memory-spans",
            "redis"
        ]
    );
}

#[test]
fn the_receiver_target_is_compared_to_bare_window_by_window_from_a_cold_start() {
    receiver_binary();
    let output = webhook_load(&[
        "run",
        "--targets",
        "bare,receiver",
        "--connections",
        "4",
        "--duration",
        "2",
        "--window",
        "1",
        "--rounds",
        "2",
    ]);
    assert!(
        output.contains("every server from a cold start"),
        "{output}"
    );
    let summary = rows(&output);
    let targets: Vec<&str> = summary.iter().map(|row| row[0].as_str()).collect();
    assert_eq!(targets, ["bare", "receiver"], "{output}");
    for row in &summary {
        assert!(row[2].parse::<u64>().unwrap() > 0, "{output}");
        assert_eq!(row[6], "0", "errors in {row:?}:\n{output}");
    }
    // `| window (s) | bare req/s | receiver req/s | req/s vs bare | bare p99 µs | receiver p99 µs | p99 vs bare | worst round |`
    let windows = rows_of(&output, "window (s)");
    let spans: Vec<&str> = windows.iter().map(|row| row[0].as_str()).collect();
    assert_eq!(spans, ["0-1", "1-2"], "{output}");
    for row in &windows {
        let numbers: Vec<f64> = row[1..]
            .iter()
            .map(|cell| cell.trim_end_matches('x').parse().unwrap())
            .collect();
        assert!(numbers.iter().all(|n| *n > 0.0), "{output}");
        // The worst round's ratio is at least the median round's.
        assert!(numbers[6] >= numbers[5], "{output}");
    }
    assert!(
        output.contains("highest window p99 ratio (median over the rounds): "),
        "{output}"
    );
}

#[test]
fn the_memory_run_reports_peak_rss_without_errors() {
    let table = webhook_load(&[
        "memory",
        "--deliveries",
        "8",
        "--body",
        "65536",
        "--hold-ms",
        "200",
    ]);
    let rows = rows(&table);
    assert_eq!(rows.len(), 2, "{table}");
    for row in &rows {
        let peak: f64 = row[2].parse().unwrap();
        assert!(peak > 0.0, "{table}");
        assert_eq!(row[5], "0", "errors in {row:?}:\n{table}");
    }
}

#[test]
fn the_cpu_run_times_every_target_against_bare() {
    let table = webhook_load(&[
        "cpu",
        "--targets",
        "bare,memory,memory-quiet",
        "--rounds",
        "3",
        "--batch",
        "50",
        "--warmup",
        "100",
    ]);
    // `| target | ns/delivery | quartiles | vs bare | above bare (ns) |`
    let rows = rows(&table);
    let targets: Vec<&str> = rows.iter().map(|row| row[0].as_str()).collect();
    assert_eq!(targets, ["bare", "memory", "memory-quiet"], "{table}");
    for row in &rows {
        let nanos: f64 = row[1].parse().unwrap();
        assert!(nanos > 0.0, "{table}");
    }
    assert_eq!(rows[0][3], "1.00x", "{table}");
    assert_eq!(rows[0][4], "0", "{table}");
}

#[test]
fn the_bare_busy_target_adds_the_computation_asked_for() {
    // 200 µs, far above what a delivery costs bare even in a debug build.
    let table = webhook_load(&[
        "cpu",
        "--targets",
        "bare,bare-busy",
        "--busy-ns",
        "200000",
        "--rounds",
        "3",
        "--batch",
        "20",
        "--warmup",
        "20",
    ]);
    let rows = rows(&table);
    assert_eq!(rows[1][0], "bare-busy", "{table}");
    let above: f64 = rows[1][4].parse().unwrap();
    assert!((100_000.0..1_000_000.0).contains(&above), "{table}");
}

#[test]
fn the_cpu_run_refuses_the_redis_target() {
    let output = Command::new(env!("CARGO_BIN_EXE_webhook-load"))
        .args(["cpu", "--targets", "bare,redis", "--warmup", "0"])
        .output()
        .expect("webhook-load runs");
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("bare and in-memory targets"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
