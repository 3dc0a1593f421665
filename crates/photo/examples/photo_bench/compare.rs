//! Bytes at equal quality: for each codec, the lowest quality setting whose
//! output has at least the SSIM of the former pipeline's output (both against the
//! 1600 px reference), and the highest setting that fits the 150 KB goal,
//! with the SSIM over the certificate (the text) at each.

use std::collections::BTreeMap;
use std::time::Duration;

use image::RgbImage;

use crate::codecs::{self, Codec};
use crate::ssim::{Rect, Reference};
use crate::{best_of, ms};

/// The goal per photo (issue 14, item 3).
pub const GOAL_BYTES: usize = 150_000;

/// One encoding's figures.
#[derive(Clone, Copy, Default)]
pub struct Point {
    pub quality: u8,
    pub bytes: usize,
    pub ssim: f64,
    pub cert_ssim: f64,
    pub encode: Duration,
}

/// The two points of one codec on one photo.
pub struct Row {
    pub codec: Codec,
    pub at_equal_ssim: Point,
    pub at_goal: Point,
    pub progressive: bool,
}

/// The paper certificate in the upright output: the generator draws it over
/// x 0.33–0.72 and y 0.30–0.72 of the stored landscape image
/// (test-support/src/photos.rs); EXIF orientation 6 turns stored (x, y) into
/// upright (H − y, x).
pub fn certificate_rect(upright_w: u32, upright_h: u32) -> Rect {
    let (w, h) = (f64::from(upright_w), f64::from(upright_h));
    let px = |f: f64, len: f64| (f * len).round() as usize;
    (px(0.28, w), px(0.33, h), px(0.70, w), px(0.72, h))
}

struct Search<'a> {
    codec: Codec,
    img: &'a RgbImage,
    reference: &'a Reference,
    cert: Rect,
    seen: BTreeMap<u8, Point>,
}

impl Search<'_> {
    fn at(&mut self, quality: u8) -> Point {
        if let Some(p) = self.seen.get(&quality) {
            return *p;
        }
        let bytes = self.codec.encode(self.img, quality);
        let (ssim, cert_ssim) = self.reference.ssim(&codecs::decode(&bytes), self.cert);
        let p = Point {
            quality,
            bytes: bytes.len(),
            ssim,
            cert_ssim,
            encode: Duration::ZERO,
        };
        self.seen.insert(quality, p);
        p
    }

    /// Lowest quality in 5..=100 where `ok` holds, `ok` monotonic in quality.
    fn lowest(&mut self, ok: impl Fn(&Point) -> bool) -> Point {
        let (mut lo, mut hi) = (5u8, 100u8);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if ok(&self.at(mid)) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        self.at(lo)
    }

    /// Highest quality in 5..=100 where `ok` holds, `ok` antitone in quality.
    fn highest(&mut self, ok: impl Fn(&Point) -> bool) -> Point {
        let (mut lo, mut hi) = (5u8, 100u8);
        while lo < hi {
            let mid = hi - (hi - lo) / 2;
            if ok(&self.at(mid)) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        self.at(lo)
    }
}

/// Every codec on one photo's reference pixels, against the former SSIM.
pub fn compare(img: &RgbImage, reference: &Reference, target_ssim: f64, runs: usize) -> Vec<Row> {
    let cert = certificate_rect(img.width(), img.height());
    codecs::ALL
        .iter()
        .map(|&codec| {
            let mut s = Search {
                codec,
                img,
                reference,
                cert,
                seen: BTreeMap::new(),
            };
            let mut at_equal_ssim = s.lowest(|p| p.ssim >= target_ssim);
            let at_goal = s.highest(|p| p.bytes <= GOAL_BYTES);
            let (t, out) = best_of(runs, || codec.encode(img, at_equal_ssim.quality));
            at_equal_ssim.encode = t;
            Row {
                codec,
                at_equal_ssim,
                at_goal,
                progressive: codecs::is_progressive(&out),
            }
        })
        .collect()
}

pub fn print_header() {
    println!(
        "{:>5} {:<12} | {:>3} {:>7} {:>7} {:>7} {:>7} | {:>3} {:>7} {:>7} {:>7}",
        "photo", "codec", "q", "KB", "SSIM", "cert", "enc ms", "q", "KB", "SSIM", "cert"
    );
}

pub fn print_row(photo: usize, r: &Row) {
    let (e, g) = (&r.at_equal_ssim, &r.at_goal);
    println!(
        "{photo:>5} {:<12} | {:>3} {:>7.1} {:>7.4} {:>7.4} {:>7.0} | {:>3} {:>7.1} {:>7.4} {:>7.4}",
        r.codec.name(),
        e.quality,
        e.bytes as f64 / 1000.0,
        e.ssim,
        e.cert_ssim,
        ms(e.encode),
        g.quality,
        g.bytes as f64 / 1000.0,
        g.ssim,
        g.cert_ssim,
    );
}

/// Means per codec over the photos, with the ratio of bytes to the former pipeline's.
pub fn print_means(rows: &[(usize, Row)], former_bytes: usize) {
    for codec in codecs::ALL {
        let mine: Vec<&Row> = rows
            .iter()
            .filter(|(_, r)| r.codec == codec)
            .map(|(_, r)| r)
            .collect();
        let n = mine.len().max(1) as f64;
        let mean = |f: &dyn Fn(&Row) -> f64| mine.iter().map(|r| f(r)).sum::<f64>() / n;
        let bytes = mean(&|r| r.at_equal_ssim.bytes as f64);
        println!(
            "mean: {:<12} at the former SSIM {:.1} KB (bytes/former {:.2}), encode {:.0} ms{}; \
             at <= {} KB: SSIM {:.4}, certificate SSIM {:.4}",
            codec.name(),
            bytes / 1000.0,
            bytes * n / former_bytes as f64,
            mean(&|r| ms(r.at_equal_ssim.encode)),
            if mine.iter().any(|r| r.progressive) {
                ", progressive"
            } else {
                ""
            },
            GOAL_BYTES / 1000,
            mean(&|r| r.at_goal.ssim),
            mean(&|r| r.at_goal.cert_ssim),
        );
    }
}
