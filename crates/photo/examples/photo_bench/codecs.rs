//! The encoders compared at equal quality: each encodes the pipeline's
//! 1600 px pixels (the reference) at a quality setting; the output is decoded
//! again with the `image` crate (what the tests use) for SSIM.

use image::RgbImage;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Codec {
    /// Today's: jpeg-encoder 0.7, 4:2:0 box-averaged chroma, standard tables.
    JpegEncoder,
    /// mozjpeg 3.3 (libjpeg-turbo), its defaults: progressive, optimised scans,
    /// trellis quantisation, optimised Huffman tables; 4:2:0.
    Mozjpeg,
    /// mozjpeg with libjpeg-turbo's plain defaults (baseline, standard tables
    /// scaled by quality) but optimised Huffman tables; 4:2:0.
    MozjpegBaseline,
    /// As MozjpegBaseline with mozjpeg's quantisation tables: the pipeline's
    /// `Encoding::Fast`.
    MozjpegFast,
    /// libwebp lossy (simple API: method 4), 4:2:0 as WebP always is.
    WebP,
}

pub const ALL: [Codec; 5] = [
    Codec::JpegEncoder,
    Codec::Mozjpeg,
    Codec::MozjpegBaseline,
    Codec::MozjpegFast,
    Codec::WebP,
];

impl Codec {
    pub fn name(self) -> &'static str {
        match self {
            Codec::JpegEncoder => "jpeg-encoder",
            Codec::Mozjpeg => "mozjpeg",
            Codec::MozjpegBaseline => "mozjpeg-base",
            Codec::MozjpegFast => "mozjpeg-fast",
            Codec::WebP => "webp",
        }
    }

    pub fn encode(self, img: &RgbImage, quality: u8) -> Vec<u8> {
        let (w, h) = img.dimensions();
        match self {
            Codec::JpegEncoder => {
                use jpeg_encoder::{ChromaSubsamplingMethod, ColorType, Encoder, SamplingFactor};
                let mut out = Vec::new();
                let mut enc = Encoder::new(&mut out, quality);
                enc.set_sampling_factor(SamplingFactor::F_2_2);
                enc.set_chroma_subsampling_method(ChromaSubsamplingMethod::Average);
                enc.encode(img.as_raw(), w as u16, h as u16, ColorType::Rgb)
                    .unwrap();
                out
            }
            Codec::Mozjpeg | Codec::MozjpegBaseline | Codec::MozjpegFast => {
                let mut c = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_RGB);
                if self != Codec::Mozjpeg {
                    c.set_fastest_defaults();
                    c.set_optimize_coding(true);
                }
                c.set_size(w as usize, h as usize);
                c.set_quality(f32::from(quality));
                if self == Codec::MozjpegFast {
                    let q = f32::from(quality);
                    let table = mozjpeg::qtable::NRobidoux.scaled(q, q);
                    c.set_luma_qtable(&table);
                    c.set_chroma_qtable(&table);
                }
                c.set_chroma_sampling_pixel_sizes((2, 2), (2, 2));
                let mut s = c.start_compress(Vec::new()).unwrap();
                s.write_scanlines(img.as_raw()).unwrap();
                s.finish().unwrap()
            }
            Codec::WebP => webp::Encoder::from_rgb(img.as_raw(), w, h)
                .encode(f32::from(quality))
                .to_vec(),
        }
    }
}

/// The pipeline before mozjpeg: jpeg-encoder at quality 82, then 74, 66, 60
/// while above 200 000 bytes. Its output's SSIM is the "equal quality" mark.
pub fn former_pipeline(img: &RgbImage) -> (Vec<u8>, u8) {
    let mut quality = 82;
    loop {
        let out = Codec::JpegEncoder.encode(img, quality);
        if out.len() <= 200_000 || quality == 60 {
            return (out, quality);
        }
        quality = (quality - 8).max(60);
    }
}

/// Decodes any output back to RGB with the `image` crate.
pub fn decode(bytes: &[u8]) -> RgbImage {
    image::load_from_memory(bytes).unwrap().to_rgb8()
}

/// True if a JPEG is progressive (has an SOF2 marker before its first scan).
pub fn is_progressive(jpeg: &[u8]) -> bool {
    let mut i = 2;
    while i + 4 <= jpeg.len() && jpeg[i] == 0xFF {
        let marker = jpeg[i + 1];
        if marker == 0xC2 {
            return true;
        }
        if marker == 0xDA {
            return false;
        }
        i += 2 + usize::from(u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]));
    }
    false
}
