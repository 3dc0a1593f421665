//! Catmull-Rom resampling of 8-bit RGB or grey, in fixed point.
//!
//! The same filter as `image`'s `FilterType::CatmullRom` (support widened by
//! the reduction ratio, weights normalised per output pixel), with the
//! weights computed once per output column and row and integer sums: the
//! `image` crate's generic version took ≈100 ms for 2000×1500 → 1600×1200,
//! this one ≈15 ms (BENCHMARKS.md, "Photo pipeline").

use image::DynamicImage;

/// Fixed-point scale of the weights (14 bits: sums of 255 × weight stay in i32).
const ONE: i32 = 1 << 14;

/// Resamples to `nw`×`nh`; None for pixel types other than RGB8 and L8.
pub(crate) fn catmull_rom(img: &DynamicImage, nw: u32, nh: u32) -> Option<DynamicImage> {
    let channels = match img {
        DynamicImage::ImageRgb8(_) => 3,
        DynamicImage::ImageLuma8(_) => 1,
        _ => return None,
    };
    let (w, h) = (img.width() as usize, img.height() as usize);
    let (nw_, nh_) = (nw as usize, nh as usize);
    let across = taps(w, nw_);
    let down = taps(h, nh_);

    // Horizontal pass: every source row to nw pixels.
    let src = img.as_bytes();
    let mut mid = vec![0u8; nw_ * h * channels];
    for (row_in, row_out) in src
        .chunks_exact(w * channels)
        .zip(mid.chunks_exact_mut(nw_ * channels))
    {
        for (x, tap) in across.iter().enumerate() {
            let mut acc = [0i32; 3];
            for (i, &weight) in tap.weights.iter().enumerate() {
                let at = (tap.first + i) * channels;
                for (c, a) in acc.iter_mut().enumerate().take(channels) {
                    *a += weight * i32::from(row_in[at + c]);
                }
            }
            for (c, a) in acc.iter().enumerate().take(channels) {
                row_out[x * channels + c] = to_u8(*a);
            }
        }
    }

    // Vertical pass: each output row is a weighted sum of whole rows.
    let row_len = nw_ * channels;
    let mut out = vec![0u8; row_len * nh_];
    let mut acc = vec![0i32; row_len];
    for (tap, row_out) in down.iter().zip(out.chunks_exact_mut(row_len)) {
        acc.fill(0);
        for (i, &weight) in tap.weights.iter().enumerate() {
            let row = &mid[(tap.first + i) * row_len..][..row_len];
            for (a, &v) in acc.iter_mut().zip(row) {
                *a += weight * i32::from(v);
            }
        }
        for (o, &a) in row_out.iter_mut().zip(&acc) {
            *o = to_u8(a);
        }
    }
    match channels {
        3 => image::RgbImage::from_raw(nw, nh, out).map(DynamicImage::ImageRgb8),
        _ => image::GrayImage::from_raw(nw, nh, out).map(DynamicImage::ImageLuma8),
    }
}

fn to_u8(acc: i32) -> u8 {
    ((acc + ONE / 2) >> 14).clamp(0, 255) as u8
}

/// The source samples and weights of one output pixel along one axis.
struct Tap {
    first: usize,
    weights: Vec<i32>,
}

/// Catmull-Rom (B = 0, C = 0.5) at distance `x`, support 2.
fn kernel(x: f64) -> f64 {
    let x = x.abs();
    if x < 1.0 {
        1.5 * x * x * x - 2.5 * x * x + 1.0
    } else if x < 2.0 {
        -0.5 * x * x * x + 2.5 * x * x - 4.0 * x + 2.0
    } else {
        0.0
    }
}

/// Taps from `from` samples to `to`, placed like `image`'s resize.
fn taps(from: usize, to: usize) -> Vec<Tap> {
    let ratio = from as f64 / to as f64;
    let scale = ratio.max(1.0);
    let support = 2.0 * scale;
    (0..to)
        .map(|out| {
            let centre = (out as f64 + 0.5) * ratio;
            let first = (centre - support).floor().max(0.0) as usize;
            let last = ((centre + support).ceil() as usize).min(from);
            let raw: Vec<f64> = (first..last)
                .map(|i| kernel((i as f64 - centre + 0.5) / scale))
                .collect();
            let sum: f64 = raw.iter().sum();
            let mut weights: Vec<i32> = raw
                .iter()
                .map(|w| (w / sum * f64::from(ONE)).round() as i32)
                .collect();
            // Rounding: the weights sum to exactly ONE, so flat areas stay flat.
            let drift = ONE - weights.iter().sum::<i32>();
            if let Some(biggest) = weights.iter_mut().max() {
                *biggest += drift;
            }
            Tap { first, weights }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_image_crates_catmull_rom() {
        let img = DynamicImage::ImageRgb8(cdht_test_support::photos::photo_like(500, 375, 3));
        let ours = catmull_rom(&img, 400, 300).expect("RGB8").to_rgb8();
        let theirs = img
            .resize_exact(400, 300, image::imageops::FilterType::CatmullRom)
            .to_rgb8();
        let diffs: Vec<u8> = ours
            .as_raw()
            .iter()
            .zip(theirs.as_raw())
            .map(|(a, b)| a.abs_diff(*b))
            .collect();
        let worst = diffs.iter().copied().max().unwrap_or(0);
        let mean = diffs.iter().map(|&d| f64::from(d)).sum::<f64>() / diffs.len() as f64;
        assert!(worst <= 3 && mean < 0.5, "worst {worst}, mean {mean:.3}");
    }

    #[test]
    fn flat_grey_stays_flat() {
        let img =
            DynamicImage::ImageLuma8(image::GrayImage::from_pixel(333, 222, image::Luma([77])));
        let out = catmull_rom(&img, 100, 70).expect("L8");
        assert_eq!((out.width(), out.height()), (100, 70));
        assert!(out.as_bytes().iter().all(|&v| v == 77));
    }

    #[test]
    fn other_pixel_types_are_left_to_the_caller() {
        let img = DynamicImage::ImageRgba8(image::RgbaImage::new(10, 10));
        assert!(catmull_rom(&img, 5, 5).is_none());
    }
}
