//! TLS to the database. Several instances reach their PostgreSQL over a
//! network, and the rows that cross it name people. The URL says it the way
//! libpq does, so an operator writes what they already know:
//!
//! - `sslmode=require` (also `verify-ca` and `verify-full`): TLS, with the
//!   server's certificate always checked in full: valid for the URL's host
//!   and chained to a trusted root. A certificate that is only "there" would
//!   let anyone on the path read the rows.
//! - `sslrootcert=FILE`: the roots to trust, as PEM (a province's own CA);
//!   without it, the system's trusted roots.
//! - `sslmode=prefer` (libpq's default when none is given) or `disable`: no
//!   TLS. A link that falls back to plain text whenever TLS fails protects
//!   nothing, so TLS is asked for explicitly, never merely tried.

use crate::{Error, Result};
use postgres::config::SslMode;
use std::path::Path;
use tokio_postgres_rustls::MakeRustlsConnect;

/// `url` as the client's settings and the TLS connector they use.
pub(crate) fn parse(url: &str) -> Result<(postgres::Config, MakeRustlsConnect)> {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut kept = Vec::new();
    let mut root_cert = None;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("sslrootcert", file)) => root_cert = Some(percent_decoded(file)),
            // Always checked in full here (see the module's comment).
            Some(("sslmode", "verify-ca" | "verify-full")) => kept.push("sslmode=require"),
            _ => kept.push(pair),
        }
    }
    let url = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    let mut config: postgres::Config = url.parse()?;
    if config.get_ssl_mode() == SslMode::Prefer {
        config.ssl_mode(SslMode::Disable);
    }
    // Read only when TLS is asked for: the system's roots take a while to
    // load, and a plain link uses none.
    let roots = match (config.get_ssl_mode(), &root_cert) {
        (SslMode::Disable, _) => rustls::RootCertStore::empty(),
        (_, Some(file)) => roots_from(Path::new(file))?,
        (_, None) => system_roots(),
    };
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok((config, MakeRustlsConnect::new(tls)))
}

/// The certificates of a PEM file, each a root to trust.
fn roots_from(file: &Path) -> Result<rustls::RootCertStore> {
    use rustls::pki_types::pem::PemObject;
    let unreadable =
        |e: &dyn std::fmt::Display| Error::Tls(format!("sslrootcert {}: {e}", file.display()));
    let mut roots = rustls::RootCertStore::empty();
    for cert in
        rustls::pki_types::CertificateDer::pem_file_iter(file).map_err(|e| unreadable(&e))?
    {
        roots
            .add(cert.map_err(|e| unreadable(&e))?)
            .map_err(|e| unreadable(&e))?;
    }
    if roots.is_empty() {
        return Err(unreadable(&"no certificate in the file"));
    }
    Ok(roots)
}

/// The system's trusted roots; one it cannot read is left out (the others
/// still work, and a server no root vouches for is refused anyway).
fn system_roots() -> rustls::RootCertStore {
    let mut roots = rustls::RootCertStore::empty();
    let found = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(found.certs);
    roots
}

/// `%2F` and the like in a URL's value (a path may hold them).
fn percent_decoded(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn libpq_words_map_to_tls_asked_for_or_not_at_all() {
        let mode = |url: &str| parse(url).unwrap().0.get_ssl_mode();
        assert_eq!(mode("postgres://u@h/db"), SslMode::Disable);
        assert_eq!(mode("postgres://u@h/db?sslmode=prefer"), SslMode::Disable);
        assert_eq!(mode("postgres://u@h/db?sslmode=disable"), SslMode::Disable);
        assert_eq!(mode("postgres://u@h/db?sslmode=require"), SslMode::Require);
        assert_eq!(
            mode("postgres://u@h/db?sslmode=verify-full"),
            SslMode::Require
        );
        assert_eq!(
            mode("postgres://u@h/db?sslmode=verify-ca&connect_timeout=5"),
            SslMode::Require
        );
    }

    #[test]
    fn a_root_file_that_is_missing_or_empty_is_one_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("ca.pem");
        let url = format!(
            "postgres://u@h/db?sslmode=require&sslrootcert={}",
            missing.display()
        );
        let err = parse(&url).err().unwrap().to_string();
        assert!(
            err.contains("sslrootcert") && err.contains("ca.pem"),
            "{err}"
        );
        std::fs::write(&missing, "not a certificate\n").unwrap();
        let err = parse(&url).err().unwrap().to_string();
        assert!(err.contains("no certificate"), "{err}");
    }

    #[test]
    fn percent_escapes_in_the_root_file_are_read() {
        assert_eq!(
            percent_decoded("%2Fetc%2Fcdht%20ca.pem"),
            "/etc/cdht ca.pem"
        );
        assert_eq!(percent_decoded("/plain/path%"), "/plain/path%");
    }
}
