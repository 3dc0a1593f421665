//! Tables as an Excel workbook: a sheet per table, bold headers, numbers
//! as numbers (shares as percentages).

use super::tables::{Cell, Table};
use rust_xlsxwriter::{Format, Workbook, XlsxError};

pub fn workbook(tables: &[Table]) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let bold = Format::new().set_bold().set_text_wrap();
    let percent = Format::new().set_num_format("0.0%");
    let decimal = Format::new().set_num_format("0.00");
    for t in tables {
        let sheet = book.add_worksheet();
        sheet.set_name(t.name)?;
        for (c, h) in t.headers.iter().enumerate() {
            let col = u16::try_from(c).unwrap_or(u16::MAX);
            sheet.write_string_with_format(0, col, *h, &bold)?;
            sheet.set_column_width(col, if c < 2 { 28 } else { 16 })?;
        }
        sheet.set_freeze_panes(1, 0)?;
        for (r, row) in t.rows.iter().enumerate() {
            let r = u32::try_from(r + 1).unwrap_or(u32::MAX);
            for (c, cell) in row.iter().enumerate() {
                let c = u16::try_from(c).unwrap_or(u16::MAX);
                match cell {
                    Cell::Text(s) => {
                        sheet.write_string(r, c, s)?;
                    }
                    #[allow(clippy::cast_precision_loss)]
                    Cell::Int(n) => {
                        sheet.write_number(r, c, *n as f64)?;
                    }
                    Cell::Share(x) => {
                        sheet.write_number_with_format(r, c, *x, &percent)?;
                    }
                    Cell::Num(x) => {
                        sheet.write_number_with_format(r, c, *x, &decimal)?;
                    }
                }
            }
        }
    }
    book.save_to_buffer()
}
