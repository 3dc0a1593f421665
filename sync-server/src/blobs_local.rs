//! The data folder's photo store, made durable. `object_store`'s local store
//! writes a file and renames it into place but never fsyncs, so after a power
//! cut a photo piece or a finished photo the server had answered for could be
//! empty or gone. An S3 bucket answers a put only once the object is stored;
//! here a put returns once the file and every folder naming it, up to the
//! store's root, are on disk.

use async_trait::async_trait;
use futures_util::stream::BoxStream;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{
    GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult, Result,
};
use std::path::PathBuf;

#[derive(Debug)]
pub struct DurableLocal {
    inner: LocalFileSystem,
    root: PathBuf,
}

impl DurableLocal {
    pub fn new(root: PathBuf) -> Result<Self> {
        let root = std::fs::canonicalize(&root).map_err(|e| object_store::Error::Generic {
            store: "LocalFileSystem",
            source: Box::new(e),
        })?;
        Ok(Self {
            inner: LocalFileSystem::new_with_prefix(&root)?,
            root,
        })
    }

    /// fsyncs the file at `location`, then its folder and each folder above
    /// it up to the root (a put may have made them, and a folder's entry is
    /// on disk only once the folder holding it is synced).
    async fn settle(&self, location: &ObjectPath) -> Result<()> {
        let file = self.inner.path_to_filesystem(location)?;
        let root = self.root.clone();
        let synced = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            std::fs::File::open(&file)?.sync_all()?;
            let mut folder = file.parent();
            while let Some(dir) = folder.filter(|d| d.starts_with(&root)) {
                std::fs::File::open(dir)?.sync_all()?;
                folder = dir.parent();
            }
            Ok(())
        })
        .await
        .map_err(|e| object_store::Error::JoinError { source: e })?;
        synced.map_err(|e| object_store::Error::Generic {
            store: "LocalFileSystem",
            source: Box::new(e),
        })
    }
}

impl std::fmt::Display for DurableLocal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DurableLocal({})", self.root.display())
    }
}

#[async_trait]
impl ObjectStore for DurableLocal {
    async fn put_opts(
        &self,
        location: &ObjectPath,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        let result = self.inner.put_opts(location, payload, opts).await?;
        self.settle(location).await?;
        Ok(result)
    }

    /// Not offered: its parts would reach the disk unsynced, and no photo
    /// is large enough to need one.
    async fn put_multipart_opts(
        &self,
        _location: &ObjectPath,
        _opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        Err(object_store::Error::NotImplemented)
    }

    async fn get_opts(&self, location: &ObjectPath, options: GetOptions) -> Result<GetResult> {
        self.inner.get_opts(location, options).await
    }

    async fn head(&self, location: &ObjectPath) -> Result<ObjectMeta> {
        self.inner.head(location).await
    }

    async fn delete(&self, location: &ObjectPath) -> Result<()> {
        self.inner.delete(location).await
    }

    fn list(&self, prefix: Option<&ObjectPath>) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    async fn list_with_delimiter(&self, prefix: Option<&ObjectPath>) -> Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy(&self, from: &ObjectPath, to: &ObjectPath) -> Result<()> {
        self.inner.copy(from, to).await?;
        self.settle(to).await
    }

    async fn rename(&self, from: &ObjectPath, to: &ObjectPath) -> Result<()> {
        self.inner.rename(from, to).await?;
        self.settle(to).await
    }

    async fn copy_if_not_exists(&self, from: &ObjectPath, to: &ObjectPath) -> Result<()> {
        self.inner.copy_if_not_exists(from, to).await?;
        self.settle(to).await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A put lands whole where the plain local store would put it (the same
    /// folder layout, so existing data folders read as before), and the
    /// store refuses what it could not make durable.
    #[tokio::test]
    async fn puts_land_where_the_local_store_reads_them() {
        let dir = tempfile::tempdir().unwrap();
        let store = DurableLocal::new(dir.path().to_path_buf()).unwrap();
        let path = ObjectPath::from("uploads/dev/abc/0000000000000000-00000003-n");
        store
            .put(&path, PutPayload::from_static(b"abc"))
            .await
            .unwrap();
        let on_disk = dir
            .path()
            .join("uploads/dev/abc/0000000000000000-00000003-n");
        assert_eq!(std::fs::read(on_disk).unwrap(), b"abc");
        let plain = LocalFileSystem::new_with_prefix(dir.path()).unwrap();
        let read = plain.get(&path).await.unwrap().bytes().await.unwrap();
        assert_eq!(&read[..], b"abc");
        assert!(matches!(
            store.put_multipart(&path).await,
            Err(object_store::Error::NotImplemented)
        ));
    }
}
