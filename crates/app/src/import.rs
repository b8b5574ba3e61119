//! Import of persons and their first consultations from the sheets municipalities keep
//! (xlsx, xls, ods; CSV in UTF-8 or Shift_JIS). A check (the dry run) reads every row, names
//! each problem with its row and column, and flags likely duplicates, within the file and
//! against the persons the caller can see; it writes nothing but its audit entry. The import
//! makes the same check and then writes every row or none, in one transaction.
//!
//! Running an import twice creates nothing new: each row's person and case get an id drawn
//! from the tenant and the row's content, so a row imported before is found and left alone
//! (「取込済み」), in whatever file or row it comes again. Every record written keeps its
//! source (file, SHA-256, row) on its first event. The column mapping used is kept in the
//! tenant's settings for the next file.

use std::collections::BTreeMap;

use serde::Serialize;
use sha2::{Digest, Sha256};
use tsunagu_core::case::{self, CaseNumber, OpenCase};
use tsunagu_core::import::{self, ImportField, ImportSource, Layout, Line, Problem, RowRecord};
use tsunagu_core::person::{self, PersonEvent};
use tsunagu_core::text::search_fold;
use tsunagu_core::{CaseId, HouseholdId, PersonId, ShortText, UserId, wareki};
use tsunagu_report::sheet;
use tsunagu_store::{Basis, StreamAppend};

use crate::{App, Caller, Error, Result, access, batch, ctx, record};

/// The largest file accepted (about 20,000 rows of a typical sheet).
pub const MAX_BYTES: usize = 10 * 1024 * 1024;

/// A file to check or import.
#[derive(Clone, Debug)]
pub struct ImportRequest {
    pub file_name: String,
    pub bytes: Vec<u8>,
    /// Columns the user mapped (by index): they override the kept mapping and the usual
    /// wordings.
    pub choices: Vec<(usize, Option<ImportField>)>,
    /// The user has looked at the likely duplicates and imports those rows anyway.
    pub duplicates_confirmed: bool,
}

/// A row that is likely a person already registered.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct KnownPerson {
    pub row: u32,
    pub person_id: PersonId,
    pub name: String,
    pub date_of_birth: Option<jiff::civil::Date>,
}

/// What a check found, or what an import did.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ImportReport {
    pub file_name: String,
    pub file_sha256: String,
    /// Where the header is and what each column fills; none when no header was found.
    pub layout: Option<Layout>,
    /// Rows read after the header, blank rows left out.
    pub rows: u32,
    /// Problems: while there is one, nothing is imported.
    pub problems: Vec<Problem>,
    /// Likely duplicates within the file (the same phone number), to be confirmed.
    pub warnings: Vec<Problem>,
    /// Rows that are likely persons already registered, to be confirmed.
    pub known_persons: Vec<KnownPerson>,
    /// Rows imported before (nothing is written for them).
    pub already_imported: Vec<u32>,
    /// Persons and cases the import writes (a check) or wrote (an import).
    pub new_persons: u32,
    pub new_cases: u32,
    /// Whether the rows were written.
    pub imported: bool,
}

impl ImportReport {
    /// Whether an import would write: no problem, and duplicates confirmed if there are any.
    pub fn needs_confirmation(&self) -> bool {
        !self.warnings.is_empty() || !self.known_persons.is_empty()
    }
}

/// Progress of a long check or import: rows done of all, called as it goes.
pub trait Progress: Sync {
    fn rows(&self, done: u64, total: u64);
    fn writing(&self) {}
}

impl Progress for () {
    fn rows(&self, _: u64, _: u64) {}
}

/// One row ready to write: its record, the ids drawn from its content, and whether it was
/// imported before.
struct Planned {
    record: RowRecord,
    person: PersonId,
    household: HouseholdId,
    case: Option<CaseId>,
    /// The 担当者 the case is assigned to (the importer when none is named).
    worker: Option<UserId>,
    done_before: bool,
}

struct Checked {
    report: ImportReport,
    layout: Option<Layout>,
    planned: Vec<Planned>,
}

/// The dry run: every row read and checked; nothing written but the audit entry (with the
/// registered persons the check showed).
pub async fn check(
    app: &App,
    caller: &Caller,
    req: &ImportRequest,
    progress: &dyn Progress,
) -> Result<ImportReport> {
    access::import_records(caller)?;
    let checked = read_and_check(app, caller, req, progress).await?;
    let report = checked.report;
    record(
        app,
        caller
            .audit("import.checked")
            .subjects(report.known_persons.iter().map(|k| k.person_id))
            .basis(Basis::Team)
            .detail(summary(&report)),
    )
    .await?;
    Ok(report)
}

/// The import: the same check, then every new row written in one transaction, or nothing
/// (`import.has_problems` while a row has a problem, `import.duplicates_unconfirmed` while
/// likely duplicates are not confirmed). The mapping used is kept for the next file.
pub async fn run(
    app: &App,
    caller: &Caller,
    req: &ImportRequest,
    progress: &dyn Progress,
) -> Result<ImportReport> {
    access::import_records(caller)?;
    let Checked {
        mut report,
        layout,
        planned,
    } = read_and_check(app, caller, req, progress).await?;
    if !report.problems.is_empty() || layout.is_none() {
        return Err(Error::invalid(
            "import.has_problems",
            format!(
                "{}件の問題があるため、取り込みませんでした。確認の結果を見て、ファイルを直してください。",
                report.problems.len()
            ),
        ));
    }
    if report.needs_confirmation() && !req.duplicates_confirmed {
        return Err(Error::invalid(
            "import.duplicates_unconfirmed",
            "重複の可能性がある行があります。確認したうえで「重複の可能性を確認した」を選んでください。",
        ));
    }
    progress.writing();
    let file_name = ShortText::parse(file_name_of(&req.file_name))
        .map_err(|_| Error::invalid("import.file_name_invalid", "ファイル名が読めません。"))?;
    let source = |row: u32| ImportSource {
        file_name: file_name.clone(),
        file_sha256: report.file_sha256.clone(),
        row,
    };
    let new: Vec<&Planned> = planned.iter().filter(|p| !p.done_before).collect();
    // Case numbers per fiscal year of the consultation, taken as a block each.
    let mut numbers: BTreeMap<i16, u32> = BTreeMap::new();
    for p in &new {
        if let Some(intake) = &p.record.intake {
            *numbers
                .entry(wareki::fiscal_year(intake.received_on))
                .or_default() += 1;
        }
    }
    let mut next: BTreeMap<i16, u32> = BTreeMap::new();
    for (year, count) in &numbers {
        let first = app
            .store
            .take_case_numbers(caller.actor.tenant_id, *year, *count)
            .await?;
        next.insert(*year, first);
    }
    let ctx = ctx(app, caller, &[]);
    let mut streams = Vec::new();
    for p in &new {
        let mut events = person::register(p.record.details.clone(), p.household, &ctx)?;
        if let Some(PersonEvent::PersonRegistered { imported_from, .. }) = events.first_mut() {
            *imported_from = Some(source(p.record.row));
        }
        streams.push(StreamAppend::Person {
            id: p.person,
            expected_version: 0,
            events,
        });
        if let (Some(case_id), Some(intake)) = (p.case, &p.record.intake) {
            let year = wareki::fiscal_year(intake.received_on);
            let seq = next.get_mut(&year).ok_or_else(Error::internal)?;
            let open = OpenCase {
                person_id: p.person,
                identification: None,
                intake: Some(intake.clone()),
            };
            let mut events = case::open_numbered(
                open,
                p.record.details.date_of_birth,
                &ctx,
                Some(CaseNumber {
                    fiscal_year: year,
                    seq: *seq,
                }),
            )?;
            *seq += 1;
            if let Some(case::CaseEvent::CaseOpened {
                imported_from,
                assigned_worker,
                ..
            }) = events.first_mut()
            {
                *imported_from = Some(source(p.record.row));
                if let Some(worker) = p.worker {
                    *assigned_worker = worker;
                }
            }
            streams.push(StreamAppend::Case {
                id: case_id,
                expected_version: 0,
                events,
            });
        }
    }
    report.new_persons = u32::try_from(new.len()).unwrap_or(u32::MAX);
    report.new_cases =
        u32::try_from(new.iter().filter(|p| p.case.is_some()).count()).unwrap_or(u32::MAX);
    let audit = caller
        .audit("import.done")
        .object("import", &report.file_sha256)
        .subjects(new.iter().map(|p| p.person))
        .basis(Basis::Team)
        .detail(summary(&report));
    if !streams.is_empty() {
        // The bulk path (many rows to a statement, each projection written once), one
        // transaction: all or nothing. SQLite's bulk writer is closed again after, so its
        // page cache does not stay with the server.
        let written = app
            .store
            .append_all(vec![batch(caller, audit, None, streams)])
            .await;
        app.store.end_bulk().await;
        written?;
    } else {
        record(app, audit).await?;
    }
    if let Some(layout) = &layout {
        keep_mapping(app, caller, layout).await?;
    }
    report.imported = true;
    Ok(report)
}

/// The file's name without any folder a browser may send with it.
fn file_name_of(name: &str) -> &str {
    let name = name.rsplit(['/', '\\']).next().unwrap_or(name).trim();
    if name.is_empty() {
        "（名前なし）"
    } else {
        name
    }
}

fn summary(r: &ImportReport) -> String {
    format!(
        "rows={} problems={} warnings={} known={} already={} new_persons={} new_cases={}",
        r.rows,
        r.problems.len(),
        r.warnings.len(),
        r.known_persons.len(),
        r.already_imported.len(),
        r.new_persons,
        r.new_cases
    )
}

/// Keeps the mapping in the tenant's settings when it changed (audited as a settings change).
async fn keep_mapping(app: &App, caller: &Caller, layout: &Layout) -> Result<()> {
    let Some(tenant) = app.store.tenant(caller.actor.tenant_id).await? else {
        return Err(Error::internal());
    };
    let mut settings = tenant.settings;
    let mut kept = settings.import_columns.clone();
    for column in import::mapping(layout) {
        match kept.iter_mut().find(|k| k.header == column.header) {
            Some(k) => k.field = column.field,
            None => kept.push(column),
        }
    }
    if kept == settings.import_columns {
        return Ok(());
    }
    settings.import_columns = kept;
    app.store
        .update_tenant_settings(
            caller.actor.tenant_id,
            &settings,
            &caller
                .audit("settings.import_mapping_kept")
                .basis(Basis::Administration),
        )
        .await?;
    Ok(())
}

async fn read_and_check(
    app: &App,
    caller: &Caller,
    req: &ImportRequest,
    progress: &dyn Progress,
) -> Result<Checked> {
    if req.bytes.len() > MAX_BYTES {
        return Err(Error::invalid(
            "import.too_large",
            "ファイルが大きすぎます（10MBまで）。ファイルを分けてください。",
        ));
    }
    let file_sha256 = hex::encode(Sha256::digest(&req.bytes));
    let sheet = sheet::read(&req.bytes).map_err(|e| Error::invalid(e.code(), e.message()))?;
    let lines: Vec<Line> = sheet
        .rows
        .into_iter()
        .map(|r| Line {
            number: r.number,
            cells: r.cells,
        })
        .collect();
    let mut report = ImportReport {
        file_name: file_name_of(&req.file_name).to_owned(),
        file_sha256,
        layout: None,
        rows: 0,
        problems: Vec::new(),
        warnings: Vec::new(),
        known_persons: Vec::new(),
        already_imported: Vec::new(),
        new_persons: 0,
        new_cases: 0,
        imported: false,
    };
    let Some(layout) = import::layout(&lines, &caller.settings.import_columns) else {
        report.problems.push(Problem {
            row: lines.first().map(|l| l.number).unwrap_or(1),
            column: None,
            code: "import.header_missing".into(),
            message: "見出しの行が見つかりません。「氏名」「生年月日」などの見出しを表の上に置いてください。".into(),
        });
        return Ok(Checked {
            report,
            layout: None,
            planned: Vec::new(),
        });
    };
    let layout = import::with_choices(layout, &req.choices);
    let reading = import::read(&lines, &layout, &ctx(app, caller, &[]));
    report.rows = u32::try_from(lines.len().saturating_sub(layout.first_data))
        .unwrap_or(u32::MAX)
        .saturating_sub(reading.blank_rows);
    report.problems = reading.problems;
    report.problems.sort_by_key(|p| p.row);
    report.warnings = reading.warnings;
    let total = reading.records.len() as u64;
    // 担当者 are staff of the importer's organisation who work cases, named by their name
    // (however spaced or written) or their login.
    let worker_column = layout
        .column_of(ImportField::Worker)
        .map(|c| c.header.clone());
    let staff: Vec<(String, String, UserId)> = if worker_column.is_some() {
        app.store
            .users(caller.actor.tenant_id)
            .await?
            .into_iter()
            .filter(|u| u.org_id == caller.actor.org_id && u.role.works_cases() && !u.disabled)
            .map(|u| (search_fold(&u.display_name), u.login, u.id))
            .collect()
    } else {
        Vec::new()
    };
    let mut planned = Vec::new();
    let mut seen: BTreeMap<PersonId, u32> = BTreeMap::new();
    for (i, record) in reading.records.into_iter().enumerate() {
        let ids = RowIds::of(caller, &record);
        // The same content twice (without a date of birth to tell them apart).
        if let Some(first) = seen.get(&ids.person) {
            report.problems.push(Problem {
                row: record.row,
                column: None,
                code: "import.duplicate_in_file".into(),
                message: format!("{first}行目と同じ内容です。どちらかの行を削除してください。"),
            });
            continue;
        }
        seen.insert(ids.person, record.row);
        let worker = match &record.worker {
            None => None,
            Some(named) => {
                let key = search_fold(named);
                match staff
                    .iter()
                    .find(|(name, login, _)| *name == key || login == named)
                {
                    Some((_, _, id)) => Some(*id),
                    None => {
                        report.problems.push(Problem {
                            row: record.row,
                            column: worker_column.clone(),
                            code: "import.worker_unknown".into(),
                            message: format!(
                                "担当者「{named}」はこの機関の職員にいません。職員の氏名かログインIDを書いてください。"
                            ),
                        });
                        continue;
                    }
                }
            }
        };
        let done_before = app
            .store
            .person(caller.actor.tenant_id, ids.person)
            .await?
            .is_some();
        if done_before {
            report.already_imported.push(record.row);
        } else {
            for found in crate::persons::find_likely(app, caller, &record.details).await? {
                report.known_persons.push(KnownPerson {
                    row: record.row,
                    person_id: found.id,
                    name: found.name,
                    date_of_birth: found.date_of_birth,
                });
            }
            report.new_persons += 1;
            report.new_cases += u32::from(record.intake.is_some());
        }
        planned.push(Planned {
            worker,
            person: ids.person,
            household: ids.household,
            case: record.intake.as_ref().map(|_| ids.case),
            record,
            done_before,
        });
        progress.rows(i as u64 + 1, total);
    }
    report.problems.sort_by_key(|p| p.row);
    report.layout = Some(layout.clone());
    Ok(Checked {
        report,
        layout: Some(layout),
        planned,
    })
}

/// The ids of a row's records, drawn from the tenant and the row's content (not its place),
/// so the same row imported again finds what it wrote.
struct RowIds {
    person: PersonId,
    household: HouseholdId,
    case: CaseId,
}

impl RowIds {
    fn of(caller: &Caller, record: &RowRecord) -> RowIds {
        let content = serde_json::to_vec(&(&record.details, &record.intake)).unwrap_or_default();
        let id = |kind: &str| {
            let mut h = Sha256::new();
            h.update(caller.actor.tenant_id.0.as_bytes());
            h.update(kind.as_bytes());
            h.update(&content);
            let digest = h.finalize();
            let mut bytes = [0u8; 16];
            bytes.copy_from_slice(&digest[..16]);
            uuid::Builder::from_custom_bytes(bytes).into_uuid()
        };
        // Rows with one 世帯番号 share a household, drawn from the tenant and the number (so a
        // later file with the same number joins it too); other rows have one each.
        let household = match &record.household {
            Some(key) => {
                let mut h = Sha256::new();
                h.update(caller.actor.tenant_id.0.as_bytes());
                h.update(b"household-number");
                h.update(key.as_bytes());
                let digest = h.finalize();
                let mut bytes = [0u8; 16];
                bytes.copy_from_slice(&digest[..16]);
                uuid::Builder::from_custom_bytes(bytes).into_uuid()
            }
            None => id("household"),
        };
        RowIds {
            person: PersonId(id("person")),
            household: HouseholdId(household),
            case: CaseId(id("case")),
        }
    }
}
