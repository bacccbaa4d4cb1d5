//! Throwaway `redis-server` processes for tests: one server, or a small cluster.
//!
//! Each [`RedisServer`] runs `/usr/bin/redis-server` (override with the
//! `TEST_REDIS_SERVER` environment variable) on a free loopback port, in its own
//! temporary directory, with RDB snapshots off (`--save ""`). It is ready when it
//! answers `PING`, and it is killed and its directory removed when dropped. Tests can
//! kill it with `SIGKILL` and restart it on the same port and directory, to check how
//! a client behaves while Redis is gone and after it comes back; with
//! [`RedisServerBuilder::aof`] on, the data written before the kill survives the
//! restart (`appendfsync always`).
//!
//! [`RedisCluster::start`] starts several masters with `--cluster-enabled yes` and
//! joins them with `redis-cli --cluster create` (`/usr/bin/redis-cli`, override with
//! `TEST_REDIS_CLI`), then waits until every node reports `cluster_state:ok`.
//! [`RedisCluster::builder`] adds replicas and sets `cluster-node-timeout`, to kill a
//! master and wait for its replica to take over
//! ([`RedisCluster::wait_for_failover`]).
//!
//! ```
//! use test_redis::{RedisCluster, RedisServer};
//!
//! let mut server = RedisServer::builder().aof(true).start();
//! let url = server.url(); // "redis://127.0.0.1:<port>/"
//! server.command(&["SET", "greeting", "hello"]).unwrap();
//! server.kill();
//! server.restart();
//! assert_eq!(server.command(&["GET", "greeting"]).unwrap().as_text(), Some("hello".into()));
//! # drop(url);
//!
//! let cluster = RedisCluster::start(3);
//! assert_eq!(cluster.urls().len(), 3);
//! ```
//!
//! The small synchronous client ([`RedisServer::command`]) is enough to read
//! `INFO commandstats` or reset statistics; tests talk to the server through the
//! client library they test.

use std::fmt;
use std::io::{self, BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long a server may take to answer `PING` after it was started.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a cluster may take to report `cluster_state:ok` on every node.
const CLUSTER_TIMEOUT: Duration = Duration::from_secs(30);

fn server_binary() -> String {
    std::env::var("TEST_REDIS_SERVER").unwrap_or_else(|_| "/usr/bin/redis-server".to_owned())
}

fn cli_binary() -> String {
    std::env::var("TEST_REDIS_CLI").unwrap_or_else(|_| "/usr/bin/redis-cli".to_owned())
}

/// A reply from the server, as read by [`RedisServer::command`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `+OK` and other simple strings.
    Simple(String),
    /// `-ERR ...`: the server refused the command.
    Error(String),
    /// `:42`.
    Integer(i64),
    /// A bulk string; `None` is the nil reply.
    Bulk(Option<Vec<u8>>),
    /// An array of replies; `None` is the nil array.
    Array(Option<Vec<Reply>>),
}

impl Reply {
    /// The reply as text: a simple string, or a bulk string decoded as UTF-8 (lossily).
    /// `None` for other replies.
    pub fn as_text(&self) -> Option<String> {
        match self {
            Self::Simple(text) => Some(text.clone()),
            Self::Bulk(Some(bytes)) => Some(String::from_utf8_lossy(bytes).into_owned()),
            _ => None,
        }
    }
}

/// Builds a [`RedisServer`] with options.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct RedisServerBuilder {
    aof: bool,
    args: Vec<String>,
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

    fn start_with_bus(self, cluster_bus: bool) -> io::Result<RedisServer> {
        let dir = temp_dir()?;
        let mut last_error = None;
        for _attempt in 0..5 {
            let port = free_port(cluster_bus)?;
            let mut server = RedisServer {
                child: None,
                port,
                dir: dir.clone(),
                aof: self.aof,
                args: self.args.clone(),
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

/// A Redis Cluster, each node a [`RedisServer`], stopped when dropped: masters only
/// ([`RedisCluster::start`]), or masters with replicas that take over when their
/// master dies ([`RedisCluster::builder`]).
///
/// ```no_run
/// let cluster = test_redis::RedisCluster::start(3);
/// for url in cluster.urls() {
///     println!("node {url}");
/// }
/// ```
pub struct RedisCluster {
    nodes: Vec<RedisServer>,
    /// Each node's cluster id (`CLUSTER MYID`), by index.
    ids: Vec<String>,
    /// For a node formed as a replica, the index of its master at formation.
    replica_of: Vec<Option<usize>>,
}

/// Builds a [`RedisCluster`]: how many masters, replicas per master, and the
/// `cluster-node-timeout`.
///
/// ```no_run
/// use std::time::Duration;
///
/// let mut cluster = test_redis::RedisCluster::builder()
///     .masters(3)
///     .replicas(1)
///     .node_timeout(Duration::from_millis(1000))
///     .start();
/// let master = cluster.master_for_key("webhook:evt_1").unwrap();
/// cluster.wait_for_replication(Duration::from_secs(5)).unwrap();
/// cluster.nodes_mut()[master].kill();
/// let promoted = cluster.wait_for_failover(master, Duration::from_secs(30)).unwrap();
/// assert_eq!(cluster.master_for_key("webhook:evt_1").unwrap(), promoted);
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct RedisClusterBuilder {
    masters: usize,
    replicas: usize,
    node_timeout: Duration,
}

impl Default for RedisClusterBuilder {
    fn default() -> Self {
        Self {
            masters: 3,
            replicas: 0,
            node_timeout: Duration::from_millis(5000),
        }
    }
}

impl RedisClusterBuilder {
    /// How many masters share the slots (default 3, at least 3).
    pub fn masters(mut self, masters: usize) -> Self {
        self.masters = masters;
        self
    }

    /// How many replicas each master has (default 0).
    pub fn replicas(mut self, replicas: usize) -> Self {
        self.replicas = replicas;
        self
    }

    /// The `cluster-node-timeout` (default 5 s): how long a master may be unreachable
    /// before it is marked failed and a replica takes over.
    pub fn node_timeout(mut self, timeout: Duration) -> Self {
        self.node_timeout = timeout;
        self
    }

    /// Starts the nodes with `--cluster-enabled yes`, joins them with
    /// `redis-cli --cluster create ... --cluster-replicas <n> --cluster-yes`, and waits
    /// until every node reports `cluster_state:ok` and knows every other node, and
    /// every replica's link to its master is up.
    ///
    /// # Panics
    ///
    /// When a node cannot be started or the cluster does not form within 30 s.
    pub fn start(self) -> RedisCluster {
        self.try_start()
            .unwrap_or_else(|error| panic!("cannot start the cluster: {error}"))
    }

    /// Starts the cluster like [`start`](Self::start), returning the error instead of
    /// panicking.
    pub fn try_start(self) -> io::Result<RedisCluster> {
        if self.masters < 3 {
            return Err(io::Error::other(
                "redis-cli --cluster create needs at least 3 masters",
            ));
        }
        let total = self.masters * (1 + self.replicas);
        let timeout = self.node_timeout.as_millis().max(1).to_string();
        let mut nodes = Vec::with_capacity(total);
        for _ in 0..total {
            let node = RedisServer::builder()
                .arg("--cluster-enabled", "yes")
                .arg("--cluster-config-file", "nodes.conf")
                .arg("--cluster-node-timeout", timeout.as_str())
                .start_with_bus(true)?;
            nodes.push(node);
        }
        let addresses: Vec<String> = nodes
            .iter()
            .map(|node| format!("127.0.0.1:{}", node.port()))
            .collect();
        let output = Command::new(cli_binary())
            .args(["--cluster", "create"])
            .args(&addresses)
            .args(["--cluster-replicas", &self.replicas.to_string()])
            .arg("--cluster-yes")
            .stdin(Stdio::null())
            .output()?;
        if !output.status.success() {
            return Err(io::Error::other(format!(
                "redis-cli --cluster create failed: {}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            )));
        }
        let ids = nodes
            .iter()
            .map(|node| {
                node.command(&["CLUSTER", "MYID"])?
                    .as_text()
                    .ok_or_else(|| io::Error::other("CLUSTER MYID did not answer a string"))
            })
            .collect::<io::Result<Vec<_>>>()?;
        let mut cluster = RedisCluster {
            replica_of: vec![None; nodes.len()],
            nodes,
            ids,
        };
        cluster.wait_until_ok()?;
        let view = cluster.view(0)?;
        for (index, replica_of) in cluster.replica_of.iter_mut().enumerate() {
            *replica_of = view
                .iter()
                .find(|line| line.id == cluster.ids[index])
                .and_then(|line| line.master.as_deref())
                .and_then(|master| cluster.ids.iter().position(|id| id == master));
        }
        Ok(cluster)
    }
}

/// One line of `CLUSTER NODES`: a node as another node sees it.
struct NodeLine {
    id: String,
    port: u16,
    flags: Vec<String>,
    master: Option<String>,
    slots: Vec<(u16, u16)>,
}

impl NodeLine {
    fn parse(line: &str) -> Option<Self> {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 8 {
            return None;
        }
        let address = fields[1].split(['@', ',']).next()?;
        let port = address.rsplit_once(':')?.1.parse().ok()?;
        let slots = fields[8..]
            .iter()
            .filter(|range| !range.starts_with('['))
            .filter_map(|range| match range.split_once('-') {
                Some((low, high)) => Some((low.parse().ok()?, high.parse().ok()?)),
                None => range.parse().ok().map(|slot| (slot, slot)),
            })
            .collect();
        Some(Self {
            id: fields[0].to_owned(),
            port,
            flags: fields[2].split(',').map(str::to_owned).collect(),
            master: (fields[3] != "-").then(|| fields[3].to_owned()),
            slots,
        })
    }

    fn has_flag(&self, flag: &str) -> bool {
        self.flags.iter().any(|f| f == flag)
    }

    fn serves(&self, slot: u16) -> bool {
        self.slots
            .iter()
            .any(|&(low, high)| (low..=high).contains(&slot))
    }
}

impl RedisCluster {
    /// Starts `masters` nodes without replicas (`cluster-node-timeout` 5 s); see
    /// [`RedisClusterBuilder::start`].
    ///
    /// # Panics
    ///
    /// When a node cannot be started or the cluster does not form within 30 s.
    pub fn start(masters: usize) -> Self {
        Self::builder().masters(masters).start()
    }

    /// Starts the cluster like [`start`](Self::start), returning the error instead of
    /// panicking.
    pub fn try_start(masters: usize) -> io::Result<Self> {
        Self::builder().masters(masters).try_start()
    }

    /// Options: masters, replicas, node timeout.
    pub fn builder() -> RedisClusterBuilder {
        RedisClusterBuilder::default()
    }

    fn wait_until_ok(&self) -> io::Result<()> {
        let deadline = Instant::now() + CLUSTER_TIMEOUT;
        let known = format!("cluster_known_nodes:{}", self.nodes.len());
        loop {
            let ready = self.nodes.iter().all(|node| {
                let state_ok = node
                    .command(&["CLUSTER", "INFO"])
                    .ok()
                    .and_then(|reply| reply.as_text())
                    .is_some_and(|info| {
                        info.contains("cluster_state:ok")
                            && info.contains("cluster_slots_assigned:16384")
                            && info.contains(&known)
                    });
                state_ok
                    && node.info("replication").is_ok_and(|info| {
                        info.contains("role:master") || info.contains("master_link_status:up")
                    })
            });
            if ready {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the cluster did not reach cluster_state:ok",
                ));
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// `CLUSTER NODES` as node `index` sees the cluster.
    fn view(&self, index: usize) -> io::Result<Vec<NodeLine>> {
        let text = self.nodes[index]
            .command(&["CLUSTER", "NODES"])?
            .as_text()
            .ok_or_else(|| io::Error::other("CLUSTER NODES did not answer a string"))?;
        Ok(text.lines().filter_map(NodeLine::parse).collect())
    }

    fn running(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.nodes.len()).filter(|&index| {
            self.nodes[index]
                .command(&["PING"])
                .is_ok_and(|reply| reply == Reply::Simple("PONG".into()))
        })
    }

    /// The index (into [`nodes`](Self::nodes)) of the master serving `key`'s hash slot,
    /// as the first running node sees it.
    pub fn master_for_key(&self, key: &str) -> io::Result<usize> {
        let asked = self
            .running()
            .next()
            .ok_or_else(|| io::Error::other("no node is running"))?;
        let slot = match self.nodes[asked].command(&["CLUSTER", "KEYSLOT", key])? {
            Reply::Integer(slot) => u16::try_from(slot).map_err(io::Error::other)?,
            other => return Err(io::Error::other(format!("CLUSTER KEYSLOT: {other:?}"))),
        };
        let view = self.view(asked)?;
        let line = view
            .iter()
            .find(|line| line.has_flag("master") && !line.has_flag("fail") && line.serves(slot))
            .ok_or_else(|| io::Error::other(format!("no live master serves slot {slot}")))?;
        self.index_of_port(line.port)
    }

    fn index_of_port(&self, port: u16) -> io::Result<usize> {
        self.nodes
            .iter()
            .position(|node| node.port() == port)
            .ok_or_else(|| io::Error::other(format!("no node on port {port}")))
    }

    /// The indexes of the nodes formed as replicas of the master at `master`.
    pub fn replicas_of(&self, master: usize) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&index| self.replica_of[index] == Some(master))
            .collect()
    }

    /// Waits until every replica has received everything its master wrote (the
    /// master's `master_repl_offset` reached by each replica), so killing a master
    /// loses no acknowledged write. Masters that are not running are skipped.
    pub fn wait_for_replication(&self, timeout: Duration) -> io::Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            let mut synced = true;
            for index in self.running().collect::<Vec<_>>() {
                let info = self.nodes[index].info("replication")?;
                if !info.contains("role:master") {
                    continue;
                }
                let offset = info
                    .lines()
                    .find_map(|line| line.strip_prefix("master_repl_offset:"))
                    .and_then(|value| value.trim().parse::<u64>().ok());
                let replicas: Vec<u64> = info
                    .lines()
                    .filter(|line| line.starts_with("slave") && line.contains("offset="))
                    .filter_map(|line| {
                        line.split(',')
                            .find_map(|field| field.strip_prefix("offset="))?
                            .parse()
                            .ok()
                    })
                    .collect();
                let expected = self.replicas_of(index).len();
                if replicas.len() < expected || replicas.iter().any(|&o| Some(o) != offset) {
                    synced = false;
                }
            }
            if synced {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the replicas did not catch up with their masters",
                ));
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// After the master at `failed` was killed: waits until one of its replicas was
    /// promoted (it reports itself master, serving slots) and every running node
    /// sees it so and reports `cluster_state:ok`. Returns the promoted node's index.
    pub fn wait_for_failover(&self, failed: usize, timeout: Duration) -> io::Result<usize> {
        let deadline = Instant::now() + timeout;
        let candidates = self.replicas_of(failed);
        if candidates.is_empty() {
            return Err(io::Error::other("the node has no replica to promote"));
        }
        loop {
            let running: Vec<usize> = self.running().collect();
            let promoted = candidates.iter().copied().find(|&candidate| {
                running.contains(&candidate)
                    && running.iter().all(|&index| {
                        let state_ok = self.nodes[index]
                            .command(&["CLUSTER", "INFO"])
                            .ok()
                            .and_then(|reply| reply.as_text())
                            .is_some_and(|info| info.contains("cluster_state:ok"));
                        state_ok
                            && self.view(index).is_ok_and(|view| {
                                view.iter().any(|line| {
                                    line.id == self.ids[candidate]
                                        && line.has_flag("master")
                                        && !line.slots.is_empty()
                                })
                            })
                    })
            });
            if let Some(promoted) = promoted {
                return Ok(promoted);
            }
            if Instant::now() > deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "no replica took over the failed master",
                ));
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// The nodes' URLs, `redis://127.0.0.1:<port>/`, in start order.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(RedisServer::url).collect()
    }

    /// The nodes, to read their statistics or kill one.
    pub fn nodes(&self) -> &[RedisServer] {
        &self.nodes
    }

    /// The nodes, mutably.
    pub fn nodes_mut(&mut self) -> &mut [RedisServer] {
        &mut self.nodes
    }

    /// The sum over all nodes of [`RedisServer::command_calls`].
    pub fn command_calls(&self, command: &str) -> io::Result<u64> {
        let mut total = 0;
        for node in &self.nodes {
            total += node.command_calls(command)?;
        }
        Ok(total)
    }

    /// Resets the statistics on every node.
    pub fn reset_stats(&self) -> io::Result<()> {
        self.nodes.iter().try_for_each(RedisServer::reset_stats)
    }
}

impl fmt::Debug for RedisCluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisCluster")
            .field("nodes", &self.nodes)
            .finish()
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

fn calls_field(fields: &str) -> Option<u64> {
    fields
        .split(',')
        .find_map(|field| field.strip_prefix("calls=")?.parse().ok())
}

fn temp_dir() -> io::Result<PathBuf> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let dir = std::env::temp_dir().join(format!(
        "test-redis-{}-{}-{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// A port nobody listens on now; for a cluster node, `port + 10000` (the cluster bus)
/// must be free too.
fn free_port(cluster_bus: bool) -> io::Result<u16> {
    for _ in 0..100 {
        let listener = TcpListener::bind(("127.0.0.1", 0))?;
        let port = listener.local_addr()?.port();
        if !cluster_bus {
            return Ok(port);
        }
        if port <= 55_535 && TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok() {
            return Ok(port);
        }
    }
    Err(io::Error::other("no free port pair for a cluster node"))
}

fn command(port: u16, args: &[&str]) -> io::Result<Reply> {
    let stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut request = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        request.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        request.extend_from_slice(arg.as_bytes());
        request.extend_from_slice(b"\r\n");
    }
    (&stream).write_all(&request)?;
    let mut reader = BufReader::new(&stream);
    read_reply(&mut reader)
}

fn read_line(reader: &mut impl BufRead) -> io::Result<String> {
    let mut line = String::new();
    reader.read_line(&mut line)?;
    if !line.ends_with("\r\n") {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "truncated reply",
        ));
    }
    line.truncate(line.len() - 2);
    Ok(line)
}

fn read_reply(reader: &mut impl BufRead) -> io::Result<Reply> {
    let line = read_line(reader)?;
    let (kind, rest) = line.split_at(line.len().min(1));
    let number = || {
        rest.parse::<i64>()
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, format!("bad length {rest:?}")))
    };
    Ok(match kind {
        "+" => Reply::Simple(rest.to_owned()),
        "-" => Reply::Error(rest.to_owned()),
        ":" => Reply::Integer(number()?),
        "$" => match usize::try_from(number()?) {
            Err(_) => Reply::Bulk(None),
            Ok(len) => {
                let mut bytes = vec![0; len + 2];
                reader.read_exact(&mut bytes)?;
                bytes.truncate(len);
                Reply::Bulk(Some(bytes))
            }
        },
        "*" => match usize::try_from(number()?) {
            Err(_) => Reply::Array(None),
            Ok(len) => {
                let mut items = Vec::with_capacity(len);
                for _ in 0..len {
                    items.push(read_reply(reader)?);
                }
                Reply::Array(Some(items))
            }
        },
        _ => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("unexpected reply {line:?}"),
            ));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commandstats_lines_are_parsed() {
        let info = "# Commandstats\r\ncmdstat_evalsha:calls=12,usec=340,usec_per_call=28.33,rejected_calls=0,failed_calls=0\r\ncmdstat_get:calls=3,usec=1\r\n";
        assert_eq!(command_calls(info, "EVALSHA"), 12);
        assert_eq!(command_calls(info, "get"), 3);
        assert_eq!(command_calls(info, "set"), 0);
    }

    #[test]
    fn cluster_nodes_lines_are_parsed() {
        let line = "07c37dfeb235213a872192d90877d0cd55635b91 127.0.0.1:30004@40004,host \
                    slave e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 0 1426238317239 4 connected";
        let replica = NodeLine::parse(line).unwrap();
        assert_eq!(replica.port, 30004);
        assert!(replica.has_flag("slave"));
        assert_eq!(
            replica.master.as_deref(),
            Some("e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca")
        );
        assert!(replica.slots.is_empty());
        let line = "e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 127.0.0.1:30001@40001 \
                    myself,master - 0 0 1 connected 0-5460 6000 [5461->-abc]";
        let master = NodeLine::parse(line).unwrap();
        assert!(master.has_flag("myself") && master.has_flag("master"));
        assert_eq!(master.master, None);
        assert_eq!(master.slots, vec![(0, 5460), (6000, 6000)]);
        assert!(master.serves(0) && master.serves(5460) && master.serves(6000));
        assert!(!master.serves(5461));
        assert!(NodeLine::parse("garbage").is_none());
    }

    #[test]
    fn replies_are_read() {
        let mut input: &[u8] = b"*3\r\n+OK\r\n$5\r\nhello\r\n$-1\r\n";
        let reply = read_reply(&mut input).unwrap();
        assert_eq!(
            reply,
            Reply::Array(Some(vec![
                Reply::Simple("OK".into()),
                Reply::Bulk(Some(b"hello".to_vec())),
                Reply::Bulk(None),
            ]))
        );
        let mut input: &[u8] = b"-ERR unknown\r\n";
        assert_eq!(
            read_reply(&mut input).unwrap(),
            Reply::Error("ERR unknown".into())
        );
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
