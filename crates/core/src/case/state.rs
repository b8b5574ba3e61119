//! Current state of a case: a fold of its events. `evolve` never fails and never looks elsewhere.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use super::event::CaseEvent;
use super::types::*;
use crate::person::Consent;
use crate::{OrgId, PersonId, UserId};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Suspension {
    pub suspended_on: Date,
    pub from: Stage,
    pub confirmed_on: Option<Date>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Closure {
    pub closed_on: Date,
    pub pattern: ClosurePattern,
    pub follow_up: Option<FollowUpPlan>,
    pub lead_department: Option<crate::ShortText>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EvaluationSummary {
    pub evaluated_on: Date,
    pub plan_version: u32,
}

/// A contact record as the state counts it: its day and whether it reached the person.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ContactMark {
    pub on: Date,
    pub reached: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CaseState {
    /// ケース番号 (none for cases opened before numbering).
    #[serde(default)]
    pub number: Option<CaseNumber>,
    pub person_id: PersonId,
    pub owner_org: OrgId,
    pub assigned_worker: UserId,
    pub opened_on: Date,
    pub stage: Stage,
    /// The business date on which the case entered its stage (the date the event that moved
    /// it records: received, triaged, approved, started, suspended, closed, …), not the time it
    /// was typed. `None` only in states stored before it was kept.
    #[serde(default)]
    pub stage_entered_on: Option<Date>,
    /// The newest date on which the person was reached: a contact that reached them, a
    /// monitoring, the intake.
    #[serde(default)]
    pub last_contact_on: Option<Date>,
    pub identification: Option<Identification>,
    pub intake: Option<Intake>,
    pub intake_versions: u32,
    pub assessment_versions: u32,
    pub latest_assessment: Option<Assessment>,
    pub plan_versions: u32,
    /// The newest plan version not yet approved.
    pub draft_plan: Option<Plan>,
    /// The approved plan in force.
    pub current_plan: Option<Plan>,
    /// Support decisions for the current plan.
    pub decisions: Vec<SupportDecision>,
    pub support_started_on: Option<Date>,
    pub next_monitoring_due_on: Option<Date>,
    pub last_monitoring_on: Option<Date>,
    pub evaluation: Option<EvaluationSummary>,
    pub termination_approved: bool,
    pub suspension: Option<Suspension>,
    /// Unanswered attempts to reach the person since the last contact that reached them.
    pub unreached_attempts: u32,
    pub referrals: Vec<Referral>,
    /// Users who alone may see the case; empty when it is not restricted.
    #[serde(default)]
    pub restricted_to: Vec<UserId>,
    /// Organisations on the support team; the owner is always first.
    pub team: Vec<OrgId>,
    pub closure: Option<Closure>,
    pub next_follow_up_on: Option<Date>,
    pub emergency_supports: u32,
    pub contacts: u32,
    /// Each contact record in order (its number is its place, from 1), as last corrected: the
    /// day and whether it reached the person. `last_contact_on` and `unreached_attempts` are
    /// counted from it, so a correction counts as if the record had been right.
    #[serde(default)]
    pub contact_log: Vec<ContactMark>,
    /// Unanswered attempts are counted from this record on (a resumption or a reopening starts
    /// the count again).
    #[serde(default)]
    pub attempts_counted_from: u32,
    /// The newest day the person was reached by something other than a contact record (an
    /// intake, a monitoring).
    #[serde(default)]
    pub last_reached_otherwise_on: Option<Date>,
    /// The next appointment agreed at a contact (次回の約束), until a contact is recorded on or
    /// after its day.
    #[serde(default)]
    pub next_appointment_on: Option<Date>,
    /// Documents attached to the case, oldest first.
    #[serde(default)]
    pub attachments: Vec<Attachment>,
    /// Steps of employment support recorded (就労支援).
    #[serde(default)]
    pub employment_supports: u32,
    /// Employment outcomes (就労・増収), oldest first.
    #[serde(default)]
    pub employment_outcomes: Vec<EmploymentOutcomeRecord>,
    /// Each plan a coordination meeting approved (プラン作成), oldest first; a modification the
    /// meeting took note of is not a new plan.
    #[serde(default)]
    pub plans_made: Vec<PlanMade>,
    /// Each evaluation (評価シート), oldest first: its day and whether it saw a change
    /// (見られた変化) — the improvement indicator counts them (`docs/COUNTING.md` R8).
    #[serde(default)]
    pub evaluations: Vec<EvaluationMark>,
    /// Each stage the case has left, with the days it entered and left it, oldest first (the
    /// time in each stage, `docs/COUNTING.md` R11).
    #[serde(default)]
    pub stage_spans: Vec<StageSpan>,
    /// Each monitoring, with the day it was due when it was done (R12).
    #[serde(default)]
    pub monitorings: Vec<MonitoringMark>,
}

/// A stage the case was in and has left.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StageSpan {
    pub stage: Stage,
    pub entered_on: Date,
    pub left_on: Date,
}

/// A monitoring as the process figures count it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MonitoringMark {
    pub monitored_on: Date,
    /// The day the monitoring was due then (none: no due day was set).
    pub due_on: Option<Date>,
}

/// An evaluation as the statistics count it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EvaluationMark {
    pub evaluated_on: Date,
    /// At least one 見られた変化 was recorded.
    pub improved: bool,
}

/// A plan approved by a coordination meeting: when, and whether it made the person a subject
/// of employment support.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlanMade {
    pub version: u32,
    pub approved_on: Date,
    pub employment_support: bool,
    /// The plan's period, as approved (none in states stored before it was kept).
    #[serde(default)]
    pub period: Option<(Date, Date)>,
    /// The plan's items, as approved: what is reported to the municipality (報告, seed 001
    /// §8) and what its support decisions are about.
    #[serde(default)]
    pub items: Vec<PlanItem>,
}

impl PlanMade {
    /// 報告のみ: a plan without statutory services is reported to the municipality, and needs
    /// no support decision (seed 001 §8, ③).
    pub fn report_only(&self) -> bool {
        self.items.iter().all(|i| i.statutory_service.is_none())
    }
}

impl CaseState {
    /// Folds a stream. `None` when the stream does not start with `CaseOpened`.
    pub fn fold<'a>(events: impl IntoIterator<Item = &'a CaseEvent>) -> Option<CaseState> {
        let mut state: Option<CaseState> = None;
        for event in events {
            state = match state {
                None => CaseState::start(event),
                Some(mut s) => {
                    s.evolve(event);
                    Some(s)
                }
            };
        }
        state
    }

    /// The state created by the first event of a stream.
    pub fn start(event: &CaseEvent) -> Option<CaseState> {
        match event {
            CaseEvent::CaseOpened {
                person_id,
                owner_org,
                assigned_worker,
                opened_on,
                identification,
                number,
                ..
            } => Some(CaseState {
                number: *number,
                person_id: *person_id,
                owner_org: *owner_org,
                assigned_worker: *assigned_worker,
                opened_on: *opened_on,
                stage: Stage::Identified,
                stage_entered_on: Some(
                    identification
                        .as_ref()
                        .map_or(*opened_on, |i| i.identified_on),
                ),
                last_contact_on: None,
                identification: identification.clone(),
                intake: None,
                intake_versions: 0,
                assessment_versions: 0,
                latest_assessment: None,
                plan_versions: 0,
                draft_plan: None,
                current_plan: None,
                decisions: Vec::new(),
                support_started_on: None,
                next_monitoring_due_on: None,
                last_monitoring_on: None,
                evaluation: None,
                termination_approved: false,
                suspension: None,
                unreached_attempts: 0,
                referrals: Vec::new(),
                restricted_to: Vec::new(),
                team: vec![*owner_org],
                closure: None,
                next_follow_up_on: None,
                emergency_supports: 0,
                contacts: 0,
                contact_log: Vec::new(),
                attempts_counted_from: 0,
                last_reached_otherwise_on: None,
                next_appointment_on: None,
                attachments: Vec::new(),
                employment_supports: 0,
                employment_outcomes: Vec::new(),
                plans_made: Vec::new(),
                evaluations: Vec::new(),
                stage_spans: Vec::new(),
                monitorings: Vec::new(),
            }),
            _ => None,
        }
    }

    pub fn evolve(&mut self, event: &CaseEvent) {
        let stage_before = self.stage;
        let entered_before = self.stage_since();
        if let CaseEvent::MonitoringRecorded { monitored_on, .. } = event {
            self.monitorings.push(MonitoringMark {
                monitored_on: *monitored_on,
                due_on: self.next_monitoring_due_on,
            });
        }
        self.apply(event);
        if self.stage != stage_before
            && let Some(day) = event.business_date()
        {
            self.stage_entered_on = Some(day);
            self.stage_spans.push(StageSpan {
                stage: stage_before,
                entered_on: entered_before,
                left_on: day,
            });
        }
        let reached_otherwise_on = match event {
            CaseEvent::MonitoringRecorded { monitored_on, .. } => Some(*monitored_on),
            CaseEvent::IntakeRecorded { intake } => Some(intake.received_on),
            _ => None,
        };
        if let Some(day) = reached_otherwise_on {
            self.last_reached_otherwise_on =
                Some(self.last_reached_otherwise_on.map_or(day, |d| d.max(day)));
        }
        self.count_contacts();
    }

    /// `last_contact_on` and `unreached_attempts` from the contact log (as corrected) and the
    /// other days the person was reached.
    fn count_contacts(&mut self) {
        let reached = self
            .contact_log
            .iter()
            .filter(|m| m.reached)
            .map(|m| m.on)
            .max();
        self.last_contact_on = reached.max(self.last_reached_otherwise_on);
        let from = (self.attempts_counted_from as usize).min(self.contact_log.len());
        self.unreached_attempts = self.contact_log[from..]
            .iter()
            .rev()
            .take_while(|m| !m.reached)
            .count() as u32;
    }

    /// The day the case entered its stage (the opening day for states stored before it was
    /// kept).
    pub fn stage_since(&self) -> Date {
        self.stage_entered_on.unwrap_or(self.opened_on)
    }

    /// The main presenting problem (主訴) of the intake: the one marked main, else the first.
    pub fn main_problem(&self) -> Option<&str> {
        let problems = &self.intake.as_ref()?.presenting_problems;
        problems
            .iter()
            .find(|p| p.main)
            .or_else(|| problems.first())
            .map(|p| p.code.as_str())
    }

    /// How the case became known (相談経路): the intake's route, else the identification's.
    pub fn route(&self) -> Option<IntakeRoute> {
        self.intake
            .as_ref()
            .map(|i| i.route)
            .or_else(|| self.identification.as_ref().map(|i| i.route))
    }

    fn apply(&mut self, event: &CaseEvent) {
        use CaseEvent::*;
        match event {
            CaseOpened { .. } => {}
            IntakeRecorded { intake } => {
                self.intake = Some(intake.clone());
                self.intake_versions += 1;
                if self.stage == Stage::Identified {
                    self.stage = Stage::Intake;
                }
            }
            TriagedToContinue { .. } => self.stage = Stage::Assessment,
            ReferralMade { referral } => self.referrals.push(referral.clone()),
            ReferralFollowedUp {
                referral_id,
                next_follow_up_on,
                ..
            } => {
                if let Some(r) = self.referrals.iter_mut().find(|r| r.id == *referral_id) {
                    r.follow_up_on = *next_follow_up_on;
                }
            }
            ReferralConfirmed {
                referral_id,
                confirmed_on,
                ..
            } => {
                if let Some(r) = self.referrals.iter_mut().find(|r| r.id == *referral_id) {
                    r.confirmed_on = Some(*confirmed_on);
                }
            }
            AssessmentRecorded {
                version,
                assessment,
            } => {
                self.assessment_versions = *version;
                self.latest_assessment = Some(assessment.clone());
            }
            ScreenedToHandleHere { .. } => self.stage = Stage::Planning,
            PlanDrafted { plan } => {
                self.plan_versions = plan.version;
                self.draft_plan = Some(plan.clone());
            }
            PlanModified { plan, .. } => {
                self.plan_versions = plan.version;
                self.current_plan = Some(plan.clone());
            }
            PlanApproved {
                plan_version,
                meeting_id,
                approved_on,
            } if self.modification_to_report() == Some(*plan_version) => {
                // The meeting took note of a プランの修正: the plan stays in force as it was.
                if let Some(plan) = &mut self.current_plan {
                    plan.approved_by = Some(*meeting_id);
                    plan.approved_on = Some(*approved_on);
                }
            }
            PlanReturned { plan_version, .. }
                if self.modification_to_report() == Some(*plan_version) =>
            {
                // The meeting found the change too big for a modification: re-plan. The plan
                // in force stays until a new one is approved.
                self.stage = Stage::Planning;
                self.termination_approved = false;
            }
            PlanApproved {
                plan_version,
                meeting_id,
                approved_on,
            } => {
                if let Some(mut plan) = self.draft_plan.take() {
                    if plan.version == *plan_version {
                        plan.approved_by = Some(*meeting_id);
                        plan.approved_on = Some(*approved_on);
                        self.plans_made.push(PlanMade {
                            version: plan.version,
                            approved_on: *approved_on,
                            employment_support: plan.employment_support,
                            period: Some((plan.period_from, plan.period_to)),
                            items: plan.items.clone(),
                        });
                        self.current_plan = Some(plan);
                        self.decisions.clear();
                        self.evaluation = None;
                        self.termination_approved = false;
                        self.stage = Stage::Decision;
                    } else {
                        self.draft_plan = Some(plan);
                    }
                }
            }
            PlanReturned { .. } => {}
            SupportDecisionRecorded { decision, .. } => self.decisions.push(decision.clone()),
            SupportStarted {
                started_on,
                first_monitoring_due_on,
            } => {
                self.stage = Stage::Support;
                self.support_started_on = Some(*started_on);
                self.next_monitoring_due_on = Some(*first_monitoring_due_on);
            }
            ContactRecorded {
                reached,
                contacted_on,
                next_appointment_on,
                ..
            } => {
                if next_appointment_on.is_some() {
                    self.next_appointment_on = *next_appointment_on;
                } else if self.next_appointment_on.is_some_and(|d| d <= *contacted_on) {
                    self.next_appointment_on = None;
                }
                self.contacts += 1;
                self.contact_log.push(ContactMark {
                    on: *contacted_on,
                    reached: *reached,
                });
            }
            ContactCorrected {
                record,
                reached,
                contacted_on,
                ..
            } => {
                if let Some(m) = (*record as usize)
                    .checked_sub(1)
                    .and_then(|i| self.contact_log.get_mut(i))
                {
                    *m = ContactMark {
                        on: *contacted_on,
                        reached: *reached,
                    };
                }
            }
            MonitoringRecorded {
                monitored_on,
                outcome,
                next_due_on,
                ..
            } => {
                self.last_monitoring_on = Some(*monitored_on);
                self.next_monitoring_due_on = *next_due_on;
                if *outcome == MonitoringOutcome::Replan {
                    self.stage = Stage::Planning;
                }
            }
            EvaluationRecorded {
                evaluated_on,
                plan_version,
                observed_changes,
                ..
            } => {
                self.evaluation = Some(EvaluationSummary {
                    evaluated_on: *evaluated_on,
                    plan_version: *plan_version,
                });
                self.evaluations.push(EvaluationMark {
                    evaluated_on: *evaluated_on,
                    improved: !observed_changes.is_empty(),
                });
                self.termination_approved = false;
                if self.stage == Stage::Support {
                    self.stage = Stage::Evaluation;
                }
            }
            EmergencySupportRecorded { .. } => self.emergency_supports += 1,
            EmploymentSupportRecorded { .. } => self.employment_supports += 1,
            EmploymentOutcomeRecorded {
                outcome,
                achieved_on,
                plan_version,
                under_employment_support_plan,
                ..
            } => self.employment_outcomes.push(EmploymentOutcomeRecord {
                outcome: *outcome,
                achieved_on: *achieved_on,
                plan_version: *plan_version,
                under_employment_support_plan: *under_employment_support_plan,
            }),
            Suspended { suspended_on, .. } => {
                self.suspension = Some(Suspension {
                    suspended_on: *suspended_on,
                    from: self.stage,
                    confirmed_on: None,
                });
                self.termination_approved = false;
                self.stage = Stage::Suspended;
            }
            SuspensionConfirmed { confirmed_on, .. } => {
                if let Some(s) = self.suspension.as_mut() {
                    s.confirmed_on = Some(*confirmed_on);
                }
            }
            Resumed {
                next_monitoring_due_on,
                ..
            } => {
                if let Some(s) = self.suspension.take() {
                    self.stage = s.from;
                }
                self.attempts_counted_from = self.contact_log.len() as u32;
                self.termination_approved = false;
                if self.stage == Stage::Support {
                    self.next_monitoring_due_on = *next_monitoring_due_on;
                }
            }
            TerminationApproved { .. } => self.termination_approved = true,
            ReplanDecided {
                back_to_assessment, ..
            } => {
                self.stage = if *back_to_assessment {
                    Stage::Assessment
                } else {
                    Stage::Planning
                };
                self.termination_approved = false;
            }
            MeetingNoted { .. } => {}
            Closed {
                closed_on,
                pattern,
                follow_up,
                lead_department,
                ..
            } => {
                self.stage = Stage::Closed;
                self.suspension = None;
                self.next_monitoring_due_on = None;
                self.next_follow_up_on = match follow_up {
                    Some(FollowUpPlan::Planned { first_check_on, .. }) => Some(*first_check_on),
                    _ => None,
                };
                self.closure = Some(Closure {
                    closed_on: *closed_on,
                    pattern: *pattern,
                    follow_up: follow_up.clone(),
                    lead_department: lead_department.clone(),
                });
            }
            FollowUpRecorded { next_check_on, .. } => self.next_follow_up_on = *next_check_on,
            Reopened { .. } => {
                self.stage = Stage::Assessment;
                self.closure = None;
                self.next_follow_up_on = None;
                self.termination_approved = false;
                self.evaluation = None;
                self.draft_plan = None;
                self.attempts_counted_from = self.contact_log.len() as u32;
            }
            AccessRestricted { users } => self.restricted_to = users.clone(),
            TeamMemberAdded { org_id } => {
                if !self.team.contains(org_id) {
                    self.team.push(*org_id);
                }
            }
            TeamMemberRemoved { org_id } => self.team.retain(|o| o != org_id),
            WorkerAssigned { user_id } => self.assigned_worker = *user_id,
            AttachmentAdded { attachment } => self.attachments.push(attachment.clone()),
        }
    }

    pub fn open_referrals(&self) -> impl Iterator<Item = &Referral> {
        self.referrals.iter().filter(|r| r.confirmed_on.is_none())
    }

    /// Statutory services of the current plan still without a decision.
    pub fn pending_decisions(&self) -> Vec<String> {
        let Some(plan) = &self.current_plan else {
            return Vec::new();
        };
        plan.services_needing_decision
            .iter()
            .filter(|svc| {
                !self
                    .decisions
                    .iter()
                    .any(|d| &d.service == *svc && d.plan_version == plan.version)
            })
            .cloned()
            .collect()
    }

    /// The version of a プランの修正 in force and not yet reported to a coordination meeting.
    pub fn modification_to_report(&self) -> Option<u32> {
        self.current_plan
            .as_ref()
            .filter(|p| self.stage == Stage::Support && p.modified && p.approved_on.is_none())
            .map(|p| p.version)
    }

    /// The plan version a coordination meeting is to approve (or take note of), if any: a
    /// drafted plan, or a プランの修正 made during support.
    pub fn plan_for_meeting(&self) -> Option<&Plan> {
        match self.stage {
            Stage::Planning | Stage::Decision => self.draft_plan.as_ref(),
            Stage::Support if self.modification_to_report().is_some() => self.current_plan.as_ref(),
            _ => None,
        }
    }

    /// What the case waits for a coordination meeting for, if anything: a plan drafted and not
    /// yet approved, an evaluation (termination or a new plan), a suspension not yet confirmed.
    /// The same conditions as the to-dos that say to take it to a meeting.
    pub fn awaiting_meeting(&self) -> Option<crate::meeting::AgendaPurpose> {
        use crate::meeting::AgendaPurpose;
        match self.stage {
            Stage::Planning if self.draft_plan.is_some() => Some(AgendaPurpose::PlanReview),
            Stage::Support if self.modification_to_report().is_some() => {
                Some(AgendaPurpose::PlanReview)
            }
            Stage::Evaluation if !self.termination_approved => Some(AgendaPurpose::Evaluation),
            Stage::Suspended
                if self
                    .suspension
                    .as_ref()
                    .is_some_and(|s| s.confirmed_on.is_none()) =>
            {
                Some(AgendaPurpose::SuspensionReview)
            }
            _ => None,
        }
    }

    /// What is still missing but must not block the worker (seed 000: 記入をあわてることはしない).
    pub fn todos(&self, consents: &[Consent], today: Date) -> Vec<Todo> {
        let mut todos = Vec::new();
        if self.stage == Stage::Closed {
            return todos;
        }
        match &self.intake {
            None => todos.push(Todo::RecordIntake),
            Some(intake) if intake.application_received_on.is_none() => {
                todos.push(Todo::ReceiveApplication)
            }
            Some(_) => {}
        }
        if !consents.iter().any(|c| c.in_force(today)) {
            todos.push(Todo::ObtainConsent);
        }
        if self.stage == Stage::Suspended
            && self
                .suspension
                .as_ref()
                .is_some_and(|s| s.confirmed_on.is_none())
        {
            todos.push(Todo::ConfirmSuspensionAtMeeting);
        }
        if self.stage == Stage::Planning && self.draft_plan.is_some() {
            todos.push(Todo::TakePlanToMeeting);
        }
        if self.modification_to_report().is_some() {
            todos.push(Todo::ReportPlanModification);
        }
        if self.stage == Stage::Decision && !self.pending_decisions().is_empty() {
            todos.push(Todo::AwaitSupportDecision);
        }
        if self.stage == Stage::Evaluation && !self.termination_approved {
            todos.push(Todo::TakeEvaluationToMeeting);
        }
        todos
    }
}

/// Things to do that do not block the work.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Todo {
    RecordIntake,
    ReceiveApplication,
    ObtainConsent,
    TakePlanToMeeting,
    ReportPlanModification,
    AwaitSupportDecision,
    TakeEvaluationToMeeting,
    ConfirmSuspensionAtMeeting,
}

impl Todo {
    pub fn label_ja(self) -> &'static str {
        match self {
            Todo::RecordIntake => "相談受付・申込票の記録",
            Todo::ReceiveApplication => "申込票（書面）の受領",
            Todo::ObtainConsent => "本人同意の取得",
            Todo::TakePlanToMeeting => "プランを支援調整会議にかける",
            Todo::ReportPlanModification => "プランの修正を支援調整会議に報告する",
            Todo::AwaitSupportDecision => "自治体の支援決定を待つ",
            Todo::TakeEvaluationToMeeting => "評価を支援調整会議にかける",
            Todo::ConfirmSuspensionAtMeeting => "中断を支援調整会議で確認する",
        }
    }
}
