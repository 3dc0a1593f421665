//! Issue 14, item 2: bad links, measured. A device holding a door-to-door
//! day syncs it with the real engine, store files and server through
//! (a) 100 kbit/s, (b) the same cut every 10–30 s, (c) 384 kbit/s with
//! 300 ms round trips, (d) 384 kbit/s with 30 % of requests reset
//! mid-request; then (item 6) a collector's first sync of a whole unit at
//! 100 and 384 kbit/s. The rate is the kernel's (`tc … tbf` on a veth pair
//! into a network namespace holding the server) when this runs as root,
//! else the relay's pacing, which the output then says on every table.
//!
//! ```sh
//! cargo run --release -p cdht-sync-engine --example link_bench            # full
//! cargo run --release -p cdht-sync-engine --example link_bench -- small   # a quick look
//! cargo run --release -p cdht-sync-engine --example link_bench -- pull    # the first sync only
//! ```
//!
//! Exits 1 if any case lost or duplicated anything.
#![allow(clippy::unwrap_used, clippy::cast_precision_loss)]

#[path = "../../tests/support/mod.rs"]
mod support;

mod day;
mod link;
mod pull;

use cdht_test_support::faulty_link::{Cuts, Faults};
use day::Case;
use std::time::Duration;

/// People and photos per case: the issue's day (50 / 150) takes ~35 min at
/// 100 kbit/s, so the slow cases carry a part of it.
struct Sizes {
    slow: (usize, usize),
    fast: (usize, usize),
    unit: usize,
}

fn cases(s: &Sizes) -> Vec<Case> {
    let seed = 20_261_201;
    vec![
        Case {
            name: "(a) 100 kbit/s",
            kbit: 100,
            faults: Faults::default(),
            people: s.slow.0,
            photos: s.slow.1,
        },
        Case {
            name: "(b) 100 kbit/s, cut every 10–30 s (down 2 s)",
            kbit: 100,
            faults: Faults {
                cuts: Some(Cuts {
                    every: (Duration::from_secs(10), Duration::from_secs(30)),
                    down_for: Duration::from_secs(2),
                }),
                seed,
                ..Faults::default()
            },
            people: s.slow.0,
            photos: s.slow.1,
        },
        Case {
            name: "(c) 384 kbit/s, 300 ms round trip",
            kbit: 384,
            faults: Faults {
                one_way_delay: Duration::from_millis(150),
                ..Faults::default()
            },
            people: s.fast.0,
            photos: s.fast.1,
        },
        Case {
            name: "(d) 384 kbit/s, 30 % of requests reset",
            kbit: 384,
            faults: Faults {
                reset_share: 0.3,
                seed,
                ..Faults::default()
            },
            people: s.fast.0,
            photos: s.fast.1,
        },
    ]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let small = std::env::args().any(|a| a == "small");
    let sizes = if small {
        Sizes {
            slow: (2, 3),
            fast: (4, 6),
            unit: 1_000,
        }
    } else {
        Sizes {
            slow: (10, 15),
            fast: (20, 30),
            unit: 10_000,
        }
    };
    let shaper = link::Shaper::new();
    println!("link_bench: {}", shaper.label());
    println!(
        "device: the app's defaults (ServerConfig::default: retry policy, chunks 64 KiB first, then ~4 s of the link's rate, 2 photos in flight); photos 150–200 KB, incompressible"
    );
    println!();
    println!("| case | people / photos (payload) | time | goodput ÷ link | wire ÷ payload | HTTP ÷ payload | requests / record | faults; photo bytes re-sent | lost | duplicated |");
    println!("|---|---|---:|---:|---:|---:|---:|---|---:|---:|");
    let mut bad = 0;
    let mut details = Vec::new();
    // `pull`: the first-sync measure alone.
    let only_pull = std::env::args().any(|a| a == "pull");
    for case in cases(&sizes).into_iter().filter(|_| !only_pull) {
        let m = day::run(&shaper, &case).await;
        bad += m.lost + m.duplicated;
        println!("{}", day::row(&case, &m));
        details.push(day::detail(&case, &m));
    }
    println!();
    println!("| case | wire up / down ÷ payload | HTTP up / down ÷ payload | packets dropped by tc up / down | photo chunks | mean chunk | requests | connections |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for line in details {
        println!("{line}");
    }
    println!();
    println!(
        "wire: {} both ways; HTTP: heads and bodies both ways at the relay; payload: the records' JSON bodies + photo bytes; re-sent: photo bytes offered in chunks beyond the photos' size, i.e. lost in flight at a fault and sent again (the server keeps what arrived of a cut chunk; the next starts there)",
        if shaper.is_tbf() {
            "Ethernet frames counted by tc"
        } else {
            "TCP payload at the relay (no tc here)"
        }
    );
    println!();
    println!("First sync of a collector device, unit of {} people with a submitted assessment each, no photos (issue 14, item 6):", sizes.unit);
    println!();
    println!(
        "| link | unit | time | wire | wire per 1,000 changes | requests / connections | people on the device |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|");
    let server = shaper.server().await;
    pull::seed(&shaper, &server, sizes.unit).await;
    for (kbit, rtt_ms) in [(100, 0), (384, 0), (384, 300)] {
        let p = pull::first_sync(&shaper, &server, kbit, rtt_ms).await;
        if p.people_on_device != sizes.unit {
            bad += 1;
        }
        println!("{}", pull::row(kbit, rtt_ms, sizes.unit, &p));
    }
    drop(server);
    drop(shaper);
    if bad > 0 {
        eprintln!("link_bench: {bad} records or photos lost or duplicated");
        std::process::exit(1);
    }
}
