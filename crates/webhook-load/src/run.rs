//! The `run` command: throughput, latency and server CPU per request of each target at
//! each connection count, over loopback HTTP, and the p99 of every window of the run.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::child::{Redis, Server};
use crate::client::{Load, Outcome, drive};
use crate::server::Handler;
use crate::wrk::Wrk;
use crate::{BoxError, Target};

/// What sends the load.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Client {
    /// The tool's own client: hyper, in this process.
    Tool,
    /// `wrk` with the script `wrk/deliveries.lua`, one invocation per window.
    Wrk,
}

/// The `run` command's options.
pub(crate) struct RunArgs {
    pub(crate) targets: Vec<Target>,
    pub(crate) connections: Vec<usize>,
    pub(crate) body: usize,
    pub(crate) duration: Duration,
    pub(crate) warmup: Duration,
    pub(crate) window: Duration,
    pub(crate) max_requests: u64,
    pub(crate) rounds: usize,
    /// Start the in-memory targets' idempotency store full instead of empty.
    pub(crate) steady_store: bool,
    /// What the `bare-busy` target adds to each delivery.
    pub(crate) busy: Duration,
    /// The reference receiver's binary, for the `receiver` target.
    pub(crate) receiver: PathBuf,
    pub(crate) client: Client,
    /// wrk's script, the directory of its deliveries' files, its threads and the
    /// deliveries signed per thread and window.
    pub(crate) wrk_script: PathBuf,
    pub(crate) wrk_dir: PathBuf,
    pub(crate) wrk_threads: usize,
    pub(crate) wrk_deliveries: usize,
}

/// Sends `load` to `addr` with the chosen client.
async fn send(addr: SocketAddr, load: &Load, args: &RunArgs) -> Result<Outcome, BoxError> {
    match args.client {
        Client::Tool => drive(addr, load, Arc::default()).await,
        Client::Wrk => crate::wrk::drive(
            addr,
            load,
            &Wrk {
                script: &args.wrk_script,
                dir: &args.wrk_dir,
                threads: args.wrk_threads,
                deliveries: args.wrk_deliveries,
            },
        ),
    }
}

/// One round of one cell: what the client saw, and the server's CPU time per answer.
type Measured = (Outcome, Duration);

/// Measures every target at every connection count, in rounds, and prints the table
/// of each cell's median round, then the p99 of each window against bare's.
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
            // A new process for every round of every cell: each starts cold.
            let server = match *target {
                Target::Receiver => Server::receiver(&args.receiver)?,
                Target::Redis => Server::spawn(
                    Target::Redis,
                    Handler::Parse,
                    redis_url.as_deref(),
                    Duration::ZERO,
                    Duration::ZERO,
                    false,
                )?,
                other => Server::spawn(
                    other,
                    Handler::Parse,
                    None,
                    Duration::ZERO,
                    args.busy,
                    args.steady_store,
                )?,
            };
            let load = |duration, tag: &str| Load {
                connections: *connections,
                body_size: args.body,
                duration,
                max_requests: args.max_requests,
                run: format!("{}{round}{tag}{connections}", target.name()),
                rate: None,
                window: args.window,
            };
            if !args.warmup.is_zero() {
                send(server.addr, &load(args.warmup, "w"), &args).await?;
            }
            let cpu_before = server.cpu_time()?;
            let outcome = send(server.addr, &load(args.duration, "m"), &args).await?;
            let cpu = (server.cpu_time()? - cpu_before) / u32::try_from(outcome.ok.max(1))?;
            let worst = outcome.windows.iter().map(|w| w.micros(0.99)).max();
            eprintln!(
                "round {} {:>12} {:>3} conns: {:>8.0} req/s, p99 {} µs (worst window {} µs), {} errors, server CPU {:.1} µs/request",
                round + 1,
                target.name(),
                connections,
                outcome.throughput(),
                outcome.micros(0.99),
                worst.unwrap_or(0),
                outcome.errors,
                cpu.as_secs_f64() * 1e6,
            );
            outcomes.push((outcome, cpu));
        }
    }
    println!(
        "\n{} client, {} B bodies, {} s per cell after {} s warm-up, {}, median of {} round(s); \
         `each round`: the lowest and highest ratio of a round to bare's in the same round\n",
        match args.client {
            Client::Tool => "tool",
            Client::Wrk => "wrk",
        },
        args.body,
        args.duration.as_secs(),
        args.warmup.as_secs(),
        if args.steady_store {
            "in-memory stores starting full"
        } else {
            "every server from a cold start"
        },
        args.rounds
    );
    print_windows(&cells, args.window);
    print_summary(&mut cells);
    Ok(())
}

/// For each connection count and each target but bare: the req/s and p99 of every
/// window of the run against bare's in the same window (median over the rounds; the
/// worst round's p99 ratio beside it).
fn print_windows(cells: &[(Target, usize, Vec<Measured>)], window: Duration) {
    for (target, connections, outcomes) in cells {
        let Some((_, _, bare)) = cells
            .iter()
            .find(|(t, c, _)| *t == Target::Bare && c == connections)
        else {
            continue;
        };
        if *target == Target::Bare {
            continue;
        }
        let name = target.name();
        println!(
            "{name} against bare, {connections} connections, by {} s window from the start; \
             median over the rounds, and the worst round's p99 ratio\n",
            window.as_secs_f64()
        );
        println!(
            "| window (s) | bare req/s | {name} req/s | req/s vs bare | bare p99 µs | {name} p99 µs | p99 vs bare | worst round |"
        );
        println!("|---|---:|---:|---:|---:|---:|---:|---:|");
        let windows = outcomes
            .iter()
            .chain(bare)
            .map(|(outcome, _)| outcome.windows.len())
            .min()
            .unwrap_or(0);
        let seconds = window.as_secs_f64();
        let mut worst_median: f64 = 0.0;
        for index in 0..windows {
            // Round `i` of the target ran next to round `i` of bare.
            let pairs: Vec<_> = outcomes
                .iter()
                .zip(bare)
                .map(|((ours, _), (bare, _))| (&ours.windows[index], &bare.windows[index]))
                .collect();
            let rate = |w: &crate::client::Window| w.ok as f64 / seconds;
            let p99 = |w: &crate::client::Window| w.micros(0.99) as f64;
            let median = |values: Vec<f64>| median(values);
            let ours_rate = median(pairs.iter().map(|(o, _)| rate(o)).collect());
            let bare_rate = median(pairs.iter().map(|(_, b)| rate(b)).collect());
            let ours_p99 = median(pairs.iter().map(|(o, _)| p99(o)).collect());
            let bare_p99 = median(pairs.iter().map(|(_, b)| p99(b)).collect());
            let rate_ratio = median(
                pairs
                    .iter()
                    .map(|(o, b)| rate(o) / rate(b).max(1e-9))
                    .collect(),
            );
            let p99_ratios: Vec<f64> = pairs
                .iter()
                .map(|(o, b)| p99(o) / p99(b).max(1.0))
                .collect();
            let worst = p99_ratios.iter().copied().fold(0.0, f64::max);
            let p99_ratio = median(p99_ratios);
            worst_median = worst_median.max(p99_ratio);
            println!(
                "| {:.0}-{:.0} | {bare_rate:.0} | {ours_rate:.0} | {rate_ratio:.2}x | {bare_p99:.0} | {ours_p99:.0} | {p99_ratio:.2}x | {worst:.2}x |",
                index as f64 * seconds,
                (index + 1) as f64 * seconds,
            );
        }
        println!("\nhighest window p99 ratio (median over the rounds): {worst_median:.2}x\n");
    }
}

/// The median of `values` (the mean of the middle two of an even count); 0 when empty.
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    match values.len() {
        0 => 0.0,
        n if n % 2 == 0 => (values[middle - 1] + values[middle]) / 2.0,
        _ => values[middle],
    }
}

/// The whole run of each cell: its median round by throughput, against bare's.
fn print_summary(cells: &mut [(Target, usize, Vec<Measured>)]) {
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
}
