//! `cdht-server migrate-storage`: its flags, and the run.

use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The data directory of the server to move (stopped first).
    #[arg(long)]
    pub from: PathBuf,
    /// Where to: a new data directory.
    #[arg(long)]
    pub to: String,
    /// Where photos go: s3://bucket/prefix (credentials and endpoint from the
    /// AWS_* variables); by default the new data directory's blobs/.
    #[arg(long, env = "CDHT_BLOBS")]
    pub blobs: Option<String>,
}

pub fn run(args: MigrateArgs) -> anyhow::Result<String> {
    let target = cdht_server::migrate_storage::Target::parse(&args.to)?;
    let blobs = match args.blobs {
        Some(url) => cdht_server::BlobsAt::S3 {
            url,
            options: cdht_server::blobs::s3_options_from_env(),
        },
        None => cdht_server::BlobsAt::DataDir,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let moved = runtime.block_on(cdht_server::migrate_storage::migrate(
        &args.from, &target, &blobs,
    ))?;
    Ok(serde_json::to_string_pretty(&moved)?)
}
