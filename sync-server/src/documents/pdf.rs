//! A small PDF writer for documents with real text: pages of positioned
//! lines in the bundled DejaVu Sans (regular and bold, every Vietnamese
//! letter), rectangles (table rules, QR modules). Each font is embedded as a
//! subset of the glyphs the document uses (`subsetter`), as a CID font with a
//! ToUnicode map, so the text can be searched and copied.

use pdf_writer::types::{CidFontType, FontFlags, SystemInfo, UnicodeCmap};
use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref, Str};
use std::collections::BTreeMap;
use unicode_normalization::UnicodeNormalization;

const REGULAR: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
const BOLD: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-Bold.ttf");

/// A4 in points.
pub const A4: (f32, f32) = (595.276, 841.89);

#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("the bundled font cannot be read: {0}")]
    Font(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weight {
    Regular,
    Bold,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Center,
    Right,
}

#[derive(Debug, Clone)]
enum Op {
    Text {
        weight: Weight,
        size: f32,
        x: f32,
        y: f32,
        text: String,
    },
    /// A filled rectangle, grey level 0 (black) to 1 (white).
    Rect { rect: [f32; 4], grey: f32 },
    /// A stroked rectangle.
    Frame { rect: [f32; 4], width: f32 },
}

/// The two faces, parsed once per document.
struct Faces {
    regular: ttf_parser::Face<'static>,
    bold: ttf_parser::Face<'static>,
}

impl Faces {
    fn new() -> Result<Self, PdfError> {
        let parse =
            |data| ttf_parser::Face::parse(data, 0).map_err(|e| PdfError::Font(e.to_string()));
        Ok(Self {
            regular: parse(REGULAR)?,
            bold: parse(BOLD)?,
        })
    }

    fn face(&self, weight: Weight) -> &ttf_parser::Face<'static> {
        match weight {
            Weight::Regular => &self.regular,
            Weight::Bold => &self.bold,
        }
    }
}

/// A document being laid out: pages of text and rectangles, in points from
/// the bottom left of an A4 page.
pub struct Document {
    faces: Faces,
    pages: Vec<Vec<Op>>,
    title: String,
}

impl Document {
    pub fn new(title: &str) -> Result<Self, PdfError> {
        Ok(Self {
            faces: Faces::new()?,
            pages: vec![Vec::new()],
            title: title.to_owned(),
        })
    }

    pub fn new_page(&mut self) {
        self.pages.push(Vec::new());
    }

    fn ops(&mut self) -> &mut Vec<Op> {
        if self.pages.is_empty() {
            self.pages.push(Vec::new());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    /// The width of `text` in points.
    #[must_use]
    pub fn width(&self, weight: Weight, size: f32, text: &str) -> f32 {
        let face = self.faces.face(weight);
        let units: f32 = text
            .nfc()
            .map(|c| {
                face.glyph_index(c)
                    .and_then(|g| face.glyph_hor_advance(g))
                    .map_or(0.0, f32::from)
            })
            .sum();
        units * size / f32::from(face.units_per_em())
    }

    /// One line of text; `x` is its left edge, centre or right edge by `align`.
    pub fn text(&mut self, weight: Weight, size: f32, x: f32, y: f32, align: Align, text: &str) {
        let text: String = text.nfc().collect();
        let w = self.width(weight, size, &text);
        let x = match align {
            Align::Left => x,
            Align::Center => x - w / 2.0,
            Align::Right => x - w,
        };
        self.ops().push(Op::Text {
            weight,
            size,
            x,
            y,
            text,
        });
    }

    /// `text` broken into lines no wider than `max` points (at spaces; a
    /// single longer word stays whole).
    #[must_use]
    pub fn wrap(&self, weight: Weight, size: f32, max: f32, text: &str) -> Vec<String> {
        let mut lines = Vec::new();
        let mut line = String::new();
        for word in text.split_whitespace() {
            let candidate = if line.is_empty() {
                word.to_owned()
            } else {
                format!("{line} {word}")
            };
            if !line.is_empty() && self.width(weight, size, &candidate) > max {
                lines.push(std::mem::replace(&mut line, word.to_owned()));
            } else {
                line = candidate;
            }
        }
        if !line.is_empty() {
            lines.push(line);
        }
        lines
    }

    pub fn fill(&mut self, x: f32, y: f32, w: f32, h: f32, grey: f32) {
        self.ops().push(Op::Rect {
            rect: [x, y, w, h],
            grey,
        });
    }

    pub fn frame(&mut self, x: f32, y: f32, w: f32, h: f32, width: f32) {
        self.ops().push(Op::Frame {
            rect: [x, y, w, h],
            width,
        });
    }

    /// The PDF file.
    pub fn finish(self) -> Result<Vec<u8>, PdfError> {
        let mut alloc = Ref::new(1);
        let mut next = || alloc.bump();
        let catalog_id = next();
        let tree_id = next();
        let info_id = next();
        let mut pdf = Pdf::new();
        pdf.catalog(catalog_id).pages(tree_id);
        pdf.document_info(info_id)
            .title(pdf_writer::TextStr(&self.title))
            .producer(pdf_writer::TextStr("CDHT"));

        // The glyphs each face needs, numbered anew in the subset.
        let mut fonts = [
            EmbeddedFont::new(&self.faces.regular, REGULAR, "CDHTAA+DejaVuSans"),
            EmbeddedFont::new(&self.faces.bold, BOLD, "CDHTAB+DejaVuSans-Bold"),
        ];
        for op in self.pages.iter().flatten() {
            if let Op::Text { weight, text, .. } = op {
                fonts[*weight as usize].add(text);
            }
        }
        let font_ids: Vec<Ref> = fonts
            .iter()
            .map(|f| f.write(&mut pdf, &mut next))
            .collect::<Result<_, _>>()?;

        let page_ids: Vec<Ref> = self.pages.iter().map(|_| next()).collect();
        pdf.pages(tree_id)
            .kids(page_ids.iter().copied())
            .count(i32::try_from(page_ids.len()).unwrap_or(i32::MAX));
        for (ops, &page_id) in self.pages.iter().zip(&page_ids) {
            let content_id = next();
            let mut page = pdf.page(page_id);
            page.media_box(Rect::new(0.0, 0.0, A4.0, A4.1));
            page.parent(tree_id);
            page.contents(content_id);
            let mut resources = page.resources();
            let mut font_dict = resources.fonts();
            font_dict.pair(Name(b"F0"), font_ids[0]);
            font_dict.pair(Name(b"F1"), font_ids[1]);
            font_dict.finish();
            resources.finish();
            page.finish();
            let mut content = Content::new();
            for op in ops {
                match op {
                    Op::Text {
                        weight,
                        size,
                        x,
                        y,
                        text,
                    } => {
                        let font = &fonts[*weight as usize];
                        content.begin_text();
                        content.set_font(
                            Name(if *weight == Weight::Regular {
                                b"F0"
                            } else {
                                b"F1"
                            }),
                            *size,
                        );
                        content.next_line(*x, *y);
                        content.show(Str(&font.encode(text)));
                        content.end_text();
                    }
                    Op::Rect { rect, grey } => {
                        content.set_fill_gray(*grey);
                        content.rect(rect[0], rect[1], rect[2], rect[3]);
                        content.fill_nonzero();
                        content.set_fill_gray(0.0);
                    }
                    Op::Frame { rect, width } => {
                        content.set_line_width(*width);
                        content.rect(rect[0], rect[1], rect[2], rect[3]);
                        content.stroke();
                    }
                }
            }
            let level = miniz_oxide::deflate::CompressionLevel::DefaultLevel as u8;
            let data = miniz_oxide::deflate::compress_to_vec_zlib(&content.finish(), level);
            pdf.stream(content_id, &data).filter(Filter::FlateDecode);
        }
        Ok(pdf.finish())
    }
}

/// One face as embedded: original glyph id → new id (the CID), and the
/// character each glyph shows (for ToUnicode).
struct EmbeddedFont<'a> {
    face: &'a ttf_parser::Face<'static>,
    data: &'static [u8],
    name: &'static str,
    remapper: subsetter::GlyphRemapper,
    chars: BTreeMap<u16, char>,
}

impl<'a> EmbeddedFont<'a> {
    fn new(face: &'a ttf_parser::Face<'static>, data: &'static [u8], name: &'static str) -> Self {
        Self {
            face,
            data,
            name,
            remapper: subsetter::GlyphRemapper::new(),
            chars: BTreeMap::new(),
        }
    }

    fn glyph(&self, c: char) -> u16 {
        self.face.glyph_index(c).map_or(0, |g| g.0)
    }

    fn add(&mut self, text: &str) {
        for c in text.chars() {
            let gid = self.glyph(c);
            let cid = self.remapper.remap(gid);
            self.chars.entry(cid).or_insert(c);
        }
    }

    /// The text as 2-byte CIDs (Identity-H).
    fn encode(&self, text: &str) -> Vec<u8> {
        text.chars()
            .flat_map(|c| self.remapper.get(self.glyph(c)).unwrap_or(0).to_be_bytes())
            .collect()
    }

    /// Writes the Type0 font, its CID font, descriptor, subset and ToUnicode
    /// map; returns the Type0 font's id.
    fn write(&self, pdf: &mut Pdf, next: &mut impl FnMut() -> Ref) -> Result<Ref, PdfError> {
        let (type0, cid, descriptor, file, cmap) = (next(), next(), next(), next(), next());
        let base = Name(self.name.as_bytes());
        let system = SystemInfo {
            registry: Str(b"Adobe"),
            ordering: Str(b"Identity"),
            supplement: 0,
        };
        pdf.type0_font(type0)
            .base_font(base)
            .encoding_predefined(Name(b"Identity-H"))
            .descendant_font(cid)
            .to_unicode(cmap);
        let scale = 1000.0 / f32::from(self.face.units_per_em());
        let widths: Vec<f32> = self
            .remapper
            .remapped_gids()
            .map(|gid| {
                self.face
                    .glyph_hor_advance(ttf_parser::GlyphId(gid))
                    .map_or(0.0, |w| f32::from(w) * scale)
            })
            .collect();
        let mut cid_font = pdf.cid_font(cid);
        cid_font
            .subtype(CidFontType::Type2)
            .base_font(base)
            .system_info(system)
            .font_descriptor(descriptor)
            .cid_to_gid_map_predefined(Name(b"Identity"))
            .default_width(0.0);
        cid_font.widths().consecutive(0, widths);
        cid_font.finish();
        let bbox = self.face.global_bounding_box();
        pdf.font_descriptor(descriptor)
            .name(base)
            .flags(FontFlags::NON_SYMBOLIC)
            .bbox(Rect::new(
                f32::from(bbox.x_min) * scale,
                f32::from(bbox.y_min) * scale,
                f32::from(bbox.x_max) * scale,
                f32::from(bbox.y_max) * scale,
            ))
            .italic_angle(0.0)
            .ascent(f32::from(self.face.ascender()) * scale)
            .descent(f32::from(self.face.descender()) * scale)
            .cap_height(f32::from(self.face.capital_height().unwrap_or(700)) * scale)
            .stem_v(80.0)
            .font_file2(file);
        let subset = subsetter::subset(self.data, 0, &self.remapper)
            .map_err(|e| PdfError::Font(e.to_string()))?;
        let level = miniz_oxide::deflate::CompressionLevel::DefaultLevel as u8;
        let packed = miniz_oxide::deflate::compress_to_vec_zlib(&subset, level);
        pdf.stream(file, &packed).filter(Filter::FlateDecode);
        let mut unicode = UnicodeCmap::new(Name(b"Custom"), system);
        for (&cid, &c) in &self.chars {
            unicode.pair(cid, c);
        }
        pdf.cmap(cmap, &unicode.finish());
        Ok(type0)
    }
}
