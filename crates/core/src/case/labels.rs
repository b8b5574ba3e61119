//! Codes and Japanese labels of the case's code lists, for forms and printed sheets. The code is
//! the same snake_case name serde uses, so a form value and a JSON value are the same string.

use super::types::*;
use crate::meeting::{AgendaPurpose, MeetingKind};

macro_rules! labels {
    ($($ty:ident { $($variant:ident => ($code:literal, $label:literal),)* })*) => {
        $(
            impl $ty {
                pub const ALL: &'static [$ty] = &[$($ty::$variant),*];

                pub fn as_str(self) -> &'static str {
                    match self { $($ty::$variant => $code,)* }
                }

                pub fn label_ja(self) -> &'static str {
                    match self { $($ty::$variant => $label,)* }
                }

                pub fn parse(code: &str) -> Option<$ty> {
                    Self::ALL.iter().copied().find(|v| v.as_str() == code)
                }
            }
        )*
    };
}

labels! {
    AttachmentKind {
        SignedApplication => ("signed_application", "署名済みの申込書"),
        ConsentForm => ("consent_form", "本人同意書"),
        AgencyDocument => ("agency_document", "関係機関からの書類"),
        Letter => ("letter", "本人からの書簡・届出"),
        Other => ("other", "その他"),
    }
    IntakeRoute {
        SelfVisit => ("self_visit", "本人（来所）"),
        SelfPhone => ("self_phone", "本人（電話）"),
        FamilyOrAcquaintance => ("family_or_acquaintance", "家族・知人から"),
        MunicipalDepartment => ("municipal_department", "自治体の他部署からの紹介"),
        RelatedAgency => ("related_agency", "関係機関からの紹介"),
        Outreach => ("outreach", "アウトリーチ・訪問で把握"),
        Other => ("other", "その他"),
    }
    Urgency {
        Low => ("low", "低"),
        Normal => ("normal", "中"),
        High => ("high", "高"),
        Emergency => ("emergency", "緊急"),
    }
    ContactKind {
        Interview => ("interview", "面談"),
        Phone => ("phone", "電話"),
        Visit => ("visit", "訪問"),
        Accompaniment => ("accompaniment", "同行"),
        ProcedureSupport => ("procedure_support", "手続支援"),
        AgencyLiaison => ("agency_liaison", "関係機関との連絡"),
        Letter => ("letter", "手紙・メール・連絡票"),
    }
    MonitoringKind {
        Scheduled => ("scheduled", "定期"),
        AdHoc => ("ad_hoc", "随時"),
    }
    MonitoringOutcome {
        Continue => ("continue", "継続"),
        Modify => ("modify", "プランの修正"),
        Replan => ("replan", "再プラン"),
    }
    Attainment {
        Achieved => ("achieved", "達成"),
        PartlyAchieved => ("partly_achieved", "一部達成"),
        NotAchieved => ("not_achieved", "未達成"),
    }
    EmergencyKind {
        PublicAssistanceReferral => ("public_assistance_referral", "生活保護（福祉事務所へつなぐ）"),
        EmergencySmallLoan => ("emergency_small_loan", "緊急小口資金（社会福祉協議会）"),
        TemporaryLivingSupport => ("temporary_living_support", "一時生活支援事業"),
        HousingSecurityBenefit => ("housing_security_benefit", "住居確保給付金"),
        Other => ("other", "食料支援などその他"),
    }
    EmploymentSupportKind {
        HelloWorkAccompaniment => ("hello_work_accompaniment", "ハローワークへの同行"),
        CvWriting => ("cv_writing", "履歴書・職務経歴書の作成支援"),
        InterviewPreparation => ("interview_preparation", "面接の準備・練習"),
        JobDevelopment => ("job_development", "求人開拓"),
        Placement => ("placement", "マッチング・職業紹介"),
        FollowUpAfterEmployment => ("follow_up_after_employment", "就職後の定着支援"),
        Other => ("other", "その他（職場見学・体験など）"),
    }
    EmploymentForm {
        General => ("general", "一般就労"),
        PartTime => ("part_time", "パート・アルバイト"),
        Intermediate => ("intermediate", "中間的就労・就労訓練"),
        SelfEmployed => ("self_employed", "自営・起業"),
    }
    IncomeBand {
        Under10k => ("under_10k", "月1万円未満"),
        From10kTo30k => ("from_10k_to_30k", "月1万円以上3万円未満"),
        From30kTo50k => ("from_30k_to_50k", "月3万円以上5万円未満"),
        From50kTo100k => ("from_50k_to_100k", "月5万円以上10万円未満"),
        Over100k => ("over_100k", "月10万円以上"),
    }
    ClosurePattern {
        Resolved => ("resolved", "困窮状態が解決し自立の目途が立った"),
        MajorIssuesResolved => ("major_issues_resolved", "大きな課題が解消され他機関が引き継ぐ"),
        ContactLost => ("contact_lost", "連絡途絶（中断の継続）"),
        InformationOnly => ("information_only", "情報提供のみで終了"),
        ReferredOut => ("referred_out", "他機関へつないで終了"),
    }
    MeetingKind {
        CoordinationMeeting => ("coordination_meeting", "支援調整会議"),
        SupportMeeting => ("support_meeting", "支援会議"),
        CaseConference => ("case_conference", "担当者会議"),
    }
    AgendaPurpose {
        PlanReview => ("plan_review", "プランの適切性の協議"),
        PlanSharing => ("plan_sharing", "プランの共有"),
        Evaluation => ("evaluation", "プラン評価・終結"),
        SuspensionReview => ("suspension_review", "中断の確認"),
        CommunityResources => ("community_resources", "社会資源の把握と創出"),
    }
    DecisionOutcome {
        Approved => ("approved", "支援決定"),
        Rejected => ("rejected", "却下"),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_serde_names() {
        for r in IntakeRoute::ALL {
            let json = serde_json::to_value(r).unwrap();
            assert_eq!(json, r.as_str());
            assert_eq!(IntakeRoute::parse(r.as_str()), Some(*r));
        }
        for k in ContactKind::ALL {
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
        for p in ClosurePattern::ALL {
            assert_eq!(serde_json::to_value(p).unwrap(), p.as_str());
        }
        for e in EmergencyKind::ALL {
            assert_eq!(serde_json::to_value(e).unwrap(), e.as_str());
        }
        for k in EmploymentSupportKind::ALL {
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
        for f in EmploymentForm::ALL {
            assert_eq!(serde_json::to_value(f).unwrap(), f.as_str());
        }
        for b in IncomeBand::ALL {
            assert_eq!(serde_json::to_value(b).unwrap(), b.as_str());
        }
    }
}
