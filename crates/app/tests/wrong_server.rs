#![allow(clippy::unwrap_used)]
//! A wrong server address, with real sockets on 127.0.0.1: a join checks the
//! server when it can (a CDHT server passes, a web page that is not CDHT and
//! a port where nothing listens are refused with their codes, a server too
//! slow to answer lets the offline join through), and a join stored anyway
//! shows on the sync screen as what it is, not as "waiting for a network".

use cdht_app::background::{spawn_sync_thread, SyncShared, SyncState};
use cdht_app::{check_join_server, join_payload_typed, App};
use cdht_core::qr::JoinPayload;
use cdht_sync_engine::{ServerConfig, SyncErrorKind};
use cdht_test_support::server::start;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const UNIT: &str = "DEMO-X1-C1";

/// A web server that answers every request with a router's login page.
async fn router_page() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                read_request(&mut socket).await;
                let page = "<html><body>Router login</body></html>";
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\n\
                     connection: close\r\n\r\n{page}",
                    page.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
            });
        }
    });
    url
}

/// Reads one request to its end (headers, then `content-length` bytes), so
/// that answering and closing does not reset a client still sending.
async fn read_request(socket: &mut tokio::net::TcpStream) {
    let mut seen = Vec::new();
    let mut buf = [0_u8; 4096];
    loop {
        let Ok(n) = socket.read(&mut buf).await else {
            return;
        };
        if n == 0 {
            return;
        }
        seen.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&seen).to_ascii_lowercase();
        if let Some(end) = text.find("\r\n\r\n") {
            let body_len = text
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if seen.len() >= end + 4 + body_len {
                return;
            }
        }
    }
}

/// An address where nothing listens (a port just freed).
async fn closed_port() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    url
}

/// A server that accepts connections and never answers: a link too slow to
/// tell anything, as on 2G.
async fn silent_server() -> (String, TcpListener) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    (
        format!("http://{}", listener.local_addr().unwrap()),
        listener,
    )
}

fn payload_for(server: &str) -> JoinPayload {
    join_payload_typed(server, UNIT, "ABCD-EFGH-JKMN").unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_join_is_refused_only_where_the_answer_proves_the_address_wrong() {
    let config = ServerConfig::default();

    let cdht = start().await;
    check_join_server(&cdht.qr(UNIT), &config).await.unwrap();

    let router = router_page().await;
    let err = check_join_server(&payload_for(&router), &config)
        .await
        .unwrap_err();
    assert_eq!(err.kind, "join_not_cdht", "{err:?}");
    assert_eq!(*err.code, cdht_core::Code::JoinNotCdht, "{err:?}");

    let closed = closed_port().await;
    let err = check_join_server(&payload_for(&closed), &config)
        .await
        .unwrap_err();
    assert_eq!(err.kind, "join_server_not_answering", "{err:?}");

    // Too slow to tell (the check's timeout): the join goes through offline.
    let (silent, _listener) = silent_server().await;
    check_join_server(&payload_for(&silent), &config)
        .await
        .unwrap();

    // Plain HTTP to a LAN address can never sync: refused at once.
    let err = check_join_server(&payload_for("http://192.168.1.20:8080"), &config)
        .await
        .unwrap_err();
    assert_eq!(err.kind, "insecure_server", "{err:?}");
}

async fn wait_until(shared: &SyncShared, what: &str, done: impl Fn(&SyncState) -> bool) {
    for _ in 0..300 {
        if done(&shared.snapshot()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}: {:?}", shared.snapshot());
}

/// The sync loop of a device whose stored join names `server`.
async fn loop_joined_to(server: &str) -> (Arc<SyncShared>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut app = App::open_with_key_file(dir.path()).unwrap();
    app.join_unit(&payload_for(server)).unwrap();
    let shared = SyncShared::new();
    let key = cdht_store::load_or_create_key(dir.path(), None)
        .unwrap()
        .key;
    spawn_sync_thread(
        dir.path().to_path_buf(),
        key,
        ServerConfig::default(),
        Arc::clone(&shared),
        |_| {},
    )
    .unwrap();
    shared.nudge();
    (shared, dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sync_screen_names_a_wrong_server_instead_of_waiting_for_a_network() {
    let router = router_page().await;
    let (shared, _dir) = loop_joined_to(&router).await;
    wait_until(&shared, "a failed round", |s| s.last_error.is_some()).await;
    let state = shared.snapshot();
    let err = state.last_error.clone().unwrap();
    assert_eq!(err.kind, SyncErrorKind::NotCdht, "{err:?}");
    assert_eq!(err.error, cdht_core::Code::NotCdht, "{err:?}");
    assert!(state.enrol_pending, "the join is kept: {state:?}");
    // The screen names the address that answered.
    assert_eq!(state.server.as_deref(), Some(router.as_str()));

    let closed = closed_port().await;
    let (shared, _dir) = loop_joined_to(&closed).await;
    wait_until(&shared, "a failed round", |s| s.last_error.is_some()).await;
    let err = shared.snapshot().last_error.unwrap();
    assert_eq!(err.kind, SyncErrorKind::ServerNotAnswering, "{err:?}");
    assert_eq!(err.error, cdht_core::Code::ServerNotAnswering, "{err:?}");
}
