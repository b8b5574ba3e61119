//! Changing a person's record (基本情報の変更): details, kana, address, phone, a provisional
//! name replaced by the real one, 続柄, joining and leaving a household; and the history of
//! those changes (変更の履歴), each with who, when and why.

use askama::Template;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use tsunagu_app::persons::{self, PersonCommandRequest, PersonHistoryEntry, PersonUpdate};
use tsunagu_app::rows::PersonSummary;
use tsunagu_core::person::{PersonCommand, PersonDetails, PersonEvent, PersonField};
use tsunagu_core::policy::Access;
use tsunagu_core::{HouseholdId, PersonId, wareki};

use super::case::Names;
use super::filters;
use super::person::{details_fields, person_controls, read_details, sex_label};
use super::{
    Chrome, Control, ControlKind, FieldError, Fields, Notice, PageResult, parse_id, refill_all,
    refusal_status, render, render_status, see_other,
};
use crate::AppState;
use crate::auth::Auth;
use crate::error::ApiError;
use crate::ui::Page;
use axum::http::StatusCode;

#[derive(Debug, Default, Deserialize)]
pub struct EditQuery {
    /// A name to find the household to join by.
    #[serde(default)]
    join: String,
    /// A name to find a duplicate registration by.
    #[serde(default)]
    merge: String,
}

#[derive(Template)]
#[template(path = "person_edit.html")]
struct EditPage {
    chrome: Chrome,
    id: PersonId,
    version: u64,
    name: String,
    controls: Vec<Control>,
    /// Restricted fields the caller may not see: not on the form, and kept as stored.
    redacted: Vec<&'static str>,
    notice: Option<Notice>,
    /// The other members of the person's household the caller may see.
    household: Vec<PersonSummary>,
    join: String,
    /// Persons found by `join`, in other households.
    candidates: Vec<PersonSummary>,
    household_notice: Option<Notice>,
    /// This record was merged into that person (id, name, version): the undo is on it.
    merged_into: Option<(PersonId, String, u64)>,
    /// Duplicate registrations merged into this person (id, name).
    absorbed: Vec<(PersonId, String)>,
    merge: String,
    /// Persons found by `merge`: possible duplicates of this one.
    merge_candidates: Vec<PersonSummary>,
    merge_notice: Option<Notice>,
}

fn edit_controls(redacted: &[PersonField]) -> Vec<Control> {
    let mut controls: Vec<Control> = person_controls()
        .into_iter()
        .filter(|c| !redacted.iter().any(|f| f.as_str() == c.name.as_str()))
        .collect();
    controls
        .push(Control::text("reason", "変更の理由").hint("例: 転居の届出を受けた、本名が分かった"));
    controls
}

fn redacted_labels(fields: &[PersonField]) -> Vec<&'static str> {
    fields
        .iter()
        .map(|f| match f {
            PersonField::Address => "住所",
            PersonField::Phone => "電話番号",
        })
        .collect()
}

struct EditInput<'a> {
    fields: Option<&'a Fields>,
    errors: &'a [FieldError],
    notice: Option<Notice>,
    household_notice: Option<Notice>,
    join: String,
    merge_notice: Option<Notice>,
    merge: String,
}

/// A person's name as the caller may see it, or a placeholder when they may not.
async fn name_of(app: &AppState, auth: &Auth, id: PersonId) -> (String, u64) {
    match persons::get(app, auth, id).await {
        Ok(v) => (v.details.name.as_str().to_owned(), v.version),
        Err(_) => ("（閲覧できない相談者）".to_owned(), 0),
    }
}

/// The persons found by a name, other than this one (none for no name).
async fn others_named(
    app: &AppState,
    auth: &Auth,
    name: &str,
    id: PersonId,
) -> Result<Vec<PersonSummary>, ApiError> {
    if name.trim().is_empty() {
        return Ok(Vec::new());
    }
    let found = persons::search(
        app,
        auth,
        persons::Search {
            name: Some(name.to_owned()),
            limit: Some(20),
            ..Default::default()
        },
    )
    .await?;
    Ok(found.into_iter().filter(|p| p.id != id).collect())
}

async fn edit_page(
    app: &AppState,
    auth: &Auth,
    id: PersonId,
    input: EditInput<'_>,
) -> Result<EditPage, ApiError> {
    let view = persons::get(app, auth, id).await?;
    let household = persons::household(app, auth, view.household_id)
        .await
        .map(|h| h.members)
        .unwrap_or_default()
        .into_iter()
        .filter(|m| m.id != id)
        .collect();
    let candidates = others_named(app, auth, &input.join, id)
        .await?
        .into_iter()
        .filter(|p| p.household_id != view.household_id.0)
        .collect();
    let merge_candidates = match view.merged_into {
        Some(_) => Vec::new(),
        None => others_named(app, auth, &input.merge, id).await?,
    };
    let merged_into = match view.merged_into {
        Some(into) => {
            let (name, version) = name_of(app, auth, into).await;
            Some((into, name, version))
        }
        None => None,
    };
    let mut absorbed = Vec::new();
    for a in &view.absorbed {
        absorbed.push((*a, name_of(app, auth, *a).await.0));
    }
    let stored = details_fields(&view.details);
    let fields = input.fields.unwrap_or(&stored);
    Ok(EditPage {
        chrome: Chrome::of(auth, app.clock.today()),
        id,
        version: view.version,
        name: view.details.name.as_str().to_owned(),
        controls: refill_all(edit_controls(&view.redacted), fields, input.errors),
        redacted: redacted_labels(&view.redacted),
        notice: input.notice,
        household,
        join: input.join,
        candidates,
        household_notice: input.household_notice,
        merged_into,
        absorbed,
        merge: input.merge,
        merge_candidates,
        merge_notice: input.merge_notice,
    })
}

/// 基本情報の変更: the form filled with the record as it reads now.
pub async fn edit_form(
    State(app): State<AppState>,
    Page(auth): Page,
    Path(id): Path<String>,
    Query(q): Query<EditQuery>,
) -> PageResult {
    let id: PersonId = parse_id(&id)?;
    // The form is for those who may change the record, not every reader.
    crate::access::person(&app, &auth, id, Access::Write).await?;
    let page = edit_page(
        &app,
        &auth,
        id,
        EditInput {
            fields: None,
            errors: &[],
            notice: None,
            household_notice: None,
            join: q.join,
            merge_notice: None,
            merge: q.merge,
        },
    )
    .await?;
    Ok(render(&page))
}

/// Saves the details (`action` = details), or moves the person into the household of another
/// (`join_household` with `household_id`) or into one of their own (`leave_household`).
pub async fn edit_submit(
    State(app): State<AppState>,
    Page(auth): Page,
    Path(id): Path<String>,
    axum::Form(fields): axum::Form<Vec<(String, String)>>,
) -> PageResult {
    let id: PersonId = parse_id(&id)?;
    crate::access::person(&app, &auth, id, Access::Write).await?;
    let f = Fields(fields);
    let action = f.get("action").unwrap_or("details").to_owned();
    if action == "join_household" || action == "leave_household" {
        let household_id = match action.as_str() {
            "join_household" => match f.get("household_id").map(str::parse::<HouseholdId>) {
                Some(Ok(h)) => Some(h),
                _ => {
                    let notice = Notice {
                        heading: "移せませんでした。",
                        message: "加わる世帯を選んでください。".to_owned(),
                        code: "request.invalid_field".to_owned(),
                        ..Notice::default()
                    };
                    return refused(
                        &app,
                        &auth,
                        id,
                        &f,
                        &[],
                        None,
                        Some(notice),
                        StatusCode::UNPROCESSABLE_ENTITY,
                    )
                    .await;
                }
            },
            _ => None,
        };
        let req = PersonCommandRequest {
            expected_version: f.version(),
            reason: f.get("reason").map(str::to_owned),
            command: PersonCommand::MoveToHousehold { household_id },
        };
        return match persons::command(&app, &auth, id, req)
            .await
            .map_err(ApiError::from)
        {
            Ok(_) => Ok(see_other(&format!("/persons/{id}?saved=household"))),
            Err(e) if e.status.is_client_error() && !e.is_not_found() => {
                let mut notice = Notice::from_api(&e);
                notice.heading = "移せませんでした。";
                notice.back = format!("/persons/{id}/edit");
                let status = refusal_status(&e);
                refused(&app, &auth, id, &f, &[], None, Some(notice), status).await
            }
            Err(e) => Err(e.into()),
        };
    }
    let details: PersonDetails = match read_details(&f) {
        Ok(d) => d,
        Err(errors) => {
            let notice = Notice::from_fields(&errors);
            return refused(
                &app,
                &auth,
                id,
                &f,
                &errors,
                Some(notice),
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let req = PersonUpdate {
        expected_version: f.version(),
        details,
        reason: f.get("reason").map(str::to_owned),
    };
    match persons::update(&app, &auth, id, req)
        .await
        .map_err(ApiError::from)
    {
        Ok(_) => Ok(see_other(&format!("/persons/{id}?saved=details"))),
        Err(e) if e.status.is_client_error() && !e.is_not_found() => {
            let mut notice = Notice::from_api(&e);
            notice.back = format!("/persons/{id}/edit");
            let status = refusal_status(&e);
            refused(&app, &auth, id, &f, &[], Some(notice), None, status).await
        }
        Err(e) => Err(e.into()),
    }
}

#[allow(clippy::too_many_arguments)]
async fn refused(
    app: &AppState,
    auth: &Auth,
    id: PersonId,
    f: &Fields,
    errors: &[FieldError],
    notice: Option<Notice>,
    household_notice: Option<Notice>,
    status: StatusCode,
) -> PageResult {
    // The details form keeps what was typed; a refused household move shows the record as stored.
    let typed = household_notice.is_none();
    let page = edit_page(
        app,
        auth,
        id,
        EditInput {
            fields: typed.then_some(f),
            errors,
            notice,
            household_notice,
            join: String::new(),
            merge_notice: None,
            merge: String::new(),
        },
    )
    .await?;
    Ok(render_status(status, &page))
}

/// 重複登録の統合: merges the chosen registration (`duplicate`) into this person.
pub async fn merge(
    State(app): State<AppState>,
    Page(auth): Page,
    Path(id): Path<String>,
    axum::Form(fields): axum::Form<Vec<(String, String)>>,
) -> PageResult {
    merge_or_undo(app, auth, id, Fields(fields), true).await
}

/// Undoes the merge of `duplicate` into this person.
pub async fn unmerge(
    State(app): State<AppState>,
    Page(auth): Page,
    Path(id): Path<String>,
    axum::Form(fields): axum::Form<Vec<(String, String)>>,
) -> PageResult {
    merge_or_undo(app, auth, id, Fields(fields), false).await
}

async fn merge_or_undo(
    app: AppState,
    auth: Auth,
    id: String,
    f: Fields,
    merge: bool,
) -> PageResult {
    let id: PersonId = parse_id(&id)?;
    crate::access::person(&app, &auth, id, Access::Write).await?;
    let heading = if merge {
        "統合できませんでした。"
    } else {
        "取り消せませんでした。"
    };
    // The page the form was on: a refusal is shown there.
    let shown_on = f
        .get("from")
        .and_then(|v| v.parse::<PersonId>().ok())
        .unwrap_or(id);
    let duplicate = f.get("duplicate").and_then(|v| v.parse::<PersonId>().ok());
    let reason = f.long(
        "reason",
        if merge {
            "統合の理由"
        } else {
            "取り消しの理由"
        },
    );
    let result = match (duplicate, reason) {
        (Some(duplicate), Ok(reason)) => {
            let req = persons::MergeRequest {
                expected_version: f.version(),
                duplicate,
                reason,
            };
            let done = if merge {
                persons::merge(&app, &auth, id, req).await
            } else {
                persons::unmerge(&app, &auth, id, req).await
            };
            done.map(|_| ()).map_err(ApiError::from)
        }
        (None, _) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "request.invalid_field",
            "統合する相談者を選んでください。",
        )),
        (_, Err(e)) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "request.invalid_field",
            e.message,
        )),
    };
    match result {
        Ok(()) => Ok(see_other(&format!(
            "/persons/{shown_on}?saved={}",
            if merge { "merged" } else { "unmerged" }
        ))),
        Err(e) if e.status.is_client_error() && !e.is_not_found() => {
            let mut notice = Notice::from_api(&e);
            notice.heading = heading;
            notice.back = format!("/persons/{shown_on}/edit");
            let page = edit_page(
                &app,
                &auth,
                shown_on,
                EditInput {
                    fields: None,
                    errors: &[],
                    notice: None,
                    household_notice: None,
                    join: String::new(),
                    merge_notice: Some(notice),
                    merge: String::new(),
                },
            )
            .await?;
            Ok(render_status(refusal_status(&e), &page))
        }
        Err(e) => Err(e.into()),
    }
}

/// One change in a person's history as the page shows it.
pub struct HistoryRow {
    pub at: String,
    pub by: String,
    pub what: &'static str,
    /// 項目: before → after (details), or what was recorded.
    pub changes: Vec<(String, String, String)>,
    pub reason: Option<String>,
}

#[derive(Template)]
#[template(path = "person_history.html")]
struct HistoryPage {
    chrome: Chrome,
    id: PersonId,
    name: String,
    rows: Vec<HistoryRow>,
}

fn detail_pairs(d: &PersonDetails) -> Vec<(&'static str, String)> {
    let text = |v: &Option<tsunagu_core::ShortText>| {
        v.as_ref()
            .map_or_else(|| "—".to_owned(), |t| t.as_str().to_owned())
    };
    vec![
        ("氏名", d.name.as_str().to_owned()),
        (
            "仮の名前",
            if d.name_is_provisional {
                "はい"
            } else {
                "いいえ"
            }
            .to_owned(),
        ),
        ("ふりがな", text(&d.kana)),
        (
            "生年月日",
            d.date_of_birth
                .map_or_else(|| "—".to_owned(), wareki::format),
        ),
        ("性別", d.sex.map_or("—", sex_label).to_owned()),
        ("郵便番号", text(&d.postal_code)),
        ("住所", text(&d.address)),
        ("電話番号", text(&d.phone)),
        ("携帯電話", text(&d.mobile)),
        ("メールアドレス", text(&d.email)),
        ("続柄", text(&d.relationship)),
    ]
}

/// A person's record as the history names it: 「相談者 ID …9f3c2a71」, the random end of the
/// id (the start of a UUIDv7 is its time, shared by records made within a minute).
fn short_id(id: uuid::Uuid) -> String {
    let hex = id.simple().to_string();
    format!("相談者 ID …{}", &hex[hex.len() - 8..])
}

/// The history rows, oldest first, each details change as the fields it changed.
pub(crate) fn history_rows(entries: &[PersonHistoryEntry], names: &Names) -> Vec<HistoryRow> {
    let mut before: Option<PersonDetails> = None;
    let mut rows = Vec::with_capacity(entries.len());
    for e in entries {
        let (what, changes) = match &e.event {
            PersonEvent::PersonRegistered {
                details,
                imported_from,
                ..
            } => {
                before = Some(details.clone());
                let mut changes: Vec<(String, String, String)> = detail_pairs(details)
                    .into_iter()
                    .filter(|(_, v)| v != "—" && v != "いいえ")
                    .map(|(k, v)| (k.to_owned(), String::new(), v))
                    .collect();
                if let Some(source) = imported_from {
                    changes.push((
                        "取り込み元".to_owned(),
                        String::new(),
                        super::case::imported_from_text(source),
                    ));
                }
                ("登録", changes)
            }
            PersonEvent::DetailsChanged { details } => {
                let old = before.as_ref().map(detail_pairs).unwrap_or_default();
                let changes = detail_pairs(details)
                    .into_iter()
                    .filter(|(k, v)| !old.iter().any(|(ok, ov)| ok == k && ov == v))
                    .map(|(k, v)| {
                        let was = old
                            .iter()
                            .find(|(ok, _)| *ok == k)
                            .map(|(_, ov)| ov.clone())
                            .unwrap_or_default();
                        (k.to_owned(), was, v)
                    })
                    .collect();
                before = Some(details.clone());
                ("基本情報の変更", changes)
            }
            PersonEvent::MovedToHousehold { .. } => ("世帯の移動", Vec::new()),
            PersonEvent::ConsentRecorded { consent } => (
                "同意の記録",
                vec![(
                    "共有先".to_owned(),
                    String::new(),
                    super::person::org_names(&names.orgs, &consent.organisations),
                )],
            ),
            PersonEvent::ConsentWithdrawn { withdrawn_on, .. } => (
                "同意の撤回",
                vec![(
                    "撤回日".to_owned(),
                    String::new(),
                    wareki::format(*withdrawn_on),
                )],
            ),
            PersonEvent::FieldsRestricted { fields, .. } => (
                if fields.is_empty() {
                    "閲覧制限の解除"
                } else {
                    "閲覧制限の設定"
                },
                Vec::new(),
            ),
            PersonEvent::MergedInto { into, .. } => (
                "重複登録の統合（この記録を統合先へ）",
                vec![("統合先".to_owned(), String::new(), short_id(into.0))],
            ),
            PersonEvent::Absorbed { from, .. } => (
                "重複登録の統合（この記録へ）",
                vec![("統合した記録".to_owned(), String::new(), short_id(from.0))],
            ),
            PersonEvent::MergeUndone { into, .. } => (
                "統合の取り消し",
                vec![(
                    "統合先だった記録".to_owned(),
                    short_id(into.0),
                    String::new(),
                )],
            ),
            PersonEvent::AbsorptionUndone { from, .. } => (
                "統合の取り消し",
                vec![(
                    "統合されていた記録".to_owned(),
                    short_id(from.0),
                    String::new(),
                )],
            ),
        };
        rows.push(HistoryRow {
            at: super::stamp(e.recorded_at),
            by: format!(
                "{}（{}）",
                names.user(e.actor.user_id),
                names.org(e.actor.org_id)
            ),
            what,
            changes,
            reason: e.reason.clone(),
        });
    }
    rows
}

/// 変更の履歴: every change to the person's record, newest first.
pub async fn history(
    State(app): State<AppState>,
    Page(auth): Page,
    Path(id): Path<String>,
) -> PageResult {
    let id: PersonId = parse_id(&id)?;
    let entries = persons::history(&app, &auth, id).await?;
    let name = entries
        .iter()
        .rev()
        .find_map(|e| match &e.event {
            PersonEvent::PersonRegistered { details, .. }
            | PersonEvent::DetailsChanged { details } => Some(details.name.as_str().to_owned()),
            _ => None,
        })
        .unwrap_or_default();
    let names = Names::of_users(&app, &auth, entries.iter().map(|e| e.actor.user_id)).await?;
    let mut rows = history_rows(&entries, &names);
    rows.reverse();
    Ok(render(&HistoryPage {
        chrome: Chrome::of(&auth, app.clock.today()),
        id,
        name,
        rows,
    }))
}
