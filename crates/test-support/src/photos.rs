//! Test photos, made here: a 12-megapixel "phone photo" with camera EXIF
//! (orientation, GPS, Make/Model, capture time), and the helpers that look
//! into a processed one (its EXIF fields, its pixels).
//!
//! Used by the photo pipeline's tests and benchmark example and by the app's
//! add-photo test.

use std::io::Cursor;

use image::{Rgb, RgbImage};

/// Width and height of a 12-megapixel 4:3 sensor image, as stored (landscape).
pub const SENSOR_W: u32 = 4000;
/// See [`SENSOR_W`].
pub const SENSOR_H: u32 = 3000;
/// Side of the corner markers, in sensor pixels.
pub const MARKER: u32 = 320;
/// Stored top-left marker colour (red).
pub const RED: [u8; 3] = [230, 20, 20];
/// Stored bottom-left marker colour (blue).
pub const BLUE: [u8; 3] = [20, 40, 230];
/// The capture time written into the test EXIF, and its ISO form.
pub const DATE_EXIF: &str = "2024:11:05 08:30:15";
/// ISO 8601 form of [`DATE_EXIF`].
pub const DATE_ISO: &str = "2024-11-05T08:30:15";
/// Camera make and model written into the test EXIF.
pub const MAKE: &str = "samsung";
/// See [`MAKE`].
pub const MODEL: &str = "SM-A125F";

fn hash(x: u32, y: u32, seed: u32) -> u32 {
    let mut h = x
        .wrapping_mul(0x8da6_b343)
        .wrapping_add(y.wrapping_mul(0xd816_3841))
        .wrapping_add(seed.wrapping_mul(0xcb1a_b31f));
    h ^= h >> 13;
    h = h.wrapping_mul(0x5bd1_e995);
    h ^ (h >> 15)
}

/// Value noise in [0, 1), smooth at the scale of `cell` pixels.
fn value_noise(x: u32, y: u32, cell: u32, seed: u32) -> f32 {
    let (gx, gy) = (x / cell, y / cell);
    let fx = (x % cell) as f32 / cell as f32;
    let fy = (y % cell) as f32 / cell as f32;
    let (sx, sy) = (fx * fx * (3.0 - 2.0 * fx), fy * fy * (3.0 - 2.0 * fy));
    let v = |dx: u32, dy: u32| (hash(gx + dx, gy + dy, seed) & 0xffff) as f32 / 65536.0;
    let top = v(0, 0) + (v(1, 0) - v(0, 0)) * sx;
    let bottom = v(0, 1) + (v(1, 1) - v(0, 1)) * sx;
    top + (bottom - top) * sy
}

/// A 3x5 "glyph" bit for a character cell: text-like strokes.
fn glyph_ink(ch: u32, cx: u32, cy: u32, seed: u32) -> bool {
    let bits = hash(ch, 7, seed);
    // Always a vertical stem on the left or right, then random bars.
    let col = cx.min(2);
    let row = cy.min(4);
    if (bits & 1 == 0 && col == 0) || (bits & 2 == 0 && col == 2) {
        return true;
    }
    bits >> (2 + row * 3 + col) & 1 == 1 && (row.is_multiple_of(2) || col != 1)
}

/// A photo-like 8-bit RGB image: sky and clouds, ground with grass texture, a
/// paper certificate with a red frame and lines of text, a sun, a building with
/// windows, vignetting and sensor noise. Red marker at the stored top-left,
/// blue marker at the stored bottom-left.
pub fn photo_like(width: u32, height: u32, seed: u32) -> RgbImage {
    let (wf, hf) = (width as f32, height as f32);
    // Layout, relative to the size.
    let paper = (
        (wf * 0.33) as u32,
        (hf * 0.30) as u32,
        (wf * 0.72) as u32,
        (hf * 0.72) as u32,
    );
    let char_w = (width / 160).max(4);
    let char_h = char_w * 3 / 2;
    let line_h = char_h * 2;
    let sun = (wf * 0.12, hf * 0.18, hf * 0.07);
    let building = (
        (wf * 0.78) as u32,
        (hf * 0.22) as u32,
        (wf * 0.95) as u32,
        (hf * 0.62) as u32,
    );
    RgbImage::from_fn(width, height, |x, y| {
        let (xf, yf) = (x as f32, y as f32);
        let horizon = hf * 0.5 + hf * 0.03 * (xf / wf * 7.0 + seed as f32).sin();
        let mut c: [f32; 3] = if yf < horizon {
            let t = yf / horizon;
            let cloud = value_noise(x, y, 220, seed) * 0.7 + value_noise(x, y, 55, seed + 1) * 0.3;
            let cloud = ((cloud - 0.55) * 3.0).clamp(0.0, 1.0);
            let sky = [70.0 + 120.0 * t, 130.0 + 85.0 * t, 200.0 + 35.0 * t];
            [
                sky[0] + (245.0 - sky[0]) * cloud,
                sky[1] + (245.0 - sky[1]) * cloud,
                sky[2] + (248.0 - sky[2]) * cloud,
            ]
        } else {
            let t = (yf - horizon) / (hf - horizon);
            let patch = value_noise(x, y, 180, seed + 2);
            let grass = value_noise(x, y, 6, seed + 3) - 0.5;
            let blade = value_noise(x, y / 4, 2, seed + 4) - 0.5;
            let tex = 60.0 * grass + 35.0 * blade;
            [
                60.0 + 70.0 * patch + 30.0 * t + tex,
                110.0 + 50.0 * patch - 20.0 * t + tex,
                40.0 + 30.0 * patch + tex * 0.6,
            ]
        };

        let (dx, dy) = (xf - sun.0, yf - sun.1);
        let d = (dx * dx + dy * dy).sqrt();
        if d < sun.2 {
            c = [255.0, 236.0, 160.0];
        } else if d < sun.2 * 1.6 {
            let k = 1.0 - (d - sun.2) / (sun.2 * 0.6);
            c = [
                c[0] + (255.0 - c[0]) * k * 0.6,
                c[1] + (240.0 - c[1]) * k * 0.6,
                c[2],
            ];
        }

        if (building.0..building.2).contains(&x) && (building.1..building.3).contains(&y) {
            let (bx, by) = (x - building.0, y - building.1);
            let window = (bx % 90) > 30 && (bx % 90) < 75 && (by % 120) > 35 && (by % 120) < 95;
            let wall = 150.0 + 40.0 * value_noise(x, y, 12, seed + 5);
            c = if window {
                [60.0, 80.0, 110.0]
            } else {
                [wall, wall * 0.85, wall * 0.7]
            };
        }

        if (paper.0..paper.2).contains(&x) && (paper.1..paper.3).contains(&y) {
            let (px, py) = (x - paper.0, y - paper.1);
            let (pw, ph) = (paper.2 - paper.0, paper.3 - paper.1);
            let shade = 12.0 * value_noise(x, y, 300, seed + 6);
            c = [240.0 - shade, 236.0 - shade, 225.0 - shade];
            let border = (width / 100).max(2);
            let inner = border * 2;
            let on_frame = |v: u32, len: u32| v < border || v >= len - border;
            let near = |v: u32, len: u32| v < inner || v >= len - inner;
            if on_frame(px, pw) || on_frame(py, ph) {
                c = [190.0, 30.0, 35.0];
            } else if near(px, pw) || near(py, ph) {
                // paper margin
            } else {
                let (tx, ty) = (px - inner, py - inner);
                let line = ty / line_h;
                let in_line = ty % line_h;
                let line_len = (hash(line, 1, seed) % (pw / 3)) + pw / 2;
                if in_line < char_h && tx < line_len && line > 0 {
                    let ch = tx / char_w;
                    let word_gap = hash(ch / 6, line, seed).is_multiple_of(6);
                    let (cx, cy) = (tx % char_w * 4 / char_w, in_line * 5 / char_h);
                    if !word_gap && cx < 3 && glyph_ink(ch + line * 1000, cx, cy, seed) {
                        c = if line == 1 {
                            [150.0, 20.0, 25.0]
                        } else {
                            [35.0, 35.0, 45.0]
                        };
                    }
                }
            }
        }

        // Vignetting and sensor noise.
        let (nx, ny) = (xf / wf - 0.5, yf / hf - 0.5);
        let vignette = 1.0 - 0.35 * (nx * nx + ny * ny);
        let h = hash(x, y, seed + 9);
        let noise = ((h & 0xff) as f32 + ((h >> 8) & 0xff) as f32) / 255.0 - 1.0;
        let px = |v: f32| (v * vignette + noise * 5.0).clamp(0.0, 255.0) as u8;
        let mut out = [px(c[0]), px(c[1]), px(c[2])];

        if x < MARKER && y < MARKER {
            out = RED;
        } else if x < MARKER && y >= height - MARKER {
            out = BLUE;
        }
        Rgb(out)
    })
}

/// EXIF (TIFF bytes, without the `Exif\0\0` prefix) as a phone writes it:
/// Orientation, Make, Model, Software, DateTimeOriginal and a GPS position.
pub fn camera_exif(orientation: u16) -> Vec<u8> {
    use exif::{Field, In, Rational, Tag, Value};
    let ascii = |s: &str| Value::Ascii(vec![s.as_bytes().to_vec()]);
    let rat = |v: &[(u32, u32)]| {
        Value::Rational(
            v.iter()
                .map(|&(num, denom)| Rational { num, denom })
                .collect(),
        )
    };
    let field = |tag, value| Field {
        tag,
        ifd_num: In::PRIMARY,
        value,
    };
    let fields = [
        field(Tag::Make, ascii(MAKE)),
        field(Tag::Model, ascii(MODEL)),
        field(Tag::Software, ascii("A125FXXU3CWA1")),
        field(Tag::Orientation, Value::Short(vec![orientation])),
        field(Tag::DateTimeOriginal, ascii(DATE_EXIF)),
        field(Tag::GPSLatitudeRef, ascii("N")),
        field(Tag::GPSLatitude, rat(&[(21, 1), (1, 1), (3012, 100)])),
        field(Tag::GPSLongitudeRef, ascii("E")),
        field(Tag::GPSLongitude, rat(&[(105, 1), (50, 1), (1234, 100)])),
    ];
    let mut writer = exif::experimental::Writer::new();
    for f in &fields {
        writer.push_field(f);
    }
    let mut out = Cursor::new(Vec::new());
    writer.write(&mut out, false).expect("write EXIF");
    out.into_inner()
}

/// Encodes `img` as a phone camera would (quality 92, 4:2:0), with `exif`
/// in an APP1 segment.
pub fn camera_jpeg(img: &RgbImage, exif: Option<Vec<u8>>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = jpeg_encoder::Encoder::new(&mut out, 92);
    enc.set_sampling_factor(jpeg_encoder::SamplingFactor::F_2_2);
    if let Some(exif) = exif {
        enc.add_exif_metadata(&exif).expect("JPEG takes EXIF");
    }
    let (w, h) = (img.width() as u16, img.height() as u16);
    enc.encode(img.as_raw(), w, h, jpeg_encoder::ColorType::Rgb)
        .expect("encode JPEG");
    out
}

/// A 12-megapixel landscape sensor image stored with EXIF Orientation=6
/// (the phone was held upright), with GPS, Make, Model and DateTimeOriginal.
pub fn phone_photo(seed: u32) -> Vec<u8> {
    camera_jpeg(&photo_like(SENSOR_W, SENSOR_H, seed), Some(camera_exif(6)))
}

/// Every EXIF field of a JPEG, or none if it has no EXIF.
pub fn exif_fields(jpeg: &[u8]) -> Vec<exif::Field> {
    match exif::Reader::new().read_from_container(&mut std::io::Cursor::new(jpeg)) {
        Ok(e) => e.fields().cloned().collect(),
        Err(exif::Error::NotFound(_)) => Vec::new(),
        Err(e) => panic!("unreadable EXIF: {e}"),
    }
}

/// Whether `needle` occurs in `hay` (e.g. a camera model left in the bytes).
pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// The mean colour of the `side`-pixel square at (`x0`, `y0`).
pub fn mean_rgb(img: &image::RgbImage, x0: u32, y0: u32, side: u32) -> [u32; 3] {
    let mut sum = [0u32; 3];
    for y in y0..y0 + side {
        for x in x0..x0 + side {
            for (s, v) in sum.iter_mut().zip(img.get_pixel(x, y).0) {
                *s += u32::from(v);
            }
        }
    }
    sum.map(|s| s / (side * side))
}

/// Whether a mean colour is near a marker colour (JPEG shifts it a little).
pub fn is_near(c: [u32; 3], want: [u8; 3]) -> bool {
    c.iter()
        .zip(want)
        .all(|(&a, b)| a.abs_diff(u32::from(b)) < 40)
}
