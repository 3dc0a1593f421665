//! Copying a server's tables out of and into PostgreSQL (`migrate-storage`).
//!
//! Cells arrive as a source kept them and are converted to this schema's
//! column types. From SQLite that means: 0/1 to booleans; a record hash kept
//! as its 32 bytes to hex; a batch's deflated answer inflated; a change's
//! time kept as Unix milliseconds to RFC 3339; an assessment's points kept
//! as bytes after a layout id to their text, once the layouts (the last
//! table) have arrived ([`Portable::finish_import`]).

use crate::error::{corrupt, Result};
use crate::PgStorage;
use cdht_server_db::portable::{Cell, Portable, Rows, TABLES};
use cdht_server_db::StorageResult;
use postgres::types::{ToSql, Type};
use postgres::{GenericClient, Row};
use std::collections::HashMap;

/// Rows per chunk handed to the target.
const CHUNK: usize = 1000;

/// A table or column name as SQL, quoted.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn cell(row: &Row, i: usize) -> Result<Cell> {
    let ty = row.columns()[i].type_();
    Ok(if *ty == Type::BOOL {
        row.get::<_, Option<bool>>(i)
            .map_or(Cell::Null, |b| Cell::Int(i64::from(b)))
    } else if *ty == Type::INT8 {
        row.get::<_, Option<i64>>(i).map_or(Cell::Null, Cell::Int)
    } else if *ty == Type::INT4 {
        row.get::<_, Option<i32>>(i)
            .map_or(Cell::Null, |n| Cell::Int(n.into()))
    } else if *ty == Type::INT2 {
        row.get::<_, Option<i16>>(i)
            .map_or(Cell::Null, |n| Cell::Int(n.into()))
    } else if *ty == Type::FLOAT8 {
        row.get::<_, Option<f64>>(i).map_or(Cell::Null, Cell::Real)
    } else if *ty == Type::BYTEA {
        row.get::<_, Option<Vec<u8>>>(i)
            .map_or(Cell::Null, Cell::Blob)
    } else if *ty == Type::TEXT || *ty == Type::VARCHAR {
        row.get::<_, Option<String>>(i)
            .map_or(Cell::Null, Cell::Text)
    } else {
        return Err(corrupt(format!("column type {ty}")));
    })
}

/// A time kept as Unix milliseconds, as the rows here keep times.
fn millis_text(ms: i64) -> Result<String> {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .ok_or_else(|| corrupt(format!("time {ms}")))
}

/// What to write for a cell of `column` of `table`, of type `ty`.
fn param(table: &str, column: &str, ty: &str, cell: &Cell) -> Result<Box<dyn ToSql + Sync>> {
    Ok(match (ty, cell) {
        ("boolean", Cell::Null) => Box::new(None::<bool>),
        ("boolean", Cell::Int(n)) => Box::new(*n != 0),
        ("bigint", Cell::Null) => Box::new(None::<i64>),
        ("bigint", Cell::Int(n)) => Box::new(*n),
        ("smallint", Cell::Null) => Box::new(None::<i16>),
        ("smallint", Cell::Int(n)) => {
            Box::new(i16::try_from(*n).map_err(|_| corrupt(format!("{table}.{column} {n}")))?)
        }
        ("text", Cell::Null) => Box::new(None::<String>),
        ("text", Cell::Text(t)) => Box::new(t.clone()),
        ("text", Cell::Int(n)) if column == "at" || column == "added_at" => {
            Box::new(millis_text(*n)?)
        }
        ("text", Cell::Int(n)) => Box::new(n.to_string()),
        ("text", Cell::Real(r)) => Box::new(r.to_string()),
        ("text", Cell::Blob(b)) if column == "response" => {
            let json = miniz_oxide::inflate::decompress_to_vec_with_limit(b, 4 << 20)
                .map_err(|e| corrupt(format!("a batch's answer: {e:?}")))?;
            Box::new(String::from_utf8(json).map_err(corrupt)?)
        }
        ("text", Cell::Blob(b)) if column.ends_with("hash") => Box::new(hex(b)),
        ("bytea", Cell::Null) => Box::new(None::<Vec<u8>>),
        ("bytea", Cell::Blob(b)) => Box::new(b.clone()),
        _ => return Err(corrupt(format!("{table}.{column} ({ty}): {cell:?}"))),
    })
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Each column's type (`information_schema`'s name for it).
fn column_types(c: &mut impl GenericClient, table: &str) -> Result<HashMap<String, String>> {
    Ok(c.query(
        "SELECT column_name::text, data_type::text FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name = $1",
        &[&table],
    )?
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect())
}

fn export(db: &PgStorage, sink: &mut dyn FnMut(Rows<'_>) -> StorageResult<()>) -> Result<()> {
    let mut conn = db.conn()?;
    // One snapshot for every table.
    let mut tx = conn
        .build_transaction()
        .isolation_level(postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()?;
    for table in TABLES {
        let stmt = tx.prepare(&format!("SELECT * FROM {}", quoted(table)))?;
        let columns: Vec<String> = stmt.columns().iter().map(|c| c.name().to_owned()).collect();
        let mut chunk = Vec::with_capacity(CHUNK);
        for row in tx.query(&stmt, &[])? {
            chunk.push(
                (0..columns.len())
                    .map(|i| cell(&row, i))
                    .collect::<Result<Vec<_>>>()?,
            );
            if chunk.len() == CHUNK {
                sink(Rows {
                    table,
                    columns: &columns,
                    rows: &chunk,
                })?;
                chunk.clear();
            }
        }
        // Every table is announced, even empty: the target clears it.
        sink(Rows {
            table,
            columns: &columns,
            rows: &chunk,
        })?;
    }
    tx.commit()?;
    Ok(())
}

fn import(db: &PgStorage, rows: Rows<'_>) -> Result<()> {
    let mut conn = db.conn()?;
    let mut tx = conn.transaction()?;
    let table = rows.table;
    let types = column_types(&mut tx, table)?;
    if types.is_empty() {
        return Err(corrupt(format!("no table {table} here")));
    }
    // A table's first chunk (every table is sent, its last chunk maybe
    // empty): this import owns the table.
    let marker = format!("migrate_storage.{table}");
    let first = tx
        .query_opt("SELECT 1 FROM settings WHERE key = $1", &[&marker])?
        .is_none();
    if first {
        tx.execute(&format!("DELETE FROM {}", quoted(table)), &[])?;
        tx.execute(
            "INSERT INTO settings (key, value) VALUES ($1, 'copying')",
            &[&marker],
        )?;
    }
    // Points kept as bytes wait for their layouts (the last table).
    let points_at = (table == "assessments")
        .then(|| rows.columns.iter().position(|c| c == "points"))
        .flatten();
    let id_at = rows.columns.iter().position(|c| c == "id");
    if points_at.is_some() {
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS migrate_points (assessment text PRIMARY KEY, kept bytea)",
        )?;
    }
    let names: Vec<String> = rows.columns.iter().map(|c| quoted(c)).collect();
    let marks: Vec<String> = (1..=names.len()).map(|i| format!("${i}")).collect();
    let insert = tx.prepare(&format!(
        "INSERT INTO {} ({}) VALUES ({})",
        quoted(table),
        names.join(", "),
        marks.join(", ")
    ))?;
    for row in rows.rows {
        let mut params: Vec<Box<dyn ToSql + Sync>> = Vec::with_capacity(row.len());
        for (i, (column, cell)) in rows.columns.iter().zip(row).enumerate() {
            let ty = types
                .get(column)
                .ok_or_else(|| corrupt(format!("no column {table}.{column} here")))?;
            if let (Some(p), Some(id), Cell::Blob(kept)) = (points_at, id_at, cell) {
                if p == i {
                    let Cell::Text(id) = &row[id] else {
                        return Err(corrupt("an assessment without its id"));
                    };
                    tx.execute(
                        "INSERT INTO migrate_points (assessment, kept) VALUES ($1, $2)",
                        &[id, kept],
                    )?;
                    params.push(Box::new(None::<String>));
                    continue;
                }
            }
            params.push(param(table, column, ty, cell)?);
        }
        let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(AsRef::as_ref).collect();
        tx.execute(&insert, &refs)?;
    }
    tx.commit()?;
    Ok(())
}

/// Points kept as bytes (a two-byte layout id, then one byte per indicator
/// of the layout's list) as their text, `1.1:8,1.2:10`.
fn points_text(kept: &[u8], layouts: &HashMap<i64, Vec<String>>) -> Option<String> {
    let (layout, points) = kept.split_first_chunk::<2>()?;
    let ids = layouts.get(&i64::from(u16::from_be_bytes(*layout)))?;
    (ids.len() == points.len()).then(|| {
        ids.iter()
            .zip(points)
            .map(|(id, p)| format!("{id}:{p}"))
            .collect::<Vec<_>>()
            .join(",")
    })
}

fn finish_import(db: &PgStorage) -> Result<()> {
    let mut conn = db.conn()?;
    let mut tx = conn.transaction()?;
    let stashed = tx
        .query_one("SELECT to_regclass('migrate_points') IS NOT NULL", &[])?
        .get::<_, bool>(0);
    if stashed {
        let layouts: HashMap<i64, Vec<String>> = tx
            .query("SELECT id, indicators FROM points_layouts", &[])?
            .iter()
            .map(|r| {
                let ids: &str = r.get(1);
                (r.get(0), ids.split(',').map(str::to_owned).collect())
            })
            .collect();
        for r in tx.query("SELECT assessment, kept FROM migrate_points", &[])? {
            let (id, kept): (&str, &[u8]) = (r.get(0), r.get(1));
            // Points that cannot be read stay NULL: a report scores those
            // from the answers, as for assessments pushed before points.
            let text = points_text(kept, &layouts);
            tx.execute(
                "UPDATE assessments SET points = $2 WHERE id = $1",
                &[&id, &text],
            )?;
        }
        tx.batch_execute("DROP TABLE migrate_points")?;
    }
    // The layouts served only to read the points.
    tx.batch_execute(
        "DELETE FROM points_layouts;
         DELETE FROM settings WHERE key LIKE 'migrate_storage.%';
         UPDATE change_counter SET last = GREATEST(last,
            (SELECT COALESCE(MAX(seq), 0) FROM changes),
            (SELECT COALESCE(MAX(added_seq), 0) FROM persons),
            (SELECT COALESCE(MAX(added_seq), 0) FROM assessments),
            (SELECT COALESCE(MAX(added_seq), 0) FROM evidence));
         SELECT setval(pg_get_serial_sequence('officers', 'id'),
            (SELECT COALESCE(MAX(id), 0) + 1 FROM officers), false);
         SELECT setval(pg_get_serial_sequence('audit_log', 'id'),
            (SELECT COALESCE(MAX(id), 0) + 1 FROM audit_log), false);",
    )?;
    // A source without a counter row (an old one) leaves none: make it.
    tx.execute(
        "INSERT INTO change_counter (last)
         SELECT GREATEST((SELECT COALESCE(MAX(seq), 0) FROM changes),
            (SELECT COALESCE(MAX(added_seq), 0) FROM persons),
            (SELECT COALESCE(MAX(added_seq), 0) FROM assessments),
            (SELECT COALESCE(MAX(added_seq), 0) FROM evidence))
         WHERE NOT EXISTS (SELECT 1 FROM change_counter)",
        &[],
    )?;
    tx.commit()?;
    Ok(())
}

impl Portable for PgStorage {
    fn export(&self, sink: &mut dyn FnMut(Rows<'_>) -> StorageResult<()>) -> StorageResult<()> {
        Ok(export(self, sink)?)
    }

    fn is_blank(&self) -> StorageResult<bool> {
        Ok(self
            .conn()?
            .query_one(
                "SELECT NOT EXISTS (SELECT 1 FROM units) AND NOT EXISTS (SELECT 1 FROM devices)
                    AND NOT EXISTS (SELECT 1 FROM officers)
                    AND NOT EXISTS (SELECT 1 FROM persons)
                    AND NOT EXISTS (SELECT 1 FROM changes)",
                &[],
            )
            .map_err(crate::Error::from)?
            .get(0))
    }

    fn import(&self, rows: Rows<'_>) -> StorageResult<()> {
        Ok(import(self, rows)?)
    }

    fn finish_import(&self) -> StorageResult<()> {
        Ok(finish_import(self)?)
    }
}
