#![allow(clippy::unwrap_used)]
//! A server under a private CA: untrusted is its own error (not "offline");
//! trusting its root certificate (PEM) makes enrolment and sync work.

mod support;

use cdht_server::{AppState, Config};
use cdht_store::Store;
use cdht_sync_engine::{ServerConfig, SyncEngine, SyncErrorKind};
use std::path::Path;
use support::*;

#[tokio::test]
async fn a_private_ca_is_trusted_only_when_given_and_its_failure_is_not_offline() {
    let dir = tempfile::tempdir().unwrap();
    let made =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .unwrap();
    let cert_pem = made.cert.pem();
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    std::fs::write(&cert, &cert_pem).unwrap();
    std::fs::write(&key, made.key_pair.serialize_pem()).unwrap();
    let tls = cdht_server::tls::server_config(Path::new(&cert), Path::new(&key)).unwrap();
    let state = AppState::open(Config::new(dir.path().join("data"))).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}", listener.local_addr().unwrap());
    let demo = init_demo(&state, &url).await;
    tokio::spawn(cdht_server::serve_tls(state.clone(), listener, tls));
    let qr = demo
        .units
        .iter()
        .find(|u| u.code == UNIT)
        .unwrap()
        .qr_url
        .clone();
    assert!(qr.starts_with("https://"));

    // Without the root: CertificateUntrusted, with its own Vietnamese message.
    let device = tempfile::tempdir().unwrap();
    let mut engine =
        SyncEngine::new(Store::open_with_key_file(device.path()).unwrap(), config()).unwrap();
    let err = engine.enrol_from_qr(&qr).await.unwrap_err();
    assert_eq!(err.kind(), SyncErrorKind::CertificateUntrusted, "{err}");
    assert!(!err.is_retry_later());
    assert_eq!(err.as_code(), cdht_core::Code::CertificateUntrusted);
    drop(engine);

    // A PEM with no certificate is refused up front.
    let bad = ServerConfig {
        extra_roots_pem: vec![b"not a certificate".to_vec()],
        ..config()
    };
    let mut engine =
        SyncEngine::new(Store::open_with_key_file(device.path()).unwrap(), bad).unwrap();
    let err = engine.enrol_from_qr(&qr).await.unwrap_err();
    assert_eq!(err.kind(), SyncErrorKind::CertificateUntrusted, "{err}");
    drop(engine);

    // With the root: enrol and sync over HTTPS.
    let trusting = ServerConfig {
        extra_roots_pem: vec![cert_pem.into_bytes()],
        ..config()
    };
    let mut engine =
        SyncEngine::new(Store::open_with_key_file(device.path()).unwrap(), trusting).unwrap();
    engine.enrol_from_qr(&qr).await.unwrap();
    collect(
        engine.store_mut(),
        "Ngô Thị Lý",
        "244-2022",
        &[photo(3, 9000)],
    );
    let report = engine.sync_once(|_| {}).await.unwrap();
    assert_eq!((report.acked, report.photos_uploaded), (3, 1));
    assert_eq!(stats(&state).await.blobs_complete, 1);
}
