//! Reading the persons (and their first consultations) out of the sheets municipalities keep:
//! where the header is, which column is which field, and what each row says, with every
//! problem named by its row and column in Japanese. Pure: the grid of text comes from
//! `tsunagu_report::sheet`, the checks against stored persons and the writing are use cases in
//! `app::import`.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

use crate::case::{self, Intake, IntakeRoute, OpenCase, Urgency};
use crate::person::{self, PersonDetails, Sex};
use crate::text::search_fold;
use crate::{Context, HouseholdId, LongText, PersonId, ShortText, wareki};

/// Where an imported record came from: the file (its name as uploaded and its SHA-256) and
/// the spreadsheet row. Kept on the record's first event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportSource {
    pub file_name: ShortText,
    pub file_sha256: String,
    pub row: u32,
}

/// A field a column can fill.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ImportField {
    Name,
    Kana,
    DateOfBirth,
    Sex,
    Phone,
    Address,
    Relationship,
    ReceivedOn,
    Route,
    Referrer,
    ProblemText,
    /// 担当者: the staff member the case is assigned to (a name or login of the importer's
    /// organisation).
    Worker,
    PostalCode,
    /// 世帯番号: rows with the same value are one household.
    Household,
    /// 携帯電話: chosen on the mapping only; a 「携帯」 column is taken as the phone, the
    /// number the person is reached at.
    Mobile,
    Email,
}

impl ImportField {
    pub const ALL: [ImportField; 16] = [
        ImportField::Name,
        ImportField::Kana,
        ImportField::DateOfBirth,
        ImportField::Sex,
        ImportField::Phone,
        ImportField::Address,
        ImportField::Relationship,
        ImportField::ReceivedOn,
        ImportField::Route,
        ImportField::Referrer,
        ImportField::ProblemText,
        ImportField::Worker,
        ImportField::PostalCode,
        ImportField::Household,
        ImportField::Mobile,
        ImportField::Email,
    ];

    pub fn code(self) -> &'static str {
        match self {
            ImportField::Name => "name",
            ImportField::Kana => "kana",
            ImportField::DateOfBirth => "date_of_birth",
            ImportField::Sex => "sex",
            ImportField::Phone => "phone",
            ImportField::Address => "address",
            ImportField::Relationship => "relationship",
            ImportField::ReceivedOn => "received_on",
            ImportField::Route => "route",
            ImportField::Referrer => "referrer",
            ImportField::ProblemText => "problem_text",
            ImportField::Worker => "worker",
            ImportField::PostalCode => "postal_code",
            ImportField::Household => "household",
            ImportField::Mobile => "mobile",
            ImportField::Email => "email",
        }
    }

    pub fn from_code(code: &str) -> Option<ImportField> {
        ImportField::ALL.into_iter().find(|f| f.code() == code)
    }

    pub fn label_ja(self) -> &'static str {
        match self {
            ImportField::Name => "氏名",
            ImportField::Kana => "フリガナ",
            ImportField::DateOfBirth => "生年月日",
            ImportField::Sex => "性別",
            ImportField::Phone => "電話番号",
            ImportField::Address => "住所",
            ImportField::Relationship => "続柄",
            ImportField::ReceivedOn => "相談受付日",
            ImportField::Route => "相談経路",
            ImportField::Referrer => "紹介元",
            ImportField::ProblemText => "主訴（本人の言葉）",
            ImportField::Worker => "担当者",
            ImportField::PostalCode => "郵便番号",
            ImportField::Household => "世帯番号",
            ImportField::Mobile => "携帯電話",
            ImportField::Email => "メールアドレス",
        }
    }

    /// The field a header names, as far as the usual wordings go (the user can change it).
    /// `key` is a [`header_key`]. More specific wordings are tried first: 「氏名カナ」 is the
    /// kana, 「紹介元電話」 the referrer, 「担当者氏名」 nobody's name of interest.
    pub fn suggested_for(key: &str) -> Option<ImportField> {
        let has = |words: &[&str]| words.iter().any(|w| key.contains(w));
        if key.is_empty() || has(&["世帯主", "来談者", "記入者", "no.", "番号※"]) {
            return None;
        }
        let field = if has(&["世帯番号", "世帯no", "世帯id", "世帯コード", "世帯識別"])
        {
            ImportField::Household
        } else if has(&["担当"]) {
            ImportField::Worker
        } else if has(&["フリガナ", "ふりがな", "カナ", "かな", "よみ"]) {
            ImportField::Kana
        } else if has(&["紹介"]) {
            ImportField::Referrer
        } else if has(&["生年月日", "誕生日"]) {
            ImportField::DateOfBirth
        } else if has(&["受付日", "相談日", "受理日"]) {
            ImportField::ReceivedOn
        } else if has(&["経路"]) {
            ImportField::Route
        } else if has(&["主訴", "相談内容"]) {
            ImportField::ProblemText
        } else if has(&["続柄"]) {
            ImportField::Relationship
        } else if has(&["性別"]) {
            ImportField::Sex
        } else if has(&["郵便", "〒"]) {
            ImportField::PostalCode
        } else if has(&["メール", "mail"]) {
            ImportField::Email
        } else if has(&["電話", "携帯", "tel", "連絡先"]) {
            ImportField::Phone
        } else if has(&["住所", "所在地"]) {
            ImportField::Address
        } else if has(&["氏名", "名前", "相談者名", "利用者名"]) || key == "本人" {
            ImportField::Name
        } else {
            return None;
        };
        Some(field)
    }
}

/// A column mapping chosen once and kept in the tenant's settings: the header as the file
/// words it (a [`header_key`]) and the field it fills, or none to leave the column out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportColumn {
    pub header: String,
    pub field: Option<ImportField>,
}

/// A header as compared: compatibility forms unified (full-width letters and digits become
/// ASCII), spaces, brackets, middle dots and marks dropped, Latin letters in lower case.
pub fn header_key(header: &str) -> String {
    header
        .nfkc()
        .filter(|c| !c.is_whitespace() && !"()（）[]［］【】・※*＊:：".contains(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// One row of a sheet: the number the spreadsheet shows beside it and its cells as text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub number: u32,
    pub cells: Vec<String>,
}

impl Line {
    fn cell(&self, column: usize) -> &str {
        self.cells.get(column).map(|c| c.trim()).unwrap_or("")
    }
}

/// A column of the file: where it is, its header as shown (parts of a header over several
/// rows joined with a space) and the field it fills.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Column {
    pub index: usize,
    pub header: String,
    pub field: Option<ImportField>,
}

impl Column {
    pub fn key(&self) -> String {
        header_key(&self.header)
    }
}

/// Where the header is and what each column fills.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Layout {
    /// The spreadsheet rows the header spans (from, to; inclusive).
    pub header_rows: (u32, u32),
    pub columns: Vec<Column>,
    /// Index into the lines of the first line after the header.
    #[serde(skip)]
    pub first_data: usize,
}

impl Layout {
    pub fn column_of(&self, field: ImportField) -> Option<&Column> {
        self.columns.iter().find(|c| c.field == Some(field))
    }
}

/// How many rows from the top a header may start in, and how many rows it may span.
const HEADER_SEARCH: usize = 15;
const HEADER_DEPTH: usize = 3;

/// Finds the header: among the first rows, the run of one to three rows whose joined labels
/// name the most different fields (with the headers the kept mapping leaves out), fewest rows
/// on a tie: 「本人 氏名」 and 「紹介者 氏名」 need both rows, a title above the header none. `saved` (the tenant's mapping) decides a
/// header it knows; the usual wordings the others. `None` when no row names a field.
pub fn layout(lines: &[Line], saved: &[ImportColumn]) -> Option<Layout> {
    let saved: HashMap<&str, Option<ImportField>> =
        saved.iter().map(|c| (c.header.as_str(), c.field)).collect();
    let mut best: Option<(usize, Layout)> = None;
    for end in 0..lines.len().min(HEADER_SEARCH) {
        if lines[end].cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        for depth in 1..=HEADER_DEPTH.min(end + 1) {
            let start = end + 1 - depth;
            let width = lines[start..=end]
                .iter()
                .map(|l| l.cells.len())
                .max()
                .unwrap_or(0);
            let mut columns = Vec::new();
            let mut used: Vec<ImportField> = Vec::new();
            // Headers the kept mapping leaves out: recognised too.
            let mut left_out = 0;
            for index in 0..width {
                let mut parts: Vec<&str> = Vec::new();
                for line in &lines[start..=end] {
                    let part = line.cell(index);
                    if !part.is_empty() && parts.last() != Some(&part) {
                        parts.push(part);
                    }
                }
                if parts.is_empty() {
                    continue;
                }
                let header = parts.join(" ");
                let key = header_key(&header);
                let mut field = match saved.get(key.as_str()) {
                    Some(field) => {
                        left_out += usize::from(field.is_none());
                        *field
                    }
                    None => ImportField::suggested_for(&key),
                };
                // One column per field: a second column naming it is left out.
                if let Some(f) = field {
                    if used.contains(&f) {
                        field = None;
                    } else {
                        used.push(f);
                    }
                }
                columns.push(Column {
                    index,
                    header,
                    field,
                });
            }
            let score = used.len() + left_out;
            if !used.is_empty() && best.as_ref().is_none_or(|(s, _)| score > *s) {
                best = Some((
                    score,
                    Layout {
                        header_rows: (lines[start].number, lines[end].number),
                        columns,
                        first_data: end + 1,
                    },
                ));
            }
        }
    }
    best.map(|(_, l)| l)
}

/// The layout with the user's choice for some columns (by index); the others keep theirs.
pub fn with_choices(mut layout: Layout, choices: &[(usize, Option<ImportField>)]) -> Layout {
    for (index, field) in choices {
        if let Some(c) = layout.columns.iter_mut().find(|c| c.index == *index) {
            c.field = *field;
        }
    }
    layout
}

/// The mapping to keep for next time: every column of the layout by its header.
pub fn mapping(layout: &Layout) -> Vec<ImportColumn> {
    layout
        .columns
        .iter()
        .map(|c| ImportColumn {
            header: c.key(),
            field: c.field,
        })
        .collect()
}

/// Something wrong with a row, said in Japanese beside its row and column.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Problem {
    pub row: u32,
    /// The column's header as the file shows it; none for the row as a whole.
    pub column: Option<String>,
    pub code: String,
    pub message: String,
}

/// A row read: the person and, when it has a 相談受付日, the consultation to open (assigned
/// to the 担当者 named, when there is one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowRecord {
    pub row: u32,
    pub details: PersonDetails,
    pub intake: Option<Intake>,
    /// The 担当者 as written (matched to a staff member by `app::import`).
    pub worker: Option<String>,
    /// The 世帯番号 as compared (folded): rows with the same one are one household.
    pub household: Option<String>,
}

/// What the rows of a sheet say: the records of the rows without a problem, the problems
/// (each row with one imports nothing until it is corrected) and the warnings (likely
/// duplicates within the file, to be confirmed).
#[derive(Clone, Debug, Default)]
pub struct Reading {
    pub records: Vec<RowRecord>,
    pub problems: Vec<Problem>,
    pub warnings: Vec<Problem>,
    /// Rows left out as blank.
    pub blank_rows: u32,
}

/// Reads every line after the header. Blank lines (nothing in any mapped column) are left
/// out; each other line becomes a record or its problems. The decisions a registration and
/// an intake make (`person::register`, `case::open_numbered`) are made here too, so a row
/// the import would refuse is named now.
pub fn read(lines: &[Line], layout: &Layout, ctx: &Context) -> Reading {
    let mut reading = Reading::default();
    if layout.column_of(ImportField::Name).is_none() {
        reading.problems.push(Problem {
            row: layout.header_rows.1,
            column: None,
            code: "import.name_column_missing".into(),
            message: "氏名の列がありません。見出しの「氏名」にあたる列を選んでください。".into(),
        });
        return reading;
    }
    for line in lines.iter().skip(layout.first_data) {
        let mapped = layout.columns.iter().filter(|c| c.field.is_some());
        if mapped.clone().all(|c| line.cell(c.index).is_empty()) {
            reading.blank_rows += 1;
            continue;
        }
        match read_line(line, layout, ctx) {
            Ok(record) => reading.records.push(record),
            Err(problems) => reading.problems.extend(problems),
        }
    }
    duplicates_within(&mut reading);
    reading
}

fn read_line(line: &Line, layout: &Layout, ctx: &Context) -> Result<RowRecord, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut problem = |field: ImportField, code: &str, message: String| {
        problems.push(Problem {
            row: line.number,
            column: layout.column_of(field).map(|c| c.header.clone()),
            code: code.into(),
            message,
        });
    };
    let get = |field: ImportField| {
        layout
            .column_of(field)
            .map(|c| line.cell(c.index))
            .filter(|v| !v.is_empty())
    };
    let short = |field: ImportField, problem: &mut dyn FnMut(ImportField, &str, String)| {
        get(field).and_then(|v| match ShortText::parse(v) {
            Ok(t) => Some(t),
            Err(_) => {
                problem(
                    field,
                    "import.text_invalid",
                    format!(
                        "{}は改行などを含まない200文字以内で入力してください。",
                        field.label_ja()
                    ),
                );
                None
            }
        })
    };
    let name = short(ImportField::Name, &mut problem);
    if get(ImportField::Name).is_none() {
        problem(
            ImportField::Name,
            "import.name_missing",
            "氏名がありません。".into(),
        );
    }
    let kana = short(ImportField::Kana, &mut problem);
    let address = short(ImportField::Address, &mut problem);
    let relationship = short(ImportField::Relationship, &mut problem);
    let referrer = short(ImportField::Referrer, &mut problem);
    let date = |field: ImportField, problem: &mut dyn FnMut(ImportField, &str, String)| {
        get(field).and_then(|v| match read_date(v) {
            Ok(d) => Some(d),
            Err(p) => {
                problem(field, p.code(), p.message(field.label_ja()));
                None
            }
        })
    };
    let date_of_birth = date(ImportField::DateOfBirth, &mut problem);
    let received_on = date(ImportField::ReceivedOn, &mut problem);
    let sex = get(ImportField::Sex).and_then(|v| {
        let sex = read_sex(v);
        if sex.is_none() {
            problem(
                ImportField::Sex,
                "import.sex_unreadable",
                format!("性別「{v}」が読めません。「男」「女」「その他」「不明」のいずれかで入力してください。"),
            );
        }
        sex
    });
    let phone = get(ImportField::Phone).and_then(|v| match read_phone(v) {
        Some(p) => ShortText::parse(p).ok(),
        None => {
            problem(
                ImportField::Phone,
                "import.phone_unreadable",
                "電話番号は0から始まる10桁か11桁で入力してください（例: 090-1234-5678）。".into(),
            );
            None
        }
    });
    let postal_code = get(ImportField::PostalCode).and_then(|v| {
        match person::postal_code(v).and_then(|p| ShortText::parse(&p).ok()) {
            Some(p) => Some(p),
            None => {
                problem(
                    ImportField::PostalCode,
                    "import.postal_code_unreadable",
                    format!(
                        "郵便番号「{v}」が読めません。7桁の数字で入力してください（例: 100-0001）。"
                    ),
                );
                None
            }
        }
    });
    let mobile = get(ImportField::Mobile).and_then(|v| match read_phone(v) {
        Some(p) => ShortText::parse(p).ok(),
        None => {
            problem(
                ImportField::Mobile,
                "import.phone_unreadable",
                "携帯電話は0から始まる10桁か11桁で入力してください（例: 090-1234-5678）。".into(),
            );
            None
        }
    });
    let email = get(ImportField::Email).and_then(|v| {
        let v = v.trim();
        match ShortText::parse(v) {
            Ok(e) if person::email_ok(v) => Some(e),
            _ => {
                problem(
                    ImportField::Email,
                    "import.email_unreadable",
                    format!("メールアドレス「{v}」の形が正しくありません（例: name@example.jp）。"),
                );
                None
            }
        }
    });
    let route = get(ImportField::Route).and_then(|v| {
        let route = read_route(v);
        if route.is_none() {
            problem(
                ImportField::Route,
                "import.route_unreadable",
                format!("相談経路「{v}」が読めません。「本人来所」「電話」「家族・知人」「庁内」「関係機関」「訪問」「その他」のいずれかを含めてください。"),
            );
        }
        route
    });
    let problem_text = get(ImportField::ProblemText).and_then(|v| match LongText::parse(v) {
        Ok(t) => Some(t),
        Err(_) => {
            problem(
                ImportField::ProblemText,
                "import.text_invalid",
                "主訴は20,000文字以内で入力してください。".into(),
            );
            None
        }
    });
    let consultation_without_day = received_on.is_none()
        && get(ImportField::ReceivedOn).is_none()
        && [
            ImportField::Route,
            ImportField::Referrer,
            ImportField::ProblemText,
            ImportField::Worker,
        ]
        .into_iter()
        .any(|f| get(f).is_some());
    if consultation_without_day {
        problem(
            ImportField::ReceivedOn,
            "import.received_on_missing",
            "相談経路・主訴・担当者がある行には相談受付日が必要です（相談を始める日）。".into(),
        );
    }
    let Some(name) = name else {
        return Err(problems);
    };
    if !problems.is_empty() {
        return Err(problems);
    }
    let details = PersonDetails {
        name,
        name_is_provisional: false,
        kana,
        date_of_birth,
        sex,
        address,
        phone,
        relationship,
        postal_code,
        mobile,
        email,
    };
    let intake = received_on.map(|received_on| Intake {
        received_on,
        route: route.unwrap_or(IntakeRoute::Other),
        referrer,
        presenting_problems: Vec::new(),
        presenting_problem_text: problem_text,
        urgency: Urgency::Normal,
        application_received_on: None,
        visitor: None,
        other_problem_text: None,
        circumstances: Default::default(),
    });
    // The decisions the import will make, made now: a refusal is this row's problem.
    let refusal = person::register(details.clone(), HouseholdId(uuid::Uuid::nil()), ctx)
        .err()
        .or_else(|| {
            let intake = intake.clone()?;
            let open = OpenCase {
                person_id: PersonId(uuid::Uuid::nil()),
                identification: None,
                intake: Some(intake),
            };
            case::open_numbered(open, date_of_birth, ctx, None).err()
        });
    if let Some(refusal) = refusal {
        return Err(vec![Problem {
            row: line.number,
            column: None,
            code: refusal.code().into(),
            message: refusal.message(),
        }]);
    }
    Ok(RowRecord {
        row: line.number,
        details,
        intake,
        worker: get(ImportField::Worker).map(str::to_owned),
        household: get(ImportField::Household)
            .map(search_fold)
            .filter(|h| !h.is_empty()),
    })
}

/// Rows naming the same person twice: the same name (folded) and date of birth is a problem
/// (one of the rows must go); the same phone number only a warning (a household shares one).
fn duplicates_within(reading: &mut Reading) {
    let mut by_name: HashMap<(String, jiff::civil::Date), u32> = HashMap::new();
    let mut by_phone: HashMap<String, (u32, Option<String>)> = HashMap::new();
    let mut twice: Vec<u32> = Vec::new();
    for r in &reading.records {
        if let Some(dob) = r.details.date_of_birth {
            let key = (search_fold(r.details.name.as_str()), dob);
            if let Some(first) = by_name.get(&key) {
                reading.problems.push(Problem {
                    row: r.row,
                    column: None,
                    code: "import.duplicate_in_file".into(),
                    message: format!(
                        "{first}行目と同じ方です（氏名と生年月日が同じ）。どちらかの行を削除してください。"
                    ),
                });
                twice.push(r.row);
                continue;
            }
            by_name.insert(key, r.row);
        }
        if let Some(phone) = &r.details.phone {
            let digits: String = phone
                .as_str()
                .chars()
                .filter(char::is_ascii_digit)
                .collect();
            // A household sharing one number is no sign of a duplicate.
            if let Some((first, household)) = by_phone.get(&digits)
                && (household.is_none() || *household != r.household)
            {
                reading.warnings.push(Problem {
                    row: r.row,
                    column: None,
                    code: "import.same_phone_in_file".into(),
                    message: format!(
                        "{first}行目と電話番号が同じです。同じ世帯の方でなければ、同じ方が二度書かれていないか確かめてください。"
                    ),
                });
            } else {
                by_phone
                    .entry(digits)
                    .or_insert((r.row, r.household.clone()));
            }
        }
    }
    reading.records.retain(|r| !twice.contains(&r.row));
}

/// A date as municipal sheets write it: [`wareki::read`]'s forms (令和5年4月1日, R5.4.1,
/// H31/4/30, 2023-04-01, 20230401), with full-width letters and spaces, and a time of day
/// left by a spreadsheet (「2023/04/01 0:00:00」) ignored.
pub fn read_date(v: &str) -> Result<jiff::civil::Date, wareki::DateProblem> {
    let folded: String = v.nfkc().collect();
    let day = folded.split_whitespace().next().unwrap_or("");
    let spaced = folded.split_whitespace().collect::<String>();
    wareki::read(day).or_else(|first| wareki::read(&spaced).map_err(|_| first))
}

/// A phone number in any shape — 090-1234-5678, （０９０）１２３４‐５６７８, 090 1234 5678,
/// +81 90-1234-5678, or a number a spreadsheet kept without its leading 0 — as half-width
/// digits grouped by hyphens: the groups the file gave, else the usual grouping of mobile
/// (3-4-4), free-dial (4-3-3) and Tokyo or Osaka (2-4-4) numbers, else the digits alone.
/// `None` when it is not 10 or 11 digits starting with 0.
pub fn read_phone(v: &str) -> Option<String> {
    let folded: String = v
        .nfkc()
        .map(|c| match c {
            '‐' | '‑' | '‒' | '–' | '—' | '―' | 'ー' | '−' => '-',
            c => c,
        })
        .collect();
    let mut s = folded.trim().to_owned();
    if let Some(rest) = s.strip_prefix("+81") {
        let rest = rest
            .trim_start_matches([' ', '-', '('])
            .trim_start_matches('0');
        s = format!("0{rest}");
    }
    if s.chars()
        .any(|c| !(c.is_ascii_digit() || " -()".contains(c)))
    {
        return None;
    }
    let mut groups: Vec<String> = s
        .split([' ', '-', '(', ')'])
        .filter(|g| !g.is_empty())
        .map(str::to_owned)
        .collect();
    let mut digits: String = groups.concat();
    // A number kept as a number loses its leading 0.
    if groups.len() == 1 && (9..=10).contains(&digits.len()) && !digits.starts_with('0') {
        digits.insert(0, '0');
        groups = vec![digits.clone()];
    }
    if !(digits.len() == 10 || digits.len() == 11) || !digits.starts_with('0') {
        return None;
    }
    if groups.len() > 1 {
        return Some(groups.join("-"));
    }
    let split = |sizes: &[usize]| {
        let mut at = 0;
        sizes
            .iter()
            .map(|n| {
                let part = &digits[at..at + n];
                at += n;
                part
            })
            .collect::<Vec<_>>()
            .join("-")
    };
    let mobile = ["070", "080", "090", "050"]
        .iter()
        .any(|p| digits.starts_with(p));
    Some(match digits.len() {
        11 if mobile => split(&[3, 4, 4]),
        10 if digits.starts_with("0120") => split(&[4, 3, 3]),
        10 if digits.starts_with("03") || digits.starts_with("06") => split(&[2, 4, 4]),
        _ => digits,
    })
}

/// 性別 as sheets write it, including the codes of JIS X 0303 (1 男, 2 女, 0 and 9 不明).
pub fn read_sex(v: &str) -> Option<Sex> {
    let key = header_key(v);
    Some(match key.as_str() {
        "男" | "男性" | "m" | "male" | "1" => Sex::Male,
        "女" | "女性" | "f" | "female" | "2" => Sex::Female,
        "その他" | "他" => Sex::Other,
        "不明" | "未回答" | "無回答" | "回答なし" | "0" | "9" | "-" => Sex::NotStated,
        _ => return None,
    })
}

/// 相談経路 as sheets word it.
pub fn read_route(v: &str) -> Option<IntakeRoute> {
    let key = header_key(v);
    let has = |words: &[&str]| words.iter().any(|w| key.contains(w));
    Some(if has(&["家族", "知人", "親族", "友人"]) {
        IntakeRoute::FamilyOrAcquaintance
    } else if has(&[
        "庁内",
        "市役所",
        "役所",
        "役場",
        "他部署",
        "他課",
        "市の",
        "町の",
        "村の",
    ]) || key.ends_with('課')
    {
        IntakeRoute::MunicipalDepartment
    } else if has(&[
        "関係機関",
        "社協",
        "社会福祉協議会",
        "病院",
        "民生委員",
        "地域包括",
        "ハローワーク",
        "機関",
    ]) {
        IntakeRoute::RelatedAgency
    } else if has(&["訪問", "アウトリーチ"]) {
        IntakeRoute::Outreach
    } else if has(&["電話"]) {
        IntakeRoute::SelfPhone
    } else if has(&["来所", "来庁", "窓口", "本人"]) {
        IntakeRoute::SelfVisit
    } else if has(&["その他"]) {
        IntakeRoute::Other
    } else {
        return None;
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::{Actor, OrgId, Role, TenantId, TenantSettings, UserId};
    use jiff::civil::date;

    fn lines(rows: &[&[&str]]) -> Vec<Line> {
        rows.iter()
            .enumerate()
            .map(|(i, cells)| Line {
                number: i as u32 + 1,
                cells: cells.iter().map(|c| c.to_string()).collect(),
            })
            .collect()
    }

    fn with_ctx<T>(f: impl FnOnce(&Context) -> T) -> T {
        let actor = Actor {
            user_id: UserId(uuid::Uuid::nil()),
            org_id: OrgId(uuid::Uuid::nil()),
            tenant_id: TenantId(uuid::Uuid::nil()),
            role: Role::LeadSupportWorker,
            org_kind: crate::OrgKind::SupportAgency,
        };
        let settings = TenantSettings::default();
        f(&Context {
            today: date(2026, 12, 6),
            actor: &actor,
            settings: &settings,
            consents: &[],
        })
    }

    #[test]
    fn finds_a_header_over_two_rows_below_a_title() {
        let sheet = lines(&[
            &["相談者一覧（令和7年度）"],
            &[],
            &["", "本人", "本人", "本人", "相談", "相談"],
            &["No", "氏名", "ﾌﾘｶﾞﾅ", "生年月日", "受付日", "経路"],
            &[
                "1",
                "山田　太郎",
                "ﾔﾏﾀﾞ ﾀﾛｳ",
                "S55.4.1",
                "R7.5.1",
                "本人（来所）",
            ],
        ]);
        let layout = layout(&sheet, &[]).unwrap();
        assert_eq!(layout.first_data, 4);
        let fields: Vec<(usize, Option<ImportField>)> =
            layout.columns.iter().map(|c| (c.index, c.field)).collect();
        assert_eq!(
            fields,
            vec![
                (0, None),
                (1, Some(ImportField::Name)),
                (2, Some(ImportField::Kana)),
                (3, Some(ImportField::DateOfBirth)),
                (4, Some(ImportField::ReceivedOn)),
                (5, Some(ImportField::Route)),
            ]
        );
        // A mapping kept from before decides the headers it knows.
        let saved = vec![ImportColumn {
            header: "経路".into(),
            field: None,
        }];
        let again = super::layout(&sheet, &saved).unwrap();
        assert_eq!(again.column_of(ImportField::Route), None);
    }

    #[test]
    fn reads_the_usual_notations() {
        for (typed, day) in [
            ("R5.4.1", date(2023, 4, 1)),
            ("令和5年4月1日", date(2023, 4, 1)),
            ("H31/4/30", date(2019, 4, 30)),
            ("Ｈ３１．４．３０", date(2019, 4, 30)),
            ("令和 5年 4月 1日", date(2023, 4, 1)),
            ("2023/04/01 0:00:00", date(2023, 4, 1)),
            ("1980-04-01", date(1980, 4, 1)),
        ] {
            assert_eq!(read_date(typed), Ok(day), "{typed}");
        }
        assert!(read_date("5.4.1").is_err());
        for (typed, phone) in [
            ("090-1234-5678", "090-1234-5678"),
            ("（０９０）１２３４－５６７８", "090-1234-5678"),
            ("09012345678", "090-1234-5678"),
            ("9012345678", "090-1234-5678"),
            ("+81 90-1234-5678", "090-1234-5678"),
            ("0312345678", "03-1234-5678"),
            ("0242 22 1234", "0242-22-1234"),
            ("0120123456", "0120-123-456"),
            ("0242221234", "0242221234"),
        ] {
            assert_eq!(read_phone(typed).as_deref(), Some(phone), "{typed}");
        }
        assert_eq!(read_phone("090-1234"), None);
        assert_eq!(read_phone("内線123"), None);
        assert_eq!(read_sex("女性"), Some(Sex::Female));
        assert_eq!(read_sex("１"), Some(Sex::Male));
        assert_eq!(read_sex("おとこ"), None);
        assert_eq!(read_route("本人（電話）"), Some(IntakeRoute::SelfPhone));
        assert_eq!(read_route("税務課"), Some(IntakeRoute::MunicipalDepartment));
        assert_eq!(read_route("社協から"), Some(IntakeRoute::RelatedAgency));
        assert_eq!(read_route("不明な経路"), None);
    }

    #[test]
    fn every_problem_is_named_by_row_and_column() {
        let sheet = lines(&[
            &["氏名", "生年月日", "性別", "電話番号", "相談日", "相談経路"],
            &[
                "山田　太郎",
                "S55.4.1",
                "男",
                "090-1234-5678",
                "R7.5.1",
                "電話",
            ],
            &["", "S55.4.1", "", "", "", ""],
            &["鈴木　花子", "5.4.1", "おんな", "12345", "R7.5.1", "どこか"],
            &[],
            &["佐藤　一郎", "R9.1.1", "", "", "", ""],
            &["佐藤　次郎", "", "", "", "", "電話"],
            &["山田 太郎", "昭和55年4月1日", "", "", "", ""],
            &["山田　花子", "", "", "09012345678", "", ""],
        ]);
        with_ctx(|ctx| {
            let layout = layout(&sheet, &[]).unwrap();
            let reading = read(&sheet, &layout, ctx);
            let problems: Vec<(u32, Option<&str>, &str)> = reading
                .problems
                .iter()
                .map(|p| (p.row, p.column.as_deref(), p.code.as_str()))
                .collect();
            assert_eq!(
                problems,
                vec![
                    (3, Some("氏名"), "import.name_missing"),
                    (4, Some("生年月日"), "date.era_missing"),
                    (4, Some("性別"), "import.sex_unreadable"),
                    (4, Some("電話番号"), "import.phone_unreadable"),
                    (4, Some("相談経路"), "import.route_unreadable"),
                    (6, None, "date.in_future"),
                    (7, Some("相談日"), "import.received_on_missing"),
                    (8, None, "import.duplicate_in_file"),
                ]
            );
            assert!(reading.problems[7].message.contains("2行目"));
            assert_eq!(reading.blank_rows, 1);
            let read: Vec<u32> = reading.records.iter().map(|r| r.row).collect();
            assert_eq!(read, vec![2, 9]);
            assert_eq!(
                reading.records[0].intake.as_ref().map(|i| i.route),
                Some(IntakeRoute::SelfPhone)
            );
            assert_eq!(reading.warnings.len(), 1);
            assert_eq!(reading.warnings[0].row, 9);
        });
    }
}
