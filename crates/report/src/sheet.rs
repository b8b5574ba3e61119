//! Reading the workbooks municipalities keep into a grid of text: xlsx (and the older xls and
//! ods, through `calamine`) or CSV in UTF-8 (with or without a BOM) or Shift_JIS
//! (`encoding_rs`). Each row keeps the number the spreadsheet shows beside it, so a problem can
//! be named by its row. A merged cell's value is given to every cell it covers; a date cell is
//! given as `YYYY-MM-DD`; a whole number without `.0`. What the cells mean is read elsewhere
//! (`tsunagu_core::import`).

use std::io::Cursor;

use calamine::{Data, Reader, Sheets, open_workbook_auto_from_rs};

/// One row of a sheet as text, with the row number the spreadsheet shows (from 1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub number: u32,
    pub cells: Vec<String>,
}

impl Row {
    /// Whether every cell is empty or only spaces.
    pub fn is_blank(&self) -> bool {
        self.cells.iter().all(|c| c.trim().is_empty())
    }

    pub fn cell(&self, column: usize) -> &str {
        self.cells.get(column).map(String::as_str).unwrap_or("")
    }
}

/// The first sheet that holds anything, as rows of text.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sheet {
    pub rows: Vec<Row>,
}

/// Why a file could not be read as a sheet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReadError {
    /// Neither a workbook nor text.
    NotASpreadsheet,
    /// Text neither in UTF-8 nor in Shift_JIS.
    UnknownEncoding,
    /// A workbook `calamine` could not open (damaged, or protected by a password).
    Damaged,
    /// Nothing in any sheet.
    Empty,
}

impl ReadError {
    pub fn code(&self) -> &'static str {
        match self {
            ReadError::NotASpreadsheet => "import.not_a_spreadsheet",
            ReadError::UnknownEncoding => "import.unknown_encoding",
            ReadError::Damaged => "import.damaged",
            ReadError::Empty => "import.empty",
        }
    }

    pub fn message(&self) -> &'static str {
        match self {
            ReadError::NotASpreadsheet => {
                "ファイルを表として読めません。Excel（xlsx）か CSV のファイルを選んでください。"
            }
            ReadError::UnknownEncoding => {
                "CSV の文字コードが読めません。UTF-8 か Shift_JIS で保存してください。"
            }
            ReadError::Damaged => {
                "Excel ファイルを開けません。壊れているか、パスワードで保護されています。"
            }
            ReadError::Empty => "ファイルに行がありません。",
        }
    }
}

/// Reads a workbook or a CSV file, told apart by their bytes (not by the file's name).
pub fn read(bytes: &[u8]) -> Result<Sheet, ReadError> {
    let workbook = bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(&CFB_MAGIC);
    let sheet = if workbook {
        read_workbook(bytes)?
    } else {
        read_csv(bytes)?
    };
    if sheet.rows.iter().all(Row::is_blank) {
        return Err(ReadError::Empty);
    }
    Ok(sheet)
}

/// The start of an OLE compound file: the older Excel format (xls).
const CFB_MAGIC: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

fn read_workbook(bytes: &[u8]) -> Result<Sheet, ReadError> {
    let mut book =
        open_workbook_auto_from_rs(Cursor::new(bytes)).map_err(|_| ReadError::Damaged)?;
    let names = book.sheet_names();
    for name in &names {
        let range = book.worksheet_range(name).map_err(|_| ReadError::Damaged)?;
        let Some((top, left)) = range.start() else {
            continue;
        };
        let mut rows: Vec<Row> = Vec::new();
        for (r, cells) in range.rows().enumerate() {
            let number = top + u32::try_from(r).unwrap_or(u32::MAX - top) + 1;
            let mut text: Vec<String> = vec![String::new(); left as usize];
            text.extend(cells.iter().map(cell_text));
            rows.push(Row {
                number,
                cells: text,
            });
        }
        if let Sheets::Xlsx(xlsx) = &mut book
            && let Ok(regions) = xlsx.merge_cells_by_sheet_name(name)
        {
            fill_merged(&mut rows, top, &regions);
        }
        for row in &mut rows {
            while row.cells.last().is_some_and(|c| c.trim().is_empty()) {
                row.cells.pop();
            }
        }
        if rows.iter().any(|r| !r.is_blank()) {
            return Ok(Sheet { rows });
        }
    }
    Err(ReadError::Empty)
}

/// Gives each merged region's value (the top-left cell's) to every cell it covers.
fn fill_merged(rows: &mut [Row], top: u32, regions: &[calamine::Dimensions]) {
    for region in regions {
        let (r0, c0) = region.start;
        let (r1, c1) = region.end;
        let at = |r: u32| r.checked_sub(top).map(|i| i as usize);
        let Some(value) = at(r0)
            .and_then(|i| rows.get(i))
            .map(|row| row.cell(c0 as usize).to_owned())
        else {
            continue;
        };
        for r in r0..=r1 {
            let Some(row) = at(r).and_then(|i| rows.get_mut(i)) else {
                continue;
            };
            for c in c0..=c1 {
                let c = c as usize;
                if row.cells.len() <= c {
                    row.cells.resize(c + 1, String::new());
                }
                row.cells[c] = value.clone();
            }
        }
    }
}

fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty | Data::Error(_) => String::new(),
        Data::String(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => number_text(*f),
        Data::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_owned(),
        Data::DateTime(dt) if dt.is_datetime() => {
            let (y, m, d, ..) = dt.to_ymd_hms_milli();
            format!("{y:04}-{m:02}-{d:02}")
        }
        Data::DateTime(dt) => number_text(dt.as_f64()),
        Data::DateTimeIso(s) => s.get(..10).unwrap_or(s).to_owned(),
        Data::DurationIso(s) => s.clone(),
    }
}

/// A number as a person would type it: 9012345678 rather than 9012345678.0.
fn number_text(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        f.to_string()
    }
}

fn read_csv(bytes: &[u8]) -> Result<Sheet, ReadError> {
    if bytes.contains(&0) {
        return Err(ReadError::NotASpreadsheet);
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => {
            let (text, _, had_errors) = encoding_rs::SHIFT_JIS.decode(bytes);
            if had_errors {
                return Err(ReadError::UnknownEncoding);
            }
            text.into_owned()
        }
    };
    Ok(Sheet {
        rows: parse_csv(&text)
            .into_iter()
            .enumerate()
            .map(|(i, cells)| Row {
                number: u32::try_from(i + 1).unwrap_or(u32::MAX),
                cells,
            })
            .collect(),
    })
}

/// RFC 4180 records: fields separated by commas, quoted with `"` (doubled inside), a quoted
/// field may hold line breaks; CRLF or LF ends a record. One record is one spreadsheet row.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record: Vec<String> = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        any = true;
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.is_empty() => quoted = true,
            ',' => record.push(std::mem::take(&mut field)),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' | '\r' => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
                any = false;
            }
            _ => field.push(c),
        }
    }
    if any {
        record.push(field);
        records.push(record);
    }
    records
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};

    fn texts(sheet: &Sheet) -> Vec<(u32, Vec<&str>)> {
        sheet
            .rows
            .iter()
            .map(|r| (r.number, r.cells.iter().map(String::as_str).collect()))
            .collect()
    }

    #[test]
    fn csv_in_utf8_with_a_bom_quotes_and_line_breaks() {
        let file =
            "\u{FEFF}氏名,住所\r\n\"山田, 太郎\",\"東京都\n千代田区\"\r\n\"引用\"\"符\",\r\n";
        let sheet = read(file.as_bytes()).unwrap();
        assert_eq!(
            texts(&sheet),
            vec![
                (1, vec!["氏名", "住所"]),
                (2, vec!["山田, 太郎", "東京都\n千代田区"]),
                (3, vec!["引用\"符", ""]),
            ]
        );
    }

    #[test]
    fn csv_in_shift_jis() {
        let (bytes, _, _) =
            encoding_rs::SHIFT_JIS.encode("氏名,生年月日\n鈴木　花子,Ｈ３１．４．３０\n");
        assert!(std::str::from_utf8(&bytes).is_err());
        let sheet = read(&bytes).unwrap();
        assert_eq!(
            texts(&sheet),
            vec![
                (1, vec!["氏名", "生年月日"]),
                (2, vec!["鈴木　花子", "Ｈ３１．４．３０"]),
            ]
        );
    }

    #[test]
    fn refuses_what_is_no_table() {
        assert_eq!(read(b"\x00\x01\x02"), Err(ReadError::NotASpreadsheet));
        assert_eq!(read(b"PK\x03\x04broken"), Err(ReadError::Damaged));
        assert_eq!(read(b"\r\n,,\r\n"), Err(ReadError::Empty));
        // Bytes valid in neither encoding.
        assert_eq!(read(b"\x82\xa0\xff\xfe"), Err(ReadError::UnknownEncoding));
    }

    #[test]
    fn xlsx_with_merged_headers_dates_numbers_and_row_numbers() {
        let mut book = Workbook::new();
        let ws = book.add_worksheet();
        ws.write_string(0, 0, "相談者一覧（令和7年度）").unwrap();
        // A header over two rows: 本人 spans three columns.
        ws.merge_range(2, 1, 2, 3, "本人", &Format::new()).unwrap();
        ws.write_string(3, 0, "No").unwrap();
        ws.write_string(3, 1, "氏名").unwrap();
        ws.write_string(3, 2, "生年月日").unwrap();
        ws.write_string(3, 3, "電話").unwrap();
        ws.write_number(4, 0, 1).unwrap();
        ws.write_string(4, 1, "山田　太郎").unwrap();
        let date = ExcelDateTime::from_ymd(1980, 4, 1).unwrap();
        ws.write_datetime_with_format(4, 2, &date, &Format::new().set_num_format("yyyy/m/d"))
            .unwrap();
        ws.write_number(4, 3, 9012345678.0).unwrap();
        // A blank row, then a row whose address is merged down two rows.
        ws.write_string(6, 1, "山田　花子").unwrap();
        ws.merge_range(6, 4, 7, 4, "同上", &Format::new()).unwrap();
        ws.write_string(7, 1, "山田　一郎").unwrap();
        let bytes = book.save_to_buffer().unwrap();
        let sheet = read(&bytes).unwrap();
        assert_eq!(
            texts(&sheet),
            vec![
                (1, vec!["相談者一覧（令和7年度）"]),
                (2, vec![]),
                (3, vec!["", "本人", "本人", "本人"]),
                (4, vec!["No", "氏名", "生年月日", "電話"]),
                (5, vec!["1", "山田　太郎", "1980-04-01", "9012345678"]),
                (6, vec![]),
                (7, vec!["", "山田　花子", "", "", "同上"]),
                (8, vec!["", "山田　一郎", "", "", "同上"]),
            ]
        );
    }
}
