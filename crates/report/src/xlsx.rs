//! xlsx for Excel (`rust_xlsxwriter`): one sheet, the header row bold and frozen, whole
//! numbers written as numbers (so they sum), a day in 和暦 as the screens write it
//! (「令和8年4月1日」) as a date cell shown in 和暦 (so it sorts and filters as a date), the rest
//! as text, each column as wide as its widest cell (a full-width character counting two). Text
//! is written as text, never as a formula, so nothing needs neutralising.

use rust_xlsxwriter::{ExcelDateTime, Format, Workbook, XlsxError};

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
    // Excel's Japanese calendar: 令和8年4月1日.
    let wareki = Format::new().set_num_format("[$-411]ggge\"年\"m\"月\"d\"日\"");
    let mut widths: Vec<usize> = table.headers.iter().map(|h| width(h)).collect();
    for (c, h) in table.headers.iter().enumerate() {
        ws.write_string_with_format(0, col(c), h, &bold)?;
    }
    for (r, row) in table.rows.iter().enumerate() {
        let r = u32::try_from(r + 1).unwrap_or(u32::MAX);
        for (c, cell) in row.iter().enumerate() {
            if let Some(n) = whole_number(cell) {
                ws.write_number(r, col(c), n)?;
            } else if let Some((y, m, d)) = wareki_day(cell) {
                ws.write_datetime_with_format(
                    r,
                    col(c),
                    ExcelDateTime::from_ymd(y, m, d)?,
                    &wareki,
                )?;
            } else {
                ws.write_string(r, col(c), cell)?;
            }
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

/// The Gregorian day of a cell that is exactly a day in 和暦 as `wareki::format` writes it
/// (「令和8年4月1日」, 「平成元年1月8日」), from 明治 on.
fn wareki_day(cell: &str) -> Option<(u16, u8, u8)> {
    const ERAS: [(&str, u16); 5] = [
        ("明治", 1868),
        ("大正", 1912),
        ("昭和", 1926),
        ("平成", 1989),
        ("令和", 2019),
    ];
    let (start, rest) = ERAS
        .iter()
        .find_map(|(name, start)| cell.strip_prefix(name).map(|rest| (*start, rest)))?;
    let (year, rest) = rest.split_once('年')?;
    let (month, rest) = rest.split_once('月')?;
    let day = rest.strip_suffix('日')?;
    let number = |s: &str| -> Option<u16> {
        (!s.is_empty() && s.len() <= 2 && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let year = if year == "元" { 1 } else { number(year)? };
    let month = u8::try_from(number(month)?).ok()?;
    let day = u8::try_from(number(day)?).ok()?;
    ((1..=12).contains(&month) && (1..=31).contains(&day) && year >= 1).then_some((
        start + year - 1,
        month,
        day,
    ))
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

    #[test]
    fn a_day_in_wareki_is_a_date_cell_shown_in_wareki() {
        let table = Table {
            headers: vec!["受付日".into(), "月".into()],
            rows: vec![
                vec!["令和8年4月1日".into(), "令和8年4月".into()],
                vec!["令和元年5月1日".into(), "令和8年13月1日".into()],
            ],
        };
        let bytes = write("一覧", &table).unwrap_or_default();
        let mut book: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes))
            .unwrap_or_else(|e| panic!("{e}"));
        let range = book
            .worksheet_range("一覧")
            .unwrap_or_else(|e| panic!("{e}"));
        // Excel's serial days from 1899-12-30: 2026-04-01 is 46113, 2019-05-01 is 43586.
        let serial = |r: usize, c: usize| match range.get((r, c)) {
            Some(Data::DateTime(d)) => Some(d.as_f64()),
            _ => None,
        };
        assert_eq!(serial(1, 0), Some(46113.0));
        assert_eq!(serial(2, 0), Some(43586.0));
        // A month, or no day at all, stays text.
        assert_eq!(range.get((1, 1)), Some(&Data::String("令和8年4月".into())));
        assert_eq!(
            range.get((2, 1)),
            Some(&Data::String("令和8年13月1日".into()))
        );
        assert_eq!(wareki_day("平成31年4月30日"), Some((2019, 4, 30)));
        assert_eq!(wareki_day("令和8年4月1日から"), None);
    }
}
