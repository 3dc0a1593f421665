//! `cdht-server migrate-storage`: moves a single-machine server (its SQLite
//! file and its photo folder) to another database and photo store, so that
//! enrolled devices keep syncing: their tokens, push sequence numbers and
//! pull cursors stay valid, since every table is copied as it is, change
//! log positions included (see `cdht_server_db::portable`).
//!
//! The source server must be stopped; the target must be blank. The source
//! is only brought to what `serve` would make of it at start (this version's
//! schema, hashes kept plain by old servers keyed), its data left as it
//! was, so a failed move is simply run again on a blank target.

use crate::storage::portable::{Portable, Rows};
use crate::storage::{Stats, Storage};
use crate::{blobs, BlobsAt};
use futures_util::StreamExt;
use object_store::ObjectStore;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Why a move cannot go ahead: a stable code for the command line.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct MigrateError {
    pub code: &'static str,
    pub message: String,
}

fn refuse(code: &'static str, message: impl Into<String>) -> anyhow::Error {
    MigrateError {
        code,
        message: message.into(),
    }
    .into()
}

/// Where the data goes.
#[derive(Debug, Clone)]
pub enum Target {
    /// Another data directory (its SQLite file, and its `blobs/` unless
    /// `blobs` says otherwise).
    Sqlite(PathBuf),
    /// A PostgreSQL database (`postgres://…`), which several instances share;
    /// photos must then go to a bucket.
    Postgres(String),
}

impl Target {
    /// `--to`: a `postgres://` URL, or a folder.
    pub fn parse(to: &str) -> anyhow::Result<Self> {
        if to.starts_with("postgres://") || to.starts_with("postgresql://") {
            return Ok(Self::Postgres(to.to_owned()));
        }
        if to.contains("://") {
            return Err(refuse(
                "migrate_bad_target",
                "--to: write postgres://user@host/database, or a folder",
            ));
        }
        Ok(Self::Sqlite(PathBuf::from(to)))
    }
}

/// What was moved.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Moved {
    /// Rows copied, by table.
    pub rows: BTreeMap<String, u64>,
    /// Photo objects copied (finished photos and pieces of unfinished uploads).
    pub objects: u64,
    pub bytes: u64,
    /// The counters of the target after the move (equal to the source's).
    pub stats: Stats,
    /// What to do with the deployment's secret.
    pub secret: String,
}

/// A database that is both a [`Storage`] and [`Portable`].
trait Backend: Storage + Portable {}
impl<T: Storage + Portable> Backend for T {}

/// Copies the server in `from` (stopped) to `to`, photos to `blobs`.
pub async fn migrate(from: &Path, to: &Target, blobs_at: &BlobsAt) -> anyhow::Result<Moved> {
    let secret_file = from.join("secret.key");
    if !(from.join("cdht.sqlite3").is_file() && secret_file.is_file()) {
        return Err(refuse(
            "migrate_no_source",
            format!(
                "--from {}: no server's data here (cdht.sqlite3 and secret.key)",
                from.display()
            ),
        ));
    }
    let blobs_dir = match (to, blobs_at) {
        (Target::Sqlite(dir), _) => dir.clone(),
        (Target::Postgres(_), BlobsAt::S3 { .. }) => from.to_owned(),
        (Target::Postgres(_), BlobsAt::DataDir) => {
            return Err(refuse(
                "migrate_needs_bucket",
                "--to postgres://…: give --blobs s3://bucket/prefix too, where every \
                 instance will find the photos",
            ))
        }
    };
    let (from_dir, target) = (from.to_owned(), to.clone());
    // On the blocking pool: the PostgreSQL client runs a runtime of its own.
    let (rows, before, after) =
        tokio::task::spawn_blocking(move || copy_tables(&from_dir, &target)).await??;
    let (objects, bytes) = copy_blobs(
        blobs::open(from, &BlobsAt::DataDir)?,
        blobs::open(&blobs_dir, blobs_at)?,
    )
    .await?;
    if before != after {
        return Err(refuse(
            "migrate_counts_differ",
            format!("the copy does not count the same as the source: {before:?} → {after:?}"),
        ));
    }
    let secret = match to {
        Target::Sqlite(dir) => {
            let copy = dir.join("secret.key");
            if !copy.exists() {
                std::fs::copy(&secret_file, &copy)?;
                crate::make_owner_only(dir)?;
            }
            format!("copied to {}", copy.display())
        }
        Target::Postgres(_) => format!(
            "give every instance --secret-file {} (keep a copy offline)",
            secret_file.display()
        ),
    };
    Ok(Moved {
        rows,
        objects,
        bytes,
        stats: after,
        secret,
    })
}

/// Opens both databases, checks that the target is blank, streams every
/// table from one to the other; returns the rows copied by table, and both
/// sides' counters.
fn copy_tables(from: &Path, to: &Target) -> anyhow::Result<(BTreeMap<String, u64>, Stats, Stats)> {
    let source = crate::sqlite::SqliteStorage::open(from)?;
    // As `serve` does at start: the source's own secret must be the one its
    // hashes were made with, and hashes an old server kept plain (issue 9)
    // are keyed first, so no plain hash of a body holding a CCCD is copied.
    let secret = crate::read_secret(&from.join("secret.key"))?;
    crate::check_secret(&source, &secret)?;
    source.key_plain_hashes(&|plain| crate::keyed_hash(&secret, plain))?;
    let target: Box<dyn Backend> = match to {
        Target::Sqlite(dir) => {
            crate::create_private_dir(dir)?;
            Box::new(crate::sqlite::SqliteStorage::open(dir)?)
        }
        Target::Postgres(url) => Box::new(crate::postgres::PgStorage::open(url, 2)?),
    };
    if !target.is_blank()? {
        return Err(refuse(
            "migrate_target_not_blank",
            "the target already holds a server's data: move only into a blank database",
        ));
    }
    let mut rows = BTreeMap::new();
    source.export(&mut |chunk: Rows<'_>| {
        *rows.entry(chunk.table.to_owned()).or_insert(0) += chunk.rows.len() as u64;
        target.import(chunk)
    })?;
    target.finish_import()?;
    Ok((rows, source.stats()?, target.stats()?))
}

/// Copies every object of `from` to `to` (same keys), one at a time.
async fn copy_blobs(
    from: Arc<dyn ObjectStore>,
    to: Arc<dyn ObjectStore>,
) -> anyhow::Result<(u64, u64)> {
    let (mut objects, mut bytes) = (0, 0);
    let mut listing = from.list(None);
    while let Some(meta) = listing.next().await {
        let meta = meta?;
        let body = from.get(&meta.location).await?.bytes().await?;
        bytes += body.len() as u64;
        to.put(&meta.location, body.into()).await?;
        objects += 1;
    }
    Ok((objects, bytes))
}
