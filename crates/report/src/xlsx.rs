//! xlsx for Excel (`rust_xlsxwriter`): one sheet, the header row bold and frozen, whole
//! numbers written as numbers (so they sum), the rest as text (dates are already in 和暦, as
//! the screens show them), each column as wide as its widest cell (a full-width character
//! counting two). Text is written as text, never as a formula, so nothing needs neutralising.

use rust_xlsxwriter::{Format, Workbook, XlsxError};

use crate::csv::Table;

/// The table as the bytes of an xlsx workbook with one sheet named `sheet`.
pub fn write(sheet: &str, table: &Table) -> Result<Vec<u8>, XlsxError> {
    write_sheets(&[(sheet.to_owned(), table.clone())])
}

/// Tables as the sheets of one workbook, in order, each named as given (at most 31
/// characters, none of `[]:*?/\`, each name once).
pub fn write_sheets(sheets: &[(String, Table)]) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    for (sheet, table) in sheets {
        add_sheet(&mut book, sheet, table)?;
    }
    book.save_to_buffer()
}

fn add_sheet(book: &mut Workbook, sheet: &str, table: &Table) -> Result<(), XlsxError> {
    let ws = book.add_worksheet();
    ws.set_name(sheet)?;
    let bold = Format::new().set_bold();
    let mut widths: Vec<usize> = table.headers.iter().map(|h| width(h)).collect();
    for (c, h) in table.headers.iter().enumerate() {
        ws.write_string_with_format(0, col(c), h, &bold)?;
    }
    for (r, row) in table.rows.iter().enumerate() {
        let r = u32::try_from(r + 1).unwrap_or(u32::MAX);
        for (c, cell) in row.iter().enumerate() {
            match whole_number(cell) {
                Some(n) => ws.write_number(r, col(c), n)?,
                None => ws.write_string(r, col(c), cell)?,
            };
            if let Some(w) = widths.get_mut(c) {
                *w = (*w).max(width(cell));
            }
        }
    }
    for (c, w) in widths.iter().enumerate() {
        ws.set_column_width(col(c), (*w).clamp(4, 60) as f64 + 1.0)?;
    }
    ws.set_freeze_panes(1, 0)?;
    Ok(())
}

fn col(c: usize) -> u16 {
    u16::try_from(c).unwrap_or(u16::MAX)
}

/// A cell of digits only (no leading zero but "0" itself: a case number or a phone number stays
/// text) as a number.
fn whole_number(cell: &str) -> Option<f64> {
    let digits = !cell.is_empty() && cell.bytes().all(|b| b.is_ascii_digit());
    (digits && (cell == "0" || !cell.starts_with('0')) && cell.len() <= 15)
        .then(|| cell.parse::<f64>().ok())
        .flatten()
}

/// Columns a cell needs: a full-width character takes two.
fn width(cell: &str) -> usize {
    cell.chars().map(|c| if c.is_ascii() { 1 } else { 2 }).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::{Data, Reader, Xlsx};

    #[test]
    fn what_is_written_reads_back_with_numbers_as_numbers() {
        let table = Table {
            headers: vec!["月".into(), "新規相談受付件数".into(), "ケース番号".into()],
            rows: vec![
                vec!["令和8年4月".into(), "12".into(), "0123".into()],
                vec!["年度計".into(), "0".into(), "=1+1".into()],
            ],
        };
        let bytes = write("統計", &table).unwrap_or_default();
        let mut book: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes))
            .unwrap_or_else(|e| panic!("{e}"));
        let range = book
            .worksheet_range("統計")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            range.get((0, 1)),
            Some(&Data::String("新規相談受付件数".into()))
        );
        assert_eq!(range.get((1, 0)), Some(&Data::String("令和8年4月".into())));
        assert_eq!(range.get((1, 1)), Some(&Data::Float(12.0)));
        // A number with a leading zero stays text; so does what looks like a formula.
        assert_eq!(range.get((1, 2)), Some(&Data::String("0123".into())));
        assert_eq!(range.get((2, 1)), Some(&Data::Float(0.0)));
        assert_eq!(range.get((2, 2)), Some(&Data::String("=1+1".into())));
    }
}
