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
//! With the feature `tls`, [`TestCertificates`] makes a certificate authority, a
//! server certificate and a client certificate at run time, and
//! [`RedisServerBuilder::tls`] starts a server that also listens for TLS with them
//! (`--tls-port`; Debian's `redis-server` is built with TLS), at
//! [`RedisServer::tls_url`]; [`RedisClusterBuilder::tls`] a cluster whose nodes talk
//! TLS to clients and to each other, at [`RedisCluster::tls_urls`].
//!
//! The small synchronous client ([`RedisServer::command`]) is enough to read
//! `INFO commandstats` or reset statistics; tests talk to the server through the
//! client library they test.

mod client;
mod cluster;
mod host;
mod server;
#[cfg(feature = "tls")]
mod tls;

pub use client::Reply;
pub use cluster::{RedisCluster, RedisClusterBuilder};
pub use server::{RedisServer, RedisServerBuilder};
#[cfg(feature = "tls")]
pub use tls::{ClientAuth, TestCertificates};
