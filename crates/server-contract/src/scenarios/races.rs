//! The same story told by several threads at once, as a crowd of phones
//! and two reviewers tell it: what one call alone promises must hold.

use crate::db::{PushOutcome, ReviewAction, StorageError};
use crate::fixture::{collector, enrol, person_with_assessment, push_accepted, push_batch, tree};
use crate::Backend;
use cdht_core::sync::{Change, DeviceState};
use cdht_test_support::records::{self, person, v1};
use std::collections::HashSet;
use uuid::Uuid;

const THREADS: usize = 6;

/// A batch retried by several connections at once is applied once; every
/// other attempt gets the stored answer.
pub fn concurrent_retries_apply_once(backend: &dyn Backend) {
    let s = backend.fresh();
    tree(&*s);
    let phone = enrol(&*s, "C1");
    let batch = records::batch(
        1,
        (0..20)
            .map(|i| v1(person(&format!("P{i}"), None).1))
            .collect(),
    );
    let outcomes: Vec<PushOutcome> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|_| scope.spawn(|| push_batch(&*s, &phone, &batch)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let applied: Vec<&String> = outcomes
        .iter()
        .filter_map(|o| match o {
            PushOutcome::Applied(json) => Some(json),
            _ => None,
        })
        .collect();
    assert_eq!(applied.len(), 1, "{outcomes:?}");
    for outcome in &outcomes {
        match outcome {
            PushOutcome::Applied(json) | PushOutcome::Replayed(json) => {
                assert_eq!(json, applied[0]);
            }
            other => panic!("{other:?}"),
        }
    }
    let stats = s.stats().unwrap();
    assert_eq!((stats.persons, stats.batches), (20, 1));
}

/// Reviewers approving one assessment at once: one wins, the others find
/// it moved on (`wrong_state`), and it is approved once in the log.
pub fn concurrent_reviews_one_wins(backend: &dyn Backend) {
    let s = backend.fresh();
    tree(&*s);
    let phone = enrol(&*s, "C1");
    let (_, aid) =
        person_with_assessment(&*s, &phone, 1, "Một", None, 2025, DeviceState::Submitted);
    let results: Vec<Result<(), StorageError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|i| {
                let s = &s;
                scope.spawn(move || s.review(aid, &format!("reviewer-{i}"), &ReviewAction::Approve))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    for result in results.iter().filter(|r| r.is_err()) {
        assert!(
            matches!(result, Err(StorageError::Refused { code, .. }) if code.as_str() == "wrong_state"),
            "{result:?}"
        );
    }
    let approvals = s
        .audit("C1")
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "approve")
        .count();
    assert_eq!(approvals, 1);
}

/// Phones pushing while a collector device pulls, page after page: the
/// collector still gets every record exactly once, none skipped by a
/// cursor that ran past a change committed late.
pub fn pull_while_pushing_misses_nothing(backend: &dyn Backend) {
    let s = backend.fresh();
    tree(&*s);
    let phones: Vec<_> = (0..THREADS - 1).map(|_| enrol(&*s, "C1")).collect();
    let reader = collector(&*s, "C1");
    let done = std::sync::atomic::AtomicBool::new(false);
    let (pushed, pulled) = std::thread::scope(|scope| {
        let writers: Vec<_> = phones
            .iter()
            .map(|phone| {
                let s = &s;
                scope.spawn(move || {
                    let mut ids = Vec::new();
                    for seq in 1..=8 {
                        let (a, b) = (person("A", None), person("B", None));
                        ids.extend([*a.0.as_uuid(), *b.0.as_uuid()]);
                        push_accepted(&**s, phone, seq, vec![v1(a.1), v1(b.1)]);
                    }
                    ids
                })
            })
            .collect();
        let pulls = scope.spawn(|| {
            let mut seen: Vec<Uuid> = Vec::new();
            let mut cursor = 0;
            loop {
                // Read before pulling: a pull after the last push is complete.
                let finished = done.load(std::sync::atomic::Ordering::SeqCst);
                let page = s.pull(&reader.r, cursor, 3, false).unwrap();
                for change in &page.changes {
                    assert!(change.seq > cursor);
                    if let Change::Record { record, .. } = &change.change {
                        seen.push(record.body.id());
                    }
                }
                cursor = page.cursor;
                if finished && !page.more {
                    return seen;
                }
            }
        });
        let pushed: Vec<Uuid> = writers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect();
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        (pushed, pulls.join().unwrap())
    });
    assert_eq!(pulled.len(), pushed.len(), "each record once");
    let pulled: HashSet<Uuid> = pulled.into_iter().collect();
    let pushed: HashSet<Uuid> = pushed.into_iter().collect();
    assert_eq!(pulled, pushed);
}
