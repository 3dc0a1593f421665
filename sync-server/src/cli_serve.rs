//! `cdht-server serve`: its flags and its start.

use crate::cli_error::Coded;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct ServeArgs {
    /// The data directory (created if missing).
    #[arg(long, env = "CDHT_DATA")]
    pub data: PathBuf,
    /// The address to listen on.
    #[arg(long, env = "CDHT_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// The largest evidence photo accepted, in MiB.
    #[arg(long, env = "CDHT_MAX_EVIDENCE_MB", default_value_t = 10)]
    pub max_evidence_mb: u64,
    /// Serve HTTPS with this PEM certificate chain (needs --tls-key); plain HTTP without.
    #[arg(long, env = "CDHT_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, env = "CDHT_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// A reverse proxy's address whose X-Forwarded-For is believed for rate
    /// limiting (repeat, or a comma-separated list); the header is ignored
    /// from anybody else.
    #[arg(
        long = "trusted-proxy",
        env = "CDHT_TRUSTED_PROXY",
        value_delimiter = ','
    )]
    pub trusted_proxy: Vec<std::net::IpAddr>,
    /// Where people download the app (a store page or an APK link), shown
    /// on each unit's page (`/j/UNIT`).
    #[arg(long, env = "CDHT_APP_URL")]
    pub app_url: Option<String>,
    /// Keep evidence photos in an S3-compatible bucket, s3://bucket/prefix,
    /// instead of DIR/blobs (credentials and endpoint from the AWS_*
    /// variables, e.g. AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID,
    /// AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ALLOW_HTTP=true).
    #[arg(long, env = "CDHT_BLOBS")]
    pub blobs: Option<String>,
    /// The key of the CCCDs' keyed hash (64 hex characters), the same file
    /// for every instance of a deployment; default DIR/secret.key, made at
    /// the first start. The other commands read CDHT_SECRET_FILE.
    #[arg(long, env = "CDHT_SECRET_FILE")]
    pub secret_file: Option<PathBuf>,
}

/// `--database` and `--db-pool`, flags of every command (main.rs).
static DATABASE: std::sync::OnceLock<(Option<String>, u32)> = std::sync::OnceLock::new();

/// Keeps the global database flags for [`config_of`].
pub fn set_database(url: Option<String>, pool: u32) {
    let _ = DATABASE.set((url, pool));
}

/// The settings every command shares: the data folder, the secret file of a
/// deployment of several instances (CDHT_SECRET_FILE), and the database.
pub fn config_of(data: PathBuf) -> cdht_server::Config {
    let mut config = cdht_server::Config::new(data);
    config.secret_file = std::env::var_os("CDHT_SECRET_FILE").map(PathBuf::from);
    if let Some((url, pool)) = DATABASE.get() {
        config.database.clone_from(url);
        config.db_pool = *pool;
    }
    config
}

/// `serve`: checks what it can before starting, then serves until Ctrl+C
/// or SIGTERM.
pub fn run(args: ServeArgs) -> anyhow::Result<String> {
    let ServeArgs {
        data,
        listen,
        max_evidence_mb,
        tls_cert,
        tls_key,
        trusted_proxy: trusted_proxies,
        app_url,
        blobs,
        secret_file,
    } = args;
    let listen = listen.as_str();
    let tls = tls_cert.zip(tls_key);
    if let Some(url) = &app_url {
        let ok = (url.starts_with("https://") || url.starts_with("http://"))
            && !url.contains(['"', '<', '>', ' ']);
        if !ok {
            return Err(Coded {
                code: "bad_app_url",
                message: format!("--app-url {url:?}: write it as https://host/path"),
            }
            .into());
        }
    }
    // The certificate is checked before anything starts, so a wrong path is one line.
    let tls = tls
        .map(|(cert, key)| cdht_server::tls::server_config(&cert, &key))
        .transpose()?;
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CDHT_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let mut config = config_of(data);
    config.secret_file = secret_file;
    config.max_evidence_bytes = max_evidence_mb.saturating_mul(1024 * 1024);
    config.trusted_proxies = trusted_proxies;
    config.app_url = app_url;
    if let Some(url) = blobs {
        config.blobs = cdht_server::BlobsAt::S3 {
            url,
            options: cdht_server::blobs::s3_options_from_env(),
        };
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        // Sized by the pool: a larger --db-pool would otherwise wait on threads.
        .max_blocking_threads(cdht_server::blocking_threads(config.db_pool))
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let state = cdht_server::AppState::open(config)?;
        cdht_server::blobs::check_reachable(state.blobs.as_ref())
            .await
            .map_err(|e| Coded {
                code: "blobs_unreachable",
                message: format!(
                    "the evidence store cannot be read; check the bucket and the AWS_* \
                     variables (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, \
                     AWS_REGION, AWS_ALLOW_HTTP=true for plain HTTP): {e}"
                ),
            })?;
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| Coded {
                code: "bad_listen",
                message: format!("cannot listen on {listen}: {e}"),
            })?;
        let addr = listener.local_addr()?;
        if let Some(tls) = tls {
            eprintln!("cdht-server listening on https://{addr}");
            cdht_server::serve_tls_until(state, listener, tls, cdht_server::ctrl_c_or_sigterm())
                .await?;
        } else {
            eprintln!("cdht-server listening on http://{addr}");
            cdht_server::serve_until(state, listener, cdht_server::ctrl_c_or_sigterm()).await?;
        }
        anyhow::Ok(())
    })?;
    Ok(r#"{"stopped": true}"#.to_owned())
}
