//! A private PostgreSQL cluster for the PostgreSQL backend's tests, and a
//! fresh database in it for each test.
//!
//! `scripts/test.sh` starts one cluster before `cargo test` and exports its
//! URL as `CDHT_TEST_PG_URL`; every test process then uses it. Without that
//! variable (a plain `cargo test -p …`), the first test of the process starts
//! a cluster of its own through `scripts/pg-cluster.sh run`, which stops it
//! and removes its folder when this process closes the script's standard
//! input, that is when the process ends, however it ends (Rust never drops
//! statics, so nothing else would stop it). PostgreSQL itself must be
//! installed: a missing one fails the test ("run scripts/setup.sh"), never
//! skips it.

use std::hash::{BuildHasher, Hasher};
use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};

/// The variable naming a running cluster's URL (its `postgres` database).
pub const URL_VAR: &str = "CDHT_TEST_PG_URL";

/// The cluster this process started, kept so that its script's standard
/// input stays open until the process ends.
struct OwnCluster {
    url: String,
    _child: Mutex<Child>,
    _stdin: Mutex<ChildStdin>,
}

static OWN: OnceLock<OwnCluster> = OnceLock::new();

/// The URL of the cluster's `postgres` database: `CDHT_TEST_PG_URL`, or a
/// cluster started for this process.
pub fn cluster_url() -> String {
    if let Ok(url) = std::env::var(URL_VAR) {
        if !url.is_empty() {
            return url;
        }
    }
    OWN.get_or_init(start_cluster).url.clone()
}

/// A new, empty database in the cluster, and its URL. Each test gets its
/// own, so tests run in parallel without seeing each other's rows; the
/// databases go with the cluster.
pub fn fresh_database() -> String {
    let admin = cluster_url();
    let name = format!("t_{:016x}", random());
    // On a thread of its own: the sync client runs a runtime of its own,
    // which may not start on a thread of a tokio test.
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut client = postgres::Client::connect(&admin, postgres::NoTls)
                .unwrap_or_else(|e| panic!("connecting to the test cluster at {admin}: {e}"));
            client
                .batch_execute(&format!("CREATE DATABASE {name}"))
                .unwrap_or_else(|e| panic!("creating database {name}: {e}"));
        })
        .join()
        .unwrap();
    });
    database_url(&admin, &name)
}

/// `url` with its database name replaced by `name`.
fn database_url(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    // postgres://user@host:port/db: the database is after the third '/'.
    let host_end = base
        .match_indices('/')
        .nth(2)
        .map_or(base.len(), |(i, _)| i);
    let mut out = format!("{}/{name}", &base[..host_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

fn random() -> u64 {
    // RandomState is seeded from the OS per process and per instance: enough
    // to keep the names of concurrent tests apart.
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}

/// A cluster of its own that also speaks TLS with the certificate and key
/// of these PEM files; stopped and removed when dropped.
pub struct TlsCluster {
    /// Its `postgres` database, without TLS settings.
    pub url: String,
    child: Child,
    stdin: Option<ChildStdin>,
}

impl Drop for TlsCluster {
    fn drop(&mut self) {
        // Closing the script's standard input stops the cluster.
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

#[must_use]
pub fn start_tls_cluster(cert: &std::path::Path, key: &std::path::Path) -> TlsCluster {
    let (url, mut child) = run_cluster(&[("CDHT_PG_TLS_CERT", cert), ("CDHT_PG_TLS_KEY", key)]);
    let stdin = child.stdin.take();
    TlsCluster { url, child, stdin }
}

fn start_cluster() -> OwnCluster {
    let (url, mut child) = run_cluster(&[]);
    let stdin = child.stdin.take().unwrap();
    OwnCluster {
        url,
        _child: Mutex::new(child),
        _stdin: Mutex::new(stdin),
    }
}

/// `pg-cluster.sh run` in a folder of its own, with `env`: its URL, and the
/// script, whose standard input keeps the cluster up.
fn run_cluster(env: &[(&str, &std::path::Path)]) -> (String, Child) {
    let bin = std::env::var("CDHT_PG_BIN").unwrap_or_else(|_| "/usr/lib/postgresql/15/bin".into());
    if !std::path::Path::new(&bin).join("initdb").exists() {
        panic!("PostgreSQL 15 is not installed ({bin}/initdb is missing): run scripts/setup.sh");
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/pg-cluster.sh");
    // Under /tmp, never under /root: the `postgres` user the cluster runs as
    // must be able to enter it.
    let dir = std::env::temp_dir().join(format!(
        "cdht-pg-{}-{:08x}",
        std::process::id(),
        random() as u32
    ));
    let mut child = Command::new("bash")
        .arg(script)
        .arg("run")
        .arg(&dir)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("running {script}: {e}"));
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().to_owned();
    if !url.starts_with("postgres://") {
        let status = child.wait().ok();
        panic!("the test cluster did not start ({status:?}; see its messages above); run scripts/setup.sh if PostgreSQL is missing");
    }
    (url, child)
}

#[cfg(test)]
mod tests {
    use super::{database_url, fresh_database};

    #[test]
    fn each_database_is_fresh_and_reachable() {
        let a = fresh_database();
        let b = fresh_database();
        assert_ne!(a, b);
        for url in [a, b] {
            let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
            let n: i64 = c
                .query_one(
                    "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'",
                    &[],
                )
                .unwrap()
                .get(0);
            assert_eq!(n, 0);
        }
    }

    #[test]
    fn database_url_replaces_the_name() {
        assert_eq!(
            database_url("postgres://postgres@127.0.0.1:5000/postgres", "t_1"),
            "postgres://postgres@127.0.0.1:5000/t_1"
        );
        assert_eq!(
            database_url("postgres://u@h:1/postgres?sslmode=disable", "t_2"),
            "postgres://u@h:1/t_2?sslmode=disable"
        );
        assert_eq!(
            database_url("postgres://u@h:1", "t_3"),
            "postgres://u@h:1/t_3"
        );
    }
}
