//! `run --client wrk`: the same load sent by `wrk` (Debian's package) with the script
//! `wrk/deliveries.lua`, an independent client to check the tool's own against; and
//! the `wrk-deliveries` command, which writes the pre-signed deliveries it posts.
//!
//! wrk reports one latency distribution per invocation, so each window of the run is
//! one invocation of the window's length against the same server process: the
//! connections are opened again at every window, and the pause between two windows
//! (while this tool signs the next window's deliveries) is not measured.

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use hdrhistogram::Histogram;
use tower_webhook::signature::{Signer, scheme};

use crate::BoxError;
use crate::client::{Load, Outcome, Window, envelope, histogram, unix_now};
use crate::server::SECRET;

/// How wrk runs.
pub(crate) struct Wrk<'a> {
    /// The Lua script that posts the deliveries.
    pub(crate) script: &'a Path,
    /// Where the deliveries' files are written for each window.
    pub(crate) dir: &'a Path,
    /// wrk's threads (`-t`), at most the connections.
    pub(crate) threads: usize,
    /// Deliveries signed per thread for each window.
    pub(crate) deliveries: usize,
}

/// Writes `count` pre-signed deliveries of `size`-byte bodies for each of `threads`
/// wrk threads, `DIR/<thread>.http`: whole HTTP/1.1 requests, one after the other,
/// every one of the returned length (the event ids are `evt_<run>_<thread>_<n>` with
/// `n` zero-padded), signed with the reference scheme and the receiver's development
/// secret, each with a new event id and a new payout.
pub(crate) fn write_deliveries(
    dir: &Path,
    threads: usize,
    count: usize,
    run: &str,
    size: usize,
) -> Result<usize, BoxError> {
    std::fs::create_dir_all(dir)?;
    let signer = Signer::new(scheme::HopNow, SECRET)?;
    let mut record = None;
    for thread in 0..threads {
        let file = std::fs::File::create(dir.join(format!("{thread}.http")))?;
        let mut file = std::io::BufWriter::with_capacity(1 << 20, file);
        for n in 0..count {
            let request = raw_delivery(&signer, &format!("evt_{run}_{thread}_{n:09}"), size)?;
            if *record.get_or_insert(request.len()) != request.len() {
                return Err("deliveries of different lengths: the run tag changed".into());
            }
            file.write_all(&request)?;
        }
        file.flush()?;
    }
    record.ok_or_else(|| "no delivery to write".into())
}

/// One delivery as the bytes of an HTTP/1.1 request, with the headers of
/// [`signed_request`](crate::client::signed_request).
fn raw_delivery(signer: &Signer, id: &str, size: usize) -> Result<Vec<u8>, BoxError> {
    let body = envelope(id, size);
    let mut request = format!(
        "POST /webhooks HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         X-Forwarded-Proto: https\r\nContent-Length: {}\r\n",
        body.len()
    )
    .into_bytes();
    for (name, value) in &signer.sign(&body, unix_now(), id)? {
        request.extend_from_slice(name.as_str().as_bytes());
        request.extend_from_slice(b": ");
        request.extend_from_slice(value.as_bytes());
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"\r\n");
    request.extend_from_slice(&body);
    Ok(request)
}

/// Sends `load` to `addr` with wrk, one invocation per window.
pub(crate) fn drive(
    addr: std::net::SocketAddr,
    load: &Load,
    wrk: &Wrk<'_>,
) -> Result<Outcome, BoxError> {
    let window = load.window.as_secs().max(1);
    let windows = load.duration.as_secs().div_ceil(window).max(1);
    let threads = wrk.threads.clamp(1, load.connections.max(1));
    let mut outcome = Outcome {
        ok: 0,
        errors: 0,
        elapsed: Duration::ZERO,
        latency: histogram(),
        windows: Vec::new(),
    };
    for index in 0..windows {
        let record = write_deliveries(
            wrk.dir,
            threads,
            wrk.deliveries,
            &format!("{}w{index}", load.run),
            load.body_size,
        )?;
        let output = Command::new("wrk")
            .arg(format!("-t{threads}"))
            .arg(format!("-c{}", load.connections))
            .arg(format!("-d{window}s"))
            .arg("-s")
            .arg(wrk.script)
            .arg(format!("http://{addr}"))
            .arg("--")
            .arg(wrk.dir)
            .arg(record.to_string())
            .output()
            .map_err(|error| format!("cannot run wrk (apt-get install -y wrk): {error}"))?;
        let stdout = String::from_utf8(output.stdout)?;
        if !output.status.success() {
            return Err(format!(
                "wrk failed: {stdout}{}",
                String::from_utf8_lossy(&output.stderr)
            )
            .into());
        }
        let part = parse(&stdout)?;
        outcome.ok += part.ok;
        outcome.errors += part.errors;
        outcome.elapsed += part.elapsed;
        outcome.latency.add(&part.latency)?;
        outcome.windows.push(Window {
            ok: part.ok,
            latency: part.latency,
        });
    }
    Ok(outcome)
}

/// One invocation's report, from the script's `webhook-load:` lines.
struct Report {
    ok: u64,
    errors: u64,
    elapsed: Duration,
    latency: Histogram<u64>,
}

/// Reads the script's `done` lines: the totals, then the latency at every 0.1
/// percentile, each recorded for a thousandth of the answers.
fn parse(stdout: &str) -> Result<Report, BoxError> {
    let mut totals = None;
    let mut percentiles = Vec::with_capacity(1000);
    for line in stdout.lines() {
        let Some(rest) = line.strip_prefix("webhook-load: ") else {
            continue;
        };
        if let Some(rest) = rest.strip_prefix("percentile ") {
            let (_, value) = rest
                .split_once(' ')
                .ok_or("a percentile line without value")?;
            percentiles.push(value.parse::<u64>()?);
            continue;
        }
        let field = |name: &str| -> Result<u64, BoxError> {
            let value = rest
                .split_whitespace()
                .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
                .ok_or_else(|| format!("no {name} in wrk's report: {rest}"))?;
            Ok(value.parse()?)
        };
        if field("wrapped")? != 0 {
            return Err(
                "a wrk thread sent all its deliveries and started over: raise the deliveries per thread"
                    .into(),
            );
        }
        let requests = field("requests")?;
        let non_2xx = field("non2xx")?;
        totals = Some((
            requests.saturating_sub(non_2xx),
            non_2xx + field("socket_errors")?,
            Duration::from_micros(field("duration_us")?),
        ));
    }
    let (ok, errors, elapsed) = totals.ok_or_else(|| format!("no report from wrk: {stdout}"))?;
    let mut latency = histogram();
    let steps = percentiles.len() as u64;
    if steps > 0 {
        for (step, value) in (0..steps).zip(&percentiles) {
            // This step's share of the answers, spread so that the counts add up to `ok`.
            let count = ok * (step + 1) / steps - ok * step / steps;
            latency.record_n((*value).max(1), count)?;
        }
    }
    Ok(Report {
        ok,
        errors,
        elapsed,
        latency,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scripts_report_becomes_counts_and_latencies() {
        let mut stdout = String::from(
            "Running 5s test @ http://127.0.0.1:1\n\
             webhook-load: requests=2010 non2xx=10 socket_errors=3 duration_us=5000000 wrapped=0\n",
        );
        for step in 1..=1000 {
            // 1 ms up to the 99th percentile, 20 ms above it.
            let value = if step <= 990 { 1000 } else { 20_000 };
            stdout.push_str(&format!(
                "webhook-load: percentile {:.1} {value}\n",
                f64::from(step) / 10.0
            ));
        }
        let report = parse(&stdout).unwrap();
        assert_eq!(report.ok, 2000);
        assert_eq!(report.errors, 13);
        assert_eq!(report.elapsed, Duration::from_secs(5));
        assert_eq!(report.latency.len(), 2000);
        assert!(report.latency.value_at_quantile(0.98) < 1100);
        assert!(report.latency.value_at_quantile(0.995) > 19_000);
    }

    #[test]
    fn every_written_delivery_is_one_signed_request_of_the_same_length() {
        let dir = std::env::temp_dir().join(format!("webhook-load-test-{}", std::process::id()));
        let record = write_deliveries(&dir, 2, 3, "t", 1024).unwrap();
        let signer = Signer::new(scheme::HopNow, SECRET).unwrap();
        for thread in 0..2 {
            let bytes = std::fs::read(dir.join(format!("{thread}.http"))).unwrap();
            assert_eq!(bytes.len(), 3 * record);
            for (n, request) in bytes.chunks(record).enumerate() {
                let text = std::str::from_utf8(request).unwrap();
                let (head, body) = text.split_once("\r\n\r\n").unwrap();
                assert!(head.starts_with("POST /webhooks HTTP/1.1\r\n"), "{head}");
                assert!(head.contains("Content-Length: 1024\r\n"), "{head}");
                assert_eq!(body.len(), 1024);
                let id = format!("evt_t_{thread}_{n:09}");
                let event: serde_json::Value = serde_json::from_str(body).unwrap();
                assert_eq!(event["id"], id.as_str());
                let signed = signer.sign(body.as_bytes(), unix_now(), &id).unwrap();
                let signature = signed["x-webhook-signature"].to_str().unwrap();
                assert!(
                    format!("{head}\r\n")
                        .contains(&format!("\r\nx-webhook-signature: {signature}\r\n")),
                    "{head}"
                );
            }
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_wrapped_run_does_not_count() {
        let stdout = "webhook-load: requests=10 non2xx=0 socket_errors=0 duration_us=1 wrapped=1\n";
        let error = parse(stdout).err().unwrap();
        assert!(error.to_string().contains("started over"), "{error}");
    }
}
