//! The one table of case actions: for each, its name (the serde tag of its command), the stages
//! it may be taken in, the access it needs and its one Japanese label. `decide`, the policy, the
//! case page's buttons and forms, and every refusal read it; each is an exhaustive `match`, so a
//! new action that misses a piece does not compile.

use super::command::CaseCommand;
use super::types::Stage;
use crate::policy::Access;

/// A case action, one per [`CaseCommand`] variant, in the order the case page offers them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum CaseAction {
    Triage,
    RecordAssessment,
    Screen,
    DraftPlan,
    ModifyPlan,
    RecordSupportDecision,
    StartSupport,
    RecordMonitoring,
    RecordEvaluation,
    Suspend,
    Resume,
    Terminate,
    RecordFollowUp,
    Reopen,
    RecordContact,
    CorrectContact,
    RecordEmergencySupport,
    RecordEmploymentSupport,
    RecordEmploymentOutcome,
    MakeReferral,
    FollowUpReferral,
    ConfirmReferral,
    RecordIntake,
    AddTeamMember,
    RemoveTeamMember,
    AssignWorker,
    Restrict,
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

const AFTER_TRIAGE_OR_CLOSED: &[Stage] = &[
    Stage::Assessment,
    Stage::Planning,
    Stage::Decision,
    Stage::Support,
    Stage::Evaluation,
    Stage::Suspended,
    Stage::Closed,
];

impl CaseAction {
    /// Every action, in the case page's order (the order of the variants).
    pub const ALL: [CaseAction; 27] = [
        CaseAction::Triage,
        CaseAction::RecordAssessment,
        CaseAction::Screen,
        CaseAction::DraftPlan,
        CaseAction::ModifyPlan,
        CaseAction::RecordSupportDecision,
        CaseAction::StartSupport,
        CaseAction::RecordMonitoring,
        CaseAction::RecordEvaluation,
        CaseAction::Suspend,
        CaseAction::Resume,
        CaseAction::Terminate,
        CaseAction::RecordFollowUp,
        CaseAction::Reopen,
        CaseAction::RecordContact,
        CaseAction::CorrectContact,
        CaseAction::RecordEmergencySupport,
        CaseAction::RecordEmploymentSupport,
        CaseAction::RecordEmploymentOutcome,
        CaseAction::MakeReferral,
        CaseAction::FollowUpReferral,
        CaseAction::ConfirmReferral,
        CaseAction::RecordIntake,
        CaseAction::AddTeamMember,
        CaseAction::RemoveTeamMember,
        CaseAction::AssignWorker,
        CaseAction::Restrict,
    ];

    /// The name in paths and JSON: the serde tag of the action's command, e.g. `record_contact`.
    pub fn as_str(self) -> &'static str {
        use CaseAction::*;
        match self {
            Triage => "triage",
            RecordAssessment => "record_assessment",
            Screen => "screen",
            DraftPlan => "draft_plan",
            ModifyPlan => "modify_plan",
            RecordSupportDecision => "record_support_decision",
            StartSupport => "start_support",
            RecordMonitoring => "record_monitoring",
            RecordEvaluation => "record_evaluation",
            Suspend => "suspend",
            Resume => "resume",
            Terminate => "terminate",
            RecordFollowUp => "record_follow_up",
            Reopen => "reopen",
            RecordContact => "record_contact",
            CorrectContact => "correct_contact",
            RecordEmergencySupport => "record_emergency_support",
            RecordEmploymentSupport => "record_employment_support",
            RecordEmploymentOutcome => "record_employment_outcome",
            MakeReferral => "make_referral",
            FollowUpReferral => "follow_up_referral",
            ConfirmReferral => "confirm_referral",
            RecordIntake => "record_intake",
            AddTeamMember => "add_team_member",
            RemoveTeamMember => "remove_team_member",
            AssignWorker => "assign_worker",
            Restrict => "restrict",
        }
    }

    pub fn parse(name: &str) -> Option<CaseAction> {
        Self::ALL.into_iter().find(|a| a.as_str() == name)
    }

    /// The one Japanese name of the action: the case page's button and form heading, and the
    /// action a refusal names.
    pub fn label_ja(self) -> &'static str {
        use CaseAction::*;
        match self {
            Triage => "振り分け",
            RecordAssessment => "アセスメントシートの記録",
            Screen => "スクリーニング",
            DraftPlan => "プランの作成",
            ModifyPlan => "プランの修正",
            RecordSupportDecision => "支援決定の記録",
            StartSupport => "支援の開始",
            RecordMonitoring => "モニタリングの記録",
            RecordEvaluation => "評価シートの記録",
            Suspend => "支援の中断",
            Resume => "支援の再開",
            Terminate => "終結",
            RecordFollowUp => "フォローアップの記録",
            Reopen => "ケースの再開",
            RecordContact => "支援経過の記録",
            CorrectContact => "支援経過の訂正",
            RecordEmergencySupport => "緊急的な支援の記録",
            RecordEmploymentSupport => "就労支援の記録",
            RecordEmploymentOutcome => "就労・増収の記録",
            MakeReferral => "他機関へのつなぎ",
            FollowUpReferral => "つなぎ先の状況確認",
            ConfirmReferral => "つなぎ先での受け入れ確認",
            RecordIntake => "相談受付・申込票の記録",
            AddTeamMember => "支援チームへの機関の追加",
            RemoveTeamMember => "支援チームからの機関の除外",
            AssignWorker => "担当者の変更",
            Restrict => "閲覧制限の設定",
        }
    }

    /// The stages the action may be taken in: the one table `decide` checks and the case page
    /// reads to offer only what is possible now. Referral follow-up goes on after a case closed
    /// as "referred out"; the team, the worker and the restriction can always be corrected.
    pub fn stages(self) -> &'static [Stage] {
        use CaseAction::*;
        match self {
            RecordIntake | Suspend => ACTIVE,
            Triage => &[Stage::Identified, Stage::Intake],
            RecordAssessment => AFTER_TRIAGE,
            Screen => &[Stage::Assessment],
            // In the decision stage too: revising a plan after a support decision was rejected.
            DraftPlan => &[Stage::Planning, Stage::Decision],
            RecordSupportDecision | StartSupport => &[Stage::Decision],
            RecordMonitoring | ModifyPlan => &[Stage::Support],
            RecordEvaluation => &[Stage::Support, Stage::Suspended],
            Resume => &[Stage::Suspended],
            Terminate => &[Stage::Evaluation, Stage::Suspended],
            RecordFollowUp | Reopen => &[Stage::Closed],
            RecordEmploymentSupport => NOT_CLOSED,
            // A job found after closing is learnt of at the follow-up.
            RecordEmploymentOutcome => AFTER_TRIAGE_OR_CLOSED,
            RecordContact | RecordEmergencySupport | MakeReferral | AddTeamMember => NOT_CLOSED,
            // A mistaken record can be corrected whenever it is found, after closing too.
            CorrectContact | FollowUpReferral | ConfirmReferral | Restrict | RemoveTeamMember
            | AssignWorker => &Stage::ALL,
        }
    }

    /// What the action needs of the caller: changing who works on the case, or who may read
    /// it, is management; the rest is work on the case.
    pub fn access(self) -> Access {
        use CaseAction::*;
        match self {
            AssignWorker | AddTeamMember | RemoveTeamMember | Restrict => Access::Manage,
            Triage
            | RecordAssessment
            | Screen
            | DraftPlan
            | ModifyPlan
            | RecordSupportDecision
            | StartSupport
            | RecordMonitoring
            | RecordEvaluation
            | Suspend
            | Resume
            | Terminate
            | RecordFollowUp
            | Reopen
            | RecordContact
            | CorrectContact
            | RecordEmergencySupport
            | RecordEmploymentSupport
            | RecordEmploymentOutcome
            | MakeReferral
            | FollowUpReferral
            | ConfirmReferral
            | RecordIntake => Access::Write,
        }
    }
}

impl std::fmt::Display for CaseAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl CaseCommand {
    /// Which action the command is.
    pub fn action(&self) -> CaseAction {
        use CaseCommand as C;
        match self {
            C::RecordIntake { .. } => CaseAction::RecordIntake,
            C::Triage { .. } => CaseAction::Triage,
            C::RecordAssessment { .. } => CaseAction::RecordAssessment,
            C::Screen { .. } => CaseAction::Screen,
            C::DraftPlan { .. } => CaseAction::DraftPlan,
            C::ModifyPlan { .. } => CaseAction::ModifyPlan,
            C::RecordSupportDecision { .. } => CaseAction::RecordSupportDecision,
            C::StartSupport { .. } => CaseAction::StartSupport,
            C::RecordContact { .. } => CaseAction::RecordContact,
            C::CorrectContact { .. } => CaseAction::CorrectContact,
            C::RecordMonitoring { .. } => CaseAction::RecordMonitoring,
            C::RecordEvaluation { .. } => CaseAction::RecordEvaluation,
            C::RecordEmergencySupport { .. } => CaseAction::RecordEmergencySupport,
            C::RecordEmploymentSupport { .. } => CaseAction::RecordEmploymentSupport,
            C::RecordEmploymentOutcome { .. } => CaseAction::RecordEmploymentOutcome,
            C::MakeReferral { .. } => CaseAction::MakeReferral,
            C::FollowUpReferral { .. } => CaseAction::FollowUpReferral,
            C::ConfirmReferral { .. } => CaseAction::ConfirmReferral,
            C::Suspend { .. } => CaseAction::Suspend,
            C::Resume { .. } => CaseAction::Resume,
            C::Terminate { .. } => CaseAction::Terminate,
            C::RecordFollowUp { .. } => CaseAction::RecordFollowUp,
            C::Reopen { .. } => CaseAction::Reopen,
            C::Restrict { .. } => CaseAction::Restrict,
            C::AddTeamMember { .. } => CaseAction::AddTeamMember,
            C::RemoveTeamMember { .. } => CaseAction::RemoveTeamMember,
            C::AssignWorker { .. } => CaseAction::AssignWorker,
        }
    }
}

// `ALL` lists every variant once, in declaration order: a variant added without a place in
// `ALL` changes the last discriminant or leaves a slot out of order, and this fails to compile.
const _: () = {
    assert!(CaseAction::ALL.len() == CaseAction::Restrict as usize + 1);
    let mut i = 0;
    while i < CaseAction::ALL.len() {
        assert!(CaseAction::ALL[i] as usize == i);
        i += 1;
    }
};

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back_and_labels_are_distinct() {
        let mut labels = std::collections::HashSet::new();
        for a in CaseAction::ALL {
            assert_eq!(CaseAction::parse(a.as_str()), Some(a));
            assert!(!a.stages().is_empty(), "{a} is allowed in no stage");
            assert!(labels.insert(a.label_ja()), "{a}: label used twice");
        }
        assert_eq!(CaseAction::parse("record_contacts"), None);
    }

    #[test]
    fn the_action_name_is_the_command_serde_tag() {
        let cmd = CaseCommand::Resume {
            resumed_on: jiff::civil::date(2025, 4, 1),
        };
        let json = serde_json::to_value(&cmd).unwrap();
        assert_eq!(json["action"], cmd.action().as_str());
        let cmd = CaseCommand::AssignWorker {
            user_id: crate::UserId(uuid::Uuid::nil()),
        };
        let json = serde_json::to_value(&cmd).unwrap();
        assert_eq!(json["action"], cmd.action().as_str());
        assert_eq!(cmd.action().access(), Access::Manage);
    }
}
