//! `webhook-load`: a load generator for the webhook stack, over loopback HTTP.
//!
//! It starts each server under test as a child process of its own (so its memory is
//! measured alone), drives it with closed-loop HTTP/1.1 connections that send signed
//! deliveries with unique event ids, and prints one Markdown table:
//!
//! ```text
//! cargo run --release -p webhook-load -- run            # throughput, p99 per 5 s window and server CPU per request, 1/64/256 connections, from a cold start
//! cargo build --release --example receiver && cargo run --release -p webhook-load -- run --targets bare,receiver
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
//! same handler through `WebhookEvent` (in `cpu`, and in `run --steady-store`, its
//! idempotency store is full from the start, as a long-running service's is: every
//! delivery evicts the oldest record; otherwise it starts empty); `redis` is the same stack with
//! its state in a `redis-server` that the tool starts on a free port (or `REDIS_URL`);
//! `memory-quiet` is the in-memory stack with the observe layer's metrics and tracing
//! switched off, to tell what observability costs from what the other layers cost;
//! `memory-spans` is the in-memory stack with the delivery span at `INFO` (its
//! default is `DEBUG`), so that the `info` subscriber records and formats it;
//! `receiver` is the reference receiver (`examples/receiver.rs`) as shipped, its
//! release binary started with its defaults and `RUST_LOG=warn`; `bare-busy` is the
//! bare handler doing `--busy-ns` of pure computation more per delivery (5 µs unless
//! told), a yardstick: what a ratio to bare is worth in CPU per delivery, for work
//! that touches no memory.
//!
//! The client sends payout events as the reference receiver understands them, each
//! with a new event id and a new payout, signed with the receiver's development
//! secret. `run` starts a new server process for every round of every cell and, by
//! default, measures from its first request: the phase after every deploy and
//! restart, while the stores fill. Besides the whole run's table, it prints each
//! target's req/s and p99 per window (5 s by default) against bare's in the same
//! window.
//!
//! Client and server share the machine's cores, so throughput also says how much CPU
//! the server left to the client. The `run` table's last column, the server process's
//! CPU time per answer over the measured window (`/proc/PID/stat`), is the steadier
//! comparison on a small shared machine.

mod child;
mod cli;
mod client;
mod cpu;
mod memory;
mod run;
mod server;
mod wrk;

use std::time::Duration;

use clap::{Parser, ValueEnum};

use crate::cli::{Cli, Cmd};
use crate::memory::Soak;
use crate::run::RunArgs;

pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// `--features mimalloc`: the same runs on another allocator (glibc malloc takes a
/// large share of the stack's CPU under load; see BENCHMARKS.md).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A server under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Target {
    /// A bare axum handler parsing the JSON envelope.
    Bare,
    /// The bare handler, then `--busy-ns` of computation: a yardstick that tells what
    /// a ratio to bare is worth in CPU per delivery.
    BareBusy,
    /// The full stack with in-memory state.
    Memory,
    /// The same, with the observe layer's metrics and tracing switched off: what the
    /// other layers cost without observability.
    MemoryQuiet,
    /// The same, with the delivery span at `INFO`: recorded by the `info` subscriber.
    MemorySpans,
    /// The full stack with its state in Redis.
    Redis,
    /// The reference receiver (`examples/receiver.rs`) as shipped: its release binary
    /// with its defaults (in-memory state, metrics and tracing on) and `RUST_LOG=warn`.
    Receiver,
}

impl Target {
    fn name(self) -> &'static str {
        match self {
            Self::Bare => "bare",
            Self::BareBusy => "bare-busy",
            Self::Memory => "memory",
            Self::MemoryQuiet => "memory-quiet",
            Self::MemorySpans => "memory-spans",
            Self::Redis => "redis",
            Self::Receiver => "receiver",
        }
    }
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
            busy_ns,
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
                    Duration::from_nanos(busy_ns),
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
            window,
            steady_store,
            receiver,
            client,
            wrk_script,
            wrk_dir,
            wrk_threads,
            wrk_deliveries,
            max_requests,
            rounds,
            busy_ns,
        } => {
            let receiver = match receiver {
                Some(path) => path,
                None => std::env::current_exe()?
                    .with_file_name("examples")
                    .join("receiver"),
            };
            runtime.block_on(run::run(RunArgs {
                targets,
                connections,
                body,
                duration: Duration::from_secs(duration),
                warmup: Duration::from_secs(warmup),
                window: Duration::from_secs(window.max(1)),
                max_requests,
                rounds: rounds.max(1),
                steady_store,
                busy: Duration::from_nanos(busy_ns),
                receiver,
                client,
                wrk_script: wrk_script.unwrap_or_else(|| {
                    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("wrk/deliveries.lua")
                }),
                wrk_dir: wrk_dir.unwrap_or_else(|| std::env::temp_dir().join("webhook-load-wrk")),
                wrk_threads,
                wrk_deliveries,
            }))
        }
        Cmd::Memory {
            targets,
            deliveries,
            body,
            hold_ms,
        } => runtime.block_on(memory::memory(
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
            busy_ns,
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
                    busy: Duration::from_nanos(busy_ns),
                }))
        }
        Cmd::WrkDeliveries {
            dir,
            threads,
            count,
            body,
            run,
        } => {
            let record = wrk::write_deliveries(&dir, threads.max(1), count, &run, body)?;
            println!(
                "wrk -t{} -c64 -d5s -s {}/wrk/deliveries.lua http://127.0.0.1:3000 -- {} {record}",
                threads.max(1),
                env!("CARGO_MANIFEST_DIR"),
                dir.display()
            );
            Ok(())
        }
        Cmd::Soak {
            minutes,
            connections,
            body,
            sample_secs,
            rate,
        } => runtime.block_on(memory::soak(Soak {
            duration: Duration::from_secs(minutes * 60),
            connections,
            body,
            sample: Duration::from_secs(sample_secs),
            rate,
        })),
    }
}
