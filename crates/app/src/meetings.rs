//! Meetings (支援調整会議 and others): schedule, list, read, and their commands — a conclusion
//! on a case's plan is one decision over the meeting's and the case's streams.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use tsunagu_core::MeetingId;
use tsunagu_core::meeting::{self, MeetingCommand, MeetingState, ScheduleMeeting};
use tsunagu_core::policy::Access;
use tsunagu_store::{Basis, MeetingQuery, MeetingSummary, StreamAppend};

use crate::{
    App, Caller, Created, Result, access, action_name, batch, create_once, ctx, expect_version,
    record,
};

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MeetingView {
    pub id: MeetingId,
    pub version: u64,
    pub kind_label: &'static str,
    pub state: MeetingState,
}

impl MeetingView {
    fn new(id: MeetingId, version: u64, state: MeetingState) -> Self {
        MeetingView {
            id,
            version,
            kind_label: state.kind.label_ja(),
            state,
        }
    }
}

pub async fn schedule(
    app: &App,
    caller: &Caller,
    req: ScheduleMeeting,
    idempotency_key: Option<String>,
) -> Result<Created> {
    access::work_cases(caller)?;
    let key = crate::idempotency(idempotency_key, &req)?;
    let events = meeting::schedule(req, &ctx(app, caller, &[]));
    create_once(app, caller, key, |id| {
        Ok(batch(
            caller,
            caller
                .audit("meeting.scheduled")
                .object("meeting", id)
                .basis(Basis::Meeting),
            None,
            vec![StreamAppend::Meeting {
                id: MeetingId(id),
                expected_version: 0,
                events,
            }],
        ))
    })
    .await
}

/// The meetings of which the caller's organisation is a member, from a date on (default: 90
/// days ago).
pub async fn list(app: &App, caller: &Caller, from: Option<Date>) -> Result<Vec<MeetingSummary>> {
    let meetings = listed(app, caller, from).await?;
    record(
        app,
        caller
            .audit("meeting.list")
            .basis(Basis::Meeting)
            .detail(format!("results={}", meetings.len())),
    )
    .await?;
    Ok(meetings)
}

/// The meetings of the list as a file for Excel (開催日, 種類, 会議名, 議題の件数, 状態; days in
/// 和暦), the same rows as the page; audited as an export (a meeting names no person).
pub async fn export_file(
    app: &App,
    caller: &Caller,
    from: Option<Date>,
    format: crate::FileFormat,
) -> Result<Vec<u8>> {
    use tsunagu_core::wareki;
    let meetings = listed(app, caller, from).await?;
    let table = tsunagu_report::csv::Table {
        headers: [
            "開催日",
            "種類",
            "会議名",
            "議題（ケース数）",
            "状態",
            "終了日",
        ]
        .map(str::to_owned)
        .to_vec(),
        rows: meetings
            .iter()
            .map(|m| {
                vec![
                    wareki::format(m.scheduled_on),
                    m.kind.label_ja().to_owned(),
                    m.title.clone(),
                    m.agenda_cases.to_string(),
                    if m.closed_on.is_some() {
                        "終了"
                    } else {
                        "予定・開催中"
                    }
                    .to_owned(),
                    m.closed_on.map(wareki::format).unwrap_or_default(),
                ]
            })
            .collect(),
    };
    record(
        app,
        caller
            .audit("meeting.list_exported")
            .basis(Basis::Meeting)
            .detail(format!(
                "results={}, {}",
                meetings.len(),
                format.extension()
            )),
    )
    .await?;
    format.write("会議の一覧", &table)
}

/// The meetings listed (not audited: the caller audits what it does with them).
async fn listed(app: &App, caller: &Caller, from: Option<Date>) -> Result<Vec<MeetingSummary>> {
    access::work_cases(caller)?;
    let from = from.unwrap_or_else(|| {
        let today = app.clock.today();
        today
            .checked_sub(jiff::Span::new().days(90))
            .unwrap_or(today)
    });
    let meetings = app
        .store
        .meetings(
            caller.actor.tenant_id,
            caller.actor.org_id,
            &MeetingQuery {
                from,
                until: None,
                open_only: false,
                limit: None,
            },
        )
        .await?;
    Ok(meetings)
}

pub async fn get(app: &App, caller: &Caller, id: MeetingId) -> Result<MeetingView> {
    let m = access::meeting(app, caller, id).await?;
    record(
        app,
        caller
            .audit("meeting.read")
            .object("meeting", id)
            .basis(Basis::Meeting),
    )
    .await?;
    Ok(MeetingView::new(id, m.version, m.state))
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MeetingCommandRequest {
    pub expected_version: u64,
    #[serde(default)]
    pub reason: Option<String>,
    pub command: MeetingCommand,
}

pub async fn command(
    app: &App,
    caller: &Caller,
    id: MeetingId,
    req: MeetingCommandRequest,
) -> Result<MeetingView> {
    let current = access::meeting(app, caller, id).await?;
    expect_version(current.version, req.expected_version)?;
    let case = match req.command.case_id() {
        Some(case_id) => Some((
            case_id,
            access::case(app, caller, case_id, Access::Write)
                .await?
                .case,
        )),
        None => None,
    };
    let mut entry = caller
        .audit("meeting.command")
        .object("meeting", id)
        .basis(Basis::Meeting)
        .detail(action_name(&req.command));
    if let Some((_, c)) = &case {
        entry = entry.subject(c.state.person_id);
    }
    let orgs = app
        .store
        .orgs(caller.actor.tenant_id)
        .await?
        .into_iter()
        .map(|o| (o.id, o.kind))
        .collect();
    let (meeting_events, case_events) = meeting::decide(
        id,
        &current.state,
        req.command,
        case.as_ref().map(|(_, c)| &c.state),
        &orgs,
        &ctx(app, caller, &[]),
    )?;
    let mut state = current.state;
    for e in &meeting_events {
        state.evolve(e);
    }
    let mut streams = vec![StreamAppend::Meeting {
        id,
        expected_version: req.expected_version,
        events: meeting_events,
    }];
    if let Some((case_id, c)) = case
        && !case_events.is_empty()
    {
        streams.push(StreamAppend::Case {
            id: case_id,
            expected_version: c.version,
            events: case_events,
        });
    }
    let versions = app
        .store
        .append(batch(caller, entry, req.reason, streams))
        .await?;
    let version = versions.first().copied().unwrap_or(current.version);
    Ok(MeetingView::new(id, version, state))
}
