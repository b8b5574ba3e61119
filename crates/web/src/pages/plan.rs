//! The plan editor (プランの作成 and プランの修正): goals and support items added and removed in
//! place (with htmx; without script the same buttons reload the page), each item attached to a
//! goal by choice, provider and responsible person offered from the case's team and its staff
//! (free text still allowed for informal supports), and every mistake shown beside its own goal
//! or item at once.
//!
//! The form's rows are `goal{n}` and `item{n}_{key}`, numbered from 1. Blank item rows are
//! dropped before the form is read, so an item's number on the page is its position in the plan
//! and a refusal about item `i` (core counts from 0) stands beside row `i + 1`.

use askama::Template;
use axum::http::StatusCode;
use jiff::civil::Date;
use tsunagu_core::case::{CaseAction, CaseCommand, CaseState, Plan, PlanInput, PlanItemInput};
use tsunagu_core::{CaseId, LongText, OrgId, ShortText, TenantSettings, wareki};

use super::case::{Names, Refused, submit};
use super::{
    Chrome, Control, ControlKind, FieldError, FieldResult, Fields, Notice, PageResult, field_error,
    refill_all, render_status, see_other, shown_name,
};
use crate::AppState;
use crate::access::CaseAccess;
use crate::auth::Auth;

/// At most this many goals and items on one plan: a plan is read by the person.
pub const MAX_GOALS: usize = 20;
pub const MAX_ITEMS: usize = 40;
const ITEM_KEYS: [&str; 6] = [
    "description",
    "goal",
    "provider",
    "responsible",
    "deadline",
    "service",
];
/// Rows a new plan starts with.
const FIRST_GOALS: usize = 2;
const FIRST_ITEMS: usize = 2;

/// The plan form's rows as typed.
#[derive(Clone, Debug, Default)]
struct Rows {
    goals: Vec<String>,
    items: Vec<[String; 6]>,
    /// The row to put the cursor in after a row was added.
    focus: Option<String>,
}

/// The highest `n` among field names `{prefix}{n}{suffix}`.
fn rows_of(f: &Fields, prefix: &str, suffix: &str, cap: usize) -> usize {
    f.0.iter()
        .filter_map(|(k, _)| {
            k.strip_prefix(prefix)?
                .strip_suffix(suffix)?
                .parse::<usize>()
                .ok()
        })
        .filter(|n| *n >= 1)
        .max()
        .unwrap_or(0)
        .min(cap)
}

impl Rows {
    fn read(f: &Fields) -> Rows {
        let goals = (1..=rows_of(f, "goal", "", MAX_GOALS))
            .map(|n| f.raw(&format!("goal{n}")).to_owned())
            .collect();
        let items = (1..=rows_of(f, "item", "_description", MAX_ITEMS))
            .map(|n| ITEM_KEYS.map(|k| f.raw(&format!("item{n}_{k}")).to_owned()))
            .collect();
        Rows {
            goals,
            items,
            focus: None,
        }
    }

    fn of_plan(p: &Plan) -> Rows {
        Rows {
            goals: p.goals.iter().map(|g| g.as_str().to_owned()).collect(),
            items: p
                .items
                .iter()
                .map(|i| {
                    [
                        i.description.as_str().to_owned(),
                        i.goal.map(|g| (g + 1).to_string()).unwrap_or_default(),
                        i.provider.as_str().to_owned(),
                        i.responsible.as_str().to_owned(),
                        wareki::format(i.deadline),
                        i.statutory_service.clone().unwrap_or_default(),
                    ]
                })
                .collect(),
            focus: None,
        }
    }

    /// Items with nothing typed in them are not items: dropped, so numbers close up.
    fn drop_blank_items(&mut self) {
        self.items
            .retain(|row| row.iter().any(|v| !v.trim().is_empty()));
    }

    /// At least one row of each, so there is always somewhere to type.
    fn padded(mut self, goals: usize, items: usize) -> Rows {
        while self.goals.len() < goals {
            self.goals.push(String::new());
        }
        while self.items.len() < items {
            self.items.push(Default::default());
        }
        self
    }

    /// Adds or removes a row (`add_goal`, `remove_goal:2`, `add_item`, `remove_item:3`). A
    /// removed goal's items lose their goal; later goals' items follow their goal's new number.
    fn apply(&mut self, op: &str) {
        let (what, row) = match op.split_once(':') {
            Some((w, n)) => (w, n.parse::<usize>().ok()),
            None => (op, None),
        };
        match (what, row) {
            ("add_goal", _) if self.goals.len() < MAX_GOALS => {
                self.goals.push(String::new());
                self.focus = Some(format!("goal{}", self.goals.len()));
            }
            ("add_item", _) if self.items.len() < MAX_ITEMS => {
                self.items.push(Default::default());
                self.focus = Some(format!("item{}_description", self.items.len()));
            }
            ("remove_goal", Some(n)) if (1..=self.goals.len()).contains(&n) => {
                self.goals.remove(n - 1);
                for item in &mut self.items {
                    match item[1].trim().parse::<usize>() {
                        Ok(g) if g == n => item[1].clear(),
                        Ok(g) if g > n => item[1] = (g - 1).to_string(),
                        _ => {}
                    }
                }
            }
            ("remove_item", Some(n)) if (1..=self.items.len()).contains(&n) => {
                self.items.remove(n - 1);
            }
            _ => {}
        }
    }

    /// The form's other fields with these rows in place of the typed ones.
    fn into_fields(self, f: &Fields) -> Fields {
        let is_row = |k: &str| {
            k.strip_prefix("goal")
                .is_some_and(|n| n.parse::<usize>().is_ok())
                || k.strip_prefix("item")
                    .and_then(|r| r.split_once('_'))
                    .is_some_and(|(n, _)| n.parse::<usize>().is_ok())
        };
        let mut v: Vec<(String, String)> =
            f.0.iter()
                .filter(|(k, _)| !is_row(k) && k != "op")
                .cloned()
                .collect();
        for (i, g) in self.goals.into_iter().enumerate() {
            v.push((format!("goal{}", i + 1), g));
        }
        for (i, row) in self.items.into_iter().enumerate() {
            for (k, value) in ITEM_KEYS.iter().zip(row) {
                v.push((format!("item{}_{k}", i + 1), value));
            }
        }
        Fields(v)
    }
}

/// The editor's controls: the plan's own fields, one row per goal, one group per item.
pub struct Editor {
    pub head: Vec<Control>,
    pub goals: Vec<Vec<Control>>,
    pub items: Vec<Vec<Control>>,
    /// Suggestions for 提供者 (the case's team) and 担当者 (their staff).
    pub providers: Vec<String>,
    pub staff: Vec<String>,
}

fn head_controls(action: CaseAction) -> Vec<Control> {
    let modify = action == CaseAction::ModifyPlan;
    let mut v =
        vec![Control::date("drafted_on", if modify { "修正日" } else { "作成日" }).required()];
    if modify {
        v.push(Control::area("reason", "修正の理由").required().hint(
            "次の支援調整会議に報告します。支援決定が必要な事業を変えるときは再プランです。",
        ));
    }
    v.extend([
        Control::area("person_role", "本人の役割"),
        Control::date("period_from", "プランの期間（開始）").required(),
        Control::date("period_to", "プランの期間（終了）").required(),
        Control::number(
            "monitoring_interval_months",
            "モニタリング間隔（か月、空欄は既定）",
        ),
        Control::check(
            "employment_support",
            "就労支援対象（就労支援員が就労に向けて支援する）",
        ),
    ]);
    v
}

fn editor(
    action: CaseAction,
    rows: &Rows,
    f: &Fields,
    errors: &[FieldError],
    settings: &TenantSettings,
    s: &CaseState,
    names: &Names,
) -> Editor {
    let head = refill_all(head_controls(action), f, errors);
    // Every goal row, named by its text when there is one (rows typed since the page was
    // drawn are offered by number).
    let goal_options: Vec<(String, String)> = rows
        .goals
        .iter()
        .enumerate()
        .map(|(i, g)| {
            let label = match g.trim() {
                "" => format!("目標{}", i + 1),
                g => format!("目標{}: {g}", i + 1),
            };
            ((i + 1).to_string(), label)
        })
        .collect();
    let services: Vec<(&str, &str)> = settings
        .statutory_services
        .iter()
        .map(|x| (x.code.as_str(), x.name.as_str()))
        .collect();
    let goals = rows
        .goals
        .iter()
        .enumerate()
        .map(|(i, _)| {
            let c = Control::text(format!("goal{}", i + 1), format!("目標{}", i + 1));
            if i == 0 {
                c.required()
                    .hint("本人と一緒に決めた、具体的で達成できる目標")
            } else {
                c
            }
        })
        .collect();
    // One row each: the template draws a row with its remove button.
    let goals = autofocus(refill_all(goals, f, errors), rows)
        .into_iter()
        .map(|c| vec![c])
        .collect();
    let items = rows
        .items
        .iter()
        .enumerate()
        .map(|(i, _)| {
            let n = i + 1;
            let controls = vec![
                Control::area(format!("item{n}_description"), "支援内容")
                    .required()
                    .group(format!("支援内容{n}")),
                Control::select(
                    format!("item{n}_goal"),
                    "対応する目標",
                    goal_options.clone(),
                ),
                Control::text(format!("item{n}_provider"), "提供者（機関・本人など）")
                    .required()
                    .suggest("plan-providers"),
                Control::text(format!("item{n}_responsible"), "担当者（責任者）")
                    .required()
                    .suggest("plan-staff"),
                Control::date(format!("item{n}_deadline"), "期限").required(),
                Control::select(
                    format!("item{n}_service"),
                    "法に基づく事業（該当するとき）",
                    services.clone(),
                ),
            ];
            autofocus(refill_all(controls, f, errors), rows)
        })
        .collect();
    let mut providers: Vec<String> = s.team.iter().map(|o| names.org(*o).to_owned()).collect();
    providers.extend(["本人".to_owned(), "家族".to_owned()]);
    let on_team = |o: &OrgId| s.team.contains(o);
    let staff = names
        .staff
        .iter()
        .filter(|(_, _, o)| on_team(o))
        .map(|(_, name, o)| format!("{name}（{}）", names.org(*o)))
        .collect();
    Editor {
        head,
        goals,
        items,
        providers,
        staff,
    }
}

fn autofocus(mut controls: Vec<Control>, rows: &Rows) -> Vec<Control> {
    for c in &mut controls {
        c.autofocus = rows.focus.as_deref() == Some(c.name.as_str());
    }
    controls
}

/// The value, or `None` with its error kept.
fn ok<T>(errors: &mut Vec<FieldError>, r: FieldResult<T>) -> Option<T> {
    r.map_err(|e| errors.push(e)).ok()
}

/// Every mistake of the plan form at once, each beside its field.
fn read(
    action: CaseAction,
    f: &Fields,
    rows: &Rows,
    settings: &TenantSettings,
) -> Result<PlanInput, Vec<FieldError>> {
    let mut errors = Vec::new();
    let day = if action == CaseAction::ModifyPlan {
        "修正日"
    } else {
        "作成日"
    };
    let drafted_on: Option<Date> = ok(&mut errors, f.date("drafted_on", day));
    let period_from: Option<Date> = ok(&mut errors, f.date("period_from", "プランの期間（開始）"));
    let period_to: Option<Date> = ok(&mut errors, f.date("period_to", "プランの期間（終了）"));
    let person_role = ok(&mut errors, f.opt_long("person_role", "本人の役割"));
    let interval = ok(
        &mut errors,
        match f.get("monitoring_interval_months") {
            None => Ok(None),
            Some(_) => f
                .number::<u8>("monitoring_interval_months", "モニタリング間隔")
                .map(Some),
        },
    );
    // Goals by row; blank rows are skipped, so a row's goal index is counted among the filled.
    let mut goals = Vec::new();
    let mut index_of_row: Vec<Option<usize>> = Vec::new();
    for (i, g) in rows.goals.iter().enumerate() {
        let g = g.trim();
        if g.is_empty() {
            index_of_row.push(None);
            continue;
        }
        match ShortText::parse(g) {
            Ok(t) => {
                index_of_row.push(Some(goals.len()));
                goals.push(t);
            }
            Err(_) => {
                index_of_row.push(None);
                errors.push(field_error(
                    &format!("goal{}", i + 1),
                    format!("目標は{}文字以内で入力してください。", ShortText::MAX_CHARS),
                ));
            }
        }
    }
    if goals.is_empty() && !errors.iter().any(|e| e.field.starts_with("goal")) {
        errors.push(field_error(
            "goal1",
            "目標を1つ以上入力してください。本人と一緒に決めた目標です。",
        ));
    }
    let mut items = Vec::new();
    for n in 1..=rows.items.len() {
        let key = |k: &str| format!("item{n}_{k}");
        let description: Option<LongText> =
            ok(&mut errors, f.long(&key("description"), "支援内容"));
        let provider: Option<ShortText> = ok(&mut errors, f.short(&key("provider"), "提供者"));
        let responsible: Option<ShortText> = ok(
            &mut errors,
            f.short(&key("responsible"), "担当者（責任者）"),
        );
        let deadline: Option<Date> = ok(&mut errors, f.date(&key("deadline"), "期限"));
        let goal = match f.get(&key("goal")) {
            None => Some(None),
            Some(v) => match v
                .parse::<usize>()
                .ok()
                .and_then(|r| index_of_row.get(r.wrapping_sub(1)).copied().flatten())
            {
                Some(i) => Some(Some(i)),
                None => {
                    errors.push(field_error(
                        &key("goal"),
                        "選んだ目標が空欄です。目標を入力するか、選び直してください。",
                    ));
                    None
                }
            },
        };
        let service = match f.get(&key("service")) {
            None => Some(None),
            Some(code) if settings.statutory_service(code).is_some() => Some(Some(code.to_owned())),
            Some(_) => {
                errors.push(field_error(
                    &key("service"),
                    "法に基づく事業は選択肢から選んでください。",
                ));
                None
            }
        };
        if let (Some(description), Some(provider), Some(responsible), Some(deadline)) =
            (description, provider, responsible, deadline)
            && let (Some(goal), Some(statutory_service)) = (goal, service)
        {
            items.push(PlanItemInput {
                description,
                goal,
                provider,
                responsible: Some(responsible),
                deadline: Some(deadline),
                statutory_service,
            });
        }
    }
    if rows.items.is_empty() {
        errors.push(field_error(
            "item1_description",
            "支援内容を1つ以上入力してください。",
        ));
    }
    match (drafted_on, period_from, period_to, person_role, interval) {
        (Some(drafted_on), Some(period_from), Some(period_to), Some(person_role), Some(m))
            if errors.is_empty() =>
        {
            Ok(PlanInput {
                drafted_on,
                goals,
                items,
                person_role,
                period_from,
                period_to,
                monitoring_interval_months: m,
                employment_support: f.checked("employment_support"),
            })
        }
        _ => Err(errors),
    }
}

/// The field of the form a refusal's input path points at (`plan.items.1.deadline` is the
/// second item's 期限).
fn field_of(path: &str) -> Option<String> {
    let rest = path.strip_prefix("plan.")?;
    if rest == "goals" {
        return Some("goal1".into());
    }
    if rest == "items" {
        return Some("item1_description".into());
    }
    let (index, key) = rest.strip_prefix("items.")?.split_once('.')?;
    let n = index.parse::<usize>().ok()? + 1;
    Some(format!("item{n}_{key}"))
}

#[derive(Template)]
#[template(path = "plan_editor.html")]
struct EditorPage {
    chrome: Chrome,
    id: CaseId,
    version: u64,
    action: &'static str,
    label: &'static str,
    person_name: String,
    stage_label: &'static str,
    editor: Editor,
    notice: Option<Notice>,
    /// The plan in force, for a modification.
    current: Option<String>,
}

#[allow(clippy::too_many_arguments)]
fn page(
    auth: &Auth,
    today: Date,
    id: CaseId,
    version: u64,
    action: CaseAction,
    a: &CaseAccess,
    s: &CaseState,
    names: &Names,
    rows: &Rows,
    f: &Fields,
    errors: &[FieldError],
    notice: Option<Notice>,
) -> EditorPage {
    let current = s
        .current_plan
        .as_ref()
        .filter(|_| action == CaseAction::ModifyPlan)
        .map(|p| {
            format!(
                "第{}版（{}〜{}）",
                p.version,
                wareki::format(p.period_from),
                wareki::format(p.period_to)
            )
        });
    EditorPage {
        chrome: Chrome::of(auth, today),
        id,
        version,
        action: action.as_str(),
        label: action.label_ja(),
        person_name: shown_name(&a.person, auth),
        stage_label: s.stage.label_ja(),
        editor: editor(action, rows, f, errors, &auth.settings, s, names),
        notice,
        current,
    }
}

/// The editor as it first opens: a modification starts from the plan in force, a new version
/// from the latest draft or the plan in force, a first plan from empty rows.
pub async fn form(
    app: &AppState,
    auth: &Auth,
    id: CaseId,
    action: CaseAction,
    a: CaseAccess,
    notice: Option<Notice>,
) -> PageResult {
    let names = Names::load(app, auth).await?;
    let today = app.clock.today();
    let s = &a.case.state;
    let base = match action {
        CaseAction::ModifyPlan => s.current_plan.as_ref(),
        _ => s.draft_plan.as_ref().or(s.current_plan.as_ref()),
    };
    let mut f = Fields::default();
    if let Some(p) = base {
        f.0.push(("period_from".into(), wareki::format(p.period_from)));
        f.0.push(("period_to".into(), wareki::format(p.period_to)));
        if let Some(r) = &p.person_role {
            f.0.push(("person_role".into(), r.as_str().into()));
        }
        if let Some(m) = p.monitoring_interval_months {
            f.0.push(("monitoring_interval_months".into(), m.to_string()));
        }
        if p.employment_support {
            f.0.push(("employment_support".into(), "1".into()));
        }
    } else {
        f.0.push(("period_from".into(), wareki::format(today)));
    }
    f.0.push(("drafted_on".into(), wareki::format(today)));
    // A plan's own rows (a new version changes them); a first plan two of each to start.
    let rows = match base {
        Some(p) => Rows::of_plan(p).padded(1, 1),
        None => Rows::default().padded(FIRST_GOALS, FIRST_ITEMS),
    };
    let f = rows.clone().into_fields(&f);
    let p = page(
        auth,
        today,
        id,
        a.case.version,
        action,
        &a,
        s,
        &names,
        &rows,
        &f,
        &[],
        notice,
    );
    Ok(render_status(StatusCode::OK, &p))
}

/// A row added or removed (the page again, nothing saved), or the plan saved.
pub async fn submit_form(
    app: &AppState,
    auth: &Auth,
    id: CaseId,
    action: CaseAction,
    a: CaseAccess,
    typed: Fields,
) -> PageResult {
    let names = Names::load(app, auth).await?;
    let today = app.clock.today();
    let mut rows = Rows::read(&typed);
    if let Some(op) = typed.get("op") {
        rows.apply(op);
        let rows = rows.padded(1, 1);
        let f = rows.clone().into_fields(&typed);
        let s = &a.case.state;
        let p = page(
            auth,
            today,
            id,
            typed.version(),
            action,
            &a,
            s,
            &names,
            &rows,
            &f,
            &[],
            None,
        );
        return Ok(render_status(StatusCode::OK, &p));
    }
    rows.drop_blank_items();
    let f = rows.clone().into_fields(&typed);
    let result = match read(action, &f, &rows, &auth.settings) {
        Ok(plan) => {
            let command = match action {
                CaseAction::ModifyPlan => match f.long("reason", "修正の理由") {
                    Ok(reason) => Ok(CaseCommand::ModifyPlan { plan, reason }),
                    Err(e) => Err(vec![e]),
                },
                _ => Ok(CaseCommand::DraftPlan { plan }),
            };
            match command {
                Ok(command) => submit(app, auth, id, &f, command).await?.map(|_| ()),
                Err(errors) => Err(Refused::Fields(errors)),
            }
        }
        Err(mut errors) => {
            if action == CaseAction::ModifyPlan
                && let Err(e) = f.long("reason", "修正の理由")
            {
                errors.insert(1.min(errors.len()), e);
            }
            Err(Refused::Fields(errors))
        }
    };
    let Err(refused) = result else {
        return Ok(see_other(&format!("/cases/{id}")));
    };
    let (status, notice, errors) = match refused {
        Refused::Fields(errors) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Notice::from_fields(&errors),
            errors,
        ),
        other => {
            let field = match &other {
                Refused::Api(e) => e.field.as_deref().and_then(field_of).or_else(|| {
                    // An unknown service names no row: the row that chose it.
                    (e.code == "plan.unknown_statutory_service")
                        .then(|| {
                            (1..=rows.items.len())
                                .map(|n| format!("item{n}_service"))
                                .find(|k| f.get(k).is_some())
                        })
                        .flatten()
                }),
                _ => None,
            };
            let (status, notice, error) =
                other.explain(app, auth, id, typed.version(), &names).await;
            let mut errors = error;
            if let Some(field) = field {
                errors = vec![field_error(&field, notice.message.clone())];
            }
            (status, notice, errors)
        }
    };
    let (version, state) = if status == StatusCode::CONFLICT {
        let now = crate::access::case(app, auth, id, tsunagu_core::policy::Access::Read)
            .await?
            .case;
        (now.version, now.state)
    } else {
        (typed.version(), a.case.state.clone())
    };
    let rows = rows.padded(1, 1);
    let f = rows.clone().into_fields(&f);
    let p = page(
        auth,
        today,
        id,
        version,
        action,
        &a,
        &state,
        &names,
        &rows,
        &f,
        &errors,
        Some(notice),
    );
    Ok(render_status(status, &p))
}
