//! Case commands: what a worker asks to do. Each is decided against the current state.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use super::types::*;
use crate::{LongText, OrgId, PersonId, ReferralId, ShortText, UserId};

/// Opening a case: either at first notice (outreach, a referral) or straight with an intake.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OpenCase {
    pub person_id: PersonId,
    #[serde(default)]
    pub identification: Option<Identification>,
    #[serde(default)]
    pub intake: Option<Intake>,
}

/// 振り分けの結果.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum TriageOutcome {
    /// 生活困窮に関わる相談: continue here (to assessment).
    Continue,
    /// 他の相談機関へつなぐ (with a follow-up check).
    ReferOut { referral: ReferralInput },
    /// 情報提供のみで終了.
    InformationOnly { note: LongText },
}

/// 終結 input.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Termination {
    pub terminated_on: Date,
    pub pattern: ClosurePattern,
    /// 本人の意向; required unless the case is closed after a lasting suspension.
    #[serde(default)]
    pub person_intention: Option<LongText>,
    /// The follow-up decision; a termination without it is refused
    /// (`termination.needs_follow_up`).
    #[serde(default)]
    pub follow_up: Option<FollowUpPlan>,
    /// 主担当課 after termination.
    #[serde(default)]
    pub lead_department: Option<ShortText>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "action", rename_all = "snake_case")]
// Commands and events are short-lived records moved once; boxing would only obscure them.
#[allow(clippy::large_enum_variant)]
pub enum CaseCommand {
    /// 相談受付・申込票 (again: a new version replaces what is shown; the old stays in history).
    RecordIntake {
        intake: Intake,
    },
    Triage {
        triaged_on: Date,
        outcome: TriageOutcome,
    },
    RecordAssessment {
        assessment: Assessment,
    },
    /// スクリーニング: the same outcomes as triage, decided after assessment.
    Screen {
        screened_on: Date,
        outcome: TriageOutcome,
    },
    DraftPlan {
        plan: PlanInput,
    },
    /// プランの修正: a small change to the plan in force during support (not a re-plan), in
    /// force at once and reported to the next coordination meeting.
    ModifyPlan {
        plan: PlanInput,
        reason: LongText,
    },
    RecordSupportDecision {
        service: String,
        outcome: DecisionOutcome,
        decided_on: Date,
        #[serde(default)]
        notice_sent_on: Option<Date>,
        #[serde(default)]
        note: Option<LongText>,
    },
    StartSupport {
        started_on: Date,
    },
    RecordContact {
        kind: ContactKind,
        contacted_on: Date,
        /// False for an attempt that did not reach the person.
        reached: bool,
        #[serde(default)]
        with_whom: Option<ShortText>,
        summary: LongText,
        /// The time of day it happened (時刻), when noted.
        #[serde(default)]
        #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "14:30:00"))]
        at: Option<jiff::civil::Time>,
        /// The next appointment agreed (次回の約束): it is on the due list until a later
        /// contact is recorded on or after its day.
        #[serde(default)]
        next_appointment_on: Option<Date>,
    },
    /// 支援経過の訂正: replaces what a contact record says; the original stays in the history.
    CorrectContact {
        /// The record corrected: the contact record's number on the case (1 = the first).
        record: u32,
        kind: ContactKind,
        contacted_on: Date,
        reached: bool,
        #[serde(default)]
        with_whom: Option<ShortText>,
        summary: LongText,
        /// Why it is corrected (訂正の理由).
        reason: LongText,
    },
    RecordMonitoring {
        monitored_on: Date,
        kind: MonitoringKind,
        progress: LongText,
        outcome: MonitoringOutcome,
        #[serde(default)]
        note: Option<LongText>,
    },
    RecordEvaluation {
        evaluated_on: Date,
        goals: Vec<GoalAttainment>,
        summary: LongText,
        /// 今後の方針: what follows (termination, a new plan, what to watch).
        #[serde(default)]
        next_steps: Option<LongText>,
        /// 見られた変化: codes of the tenant's list (`TenantSettings::observed_changes`).
        #[serde(default)]
        observed_changes: Vec<ShortText>,
        /// つながり指標, scored with the person.
        #[serde(default)]
        connection: Option<ConnectionScores>,
    },
    RecordEmergencySupport {
        kind: EmergencyKind,
        provided_on: Date,
        #[serde(default)]
        note: Option<LongText>,
    },
    /// 就労支援: a step of the employment support worker's work towards a job.
    RecordEmploymentSupport {
        kind: EmploymentSupportKind,
        provided_on: Date,
        #[serde(default)]
        note: Option<LongText>,
    },
    /// 就労 or 増収: an outcome, counted by the national statistics with the plan in force.
    RecordEmploymentOutcome {
        outcome: EmploymentOutcome,
        achieved_on: Date,
        #[serde(default)]
        note: Option<LongText>,
    },
    MakeReferral {
        referral: ReferralInput,
    },
    FollowUpReferral {
        referral_id: ReferralId,
        checked_on: Date,
        note: LongText,
        next_follow_up_on: Option<Date>,
    },
    ConfirmReferral {
        referral_id: ReferralId,
        confirmed_on: Date,
        #[serde(default)]
        note: Option<LongText>,
    },
    Suspend {
        suspended_on: Date,
        reason: LongText,
    },
    Resume {
        resumed_on: Date,
    },
    Terminate {
        termination: Termination,
    },
    RecordFollowUp {
        checked_on: Date,
        #[serde(default)]
        with_whom: Option<ShortText>,
        summary: LongText,
        #[serde(default)]
        next_check_on: Option<Date>,
    },
    Reopen {
        reopened_on: Date,
        reason: LongText,
    },
    /// Restricts the case to the named users (who must include the actor); empty lifts it.
    Restrict {
        users: Vec<UserId>,
    },
    AddTeamMember {
        org_id: OrgId,
    },
    RemoveTeamMember {
        org_id: OrgId,
    },
    AssignWorker {
        user_id: UserId,
    },
}
