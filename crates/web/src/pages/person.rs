//! Person search (kanji, kana, date of birth, phone), registration, the person page (household,
//! every case, consent) and consent entry.

use askama::Template;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use tsunagu_app::rows::{CaseSummary, Organisation, PersonSummary};
use tsunagu_core::person::{Consent, PersonCommand, PersonDetails, Sex};
use tsunagu_core::{ConsentId, OrgId, PersonId, wareki};

use super::filters;
use super::{
    Chrome, Control, ControlKind, FieldError, FieldResult, Fields, Notice, PageError, PageResult,
    field_error, field_errors, laid_out, parse_id, refill, refill_all, refusal_status, render,
    render_status, see_other,
};
use crate::AppState;
use crate::api::{PersonCommandRequest, PersonCreate};
use crate::error::ApiError;
use crate::ui::Page;
use tsunagu_app::persons;

#[derive(Debug, Default, Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    dob: String,
    #[serde(default)]
    phone: String,
}

#[derive(Template)]
#[template(path = "persons.html")]
struct SearchPage {
    chrome: Chrome,
    q: String,
    dob: String,
    phone: String,
    searched: bool,
    error: Option<String>,
    results: Vec<PersonSummary>,
}

/// 相談者の検索: name or kana (part), date of birth (和暦 or ISO), phone.
pub async fn search(
    State(app): State<AppState>,
    Page(auth): Page,
    Query(q): Query<SearchQuery>,
) -> PageResult {
    let chrome = Chrome::of(&auth, app.clock.today());
    let searched = [&q.q, &q.dob, &q.phone]
        .iter()
        .any(|v| !v.trim().is_empty());
    let mut page = SearchPage {
        chrome,
        q: q.q.clone(),
        dob: q.dob.clone(),
        phone: q.phone.clone(),
        searched,
        error: None,
        results: Vec::new(),
    };
    crate::access::work_cases(&auth)?;
    if !searched {
        return Ok(render(&page));
    }
    let dob = match q.dob.trim() {
        "" => None,
        raw => match wareki::read(raw) {
            Ok(d) => Some(d),
            Err(problem) => {
                page.error = Some(match problem {
                    wareki::DateProblem::MissingEra => problem.message("生年月日"),
                    wareki::DateProblem::Unreadable => "生年月日は「昭和50年4月1日」「1975-04-01」「19750401」のいずれかの形で入力してください（年は元号を付けるか4桁で）。".into(),
                });
                return Ok(render_status(
                    axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                    &page,
                ));
            }
        },
    };
    let query = persons::Search {
        name: Some(q.q.trim().to_owned()).filter(|s| !s.is_empty()),
        date_of_birth: dob,
        phone: Some(q.phone.trim().to_owned()).filter(|s| !s.is_empty()),
        limit: Some(50),
    };
    page.results = persons::search(&app, &auth, query).await?;
    Ok(render(&page))
}

#[derive(Debug, Default, Deserialize)]
pub struct RecordsQuery {
    #[serde(default)]
    q: String,
}

/// A record found, as the search page shows it.
pub struct RecordLine {
    pub on: Option<jiff::civil::Date>,
    pub kind: &'static str,
    /// The fragment in pieces, each marked when it matched.
    pub pieces: Vec<(String, bool)>,
}

pub struct CaseFound {
    pub case: tsunagu_app::rows::CaseListRow,
    pub number: String,
    pub records: Vec<RecordLine>,
}

#[derive(Template)]
#[template(path = "search.html")]
struct RecordsPage {
    chrome: Chrome,
    q: String,
    searched: bool,
    error: Option<String>,
    found: Vec<CaseFound>,
    more: bool,
    /// The query of the results' files (`q=…`, encoded).
    files: String,
}

/// A fragment cut at its marks.
fn pieces(fragment: &str, marks: &[(usize, usize)]) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let mut at = 0;
    for &(a, b) in marks {
        let (Some(before), Some(marked)) = (fragment.get(at..a), fragment.get(a..b)) else {
            continue;
        };
        if !before.is_empty() {
            out.push((before.to_owned(), false));
        }
        out.push((marked.to_owned(), true));
        at = b;
    }
    if let Some(rest) = fragment.get(at..)
        && !rest.is_empty()
    {
        out.push((rest.to_owned(), false));
    }
    out
}

/// 記録の検索: full-text over the case records the caller may read.
pub async fn search_records(
    State(app): State<AppState>,
    Page(auth): Page,
    Query(q): Query<RecordsQuery>,
) -> PageResult {
    crate::access::work_cases(&auth)?;
    let mut page = RecordsPage {
        chrome: Chrome::of(&auth, app.clock.today()),
        q: q.q.clone(),
        searched: !q.q.trim().is_empty(),
        error: None,
        found: Vec::new(),
        more: false,
        files: form_urlencoded::Serializer::new(String::new())
            .append_pair("q", q.q.trim())
            .finish(),
    };
    if !page.searched {
        return Ok(render(&page));
    }
    match tsunagu_app::search::records(&app, &auth, &q.q).await {
        Ok(results) => {
            page.more = results.more;
            page.found = results
                .cases
                .into_iter()
                .map(|c| CaseFound {
                    number: c
                        .case
                        .case_number
                        .map_or_else(|| "番号なし".to_owned(), |n| n.label()),
                    records: c
                        .records
                        .iter()
                        .map(|r| RecordLine {
                            on: r.on,
                            kind: tsunagu_app::search::record_kind_label(&r.kind),
                            pieces: pieces(&r.fragment, &r.marks),
                        })
                        .collect(),
                    case: c.case,
                })
                .collect();
            Ok(render(&page))
        }
        Err(e) if e.kind == tsunagu_app::Kind::Invalid => {
            page.error = Some(e.message.clone());
            Ok(render_status(
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                &page,
            ))
        }
        Err(e) => Err(e.into()),
    }
}

/// The search's results as a file for Excel (`.csv`, `.xlsx`), a row a record found.
pub async fn search_records_file(
    State(app): State<AppState>,
    Page(auth): Page,
    crate::extract::FileKind(format): crate::extract::FileKind,
    Query(q): Query<RecordsQuery>,
) -> Result<axum::response::Response, super::PageError> {
    let bytes = tsunagu_app::search::export_file(&app, &auth, &q.q, format).await?;
    let day = app.clock.today();
    Ok(super::download(format, &format!("search-{day}"), bytes))
}

fn sex_options() -> [(&'static str, &'static str); 4] {
    [
        ("female", "女性"),
        ("male", "男性"),
        ("other", "その他"),
        ("not_stated", "回答しない"),
    ]
}

pub(super) fn sex_label(s: Sex) -> &'static str {
    match s {
        Sex::Female => "女性",
        Sex::Male => "男性",
        Sex::Other => "その他",
        Sex::NotStated => "回答しない",
    }
}

pub(super) fn person_controls() -> Vec<Control> {
    vec![
        Control::text("name", "氏名").required(),
        Control::check("name_is_provisional", "仮の名前（氏名が分からないとき）"),
        Control::text("kana", "ふりがな"),
        Control::date("date_of_birth", "生年月日").hint("例: 昭和50年4月1日 または 1975-04-01"),
        Control::select("sex", "性別", sex_options()),
        Control::text("postal_code", "郵便番号").hint("例: 100-0001"),
        Control::text("address", "住所"),
        Control::text("phone", "電話番号"),
        Control::text("mobile", "携帯電話"),
        Control::text("email", "メールアドレス").hint("例: name@example.jp"),
        Control::text("relationship", "続柄（世帯主との関係）").hint("例: 世帯主、妻、長男、母"),
    ]
}

/// The details typed into the person form; every mistake at once.
pub(super) fn read_details(f: &Fields) -> Result<PersonDetails, Vec<FieldError>> {
    let name = f.short("name", "氏名");
    let kana = f.opt_short("kana", "ふりがな");
    let date_of_birth = f.opt_date("date_of_birth", "生年月日");
    let sex = match f.get("sex") {
        None => Ok(None),
        Some(_) => f
            .choice("sex", "性別", |v| {
                serde_json::from_value(serde_json::Value::String(v.to_owned())).ok()
            })
            .map(Some),
    };
    let address = f.opt_short("address", "住所");
    let phone = f.opt_short("phone", "電話番号");
    let relationship = f.opt_short("relationship", "続柄");
    // Written as the sheet writes it, then checked beside the field (core checks again).
    let postal_code = f.opt_short("postal_code", "郵便番号").and_then(|p| {
        p.map(|p| {
            tsunagu_core::person::postal_code(p.as_str())
                .and_then(|n| tsunagu_core::ShortText::parse(&n).ok())
                .ok_or_else(|| {
                    field_error(
                        "postal_code",
                        "郵便番号は7桁の数字で入力してください（例: 100-0001）。",
                    )
                })
        })
        .transpose()
    });
    let mobile = f.opt_short("mobile", "携帯電話");
    let email = f
        .opt_short("email", "メールアドレス")
        .and_then(|e| match e {
            Some(e) if !tsunagu_core::person::email_ok(e.as_str()) => Err(field_error(
                "email",
                "メールアドレスの形が正しくありません（例: name@example.jp）。",
            )),
            e => Ok(e),
        });
    let errors = field_errors(&[
        name.as_ref().err(),
        kana.as_ref().err(),
        date_of_birth.as_ref().err(),
        sex.as_ref().err(),
        postal_code.as_ref().err(),
        address.as_ref().err(),
        phone.as_ref().err(),
        mobile.as_ref().err(),
        email.as_ref().err(),
        relationship.as_ref().err(),
    ]);
    let all = |e| vec![e];
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(PersonDetails {
        name: name.map_err(all)?,
        name_is_provisional: f.checked("name_is_provisional"),
        kana: kana.map_err(all)?,
        date_of_birth: date_of_birth.map_err(all)?,
        sex: sex.map_err(all)?,
        address: address.map_err(all)?,
        phone: phone.map_err(all)?,
        relationship: relationship.map_err(all)?,
        postal_code: postal_code.map_err(all)?,
        mobile: mobile.map_err(all)?,
        email: email.map_err(all)?,
    })
}

/// The form's fields as the stored details fill them (the edit form).
pub(super) fn details_fields(d: &PersonDetails) -> Fields {
    let mut f = vec![("name".to_owned(), d.name.as_str().to_owned())];
    if d.name_is_provisional {
        f.push(("name_is_provisional".to_owned(), "1".to_owned()));
    }
    let text = |v: &Option<tsunagu_core::ShortText>| v.as_ref().map(|t| t.as_str().to_owned());
    let values = [
        ("kana", text(&d.kana)),
        ("date_of_birth", d.date_of_birth.map(wareki::format)),
        (
            "sex",
            d.sex
                .and_then(|s| serde_json::to_value(s).ok())
                .and_then(|v| v.as_str().map(str::to_owned)),
        ),
        ("postal_code", text(&d.postal_code)),
        ("address", text(&d.address)),
        ("phone", text(&d.phone)),
        ("mobile", text(&d.mobile)),
        ("email", text(&d.email)),
        ("relationship", text(&d.relationship)),
    ];
    f.extend(
        values
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v))),
    );
    Fields(f)
}

#[derive(Template)]
#[template(path = "person_new.html")]
struct NewPersonPage {
    chrome: Chrome,
    controls: Vec<Control>,
    notice: Option<Notice>,
    /// Persons already registered who are likely the same person (asked before registering).
    duplicates: Vec<PersonSummary>,
}

pub async fn new_form(State(app): State<AppState>, Page(auth): Page) -> PageResult {
    crate::access::work_cases(&auth)?;
    Ok(render(&NewPersonPage {
        chrome: Chrome::of(&auth, app.clock.today()),
        controls: laid_out(person_controls()),
        notice: None,
        duplicates: Vec::new(),
    }))
}

pub async fn create(
    State(app): State<AppState>,
    Page(auth): Page,
    axum::Form(fields): axum::Form<Vec<(String, String)>>,
) -> PageResult {
    let f = Fields(fields);
    let chrome = Chrome::of(&auth, app.clock.today());
    let again = |errors: &[FieldError], notice: Notice, status| {
        render_status(
            status,
            &NewPersonPage {
                chrome: chrome.clone(),
                controls: refill_all(person_controls(), &f, errors),
                notice: Some(notice),
                duplicates: Vec::new(),
            },
        )
    };
    let details = match read_details(&f) {
        Ok(d) => d,
        Err(errors) => {
            return Ok(again(
                &errors,
                Notice::from_fields(&errors),
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            ));
        }
    };
    // Likely the same person as one already registered: shown before anything is registered;
    // registering anyway needs the box ticked.
    if !f.checked("confirm_new") {
        let duplicates = persons::likely_duplicates(&app, &auth, &details).await?;
        if !duplicates.is_empty() {
            return Ok(render_status(
                axum::http::StatusCode::CONFLICT,
                &NewPersonPage {
                    chrome: chrome.clone(),
                    controls: refill(person_controls(), &f, None),
                    notice: None,
                    duplicates,
                },
            ));
        }
    }
    let req = PersonCreate {
        details,
        household_id: None,
    };
    match persons::register(&app, &auth, req, None)
        .await
        .map_err(ApiError::from)
    {
        Ok(created) => Ok(see_other(&format!("/persons/{}", created.id))),
        Err(e) if e.status.is_client_error() && !e.is_not_found() => {
            Ok(again(&[], Notice::from_api(&e), refusal_status(&e)))
        }
        Err(e) => Err(e.into()),
    }
}

pub struct ConsentRow {
    pub id: ConsentId,
    pub organisations: String,
    pub purpose: String,
    pub given_on: jiff::civil::Date,
    pub valid_until: Option<jiff::civil::Date>,
    pub written: bool,
    pub withdrawn_on: Option<jiff::civil::Date>,
    pub in_force: bool,
}

pub struct CaseRow {
    pub case: CaseSummary,
    pub stage_label: &'static str,
    pub fiscal_year: String,
}

#[derive(Template)]
#[template(path = "person.html")]
struct PersonPage {
    chrome: Chrome,
    id: PersonId,
    version: u64,
    details: PersonDetails,
    sex: &'static str,
    redacted: Vec<&'static str>,
    household: Vec<PersonSummary>,
    cases: Vec<CaseRow>,
    consents: Vec<ConsentRow>,
    consent_controls: Vec<Control>,
    notice: Option<Notice>,
    /// What was just saved (after the edit page), announced.
    saved: Option<&'static str>,
    /// This record was merged into that person (a duplicate registration).
    merged_into: Option<PersonId>,
    /// How many duplicate registrations were merged into this person.
    absorbed: usize,
    /// Lead workers: the disclosure (開示請求) of the person's records.
    may_disclose: bool,
}

pub(crate) fn org_names(orgs: &[Organisation], ids: &[OrgId]) -> String {
    ids.iter()
        .map(|id| {
            orgs.iter()
                .find(|o| o.id == *id)
                .map_or("（不明な機関）", |o| o.name.as_str())
                .to_owned()
        })
        .collect::<Vec<_>>()
        .join("、")
}

pub(crate) fn consent_rows(
    orgs: &[Organisation],
    consents: &[Consent],
    today: jiff::civil::Date,
) -> Vec<ConsentRow> {
    consents
        .iter()
        .map(|c| ConsentRow {
            id: c.id,
            organisations: org_names(orgs, &c.organisations),
            purpose: c.purpose.as_str().to_owned(),
            given_on: c.given_on,
            valid_until: c.valid_until,
            written: c.written_form_received,
            withdrawn_on: c.withdrawn_on,
            in_force: c.in_force(today),
        })
        .collect()
}

fn consent_controls(orgs: &[Organisation], own: OrgId) -> Vec<Control> {
    let options: Vec<(String, &str)> = orgs
        .iter()
        .filter(|o| o.id != own)
        .map(|o| (o.id.to_string(), o.name.as_str()))
        .collect();
    vec![
        Control::checks("organisations", "情報を共有する機関", options).required(),
        Control::text("purpose", "目的").required(),
        Control::date("given_on", "同意日").required(),
        Control::date("valid_until", "有効期限"),
        Control::check("written_form_received", "同意書（署名）を受け取った"),
    ]
}

async fn person_page(
    app: &AppState,
    auth: crate::auth::Auth,
    id: PersonId,
    form: Option<(&Fields, Option<&FieldError>)>,
    notice: Option<Notice>,
) -> Result<PersonPage, crate::error::ApiError> {
    let today = app.clock.today();
    let chrome = Chrome::of(&auth, today);
    let view = persons::get(app, &auth, id).await?;
    let household = persons::household(app, &auth, view.household_id)
        .await
        .map(|h| h.members)
        .unwrap_or_default();
    let orgs = tsunagu_app::admin::organisations(app, &auth).await?;
    let controls = consent_controls(&orgs, auth.actor.org_id);
    let controls = match form {
        Some((f, e)) => refill(controls, f, e),
        None => laid_out(
            controls
                .into_iter()
                .map(|c| {
                    if c.name == "given_on" {
                        c.today(today)
                    } else {
                        c
                    }
                })
                .collect(),
        ),
    };
    Ok(PersonPage {
        may_disclose: tsunagu_core::policy::disclose(&auth.actor),
        chrome,
        id,
        version: view.version,
        sex: view.details.sex.map_or("—", sex_label),
        redacted: view
            .redacted
            .iter()
            .map(|f| match f.as_str() {
                "address" => "住所",
                "phone" => "電話番号",
                other => {
                    if other.is_empty() {
                        ""
                    } else {
                        "項目"
                    }
                }
            })
            .collect(),
        merged_into: view.merged_into,
        absorbed: view.absorbed.len(),
        details: view.details,
        household: household.into_iter().filter(|m| m.id != id).collect(),
        cases: view
            .cases
            .into_iter()
            .map(|c| CaseRow {
                stage_label: c.stage.label_ja(),
                fiscal_year: wareki::fiscal_year_label(c.opened_on),
                case: c,
            })
            .collect(),
        consents: consent_rows(&orgs, &view.consents, today),
        consent_controls: controls,
        notice,
        saved: None,
    })
}

#[derive(Debug, Default, Deserialize)]
pub struct ShowQuery {
    #[serde(default)]
    saved: String,
}

pub async fn show(
    State(app): State<AppState>,
    Page(auth): Page,
    Path(id): Path<String>,
    Query(q): Query<ShowQuery>,
) -> PageResult {
    let id: PersonId = parse_id(&id)?;
    let mut page = person_page(&app, auth, id, None, None).await?;
    page.saved = match q.saved.as_str() {
        "details" => Some("基本情報の変更を保存しました。"),
        "household" => Some("世帯を移しました。"),
        "merged" => Some("二重に登録された記録をこの方に統合しました。"),
        "unmerged" => Some("統合を取り消しました。"),
        _ => None,
    };
    Ok(render(&page))
}

/// Consent entry and withdrawal on the person page (`action` = record_consent | withdraw_consent).
pub async fn command(
    State(app): State<AppState>,
    Page(auth): Page,
    Path(id): Path<String>,
    axum::Form(fields): axum::Form<Vec<(String, String)>>,
) -> PageResult {
    let id: PersonId = parse_id(&id)?;
    crate::access::person(&app, &auth, id, tsunagu_core::policy::Access::Write).await?;
    let f = Fields(fields);
    let command = match f.get("action") {
        Some("withdraw_consent") => (|| -> FieldResult<PersonCommand> {
            Ok(PersonCommand::WithdrawConsent {
                consent_id: f.id("consent_id", "撤回する同意を選んでください。")?,
                withdrawn_on: f.date("withdrawn_on", "撤回日")?,
            })
        })(),
        _ => (|| -> FieldResult<PersonCommand> {
            let organisations = f
                .all("organisations")
                .into_iter()
                .filter_map(|v| v.parse().ok())
                .collect();
            Ok(PersonCommand::RecordConsent {
                organisations,
                purpose: f.short("purpose", "目的")?,
                given_on: f.date("given_on", "同意日")?,
                valid_until: f.opt_date("valid_until", "有効期限")?,
                written_form_received: f.checked("written_form_received"),
            })
        })(),
    };
    let refused = |auth, error: Option<FieldError>, notice: Notice, status| {
        let app = app.clone();
        let f = f.clone();
        async move {
            let page =
                person_page(&app, auth, id, Some((&f, error.as_ref())), Some(notice)).await?;
            Ok::<_, PageError>(render_status(status, &page))
        }
    };
    let command = match command {
        Ok(c) => c,
        Err(e) => {
            return refused(
                auth,
                Some(e.clone()),
                Notice::from_field(&e),
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let req = PersonCommandRequest {
        expected_version: f.version(),
        reason: None,
        command,
    };
    match persons::command(&app, &auth, id, req)
        .await
        .map_err(ApiError::from)
    {
        Ok(_) => Ok(see_other(&format!("/persons/{id}#consents"))),
        Err(e) if e.status.is_client_error() && !e.is_not_found() => {
            let mut notice = Notice::from_api(&e);
            notice.back = format!("/persons/{id}");
            refused(auth, None, notice, refusal_status(&e)).await
        }
        Err(e) => Err(e.into()),
    }
}
