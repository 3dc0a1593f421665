//! Evidence bytes, through the `object_store` API: the local file system
//! under `DIR/blobs` today; an S3-compatible store can replace it.
//!
//! Chunks of an unfinished upload are objects `parts/{sha256}/{offset}`;
//! a finished photo is `evidence/{sha256[..2]}/{sha256}.jpg`.

use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, PutPayload};
use std::sync::Arc;

pub fn open(data_dir: &std::path::Path) -> anyhow::Result<Arc<dyn ObjectStore>> {
    let root = data_dir.join("blobs");
    std::fs::create_dir_all(&root)?;
    Ok(Arc::new(LocalFileSystem::new_with_prefix(root)?))
}

#[must_use]
pub fn part_path(sha256: &str, offset: u64) -> ObjectPath {
    ObjectPath::from(format!("parts/{sha256}/{offset:016}"))
}

#[must_use]
pub fn final_path(sha256: &str) -> ObjectPath {
    ObjectPath::from(format!("evidence/{}/{sha256}.jpg", &sha256[..2]))
}

pub async fn put_part(
    store: &dyn ObjectStore,
    sha256: &str,
    offset: u64,
    bytes: bytes::Bytes,
) -> object_store::Result<()> {
    store
        .put(&part_path(sha256, offset), PutPayload::from_bytes(bytes))
        .await
        .map(|_| ())
}

/// Why assembled bytes were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Ok,
    HashMismatch,
    NotJpeg,
}

/// Joins the chain of parts from offset 0 to `size`, checks it, and keeps it
/// as the final object. The parts are deleted either way.
pub async fn assemble(
    store: &dyn ObjectStore,
    sha256: &str,
    size: u64,
) -> object_store::Result<Verdict> {
    let mut data = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    let mut offset = 0u64;
    while offset < size {
        let part = store.get(&part_path(sha256, offset)).await?.bytes().await?;
        if part.is_empty() {
            break;
        }
        offset += part.len() as u64;
        data.extend_from_slice(&part);
    }
    let verdict = if data.len() as u64 != size || crate::sha256_hex(&data) != sha256 {
        Verdict::HashMismatch
    } else if !data.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Verdict::NotJpeg
    } else {
        Verdict::Ok
    };
    if verdict == Verdict::Ok {
        store
            .put(&final_path(sha256), PutPayload::from(data))
            .await?;
    }
    delete_parts(store, sha256).await;
    Ok(verdict)
}

/// Best effort: a left-over part wastes disk, nothing else.
pub async fn delete_parts(store: &dyn ObjectStore, sha256: &str) {
    use futures_util::StreamExt;
    let prefix = ObjectPath::from(format!("parts/{sha256}"));
    let mut list = store.list(Some(&prefix));
    let mut paths = Vec::new();
    while let Some(Ok(meta)) = list.next().await {
        paths.push(meta.location);
    }
    for p in paths {
        let _ = store.delete(&p).await;
    }
}

/// The bytes of a finished photo, as a stream (a photo is never held whole
/// in memory to be sent).
pub async fn open_final(
    store: &dyn ObjectStore,
    sha256: &str,
) -> object_store::Result<
    futures_util::stream::BoxStream<'static, object_store::Result<bytes::Bytes>>,
> {
    Ok(store.get(&final_path(sha256)).await?.into_stream())
}
