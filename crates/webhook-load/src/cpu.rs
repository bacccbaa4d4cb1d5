//! The `cpu` command: what each target costs per delivery in process, with no sockets,
//! no client and no other thread competing for the cores.
//!
//! Every target's app (the same routes and layers that `serve` binds) gets the same
//! kind of signed, fresh delivery, as hyper would hand it over: an `X-Forwarded-Proto`
//! from a loopback peer in axum's `ConnectInfo`, a body of one frame. The response
//! body is read to its end. The targets take turns in batches, the order rotating
//! every round, so drift from the host hits them alike; the table gives the median
//! batch of each target and the median of the round-by-round ratio to bare.
//!
//! This is the part of the loopback run's server CPU that the stack adds (hyper's
//! parsing and the kernel's socket work come on top, for bare and stack alike). It is
//! steadier than the loopback run: within a run a target's batches stay within a few
//! percent of each other, and the ratio to bare moves by a few percent between runs,
//! though on a busy host the absolute times of two runs can differ by half.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ConnectInfo;
use http::StatusCode;
use http_body_util::BodyExt;
use tower::ServiceExt;
use tower_webhook::signature::{Signer, scheme};

use crate::client::signed_request;
use crate::server::{Handler, SECRET, app, install_prometheus};
use crate::{BoxError, Target};

/// What one `cpu` run measures.
pub(crate) struct CpuArgs {
    /// Targets, side by side.
    pub(crate) targets: Vec<Target>,
    /// Body size in bytes.
    pub(crate) body: usize,
    /// Rounds of one batch per target.
    pub(crate) rounds: usize,
    /// Deliveries per batch.
    pub(crate) batch: usize,
    /// Unmeasured deliveries per target first, for the caches and the allocator (the
    /// idempotency store starts full, as `serve`'s does).
    pub(crate) warmup: usize,
    /// What the `bare-busy` target adds to each delivery.
    pub(crate) busy: Duration,
    /// Bytes of memory written between two deliveries, outside the timed part: 0 keeps
    /// the caches warm (every delivery runs right after the last); some MiB evict
    /// them, as a client, the kernel and other connections do in a loaded server.
    pub(crate) evict: usize,
}

/// Runs `args` on the current thread's runtime and prints one table.
pub(crate) async fn cpu(args: CpuArgs) -> Result<(), BoxError> {
    if args
        .targets
        .iter()
        .any(|target| matches!(target, Target::Redis | Target::Receiver))
    {
        return Err("the cpu run measures the bare and in-memory targets".into());
    }
    install_prometheus().map_err(|error| error.to_string())?;
    let signer = Signer::new(scheme::HopNow, SECRET)?;
    let mut apps = Vec::with_capacity(args.targets.len());
    for &target in &args.targets {
        let app = app(
            target,
            Handler::Parse,
            None,
            Duration::ZERO,
            args.busy,
            true,
        )
        .await
        .map_err(|error| error.to_string())?;
        // Routes turned into services once, as `axum::serve` does for each
        // connection, not on every request.
        apps.push(app.with_state(()));
    }
    for (index, (target, app)) in args.targets.iter().zip(&apps).enumerate() {
        let mut sent = 0;
        while sent < args.warmup {
            let batch = args.batch.min(args.warmup - sent);
            let tag = format!("w{index}-{sent}-");
            send_batch(app, &signer, &tag, batch, args.body, &mut []).await?;
            sent += batch;
        }
        eprintln!("warmed up {} with {sent} deliveries", target.name());
    }
    let mut evict = vec![0u8; args.evict];
    // times[target][round]: nanoseconds per delivery in that round's batch.
    let mut times = vec![Vec::with_capacity(args.rounds); args.targets.len()];
    for round in 0..args.rounds {
        for step in 0..apps.len() {
            let index = (round + step) % apps.len();
            let tag = format!("m{index}-{round}-");
            let elapsed = send_batch(
                &apps[index],
                &signer,
                &tag,
                args.batch,
                args.body,
                &mut evict,
            )
            .await?;
            times[index].push(elapsed.as_secs_f64() * 1e9 / args.batch as f64);
        }
    }
    let bare = args.targets.iter().position(|&t| t == Target::Bare);
    println!(
        "\n{} B bodies, {} rounds of {} deliveries per target after {} unmeasured, \
         {} KiB written between two deliveries; ns/delivery of the median batch, and the \
         median round-by-round ratio to bare\n",
        args.body,
        args.rounds,
        args.batch,
        args.warmup,
        args.evict / 1024
    );
    println!("| target | ns/delivery | quartiles | vs bare (time) | above bare (ns) |");
    println!("|---|---:|---:|---:|---:|");
    for (target, rounds) in args.targets.iter().zip(&times) {
        let (low, median, high) = quartiles(rounds.clone());
        let (ratio, above) = match bare {
            Some(bare) => {
                let ratios = rounds.iter().zip(&times[bare]).map(|(t, b)| t / b);
                let diffs = rounds.iter().zip(&times[bare]).map(|(t, b)| t - b);
                (
                    format!("{:.2}x", quartiles(ratios.collect()).1),
                    format!("{:.0}", quartiles(diffs.collect()).1),
                )
            }
            None => ("-".to_owned(), "-".to_owned()),
        };
        println!(
            "| {} | {median:.0} | {low:.0}-{high:.0} | {ratio} | {above} |",
            target.name()
        );
    }
    Ok(())
}

/// Sends `count` fresh deliveries through `app` one after another, each read to the
/// end of its response, writing all of `evict` before each; the time taken by the
/// deliveries alone.
async fn send_batch(
    app: &Router,
    signer: &Signer,
    tag: &str,
    count: usize,
    body: usize,
    evict: &mut [u8],
) -> Result<Duration, BoxError> {
    let peer = ConnectInfo(SocketAddr::from((Ipv4Addr::LOCALHOST, 40_000)));
    let mut requests = Vec::with_capacity(count);
    for i in 0..count {
        let mut request = signed_request(signer, &format!("evt_cpu{tag}{i}"), body)?;
        request.extensions_mut().insert(peer);
        requests.push(request);
    }
    let mut elapsed = Duration::ZERO;
    let mut start = Instant::now();
    for (i, request) in requests.into_iter().enumerate() {
        if !evict.is_empty() {
            // Every cache line, a different value each time, so it cannot be elided.
            for line in evict.chunks_mut(64) {
                line[0] = line[0].wrapping_add(i as u8 | 1);
            }
            std::hint::black_box(&mut *evict);
            start = Instant::now();
        }
        let response = app.clone().oneshot(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        if status != StatusCode::OK {
            return Err(format!("answered {status}: {}", String::from_utf8_lossy(&body)).into());
        }
        if !evict.is_empty() {
            elapsed += start.elapsed();
        }
    }
    Ok(if evict.is_empty() {
        start.elapsed()
    } else {
        elapsed
    })
}

/// The lower quartile, median and upper quartile of `values`.
fn quartiles(mut values: Vec<f64>) -> (f64, f64, f64) {
    values.sort_by(f64::total_cmp);
    let at = |q: usize| values[(values.len() - 1) * q / 4];
    (at(1), at(2), at(3))
}
