//! Value types of a case.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::{AttachmentId, LongText, MeetingId, OrgId, ReferralId, ShortText};

/// Where a case stands on the process of seed 000 (①–⑬).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// ① 把握・アウトリーチ: known, no intake yet.
    Identified,
    /// ② 包括的相談受付: intake recorded, triage pending.
    Intake,
    /// ⑤ アセスメント (screening ends it).
    Assessment,
    /// ⑥ プラン策定 and ⑦ 支援調整会議: a plan is being drafted or awaits approval.
    Planning,
    /// ⑧ 支援決定: plan approved; waiting for decisions or the start of support.
    Decision,
    /// ⑨⑩ 支援の提供・モニタリング.
    Support,
    /// ⑪ プラン評価: evaluation recorded, awaiting the meeting.
    Evaluation,
    /// 中断.
    Suspended,
    /// ⑬ 終結 (and follow-up), or closed at triage/screening.
    Closed,
}

impl Stage {
    pub const ALL: [Stage; 9] = [
        Stage::Identified,
        Stage::Intake,
        Stage::Assessment,
        Stage::Planning,
        Stage::Decision,
        Stage::Support,
        Stage::Evaluation,
        Stage::Suspended,
        Stage::Closed,
    ];

    pub fn label_ja(self) -> &'static str {
        match self {
            Stage::Identified => "把握・アウトリーチ",
            Stage::Intake => "相談受付・振り分け",
            Stage::Assessment => "アセスメント",
            Stage::Planning => "プラン策定・支援調整会議",
            Stage::Decision => "支援決定",
            Stage::Support => "支援の提供・モニタリング",
            Stage::Evaluation => "プラン評価",
            Stage::Suspended => "中断",
            Stage::Closed => "終結",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Identified => "identified",
            Stage::Intake => "intake",
            Stage::Assessment => "assessment",
            Stage::Planning => "planning",
            Stage::Decision => "decision",
            Stage::Support => "support",
            Stage::Evaluation => "evaluation",
            Stage::Suspended => "suspended",
            Stage::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Stages from which a case can be suspended and in which work goes on.
    pub fn is_active(self) -> bool {
        matches!(
            self,
            Stage::Intake
                | Stage::Assessment
                | Stage::Planning
                | Stage::Decision
                | Stage::Support
                | Stage::Evaluation
        )
    }
}

/// 相談経路: how the case became known.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum IntakeRoute {
    /// 本人（来所）
    SelfVisit,
    /// 本人（電話）
    SelfPhone,
    /// 家族・知人から
    FamilyOrAcquaintance,
    /// 自治体他部署からの紹介 (tax, water, pension, health, education, welfare, …)
    MunicipalDepartment,
    /// 関係機関からの紹介
    RelatedAgency,
    /// アウトリーチ・訪問で発見
    Outreach,
    /// その他
    Other,
}

/// 緊急度.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    Low,
    Normal,
    High,
    /// 緊急: emergency support needed now.
    Emergency,
}

/// One presenting problem (主訴) from the tenant's code list; `main` marks the main one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PresentingProblem {
    pub code: ShortText,
    #[serde(default)]
    pub main: bool,
}

/// 相談受付・申込票: what is known at intake. Everything but the date may still be unknown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Intake {
    pub received_on: Date,
    pub route: IntakeRoute,
    /// Referring department or agency, as named by the referrer.
    #[serde(default)]
    pub referrer: Option<ShortText>,
    #[serde(default)]
    pub presenting_problems: Vec<PresentingProblem>,
    /// 主訴 in the person's words.
    #[serde(default)]
    pub presenting_problem_text: Option<LongText>,
    pub urgency: Urgency,
    /// The date the written application (申込) was received; it may come later.
    #[serde(default)]
    pub application_received_on: Option<Date>,
    /// 来談者: who came when it was not the person (none: the person came).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visitor: Option<Visitor>,
    /// The words of 主訴「その他（ ）」.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other_problem_text: Option<ShortText>,
    /// ■ご本人について (B票): 仕事, 住居, 健康保険, 年金, each from the tenant's list.
    #[serde(default, skip_serializing_if = "Circumstances::is_empty")]
    pub circumstances: Circumstances,
}

/// 来談者: a family member, an acquaintance or a worker who came for the person.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Visitor {
    #[serde(default)]
    pub name: Option<ShortText>,
    /// 関係・続柄 to the person (母, 民生委員, …).
    pub relation: ShortText,
}

/// An answer from a tenant's list, with the words of 「その他（ ）」.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ListAnswer {
    pub code: ShortText,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<ShortText>,
}

/// ■ご本人について of the 相談受付・申込票 (B票); each answer from the tenant's list
/// (`TenantSettings::circumstance_lists`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Circumstances {
    /// 仕事
    #[serde(default)]
    pub work: Option<ListAnswer>,
    /// 住居
    #[serde(default)]
    pub housing: Option<ListAnswer>,
    /// 健康保険
    #[serde(default)]
    pub health_insurance: Option<ListAnswer>,
    /// 年金
    #[serde(default)]
    pub pension: Option<ListAnswer>,
}

impl Circumstances {
    pub fn is_empty(&self) -> bool {
        self == &Circumstances::default()
    }

    /// Each item with its Japanese name, its key (as forms and lists name it) and its answer.
    pub fn items(&self) -> [(&'static str, &'static str, Option<&ListAnswer>); 4] {
        [
            ("work", "仕事", self.work.as_ref()),
            ("housing", "住居", self.housing.as_ref()),
            (
                "health_insurance",
                "健康保険",
                self.health_insurance.as_ref(),
            ),
            ("pension", "年金", self.pension.as_ref()),
        ]
    }
}

/// ① 把握: how and when the person came to notice, before any intake or consent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Identification {
    pub identified_on: Date,
    pub route: IntakeRoute,
    #[serde(default)]
    pub referrer: Option<ShortText>,
    #[serde(default)]
    pub note: Option<LongText>,
}

/// A referral to another agency (他機関へのつなぎ).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReferralInput {
    /// The agency if it is an organisation in the system.
    #[serde(default)]
    pub to_org: Option<OrgId>,
    pub to_name: ShortText,
    pub purpose: LongText,
    pub referred_on: Date,
    /// Whether a worker accompanied the person (同行).
    #[serde(default)]
    pub accompanied: bool,
    /// When to check that the person arrived and is being helped. Required (rule 4);
    /// optional here only so that its absence gets a clear refusal.
    #[serde(default)]
    pub follow_up_on: Option<Date>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Referral {
    pub id: ReferralId,
    pub to_org: Option<OrgId>,
    pub to_name: ShortText,
    pub purpose: LongText,
    pub referred_on: Date,
    pub accompanied: bool,
    pub follow_up_on: Date,
    pub confirmed_on: Option<Date>,
}

/// Life domains of the インテーク・アセスメントシート.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LifeDomains {
    #[serde(default)]
    pub health: Option<LongText>,
    #[serde(default)]
    pub daily_life: Option<LongText>,
    #[serde(default)]
    pub housing: Option<LongText>,
    #[serde(default)]
    pub household_finance: Option<LongText>,
    #[serde(default)]
    pub employment: Option<LongText>,
    #[serde(default)]
    pub family_relations: Option<LongText>,
    #[serde(default)]
    pub social_relations: Option<LongText>,
    #[serde(default)]
    pub legal: Option<LongText>,
    #[serde(default)]
    pub other: Option<LongText>,
}

/// インテーク・アセスメントシート, one version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Assessment {
    pub assessed_on: Date,
    #[serde(default)]
    pub domains: LifeDomains,
    /// 現状の査定 (ベースライン)
    pub baseline: LongText,
    /// 背景の理解
    #[serde(default)]
    pub background: Option<LongText>,
    /// 主要課題
    pub main_issues: LongText,
    /// ストレングス
    #[serde(default)]
    pub strengths: Option<LongText>,
    /// 専門家の意見
    #[serde(default)]
    pub specialist_opinions: Option<LongText>,
    /// 本人の抱える課題: codes of the tenant's checklist (`TenantSettings::assessment_issues`),
    /// beside the free text of `main_issues`.
    #[serde(default)]
    pub issues: Vec<ShortText>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlanItemInput {
    pub description: LongText,
    /// Index into the plan's goals.
    #[serde(default)]
    pub goal: Option<usize>,
    /// Who provides it (this agency, a related agency, the person …).
    pub provider: ShortText,
    /// Responsible person; required (rule 3).
    #[serde(default)]
    pub responsible: Option<ShortText>,
    /// By when; required (rule 3).
    #[serde(default)]
    pub deadline: Option<Date>,
    /// Code of a statutory service from the tenant settings, if this item is one.
    #[serde(default)]
    pub statutory_service: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlanInput {
    pub drafted_on: Date,
    pub goals: Vec<ShortText>,
    pub items: Vec<PlanItemInput>,
    /// 本人の役割
    #[serde(default)]
    pub person_role: Option<LongText>,
    pub period_from: Date,
    pub period_to: Date,
    /// Overrides the tenant's monitoring interval for this plan.
    #[serde(default)]
    pub monitoring_interval_months: Option<u8>,
    /// 就労支援対象: the plan makes the person a subject of employment support (the national
    /// statistics count them, and the employment and income outcomes recorded under this plan).
    #[serde(default)]
    pub employment_support: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlanItem {
    pub description: LongText,
    pub goal: Option<usize>,
    pub provider: ShortText,
    pub responsible: ShortText,
    pub deadline: Date,
    pub statutory_service: Option<String>,
}

/// A plan version (プラン兼事業等利用申込書). Versions are never changed, only superseded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Plan {
    pub version: u32,
    pub drafted_on: Date,
    pub goals: Vec<ShortText>,
    pub items: Vec<PlanItem>,
    pub person_role: Option<LongText>,
    pub period_from: Date,
    pub period_to: Date,
    pub monitoring_interval_months: Option<u8>,
    /// Statutory services that need the municipality's decision.
    pub services_needing_decision: Vec<String>,
    pub approved_by: Option<MeetingId>,
    pub approved_on: Option<Date>,
    /// A プランの修正: a small change made during support, in force at once and reported to
    /// the next coordination meeting (which sets `approved_by`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub modified: bool,
    /// 就労支援対象 (`PlanInput::employment_support`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub employment_support: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DecisionOutcome {
    Approved,
    Rejected,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SupportDecision {
    pub plan_version: u32,
    pub service: String,
    pub outcome: DecisionOutcome,
    pub decided_on: Date,
    pub notice_sent_on: Option<Date>,
}

/// 支援経過記録の種類.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ContactKind {
    /// 面談
    Interview,
    /// 電話
    Phone,
    /// 訪問
    Visit,
    /// 同行
    Accompaniment,
    /// 手続支援
    ProcedureSupport,
    /// 関係機関との連絡
    AgencyLiaison,
    /// 手紙・メール・連絡票
    Letter,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MonitoringKind {
    /// 定期
    Scheduled,
    /// 随時
    AdHoc,
}

/// What a monitoring concluded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MonitoringOutcome {
    /// 継続
    Continue,
    /// プランの修正 (small change, recorded in the note)
    Modify,
    /// 再プラン: back to planning
    Replan,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Attainment {
    Achieved,
    PartlyAchieved,
    NotAchieved,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GoalAttainment {
    pub goal: usize,
    pub attainment: Attainment,
    #[serde(default)]
    pub note: Option<LongText>,
}

/// つながり指標 (MHLW, 2021): five items scored 1–4 together with the person at an
/// evaluation — ①意欲 ②自己肯定感 ③対人関係 ④社会参加 ⑤相談.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConnectionScores {
    pub motivation: u8,
    pub self_esteem: u8,
    pub relationships: u8,
    pub participation: u8,
    pub consultation: u8,
}

impl ConnectionScores {
    /// The items with their Japanese names, in the indicator's order.
    pub fn items(&self) -> [(&'static str, &'static str, u8); 5] {
        [
            ("motivation", "意欲", self.motivation),
            ("self_esteem", "自己肯定感", self.self_esteem),
            ("relationships", "対人関係", self.relationships),
            ("participation", "社会参加", self.participation),
            ("consultation", "相談", self.consultation),
        ]
    }

    /// Each score is 1 to 4.
    pub fn in_range(&self) -> bool {
        self.items().iter().all(|(_, _, v)| (1..=4).contains(v))
    }
}

/// 緊急的な支援 (seed 001 §5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum EmergencyKind {
    /// 生活保護（福祉事務所へつなぐ）
    PublicAssistanceReferral,
    /// 緊急小口資金（社会福祉協議会）
    EmergencySmallLoan,
    /// 一時生活支援事業
    TemporaryLivingSupport,
    /// 住居確保給付金
    HousingSecurityBenefit,
    /// 食料支援などその他
    Other,
}

/// The work of the 就労支援員 (employment support worker) towards a job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum EmploymentSupportKind {
    /// ハローワークへの同行
    HelloWorkAccompaniment,
    /// 履歴書・職務経歴書の作成支援
    CvWriting,
    /// 面接の準備・練習
    InterviewPreparation,
    /// 求人開拓（本人に合う職場を探す・つくる）
    JobDevelopment,
    /// 職場とのマッチング・職業紹介
    Placement,
    /// 就職後の定着支援
    FollowUpAfterEmployment,
    /// その他（職場見学・体験など）
    Other,
}

/// 就労の形態: how the person came to work.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum EmploymentForm {
    /// 一般就労（正社員・契約社員など）
    General,
    /// パート・アルバイト
    PartTime,
    /// 中間的就労・認定就労訓練
    Intermediate,
    /// 自営・起業
    SelfEmployed,
}

/// How much the monthly income rose (増収), in bands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum IncomeBand {
    /// 月1万円未満
    #[serde(rename = "under_10k")]
    Under10k,
    /// 月1万円以上3万円未満
    #[serde(rename = "from_10k_to_30k")]
    From10kTo30k,
    /// 月3万円以上5万円未満
    #[serde(rename = "from_30k_to_50k")]
    From30kTo50k,
    /// 月5万円以上10万円未満
    #[serde(rename = "from_50k_to_100k")]
    From50kTo100k,
    /// 月10万円以上
    #[serde(rename = "over_100k")]
    Over100k,
}

/// An employment outcome (就労 or 増収), two of the national indicators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EmploymentOutcome {
    /// 就労: the person started work.
    Employed { form: EmploymentForm },
    /// 増収: the person's income from work or otherwise rose.
    IncomeIncreased { band: IncomeBand },
}

impl EmploymentOutcome {
    pub fn label_ja(&self) -> String {
        match self {
            EmploymentOutcome::Employed { form } => format!("就労（{}）", form.label_ja()),
            EmploymentOutcome::IncomeIncreased { band } => format!("増収（{}）", band.label_ja()),
        }
    }
}

/// An employment outcome as the case keeps it: with the plan in force when it was recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EmploymentOutcomeRecord {
    pub outcome: EmploymentOutcome,
    pub achieved_on: Date,
    /// The plan version in force when it was recorded (none before the first plan).
    pub plan_version: Option<u32>,
    /// Whether that plan made the person a subject of employment support (就労支援対象): the
    /// national statistics count these apart (「うち就労支援対象プラン作成者分」).
    pub under_employment_support_plan: bool,
}

/// 終結のパターン (seed 001 §12), plus closures at triage/screening.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ClosurePattern {
    /// (1) 困窮状態が解決し自立の目途がたった
    Resolved,
    /// (2) 大きな問題が解消され、他機関が引き継ぐ
    MajorIssuesResolved,
    /// (3) 連絡途絶（中断が続いた）
    ContactLost,
    /// 情報提供のみで終了
    InformationOnly,
    /// 他機関へつないで終了
    ReferredOut,
}

/// The follow-up decision made at termination.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FollowUpPlan {
    NotNeeded {
        reason: LongText,
    },
    Planned {
        first_check_on: Date,
        method: LongText,
    },
}

/// What a coordination meeting concluded about one case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CaseConclusion {
    /// プランの了承.
    PlanApproved { plan_version: u32 },
    /// プランの差し戻し.
    PlanReturned { plan_version: u32, reason: LongText },
    /// 中断の確認.
    SuspensionConfirmed,
    /// 終結の承認.
    TerminationApproved,
    /// 再プラン (after evaluation); `back_to_assessment` when the assessment must be redone.
    ReplanDecided { back_to_assessment: bool },
    /// 情報共有・その他.
    Noted { note: LongText },
}

impl CaseConclusion {
    /// Conclusions only a coordination meeting (支援調整会議) may reach.
    pub fn needs_coordination_meeting(&self) -> bool {
        !matches!(self, CaseConclusion::Noted { .. })
    }
}

/// The most a single attachment may hold (10 MiB): a scanned multi-page form fits; a video
/// does not.
pub const MAX_ATTACHMENT_BYTES: u64 = 10 * 1024 * 1024;

/// What a document attached to a case is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AttachmentKind {
    /// 署名済みの申込書（相談受付・申込票、プラン兼事業等利用申込書）
    SignedApplication,
    /// 本人同意書
    ConsentForm,
    /// 関係機関からの書類・報告
    AgencyDocument,
    /// 本人からの書簡・通知
    Letter,
    Other,
}

/// The file types accepted: what a scanner or a phone camera produces. The type is read from
/// the file's own bytes, never from its name or the browser's claim.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AttachmentType {
    Pdf,
    Jpeg,
    Png,
}

impl AttachmentType {
    pub fn from_mime(mime: &str) -> Option<AttachmentType> {
        match mime {
            "application/pdf" => Some(AttachmentType::Pdf),
            "image/jpeg" => Some(AttachmentType::Jpeg),
            "image/png" => Some(AttachmentType::Png),
            _ => None,
        }
    }

    pub fn mime(self) -> &'static str {
        match self {
            AttachmentType::Pdf => "application/pdf",
            AttachmentType::Jpeg => "image/jpeg",
            AttachmentType::Png => "image/png",
        }
    }

    /// The file name extension of the type.
    pub fn extension(self) -> &'static str {
        match self {
            AttachmentType::Pdf => "pdf",
            AttachmentType::Jpeg => "jpg",
            AttachmentType::Png => "png",
        }
    }
}

/// A document attached to a case: its description as recorded in the case's stream. The bytes
/// are stored beside it under the same id, in the same transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Attachment {
    pub id: AttachmentId,
    pub kind: AttachmentKind,
    /// 書類名, e.g. 「プラン兼事業等利用申込書（署名済）」.
    pub title: ShortText,
    /// The file's name as uploaded, for the download.
    pub filename: ShortText,
    pub file_type: AttachmentType,
    pub size: u64,
    /// SHA-256 of the content, hex: the download is checked against it.
    pub sha256: String,
    /// 受領日: when the document was received or signed.
    pub received_on: Date,
}

/// A case number (ケース番号): unique per tenant and fiscal year, counted from 1 in the order
/// cases were opened (gaps where an opening failed after the number was taken), e.g.
/// 令和8年度-0123.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CaseNumber {
    /// The fiscal year the case was opened in, by its starting year (2026 = 令和8年度).
    pub fiscal_year: i16,
    pub seq: u32,
}

impl CaseNumber {
    /// As pages and prints show it: 令和8年度-0123.
    pub fn label(self) -> String {
        let april = jiff::civil::Date::new(self.fiscal_year, 4, 1).unwrap_or_default();
        format!(
            "{}-{:04}",
            crate::wareki::fiscal_year_label(april),
            self.seq
        )
    }

    /// As stored and compared: 2026-0123.
    pub fn key(self) -> String {
        format!("{:04}-{:04}", self.fiscal_year, self.seq)
    }

    /// Reads the stored form (`key`): 2026-0123.
    pub fn from_key(key: &str) -> Option<CaseNumber> {
        let (fy, seq) = key.split_once('-')?;
        Some(CaseNumber {
            fiscal_year: fy.parse().ok()?,
            seq: seq.parse().ok()?,
        })
    }

    /// Reads a number as a user types it: 令和8年度-0123, R8-123, 2026-0123, full width too.
    pub fn parse(raw: &str) -> Option<CaseNumber> {
        let s: String = raw
            .trim()
            .chars()
            .map(|c| match c {
                '－' | 'ー' | '−' | '‐' | '―' => '-',
                c => c,
            })
            .collect();
        let (fy, seq) = s.rsplit_once('-')?;
        let seq = crate::text::half_width_digits(seq.trim());
        if seq.is_empty() || !seq.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(CaseNumber {
            fiscal_year: crate::wareki::parse_fiscal_year(fy)?,
            seq: seq.parse().ok().filter(|n| *n > 0)?,
        })
    }
}
