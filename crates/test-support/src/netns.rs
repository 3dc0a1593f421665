//! A real rate-limited link between two network namespaces (issue 14,
//! item 2): a veth pair from this process's namespace into a new one, each
//! end's egress shaped by `tc qdisc … tbf` (towards the server, and back),
//! so the kernel — not our code — sets the pace and counts the frames.
//! Needs root and `ip`/`tc` (iproute2); [`NetnsLink::create`] says why it
//! cannot, and the caller falls back to the relay's own pacing.
//!
//! A listener is bound inside the namespace by a thread that enters it
//! (`setns`): the socket stays there, so a server in this process serves on
//! the far side of the link. Deleted on drop (the veth goes with it).

use std::net::{Ipv4Addr, SocketAddr};
use std::process::Command;

pub struct NetnsLink {
    pub ns: String,
    /// The veth end in this namespace (its egress carries device → server).
    pub host_if: String,
    /// The end inside the namespace (its egress carries server → device).
    pub ns_if: String,
    pub host_ip: Ipv4Addr,
    pub ns_ip: Ipv4Addr,
}

/// Bytes and packets a qdisc has sent (L2 frames: Ethernet, IP and TCP
/// headers included).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sent {
    pub bytes: u64,
    pub packets: u64,
    pub dropped: u64,
}

fn run(args: &[&str]) -> Result<String, String> {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .map_err(|e| format!("{}: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

impl NetnsLink {
    /// Creates namespace `cdhtl-{suffix}` and veth `cdu{suffix}`/`cdn{suffix}`
    /// (`suffix` at most 11 characters) at `10.a.b.1` / `10.a.b.2`, both ends
    /// shaped at `kbit`.
    pub fn create(suffix: &str, kbit: u64) -> Result<Self, String> {
        let n: u32 = suffix
            .bytes()
            .fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
        let (a, b) = (
            u8::try_from(200 + n % 50).unwrap_or(200),
            u8::try_from((n / 50) % 250).unwrap_or(0),
        );
        let link = Self {
            ns: format!("cdhtl-{suffix}"),
            host_if: format!("cdu{suffix}"),
            ns_if: format!("cdn{suffix}"),
            host_ip: Ipv4Addr::new(10, a, b, 1),
            ns_ip: Ipv4Addr::new(10, a, b, 2),
        };
        // Dropped on failure too: whatever was made is deleted.
        link.set_up()?;
        link.set_rate(kbit)?;
        Ok(link)
    }

    fn set_up(&self) -> Result<(), String> {
        let (ns, h, i) = (self.ns.as_str(), self.host_if.as_str(), self.ns_if.as_str());
        let host = format!("{}/30", self.host_ip);
        let inside = format!("{}/30", self.ns_ip);
        run(&["ip", "netns", "add", ns])?;
        run(&["ip", "link", "add", h, "type", "veth", "peer", "name", i])?;
        run(&["ip", "link", "set", i, "netns", ns])?;
        run(&["ip", "addr", "add", &host, "dev", h])?;
        run(&["ip", "link", "set", h, "up"])?;
        run(&["ip", "-n", ns, "addr", "add", &inside, "dev", i])?;
        run(&["ip", "-n", ns, "link", "set", i, "up"])?;
        run(&["ip", "-n", ns, "link", "set", "lo", "up"])?;
        // One frame per packet, as a radio link sends them: without this,
        // TCP hands the veth 64 KB segments that tbf splits at once and
        // mostly drops, which no phone link does.
        run(&["ip", "link", "set", h, "gso_max_segs", "1"])?;
        run(&["ip", "-n", ns, "link", "set", i, "gso_max_segs", "1"])?;
        Ok(())
    }

    /// Shapes both directions at `kbit` (`tc qdisc replace`: a tbf already
    /// there keeps its counters, see [`NetnsLink::sent`]). The bucket holds two full frames, or 20 ms of
    /// the rate if more; the queue holds a second of it, as a phone's modem
    /// buffers (seconds, often).
    pub fn set_rate(&self, kbit: u64) -> Result<(), String> {
        let burst = (kbit * 1000 / 8 / 50).max(3028).to_string();
        let rate = format!("{kbit}kbit");
        for ns in [None, Some(self.ns.as_str())] {
            let dev = if ns.is_some() {
                &self.ns_if
            } else {
                &self.host_if
            };
            let mut args = vec!["tc"];
            if let Some(ns) = ns {
                args.extend(["-n", ns]);
            }
            args.extend([
                "qdisc", "replace", "dev", dev, "root", "tbf", "rate", &rate, "burst", &burst,
                "latency", "1s",
            ]);
            run(&args)?;
        }
        Ok(())
    }

    /// What the shaper has sent towards the server (`up`) and towards the
    /// device (`down`) since the link was made.
    pub fn sent(&self) -> Result<(Sent, Sent), String> {
        let up = run(&["tc", "-s", "qdisc", "show", "dev", &self.host_if])?;
        let down = run(&[
            "tc",
            "-n",
            &self.ns,
            "-s",
            "qdisc",
            "show",
            "dev",
            &self.ns_if,
        ])?;
        Ok((parse_sent(&up), parse_sent(&down)))
    }

    /// A listener on `ns_ip:0` inside the namespace.
    pub fn bind_inside(&self) -> Result<std::net::TcpListener, String> {
        let path = format!("/run/netns/{}", self.ns);
        let addr = SocketAddr::from((self.ns_ip, 0));
        std::thread::spawn(move || -> Result<std::net::TcpListener, String> {
            let ns = std::fs::File::open(&path).map_err(|e| format!("{path}: {e}"))?;
            // This thread alone moves into the namespace, and ends after.
            nix::sched::setns(&ns, nix::sched::CloneFlags::CLONE_NEWNET)
                .map_err(|e| format!("setns {path}: {e}"))?;
            let listener = std::net::TcpListener::bind(addr).map_err(|e| e.to_string())?;
            listener.set_nonblocking(true).map_err(|e| e.to_string())?;
            Ok(listener)
        })
        .join()
        .map_err(|_| "the namespace thread panicked".to_owned())?
    }
}

impl Drop for NetnsLink {
    fn drop(&mut self) {
        let _ = run(&["ip", "netns", "del", &self.ns]);
        let _ = run(&["ip", "link", "del", &self.host_if]);
    }
}

/// `Sent 123 bytes 4 pkt (dropped 0, …` from `tc -s qdisc show`.
fn parse_sent(text: &str) -> Sent {
    let words: Vec<&str> = text.split_whitespace().collect();
    let after = |key: &str| -> u64 {
        words
            .iter()
            .position(|w| *w == key)
            .and_then(|i| words.get(i + 1))
            .and_then(|w| w.trim_end_matches(',').parse().ok())
            .unwrap_or(0)
    };
    Sent {
        bytes: after("Sent"),
        packets: words
            .iter()
            .position(|w| *w == "bytes")
            .and_then(|i| words.get(i + 1))
            .and_then(|w| w.parse().ok())
            .unwrap_or(0),
        dropped: after("(dropped"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_the_sent_line_of_tc() {
        let text = "qdisc tbf 8001: root refcnt 3 rate 100Kbit burst 1600b lat 400ms \n \
                    Sent 51234 bytes 47 pkt (dropped 3, overlimits 9 requeues 0) \n";
        assert_eq!(
            super::parse_sent(text),
            super::Sent {
                bytes: 51234,
                packets: 47,
                dropped: 3
            }
        );
    }
}
