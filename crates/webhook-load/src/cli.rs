//! The command line: the commands and their options.

use clap::{Parser, Subcommand};

use crate::Target;
use crate::run::Client;
use crate::server::Handler;

/// A load generator for the webhook stack.
#[derive(Parser)]
#[command(version, about)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Cmd,
}

#[derive(Subcommand)]
pub(crate) enum Cmd {
    /// Throughput and latency of each target at each connection count, every server
    /// from a cold start unless told otherwise, with the p99 of every window.
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
        #[arg(long, default_value_t = 60)]
        duration: u64,
        /// Seconds of unmeasured load per cell before the measurement (0: measure
        /// from the server's cold start).
        #[arg(long, default_value_t = 0)]
        warmup: u64,
        /// Seconds per window of the per-window p99 table.
        #[arg(long, default_value_t = 5)]
        window: u64,
        /// Start the in-memory targets' idempotency store full, as a long-running
        /// service's is (every delivery evicts the oldest record), instead of empty.
        #[arg(long)]
        steady_store: bool,
        /// Nanoseconds of computation the `bare-busy` target adds to each delivery,
        /// as measured on an idle core when it starts.
        #[arg(long, default_value_t = 5_000)]
        busy_ns: u64,
        /// The reference receiver's binary, for the `receiver` target (default:
        /// `examples/receiver` beside this binary, where `cargo build --release
        /// --example receiver` puts it).
        #[arg(long)]
        receiver: Option<std::path::PathBuf>,
        /// What sends the load: the tool's own client, or `wrk` (one invocation per
        /// window, with `--wrk-script`).
        #[arg(long, default_value = "tool")]
        client: Client,
        /// wrk's Lua script (default: `wrk/deliveries.lua` of this crate).
        #[arg(long)]
        wrk_script: Option<std::path::PathBuf>,
        /// Where the deliveries wrk posts are written before each window (default:
        /// `webhook-load-wrk` in the temporary directory).
        #[arg(long)]
        wrk_dir: Option<std::path::PathBuf>,
        /// wrk's threads.
        #[arg(long, default_value_t = 2)]
        wrk_threads: usize,
        /// Deliveries signed for each wrk thread before each window (enough for the
        /// window: a thread that runs out sends repeats, and the run fails).
        #[arg(long, default_value_t = 400_000)]
        wrk_deliveries: usize,
        /// At most this many requests per cell.
        #[arg(long, default_value_t = 100_000_000)]
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
        /// Nanoseconds of computation the `bare-busy` target adds to each delivery.
        #[arg(long, default_value_t = 5_000)]
        busy_ns: u64,
    },
    /// Write pre-signed deliveries for wrk's script `wrk/deliveries.lua`, one file per
    /// wrk thread, and print the `wrk` command that posts them.
    WrkDeliveries {
        /// The directory to write `<thread>.http` into.
        #[arg(long)]
        dir: std::path::PathBuf,
        /// wrk's threads: one file each.
        #[arg(long, default_value_t = 2)]
        threads: usize,
        /// Deliveries per file.
        #[arg(long, default_value_t = 200_000)]
        count: usize,
        /// Body size in bytes.
        #[arg(long, default_value_t = 1024)]
        body: usize,
        /// Makes the event ids unique across sets of files sent to one server.
        #[arg(long, default_value = "wrk")]
        run: String,
    },
    /// Serve one target (what the other commands start as a child process).
    #[command(hide = true)]
    Serve {
        #[arg(long)]
        target: Target,
        #[arg(long, default_value_t = 0)]
        hold_ms: u64,
        #[arg(long, default_value_t = 0)]
        busy_ns: u64,
        #[arg(long, default_value = "parse")]
        handler: Handler,
        #[arg(long)]
        steady_store: bool,
    },
}
