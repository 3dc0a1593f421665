//! Issue 14, item 5: a crowd scanning one poster. Phones arrive at a steady
//! rate; each enrols by the unit's QR, pushes its profile and a submitted
//! assessment, then pulls, against the real server on 127.0.0.1 (in this
//! process, sharing its runtime with the phones). First the meeting of the issue
//! (300 phones within 60 s), then faster and faster arrivals to find the
//! knee: the highest rate at which every request kind's p99 stays within a
//! second. No client retries, so every error answer counts.
//!
//! ```sh
//! cargo run --release -p cdht-server --example crowd_bench           # meeting + knee
//! cargo run --release -p cdht-server --example crowd_bench -- 100    # fewest phones per knee step
//! ```
//!
//! Each knee step sends its rate for 5 s at least (and the number given at
//! least, 200 by default).
//!
//! CPU and RSS are this process's: the server's and the phones' together
//! (the phones' share is their JSON and HTTP, small next to the server's).
#![allow(clippy::unwrap_used, clippy::cast_precision_loss)]

use cdht_core::ids::{AssessmentId, DeviceId};
use cdht_core::qr::JoinPayload;
use cdht_core::sync::{AckOutcome, DeviceState};
use cdht_sync_client::{RetryPolicy, SyncClient};
use cdht_test_support::records::{assessment, batch, person, v1};
use cdht_test_support::server::start;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const PASSING: [i64; 10] = [8, 8, 8, 8, 8, 8, 8, 8, 8, 8];
const KINDS: [&str; 3] = ["enrol", "push", "pull"];

fn no_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 1,
        base: Duration::from_millis(1),
        cap: Duration::from_millis(1),
    }
}

#[derive(Default)]
struct Seen {
    times: BTreeMap<&'static str, Vec<Duration>>,
    errors: Vec<String>,
}

struct Stage {
    rate: f64,
    phones: usize,
    wall: Duration,
    seen: Seen,
    cpu: f64,
    rss_mb: f64,
}

/// This process's CPU time so far (user + system), from /proc.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command's closing parenthesis; utime and stime are
    // the 12th and 13th of them, in clock ticks (USER_HZ, 100 on Linux).
    let rest = stat.rsplit_once(") ").map_or("", |(_, r)| r);
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    (f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0)) as f64 / 100.0
}

/// This process's resident memory now, in MB.
fn rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

async fn phone(url: String, qr: JoinPayload, i: usize, seen: Arc<Mutex<Seen>>) {
    let record = |kind: &'static str, t: Instant| {
        seen.lock()
            .unwrap()
            .times
            .entry(kind)
            .or_default()
            .push(t.elapsed());
    };
    let fail = |e: String| seen.lock().unwrap().errors.push(e);
    let mut client = SyncClient::new(&url, &[]).unwrap().with_retry(no_retry());
    let t = Instant::now();
    if let Err(e) = client
        .enrol(&qr, DeviceId::new_v7(), Some(&format!("phone {i}")))
        .await
    {
        return fail(format!("enrol {i}: {e}"));
    }
    record("enrol", t);
    let (person_id, person_body) = person(&format!("Người {i}"), None);
    let body = batch(
        1,
        vec![
            v1(person_body),
            v1(assessment(
                AssessmentId::new_v7(),
                person_id,
                DeviceState::Submitted,
                PASSING,
            )),
        ],
    );
    let t = Instant::now();
    match client.push(&body).await {
        Ok(r) if r.acks.iter().all(|a| a.outcome == AckOutcome::Accepted) => record("push", t),
        Ok(r) => return fail(format!("push {i}: {:?}", r.acks)),
        Err(e) => return fail(format!("push {i}: {e}")),
    }
    let t = Instant::now();
    match client.pull_all(0).await {
        Ok(_) => record("pull", t),
        Err(e) => fail(format!("pull {i}: {e}")),
    }
}

async fn stage(url: &str, qr: &JoinPayload, rate: f64, phones: usize, first: usize) -> Stage {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let cpu = cpu_seconds();
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(phones);
    for i in 0..phones {
        let at = start + Duration::from_secs_f64(i as f64 / rate);
        tokio::time::sleep_until(at.into()).await;
        tasks.push(tokio::spawn(phone(
            url.to_owned(),
            qr.clone(),
            first + i,
            Arc::clone(&seen),
        )));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let wall = start.elapsed();
    let cpu = cpu_seconds() - cpu;
    let seen = std::mem::take(&mut *seen.lock().unwrap());
    Stage {
        rate,
        phones,
        wall,
        seen,
        cpu: cpu / wall.as_secs_f64() * 100.0,
        rss_mb: rss_mb(),
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.0}", d.as_secs_f64() * 1000.0)
}

/// The worst p99 of the three kinds.
fn worst_p99(s: &Stage) -> Duration {
    KINDS
        .iter()
        .map(|k| {
            let mut t = s.seen.times.get(k).cloned().unwrap_or_default();
            t.sort();
            percentile(&t, 0.99)
        })
        .max()
        .unwrap_or_default()
}

fn print_row(s: &Stage) {
    let mut cells = Vec::new();
    for k in KINDS {
        let mut t = s.seen.times.get(k).cloned().unwrap_or_default();
        t.sort();
        cells.push(format!(
            "{} / {}",
            ms(percentile(&t, 0.5)),
            ms(percentile(&t, 0.99))
        ));
    }
    println!(
        "| {:.0} | {} | {:.1} s | {} | {} | {} | {} | {:.0} % | {:.0} MB |",
        s.rate,
        s.phones,
        s.wall.as_secs_f64(),
        cells[0],
        cells[1],
        cells[2],
        s.seen.errors.len(),
        s.cpu,
        s.rss_mb
    );
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let per_step: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200);
    let server = start().await;
    let qr = server.qr("DEMO-X1-C1");
    let url = server.url.clone();
    println!(
        "crowd_bench: phones arrive at a steady rate; each enrols, pushes, pulls (no retries)"
    );
    println!();
    println!("| phones/s | phones | wall | enrol p50 / p99 ms | push p50 / p99 ms | pull p50 / p99 ms | errors | CPU (process) | RSS |");
    println!("|---:|---:|---:|---|---|---|---:|---:|---:|");
    // The meeting: 300 phones within 60 s.
    let meeting = stage(&url, &qr, 5.0, 300, 0).await;
    print_row(&meeting);
    let mut first = 300;
    let mut knee = None;
    let mut passed_at = None;
    for rate in [10.0, 20.0, 40.0, 80.0, 160.0, 320.0, 640.0, 1280.0, 2560.0] {
        // Each step lasts 5 s at least, so a rate past what the server can
        // serve builds a queue rather than ending as a short burst.
        let phones = per_step.max((rate * 5.0) as usize);
        let s = stage(&url, &qr, rate, phones, first).await;
        first += phones;
        print_row(&s);
        let within = worst_p99(&s) <= Duration::from_secs(1) && s.seen.errors.is_empty();
        if within {
            knee = Some(rate);
        } else {
            passed_at = Some(rate);
            break;
        }
    }
    println!();
    let errors: usize = meeting.seen.errors.len();
    println!(
        "meeting (300 phones in 60 s): {errors} errors; worst p99 {} ms",
        ms(worst_p99(&meeting))
    );
    match (knee, passed_at) {
        (Some(r), Some(p)) => println!(
            "knee: every p99 within 1 s and no error up to {r:.0} phones/s; at {p:.0} phones/s it was passed"
        ),
        (Some(r), None) => println!(
            "knee: not reached; every p99 within 1 s and no error up to {r:.0} phones/s, the fastest step"
        ),
        (None, _) => println!("knee: below 10 phones/s"),
    }
    for e in meeting.seen.errors.iter().take(5) {
        println!("error: {e}");
    }
}
