//! A slow link in-process: a TCP relay that passes the device's bytes to the
//! server at a fixed rate, can reset every connection on a clock, and counts
//! what it carried (bytes towards the server, resets, connections open at
//! once). Traffic stays on 127.0.0.1.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the relay counted so far.
#[derive(Debug, Default)]
pub struct RelayCounters {
    /// Bytes passed towards the server.
    pub upstream_bytes: AtomicU64,
    /// Resets of the link (each killed every connection then open).
    pub resets: AtomicU64,
    /// Connections open now, and the most open at once.
    pub open: AtomicU64,
    pub most_open: AtomicU64,
}

pub struct PacedRelay {
    /// `http://127.0.0.1:PORT`: give it to the client instead of the server.
    pub url: String,
    pub counters: Arc<RelayCounters>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for PacedRelay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl PacedRelay {
    /// Relays to `upstream` (`http://host:port`) at `rate` bytes a second
    /// towards the server (answers pass freely); with `reset_every`, every
    /// connection open at each tick is reset (RST on both sides).
    pub async fn start(upstream: &str, rate: u64, reset_every: Option<Duration>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let upstream = upstream.trim_start_matches("http://").to_owned();
        let counters = Arc::new(RelayCounters::default());
        let epoch = Arc::new(AtomicU64::new(0));
        let c = Arc::clone(&counters);
        let task = tokio::spawn(async move {
            if let Some(every) = reset_every {
                let (ticks, c) = (Arc::clone(&epoch), Arc::clone(&c));
                tokio::spawn(async move {
                    loop {
                        tokio::time::sleep(every).await;
                        ticks.fetch_add(1, Ordering::SeqCst);
                        c.resets.fetch_add(1, Ordering::SeqCst);
                    }
                });
            }
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(&upstream).await else {
                    continue;
                };
                let now = c.open.fetch_add(1, Ordering::SeqCst) + 1;
                c.most_open.fetch_max(now, Ordering::SeqCst);
                let (c, epoch) = (Arc::clone(&c), Arc::clone(&epoch));
                tokio::spawn(async move {
                    relay(client, server, rate, &c, &epoch).await;
                    c.open.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        Self {
            url,
            counters,
            task,
        }
    }
}

async fn relay(
    client: TcpStream,
    server: TcpStream,
    rate: u64,
    counters: &RelayCounters,
    epoch: &AtomicU64,
) {
    let born = epoch.load(Ordering::SeqCst);
    let (mut client_r, mut client_w) = client.into_split();
    let (mut server_r, mut server_w) = server.into_split();
    let upload = async {
        let start = Instant::now();
        let mut buf = vec![0u8; 2048];
        let mut sent = 0u64;
        loop {
            let n = match client_r.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            // Paced: never ahead of `rate` since the connection opened.
            sent += n as u64;
            let due = Duration::from_secs_f64(sent as f64 / rate as f64);
            if let Some(wait) = due.checked_sub(start.elapsed()) {
                tokio::time::sleep(wait).await;
            }
            if server_w.write_all(&buf[..n]).await.is_err() {
                return;
            }
            counters
                .upstream_bytes
                .fetch_add(n as u64, Ordering::Relaxed);
        }
    };
    let download = async {
        let _ = tokio::io::copy(&mut server_r, &mut client_w).await;
    };
    let reset = async {
        while epoch.load(Ordering::SeqCst) == born {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    let was_reset = tokio::select! {
        () = upload => false,
        () = download => false,
        () = reset => true,
    };
    if was_reset {
        // Both sides see the connection die mid-request.
        for side in [server_w.reunite(server_r), client_w.reunite(client_r)]
            .into_iter()
            .flatten()
        {
            // Deprecated for blocking on drop, which a zero linger never does.
            #[allow(deprecated)]
            let _ = side.set_linger(Some(Duration::ZERO));
        }
    }
}
