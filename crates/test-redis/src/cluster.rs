//! A Redis Cluster of [`RedisServer`] nodes: formed with `redis-cli --cluster create`,
//! watched through `CLUSTER INFO` and `CLUSTER NODES`.

use std::fmt;
use std::io;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::client::Reply;
use crate::server::{RedisServer, RedisServerBuilder};

/// How long a cluster may take to report `cluster_state:ok` on every node.
const CLUSTER_TIMEOUT: Duration = Duration::from_secs(30);

/// The `redis-cli` to run: `TEST_REDIS_CLI`, else `/usr/bin/redis-cli`.
fn cli_binary() -> String {
    std::env::var("TEST_REDIS_CLI").unwrap_or_else(|_| "/usr/bin/redis-cli".to_owned())
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
    /// Each node's options before the cluster ones.
    node: RedisServerBuilder,
    /// `redis-cli` options to reach the nodes (TLS); the nodes are then addressed by
    /// their TLS ports.
    cli_args: Vec<String>,
}

impl Default for RedisClusterBuilder {
    fn default() -> Self {
        Self {
            masters: 3,
            replicas: 0,
            node_timeout: Duration::from_millis(5000),
            node: RedisServerBuilder::default(),
            cli_args: Vec::new(),
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

    /// Nodes that talk TLS to clients and to each other (`--tls-cluster yes`,
    /// `--tls-replication yes`) with `certificates`, as
    /// [`RedisServerBuilder::tls`] (feature `tls`); clients reach them at
    /// [`RedisCluster::tls_urls`].
    #[cfg(feature = "tls")]
    pub fn tls(mut self, certificates: &crate::TestCertificates) -> Self {
        self.node = self
            .node
            .tls(certificates, crate::ClientAuth::Optional)
            .arg("--tls-cluster", "yes")
            .arg("--tls-replication", "yes");
        let path = |path: std::path::PathBuf| path.to_string_lossy().into_owned();
        self.cli_args = vec![
            "--tls".to_owned(),
            "--cacert".to_owned(),
            path(certificates.ca_file()),
            "--cert".to_owned(),
            path(certificates.client_cert_file()),
            "--key".to_owned(),
            path(certificates.client_key_file()),
        ];
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
            let node = self
                .node
                .clone()
                .arg("--cluster-enabled", "yes")
                .arg("--cluster-config-file", "nodes.conf")
                .arg("--cluster-node-timeout", timeout.as_str())
                .start_with_bus(true)?;
            nodes.push(node);
        }
        let addresses: Vec<String> = nodes
            .iter()
            .map(|node| format!("127.0.0.1:{}", node.bus_base_port()))
            .collect();
        let output = Command::new(cli_binary())
            .args(&self.cli_args)
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

    /// The nodes' TLS URLs, `rediss://127.0.0.1:<tls port>/`, in start order, for a
    /// cluster started with [`RedisClusterBuilder::tls`] (feature `tls`); empty
    /// otherwise.
    #[cfg(feature = "tls")]
    pub fn tls_urls(&self) -> Vec<String> {
        self.nodes.iter().filter_map(RedisServer::tls_url).collect()
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
