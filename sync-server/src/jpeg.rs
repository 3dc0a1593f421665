//! Just enough of JPEG to tell a photo from a file that only starts like one:
//! the markers from the start of the file up to the frame header, which
//! gives the picture's size. A zip with a JPEG's first bytes, or a header
//! declaring 30000×30000 pixels (a decompression bomb for whoever opens it),
//! is refused before the photo is kept.

/// The largest side accepted, in pixels (a 200-megapixel phone is 16320 wide;
/// photos taken through the app are 1600 on the long side).
pub const MAX_SIDE: u32 = 16_384;
/// The most pixels accepted (a 12-megapixel photo is 12 million).
pub const MAX_PIXELS: u64 = 100_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JpegCheck {
    /// A JPEG frame of this size.
    Photo { width: u32, height: u32 },
    /// No JPEG structure up to a frame header.
    NotJpeg,
    /// A JPEG, but larger than [`MAX_SIDE`] / [`MAX_PIXELS`] (or of size 0).
    BadSize { width: u32, height: u32 },
}

/// Reads the markers of `data` up to the first frame header (SOFn).
#[must_use]
pub fn check(data: &[u8]) -> JpegCheck {
    if !data.starts_with(&[0xFF, 0xD8]) {
        return JpegCheck::NotJpeg;
    }
    let mut i = 2usize;
    loop {
        if data.get(i) != Some(&0xFF) {
            return JpegCheck::NotJpeg;
        }
        // Fill bytes: any number of 0xFF before the marker code.
        while data.get(i) == Some(&0xFF) {
            i += 1;
        }
        let Some(&marker) = data.get(i) else {
            return JpegCheck::NotJpeg;
        };
        i += 1;
        match marker {
            // Markers without a length.
            0x01 | 0xD0..=0xD7 => continue,
            // A second start, the end or the scan before any frame header.
            0x00 | 0xD8 | 0xD9 | 0xDA => return JpegCheck::NotJpeg,
            _ => {}
        }
        let Some(len) = data
            .get(i..i + 2)
            .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
        else {
            return JpegCheck::NotJpeg;
        };
        if len < 2 {
            return JpegCheck::NotJpeg;
        }
        let is_frame = matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        if is_frame {
            // length(2) precision(1) height(2) width(2) components(1)
            let Some(f) = data.get(i..i + 8) else {
                return JpegCheck::NotJpeg;
            };
            if len < 8 {
                return JpegCheck::NotJpeg;
            }
            let height = u32::from(u16::from_be_bytes([f[3], f[4]]));
            let width = u32::from(u16::from_be_bytes([f[5], f[6]]));
            let pixels = u64::from(width) * u64::from(height);
            return if width == 0
                || height == 0
                || width > MAX_SIDE
                || height > MAX_SIDE
                || pixels > MAX_PIXELS
            {
                JpegCheck::BadSize { width, height }
            } else {
                JpegCheck::Photo { width, height }
            };
        }
        i += len;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(width: u16, height: u16) -> Vec<u8> {
        let mut d = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, b'J', b'F'];
        d.extend_from_slice(&[0xFF, 0xC0, 0x00, 0x11, 8]);
        d.extend_from_slice(&height.to_be_bytes());
        d.extend_from_slice(&width.to_be_bytes());
        d.extend_from_slice(&[3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
        d.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x02, 1, 2, 3]);
        d
    }

    #[test]
    fn reads_the_frame_size() {
        assert_eq!(
            check(&frame(1200, 1600)),
            JpegCheck::Photo {
                width: 1200,
                height: 1600
            }
        );
    }

    #[test]
    fn refuses_lookalikes_and_bombs() {
        let mut zip = vec![0xFF, 0xD8, 0xFF, 0xE0];
        zip.extend_from_slice(b"PK\x03\x04 not a photo at all");
        assert_eq!(check(&zip), JpegCheck::NotJpeg);
        assert_eq!(check(b"PK\x03\x04"), JpegCheck::NotJpeg);
        assert_eq!(check(&[0xFF, 0xD8]), JpegCheck::NotJpeg);
        assert!(matches!(
            check(&frame(30000, 30000)),
            JpegCheck::BadSize { .. }
        ));
        assert!(matches!(check(&frame(0, 10)), JpegCheck::BadSize { .. }));
        // A scan before any frame header is no photo.
        assert_eq!(check(&[0xFF, 0xD8, 0xFF, 0xDA, 0, 2]), JpegCheck::NotJpeg);
    }
}
