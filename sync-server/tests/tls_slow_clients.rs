#![allow(clippy::unwrap_used)]
//! Slow and silent clients of the HTTPS listener (issue 9, item 7), as
//! `slow_clients.rs` does for plain HTTP: a connection that never starts its
//! TLS handshake, trickles it, or completes it and then sends half its
//! headers or sits idle after a request is closed; connections beyond the
//! cap wait; and a phone uploading slowly but steadily over TLS for longer
//! than the idle and handshake timeouts is never cut.
//!
//! The timeouts are scaled down (idle 0.7 s, handshake 1.5 s, against 60 s
//! and 30 s in service) and so is the upload: 2 KB every 150 ms, the rate
//! of a 2G link, for more than three idle timeouts, as a 256 KiB chunk on
//! such a link moves bytes for about 20 s against a 60 s timeout.

mod support;

use cdht_sync_client::sha256_hex;
use rustls::pki_types::{CertificateDer, ServerName};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::*;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

const IDLE: Duration = Duration::from_millis(700);
const HANDSHAKE: Duration = Duration::from_millis(1500);

/// The HTTPS listener on the same server state, with a self-signed
/// certificate; a client configuration that trusts it.
struct Https {
    addr: String,
    client: Arc<rustls::ClientConfig>,
    cert_pem: String,
    _dir: tempfile::TempDir,
}

async fn https(server: &TestServer) -> Https {
    let dir = tempfile::tempdir().unwrap();
    let made =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, made.cert.pem()).unwrap();
    std::fs::write(&key, made.key_pair.serialize_pem()).unwrap();
    let tls = cdht_server::tls::server_config(Path::new(&cert), Path::new(&key)).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(cdht_server::serve_tls(server.state.clone(), listener, tls));
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from(made.cert.der().to_vec()))
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Https {
        addr,
        client: Arc::new(client),
        cert_pem: made.cert.pem(),
        _dir: dir,
    }
}

impl Https {
    async fn connect(&self) -> tokio_rustls::client::TlsStream<TcpStream> {
        let tcp = TcpStream::connect(&self.addr).await.unwrap();
        TlsConnector::from(Arc::clone(&self.client))
            .connect(ServerName::try_from("localhost").unwrap(), tcp)
            .await
            .unwrap()
    }

    /// The first flight of a TLS handshake to this server: a ClientHello.
    fn client_hello(&self) -> Vec<u8> {
        let mut hello = rustls::ClientConnection::new(
            Arc::clone(&self.client),
            ServerName::try_from("localhost").unwrap(),
        )
        .unwrap();
        let mut bytes = Vec::new();
        hello.write_tls(&mut bytes).unwrap();
        bytes
    }
}

/// Reads until the server closes the connection (or fails it); how long
/// that took. Panics after 5 s (the server kept it open).
async fn until_closed<S: AsyncRead + Unpin>(stream: &mut S) -> Duration {
    let started = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return started.elapsed(),
            Ok(Ok(_)) => {}
            Err(_) => panic!("the server kept a silent connection open"),
        }
    }
}

#[tokio::test]
async fn silent_tls_connections_are_closed_and_a_slow_steady_upload_is_not() {
    let server = start_with(|c| {
        c.idle_timeout = IDLE;
        c.tls_handshake_timeout = HANDSHAKE;
        c.max_connections = 4;
    })
    .await;
    let tls = https(&server).await;

    // A TCP connection that never says hello: closed.
    let mut mute = TcpStream::connect(&tls.addr).await.unwrap();
    until_closed(&mut mute).await;

    // A ClientHello trickled a byte every 200 ms: bytes keep moving, so only
    // the handshake deadline closes it, long before the hello is done.
    let hello = tls.client_hello();
    let trickle = TcpStream::connect(&tls.addr).await.unwrap();
    trickle.set_nodelay(true).unwrap();
    let (mut from_server, mut to_server) = trickle.into_split();
    let writer = tokio::spawn(async move {
        let mut sent = 0;
        for byte in hello {
            if to_server.write_all(&[byte]).await.is_err() {
                break;
            }
            sent += 1;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        sent
    });
    let closed_after = until_closed(&mut from_server).await;
    assert!(
        closed_after >= HANDSHAKE - Duration::from_millis(100),
        "{closed_after:?}"
    );
    writer.abort();

    // A handshake, then half the headers and silence: closed.
    let mut half = tls.connect().await;
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    half.flush().await.unwrap();
    until_closed(&mut half).await;

    // A finished request on a keep-alive connection, then silence: closed.
    let mut idle = tls.connect().await;
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    idle.flush().await.unwrap();
    until_closed(&mut idle).await;

    // A photo chunk sent 2 KB every 150 ms for longer than three idle
    // timeouts and the handshake deadline: it keeps moving, so it completes.
    let device = server.device("DEMO-X1-C1").await;
    let photo_bytes = photo(43, 36_000);
    announce_photos(&device, 1, "Sùng A Páo", std::slice::from_ref(&photo_bytes)).await;
    let sha = sha256_hex(&photo_bytes);
    let mut slow = tls.connect().await;
    let head = format!(
        "PUT /api/v1/evidence/{sha}?offset=0 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/octet-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        device.token().unwrap(),
        photo_bytes.len()
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    for piece in photo_bytes.chunks(2048) {
        tokio::time::sleep(Duration::from_millis(150)).await;
        slow.write_all(piece).await.unwrap();
        slow.flush().await.unwrap();
    }
    assert!(started.elapsed() > IDLE * 3 && started.elapsed() > HANDSHAKE);
    let mut answer = Vec::new();
    // The server may end TLS without close_notify after `Connection: close`.
    let _ = slow.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"complete\":true"), "{answer}");
}

#[tokio::test]
async fn tls_connections_beyond_the_cap_wait_for_a_free_one() {
    let server = start_with(|c| {
        c.idle_timeout = IDLE;
        c.tls_handshake_timeout = Duration::from_secs(30);
        c.max_connections = 2;
    })
    .await;
    let tls = https(&server).await;
    // Two clients take both slots and never start their handshake.
    let mut hogs = Vec::new();
    for _ in 0..2 {
        hogs.push(TcpStream::connect(&tls.addr).await.unwrap());
    }
    // A third is served only once the silent ones are closed for idleness
    // (it cannot have been served sooner: both slots were taken).
    let trusting = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(tls.cert_pem.as_bytes()).unwrap())
        .build()
        .unwrap();
    let asked = Instant::now();
    let answer = trusting
        .get(format!("https://{}/healthz", tls.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 200);
    assert!(asked.elapsed() >= IDLE / 2, "served while the cap was full");
    for mut hog in hogs {
        until_closed(&mut hog).await;
    }
}
