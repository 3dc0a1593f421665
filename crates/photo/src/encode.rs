//! Encoding the output within the byte budget, with mozjpeg.
//!
//! mozjpeg (libjpeg-turbo with trellis quantisation, progressive scans and
//! optimised Huffman tables) writes plain JPEG that every decoder reads; at
//! the 150 KB budget it keeps the certificate's text as sharp as the former
//! encoder did at 192 KB (BENCHMARKS.md, "Photo pipeline": SSIM comparison).
//! Its encode is slow (≈110 ms at 1600×1200), so the quality is first
//! chosen with quick baseline encodes (≈10 ms) and then encoded once.

use std::panic::{catch_unwind, AssertUnwindSafe};

use image::DynamicImage;
use mozjpeg::{ColorSpace, Compress, Marker};

use crate::{PhotoError, PhotoOptions};

/// The size of the Smallest encode over the Quick one at the same quality:
/// measured on the benchmark's photos 0.857 at quality 50, 0.865 at 60, 0.869
/// at 66, 0.871 at 72, 0.887 at 82 (±0.002 between photos); this line lies
/// 0.005 above those, so the estimate errs towards fitting the budget.
fn smallest_over_quick(quality: u8) -> f64 {
    0.862 + 0.00085 * (f64::from(quality) - 50.0)
}

/// Which encode makes the output ([`PhotoOptions::encoding`]). Both write
/// plain 4:2:0 JPEG with mozjpeg's quantisation tables.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum Encoding {
    /// Trellis quantisation, progressive: the best certificate at the byte
    /// budget, ≈110 ms per 1600×1200 encode.
    #[default]
    Smallest,
    /// libjpeg-turbo baseline with optimised Huffman tables, ≈10 ms: a little
    /// more ringing round the text at the same bytes (BENCHMARKS.md). It needs
    /// a lower quality for the same bytes (53–56 for the benchmark's photos at
    /// 150 KB), so use it with [`PhotoOptions::min_quality`] about 50.
    Fast,
}

/// How hard one encode works.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Effort {
    /// libjpeg-turbo baseline with optimised Huffman tables and mozjpeg's
    /// quantisation tables: the size estimates, and [`Encoding::Fast`]'s output.
    Quick,
    /// mozjpeg's defaults: trellis quantisation, progressive, optimised scans.
    Smallest,
}

/// Encodes at the highest quality up to `opts.quality` expected to fit
/// `opts.max_output_bytes`, then steps down by `opts.quality_step` while the
/// result is above it, never below `opts.min_quality`.
pub(crate) fn encode_adaptive(
    img: &DynamicImage,
    exif: Option<&[u8]>,
    opts: &PhotoOptions,
) -> Result<(Vec<u8>, u8), PhotoError> {
    let floor = opts.min_quality.clamp(1, 100);
    let start = opts.quality.clamp(floor, 100);
    let step = opts.quality_step.max(1);
    if opts.encoding == Encoding::Fast {
        return fast_within(img, exif, start, floor, opts.max_output_bytes);
    }
    let mut quality = estimate_quality(img, start, floor, opts.max_output_bytes)?;
    loop {
        let jpeg = encode_jpeg(img, quality, exif, Effort::Smallest)?;
        if jpeg.len() <= opts.max_output_bytes || quality == floor {
            return Ok((jpeg, quality));
        }
        quality = quality.saturating_sub(step).max(floor);
    }
}

/// The highest quality in `floor..=start` whose quick encode, scaled by
/// [`smallest_over_quick`], fits `budget`; `floor` if none does. A binary
/// search: at most 6 quick encodes for the default 60..=82.
fn estimate_quality(
    img: &DynamicImage,
    start: u8,
    floor: u8,
    budget: usize,
) -> Result<u8, PhotoError> {
    let fits = |quality: u8| -> Result<bool, PhotoError> {
        let quick = encode_jpeg(img, quality, None, Effort::Quick)?.len();
        Ok(quick as f64 * smallest_over_quick(quality) <= budget as f64)
    };
    if start == floor || fits(start)? {
        return Ok(start);
    }
    // The answer is in floor..=hi; floor is taken even if it does not fit.
    let (mut lo, mut hi) = (floor, start - 1);
    while lo < hi {
        let mid = hi - (hi - lo) / 2;
        if fits(mid)? {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    Ok(lo)
}

/// [`Encoding::Fast`]: the highest quality in `floor..=start` whose quick
/// encode fits `budget`, found by binary search; the floor's if none fits.
fn fast_within(
    img: &DynamicImage,
    exif: Option<&[u8]>,
    start: u8,
    floor: u8,
    budget: usize,
) -> Result<(Vec<u8>, u8), PhotoError> {
    let at = |quality: u8| encode_jpeg(img, quality, exif, Effort::Quick);
    let top = at(start)?;
    if start == floor || top.len() <= budget {
        return Ok((top, start));
    }
    // The answer is in floor..=hi; `best` is the encode at `lo` once a
    // quality above the floor fits (the floor is encoded only if it is the
    // answer, fitting or not).
    let (mut lo, mut hi) = (floor, start - 1);
    let mut best = None;
    while lo < hi {
        let mid = hi - (hi - lo) / 2;
        let jpeg = at(mid)?;
        if jpeg.len() <= budget {
            lo = mid;
            best = Some(jpeg);
        } else {
            hi = mid - 1;
        }
    }
    match best {
        Some(jpeg) => Ok((jpeg, lo)),
        None => Ok((at(lo)?, lo)),
    }
}

fn encode_jpeg(
    img: &DynamicImage,
    quality: u8,
    exif: Option<&[u8]>,
    effort: Effort,
) -> Result<Vec<u8>, PhotoError> {
    let internal = |detail: String| PhotoError::Internal { detail };
    let (color, samples) = match img {
        DynamicImage::ImageLuma8(g) => (ColorSpace::JCS_GRAYSCALE, g.as_raw()),
        DynamicImage::ImageRgb8(rgb) => (ColorSpace::JCS_RGB, rgb.as_raw()),
        _ => return Err(internal("pixels are not 8-bit RGB or grey".to_owned())),
    };
    if img.width() > 65_500 || img.height() > 65_500 {
        return Err(internal("image side above 65500 pixels".to_owned()));
    }
    let (w, h) = (img.width() as usize, img.height() as usize);
    // libjpeg reports errors by unwinding (the mozjpeg crate's design).
    let encoded = catch_unwind(AssertUnwindSafe(|| -> std::io::Result<Vec<u8>> {
        let mut c = Compress::new(color);
        let q = f32::from(quality);
        match effort {
            Effort::Quick => {
                c.set_fastest_defaults();
                c.set_optimize_coding(true);
                // The tables Smallest's set_quality scales (mozjpeg's default,
                // the same for luma and chroma), so the sizes are comparable.
                let table = mozjpeg::qtable::NRobidoux.scaled(q, q);
                c.set_luma_qtable(&table);
                c.set_chroma_qtable(&table);
            }
            Effort::Smallest => c.set_quality(q),
        }
        c.set_size(w, h);
        if color == ColorSpace::JCS_RGB {
            // 4:2:0, as phone cameras write.
            c.set_chroma_sampling_pixel_sizes((2, 2), (2, 2));
        }
        let mut started = c.start_compress(Vec::with_capacity(256 * 1024))?;
        if let Some(exif) = exif {
            let mut app1 = Vec::with_capacity(exif.len() + 6);
            app1.extend_from_slice(b"Exif\0\0");
            app1.extend_from_slice(exif);
            started.write_marker(Marker::APP(1), &app1);
        }
        started.write_scanlines(samples)?;
        started.finish()
    }));
    match encoded {
        Ok(Ok(jpeg)) => Ok(jpeg),
        Ok(Err(e)) => Err(internal(format!("JPEG encoder: {e}"))),
        Err(_) => Err(internal("JPEG encoder failed".to_owned())),
    }
}
