//! The link under a case: the kernel's shaper when namespaces work (the
//! server in a namespace of its own, behind a `tbf`-shaped veth pair), else
//! the relay's own pacing; in front of either, the fault-injecting relay.

use cdht_test_support::faulty_link::{Faults, FaultyLink, LinkCounters};
use cdht_test_support::netns::{NetnsLink, Sent};
use cdht_test_support::server::TestServer;
use std::sync::atomic::Ordering;

/// Where the rate comes from.
pub enum Shaper {
    Tbf(NetnsLink),
    /// Namespaces unavailable (the reason): the relay paces.
    RelayPacing(String),
}

impl Shaper {
    /// The kernel's shaper if it can be set up here, else the relay's.
    pub fn new() -> Self {
        let suffix = std::env::var("CDHT_NETNS_SUFFIX")
            .unwrap_or_else(|_| format!("p{}", std::process::id()));
        match NetnsLink::create(&suffix, 100) {
            Ok(link) => Self::Tbf(link),
            Err(why) => Self::RelayPacing(why),
        }
    }

    pub fn label(&self) -> String {
        match self {
            Self::Tbf(link) => format!(
                "tc tbf on a veth pair into network namespace {} (kernel shaping, frames counted by tc)",
                link.ns
            ),
            Self::RelayPacing(why) => format!(
                "RELAY PACING, NOT tc: network namespaces unavailable ({why}); \
                 rate paced by the relay, wire bytes = TCP payload at the relay"
            ),
        }
    }

    pub fn is_tbf(&self) -> bool {
        matches!(self, Self::Tbf(_))
    }

    /// A fresh server on the far side of the link.
    pub async fn server(&self) -> TestServer {
        match self {
            Self::Tbf(link) => {
                cdht_test_support::server::start_on(link.bind_inside().unwrap()).await
            }
            Self::RelayPacing(_) => cdht_test_support::server::start().await,
        }
    }

    /// Sets the link's rate and puts the relay with
    /// `faults` in front of `server`.
    pub async fn open(&self, server: &TestServer, kbit: u64, mut faults: Faults) -> Link {
        let mut before = (Sent::default(), Sent::default());
        match self {
            Self::Tbf(link) => {
                link.set_rate(kbit).unwrap();
                // A replaced tbf keeps its counters: count from here.
                before = link.sent().unwrap();
            }
            Self::RelayPacing(_) => faults.rate = Some(kbit * 1000 / 8),
        }
        Link {
            relay: FaultyLink::start(&server.url, faults).await,
            kbit,
            before,
        }
    }

    /// Lets seeding and joining go at full speed.
    pub fn unshaped(&self) {
        if let Self::Tbf(link) = self {
            link.set_rate(10_000_000).unwrap();
        }
    }

    /// Frames (tc) or relay bytes each way since the rate was set.
    pub fn wire(&self, link: &Link) -> (u64, u64) {
        match self {
            Self::Tbf(ns) => {
                let (up, down) = ns.sent().unwrap();
                (
                    up.bytes - link.before.0.bytes,
                    down.bytes - link.before.1.bytes,
                )
            }
            Self::RelayPacing(_) => link.http(),
        }
    }

    /// Packets tc dropped each way (its queue full) since the rate was set.
    pub fn drops(&self, link: &Link) -> (u64, u64) {
        match self {
            Self::Tbf(ns) => {
                let (up, down) = ns.sent().unwrap();
                (
                    up.dropped - link.before.0.dropped,
                    down.dropped - link.before.1.dropped,
                )
            }
            Self::RelayPacing(_) => (0, 0),
        }
    }
}

pub struct Link {
    pub relay: FaultyLink,
    pub kbit: u64,
    /// tc's counters when the link opened.
    before: (Sent, Sent),
}

impl Link {
    pub fn url(&self) -> &str {
        &self.relay.url
    }

    /// TCP payload bytes (HTTP heads and bodies) each way at the relay.
    pub fn http(&self) -> (u64, u64) {
        let c = &self.relay.counters;
        (
            c.up_bytes.load(Ordering::SeqCst),
            c.down_bytes.load(Ordering::SeqCst),
        )
    }

    pub fn count(&self, pick: impl Fn(&LinkCounters) -> &std::sync::atomic::AtomicU64) -> u64 {
        pick(&self.relay.counters).load(Ordering::SeqCst)
    }

    /// The link's rate in bytes a second.
    #[allow(clippy::cast_precision_loss)]
    pub fn bytes_per_second(&self) -> f64 {
        self.kbit as f64 * 1000.0 / 8.0
    }
}
