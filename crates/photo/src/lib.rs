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
//!    refused as [`PhotoErrorKind::Corrupt`];
//! 3. flatten to 8-bit RGB or grey, transparency onto white;
//! 4. shrink so the long edge is at most [`PhotoOptions::long_edge`] (never
//!    upscale), then apply the EXIF orientation so pixels are upright;
//! 5. encode JPEG at [`PhotoOptions::quality`]; while the result is above
//!    [`PhotoOptions::max_output_bytes`], re-encode at lower quality in steps
//!    of [`PhotoOptions::quality_step`], never below
//!    [`PhotoOptions::min_quality`] (a floor that keeps a certificate readable;
//!    the last attempt is kept even if still above the budget);
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

mod error;

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader};
use sha2::{Digest, Sha256};

pub use error::{PhotoError, PhotoErrorKind};

/// MIME type of every output.
pub const OUTPUT_MIME: &str = "image/jpeg";

/// Settings of the pipeline. [`Default`] fits evidence photos sent over 2G/3G.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhotoOptions {
    /// Longest side of the output in pixels; smaller images are never upscaled. Default 1600.
    pub long_edge: u32,
    /// First JPEG quality tried (1–100). Default 82.
    pub quality: u8,
    /// Lowest quality the adaptive step may go down to. Default 60, where the
    /// text of a photographed certificate still reads at 1600 px.
    pub min_quality: u8,
    /// How much quality drops at each re-encode. Default 8.
    pub quality_step: u8,
    /// Output budget in bytes: above it, re-encode at a lower quality. Default 200 KB
    /// (200 000 bytes).
    pub max_output_bytes: usize,
    /// Largest input file accepted, in bytes. Default 25 MiB.
    pub max_input_bytes: usize,
    /// Largest width or height the header may claim. Default 16 384.
    pub max_dimension: u32,
    /// Largest width × height the header may claim. Default 64 000 000 (64 MP).
    pub max_pixels: u64,
    /// Most bytes the decoder may allocate (image::Limits::max_alloc). Default 512 MiB.
    pub max_alloc: u64,
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
            quality_step: 8,
            max_output_bytes: 200_000,
            max_input_bytes: 25 * 1024 * 1024,
            max_dimension: 16_384,
            max_pixels: 64_000_000,
            max_alloc: 512 * 1024 * 1024,
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
    if input.is_empty() {
        return Err(PhotoError::Empty);
    }
    if input.len() > opts.max_input_bytes {
        return Err(PhotoError::TooLarge {
            size: input.len(),
            max: opts.max_input_bytes,
        });
    }

    let (img, orientation, exif) = decode_bounded(input, opts)?;
    let taken_at = exif.as_deref().and_then(capture_time);

    let mut img = shrink(flatten(img), opts.long_edge);
    img.apply_orientation(orientation);
    let (width, height) = (img.width(), img.height());

    let exif_out = match (&taken_at, opts.keep_capture_time_exif) {
        (Some(t), true) => minimal_exif(t),
        _ => None,
    };
    let (jpeg, quality) = encode_adaptive(&img, exif_out.as_deref(), opts)?;
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

/// Decodes with every limit checked from the header before pixels are allocated.
fn decode_bounded(
    input: &[u8],
    opts: &PhotoOptions,
) -> Result<(DynamicImage, image::metadata::Orientation, Option<Vec<u8>>), PhotoError> {
    if is_heif(input) {
        return Err(PhotoError::UnsupportedFormat {
            format: "HEIC".to_owned(),
        });
    }
    let reader = ImageReader::new(Cursor::new(input))
        .with_guessed_format()
        .map_err(|e| PhotoError::Corrupt {
            detail: e.to_string(),
        })?;
    let format = reader.format().ok_or(PhotoError::NotAnImage)?;
    if !matches!(
        format,
        ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP
    ) {
        return Err(PhotoError::UnsupportedFormat {
            format: format!("{format:?}").to_uppercase(),
        });
    }
    if format == ImageFormat::Jpeg && !jpeg_has_end_marker(input) {
        return Err(PhotoError::Corrupt {
            detail: "JPEG has no end-of-image marker (truncated file)".to_owned(),
        });
    }

    let mut limits = image::Limits::default();
    limits.max_alloc = Some(opts.max_alloc);
    let mut reader = reader;
    // Dimensions are checked below, where the claimed size can be reported.
    reader.limits(limits.clone());
    let mut decoder = reader.into_decoder()?;

    let (w, h) = decoder.dimensions();
    let too_large = |detail: String| PhotoError::DimensionsTooLarge {
        width: w,
        height: h,
        detail,
    };
    if w > opts.max_dimension || h > opts.max_dimension {
        return Err(too_large(format!(
            "a side is above {} pixels",
            opts.max_dimension
        )));
    }
    if u64::from(w) * u64::from(h) > opts.max_pixels {
        return Err(too_large(format!("above {} pixels", opts.max_pixels)));
    }
    if decoder.total_bytes() > opts.max_alloc {
        return Err(too_large(format!(
            "decoding needs {} bytes, above {}",
            decoder.total_bytes(),
            opts.max_alloc
        )));
    }
    limits.max_image_width = Some(opts.max_dimension);
    limits.max_image_height = Some(opts.max_dimension);
    decoder.set_limits(limits)?;

    // Metadata is best effort: a broken EXIF block must not refuse the photo.
    let exif = decoder.exif_metadata().ok().flatten();
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let img = DynamicImage::from_decoder(decoder)?;
    Ok((img, orientation, exif))
}

/// HEIF/HEIC/AVIF-style ISO-BMFF brand sniffing (`....ftypheic`).
fn is_heif(input: &[u8]) -> bool {
    const BRANDS: [&[u8; 4]; 6] = [b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis"];
    input.len() >= 12
        && &input[4..8] == b"ftyp"
        && (BRANDS.iter().any(|b| &input[8..12] == *b) || &input[8..12] == b"mif1")
}

/// True if the JPEG has an EOI marker after its first scan. zune-jpeg decodes a
/// truncated file by padding it with grey, which would store a half photo.
/// Data after EOI (e.g. motion-photo video) is allowed.
fn jpeg_has_end_marker(input: &[u8]) -> bool {
    // Walk the marker segments up to the first SOS.
    let mut i = 2;
    while i + 4 <= input.len() {
        if input[i] != 0xFF {
            return false;
        }
        let marker = input[i + 1];
        if marker == 0xFF {
            i += 1; // fill byte
            continue;
        }
        let len = usize::from(u16::from_be_bytes([input[i + 2], input[i + 3]]));
        if marker == 0xDA {
            let scan_start = i + 2 + len;
            return input
                .get(scan_start..)
                .is_some_and(|scan| scan.windows(2).any(|w| w == [0xFF, 0xD9]));
        }
        i += 2 + len;
    }
    false
}

/// EXIF `DateTimeOriginal` as `YYYY-MM-DDTHH:MM:SS`.
fn capture_time(raw_exif: &[u8]) -> Option<String> {
    let exif = exif::Reader::new().read_raw(raw_exif.to_vec()).ok()?;
    let field = exif.get_field(exif::Tag::DateTimeOriginal, exif::In::PRIMARY)?;
    let exif::Value::Ascii(ref parts) = field.value else {
        return None;
    };
    let dt = exif::DateTime::from_ascii(parts.first()?).ok()?;
    let valid = (1..=12).contains(&dt.month)
        && (1..=31).contains(&dt.day)
        && dt.hour < 24
        && dt.minute < 60
        && dt.second < 61;
    valid.then(|| {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second
        )
    })
}

/// A TIFF/EXIF block holding only `DateTimeOriginal` (from an ISO `taken_at`).
fn minimal_exif(taken_at: &str) -> Option<Vec<u8>> {
    let exif_form = taken_at.replacen('-', ":", 2).replacen('T', " ", 1);
    let field = exif::Field {
        tag: exif::Tag::DateTimeOriginal,
        ifd_num: exif::In::PRIMARY,
        value: exif::Value::Ascii(vec![exif_form.into_bytes()]),
    };
    let mut writer = exif::experimental::Writer::new();
    writer.push_field(&field);
    let mut out = Cursor::new(Vec::new());
    writer.write(&mut out, false).ok()?;
    Some(out.into_inner())
}

/// Shrinks so the long edge is at most `long_edge`; never upscales.
///
/// For a large reduction the image is first averaged over k×k blocks (k the
/// integer part of the ratio; cheap, and it is the low-pass a downscale
/// needs), then Catmull-Rom resampled by the remaining ratio (below 2). On a
/// 12 MP photo the whole pipeline went from ≈380 to ≈280 ms with it (see
/// BENCHMARKS.md), a little softer than Catmull-Rom alone.
fn shrink(img: DynamicImage, long_edge: u32) -> DynamicImage {
    let (w, h) = (img.width(), img.height());
    let long = w.max(h);
    if long <= long_edge || long_edge == 0 {
        return img;
    }
    let scale = f64::from(long_edge) / f64::from(long);
    // Rounded, at least 1 px; the long side lands exactly on `long_edge`.
    let (nw, nh) = if w >= h {
        (long_edge, ((f64::from(h) * scale).round() as u32).max(1))
    } else {
        (((f64::from(w) * scale).round() as u32).max(1), long_edge)
    };
    let k = long / long_edge;
    let img = if k >= 2 && w / k >= nw && h / k >= nh {
        box_reduce(&img, k).unwrap_or(img)
    } else {
        img
    };
    if (img.width(), img.height()) == (nw, nh) {
        return img;
    }
    img.resize_exact(nw, nh, image::imageops::FilterType::CatmullRom)
}

/// Averages k×k blocks of an 8-bit RGB or grey image (the right and bottom
/// remainders, under k pixels, are dropped). None for other pixel types.
fn box_reduce(img: &DynamicImage, k: u32) -> Option<DynamicImage> {
    let channels = match img {
        DynamicImage::ImageRgb8(_) => 3,
        DynamicImage::ImageLuma8(_) => 1,
        _ => return None,
    };
    let (w, h) = (img.width() as usize, img.height() as usize);
    let k = k as usize;
    let (ow, oh) = (w / k, h / k);
    let src = img.as_bytes();
    let row_len = w * channels;
    let area = (k * k) as u32;
    let mut out = vec![0u8; ow * oh * channels];
    let mut acc = vec![0u32; ow * channels];
    for (oy, out_row) in out.chunks_exact_mut(ow * channels).enumerate() {
        acc.fill(0);
        for row in src[oy * k * row_len..].chunks_exact(row_len).take(k) {
            for (ox, a) in acc.chunks_exact_mut(channels).enumerate() {
                let start = ox * k * channels;
                for px in row[start..start + k * channels].chunks_exact(channels) {
                    for (sum, &v) in a.iter_mut().zip(px) {
                        *sum += u32::from(v);
                    }
                }
            }
        }
        for (o, &sum) in out_row.iter_mut().zip(&acc) {
            *o = ((sum + area / 2) / area) as u8;
        }
    }
    let (ow, oh) = (ow as u32, oh as u32);
    match channels {
        3 => image::RgbImage::from_raw(ow, oh, out).map(DynamicImage::ImageRgb8),
        _ => image::GrayImage::from_raw(ow, oh, out).map(DynamicImage::ImageLuma8),
    }
}

/// 8-bit RGB or grey; transparency composited onto white (a transparent
/// screenshot must not turn black).
fn flatten(img: DynamicImage) -> DynamicImage {
    let over_white = |c: u8, a: u8| -> u8 {
        let (c, a) = (u16::from(c), u16::from(a));
        ((c * a + 255 * (255 - a) + 127) / 255) as u8
    };
    match img {
        DynamicImage::ImageRgb8(_) | DynamicImage::ImageLuma8(_) => img,
        DynamicImage::ImageLuma16(_) => DynamicImage::ImageLuma8(img.to_luma8()),
        DynamicImage::ImageLumaA8(_) | DynamicImage::ImageLumaA16(_) => {
            let la = img.to_luma_alpha8();
            let out = image::GrayImage::from_fn(la.width(), la.height(), |x, y| {
                let p = la.get_pixel(x, y).0;
                image::Luma([over_white(p[0], p[1])])
            });
            DynamicImage::ImageLuma8(out)
        }
        other if other.color().has_alpha() => {
            let rgba = other.to_rgba8();
            let out = image::RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
                let [r, g, b, a] = rgba.get_pixel(x, y).0;
                image::Rgb([over_white(r, a), over_white(g, a), over_white(b, a)])
            });
            DynamicImage::ImageRgb8(out)
        }
        other => DynamicImage::ImageRgb8(other.to_rgb8()),
    }
}

/// Encodes at `opts.quality`, stepping down while above the byte budget.
fn encode_adaptive(
    img: &DynamicImage,
    exif: Option<&[u8]>,
    opts: &PhotoOptions,
) -> Result<(Vec<u8>, u8), PhotoError> {
    let floor = opts.min_quality.clamp(1, 100);
    let mut quality = opts.quality.clamp(floor, 100);
    let step = opts.quality_step.max(1);
    loop {
        let jpeg = encode_jpeg(img, quality, exif)?;
        if jpeg.len() <= opts.max_output_bytes || quality == floor {
            return Ok((jpeg, quality));
        }
        quality = quality.saturating_sub(step).max(floor);
    }
}

fn encode_jpeg(
    img: &DynamicImage,
    quality: u8,
    exif: Option<&[u8]>,
) -> Result<Vec<u8>, PhotoError> {
    use jpeg_encoder::{ChromaSubsamplingMethod, ColorType, Encoder, SamplingFactor};
    let internal = |e: jpeg_encoder::EncodingError| PhotoError::Internal {
        detail: e.to_string(),
    };
    let color = match img {
        DynamicImage::ImageLuma8(_) => ColorType::Luma,
        _ => ColorType::Rgb,
    };
    let too_wide = || PhotoError::Internal {
        detail: "image side above 65535 pixels".to_owned(),
    };
    let w = u16::try_from(img.width()).map_err(|_| too_wide())?;
    let h = u16::try_from(img.height()).map_err(|_| too_wide())?;
    let mut out = Vec::with_capacity(256 * 1024);
    let mut enc = Encoder::new(&mut out, quality);
    // 4:2:0 as phone cameras and libjpeg do, chroma box-averaged. No
    // optimized Huffman tables: jpeg-encoder 0.7 then writes one scan per
    // component, which zune-jpeg (the `image` crate's decoder) decodes with
    // wrong colours; one interleaved scan decodes everywhere.
    enc.set_sampling_factor(SamplingFactor::F_2_2);
    enc.set_chroma_subsampling_method(ChromaSubsamplingMethod::Average);
    if let Some(exif) = exif {
        enc.add_exif_metadata(exif).map_err(internal)?;
    }
    enc.encode(img.as_bytes(), w, h, color).map_err(internal)?;
    Ok(out)
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}
