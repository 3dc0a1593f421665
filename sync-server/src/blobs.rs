//! Evidence bytes, through the `object_store` API: the local file system
//! under `DIR/blobs`, or an S3-compatible bucket (`serve --blobs s3://…`).
//!
//! Each device uploads the photos it announced itself, so the pieces of an
//! unfinished upload are kept per device: each piece is its own object
//! `uploads/{device_id}/{sha256}/{offset:016}-{len:08}-{nonce}` (servers
//! before migration 8 kept them under `parts/{sha256}/`, see [`Parts`]). A
//! chunk cut half-way is a shorter piece, and two requests racing for the
//! same offset never write the same object (the one the database did not
//! count is deleted by its writer). A finished photo is
//! `evidence/{sha256[..2]}/{sha256}.jpg`, content-addressed: every device
//! that uploads the same bytes (checked against their sha256) stores the
//! same object again.

use crate::BlobsAt;
use futures_util::StreamExt;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::path::Path as ObjectPath;
use object_store::prefix::PrefixStore;
use object_store::{ObjectStore, PutPayload};
use std::sync::Arc;

pub fn open(data_dir: &std::path::Path, at: &BlobsAt) -> anyhow::Result<Arc<dyn ObjectStore>> {
    match at {
        BlobsAt::DataDir => {
            let root = data_dir.join("blobs");
            std::fs::create_dir_all(&root)?;
            Ok(Arc::new(crate::blobs_local::DurableLocal::new(root)?))
        }
        BlobsAt::S3 { url, options } => s3(url, options),
    }
}

/// `s3://bucket/prefix`: every object of this server under `prefix/`.
fn s3(url: &str, options: &[(String, String)]) -> anyhow::Result<Arc<dyn ObjectStore>> {
    let Some((bucket, prefix)) = url
        .strip_prefix("s3://")
        .map(|rest| rest.split_once('/').unwrap_or((rest, "")))
        .filter(|(bucket, _)| !bucket.is_empty())
    else {
        anyhow::bail!("--blobs {url:?}: write it as s3://bucket or s3://bucket/prefix");
    };
    let mut builder = AmazonS3Builder::new().with_bucket_name(bucket);
    for (key, value) in options {
        let key: AmazonS3ConfigKey = key
            .parse()
            .map_err(|e| anyhow::anyhow!("S3 setting {key:?}: {e}"))?;
        builder = builder.with_config(key, value);
    }
    let bucket = builder.build()?;
    let prefix = prefix.trim_matches('/');
    Ok(if prefix.is_empty() {
        Arc::new(bucket)
    } else {
        Arc::new(PrefixStore::new(bucket, prefix))
    })
}

/// Fails when the store cannot be read (a wrong bucket, endpoint or
/// credentials), so `serve` stops at once with the reason instead of
/// failing each upload later. A missing object is the good answer.
pub async fn check_reachable(store: &dyn ObjectStore) -> object_store::Result<()> {
    // A listing, not a HEAD: a HEAD's 404 cannot tell a missing bucket
    // from a missing object.
    store
        .list_with_delimiter(Some(&ObjectPath::from("cdht-reachable")))
        .await
        .map(|_| ())
}

/// The S3 settings in the environment, as `object_store` names them: every
/// `AWS_*` variable it knows (`AWS_ENDPOINT_URL`, `AWS_ALLOW_HTTP`,
/// `AWS_ACCESS_KEY_ID`, …), others ignored.
#[must_use]
pub fn s3_options_from_env() -> Vec<(String, String)> {
    std::env::vars()
        .filter(|(key, _)| key.starts_with("AWS_"))
        .map(|(key, value)| (key.to_ascii_lowercase(), value))
        .filter(|(key, _)| key.parse::<AmazonS3ConfigKey>().is_ok())
        .collect()
}

/// Where the pieces of one device's upload of one photo are kept.
#[derive(Debug, Clone)]
pub struct Parts(ObjectPath);

impl Parts {
    /// `legacy`: an upload a server before migration 8 started, whose pieces
    /// are under the photo alone (migration 8 credited it to one device).
    #[must_use]
    pub fn of(device: &str, sha256: &str, legacy: bool) -> Self {
        Self(ObjectPath::from(if legacy {
            format!("parts/{sha256}")
        } else {
            format!("uploads/{device}/{sha256}")
        }))
    }
}

#[must_use]
pub fn final_path(sha256: &str) -> ObjectPath {
    ObjectPath::from(format!("evidence/{}/{sha256}.jpg", &sha256[..2]))
}

/// Stores the bytes of one piece starting at `offset`; returns its object,
/// for [`delete_part`] when the database does not count it.
pub async fn put_part(
    store: &dyn ObjectStore,
    parts: &Parts,
    offset: u64,
    bytes: bytes::Bytes,
) -> anyhow::Result<ObjectPath> {
    let nonce = hex::encode(crate::random_bytes::<8>()?);
    let path = parts
        .0
        .child(format!("{offset:016}-{:08}-{nonce}", bytes.len()));
    store
        .put(&path, PutPayload::from_bytes(bytes))
        .await
        .map(|_| ())?;
    Ok(path)
}

pub async fn delete_part(store: &dyn ObjectStore, path: &ObjectPath) {
    let _ = store.delete(path).await;
}

/// Why assembled bytes were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Ok,
    HashMismatch,
    NotJpeg,
    /// A JPEG whose frame is empty or too large ([`crate::jpeg`]).
    BadSize,
}

/// Checks bytes against the announced photo: its hash, then that it is a
/// JPEG (read up to its frame header) of a sane size.
fn verdict(data: &[u8], sha256: &str, size: u64) -> Verdict {
    if data.len() as u64 != size || crate::sha256_hex(data) != sha256 {
        return Verdict::HashMismatch;
    }
    match crate::jpeg::check(data) {
        crate::jpeg::JpegCheck::Photo { .. } => Verdict::Ok,
        crate::jpeg::JpegCheck::NotJpeg => Verdict::NotJpeg,
        crate::jpeg::JpegCheck::BadSize { .. } => Verdict::BadSize,
    }
}

/// The pieces of an upload as (offset, object), read from their names.
/// Pieces of older versions are named by their offset alone.
async fn list_parts(
    store: &dyn ObjectStore,
    parts: &Parts,
) -> object_store::Result<Vec<(u64, u64, ObjectPath)>> {
    let mut list = store.list(Some(&parts.0));
    let mut parts = Vec::new();
    while let Some(meta) = list.next().await {
        let meta = meta?;
        let Some(name) = meta.location.filename() else {
            continue;
        };
        let Some(offset) = name.split('-').next().and_then(|o| o.parse::<u64>().ok()) else {
            continue;
        };
        parts.push((offset, meta.size, meta.location));
    }
    // Longest first at an offset: fewer reads to cover the photo.
    parts.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    Ok(parts)
}

/// Puts the photo together from one upload's pieces, checks it, and keeps
/// it as the final object. Pieces may overlap (a cut piece and its resend,
/// two racing requests): each adds only the bytes past what is already
/// joined, and the sha256 of the whole decides. The upload's own bytes are
/// always checked, even when the photo is already stored from another
/// device's upload: a device gets access only by sending the bytes. The
/// pieces are left for the caller to delete once the database agrees
/// ([`delete_parts`]), so a completion cut short can run again from them.
pub async fn assemble(
    store: &dyn ObjectStore,
    parts: &Parts,
    sha256: &str,
    size: u64,
) -> object_store::Result<Verdict> {
    let mut data = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    for (offset, len, path) in list_parts(store, parts).await? {
        let have = data.len() as u64;
        if have >= size || offset > have {
            break;
        }
        if offset + len <= have {
            continue;
        }
        let part = store.get(&path).await?.bytes().await?;
        let skip = usize::try_from(have - offset).unwrap_or(usize::MAX);
        if let Some(tail) = part.get(skip..) {
            data.extend_from_slice(tail);
        }
    }
    let verdict = verdict(&data, sha256, size);
    if verdict == Verdict::Ok {
        store
            .put(&final_path(sha256), PutPayload::from(data))
            .await?;
    }
    Ok(verdict)
}

/// Best effort: a left-over part wastes disk, nothing else.
pub async fn delete_parts(store: &dyn ObjectStore, parts: &Parts) {
    let Ok(parts) = list_parts(store, parts).await else {
        return;
    };
    for (_, _, path) in parts {
        let _ = store.delete(&path).await;
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
