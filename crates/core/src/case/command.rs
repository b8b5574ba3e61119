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
    },
    RecordEmergencySupport {
        kind: EmergencyKind,
        provided_on: Date,
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

const ACTIVE: &[Stage] = &[
    Stage::Identified,
    Stage::Intake,
    Stage::Assessment,
    Stage::Planning,
    Stage::Decision,
    Stage::Support,
    Stage::Evaluation,
];
const NOT_CLOSED: &[Stage] = &[
    Stage::Identified,
    Stage::Intake,
    Stage::Assessment,
    Stage::Planning,
    Stage::Decision,
    Stage::Support,
    Stage::Evaluation,
    Stage::Suspended,
];
const AFTER_TRIAGE: &[Stage] = &[
    Stage::Assessment,
    Stage::Planning,
    Stage::Decision,
    Stage::Support,
    Stage::Evaluation,
];

/// The stages in which an action (by its `action` name) may be taken: the one table `decide`
/// checks and the case page reads to offer only what is possible now. Referral follow-up goes
/// on after a case closed as "referred out"; the team, the worker and the restriction can
/// always be corrected. Unknown names are allowed nowhere.
pub fn stages_for(action: &str) -> &'static [Stage] {
    match action {
        "record_intake" | "suspend" => ACTIVE,
        "triage" => &[Stage::Identified, Stage::Intake],
        "record_assessment" => AFTER_TRIAGE,
        "screen" => &[Stage::Assessment],
        // In the decision stage too: revising a plan after a support decision was rejected.
        "draft_plan" => &[Stage::Planning, Stage::Decision],
        "record_support_decision" | "start_support" => &[Stage::Decision],
        "record_monitoring" => &[Stage::Support],
        "record_evaluation" => &[Stage::Support, Stage::Suspended],
        "resume" => &[Stage::Suspended],
        "terminate" => &[Stage::Evaluation, Stage::Suspended],
        "record_follow_up" | "reopen" => &[Stage::Closed],
        "record_contact" | "record_emergency_support" | "make_referral" | "add_team_member" => {
            NOT_CLOSED
        }
        "follow_up_referral" | "confirm_referral" | "restrict" | "remove_team_member"
        | "assign_worker" => &Stage::ALL,
        _ => &[],
    }
}

impl CaseCommand {
    /// The `action` name (the serde tag), e.g. `record_contact`.
    pub fn action_name(&self) -> &'static str {
        use CaseCommand::*;
        match self {
            RecordIntake { .. } => "record_intake",
            Triage { .. } => "triage",
            RecordAssessment { .. } => "record_assessment",
            Screen { .. } => "screen",
            DraftPlan { .. } => "draft_plan",
            RecordSupportDecision { .. } => "record_support_decision",
            StartSupport { .. } => "start_support",
            RecordContact { .. } => "record_contact",
            RecordMonitoring { .. } => "record_monitoring",
            RecordEvaluation { .. } => "record_evaluation",
            RecordEmergencySupport { .. } => "record_emergency_support",
            MakeReferral { .. } => "make_referral",
            FollowUpReferral { .. } => "follow_up_referral",
            ConfirmReferral { .. } => "confirm_referral",
            Suspend { .. } => "suspend",
            Resume { .. } => "resume",
            Terminate { .. } => "terminate",
            RecordFollowUp { .. } => "record_follow_up",
            Reopen { .. } => "reopen",
            Restrict { .. } => "restrict",
            AddTeamMember { .. } => "add_team_member",
            RemoveTeamMember { .. } => "remove_team_member",
            AssignWorker { .. } => "assign_worker",
        }
    }

    /// Japanese name of the action, used in refusals.
    pub fn label_ja(&self) -> &'static str {
        use CaseCommand::*;
        match self {
            RecordIntake { .. } => "相談受付の記録",
            Triage { .. } => "振り分け",
            RecordAssessment { .. } => "アセスメントの記録",
            Screen { .. } => "スクリーニング",
            DraftPlan { .. } => "プランの作成",
            RecordSupportDecision { .. } => "支援決定の記録",
            StartSupport { .. } => "支援の開始",
            RecordContact { .. } => "支援経過の記録",
            RecordMonitoring { .. } => "モニタリングの記録",
            RecordEvaluation { .. } => "プラン評価の記録",
            RecordEmergencySupport { .. } => "緊急的な支援の記録",
            MakeReferral { .. } => "他機関へのつなぎ",
            FollowUpReferral { .. } => "つなぎ先の状況確認",
            ConfirmReferral { .. } => "つなぎ先での受け入れ確認",
            Suspend { .. } => "支援の中断",
            Resume { .. } => "支援の再開",
            Terminate { .. } => "終結",
            RecordFollowUp { .. } => "フォローアップの記録",
            Reopen { .. } => "ケースの再開",
            Restrict { .. } => "閲覧制限の設定",
            AddTeamMember { .. } => "支援チームへの機関の追加",
            RemoveTeamMember { .. } => "支援チームからの機関の削除",
            AssignWorker { .. } => "担当者の変更",
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn action_names_are_the_serde_tags() {
        let cmd = CaseCommand::Resume {
            resumed_on: jiff::civil::date(2025, 4, 1),
        };
        let json = serde_json::to_value(&cmd).unwrap();
        assert_eq!(json["action"], cmd.action_name());
        assert!(!stages_for(cmd.action_name()).is_empty());
    }
}
