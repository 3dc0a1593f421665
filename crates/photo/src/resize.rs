//! Flattening to 8-bit and shrinking to the long edge.

use image::DynamicImage;

/// Shrinks so the long edge is at most `long_edge`; never upscales.
///
/// For a large reduction the image is first averaged over k×k blocks (k the
/// integer part of the ratio; cheap, and it is the low-pass a downscale
/// needs), then Catmull-Rom resampled by the remaining ratio (below 2; in
/// fixed point, resample.rs). On a 12 MP photo the whole pipeline went from
/// ≈380 to ≈280 ms with the box step (see BENCHMARKS.md), a little softer
/// than Catmull-Rom alone.
pub(crate) fn shrink(img: DynamicImage, long_edge: u32) -> DynamicImage {
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
    crate::resample::catmull_rom(&img, nw, nh)
        .unwrap_or_else(|| img.resize_exact(nw, nh, image::imageops::FilterType::CatmullRom))
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
pub(crate) fn flatten(img: DynamicImage) -> DynamicImage {
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
