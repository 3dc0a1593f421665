//! A decision's recognition list: the people one decision recognised in a
//! subtree, as a table (XLSX) and as a printable A4 PDF.

use super::pdf::{Align, Document, PdfError, Weight, A4};
use super::tables::{Cell, Table};
use super::{vi_date, DecisionRow};

#[must_use]
pub fn decision_table(rows: &[DecisionRow]) -> Table {
    Table {
        name: "Danh sách công nhận",
        headers: vec![
            "STT",
            "Họ và tên",
            "Năm sinh",
            "Mã đơn vị",
            "Đơn vị",
            "Nhóm đối tượng",
            "Điểm",
            "Năm",
            "Ngày quyết định",
        ],
        rows: rows
            .iter()
            .enumerate()
            .map(|(i, r)| {
                vec![
                    Cell::Int(i as u64 + 1),
                    Cell::Text(r.full_name.clone()),
                    r.birth_year
                        .map_or(Cell::Text(String::new()), |y| Cell::Int(u64::from(y))),
                    Cell::Text(r.unit_code.clone()),
                    Cell::Text(r.unit_name.clone()),
                    Cell::Text(r.group.clone()),
                    Cell::Int(u64::from(r.total)),
                    Cell::Int(u64::from(r.year)),
                    Cell::Text(vi_date(&r.decision_date)),
                ]
            })
            .collect(),
    }
}

/// Rows per page after the first.
const ROWS_PER_PAGE: usize = 38;

/// The list as a PDF: a heading with the decision, then a numbered table.
pub fn decision_pdf(
    unit_name: &str,
    decision_no: &str,
    rows: &[DecisionRow],
) -> Result<Vec<u8>, PdfError> {
    let mut doc = Document::new(&format!("Danh sách công nhận – Quyết định {decision_no}"))?;
    let (w, h) = A4;
    let left = 40.0;
    let date = rows
        .first()
        .map(|r| vi_date(&r.decision_date))
        .unwrap_or_default();
    let mut y = h - 60.0;
    doc.text(
        Weight::Bold,
        13.0,
        w / 2.0,
        y,
        Align::Center,
        "DANH SÁCH CÔNG NHẬN “CÔNG DÂN HỌC TẬP”",
    );
    y -= 20.0;
    doc.text(
        Weight::Regular,
        11.0,
        w / 2.0,
        y,
        Align::Center,
        &format!("(Kèm theo Quyết định số {decision_no} ngày {date})"),
    );
    y -= 16.0;
    doc.text(Weight::Regular, 11.0, w / 2.0, y, Align::Center, unit_name);
    y -= 28.0;
    // STT, name, born, unit, points.
    let cols = [left, left + 30.0, left + 218.0, left + 278.0, left + 488.0];
    let header = ["STT", "Họ và tên", "Năm sinh", "Đơn vị", "Điểm"];
    let draw_header = |doc: &mut Document, y: f32| {
        for (x, t) in cols.iter().zip(header) {
            doc.text(Weight::Bold, 10.0, *x, y, Align::Left, t);
        }
        doc.fill(left, y - 5.0, w - 2.0 * left, 0.8, 0.0);
    };
    draw_header(&mut doc, y);
    y -= 18.0;
    for (i, r) in rows.iter().enumerate() {
        if y < 50.0 || (i > 0 && i % ROWS_PER_PAGE == 0 && y < 60.0) {
            doc.new_page();
            y = h - 60.0;
            draw_header(&mut doc, y);
            y -= 18.0;
        }
        let born = r.birth_year.map_or_else(String::new, |b| b.to_string());
        let cells = [
            (i + 1).to_string(),
            clip(&doc, &r.full_name, 182.0),
            born,
            clip(&doc, &r.unit_name, 200.0),
            r.total.to_string(),
        ];
        for (x, t) in cols.iter().zip(cells) {
            doc.text(Weight::Regular, 10.0, *x, y, Align::Left, &t);
        }
        y -= 18.0;
    }
    y -= 10.0;
    if y < 50.0 {
        doc.new_page();
        y = h - 60.0;
    }
    doc.text(
        Weight::Regular,
        10.0,
        left,
        y,
        Align::Left,
        &format!("Tổng số: {} người.", rows.len()),
    );
    doc.finish()
}

/// `text` cut to fit `max` points at 10 pt, with an ellipsis.
fn clip(doc: &Document, text: &str, max: f32) -> String {
    if doc.width(Weight::Regular, 10.0, text) <= max {
        return text.to_owned();
    }
    let mut out: String = String::new();
    for c in text.chars() {
        out.push(c);
        if doc.width(Weight::Regular, 10.0, &format!("{out}…")) > max {
            out.pop();
            break;
        }
    }
    format!("{out}…")
}
