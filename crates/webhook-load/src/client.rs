//! The load generator: closed-loop HTTP/1.1 connections over loopback, each sending
//! signed deliveries one after another, until a deadline or a request count.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use hdrhistogram::Histogram;
use http::header::{CONTENT_TYPE, HOST};
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use tower_webhook::signature::{Signer, scheme};

use crate::server::SECRET;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What one load run sends.
#[derive(Clone, Debug)]
pub(crate) struct Load {
    /// Concurrent connections, each with one request in flight.
    pub(crate) connections: usize,
    /// Size of every body, in bytes.
    pub(crate) body_size: usize,
    /// Stop sending after this long...
    pub(crate) duration: Duration,
    /// ...or after this many requests, whichever comes first.
    pub(crate) max_requests: u64,
    /// Makes the event ids of this run unique across runs against one store.
    pub(crate) run: String,
    /// Requests per second over all connections; `None`: as fast as answered.
    pub(crate) rate: Option<f64>,
    /// The length of the windows [`Outcome::windows`] splits the run into.
    pub(crate) window: Duration,
}

/// What one load run measured.
pub(crate) struct Outcome {
    /// Requests answered 200.
    pub(crate) ok: u64,
    /// Requests answered anything else, or that failed on the connection.
    pub(crate) errors: u64,
    /// From the first request sent to the last answer received.
    pub(crate) elapsed: Duration,
    /// Latency of the requests answered 200, in microseconds.
    pub(crate) latency: Histogram<u64>,
    /// The same requests by the window of the run in which they were answered: the
    /// first [`Load::window`] from the first request sent, the next, and so on.
    pub(crate) windows: Vec<Window>,
}

/// The requests answered 200 within one window of a run.
pub(crate) struct Window {
    /// How many.
    pub(crate) ok: u64,
    /// Their latency, in microseconds.
    pub(crate) latency: Histogram<u64>,
}

impl Window {
    /// The latency at `quantile` (0.0 to 1.0), in microseconds; 0 for an empty window.
    pub(crate) fn micros(&self, quantile: f64) -> u64 {
        self.latency.value_at_quantile(quantile)
    }
}

impl Outcome {
    /// Requests answered 200 per second.
    pub(crate) fn throughput(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }

    /// The latency at `quantile` (0.0 to 1.0), in microseconds.
    pub(crate) fn micros(&self, quantile: f64) -> u64 {
        self.latency.value_at_quantile(quantile)
    }
}

/// Sends `load` to `addr`; `sent` counts the requests sent so far, so a caller can
/// watch progress.
pub(crate) async fn drive(
    addr: SocketAddr,
    load: &Load,
    sent: Arc<AtomicU64>,
) -> Result<Outcome, BoxError> {
    let signer = Arc::new(Signer::new(scheme::HopNow, SECRET)?);
    let deadline = Instant::now() + load.duration;
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(load.connections);
    for connection in 0..load.connections {
        let load = load.clone();
        let signer = signer.clone();
        let sent = sent.clone();
        tasks.push(tokio::spawn(async move {
            connection_loop(addr, &load, connection, &signer, &sent, deadline).await
        }));
    }
    let mut outcome = Outcome {
        ok: 0,
        errors: 0,
        elapsed: Duration::ZERO,
        latency: histogram(),
        windows: Vec::new(),
    };
    let last_window = usize::try_from(
        load.duration
            .as_nanos()
            .div_ceil(load.window.as_nanos().max(1))
            .max(1)
            - 1,
    )?;
    for task in tasks {
        let part = task.await??;
        outcome.ok += part.samples.len() as u64;
        outcome.errors += part.errors;
        for sample in part.samples {
            // Answers to the requests in flight at the deadline count in the last window.
            let index = usize::try_from(
                sample.answered.saturating_duration_since(start).as_nanos()
                    / load.window.as_nanos().max(1),
            )?
            .min(last_window);
            if outcome.windows.len() <= index {
                outcome.windows.resize_with(index + 1, || Window {
                    ok: 0,
                    latency: histogram(),
                });
            }
            let window = &mut outcome.windows[index];
            window.ok += 1;
            window.latency.record(sample.micros)?;
            outcome.latency.record(sample.micros)?;
        }
    }
    outcome.elapsed = start.elapsed();
    Ok(outcome)
}

/// What one connection saw: every request answered 200, and the count of the others.
struct Part {
    samples: Vec<Sample>,
    errors: u64,
}

/// One request answered 200.
struct Sample {
    answered: Instant,
    micros: u64,
}

/// A latency histogram in microseconds, up to a minute, three significant digits.
pub(crate) fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds")
}

/// One connection: sends deliveries one at a time until the deadline or the count.
async fn connection_loop(
    addr: SocketAddr,
    load: &Load,
    connection: usize,
    signer: &Signer,
    sent: &AtomicU64,
    deadline: Instant,
) -> Result<Part, BoxError> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let mut part = Part {
        samples: Vec::new(),
        errors: 0,
    };
    let mut pace = load.rate.map(|rate| {
        let mut pace =
            tokio::time::interval(Duration::from_secs_f64(load.connections as f64 / rate));
        pace.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        pace
    });
    loop {
        if let Some(pace) = &mut pace {
            pace.tick().await;
        }
        let n = sent.fetch_add(1, Ordering::Relaxed);
        if n >= load.max_requests || Instant::now() >= deadline {
            break;
        }
        let id = format!("evt_{}_{connection}_{n}", load.run);
        let request = signed_request(signer, &id, load.body_size)?;
        let started = Instant::now();
        sender.ready().await?;
        let response = sender.send_request(request).await?;
        let status = response.status();
        response.into_body().collect().await?;
        if status == StatusCode::OK {
            let answered = Instant::now();
            part.samples.push(Sample {
                answered,
                micros: (answered - started).as_micros() as u64,
            });
        } else {
            part.errors += 1;
        }
    }
    Ok(part)
}

/// A delivery of exactly `size` bytes (or the smallest envelope, when `size` is
/// smaller), signed with the reference scheme, sent as if by a TLS-terminating proxy
/// on loopback (`X-Forwarded-Proto: https`, which the stack's HTTPS guard believes).
pub(crate) fn signed_request(
    signer: &Signer,
    id: &str,
    size: usize,
) -> Result<Request<Full<Bytes>>, BoxError> {
    let body = envelope(id, size);
    let headers = signer.sign(&body, unix_now(), id)?;
    let mut request = Request::post("/webhooks")
        .header(HOST, "127.0.0.1")
        .header(CONTENT_TYPE, "application/json")
        .header("x-forwarded-proto", "https")
        .body(Full::new(Bytes::from(body)))?;
    request.headers_mut().extend(headers);
    Ok(request)
}

/// A payout event as the reference receiver understands it, its payout's id taken from
/// the event's (a new payout per delivery): `{"id":"evt_..","type":"payout.completed",
/// "created":..,"data":{"id":"pout_..","status":"completed",..,"pad":"xxx.."}}`, padded
/// to `size`.
pub(crate) fn envelope(id: &str, size: usize) -> Vec<u8> {
    let payout = id.strip_prefix("evt_").unwrap_or(id);
    let head = format!(
        r#"{{"id":"{id}","type":"payout.completed","created":{},"data":{{"id":"pout_{payout}","status":"completed","amount":1234,"currency":"eur","pad":""#,
        unix_now()
    );
    let tail = r#""}}"#;
    let pad = size.saturating_sub(head.len() + tail.len());
    let mut body = Vec::with_capacity(head.len() + pad + tail.len());
    body.extend_from_slice(head.as_bytes());
    body.resize(head.len() + pad, b'x');
    body.extend_from_slice(tail.as_bytes());
    body
}

/// Seconds since the Unix epoch.
pub(crate) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_have_the_requested_size_and_parse() {
        for size in [256, 1024, 1 << 20] {
            let body = envelope("evt_1", size);
            assert_eq!(body.len(), size);
            let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(value["id"], "evt_1");
            assert_eq!(value["type"], "payout.completed");
            assert_eq!(value["data"]["id"], "pout_1");
        }
        // Too small to pad: the bare envelope, still valid JSON.
        let small = envelope("evt_1", 10);
        assert!(small.len() > 10);
        serde_json::from_slice::<serde_json::Value>(&small).unwrap();
    }
}
