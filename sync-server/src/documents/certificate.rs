//! A recognised assessment's certificate: one A4 page "Công dân học tập"
//! with the person's full name, unit, year and decision, and a QR code whose
//! URL (`{public_url}/v/{token}`) opens the public verification page.

use super::pdf::{Align, Document, PdfError, Weight, A4};
use super::{vi_date, CertificateFacts};
use qrcode::{Color, EcLevel, QrCode};

/// The URL a certificate's QR holds.
#[must_use]
pub fn verify_url(public_url: &str, token: &str) -> String {
    format!("{}/v/{token}", public_url.trim_end_matches('/'))
}

#[derive(Debug, thiserror::Error)]
pub enum CertificateError {
    #[error(transparent)]
    Pdf(#[from] PdfError),
    #[error("QR code: {0}")]
    Qr(String),
}

/// The certificate as a PDF file.
pub fn certificate_pdf(facts: &CertificateFacts, url: &str) -> Result<Vec<u8>, CertificateError> {
    let mut doc = Document::new(&format!(
        "Giấy chứng nhận Công dân học tập – {}",
        facts.full_name
    ))?;
    let (w, h) = A4;
    let cx = w / 2.0;
    // A double border.
    doc.frame(28.0, 28.0, w - 56.0, h - 56.0, 2.5);
    doc.frame(38.0, 38.0, w - 76.0, h - 76.0, 0.8);

    let mut y = h - 95.0;
    doc.text(
        Weight::Bold,
        12.0,
        cx,
        y,
        Align::Center,
        "HỘI KHUYẾN HỌC VIỆT NAM",
    );
    y -= 18.0;
    for line in doc.wrap(Weight::Regular, 12.0, w - 140.0, &facts.unit_name) {
        doc.text(Weight::Regular, 12.0, cx, y, Align::Center, &line);
        y -= 16.0;
    }
    y -= 50.0;
    doc.text(Weight::Bold, 22.0, cx, y, Align::Center, "GIẤY CHỨNG NHẬN");
    y -= 46.0;
    doc.text(Weight::Bold, 34.0, cx, y, Align::Center, "Công dân học tập");
    y -= 32.0;
    doc.text(
        Weight::Regular,
        16.0,
        cx,
        y,
        Align::Center,
        &format!("Năm {}", facts.year),
    );
    y -= 60.0;
    doc.text(
        Weight::Regular,
        14.0,
        cx,
        y,
        Align::Center,
        "Chứng nhận Ông/Bà",
    );
    y -= 34.0;
    for line in doc.wrap(Weight::Bold, 24.0, w - 140.0, &facts.full_name) {
        doc.text(Weight::Bold, 24.0, cx, y, Align::Center, &line);
        y -= 30.0;
    }
    if let Some(born) = facts.birth_year {
        doc.text(
            Weight::Regular,
            13.0,
            cx,
            y,
            Align::Center,
            &format!("Năm sinh: {born}"),
        );
        y -= 22.0;
    }
    let unit_line = format!("Đơn vị: {}", facts.unit_name);
    for line in doc.wrap(Weight::Regular, 13.0, w - 140.0, &unit_line) {
        doc.text(Weight::Regular, 13.0, cx, y, Align::Center, &line);
        y -= 18.0;
    }
    y -= 14.0;
    let title_line = format!("đã đạt danh hiệu “Công dân học tập” năm {}", facts.year);
    doc.text(Weight::Regular, 14.0, cx, y, Align::Center, &title_line);
    y -= 22.0;
    let decision = format!(
        "theo Quyết định số {} ngày {}.",
        facts.decision_no,
        vi_date(&facts.decision_date)
    );
    for line in doc.wrap(Weight::Regular, 14.0, w - 140.0, &decision) {
        doc.text(Weight::Regular, 14.0, cx, y, Align::Center, &line);
        y -= 20.0;
    }

    // The QR, bottom left, with what it is for.
    let code = QrCode::with_error_correction_level(url.as_bytes(), EcLevel::M)
        .map_err(|e| CertificateError::Qr(e.to_string()))?;
    let modules = code.width();
    let side = 120.0;
    let module = side / modules as f32;
    let (qx, qy) = (70.0, 80.0);
    for (i, color) in code.to_colors().iter().enumerate() {
        if *color == Color::Dark {
            let mx = (i % modules) as f32;
            let my = (i / modules) as f32;
            // A hair wider, so no white seams show between modules.
            doc.fill(
                qx + mx * module,
                qy + side - (my + 1.0) * module,
                module + 0.05,
                module + 0.05,
                0.0,
            );
        }
    }
    let tx = qx + side + 16.0;
    doc.text(
        Weight::Bold,
        11.0,
        tx,
        qy + 84.0,
        Align::Left,
        "Kiểm tra giấy chứng nhận:",
    );
    doc.text(
        Weight::Regular,
        10.0,
        tx,
        qy + 68.0,
        Align::Left,
        "quét mã QR bằng điện thoại, hoặc mở",
    );
    let mut uy = qy + 52.0;
    for part in split_url(url, 48) {
        doc.text(Weight::Regular, 8.5, tx, uy, Align::Left, &part);
        uy -= 12.0;
    }
    Ok(doc.finish()?)
}

/// A long URL in pieces of at most `n` characters.
fn split_url(url: &str, n: usize) -> Vec<String> {
    let chars: Vec<char> = url.chars().collect();
    chars.chunks(n).map(|c| c.iter().collect()).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_certificate_is_one_small_pdf_page_with_a_font_subset() {
        let facts = CertificateFacts {
            assessment: "a".into(),
            full_name: "Nguyễn Thị Hằng".into(),
            birth_year: Some(1962),
            unit_code: "X".into(),
            unit_name: "Chi hội Khuyến học thôn Đông".into(),
            year: 2025,
            decision_no: "12/QĐ-KH".into(),
            decision_date: "2025-12-01".into(),
            token: "t".into(),
        };
        let pdf = certificate_pdf(&facts, "http://127.0.0.1:8080/v/abc").unwrap();
        assert!(pdf.starts_with(b"%PDF-"));
        let text = String::from_utf8_lossy(&pdf);
        assert_eq!(
            text.matches("/Type /Page\n").count() + text.matches("/Type /Page ").count(),
            1,
            "one page"
        );
        assert!(text.contains("/FontFile2"));
        assert!(text.contains("CDHTAA+DejaVuSans"));
        // The whole font is 760 kB; the subset of a page is a few.
        assert!(pdf.len() < 120_000, "{} bytes", pdf.len());
    }
}
