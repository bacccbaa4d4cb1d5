//! The `run` command: throughput, latency and server CPU per request of each target at
//! each connection count, over loopback HTTP.

use std::sync::Arc;
use std::time::Duration;

use crate::child::{Redis, Server};
use crate::client::{Load, Outcome, drive};
use crate::server::Handler;
use crate::{BoxError, Target};

/// The `run` command's options.
pub(crate) struct RunArgs {
    pub(crate) targets: Vec<Target>,
    pub(crate) connections: Vec<usize>,
    pub(crate) body: usize,
    pub(crate) duration: Duration,
    pub(crate) warmup: Duration,
    pub(crate) max_requests: u64,
    pub(crate) rounds: usize,
}

/// One round of one cell: what the client saw, and the server's CPU time per answer.
type Measured = (Outcome, Duration);

/// Measures every target at every connection count, in rounds, and prints the table
/// of each cell's median round.
pub(crate) async fn run(args: RunArgs) -> Result<(), BoxError> {
    let redis = args.targets.contains(&Target::Redis).then(Redis::start);
    let redis_url = redis.as_ref().map(Redis::url);
    let mut cells: Vec<(Target, usize, Vec<Measured>)> = Vec::new();
    for &connections in &args.connections {
        for &target in &args.targets {
            cells.push((target, connections, Vec::new()));
        }
    }
    for round in 0..args.rounds {
        for (target, connections, outcomes) in &mut cells {
            let url = (*target == Target::Redis)
                .then_some(redis_url.as_deref())
                .flatten();
            let server = Server::spawn(*target, Handler::Parse, url, Duration::ZERO, true)?;
            let load = |duration, tag: &str| Load {
                connections: *connections,
                body_size: args.body,
                duration,
                max_requests: args.max_requests,
                run: format!("{}{round}{tag}{connections}", target.name()),
                rate: None,
            };
            drive(server.addr, &load(args.warmup, "w"), Arc::default()).await?;
            let cpu_before = server.cpu_time()?;
            let outcome = drive(server.addr, &load(args.duration, "m"), Arc::default()).await?;
            let cpu = (server.cpu_time()? - cpu_before) / u32::try_from(outcome.ok.max(1))?;
            eprintln!(
                "round {} {:>6} {:>3} conns: {:>8.0} req/s, p99 {} µs, {} errors, server CPU {:.1} µs/request",
                round + 1,
                target.name(),
                connections,
                outcome.throughput(),
                outcome.micros(0.99),
                outcome.errors,
                cpu.as_secs_f64() * 1e6,
            );
            outcomes.push((outcome, cpu));
        }
    }
    println!(
        "\n{} B bodies, {} s per cell after {} s warm-up, median of {} round(s); \
         `each round`: the lowest and highest ratio of a round to bare's in the same round\n",
        args.body,
        args.duration.as_secs(),
        args.warmup.as_secs(),
        args.rounds
    );
    println!(
        "| target | connections | requests | req/s | p50 µs | p99 µs | errors | vs bare | each round | server CPU µs/request |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    // Round against round, before the sort below reorders them: the targets took
    // turns, so round `i` of each target ran next to round `i` of the bare handler.
    let spreads: Vec<Option<(f64, f64)>> = cells
        .iter()
        .map(|(_, connections, outcomes)| {
            let bare = cells
                .iter()
                .find(|(t, c, _)| *t == Target::Bare && c == connections)?;
            let ratios = outcomes
                .iter()
                .zip(&bare.2)
                .map(|((round, _), (bare, _))| round.throughput() / bare.throughput());
            Some(ratios.fold((f64::MAX, f64::MIN), |(low, high), r| {
                (low.min(r), high.max(r))
            }))
        })
        .collect();
    let medians: Vec<(Target, usize, &Measured)> = cells
        .iter_mut()
        .map(|(target, connections, outcomes)| {
            outcomes.sort_by(|(a, _), (b, _)| a.throughput().total_cmp(&b.throughput()));
            (*target, *connections, &outcomes[outcomes.len() / 2])
        })
        .collect();
    for (&(target, connections, (outcome, cpu)), spread) in medians.iter().zip(&spreads) {
        let bare = medians
            .iter()
            .find(|(t, c, _)| *t == Target::Bare && *c == connections)
            .map(|(_, _, (bare, _))| bare.throughput());
        let ratio = bare.map_or_else(
            || "-".to_owned(),
            |bare| format!("{:.2}x", outcome.throughput() / bare),
        );
        let spread = spread.map_or_else(
            || "-".to_owned(),
            |(low, high)| format!("{low:.2}-{high:.2}x"),
        );
        println!(
            "| {} | {} | {} | {:.0} | {} | {} | {} | {} | {} | {:.1} |",
            target.name(),
            connections,
            outcome.ok,
            outcome.throughput(),
            outcome.micros(0.5),
            outcome.micros(0.99),
            outcome.errors,
            ratio,
            spread,
            cpu.as_secs_f64() * 1e6,
        );
    }
    Ok(())
}
