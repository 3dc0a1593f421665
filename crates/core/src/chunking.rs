//! How big a client makes each evidence chunk: about four seconds of the
//! rate the link has shown, within 16–256 KiB (docs/sync-protocol.md,
//! "Chunk sizes"). Pure: the caller measures, this decides.
//!
//! Small chunks on a slow link mean a cut loses little even against a
//! server that keeps only whole chunks, and the progress bar moves; large
//! chunks on a fast link save round trips.

use crate::sync::MAX_CHUNK_BYTES;

/// The smallest chunk worth a request.
pub const MIN_CHUNK_BYTES: usize = 16 * 1024;

/// How long one chunk should take on the wire, in milliseconds.
pub const TARGET_CHUNK_MS: u64 = 4_000;

/// The chunk size to use next, from what the link did so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkSizer {
    size: usize,
    max: usize,
}

impl ChunkSizer {
    /// Starts at `initial` bytes (clamped to 16 KiB – `max`), and never goes
    /// above `max` (itself at most the protocol's 256 KiB).
    #[must_use]
    pub fn new(initial: usize, max: usize) -> Self {
        let max = max.clamp(1, MAX_CHUNK_BYTES);
        Self {
            size: initial.clamp(MIN_CHUNK_BYTES.min(max), max),
            max,
        }
    }

    /// The size of the next chunk.
    #[must_use]
    pub const fn size(&self) -> usize {
        self.size
    }

    /// A chunk of `bytes` went through in `elapsed_ms` (request to answer):
    /// aim the next one at [`TARGET_CHUNK_MS`] of that rate, moving at most
    /// ×2 or ÷2 at a time so that one odd measure does not swing it.
    pub fn sent(&mut self, bytes: usize, elapsed_ms: u64) {
        let elapsed_ms = elapsed_ms.max(1);
        let target = u64::try_from(bytes)
            .unwrap_or(u64::MAX)
            .saturating_mul(TARGET_CHUNK_MS)
            / elapsed_ms;
        let target = usize::try_from(target).unwrap_or(usize::MAX);
        let next = target.clamp(self.size / 2, self.size.saturating_mul(2));
        self.size = next.clamp(MIN_CHUNK_BYTES.min(self.max), self.max);
    }

    /// The link cut (or timed out) during a chunk: halve.
    pub fn cut(&mut self) {
        self.size = (self.size / 2).clamp(MIN_CHUNK_BYTES.min(self.max), self.max);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slow_link_gets_small_chunks_and_a_fast_one_large() {
        // 100 kbit/s = 12.5 KB/s: four seconds is 50 KB.
        let mut slow = ChunkSizer::new(64 * 1024, MAX_CHUNK_BYTES);
        for _ in 0..10 {
            let size = slow.size();
            slow.sent(size, (size as u64) * 1000 / 12_500);
        }
        assert!((45_000..=55_000).contains(&slow.size()), "{}", slow.size());
        let mut fast = ChunkSizer::new(64 * 1024, MAX_CHUNK_BYTES);
        for _ in 0..10 {
            fast.sent(fast.size(), 50);
        }
        assert_eq!(fast.size(), MAX_CHUNK_BYTES);
    }

    #[test]
    fn stays_within_bounds_and_halves_on_a_cut() {
        let mut s = ChunkSizer::new(1, 200 * 1024);
        assert_eq!(s.size(), MIN_CHUNK_BYTES);
        s.sent(MIN_CHUNK_BYTES, 60_000);
        assert_eq!(s.size(), MIN_CHUNK_BYTES);
        let mut s = ChunkSizer::new(10 << 20, 200 * 1024);
        assert_eq!(s.size(), 200 * 1024);
        s.cut();
        assert_eq!(s.size(), 100 * 1024);
        for _ in 0..10 {
            s.cut();
        }
        assert_eq!(s.size(), MIN_CHUNK_BYTES);
        // A client configured below the minimum keeps its own size.
        assert_eq!(ChunkSizer::new(1024, 1024).size(), 1024);
    }
}
