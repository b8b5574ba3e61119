//! Meetings (支援調整会議, 支援会議, 担当者会議): one meeting holds an agenda of several cases,
//! attendees, minutes and a conclusion per case. A conclusion is recorded on the meeting and on
//! the case in one decision.

use std::collections::HashMap;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::case::{CaseConclusion, CaseEvent, CaseState, MeetingFacts, decide_conclusion};
use crate::{CaseId, Context, LongText, MeetingId, OrgId, OrgKind, Refusal, ShortText};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MeetingKind {
    /// 支援調整会議: approves plans, confirms suspensions, approves termination.
    CoordinationMeeting,
    /// 支援会議 (社会福祉法106条の6): closed, members bound to secrecy; may share without consent.
    SupportMeeting,
    /// 担当者会議: preparatory; cannot approve.
    CaseConference,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AgendaPurpose {
    /// プランの適切性の協議
    PlanReview,
    /// 支援提供者によるプランの共有
    PlanSharing,
    /// プラン評価・終結
    Evaluation,
    /// 中断の確認
    SuspensionReview,
    /// 社会資源の把握と創出
    CommunityResources,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Attendee {
    pub org_id: OrgId,
    pub org_kind: OrgKind,
    pub name: ShortText,
    #[serde(default)]
    pub title: Option<ShortText>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgendaItem {
    pub case_id: CaseId,
    pub purpose: AgendaPurpose,
    pub conclusions: Vec<CaseConclusion>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MeetingEvent {
    MeetingScheduled {
        kind: MeetingKind,
        title: ShortText,
        scheduled_on: Date,
        convenor_org: OrgId,
    },
    AgendaItemAdded {
        case_id: CaseId,
        purpose: AgendaPurpose,
    },
    AttendeeRecorded {
        attendee: Attendee,
    },
    MinutesRecorded {
        version: u32,
        minutes: LongText,
    },
    ConclusionRecorded {
        case_id: CaseId,
        conclusion: CaseConclusion,
    },
    MeetingClosed {
        closed_on: Date,
    },
}

impl MeetingEvent {
    pub fn type_name(&self) -> &'static str {
        match self {
            MeetingEvent::MeetingScheduled { .. } => "meeting_scheduled",
            MeetingEvent::AgendaItemAdded { .. } => "agenda_item_added",
            MeetingEvent::AttendeeRecorded { .. } => "attendee_recorded",
            MeetingEvent::MinutesRecorded { .. } => "minutes_recorded",
            MeetingEvent::ConclusionRecorded { .. } => "conclusion_recorded",
            MeetingEvent::MeetingClosed { .. } => "meeting_closed",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScheduleMeeting {
    pub kind: MeetingKind,
    pub title: ShortText,
    pub scheduled_on: Date,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum MeetingCommand {
    AddAgendaItem {
        case_id: CaseId,
        purpose: AgendaPurpose,
    },
    RecordAttendee {
        org_id: OrgId,
        name: ShortText,
        #[serde(default)]
        title: Option<ShortText>,
    },
    RecordMinutes {
        minutes: LongText,
    },
    RecordConclusion {
        case_id: CaseId,
        conclusion: CaseConclusion,
    },
    Close {
        closed_on: Date,
    },
}

impl MeetingCommand {
    /// The case this command touches besides the meeting, if any.
    pub fn case_id(&self) -> Option<CaseId> {
        match self {
            MeetingCommand::AddAgendaItem { case_id, .. }
            | MeetingCommand::RecordConclusion { case_id, .. } => Some(*case_id),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MeetingState {
    pub kind: MeetingKind,
    pub title: ShortText,
    pub scheduled_on: Date,
    pub convenor_org: OrgId,
    pub agenda: Vec<AgendaItem>,
    pub attendees: Vec<Attendee>,
    pub minutes_versions: u32,
    pub minutes: Option<LongText>,
    pub closed_on: Option<Date>,
}

impl MeetingState {
    pub fn fold<'a>(events: impl IntoIterator<Item = &'a MeetingEvent>) -> Option<MeetingState> {
        let mut state: Option<MeetingState> = None;
        for event in events {
            match (&mut state, event) {
                (
                    None,
                    MeetingEvent::MeetingScheduled {
                        kind,
                        title,
                        scheduled_on,
                        convenor_org,
                    },
                ) => {
                    state = Some(MeetingState {
                        kind: *kind,
                        title: title.clone(),
                        scheduled_on: *scheduled_on,
                        convenor_org: *convenor_org,
                        agenda: Vec::new(),
                        attendees: Vec::new(),
                        minutes_versions: 0,
                        minutes: None,
                        closed_on: None,
                    })
                }
                (Some(s), e) => s.evolve(e),
                (None, _) => {}
            }
        }
        state
    }

    pub fn evolve(&mut self, event: &MeetingEvent) {
        match event {
            MeetingEvent::MeetingScheduled { .. } => {}
            MeetingEvent::AgendaItemAdded { case_id, purpose } => self.agenda.push(AgendaItem {
                case_id: *case_id,
                purpose: *purpose,
                conclusions: Vec::new(),
            }),
            MeetingEvent::AttendeeRecorded { attendee } => self.attendees.push(attendee.clone()),
            MeetingEvent::MinutesRecorded { version, minutes } => {
                self.minutes_versions = *version;
                self.minutes = Some(minutes.clone());
            }
            MeetingEvent::ConclusionRecorded {
                case_id,
                conclusion,
            } => {
                if let Some(item) = self.agenda.iter_mut().find(|a| a.case_id == *case_id) {
                    item.conclusions.push(conclusion.clone());
                }
            }
            MeetingEvent::MeetingClosed { closed_on } => self.closed_on = Some(*closed_on),
        }
    }

    /// The meeting's members: the convening organisation and every attending organisation.
    /// Only they see the meeting's records (rule 5).
    pub fn members(&self) -> Vec<OrgId> {
        let mut orgs = vec![self.convenor_org];
        for a in &self.attendees {
            if !orgs.contains(&a.org_id) {
                orgs.push(a.org_id);
            }
        }
        orgs
    }

    pub fn municipality_attends(&self) -> bool {
        self.attendees
            .iter()
            .any(|a| a.org_kind == OrgKind::MunicipalDepartment)
    }
}

pub fn schedule(cmd: ScheduleMeeting, ctx: &Context) -> Vec<MeetingEvent> {
    vec![MeetingEvent::MeetingScheduled {
        kind: cmd.kind,
        title: cmd.title,
        scheduled_on: cmd.scheduled_on,
        convenor_org: ctx.actor.org_id,
    }]
}

/// The organisations of the tenant, by id: what a meeting decision needs to know about them.
pub type OrgDirectory = HashMap<OrgId, OrgKind>;

/// Decides a meeting command. `case` is the state of the case the command names, if any.
/// Returns the meeting's events and the case's events, to be stored in one transaction.
pub fn decide(
    meeting_id: MeetingId,
    state: &MeetingState,
    cmd: MeetingCommand,
    case: Option<&CaseState>,
    orgs: &OrgDirectory,
    ctx: &Context,
) -> Result<(Vec<MeetingEvent>, Vec<CaseEvent>), Refusal> {
    if state.closed_on.is_some() {
        return Err(Refusal::MeetingClosed);
    }
    match cmd {
        MeetingCommand::AddAgendaItem { case_id, purpose } => {
            if state.agenda.iter().any(|a| a.case_id == case_id) {
                return Err(Refusal::MeetingCaseAlreadyOnAgenda);
            }
            Ok((
                vec![MeetingEvent::AgendaItemAdded { case_id, purpose }],
                vec![],
            ))
        }
        MeetingCommand::RecordAttendee {
            org_id,
            name,
            title,
        } => {
            let org_kind = *orgs.get(&org_id).ok_or(Refusal::TeamNotMember)?;
            Ok((
                vec![MeetingEvent::AttendeeRecorded {
                    attendee: Attendee {
                        org_id,
                        org_kind,
                        name,
                        title,
                    },
                }],
                vec![],
            ))
        }
        MeetingCommand::RecordMinutes { minutes } => Ok((
            vec![MeetingEvent::MinutesRecorded {
                version: state.minutes_versions + 1,
                minutes,
            }],
            vec![],
        )),
        MeetingCommand::RecordConclusion {
            case_id,
            conclusion,
        } => {
            if !state.agenda.iter().any(|a| a.case_id == case_id) {
                return Err(Refusal::MeetingCaseNotOnAgenda);
            }
            if state.scheduled_on > ctx.today {
                return Err(Refusal::DateInFuture {
                    field: "会議の開催日",
                });
            }
            let case = case.ok_or(Refusal::MeetingCaseNotOnAgenda)?;
            let facts = MeetingFacts {
                meeting_id,
                kind: state.kind,
                held_on: state.scheduled_on,
                municipality_attends: state.municipality_attends(),
            };
            let case_events = decide_conclusion(case, &facts, conclusion.clone())?;
            Ok((
                vec![MeetingEvent::ConclusionRecorded {
                    case_id,
                    conclusion,
                }],
                case_events,
            ))
        }
        MeetingCommand::Close { closed_on } => {
            if closed_on > ctx.today {
                return Err(Refusal::DateInFuture { field: "終了日" });
            }
            Ok((vec![MeetingEvent::MeetingClosed { closed_on }], vec![]))
        }
    }
}
