//! Postgres for the tests: a schema of its own on the shared server, or a private
//! server that a test can stop and start.
#![allow(dead_code, unreachable_pub, missing_docs)]

pub mod wire;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

/// The shared server: `DATABASE_URL`, else the `test` database on 127.0.0.1:5432.
pub fn shared_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A schema of its own for one test, dropped with everything in it when the value is
/// dropped.
pub struct TestSchema {
    pub name: String,
    url: String,
}

impl TestSchema {
    pub fn new(test: &str) -> Self {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "t_{test}_{}_{}",
            std::process::id(),
            COUNT.fetch_add(1, Ordering::Relaxed)
        );
        Self {
            name,
            url: shared_url(),
        }
    }

    pub async fn pool(&self, connections: u32) -> PgPool {
        pool(&self.url, connections).await
    }
}

impl Drop for TestSchema {
    fn drop(&mut self) {
        let status = Command::new("psql")
            .args([&self.url, "-q", "-c"])
            .env("PGOPTIONS", "--client-min-messages=warning")
            .arg(format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", self.name))
            .status();
        assert!(status.is_ok_and(|s| s.success()), "cannot drop the schema");
    }
}

pub async fn pool(url: &str, connections: u32) -> PgPool {
    PgPoolOptions::new()
        .max_connections(connections)
        .acquire_timeout(Duration::from_secs(2))
        .connect(url)
        .await
        .expect("connect to Postgres")
}

/// A private server: `initdb` in a temporary directory and `pg_ctl`, run as the
/// `postgres` user (Postgres refuses to run as root), on a free port.
pub struct PgServer {
    dir: PathBuf,
    pub port: u16,
}

fn bin(name: &str) -> String {
    let found = std::fs::read_dir("/usr/lib/postgresql")
        .ok()
        .and_then(|versions| {
            let mut versions: Vec<_> = versions.flatten().map(|e| e.path()).collect();
            versions.sort();
            versions.pop()
        })
        .map(|v| v.join("bin").join(name));
    match found {
        Some(path) if path.exists() => path.display().to_string(),
        _ => name.to_owned(),
    }
}

fn as_postgres(args: &[&str]) -> Command {
    let mut command = Command::new("runuser");
    command.args(["-u", "postgres", "--"]).args(args);
    command
}

impl PgServer {
    pub fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = std::env::temp_dir().join(format!("webhook-pg-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let chown = Command::new("chown")
            .args(["postgres:postgres", dir.to_str().unwrap()])
            .status()
            .unwrap();
        assert!(chown.success());
        let data = dir.join("data");
        let initdb = as_postgres(&[&bin("initdb"), "-A", "trust", "-U", "postgres", "-D"])
            .arg(&data)
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(initdb.success(), "initdb failed");
        let server = Self { dir, port };
        server.resume();
        server
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops the server at once (`-m immediate`: no checkpoint, as a crash would).
    pub fn stop(&self) {
        let status = as_postgres(&[&bin("pg_ctl"), "stop", "-m", "immediate", "-w", "-D"])
            .arg(self.dir.join("data"))
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "pg_ctl stop failed");
    }

    /// Starts the server again on the same port and data.
    pub fn resume(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.display()
        );
        let status = as_postgres(&[&bin("pg_ctl"), "start", "-w", "-o", &options, "-l"])
            .arg(self.dir.join("log"))
            .arg("-D")
            .arg(self.dir.join("data"))
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "pg_ctl start failed");
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let _ = as_postgres(&[&bin("pg_ctl"), "stop", "-m", "immediate", "-D"])
            .arg(self.dir.join("data"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
