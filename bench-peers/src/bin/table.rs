//! Prints the ratio table of the last `cargo bench` run of this crate, from
//! criterion's `target/criterion/*/new/estimates.json`: every time over the raw
//! HMAC-SHA256 floor of the same scheme and size, and the peers over ours.

use std::path::Path;

const SIZES: [&str; 4] = ["256B", "4KiB", "64KiB", "1MiB"];

const ROWS: [(&str, &str, &str); 7] = [
    ("ours/Stripe", "raw/Stripe", "ours/Stripe"),
    ("async-stripe-signature/Stripe", "raw/Stripe", "ours/Stripe"),
    ("ours+event/Stripe", "raw/Stripe", "ours+event/Stripe"),
    (
        "async-stripe-construct_event/Stripe",
        "raw/Stripe",
        "ours+event/Stripe",
    ),
    ("ours/Standard", "raw/Standard", "ours/Standard"),
    ("svix/Standard", "raw/Standard", "ours/Standard"),
    ("standardwebhooks/Standard", "raw/Standard", "ours/Standard"),
];

/// Criterion's estimate of one benchmark's time per call, in nanoseconds.
fn nanos(criterion: &Path, size: &str, bench: &str) -> Option<f64> {
    let path = criterion
        .join(format!("peers_{size}"))
        .join(bench.replace('/', "_"))
        .join("new/estimates.json");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    json["slope"]["point_estimate"]
        .as_f64()
        .or_else(|| json["mean"]["point_estimate"].as_f64())
}

fn main() {
    let criterion = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/criterion");
    println!("| verify | size | time | × raw HMAC | × ours |");
    println!("|---|---|---:|---:|---:|");
    for size in SIZES {
        for (bench, raw, ours) in ROWS {
            let (Some(time), Some(raw), Some(ours)) = (
                nanos(&criterion, size, bench),
                nanos(&criterion, size, raw),
                nanos(&criterion, size, ours),
            ) else {
                eprintln!("no result for {bench} at {size}: run the benchmark first");
                continue;
            };
            let shown = if time >= 10_000.0 {
                format!("{:.1} µs", time / 1000.0)
            } else {
                format!("{time:.0} ns")
            };
            println!(
                "| {bench} | {size} | {shown} | {:.2} | {:.2} |",
                time / raw,
                time / ours
            );
        }
    }
}
