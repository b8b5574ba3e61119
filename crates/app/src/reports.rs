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

/// The plans reported in a period (approved from `from` to `until`), newest first.
pub async fn received(
    app: &App,
    caller: &Caller,
    from: Date,
    until: Date,
) -> Result<Vec<PlanReport>> {
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
    app.store
        .audit(&[caller
            .audit("plan_reports.read")
            .subjects(named)
            .detail(format!("{from}..{until} reports={}", reports.len()))])
        .await?;
    Ok(reports)
}
