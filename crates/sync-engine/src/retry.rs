//! The app's background loop: when to try the next round. The backoff rule
//! itself is the client's [`RetryPolicy`] (one copy for requests and rounds).

use cdht_sync_client::RetryPolicy;
use std::time::Duration;

/// Exponential backoff with full jitter between sync rounds, reset by a
/// success and cut short by "the connection is back".
///
/// ```text
/// loop {
///     sleep(policy.next_delay()) or until a connectivity event calls connection_back();
///     match engine.sync_once(..) { Ok(_) => policy.record_success(), Err(e) => policy.record_failure(&e) }
/// }
/// ```
#[derive(Debug, Clone)]
pub struct RetryBackoff {
    /// First pause after a failure (the ceiling of the first jittered delay).
    pub base: Duration,
    /// No pause is longer than this.
    pub cap: Duration,
    /// Pause between rounds when the last one succeeded (periodic pull).
    pub idle: Duration,
    failures: u32,
    nudged: bool,
}

impl Default for RetryBackoff {
    fn default() -> Self {
        Self::new(Duration::from_secs(5), Duration::from_secs(15 * 60))
    }
}

impl RetryBackoff {
    #[must_use]
    pub const fn new(base: Duration, cap: Duration) -> Self {
        Self {
            base,
            cap,
            idle: Duration::from_secs(15 * 60),
            failures: 0,
            nudged: false,
        }
    }

    /// Failed rounds in a row since the last success.
    #[must_use]
    pub const fn failures(&self) -> u32 {
        self.failures
    }

    /// The ceiling of the next pause: `min(cap, base * 2^(failures-1))`, or
    /// `idle` after a success, or zero right after a nudge.
    #[must_use]
    pub fn ceiling(&self) -> Duration {
        if self.nudged {
            return Duration::ZERO;
        }
        if self.failures == 0 {
            return self.idle;
        }
        self.policy().ceiling(self.failures - 1)
    }

    /// The backoff rule with this loop's base and cap.
    const fn policy(&self) -> RetryPolicy {
        RetryPolicy {
            max_attempts: u32::MAX,
            base: self.base,
            cap: self.cap,
        }
    }

    /// How long to wait before the next round: uniform in `0..=ceiling` after
    /// failures (so phones at one meeting do not retry in lockstep), `idle`
    /// after a success, zero after [`RetryBackoff::connection_back`].
    pub fn next_delay(&mut self) -> Duration {
        if std::mem::take(&mut self.nudged) {
            return Duration::ZERO;
        }
        if self.failures == 0 {
            return self.idle;
        }
        self.policy().delay(self.failures - 1)
    }

    /// A round succeeded: back to the idle period.
    pub fn record_success(&mut self) {
        self.failures = 0;
        self.nudged = false;
    }

    /// A round failed. Errors a person must act on (re-enrol, certificate,
    /// rejection, local storage) are backed off the same way; the app shows
    /// them instead of retrying quietly.
    pub fn record_failure(&mut self, _error: &crate::SyncError) {
        self.failures = self.failures.saturating_add(1);
    }

    /// The OS says a network is back: the next round starts at once and the
    /// backoff starts over (a new link deserves a fresh try).
    pub fn connection_back(&mut self) {
        self.failures = 0;
        self.nudged = true;
    }

    /// Whether a nudge is waiting (the loop may check it to cut a sleep short).
    #[must_use]
    pub const fn is_nudged(&self) -> bool {
        self.nudged
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_caps_resets_and_nudges() {
        let mut p = RetryBackoff::new(Duration::from_millis(100), Duration::from_secs(1));
        assert_eq!(p.next_delay(), p.idle);
        let err = crate::SyncError::Offline("x".into());
        let mut ceilings = Vec::new();
        for _ in 0..8 {
            p.record_failure(&err);
            ceilings.push(p.ceiling().as_millis());
            for _ in 0..20 {
                assert!(p.next_delay() <= p.ceiling());
            }
        }
        assert_eq!(ceilings, [100, 200, 400, 800, 1000, 1000, 1000, 1000]);
        // Jitter: not every delay is the same.
        let delays: std::collections::HashSet<_> = (0..50).map(|_| p.next_delay()).collect();
        assert!(delays.len() > 1);
        p.connection_back();
        assert!(p.is_nudged());
        assert_eq!(p.next_delay(), Duration::ZERO);
        assert!(!p.is_nudged());
        assert_eq!(p.failures(), 0);
        p.record_failure(&err);
        p.record_failure(&err);
        p.record_success();
        assert_eq!(p.failures(), 0);
        assert_eq!(p.next_delay(), p.idle);
    }
}
