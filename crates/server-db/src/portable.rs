//! Moving a server's data to another backend (`cdht-server migrate-storage`):
//! every table copied row by row, as plain cells, with nothing decided on
//! the way. The tables and their columns are the same in every backend, so
//! a source streams them and a target writes them (converting each cell to
//! its column's type): devices keep their tokens, push sequence and pull
//! cursors, since the change log keeps its positions.

use crate::StorageResult;

/// One value of a row, as a source read it.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

/// Some rows of one table.
#[derive(Debug, Clone, Copy)]
pub struct Rows<'a> {
    pub table: &'a str,
    pub columns: &'a [String],
    pub rows: &'a [Vec<Cell>],
}

/// The tables a server keeps, parents before the tables that refer to them,
/// in the order a target loads them.
pub const TABLES: &[&str] = &[
    "units",
    "officers",
    "officer_roles",
    "devices",
    "sessions",
    "batches",
    "persons",
    "assessments",
    "evidence",
    "device_people",
    "uploads",
    "audit_log",
    "settings",
    "catalogs",
    "exemplary_titles",
    "changes",
    "certificates",
    "deleted_records",
    "change_counter",
    "points_layouts",
];

/// A backend whose data can be copied to another one.
pub trait Portable: Send + Sync {
    /// Streams every row of [`TABLES`], in that order, a chunk at a time,
    /// from one consistent snapshot.
    fn export(&self, sink: &mut dyn FnMut(Rows<'_>) -> StorageResult<()>) -> StorageResult<()>;
    /// Whether this database holds no server's data yet (no unit, device,
    /// officer, record or change): only such a database is a target.
    fn is_blank(&self) -> StorageResult<bool>;
    /// Writes rows a source exported; the first rows of a table replace
    /// what the table held (a blank database's bookkeeping rows).
    fn import(&self, rows: Rows<'_>) -> StorageResult<()>;
    /// After the last rows: counters and sequences set past what was copied.
    fn finish_import(&self) -> StorageResult<()>;
}
