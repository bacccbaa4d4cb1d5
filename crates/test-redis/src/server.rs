//! One `redis-server` process: started, killed, restarted, asked for its statistics.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::client::{Reply, command};
use crate::host::{free_port, temp_dir};

/// How long a server may take to answer `PING` after it was started.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(10);

/// The `redis-server` to run: `TEST_REDIS_SERVER`, else `/usr/bin/redis-server`.
fn server_binary() -> String {
    std::env::var("TEST_REDIS_SERVER").unwrap_or_else(|_| "/usr/bin/redis-server".to_owned())
}

/// Builds a [`RedisServer`] with options.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct RedisServerBuilder {
    aof: bool,
    args: Vec<String>,
    /// The TLS options but the port; empty for a server without TLS.
    tls_args: Vec<String>,
}

impl RedisServerBuilder {
    /// Turns the append-only file on, with `appendfsync always`: every write is on disk
    /// before the server answers, so it survives [`RedisServer::kill`].
    pub fn aof(mut self, on: bool) -> Self {
        self.aof = on;
        self
    }

    /// Adds a `redis-server` option, such as `("--maxmemory", "10mb")`.
    pub fn arg(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.args.push(name.into());
        self.args.push(value.into());
        self
    }

    /// Also listens for TLS on a second free port ([`RedisServer::tls_url`]), with the
    /// server certificate of `certificates`, checking client certificates against its
    /// authority as `auth` says (feature `tls`). The plain port stays open for
    /// [`RedisServer::command`].
    #[cfg(feature = "tls")]
    pub fn tls(mut self, certificates: &crate::TestCertificates, auth: crate::ClientAuth) -> Self {
        let path = |path: std::path::PathBuf| path.to_string_lossy().into_owned();
        self.tls_args = vec![
            "--tls-cert-file".to_owned(),
            path(certificates.server_cert_file()),
            "--tls-key-file".to_owned(),
            path(certificates.server_key_file()),
            "--tls-ca-cert-file".to_owned(),
            path(certificates.ca_file()),
            "--tls-auth-clients".to_owned(),
            auth.as_arg().to_owned(),
        ];
        self
    }

    /// Starts the server on a free loopback port and waits until it answers `PING`.
    ///
    /// # Panics
    ///
    /// When the server cannot be started (binary missing, no free port after several
    /// attempts); the message includes the end of the server's log.
    pub fn start(self) -> RedisServer {
        self.try_start()
            .unwrap_or_else(|error| panic!("cannot start redis-server: {error}"))
    }

    /// Starts the server like [`start`](Self::start), returning the error instead of
    /// panicking.
    pub fn try_start(self) -> io::Result<RedisServer> {
        self.start_with_bus(false)
    }

    pub(crate) fn start_with_bus(self, cluster_bus: bool) -> io::Result<RedisServer> {
        let dir = temp_dir()?;
        let mut last_error = None;
        for _attempt in 0..5 {
            // A TLS cluster's bus is the TLS port + 10000 (`--tls-cluster yes`).
            let tls = !self.tls_args.is_empty();
            let port = free_port(cluster_bus && !tls)?;
            let tls_port = tls.then(|| free_port(cluster_bus)).transpose()?;
            let mut args = self.args.clone();
            if let Some(tls_port) = tls_port {
                args.extend(["--tls-port".to_owned(), tls_port.to_string()]);
                args.extend(self.tls_args.iter().cloned());
            }
            let mut server = RedisServer {
                child: None,
                port,
                tls_port,
                dir: dir.clone(),
                aof: self.aof,
                args,
            };
            match server.spawn() {
                Ok(()) => return Ok(server),
                Err(error) => {
                    // Another process may have taken the port: try another one.
                    server.dir = PathBuf::new(); // keep the directory for the next attempt
                    last_error = Some(error);
                }
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
        Err(last_error.unwrap_or_else(|| io::Error::other("no attempt made")))
    }
}

/// A `redis-server` process on a loopback port, killed when dropped.
///
/// ```no_run
/// let server = test_redis::RedisServer::start();
/// let reply = server.command(&["PING"]).unwrap();
/// assert_eq!(reply.as_text().as_deref(), Some("PONG"));
/// println!("connect to {}", server.url());
/// ```
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    tls_port: Option<u16>,
    dir: PathBuf,
    aof: bool,
    args: Vec<String>,
}

impl RedisServer {
    /// Starts a server with default options (no persistence).
    ///
    /// # Panics
    ///
    /// When the server cannot be started; see [`RedisServerBuilder::start`].
    pub fn start() -> Self {
        Self::builder().start()
    }

    /// Options for a server: persistence, extra arguments.
    pub fn builder() -> RedisServerBuilder {
        RedisServerBuilder::default()
    }

    /// The URL to connect to: `redis://127.0.0.1:<port>/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// The loopback port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL to connect to over TLS, `rediss://127.0.0.1:<tls port>/`, when the
    /// server was started with [`RedisServerBuilder::tls`] (feature `tls`).
    #[cfg(feature = "tls")]
    pub fn tls_url(&self) -> Option<String> {
        self.tls_port
            .map(|port| format!("rediss://127.0.0.1:{port}/"))
    }

    /// The port whose + 10000 is the cluster bus, and which cluster members announce:
    /// the TLS port of a server started with TLS.
    pub(crate) fn bus_base_port(&self) -> u16 {
        self.tls_port.unwrap_or(self.port)
    }

    /// The server's own directory (working directory, AOF, cluster config, log).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether the process is running (not killed, not exited).
    pub fn is_running(&mut self) -> bool {
        match &mut self.child {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Kills the server with `SIGKILL` (no shutdown, no final save) and waits for the
    /// process to exit. Does nothing if it is not running.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and directory, after a
    /// [`kill`](Self::kill) (or kills it first), and waits until it answers `PING`.
    /// With AOF on, it reloads the data written before the kill.
    ///
    /// # Panics
    ///
    /// When the server cannot be started again (the port was taken meanwhile).
    pub fn restart(&mut self) {
        self.kill();
        if let Err(error) = self.spawn() {
            panic!("cannot restart redis-server on port {}: {error}", self.port);
        }
    }

    /// Sends one command and reads its reply, on a new connection.
    ///
    /// ```no_run
    /// let server = test_redis::RedisServer::start();
    /// server.command(&["CONFIG", "RESETSTAT"]).unwrap();
    /// ```
    pub fn command(&self, args: &[&str]) -> io::Result<Reply> {
        command(self.port, args)
    }

    /// The text of `INFO <section>`.
    pub fn info(&self, section: &str) -> io::Result<String> {
        self.command(&["INFO", section])?
            .as_text()
            .ok_or_else(|| io::Error::other("INFO did not answer a bulk string"))
    }

    /// How many times the server ran `command` since it started or since the last
    /// `CONFIG RESETSTAT`, from `INFO commandstats` (`0` if never). The count
    /// includes calls made by Lua scripts.
    pub fn command_calls(&self, command: &str) -> io::Result<u64> {
        let info = self.info("commandstats")?;
        Ok(command_calls(&info, command))
    }

    /// Every command's call count from `INFO commandstats`, sorted by name.
    pub fn command_stats(&self) -> io::Result<Vec<(String, u64)>> {
        let info = self.info("commandstats")?;
        let mut stats: Vec<(String, u64)> = info
            .lines()
            .filter_map(|line| {
                let rest = line.strip_prefix("cmdstat_")?;
                let (name, fields) = rest.split_once(':')?;
                Some((name.to_owned(), calls_field(fields)?))
            })
            .collect();
        stats.sort();
        Ok(stats)
    }

    /// Resets the statistics (`CONFIG RESETSTAT`).
    pub fn reset_stats(&self) -> io::Result<()> {
        match self.command(&["CONFIG", "RESETSTAT"])? {
            Reply::Simple(_) => Ok(()),
            other => Err(io::Error::other(format!(
                "CONFIG RESETSTAT answered {other:?}"
            ))),
        }
    }

    fn spawn(&mut self) -> io::Result<()> {
        let port = self.port.to_string();
        let mut command = Command::new(server_binary());
        command
            .current_dir(&self.dir)
            .args(["--port", &port, "--bind", "127.0.0.1", "--daemonize", "no"])
            .args(["--save", "", "--logfile", "redis.log"])
            .arg("--dir")
            .arg(&self.dir)
            .args(["--appendonly", if self.aof { "yes" } else { "no" }])
            .args(["--appendfsync", "always"])
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = command.spawn()?;
        self.child = Some(child);
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            if !self.is_running() {
                self.child = None;
                return Err(io::Error::other(format!(
                    "redis-server exited at startup on port {}; log:\n{}",
                    self.port,
                    self.log_tail()
                )));
            }
            if let Ok(Reply::Simple(pong)) = self.command(&["PING"]) {
                if pong == "PONG" {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                self.kill();
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "redis-server did not answer PING; log:\n{}",
                        self.log_tail()
                    ),
                ));
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("redis.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl fmt::Debug for RedisServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisServer")
            .field("port", &self.port)
            .field("dir", &self.dir)
            .field("aof", &self.aof)
            .field("tls_port", &self.tls_port)
            .field("running", &self.child.is_some())
            .finish()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        if !self.dir.as_os_str().is_empty() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Reads `calls=N` for `command` from the text of `INFO commandstats`.
fn command_calls(info: &str, command: &str) -> u64 {
    let prefix = format!("cmdstat_{}:", command.to_ascii_lowercase());
    info.lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .and_then(calls_field)
        .unwrap_or(0)
}

/// The `calls=N` field of one `cmdstat_` line.
fn calls_field(fields: &str) -> Option<u64> {
    fields
        .split(',')
        .find_map(|field| field.strip_prefix("calls=")?.parse().ok())
}

#[cfg(test)]
mod tests {
    use std::net::TcpStream;

    use super::*;

    #[test]
    fn commandstats_lines_are_parsed() {
        let info = "# Commandstats\r\ncmdstat_evalsha:calls=12,usec=340,usec_per_call=28.33,rejected_calls=0,failed_calls=0\r\ncmdstat_get:calls=3,usec=1\r\n";
        assert_eq!(command_calls(info, "EVALSHA"), 12);
        assert_eq!(command_calls(info, "get"), 3);
        assert_eq!(command_calls(info, "set"), 0);
    }

    #[test]
    fn a_server_starts_answers_survives_a_kill_with_aof_and_is_gone_after_drop() {
        let mut server = RedisServer::builder().aof(true).start();
        let port = server.port();
        assert_eq!(server.url(), format!("redis://127.0.0.1:{port}/"));
        assert_eq!(
            server.command(&["SET", "k", "v"]).unwrap(),
            Reply::Simple("OK".into())
        );
        server.kill();
        assert!(!server.is_running());
        assert!(server.command(&["PING"]).is_err());
        server.restart();
        assert_eq!(server.port(), port);
        assert_eq!(
            server.command(&["GET", "k"]).unwrap().as_text().as_deref(),
            Some("v")
        );
        assert!(server.command_calls("get").unwrap() >= 1);
        server.reset_stats().unwrap();
        assert_eq!(server.command_calls("get").unwrap(), 0);
        let dir = server.dir().to_owned();
        drop(server);
        assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
        assert!(!dir.exists());
    }

    #[test]
    fn without_aof_a_restart_starts_empty() {
        let mut server = RedisServer::start();
        server.command(&["SET", "k", "v"]).unwrap();
        server.restart();
        assert_eq!(server.command(&["GET", "k"]).unwrap(), Reply::Bulk(None));
    }
}
