//! Copying a server's tables out of and into SQLite (`migrate-storage`).

use super::{write_tx, SqliteStorage};
use cdht_server_db::portable::{Cell, Portable, Rows, TABLES};
use cdht_server_db::StorageResult;
use rusqlite::types::{Value, ValueRef};

/// Rows per chunk handed to the target: a few MB at most.
const CHUNK: usize = 1000;

fn cell(value: ValueRef<'_>) -> Cell {
    match value {
        ValueRef::Null => Cell::Null,
        ValueRef::Integer(i) => Cell::Int(i),
        ValueRef::Real(r) => Cell::Real(r),
        ValueRef::Text(t) => Cell::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Cell::Blob(b.to_vec()),
    }
}

fn value(cell: &Cell) -> Value {
    match cell {
        Cell::Null => Value::Null,
        Cell::Int(i) => Value::Integer(*i),
        Cell::Real(r) => Value::Real(*r),
        Cell::Text(t) => Value::Text(t.clone()),
        Cell::Blob(b) => Value::Blob(b.clone()),
    }
}

/// A table or column name as SQL, quoted (they come from our own list and
/// schema, but a name is never pasted bare).
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

impl Portable for SqliteStorage {
    fn export(&self, sink: &mut dyn FnMut(Rows<'_>) -> StorageResult<()>) -> StorageResult<()> {
        let mut conn = self.conn()?;
        // One read transaction: every table from the same snapshot.
        let tx = conn.transaction()?;
        for table in TABLES {
            let mut stmt = tx.prepare(&format!("SELECT * FROM {}", quoted(table)))?;
            let columns: Vec<String> = stmt
                .column_names()
                .iter()
                .map(|c| (*c).to_owned())
                .collect();
            let mut rows = stmt.query([])?;
            let mut chunk = Vec::with_capacity(CHUNK);
            while let Some(row) = rows.next()? {
                let mut out = Vec::with_capacity(columns.len());
                for i in 0..columns.len() {
                    out.push(cell(row.get_ref(i)?));
                }
                chunk.push(out);
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
        Ok(())
    }

    fn is_blank(&self) -> StorageResult<bool> {
        let conn = self.conn()?;
        Ok(conn.query_row(
            "SELECT NOT EXISTS (SELECT 1 FROM units) AND NOT EXISTS (SELECT 1 FROM devices)
                AND NOT EXISTS (SELECT 1 FROM officers) AND NOT EXISTS (SELECT 1 FROM persons)
                AND NOT EXISTS (SELECT 1 FROM changes)",
            [],
            |r| r.get(0),
        )?)
    }

    fn import(&self, rows: Rows<'_>) -> StorageResult<()> {
        let mut conn = self.conn()?;
        let tx = write_tx(&mut conn)?;
        let table = quoted(rows.table);
        // A table's first chunk (the exporter sends every table, and the
        // last chunk of each may be empty): this import owns the table.
        let first: bool = tx.query_row(
            "SELECT NOT EXISTS (SELECT 1 FROM settings WHERE key = 'migrate_storage.' || ?1)",
            [rows.table],
            |r| r.get(0),
        )?;
        if first {
            tx.execute(&format!("DELETE FROM {table}"), [])?;
            tx.execute(
                "INSERT INTO settings (key, value) VALUES ('migrate_storage.' || ?1, 'copying')",
                [rows.table],
            )?;
        }
        let names: Vec<String> = rows.columns.iter().map(|c| quoted(c)).collect();
        let marks: Vec<String> = (1..=names.len()).map(|i| format!("?{i}")).collect();
        {
            let mut insert = tx.prepare(&format!(
                "INSERT INTO {table} ({}) VALUES ({})",
                names.join(", "),
                marks.join(", ")
            ))?;
            for row in rows.rows {
                insert.execute(rusqlite::params_from_iter(row.iter().map(value)))?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn finish_import(&self) -> StorageResult<()> {
        let mut conn = self.conn()?;
        let tx = write_tx(&mut conn)?;
        // The markers, and (if the source's settings were copied over them)
        // nothing else of the copy's own.
        tx.execute(
            "DELETE FROM settings WHERE key LIKE 'migrate_storage.%'",
            [],
        )?;
        tx.commit()?;
        Ok(())
    }
}
