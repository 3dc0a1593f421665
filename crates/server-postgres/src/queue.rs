//! The review queue: one year and state of a subtree, newest first, a page
//! at a time from a (updated_at, id) cursor (the index `assessments_queue`).

use crate::error::Result;
use crate::review::num;
use crate::{PgStorage, SUBTREE};
use cdht_server_db::queue::{cursor, QueueFilter, QueueItem, QueuePage};

/// Another assessment of the same person (keyed CCCD) in the same year.
const HAS_DUPLICATE: &str = "EXISTS (SELECT 1 FROM persons p2
     JOIN persons op ON op.cccd_hmac = p2.cccd_hmac
     JOIN assessments o ON o.person = op.id AND o.year = a.year
     WHERE p2.id = a.person AND p2.cccd_hmac IS NOT NULL AND o.id <> a.id)";

pub(crate) fn review_queue(db: &PgStorage, unit: &str, f: &QueueFilter) -> Result<QueuePage> {
    let limit = f.limit.max(1);
    // The first page starts after a time later than any.
    let (after_at, after_id) = f
        .after
        .clone()
        .unwrap_or_else(|| ("9999".to_owned(), String::new()));
    let rows = db.conn()?.query(
        &format!(
            "{SUBTREE} SELECT a.id, a.unit, a.person, COALESCE(p.full_name, ''), a.catalog,
                a.grp, a.state, a.total, a.passed, a.threshold, a.updated_at, {HAS_DUPLICATE}
             FROM assessments a
             LEFT JOIN persons p ON p.id = a.person
             WHERE a.year = $2 AND a.state = $3
               AND a.unit IN (SELECT code FROM sub)
               AND ($4::text IS NULL OR a.grp = $4)
               AND ($5::boolean IS NULL OR a.passed = $5)
               AND (a.updated_at, a.id) < ($6, $7)
               AND ($8::boolean IS NULL OR {HAS_DUPLICATE} = $8)
             ORDER BY a.updated_at DESC, a.id DESC LIMIT $9"
        ),
        &[
            &unit,
            &i64::from(f.year),
            &f.state,
            &f.group,
            &f.passed,
            &after_at,
            &after_id,
            &f.duplicate,
            &(i64::from(limit) + 1),
        ],
    )?;
    let mut items = rows
        .iter()
        .map(|r| {
            Ok(QueueItem {
                id: r.get(0),
                unit: r.get(1),
                person: r.get(2),
                person_name: r.get(3),
                catalog: r.get(4),
                group: r.get(5),
                state: r.get(6),
                total: num(r, 7)?,
                passed: r.get(8),
                threshold: num(r, 9)?,
                updated_at: r.get(10),
                duplicate: r.get(11),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let next = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(|i| cursor(&i.updated_at, &i.id))
    } else {
        None
    };
    Ok(QueuePage { items, next })
}
