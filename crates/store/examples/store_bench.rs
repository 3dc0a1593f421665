//! What encrypting the database costs: the same store workload on an
//! encrypted (SQLCipher) and a plain database, in the same run, interleaved,
//! best of N rounds. Prints milliseconds per step and the encrypted/plain ratio,
//! then the store's size on disk and the process's peak memory (issue 14,
//! item 6: an officer's tablet after a season).
//!
//! ```sh
//! cargo run --release -p cdht-store --features bench-unencrypted --example store_bench -- [people] [rounds]
//! ```
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use cdht_core::ids::{CatalogId, GroupId, IndicatorId, UnitCode};
use cdht_core::{Answer, AreaType};
use cdht_store::{CccdUpdate, CheckDepth, DatabaseKey, JoinUnit, PersonInput, Store};
use std::path::Path;
use std::time::{Duration, Instant};

const STEPS: [&str; 7] = [
    "open (existing db)",
    "add people (1 tx each, CCCD)",
    "autosave answers (1 tx each)",
    "search by name prefix",
    "list people pages",
    "open an assessment (200)",
    "full self-check",
];

/// How many assessments the "open an assessment" step opens.
const OPENED: usize = 200;

/// What one round measured.
struct Round {
    times: [Duration; 7],
    /// Bytes of every file in the store's folder, the store closed.
    disk_bytes: u64,
}

fn open(dir: &Path, key: Option<&DatabaseKey>) -> Store {
    match key {
        Some(key) => Store::open(dir, key).unwrap(),
        None => Store::open_unencrypted_for_benchmark(dir).unwrap(),
    }
}

/// One round of the workload on a fresh folder; the time of each step.
fn round(people: usize, key: Option<&DatabaseKey>) -> Round {
    let dir = tempfile::tempdir().unwrap();
    let mut times = [Duration::ZERO; 7];
    let mut store = open(dir.path(), key);
    store
        .join_unit(&JoinUnit {
            unit_code: UnitCode::new("HD-TK-001"),
            name: "Chi hội khuyến học thôn Đông".to_owned(),
            server_url: "https://cdht.example.vn".to_owned(),
            join_payload: serde_json::json!({"unit": "HD-TK-001", "v": 1}),
            area_type: AreaType::Normal,
        })
        .unwrap();

    let start = Instant::now();
    let mut ids = Vec::with_capacity(people);
    for i in 0..people {
        let person = store
            .upsert_person(&PersonInput {
                full_name: format!("Nguyễn Văn An {i}"),
                unit_code: Some(UnitCode::new("HD-TK-001")),
                birth_year: Some(1950 + i32::try_from(i % 60).unwrap()),
                household_label: Some(format!("Hộ {}", i / 4)),
                cccd: CccdUpdate::Set {
                    number: format!("{:012}", 1_085_000_000 + i),
                    consent_given: true,
                },
                ..PersonInput::default()
            })
            .unwrap();
        ids.push(person.person_id);
    }
    times[1] = start.elapsed();

    let start = Instant::now();
    let mut assessments = Vec::with_capacity(people);
    for (i, person) in ids.iter().enumerate() {
        let assessment = store
            .create_or_get_assessment(
                *person,
                2025,
                &CatalogId::new("324-2023"),
                &GroupId::new("residents"),
                AreaType::Normal,
            )
            .unwrap();
        assessments.push(assessment.assessment_id);
        for indicator in ["1.1", "1.2", "2.1"] {
            let points = i64::try_from(i % 5).unwrap();
            store
                .set_answer(
                    assessment.assessment_id,
                    &IndicatorId::new(indicator),
                    &Answer::Points(points),
                    None,
                )
                .unwrap();
        }
    }
    times[2] = start.elapsed();

    let start = Instant::now();
    for i in 0..200 {
        let found = store
            .search_people(&format!("nguyen van an {}", i % 100), 20)
            .unwrap();
        assert!(!found.is_empty());
    }
    times[3] = start.elapsed();

    let start = Instant::now();
    let mut offset = 0;
    loop {
        let page = store
            .list_people(2025, Some(&UnitCode::new("HD-TK-001")), 50, offset)
            .unwrap();
        if page.is_empty() {
            break;
        }
        offset += page.len();
    }
    assert_eq!(offset, people);
    times[4] = start.elapsed();

    // The store's reads of the app's "open an assessment" (App::open_assessment
    // on an existing one: the person, their history, the assessment with its
    // answers and evidence, the answers another device replaced), spread over
    // the people.
    let start = Instant::now();
    for k in 0..OPENED {
        let i = k * people / OPENED;
        let person = store.person(ids[i]).unwrap();
        let history = store.history(person.person_id).unwrap();
        assert_eq!(history.len(), 1);
        let detail = store.assessment_detail(assessments[i]).unwrap();
        assert_eq!(detail.answers.0.len(), 3);
        let _ = store.replaced_answers(assessments[i]).unwrap();
    }
    times[5] = start.elapsed();

    let start = Instant::now();
    store.self_check(CheckDepth::Full).unwrap();
    times[6] = start.elapsed();

    drop(store);
    let start = Instant::now();
    let store = open(dir.path(), key);
    times[0] = start.elapsed();
    drop(store);
    let disk_bytes = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap())
        .filter(std::fs::Metadata::is_file)
        .map(|m| m.len())
        .sum();
    Round { times, disk_bytes }
}

/// The process's peak resident memory (VmHWM), in KiB; None off Linux.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let people: usize = args.next().map_or(500, |a| a.parse().unwrap());
    let rounds: usize = args.next().map_or(3, |a| a.parse().unwrap());
    let key = DatabaseKey::generate().unwrap();
    let mut plain = [Duration::MAX; 7];
    let mut encrypted = [Duration::MAX; 7];
    let mut disk = [0u64; 2];
    for _ in 0..rounds {
        // Interleaved, so a busy moment on the machine hits both.
        for (n, (best, key)) in [(&mut plain, None), (&mut encrypted, Some(&key))]
            .into_iter()
            .enumerate()
        {
            let r = round(people, key);
            for (slot, time) in best.iter_mut().zip(r.times) {
                *slot = (*slot).min(time);
            }
            disk[n] = r.disk_bytes;
        }
    }
    println!("{people} people, 3 answers each, best of {rounds} rounds");
    println!("| step | plain ms | encrypted ms | encrypted/plain |");
    println!("|---|---:|---:|---:|");
    for (i, step) in STEPS.iter().enumerate() {
        let p = plain[i].as_secs_f64() * 1000.0;
        let e = encrypted[i].as_secs_f64() * 1000.0;
        println!("| {step} | {p:.1} | {e:.1} | {:.2} |", e / p);
    }
    let total_plain: f64 = plain.iter().map(Duration::as_secs_f64).sum();
    let total_encrypted: f64 = encrypted.iter().map(Duration::as_secs_f64).sum();
    println!(
        "| **all steps** | {:.1} | {:.1} | **{:.2}** |",
        total_plain * 1000.0,
        total_encrypted * 1000.0,
        total_encrypted / total_plain
    );
    let per_open = |d: Duration| d.as_secs_f64() * 1000.0 / OPENED as f64;
    println!(
        "open an assessment: {:.2} ms plain, {:.2} ms encrypted (store reads of App::open_assessment)",
        per_open(plain[5]),
        per_open(encrypted[5])
    );
    println!(
        "store on disk, closed: {:.2} MB plain, {:.2} MB encrypted ({people} people, an assessment with 3 answers each; {:.0} B a person encrypted)",
        disk[0] as f64 / 1e6,
        disk[1] as f64 / 1e6,
        disk[1] as f64 / people as f64
    );
    match peak_rss_kib() {
        Some(kib) => println!(
            "peak memory (VmHWM, whole run, both stores): {:.1} MB",
            kib as f64 * 1024.0 / 1e6
        ),
        None => println!("peak memory: SKIPPED, no /proc/self/status"),
    }
}
