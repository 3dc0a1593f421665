//! `cdht-server migrate-storage`: moves a single-machine server (its SQLite
//! file and its photo folder) to another database and photo store, so that
//! enrolled devices keep syncing: their tokens, push sequence numbers and
//! pull cursors stay valid, since every table is copied as it is, change
//! log positions included (see `cdht_server_db::portable`).
//!
//! The source server must be stopped; the target must be blank. The source
//! is only brought to this version's schema (as `serve` would do), its data
//! left as it was, so a failed move is simply run again on a blank target.

use crate::storage::portable::{Portable, Rows};
use crate::storage::{Stats, Storage};
use crate::{blobs, BlobsAt};
use futures_util::StreamExt;
use object_store::ObjectStore;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where the data goes.
#[derive(Debug, Clone)]
pub enum Target {
    /// Another data directory (its SQLite file, and its `blobs/` unless
    /// `blobs` says otherwise).
    Sqlite(PathBuf),
}

impl Target {
    /// `--to`: a folder.
    pub fn parse(to: &str) -> anyhow::Result<Self> {
        if to.starts_with("postgres://") || to.starts_with("postgresql://") {
            anyhow::bail!(
                "--to {to}: this server has no PostgreSQL backend yet; give a folder to move to"
            );
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
    anyhow::ensure!(
        from.join("cdht.sqlite3").is_file() && secret_file.is_file(),
        "--from {}: no server's data here (cdht.sqlite3 and secret.key)",
        from.display()
    );
    let source = crate::sqlite::SqliteStorage::open(from)?;
    let (target, blobs_dir): (Arc<dyn Backend>, &Path) = match to {
        Target::Sqlite(dir) => {
            crate::create_private_dir(dir)?;
            (Arc::new(crate::sqlite::SqliteStorage::open(dir)?), dir)
        }
    };
    anyhow::ensure!(
        target.is_blank()?,
        "the target already holds a server's data: move only into a blank database"
    );
    let rows = copy_tables(&source, target.clone()).await?;
    let (objects, bytes) = copy_blobs(
        blobs::open(from, &BlobsAt::DataDir)?,
        blobs::open(blobs_dir, blobs_at)?,
    )
    .await?;
    let (before, after) = (source.stats()?, target.stats()?);
    anyhow::ensure!(
        before == after,
        "the copy does not count the same as the source: {before:?} → {after:?}"
    );
    let secret = match to {
        Target::Sqlite(dir) => {
            let copy = dir.join("secret.key");
            if !copy.exists() {
                std::fs::copy(&secret_file, &copy)?;
                crate::make_owner_only(dir)?;
            }
            format!("copied to {}", copy.display())
        }
    };
    Ok(Moved {
        rows,
        objects,
        bytes,
        stats: after,
        secret,
    })
}

/// Streams every table from `source` into `target` on the blocking pool.
async fn copy_tables(
    source: &crate::sqlite::SqliteStorage,
    target: Arc<dyn Backend>,
) -> anyhow::Result<BTreeMap<String, u64>> {
    let mut rows = BTreeMap::new();
    tokio::task::block_in_place(|| -> anyhow::Result<()> {
        source.export(&mut |chunk: Rows<'_>| {
            *rows.entry(chunk.table.to_owned()).or_insert(0) += chunk.rows.len() as u64;
            target.import(chunk)
        })?;
        target.finish_import()?;
        Ok(())
    })?;
    Ok(rows)
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
