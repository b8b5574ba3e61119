//! What a case has due: derived from its state alone, stored as a projection, read for a date.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::state::CaseState;
use super::types::Stage;
use crate::TenantSettings;

/// Stages a case is meant to pass through. Support runs on its own monitoring schedule (the
/// due list watches it) and closure is the end; a long stay in any other stage is worth a lead
/// worker's look.
pub const PASSING_STAGES: &[Stage] = &[
    Stage::Identified,
    Stage::Intake,
    Stage::Assessment,
    Stage::Planning,
    Stage::Decision,
    Stage::Evaluation,
    Stage::Suspended,
];

/// How many days a case has stayed in its stage, when that is longer than the tenant allows.
pub fn stuck_days(
    stage: Stage,
    since: Date,
    today: Date,
    settings: &TenantSettings,
) -> Option<i64> {
    if !PASSING_STAGES.contains(&stage) {
        return None;
    }
    let days = i64::from((today - since).get_days());
    (days > i64::from(settings.stuck_after_days)).then_some(days)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DueKind {
    /// モニタリング
    Monitoring,
    /// つなぎ先の状況確認
    ReferralFollowUp,
    /// プラン期間の終了（評価）
    PlanPeriodEnd,
    /// 終結後のフォローアップ
    FollowUp,
    /// 次回の約束 (an appointment agreed at a contact)
    Appointment,
}

impl DueKind {
    pub const ALL: [DueKind; 5] = [
        DueKind::Monitoring,
        DueKind::ReferralFollowUp,
        DueKind::PlanPeriodEnd,
        DueKind::FollowUp,
        DueKind::Appointment,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            DueKind::Monitoring => "monitoring",
            DueKind::ReferralFollowUp => "referral_follow_up",
            DueKind::PlanPeriodEnd => "plan_period_end",
            DueKind::FollowUp => "follow_up",
            DueKind::Appointment => "appointment",
        }
    }
    pub fn parse(s: &str) -> Option<DueKind> {
        DueKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
    pub fn label_ja(self) -> &'static str {
        match self {
            DueKind::Monitoring => "モニタリング",
            DueKind::ReferralFollowUp => "つなぎ先の状況確認",
            DueKind::PlanPeriodEnd => "プラン期間の終了",
            DueKind::FollowUp => "終結後のフォローアップ",
            DueKind::Appointment => "次回の約束",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DueItem {
    pub kind: DueKind,
    pub due_on: Date,
    /// The referral this is about, for referral follow-ups.
    pub reference: Option<Uuid>,
}

/// Whether an item due on `due_on` is overdue on `today`: from the day after its date (on the
/// day itself it is due, not late).
pub fn is_overdue(due_on: Date, today: Date) -> bool {
    due_on < today
}

/// Everything the case has due, whatever the date.
pub fn due_items(state: &CaseState) -> Vec<DueItem> {
    let mut items = Vec::new();
    if state.stage == Stage::Support {
        if let Some(due_on) = state.next_monitoring_due_on {
            items.push(DueItem {
                kind: DueKind::Monitoring,
                due_on,
                reference: None,
            });
        }
        if let Some(plan) = &state.current_plan {
            items.push(DueItem {
                kind: DueKind::PlanPeriodEnd,
                due_on: plan.period_to,
                reference: None,
            });
        }
    }
    for referral in state.open_referrals() {
        items.push(DueItem {
            kind: DueKind::ReferralFollowUp,
            due_on: referral.follow_up_on,
            reference: Some(referral.id.0),
        });
    }
    if state.stage != Stage::Closed
        && let Some(due_on) = state.next_appointment_on
    {
        items.push(DueItem {
            kind: DueKind::Appointment,
            due_on,
            reference: None,
        });
    }
    if state.stage == Stage::Closed
        && let Some(due_on) = state.next_follow_up_on
    {
        items.push(DueItem {
            kind: DueKind::FollowUp,
            due_on,
            reference: None,
        });
    }
    items
}

#[cfg(test)]
mod stuck_tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn only_passing_stages_stay_too_long() {
        let settings = TenantSettings::default();
        let today = date(2026, 6, 30);
        let long_ago = date(2026, 4, 1);
        assert_eq!(
            stuck_days(Stage::Assessment, long_ago, today, &settings),
            Some(90)
        );
        assert_eq!(stuck_days(Stage::Support, long_ago, today, &settings), None);
        assert_eq!(stuck_days(Stage::Closed, long_ago, today, &settings), None);
        let recent = date(2026, 6, 1);
        assert_eq!(stuck_days(Stage::Planning, recent, today, &settings), None);
    }
}
