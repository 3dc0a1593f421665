//! Shrink-on-load: a JPEG far larger than the output is decoded at ½, ¼ or ⅛
//! of its size by libjpeg-turbo's scaled inverse DCT (as vipsthumbnail does),
//! instead of decoding every pixel and then averaging blocks. For a 12 MP
//! photo to 1600 px that is ≈26 ms against ≈80 ms (BENCHMARKS.md).
//!
//! Only for files the `image` decoder has already read the header of, within
//! the limits, with their end-of-image marker (decode.rs). libjpeg's fatal
//! errors unwind (the mozjpeg crate's design) and are caught; its warnings on
//! damaged data are silent, as zune-jpeg's are.

use std::panic::{catch_unwind, AssertUnwindSafe};

use image::DynamicImage;
use mozjpeg::{ColorSpace, Decompress};

use crate::PhotoError;

/// The numerator n (of n/8) that decodes a `w`×`h` JPEG at the smallest
/// scale still at least as large as the output for `long_edge`; None if that
/// is the full size.
pub(crate) fn numerator(w: u32, h: u32, long_edge: u32) -> Option<u8> {
    let long = w.max(h);
    if long_edge == 0 || long <= long_edge {
        return None;
    }
    let scale = f64::from(long_edge) / f64::from(long);
    // The output size as resize.rs's shrink computes it.
    let short = ((f64::from(w.min(h)) * scale).round() as u32).max(1);
    let (nw, nh) = if w >= h {
        (long_edge, short)
    } else {
        (short, long_edge)
    };
    // libjpeg's scaled size is the ceiling of size × n / 8.
    let fits = |n: u32| (w * n).div_ceil(8) >= nw && (h * n).div_ceil(8) >= nh;
    [1u8, 2, 4].into_iter().find(|&n| fits(u32::from(n)))
}

/// Decodes at `numerator`/8 of the size: Some RGB8 or L8 image, or None for
/// colour spaces left to the `image` decoder (CMYK, YCCK).
pub(crate) fn decode(input: &[u8], numerator: u8) -> Result<Option<DynamicImage>, PhotoError> {
    let decoded = catch_unwind(AssertUnwindSafe(
        || -> std::io::Result<Option<DynamicImage>> {
            let mut d = Decompress::new_mem(input)?;
            let grey = match d.color_space() {
                ColorSpace::JCS_GRAYSCALE => true,
                ColorSpace::JCS_YCbCr | ColorSpace::JCS_RGB => false,
                _ => return Ok(None),
            };
            d.scale(numerator);
            let mut started = if grey { d.grayscale()? } else { d.rgb()? };
            let (w, h) = (started.width() as u32, started.height() as u32);
            let pixels: Vec<u8> = started.read_scanlines()?;
            started.finish()?;
            Ok(if grey {
                image::GrayImage::from_raw(w, h, pixels).map(DynamicImage::ImageLuma8)
            } else {
                image::RgbImage::from_raw(w, h, pixels).map(DynamicImage::ImageRgb8)
            })
        },
    ));
    let corrupt = |detail: String| PhotoError::Corrupt { detail };
    match decoded {
        Ok(Ok(img)) => Ok(img),
        Ok(Err(e)) => Err(corrupt(format!("JPEG: {e}"))),
        Err(panic) => Err(corrupt(
            panic
                .downcast_ref::<String>()
                .cloned()
                .unwrap_or_else(|| "JPEG decoder failed".to_owned()),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::numerator;

    #[test]
    fn the_smallest_scale_not_below_the_output() {
        assert_eq!(numerator(4000, 3000, 1600), Some(4), "½: 2000×1500");
        assert_eq!(numerator(3000, 4000, 1600), Some(4));
        assert_eq!(numerator(8000, 6000, 1600), Some(2), "¼: 2000×1500");
        assert_eq!(numerator(16000, 9000, 1600), Some(1), "⅛: 2000×1125");
        assert_eq!(numerator(3000, 2000, 1600), None, "½ would be 1500 px");
        assert_eq!(numerator(1200, 900, 1600), None, "never upscaled");
        assert_eq!(numerator(4000, 3000, 0), None);
    }
}
