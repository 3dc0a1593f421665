//! The photo pipeline on real files made here: a 12 MP phone photo with camera
//! EXIF, and the inputs it must refuse.
#![allow(clippy::unwrap_used)]

use cdht_photo::{process_photo, PhotoError, PhotoErrorKind, PhotoOptions};
use cdht_test_support::photos::{self, contains, exif_fields, is_near, mean_rgb};
use sha2::{Digest, Sha256};

fn opts() -> PhotoOptions {
    PhotoOptions::default()
}

fn small_jpeg(w: u32, h: u32, exif: Option<Vec<u8>>) -> Vec<u8> {
    photos::camera_jpeg(&photos::photo_like(w, h, 7), exif)
}

#[test]
fn phone_photo_comes_out_small_upright_and_without_location_or_device() {
    let input = photos::phone_photo(1);
    // The fixture really carries what must be removed.
    let tags: Vec<exif::Tag> = exif_fields(&input).iter().map(|f| f.tag).collect();
    for t in [
        exif::Tag::GPSLatitude,
        exif::Tag::Make,
        exif::Tag::Model,
        exif::Tag::Orientation,
    ] {
        assert!(tags.contains(&t), "fixture lacks {t}");
    }
    assert!(input.len() > 1_500_000, "fixture is {} bytes", input.len());

    let out = process_photo(&input, &opts()).unwrap();

    assert!(
        out.jpeg.len() <= 200_000,
        "output is {} bytes",
        out.jpeg.len()
    );
    assert!(out.within_budget);
    assert!((60..=82).contains(&out.quality));
    assert_eq!(
        (out.width, out.height),
        (1200, 1600),
        "orientation 6 makes it portrait"
    );
    assert_eq!(out.mime, "image/jpeg");
    assert_eq!(out.source_bytes, input.len());
    assert_eq!(out.taken_at.as_deref(), Some(photos::DATE_ISO));
    assert_eq!(out.sha256_hex, format!("{:x}", Sha256::digest(&out.jpeg)));
    assert_eq!(out.sha256_hex.len(), 64);

    // Pixels are rotated 90° clockwise: the stored top-left (red) marker is now
    // top-right, the stored bottom-left (blue) one top-left.
    let img = image::load_from_memory(&out.jpeg).unwrap().to_rgb8();
    assert_eq!(img.dimensions(), (1200, 1600));
    let m = photos::MARKER * 1600 / photos::SENSOR_W; // marker side in the output
    let probe = m / 2;
    let at = |x, y| mean_rgb(&img, x, y, probe);
    let (right, bottom) = (1200 - m + m / 4, 1600 - m + m / 4);
    assert!(
        is_near(at(right, m / 4), photos::RED),
        "top-right {:?}",
        at(right, m / 4)
    );
    assert!(
        is_near(at(m / 4, m / 4), photos::BLUE),
        "top-left {:?}",
        at(m / 4, m / 4)
    );
    for (x, y) in [(m / 4, bottom), (right, bottom)] {
        let c = at(x, y);
        assert!(
            !is_near(c, photos::RED) && !is_near(c, photos::BLUE),
            "bottom corner {c:?}"
        );
    }

    // Only the capture time is left in the metadata.
    let fields = exif_fields(&out.jpeg);
    let tags: Vec<exif::Tag> = fields.iter().map(|f| f.tag).collect();
    assert!(
        tags.iter()
            .all(|t| matches!(*t, exif::Tag::DateTimeOriginal | exif::Tag::ExifIFDPointer)),
        "unexpected tags {tags:?}"
    );
    let dto = fields
        .iter()
        .find(|f| f.tag == exif::Tag::DateTimeOriginal)
        .unwrap();
    assert_eq!(dto.display_value().to_string(), "2024-11-05 08:30:15");
    for needle in [photos::MAKE.as_bytes(), photos::MODEL.as_bytes(), b"A125F"] {
        assert!(
            !contains(&out.jpeg, needle),
            "output still holds {needle:?}"
        );
    }
}

#[test]
fn capture_time_exif_can_be_left_out() {
    let input = small_jpeg(800, 600, Some(photos::camera_exif(1)));
    let o = PhotoOptions {
        keep_capture_time_exif: false,
        ..opts()
    };
    let out = process_photo(&input, &o).unwrap();
    assert_eq!(out.taken_at.as_deref(), Some(photos::DATE_ISO));
    assert!(exif_fields(&out.jpeg).is_empty());
    assert!(!contains(&out.jpeg, b"Exif\0\0"));
}

#[test]
fn small_image_is_not_upscaled() {
    let input = small_jpeg(800, 600, None);
    let out = process_photo(&input, &opts()).unwrap();
    assert_eq!((out.width, out.height), (800, 600));
    assert_eq!(out.taken_at, None);
    assert!(exif_fields(&out.jpeg).is_empty());
    let decoded = image::load_from_memory(&out.jpeg).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (800, 600));
}

#[test]
fn long_edge_is_configurable() {
    let input = small_jpeg(900, 700, Some(photos::camera_exif(6)));
    let o = PhotoOptions {
        long_edge: 300,
        ..opts()
    };
    let out = process_photo(&input, &o).unwrap();
    assert_eq!((out.width, out.height), (233, 300));
}

#[test]
fn quality_steps_down_to_the_floor_and_no_further() {
    let input = small_jpeg(800, 600, None);
    let o = PhotoOptions {
        max_output_bytes: 1_000,
        ..opts()
    };
    let out = process_photo(&input, &o).unwrap();
    assert_eq!(out.quality, o.min_quality);
    assert!(
        !out.within_budget,
        "the photo is kept even above the budget"
    );
    let roomy = process_photo(&input, &opts()).unwrap();
    assert_eq!(roomy.quality, 82);
    assert!(roomy.jpeg.len() > out.jpeg.len());
}

#[test]
fn text_file_renamed_jpg_is_not_an_image() {
    let dir = std::env::temp_dir().join(format!("cdht-photo-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("giay_chung_nhan.jpg");
    std::fs::write(
        &path,
        "Giấy chứng nhận hoàn thành khóa học tin học cơ bản\n".repeat(20),
    )
    .unwrap();
    let bytes = std::fs::read(&path).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();

    let err = process_photo(&bytes, &opts()).unwrap_err();
    assert_eq!(err, PhotoError::NotAnImage);
    assert_eq!(err.kind(), PhotoErrorKind::NotAnImage);
    assert_eq!(err.kind().code(), "not_an_image");
    assert_eq!(err.to_string(), "the file is not an image");
}

#[test]
fn truncated_jpeg_is_refused_as_corrupt() {
    let input = small_jpeg(800, 600, Some(photos::camera_exif(1)));
    for keep in [input.len() * 6 / 10, input.len() - 2, 600] {
        let err = process_photo(&input[..keep], &opts()).unwrap_err();
        assert_eq!(err.kind(), PhotoErrorKind::Corrupt, "cut at {keep}: {err}");
    }
}

#[test]
fn truncated_png_is_refused_as_corrupt() {
    let mut png = Vec::new();
    photos::photo_like(300, 200, 3)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let err = process_photo(&png[..png.len() / 2], &opts()).unwrap_err();
    assert_eq!(err.kind(), PhotoErrorKind::Corrupt, "{err}");
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

#[test]
fn png_claiming_60000x60000_is_refused_before_decoding() {
    // 60 bytes that would decode to 10.8 GB of RGB.
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&60_000u32.to_be_bytes());
    ihdr.extend_from_slice(&60_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB
    png_chunk(&mut png, b"IHDR", &ihdr);
    png_chunk(
        &mut png,
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    );
    png_chunk(&mut png, b"IEND", &[]);

    let err = process_photo(&png, &opts()).unwrap_err();
    assert_eq!(err.kind(), PhotoErrorKind::DimensionsTooLarge, "{err}");
    assert!(matches!(
        err,
        PhotoError::DimensionsTooLarge {
            width: 60_000,
            height: 60_000,
            ..
        }
    ));
}

#[test]
fn jpeg_claiming_60000x60000_is_refused_before_decoding() {
    let mut jpeg = small_jpeg(64, 48, None);
    // Patch the frame header (SOF0: FF C0 len(2) precision(1) height(2) width(2)).
    let sof = jpeg.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
    jpeg[sof + 5..sof + 7].copy_from_slice(&60_000u16.to_be_bytes());
    jpeg[sof + 7..sof + 9].copy_from_slice(&60_000u16.to_be_bytes());

    let err = process_photo(&jpeg, &opts()).unwrap_err();
    assert!(
        matches!(
            err,
            PhotoError::DimensionsTooLarge {
                width: 60_000,
                height: 60_000,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn image_limits_apply_below_the_pixel_limit_too() {
    // A legal 2000x100 image against a tight max_alloc: refused, not decoded.
    let input = small_jpeg(2000, 100, None);
    let o = PhotoOptions {
        max_alloc: 100_000,
        ..opts()
    };
    let err = process_photo(&input, &o).unwrap_err();
    assert_eq!(err.kind(), PhotoErrorKind::DimensionsTooLarge, "{err}");
    let o = PhotoOptions {
        max_dimension: 1999,
        ..opts()
    };
    let err = process_photo(&input, &o).unwrap_err();
    assert_eq!(err.kind(), PhotoErrorKind::DimensionsTooLarge, "{err}");
}

#[test]
fn input_over_max_bytes_is_too_large() {
    let input = small_jpeg(800, 600, None);
    let o = PhotoOptions {
        max_input_bytes: 10_000,
        ..opts()
    };
    let err = process_photo(&input, &o).unwrap_err();
    assert_eq!(
        err,
        PhotoError::TooLarge {
            size: input.len(),
            max: 10_000
        }
    );
    assert_eq!(err.kind().code(), "too_large");
}

#[test]
fn empty_input_is_refused() {
    let err = process_photo(&[], &opts()).unwrap_err();
    assert_eq!(err.kind(), PhotoErrorKind::Empty);
}

#[test]
fn heic_and_gif_are_unsupported_with_a_helpful_message() {
    let mut heic = vec![0, 0, 0, 0x18];
    heic.extend_from_slice(b"ftypheic\0\0\0\0mif1heic");
    heic.resize(4096, 0);
    let err = process_photo(&heic, &opts()).unwrap_err();
    assert_eq!(
        err,
        PhotoError::UnsupportedFormat {
            format: "HEIC".into()
        }
    );
    assert_eq!(err.kind(), PhotoErrorKind::UnsupportedFormat);

    let gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;".to_vec();
    let err = process_photo(&gif, &opts()).unwrap_err();
    assert_eq!(err.kind(), PhotoErrorKind::UnsupportedFormat, "{err}");
}

#[test]
fn png_and_webp_are_accepted_and_transparency_becomes_white() {
    let rgba = image::RgbaImage::from_fn(400, 300, |x, _| {
        if x < 200 {
            image::Rgba([0, 0, 0, 0]) // transparent "black"
        } else {
            image::Rgba([20, 20, 20, 255])
        }
    });
    for format in [image::ImageFormat::Png, image::ImageFormat::WebP] {
        let mut bytes = Vec::new();
        rgba.write_to(&mut std::io::Cursor::new(&mut bytes), format)
            .unwrap();
        let out = process_photo(&bytes, &opts()).unwrap();
        assert_eq!((out.width, out.height), (400, 300));
        let img = image::load_from_memory(&out.jpeg).unwrap().to_rgb8();
        let left = mean_rgb(&img, 50, 100, 50);
        let right = mean_rgb(&img, 300, 100, 50);
        assert!(is_near(left, [255, 255, 255]), "{format:?} left {left:?}");
        assert!(is_near(right, [20, 20, 20]), "{format:?} right {right:?}");
    }
}

#[test]
fn same_input_gives_the_same_file_name() {
    let input = small_jpeg(640, 480, Some(photos::camera_exif(3)));
    let a = process_photo(&input, &opts()).unwrap();
    let b = process_photo(&input, &opts()).unwrap();
    assert_eq!(a.sha256_hex, b.sha256_hex);
    assert_eq!(a.jpeg, b.jpeg);
}

#[test]
fn every_error_has_its_own_code_and_an_english_display() {
    let errors = [
        PhotoError::Empty,
        PhotoError::TooLarge { size: 2, max: 1 },
        PhotoError::NotAnImage,
        PhotoError::UnsupportedFormat {
            format: "GIF".into(),
        },
        PhotoError::Corrupt { detail: "x".into() },
        PhotoError::DimensionsTooLarge {
            width: 1,
            height: 1,
            detail: "x".into(),
        },
        PhotoError::Internal { detail: "x".into() },
    ];
    let mut codes = std::collections::HashSet::new();
    for e in errors {
        assert!(!e.to_string().is_empty());
        assert!(codes.insert(e.kind().code()));
    }
}

#[test]
fn data_after_the_end_marker_is_accepted() {
    // Motion photos append a video after the JPEG's end-of-image marker.
    let mut input = small_jpeg(640, 480, Some(photos::camera_exif(1)));
    input.extend_from_slice(&[0x00, 0x00, 0x00, 0x18, b'f', b't', b'y', b'p']);
    input.extend(std::iter::repeat_n(0x5Au8, 10_000));
    let out = process_photo(&input, &opts()).unwrap();
    assert_eq!((out.width, out.height), (640, 480));
}

#[test]
fn progressive_jpeg_is_accepted() {
    let img = photos::photo_like(640, 480, 5);
    let mut input = Vec::new();
    let mut enc = jpeg_encoder::Encoder::new(&mut input, 90);
    enc.set_progressive(true);
    enc.encode(img.as_raw(), 640, 480, jpeg_encoder::ColorType::Rgb)
        .unwrap();
    let out = process_photo(&input, &opts()).unwrap();
    assert_eq!((out.width, out.height), (640, 480));
    let decoded = image::load_from_memory(&out.jpeg).unwrap().to_rgb8();
    assert!(is_near(mean_rgb(&decoded, 10, 10, 20), photos::RED));
}
