#![allow(clippy::unwrap_used)]
//! Slow and silent clients (issue 9, item 7): a connection that sends half
//! its headers and goes quiet, or sits idle after a request, is closed after
//! the idle timeout; connections beyond the cap wait instead of piling up;
//! and a phone uploading slowly but steadily for longer than the timeout is
//! never cut.

mod support;

use cdht_sync_client::sha256_hex;
use std::time::{Duration, Instant};
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const IDLE: Duration = Duration::from_millis(700);

/// Reads until the server closes the connection (or fails it); how long
/// that took. Panics after 10 s (the server never closed it).
async fn until_closed(stream: &mut TcpStream) -> Duration {
    let started = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return started.elapsed(),
            Ok(Ok(_)) => {}
            Err(_) => panic!("the server kept a silent connection open"),
        }
    }
}

#[tokio::test]
async fn silent_connections_are_closed_and_a_slow_steady_upload_is_not() {
    let server = start_with(|c| {
        c.idle_timeout = IDLE;
        c.max_connections = 3;
    })
    .await;
    let addr = server.url.trim_start_matches("http://").to_owned();

    // Half the headers, then silence: closed by the server.
    let mut half = TcpStream::connect(&addr).await.unwrap();
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    until_closed(&mut half).await;

    // A finished request on a keep-alive connection, then silence: closed.
    let mut idle = TcpStream::connect(&addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    until_closed(&mut idle).await;

    // A photo chunk sent 2 KB every 150 ms (about 13 KB/s, a 2G rate) for
    // more than three idle timeouts: it keeps moving, so it completes.
    let device = server.device("DEMO-X1-C1").await;
    let photo_bytes = photo(42, 36_000);
    announce_photos(&device, 1, "Sùng A Páo", std::slice::from_ref(&photo_bytes)).await;
    let sha = sha256_hex(&photo_bytes);
    let mut slow = TcpStream::connect(&addr).await.unwrap();
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
    }
    assert!(started.elapsed() > IDLE * 3);
    let mut answer = String::new();
    slow.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"complete\":true"), "{answer}");
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_for_a_free_one() {
    let server = start_with(|c| {
        c.idle_timeout = IDLE;
        c.max_connections = 2;
    })
    .await;
    let addr = server.url.trim_start_matches("http://").to_owned();
    // Two clients take both slots and say nothing.
    let mut hogs = Vec::new();
    for _ in 0..2 {
        hogs.push(TcpStream::connect(&addr).await.unwrap());
    }
    // A third is served only once the silent ones are closed for idleness
    // (it cannot have been served sooner: both slots were taken).
    let asked = Instant::now();
    let answer = reqwest::get(format!("{}/healthz", server.url))
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 200);
    assert!(asked.elapsed() >= IDLE / 2, "served while the cap was full");
    for mut hog in hogs {
        until_closed(&mut hog).await;
    }
}
