#![allow(clippy::unwrap_used)]
//! `scripts/run.sh` as a new user runs it (headless, with the server built
//! by this test run): the poster's QR carries the address phones reach the
//! server at, the run warns when that is loopback, and a second run with
//! another address re-prints the poster.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn decode_qr(path: &Path) -> String {
    let img = image::open(path).unwrap().to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(img);
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code on the poster");
    grids[0].decode().unwrap().1
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs the script until the server is up; returns everything it printed.
fn run_until_serving(data: &Path, port: u16, public_url: Option<&str>) -> String {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut cmd = Command::new("bash");
    cmd.arg(repo.join("scripts/run.sh"))
        .env("CDHT_SERVER_BIN", env!("CARGO_BIN_EXE_cdht-server"))
        .env("CDHT_RUN_DATA", data)
        .env("CDHT_LISTEN", format!("127.0.0.1:{port}"))
        .env_remove("CDHT_PUBLIC_URL")
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if let Some(url) = public_url {
        cmd.env("CDHT_PUBLIC_URL", url);
    }
    let mut child = cmd.spawn().unwrap();
    let pid = child.id();
    let mut out = String::new();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(120) {
        let Some(line) = lines.next() else { break };
        let line = line.unwrap();
        out.push_str(&line);
        out.push('\n');
        if line.contains("the server keeps running") {
            break;
        }
    }
    // The script stops the server it started (its trap), as on Ctrl+C.
    Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    child.wait().unwrap();
    assert!(out.contains("the server keeps running"), "{out}");
    out
}

#[test]
fn the_poster_carries_the_public_url_and_loopback_is_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let poster = data.join("poster-DEMO-X1-C1.png");

    let port = free_port();
    let out = run_until_serving(&data, port, Some("http://192.0.2.10:8080"));
    let qr = decode_qr(&poster);
    assert!(
        qr.starts_with("http://192.0.2.10:8080/j/DEMO-X1-C1"),
        "{qr}\n{out}"
    );
    assert!(out.contains("from CDHT_PUBLIC_URL"), "{out}");
    assert!(!out.contains("WARNING"), "{out}");
    assert!(
        out.contains("http://192.0.2.10:8080/j/DEMO-X1-C1"),
        "units list: {out}"
    );
    assert!(
        out.contains("approves or returns"),
        "what each demo login does: {out}"
    );
    // The dashboard's address, and a demo login that is the real one.
    assert!(
        out.contains(&format!("http://127.0.0.1:{port}/dashboard/")),
        "{out}"
    );
    let demo: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(data.join("demo.json")).unwrap()).unwrap();
    let reviewer = demo["officers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["role"] == "reviewer")
        .unwrap();
    let login = format!(
        "log in as {} / {}",
        reviewer["username"].as_str().unwrap(),
        reviewer["password"].as_str().unwrap()
    );
    assert!(out.contains(&login), "{login}\n{out}");

    // The same data folder, run again on loopback only: the poster follows,
    // and the run says phones cannot reach it, and how to fix it.
    let port = free_port();
    let out = run_until_serving(&data, port, None);
    let qr = decode_qr(&poster);
    assert!(
        qr.starts_with(&format!("http://127.0.0.1:{port}/j/DEMO-X1-C1")),
        "{qr}"
    );
    assert!(
        out.contains("WARNING: only this computer can reach 127.0.0.1"),
        "{out}"
    );
    assert!(out.contains("CDHT_LISTEN=0.0.0.0"), "{out}");
}

/// A failed `init` (the demo tree is already there) keeps the stored address.
#[test]
fn a_failed_init_keeps_the_stored_public_url() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let cdht = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_cdht-server"))
            .args(args)
            .arg("--data")
            .arg(&data)
            .env_remove("CDHT_PUBLIC_URL")
            .output()
            .unwrap()
    };
    assert!(
        cdht(&["init", "--demo", "--public-url", "http://192.0.2.10:8080"])
            .status
            .success()
    );
    let again = cdht(&["init", "--demo", "--public-url", "http://198.51.100.7:8080"]);
    assert!(!again.status.success());
    let listed = cdht(&["units", "list"]);
    let units: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    let url = units[0]["qr_url"].as_str().unwrap();
    assert!(url.starts_with("http://192.0.2.10:8080/"), "{url}");
}
