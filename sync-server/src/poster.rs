//! `cdht-server units qr`: a printable A4 poster for a unit: the unit QR, the
//! unit's name, its code and join key in large print (for phones that cannot
//! scan), and one line of how-to. Rendered at 300 dpi with the bundled
//! DejaVu Sans (it has every Vietnamese letter), written as PNG or as a
//! one-page PDF holding the same picture.

use ab_glyph::{point, Font, FontRef, GlyphId, PxScale, ScaleFont};
use image::{GrayImage, Luma};
use qrcode::{Color, EcLevel, QrCode};

/// DejaVu Sans 2.37; licence in `assets/fonts/LICENSE-DejaVu.txt`.
const REGULAR: &[u8] = include_bytes!("../assets/fonts/DejaVuSans.ttf");
const BOLD: &[u8] = include_bytes!("../assets/fonts/DejaVuSans-Bold.ttf");

/// A4 at 300 dpi.
pub const WIDTH: u32 = 2480;
pub const HEIGHT: u32 = 3508;
const MARGIN: f32 = 170.0;
/// A4 in PDF points (1/72 inch).
const A4_PT: (f32, f32) = (595.276, 841.89);

/// The how-to line printed under the codes.
pub const HOW_TO: &str = "Quét mã bằng ứng dụng CDHT – Công dân học tập";
const CAMERA_HINT: &str = "Chưa có ứng dụng? Quét bằng máy ảnh điện thoại để xem hướng dẫn.";

/// What goes on a poster.
#[derive(Debug, Clone)]
pub struct Poster {
    pub unit_code: String,
    pub unit_name: String,
    pub join_key: String,
    /// The server as phones reach it (printed small, for typing by hand).
    pub server: String,
    /// The QR text: `JoinPayload::to_url()`.
    pub qr_text: String,
}

/// A failure with a stable code, for the CLI's one-line errors.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct PosterError {
    pub code: &'static str,
    pub message: String,
}

impl PosterError {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// The output format, from the file name's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Png,
    Pdf,
}

impl Format {
    pub fn from_path(path: &std::path::Path) -> Result<Self, PosterError> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("png") => Ok(Self::Png),
            Some("pdf") => Ok(Self::Pdf),
            _ => Err(PosterError::new(
                "bad_output",
                format!(
                    "--out {}: the file name must end in .png or .pdf",
                    path.display()
                ),
            )),
        }
    }
}

struct Fonts<'a> {
    regular: FontRef<'a>,
    bold: FontRef<'a>,
}

fn fonts() -> Result<Fonts<'static>, PosterError> {
    let load = |bytes: &'static [u8]| {
        FontRef::try_from_slice(bytes)
            .map_err(|e| PosterError::new("internal", format!("bundled font: {e}")))
    };
    Ok(Fonts {
        regular: load(REGULAR)?,
        bold: load(BOLD)?,
    })
}

/// Renders the poster as a 300 dpi A4 grey-scale picture.
pub fn render(poster: &Poster) -> Result<GrayImage, PosterError> {
    let fonts = fonts()?;
    // Precomposed letters: the font has them, and no shaping is needed.
    let unit_name: String =
        unicode_normalization::UnicodeNormalization::nfc(poster.unit_name.as_str()).collect();
    let poster = &Poster {
        unit_name,
        ..poster.clone()
    };
    for (what, text) in [("unit name", &poster.unit_name), ("server", &poster.server)] {
        if let Some(c) = text
            .chars()
            .find(|c| !c.is_whitespace() && fonts.bold.glyph_id(*c) == GlyphId(0))
        {
            return Err(PosterError::new(
                "unprintable_text",
                format!("the {what} {text:?} has a character the poster font lacks: {c:?}"),
            ));
        }
    }
    let code = QrCode::with_error_correction_level(poster.qr_text.as_bytes(), EcLevel::M)
        .map_err(|e| PosterError::new("qr_too_long", format!("cannot make the QR code: {e}")))?;

    let mut img = GrayImage::from_pixel(WIDTH, HEIGHT, Luma([255]));
    let centre = WIDTH as f32 / 2.0;
    let text_width = WIDTH as f32 - 2.0 * MARGIN;

    // Header.
    let mut y = MARGIN + 90.0;
    draw_centred(&mut img, &fonts.bold, 80.0, "CÔNG DÂN HỌC TẬP", centre, y);
    y += 50.0;
    fill_rect(&mut img, MARGIN, y, text_width, 8.0, 0);

    // The unit's name, wrapped on up to three lines.
    let (name_px, name_lines) = wrap_to_fit(&fonts.bold, &poster.unit_name, 130.0, text_width, 3);
    y += 40.0;
    for line in &name_lines {
        y += name_px * 1.2;
        draw_centred(&mut img, &fonts.bold, name_px, line, centre, y);
    }

    // The QR, as large as the space left allows (at most 1800 px, 15 cm).
    let below_qr = 2.0 * 190.0 + 110.0 + 2.0 * 100.0 + MARGIN;
    let top = y + 70.0;
    let room = (HEIGHT as f32 - top - below_qr).min(1800.0);
    let modules = code.width() + 8; // with the 4-module quiet zone each side
    let module_px = (room / modules as f32).floor().max(1.0) as u32;
    let qr_px = module_px * modules as u32;
    let left = (WIDTH - qr_px) / 2;
    let colors = code.to_colors();
    for (i, color) in colors.iter().enumerate() {
        if *color == Color::Dark {
            let mx = (i % code.width()) as u32 + 4;
            let my = (i / code.width()) as u32 + 4;
            fill_rect(
                &mut img,
                (left + mx * module_px) as f32,
                top + (my * module_px) as f32,
                module_px as f32,
                module_px as f32,
                0,
            );
        }
    }
    y = top + qr_px as f32;

    // The codes in large print, for typing on a phone that cannot scan.
    for line in [
        format!("Mã đơn vị: {}", poster.unit_code),
        format!("Mã tham gia: {}", poster.join_key),
    ] {
        let px = fit(&fonts.bold, 150.0, &line, text_width);
        y += 190.0;
        draw_centred(&mut img, &fonts.bold, px, &line, centre, y);
    }
    let server = format!("Máy chủ: {}", poster.server);
    let px = fit(&fonts.regular, 60.0, &server, text_width);
    y += 110.0;
    draw_centred(&mut img, &fonts.regular, px, &server, centre, y);

    // How to use it.
    for (font, text, px) in [
        (&fonts.bold, HOW_TO, 72.0),
        (&fonts.regular, CAMERA_HINT, 56.0),
    ] {
        let px = fit(font, px, text, text_width);
        y += 100.0;
        draw_centred(&mut img, font, px, text, centre, y);
    }
    Ok(img)
}

/// The picture as PNG bytes.
pub fn to_png(img: &GrayImage) -> Result<Vec<u8>, PosterError> {
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .map_err(|e| PosterError::new("internal", format!("PNG encoding: {e}")))?;
    Ok(out.into_inner())
}

/// The picture on one A4 PDF page (grey, deflate-compressed, full page).
#[must_use]
pub fn to_pdf(img: &GrayImage, title: &str) -> Vec<u8> {
    use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref, TextStr};
    let catalog_id = Ref::new(1);
    let page_tree_id = Ref::new(2);
    let page_id = Ref::new(3);
    let image_id = Ref::new(4);
    let content_id = Ref::new(5);
    let info_id = Ref::new(6);
    let image_name = Name(b"Poster");

    let mut pdf = Pdf::new();
    pdf.catalog(catalog_id).pages(page_tree_id);
    pdf.pages(page_tree_id).kids([page_id]).count(1);
    let mut page = pdf.page(page_id);
    page.media_box(Rect::new(0.0, 0.0, A4_PT.0, A4_PT.1));
    page.parent(page_tree_id);
    page.contents(content_id);
    page.resources().x_objects().pair(image_name, image_id);
    page.finish();

    let level = miniz_oxide::deflate::CompressionLevel::DefaultLevel as u8;
    let encoded = miniz_oxide::deflate::compress_to_vec_zlib(img.as_raw(), level);
    let mut image = pdf.image_xobject(image_id, &encoded);
    image.filter(Filter::FlateDecode);
    image.width(i32::try_from(img.width()).unwrap_or(i32::MAX));
    image.height(i32::try_from(img.height()).unwrap_or(i32::MAX));
    image.color_space().device_gray();
    image.bits_per_component(8);
    image.finish();

    let mut content = Content::new();
    content.save_state();
    content.transform([A4_PT.0, 0.0, 0.0, A4_PT.1, 0.0, 0.0]);
    content.x_object(image_name);
    content.restore_state();
    pdf.stream(content_id, &content.finish());
    pdf.document_info(info_id)
        .title(TextStr(title))
        .creator(TextStr("cdht-server"));
    pdf.finish()
}

/// Renders the poster and writes it to `path` (PNG or PDF by its extension).
pub fn write(poster: &Poster, path: &std::path::Path) -> Result<Format, PosterError> {
    let format = Format::from_path(path)?;
    let img = render(poster)?;
    let bytes = match format {
        Format::Png => to_png(&img)?,
        Format::Pdf => to_pdf(
            &img,
            &format!("{} ({})", poster.unit_name, poster.unit_code),
        ),
    };
    std::fs::write(path, bytes).map_err(|e| {
        PosterError::new(
            "unwritable_output",
            format!("cannot write {}: {e}", path.display()),
        )
    })?;
    Ok(format)
}

fn fill_rect(img: &mut GrayImage, x: f32, y: f32, w: f32, h: f32, value: u8) {
    let (x0, y0) = (x.max(0.0) as u32, y.max(0.0) as u32);
    let x1 = ((x + w).max(0.0) as u32).min(img.width());
    let y1 = ((y + h).max(0.0) as u32).min(img.height());
    for yy in y0..y1 {
        for xx in x0..x1 {
            img.put_pixel(xx, yy, Luma([value]));
        }
    }
}

fn line_width(font: &FontRef<'_>, px: f32, text: &str) -> f32 {
    let scaled = font.as_scaled(PxScale::from(px));
    let mut width = 0.0;
    let mut previous: Option<GlyphId> = None;
    for c in text.chars() {
        let id = scaled.glyph_id(c);
        if let Some(p) = previous {
            width += scaled.kern(p, id);
        }
        width += scaled.h_advance(id);
        previous = Some(id);
    }
    width
}

/// The size that fits `text` in `max_width`, at most `px`.
fn fit(font: &FontRef<'_>, px: f32, text: &str, max_width: f32) -> f32 {
    let width = line_width(font, px, text);
    if width > max_width {
        px * max_width / width
    } else {
        px
    }
}

/// Word-wraps `text` at the largest size (from `px` down) that needs at most
/// `max_lines` lines; a single word too long for a line is shrunk to fit.
fn wrap_to_fit(
    font: &FontRef<'_>,
    text: &str,
    px: f32,
    max_width: f32,
    max_lines: usize,
) -> (f32, Vec<String>) {
    let mut size = px;
    loop {
        let lines = wrap(font, size, text, max_width);
        if lines.len() <= max_lines || size < 40.0 {
            let widest = lines
                .iter()
                .map(|l| line_width(font, size, l))
                .fold(0.0_f32, f32::max);
            if widest > max_width {
                size *= max_width / widest;
            }
            return (size, lines);
        }
        size *= 0.9;
    }
}

fn wrap(font: &FontRef<'_>, px: f32, text: &str, max_width: f32) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    for word in text.split_whitespace() {
        let candidate = if current.is_empty() {
            word.to_owned()
        } else {
            format!("{current} {word}")
        };
        if current.is_empty() || line_width(font, px, &candidate) <= max_width {
            current = candidate;
        } else {
            lines.push(std::mem::replace(&mut current, word.to_owned()));
        }
    }
    if !current.is_empty() {
        lines.push(current);
    }
    lines
}

/// Draws one line of black text centred on `centre_x`, on the baseline `baseline`.
fn draw_centred(
    img: &mut GrayImage,
    font: &FontRef<'_>,
    px: f32,
    text: &str,
    centre_x: f32,
    baseline: f32,
) {
    let scale = PxScale::from(px);
    let scaled = font.as_scaled(scale);
    let mut x = centre_x - line_width(font, px, text) / 2.0;
    let mut previous: Option<GlyphId> = None;
    let (w, h) = (img.width() as i64, img.height() as i64);
    for c in text.chars() {
        let id = scaled.glyph_id(c);
        if let Some(p) = previous {
            x += scaled.kern(p, id);
        }
        let glyph = id.with_scale_and_position(scale, point(x, baseline));
        if let Some(outlined) = font.outline_glyph(glyph) {
            let bounds = outlined.px_bounds();
            outlined.draw(|gx, gy, coverage| {
                let px_x = bounds.min.x as i64 + i64::from(gx);
                let px_y = bounds.min.y as i64 + i64::from(gy);
                if (0..w).contains(&px_x) && (0..h).contains(&px_y) {
                    let ink = (255.0 * (1.0 - coverage.clamp(0.0, 1.0))) as u8;
                    let pixel = img.get_pixel_mut(px_x as u32, px_y as u32);
                    pixel.0[0] = pixel.0[0].min(ink);
                }
            });
        }
        x += scaled.h_advance(id);
        previous = Some(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_font_has_every_vietnamese_letter() {
        let fonts = fonts().unwrap_or_else(|e| panic!("{e}"));
        let letters = "aàáảãạăằắẳẵặâầấẩẫậeèéẻẽẹêềếểễệiìíỉĩịoòóỏõọôồốổỗộơờớởỡợuùúủũụưừứửữựyỳýỷỹỵđ";
        for c in letters.chars().chain(letters.to_uppercase().chars()) {
            for font in [&fonts.regular, &fonts.bold] {
                assert_ne!(font.glyph_id(c), GlyphId(0), "{c}");
            }
        }
    }

    #[test]
    fn a_very_long_name_still_leaves_a_scannable_qr() {
        let poster = Poster {
            unit_code: "HG-DV-LC-01".to_owned(),
            unit_name: "Ban khuyến học Trường Phổ thông Dân tộc Bán trú Trung học cơ sở \
                        Lũng Cú, huyện Đồng Văn, tỉnh Hà Giang (điểm trường bản Lô Lô Chải)"
                .to_owned(),
            join_key: "ABCDEFGHJK".to_owned(),
            server: "https://khuyenhoc.hagiang.gov.vn/cdht".to_owned(),
            qr_text: "https://khuyenhoc.hagiang.gov.vn/cdht/j/HG-DV-LC-01?v=1#k=ABCDEFGHJK"
                .to_owned(),
        };
        let img = render(&poster).unwrap_or_else(|e| panic!("{e}"));
        let mut prepared = rqrr::PreparedImage::prepare(img);
        let grids = prepared.detect_grids();
        assert_eq!(grids.len(), 1);
        let (_, text) = grids[0].decode().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(text, poster.qr_text);
    }

    #[test]
    fn output_format_follows_the_extension() {
        use std::path::Path;
        assert_eq!(
            Format::from_path(Path::new("a.PNG")).ok(),
            Some(Format::Png)
        );
        assert_eq!(
            Format::from_path(Path::new("a.pdf")).ok(),
            Some(Format::Pdf)
        );
        assert_eq!(
            Format::from_path(Path::new("a.jpg")).err().map(|e| e.code),
            Some("bad_output")
        );
    }
}
