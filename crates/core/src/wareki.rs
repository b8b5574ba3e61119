//! Japanese dates (和暦): shown as 令和7年4月1日, entered either that way or as ISO, and the
//! fiscal year (年度, April–March). Era boundaries come from `icu_calendar`'s Japanese calendar
//! data, not from a table written here.

use icu_calendar::cal::Japanese;
use jiff::civil::Date;

/// Era names as written, with the CLDR era codes `icu_calendar` uses and their one-letter
/// abbreviations (R7.4.1).
const ERAS: [(&str, &str, char); 5] = [
    ("明治", "meiji", 'M'),
    ("大正", "taisho", 'T'),
    ("昭和", "showa", 'S'),
    ("平成", "heisei", 'H'),
    ("令和", "reiwa", 'R'),
];

fn era_of(d: Date) -> Option<(&'static str, i32)> {
    let iso =
        icu_calendar::Date::try_new_iso(d.year().into(), d.month() as u8, d.day() as u8).ok()?;
    let jp = iso.to_calendar(Japanese::new());
    let ey = jp.era_year();
    ERAS.iter()
        .find(|(_, code, _)| *code == ey.era.as_str())
        .map(|(name, _, _)| (*name, ey.year))
}

fn year_text(year: i32) -> String {
    if year == 1 {
        "元".to_owned()
    } else {
        year.to_string()
    }
}

/// 令和7年4月1日 (the Western form for dates before 明治).
pub fn format(d: Date) -> String {
    match era_of(d) {
        Some((era, year)) => format!("{era}{}年{}月{}日", year_text(year), d.month(), d.day()),
        None => format!("{:04}年{}月{}日", d.year(), d.month(), d.day()),
    }
}

/// The fiscal year (年度) a date falls in, as its starting Western year: 2026-03-31 → 2025.
pub fn fiscal_year(d: Date) -> i16 {
    if d.month() >= 4 {
        d.year()
    } else {
        d.year() - 1
    }
}

/// 令和7年度: the fiscal year a date falls in, named by the era of its 1 April.
pub fn fiscal_year_label(d: Date) -> String {
    let fy = fiscal_year(d);
    match Date::new(fy, 4, 1).ok().and_then(era_of) {
        Some((era, year)) => format!("{era}{}年度", year_text(year)),
        None => format!("{fy}年度"),
    }
}

/// The fiscal year a user names: 2026, 令和8, R8, 令和8年度, 令和元, 平成31, full width too.
pub fn parse_fiscal_year(raw: &str) -> Option<i16> {
    let s = crate::text::half_width_digits(raw.trim());
    let s = s.trim_end_matches("年度").trim_end_matches('年').trim();
    if s.len() == 4 && s.chars().all(|c| c.is_ascii_digit()) {
        return s.parse().ok().filter(|y| (1900..=2200).contains(y));
    }
    let (base, rest) = [
        ("令和", 2018),
        ("R", 2018),
        ("r", 2018),
        ("平成", 1988),
        ("H", 1988),
        ("h", 1988),
    ]
    .iter()
    .find_map(|(era, base)| s.strip_prefix(era).map(|rest| (*base, rest)))?;
    let rest = if rest.trim() == "元" {
        "1"
    } else {
        rest.trim()
    };
    let n: i16 = rest.parse().ok().filter(|n| (1..=99).contains(n))?;
    Some(base + n)
}

/// Reads a date typed by a user: ISO (2025-04-01, 2025/4/1, 2025年4月1日) or 和暦
/// (令和7年4月1日, 令和元年5月1日, R7.4.1, R7/4/1), with full-width digits allowed.
/// `None` when it is not a date (including an era year outside its era, 平成32年).
pub fn parse(input: &str) -> Option<Date> {
    read(input).ok()
}

/// Why a typed date could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DateProblem {
    /// A year of one to three digits without an era (「8年11月24日」): the era was left out.
    MissingEra,
    /// Not a date in any accepted form.
    Unreadable,
}

impl DateProblem {
    /// The message beside a date field named `label`.
    pub fn message(self, label: &str) -> String {
        match self {
            DateProblem::MissingEra => {
                format!("{label}に元号を付けてください（例: 令和8年11月24日）。")
            }
            DateProblem::Unreadable => format!(
                "{label}は「令和7年4月1日」「2025-04-01」「20250401」のいずれかの形で入力してください（年は元号を付けるか4桁で）。"
            ),
        }
    }

    /// The stable code of the refusal.
    pub fn code(self) -> &'static str {
        match self {
            DateProblem::MissingEra => "date.era_missing",
            DateProblem::Unreadable => "date.unreadable",
        }
    }
}

/// [`parse`], saying why a date cannot be read.
pub fn read(input: &str) -> Result<Date, DateProblem> {
    read_inner(input).map_err(|missing_era| {
        if missing_era {
            DateProblem::MissingEra
        } else {
            DateProblem::Unreadable
        }
    })
}

/// `Err(true)` when the era was left out, `Err(false)` for anything else.
fn read_inner(input: &str) -> Result<Date, bool> {
    let unreadable = false;
    let s: String = input
        .trim()
        .chars()
        .map(|c| match c {
            '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
            '／' | '．' | '－' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .collect();
    let s = s.replace('元', "1");
    let (era, rest) = match ERAS.iter().find_map(|(name, code, letter)| {
        s.strip_prefix(name)
            .or_else(|| s.strip_prefix(*letter))
            .or_else(|| s.strip_prefix(letter.to_ascii_lowercase()))
            .map(|rest| (Some(*code), rest))
    }) {
        Some(found) => found,
        None => (None, s.as_str()),
    };
    // Eight digits without an era: 20250401.
    let eight = (era.is_none() && rest.len() == 8 && rest.bytes().all(|b| b.is_ascii_digit()))
        .then(|| [&rest[..4], &rest[4..6], &rest[6..]]);
    let parts: Vec<&str> = match eight {
        Some(ymd) => ymd.to_vec(),
        None => rest
            .split(['-', '/', '.', '年', '月', '日'])
            .filter(|p| !p.is_empty())
            .collect(),
    };
    let [y, m, d] = parts.as_slice() else {
        return Err(unreadable);
    };
    // Without an era the year is written in full: 「8年11月24日」 is an era left out, not the
    // year 8.
    if era.is_none() && y.len() != 4 {
        let missing_era = (1..=3).contains(&y.len()) && y.bytes().all(|b| b.is_ascii_digit());
        return Err(missing_era);
    }
    let (Ok(y), Ok(m), Ok(d)) = (y.parse::<i32>(), m.parse::<u8>(), d.parse::<u8>()) else {
        return Err(unreadable);
    };
    match era {
        None => i16::try_from(y)
            .ok()
            .and_then(|y| Date::new(y, m as i8, d as i8).ok())
            .ok_or(unreadable),
        Some(code) => {
            let jp =
                icu_calendar::Date::try_new_japanese_with_calendar(code, y, m, d, Japanese::new())
                    .map_err(|_| unreadable)?;
            // icu accepts a year past the era's end (平成32年); the era must match its own date.
            if era_of_icu(&jp) != Some(code) {
                return Err(unreadable);
            }
            let iso = jp.to_calendar(icu_calendar::Iso);
            i16::try_from(iso.year().extended_year())
                .ok()
                .and_then(|y| {
                    Date::new(y, iso.month().ordinal as i8, iso.day_of_month().0 as i8).ok()
                })
                .ok_or(unreadable)
        }
    }
}

fn era_of_icu(d: &icu_calendar::Date<Japanese>) -> Option<&'static str> {
    let era = d.era_year().era;
    ERAS.iter()
        .map(|(_, code, _)| *code)
        .find(|code| *code == era.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn formats_in_the_era_of_the_day() {
        assert_eq!(format(date(2025, 4, 1)), "令和7年4月1日");
        assert_eq!(format(date(2019, 5, 1)), "令和元年5月1日");
        assert_eq!(format(date(2019, 4, 30)), "平成31年4月30日");
        assert_eq!(format(date(1989, 1, 7)), "昭和64年1月7日");
        assert_eq!(format(date(1989, 1, 8)), "平成元年1月8日");
    }

    #[test]
    fn reads_both_forms() {
        for text in [
            "2025-04-01",
            "2025/4/1",
            "2025年4月1日",
            "令和7年4月1日",
            "R7.4.1",
            "r7/4/1",
            "令和７年４月１日",
        ] {
            assert_eq!(parse(text), Some(date(2025, 4, 1)), "{text}");
        }
        assert_eq!(parse("令和元年5月1日"), Some(date(2019, 5, 1)));
        assert_eq!(parse("H31.4.30"), Some(date(2019, 4, 30)));
        assert_eq!(parse("平成32年1月1日"), None);
        assert_eq!(parse("令和7年2月30日"), None);
        assert_eq!(parse("あした"), None);
        // Eight digits, full width too; a year without an era must be written in full.
        assert_eq!(parse("20250401"), Some(date(2025, 4, 1)));
        assert_eq!(parse("２０２５０４０１"), Some(date(2025, 4, 1)));
        assert_eq!(parse("20250231"), None);
        assert_eq!(parse("８年１１月２４日"), None);
        assert_eq!(parse("8-11-24"), None);
        assert_eq!(parse("250401"), None);
        assert_eq!(parse(""), None);
    }

    #[test]
    fn a_year_without_its_era_is_named_as_such() {
        assert_eq!(read("８年１１月２４日"), Err(DateProblem::MissingEra));
        assert_eq!(read("8/11/24"), Err(DateProblem::MissingEra));
        assert_eq!(read("令和8年11月24日"), Ok(date(2026, 11, 24)));
        assert_eq!(read("20261124"), Ok(date(2026, 11, 24)));
        assert_eq!(read("2026/11/24"), Ok(date(2026, 11, 24)));
        assert_eq!(read("11月24日"), Err(DateProblem::Unreadable));
        assert_eq!(read("あした"), Err(DateProblem::Unreadable));
        assert_eq!(read("令和8年2月30日"), Err(DateProblem::Unreadable));
        assert_eq!(
            DateProblem::MissingEra.message("相談日"),
            "相談日に元号を付けてください（例: 令和8年11月24日）。"
        );
    }

    #[test]
    fn fiscal_year_runs_april_to_march() {
        assert_eq!(fiscal_year(date(2026, 3, 31)), 2025);
        assert_eq!(fiscal_year(date(2026, 4, 1)), 2026);
        assert_eq!(fiscal_year_label(date(2026, 3, 31)), "令和7年度");
        assert_eq!(fiscal_year_label(date(2019, 4, 1)), "平成31年度");
    }
}
