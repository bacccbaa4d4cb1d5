//! The `memory` and `soak` commands: a server's resident memory under load, with many
//! large deliveries in flight at once, or under a steady rate for a long time.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::child::Server;
use crate::client::{Load, drive};
use crate::server::Handler;
use crate::{BoxError, Target};

/// Bytes in a MiB.
const MIB: f64 = 1024.0 * 1024.0;

/// Sends `deliveries` bodies of `body` bytes at once to each target, each held `hold`
/// by the handler, and prints the peak RSS against the bytes in flight.
pub(crate) async fn memory(
    targets: &[Target],
    deliveries: usize,
    body: usize,
    hold: Duration,
) -> Result<(), BoxError> {
    let in_flight = (deliveries * body) as f64;
    println!(
        "\n{deliveries} concurrent deliveries of {body} B ({:.0} MiB in flight), each held {} ms by a handler that takes the body as `Bytes`\n",
        in_flight / MIB,
        hold.as_millis()
    );
    println!(
        "| target | RSS before (MiB) | peak RSS (MiB) | peak - before (MiB) | (peak - before) / in flight | errors |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for &target in targets {
        if matches!(target, Target::Redis | Target::Receiver) {
            return Err("the memory run measures the bare and in-memory targets".into());
        }
        let server = Server::spawn(target, Handler::Bytes, None, hold, Duration::ZERO, false)?;
        // Warm the server up (runtime threads, first connections), then measure.
        let warm = Load {
            connections: 4,
            body_size: 1024,
            duration: Duration::from_secs(60),
            max_requests: 64,
            run: format!("{}warm", target.name()),
            rate: None,
            window: Duration::from_secs(60),
        };
        drive(server.addr, &warm, Arc::default()).await?;
        let (before, _) = server.memory()?;
        let load = Load {
            connections: deliveries,
            body_size: body,
            duration: Duration::from_secs(600),
            max_requests: deliveries as u64,
            run: format!("{}mem", target.name()),
            rate: None,
            window: Duration::from_secs(600),
        };
        let outcome = drive(server.addr, &load, Arc::default()).await?;
        let (_, peak) = server.memory()?;
        let growth = peak.saturating_sub(before) as f64;
        println!(
            "| {} | {:.1} | {:.1} | {:.1} | {:.2}x | {} |",
            target.name(),
            before as f64 / MIB,
            peak as f64 / MIB,
            growth / MIB,
            growth / in_flight,
            outcome.errors
        );
    }
    Ok(())
}

/// The `soak` command's options.
pub(crate) struct Soak {
    pub(crate) duration: Duration,
    pub(crate) connections: usize,
    pub(crate) body: usize,
    pub(crate) sample: Duration,
    pub(crate) rate: f64,
}

/// Drives the in-memory stack at a steady rate for the whole duration, printing its
/// RSS every sample.
pub(crate) async fn soak(
    Soak {
        duration,
        connections,
        body,
        sample,
        rate,
    }: Soak,
) -> Result<(), BoxError> {
    let server = Server::spawn(
        Target::Memory,
        Handler::Parse,
        None,
        Duration::ZERO,
        Duration::ZERO,
        false,
    )?;
    let sent = Arc::new(AtomicU64::new(0));
    let load = Load {
        connections,
        body_size: body,
        duration,
        max_requests: u64::MAX,
        run: "soak".to_owned(),
        rate: Some(rate),
        window: duration,
    };
    let addr = server.addr;
    let counter = sent.clone();
    let load_task = tokio::spawn(async move { drive(addr, &load, counter).await });
    println!(
        "\nin-memory stack, {rate} requests/s over {connections} connections, {body} B bodies, idempotency retention 60 s\n"
    );
    println!("| elapsed (s) | requests sent | RSS (MiB) | peak RSS (MiB) |");
    println!("|---:|---:|---:|---:|");
    let mut elapsed = Duration::ZERO;
    while !load_task.is_finished() {
        tokio::time::sleep(sample).await;
        elapsed += sample;
        let (rss, peak) = server.memory()?;
        println!(
            "| {} | {} | {:.1} | {:.1} |",
            elapsed.as_secs(),
            sent.load(Ordering::Relaxed),
            rss as f64 / MIB,
            peak as f64 / MIB
        );
    }
    let outcome = load_task.await??;
    println!(
        "\n{} requests answered 200 ({:.0}/s), {} errors, p99 {} µs",
        outcome.ok,
        outcome.throughput(),
        outcome.errors,
        outcome.micros(0.99)
    );
    Ok(())
}
