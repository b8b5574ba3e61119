//! The one refusal type: every rule the product enforces refuses with a stable code (for the API
//! and for tests) and a Japanese message that tells the worker what to do next.

use crate::case::Stage;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    WrongStage {
        action: &'static str,
        stage: Stage,
    },
    DateInFuture {
        field: &'static str,
    },
    DateOrder {
        earlier: &'static str,
        later: &'static str,
    },
    /// A date before the case was opened (or implausibly early: before 1900).
    DateBeforeCaseOpened {
        field: &'static str,
    },
    DateTooEarly {
        field: &'static str,
    },
    /// A correction of a contact record the case does not have.
    CorrectionNoSuchRecord {
        record: u32,
    },
    IntakeMultipleMainProblems,
    /// A 主訴 code that is not in the tenant's list.
    /// An answer of ■ご本人について the tenant's list does not have.
    IntakeUnknownChoice {
        field: &'static str,
        code: String,
    },
    IntakeUnknownProblem {
        code: String,
    },
    IntakeNotRecorded,
    AssessmentNotRecorded,
    PlanNoGoals,
    PlanNoItems,
    /// Rule 3: a plan item needs a responsible party and a deadline.
    PlanItemIncomplete {
        item: usize,
        missing_responsible: bool,
        missing_deadline: bool,
    },
    PlanGoalReference {
        item: usize,
    },
    PlanUnknownStatutoryService {
        code: String,
    },
    PlanVersionNotLatest,
    /// プランの修正 is a small change: adding or dropping a service that needs the
    /// municipality's decision is a re-plan.
    PlanModificationChangesServices,
    /// プランの修正 that changes nothing.
    PlanUnchanged,
    /// Rule 1: a plan is in force only after a coordination meeting approved it.
    PlanNeedsMeetingApproval,
    /// Rule 1: statutory services need the municipality's support decision.
    SupportAwaitingDecision {
        services: Vec<String>,
    },
    DecisionRequiresMunicipality,
    DecisionServiceNotInPlan {
        code: String,
    },
    DecisionAlreadyMade {
        code: String,
    },
    /// A statutory service of the plan in force was rejected: the plan must be revised first.
    SupportServiceRejected {
        services: Vec<String>,
    },
    /// A plan item's deadline before the plan was drafted.
    PlanItemDeadlineBeforeDraft {
        item: usize,
    },
    /// A termination needs its follow-up decision (planned checks, or none with a reason).
    TerminationNeedsFollowUp,
    /// Rule 4: a referral carries a follow-up date.
    ReferralNeedsFollowUpDate,
    ReferralNotFound,
    ReferralAlreadyConfirmed,
    ConsentNotFound,
    ConsentAlreadyWithdrawn,
    ConsentNoOrganisations,
    /// Rule 5: information goes to another organisation only with consent covering it.
    TeamNeedsConsent,
    RestrictionExcludesSelf,
    RestrictionNotNamed,
    /// A move into the household the person already belongs to.
    HouseholdUnchanged,
    /// A person merged into another is recorded on through the one it was merged into.
    PersonMerged,
    PersonMergeSelf,
    /// Persons merged into this one would be left pointing at a merged person.
    PersonMergeChain,
    PersonNotMerged,
    TeamAlreadyMember,
    TeamNotMember,
    TeamCannotRemoveOwner,
    MeetingCaseNotOnAgenda,
    MeetingCaseAlreadyOnAgenda,
    MeetingCannotApprove,
    MeetingNeedsMunicipality,
    MeetingClosed,
    MeetingUnexpectedConclusion,
    /// Rule 6: suspension needs recorded attempts to reach the person.
    SuspensionNeedsContactAttempts {
        required: u8,
        recorded: u32,
    },
    SuspensionNotConfirmed,
    TerminationNeedsIntention,
    TerminationNeedsMeetingApproval,
    TerminationNeedsEvaluation,
    TerminationOpenReferrals {
        count: usize,
    },
    TerminationSuspensionTooShort {
        days_required: u16,
    },
    TerminationPatternMismatch,
    EvaluationUnknownGoal,
    EvaluationNoPlan,
    /// A 見られた変化 code the tenant's list does not have.
    EvaluationUnknownChange {
        code: String,
    },
    /// A つながり指標 score outside 1–4.
    EvaluationScoreOutOfRange,
    /// A 郵便番号 that is not seven digits.
    PostalCodeInvalid,
    /// An e-mail address that is not one.
    EmailInvalid,
    /// A 本人の抱える課題 code the tenant's checklist does not have.
    AssessmentUnknownIssue {
        code: String,
    },
    AttachmentEmpty,
    AttachmentTooLarge {
        max_bytes: u64,
    },
    /// The file is not one of the accepted types (PDF, JPEG, PNG) by its content.
    AttachmentTypeNotAllowed,
    AttachmentAlreadyAdded,
}

impl Refusal {
    /// The input a refusal is about, as a path into the command (`plan.items.1.deadline`,
    /// zero-based), so a form can put the message beside the right field and an integrator can
    /// point at it. `None` when the refusal is about the case rather than one input.
    pub fn field(&self) -> Option<String> {
        use Refusal::*;
        Some(match self {
            PlanNoGoals => "plan.goals".into(),
            PlanNoItems => "plan.items".into(),
            PlanItemIncomplete {
                item,
                missing_responsible,
                ..
            } => format!(
                "plan.items.{item}.{}",
                if *missing_responsible {
                    "responsible"
                } else {
                    "deadline"
                }
            ),
            PlanGoalReference { item } => format!("plan.items.{item}.goal"),
            PlanItemDeadlineBeforeDraft { item } => format!("plan.items.{item}.deadline"),
            _ => return None,
        })
    }

    /// Stable machine-readable code. Never change an existing one: integrators depend on it.
    pub fn code(&self) -> &'static str {
        use Refusal::*;
        match self {
            WrongStage { .. } => "case.wrong_stage",
            DateInFuture { .. } => "date.in_future",
            DateOrder { .. } => "date.order",
            IntakeMultipleMainProblems => "intake.multiple_main_problems",
            CorrectionNoSuchRecord { .. } => "correction.no_such_record",
            DateBeforeCaseOpened { .. } => "date.before_case_opened",
            DateTooEarly { .. } => "date.too_early",
            IntakeUnknownProblem { .. } => "intake.unknown_problem",
            IntakeUnknownChoice { .. } => "intake.unknown_choice",
            SupportServiceRejected { .. } => "support.service_rejected",
            PlanItemDeadlineBeforeDraft { .. } => "plan.item_deadline_before_draft",
            TerminationNeedsFollowUp => "termination.needs_follow_up",
            IntakeNotRecorded => "intake.not_recorded",
            AssessmentNotRecorded => "assessment.not_recorded",
            PlanNoGoals => "plan.no_goals",
            PlanNoItems => "plan.no_items",
            PlanItemIncomplete { .. } => "plan.item_incomplete",
            PlanGoalReference { .. } => "plan.goal_reference",
            PlanUnknownStatutoryService { .. } => "plan.unknown_statutory_service",
            PlanVersionNotLatest => "plan.version_not_latest",
            PlanModificationChangesServices => "plan.modification_changes_services",
            PlanUnchanged => "plan.unchanged",
            PlanNeedsMeetingApproval => "plan.needs_meeting_approval",
            SupportAwaitingDecision { .. } => "support.awaiting_decision",
            DecisionRequiresMunicipality => "decision.requires_municipality",
            DecisionServiceNotInPlan { .. } => "decision.service_not_in_plan",
            DecisionAlreadyMade { .. } => "decision.already_made",
            ReferralNeedsFollowUpDate => "referral.needs_follow_up_date",
            ReferralNotFound => "referral.not_found",
            ReferralAlreadyConfirmed => "referral.already_confirmed",
            ConsentNotFound => "consent.not_found",
            ConsentAlreadyWithdrawn => "consent.already_withdrawn",
            ConsentNoOrganisations => "consent.no_organisations",
            TeamNeedsConsent => "team.needs_consent",
            RestrictionExcludesSelf => "restriction.excludes_self",
            RestrictionNotNamed => "restriction.not_named",
            HouseholdUnchanged => "household.unchanged",
            PersonMerged => "person.merged",
            PersonMergeSelf => "person.merge_self",
            PersonMergeChain => "person.merge_chain",
            PersonNotMerged => "person.not_merged",
            TeamAlreadyMember => "team.already_member",
            TeamNotMember => "team.not_member",
            TeamCannotRemoveOwner => "team.cannot_remove_owner",
            MeetingCaseNotOnAgenda => "meeting.case_not_on_agenda",
            MeetingCaseAlreadyOnAgenda => "meeting.case_already_on_agenda",
            MeetingCannotApprove => "meeting.cannot_approve",
            MeetingNeedsMunicipality => "meeting.needs_municipality",
            MeetingClosed => "meeting.closed",
            MeetingUnexpectedConclusion => "meeting.unexpected_conclusion",
            SuspensionNeedsContactAttempts { .. } => "suspension.needs_contact_attempts",
            SuspensionNotConfirmed => "suspension.not_confirmed",
            TerminationNeedsIntention => "termination.needs_intention",
            TerminationNeedsMeetingApproval => "termination.needs_meeting_approval",
            TerminationNeedsEvaluation => "termination.needs_evaluation",
            TerminationOpenReferrals { .. } => "termination.open_referrals",
            TerminationSuspensionTooShort { .. } => "termination.suspension_too_short",
            TerminationPatternMismatch => "termination.pattern_mismatch",
            EvaluationUnknownGoal => "evaluation.unknown_goal",
            EvaluationNoPlan => "evaluation.no_plan",
            EvaluationUnknownChange { .. } => "evaluation.unknown_change",
            EvaluationScoreOutOfRange => "evaluation.score_out_of_range",
            AssessmentUnknownIssue { .. } => "assessment.unknown_issue",
            PostalCodeInvalid => "person.postal_code_invalid",
            EmailInvalid => "person.email_invalid",
            AttachmentEmpty => "attachment.empty",
            AttachmentTooLarge { .. } => "attachment.too_large",
            AttachmentTypeNotAllowed => "attachment.type_not_allowed",
            AttachmentAlreadyAdded => "attachment.already_added",
        }
    }

    /// The Japanese message shown to the worker: what is wrong and what to do.
    pub fn message(&self) -> String {
        use Refusal::*;
        match self {
            WrongStage { action, stage } => format!(
                "現在の段階（{}）では「{}」は行えません。ケースの段階を確認してください。",
                stage.label_ja(),
                action
            ),
            DateInFuture { field } => format!("{field}に未来の日付は指定できません。"),
            DateOrder { earlier, later } => {
                format!("{later}は{earlier}より後の日付にしてください。")
            }
            IntakeMultipleMainProblems => "主訴として印を付けられるのは1つだけです。".into(),
            CorrectionNoSuchRecord { record } => format!(
                "訂正する支援経過（記録番号{record}）がこのケースにありません。経過記録の番号を確認してください。"
            ),
            DateBeforeCaseOpened { field } => {
                format!("{field}にケースを開始した日より前の日付は指定できません。")
            }
            DateTooEarly { field } => {
                format!("{field}の日付が古すぎます（1900年より後の日付を指定してください）。")
            }
            IntakeUnknownChoice { field, code } => format!(
                "{field}の「{code}」は選択肢にありません。一覧から選んでください。"
            ),
            IntakeUnknownProblem { code } => format!(
                "主訴「{code}」は主訴の一覧にありません。一覧から選んでください。"
            ),
            SupportServiceRejected { services } => format!(
                "{}は支援決定で却下されました。プランを見直し、支援調整会議の了承と支援決定を得てから支援を開始してください。",
                services.join("、")
            ),
            PlanItemDeadlineBeforeDraft { item } => format!(
                "プランの{}番目の項目の期限が、プランの作成日より前になっています。",
                item + 1
            ),
            TerminationNeedsFollowUp => {
                "終結後のフォローアップの方針（予定日、または行わない理由）を入力してください。".into()
            }
            IntakeNotRecorded => {
                "振り分けの前に相談受付（相談受付・申込票）を記録してください。".into()
            }
            AssessmentNotRecorded => "スクリーニングの前にアセスメントを記録してください。".into(),
            PlanNoGoals => "プランには目標を1つ以上記入してください。".into(),
            PlanNoItems => "プランには支援内容を1つ以上記入してください。".into(),
            PlanItemIncomplete {
                item,
                missing_responsible,
                missing_deadline,
            } => {
                let what = match (missing_responsible, missing_deadline) {
                    (true, true) => "担当者（責任者）と期限",
                    (true, false) => "担当者（責任者）",
                    _ => "期限",
                };
                format!(
                    "支援内容{}に{}がありません。責任者と期限のない項目はプランに入れられません。",
                    item + 1,
                    what
                )
            }
            PlanGoalReference { item } => {
                format!("支援内容{}が存在しない目標を参照しています。", item + 1)
            }
            PlanUnknownStatutoryService { code } => format!(
                "法定サービス「{code}」はこの自治体の設定にありません。管理者に確認してください。"
            ),
            PlanVersionNotLatest => {
                "このプランは最新の版ではありません。最新の版を会議にかけてください。".into()
            }
            PlanModificationChangesServices => {
                "支援決定が必要な法に基づく事業を加えたり外したりするときは、プランの修正ではなく再プランにしてください（モニタリングの結果で「再プラン」を選びます）。"
                    .into()
            }
            PlanUnchanged => {
                "プランに変更がありません。変える内容を入力してから保存してください。".into()
            }
            PlanNeedsMeetingApproval => {
                "プランは支援調整会議で了承されるまで実施できません。会議の議題に加えてください。"
                    .into()
            }
            SupportAwaitingDecision { services } => format!(
                "法定サービス（{}）について自治体の支援決定がまだです。支援決定を記録してから支援を開始してください。",
                services.join("、")
            ),
            DecisionRequiresMunicipality => "支援決定は自治体の職員だけが記録できます。".into(),
            DecisionServiceNotInPlan { code } => {
                format!("法定サービス「{code}」は了承されたプランに含まれていません。")
            }
            DecisionAlreadyMade { code } => {
                format!("法定サービス「{code}」の支援決定は記録済みです。")
            }
            ReferralNeedsFollowUpDate => {
                "他機関へのつなぎには、つなぎ先の状況を確認する日（フォローアップ日）が必要です。"
                    .into()
            }
            ReferralNotFound => "指定されたつなぎ（紹介）の記録が見つかりません。".into(),
            ReferralAlreadyConfirmed => "このつなぎは受け入れ確認済みです。".into(),
            ConsentNotFound => "指定された同意の記録が見つかりません。".into(),
            ConsentAlreadyWithdrawn => "この同意はすでに撤回されています。".into(),
            ConsentNoOrganisations => "同意の対象となる機関を1つ以上選んでください。".into(),
            HouseholdUnchanged => "この方はすでにその世帯に属しています。".into(),
            PersonMerged => {
                "この相談者は別の相談者に統合されています。統合先の相談者で記録してください（統合は取り消せます）。"
                    .into()
            }
            PersonMergeSelf => "同じ相談者どうしは統合できません。".into(),
            PersonMergeChain => {
                "統合する相談者には、すでに統合された相談者がいます。先にその統合を取り消してください。"
                    .into()
            }
            PersonNotMerged => "この相談者はこの統合先に統合されていません。".into(),
            RestrictionExcludesSelf => {
                "閲覧制限の対象者に自分自身を含めてください（含めないと自分も閲覧できなくなります）。"
                    .into()
            }
            RestrictionNotNamed => {
                "この閲覧制限は、制限の対象者として指定された職員だけが変更できます。".into()
            }
            TeamNeedsConsent => {
                "この機関と情報を共有する本人の同意がありません。先に本人同意を記録してください。"
                    .into()
            }
            TeamAlreadyMember => "この機関はすでに支援チームに入っています。".into(),
            TeamNotMember => "この機関は支援チームに入っていません。".into(),
            TeamCannotRemoveOwner => "ケースを担当する機関はチームから外せません。".into(),
            MeetingCaseNotOnAgenda => "このケースは会議の議題に入っていません。".into(),
            MeetingCaseAlreadyOnAgenda => "このケースはすでに会議の議題に入っています。".into(),
            MeetingCannotApprove => {
                "担当者会議ではプランの了承・終結の承認はできません。支援調整会議にかけてください。"
                    .into()
            }
            MeetingNeedsMunicipality => {
                "自治体の出席が記録されていません。支援調整会議には自治体が参画します。".into()
            }
            MeetingClosed => "この会議は終了しています。".into(),
            MeetingUnexpectedConclusion => {
                "この会議結果は、ケースの現在の段階に合いません。".into()
            }
            SuspensionNeedsContactAttempts { required, recorded } => format!(
                "中断には本人への連絡の試みの記録が{required}回以上必要です（現在{recorded}回）。連絡がつかなかった記録を残してください。"
            ),
            SuspensionNotConfirmed => "中断はまだ支援調整会議で確認されていません。".into(),
            TerminationNeedsIntention => "終結には本人の意向の記録が必要です。".into(),
            TerminationNeedsMeetingApproval => {
                "終結には支援調整会議の承認が必要です。会議の議題に加えてください。".into()
            }
            TerminationNeedsEvaluation => {
                "終結の前にプラン評価（評価シート）を記録してください。".into()
            }
            TerminationOpenReferrals { count } => format!(
                "受け入れが確認されていないつなぎが{count}件あります。つなぎ先での状況を確認してから終結してください。"
            ),
            TerminationSuspensionTooShort { days_required } => format!(
                "連絡途絶による終結は、中断から{days_required}日以上たってからにしてください。連絡がないことだけで終結はできません。"
            ),
            TerminationPatternMismatch => {
                "連絡途絶による終結は中断中のケースだけ、それ以外の終結は評価後のケースだけです。"
                    .into()
            }
            EvaluationUnknownGoal => "評価に、プランにない目標が含まれています。".into(),
            EvaluationNoPlan => "評価するプランがありません。".into(),
            EvaluationUnknownChange { code } => format!(
                "見られた変化「{code}」は選択肢にありません。一覧から選んでください。"
            ),
            EvaluationScoreOutOfRange => {
                "つながり指標は、各項目を1〜4で選んでください。".into()
            }
            PostalCodeInvalid => {
                "郵便番号は7桁の数字で入力してください（例: 100-0001）。".into()
            }
            EmailInvalid => {
                "メールアドレスの形が正しくありません（例: name@example.jp）。".into()
            }
            AssessmentUnknownIssue { code } => format!(
                "本人の抱える課題「{code}」は選択肢にありません。一覧から選んでください。"
            ),
            AttachmentEmpty => "ファイルが空です。添付するファイルを選んでください。".into(),
            AttachmentTooLarge { max_bytes } => format!(
                "ファイルが大きすぎます。添付できるのは1件{}MBまでです。解像度を下げて読み取り直すか、分けて添付してください。",
                max_bytes / (1024 * 1024)
            ),
            AttachmentTypeNotAllowed => {
                "添付できるのはPDF・JPEG・PNGのファイルです。スキャナーや写真の形式を確認してください。"
                    .into()
            }
            AttachmentAlreadyAdded => "この書類はすでに添付されています。".into(),
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code(), self.message())
    }
}

impl std::error::Error for Refusal {}

#[cfg(test)]
mod tests {
    use super::*;

    /// One of each refusal (a new variant belongs here: its code and message are then pinned).
    fn one_of_each() -> Vec<Refusal> {
        use Refusal::*;
        vec![
            WrongStage {
                action: "振り分け",
                stage: Stage::Support,
            },
            DateInFuture { field: "受付日" },
            DateOrder {
                earlier: "受付日",
                later: "振り分け日",
            },
            DateBeforeCaseOpened { field: "受付日" },
            DateTooEarly { field: "受付日" },
            IntakeMultipleMainProblems,
            CorrectionNoSuchRecord { record: 3 },
            IntakeUnknownChoice {
                field: "仕事",
                code: "code_x".into(),
            },
            IntakeUnknownProblem {
                code: "code_x".into(),
            },
            IntakeNotRecorded,
            AssessmentNotRecorded,
            PlanNoGoals,
            PlanNoItems,
            PlanItemIncomplete {
                item: 2,
                missing_responsible: true,
                missing_deadline: true,
            },
            PlanGoalReference { item: 2 },
            PlanUnknownStatutoryService {
                code: "code_x".into(),
            },
            EvaluationUnknownChange {
                code: "code_x".into(),
            },
            EvaluationScoreOutOfRange,
            AssessmentUnknownIssue {
                code: "code_x".into(),
            },
            PostalCodeInvalid,
            EmailInvalid,
            PlanVersionNotLatest,
            PlanModificationChangesServices,
            PlanUnchanged,
            PlanNeedsMeetingApproval,
            SupportAwaitingDecision {
                services: vec!["service_a".into()],
            },
            DecisionRequiresMunicipality,
            DecisionServiceNotInPlan {
                code: "code_x".into(),
            },
            DecisionAlreadyMade {
                code: "code_x".into(),
            },
            SupportServiceRejected {
                services: vec!["service_a".into()],
            },
            PlanItemDeadlineBeforeDraft { item: 2 },
            TerminationNeedsFollowUp,
            ReferralNeedsFollowUpDate,
            ReferralNotFound,
            ReferralAlreadyConfirmed,
            ConsentNotFound,
            ConsentAlreadyWithdrawn,
            ConsentNoOrganisations,
            TeamNeedsConsent,
            RestrictionExcludesSelf,
            RestrictionNotNamed,
            HouseholdUnchanged,
            PersonMerged,
            PersonMergeSelf,
            PersonMergeChain,
            PersonNotMerged,
            TeamAlreadyMember,
            TeamNotMember,
            TeamCannotRemoveOwner,
            MeetingCaseNotOnAgenda,
            MeetingCaseAlreadyOnAgenda,
            MeetingCannotApprove,
            MeetingNeedsMunicipality,
            MeetingClosed,
            MeetingUnexpectedConclusion,
            SuspensionNeedsContactAttempts {
                required: 3,
                recorded: 1,
            },
            SuspensionNotConfirmed,
            TerminationNeedsIntention,
            TerminationNeedsMeetingApproval,
            TerminationNeedsEvaluation,
            TerminationOpenReferrals { count: 2 },
            TerminationSuspensionTooShort { days_required: 90 },
            TerminationPatternMismatch,
            EvaluationUnknownGoal,
            EvaluationNoPlan,
            AttachmentEmpty,
            AttachmentTooLarge {
                max_bytes: 10_485_760,
            },
            AttachmentTypeNotAllowed,
            AttachmentAlreadyAdded,
        ]
    }

    /// The codes integrators depend on and the Japanese messages, pinned: a changed code or
    /// message shows here as a snapshot difference. Codes are distinct.
    #[test]
    fn refusal_codes_and_messages_are_pinned() {
        let all = one_of_each();
        let mut codes = std::collections::BTreeSet::new();
        let mut listing = String::new();
        for r in &all {
            assert!(codes.insert(r.code()), "{} used twice", r.code());
            assert!(!r.message().is_empty());
            listing.push_str(&format!("{}\t{}\n", r.code(), r.message()));
        }
        insta::assert_snapshot!("refusal_codes", listing);
    }
}
