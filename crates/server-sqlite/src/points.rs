//! An assessment's points per indicator as kept (migration 0012): one byte
//! per indicator after two naming the list of indicator ids they follow
//! (`points_layouts`), instead of the text `1.1:8,1.2:10,…` (49 bytes for
//! a catalog of ten, kept twice: in the row and in `assessments_report`).

use cdht_server_db::facts::{MAX_INDICATORS, NO_POINTS};
use cdht_server_db::StorageResult;
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension};
use std::collections::HashMap;

/// The points text a push scored (`cdht_server_db::facts::points_text`) as kept:
/// bytes when every value fits, else the text itself. `layouts`: the
/// layout ids the batch already looked up, by their indicator list.
pub(super) fn stored_points(
    conn: &Connection,
    text: &str,
    layouts: &mut HashMap<String, u16>,
) -> StorageResult<Value> {
    let mut ids = String::with_capacity(text.len() / 2);
    let mut bytes = vec![0, 0];
    for pair in text.split(',') {
        let Some((id, points)) = pair.split_once(':') else {
            return Ok(Value::Text(text.to_owned()));
        };
        match points.parse::<u8>() {
            Ok(p) if p < NO_POINTS && !id.contains(',') => bytes.push(p),
            _ => return Ok(Value::Text(text.to_owned())),
        }
        if !ids.is_empty() {
            ids.push(',');
        }
        ids.push_str(id);
    }
    if bytes.len() - 2 > MAX_INDICATORS {
        return Ok(Value::Text(text.to_owned()));
    }
    let layout = match layouts.get(&ids) {
        Some(layout) => *layout,
        None => {
            let found: Option<u16> = conn
                .prepare_cached("SELECT id FROM points_layouts WHERE indicators = ?1")?
                .query_row([&ids], |r| r.get(0))
                .optional()?;
            let layout = match found {
                Some(layout) => layout,
                None => conn
                    .prepare_cached(
                        "INSERT INTO points_layouts (indicators) VALUES (?1) RETURNING id",
                    )?
                    .query_row([&ids], |r| r.get(0))?,
            };
            layouts.insert(ids, layout);
            layout
        }
    };
    bytes[..2].copy_from_slice(&layout.to_be_bytes());
    Ok(Value::Blob(bytes))
}

/// Every layout's indicator ids, by layout id, for reading kept points.
pub(super) fn layouts(conn: &Connection) -> StorageResult<HashMap<u16, Vec<String>>> {
    let mut stmt = conn.prepare_cached("SELECT id, indicators FROM points_layouts")?;
    let rows = stmt.query_map([], |r| {
        let ids: String = r.get(1)?;
        Ok((r.get(0)?, ids.split(',').map(str::to_owned).collect()))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Kept points (bytes) as (layout id, one byte per indicator); `None` when
/// they are not of that form.
pub(super) fn read_bytes(bytes: &[u8]) -> Option<(u16, &[u8])> {
    let (layout, points) = bytes.split_first_chunk::<2>()?;
    (points.len() <= MAX_INDICATORS).then(|| (u16::from_be_bytes(*layout), points))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn points_are_kept_as_bytes_after_their_layout_and_odd_texts_as_text() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE points_layouts (id INTEGER PRIMARY KEY, indicators TEXT NOT NULL UNIQUE)",
        )
        .unwrap();
        let mut seen = HashMap::new();
        let kept = stored_points(&conn, "1.1:8,1.2:10", &mut seen).unwrap();
        assert_eq!(kept, Value::Blob(vec![0, 1, 8, 10]));
        // The same list again: the same layout, looked up once per batch.
        let other = stored_points(&conn, "1.1:0,1.2:3", &mut HashMap::new()).unwrap();
        assert_eq!(other, Value::Blob(vec![0, 1, 0, 3]));
        let second = stored_points(&conn, "2.1:4", &mut seen).unwrap();
        assert_eq!(second, Value::Blob(vec![0, 2, 4]));
        assert_eq!(
            layouts(&conn).unwrap()[&1],
            vec!["1.1".to_owned(), "1.2".to_owned()]
        );
        assert_eq!(read_bytes(&[0, 2, 4]), Some((2, &[4u8][..])));
        assert_eq!(read_bytes(&[0]), None);
        for odd in ["1.1:300", "1.1=8", "1.1:x", ""] {
            assert_eq!(
                stored_points(&conn, odd, &mut seen).unwrap(),
                Value::Text(odd.to_owned()),
                "{odd}"
            );
        }
    }
}
