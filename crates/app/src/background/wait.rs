//! When the loop runs its next round, as pure functions: sleep out the
//! backoff, or probe the server cheaply while it cannot be reached.

use cdht_sync_engine::SyncErrorKind;
use std::time::Duration;

/// How the loop waits before its next round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitPlan {
    /// Nothing to try: only a nudge (or a request) wakes the loop.
    UntilNudged,
    /// Sleep this long (or until a nudge), then a round.
    Sleep(Duration),
    /// Offline: ask the server "are you back?" every `every`; a round as soon
    /// as it answers, or when `within` (the backoff's delay) has passed.
    Probe { every: Duration, within: Duration },
}

/// The loop's decision, as a pure function: with work to do, after a round
/// that failed for want of a network (or of a CDHT server answering at the
/// address: one restarting, a proxy being fixed), and a backoff delay longer
/// than one probe, probe cheaply instead of sleeping the whole backoff (up to
/// 15 minutes). A join not enrolled yet has no token to probe with: its round
/// (one enrolment request) is tried every probe interval instead. Any other
/// failure (server busy, certificate, refusal) waits its backoff: a probe
/// answering would not fix it.
#[must_use]
pub fn plan_wait(
    has_work: bool,
    enrolled: bool,
    last_failure: Option<SyncErrorKind>,
    delay: Duration,
    probe_every: Duration,
) -> WaitPlan {
    if !has_work {
        return WaitPlan::UntilNudged;
    }
    let probe_tells = matches!(
        last_failure,
        Some(SyncErrorKind::Offline | SyncErrorKind::ServerNotAnswering | SyncErrorKind::NotCdht)
    );
    if !probe_tells || delay <= probe_every {
        return WaitPlan::Sleep(delay);
    }
    if enrolled {
        WaitPlan::Probe {
            every: probe_every,
            within: delay,
        }
    } else {
        WaitPlan::Sleep(probe_every)
    }
}

/// `base` ±20 %, from any number (the clock's nanoseconds): phones that lost
/// the network together do not probe in lockstep.
#[must_use]
pub fn jittered(base: Duration, seed: u64) -> Duration {
    let permille = 800 + seed % 401; // 800..=1200
    base.saturating_mul(u32::try_from(permille).unwrap_or(1000)) / 1000
}

pub(super) fn clock_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::from(d.subsec_nanos()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROBE: Duration = Duration::from_secs(30);
    const LONG: Duration = Duration::from_secs(15 * 60);

    #[test]
    fn offline_with_a_long_backoff_probes_instead_of_sleeping_it_out() {
        assert_eq!(
            plan_wait(true, true, Some(SyncErrorKind::Offline), LONG, PROBE),
            WaitPlan::Probe {
                every: PROBE,
                within: LONG
            }
        );
        // A backoff shorter than a probe: just sleep it.
        let short = Duration::from_secs(10);
        assert_eq!(
            plan_wait(true, true, Some(SyncErrorKind::Offline), short, PROBE),
            WaitPlan::Sleep(short)
        );
        // Joined offline, never enrolled: no token to probe with, so the
        // enrolment itself is tried every probe interval.
        assert_eq!(
            plan_wait(true, false, Some(SyncErrorKind::Offline), LONG, PROBE),
            WaitPlan::Sleep(PROBE)
        );
    }

    #[test]
    fn a_wrong_or_restarting_server_is_probed_like_a_lost_network() {
        for kind in [SyncErrorKind::ServerNotAnswering, SyncErrorKind::NotCdht] {
            assert_eq!(
                plan_wait(true, true, Some(kind), LONG, PROBE),
                WaitPlan::Probe {
                    every: PROBE,
                    within: LONG
                },
                "{kind:?}"
            );
        }
    }

    #[test]
    fn other_failures_and_successes_wait_their_delay_and_no_work_waits_for_a_nudge() {
        for kind in [
            SyncErrorKind::RetryLater,
            SyncErrorKind::CertificateUntrusted,
            SyncErrorKind::Rejected,
            SyncErrorKind::Store,
            SyncErrorKind::AuthExpired,
        ] {
            assert_eq!(
                plan_wait(true, true, Some(kind), LONG, PROBE),
                WaitPlan::Sleep(LONG),
                "{kind:?}"
            );
        }
        // After a success: the idle period, no probing.
        assert_eq!(
            plan_wait(true, true, None, LONG, PROBE),
            WaitPlan::Sleep(LONG)
        );
        assert_eq!(
            plan_wait(false, true, Some(SyncErrorKind::Offline), LONG, PROBE),
            WaitPlan::UntilNudged
        );
    }

    #[test]
    fn the_probe_interval_is_jittered_within_twenty_percent() {
        let all: Vec<Duration> = (0..2000).map(|seed| jittered(PROBE, seed)).collect();
        assert!(all
            .iter()
            .all(|d| (Duration::from_secs(24)..=Duration::from_secs(36)).contains(d)));
        assert_eq!(all.iter().min(), Some(&Duration::from_secs(24)));
        assert_eq!(all.iter().max(), Some(&Duration::from_secs(36)));
        let distinct: std::collections::HashSet<_> = all.iter().collect();
        assert!(distinct.len() > 100);
    }
}
