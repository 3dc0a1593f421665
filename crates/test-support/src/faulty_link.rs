//! A bad link in-process (issue 14, item 2): a TCP relay on 127.0.0.1 that
//! delays every byte each way, cuts the whole link at random moments (every
//! connection reset, and new ones refused for a while), resets a share of
//! requests mid-request, and counts what it carried. It can also pace each
//! direction at a rate, for machines where the rate cannot be shaped by the
//! kernel (`tc … tbf`, see [`crate::netns`]).
//!
//! A "request" is what the device sends after the server's last answer on the
//! same connection: HTTP/1.1 alternates them, so no parsing is needed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};

/// Whole-link cuts: at a random moment in `every`, every open connection is
/// reset and the link stays down for `down_for` (connections are closed as
/// soon as they are accepted, as when a phone loses its signal).
#[derive(Debug, Clone, Copy)]
pub struct Cuts {
    pub every: (Duration, Duration),
    pub down_for: Duration,
}

/// What the link does to the traffic.
#[derive(Debug, Clone, Copy)]
pub struct Faults {
    /// Bytes a second each way, shared by all connections (`None`: as fast as
    /// the network under the relay).
    pub rate: Option<u64>,
    /// Added to every byte in each direction (half the round trip).
    pub one_way_delay: Duration,
    pub cuts: Option<Cuts>,
    /// Share of requests (0–1) whose connection is reset mid-request: after
    /// a random number of the request's bytes, or, if the request is shorter,
    /// as the server's answer starts (the server did the work, the device
    /// never hears of it).
    pub reset_share: f64,
    /// Seed of the cuts' and resets' randomness (the same seed, the same
    /// sequence of draws).
    pub seed: u64,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            rate: None,
            one_way_delay: Duration::ZERO,
            cuts: None,
            reset_share: 0.0,
            seed: 1,
        }
    }
}

/// What the link carried and did so far.
#[derive(Debug, Default)]
pub struct LinkCounters {
    /// Bytes passed towards the server / towards the device (TCP payload:
    /// HTTP heads and bodies).
    pub up_bytes: AtomicU64,
    pub down_bytes: AtomicU64,
    pub connections: AtomicU64,
    /// Requests seen (device bytes after an answer, or a connection's first).
    pub requests: AtomicU64,
    /// Whole-link cuts so far, and requests reset mid-request.
    pub cuts: AtomicU64,
    pub request_resets: AtomicU64,
    /// Connections closed at once because the link was down.
    pub refused_while_down: AtomicU64,
    pub open: AtomicU64,
    pub most_open: AtomicU64,
    /// Connections relayed to each upstream, in the order given.
    pub per_upstream: Vec<AtomicU64>,
}

impl LinkCounters {
    #[must_use]
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::SeqCst)
    }
}

/// A small deterministic generator (xorshift64*): the link's draws.
#[derive(Debug)]
struct Draws(u64);

impl Draws {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in 0..1.
    #[allow(clippy::cast_precision_loss)]
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn between(&mut self, low: Duration, high: Duration) -> Duration {
        low + (high.saturating_sub(low)).mul_f64(self.unit())
    }
}

pub struct FaultyLink {
    /// `http://127.0.0.1:PORT`: give it to the client instead of the server.
    pub url: String,
    pub counters: Arc<LinkCounters>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FaultyLink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// State shared by the link's connections.
struct Shared {
    faults: Faults,
    counters: Arc<LinkCounters>,
    draws: Mutex<Draws>,
    /// The link's cut number: a connection born before a change is reset.
    cut: watch::Receiver<u64>,
    down_until: Mutex<Option<Instant>>,
    /// When each direction's wire is free again (pacing by `rate`).
    up_free: Mutex<Instant>,
    down_free: Mutex<Instant>,
}

impl FaultyLink {
    /// Relays to `upstream` (`http://host:port`) with `faults`.
    pub async fn start(upstream: &str, faults: Faults) -> Self {
        Self::start_balanced(&[upstream], faults).await
    }

    /// Relays each new connection to one of `upstreams`, drawn at random, as
    /// a load balancer in front of several server instances does: with the
    /// resets and cuts of `faults`, a device's next request often lands on
    /// another instance.
    pub async fn start_balanced(upstreams: &[&str], faults: Faults) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let upstreams: Vec<String> = upstreams
            .iter()
            .map(|u| u.trim_start_matches("http://").to_owned())
            .collect();
        let counters = Arc::new(LinkCounters {
            per_upstream: upstreams.iter().map(|_| AtomicU64::new(0)).collect(),
            ..LinkCounters::default()
        });
        let (cut_tx, cut_rx) = watch::channel(0u64);
        let shared = Arc::new(Shared {
            faults,
            counters: Arc::clone(&counters),
            draws: Mutex::new(Draws(faults.seed | 1)),
            cut: cut_rx,
            down_until: Mutex::new(None),
            up_free: Mutex::new(Instant::now()),
            down_free: Mutex::new(Instant::now()),
        });
        let task = tokio::spawn(async move {
            if let Some(cuts) = faults.cuts {
                let shared = Arc::clone(&shared);
                tokio::spawn(async move {
                    loop {
                        let wait = lock(&shared.draws).between(cuts.every.0, cuts.every.1);
                        tokio::time::sleep(wait).await;
                        *lock(&shared.down_until) = Some(Instant::now() + cuts.down_for);
                        shared.counters.cuts.fetch_add(1, Ordering::SeqCst);
                        cut_tx.send_modify(|n| *n += 1);
                    }
                });
            }
            while let Ok((client, _)) = listener.accept().await {
                let down = lock(&shared.down_until).is_some_and(|t| Instant::now() < t);
                if down {
                    shared
                        .counters
                        .refused_while_down
                        .fetch_add(1, Ordering::SeqCst);
                    reset(client);
                    continue;
                }
                let pick = if upstreams.len() > 1 {
                    (lock(&shared.draws).next() % upstreams.len() as u64) as usize
                } else {
                    0
                };
                let Ok(server) = TcpStream::connect(&upstreams[pick]).await else {
                    continue;
                };
                shared.counters.per_upstream[pick].fetch_add(1, Ordering::SeqCst);
                let _ = (client.set_nodelay(true), server.set_nodelay(true));
                let c = &shared.counters;
                c.connections.fetch_add(1, Ordering::SeqCst);
                let now = c.open.fetch_add(1, Ordering::SeqCst) + 1;
                c.most_open.fetch_max(now, Ordering::SeqCst);
                let shared = Arc::clone(&shared);
                tokio::spawn(async move {
                    connection(client, server, &shared).await;
                    shared.counters.open.fetch_sub(1, Ordering::SeqCst);
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

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Closes `stream` with a RST (zero linger), as a dead link does.
fn reset(stream: TcpStream) {
    // Deprecated for blocking on drop, which a zero linger never does.
    #[allow(deprecated)]
    let _ = stream.set_linger(Some(Duration::ZERO));
}

/// The request in flight on one connection, as both directions see it.
#[derive(Debug, Default)]
struct Exchange {
    /// The server answered since the device last sent: the next device
    /// byte starts a new request.
    answered: bool,
    /// This request is to be reset after this many more of its bytes (or
    /// when its answer starts).
    doomed_after: Option<u64>,
}

/// Why a direction stopped.
enum Stop {
    /// Its reader saw the end (or an error) and every byte read was written.
    Ended,
    /// The request in flight is reset.
    Reset,
}

async fn connection(client: TcpStream, server: TcpStream, shared: &Arc<Shared>) {
    let mut cut = shared.cut.clone();
    cut.borrow_and_update();
    let exchange = Mutex::new(Exchange {
        answered: true,
        doomed_after: None,
    });
    let (mut client_r, mut client_w) = client.into_split();
    let (mut server_r, mut server_w) = server.into_split();
    let was_reset = tokio::select! {
        stop = direction(&mut client_r, &mut server_w, shared, &exchange, true) => matches!(stop, Stop::Reset),
        stop = direction(&mut server_r, &mut client_w, shared, &exchange, false) => matches!(stop, Stop::Reset),
        () = async {
            if cut.changed().await.is_err() {
                // No more cuts will come.
                std::future::pending::<()>().await;
            }
        } => true,
    };
    if was_reset {
        for side in [server_w.reunite(server_r), client_w.reunite(client_r)]
            .into_iter()
            .flatten()
        {
            reset(side);
        }
    }
}

/// One direction: a reader filling a delay queue (bounded, so the sender
/// still feels the link's pace) and a writer emptying it when each piece is
/// due, at the link's rate.
async fn direction(
    from: &mut OwnedReadHalf,
    to: &mut OwnedWriteHalf,
    shared: &Shared,
    exchange: &Mutex<Exchange>,
    up: bool,
) -> Stop {
    let delay = shared.faults.one_way_delay;
    let (queue, mut due) = mpsc::channel::<(Instant, Vec<u8>)>(16);
    let read = async move {
        let mut buf = vec![0u8; 4096];
        loop {
            let n = match from.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            if queue
                .send((Instant::now() + delay, buf[..n].to_vec()))
                .await
                .is_err()
            {
                return;
            }
        }
    };
    let write = async {
        while let Some((at, bytes)) = due.recv().await {
            tokio::time::sleep_until(at.into()).await;
            let (bytes, stop) = if up {
                shared.request_bytes(exchange, bytes)
            } else {
                shared.answer_bytes(exchange, bytes)
            };
            if !bytes.is_empty() {
                shared.pace(up, bytes.len()).await;
                if to.write_all(&bytes).await.is_err() {
                    return Stop::Ended;
                }
                let counter = if up {
                    &shared.counters.up_bytes
                } else {
                    &shared.counters.down_bytes
                };
                counter.fetch_add(bytes.len() as u64, Ordering::Relaxed);
            }
            if stop {
                return Stop::Reset;
            }
        }
        let _ = to.shutdown().await;
        Stop::Ended
    };
    // The reader ending drops the queue's sender: the writer drains it, then ends.
    tokio::select! {
        stop = write => stop,
        () = async {
            read.await;
            std::future::pending::<()>().await;
        } => Stop::Ended,
    }
}

impl Shared {
    /// Device bytes about to go: counts a new request and draws whether it
    /// is reset; returns what to pass and whether to reset after it.
    fn request_bytes(&self, exchange: &Mutex<Exchange>, mut bytes: Vec<u8>) -> (Vec<u8>, bool) {
        let mut ex = lock(exchange);
        if std::mem::take(&mut ex.answered) {
            self.counters.requests.fetch_add(1, Ordering::SeqCst);
            let mut draws = lock(&self.draws);
            ex.doomed_after = (draws.unit() < self.faults.reset_share)
                // Anywhere in the first 64 KiB of the request.
                .then(|| 1 + draws.next() % (64 * 1024));
        }
        match ex.doomed_after {
            Some(left) if left <= bytes.len() as u64 => {
                bytes.truncate(usize::try_from(left).unwrap_or(0));
                self.counters.request_resets.fetch_add(1, Ordering::SeqCst);
                (bytes, true)
            }
            Some(left) => {
                ex.doomed_after = Some(left - bytes.len() as u64);
                (bytes, false)
            }
            None => (bytes, false),
        }
    }

    /// Server bytes about to go: the answer to a doomed request is never
    /// delivered (the connection is reset instead).
    fn answer_bytes(&self, exchange: &Mutex<Exchange>, bytes: Vec<u8>) -> (Vec<u8>, bool) {
        let mut ex = lock(exchange);
        ex.answered = true;
        if ex.doomed_after.take().is_some() {
            self.counters.request_resets.fetch_add(1, Ordering::SeqCst);
            return (Vec::new(), true);
        }
        (bytes, false)
    }

    /// Waits for the direction's wire to carry `n` bytes at the link's rate
    /// (no wait without a rate).
    async fn pace(&self, up: bool, n: usize) {
        let Some(rate) = self.faults.rate else {
            return;
        };
        let on_wire = Duration::from_secs_f64(n as f64 / rate as f64);
        let until = {
            let mut free = lock(if up { &self.up_free } else { &self.down_free });
            let start = (*free).max(Instant::now());
            *free = start + on_wire;
            *free
        };
        tokio::time::sleep_until(until.into()).await;
    }
}
