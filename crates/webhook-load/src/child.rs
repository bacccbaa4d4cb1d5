//! The server under test as a child process of its own (so its memory and CPU time
//! are measured alone), and the `redis-server` the `redis` target uses.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::server::Handler;
use crate::{BoxError, Target};

/// A server under test, in a child process that is killed on drop.
pub(crate) struct Server {
    child: Child,
    pub(crate) addr: SocketAddr,
}

impl Server {
    /// `hold`, `busy` and `steady_store`: see [`server::serve`](crate::server::serve).
    pub(crate) fn spawn(
        target: Target,
        handler: Handler,
        redis_url: Option<&str>,
        hold: Duration,
        busy: Duration,
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
            .arg("--busy-ns")
            .arg(busy.as_nanos().to_string())
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

    /// The reference receiver's binary (`cargo build --release --example receiver`) as
    /// a user starts it: no configuration but a free loopback port (`BIND`) and
    /// `RUST_LOG=warn`, so its defaults hold (in-memory state, the development secret,
    /// metrics and tracing on). Its output is read to its end, so that it never blocks
    /// on a full pipe, and dropped.
    pub(crate) fn receiver(binary: &Path) -> Result<Self, BoxError> {
        let mut child = Command::new(binary)
            .env_clear()
            .env("BIND", "127.0.0.1:0")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|error| {
                format!(
                    "cannot start the receiver `{}` (build it with `cargo build --release --example receiver`): {error}",
                    binary.display()
                )
            })?;
        let stdout = child.stdout.take().ok_or("no stdout from the receiver")?;
        let mut lines = BufReader::new(stdout).lines();
        let addr = loop {
            let line = lines
                .next()
                .ok_or("the receiver exited before it listened")??;
            if let Some(rest) = line.strip_prefix("listening on http://") {
                let addr = rest
                    .split_once('/')
                    .map_or(rest, |(addr, _)| addr)
                    .parse()?;
                break addr;
            }
        };
        std::thread::spawn(move || lines.for_each(drop));
        Ok(Self { child, addr })
    }

    /// CPU time the server process has used so far, all threads, user and system
    /// (`utime + stime` in `/proc/PID/stat`, in clock ticks of 10 ms: Linux reports
    /// them in `USER_HZ`, 100 on every architecture it supports today).
    pub(crate) fn cpu_time(&self) -> Result<Duration, BoxError> {
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
    pub(crate) fn memory(&self) -> Result<(u64, u64), BoxError> {
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
pub(crate) enum Redis {
    External(String),
    Owned(test_redis::RedisServer),
}

impl Redis {
    pub(crate) fn start() -> Self {
        match std::env::var("REDIS_URL") {
            Ok(url) => Self::External(url),
            Err(_) => Self::Owned(test_redis::RedisServer::start()),
        }
    }

    pub(crate) fn url(&self) -> String {
        match self {
            Self::External(url) => url.clone(),
            Self::Owned(server) => server.url(),
        }
    }
}
