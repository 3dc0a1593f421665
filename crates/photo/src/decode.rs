//! Decoding within limits, and the EXIF fields kept.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader};

use crate::{PhotoError, PhotoOptions};

/// Decodes with every limit checked from the header before pixels are allocated.
pub(crate) fn decode_bounded(
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
    if format == ImageFormat::Jpeg {
        if let Some(n) = crate::scaled_jpeg::numerator(w, h, opts.long_edge) {
            if let Some(img) = crate::scaled_jpeg::decode(input, n)? {
                return Ok((img, orientation, exif));
            }
        }
    }
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
pub(crate) fn capture_time(raw_exif: &[u8]) -> Option<String> {
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
pub(crate) fn minimal_exif(taken_at: &str) -> Option<Vec<u8>> {
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
