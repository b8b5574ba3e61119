//! CSV for Excel: UTF-8 with a byte-order mark (so Excel reads the Japanese as UTF-8), CRLF
//! line ends, every field quoted when it must be (RFC 4180), and no cell that a spreadsheet
//! would take for a formula: a cell starting with `=`, `+`, `-`, `@`, a tab or a carriage
//! return gets a leading apostrophe, as OWASP recommends against CSV injection.

/// A table to write: its header row and its rows, each a cell per header.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

const BOM: &str = "\u{feff}";

/// The table as the bytes of a CSV file.
pub fn write(table: &Table) -> Vec<u8> {
    let mut out = String::from(BOM);
    line(&mut out, &table.headers);
    for row in &table.rows {
        line(&mut out, row);
    }
    out.into_bytes()
}

fn line(out: &mut String, cells: &[String]) {
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        field(out, cell);
    }
    out.push_str("\r\n");
}

fn field(out: &mut String, cell: &str) {
    let neutral = if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell.to_owned()
    };
    if neutral.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&neutral.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(&neutral);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(t: &Table) -> String {
        String::from_utf8(write(t)).unwrap_or_default()
    }

    #[test]
    fn excel_reads_it_as_utf8_with_quoted_fields() {
        let t = Table {
            headers: vec!["氏名".into(), "メモ".into()],
            rows: vec![vec!["山田 太郎".into(), "家賃, 光熱費\n\"滞納\"".into()]],
        };
        assert_eq!(
            text(&t),
            "\u{feff}氏名,メモ\r\n山田 太郎,\"家賃, 光熱費\n\"\"滞納\"\"\"\r\n"
        );
    }

    #[test]
    fn a_cell_that_looks_like_a_formula_is_neutralised() {
        let cells = [
            "=HYPERLINK(\"http://x\")",
            "+1",
            "-2+3",
            "@SUM(A1)",
            "\tx",
            "\ry",
        ];
        let t = Table {
            headers: vec!["a".into()],
            rows: cells.iter().map(|c| vec![(*c).to_owned()]).collect(),
        };
        let written = text(&t);
        let lines: Vec<&str> = written
            .trim_start_matches('\u{feff}')
            .split("\r\n")
            .collect();
        assert_eq!(lines[1], "\"'=HYPERLINK(\"\"http://x\"\")\"");
        assert_eq!(lines[2], "'+1");
        assert_eq!(lines[3], "'-2+3");
        assert_eq!(lines[4], "'@SUM(A1)");
        assert_eq!(lines[5], "'\tx");
        // A carriage return inside a cell is quoted too.
        assert_eq!(lines[6], "\"'\ry\"");
        // Ordinary cells are left as they are.
        let plain = Table {
            headers: vec!["n".into()],
            rows: vec![vec!["12".into()], vec!["令和8年4月".into()]],
        };
        assert_eq!(text(&plain), "\u{feff}n\r\n12\r\n令和8年4月\r\n");
    }
}
