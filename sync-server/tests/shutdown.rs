#![allow(clippy::unwrap_used)]
//! The real binary stopped the way systemd and `docker stop` stop it
//! (SIGTERM) leaves one database file: the write-ahead log emptied.
#![cfg(unix)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

fn wal_len(dir: &Path) -> u64 {
    std::fs::metadata(dir.join("cdht.sqlite3-wal")).map_or(0, |m| m.len())
}

#[tokio::test]
async fn sigterm_checkpoints_the_write_ahead_log() {
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

    // A few writes through the API fill the log.
    let http = reqwest::Client::new();
    for i in 0..20 {
        let response = http
            .post(format!("{url}/api/v1/enrol"))
            .json(&serde_json::json!({
                "unit": unit["code"],
                "join_key": unit["join_key"],
                "device_id": uuid::Uuid::now_v7(),
                "device_label": format!("phone {i}"),
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    assert!(wal_len(dir.path()) > 0, "the writes went to the WAL");

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
    assert_eq!(devices, 20);
}
