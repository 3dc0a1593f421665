//! Finding and reading a QR code in a picked image (a photo of the poster or a
//! screenshot), in Rust so the desktop needs no camera and no native library.

use crate::error::AppError;
use cdht_core::Code;
use image::ImageReader;
use std::io::Cursor;

/// Images larger than this on their long edge are shrunk before the search:
/// a poster QR stays hundreds of pixels wide, and the detector is much faster.
const SEARCH_LONG_EDGE: u32 = 1600;
/// The decoder may not allocate more than this (a decompression bomb is refused).
const MAX_DECODE_ALLOC: u64 = 256 * 1024 * 1024;

/// The text of the first readable QR code in the image.
pub fn decode_qr_text(image_bytes: &[u8]) -> Result<String, AppError> {
    let not_image = |detail: String| AppError::new(Code::QrNotImage, detail);
    let mut reader = ImageReader::new(Cursor::new(image_bytes))
        .with_guessed_format()
        .map_err(|e| not_image(e.to_string()))?;
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    reader.limits(limits);
    if reader.format().is_none() {
        return Err(not_image("unrecognised image format".into()));
    }
    let image = reader.decode().map_err(|e| not_image(e.to_string()))?;
    let long_edge = image.width().max(image.height());
    let image = if long_edge > SEARCH_LONG_EDGE {
        image.thumbnail(SEARCH_LONG_EDGE, SEARCH_LONG_EDGE)
    } else {
        image
    };
    let grey = image.to_luma8();
    let (width, height) = grey.dimensions();
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(
        usize::try_from(width).unwrap_or(0),
        usize::try_from(height).unwrap_or(0),
        |x, y| {
            let x = u32::try_from(x).unwrap_or(0);
            let y = u32::try_from(y).unwrap_or(0);
            grey.get_pixel(x, y).0[0]
        },
    );
    let grids = prepared.detect_grids();
    if grids.is_empty() {
        return Err(AppError::new(
            Code::QrNotFound,
            "no QR code found in the image",
        ));
    }
    let mut last_error = String::new();
    for grid in grids {
        match grid.decode() {
            Ok((_meta, text)) => return Ok(text),
            Err(err) => last_error = err.to_string(),
        }
    }
    Err(AppError::new(
        Code::QrDamaged,
        format!("QR code found but not readable: {last_error}"),
    ))
}
