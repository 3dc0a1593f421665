//! A report as tables with Vietnamese headers, and the CSV of them: the
//! JSON's numbers in the shape people file (one table per XLSX sheet; one
//! section per table in the CSV).

use crate::report::{Counts, Report};

#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Int(u64),
    /// A share, 0 to 1 (shown as a percentage in XLSX).
    Share(f64),
    /// A plain decimal (mean points).
    Num(f64),
}

#[derive(Debug, Clone)]
pub struct Table {
    /// The sheet's name (at most 31 characters, no `[]:*?/\`).
    pub name: &'static str,
    pub headers: Vec<&'static str>,
    pub rows: Vec<Vec<Cell>>,
}

const COUNT_HEADERS: [&str; 7] = [
    "Người đăng ký",
    "Bản đã gửi",
    "Đã duyệt",
    "Bị trả lại",
    "Được công nhận",
    "Đạt (điểm máy chủ)",
    "Tỷ lệ đạt",
];

fn count_cells(c: &Counts) -> Vec<Cell> {
    vec![
        Cell::Int(c.registered),
        Cell::Int(c.submitted),
        Cell::Int(c.approved),
        Cell::Int(c.returned),
        Cell::Int(c.recognised),
        Cell::Int(c.passed),
        Cell::Share(c.pass_rate),
    ]
}

fn text(s: &str) -> Cell {
    Cell::Text(s.to_owned())
}

/// What the counts mean, as the report's page and exports say it.
pub const DEFINITIONS: &[&str] = &[
    "Số liệu tính trên các bản đánh giá của năm báo cáo thuộc đơn vị và các đơn vị trực thuộc.",
    "Người đăng ký: số người có bản đánh giá của năm (kể cả bản nháp).",
    "Bản đã gửi: bản đang chờ duyệt, bị trả lại, đã duyệt hoặc đã được công nhận.",
    "Đã duyệt: bản đã duyệt hoặc đã được công nhận. Bị trả lại: bản đang bị trả lại.",
    "Đạt: bản đã gửi đạt theo điểm máy chủ tính. Tỷ lệ đạt = Đạt ÷ Bản đã gửi.",
    "Chỉ số: điểm trung bình và tỷ lệ dưới 5 điểm trên các bản đã gửi (chỉ số yếu nhất trước).",
    "Người lớn: sinh năm (năm báo cáo − 18) trở về trước; không ghi năm sinh được tính là người lớn.",
    "Hộ gia đình: theo địa chỉ hộ cán bộ ghi khi nhập; tỷ lệ = người lớn được công nhận ÷ người lớn.",
];

/// Every table of a report, in order.
#[must_use]
pub fn report_tables(r: &Report) -> Vec<Table> {
    let mut summary = Table {
        name: "Tổng hợp",
        headers: vec!["Chỉ tiêu", "Số liệu"],
        rows: vec![
            vec![
                text("Đơn vị"),
                text(&format!("{} ({})", r.unit_name, r.unit)),
            ],
            vec![text("Năm"), Cell::Int(u64::from(r.year))],
        ],
    };
    for (h, c) in COUNT_HEADERS.iter().zip(count_cells(&r.counts)) {
        summary.rows.push(vec![text(h), c]);
    }
    let mut by_group = Table {
        name: "Theo nhóm đối tượng",
        headers: vec!["Mã nhóm", "Nhóm đối tượng"],
        rows: Vec::new(),
    };
    by_group.headers.extend(COUNT_HEADERS);
    for g in &r.by_group {
        let mut row = vec![text(&g.group), text(&g.name)];
        row.extend(count_cells(&g.counts));
        by_group.rows.push(row);
    }
    let mut by_child = Table {
        name: "Theo đơn vị trực thuộc",
        headers: vec!["Mã đơn vị", "Tên đơn vị"],
        rows: Vec::new(),
    };
    by_child.headers.extend(COUNT_HEADERS);
    for c in &r.by_child {
        let mut row = vec![text(&c.unit), text(&c.name)];
        row.extend(count_cells(&c.counts));
        by_child.rows.push(row);
    }
    let indicators = Table {
        name: "Theo chỉ số",
        headers: vec![
            "Chỉ số",
            "Tên chỉ số",
            "Điểm trung bình",
            "Tỷ lệ dưới 5 điểm",
            "Số bản",
        ],
        rows: r
            .indicators
            .iter()
            .map(|i| {
                vec![
                    text(&i.id),
                    text(&i.title.vi),
                    Cell::Num(i.mean_points),
                    Cell::Share(i.below_min_share),
                    Cell::Int(i.assessments),
                ]
            })
            .collect(),
    };
    let exemplary = Table {
        name: "Đủ điều kiện xét tiêu biểu",
        headers: vec![
            "Mã người",
            "Họ và tên",
            "Đơn vị",
            "Số năm liền được công nhận",
        ],
        rows: r
            .exemplary
            .persons
            .iter()
            .map(|p| {
                vec![
                    text(&p.person),
                    text(&p.person_name),
                    text(&p.unit),
                    Cell::Int(u64::from(p.streak)),
                ]
            })
            .collect(),
    };
    let units = Table {
        name: "Đơn vị học tập",
        headers: vec![
            "Mã đơn vị",
            "Tên đơn vị",
            "Người lớn",
            "Được công nhận",
            "Tỷ lệ",
            "Đạt từ 90% (đơn vị học tập)",
        ],
        rows: r
            .units
            .iter()
            .map(|u| {
                vec![
                    text(&u.unit),
                    text(&u.name),
                    Cell::Int(u.adults),
                    Cell::Int(u.recognised),
                    Cell::Share(u.share),
                    text(if u.meets_learning_unit {
                        "Có"
                    } else {
                        "Chưa"
                    }),
                ]
            })
            .collect(),
    };
    let households = Table {
        name: "Hộ gia đình",
        headers: vec![
            "Mã đơn vị",
            "Hộ gia đình",
            "Thành viên",
            "Người lớn",
            "Người lớn được công nhận",
            "Tỷ lệ",
        ],
        rows: r
            .household_list
            .iter()
            .map(|h| {
                vec![
                    text(&h.unit),
                    text(&h.label),
                    Cell::Int(h.members),
                    Cell::Int(h.adults),
                    Cell::Int(h.recognised),
                    Cell::Share(h.share),
                ]
            })
            .collect(),
    };
    let p = &r.progress;
    let progress = Table {
        name: "Tiến độ Quyết định 677",
        headers: vec!["Chỉ tiêu", "Tử số", "Mẫu số", "Tỷ lệ", "Mục tiêu 2030"],
        rows: vec![
            vec![
                text("Người lớn đã đăng ký được công nhận"),
                Cell::Int(p.adults_recognised),
                Cell::Int(p.adults_registered),
                Cell::Share(p.adults_recognised_share),
                Cell::Share(p.adults_recognised_target),
            ],
            vec![
                text("Người đạt danh hiệu có kỹ năng số (chỉ số 2.1 từ 5 điểm)"),
                Cell::Int(p.digital_skills),
                Cell::Int(p.title_holders),
                Cell::Share(p.digital_skills_share),
                Cell::Share(p.digital_skills_target),
            ],
        ],
    };
    let notes = Table {
        name: "Ghi chú",
        headers: vec!["Cách tính"],
        rows: DEFINITIONS.iter().map(|d| vec![text(d)]).collect(),
    };
    vec![
        summary, by_group, by_child, indicators, exemplary, units, households, progress, notes,
    ]
}

fn csv_cell(c: &Cell) -> String {
    match c {
        Cell::Text(s) => s.clone(),
        Cell::Int(n) => n.to_string(),
        Cell::Share(x) | Cell::Num(x) => format!("{:.4}", x),
    }
}

/// The tables as one CSV file: UTF-8 with a BOM (so Excel reads the
/// Vietnamese right), one section per table (its name, its headers, its
/// rows), a blank line between sections.
pub fn csv(tables: &[Table]) -> Result<Vec<u8>, csv::Error> {
    let mut out = b"\xEF\xBB\xBF".to_vec();
    for (i, t) in tables.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b"\r\n");
        }
        let mut w = csv::WriterBuilder::new()
            .flexible(true)
            .terminator(csv::Terminator::CRLF)
            .from_writer(Vec::new());
        w.write_record([t.name])?;
        w.write_record(&t.headers)?;
        for row in &t.rows {
            w.write_record(row.iter().map(csv_cell))?;
        }
        out.extend(w.into_inner().map_err(|e| e.into_error())?);
    }
    Ok(out)
}
