//! Administration: organisations, user accounts and roles, and the tenant settings a
//! municipality decides (monitoring interval, suspension rules, due-list horizon). Through the
//! same use cases, checks and audit as the JSON API (`tsunagu_app::admin`).

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use tsunagu_core::{OrgKind, Role, TenantSettings};

use super::{
    Chrome, Control, ControlKind, FieldError, FieldResult, Fields, Notice, PageResult, field_error,
    laid_out, refill, refusal_status, render, render_status, see_other,
};
use crate::auth::Auth;
use crate::error::ApiError;
use crate::ui::Page;
use crate::{AppState, access};
use tsunagu_app::admin::{self, OrganisationCreate, UserChange, UserCreate, UserView};
use tsunagu_app::rows::Organisation;

pub struct UserRow {
    pub user: UserView,
    pub role: &'static str,
    pub org: String,
}

#[derive(Template)]
#[template(path = "admin.html")]
struct AdminPage {
    chrome: Chrome,
    orgs: Vec<(String, &'static str)>,
    users: Vec<UserRow>,
    org_controls: Vec<Control>,
    user_controls: Vec<Control>,
    change_controls: Vec<Control>,
    reset_controls: Vec<Control>,
    settings_controls: Vec<Control>,
    problems: Vec<ProblemRow>,
    services: Vec<ServiceRow>,
    notice: Option<Notice>,
    /// A refusal of the code lists' form, shown with it.
    codes_notice: Option<Notice>,
}

/// Empty rows offered to add to a code list.
const NEW_ROWS: usize = 3;

/// A 主訴 row of the form: code, name, stored (its code cannot change).
type ProblemRow = (String, String, bool);
/// A statutory service row: code, name, needs a decision, quick procedure, stored.
type ServiceRow = (String, String, bool, bool, bool);

/// The code lists as the form shows them: the stored entries (their codes fixed), then empty
/// rows; after a refusal, what was typed.
fn code_rows(
    current: &TenantSettings,
    typed: Option<&Fields>,
) -> (Vec<ProblemRow>, Vec<ServiceRow>) {
    let stored = |code: &str, list: &[&str]| list.contains(&code);
    let problem_codes: Vec<&str> = current
        .presenting_problems
        .iter()
        .map(|p| p.code.as_str())
        .collect();
    let service_codes: Vec<&str> = current
        .statutory_services
        .iter()
        .map(|s| s.code.as_str())
        .collect();
    match typed {
        Some(f) => {
            let problems = f
                .all("pp_code")
                .into_iter()
                .zip(f.all("pp_name"))
                .map(|(c, n)| (c.to_owned(), n.to_owned(), stored(c, &problem_codes)))
                .collect();
            let services = f
                .all("ss_code")
                .into_iter()
                .zip(f.all("ss_name"))
                .enumerate()
                .map(|(i, (c, n))| {
                    (
                        c.to_owned(),
                        n.to_owned(),
                        f.has("ss_decision", &i.to_string()),
                        f.has("ss_quick", &i.to_string()),
                        stored(c, &service_codes),
                    )
                })
                .collect();
            (problems, services)
        }
        None => {
            let mut problems: Vec<_> = current
                .presenting_problems
                .iter()
                .map(|p| (p.code.clone(), p.name.clone(), true))
                .collect();
            problems.extend((0..NEW_ROWS).map(|_| (String::new(), String::new(), false)));
            let mut services: Vec<_> = current
                .statutory_services
                .iter()
                .map(|s| {
                    (
                        s.code.clone(),
                        s.name.clone(),
                        s.needs_decision,
                        s.quick_procedure,
                        true,
                    )
                })
                .collect();
            services
                .extend((0..NEW_ROWS).map(|_| (String::new(), String::new(), true, false, false)));
            (problems, services)
        }
    }
}

/// The code lists typed into the form; rows left empty are not entries.
fn read_codes(f: &Fields, current: &TenantSettings) -> TenantSettings {
    let problems = f
        .all("pp_code")
        .into_iter()
        .zip(f.all("pp_name"))
        .map(|(c, n)| (c.trim(), n.trim()))
        .filter(|(c, n)| !c.is_empty() || !n.is_empty())
        .map(|(c, n)| tsunagu_core::settings::CodeItem {
            code: c.to_owned(),
            name: n.to_owned(),
        })
        .collect();
    let services = f
        .all("ss_code")
        .into_iter()
        .zip(f.all("ss_name"))
        .enumerate()
        .map(|(i, (c, n))| (i, c.trim(), n.trim()))
        .filter(|(_, c, n)| !c.is_empty() || !n.is_empty())
        .map(|(i, c, n)| tsunagu_core::settings::StatutoryService {
            code: c.to_owned(),
            name: n.to_owned(),
            needs_decision: f.has("ss_decision", &i.to_string()),
            quick_procedure: f.has("ss_quick", &i.to_string()),
        })
        .collect();
    TenantSettings {
        presenting_problems: problems,
        statutory_services: services,
        ..current.clone()
    }
}

/// A user who lost their password or phone: a new password, the second factor removed, or both.
fn reset_controls(users: &[UserView]) -> Vec<Control> {
    vec![
        Control::select(
            "reset_user",
            "アカウント",
            users.iter().map(|u| {
                (
                    u.id.to_string(),
                    format!("{}（{}）", u.display_name, u.login),
                )
            }),
        )
        .required(),
        Control::secret("reset_password", "新しいパスワード（変えないときは空欄）")
            .hint("8文字以上。本人に口頭などで伝え、本人が「アカウント」のページで変えます。"),
        Control::check(
            "reset_totp",
            "二要素認証をリセットする（スマートフォンをなくしたとき。次回ログインで登録し直します）",
        ),
    ]
}

/// Changing an account: role, organisation, or stopping it (which ends its sessions).
fn change_controls(users: &[UserView], orgs: &[Organisation]) -> Vec<Control> {
    vec![
        Control::select(
            "change_user",
            "アカウント",
            users.iter().map(|u| {
                (
                    u.id.to_string(),
                    format!("{}（{}）", u.display_name, u.login),
                )
            }),
        )
        .required(),
        Control::select(
            "change_role",
            "新しい役割（変えないときは空欄）",
            Role::ALL.iter().map(|r| (r.as_str(), r.label_ja())),
        ),
        Control::select(
            "change_org",
            "新しい所属（変えないときは空欄）",
            orgs.iter().map(|o| (o.id.to_string(), o.name.clone())),
        ),
        Control::radio(
            "change_state",
            "利用",
            [
                ("keep", "変えない"),
                ("active", "利用中にする"),
                ("disabled", "停止する（ログイン中の画面もすべて終了）"),
            ],
        ),
    ]
}

fn org_controls() -> Vec<Control> {
    vec![
        Control::text("org_name", "機関・部署の名称").required(),
        Control::select(
            "org_kind",
            "種別",
            OrgKind::ALL.iter().map(|k| (k.as_str(), k.label_ja())),
        )
        .required(),
    ]
}

fn user_controls(orgs: &[Organisation]) -> Vec<Control> {
    vec![
        Control::text("login", "ログインID").required(),
        Control::text("display_name", "表示名").required(),
        Control::select(
            "role",
            "役割",
            Role::ALL.iter().map(|r| (r.as_str(), r.label_ja())),
        )
        .required(),
        Control::select(
            "org_id",
            "所属",
            orgs.iter().map(|o| (o.id.to_string(), o.name.clone())),
        )
        .required(),
        Control::secret("password", "初期パスワード（8文字以上）").required(),
    ]
}

fn settings_controls() -> Vec<Control> {
    vec![
        Control::number("monitoring_interval_months", "モニタリング間隔（か月）").required(),
        Control::number(
            "first_monitoring_within_days",
            "支援開始から初回モニタリングまで（日）",
        )
        .required(),
        Control::number(
            "min_contact_attempts_before_suspension",
            "中断の前に必要な連絡の試み（回）",
        )
        .required(),
        Control::number(
            "suspension_days_before_termination",
            "連絡途絶で終結できるまでの中断期間（日）",
        )
        .required(),
        Control::number("due_horizon_days", "期限一覧に表示する日数").required(),
        Control::number("plan_end_warning_days", "プラン終了の何日前から表示するか").required(),
        Control::number(
            "stuck_after_days",
            "同じ段階に何日とどまると停滞ケースとして表示するか",
        )
        .required(),
        Control::number("token_days", "APIトークンの有効期間（日）").required(),
    ]
}

fn settings_values(s: &TenantSettings) -> Fields {
    Fields(vec![
        (
            "monitoring_interval_months".into(),
            s.monitoring_interval_months.to_string(),
        ),
        (
            "first_monitoring_within_days".into(),
            s.first_monitoring_within_days.to_string(),
        ),
        ("stuck_after_days".into(), s.stuck_after_days.to_string()),
        ("token_days".into(), s.token_days.to_string()),
        (
            "min_contact_attempts_before_suspension".into(),
            s.min_contact_attempts_before_suspension.to_string(),
        ),
        (
            "suspension_days_before_termination".into(),
            s.suspension_days_before_termination.to_string(),
        ),
        ("due_horizon_days".into(), s.due_horizon_days.to_string()),
        (
            "plan_end_warning_days".into(),
            s.plan_end_warning_days.to_string(),
        ),
    ])
}

async fn admin_page(
    app: &AppState,
    auth: &Auth,
    form: Option<(&str, &Fields, Option<&FieldError>)>,
    notice: Option<Notice>,
) -> Result<AdminPage, ApiError> {
    access::administer(auth)?;
    let orgs = admin::organisations(app, auth).await?;
    let users = admin::users(app, auth).await?;
    let change = change_controls(&users, &orgs);
    let reset = reset_controls(&users);
    let (problems, services) = code_rows(
        &auth.settings,
        form.and_then(|(w, f, _)| (w == "codes").then_some(f)),
    );
    let fill = |controls: Vec<Control>, which: &str, initial: Option<Fields>| match form {
        Some((w, f, e)) if w == which => refill(controls, f, e),
        _ => match initial {
            Some(f) => refill(controls, &f, None),
            None => laid_out(controls),
        },
    };
    Ok(AdminPage {
        chrome: Chrome::of(auth, app.clock.today()),
        users: users
            .into_iter()
            .map(|u| UserRow {
                role: u.role.label_ja(),
                org: orgs
                    .iter()
                    .find(|o| o.id == u.org_id)
                    .map_or_else(String::new, |o| o.name.clone()),
                user: u,
            })
            .collect(),
        org_controls: fill(org_controls(), "organisation", None),
        user_controls: fill(user_controls(&orgs), "user", None),
        reset_controls: fill(reset, "password_reset", None),
        problems,
        services,
        change_controls: fill(
            change,
            "user_change",
            Some(Fields(vec![("change_state".into(), "keep".into())])),
        ),
        settings_controls: fill(
            settings_controls(),
            "settings",
            Some(settings_values(&auth.settings)),
        ),
        orgs: orgs
            .iter()
            .map(|o| (o.name.clone(), o.kind.label_ja()))
            .collect(),
        codes_notice: notice
            .clone()
            .filter(|_| form.is_some_and(|(w, _, _)| w == "codes")),
        notice: notice.filter(|_| form.is_none_or(|(w, _, _)| w != "codes")),
    })
}

pub async fn show(State(app): State<AppState>, Page(auth): Page) -> PageResult {
    Ok(render(&admin_page(&app, &auth, None, None).await?))
}

/// One POST for the three forms (`form` = organisation | user | settings).
pub async fn submit(
    State(app): State<AppState>,
    Page(auth): Page,
    axum::Form(fields): axum::Form<Vec<(String, String)>>,
) -> PageResult {
    access::administer(&auth)?;
    let f = Fields(fields);
    let which = f.get("form").unwrap_or_default().to_owned();
    let (error, notice, status) = match read_form(&which, &f, &auth.settings) {
        Ok(req) => {
            let saved = match req {
                AdminRequest::Organisation(r) => {
                    admin::create_organisation(&app, &auth, r).await.map(|_| ())
                }
                AdminRequest::User(r) => admin::create_user(&app, &auth, r).await.map(|_| ()),
                AdminRequest::UserChange(id, r) => {
                    admin::update_user(&app, &auth, id, r).await.map(|_| ())
                }
                AdminRequest::Settings(r) => admin::put_settings(&app, &auth, &r).await,
                AdminRequest::Reset {
                    user,
                    password,
                    totp,
                } => reset(&app, &auth, user, password, totp).await,
            }
            .map_err(ApiError::from);
            match saved {
                Ok(()) => return Ok(see_other("/admin")),
                Err(e) if e.status.is_client_error() && !e.is_not_found() => {
                    (None, Notice::from_api(&e), refusal_status(&e))
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(e) => (
            Some(e.clone()),
            Notice::from_field(&e),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    };
    let page = admin_page(
        &app,
        &auth,
        Some((&which, &f, error.as_ref())),
        Some(notice),
    )
    .await?;
    Ok(render_status(status, &page))
}

/// A new password and/or a reset second factor; each ends the user's sessions.
async fn reset(
    app: &AppState,
    auth: &Auth,
    user: tsunagu_core::UserId,
    password: Option<String>,
    totp: bool,
) -> tsunagu_app::Result<()> {
    if let Some(p) = password {
        tsunagu_app::accounts::reset_password(app, auth, user, p).await?;
    }
    if totp {
        tsunagu_app::accounts::reset_totp(app, auth, user).await?;
    }
    Ok(())
}

enum AdminRequest {
    Organisation(OrganisationCreate),
    User(UserCreate),
    UserChange(tsunagu_core::UserId, UserChange),
    Settings(TenantSettings),
    Reset {
        user: tsunagu_core::UserId,
        password: Option<String>,
        totp: bool,
    },
}

fn read_form(which: &str, f: &Fields, current: &TenantSettings) -> FieldResult<AdminRequest> {
    Ok(match which {
        "organisation" => AdminRequest::Organisation(OrganisationCreate {
            name: f.required("org_name", "名称")?.to_owned(),
            kind: f.choice("org_kind", "種別", OrgKind::parse)?,
        }),
        "user" => AdminRequest::User(UserCreate {
            login: f.required("login", "ログインID")?.to_owned(),
            display_name: f.required("display_name", "表示名")?.to_owned(),
            role: f.choice("role", "役割", Role::parse)?,
            org_id: f.id("org_id", "所属を選んでください。")?,
            password: f.raw("password").to_owned(),
        }),
        "user_change" => {
            let id = f.id("change_user", "変更するアカウントを選んでください。")?;
            let role = match f.get("change_role") {
                None => None,
                Some(_) => Some(f.choice("change_role", "役割", Role::parse)?),
            };
            let org_id =
                match f.get("change_org") {
                    None => None,
                    Some(v) => Some(v.parse().map_err(|_| {
                        field_error("change_org", "所属は選択肢から選んでください。")
                    })?),
                };
            let disabled = match f.get("change_state") {
                None | Some("keep") => None,
                Some("active") => Some(false),
                Some("disabled") => Some(true),
                Some(_) => {
                    return Err(field_error(
                        "change_state",
                        "利用の選択肢から選んでください。",
                    ));
                }
            };
            AdminRequest::UserChange(
                id,
                UserChange {
                    display_name: None,
                    role,
                    org_id,
                    disabled,
                },
            )
        }
        "password_reset" => {
            let user = f.id("reset_user", "アカウントを選んでください。")?;
            let password = f.get("reset_password").map(str::to_owned);
            let totp = f.checked("reset_totp");
            if password.is_none() && !totp {
                return Err(field_error(
                    "reset_password",
                    "新しいパスワードを入力するか、二要素認証のリセットを選んでください。",
                ));
            }
            AdminRequest::Reset {
                user,
                password,
                totp,
            }
        }
        "codes" => AdminRequest::Settings(read_codes(f, current)),
        "settings" => AdminRequest::Settings(TenantSettings {
            monitoring_interval_months: f
                .number("monitoring_interval_months", "モニタリング間隔")?,
            first_monitoring_within_days: f
                .number("first_monitoring_within_days", "初回モニタリングまでの日数")?,
            min_contact_attempts_before_suspension: f
                .number("min_contact_attempts_before_suspension", "連絡の試みの回数")?,
            suspension_days_before_termination: f
                .number("suspension_days_before_termination", "中断期間")?,
            due_horizon_days: f.number("due_horizon_days", "期限一覧の日数")?,
            plan_end_warning_days: f.number("plan_end_warning_days", "プラン終了前の日数")?,
            stuck_after_days: f.number("stuck_after_days", "停滞ケースの日数")?,
            token_days: f.number("token_days", "APIトークンの有効期間")?,
            ..current.clone()
        }),
        _ => return Err(field_error("form", "送信された内容が分かりません。")),
    })
}
