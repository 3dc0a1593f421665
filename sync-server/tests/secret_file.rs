#![allow(clippy::unwrap_used)]
//! The CCCD hash's secret shared by a deployment's instances (issue 15,
//! item 4): `serve --secret-file` reads it (never makes it: instances that
//! each made their own would hash the same CCCD differently), and a secret
//! other than the one the database's hashes were made with stops the
//! server at once with the reason.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_cdht-server");

/// Starts `serve` with `args`; `Ok` once it listens (then stops it), `Err`
/// with what it printed when it exits first.
fn serve(data: &Path, args: &[&str]) -> Result<(), String> {
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .args(args)
        .env_remove("CDHT_SECRET_FILE")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut said = String::new();
    for line in BufReader::new(child.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        if line.starts_with("cdht-server listening on ") {
            child.kill().unwrap();
            child.wait().unwrap();
            return Ok(());
        }
        said.push_str(&line);
        said.push('\n');
    }
    assert!(!child.wait().unwrap().success());
    Err(said)
}

#[test]
fn instances_share_one_secret_file_and_a_wrong_one_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let secret = root.path().join("cccd.secret");

    // A secret file that does not exist is not made: the message says how.
    let fresh = root.path().join("fresh");
    let err = serve(&fresh, &["--secret-file", secret.to_str().unwrap()]).unwrap_err();
    assert!(err.contains("--secret-file"), "{err}");
    assert!(err.contains("openssl rand -hex 32"), "{err}");

    // Made once for the deployment: the server runs, and keeps no secret
    // of its own in the data folder.
    std::fs::write(&secret, format!("{}\n", "ab".repeat(32))).unwrap();
    serve(&fresh, &["--secret-file", secret.to_str().unwrap()]).unwrap();
    assert!(!fresh.join("secret.key").exists());
    // A second instance on the same database with the same file runs too.
    serve(&fresh, &["--secret-file", secret.to_str().unwrap()]).unwrap();

    // Another secret for that database is refused at once, with the reason.
    let other = root.path().join("other.secret");
    std::fs::write(&other, "cd".repeat(32)).unwrap();
    let err = serve(&fresh, &["--secret-file", other.to_str().unwrap()]).unwrap_err();
    assert!(err.contains("not the one the database"), "{err}");
    // And so is the data folder's own secret.key (made when none is given).
    let err = serve(&fresh, &[]).unwrap_err();
    assert!(err.contains("not the one the database"), "{err}");

    // A single-machine server moving to a shared secret file: its own
    // secret.key, copied, is the file; and CDHT_SECRET_FILE works for the
    // operator's other commands.
    let single = root.path().join("single");
    let init = Command::new(BIN)
        .args(["init", "--demo", "--data"])
        .arg(&single)
        .env_remove("CDHT_SECRET_FILE")
        .output()
        .unwrap();
    assert!(init.status.success(), "{init:?}");
    let copied = root.path().join("copied.secret");
    std::fs::copy(single.join("secret.key"), &copied).unwrap();
    serve(&single, &["--secret-file", copied.to_str().unwrap()]).unwrap();
    let add = Command::new(BIN)
        .args(["officer", "add", "--data"])
        .arg(&single)
        .args(["--username", "canbo-moi", "--role", "viewer:DEMO-T"])
        .env("CDHT_SECRET_FILE", &other)
        .output()
        .unwrap();
    assert!(
        !add.status.success(),
        "the wrong secret was refused: {add:?}"
    );
    let add = Command::new(BIN)
        .args(["officer", "add", "--data"])
        .arg(&single)
        .args(["--username", "canbo-moi", "--role", "viewer:DEMO-T"])
        .env("CDHT_SECRET_FILE", &copied)
        .output()
        .unwrap();
    assert!(add.status.success(), "{add:?}");
}
