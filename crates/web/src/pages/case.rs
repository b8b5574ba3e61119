//! The case pages: new consultation (相談受付・申込票), the case page (where the case stands on
//! the ①–⑬ flow, the actions possible now, the 支援経過記録 with quick contact entry), one form
//! per action, and the assessment history with differences between versions.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use jiff::civil::Date;
use tsunagu_app::rows::Organisation;
use tsunagu_core::Refusal;
use tsunagu_core::case::{
    self, Assessment, Attainment, CaseAction, CaseCommand, CaseEvent, CaseState, Circumstances,
    ClosurePattern, ContactKind, DecisionOutcome, EmergencyKind, EmploymentForm, EmploymentOutcome,
    EmploymentSupportKind, FollowUpPlan, GoalAttainment, IncomeBand, Intake, IntakeRoute,
    LifeDomains, ListAnswer, MonitoringKind, MonitoringOutcome, OpenCase, PresentingProblem,
    ReferralInput, Termination, TriageOutcome, Urgency, Visitor,
};
use tsunagu_core::policy::{self, Access};
use tsunagu_core::{CaseId, OrgId, PersonId, TenantSettings, UserId, wareki};

use super::filters;
use super::{
    Chrome, Control, ControlKind, FieldError, FieldResult, Fields, Notice, PageError, PageResult,
    check_controls, field_error, field_errors, merge_errors, parse_id, refill, refill_all,
    refusal_status, render, render_status, see_other, shown_name,
};
use crate::api::{self, CaseCommandRequest, CaseView, TimelineEntry};
use crate::auth::Auth;
use crate::error::ApiError;
use crate::ui::Page;
use crate::{AppState, access};
use tsunagu_app::cases;

/// Names of organisations and users, for showing ids to people.
pub(crate) struct Names {
    pub(crate) orgs: Vec<Organisation>,
    users: HashMap<UserId, String>,
    /// Active accounts that work cases: (id, name, organisation).
    pub(crate) staff: Vec<(UserId, String, OrgId)>,
}

impl Names {
    pub(crate) async fn load(app: &AppState, auth: &Auth) -> Result<Names, ApiError> {
        let orgs = tsunagu_app::admin::organisations(app, auth).await?;
        let all = tsunagu_app::admin::staff(app, auth).await?;
        let staff = all
            .iter()
            .filter(|u| u.works_cases)
            .map(|u| (u.id, u.display_name.clone(), u.org_id))
            .collect();
        let users = all.into_iter().map(|u| (u.id, u.display_name)).collect();
        Ok(Names { orgs, users, staff })
    }
    /// Only the names a page shows: the organisations, and these users (the case's assignee,
    /// its records' authors), not every account of the tenant. No staff for the pickers.
    pub(crate) async fn of_users(
        app: &AppState,
        auth: &Auth,
        users: impl IntoIterator<Item = UserId>,
    ) -> Result<Names, ApiError> {
        let orgs = tsunagu_app::admin::organisations(app, auth).await?;
        let ids: Vec<UserId> = users.into_iter().collect();
        let users = tsunagu_app::admin::display_names(app, auth, &ids).await?;
        Ok(Names {
            orgs,
            users,
            staff: Vec::new(),
        })
    }
    pub(crate) fn org(&self, id: OrgId) -> &str {
        self.orgs
            .iter()
            .find(|o| o.id == id)
            .map_or("（不明な機関）", |o| o.name.as_str())
    }
    pub(crate) fn org_options(&self) -> Vec<(String, String)> {
        self.orgs
            .iter()
            .map(|o| (o.id.to_string(), o.name.clone()))
            .collect()
    }
    pub(crate) fn user(&self, id: UserId) -> &str {
        self.users.get(&id).map_or("（不明な職員）", String::as_str)
    }
}

// --- actions ---------------------------------------------------------------------------------

pub struct ActionLink {
    pub key: &'static str,
    pub label: &'static str,
}

/// The actions possible now, in the table's order: the stage allows them; those that manage
/// the case (team, worker, restriction) only for a caller who may manage it; referral checks
/// only while a referral is open. The contact record has its own quick form on the page.
fn actions_now(s: &CaseState, may_manage: bool, role: tsunagu_core::Role) -> Vec<ActionLink> {
    CaseAction::ALL
        .into_iter()
        .filter(|a| a.stages().contains(&s.stage))
        .filter(|a| tsunagu_core::policy::role_may(role, *a))
        .filter(|a| may_manage || a.access() != Access::Manage)
        .filter(|a| *a != CaseAction::RemoveTeamMember || s.team.len() > 1)
        .filter(|a| {
            !matches!(
                a,
                CaseAction::FollowUpReferral | CaseAction::ConfirmReferral
            ) || s.open_referrals().next().is_some()
        })
        // A contact has its own quick form; a correction is offered on the record it corrects.
        .filter(|a| !matches!(a, CaseAction::RecordContact | CaseAction::CorrectContact))
        .map(|a| ActionLink {
            key: a.as_str(),
            label: a.label_ja(),
        })
        .collect()
}

fn options<T: Copy>(
    all: &[T],
    code: fn(T) -> &'static str,
    label: fn(T) -> &'static str,
) -> Vec<(&'static str, &'static str)> {
    all.iter().map(|v| (code(*v), label(*v))).collect()
}

fn referral_controls(orgs: &[Organisation], with_date: bool) -> Vec<Control> {
    let mut v = vec![
        Control::select(
            "to_org",
            "つなぎ先（システム内の機関）",
            orgs.iter().map(|o| (o.id.to_string(), o.name.clone())),
        ),
        Control::text("to_name", "つなぎ先の名称").hint("システム外の機関はここに名称を入力"),
        Control::area("purpose", "つなぐ目的"),
    ];
    if with_date {
        v.push(Control::date("referred_on", "つないだ日").required());
    }
    v.push(Control::check("accompanied", "同行した"));
    v.push(
        Control::date("follow_up_on", "つなぎ先の状況を確認する日")
            .required()
            .hint("たらい回しを防ぐため、確認日は必須です"),
    );
    v
}

fn read_referral(
    f: &Fields,
    orgs: &[Organisation],
    referred_on: Date,
) -> FieldResult<ReferralInput> {
    let to_org: Option<OrgId> = f.get("to_org").and_then(|v| v.parse().ok());
    let to_name = match (f.opt_short("to_name", "つなぎ先の名称")?, to_org) {
        (Some(n), _) => n,
        (None, Some(o)) => orgs
            .iter()
            .find(|x| x.id == o)
            .and_then(|x| tsunagu_core::ShortText::parse(x.name.as_str()).ok())
            .ok_or_else(|| field_error("to_org", "つなぎ先を選んでください。"))?,
        (None, None) => {
            return Err(field_error(
                "to_name",
                "つなぎ先を選ぶか、名称を入力してください。",
            ));
        }
    };
    Ok(ReferralInput {
        to_org,
        to_name,
        purpose: f.long("purpose", "つなぐ目的")?,
        referred_on,
        accompanied: f.checked("accompanied"),
        follow_up_on: f.opt_date("follow_up_on", "つなぎ先の状況を確認する日")?,
    })
}

/// The つながり指標's items: the field names and labels of the evaluation form.
const CONNECTION_ITEMS: [(&str, &str); 5] = [
    ("motivation", "①意欲"),
    ("self_esteem", "②自己肯定感"),
    ("relationships", "③対人関係"),
    ("participation", "④社会参加"),
    ("consultation", "⑤相談"),
];

/// The つながり指標 of an evaluation form: none when no item is scored, all five otherwise.
fn connection_scores(f: &Fields) -> FieldResult<Option<tsunagu_core::case::ConnectionScores>> {
    let raw: Vec<&str> = CONNECTION_ITEMS
        .iter()
        .map(|(name, _)| f.raw(&format!("connection_{name}")).trim())
        .collect();
    if raw.iter().all(|v| v.is_empty()) {
        return Ok(None);
    }
    let mut scores = [0u8; 5];
    for (i, (name, label)) in CONNECTION_ITEMS.iter().enumerate() {
        scores[i] = raw[i]
            .parse::<u8>()
            .ok()
            .filter(|v| (1..=4).contains(v))
            .ok_or_else(|| {
                field_error(
                    &format!("connection_{name}"),
                    format!("つながり指標の{label}を1〜4で選んでください（記録しないときは5項目とも空欄に）。"),
                )
            })?;
    }
    let [
        motivation,
        self_esteem,
        relationships,
        participation,
        consultation,
    ] = scores;
    Ok(Some(tsunagu_core::case::ConnectionScores {
        motivation,
        self_esteem,
        relationships,
        participation,
        consultation,
    }))
}

pub(crate) fn intake_controls(settings: &TenantSettings) -> Vec<Control> {
    let problems: Vec<(&str, &str)> = settings
        .presenting_problems
        .iter()
        .map(|p| (p.code.as_str(), p.name.as_str()))
        .collect();
    let mut v = vec![
        Control::date("received_on", "受付日").required(),
        Control::select(
            "route",
            "相談経路",
            options(IntakeRoute::ALL, IntakeRoute::as_str, IntakeRoute::label_ja),
        )
        .required(),
        Control::text("referrer", "紹介元（部署・機関の名称）"),
        Control::checks(
            "problems",
            "ご相談の内容（お困りのこと・複数可）",
            problems.clone(),
        ),
        Control::radio("main_problem", "一番お困りのこと（主訴）", problems),
        Control::area(
            "presenting_problem_text",
            "ご相談されたいこと（ご本人の言葉で）",
        ),
        Control::radio(
            "urgency",
            "緊急度",
            options(Urgency::ALL, Urgency::as_str, Urgency::label_ja),
        )
        .required(),
        Control::date("application_received_on", "申込票（書面）の受領日"),
    ];
    v.insert(
        5,
        Control::text("other_problem_text", "「その他」の内容（主訴）"),
    );
    v.push(
        Control::text("visitor_name", "来談者の氏名（ご本人以外が来られたとき）").group("来談者"),
    );
    v.push(Control::text("visitor_relation", "ご本人との関係・続柄").hint("例: 母、民生委員"));
    for (i, (key, name, _)) in Circumstances::default().items().into_iter().enumerate() {
        let options: Vec<(&str, &str)> = settings
            .circumstance_lists
            .of(key)
            .iter()
            .map(|c| (c.code.as_str(), c.name.as_str()))
            .collect();
        let c = Control::select(format!("circ_{key}"), name, options);
        v.push(if i == 0 {
            c.group("ご本人について")
        } else {
            c
        });
        v.push(Control::text(
            format!("circ_{key}_text"),
            format!("{name}（「その他」の内容など）"),
        ));
    }
    v
}

fn read_intake(f: &Fields) -> FieldResult<Intake> {
    read_intake_all(f).map_err(|mut errors| errors.remove(0))
}

/// The intake typed into the form; every mistake at once, in the form's order.
fn read_intake_all(f: &Fields) -> Result<Intake, Vec<FieldError>> {
    let main = f.get("main_problem");
    let mut codes: Vec<&str> = f.all("problems");
    if let Some(m) = main
        && !codes.contains(&m)
    {
        codes.push(m);
    }
    let presenting_problems = codes
        .into_iter()
        .map(|c| {
            Ok(PresentingProblem {
                code: tsunagu_core::ShortText::parse(c).map_err(|_| {
                    field_error("problems", "ご相談の内容の選択が正しくありません。")
                })?,
                main: Some(c) == main,
            })
        })
        .collect::<FieldResult<Vec<_>>>();
    let received_on = f.date("received_on", "受付日");
    let route = f.choice("route", "相談経路", IntakeRoute::parse);
    let referrer = f.opt_short("referrer", "紹介元");
    let text = f.opt_long("presenting_problem_text", "ご相談されたいこと");
    let urgency = f.choice("urgency", "緊急度", Urgency::parse);
    let application = f.opt_date("application_received_on", "申込票の受領日");
    let other_problem = f.opt_short("other_problem_text", "「その他」の内容");
    let visitor_name = f.opt_short("visitor_name", "来談者の氏名");
    let visitor_relation = f.opt_short("visitor_relation", "ご本人との関係・続柄");
    // A visitor is named by their relation to the person; a name alone says too little.
    let visitor = match (visitor_name, visitor_relation) {
        (Err(e), _) | (_, Err(e)) => Err(e),
        (Ok(None), Ok(None)) => Ok(None),
        (Ok(_), Ok(None)) => Err(field_error(
            "visitor_relation",
            "来談者のご本人との関係・続柄を入力してください。",
        )),
        (Ok(name), Ok(Some(relation))) => Ok(Some(Visitor { name, relation })),
    };
    let mut circumstances = Circumstances::default();
    let mut circ_errors = Vec::new();
    for (key, name, _) in Circumstances::default().items() {
        let text = f.opt_short(&format!("circ_{key}_text"), name);
        let answer = match (f.get(&format!("circ_{key}")), text) {
            (_, Err(e)) => Err(e),
            (None, Ok(None)) => Ok(None),
            (None, Ok(Some(_))) => Err(field_error(
                &format!("circ_{key}"),
                format!("{name}を選んでください（内容だけでは記録できません）。"),
            )),
            (Some(code), Ok(text)) => tsunagu_core::ShortText::parse(code)
                .map(|code| Some(ListAnswer { code, text }))
                .map_err(|_| {
                    field_error(
                        &format!("circ_{key}"),
                        format!("{name}の選択が正しくありません。"),
                    )
                }),
        };
        match answer {
            Err(e) => circ_errors.push(e),
            Ok(a) => {
                let slot = match key {
                    "work" => &mut circumstances.work,
                    "housing" => &mut circumstances.housing,
                    "health_insurance" => &mut circumstances.health_insurance,
                    _ => &mut circumstances.pension,
                };
                *slot = a;
            }
        }
    }
    let mut errors = field_errors(&[
        received_on.as_ref().err(),
        route.as_ref().err(),
        referrer.as_ref().err(),
        presenting_problems.as_ref().err(),
        other_problem.as_ref().err(),
        text.as_ref().err(),
        urgency.as_ref().err(),
        application.as_ref().err(),
        visitor.as_ref().err(),
    ]);
    errors.extend(circ_errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    let all = |e| vec![e];
    Ok(Intake {
        received_on: received_on.map_err(all)?,
        route: route.map_err(all)?,
        referrer: referrer.map_err(all)?,
        presenting_problems: presenting_problems.map_err(all)?,
        presenting_problem_text: text.map_err(all)?,
        urgency: urgency.map_err(all)?,
        application_received_on: application.map_err(all)?,
        visitor: visitor.map_err(all)?,
        other_problem_text: other_problem.map_err(all)?,
        circumstances,
    })
}

/// The consent (本人同意) asked for at intake, recorded with the case in one transaction.
fn consent_controls(names: &Names, own: OrgId) -> Vec<Control> {
    let others: Vec<(String, String)> = names
        .org_options()
        .into_iter()
        .filter(|(id, _)| *id != own.to_string())
        .collect();
    vec![
        Control::check("consent", "本人から、関係機関と情報を共有する同意を得た")
            .group("本人同意（関係機関との情報共有）"),
        Control::checks("consent_orgs", "情報を共有してよい機関", others),
        Control::text("consent_purpose", "同意の目的"),
        Control::date("consent_given_on", "同意日"),
        Control::date("consent_valid_until", "有効期限（任意）"),
        Control::check("consent_written", "同意書（書面・署名）を受け取った"),
    ]
}

fn consent_defaults(today: Date) -> [(String, String); 2] {
    [
        (
            "consent_purpose".into(),
            "相談支援のための関係機関との情報共有".into(),
        ),
        ("consent_given_on".into(), wareki::format(today)),
    ]
}

/// The consent given at intake, when its box is ticked; every mistake at once.
fn read_consent(f: &Fields) -> Result<Option<api::ConsentAtIntake>, Vec<FieldError>> {
    if !f.checked("consent") {
        return Ok(None);
    }
    let organisations = f.ids::<OrgId>("consent_orgs", "機関は選択肢から選んでください。");
    let purpose = f.short("consent_purpose", "同意の目的");
    let given_on = f.date("consent_given_on", "同意日");
    let valid_until = f.opt_date("consent_valid_until", "有効期限");
    let errors = field_errors(&[
        organisations.as_ref().err(),
        purpose.as_ref().err(),
        given_on.as_ref().err(),
        valid_until.as_ref().err(),
    ]);
    if !errors.is_empty() {
        return Err(errors);
    }
    let all = |e| vec![e];
    Ok(Some(api::ConsentAtIntake {
        organisations: organisations.map_err(all)?,
        purpose: purpose.map_err(all)?,
        given_on: given_on.map_err(all)?,
        valid_until: valid_until.map_err(all)?,
        written_form_received: f.checked("consent_written"),
    }))
}

fn intake_values(i: &Intake) -> Fields {
    let mut v = vec![
        ("received_on".into(), wareki::format(i.received_on)),
        ("route".into(), i.route.as_str().into()),
        ("urgency".into(), i.urgency.as_str().into()),
    ];
    if let Some(r) = &i.referrer {
        v.push(("referrer".into(), r.as_str().into()));
    }
    for p in &i.presenting_problems {
        v.push(("problems".into(), p.code.as_str().into()));
        if p.main {
            v.push(("main_problem".into(), p.code.as_str().into()));
        }
    }
    if let Some(t) = &i.presenting_problem_text {
        v.push(("presenting_problem_text".into(), t.as_str().into()));
    }
    if let Some(d) = i.application_received_on {
        v.push(("application_received_on".into(), wareki::format(d)));
    }
    if let Some(t) = &i.other_problem_text {
        v.push(("other_problem_text".into(), t.as_str().into()));
    }
    if let Some(visitor) = &i.visitor {
        if let Some(n) = &visitor.name {
            v.push(("visitor_name".into(), n.as_str().into()));
        }
        v.push(("visitor_relation".into(), visitor.relation.as_str().into()));
    }
    for (key, _, answer) in i.circumstances.items() {
        if let Some(a) = answer {
            v.push((format!("circ_{key}"), a.code.as_str().into()));
            if let Some(t) = &a.text {
                v.push((format!("circ_{key}_text"), t.as_str().into()));
            }
        }
    }
    Fields(v)
}

const DOMAINS: [(&str, &str); 9] = [
    ("health", "健康（心身の状況・障害）"),
    ("daily_life", "日常生活"),
    ("housing", "住まい"),
    ("household_finance", "収入・家計・債務"),
    ("employment", "就労"),
    ("family_relations", "家族関係"),
    ("social_relations", "社会参加・対人関係"),
    ("legal", "法的な課題"),
    ("other", "その他"),
];

fn domain_slot<'a>(
    d: &'a mut LifeDomains,
    key: &str,
) -> Option<&'a mut Option<tsunagu_core::LongText>> {
    Some(match key {
        "health" => &mut d.health,
        "daily_life" => &mut d.daily_life,
        "housing" => &mut d.housing,
        "household_finance" => &mut d.household_finance,
        "employment" => &mut d.employment,
        "family_relations" => &mut d.family_relations,
        "social_relations" => &mut d.social_relations,
        "legal" => &mut d.legal,
        "other" => &mut d.other,
        _ => return None,
    })
}

pub(crate) fn domain_values(d: &LifeDomains) -> Vec<(&'static str, String)> {
    let mut d = d.clone();
    DOMAINS
        .iter()
        .map(|(k, label)| {
            let v = domain_slot(&mut d, k)
                .and_then(|s| s.as_ref().map(|t| t.as_str().to_owned()))
                .unwrap_or_default();
            (*label, v)
        })
        .collect()
}

fn assessment_controls(settings: &TenantSettings) -> Vec<Control> {
    let mut v = vec![Control::date("assessed_on", "アセスメント日").required()];
    for (i, (k, label)) in DOMAINS.iter().enumerate() {
        let c = Control::area(format!("domain_{k}"), *label);
        v.push(if i == 0 {
            c.group("生活の領域ごとの状況")
        } else {
            c
        });
    }
    v.push(
        Control::area("baseline", "現状の査定（ベースライン）")
            .required()
            .group("見立て"),
    );
    v.push(Control::area("background", "背景の理解"));
    v.push(Control::area("main_issues", "主要課題").required());
    v.push(Control::area("strengths", "ストレングス（本人の強み）"));
    v.push(Control::area("specialist_opinions", "専門家の意見"));
    let issues: Vec<(&str, &str)> = settings
        .assessment_issues
        .iter()
        .map(|c| (c.code.as_str(), c.name.as_str()))
        .collect();
    v.push(
        Control::checks("issues", "本人の抱える課題（複数可）", issues)
            .group("本人の抱える課題")
            .hint("統計（本人の抱える課題別の件数）はこのチェックから数えます。"),
    );
    v
}

fn assessment_values(a: &Assessment) -> Fields {
    let mut v: Vec<(String, String)> = Vec::new();
    let mut d = a.domains.clone();
    for (k, _) in DOMAINS {
        if let Some(Some(t)) = domain_slot(&mut d, k) {
            v.push((format!("domain_{k}"), t.as_str().to_owned()));
        }
    }
    v.push(("baseline".into(), a.baseline.as_str().into()));
    v.push(("main_issues".into(), a.main_issues.as_str().into()));
    for code in &a.issues {
        v.push(("issues".into(), code.as_str().into()));
    }
    for (k, t) in [
        ("background", &a.background),
        ("strengths", &a.strengths),
        ("specialist_opinions", &a.specialist_opinions),
    ] {
        if let Some(t) = t {
            v.push((k.into(), t.as_str().into()));
        }
    }
    Fields(v)
}

fn outcome_controls(
    day: &'static str,
    day_label: &'static str,
    orgs: &[Organisation],
) -> Vec<Control> {
    let mut v = vec![
        Control::date(day, day_label).required(),
        Control::radio(
            "outcome",
            "結果",
            [
                ("continue", "ここで支援を続ける"),
                ("refer_out", "他の相談機関へつなぐ"),
                ("information_only", "情報提供のみで終了"),
            ],
        )
        .required(),
        Control::area("note", "情報提供の内容（情報提供のみで終了のとき）"),
    ];
    let mut r: Vec<Control> = referral_controls(orgs, false)
        .into_iter()
        .map(|c| c.only_when("outcome", "refer_out"))
        .collect();
    if let Some(first) = r.first_mut() {
        first.group = Some("つなぎ先（他の相談機関へつなぐとき）".into());
    }
    v.extend(r);
    v
}

fn read_outcome(f: &Fields, day: Date, orgs: &[Organisation]) -> FieldResult<TriageOutcome> {
    Ok(match f.get("outcome") {
        Some("continue") => TriageOutcome::Continue,
        Some("refer_out") => TriageOutcome::ReferOut {
            referral: read_referral(f, orgs, day)?,
        },
        Some("information_only") => TriageOutcome::InformationOnly {
            note: f.long("note", "情報提供の内容")?,
        },
        _ => return Err(field_error("outcome", "結果を選んでください。")),
    })
}

/// What a form needs to know about the case and the tenant.
struct FormCtx<'a> {
    state: &'a CaseState,
    settings: &'a TenantSettings,
    orgs: &'a [Organisation],
    staff: &'a [(UserId, String, OrgId)],
}

fn controls_for(action: CaseAction, c: &FormCtx) -> Vec<Control> {
    use CaseAction as A;
    let s = c.state;
    match action {
        A::RecordIntake => intake_controls(c.settings),
        A::Triage => outcome_controls("triaged_on", "振り分け日", c.orgs),
        A::Screen => outcome_controls("screened_on", "スクリーニング日", c.orgs),
        A::RecordAssessment => assessment_controls(c.settings),
        // The plan editor has its own page (pages::plan).
        A::DraftPlan | A::ModifyPlan => Vec::new(),
        A::RecordSupportDecision => {
            let services: Vec<(String, String)> = s
                .pending_decisions()
                .into_iter()
                .map(|code| {
                    let name = c
                        .settings
                        .statutory_service(&code)
                        .map_or_else(|| code.clone(), |x| x.name.clone());
                    (code, name)
                })
                .collect();
            vec![
                Control::select("service", "事業", services).required(),
                Control::radio(
                    "decision",
                    "決定",
                    options(
                        DecisionOutcome::ALL,
                        DecisionOutcome::as_str,
                        DecisionOutcome::label_ja,
                    ),
                )
                .required(),
                Control::date("decided_on", "決定日").required(),
                Control::date("notice_sent_on", "本人への通知日"),
                Control::area("note", "備考"),
            ]
        }
        A::StartSupport => vec![Control::date("started_on", "支援開始日").required()],
        A::RecordContact => contact_controls(),
        A::CorrectContact => {
            let records = s.contact_log.iter().enumerate().map(|(i, m)| {
                (
                    (i + 1).to_string(),
                    format!(
                        "No.{} {}{}",
                        i + 1,
                        wareki::format(m.on),
                        if m.reached {
                            ""
                        } else {
                            "（連絡つかず）"
                        }
                    ),
                )
            });
            let mut v = vec![Control::select("record", "訂正する記録", records).required()];
            v.extend(contact_record_controls());
            v.push(
                Control::area("reason", "訂正の理由")
                    .required()
                    .hint("訂正前の記録は履歴に残り、訂正した人・日時・理由とともに表示されます。"),
            );
            v
        }
        A::RecordMonitoring => vec![
            Control::date("monitored_on", "モニタリング日").required(),
            Control::radio(
                "kind",
                "種類",
                options(
                    MonitoringKind::ALL,
                    MonitoringKind::as_str,
                    MonitoringKind::label_ja,
                ),
            )
            .required(),
            Control::area("progress", "目標とベースラインに照らした進み具合").required(),
            Control::radio(
                "outcome",
                "結果",
                options(
                    MonitoringOutcome::ALL,
                    MonitoringOutcome::as_str,
                    MonitoringOutcome::label_ja,
                ),
            )
            .required(),
            Control::area("note", "プランの修正の内容・備考"),
        ],
        A::RecordEvaluation => {
            let mut v = vec![Control::date("evaluated_on", "評価日").required()];
            if let Some(plan) = &s.current_plan {
                for (i, g) in plan.goals.iter().enumerate() {
                    v.push(
                        Control::radio(
                            format!("goal{i}_attainment"),
                            "達成度",
                            options(Attainment::ALL, Attainment::as_str, Attainment::label_ja),
                        )
                        .required()
                        .group(format!("目標{}: {}", i + 1, g.as_str())),
                    );
                    v.push(Control::area(format!("goal{i}_note"), "評価の内容"));
                }
            }
            let summary = Control::area("summary", "総合評価（支援の状況と成果）").required();
            v.push(if s.current_plan.is_some() {
                summary.group("総合評価")
            } else {
                summary
            });
            v.push(
                Control::area("next_steps", "今後の方針")
                    .hint("例: 終結を支援調整会議に諮る。再プランで就労支援を続ける。"),
            );
            let changes: Vec<(&str, &str)> = c
                .settings
                .observed_changes
                .iter()
                .map(|c| (c.code.as_str(), c.name.as_str()))
                .collect();
            v.push(
                Control::checks("observed_changes", "見られた変化（複数可）", changes)
                    .group("見られた変化"),
            );
            let scores = [("1", "1"), ("2", "2"), ("3", "3"), ("4", "4")];
            for (name, label) in CONNECTION_ITEMS {
                v.push(
                    Control::radio(format!("connection_{name}"), label, scores)
                        .group("つながり指標（本人と一緒に1〜4で。記録しないときは空欄）"),
                );
            }
            v
        }
        A::RecordEmergencySupport => vec![
            Control::select(
                "kind",
                "支援の種類",
                options(
                    EmergencyKind::ALL,
                    EmergencyKind::as_str,
                    EmergencyKind::label_ja,
                ),
            )
            .required(),
            Control::date("provided_on", "実施日").required(),
            Control::area("note", "内容"),
        ],
        A::RecordEmploymentSupport => vec![
            Control::select(
                "kind",
                "支援の内容",
                options(
                    EmploymentSupportKind::ALL,
                    EmploymentSupportKind::as_str,
                    EmploymentSupportKind::label_ja,
                ),
            )
            .required(),
            Control::date("provided_on", "実施日").required(),
            Control::area("note", "内容・本人の様子"),
        ],
        A::RecordEmploymentOutcome => vec![
            Control::select(
                "outcome",
                "成果",
                [("employed", "就労"), ("income_increased", "増収")],
            )
            .required(),
            Control::date("achieved_on", "就労した日・増収を確認した日").required(),
            Control::select(
                "form",
                "就労の形態（就労のとき）",
                options(
                    EmploymentForm::ALL,
                    EmploymentForm::as_str,
                    EmploymentForm::label_ja,
                ),
            )
            .only_when("outcome", "employed"),
            Control::select(
                "band",
                "増えた月収（増収のとき）",
                options(IncomeBand::ALL, IncomeBand::as_str, IncomeBand::label_ja),
            )
            .only_when("outcome", "income_increased"),
            Control::area("note", "内容（勤務先の種類、勤務時間など）"),
        ],
        A::MakeReferral => referral_controls(c.orgs, true),
        A::FollowUpReferral | A::ConfirmReferral => {
            let refs: Vec<(String, String)> = s
                .open_referrals()
                .map(|r| {
                    (
                        r.id.to_string(),
                        format!(
                            "{}（{}につないだもの）",
                            r.to_name.as_str(),
                            wareki::format(r.referred_on)
                        ),
                    )
                })
                .collect();
            let mut v = vec![Control::select("referral_id", "つなぎ先", refs).required()];
            if action == A::FollowUpReferral {
                v.push(Control::date("checked_on", "確認日").required());
                v.push(Control::area("note", "確認した状況").required());
                v.push(Control::date("next_follow_up_on", "次に確認する日").required());
            } else {
                v.push(Control::date("confirmed_on", "受け入れを確認した日").required());
                v.push(Control::area("note", "備考"));
            }
            v
        }
        A::Suspend => vec![
            Control::date("suspended_on", "中断日").required(),
            Control::area("reason", "中断の理由（連絡が取れない状況など）").required(),
        ],
        A::Resume => vec![Control::date("resumed_on", "再開日").required()],
        A::Terminate => vec![
            Control::date("terminated_on", "終結日").required(),
            Control::select(
                "pattern",
                "終結の理由",
                options(
                    ClosurePattern::ALL,
                    ClosurePattern::as_str,
                    ClosurePattern::label_ja,
                ),
            )
            .required(),
            Control::area("person_intention", "本人の意向"),
            Control::radio(
                "follow_up",
                "終結後のフォローアップ",
                [("planned", "行う"), ("not_needed", "行わない")],
            )
            .required(),
            Control::date("first_check_on", "最初の確認日（行うとき）"),
            Control::area("method", "確認の方法（行うとき）"),
            Control::area("follow_up_reason", "行わない理由（行わないとき）"),
            Control::text("lead_department", "終結後の主担当課"),
        ],
        A::RecordFollowUp => vec![
            Control::date("checked_on", "確認日").required(),
            Control::text("with_whom", "相手（本人・関係機関など）"),
            Control::area("summary", "状況").required(),
            Control::date("next_check_on", "次の確認日"),
        ],
        A::Reopen => vec![
            Control::date("reopened_on", "再開日").required(),
            Control::area("reason", "再開の理由").required(),
        ],
        A::AddTeamMember => vec![
            Control::select(
                "org_id",
                "加える機関",
                c.orgs.iter().filter(|o| !s.team.contains(&o.id)).map(|o| {
                    (
                        o.id.to_string(),
                        format!("{}（{}）", o.name, o.kind.label_ja()),
                    )
                }),
            )
            .required(),
        ],
        A::RemoveTeamMember => vec![
            Control::select(
                "org_id",
                "外す機関",
                s.team
                    .iter()
                    .filter(|o| **o != s.owner_org)
                    .filter_map(|o| c.orgs.iter().find(|x| x.id == *o))
                    .map(|o| (o.id.to_string(), o.name.clone())),
            )
            .required()
            .hint("外した機関は、このケースを見られなくなります。"),
        ],
        A::AssignWorker => vec![
            Control::select(
                "user_id",
                "新しい担当者",
                c.staff
                    .iter()
                    .filter(|(_, _, org)| *org == s.owner_org)
                    .map(|(id, name, _)| (id.to_string(), name.clone())),
            )
            .required(),
        ],
        A::Restrict => vec![
            Control::checks(
                "users",
                "このケースを見られる職員（自分を含めてください）",
                c.staff
                    .iter()
                    .filter(|(_, _, org)| s.team.contains(org))
                    .map(|(id, name, org)| {
                        let org = c
                            .orgs
                            .iter()
                            .find(|o| o.id == *org)
                            .map_or("", |o| o.name.as_str());
                        (id.to_string(), format!("{name}（{org}）"))
                    }),
            )
            .hint("誰も選ばずに保存すると、閲覧制限を解除します。"),
        ],
    }
}

/// A time of day as a worker types it: 14:30, １４：３０, 9:05 or 1430.
fn read_time(f: &Fields, name: &str, label: &str) -> FieldResult<Option<jiff::civil::Time>> {
    let Some(raw) = f.get(name) else {
        return Ok(None);
    };
    let raw = tsunagu_core::text::half_width_digits(raw.trim()).replace('：', ":");
    let raw = match raw.split_once(':') {
        Some((h, m)) if h.len() == 1 => format!("0{h}:{m}"),
        None if raw.len() == 4 && raw.chars().all(|c| c.is_ascii_digit()) => {
            format!("{}:{}", &raw[..2], &raw[2..])
        }
        _ => raw,
    };
    raw.parse::<jiff::civil::Time>().map(Some).map_err(|_| {
        field_error(
            name,
            format!("{label}は「14:30」のように24時間制の時と分で入力してください。"),
        )
    })
}

/// The quick contact entry: what the record says, its time and the next appointment.
fn contact_controls() -> Vec<Control> {
    let mut v = contact_record_controls();
    v.push(Control::text("at", "時刻").hint("例: 14:30"));
    v.push(
        Control::date("next_appointment_on", "次回の約束の日")
            .hint("決めたときだけ。期日一覧に載ります"),
    );
    v
}

/// What a contact record says (the fields a correction replaces).
fn contact_record_controls() -> Vec<Control> {
    vec![
        Control::select(
            "kind",
            "方法",
            options(ContactKind::ALL, ContactKind::as_str, ContactKind::label_ja),
        )
        .required(),
        Control::date("contacted_on", "日付").required(),
        Control::check("unreached", "連絡がつかなかった（不在・不通）"),
        Control::text("with_whom", "相手（本人以外のとき）"),
        Control::area("summary", "内容").required(),
    ]
}

fn command_for(action: CaseAction, f: &Fields, c: &FormCtx) -> FieldResult<CaseCommand> {
    use CaseAction as A;
    Ok(match action {
        A::RecordIntake => CaseCommand::RecordIntake {
            intake: read_intake(f)?,
        },
        A::Triage => {
            let day = f.date("triaged_on", "振り分け日")?;
            CaseCommand::Triage {
                triaged_on: day,
                outcome: read_outcome(f, day, c.orgs)?,
            }
        }
        A::Screen => {
            let day = f.date("screened_on", "スクリーニング日")?;
            CaseCommand::Screen {
                screened_on: day,
                outcome: read_outcome(f, day, c.orgs)?,
            }
        }
        A::RecordAssessment => {
            let mut domains = LifeDomains::default();
            for (k, label) in DOMAINS {
                if let Some(slot) = domain_slot(&mut domains, k) {
                    *slot = f.opt_long(&format!("domain_{k}"), label)?;
                }
            }
            CaseCommand::RecordAssessment {
                assessment: Assessment {
                    assessed_on: f.date("assessed_on", "アセスメント日")?,
                    domains,
                    baseline: f.long("baseline", "現状の査定")?,
                    background: f.opt_long("background", "背景の理解")?,
                    main_issues: f.long("main_issues", "主要課題")?,
                    strengths: f.opt_long("strengths", "ストレングス")?,
                    specialist_opinions: f.opt_long("specialist_opinions", "専門家の意見")?,
                    issues: f
                        .all("issues")
                        .into_iter()
                        .map(|c| {
                            tsunagu_core::ShortText::parse(c).map_err(|_| {
                                field_error("issues", "本人の抱える課題の選択が正しくありません。")
                            })
                        })
                        .collect::<FieldResult<Vec<_>>>()?,
                },
            }
        }
        A::DraftPlan | A::ModifyPlan => {
            return Err(field_error(
                "goal1",
                "プランはプランの編集画面から保存してください。",
            ));
        }
        A::RecordSupportDecision => CaseCommand::RecordSupportDecision {
            service: f.required("service", "事業")?.to_owned(),
            outcome: f.choice("decision", "決定", DecisionOutcome::parse)?,
            decided_on: f.date("decided_on", "決定日")?,
            notice_sent_on: f.opt_date("notice_sent_on", "通知日")?,
            note: f.opt_long("note", "備考")?,
        },
        A::StartSupport => CaseCommand::StartSupport {
            started_on: f.date("started_on", "支援開始日")?,
        },
        A::RecordContact => CaseCommand::RecordContact {
            kind: f.choice("kind", "方法", ContactKind::parse)?,
            contacted_on: f.date("contacted_on", "日付")?,
            reached: !f.checked("unreached"),
            with_whom: f.opt_short("with_whom", "相手")?,
            summary: f.long("summary", "内容")?,
            at: read_time(f, "at", "時刻")?,
            next_appointment_on: f.opt_date("next_appointment_on", "次回の約束の日")?,
        },
        A::CorrectContact => CaseCommand::CorrectContact {
            record: f
                .get("record")
                .and_then(|r| r.trim().parse().ok())
                .ok_or_else(|| field_error("record", "訂正する記録を選んでください。"))?,
            kind: f.choice("kind", "方法", ContactKind::parse)?,
            contacted_on: f.date("contacted_on", "日付")?,
            reached: !f.checked("unreached"),
            with_whom: f.opt_short("with_whom", "相手")?,
            summary: f.long("summary", "内容")?,
            reason: f.long("reason", "訂正の理由")?,
        },
        A::RecordMonitoring => CaseCommand::RecordMonitoring {
            monitored_on: f.date("monitored_on", "モニタリング日")?,
            kind: f.choice("kind", "種類", MonitoringKind::parse)?,
            progress: f.long("progress", "進み具合")?,
            outcome: f.choice("outcome", "結果", MonitoringOutcome::parse)?,
            note: f.opt_long("note", "備考")?,
        },
        A::RecordEvaluation => {
            let goals = c.state.current_plan.as_ref().map_or(0, |p| p.goals.len());
            let goals = (0..goals)
                .map(|i| {
                    Ok(GoalAttainment {
                        goal: i,
                        attainment: f.choice(
                            &format!("goal{i}_attainment"),
                            &format!("目標{}の達成度", i + 1),
                            Attainment::parse,
                        )?,
                        note: f.opt_long(&format!("goal{i}_note"), "評価の内容")?,
                    })
                })
                .collect::<FieldResult<Vec<_>>>()?;
            let observed_changes = f
                .all("observed_changes")
                .into_iter()
                .map(|c| {
                    tsunagu_core::ShortText::parse(c).map_err(|_| {
                        field_error("observed_changes", "見られた変化の選択が正しくありません。")
                    })
                })
                .collect::<FieldResult<Vec<_>>>()?;
            CaseCommand::RecordEvaluation {
                evaluated_on: f.date("evaluated_on", "評価日")?,
                goals,
                summary: f.long("summary", "総合評価")?,
                next_steps: f.opt_long("next_steps", "今後の方針")?,
                observed_changes,
                connection: connection_scores(f)?,
            }
        }
        A::RecordEmergencySupport => CaseCommand::RecordEmergencySupport {
            kind: f.choice("kind", "支援の種類", EmergencyKind::parse)?,
            provided_on: f.date("provided_on", "実施日")?,
            note: f.opt_long("note", "内容")?,
        },
        A::RecordEmploymentSupport => CaseCommand::RecordEmploymentSupport {
            kind: f.choice("kind", "支援の内容", EmploymentSupportKind::parse)?,
            provided_on: f.date("provided_on", "実施日")?,
            note: f.opt_long("note", "内容・本人の様子")?,
        },
        A::RecordEmploymentOutcome => CaseCommand::RecordEmploymentOutcome {
            outcome: match f.get("outcome") {
                Some("employed") => EmploymentOutcome::Employed {
                    form: f.choice("form", "就労の形態", EmploymentForm::parse)?,
                },
                Some("income_increased") => EmploymentOutcome::IncomeIncreased {
                    band: f.choice("band", "増えた月収", IncomeBand::parse)?,
                },
                _ => return Err(field_error("outcome", "成果を選んでください。")),
            },
            achieved_on: f.date("achieved_on", "就労した日・増収を確認した日")?,
            note: f.opt_long("note", "内容")?,
        },
        A::MakeReferral => {
            let day = f.date("referred_on", "つないだ日")?;
            CaseCommand::MakeReferral {
                referral: read_referral(f, c.orgs, day)?,
            }
        }
        A::FollowUpReferral => CaseCommand::FollowUpReferral {
            referral_id: referral_id(f)?,
            checked_on: f.date("checked_on", "確認日")?,
            note: f.long("note", "確認した状況")?,
            next_follow_up_on: Some(f.date("next_follow_up_on", "次に確認する日")?),
        },
        A::ConfirmReferral => CaseCommand::ConfirmReferral {
            referral_id: referral_id(f)?,
            confirmed_on: f.date("confirmed_on", "受け入れを確認した日")?,
            note: f.opt_long("note", "備考")?,
        },
        A::Suspend => CaseCommand::Suspend {
            suspended_on: f.date("suspended_on", "中断日")?,
            reason: f.long("reason", "中断の理由")?,
        },
        A::Resume => CaseCommand::Resume {
            resumed_on: f.date("resumed_on", "再開日")?,
        },
        A::Terminate => CaseCommand::Terminate {
            termination: Termination {
                terminated_on: f.date("terminated_on", "終結日")?,
                pattern: f.choice("pattern", "終結の理由", ClosurePattern::parse)?,
                person_intention: f.opt_long("person_intention", "本人の意向")?,
                follow_up: match f.get("follow_up") {
                    Some("planned") => Some(FollowUpPlan::Planned {
                        first_check_on: f.date("first_check_on", "最初の確認日")?,
                        method: f.long("method", "確認の方法")?,
                    }),
                    Some("not_needed") => Some(FollowUpPlan::NotNeeded {
                        reason: f.long("follow_up_reason", "フォローアップを行わない理由")?,
                    }),
                    _ => {
                        return Err(field_error(
                            "follow_up",
                            "終結後のフォローアップを行うかどうかを選んでください。",
                        ));
                    }
                },
                lead_department: f.opt_short("lead_department", "終結後の主担当課")?,
            },
        },
        A::RecordFollowUp => CaseCommand::RecordFollowUp {
            checked_on: f.date("checked_on", "確認日")?,
            with_whom: f.opt_short("with_whom", "相手")?,
            summary: f.long("summary", "状況")?,
            next_check_on: f.opt_date("next_check_on", "次の確認日")?,
        },
        A::Reopen => CaseCommand::Reopen {
            reopened_on: f.date("reopened_on", "再開日")?,
            reason: f.long("reason", "再開の理由")?,
        },
        A::AddTeamMember => CaseCommand::AddTeamMember {
            org_id: f.id("org_id", "加える機関を選んでください。")?,
        },
        A::RemoveTeamMember => CaseCommand::RemoveTeamMember {
            org_id: f.id("org_id", "外す機関を選んでください。")?,
        },
        A::AssignWorker => CaseCommand::AssignWorker {
            user_id: f.id("user_id", "新しい担当者を選んでください。")?,
        },
        A::Restrict => CaseCommand::Restrict {
            users: f.ids::<UserId>("users", "職員は選択肢から選んでください。")?,
        },
    })
}

fn referral_id(f: &Fields) -> FieldResult<tsunagu_core::ReferralId> {
    f.id("referral_id", "つなぎ先を選んでください。")
}

/// The field a refusal is about, so the message can stand beside it.
fn refusal_field(code: &str) -> Option<&'static str> {
    Some(match code {
        "referral.needs_follow_up_date" => "follow_up_on",
        "intake.multiple_main_problems" => "main_problem",
        "termination.needs_intention" => "person_intention",
        "termination.pattern_mismatch" => "pattern",
        "decision.service_not_in_plan" | "decision.already_made" => "service",
        "consent.no_organisations" | "organisation.unknown" => "consent_orgs",
        "restriction.excludes_self" => "users",
        "assessment.unknown_issue" => "issues",
        "evaluation.unknown_change" => "observed_changes",
        "team.cannot_remove_owner" | "team.not_member" => "org_id",
        _ => return None,
    })
}

/// Values a form starts with: today's date in date fields, the current record for revisions.
fn initial(action: CaseAction, s: &CaseState, today: Date) -> Fields {
    use CaseAction as A;
    let mut f = match action {
        A::RecordIntake => s.intake.as_ref().map(intake_values).unwrap_or_default(),
        A::RecordAssessment => s
            .latest_assessment
            .as_ref()
            .map(assessment_values)
            .unwrap_or_default(),
        A::Restrict => Fields(
            s.restricted_to
                .iter()
                .map(|u| ("users".to_owned(), u.to_string()))
                .collect(),
        ),
        A::AssignWorker => Fields(vec![("user_id".into(), s.assigned_worker.to_string())]),
        _ => Fields::default(),
    };
    let todays = [
        "received_on",
        "triaged_on",
        "screened_on",
        "assessed_on",
        "drafted_on",
        "decided_on",
        "started_on",
        "contacted_on",
        "monitored_on",
        "evaluated_on",
        "provided_on",
        "referred_on",
        "checked_on",
        "confirmed_on",
        "suspended_on",
        "resumed_on",
        "terminated_on",
        "reopened_on",
        "period_from",
    ];
    for name in todays {
        if f.get(name).is_none() {
            f.0.push((name.into(), wareki::format(today)));
        }
    }
    f
}

// --- new consultation ------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "intake.html")]
struct IntakePage {
    chrome: Chrome,
    person_id: PersonId,
    person_name: String,
    controls: Vec<Control>,
    notice: Option<Notice>,
    /// The person's open cases on the caller's teams: a new one would be a second (a warning).
    open_cases: Vec<(CaseId, String)>,
}

/// The person's open cases the caller's organisation works on, as 「番号（段階）」.
async fn open_cases_of(
    app: &AppState,
    auth: &Auth,
    person: PersonId,
) -> Result<Vec<(CaseId, String)>, ApiError> {
    let list = tsunagu_app::caseload::list(
        app,
        auth,
        tsunagu_app::caseload::ListRequest {
            scope: tsunagu_app::caseload::ListScope::Team,
            person: Some(person),
            closed: Some(false),
            ..Default::default()
        },
    )
    .await?;
    Ok(list
        .cases
        .into_iter()
        .map(|c| {
            let number = c
                .case
                .case_number
                .map_or_else(|| "番号なし".to_owned(), |n| n.label());
            (
                c.case.id,
                format!("{number}（{}）", c.case.stage.label_ja()),
            )
        })
        .collect())
}

fn new_case_controls(auth: &Auth, names: &Names) -> Vec<Control> {
    let mut controls = intake_controls(&auth.settings);
    controls.extend(consent_controls(names, auth.actor.org_id));
    controls
}

async fn person_name(
    app: &AppState,
    auth: &Auth,
    id: PersonId,
    a: Access,
) -> Result<String, ApiError> {
    let (p, _) = access::person(app, auth, id, a).await?;
    Ok(shown_name(&p.state, auth))
}

/// 相談受付・申込票 for a new case of a person.
pub async fn new_case_form(
    State(app): State<AppState>,
    Page(auth): Page,
    Path(id): Path<String>,
) -> PageResult {
    let id: PersonId = parse_id(&id)?;
    let name = person_name(&app, &auth, id, Access::Write).await?;
    let today = app.clock.today();
    let mut f = Fields(vec![
        ("received_on".into(), wareki::format(today)),
        ("urgency".into(), "normal".into()),
    ]);
    f.0.extend(consent_defaults(today));
    let names = Names::load(&app, &auth).await?;
    Ok(render(&IntakePage {
        chrome: Chrome::of(&auth, today),
        person_id: id,
        person_name: name,
        controls: refill(new_case_controls(&auth, &names), &f, None),
        notice: None,
        open_cases: open_cases_of(&app, &auth, id).await?,
    }))
}

pub async fn create_case(
    State(app): State<AppState>,
    Page(auth): Page,
    Path(id): Path<String>,
    axum::Form(fields): axum::Form<Vec<(String, String)>>,
) -> PageResult {
    let id: PersonId = parse_id(&id)?;
    // Access before the form is read: a caller who may not write learns nothing from checks.
    access::person(&app, &auth, id, Access::Write).await?;
    let f = Fields(fields);
    let again = |auth: Auth, errors: Vec<FieldError>, notice: Notice, status: StatusCode| {
        let app = app.clone();
        let f = f.clone();
        async move {
            let name = person_name(&app, &auth, id, Access::Write).await?;
            let names = Names::load(&app, &auth).await?;
            let mut errors = errors;
            if errors.is_empty()
                && let Some(field) = refusal_field(&notice.code)
            {
                errors.push(field_error(field, notice.message.clone()));
            }
            Ok::<_, PageError>(render_status(
                status,
                &IntakePage {
                    chrome: Chrome::of(&auth, app.clock.today()),
                    person_id: id,
                    person_name: name,
                    controls: refill_all(new_case_controls(&auth, &names), &f, &errors),
                    notice: Some(notice),
                    open_cases: open_cases_of(&app, &auth, id).await?,
                },
            ))
        }
    };
    // Every mistake of the intake and the consent at once.
    let (intake, consent) = match (read_intake_all(&f), read_consent(&f)) {
        (Ok(intake), Ok(consent)) => (intake, consent),
        (intake, consent) => {
            let mut errors = intake.err().unwrap_or_default();
            errors.extend(consent.err().unwrap_or_default());
            let notice = Notice::from_fields(&errors);
            return again(auth, errors, notice, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
    };
    let req = api::OpenCaseRequest {
        case: OpenCase {
            person_id: id,
            identification: None,
            intake: Some(intake),
        },
        consent,
    };
    match cases::open(&app, &auth, req, None)
        .await
        .map_err(ApiError::from)
    {
        Ok(created) => Ok(see_other(&format!("/cases/{}", created.id))),
        Err(e) if e.status.is_client_error() && !e.is_not_found() => {
            again(auth, Vec::new(), Notice::from_api(&e), refusal_status(&e)).await
        }
        Err(e) => Err(e.into()),
    }
}

// --- the case page ---------------------------------------------------------------------------

pub struct TimelineRow {
    pub on: Option<Date>,
    pub label: String,
    pub text: String,
    pub recorded_at: String,
    pub by: String,
    pub reason: Option<String>,
    pub contact: bool,
    /// A contact record's number on the case (the number its correction names).
    pub record: Option<u32>,
    /// The corrections of a contact record, oldest first: what it said before each.
    pub corrections: Vec<Correction>,
    pub kind: TimelineKind,
}

/// One correction of a contact record: what the record said before it, who corrected it,
/// when and why.
pub struct Correction {
    pub was: String,
    pub by: String,
    pub at: String,
    pub reason: String,
}

/// What the timeline can be narrowed to (表示する記録).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum TimelineKind {
    #[default]
    All,
    /// 面談・電話・訪問などの支援経過, emergency support, follow-up after closing.
    Contacts,
    /// The forms: intake, assessment, plan, monitoring, evaluation, attachments.
    Records,
    /// Stages, meetings and decisions.
    Decisions,
    /// つなぎ: referrals and their checks.
    Referrals,
    /// The team, the worker and who may see the case.
    Team,
}

impl TimelineKind {
    pub const ALL: [TimelineKind; 6] = [
        TimelineKind::All,
        TimelineKind::Contacts,
        TimelineKind::Records,
        TimelineKind::Decisions,
        TimelineKind::Referrals,
        TimelineKind::Team,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TimelineKind::All => "all",
            TimelineKind::Contacts => "contacts",
            TimelineKind::Records => "records",
            TimelineKind::Decisions => "decisions",
            TimelineKind::Referrals => "referrals",
            TimelineKind::Team => "team",
        }
    }

    pub fn label_ja(self) -> &'static str {
        match self {
            TimelineKind::All => "すべて",
            TimelineKind::Contacts => "支援経過（面談・電話・訪問など）",
            TimelineKind::Records => "帳票（受付・アセスメント・プラン・モニタリング・評価）",
            TimelineKind::Decisions => "段階・会議・決定",
            TimelineKind::Referrals => "つなぎ",
            TimelineKind::Team => "支援チーム・担当・閲覧制限",
        }
    }

    pub fn parse(s: &str) -> Option<TimelineKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn of(e: &CaseEvent) -> TimelineKind {
        use CaseEvent::*;
        match e {
            ContactRecorded { .. }
            | ContactCorrected { .. }
            | EmergencySupportRecorded { .. }
            | EmploymentSupportRecorded { .. }
            | FollowUpRecorded { .. } => TimelineKind::Contacts,
            IntakeRecorded { .. }
            | AssessmentRecorded { .. }
            | PlanDrafted { .. }
            | PlanModified { .. }
            | MonitoringRecorded { .. }
            | EvaluationRecorded { .. }
            | EmploymentOutcomeRecorded { .. }
            | AttachmentAdded { .. } => TimelineKind::Records,
            CaseOpened { .. }
            | TriagedToContinue { .. }
            | ScreenedToHandleHere { .. }
            | PlanApproved { .. }
            | PlanReturned { .. }
            | SupportDecisionRecorded { .. }
            | SupportStarted { .. }
            | Suspended { .. }
            | SuspensionConfirmed { .. }
            | Resumed { .. }
            | TerminationApproved { .. }
            | ReplanDecided { .. }
            | MeetingNoted { .. }
            | Closed { .. }
            | Reopened { .. } => TimelineKind::Decisions,
            ReferralMade { .. } | ReferralFollowedUp { .. } | ReferralConfirmed { .. } => {
                TimelineKind::Referrals
            }
            AccessRestricted { .. }
            | TeamMemberAdded { .. }
            | TeamMemberRemoved { .. }
            | WorkerAssigned { .. } => TimelineKind::Team,
        }
    }
}

/// The timeline as the case page shows it: its rows (narrowed to a kind), how many there are
/// in all, and whether the reader may correct a contact record.
pub struct Timeline {
    pub rows: Vec<TimelineRow>,
    pub kind: TimelineKind,
    pub total: usize,
    pub may_correct: bool,
}

impl Timeline {
    fn of(rows: Vec<TimelineRow>, kind: TimelineKind, may_correct: bool) -> Timeline {
        let total = rows.len();
        let rows = if kind == TimelineKind::All {
            rows
        } else {
            rows.into_iter().filter(|r| r.kind == kind).collect()
        };
        Timeline {
            rows,
            kind,
            total,
            may_correct,
        }
    }

    pub fn kinds(&self) -> Vec<(&'static str, &'static str, bool)> {
        TimelineKind::ALL
            .into_iter()
            .map(|k| (k.as_str(), k.label_ja(), k == self.kind))
            .collect()
    }
}

fn contact_text(
    reached: bool,
    with_whom: Option<&tsunagu_core::ShortText>,
    summary: &str,
) -> String {
    format!(
        "{}{}{}",
        if reached { "" } else { "【連絡つかず】" },
        with_whom
            .map(|w| format!("（{}）", w.as_str()))
            .unwrap_or_default(),
        summary
    )
}

/// Where an imported record came from, as the timeline and the history say it.
pub(crate) fn imported_from_text(source: &tsunagu_core::import::ImportSource) -> String {
    format!(
        "取り込み: {} の{}行目",
        source.file_name.as_str(),
        source.row
    )
}

pub(crate) fn describe(
    e: &CaseEvent,
    names: &Names,
    settings: &TenantSettings,
) -> (Option<Date>, String, String) {
    use CaseEvent::*;
    let t = |x: &tsunagu_core::LongText| x.as_str().to_owned();
    let opt = |x: &Option<tsunagu_core::LongText>| {
        x.as_ref()
            .map(|v| v.as_str().to_owned())
            .unwrap_or_default()
    };
    let (on, label, text): (Option<Date>, &str, String) = match e {
        CaseOpened {
            opened_on,
            identification,
            imported_from,
            ..
        } => (
            Some(*opened_on),
            "ケース開始",
            [
                identification
                    .as_ref()
                    .map(|i| format!("把握の経路: {}", i.route.label_ja())),
                imported_from.as_ref().map(imported_from_text),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" / "),
        ),
        IntakeRecorded { intake } => (
            Some(intake.received_on),
            "相談受付・申込票",
            format!(
                "経路: {} / 主訴: {} / 緊急度: {}",
                intake.route.label_ja(),
                intake
                    .presenting_problems
                    .iter()
                    .map(|p| {
                        let n = settings.presenting_problem_name(p.code.as_str());
                        if p.main {
                            format!("◎{n}")
                        } else {
                            n.to_owned()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("、"),
                intake.urgency.label_ja()
            ),
        ),
        TriagedToContinue { triaged_on } => {
            (Some(*triaged_on), "振り分け", "ここで支援を続ける".into())
        }
        ReferralMade { referral } => (
            Some(referral.referred_on),
            "他機関へのつなぎ",
            format!(
                "{}へ{}（確認予定 {}）: {}",
                referral.to_name.as_str(),
                if referral.accompanied {
                    "同行してつないだ"
                } else {
                    "つないだ"
                },
                wareki::format(referral.follow_up_on),
                referral.purpose.as_str()
            ),
        ),
        ReferralFollowedUp {
            checked_on,
            note,
            next_follow_up_on,
            ..
        } => (
            Some(*checked_on),
            "つなぎ先の状況確認",
            format!("{}（次回 {}）", t(note), wareki::format(*next_follow_up_on)),
        ),
        ReferralConfirmed {
            confirmed_on, note, ..
        } => (Some(*confirmed_on), "つなぎ先での受け入れ確認", opt(note)),
        AssessmentRecorded {
            version,
            assessment,
        } => (
            Some(assessment.assessed_on),
            "アセスメント",
            format!(
                "第{version}版 主要課題: {}{}",
                assessment.main_issues.as_str(),
                if assessment.issues.is_empty() {
                    String::new()
                } else {
                    format!(
                        " / 本人の抱える課題: {}",
                        assessment
                            .issues
                            .iter()
                            .map(|c| settings.assessment_issue_name(c.as_str()))
                            .collect::<Vec<_>>()
                            .join("、")
                    )
                }
            ),
        ),
        ScreenedToHandleHere { screened_on } => (
            Some(*screened_on),
            "スクリーニング",
            "ここでプランを作成する".into(),
        ),
        PlanDrafted { plan } => (
            Some(plan.drafted_on),
            "プラン作成",
            format!(
                "第{}版 目標: {}（{}〜{}）",
                plan.version,
                plan.goals
                    .iter()
                    .map(|g| g.as_str())
                    .collect::<Vec<_>>()
                    .join("、"),
                wareki::format(plan.period_from),
                wareki::format(plan.period_to)
            ),
        ),
        PlanModified { plan, reason } => (
            Some(plan.drafted_on),
            "プランの修正",
            format!(
                "第{}版（会議に報告） 理由: {} ／ 目標: {}",
                plan.version,
                t(reason),
                plan.goals
                    .iter()
                    .map(|g| g.as_str())
                    .collect::<Vec<_>>()
                    .join("、"),
            ),
        ),
        PlanApproved {
            plan_version,
            approved_on,
            ..
        } => (
            Some(*approved_on),
            "支援調整会議",
            format!("プラン第{plan_version}版を了承"),
        ),
        PlanReturned {
            plan_version,
            reason,
            ..
        } => (
            None,
            "支援調整会議",
            format!("プラン第{plan_version}版を差し戻し: {}", t(reason)),
        ),
        SupportDecisionRecorded { decision, note } => (
            Some(decision.decided_on),
            "支援決定",
            format!(
                "{}: {}{}",
                settings
                    .statutory_service(&decision.service)
                    .map_or(decision.service.as_str(), |s| s.name.as_str()),
                decision.outcome.label_ja(),
                note.as_ref()
                    .map(|n| format!("（{}）", n.as_str()))
                    .unwrap_or_default()
            ),
        ),
        SupportStarted {
            started_on,
            first_monitoring_due_on,
        } => (
            Some(*started_on),
            "支援開始",
            format!(
                "初回モニタリング期限 {}",
                wareki::format(*first_monitoring_due_on)
            ),
        ),
        ContactRecorded {
            kind,
            contacted_on,
            reached,
            with_whom,
            summary,
            at,
            next_appointment_on,
        } => (
            Some(*contacted_on),
            kind.label_ja(),
            format!(
                "{}{}{}",
                at.map(|t| format!("{} ", t.strftime("%H:%M")))
                    .unwrap_or_default(),
                contact_text(*reached, with_whom.as_ref(), summary.as_str()),
                next_appointment_on
                    .map(|d| format!("（次回の約束: {}）", wareki::format(d)))
                    .unwrap_or_default()
            ),
        ),
        ContactCorrected {
            kind,
            contacted_on,
            reached,
            with_whom,
            summary,
            ..
        } => (
            Some(*contacted_on),
            kind.label_ja(),
            contact_text(*reached, with_whom.as_ref(), summary.as_str()),
        ),
        MonitoringRecorded {
            monitored_on,
            kind,
            progress,
            outcome,
            note,
            ..
        } => (
            Some(*monitored_on),
            "モニタリング",
            format!(
                "{}・{}: {} {}",
                kind.label_ja(),
                outcome.label_ja(),
                progress.as_str(),
                opt(note)
            ),
        ),
        EvaluationRecorded {
            evaluated_on,
            plan_version,
            summary,
            goals,
            next_steps,
            observed_changes,
            connection,
        } => (
            Some(*evaluated_on),
            "プラン評価",
            format!(
                "第{plan_version}版 {} / {}{}{}{}",
                goals
                    .iter()
                    .map(|g| format!("目標{}: {}", g.goal + 1, g.attainment.label_ja()))
                    .collect::<Vec<_>>()
                    .join("、"),
                summary.as_str(),
                next_steps
                    .as_ref()
                    .map(|n| format!(" / 今後の方針: {}", n.as_str()))
                    .unwrap_or_default(),
                if observed_changes.is_empty() {
                    String::new()
                } else {
                    format!(
                        " / 見られた変化: {}",
                        observed_changes
                            .iter()
                            .map(|c| settings.observed_change_name(c.as_str()))
                            .collect::<Vec<_>>()
                            .join("、")
                    )
                },
                connection
                    .map(|c| format!(
                        " / つながり指標: {}",
                        c.items()
                            .iter()
                            .map(|(_, l, v)| format!("{l}{v}"))
                            .collect::<Vec<_>>()
                            .join("・")
                    ))
                    .unwrap_or_default()
            ),
        ),
        EmergencySupportRecorded {
            kind,
            provided_on,
            note,
        } => (
            Some(*provided_on),
            "緊急的な支援",
            format!("{} {}", kind.label_ja(), opt(note)),
        ),
        EmploymentSupportRecorded {
            kind,
            provided_on,
            note,
        } => (
            Some(*provided_on),
            "就労支援",
            format!("{} {}", kind.label_ja(), opt(note)),
        ),
        EmploymentOutcomeRecorded {
            outcome,
            achieved_on,
            note,
            plan_version,
            under_employment_support_plan,
        } => (
            Some(*achieved_on),
            "就労・増収",
            format!(
                "{}{} {}",
                outcome.label_ja(),
                match (plan_version, under_employment_support_plan) {
                    (Some(v), true) => format!("（第{v}版のプラン・就労支援対象）"),
                    (Some(v), false) => format!("（第{v}版のプラン）"),
                    (None, _) => "（プラン作成前）".to_owned(),
                },
                opt(note)
            ),
        ),
        Suspended {
            suspended_on,
            reason,
        } => (Some(*suspended_on), "中断", t(reason)),
        SuspensionConfirmed { confirmed_on, .. } => {
            (Some(*confirmed_on), "支援調整会議", "中断を確認".into())
        }
        Resumed { resumed_on, .. } => (Some(*resumed_on), "再開", String::new()),
        TerminationApproved { approved_on, .. } => {
            (Some(*approved_on), "支援調整会議", "終結を承認".into())
        }
        ReplanDecided {
            decided_on,
            back_to_assessment,
            ..
        } => (
            Some(*decided_on),
            "支援調整会議",
            if *back_to_assessment {
                "再アセスメントを決定".into()
            } else {
                "再プランを決定".into()
            },
        ),
        MeetingNoted { noted_on, note, .. } => (Some(*noted_on), "会議での共有", t(note)),
        Closed {
            closed_on,
            pattern,
            person_intention,
            ..
        } => (
            Some(*closed_on),
            "終結",
            format!("{} {}", pattern.label_ja(), opt(person_intention)),
        ),
        FollowUpRecorded {
            checked_on,
            summary,
            ..
        } => (
            Some(*checked_on),
            "フォローアップ",
            summary.as_str().to_owned(),
        ),
        Reopened {
            reopened_on,
            reason,
        } => (Some(*reopened_on), "ケースの再開", t(reason)),
        AccessRestricted { users } => (
            None,
            "閲覧制限",
            if users.is_empty() {
                "閲覧制限を解除".into()
            } else {
                format!("閲覧を{}名に制限", users.len())
            },
        ),
        TeamMemberAdded { org_id } => (None, "支援チーム", format!("{}を追加", names.org(*org_id))),
        TeamMemberRemoved { org_id } => {
            (None, "支援チーム", format!("{}を削除", names.org(*org_id)))
        }
        WorkerAssigned { user_id } => (None, "担当者", format!("{}に変更", names.user(*user_id))),
        AttachmentAdded { attachment: a } => (
            Some(a.received_on),
            "書類の添付",
            format!(
                "{}「{}」（{}）",
                a.kind.label_ja(),
                a.title.as_str(),
                a.filename.as_str()
            ),
        ),
    };
    (on, label.to_owned(), text)
}

pub(crate) fn timeline_rows(
    entries: &[TimelineEntry],
    names: &Names,
    settings: &TenantSettings,
) -> Vec<TimelineRow> {
    let by = |e: &TimelineEntry| {
        format!(
            "{}（{}）",
            names.user(e.actor.user_id),
            names.org(e.actor.org_id)
        )
    };
    let mut rows: Vec<(usize, TimelineRow)> = Vec::with_capacity(entries.len());
    // Where each contact record's row is, for its corrections.
    let mut records: std::collections::HashMap<u32, usize> = std::collections::HashMap::new();
    for (i, e) in entries.iter().enumerate() {
        let recorded_at = super::stamp(e.recorded_at);
        let (on, label, text) = describe(&e.event, names, settings);
        if let CaseEvent::ContactCorrected { record, reason, .. } = &e.event {
            // A correction is shown on the record it corrects: the record says what the
            // correction says, and what it said before stays readable under it.
            if let Some(row) = records.get(record).and_then(|&r| rows.get_mut(r)) {
                let row = &mut row.1;
                row.corrections.push(Correction {
                    was: format!(
                        "{} {}: {}",
                        row.on.map(wareki::format).unwrap_or_default(),
                        row.label,
                        row.text
                    ),
                    by: by(e),
                    at: recorded_at,
                    reason: reason.as_str().to_owned(),
                });
                row.on = on;
                row.label = label;
                row.text = text;
            }
            continue;
        }
        if let Some(n) = e.contact_record {
            records.insert(n, rows.len());
        }
        let row = TimelineRow {
            on: on.or(Some(tsunagu_app::japan_date(e.recorded_at))),
            label,
            text,
            recorded_at,
            by: by(e),
            reason: e.reason.clone(),
            contact: matches!(e.event, CaseEvent::ContactRecorded { .. }),
            record: e.contact_record,
            corrections: Vec::new(),
            kind: TimelineKind::of(&e.event),
        };
        rows.push((i, row));
    }
    // Newest business date first (the day the record says it happened, not when it was typed);
    // on the same day, the later record first.
    rows.sort_by(|(i, a), (j, b)| b.on.cmp(&a.on).then(j.cmp(i)));
    rows.into_iter().map(|(_, row)| row).collect()
}

/// One line of the current plan as the case page shows it.
pub struct PlanLine {
    pub description: String,
    pub goal: Option<String>,
    pub provider: String,
    pub responsible: String,
    pub deadline: Date,
    pub overdue: bool,
}

pub struct Header {
    /// ケース番号 as shown (「番号なし」 for a case opened before numbering).
    pub number: String,
    /// Age today, from the date of birth when known.
    pub age: Option<i16>,
    pub phone: Option<String>,
    /// 主訴 names, the main one marked ◎.
    pub problems: Vec<String>,
    pub urgency: Option<&'static str>,
    /// 相談経路 and the referrer, as one line.
    pub route: Option<String>,
    /// 本人同意 in force today: how many organisations it covers (none: no consent in force).
    pub consent_orgs: usize,
    /// The approved plan in force: its period and goals, and its items.
    pub plan: Option<(Date, Date, Vec<String>)>,
    /// 「第2版」, and whether it is a プランの修正 still to be reported to a meeting.
    pub plan_version: String,
    pub plan_items: Vec<PlanLine>,
    /// The next monitoring and whether it is past.
    pub monitoring: Option<(Date, bool)>,
    pub person_id: PersonId,
    pub person_name: String,
    pub stage_label: &'static str,
    pub fiscal_year: String,
    pub worker: String,
    pub owner: String,
    pub team: Vec<String>,
}

#[derive(Template)]
#[template(path = "case.html")]
struct CasePage {
    chrome: Chrome,
    id: CaseId,
    version: u64,
    head: Header,
    view: CaseView,
    flow: Vec<case::FlowStep>,
    actions: Vec<ActionLink>,
    timeline: Timeline,
    contact: Vec<Control>,
    notice: Option<Notice>,
    /// A quick contact was just saved: said, and focus put back at the start of the entry.
    saved: bool,
    /// The case waits for a meeting: for what, and the coming meetings it can be put on.
    agenda: Option<AgendaChoice>,
    /// Why putting the case on a meeting's agenda was refused.
    agenda_notice: Option<Notice>,
}

/// Putting the case on a coming meeting's agenda, from its to-do.
pub struct AgendaChoice {
    pub purpose: &'static str,
    pub purpose_label: &'static str,
    /// Open meetings from today on: (id, version, label).
    pub meetings: Vec<(tsunagu_core::MeetingId, u64, String)>,
}

/// The coming open meetings the caller may put the case on, when the case waits for one.
async fn agenda_choice(
    app: &AppState,
    auth: &Auth,
    view: &CaseView,
    today: Date,
) -> Result<Option<AgendaChoice>, ApiError> {
    let Some(purpose) = view.state.awaiting_meeting() else {
        return Ok(None);
    };
    let may_write = policy::case(
        &auth.actor,
        &view.state,
        &view.consents,
        today,
        Access::Write,
    )
    .is_some();
    if !auth.actor.role.works_cases() || !may_write {
        return Ok(None);
    }
    let meetings = tsunagu_app::meetings::list(app, auth, Some(today))
        .await?
        .into_iter()
        .filter(|m| m.closed_on.is_none())
        .map(|m| {
            (
                m.id,
                m.version,
                format!(
                    "{} {}（{}）",
                    wareki::format(m.scheduled_on),
                    m.title,
                    m.kind.label_ja()
                ),
            )
        })
        .collect();
    Ok(Some(AgendaChoice {
        purpose: purpose.as_str(),
        purpose_label: purpose.label_ja(),
        meetings,
    }))
}

#[derive(Template)]
#[template(path = "case_timeline.html")]
struct TimelineFragment {
    chrome: Chrome,
    id: CaseId,
    version: u64,
    timeline: Timeline,
    contact: Vec<Control>,
    notice: Option<Notice>,
    saved: bool,
}

pub(crate) async fn header(
    app: &AppState,
    auth: &Auth,
    view: &CaseView,
    names: &Names,
) -> Result<Header, ApiError> {
    let s = &view.state;
    let today = app.clock.today();
    let person = access::person(app, auth, s.person_id, Access::Read)
        .await
        .ok()
        .map(|(p, _)| p.state);
    let details = person.as_ref().map(|p| p.details_for(auth.actor.user_id));
    let age = details
        .as_ref()
        .and_then(|d| d.date_of_birth)
        .and_then(|b| {
            let years = today.year() - b.year();
            let before_birthday = (today.month(), today.day()) < (b.month(), b.day());
            Some(years - i16::from(before_birthday)).filter(|a| *a >= 0)
        });
    let intake = s.intake.as_ref();
    let problems = intake
        .map(|i| {
            i.presenting_problems
                .iter()
                .map(|p| {
                    let name = auth.settings.presenting_problem_name(p.code.as_str());
                    if p.main {
                        format!("◎{name}")
                    } else {
                        name.to_owned()
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let route = s.route().map(|r| {
        let referrer = intake
            .and_then(|i| i.referrer.as_ref())
            .or_else(|| s.identification.as_ref().and_then(|i| i.referrer.as_ref()));
        match referrer {
            Some(who) => format!("{}（{}）", r.label_ja(), who.as_str()),
            None => r.label_ja().to_owned(),
        }
    });
    let consent_orgs = view
        .consents
        .iter()
        .filter(|c| c.in_force(today))
        .flat_map(|c| c.organisations.iter())
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    let plan = s.current_plan.as_ref();
    let plan_items = plan
        .map(|p| {
            p.items
                .iter()
                .map(|i| PlanLine {
                    description: i.description.as_str().to_owned(),
                    goal: i
                        .goal
                        .and_then(|g| p.goals.get(g))
                        .map(|g| g.as_str().to_owned()),
                    provider: i.provider.as_str().to_owned(),
                    responsible: i.responsible.as_str().to_owned(),
                    deadline: i.deadline,
                    overdue: i.deadline < today,
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Header {
        number: s
            .number
            .map_or_else(|| "番号なし".to_owned(), |n| n.label()),
        age,
        phone: details
            .as_ref()
            .and_then(|d| d.phone.as_ref())
            .map(|p| p.as_str().to_owned()),
        problems,
        urgency: intake.map(|i| i.urgency.label_ja()),
        route,
        consent_orgs,
        plan: plan.map(|p| {
            (
                p.period_from,
                p.period_to,
                p.goals.iter().map(|g| g.as_str().to_owned()).collect(),
            )
        }),
        plan_version: plan.map_or_else(String::new, |p| {
            let version = match (p.modified, p.approved_on) {
                (true, None) => {
                    format!("第{}版・プランの修正、支援調整会議への報告待ち", p.version)
                }
                (true, Some(_)) => format!("第{}版・プランの修正", p.version),
                _ => format!("第{}版", p.version),
            };
            if p.employment_support {
                format!("{version}（就労支援対象）")
            } else {
                version
            }
        }),
        plan_items,
        monitoring: s.next_monitoring_due_on.map(|d| (d, d < today)),
        person_id: s.person_id,
        person_name: person
            .as_ref()
            .map(|p| shown_name(p, auth))
            .unwrap_or_default(),
        stage_label: view.stage_label,
        fiscal_year: wareki::fiscal_year_label(s.opened_on),
        worker: names.user(s.assigned_worker).to_owned(),
        owner: names.org(s.owner_org).to_owned(),
        team: s.team.iter().map(|o| names.org(*o).to_owned()).collect(),
    })
}

/// The users a case page names: the assignee, each record's author and each worker the case
/// was assigned to.
pub(crate) fn users_named(state: &CaseState, timeline: &[TimelineEntry]) -> Vec<UserId> {
    let mut users = vec![state.assigned_worker];
    for e in timeline {
        users.push(e.actor.user_id);
        if let CaseEvent::WorkerAssigned { user_id } = &e.event {
            users.push(*user_id);
        }
    }
    users.sort_by_key(|u| u.0);
    users.dedup();
    users
}

pub(crate) async fn load(
    app: &AppState,
    auth: &Auth,
    id: CaseId,
) -> Result<(CaseView, Vec<TimelineEntry>), ApiError> {
    let page = cases::page(app, auth, id).await?;
    Ok((page.case, page.timeline))
}

fn may_manage(auth: &Auth, view: &CaseView, today: Date) -> bool {
    policy::case(
        &auth.actor,
        &view.state,
        &view.consents,
        today,
        Access::Manage,
    )
    .is_some()
}

/// Whether the reader may correct the case's contact records: write access to the case and a
/// role that records contacts.
fn may_correct(auth: &Auth, view: &CaseView, today: Date) -> bool {
    policy::role_may(auth.actor.role, CaseAction::CorrectContact)
        && policy::case(
            &auth.actor,
            &view.state,
            &view.consents,
            today,
            Access::Write,
        )
        .is_some()
}

fn contact_defaults(today: Date) -> Fields {
    Fields(vec![
        ("kind".into(), "phone".into()),
        ("contacted_on".into(), wareki::format(today)),
    ])
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct ShowQuery {
    /// `1` after a quick contact saved without JavaScript.
    #[serde(default)]
    saved: String,
    /// The kind of record the timeline is narrowed to (`contacts`, `records`, …; all when
    /// absent).
    #[serde(default)]
    kind: String,
}

pub async fn show(
    State(app): State<AppState>,
    Page(auth): Page,
    Path(id): Path<String>,
    axum::extract::Query(q): axum::extract::Query<ShowQuery>,
) -> PageResult {
    let id: CaseId = parse_id(&id)?;
    let kind = TimelineKind::parse(&q.kind).unwrap_or_default();
    let mut page = case_page(&app, auth, id, kind).await?;
    page.saved = q.saved == "1";
    Ok(render(&page))
}

async fn case_page(
    app: &AppState,
    auth: Auth,
    id: CaseId,
    kind: TimelineKind,
) -> Result<CasePage, ApiError> {
    let today = app.clock.today();
    let (view, timeline) = load(app, &auth, id).await?;
    let names = Names::of_users(app, &auth, users_named(&view.state, &timeline)).await?;
    let head = header(app, &auth, &view, &names).await?;
    let agenda = agenda_choice(app, &auth, &view, today).await?;
    Ok(CasePage {
        chrome: Chrome::of(&auth, today),
        id,
        version: view.version,
        flow: case::flow(&view.state).to_vec(),
        actions: actions_now(
            &view.state,
            may_manage(&auth, &view, today),
            auth.actor.role,
        ),
        timeline: Timeline::of(
            timeline_rows(&timeline, &names, &auth.settings),
            kind,
            may_correct(&auth, &view, today),
        ),
        contact: refill(contact_controls(), &contact_defaults(today), None),
        notice: None,
        saved: false,
        agenda,
        agenda_notice: None,
        head,
        view,
    })
}

/// Quick contact entry: with htmx the timeline is swapped in place (and the form cleared);
/// without JavaScript the browser gets the case page again.
pub async fn quick_contact(
    State(app): State<AppState>,
    Page(auth): Page,
    headers: HeaderMap,
    Path(id): Path<String>,
    axum::Form(fields): axum::Form<Vec<(String, String)>>,
) -> PageResult {
    let id: CaseId = parse_id(&id)?;
    let htmx = headers.contains_key("hx-request");
    let f = Fields(fields);
    let today = app.clock.today();
    let state = access::case(&app, &auth, id, Access::Write)
        .await?
        .case
        .state;
    let names = Names::load(&app, &auth).await?;
    let ctx = FormCtx {
        state: &state,
        settings: &auth.settings,
        orgs: &names.orgs,
        staff: &names.staff,
    };
    let outcome = match command_for(CaseAction::RecordContact, &f, &ctx) {
        Ok(command) => submit(&app, &auth, id, &f, command).await?.map(|_| ()),
        Err(e) => Err(Refused::Field(e)),
    };
    let saved = outcome.is_ok();
    let (status, notice, error, controls_from) = match outcome {
        Ok(()) if !htmx => return Ok(see_other(&format!("/cases/{id}?saved=1#timeline"))),
        Ok(()) => (StatusCode::OK, None, Vec::new(), contact_defaults(today)),
        Err(r) => {
            let (status, notice, error) = r.explain(&app, &auth, id, f.version(), &names).await;
            (status, Some(notice), error, f.clone())
        }
    };
    let (view, timeline) = load(&app, &auth, id).await?;
    let contact = refill_all(contact_controls(), &controls_from, &error);
    if htmx {
        return Ok(render_status(
            status,
            &TimelineFragment {
                chrome: Chrome::of(&auth, today),
                id,
                version: view.version,
                timeline: Timeline::of(
                    timeline_rows(&timeline, &names, &auth.settings),
                    TimelineKind::All,
                    may_correct(&auth, &view, today),
                ),
                contact,
                notice,
                saved,
            },
        ));
    }
    let head = header(&app, &auth, &view, &names).await?;
    let agenda = agenda_choice(&app, &auth, &view, today).await?;
    Ok(render_status(
        status,
        &CasePage {
            chrome: Chrome::of(&auth, today),
            id,
            version: view.version,
            flow: case::flow(&view.state).to_vec(),
            actions: actions_now(
                &view.state,
                may_manage(&auth, &view, today),
                auth.actor.role,
            ),
            timeline: Timeline::of(
                timeline_rows(&timeline, &names, &auth.settings),
                TimelineKind::All,
                may_correct(&auth, &view, today),
            ),
            contact,
            notice,
            saved,
            agenda,
            agenda_notice: None,
            head,
            view,
        },
    ))
}

/// 「会議の議題にする」 from the case's to-do: the case goes on the chosen coming meeting's
/// agenda for what it waits for, through the meeting's own command (membership and write
/// access to the case checked there); then the meeting page, where the agenda shows it.
pub async fn take_to_meeting(
    State(app): State<AppState>,
    Page(auth): Page,
    Path(id): Path<String>,
    axum::Form(fields): axum::Form<Vec<(String, String)>>,
) -> PageResult {
    let id: CaseId = parse_id(&id)?;
    // For who may write the case (the guard); others learn nothing from the checks below.
    let current = access::case(&app, &auth, id, Access::Write).await?.case;
    let f = Fields(fields);
    let refused = |notice: Notice, status: StatusCode| {
        let app = app.clone();
        let auth = auth.clone();
        async move {
            let mut page = case_page(&app, auth, id, TimelineKind::All).await?;
            page.agenda_notice = Some(notice);
            Ok::<_, PageError>(render_status(status, &page))
        }
    };
    let Some(purpose) = current.state.awaiting_meeting() else {
        let notice = Notice {
            heading: "議題にできませんでした。",
            message: "このケースはいま支援調整会議にかけるものがありません。".to_owned(),
            code: "agenda.nothing_to_take".to_owned(),
            ..Notice::default()
        };
        return refused(notice, StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    // The meeting as it was offered: its id and the version the page saw (`id@version`).
    let chosen = f.get("meeting").and_then(|v| {
        let (m, version) = v.split_once('@')?;
        Some((
            m.parse::<tsunagu_core::MeetingId>().ok()?,
            version.parse::<u64>().ok()?,
        ))
    });
    let Some((meeting, version)) = chosen else {
        let e = field_error("meeting", "会議を選んでください。");
        return refused(Notice::from_field(&e), StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    let req = tsunagu_app::meetings::MeetingCommandRequest {
        expected_version: version,
        reason: None,
        command: tsunagu_core::meeting::MeetingCommand::AddAgendaItem {
            case_id: id,
            purpose,
        },
    };
    match tsunagu_app::meetings::command(&app, &auth, meeting, req)
        .await
        .map_err(ApiError::from)
    {
        Ok(_) => Ok(see_other(&format!("/meetings/{meeting}#agenda"))),
        Err(e) if e.status.is_client_error() && !e.is_not_found() => {
            let mut notice = Notice::from_api(&e);
            notice.heading = "議題にできませんでした。";
            refused(notice, refusal_status(&e)).await
        }
        Err(e) => Err(e.into()),
    }
}

/// Why a form was not saved.
pub(super) enum Refused {
    Field(FieldError),
    /// Every mistake of a form that reads them all (the plan editor).
    Fields(Vec<FieldError>),
    Api(ApiError),
}

impl Refused {
    /// Status, notice and field error for the form; a conflict lists what was saved meanwhile.
    pub(super) async fn explain(
        self,
        app: &AppState,
        auth: &Auth,
        id: CaseId,
        seen: u64,
        names: &Names,
    ) -> (StatusCode, Notice, Vec<FieldError>) {
        match self {
            Refused::Field(e) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                Notice::from_field(&e),
                vec![e],
            ),
            Refused::Fields(errors) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                Notice::from_fields(&errors),
                errors,
            ),
            Refused::Api(e) => {
                let mut notice = Notice::from_api(&e);
                notice.back = format!("/cases/{id}");
                if e.status == StatusCode::CONFLICT
                    && let Ok(entries) = cases::timeline(app, auth, id).await
                {
                    notice.message =
                        "あなたが入力している間に、ほかの人がこのケースに記録しました。".into();
                    notice.conflict = entries
                        .iter()
                        .filter(|t| t.version > seen)
                        .map(|t| {
                            let (on, label, text) = describe(&t.event, names, &auth.settings);
                            format!(
                                "{} {}: {}（{}）",
                                on.map(wareki::format).unwrap_or_default(),
                                label,
                                text,
                                names.user(t.actor.user_id)
                            )
                        })
                        .collect();
                }
                let error = refusal_field(&e.code).map(|f| field_error(f, e.message.clone()));
                (refusal_status(&e), notice, error.into_iter().collect())
            }
        }
    }
}

pub(super) async fn submit(
    app: &AppState,
    auth: &Auth,
    id: CaseId,
    f: &Fields,
    command: CaseCommand,
) -> Result<Result<CaseView, Refused>, PageError> {
    let req = CaseCommandRequest {
        expected_version: f.version(),
        reason: f.get("reason").map(str::to_owned),
        command,
    };
    match cases::command(app, auth, id, req)
        .await
        .map_err(ApiError::from)
    {
        Ok(v) => Ok(Ok(v)),
        Err(e) if e.status.is_client_error() && !e.is_not_found() => Ok(Err(Refused::Api(e))),
        Err(e) => Err(e.into()),
    }
}

// --- one form per action ---------------------------------------------------------------------

#[derive(Template)]
#[template(path = "case_action.html")]
struct ActionPage {
    chrome: Chrome,
    id: CaseId,
    version: u64,
    action: &'static str,
    label: &'static str,
    person_name: String,
    stage_label: &'static str,
    controls: Vec<Control>,
    notice: Option<Notice>,
    /// Shown above the form: the plan being evaluated, the referral being checked …
    context: Vec<(String, String)>,
}

fn action_context(
    action: CaseAction,
    s: &CaseState,
    settings: &TenantSettings,
) -> Vec<(String, String)> {
    let mut v = Vec::new();
    if let Some(plan) = &s.current_plan
        && matches!(
            action,
            CaseAction::RecordEvaluation
                | CaseAction::RecordMonitoring
                | CaseAction::RecordSupportDecision
        )
    {
        v.push((
            "プラン".into(),
            format!(
                "第{}版（{}〜{}）目標: {}",
                plan.version,
                wareki::format(plan.period_from),
                wareki::format(plan.period_to),
                plan.goals
                    .iter()
                    .map(|g| g.as_str())
                    .collect::<Vec<_>>()
                    .join("、")
            ),
        ));
    }
    if action == CaseAction::Terminate {
        v.push((
            "終結の条件".into(),
            "本人の意向（または長く続いた中断）、評価、支援調整会議の承認、フォローアップの方針が必要です。".into(),
        ));
    }
    if action == CaseAction::Suspend {
        v.push((
            "中断の条件".into(),
            format!(
                "連絡がつかなかった記録が{}回以上必要です（現在 {}回）。中断は支援調整会議で確認します。",
                settings.min_contact_attempts_before_suspension, s.unreached_attempts
            ),
        ));
    }
    v
}

/// A contact record as it reads now (after its corrections), as the correction form's values.
fn contact_as_corrected(entries: &[TimelineEntry], record: u32) -> Fields {
    let mut found = None;
    for e in entries {
        match &e.event {
            CaseEvent::ContactRecorded { .. } if e.contact_record == Some(record) => {
                found = Some(&e.event);
            }
            CaseEvent::ContactCorrected { record: r, .. } if *r == record => {
                found = Some(&e.event);
            }
            _ => {}
        }
    }
    let Some(
        CaseEvent::ContactRecorded {
            kind,
            contacted_on,
            reached,
            with_whom,
            summary,
            ..
        }
        | CaseEvent::ContactCorrected {
            kind,
            contacted_on,
            reached,
            with_whom,
            summary,
            ..
        },
    ) = found
    else {
        return Fields::default();
    };
    let mut v = vec![
        ("record".to_owned(), record.to_string()),
        ("kind".to_owned(), kind.as_str().to_owned()),
        ("contacted_on".to_owned(), wareki::format(*contacted_on)),
        ("summary".to_owned(), summary.as_str().to_owned()),
    ];
    if !reached {
        v.push(("unreached".to_owned(), "on".to_owned()));
    }
    if let Some(w) = with_whom {
        v.push(("with_whom".to_owned(), w.as_str().to_owned()));
    }
    Fields(v)
}

/// The mistakes the action's reader finds besides those already known. The reader stops at
/// its first; so each field already known to be wrong is given a readable stand-in and the
/// form read again, until the reader finds nothing new (at most once per control).
fn reader_errors(
    action: CaseAction,
    f: &Fields,
    ctx: &FormCtx,
    controls: &[Control],
    known: &[FieldError],
    first: Option<FieldError>,
) -> Vec<FieldError> {
    let mut found: Vec<FieldError> = first.into_iter().collect();
    let mut patched = f.clone();
    for _ in 0..controls.len() {
        for e in known.iter().chain(&found) {
            let Some(c) = controls.iter().find(|c| c.name == e.field) else {
                continue;
            };
            let stand_in = match c.kind {
                ControlKind::Date => "2000-01-01".to_owned(),
                ControlKind::Number => "1".to_owned(),
                ControlKind::Text | ControlKind::Area => "-".to_owned(),
                ControlKind::Select | ControlKind::Radio => match c.options.first() {
                    Some((v, _)) => v.clone(),
                    None => continue,
                },
                _ => continue,
            };
            // Only the stand-in for a choice the user left empty: a choice made stays.
            if matches!(c.kind, ControlKind::Select | ControlKind::Radio)
                && f.get(&c.name).is_some()
            {
                continue;
            }
            patched.0.retain(|(k, _)| *k != c.name);
            patched.0.push((c.name.clone(), stand_in));
        }
        match command_for(action, &patched, ctx) {
            Err(e) if !known.iter().chain(&found).any(|k| k.field == e.field) => found.push(e),
            _ => break,
        }
    }
    found
}

/// Said above a form opened in a stage where the action cannot be taken (nothing was sent).
fn wrong_stage(action: CaseAction, s: &CaseState, id: CaseId) -> Option<Notice> {
    if action.stages().contains(&s.stage) {
        return None;
    }
    let refusal = Refusal::WrongStage {
        action: action.label_ja(),
        stage: s.stage,
    };
    Some(Notice {
        heading: "いまはこの記録はできません。",
        message: refusal.message(),
        code: refusal.code().into(),
        conflict: vec![],
        back: format!("/cases/{id}"),
        fields: vec![],
    })
}

pub async fn action_form(
    State(app): State<AppState>,
    Page(auth): Page,
    Path((id, action)): Path<(String, String)>,
    axum::extract::Query(q): axum::extract::Query<HashMap<String, String>>,
) -> PageResult {
    let id: CaseId = parse_id(&id)?;
    let action = CaseAction::parse(&action).ok_or_else(ApiError::not_found)?;
    let a = access::case_action(&app, &auth, id, action).await?;
    let notice = wrong_stage(action, &a.case.state, id);
    if matches!(action, CaseAction::DraftPlan | CaseAction::ModifyPlan) {
        return super::plan::form(&app, &auth, id, action, a, notice).await;
    }
    let names = Names::load(&app, &auth).await?;
    let today = app.clock.today();
    let s = &a.case.state;
    let ctx = FormCtx {
        state: s,
        settings: &auth.settings,
        orgs: &names.orgs,
        staff: &names.staff,
    };
    let mut values = initial(action, s, today);
    if action == CaseAction::CorrectContact
        && let Some(record) = q.get("record").and_then(|r| r.parse::<u32>().ok())
    {
        let entries = cases::timeline(&app, &auth, id).await?;
        values = contact_as_corrected(&entries, record);
    }
    Ok(render(&ActionPage {
        chrome: Chrome::of(&auth, today),
        id,
        version: a.case.version,
        action: action.as_str(),
        label: action.label_ja(),
        person_name: shown_name(&a.person, &auth),
        stage_label: s.stage.label_ja(),
        controls: refill(controls_for(action, &ctx), &values, None),
        notice,
        context: action_context(action, s, &auth.settings),
    }))
}

pub async fn action_submit(
    State(app): State<AppState>,
    Page(auth): Page,
    Path((id, action)): Path<(String, String)>,
    axum::Form(fields): axum::Form<Vec<(String, String)>>,
) -> PageResult {
    let id: CaseId = parse_id(&id)?;
    let action = CaseAction::parse(&action).ok_or_else(ApiError::not_found)?;
    // The action's access first: a caller who may not act learns nothing from form checks.
    let a = access::case_action(&app, &auth, id, action).await?;
    if matches!(action, CaseAction::DraftPlan | CaseAction::ModifyPlan) {
        return super::plan::submit_form(&app, &auth, id, action, a, Fields(fields)).await;
    }
    let names = Names::load(&app, &auth).await?;
    let f = Fields(fields);
    let s = a.case.state;
    let ctx = FormCtx {
        state: &s,
        settings: &auth.settings,
        orgs: &names.orgs,
        staff: &names.staff,
    };
    // Every mistake at once: what the controls show by themselves, and what the reader finds.
    let controls = controls_for(action, &ctx);
    let checked = check_controls(&controls, &f);
    let result = match command_for(action, &f, &ctx) {
        Ok(command) if checked.is_empty() => submit(&app, &auth, id, &f, command).await?,
        first => {
            let more = reader_errors(action, &f, &ctx, &controls, &checked, first.err());
            match merge_errors(&controls, checked, more) {
                mut one if one.len() == 1 => Err(Refused::Field(one.remove(0))),
                all => Err(Refused::Fields(all)),
            }
        }
    };
    let Err(refused) = result else {
        return Ok(see_other(&format!("/cases/{id}")));
    };
    let (status, notice, error) = refused.explain(&app, &auth, id, f.version(), &names).await;
    // After a conflict the form carries the current version: saving again is a decision made
    // having seen what changed.
    let (version, state) = if status == StatusCode::CONFLICT {
        let now = access::case(&app, &auth, id, Access::Read).await?.case;
        (now.version, now.state)
    } else {
        (f.version(), s)
    };
    let ctx = FormCtx {
        state: &state,
        settings: &auth.settings,
        orgs: &names.orgs,
        staff: &names.staff,
    };
    Ok(render_status(
        status,
        &ActionPage {
            chrome: Chrome::of(&auth, app.clock.today()),
            id,
            version,
            action: action.as_str(),
            label: action.label_ja(),
            person_name: shown_name(&a.person, &auth),
            stage_label: state.stage.label_ja(),
            controls: refill_all(controls_for(action, &ctx), &f, &error),
            notice: Some(notice),
            context: action_context(action, &state, &auth.settings),
        },
    ))
}

// --- assessment history ----------------------------------------------------------------------

pub struct AssessmentRow {
    pub version: u32,
    pub assessed_on: Date,
    pub by: String,
    /// (field, before, after, changed)
    pub fields: Vec<(String, String, String, bool)>,
}

#[derive(Template)]
#[template(path = "assessments.html")]
struct AssessmentsPage {
    chrome: Chrome,
    id: CaseId,
    person_name: String,
    versions: Vec<AssessmentRow>,
}

fn assessment_fields(a: &Assessment, settings: &TenantSettings) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = domain_values(&a.domains)
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    let o = |x: &Option<tsunagu_core::LongText>| {
        x.as_ref()
            .map(|t| t.as_str().to_owned())
            .unwrap_or_default()
    };
    v.push((
        "現状の査定（ベースライン）".into(),
        a.baseline.as_str().into(),
    ));
    v.push(("背景の理解".into(), o(&a.background)));
    v.push(("主要課題".into(), a.main_issues.as_str().into()));
    v.push(("ストレングス".into(), o(&a.strengths)));
    v.push(("専門家の意見".into(), o(&a.specialist_opinions)));
    v.push((
        "本人の抱える課題".into(),
        a.issues
            .iter()
            .map(|c| settings.assessment_issue_name(c.as_str()))
            .collect::<Vec<_>>()
            .join("、"),
    ));
    v
}

/// Every version of the インテーク・アセスメントシート, newest first, each field marked where
/// it differs from the version before.
pub async fn assessments(
    State(app): State<AppState>,
    Page(auth): Page,
    Path(id): Path<String>,
) -> PageResult {
    let id: CaseId = parse_id(&id)?;
    let a = access::case(&app, &auth, id, Access::Read).await?;
    let list = cases::assessments(&app, &auth, id).await?;
    let names = Names::load(&app, &auth).await?;
    let mut previous: Option<Vec<(String, String)>> = None;
    let mut versions = Vec::new();
    for v in &list {
        let now = assessment_fields(&v.assessment, &auth.settings);
        let fields = now
            .iter()
            .enumerate()
            .map(|(i, (k, after))| {
                let before = previous
                    .as_ref()
                    .map(|p| p[i].1.clone())
                    .unwrap_or_default();
                let changed = previous.is_some() && before != *after;
                (k.clone(), before, after.clone(), changed)
            })
            .collect();
        versions.push(AssessmentRow {
            version: v.version,
            assessed_on: v.assessment.assessed_on,
            by: names.user(v.actor.user_id).to_owned(),
            fields,
        });
        previous = Some(now);
    }
    versions.reverse();
    Ok(render(&AssessmentsPage {
        chrome: Chrome::of(&auth, app.clock.today()),
        id,
        person_name: shown_name(&a.person, &auth),
        versions,
    }))
}
