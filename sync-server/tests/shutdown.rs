#![allow(clippy::unwrap_used)]
//! The real binary stopped the way systemd and `docker stop` stop it
//! (SIGTERM) leaves one database file: the write-ahead log emptied. And a
//! crowd does not make it start a thread per request; a serving server
//! empties its log from time to time.
#![cfg(target_os = "linux")]

mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

const PHONES: usize = 300;

/// The number of threads of a process (Linux).
fn threads_of(pid: u32) -> usize {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

fn wal_len(dir: &Path) -> u64 {
    std::fs::metadata(dir.join("cdht.sqlite3-wal")).map_or(0, |m| m.len())
}

#[tokio::test]
async fn a_crowd_stays_in_bounded_threads_and_sigterm_empties_the_wal() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let bin = env!("CARGO_BIN_EXE_cdht-server");
    let init = Command::new(bin)
        .args(["init", "--data", data, "--demo"])
        .output()
        .unwrap();
    assert!(init.status.success(), "{init:?}");
    let tree: serde_json::Value = serde_json::from_slice(&init.stdout).unwrap();
    let unit = &tree["units"][0];

    let mut server = Command::new(bin)
        .args(["serve", "--data", data, "--listen", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stderr.take().unwrap()).lines();
    let url = loop {
        let line = lines.next().unwrap().unwrap();
        if let Some(addr) = line.strip_prefix("cdht-server listening on ") {
            break addr.to_owned();
        }
    };
    // Keep reading the log, so the server never blocks on a full pipe.
    let log = std::thread::spawn(move || lines.map_while(Result::ok).collect::<Vec<_>>());

    // A crowd of enrolments at once fills the log.
    let http = reqwest::Client::new();
    let enrolments = (0..PHONES).map(|i| {
        http.post(format!("{url}/api/v1/enrol"))
            .json(&serde_json::json!({
                "unit": unit["code"],
                "join_key": unit["join_key"],
                "device_id": uuid::Uuid::now_v7(),
                "device_label": format!("phone {i}"),
            }))
            .send()
    });
    for response in futures_util::future::join_all(enrolments).await {
        assert_eq!(response.unwrap().status(), 200);
    }
    assert!(wal_len(dir.path()) > 0, "the writes went to the WAL");
    // The crowd did not start a thread per request: tokio's blocking pool is
    // bounded (with its default of 512 this crowd left 45 threads here, 22
    // with the bound on 2 cores); idle threads linger 10 s, so they count.
    let threads = threads_of(server.id());
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    assert!(
        threads <= cdht_server::BLOCKING_THREADS + cores + 8,
        "{threads} threads"
    );

    let kill = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = server.wait().unwrap();
    let log = log.join().unwrap();
    assert!(status.success(), "{status:?}: {log:#?}");
    assert_eq!(wal_len(dir.path()), 0, "{log:#?}");
    // And the data is all in the main file.
    let conn = rusqlite::Connection::open(dir.path().join("cdht.sqlite3")).unwrap();
    let devices: i64 = conn
        .query_row("SELECT COUNT(*) FROM devices", [], |r| r.get(0))
        .unwrap();
    assert_eq!(devices, PHONES as i64);
}

/// While serving, the log is emptied periodically (SQLite's own automatic
/// checkpoint never shrinks the file).
#[tokio::test]
async fn a_serving_server_empties_the_write_ahead_log_periodically() {
    let server = support::start_with(|c| {
        c.checkpoint_every = std::time::Duration::from_millis(200);
    })
    .await;
    let dir = server.state.config.data_dir.clone();
    let phone = server.device("DEMO-X1-C1").await;
    let (_, body) = support::person("Nguyễn Văn A", None);
    phone
        .push(&support::batch(1, vec![support::v1(body)]))
        .await
        .unwrap();
    let started = std::time::Instant::now();
    while wal_len(&dir) > 0 {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "the WAL was never emptied"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(server.stats().await.persons, 1);
}
