//! `webhook-load`: a load generator for the webhook stack, over loopback HTTP.
//!
//! It starts each server under test as a child process of its own (so its memory is
//! measured alone), drives it with closed-loop HTTP/1.1 connections that send signed
//! deliveries with unique event ids, and prints one Markdown table:
//!
//! ```text
//! cargo run --release -p webhook-load -- run            # throughput, p99 and server CPU per request, 1/64/256 connections
//! cargo run --release -p webhook-load -- memory         # peak RSS, 256 concurrent 1 MiB deliveries
//! cargo run --release -p webhook-load -- soak --minutes 10
//! cargo run --release -p webhook-load -- cpu            # CPU per delivery in process, no sockets
//! cargo run --release -p webhook-load --features mimalloc -- run   # the same, on mimalloc
//! ```
//!
//! The servers: `bare` is an axum handler that parses the JSON envelope; `memory` is
//! the full stack (metrics with a Prometheus recorder + tracing with a `fmt`
//! subscriber at `info`, HTTPS guard, per-IP limit, signature
//! verification, per-source limit, idempotency) with in-memory state in front of the
//! same handler through `WebhookEvent` (in `run` and `cpu`, its idempotency store is
//! full from the start, as a long-running service's is: every delivery evicts the
//! oldest record; `memory` and `soak` start it empty); `redis` is the same stack with
//! its state in a `redis-server` that the tool starts on a free port (or `REDIS_URL`);
//! `memory-quiet` is the in-memory stack with the observe layer's metrics and tracing
//! switched off, to tell what observability costs from what the other layers cost;
//! `memory-spans` is the in-memory stack with the delivery span at `INFO` (its
//! default is `DEBUG`), so that the `info` subscriber records and formats it.
//!
//! Client and server share the machine's cores, so throughput also says how much CPU
//! the server left to the client. The `run` table's last column, the server process's
//! CPU time per answer over the measured window (`/proc/PID/stat`), is the steadier
//! comparison on a small shared machine.

mod client;
mod cpu;
mod server;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

use crate::client::{Load, Outcome, drive};
use crate::server::Handler;

pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// `--features mimalloc`: the same runs on another allocator (glibc malloc spends
/// about a quarter of the stack's CPU under load; see BENCHMARKS.md).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A load generator for the webhook stack.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

/// A server under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Target {
    /// A bare axum handler parsing the JSON envelope.
    Bare,
    /// The full stack with in-memory state.
    Memory,
    /// The same, with the observe layer's metrics and tracing switched off: what the
    /// other layers cost without observability.
    MemoryQuiet,
    /// The same, with the delivery span at `INFO`: recorded by the `info` subscriber.
    MemorySpans,
    /// The full stack with its state in Redis.
    Redis,
}

impl Target {
    fn name(self) -> &'static str {
        match self {
            Self::Bare => "bare",
            Self::Memory => "memory",
            Self::MemoryQuiet => "memory-quiet",
            Self::MemorySpans => "memory-spans",
            Self::Redis => "redis",
        }
    }
}

#[derive(Subcommand)]
enum Cmd {
    /// Throughput and latency of each target at each connection count.
    Run {
        /// Targets, side by side in this run.
        #[arg(long, value_delimiter = ',', default_value = "bare,memory,redis")]
        targets: Vec<Target>,
        /// Connection counts.
        #[arg(long, value_delimiter = ',', default_value = "1,64,256")]
        connections: Vec<usize>,
        /// Body size in bytes.
        #[arg(long, default_value_t = 1024)]
        body: usize,
        /// Seconds of measurement per cell.
        #[arg(long, default_value_t = 10)]
        duration: u64,
        /// Seconds of unmeasured warm-up per cell.
        #[arg(long, default_value_t = 2)]
        warmup: u64,
        /// At most this many requests per cell.
        #[arg(long, default_value_t = 1_000_000)]
        max_requests: u64,
        /// Rounds: the targets are measured in turn this many times, and each cell
        /// reports its median round (by throughput), so drift hits every target.
        #[arg(long, default_value_t = 1)]
        rounds: usize,
    },
    /// Peak memory of a target while many large deliveries are in flight at once.
    Memory {
        /// Targets, side by side in this run.
        #[arg(long, value_delimiter = ',', default_value = "bare,memory")]
        targets: Vec<Target>,
        /// Concurrent deliveries (one connection each).
        #[arg(long, default_value_t = 256)]
        deliveries: usize,
        /// Body size in bytes.
        #[arg(long, default_value_t = 1 << 20)]
        body: usize,
        /// How long the handler holds each delivery before answering, in milliseconds.
        #[arg(long, default_value_t = 3000)]
        hold_ms: u64,
    },
    /// Steady load on the in-memory stack for a long time, sampling its RSS.
    Soak {
        /// How long to run.
        #[arg(long, default_value_t = 10)]
        minutes: u64,
        /// Concurrent connections.
        #[arg(long, default_value_t = 16)]
        connections: usize,
        /// Body size in bytes.
        #[arg(long, default_value_t = 1024)]
        body: usize,
        /// Seconds between RSS samples.
        #[arg(long, default_value_t = 30)]
        sample_secs: u64,
        /// Requests per second (a steady rate, so the idempotency store, which keeps
        /// 60 s of deliveries, reaches a steady size).
        #[arg(long, default_value_t = 1000.0)]
        rate: f64,
    },
    /// CPU per delivery of each target in process (no sockets, one thread), in
    /// alternating batches: what the stack adds to a server's work, without the
    /// client and the kernel sharing the cores.
    Cpu {
        /// Targets, side by side in this run (bare and the in-memory ones).
        #[arg(long, value_delimiter = ',', default_value = "bare,memory")]
        targets: Vec<Target>,
        /// Body size in bytes.
        #[arg(long, default_value_t = 1024)]
        body: usize,
        /// Rounds: one batch per target each.
        #[arg(long, default_value_t = 100)]
        rounds: usize,
        /// Deliveries per batch.
        #[arg(long, default_value_t = 1000)]
        batch: usize,
        /// Unmeasured deliveries per target first, for the caches and the allocator
        /// (the idempotency store starts full).
        #[arg(long, default_value_t = 20_000)]
        warmup: usize,
        /// KiB of memory written between two deliveries, untimed, to evict the caches
        /// as a loaded server's other work does (0: warm caches).
        #[arg(long, default_value_t = 0)]
        evict_kib: usize,
    },
    /// Serve one target (what the other commands start as a child process).
    #[command(hide = true)]
    Serve {
        #[arg(long)]
        target: Target,
        #[arg(long, default_value_t = 0)]
        hold_ms: u64,
        #[arg(long, default_value = "parse")]
        handler: Handler,
        #[arg(long)]
        steady_store: bool,
    },
}

fn main() -> Result<(), BoxError> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.command {
        Cmd::Serve {
            target,
            hold_ms,
            handler,
            steady_store,
        } => {
            // What a service runs in production: info (it prints nothing unless
            // something is refused; `memory-spans` records its span per delivery).
            tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
                .with_writer(std::io::stderr)
                .with_ansi(false)
                .init();
            runtime
                .block_on(server::serve(
                    target,
                    handler,
                    std::env::var("REDIS_URL").ok(),
                    Duration::from_millis(hold_ms),
                    steady_store,
                ))
                .map_err(|error| error.to_string().into())
        }
        Cmd::Run {
            targets,
            connections,
            body,
            duration,
            warmup,
            max_requests,
            rounds,
        } => runtime.block_on(run(RunArgs {
            targets,
            connections,
            body,
            duration: Duration::from_secs(duration),
            warmup: Duration::from_secs(warmup),
            max_requests,
            rounds: rounds.max(1),
        })),
        Cmd::Memory {
            targets,
            deliveries,
            body,
            hold_ms,
        } => runtime.block_on(memory(
            &targets,
            deliveries,
            body,
            Duration::from_millis(hold_ms),
        )),
        Cmd::Cpu {
            targets,
            body,
            rounds,
            batch,
            warmup,
            evict_kib,
        } => {
            tracing_subscriber::fmt()
                .with_max_level(tracing::Level::INFO)
                .with_writer(std::io::sink)
                .init();
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?
                .block_on(cpu::cpu(cpu::CpuArgs {
                    targets,
                    body,
                    rounds: rounds.max(1),
                    batch: batch.max(1),
                    warmup,
                    evict: evict_kib * 1024,
                }))
        }
        Cmd::Soak {
            minutes,
            connections,
            body,
            sample_secs,
            rate,
        } => runtime.block_on(soak(Soak {
            duration: Duration::from_secs(minutes * 60),
            connections,
            body,
            sample: Duration::from_secs(sample_secs),
            rate,
        })),
    }
}

/// A server under test, in a child process that is killed on drop.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    /// `steady_store`: see [`server::serve`].
    fn spawn(
        target: Target,
        handler: Handler,
        redis_url: Option<&str>,
        hold: Duration,
        steady_store: bool,
    ) -> Result<Self, BoxError> {
        let handler = match handler {
            Handler::Parse => "parse",
            Handler::Bytes => "bytes",
        };
        let mut command = Command::new(std::env::current_exe()?);
        command
            .args([
                "serve",
                "--target",
                target.name(),
                "--handler",
                handler,
                "--hold-ms",
            ])
            .arg(hold.as_millis().to_string())
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped());
        if let Some(url) = redis_url {
            command.env("REDIS_URL", url);
        }
        if steady_store {
            command.arg("--steady-store");
        }
        let mut child = command.spawn()?;
        let stdout = child.stdout.take().ok_or("no stdout from the server")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .ok_or_else(|| format!("the {} server did not start: {line:?}", target.name()))?
            .parse()?;
        Ok(Self { child, addr })
    }

    /// CPU time the server process has used so far, all threads, user and system
    /// (`utime + stime` in `/proc/PID/stat`, in clock ticks of 10 ms: Linux reports
    /// them in `USER_HZ`, 100 on every architecture it supports today).
    fn cpu_time(&self) -> Result<Duration, BoxError> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()))?;
        // The command name, in parentheses, may hold spaces: count fields after it.
        let after_name = stat
            .rsplit_once(')')
            .ok_or("no command name in /proc/PID/stat")?
            .1;
        let mut fields = after_name.split_whitespace().skip(11);
        let mut ticks = || -> Result<u64, BoxError> {
            Ok(fields.next().ok_or("/proc/PID/stat too short")?.parse()?)
        };
        let ticks = ticks()? + ticks()?;
        Ok(Duration::from_millis(ticks * 10))
    }

    /// `(VmRSS, VmHWM)` of the server process, in bytes: now, and the peak so far.
    fn memory(&self) -> Result<(u64, u64), BoxError> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        let field = |name: &str| -> Result<u64, BoxError> {
            let line = status
                .lines()
                .find(|line| line.starts_with(name))
                .ok_or_else(|| format!("no {name} in /proc/PID/status"))?;
            let kib: u64 = line[name.len()..]
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse()?;
            Ok(kib * 1024)
        };
        Ok((field("VmRSS:")?, field("VmHWM:")?))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `redis-server` for the `redis` target: `REDIS_URL` when set, else one of our own.
enum Redis {
    External(String),
    Owned(test_redis::RedisServer),
}

impl Redis {
    fn start() -> Self {
        match std::env::var("REDIS_URL") {
            Ok(url) => Self::External(url),
            Err(_) => Self::Owned(test_redis::RedisServer::start()),
        }
    }

    fn url(&self) -> String {
        match self {
            Self::External(url) => url.clone(),
            Self::Owned(server) => server.url(),
        }
    }
}

struct RunArgs {
    targets: Vec<Target>,
    connections: Vec<usize>,
    body: usize,
    duration: Duration,
    warmup: Duration,
    max_requests: u64,
    rounds: usize,
}

/// One round of one cell: what the client saw, and the server's CPU time per answer.
type Measured = (Outcome, Duration);

async fn run(args: RunArgs) -> Result<(), BoxError> {
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

async fn memory(
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
        if target == Target::Redis {
            return Err("the memory run measures the bare and in-memory targets".into());
        }
        let server = Server::spawn(target, Handler::Bytes, None, hold, false)?;
        // Warm the server up (runtime threads, first connections), then measure.
        let warm = Load {
            connections: 4,
            body_size: 1024,
            duration: Duration::from_secs(60),
            max_requests: 64,
            run: format!("{}warm", target.name()),
            rate: None,
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

const MIB: f64 = 1024.0 * 1024.0;

struct Soak {
    duration: Duration,
    connections: usize,
    body: usize,
    sample: Duration,
    rate: f64,
}

async fn soak(
    Soak {
        duration,
        connections,
        body,
        sample,
        rate,
    }: Soak,
) -> Result<(), BoxError> {
    let server = Server::spawn(Target::Memory, Handler::Parse, None, Duration::ZERO, false)?;
    let sent = Arc::new(AtomicU64::new(0));
    let load = Load {
        connections,
        body_size: body,
        duration,
        max_requests: u64::MAX,
        run: "soak".to_owned(),
        rate: Some(rate),
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
