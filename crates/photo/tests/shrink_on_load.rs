//! JPEGs at least twice the output size are decoded at ½, ¼ or ⅛ size by
//! libjpeg-turbo's scaled DCT (shrink-on-load): the pixels must match a full
//! decode with the `image` crate, grey must stay grey, and damaged data must
//! come back as a photo or an error, never a crash.
#![allow(clippy::unwrap_used)]

use cdht_photo::{prepare, process_photo, PhotoErrorKind, PhotoOptions};
use cdht_test_support::photos;
use image::imageops::FilterType;

#[test]
fn scaled_decode_matches_a_full_decode_upright() {
    let input = photos::phone_photo(3);
    let ours = prepare(&input, &PhotoOptions::default())
        .unwrap()
        .pixels
        .to_rgb8();
    // The independent path: zune-jpeg at full size, rotated, resized at once.
    let mut full = image::load_from_memory(&input).unwrap();
    full.apply_orientation(image::metadata::Orientation::Rotate90);
    let theirs = full
        .resize_exact(1200, 1600, FilterType::CatmullRom)
        .to_rgb8();
    assert_eq!(ours.dimensions(), theirs.dimensions());
    let diffs: Vec<f64> = ours
        .as_raw()
        .iter()
        .zip(theirs.as_raw())
        .map(|(a, b)| f64::from(a.abs_diff(*b)))
        .collect();
    let mean = diffs.iter().sum::<f64>() / diffs.len() as f64;
    // Sensor noise differs after two different low-pass filters; colours,
    // orientation and layout must not.
    assert!(mean < 4.0, "mean difference {mean:.2} levels");
}

#[test]
fn large_grey_jpeg_stays_grey() {
    let grey = image::DynamicImage::ImageRgb8(photos::photo_like(3400, 2000, 6)).to_luma8();
    let mut jpeg = Vec::new();
    jpeg_encoder::Encoder::new(&mut jpeg, 90)
        .encode(grey.as_raw(), 3400, 2000, jpeg_encoder::ColorType::Luma)
        .unwrap();
    let out = process_photo(&jpeg, &PhotoOptions::default()).unwrap();
    assert_eq!((out.width, out.height), (1600, 941));
    let decoded = image::load_from_memory(&out.jpeg).unwrap();
    assert_eq!(decoded.color(), image::ColorType::L8);
    let small = image::DynamicImage::ImageLuma8(grey)
        .resize_exact(1600, 941, FilterType::Triangle)
        .to_luma8();
    let mean = small
        .as_raw()
        .iter()
        .zip(decoded.to_luma8().as_raw())
        .map(|(a, b)| f64::from(a.abs_diff(*b)))
        .sum::<f64>()
        / f64::from(1600 * 941);
    assert!(mean < 4.0, "mean difference {mean:.2} levels");
}

#[test]
fn damaged_scan_data_gives_a_photo_or_corrupt_never_a_crash() {
    let input = photos::phone_photo(4);
    let mut outcomes = (0, 0);
    for (n, start) in [0.2, 0.5, 0.8].into_iter().enumerate() {
        let mut bad = input.clone();
        let at = (bad.len() as f64 * start) as usize;
        // Garbage, markers included, with the end-of-image marker left intact.
        for (i, b) in bad[at..at + 4000].iter_mut().enumerate() {
            *b = (i * 37 + n * 11) as u8 | if i % 97 == 0 { 0xFF } else { 0 };
        }
        match process_photo(&bad, &PhotoOptions::default()) {
            Ok(out) => {
                assert_eq!((out.width, out.height), (1200, 1600));
                outcomes.0 += 1;
            }
            Err(e) => {
                assert_eq!(e.kind(), PhotoErrorKind::Corrupt, "{e}");
                outcomes.1 += 1;
            }
        }
    }
    assert_eq!(outcomes.0 + outcomes.1, 3);
}
