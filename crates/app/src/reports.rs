//! 報告 (issue 14, item 8; seed 001 §8): every plan a coordination meeting approves is
//! reported to the municipality with the person's basic information — a plan without
//! statutory services is *reported only* (報告のみ), one with them has its statutory services
//! decided (支援決定) and the rest reported. The municipal departments' officers read the
//! reports received (`policy::receive_reports`), nothing else of the case; each reading is
//! audited with the persons it names. A case restricted to named users is listed without the
//! person, and a person's restricted fields are left out, as on every other screen.

use jiff::civil::Date;
use serde::Serialize;
use tsunagu_core::CaseId;

use crate::{App, Caller, Result, access};

/// The person as the report gives them: the basic information of the 相談受付・申込票.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ReportedPerson {
    pub name: String,
    pub kana: Option<String>,
    pub date_of_birth: Option<Date>,
    /// Age on the day of the report.
    pub age: Option<i16>,
    /// 女性, 男性, その他 or 回答しない.
    pub sex: Option<String>,
    /// None when the address is restricted from the reader.
    pub address: Option<String>,
}

/// A plan item reported (one without a statutory service).
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ReportedItem {
    pub description: String,
    pub provider: String,
}

/// One plan reported to the municipality.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct PlanReport {
    /// The day the coordination meeting approved the plan.
    pub reported_on: Date,
    pub case_id: CaseId,
    /// ケース番号, e.g. 令和8年度-0012.
    pub case_number: Option<String>,
    /// None when the case is restricted from the reader (閲覧制限).
    pub person: Option<ReportedPerson>,
    /// The agency the case belongs to.
    pub agency: String,
    pub plan_version: u32,
    pub period: Option<(Date, Date)>,
    /// 報告のみ: no statutory service, so no support decision.
    pub report_only: bool,
    /// The items reported: those without a statutory service.
    pub reported_items: Vec<ReportedItem>,
    /// The statutory services decided separately (支援決定), by name.
    pub statutory_services: Vec<String>,
    /// 主訴, by name.
    pub main_problem: Option<String>,
}

/// The period an officer reads the reports of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Period {
    /// A calendar month (cut at today).
    Month { year: i16, month: i8 },
    /// The fiscal year so far: 1 April to today.
    FiscalYearSoFar,
}

impl Period {
    /// The month `today` falls in.
    pub fn this_month(today: Date) -> Period {
        Period::Month {
            year: today.year(),
            month: today.month(),
        }
    }

    /// Its first and last day, cut at `today` (never before the first).
    pub fn days(self, today: Date) -> (Date, Date) {
        let (from, until) = match self {
            Period::FiscalYearSoFar => {
                crate::stats::fiscal_year_days(tsunagu_core::wareki::fiscal_year(today), today)
                    .unwrap_or((today, today))
            }
            Period::Month { year, month } => {
                let first = Date::new(year, month, 1).unwrap_or(today.first_of_month());
                (first, first.last_of_month().min(today))
            }
        };
        (from, until.max(from))
    }

    /// Its name on the page and in a file: 令和8年11月, 令和8年度（今日まで）.
    pub fn label(self, today: Date) -> String {
        use tsunagu_core::wareki;
        let (from, _) = self.days(today);
        match self {
            Period::FiscalYearSoFar => format!("{}（今日まで）", wareki::fiscal_year_label(today)),
            Period::Month { month, .. } => {
                let day = wareki::format(from);
                let era_year = day.split('年').next().unwrap_or_default();
                format!("{era_year}年{month}月")
            }
        }
    }
}

/// The plans reported in a period (approved from `from` to `until`), newest first.
pub async fn received(
    app: &App,
    caller: &Caller,
    from: Date,
    until: Date,
) -> Result<Vec<PlanReport>> {
    let (reports, named) = gather(app, caller, from, until).await?;
    app.store
        .audit(&[caller
            .audit("plan_reports.read")
            .subjects(named)
            .detail(format!("{from}..{until} reports={}", reports.len()))])
        .await?;
    Ok(reports)
}

/// The headers of the reports as a file: the page's columns.
pub const REPORT_HEADERS: [&str; 15] = [
    "報告日（了承日）",
    "ケース番号",
    "プランの版",
    "氏名",
    "ふりがな",
    "生年月日",
    "年齢",
    "性別",
    "住所",
    "主訴",
    "プラン期間",
    "区分",
    "報告する支援",
    "支援決定の対象",
    "相談支援機関",
];

/// The reports of a period as a file for Excel (a row a plan; days in 和暦), the same rows as
/// the page; audited as an export with the persons named.
pub async fn export_file(
    app: &App,
    caller: &Caller,
    from: Date,
    until: Date,
    format: crate::FileFormat,
) -> Result<Vec<u8>> {
    use tsunagu_core::wareki;
    let (reports, named) = gather(app, caller, from, until).await?;
    let rows = reports
        .iter()
        .map(|r| {
            let p = r.person.as_ref();
            let text = |f: fn(&ReportedPerson) -> Option<String>| p.and_then(f).unwrap_or_default();
            vec![
                wareki::format(r.reported_on),
                r.case_number.clone().unwrap_or_default(),
                format!("第{}版", r.plan_version),
                p.map_or_else(|| "（閲覧制限のあるケース）".to_owned(), |p| p.name.clone()),
                text(|p| p.kana.clone()),
                text(|p| p.date_of_birth.map(wareki::format)),
                text(|p| p.age.map(|a| a.to_string())),
                text(|p| p.sex.clone()),
                text(|p| p.address.clone()),
                r.main_problem.clone().unwrap_or_default(),
                r.period
                    .map(|(a, b)| format!("{}〜{}", wareki::format(a), wareki::format(b)))
                    .unwrap_or_default(),
                if r.report_only {
                    "報告のみ"
                } else {
                    "支援決定あり"
                }
                .to_owned(),
                r.reported_items
                    .iter()
                    .map(|i| format!("{}（{}）", i.description, i.provider))
                    .collect::<Vec<_>>()
                    .join("\n"),
                r.statutory_services.join("、"),
                r.agency.clone(),
            ]
        })
        .collect();
    let table = tsunagu_report::csv::Table {
        headers: REPORT_HEADERS.map(str::to_owned).to_vec(),
        rows,
    };
    app.store
        .audit(&[caller
            .audit("plan_reports.exported")
            .subjects(named)
            .detail(format!(
                "{from}..{until} reports={}, {}",
                reports.len(),
                format.extension()
            ))])
        .await?;
    format.write("報告の受付", &table)
}

/// The reports of a period with the persons they name (for the audit entry).
async fn gather(
    app: &App,
    caller: &Caller,
    from: Date,
    until: Date,
) -> Result<(Vec<PlanReport>, Vec<tsunagu_core::PersonId>)> {
    access::receive_reports(caller)?;
    if until < from {
        return Err(crate::Error::invalid(
            "reports.invalid_period",
            "期間の終わりが始まりより前です。",
        ));
    }
    let tenant = caller.actor.tenant_id;
    let cases = app.store.plan_reports(tenant, from, until).await?;
    let orgs = app.store.orgs(tenant).await?;
    let settings = &caller.settings;
    let user = caller.actor.user_id;
    let mut reports = Vec::new();
    let mut named = Vec::new();
    for c in &cases {
        let restricted = !c.case.restricted_to.is_empty() && !c.case.restricted_to.contains(&user);
        let person = (!restricted).then(|| {
            let d = c.person.details_for(user);
            ReportedPerson {
                name: d.name.as_str().to_owned(),
                kana: d.kana.map(|k| k.as_str().to_owned()),
                date_of_birth: d.date_of_birth,
                age: d
                    .date_of_birth
                    .map(|b| tsunagu_core::person::age(b, app.clock.today())),
                sex: d.sex.map(|s| s.label_ja().to_owned()),
                address: d.address.map(|a| a.as_str().to_owned()),
            }
        });
        if person.is_some() {
            named.push(c.case.person_id);
        }
        for made in c
            .case
            .plans_made
            .iter()
            .filter(|m| from <= m.approved_on && m.approved_on <= until)
        {
            reports.push(PlanReport {
                reported_on: made.approved_on,
                case_id: c.case_id,
                case_number: c.case.number.map(|n| n.label()),
                person: person.clone(),
                agency: orgs
                    .iter()
                    .find(|o| o.id == c.case.owner_org)
                    .map_or_else(String::new, |o| o.name.clone()),
                plan_version: made.version,
                period: made.period,
                report_only: made.report_only(),
                reported_items: made
                    .items
                    .iter()
                    .filter(|i| i.statutory_service.is_none())
                    .map(|i| ReportedItem {
                        description: i.description.as_str().to_owned(),
                        provider: i.provider.as_str().to_owned(),
                    })
                    .collect(),
                statutory_services: made
                    .items
                    .iter()
                    .filter_map(|i| i.statutory_service.as_deref())
                    .map(|code| {
                        settings
                            .statutory_service(code)
                            .map_or_else(|| code.to_owned(), |s| s.name.clone())
                    })
                    .collect(),
                main_problem: c
                    .case
                    .main_problem()
                    .map(|code| settings.presenting_problem_name(code).to_owned()),
            });
        }
    }
    reports.sort_by(|a, b| {
        b.reported_on
            .cmp(&a.reported_on)
            .then_with(|| a.case_number.cmp(&b.case_number))
    });
    named.sort_by_key(|p| p.0);
    named.dedup();
    Ok((reports, named))
}
