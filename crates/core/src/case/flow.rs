//! The national flow of 自立相談支援事業の手引き (①–⑬) and where a case stands in it: the case
//! page's 支援の流れ, read from the folded state.

use super::state::CaseState;
use super::types::Stage;

/// Where a case is relative to one step of the flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepState {
    Done,
    Current,
    Todo,
}

impl StepState {
    pub fn as_str(self) -> &'static str {
        match self {
            StepState::Done => "done",
            StepState::Current => "current",
            StepState::Todo => "todo",
        }
    }
}

impl std::fmt::Display for StepState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One step of the flow with the case's place in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlowStep {
    pub mark: &'static str,
    pub label: &'static str,
    pub state: StepState,
}

/// The thirteen steps of the national flow.
pub const FLOW: [(&str, &str); 13] = [
    ("①", "把握・アウトリーチ"),
    ("②", "包括的相談受付"),
    ("③", "他機関へのつなぎ"),
    ("④", "申込み"),
    ("⑤", "アセスメント"),
    ("⑥", "プラン案の作成"),
    ("⑦", "支援調整会議"),
    ("⑧", "支援決定"),
    ("⑨", "支援の提供"),
    ("⑩", "モニタリング"),
    ("⑪", "プラン評価"),
    ("⑫", "再プラン"),
    ("⑬", "終結"),
];

/// The flow with where the case stands: the step (or, in support, the two steps) it is at now,
/// the steps behind it done; a referral (③) and the written application (④) are done when
/// they happened, whatever the stage; a suspended case is shown at the stage it left.
pub fn flow(s: &CaseState) -> [FlowStep; 13] {
    let stage = match s.stage {
        Stage::Suspended => s.suspension.as_ref().map_or(Stage::Support, |x| x.from),
        other => other,
    };
    let replanning = s.current_plan.is_some() || s.evaluation.is_some();
    let current: &[usize] = match stage {
        Stage::Identified => &[1],
        Stage::Intake => &[2],
        Stage::Assessment => &[5],
        Stage::Planning if s.draft_plan.is_some() => &[7],
        Stage::Planning if replanning => &[12],
        Stage::Planning => &[6],
        Stage::Decision => &[8],
        Stage::Support => &[9, 10],
        Stage::Evaluation => &[11],
        Stage::Suspended => &[],
        Stage::Closed => &[13],
    };
    let reached = current.iter().copied().max().unwrap_or(1);
    std::array::from_fn(|i| {
        let n = i + 1;
        let (mark, label) = FLOW[i];
        let done = match n {
            3 => !s.referrals.is_empty(),
            4 => s
                .intake
                .as_ref()
                .is_some_and(|i| i.application_received_on.is_some()),
            12 => replanning && reached > 12,
            _ => n < reached,
        };
        FlowStep {
            mark,
            label,
            state: if current.contains(&n) {
                StepState::Current
            } else if done {
                StepState::Done
            } else {
                StepState::Todo
            },
        }
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::case::{OpenCase, Suspension, open};
    use crate::{Actor, Context, OrgId, OrgKind, PersonId, Role, TenantId, TenantSettings, UserId};
    use jiff::civil::date;
    use uuid::Uuid;

    fn states(s: &CaseState) -> String {
        flow(s)
            .iter()
            .map(|x| match x.state {
                StepState::Done => 'x',
                StepState::Current => '*',
                StepState::Todo => '.',
            })
            .collect()
    }

    #[test]
    fn the_flow_marks_the_step_a_case_is_at_and_those_behind_it() {
        let actor = Actor {
            tenant_id: TenantId(Uuid::from_u128(1)),
            user_id: UserId(Uuid::from_u128(2)),
            org_id: OrgId(Uuid::from_u128(3)),
            org_kind: OrgKind::SupportAgency,
            role: Role::SupportWorker,
        };
        let settings = TenantSettings::default();
        let ctx = Context {
            today: date(2026, 4, 1),
            actor: &actor,
            settings: &settings,
            consents: &[],
        };
        let opened = open(
            OpenCase {
                person_id: PersonId(Uuid::from_u128(4)),
                identification: None,
                intake: None,
            },
            &ctx,
        )
        .unwrap();
        let mut s = CaseState::fold(opened.iter()).unwrap();
        assert_eq!(states(&s), "*............");
        s.stage = Stage::Assessment;
        // ③ and ④ are done only when a referral or a written application happened.
        assert_eq!(states(&s), "xx..*........");
        s.stage = Stage::Support;
        assert_eq!(states(&s), "xx..xxxx**...");
        // A case suspended during support stays shown where it left off.
        s.stage = Stage::Suspended;
        s.suspension = Some(Suspension {
            suspended_on: date(2026, 4, 1),
            from: Stage::Support,
            confirmed_on: None,
        });
        assert_eq!(states(&s), "xx..xxxx**...");
        // ⑫ 再プラン is done only when there was a plan before.
        s.stage = Stage::Closed;
        assert_eq!(states(&s), "xx..xxxxxxx.*");
    }
}
