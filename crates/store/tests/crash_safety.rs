//! A killed app loses nothing it reported as saved: a child process autosaves in a
//! loop, printing "saved" after each commit, and is killed with SIGKILL mid-stream.
#![allow(clippy::unwrap_used)]
#![cfg(unix)]

mod common;

use cdht_core::ids::{AssessmentId, IndicatorId};
use cdht_core::Answer;
use cdht_store::Store;
use common::*;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};

/// Set only in the child: the data folder to write into.
const CHILD_DIR_ENV: &str = "CDHT_STORE_CRASH_CHILD_DIR";
const CHILD_ASSESSMENT_ENV: &str = "CDHT_STORE_CRASH_ASSESSMENT";
const CHILD_ROUND_ENV: &str = "CDHT_STORE_CRASH_ROUND";

fn points_for(i: i64) -> i64 {
    i % 11
}

/// The child's body: a no-op in a normal test run.
#[test]
fn crash_child_writer() {
    let Ok(dir) = std::env::var(CHILD_DIR_ENV) else {
        return;
    };
    let id: AssessmentId = std::env::var(CHILD_ASSESSMENT_ENV)
        .unwrap()
        .parse()
        .unwrap();
    let round = std::env::var(CHILD_ROUND_ENV).unwrap();
    let mut store = Store::open_with_key_file(&dir).unwrap();
    let mut stdout = std::io::stdout().lock();
    for i in 0_i64.. {
        let indicator = IndicatorId::new(format!("r{round}.{i}"));
        let saved = store
            .set_answer(id, &indicator, &Answer::Points(points_for(i)), None)
            .unwrap();
        // Reported only after the commit returned, as the UI's "saved" tick would be.
        writeln!(stdout, "saved {round} {i} {}", saved.revision).unwrap();
        stdout.flush().unwrap();
    }
}

#[test]
fn sigkill_loses_no_answer_reported_saved() {
    if std::env::var_os(CHILD_DIR_ENV).is_some() {
        return;
    }
    let (dir, store, assessment) = store_with_draft();
    drop(store);
    let id = assessment.assessment_id;

    let mut reported: Vec<(String, i64, i64)> = Vec::new();
    // Kill after different numbers of saves so the kill lands at different points.
    for (round, kill_after) in [(0, 150), (1, 233), (2, 401)] {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "crash_child_writer",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_DIR_ENV, dir.path())
            .env(CHILD_ASSESSMENT_ENV, id.to_string())
            .env(CHILD_ROUND_ENV, round.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut seen = 0;
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            let Some(rest) = line.strip_prefix("saved ") else {
                continue;
            };
            let fields: Vec<&str> = rest.split(' ').collect();
            reported.push((
                format!("r{}.{}", fields[0], fields[1]),
                fields[1].parse().unwrap(),
                fields[2].parse().unwrap(),
            ));
            seen += 1;
            if seen == kill_after {
                break;
            }
        }
        child.kill().unwrap(); // SIGKILL on Unix: no destructors, no flush
        let status = child.wait().unwrap();
        assert_eq!(
            status.signal(),
            Some(9),
            "child must die by SIGKILL, got {status}"
        );
        assert_eq!(seen, kill_after, "child stopped early");
    }

    let store = Store::open_with_key_file(dir.path()).unwrap();
    let detail = store.assessment_detail(id).unwrap();
    let last_revision = reported.last().unwrap().2;
    assert!(detail.assessment.revision >= last_revision);
    for (indicator, i, _) in &reported {
        assert_eq!(
            detail.answers.get(indicator),
            Some(&Answer::Points(points_for(*i))),
            "answer {indicator} was reported saved but is missing"
        );
    }
    assert_eq!(reported.len(), 150 + 233 + 401);
}
