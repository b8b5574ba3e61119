//! Decisions: a command and the current state in, events or a refusal out.
//! Every rule of DOMAIN.md "Rules the product enforces" lives here (and in `meeting`).

use jiff::civil::Date;
use jiff::{Span, ToSpan};
use uuid::Uuid;

use super::command::{CaseCommand, OpenCase, Termination, TriageOutcome};
use super::event::CaseEvent;
use super::state::CaseState;
use super::types::*;
use crate::meeting::MeetingKind;
use crate::{Context, LongText, MeetingId, OrgKind, ReferralId, Refusal, ShortText};

type Decision = Result<Vec<CaseEvent>, Refusal>;

/// The earliest date any record may carry.
pub const EARLIEST_DATE: Date = jiff::civil::date(1900, 1, 1);

/// A date a record may carry: not in the future, not before 1900.
fn not_future(day: Date, field: &'static str, ctx: &Context) -> Result<(), Refusal> {
    if day > ctx.today {
        return Err(Refusal::DateInFuture { field });
    }
    if day < EARLIEST_DATE {
        return Err(Refusal::DateTooEarly { field });
    }
    Ok(())
}

/// A date of work on an open case: plausible, and not before the case was opened.
fn in_case(
    state: &CaseState,
    day: Date,
    field: &'static str,
    ctx: &Context,
) -> Result<(), Refusal> {
    not_future(day, field, ctx)?;
    if day < state.opened_on {
        return Err(Refusal::DateBeforeCaseOpened { field });
    }
    Ok(())
}

fn not_before(
    earlier: Date,
    later: Date,
    earlier_name: &'static str,
    later_name: &'static str,
) -> Result<(), Refusal> {
    if later < earlier {
        return Err(Refusal::DateOrder {
            earlier: earlier_name,
            later: later_name,
        });
    }
    Ok(())
}

fn add_days(day: Date, days: u16) -> Date {
    day.checked_add(Span::new().days(i64::from(days)))
        .unwrap_or(day)
}

fn add_months(day: Date, months: u8) -> Date {
    day.checked_add(i64::from(months).months()).unwrap_or(day)
}

fn check_intake(intake: &Intake, ctx: &Context) -> Result<(), Refusal> {
    not_future(intake.received_on, "受付日", ctx)?;
    if let Some(app) = intake.application_received_on {
        not_future(app, "申込票の受領日", ctx)?;
    }
    if intake.presenting_problems.iter().filter(|p| p.main).count() > 1 {
        return Err(Refusal::IntakeMultipleMainProblems);
    }
    if let Some(unknown) = intake.presenting_problems.iter().find(|p| {
        !ctx.settings
            .presenting_problems
            .iter()
            .any(|c| c.code == p.code.as_str())
    }) {
        return Err(Refusal::IntakeUnknownProblem {
            code: unknown.code.to_string(),
        });
    }
    for (key, name, answer) in intake.circumstances.items() {
        if let Some(a) = answer
            && !ctx
                .settings
                .circumstance_lists
                .of(key)
                .iter()
                .any(|c| c.code == a.code.as_str())
        {
            return Err(Refusal::IntakeUnknownChoice {
                field: name,
                code: a.code.to_string(),
            });
        }
    }
    Ok(())
}

fn build_referral(
    input: ReferralInput,
    id: ReferralId,
    ctx: &Context,
) -> Result<Referral, Refusal> {
    not_future(input.referred_on, "つないだ日", ctx)?;
    // Rule 4: a referral carries a follow-up date.
    let follow_up_on = input
        .follow_up_on
        .ok_or(Refusal::ReferralNeedsFollowUpDate)?;
    not_before(
        input.referred_on,
        follow_up_on,
        "つないだ日",
        "フォローアップ日",
    )?;
    Ok(Referral {
        id,
        to_org: input.to_org,
        to_name: input.to_name,
        purpose: input.purpose,
        referred_on: input.referred_on,
        accompanied: input.accompanied,
        follow_up_on,
        confirmed_on: None,
    })
}

/// Opening a case. Only what is known is needed: a person (possibly with a provisional name).
/// The case carries no number ([`open_numbered`] gives it one).
pub fn open(cmd: OpenCase, ctx: &Context) -> Decision {
    open_numbered(cmd, None, ctx, None)
}

/// The day a case opened by `cmd` opens on: the identification's day, else the intake's, else
/// today. Its fiscal year is the year of the case number.
pub fn opening_day(cmd: &OpenCase, ctx: &Context) -> Date {
    match (&cmd.identification, &cmd.intake) {
        (Some(ident), _) => ident.identified_on,
        (None, Some(intake)) => intake.received_on,
        (None, None) => ctx.today,
    }
}

/// [`open`] with the case number taken for it and the person's date of birth, when known: no
/// case of a person opens (and no intake is received) before they were born.
pub fn open_numbered(
    cmd: OpenCase,
    born_on: Option<Date>,
    ctx: &Context,
    number: Option<CaseNumber>,
) -> Decision {
    let opened_on = opening_day(&cmd, ctx);
    not_future(opened_on, "把握日・受付日", ctx)?;
    let received_on = cmd.intake.as_ref().map(|i| i.received_on);
    if let Some(born) = born_on
        && (opened_on < born || received_on.is_some_and(|r| r < born))
    {
        return Err(Refusal::DateOrder {
            earlier: "生年月日",
            later: "把握日・受付日",
        });
    }
    if let Some(intake) = &cmd.intake {
        check_intake(intake, ctx)?;
    }
    let mut events = vec![CaseEvent::CaseOpened {
        person_id: cmd.person_id,
        owner_org: ctx.actor.org_id,
        assigned_worker: ctx.actor.user_id,
        opened_on,
        identification: cmd.identification,
        number,
        imported_from: None,
    }];
    if let Some(intake) = cmd.intake {
        events.push(CaseEvent::IntakeRecorded { intake });
    }
    Ok(events)
}

fn require(state: &CaseState, cmd: &CaseCommand, allowed: &[Stage]) -> Result<(), Refusal> {
    if allowed.contains(&state.stage) {
        Ok(())
    } else {
        Err(Refusal::WrongStage {
            action: cmd.action().label_ja(),
            stage: state.stage,
        })
    }
}

/// Triage and screening share their outcomes: go on, refer on (with a follow-up), or close
/// after giving information.
fn triage_events(
    day: Date,
    outcome: TriageOutcome,
    go_on: CaseEvent,
    fresh: Uuid,
    ctx: &Context,
) -> Decision {
    match outcome {
        TriageOutcome::Continue => Ok(vec![go_on]),
        TriageOutcome::ReferOut { referral } => {
            let referral = build_referral(referral, ReferralId(fresh), ctx)?;
            Ok(vec![
                CaseEvent::ReferralMade { referral },
                CaseEvent::Closed {
                    closed_on: day,
                    pattern: ClosurePattern::ReferredOut,
                    person_intention: None,
                    follow_up: None,
                    lead_department: None,
                },
            ])
        }
        TriageOutcome::InformationOnly { note } => Ok(vec![CaseEvent::Closed {
            closed_on: day,
            pattern: ClosurePattern::InformationOnly,
            person_intention: Some(note),
            follow_up: None,
            lead_department: None,
        }]),
    }
}

/// Decides a command against the current state. `fresh` is a new unique id the shell supplies
/// for any sub-record the command creates (a referral, a consent).
pub fn decide(state: &CaseState, cmd: CaseCommand, ctx: &Context, fresh: Uuid) -> Decision {
    use CaseCommand as C;
    if matches!(cmd, C::StartSupport { .. }) && state.stage == Stage::Planning {
        // Rule 1: no plan is in force before a meeting approved it.
        return Err(Refusal::PlanNeedsMeetingApproval);
    }
    require(state, &cmd, cmd.action().stages())?;

    match cmd {
        C::RecordIntake { intake } => {
            check_intake(&intake, ctx)?;
            Ok(vec![CaseEvent::IntakeRecorded { intake }])
        }
        C::Triage {
            triaged_on,
            outcome,
        } => {
            if state.intake.is_none() {
                return Err(Refusal::IntakeNotRecorded);
            }
            in_case(state, triaged_on, "振り分け日", ctx)?;
            let go_on = CaseEvent::TriagedToContinue { triaged_on };
            triage_events(triaged_on, outcome, go_on, fresh, ctx)
        }
        C::RecordAssessment { mut assessment } => {
            in_case(state, assessment.assessed_on, "アセスメント日", ctx)?;
            if let Some(unknown) = assessment.issues.iter().find(|c| {
                !ctx.settings
                    .assessment_issues
                    .iter()
                    .any(|k| k.code == c.as_str())
            }) {
                return Err(Refusal::AssessmentUnknownIssue {
                    code: unknown.as_str().to_owned(),
                });
            }
            // In the checklist's order, each once.
            let place = |c: &ShortText| {
                ctx.settings
                    .assessment_issues
                    .iter()
                    .position(|k| k.code == c.as_str())
            };
            assessment.issues.sort_by_key(place);
            assessment.issues.dedup();
            Ok(vec![CaseEvent::AssessmentRecorded {
                version: state.assessment_versions + 1,
                assessment,
            }])
        }
        C::Screen {
            screened_on,
            outcome,
        } => {
            if state.latest_assessment.is_none() {
                return Err(Refusal::AssessmentNotRecorded);
            }
            in_case(state, screened_on, "スクリーニング日", ctx)?;
            let go_on = CaseEvent::ScreenedToHandleHere { screened_on };
            triage_events(screened_on, outcome, go_on, fresh, ctx)
        }
        C::DraftPlan { plan } => draft_plan(state, plan, ctx),
        C::ModifyPlan { plan, reason } => modify_plan(state, plan, reason, ctx),
        C::RecordSupportDecision {
            service,
            outcome,
            decided_on,
            notice_sent_on,
            note,
        } => {
            // The municipality makes the support decision (seed 001 §8).
            if ctx.actor.org_kind != OrgKind::MunicipalDepartment {
                return Err(Refusal::DecisionRequiresMunicipality);
            }
            in_case(state, decided_on, "支援決定日", ctx)?;
            if let Some(sent) = notice_sent_on {
                not_before(decided_on, sent, "支援決定日", "通知日")?;
            }
            let plan = state
                .current_plan
                .as_ref()
                .ok_or(Refusal::PlanNeedsMeetingApproval)?;
            if !plan.services_needing_decision.contains(&service) {
                return Err(Refusal::DecisionServiceNotInPlan { code: service });
            }
            if state
                .decisions
                .iter()
                .any(|d| d.service == service && d.plan_version == plan.version)
            {
                return Err(Refusal::DecisionAlreadyMade { code: service });
            }
            Ok(vec![CaseEvent::SupportDecisionRecorded {
                decision: SupportDecision {
                    plan_version: plan.version,
                    service,
                    outcome,
                    decided_on,
                    notice_sent_on,
                },
                note,
            }])
        }
        C::StartSupport { started_on } => {
            in_case(state, started_on, "支援開始日", ctx)?;
            let plan = state
                .current_plan
                .as_ref()
                .ok_or(Refusal::PlanNeedsMeetingApproval)?;
            if let Some(approved_on) = plan.approved_on {
                not_before(approved_on, started_on, "プラン了承日", "支援開始日")?;
            }
            let name = |code: &String| {
                ctx.settings
                    .statutory_service(code)
                    .map_or_else(|| code.clone(), |s| s.name.clone())
            };
            let rejected: Vec<String> = state
                .decisions
                .iter()
                .filter(|d| {
                    d.plan_version == plan.version && d.outcome == DecisionOutcome::Rejected
                })
                .map(|d| name(&d.service))
                .collect();
            if !rejected.is_empty() {
                return Err(Refusal::SupportServiceRejected { services: rejected });
            }
            let pending = state.pending_decisions();
            if !pending.is_empty() {
                let services = pending
                    .iter()
                    .map(|code| {
                        ctx.settings
                            .statutory_service(code)
                            .map_or_else(|| code.clone(), |s| s.name.clone())
                    })
                    .collect();
                return Err(Refusal::SupportAwaitingDecision { services });
            }
            Ok(vec![CaseEvent::SupportStarted {
                started_on,
                first_monitoring_due_on: add_days(
                    started_on,
                    ctx.settings.first_monitoring_within_days,
                ),
            }])
        }
        C::RecordContact {
            kind,
            contacted_on,
            reached,
            with_whom,
            summary,
            at,
            next_appointment_on,
        } => {
            in_case(state, contacted_on, "記録日", ctx)?;
            if let Some(next) = next_appointment_on {
                not_before(contacted_on, next, "記録日", "次回の約束の日")?;
            }
            Ok(vec![CaseEvent::ContactRecorded {
                kind,
                contacted_on,
                reached,
                with_whom,
                summary,
                at,
                next_appointment_on,
            }])
        }
        C::CorrectContact {
            record,
            kind,
            contacted_on,
            reached,
            with_whom,
            summary,
            reason,
        } => {
            if record == 0 || record as usize > state.contact_log.len() {
                return Err(Refusal::CorrectionNoSuchRecord { record });
            }
            in_case(state, contacted_on, "記録日", ctx)?;
            Ok(vec![CaseEvent::ContactCorrected {
                record,
                kind,
                contacted_on,
                reached,
                with_whom,
                summary,
                reason,
            }])
        }
        C::RecordMonitoring {
            monitored_on,
            kind,
            progress,
            outcome,
            note,
        } => {
            in_case(state, monitored_on, "モニタリング日", ctx)?;
            if let Some(started) = state.support_started_on {
                not_before(started, monitored_on, "支援開始日", "モニタリング日")?;
            }
            let interval = state
                .current_plan
                .as_ref()
                .and_then(|p| p.monitoring_interval_months)
                .unwrap_or(ctx.settings.monitoring_interval_months);
            let next_due_on = match outcome {
                MonitoringOutcome::Replan => None,
                _ => Some(add_months(monitored_on, interval)),
            };
            Ok(vec![CaseEvent::MonitoringRecorded {
                monitored_on,
                kind,
                progress,
                outcome,
                note,
                next_due_on,
            }])
        }
        C::RecordEvaluation {
            evaluated_on,
            goals,
            summary,
            next_steps,
            mut observed_changes,
            connection,
        } => {
            in_case(state, evaluated_on, "評価日", ctx)?;
            let plan = state
                .current_plan
                .as_ref()
                .ok_or(Refusal::EvaluationNoPlan)?;
            if goals.iter().any(|g| g.goal >= plan.goals.len()) {
                return Err(Refusal::EvaluationUnknownGoal);
            }
            if let Some(unknown) = observed_changes.iter().find(|c| {
                !ctx.settings
                    .observed_changes
                    .iter()
                    .any(|k| k.code == c.as_str())
            }) {
                return Err(Refusal::EvaluationUnknownChange {
                    code: unknown.as_str().to_owned(),
                });
            }
            observed_changes.dedup();
            if connection.is_some_and(|c| !c.in_range()) {
                return Err(Refusal::EvaluationScoreOutOfRange);
            }
            Ok(vec![CaseEvent::EvaluationRecorded {
                evaluated_on,
                plan_version: plan.version,
                goals,
                summary,
                next_steps,
                observed_changes,
                connection,
            }])
        }
        C::RecordEmergencySupport {
            kind,
            provided_on,
            note,
        } => {
            in_case(state, provided_on, "支援日", ctx)?;
            Ok(vec![CaseEvent::EmergencySupportRecorded {
                kind,
                provided_on,
                note,
            }])
        }
        C::RecordEmploymentSupport {
            kind,
            provided_on,
            note,
        } => {
            in_case(state, provided_on, "支援日", ctx)?;
            Ok(vec![CaseEvent::EmploymentSupportRecorded {
                kind,
                provided_on,
                note,
            }])
        }
        C::RecordEmploymentOutcome {
            outcome,
            achieved_on,
            note,
        } => {
            in_case(state, achieved_on, "就労・増収の日", ctx)?;
            // The plan it belongs to: the approved plan in force, else the plan being drafted.
            let plan = state.current_plan.as_ref().or(state.draft_plan.as_ref());
            Ok(vec![CaseEvent::EmploymentOutcomeRecorded {
                outcome,
                achieved_on,
                note,
                plan_version: plan.map(|p| p.version),
                under_employment_support_plan: plan.is_some_and(|p| p.employment_support),
            }])
        }
        C::MakeReferral { referral } => Ok(vec![CaseEvent::ReferralMade {
            referral: build_referral(referral, ReferralId(fresh), ctx)?,
        }]),
        C::FollowUpReferral {
            referral_id,
            checked_on,
            note,
            next_follow_up_on,
        } => {
            let referral = find_open_referral(state, referral_id)?;
            in_case(state, checked_on, "確認日", ctx)?;
            not_before(referral.referred_on, checked_on, "つないだ日", "確認日")?;
            // Rule 4: an unconfirmed referral stays open, so it needs the next check date.
            let next = next_follow_up_on.ok_or(Refusal::ReferralNeedsFollowUpDate)?;
            not_before(checked_on, next, "確認日", "次回の確認日")?;
            Ok(vec![CaseEvent::ReferralFollowedUp {
                referral_id,
                checked_on,
                note,
                next_follow_up_on: next,
            }])
        }
        C::ConfirmReferral {
            referral_id,
            confirmed_on,
            note,
        } => {
            let referral = find_open_referral(state, referral_id)?;
            in_case(state, confirmed_on, "確認日", ctx)?;
            not_before(referral.referred_on, confirmed_on, "つないだ日", "確認日")?;
            Ok(vec![CaseEvent::ReferralConfirmed {
                referral_id,
                confirmed_on,
                note,
            }])
        }
        C::Suspend {
            suspended_on,
            reason,
        } => {
            in_case(state, suspended_on, "中断日", ctx)?;
            // Rule 6: suspension needs recorded attempts to reach the person.
            let required = ctx.settings.min_contact_attempts_before_suspension;
            if state.unreached_attempts < u32::from(required) {
                return Err(Refusal::SuspensionNeedsContactAttempts {
                    required,
                    recorded: state.unreached_attempts,
                });
            }
            Ok(vec![CaseEvent::Suspended {
                suspended_on,
                reason,
            }])
        }
        C::Resume { resumed_on } => {
            in_case(state, resumed_on, "再開日", ctx)?;
            if let Some(s) = &state.suspension {
                not_before(s.suspended_on, resumed_on, "中断日", "再開日")?;
            }
            let back_to_support = state
                .suspension
                .as_ref()
                .is_some_and(|s| s.from == Stage::Support);
            Ok(vec![CaseEvent::Resumed {
                resumed_on,
                next_monitoring_due_on: back_to_support
                    .then(|| add_days(resumed_on, ctx.settings.first_monitoring_within_days)),
            }])
        }
        C::Terminate { termination } => terminate(state, termination, ctx),
        C::RecordFollowUp {
            checked_on,
            with_whom,
            summary,
            next_check_on,
        } => {
            in_case(state, checked_on, "確認日", ctx)?;
            if let Some(next) = next_check_on {
                not_before(checked_on, next, "確認日", "次回の確認日")?;
            }
            Ok(vec![CaseEvent::FollowUpRecorded {
                checked_on,
                with_whom,
                summary,
                next_check_on,
            }])
        }
        C::Reopen {
            reopened_on,
            reason,
        } => {
            in_case(state, reopened_on, "再開日", ctx)?;
            Ok(vec![CaseEvent::Reopened {
                reopened_on,
                reason,
            }])
        }
        C::Restrict { mut users } => {
            if !state.restricted_to.is_empty() && !state.restricted_to.contains(&ctx.actor.user_id)
            {
                return Err(Refusal::RestrictionNotNamed);
            }
            if !users.is_empty() && !users.contains(&ctx.actor.user_id) {
                return Err(Refusal::RestrictionExcludesSelf);
            }
            users.sort();
            users.dedup();
            Ok(vec![CaseEvent::AccessRestricted { users }])
        }
        C::AddTeamMember { org_id } => {
            if state.team.contains(&org_id) {
                return Err(Refusal::TeamAlreadyMember);
            }
            // Rule 5: information goes to another organisation only with consent covering it.
            if !crate::person::consent_covers(ctx.consents, org_id, ctx.today) {
                return Err(Refusal::TeamNeedsConsent);
            }
            Ok(vec![CaseEvent::TeamMemberAdded { org_id }])
        }
        C::RemoveTeamMember { org_id } => {
            if org_id == state.owner_org {
                return Err(Refusal::TeamCannotRemoveOwner);
            }
            if !state.team.contains(&org_id) {
                return Err(Refusal::TeamNotMember);
            }
            Ok(vec![CaseEvent::TeamMemberRemoved { org_id }])
        }
        C::AssignWorker { user_id } => Ok(vec![CaseEvent::WorkerAssigned { user_id }]),
    }
}

fn find_open_referral(state: &CaseState, id: ReferralId) -> Result<&Referral, Refusal> {
    let referral = state
        .referrals
        .iter()
        .find(|r| r.id == id)
        .ok_or(Refusal::ReferralNotFound)?;
    if referral.confirmed_on.is_some() {
        return Err(Refusal::ReferralAlreadyConfirmed);
    }
    Ok(referral)
}

fn draft_plan(state: &CaseState, input: PlanInput, ctx: &Context) -> Decision {
    Ok(vec![CaseEvent::PlanDrafted {
        plan: build_plan(state, input, ctx)?,
    }])
}

/// プランの修正: the plan in force changed a little during support, in force at once. A change
/// of the services that need the municipality's decision is a re-plan, not a modification.
fn modify_plan(state: &CaseState, input: PlanInput, reason: LongText, ctx: &Context) -> Decision {
    let current = state
        .current_plan
        .as_ref()
        .ok_or(Refusal::PlanNeedsMeetingApproval)?;
    let mut plan = build_plan(state, input, ctx)?;
    let sorted = |v: &[String]| {
        let mut v = v.to_vec();
        v.sort();
        v
    };
    if sorted(&plan.services_needing_decision) != sorted(&current.services_needing_decision) {
        return Err(Refusal::PlanModificationChangesServices);
    }
    let same = plan.goals == current.goals
        && plan.items == current.items
        && plan.person_role == current.person_role
        && plan.period_from == current.period_from
        && plan.period_to == current.period_to
        && plan.monitoring_interval_months == current.monitoring_interval_months;
    if same {
        return Err(Refusal::PlanUnchanged);
    }
    plan.modified = true;
    Ok(vec![CaseEvent::PlanModified { plan, reason }])
}

/// A plan version from the form: rule 3 for every item, goals referred to by index, services
/// from the tenant's list.
fn build_plan(state: &CaseState, input: PlanInput, ctx: &Context) -> Result<Plan, Refusal> {
    in_case(state, input.drafted_on, "作成日", ctx)?;
    if input.goals.is_empty() {
        return Err(Refusal::PlanNoGoals);
    }
    if input.items.is_empty() {
        return Err(Refusal::PlanNoItems);
    }
    not_before(
        input.period_from,
        input.period_to,
        "プラン期間の開始日",
        "プラン期間の終了日",
    )?;
    if let Some(m) = input.monitoring_interval_months
        && !(1..=12).contains(&m)
    {
        return Err(Refusal::DateOrder {
            earlier: "1か月",
            later: "モニタリング間隔",
        });
    }
    let mut items = Vec::with_capacity(input.items.len());
    let mut services_needing_decision: Vec<String> = Vec::new();
    for (index, item) in input.items.into_iter().enumerate() {
        // Rule 3: a plan item without a responsible party and a deadline is not a plan item.
        let (responsible, deadline) = match (item.responsible, item.deadline) {
            (Some(r), Some(d)) => (r, d),
            (r, d) => {
                return Err(Refusal::PlanItemIncomplete {
                    item: index,
                    missing_responsible: r.is_none(),
                    missing_deadline: d.is_none(),
                });
            }
        };
        if item.goal.is_some_and(|g| g >= input.goals.len()) {
            return Err(Refusal::PlanGoalReference { item: index });
        }
        if deadline < input.drafted_on {
            return Err(Refusal::PlanItemDeadlineBeforeDraft { item: index });
        }
        if let Some(code) = &item.statutory_service {
            let service = ctx
                .settings
                .statutory_service(code)
                .ok_or_else(|| Refusal::PlanUnknownStatutoryService { code: code.clone() })?;
            if service.needs_decision && !services_needing_decision.contains(code) {
                services_needing_decision.push(code.clone());
            }
        }
        items.push(PlanItem {
            description: item.description,
            goal: item.goal,
            provider: item.provider,
            responsible,
            deadline,
            statutory_service: item.statutory_service,
        });
    }
    Ok(Plan {
        version: state.plan_versions + 1,
        drafted_on: input.drafted_on,
        goals: input.goals,
        items,
        person_role: input.person_role,
        period_from: input.period_from,
        period_to: input.period_to,
        monitoring_interval_months: input.monitoring_interval_months,
        services_needing_decision,
        approved_by: None,
        approved_on: None,
        modified: false,
        employment_support: input.employment_support,
    })
}

fn terminate(state: &CaseState, t: Termination, ctx: &Context) -> Decision {
    in_case(state, t.terminated_on, "終結日", ctx)?;
    let follow_up = t.follow_up.ok_or(Refusal::TerminationNeedsFollowUp)?;
    match (t.pattern, state.stage) {
        (ClosurePattern::ContactLost, Stage::Suspended) => {
            let suspension = state
                .suspension
                .as_ref()
                .ok_or(Refusal::SuspensionNotConfirmed)?;
            if suspension.confirmed_on.is_none() {
                return Err(Refusal::SuspensionNotConfirmed);
            }
            // Never close for silence alone: the suspension must have lasted.
            let days = ctx.settings.suspension_days_before_termination;
            if t.terminated_on < add_days(suspension.suspended_on, days) {
                return Err(Refusal::TerminationSuspensionTooShort {
                    days_required: days,
                });
            }
        }
        (ClosurePattern::Resolved | ClosurePattern::MajorIssuesResolved, Stage::Evaluation) => {
            if t.person_intention.is_none() {
                return Err(Refusal::TerminationNeedsIntention);
            }
        }
        _ => return Err(Refusal::TerminationPatternMismatch),
    }
    // Rule 6: an evaluation of the plan in force, a meeting's approval, a follow-up decision.
    let evaluated = match (&state.evaluation, &state.current_plan) {
        (Some(e), Some(p)) => e.plan_version == p.version,
        _ => false,
    };
    if !evaluated {
        return Err(Refusal::TerminationNeedsEvaluation);
    }
    if !state.termination_approved {
        return Err(Refusal::TerminationNeedsMeetingApproval);
    }
    let open = state.open_referrals().count();
    if open > 0 {
        return Err(Refusal::TerminationOpenReferrals { count: open });
    }
    if let FollowUpPlan::Planned { first_check_on, .. } = &follow_up {
        not_before(
            t.terminated_on,
            *first_check_on,
            "終結日",
            "初回のフォローアップ日",
        )?;
    }
    Ok(vec![CaseEvent::Closed {
        closed_on: t.terminated_on,
        pattern: t.pattern,
        person_intention: t.person_intention,
        follow_up: Some(follow_up),
        lead_department: t.lead_department,
    }])
}

/// Where a drafted plan may be approved or returned: planning, and the decision stage when the
/// plan is revised after a support decision was rejected.
const PLAN_STAGES: &[Stage] = &[Stage::Planning, Stage::Decision];

/// What a meeting needs to tell a case about itself when it records a conclusion.
pub struct MeetingFacts {
    pub meeting_id: MeetingId,
    pub kind: MeetingKind,
    pub held_on: Date,
    pub municipality_attends: bool,
}

/// A meeting's conclusion about one case, decided against that case's state.
/// Attaching a document (a scanned signed application, a consent form, a letter): possible in
/// every stage, since papers arrive after closure too. The caller has read the type from the
/// file's bytes; the rules here are the size limit, the received date and one id once.
pub fn decide_attachment(state: &CaseState, attachment: Attachment, ctx: &Context) -> Decision {
    if attachment.size == 0 {
        return Err(Refusal::AttachmentEmpty);
    }
    if attachment.size > MAX_ATTACHMENT_BYTES {
        return Err(Refusal::AttachmentTooLarge {
            max_bytes: MAX_ATTACHMENT_BYTES,
        });
    }
    not_future(attachment.received_on, "受領日", ctx)?;
    if state.attachments.iter().any(|a| a.id == attachment.id) {
        return Err(Refusal::AttachmentAlreadyAdded);
    }
    Ok(vec![CaseEvent::AttachmentAdded { attachment }])
}

pub fn decide_conclusion(
    state: &CaseState,
    meeting: &MeetingFacts,
    conclusion: CaseConclusion,
) -> Decision {
    if conclusion.needs_coordination_meeting() {
        if meeting.kind == MeetingKind::CaseConference {
            return Err(Refusal::MeetingCannotApprove);
        }
        if !meeting.municipality_attends {
            return Err(Refusal::MeetingNeedsMunicipality);
        }
    }
    let unexpected = Err(Refusal::MeetingUnexpectedConclusion);
    let id = meeting.meeting_id;
    let day = meeting.held_on;
    match conclusion {
        CaseConclusion::PlanApproved { plan_version } => {
            if !PLAN_STAGES.contains(&state.stage) && state.modification_to_report().is_none() {
                return unexpected;
            }
            match state.plan_for_meeting() {
                Some(p) if p.version == plan_version => Ok(vec![CaseEvent::PlanApproved {
                    plan_version,
                    meeting_id: id,
                    approved_on: day,
                }]),
                _ => Err(Refusal::PlanVersionNotLatest),
            }
        }
        CaseConclusion::PlanReturned {
            plan_version,
            reason,
        } => {
            if !PLAN_STAGES.contains(&state.stage) && state.modification_to_report().is_none() {
                return unexpected;
            }
            match state.plan_for_meeting() {
                Some(p) if p.version == plan_version => Ok(vec![CaseEvent::PlanReturned {
                    plan_version,
                    meeting_id: id,
                    reason,
                }]),
                _ => Err(Refusal::PlanVersionNotLatest),
            }
        }
        CaseConclusion::SuspensionConfirmed => match &state.suspension {
            Some(s) if state.stage == Stage::Suspended && s.confirmed_on.is_none() => {
                Ok(vec![CaseEvent::SuspensionConfirmed {
                    meeting_id: id,
                    confirmed_on: day,
                }])
            }
            _ => unexpected,
        },
        CaseConclusion::TerminationApproved => {
            let ok = match state.stage {
                Stage::Evaluation => true,
                Stage::Suspended => state
                    .suspension
                    .as_ref()
                    .is_some_and(|s| s.confirmed_on.is_some()),
                _ => false,
            };
            if !ok || state.termination_approved {
                return unexpected;
            }
            Ok(vec![CaseEvent::TerminationApproved {
                meeting_id: id,
                approved_on: day,
            }])
        }
        CaseConclusion::ReplanDecided { back_to_assessment } => {
            if state.stage != Stage::Evaluation {
                return unexpected;
            }
            Ok(vec![CaseEvent::ReplanDecided {
                meeting_id: id,
                decided_on: day,
                back_to_assessment,
            }])
        }
        CaseConclusion::Noted { note } => Ok(vec![CaseEvent::MeetingNoted {
            meeting_id: id,
            noted_on: day,
            note,
        }]),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::{Actor, AttachmentId, OrgId, PersonId, Role, ShortText, TenantId, UserId};
    use jiff::civil::date;

    fn attachment(size: u64, received_on: Date) -> Attachment {
        Attachment {
            id: AttachmentId(Uuid::from_u128(7)),
            kind: AttachmentKind::SignedApplication,
            title: ShortText::parse("申込書（署名済）").unwrap(),
            filename: ShortText::parse("scan.pdf").unwrap(),
            file_type: AttachmentType::Pdf,
            size,
            sha256: "00".repeat(32),
            received_on,
        }
    }

    /// A support worker of a support agency.
    fn worker() -> Actor {
        Actor {
            tenant_id: TenantId(Uuid::from_u128(1)),
            user_id: UserId(Uuid::from_u128(2)),
            org_id: OrgId(Uuid::from_u128(3)),
            org_kind: crate::OrgKind::SupportAgency,
            role: Role::SupportWorker,
        }
    }

    #[test]
    fn attachments_are_limited_in_size_and_date_and_added_once() {
        let actor = worker();
        let settings = crate::TenantSettings::default();
        let today = date(2026, 4, 1);
        let ctx = Context {
            today,
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
        let mut state = CaseState::fold(opened.iter()).unwrap();

        assert_eq!(
            decide_attachment(&state, attachment(0, today), &ctx),
            Err(Refusal::AttachmentEmpty)
        );
        assert_eq!(
            decide_attachment(&state, attachment(MAX_ATTACHMENT_BYTES + 1, today), &ctx)
                .unwrap_err()
                .code(),
            "attachment.too_large"
        );
        assert_eq!(
            decide_attachment(&state, attachment(100, date(2026, 4, 2)), &ctx)
                .unwrap_err()
                .code(),
            "date.in_future"
        );
        let events =
            decide_attachment(&state, attachment(MAX_ATTACHMENT_BYTES, today), &ctx).unwrap();
        for e in &events {
            state.evolve(e);
        }
        assert_eq!(state.attachments.len(), 1);
        assert_eq!(
            decide_attachment(&state, attachment(100, today), &ctx),
            Err(Refusal::AttachmentAlreadyAdded)
        );
    }

    #[test]
    fn no_case_opens_before_the_person_was_born() {
        let actor = worker();
        let settings = crate::TenantSettings::default();
        let ctx = Context {
            today: date(2026, 4, 1),
            actor: &actor,
            settings: &settings,
            consents: &[],
        };
        let identified = |on: Date| OpenCase {
            person_id: PersonId(Uuid::from_u128(4)),
            identification: Some(Identification {
                identified_on: on,
                route: IntakeRoute::Outreach,
                referrer: None,
                note: None,
            }),
            intake: None,
        };
        let born = Some(date(2000, 5, 1));
        assert_eq!(
            open_numbered(identified(date(2000, 4, 30)), born, &ctx, None)
                .unwrap_err()
                .code(),
            "date.order"
        );
        assert!(open_numbered(identified(date(2000, 5, 1)), born, &ctx, None).is_ok());
        // Not known: nothing to compare with.
        assert!(open_numbered(identified(date(2000, 4, 30)), None, &ctx, None).is_ok());
    }
}
