//! 支援ケース一覧: the caseload list of workers and leads, filtered, sorted and paged, over the
//! same use case as `GET /api/case-list` (`app::caseload::list`), with the same query
//! parameters; a parameter that cannot be read is named in Japanese beside its control.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use tsunagu_app::caseload::{self, CaseList, ListRequest, ListScope};
use tsunagu_app::rows::CaseListSort;
use tsunagu_core::UserId;
use tsunagu_core::case::{IntakeRoute, Stage, Urgency};

use super::filters;
use super::{Chrome, PageResult, render, render_status};
use crate::AppState;
use crate::auth::Auth;
use crate::ui::Page;

/// The list's query parameters as sent (page and API alike); every one optional.
#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// `me` (default; `org` for lead workers), `org`, `team`, or a worker's id.
    #[serde(default)]
    pub worker: String,
    /// Stage codes, comma-separated (`intake,assessment`).
    #[serde(default)]
    pub stage: String,
    /// `open` (default), `closed` or `all`.
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub urgency: String,
    /// Main 主訴 code of the tenant's list.
    #[serde(default)]
    pub problem: String,
    /// 相談経路 code.
    #[serde(default)]
    pub route: String,
    /// `1`: only cases with something overdue.
    #[serde(default)]
    pub overdue: String,
    /// Days without reaching the person (more than).
    #[serde(default)]
    pub quiet: String,
    /// `1`: only cases staying past the threshold in a stage they should pass through.
    #[serde(default)]
    pub stuck: String,
    /// Fiscal year opened: `2026`, `令和8`, `R8` (年度 may follow).
    #[serde(default)]
    pub fy: String,
    /// Month opened: `2026-04`, `令和8年4月` (the statistics link a month's cases here).
    #[serde(default)]
    pub month: String,
    /// `entered_oldest` (default), `entered_newest`, `contact_oldest`, `opened_newest`, `kana`.
    #[serde(default)]
    pub sort: String,
    #[serde(default)]
    pub offset: String,
    /// One person's cases (the person's id).
    #[serde(default)]
    pub person: String,
    /// ケース番号: 令和8年度-0123, R8-123, 2026-0123.
    #[serde(default)]
    pub number: String,
    /// `1`: only cases waiting for a coordination meeting (a plan to approve, an evaluation,
    /// a suspension to confirm).
    #[serde(default)]
    pub meeting: String,
}

/// A parameter that cannot be read: its name and what is wrong, in Japanese.
pub type QueryProblem = (&'static str, String);

fn flag(raw: &str) -> Result<bool, ()> {
    match raw.trim() {
        "" | "0" | "false" | "off" => Ok(false),
        "1" | "true" | "on" => Ok(true),
        _ => Err(()),
    }
}

fn digits(raw: &str) -> String {
    tsunagu_core::text::half_width_digits(raw.trim())
}

pub use tsunagu_core::wareki::parse_fiscal_year;

/// A month as typed: `2026-04`, `2026/4`, `令和8年4月`, `R8.4` (full-width digits too).
pub fn parse_month(raw: &str) -> Option<(i16, i8)> {
    let s = tsunagu_core::text::half_width_digits(raw.trim());
    let s = s.trim_end_matches('月');
    // A month is its first day: read as a date with the day added.
    let sep = if s.contains('年') {
        "月"
    } else if s.contains('/') {
        "/"
    } else if s.contains('.') {
        "."
    } else {
        "-"
    };
    let day = tsunagu_core::wareki::parse(&format!("{s}{sep}1"))
        .or_else(|| tsunagu_core::wareki::parse(&format!("{s}{sep}1日")))?;
    Some((day.year(), day.month()))
}

/// Reads the list's parameters for this caller; every parameter that cannot be read is named.
pub fn request_of(q: &ListQuery, auth: &Auth) -> Result<ListRequest, Vec<QueryProblem>> {
    let mut problems: Vec<QueryProblem> = Vec::new();
    let scope = match q.worker.trim() {
        "" if tsunagu_core::policy::oversee_org(&auth.actor) => ListScope::Org,
        "" | "me" => ListScope::Mine,
        "org" => ListScope::Org,
        "team" => ListScope::Team,
        other => match other.parse::<UserId>() {
            Ok(u) => ListScope::Worker(u),
            Err(_) => {
                problems.push((
                    "worker",
                    "担当者は「自分」「自機関のすべて」「支援チームとして関わるもの」か職員を選んでください。"
                        .into(),
                ));
                ListScope::Mine
            }
        },
    };
    let mut req = ListRequest {
        scope,
        ..ListRequest::default()
    };
    for code in q.stage.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        match Stage::parse(code) {
            Some(s) if !req.stages.contains(&s) => req.stages.push(s),
            Some(_) => {}
            None => {
                problems.push((
                    "stage",
                    format!("段階「{code}」はありません。一覧から選んでください。"),
                ));
                break;
            }
        }
    }
    req.closed = match q.status.trim() {
        "" | "open" => Some(false),
        "closed" => Some(true),
        "all" => None,
        _ => {
            problems.push((
                "status",
                "状態は「対応中」「終結」「すべて」から選んでください。".into(),
            ));
            None
        }
    };
    if !q.urgency.trim().is_empty() {
        match Urgency::parse(q.urgency.trim()) {
            Some(u) => req.urgency = Some(u),
            None => problems.push(("urgency", "緊急度は一覧から選んでください。".into())),
        }
    }
    let problem = q.problem.trim();
    if !problem.is_empty() {
        if auth
            .settings
            .presenting_problems
            .iter()
            .any(|p| p.code == problem)
        {
            req.main_problem = Some(problem.to_owned());
        } else {
            problems.push(("problem", "主訴は一覧から選んでください。".into()));
        }
    }
    if !q.route.trim().is_empty() {
        match IntakeRoute::parse(q.route.trim()) {
            Some(r) => req.route = Some(r),
            None => problems.push(("route", "相談経路は一覧から選んでください。".into())),
        }
    }
    match flag(&q.overdue) {
        Ok(b) => req.overdue = b,
        Err(()) => problems.push(("overdue", "期限切れの指定が読めません。".into())),
    }
    match flag(&q.meeting) {
        Ok(b) => req.awaiting_meeting = b,
        Err(()) => problems.push(("meeting", "会議待ちの指定が読めません。".into())),
    }
    match flag(&q.stuck) {
        Ok(b) => req.stuck = b,
        Err(()) => problems.push(("stuck", "停滞の指定が読めません。".into())),
    }
    let quiet = digits(&q.quiet);
    if !quiet.is_empty() {
        match quiet.parse::<u32>() {
            Ok(n) if (1..=3650).contains(&n) => req.quiet_days = Some(n),
            _ => problems.push((
                "quiet",
                "接触のない日数は1〜3650の数字で入力してください（例: 30）。".into(),
            )),
        }
    }
    if !q.fy.trim().is_empty() {
        match parse_fiscal_year(&q.fy) {
            Some(y) => req.fiscal_year = Some(y),
            None => problems.push((
                "fy",
                "年度は「令和8」「R8」「2026」のように入力してください。".into(),
            )),
        }
    }
    if !q.month.trim().is_empty() {
        match parse_month(&q.month) {
            Some(m) => req.opened_month = Some(m),
            None => problems.push((
                "month",
                "月は「2026-04」「令和8年4月」のように入力してください。".into(),
            )),
        }
    }
    req.sort = match q.sort.trim() {
        "" | "entered_oldest" => CaseListSort::StageEnteredOldest,
        "entered_newest" => CaseListSort::StageEnteredNewest,
        "contact_oldest" => CaseListSort::LastContactOldest,
        "opened_newest" => CaseListSort::OpenedNewest,
        "kana" => CaseListSort::Kana,
        _ => {
            problems.push(("sort", "並び順は一覧から選んでください。".into()));
            CaseListSort::StageEnteredOldest
        }
    };
    if !q.person.trim().is_empty() {
        match q.person.trim().parse() {
            Ok(p) => req.person = Some(p),
            Err(_) => problems.push(("person", "相談者の指定が読めません。".into())),
        }
    }
    if !q.number.trim().is_empty() {
        match tsunagu_core::case::CaseNumber::parse(&q.number) {
            Some(n) => req.case_number = Some(n),
            None => problems.push((
                "number",
                "ケース番号は「令和8年度-0123」「R8-123」のように入力してください。".into(),
            )),
        }
    }
    let offset = digits(&q.offset);
    if !offset.is_empty() {
        match offset.parse::<u32>() {
            Ok(n) if n <= 1_000_000 => req.offset = n,
            _ => problems.push(("offset", "表示の開始位置が読めません。".into())),
        }
    }
    if problems.is_empty() {
        Ok(req)
    } else {
        Err(problems)
    }
}

/// One option of a select: value, label, selected.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

fn choices<'a>(current: &str, items: impl IntoIterator<Item = (&'a str, &'a str)>) -> Vec<Choice> {
    items
        .into_iter()
        .map(|(value, label)| Choice {
            value: value.to_owned(),
            label: label.to_owned(),
            selected: value == current,
        })
        .collect()
}

/// A select of the filter form, with what is wrong with its value.
pub struct Select {
    pub name: &'static str,
    pub label: &'static str,
    pub options: Vec<Choice>,
    pub error: Option<String>,
}

pub struct Row {
    pub case: tsunagu_app::caseload::ListedCase,
    pub urgency: &'static str,
    pub problem: String,
}

#[derive(Template)]
#[template(path = "caselist.html")]
struct ListPage {
    chrome: Chrome,
    q: ListQuery,
    problems: Vec<QueryProblem>,
    /// The selects of the form's first and second lines.
    first: Vec<Select>,
    second: Vec<Select>,
    overdue: bool,
    stuck: bool,
    meeting: bool,
    /// The tenant's threshold for 停滞.
    stuck_days: u16,
    list: Option<CaseList>,
    rows: Vec<Row>,
    /// The query of this list without its offset, for the page links.
    base_query: String,
    previous: Option<u32>,
    next: Option<u32>,
}

impl ListPage {
    fn problem(&self, field: &str) -> Option<&str> {
        self.problems
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    }
}

/// The query string of a list (without its offset), as the page links repeat it.
fn query_string(q: &ListQuery) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in [
        ("worker", &q.worker),
        ("stage", &q.stage),
        ("status", &q.status),
        ("urgency", &q.urgency),
        ("problem", &q.problem),
        ("route", &q.route),
        ("overdue", &q.overdue),
        ("quiet", &q.quiet),
        ("stuck", &q.stuck),
        ("fy", &q.fy),
        ("month", &q.month),
        ("sort", &q.sort),
        ("person", &q.person),
        ("number", &q.number),
        ("meeting", &q.meeting),
    ] {
        if !v.trim().is_empty() {
            s.append_pair(k, v.trim());
        }
    }
    s.finish()
}

/// The request of the whole list the filters select (files, print), for a role that works
/// cases; a filter that cannot be read answers 422 with its problems, nothing listed.
fn whole_list_request(
    q: &ListQuery,
    auth: &crate::auth::Auth,
) -> Result<ListRequest, Box<axum::response::Response>> {
    use axum::response::IntoResponse;
    crate::access::work_cases(auth)
        .map_err(|e| Box::new(super::PageError::from(e).into_response()))?;
    request_of(q, auth).map_err(|problems| {
        let text: Vec<String> = problems.iter().map(|(_, m)| m.clone()).collect();
        Box::new((StatusCode::UNPROCESSABLE_ENTITY, text.join("\n")).into_response())
    })
}

/// The whole list the filters select as a file for Excel (`.csv`, `.xlsx`).
pub async fn export(
    State(app): State<AppState>,
    Page(auth): Page,
    crate::extract::FileKind(format): crate::extract::FileKind,
    Query(q): Query<ListQuery>,
) -> Result<axum::response::Response, super::PageError> {
    let req = match whole_list_request(&q, &auth) {
        Ok(r) => r,
        Err(refused) => return Ok(*refused),
    };
    let bytes = caseload::export_file(&app, &auth, req, format).await?;
    let day = app.clock.today();
    Ok(super::download(format, &format!("cases-{day}"), bytes))
}

/// 支援ケース一覧 on the A4 print sheet, as the filters select it.
pub async fn print(
    State(app): State<AppState>,
    Page(auth): Page,
    Query(q): Query<ListQuery>,
) -> Result<axum::response::Response, super::PageError> {
    use axum::response::IntoResponse;
    let req = match whole_list_request(&q, &auth) {
        Ok(r) => r,
        Err(refused) => return Ok(*refused),
    };
    let table = caseload::print_table(&app, &auth, req).await?;
    let back = match query_string(&q) {
        qs if qs.is_empty() => "/cases".to_owned(),
        qs => format!("/cases?{qs}"),
    };
    Ok(super::print::table_sheet(&app, "支援ケース一覧", table, back).into_response())
}

pub async fn list(
    State(app): State<AppState>,
    Page(auth): Page,
    Query(q): Query<ListQuery>,
) -> PageResult {
    crate::access::work_cases(&auth)?;
    let today = app.clock.today();
    let staff = tsunagu_app::admin::staff(&app, &auth).await?;
    let lead = tsunagu_core::policy::oversee_org(&auth.actor);
    let worker_value = match q.worker.trim() {
        "" if lead => "org".to_owned(),
        "" => "me".to_owned(),
        w => w.to_owned(),
    };
    let mut workers = choices(
        &worker_value,
        [
            ("me", "自分の担当"),
            ("org", "自機関のすべて"),
            ("team", "支援チームとして関わるもの"),
        ],
    );
    workers.extend(
        staff
            .iter()
            .filter(|s| s.works_cases && s.org_id == auth.actor.org_id)
            .map(|s| Choice {
                value: s.id.to_string(),
                label: format!("{}の担当", s.display_name),
                selected: s.id.to_string() == worker_value,
            }),
    );
    let stage_now = q.stage.trim().to_owned();
    let mut stages = vec![Choice {
        value: String::new(),
        label: "すべて".into(),
        selected: stage_now.is_empty(),
    }];
    stages.extend(
        Stage::ALL
            .iter()
            .map(|s| (s.as_str(), s.label_ja()))
            .map(|(v, l)| Choice {
                value: v.to_owned(),
                label: l.to_owned(),
                selected: v == stage_now,
            }),
    );
    let statuses = choices(
        if q.status.trim().is_empty() {
            "open"
        } else {
            q.status.trim()
        },
        [("open", "対応中"), ("closed", "終結"), ("all", "すべて")],
    );
    let mut urgencies = choices(q.urgency.trim(), [("", "すべて")]);
    urgencies.extend(choices(
        q.urgency.trim(),
        Urgency::ALL.iter().map(|u| (u.as_str(), u.label_ja())),
    ));
    let mut problem_codes = choices(q.problem.trim(), [("", "すべて")]);
    problem_codes.extend(choices(
        q.problem.trim(),
        auth.settings
            .presenting_problems
            .iter()
            .map(|p| (p.code.as_str(), p.name.as_str())),
    ));
    let mut routes = choices(q.route.trim(), [("", "すべて")]);
    routes.extend(choices(
        q.route.trim(),
        IntakeRoute::ALL.iter().map(|r| (r.as_str(), r.label_ja())),
    ));
    let sorts = choices(
        if q.sort.trim().is_empty() {
            "entered_oldest"
        } else {
            q.sort.trim()
        },
        [
            ("entered_oldest", "今の段階が長い順"),
            ("entered_newest", "今の段階が短い順"),
            ("contact_oldest", "接触が途絶えている順"),
            ("opened_newest", "受付が新しい順"),
            ("kana", "ふりがな順"),
        ],
    );
    let mut page = ListPage {
        chrome: Chrome::of(&auth, today),
        overdue: flag(&q.overdue).unwrap_or(false),
        stuck: flag(&q.stuck).unwrap_or(false),
        meeting: flag(&q.meeting).unwrap_or(false),
        stuck_days: auth.settings.stuck_after_days,
        base_query: query_string(&q),
        q,
        problems: Vec::new(),
        first: Vec::new(),
        second: Vec::new(),
        list: None,
        rows: Vec::new(),
        previous: None,
        next: None,
    };
    let req = request_of(&page.q, &auth);
    if let Err(problems) = &req {
        page.problems = problems.clone();
    }
    let select = |name, label, options| Select {
        name,
        label,
        options,
        error: page.problem(name).map(str::to_owned),
    };
    let first = vec![
        select("worker", "担当", workers),
        select("status", "状態", statuses),
        select("stage", "段階", stages),
        select("urgency", "緊急度", urgencies),
    ];
    let second = vec![
        select("problem", "主訴", problem_codes),
        select("route", "相談経路", routes),
    ];
    let sort = select("sort", "並び順", sorts);
    page.first = first;
    page.second = second;
    page.second.push(sort);
    let Ok(req) = req else {
        return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page));
    };
    let list = caseload::list(&app, &auth, req).await?;
    page.previous = (list.offset > 0).then(|| list.offset.saturating_sub(list.limit));
    page.next = (u64::from(list.offset) + u64::from(list.limit) < list.total)
        .then(|| list.offset + list.limit);
    let mut list = list;
    page.rows = std::mem::take(&mut list.cases)
        .into_iter()
        .map(|c| Row {
            urgency: c
                .case
                .urgency
                .as_deref()
                .and_then(Urgency::parse)
                .map_or("—", Urgency::label_ja),
            problem: c.case.main_problem.as_deref().map_or_else(
                || "—".to_owned(),
                |p| auth.settings.presenting_problem_name(p).to_owned(),
            ),
            case: c,
        })
        .collect();
    page.list = Some(list);
    Ok(render(&page))
}

#[cfg(test)]
mod tests {
    use super::parse_fiscal_year;

    #[test]
    fn fiscal_years_are_read_in_the_usual_forms() {
        for (raw, fy) in [
            ("2026", Some(2026)),
            ("２０２６", Some(2026)),
            ("令和8", Some(2026)),
            ("令和８年度", Some(2026)),
            ("R8", Some(2026)),
            ("令和元", Some(2019)),
            ("平成31", Some(2019)),
            ("H30年度", Some(2018)),
            ("8", None),
            ("令和", None),
            ("昭和50", None),
            ("20260", None),
        ] {
            assert_eq!(parse_fiscal_year(raw), fy, "{raw}");
        }
    }

    #[test]
    fn months_are_read_in_the_usual_forms() {
        for raw in [
            "2026-04",
            "2026/4",
            "令和8年4月",
            "R8.4",
            "２０２６－０４",
            "令和８年４月",
        ] {
            assert_eq!(super::parse_month(raw), Some((2026, 4)), "{raw}");
        }
        for raw in ["2026-13", "8年4月", "四月", "2026"] {
            assert_eq!(super::parse_month(raw), None, "{raw}");
        }
    }
}
