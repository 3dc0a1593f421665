#![allow(clippy::unwrap_used)]
//! `serve --tls-cert/--tls-key`: the real server over HTTPS on 127.0.0.1,
//! with a self-signed certificate made for the test.

use cdht_server::{AppState, Config};
use std::path::Path;
use std::process::Command;

struct Cert {
    cert_pem: String,
    cert: String,
    key: String,
}

fn self_signed(dir: &Path) -> Cert {
    let made =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .unwrap();
    let cert_pem = made.cert.pem();
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    std::fs::write(&cert, &cert_pem).unwrap();
    std::fs::write(&key, made.key_pair.serialize_pem()).unwrap();
    Cert {
        cert_pem,
        cert: cert.to_str().unwrap().to_owned(),
        key: key.to_str().unwrap().to_owned(),
    }
}

#[tokio::test]
async fn healthz_over_https_with_a_trusted_self_signed_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let cert = self_signed(dir.path());
    let tls = cdht_server::tls::server_config(Path::new(&cert.cert), Path::new(&cert.key)).unwrap();
    let state = AppState::open(Config::new(dir.path().join("data"))).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(cdht_server::serve_tls(state, listener, tls));

    let root = || reqwest::Certificate::from_pem(cert.cert_pem.as_bytes()).unwrap();
    let trusting = reqwest::Client::builder()
        .add_root_certificate(root())
        .http1_only()
        .build()
        .unwrap();
    let url = format!("https://{addr}/healthz");
    let res = trusting.get(&url).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.version(), reqwest::Version::HTTP_11);
    let body = res.text().await.unwrap();
    assert!(!body.is_empty());
    // A client that speaks HTTP/2 gets it (the server offers h2 by ALPN; the
    // server's S3 client brings reqwest's http2 into this build).
    let h2 = reqwest::Client::builder()
        .add_root_certificate(root())
        .build()
        .unwrap();
    let res = h2.get(&url).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.version(), reqwest::Version::HTTP_2);

    // The API answers over HTTPS too (an unauthenticated pull is a clean 401).
    let res = trusting
        .get(format!("https://{addr}/api/v1/pull?since=0"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);

    // A client that does not trust the certificate is refused by TLS.
    let default = reqwest::Client::new();
    assert!(default.get(&url).send().await.is_err());
    // Plain HTTP to the HTTPS port gets no HTTP answer.
    let plain = default.get(format!("http://{addr}/healthz")).send().await;
    assert!(plain.map(|r| r.status() != 200).unwrap_or(true));
}

fn serve_error(args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut all = vec![
        "serve",
        "--data",
        data.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
    ];
    all.extend_from_slice(args);
    let out = Command::new(env!("CARGO_BIN_EXE_cdht-server"))
        .args(&all)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

#[test]
fn bad_certificate_files_are_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let cert = self_signed(dir.path());
    let missing = dir.path().join("missing.pem");
    let missing = missing.to_str().unwrap();

    let err = serve_error(&["--tls-cert", missing, "--tls-key", &cert.key]);
    assert!(
        err.starts_with("error [tls_cert]: cannot read the TLS certificate "),
        "{err}"
    );
    assert!(err.contains("missing.pem"), "{err}");

    let err = serve_error(&["--tls-cert", &cert.cert, "--tls-key", missing]);
    assert!(
        err.starts_with("error [tls_key]: cannot read the TLS private key "),
        "{err}"
    );

    // The key and certificate swapped.
    let err = serve_error(&["--tls-cert", &cert.key, "--tls-key", &cert.cert]);
    assert!(err.starts_with("error [tls_cert]: "), "{err}");

    // A key that belongs to another certificate.
    let other = tempfile::tempdir().unwrap();
    let other = self_signed(other.path());
    let err = serve_error(&["--tls-cert", &cert.cert, "--tls-key", &other.key]);
    assert!(err.starts_with("error [tls_key]: "), "{err}");
}
