//! Small JPEG thumbnails of evidence photos, kept beside the store's photo
//! folder so a form with many photos opens without decoding every full photo.

use image::codecs::jpeg::JpegEncoder;
use std::fs;
use std::io;
use std::path::Path;

/// Long edge of a thumbnail: crisp at 96 CSS pixels on a 2× phone screen.
const THUMBNAIL_EDGE: u32 = 240;
const THUMBNAIL_QUALITY: u8 = 70;

fn make(jpeg: &[u8]) -> io::Result<Vec<u8>> {
    let image = image::load_from_memory(jpeg).map_err(io::Error::other)?;
    let small = image.thumbnail(THUMBNAIL_EDGE, THUMBNAIL_EDGE).to_rgb8();
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, THUMBNAIL_QUALITY)
        .encode_image(&small)
        .map_err(io::Error::other)?;
    Ok(out)
}

/// Makes and writes the thumbnail of a just-stored photo.
pub fn write(dir: &Path, sha256: &str, jpeg: &[u8]) -> io::Result<Vec<u8>> {
    let thumb = make(jpeg)?;
    // Write then rename: a thumbnail is never seen half-written.
    let tmp = dir.join(format!("{sha256}.tmp"));
    fs::write(&tmp, &thumb)?;
    fs::rename(&tmp, dir.join(format!("{sha256}.jpg")))?;
    Ok(thumb)
}

/// The stored thumbnail, or one made now from the photo file.
pub fn read_or_make(dir: &Path, sha256: &str, photo_path: &Path) -> io::Result<Vec<u8>> {
    match fs::read(dir.join(format!("{sha256}.jpg"))) {
        Ok(bytes) => Ok(bytes),
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            let jpeg = fs::read(photo_path)?;
            write(dir, sha256, &jpeg)
        }
        Err(err) => Err(err),
    }
}
