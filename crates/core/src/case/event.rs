//! Case events: the record itself. Each is a fact in the past tense; none is ever changed.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use super::types::*;
use crate::{LongText, MeetingId, OrgId, PersonId, ReferralId, ShortText, UserId};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
// Commands and events are short-lived records moved once; boxing would only obscure them.
#[allow(clippy::large_enum_variant)]
pub enum CaseEvent {
    CaseOpened {
        person_id: PersonId,
        owner_org: OrgId,
        assigned_worker: UserId,
        opened_on: Date,
        identification: Option<Identification>,
        /// ケース番号 (cases opened before numbering have none).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        number: Option<CaseNumber>,
        /// The sheet row this case was imported from.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        imported_from: Option<crate::import::ImportSource>,
    },
    IntakeRecorded {
        intake: Intake,
    },
    TriagedToContinue {
        triaged_on: Date,
    },
    ReferralMade {
        referral: Referral,
    },
    ReferralFollowedUp {
        referral_id: ReferralId,
        checked_on: Date,
        note: LongText,
        next_follow_up_on: Date,
    },
    ReferralConfirmed {
        referral_id: ReferralId,
        confirmed_on: Date,
        note: Option<LongText>,
    },
    AssessmentRecorded {
        version: u32,
        assessment: Assessment,
    },
    ScreenedToHandleHere {
        screened_on: Date,
    },
    PlanDrafted {
        plan: Plan,
    },
    /// プランの修正: a new version in force at once, for the next meeting to take note of.
    PlanModified {
        plan: Plan,
        reason: LongText,
    },
    PlanApproved {
        plan_version: u32,
        meeting_id: MeetingId,
        approved_on: Date,
    },
    PlanReturned {
        plan_version: u32,
        meeting_id: MeetingId,
        reason: LongText,
    },
    SupportDecisionRecorded {
        decision: SupportDecision,
        note: Option<LongText>,
    },
    SupportStarted {
        started_on: Date,
        first_monitoring_due_on: Date,
    },
    ContactRecorded {
        kind: ContactKind,
        contacted_on: Date,
        reached: bool,
        with_whom: Option<ShortText>,
        summary: LongText,
        /// The time of day (時刻), when noted.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "14:30:00"))]
        at: Option<jiff::civil::Time>,
        /// The next appointment agreed (次回の約束).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next_appointment_on: Option<Date>,
    },
    /// A contact record corrected: what it says from now on, and why. The record it corrects
    /// (its number on the case) stays readable in the history.
    ContactCorrected {
        record: u32,
        kind: ContactKind,
        contacted_on: Date,
        reached: bool,
        with_whom: Option<ShortText>,
        summary: LongText,
        reason: LongText,
    },
    MonitoringRecorded {
        monitored_on: Date,
        kind: MonitoringKind,
        progress: LongText,
        outcome: MonitoringOutcome,
        note: Option<LongText>,
        next_due_on: Option<Date>,
    },
    EvaluationRecorded {
        evaluated_on: Date,
        plan_version: u32,
        goals: Vec<GoalAttainment>,
        summary: LongText,
        /// 今後の方針 (absent in evaluations recorded before it was asked).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next_steps: Option<LongText>,
        /// 見られた変化 (codes of the tenant's list; none recorded before it was asked).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        observed_changes: Vec<ShortText>,
        /// つながり指標.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        connection: Option<ConnectionScores>,
    },
    EmergencySupportRecorded {
        kind: EmergencyKind,
        provided_on: Date,
        note: Option<LongText>,
    },
    EmploymentSupportRecorded {
        kind: EmploymentSupportKind,
        provided_on: Date,
        note: Option<LongText>,
    },
    EmploymentOutcomeRecorded {
        outcome: EmploymentOutcome,
        achieved_on: Date,
        note: Option<LongText>,
        /// The plan version in force (none before the first plan).
        plan_version: Option<u32>,
        /// Whether that plan made the person a subject of employment support (就労支援対象).
        under_employment_support_plan: bool,
    },
    Suspended {
        suspended_on: Date,
        reason: LongText,
    },
    SuspensionConfirmed {
        meeting_id: MeetingId,
        confirmed_on: Date,
    },
    Resumed {
        resumed_on: Date,
        next_monitoring_due_on: Option<Date>,
    },
    TerminationApproved {
        meeting_id: MeetingId,
        approved_on: Date,
    },
    ReplanDecided {
        meeting_id: MeetingId,
        decided_on: Date,
        back_to_assessment: bool,
    },
    MeetingNoted {
        meeting_id: MeetingId,
        noted_on: Date,
        note: LongText,
    },
    Closed {
        closed_on: Date,
        pattern: ClosurePattern,
        person_intention: Option<LongText>,
        follow_up: Option<FollowUpPlan>,
        lead_department: Option<ShortText>,
    },
    FollowUpRecorded {
        checked_on: Date,
        with_whom: Option<ShortText>,
        summary: LongText,
        next_check_on: Option<Date>,
    },
    Reopened {
        reopened_on: Date,
        reason: LongText,
    },
    /// Only the named users may see the case; empty lifts the restriction.
    AccessRestricted {
        users: Vec<UserId>,
    },
    TeamMemberAdded {
        org_id: OrgId,
    },
    TeamMemberRemoved {
        org_id: OrgId,
    },
    WorkerAssigned {
        user_id: UserId,
    },
    /// A document was attached; its content is stored under `attachment.id`.
    AttachmentAdded {
        attachment: Attachment,
    },
}

impl CaseEvent {
    /// The business date the event records (the day it happened, as the worker entered it),
    /// `None` for events that record no day (team, access, worker changes). The timeline is
    /// ordered by it and a stage is entered on it.
    pub fn business_date(&self) -> Option<Date> {
        use CaseEvent::*;
        match self {
            CaseOpened { opened_on, .. } => Some(*opened_on),
            IntakeRecorded { intake } => Some(intake.received_on),
            TriagedToContinue { triaged_on } => Some(*triaged_on),
            ReferralMade { referral } => Some(referral.referred_on),
            ReferralFollowedUp { checked_on, .. } => Some(*checked_on),
            ReferralConfirmed { confirmed_on, .. } => Some(*confirmed_on),
            AssessmentRecorded { assessment, .. } => Some(assessment.assessed_on),
            ScreenedToHandleHere { screened_on } => Some(*screened_on),
            PlanDrafted { plan } | PlanModified { plan, .. } => Some(plan.drafted_on),
            PlanApproved { approved_on, .. } => Some(*approved_on),
            PlanReturned { .. } => None,
            SupportDecisionRecorded { decision, .. } => Some(decision.decided_on),
            SupportStarted { started_on, .. } => Some(*started_on),
            ContactRecorded { contacted_on, .. } => Some(*contacted_on),
            ContactCorrected { contacted_on, .. } => Some(*contacted_on),
            MonitoringRecorded { monitored_on, .. } => Some(*monitored_on),
            EvaluationRecorded { evaluated_on, .. } => Some(*evaluated_on),
            EmergencySupportRecorded { provided_on, .. } => Some(*provided_on),
            EmploymentSupportRecorded { provided_on, .. } => Some(*provided_on),
            EmploymentOutcomeRecorded { achieved_on, .. } => Some(*achieved_on),
            Suspended { suspended_on, .. } => Some(*suspended_on),
            SuspensionConfirmed { confirmed_on, .. } => Some(*confirmed_on),
            Resumed { resumed_on, .. } => Some(*resumed_on),
            TerminationApproved { approved_on, .. } => Some(*approved_on),
            ReplanDecided { decided_on, .. } => Some(*decided_on),
            MeetingNoted { noted_on, .. } => Some(*noted_on),
            Closed { closed_on, .. } => Some(*closed_on),
            FollowUpRecorded { checked_on, .. } => Some(*checked_on),
            Reopened { reopened_on, .. } => Some(*reopened_on),
            AttachmentAdded { attachment } => Some(attachment.received_on),
            AccessRestricted { .. }
            | TeamMemberAdded { .. }
            | TeamMemberRemoved { .. }
            | WorkerAssigned { .. } => None,
        }
    }

    /// The event's name as stored (snake case, the serde tag).
    pub fn type_name(&self) -> &'static str {
        use CaseEvent::*;
        match self {
            CaseOpened { .. } => "case_opened",
            IntakeRecorded { .. } => "intake_recorded",
            TriagedToContinue { .. } => "triaged_to_continue",
            ReferralMade { .. } => "referral_made",
            ReferralFollowedUp { .. } => "referral_followed_up",
            ReferralConfirmed { .. } => "referral_confirmed",
            AssessmentRecorded { .. } => "assessment_recorded",
            ScreenedToHandleHere { .. } => "screened_to_handle_here",
            PlanDrafted { .. } => "plan_drafted",
            PlanModified { .. } => "plan_modified",
            PlanApproved { .. } => "plan_approved",
            PlanReturned { .. } => "plan_returned",
            SupportDecisionRecorded { .. } => "support_decision_recorded",
            SupportStarted { .. } => "support_started",
            ContactRecorded { .. } => "contact_recorded",
            ContactCorrected { .. } => "contact_corrected",
            MonitoringRecorded { .. } => "monitoring_recorded",
            EvaluationRecorded { .. } => "evaluation_recorded",
            EmergencySupportRecorded { .. } => "emergency_support_recorded",
            EmploymentSupportRecorded { .. } => "employment_support_recorded",
            EmploymentOutcomeRecorded { .. } => "employment_outcome_recorded",
            Suspended { .. } => "suspended",
            SuspensionConfirmed { .. } => "suspension_confirmed",
            Resumed { .. } => "resumed",
            TerminationApproved { .. } => "termination_approved",
            ReplanDecided { .. } => "replan_decided",
            MeetingNoted { .. } => "meeting_noted",
            Closed { .. } => "closed",
            FollowUpRecorded { .. } => "follow_up_recorded",
            Reopened { .. } => "reopened",
            AccessRestricted { .. } => "access_restricted",
            TeamMemberAdded { .. } => "team_member_added",
            TeamMemberRemoved { .. } => "team_member_removed",
            WorkerAssigned { .. } => "worker_assigned",
            AttachmentAdded { .. } => "attachment_added",
        }
    }
}
