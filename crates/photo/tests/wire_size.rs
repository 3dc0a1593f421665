//! The photo on the wire (issue 14, item 3): at most 150 KB per 12 MP phone
//! photo, plain (progressive) JPEG from mozjpeg, with the certificate's text
//! as close to the 1600 px pixels as the former encoder kept it at ≈190 KB.
#![allow(clippy::unwrap_used)]

use cdht_photo::{prepare, process_photo, Encoding, PhotoOptions};
use cdht_test_support::photos;
use image::RgbImage;

#[path = "../examples/photo_bench/ssim.rs"]
mod ssim;

/// The certificate in the upright 1200×1600 output: the generator draws it
/// over x 0.33–0.72, y 0.30–0.72 of the stored landscape image, and EXIF
/// orientation 6 turns stored (x, y) into upright (H − y, x).
const CERTIFICATE: (u32, u32, u32, u32) = (336, 528, 840, 1152);

/// Mean SSIM (the benchmark's: luma, 11×11 Gaussian) of `b` against `a`
/// over `CERTIFICATE`. SSIM, not PSNR: mozjpeg smooths the paper's sensor
/// noise (PSNR drops) while the strokes of the text stay (SSIM holds).
fn certificate_ssim(a: &RgbImage, b: &RgbImage) -> f64 {
    let (x0, y0, x1, y1) = CERTIFICATE;
    let crop = |img: &RgbImage| image::imageops::crop_imm(img, x0, y0, x1 - x0, y1 - y0).to_image();
    let (a, b) = (crop(a), crop(b));
    let whole = (0, 0, a.width() as usize, a.height() as usize);
    ssim::Reference::new(&a).ssim(&b, whole).0
}

/// What the pipeline encoded before mozjpeg: jpeg-encoder 0.7, 4:2:0, at the
/// quality it settled on for these photos under the former 200 KB budget.
fn former_encoder(img: &RgbImage, quality: u8) -> Vec<u8> {
    use jpeg_encoder::{ChromaSubsamplingMethod, ColorType, Encoder, SamplingFactor};
    let mut out = Vec::new();
    let mut enc = Encoder::new(&mut out, quality);
    enc.set_sampling_factor(SamplingFactor::F_2_2);
    enc.set_chroma_subsampling_method(ChromaSubsamplingMethod::Average);
    let (w, h) = (img.width() as u16, img.height() as u16);
    enc.encode(img.as_raw(), w, h, ColorType::Rgb).unwrap();
    out
}

fn is_progressive(jpeg: &[u8]) -> bool {
    let mut i = 2;
    while i + 4 <= jpeg.len() && jpeg[i] == 0xFF {
        match jpeg[i + 1] {
            0xC2 => return true,
            0xDA => return false,
            _ => i += 2 + usize::from(u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]])),
        }
    }
    false
}

#[test]
fn phone_photo_fits_150_kb_and_keeps_the_certificate_as_sharp_as_before() {
    let opts = PhotoOptions::default();
    assert_eq!(opts.max_output_bytes, 150_000);
    let input = photos::phone_photo(1);
    let out = process_photo(&input, &opts).unwrap();
    assert!(out.jpeg.len() <= 150_000, "{} bytes", out.jpeg.len());
    assert!(out.within_budget);
    assert!(
        (opts.min_quality..=opts.quality).contains(&out.quality),
        "quality {}",
        out.quality
    );
    assert!(is_progressive(&out.jpeg), "mozjpeg writes progressive");

    let reference = prepare(&input, &opts).unwrap().pixels.to_rgb8();
    let decoded = image::load_from_memory(&out.jpeg).unwrap().to_rgb8();
    assert_eq!(decoded.dimensions(), reference.dimensions());
    let ours = certificate_ssim(&reference, &decoded);

    // The former encoder settled on quality 60 for this photo (184.6 KB).
    let former = former_encoder(&reference, 60);
    assert!(former.len() > 180_000, "former: {} bytes", former.len());
    let theirs = certificate_ssim(
        &reference,
        &image::load_from_memory(&former).unwrap().to_rgb8(),
    );
    assert!(
        ours >= theirs - 0.002,
        "certificate SSIM {ours:.4} at {} bytes, former {theirs:.4} at {} bytes",
        out.jpeg.len(),
        former.len()
    );
}

#[test]
fn grey_photo_stays_grey() {
    let grey = image::DynamicImage::ImageRgb8(photos::photo_like(900, 600, 4)).to_luma8();
    let mut png = Vec::new();
    grey.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let out = process_photo(&png, &PhotoOptions::default()).unwrap();
    let decoded = image::load_from_memory(&out.jpeg).unwrap();
    assert_eq!(decoded.color(), image::ColorType::L8);
    assert_eq!((decoded.width(), decoded.height()), (900, 600));
    let back = decoded.to_luma8();
    let total: u64 = grey
        .pixels()
        .zip(back.pixels())
        .map(|(a, b)| u64::from(a.0[0].abs_diff(b.0[0])))
        .sum();
    let mean = total as f64 / f64::from(900 * 600);
    assert!(mean < 4.0, "grey levels moved by {mean:.2} on average");
}

#[test]
fn small_photo_is_encoded_once_at_the_top_quality() {
    let input = photos::camera_jpeg(&photos::photo_like(640, 480, 5), None);
    let out = process_photo(&input, &PhotoOptions::default()).unwrap();
    assert_eq!(out.quality, 82);
    assert!(out.within_budget);
    let decoded = image::load_from_memory(&out.jpeg).unwrap().to_rgb8();
    assert_eq!(decoded.dimensions(), (640, 480));
}

#[test]
fn fast_encoding_fits_the_budget_as_baseline_jpeg() {
    let input = photos::phone_photo(2);
    // Baseline needs a lower quality than trellis for the same bytes: 55–57
    // on these photos, under the default floor of 60.
    let opts = PhotoOptions {
        encoding: Encoding::Fast,
        min_quality: 50,
        ..PhotoOptions::default()
    };
    let out = process_photo(&input, &opts).unwrap();
    assert!(out.jpeg.len() <= 150_000, "{} bytes", out.jpeg.len());
    assert!(out.within_budget);
    assert!(!is_progressive(&out.jpeg), "the fast encode is baseline");
    // The quality is the highest that fits: one step up would not.
    let up = process_photo(
        &input,
        &PhotoOptions {
            min_quality: out.quality + 1,
            quality: out.quality + 1,
            ..opts.clone()
        },
    )
    .unwrap();
    assert!(up.jpeg.len() > 150_000, "quality {} also fits", up.quality);
    assert_eq!(out.taken_at.as_deref(), Some(photos::DATE_ISO));
    assert!(photos::exif_fields(&out.jpeg)
        .iter()
        .any(|f| f.tag == exif::Tag::DateTimeOriginal));

    let reference = prepare(&input, &opts).unwrap().pixels.to_rgb8();
    let decoded = image::load_from_memory(&out.jpeg).unwrap().to_rgb8();
    let fast = certificate_ssim(&reference, &decoded);
    assert!(fast > 0.95, "certificate SSIM {fast:.4}");
}
