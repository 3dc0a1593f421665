//! `serve --tls-cert FILE --tls-key FILE`: HTTPS with rustls (ring), from
//! PEM files. Each way a certificate or key can be wrong gives one clear
//! line, checked before the server starts listening.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::Path;
use std::sync::Arc;

/// A certificate or key that cannot be used, with a stable code.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct TlsError {
    /// `tls_cert` or `tls_key`.
    pub code: &'static str,
    pub message: String,
}

fn cert_error(message: String) -> TlsError {
    TlsError {
        code: "tls_cert",
        message,
    }
}

fn key_error(message: String) -> TlsError {
    TlsError {
        code: "tls_key",
        message,
    }
}

/// Reads a PEM certificate chain and its private key into a rustls server
/// configuration (HTTP/2 and HTTP/1.1 offered by ALPN).
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let cert_pem = std::fs::read(cert).map_err(|e| {
        cert_error(format!(
            "cannot read the TLS certificate {}: {e}",
            cert.display()
        ))
    })?;
    let key_pem = std::fs::read(key).map_err(|e| {
        key_error(format!(
            "cannot read the TLS private key {}: {e}",
            key.display()
        ))
    })?;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| {
            cert_error(format!(
                "{} is not a PEM certificate file: {e}",
                cert.display()
            ))
        })?;
    if chain.is_empty() {
        return Err(cert_error(format!(
            "{} holds no certificate (expected -----BEGIN CERTIFICATE-----)",
            cert.display()
        )));
    }
    let private_key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| {
        key_error(format!(
            "{} holds no usable PEM private key (PKCS#8, PKCS#1 or SEC1): {e}",
            key.display()
        ))
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| cert_error(format!("TLS set-up: {e}")))?
        .with_no_client_auth()
        .with_single_cert(chain, private_key)
        .map_err(|e| {
            key_error(format!(
                "the key {} does not fit the certificate {}: {e}",
                key.display(),
                cert.display()
            ))
        })?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
