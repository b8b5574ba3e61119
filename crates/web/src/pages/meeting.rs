//! Meetings (支援調整会議, 支援会議, 担当者会議): the list with scheduling, and the meeting page
//! with attendees, the agenda of cases, minutes, a conclusion per case, and closing.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use tsunagu_app::rows::MeetingSummary;
use tsunagu_core::case::CaseConclusion;
use tsunagu_core::meeting::{
    AgendaPurpose, MeetingCommand, MeetingKind, MeetingState, ScheduleMeeting,
};
use tsunagu_core::policy::Access;
use tsunagu_core::{CaseId, MeetingId, wareki};

use super::case::Names;
use super::filters;
use super::{
    Chrome, Control, ControlKind, FieldError, FieldResult, Fields, Notice, PageResult, field_error,
    laid_out, parse_id, refill, refusal_status, render, render_status, see_other,
};
use crate::api::MeetingCommandRequest;
use crate::auth::Auth;
use crate::error::ApiError;
use crate::ui::Page;
use crate::{AppState, access};
use tsunagu_app::meetings;

fn schedule_controls() -> Vec<Control> {
    vec![
        Control::radio(
            "kind",
            "会議の種類",
            MeetingKind::ALL.iter().map(|k| (k.as_str(), k.label_ja())),
        )
        .required(),
        Control::text("title", "会議名").required(),
        Control::date("scheduled_on", "開催日").required(),
    ]
}

#[derive(Template)]
#[template(path = "meetings.html")]
struct MeetingsPage {
    chrome: Chrome,
    meetings: Vec<MeetingSummary>,
    controls: Vec<Control>,
    notice: Option<Notice>,
}

async fn meetings_page(
    app: &AppState,
    auth: &Auth,
    controls: Vec<Control>,
    notice: Option<Notice>,
) -> Result<MeetingsPage, ApiError> {
    let meetings = meetings::list(app, auth, None).await?;
    Ok(MeetingsPage {
        chrome: Chrome::of(auth, app.clock.today()),
        meetings,
        controls,
        notice,
    })
}

pub async fn list(State(app): State<AppState>, Page(auth): Page) -> PageResult {
    let today = app.clock.today();
    let controls = refill(
        schedule_controls(),
        &Fields(vec![
            ("kind".into(), "coordination_meeting".into()),
            ("scheduled_on".into(), wareki::format(today)),
        ]),
        None,
    );
    Ok(render(&meetings_page(&app, &auth, controls, None).await?))
}

/// The meetings of the list as a file for Excel (`.csv`, `.xlsx`).
pub async fn export(
    State(app): State<AppState>,
    Page(auth): Page,
    crate::extract::FileKind(format): crate::extract::FileKind,
) -> Result<axum::response::Response, super::PageError> {
    let bytes = meetings::export_file(&app, &auth, None, format).await?;
    let day = app.clock.today();
    Ok(super::download(format, &format!("meetings-{day}"), bytes))
}

pub async fn create(
    State(app): State<AppState>,
    Page(auth): Page,
    axum::Form(fields): axum::Form<Vec<(String, String)>>,
) -> PageResult {
    let f = Fields(fields);
    let read = || -> FieldResult<ScheduleMeeting> {
        Ok(ScheduleMeeting {
            kind: f.choice("kind", "会議の種類", MeetingKind::parse)?,
            title: f.short("title", "会議名")?,
            scheduled_on: f.date("scheduled_on", "開催日")?,
        })
    };
    let (error, notice, status) = match read() {
        Ok(req) => {
            match meetings::schedule(&app, &auth, req, None)
                .await
                .map_err(ApiError::from)
            {
                Ok(created) => return Ok(see_other(&format!("/meetings/{}", created.id))),
                Err(e) if e.status.is_client_error() && !e.is_not_found() => {
                    (None, Notice::from_api(&e), refusal_status(&e))
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(e) => (
            Some(e.clone()),
            Notice::from_field(&e),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    };
    let controls = refill(schedule_controls(), &f, error.as_ref());
    Ok(render_status(
        status,
        &meetings_page(&app, &auth, controls, Some(notice)).await?,
    ))
}

pub struct AgendaRow {
    pub case_id: CaseId,
    pub person_name: Option<String>,
    pub purpose: &'static str,
    pub conclusions: Vec<String>,
    /// The conclusion form of this case (ids unique per case).
    pub controls: Vec<Control>,
    /// The form was just sent and refused: shown open even under recorded conclusions.
    pub refused: bool,
}

#[derive(Template)]
#[template(path = "meeting.html")]
struct MeetingPage {
    chrome: Chrome,
    id: MeetingId,
    version: u64,
    state: MeetingState,
    kind_label: &'static str,
    convenor: String,
    attendees: Vec<String>,
    agenda: Vec<AgendaRow>,
    attendee_controls: Vec<Control>,
    agenda_controls: Vec<Control>,
    minutes_controls: Vec<Control>,
    close_controls: Vec<Control>,
    notice: Option<Notice>,
    /// 予定, 本日開催, 開催済み or 終了, by the meeting day and whether it was closed.
    status: String,
}

/// Where the meeting stands: closed, to come, today, or held and not yet closed.
fn meeting_status(state: &MeetingState, today: jiff::civil::Date) -> String {
    match state.closed_on {
        Some(c) => format!("終了（{}）", tsunagu_core::wareki::format(c)),
        None if state.scheduled_on > today => "予定".to_owned(),
        None if state.scheduled_on == today => "本日開催".to_owned(),
        None => "開催済み（終了の記録がまだです）".to_owned(),
    }
}

pub(crate) fn conclusion_text(c: &CaseConclusion) -> String {
    match c {
        CaseConclusion::PlanApproved { plan_version } => format!("プラン第{plan_version}版を了承"),
        CaseConclusion::PlanReturned {
            plan_version,
            reason,
        } => {
            format!("プラン第{plan_version}版を差し戻し: {}", reason.as_str())
        }
        CaseConclusion::SuspensionConfirmed => "中断を確認".into(),
        CaseConclusion::TerminationApproved => "終結を承認".into(),
        CaseConclusion::ReplanDecided { back_to_assessment } => {
            if *back_to_assessment {
                "再アセスメント".into()
            } else {
                "再プラン".into()
            }
        }
        CaseConclusion::Noted { note } => format!("共有: {}", note.as_str()),
    }
}

const CONCLUSIONS: [(&str, &str); 6] = [
    ("plan_approved", "プランを了承する"),
    ("plan_returned", "プランを差し戻す"),
    ("suspension_confirmed", "中断を確認する"),
    ("termination_approved", "終結を承認する"),
    ("replan_decided", "再プランとする"),
    ("noted", "情報共有として記録する"),
];

/// The conclusion form of one case. The plan version is chosen from the case's versions (the
/// newest, not yet approved, first and chosen), never typed.
fn conclusion_controls(case: CaseId, plans: Option<(u32, Option<u32>)>) -> Vec<Control> {
    let p = |n: &str| format!("{n}-{case}");
    let (versions, draft) = plans.unwrap_or((0, None));
    let options: Vec<(String, String)> = (1..=versions)
        .rev()
        .map(|v| {
            let label = if Some(v) == draft {
                format!("第{v}版（了承を待つ最新の版）")
            } else {
                format!("第{v}版")
            };
            (v.to_string(), label)
        })
        .collect();
    vec![
        Control::select(p("conclusion"), "結論", CONCLUSIONS).required(),
        Control::select(
            p("plan_version"),
            "プランの版（了承・差し戻しのとき）",
            options,
        )
        .value(draft.map(|v| v.to_string()).unwrap_or_default()),
        Control::check(
            p("back_to_assessment"),
            "アセスメントからやり直す（再プランのとき）",
        ),
        Control::area(p("note"), "差し戻しの理由・共有した内容"),
    ]
}

fn read_conclusion(f: &Fields, case: CaseId) -> FieldResult<CaseConclusion> {
    let p = |n: &str| format!("{n}-{case}");
    let version = || f.number::<u32>(&p("plan_version"), "プランの版");
    Ok(match f.get(&p("conclusion")) {
        Some("plan_approved") => CaseConclusion::PlanApproved {
            plan_version: version()?,
        },
        Some("plan_returned") => CaseConclusion::PlanReturned {
            plan_version: version()?,
            reason: f.long(&p("note"), "差し戻しの理由")?,
        },
        Some("suspension_confirmed") => CaseConclusion::SuspensionConfirmed,
        Some("termination_approved") => CaseConclusion::TerminationApproved,
        Some("replan_decided") => CaseConclusion::ReplanDecided {
            back_to_assessment: f.checked(&p("back_to_assessment")),
        },
        Some("noted") => CaseConclusion::Noted {
            note: f.long(&p("note"), "共有した内容")?,
        },
        _ => return Err(field_error(&p("conclusion"), "結論を選んでください。")),
    })
}

fn agenda_controls(cases: Vec<(String, String)>) -> Vec<Control> {
    vec![
        Control::select("case_id", "議題にするケース", cases).required(),
        Control::select(
            "purpose",
            "目的",
            AgendaPurpose::ALL
                .iter()
                .map(|p| (p.as_str(), p.label_ja())),
        )
        .required(),
    ]
}

fn attendee_controls(names: &Names) -> Vec<Control> {
    vec![
        Control::select("org_id", "所属機関", names.org_options()).required(),
        Control::text("name", "氏名").required(),
        Control::text("title", "役職"),
    ]
}

async fn meeting_page(
    app: &AppState,
    auth: &Auth,
    id: MeetingId,
    form: Option<(&Fields, Option<&FieldError>)>,
    notice: Option<Notice>,
) -> Result<MeetingPage, ApiError> {
    let today = app.clock.today();
    let view = meetings::get(app, auth, id).await?;
    // Organisations only: the meeting page names no staff account.
    let names = Names::of_users(app, auth, []).await?;
    let mut agenda = Vec::new();
    for item in &view.state.agenda {
        // Names and plan versions only of cases the caller may read (members are not always on
        // the case's team).
        let case = access::case(app, auth, item.case_id, Access::Read)
            .await
            .ok();
        let plans = case.as_ref().map(|c| {
            let s = &c.case.state;
            (s.plan_versions, s.plan_for_meeting().map(|p| p.version))
        });
        let controls = conclusion_controls(item.case_id, plans);
        let refused =
            form.is_some_and(|(f, _)| f.get(&format!("conclusion-{}", item.case_id)).is_some());
        let controls = match form {
            Some((f, e)) if refused => refill(controls, f, e),
            _ => laid_out(controls),
        };
        agenda.push(AgendaRow {
            refused,
            case_id: item.case_id,
            person_name: case.map(|c| super::shown_name(&c.person, auth)),
            purpose: item.purpose.label_ja(),
            conclusions: item.conclusions.iter().map(conclusion_text).collect(),
            controls,
        });
    }
    // The cases waiting for a coordination meeting (a plan to approve, an evaluation, a
    // suspension to confirm) that the caller may read, not yet on the agenda, longest waiting
    // first, with their number and stage (the list is audited).
    let offered: Vec<(String, String)> = if auth.actor.role.works_cases() {
        tsunagu_app::caseload::list(
            app,
            auth,
            tsunagu_app::caseload::ListRequest {
                scope: tsunagu_app::caseload::ListScope::Team,
                awaiting_meeting: true,
                closed: Some(false),
                ..Default::default()
            },
        )
        .await?
        .cases
        .into_iter()
        .filter(|c| !view.state.agenda.iter().any(|a| a.case_id == c.case.id))
        .map(|c| {
            let purpose = c
                .case
                .awaiting_meeting
                .as_deref()
                .and_then(AgendaPurpose::parse)
                .map_or("", AgendaPurpose::label_ja);
            let number = c
                .case
                .case_number
                .map_or_else(|| "番号なし".to_owned(), |n| n.label());
            (
                c.case.id.to_string(),
                format!(
                    "{number} {}（{}・{purpose}）",
                    c.case.person_name,
                    c.case.stage.label_ja()
                ),
            )
        })
        .collect()
    } else {
        Vec::new()
    };
    let which = form
        .and_then(|(f, _)| f.get("action").map(str::to_owned))
        .unwrap_or_default();
    let fill = |controls: Vec<Control>, action: &str| match form {
        Some((f, e)) if which == action => refill(controls, f, e),
        _ => laid_out(controls),
    };
    let minutes = Control::area("minutes", "議事録").required().value(
        view.state
            .minutes
            .as_ref()
            .map(|m| m.as_str().to_owned())
            .unwrap_or_default(),
    );
    Ok(MeetingPage {
        chrome: Chrome::of(auth, today),
        id,
        status: meeting_status(&view.state, today),
        version: view.version,
        kind_label: view.kind_label,
        convenor: names.org(view.state.convenor_org).to_owned(),
        attendees: view
            .state
            .attendees
            .iter()
            .map(|a| {
                format!(
                    "{}（{}{}）",
                    a.name.as_str(),
                    names.org(a.org_id),
                    a.title
                        .as_ref()
                        .map(|t| format!("・{}", t.as_str()))
                        .unwrap_or_default()
                )
            })
            .collect(),
        agenda,
        attendee_controls: fill(attendee_controls(&names), "record_attendee"),
        agenda_controls: fill(agenda_controls(offered), "add_agenda_item"),
        minutes_controls: fill(vec![minutes], "record_minutes"),
        close_controls: fill(
            vec![
                Control::date("closed_on", "終了日")
                    .required()
                    .value(wareki::format(today)),
            ],
            "close",
        ),
        state: view.state,
        notice,
    })
}

pub async fn show(
    State(app): State<AppState>,
    Page(auth): Page,
    Path(id): Path<String>,
) -> PageResult {
    let id: MeetingId = parse_id(&id)?;
    Ok(render(&meeting_page(&app, &auth, id, None, None).await?))
}

fn read_command(f: &Fields) -> FieldResult<MeetingCommand> {
    Ok(match f.get("action") {
        Some("record_attendee") => MeetingCommand::RecordAttendee {
            org_id: f.id("org_id", "所属機関を選んでください。")?,
            name: f.short("name", "氏名")?,
            title: f.opt_short("title", "役職")?,
        },
        Some("add_agenda_item") => MeetingCommand::AddAgendaItem {
            case_id: f.id("case_id", "議題にするケースを選んでください。")?,
            purpose: f.choice("purpose", "目的", AgendaPurpose::parse)?,
        },
        Some("record_minutes") => MeetingCommand::RecordMinutes {
            minutes: f.long("minutes", "議事録")?,
        },
        Some("record_conclusion") => {
            let case_id: CaseId = f.id("case_id", "ケースが指定されていません。")?;
            MeetingCommand::RecordConclusion {
                case_id,
                conclusion: read_conclusion(f, case_id)?,
            }
        }
        Some("close") => MeetingCommand::Close {
            closed_on: f.date("closed_on", "終了日")?,
        },
        _ => return Err(field_error("action", "この操作はできません。")),
    })
}

pub async fn command(
    State(app): State<AppState>,
    Page(auth): Page,
    Path(id): Path<String>,
    axum::Form(fields): axum::Form<Vec<(String, String)>>,
) -> PageResult {
    let id: MeetingId = parse_id(&id)?;
    let f = Fields(fields);
    let (error, notice, status) = match read_command(&f) {
        Ok(command) => {
            let req = MeetingCommandRequest {
                expected_version: f.version(),
                reason: None,
                command,
            };
            match meetings::command(&app, &auth, id, req)
                .await
                .map_err(ApiError::from)
            {
                Ok(_) => return Ok(see_other(&format!("/meetings/{id}"))),
                Err(e) if e.status.is_client_error() && !e.is_not_found() => {
                    let mut n = Notice::from_api(&e);
                    n.back = format!("/meetings/{id}");
                    if e.status == StatusCode::CONFLICT {
                        n.message =
                            "あなたが入力している間に、ほかの人がこの会議に記録しました。".into();
                        n.conflict = vec![
                            "会議の記録が更新されています（下の表示は最新の内容です）。".into(),
                        ];
                    }
                    (None, n, refusal_status(&e))
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(e) => (
            Some(e.clone()),
            Notice::from_field(&e),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    };
    let page = meeting_page(&app, &auth, id, Some((&f, error.as_ref())), Some(notice)).await?;
    Ok(render_status(status, &page))
}
