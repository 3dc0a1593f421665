//! Helpers shared by the workspace's tests; a dev-dependency only, never
//! shipped. Each helper was moved here from the tests that carried a copy of
//! it, unchanged.
//!
//! - [`server`] (feature `server`): the real sync server in-process on
//!   127.0.0.1:0 with a temporary data dir and the demo tree, and clients of it.
//! - [`records`] (feature `records`, part of `server`): protocol record
//!   bodies and envelopes.
//! - [`relay`] (feature `server`): a slow, resetting link in-process.
//! - [`faulty_link`] (feature `server`): delays, whole-link cuts, requests
//!   reset mid-request, optional pacing, and what it carried.
//! - [`netns`] (feature `netns`): a `tc`-shaped veth link into a new
//!   network namespace.
//! - [`down_link`] (feature `server`): an address whose link is down.
//! - [`photos`] (feature `photos`): a 12-megapixel phone-like JPEG with
//!   camera EXIF (orientation, GPS, Make/Model), and EXIF/pixel checks.
//! - [`postgres`] (feature `postgres`): a private PostgreSQL cluster and a
//!   fresh database in it per test.
//! - [`photo`]: a fake JPEG of a given size.
//! - [`accepted_all`]: the server's answer accepting every record of a batch.
// Test helpers: a failed setup step should panic the test that called it.
#![allow(clippy::unwrap_used)]

#[cfg(feature = "server")]
pub mod down_link;
#[cfg(feature = "server")]
pub mod faulty_link;
#[cfg(feature = "netns")]
pub mod netns;
#[cfg(feature = "photos")]
pub mod photos;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "records")]
pub mod records;
#[cfg(feature = "server")]
pub mod relay;
#[cfg(feature = "server")]
pub mod server;

/// The ten indicators of the demo catalogs (244-2022), in order.
pub const INDICATORS: [&str; 10] = [
    "1.1", "1.2", "1.3", "1.4", "2.1", "2.2", "2.3", "2.4", "3.1", "3.2",
];

/// A fake JPEG of exactly `len` bytes (at least 40): a start marker, a
/// frame header (1200×1600, what the server reads of a photo), then comment
/// segments of bytes that differ per seed, and the end marker.
pub fn photo(seed: u64, len: usize) -> Vec<u8> {
    let mut out = vec![0xFF, 0xD8];
    out.extend_from_slice(&[0xFF, 0xC0, 0x00, 0x11, 8, 0x06, 0x40, 0x04, 0xB0, 3]);
    out.extend_from_slice(&[1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
    let mut x = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    let body = len.saturating_sub(2);
    while out.len() + 4 < body {
        // A comment segment of up to 60000 bytes (its length counts itself).
        let n = (body - out.len() - 4).min(60_000);
        out.extend_from_slice(&[0xFF, 0xFE]);
        out.extend_from_slice(&u16::try_from(n + 2).unwrap().to_be_bytes());
        let start = out.len();
        while out.len() < start + n {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            out.extend_from_slice(&x.to_le_bytes());
        }
        out.truncate(start + n);
    }
    // Pad to the length asked with fill bytes before the end marker.
    while out.len() < body {
        out.push(0xFF);
    }
    out.extend_from_slice(&[0xFF, 0xD9]);
    out.truncate(len);
    out
}

/// The server's answer to `batch` accepting every record, as a device's
/// store tests feed it to `Store::apply_push_response`.
pub fn accepted_all(batch: &cdht_core::sync::PushBatch) -> cdht_core::sync::PushResponse {
    use cdht_core::sync::{AckOutcome, PushResponse, RecordAck};
    PushResponse {
        batch_id: batch.batch_id,
        seq: batch.seq,
        acks: batch
            .records
            .iter()
            .map(|r| RecordAck {
                id: r.body.id(),
                kind: r.body.kind(),
                version: r.version,
                outcome: AckOutcome::Accepted,
                code: None,
                message: None,
                score: None,
            })
            .collect(),
    }
}

/// Asserts one line of a `cdht-server` error: `error [code]: English
/// (Vietnamese)`, the Vietnamese part last and non-empty.
pub fn assert_bilingual_error_line(line: &str) {
    let rest = line
        .strip_prefix("error [")
        .unwrap_or_else(|| panic!("not an error line: {line}"));
    let (code, text) = rest
        .split_once("]: ")
        .unwrap_or_else(|| panic!("no code: {line}"));
    assert!(
        !code.is_empty() && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
        "code {code:?}: {line}"
    );
    let open = text
        .rfind(" (")
        .unwrap_or_else(|| panic!("no Vietnamese part: {line}"));
    let (english, vietnamese) = (&text[..open], &text[open + 2..]);
    assert!(!english.trim().is_empty(), "no English part: {line}");
    assert!(vietnamese.ends_with(')'), "{line}");
    assert!(
        !vietnamese.is_ascii(),
        "the last part is not Vietnamese: {line}"
    );
}
