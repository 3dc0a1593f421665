//! Evidence photo pipeline for CDHT.
//!
//! Citizens photograph their evidence (certificates, library cards, activity
//! photos) on low-end Android phones and send it over thin mobile links. A raw
//! 12-megapixel phone photo is 3–6 MB and carries the GPS position of the
//! citizen's home and the phone model. [`process_photo`] turns it into a small,
//! upright, metadata-free JPEG that still reads well:
//!
//! 1. refuse empty input, input above [`PhotoOptions::max_input_bytes`], bytes
//!    that are not an image, formats we do not accept, and images whose header
//!    claims more pixels than the limits (decompression bombs), **before** the
//!    pixel buffer is allocated;
//! 2. decode (JPEG, PNG, WebP; **HEIC is not supported**: refused with
//!    [`PhotoErrorKind::UnsupportedFormat`] and a message telling the user to
//!    pick JPEG); a JPEG without its end-of-image marker (truncated upload) is
//!    refused as [`PhotoErrorKind::Corrupt`]; a JPEG at least twice the output
//!    size is decoded at ½, ¼ or ⅛ size by libjpeg-turbo's scaled DCT;
//! 3. flatten to 8-bit RGB or grey, transparency onto white;
//! 4. shrink so the long edge is at most [`PhotoOptions::long_edge`] (never
//!    upscale), then apply the EXIF orientation so pixels are upright;
//! 5. encode JPEG with mozjpeg (trellis quantisation, progressive, 4:2:0) at
//!    the highest quality up to [`PhotoOptions::quality`] that quick trial
//!    encodes say fits [`PhotoOptions::max_output_bytes`]; if the result is
//!    still above it, re-encode in steps of [`PhotoOptions::quality_step`],
//!    never below [`PhotoOptions::min_quality`] (a floor that keeps a
//!    certificate readable; the last attempt is kept even if still above the
//!    budget). [`Encoding::Fast`] instead keeps the best-fitting quick
//!    (baseline) encode: several times faster, slightly worse text;
//! 6. drop all metadata (GPS, Make, Model, thumbnails, XMP, ICC...). The capture
//!    time (EXIF `DateTimeOriginal`) is returned in
//!    [`ProcessedPhoto::taken_at`] and, if
//!    [`PhotoOptions::keep_capture_time_exif`], written back as a minimal EXIF
//!    block holding only that tag.
//!
//! The SHA-256 of the output names the file in the store (content addressing).
//!
//! ```no_run
//! let bytes = std::fs::read("IMG_0001.jpg").unwrap();
//! match cdht_photo::process_photo(&bytes, &cdht_photo::PhotoOptions::default()) {
//!     Ok(p) => println!("{} {}x{} {} bytes", p.sha256_hex, p.width, p.height, p.jpeg.len()),
//!     Err(e) => eprintln!("{e} / {:?}", e.kind()),
//! }
//! ```

mod decode;
mod encode;
mod error;
mod resample;
mod resize;
mod scaled_jpeg;

use image::DynamicImage;
use sha2::{Digest, Sha256};

pub use encode::Encoding;
pub use error::{PhotoError, PhotoErrorKind};

/// MIME type of every output.
pub const OUTPUT_MIME: &str = "image/jpeg";

/// Settings of the pipeline. [`Default`] fits evidence photos sent over 2G/3G.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhotoOptions {
    /// Longest side of the output in pixels; smaller images are never upscaled. Default 1600.
    pub long_edge: u32,
    /// Highest JPEG quality used (1–100, on mozjpeg's quantisation tables). Default 82.
    pub quality: u8,
    /// Lowest quality the adaptive step may go down to. Default 60, where the
    /// text of a photographed certificate still reads at 1600 px.
    pub min_quality: u8,
    /// How much quality drops at each re-encode when the chosen quality still
    /// came out above the budget. Default 2.
    pub quality_step: u8,
    /// Output budget in bytes: the quality is lowered to fit it. Default 150 KB
    /// (150 000 bytes; issue 14 item 3).
    pub max_output_bytes: usize,
    /// Largest input file accepted, in bytes. Default 25 MiB.
    pub max_input_bytes: usize,
    /// Largest width or height the header may claim. Default 16 384.
    pub max_dimension: u32,
    /// Largest width × height the header may claim. Default 64 000 000 (64 MP).
    pub max_pixels: u64,
    /// Most bytes the decoder may allocate (image::Limits::max_alloc). Default 512 MiB.
    pub max_alloc: u64,
    /// Which encode makes the output. Default [`Encoding::Smallest`].
    pub encoding: Encoding,
    /// Write the capture time back into the output as a minimal EXIF block
    /// (only `DateTimeOriginal`, about 80 bytes). Default true.
    pub keep_capture_time_exif: bool,
}

impl Default for PhotoOptions {
    fn default() -> Self {
        Self {
            long_edge: 1600,
            quality: 82,
            min_quality: 60,
            quality_step: 2,
            max_output_bytes: 150_000,
            max_input_bytes: 25 * 1024 * 1024,
            max_dimension: 16_384,
            max_pixels: 64_000_000,
            max_alloc: 512 * 1024 * 1024,
            encoding: Encoding::Smallest,
            keep_capture_time_exif: true,
        }
    }
}

/// The result of [`process_photo`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessedPhoto {
    /// The JPEG bytes to store and send.
    pub jpeg: Vec<u8>,
    /// Lower-case hex SHA-256 of [`Self::jpeg`]: the file's name in the store.
    pub sha256_hex: String,
    /// Width of the output, upright.
    pub width: u32,
    /// Height of the output, upright.
    pub height: u32,
    /// Always [`OUTPUT_MIME`] (`"image/jpeg"`).
    pub mime: &'static str,
    /// Capture time from EXIF `DateTimeOriginal`, as local ISO 8601
    /// `"YYYY-MM-DDTHH:MM:SS"` (no time zone: cameras store local time).
    pub taken_at: Option<String>,
    /// Size of the input in bytes.
    pub source_bytes: usize,
    /// JPEG quality of the output (lower than [`PhotoOptions::quality`] if the
    /// adaptive step had to shrink it).
    pub quality: u8,
    /// False if even [`PhotoOptions::min_quality`] stayed above
    /// [`PhotoOptions::max_output_bytes`]; the photo is still returned.
    pub within_budget: bool,
}

/// Runs the whole pipeline on the bytes of one photo. See the crate docs.
///
/// # Errors
///
/// A [`PhotoError`] whose [`kind`](PhotoError::kind) tells why the photo was
/// refused.
pub fn process_photo(input: &[u8], opts: &PhotoOptions) -> Result<ProcessedPhoto, PhotoError> {
    let Prepared { pixels, taken_at } = prepare(input, opts)?;
    let (width, height) = (pixels.width(), pixels.height());

    let exif_out = match (&taken_at, opts.keep_capture_time_exif) {
        (Some(t), true) => decode::minimal_exif(t),
        _ => None,
    };
    let (jpeg, quality) = encode::encode_adaptive(&pixels, exif_out.as_deref(), opts)?;
    let within_budget = jpeg.len() <= opts.max_output_bytes;
    let sha256_hex = hex(&Sha256::digest(&jpeg));

    Ok(ProcessedPhoto {
        jpeg,
        sha256_hex,
        width,
        height,
        mime: OUTPUT_MIME,
        taken_at,
        source_bytes: input.len(),
        quality,
        within_budget,
    })
}

/// The pixels [`process_photo`] encodes, before encoding: what an encoder's
/// output is compared against (the benchmark's SSIM reference).
#[derive(Debug, Clone)]
pub struct Prepared {
    /// Upright, 8-bit RGB or grey, long edge at most [`PhotoOptions::long_edge`].
    pub pixels: DynamicImage,
    /// See [`ProcessedPhoto::taken_at`].
    pub taken_at: Option<String>,
}

/// Steps 1–4 of the pipeline: checks, decode, flatten, shrink, orientation.
///
/// # Errors
///
/// As [`process_photo`].
pub fn prepare(input: &[u8], opts: &PhotoOptions) -> Result<Prepared, PhotoError> {
    if input.is_empty() {
        return Err(PhotoError::Empty);
    }
    if input.len() > opts.max_input_bytes {
        return Err(PhotoError::TooLarge {
            size: input.len(),
            max: opts.max_input_bytes,
        });
    }

    let (img, orientation, exif) = decode::decode_bounded(input, opts)?;
    let taken_at = exif.as_deref().and_then(decode::capture_time);

    let mut pixels = resize::shrink(resize::flatten(img), opts.long_edge);
    pixels.apply_orientation(orientation);
    Ok(Prepared { pixels, taken_at })
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}
