//! The limit on failed joins and logins (see [`FailureLimiter`]).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Counts failed joins and logins per key (client address, username) and
/// blocks a key that failed too often in the window. Successes are never
/// limited: 300 people at one meeting behind one carrier address must all
/// get in.
///
/// An attempt is counted *before* its check ([`FailureLimiter::attempt`]),
/// in one step under the lock, so parallel guesses cannot all pass while the
/// slow check (argon2) runs: at most `max − failures` checks of a key run at
/// once. Further attempts of that key wait for one of them to end instead of
/// being refused, so a crowd joining from one address queues for a moment
/// and gets in, while a burst of wrong guesses is refused once the failures
/// reach the limit.
pub struct FailureLimiter {
    max: u32,
    window: Duration,
    keys: Mutex<HashMap<String, KeyCount>>,
    ended: tokio::sync::Notify,
}

/// One key's attempts in the current window.
#[derive(Debug, Clone, Copy)]
struct KeyCount {
    /// Failures plus attempts still being checked.
    counted: u32,
    in_flight: u32,
    since: Instant,
}

/// An attempt being checked; tell its outcome. Dropped without one (the
/// check could not run: a database error), it is given back.
#[must_use = "say whether the attempt succeeded or failed"]
pub struct Attempt<'a> {
    limiter: &'a FailureLimiter,
    keys: Vec<String>,
    settled: bool,
}

impl Attempt<'_> {
    /// A success: its count is given back.
    pub fn succeeded(mut self) {
        self.end(true);
    }

    /// A failure: it stays counted for the window.
    pub fn failed(mut self) {
        self.end(false);
    }

    fn end(&mut self, give_back: bool) {
        if self.settled {
            return;
        }
        self.settled = true;
        let mut map = self.limiter.keys.lock().unwrap_or_else(|e| e.into_inner());
        for key in &self.keys {
            if let Some(c) = map.get_mut(key) {
                c.in_flight = c.in_flight.saturating_sub(1);
                if give_back {
                    c.counted = c.counted.saturating_sub(1);
                }
            }
        }
        drop(map);
        self.limiter.ended.notify_waiters();
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        self.end(true);
    }
}

impl FailureLimiter {
    #[must_use]
    pub fn new(max: u32, window: Duration) -> Self {
        Self {
            max,
            window,
            keys: Mutex::new(HashMap::new()),
            ended: tokio::sync::Notify::new(),
        }
    }

    /// Counts an attempt on every key before it is checked; `None` (nothing
    /// counted) when a key has used up its attempts in the window. Waits
    /// while a key's remaining attempts are all being checked.
    pub async fn attempt(&self, keys: &[&str]) -> Option<Attempt<'_>> {
        loop {
            let ended = self.ended.notified();
            tokio::pin!(ended);
            ended.as_mut().enable();
            {
                let mut map = self.keys.lock().unwrap_or_else(|e| e.into_inner());
                let window = self.window;
                if map.len() > 100_000 {
                    // Bounded memory under a flood: forget old entries.
                    map.retain(|_, c| c.in_flight > 0 || c.since.elapsed() < window);
                }
                for key in keys {
                    if let Some(c) = map.get_mut(*key) {
                        if c.in_flight == 0 && c.since.elapsed() >= window {
                            c.counted = 0;
                            c.since = Instant::now();
                        }
                    }
                }
                let count = |k: &str| map.get(k).copied();
                if keys.iter().any(|k| {
                    count(k).is_some_and(|c| c.counted.saturating_sub(c.in_flight) >= self.max)
                }) {
                    return None;
                }
                if keys
                    .iter()
                    .all(|k| count(k).is_none_or(|c| c.counted < self.max))
                {
                    for key in keys {
                        let c = map.entry((*key).to_owned()).or_insert(KeyCount {
                            counted: 0,
                            in_flight: 0,
                            since: Instant::now(),
                        });
                        c.counted += 1;
                        c.in_flight += 1;
                    }
                    return Some(Attempt {
                        limiter: self,
                        keys: keys.iter().map(|k| (*k).to_owned()).collect(),
                        settled: false,
                    });
                }
            }
            // Every remaining attempt of a key is being checked: wait for
            // one to end (a failure may use up the key, a success frees one).
            ended.await;
        }
    }
}
