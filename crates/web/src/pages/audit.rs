//! 操作の記録 (the audit view): who did what, when, to whose records, for auditors and
//! administrators; narrowed by member of staff, person and days. Reads through
//! `tsunagu_app::admin::audit_log` (the same check and the same `audit.read` entry as the API).

use askama::Template;
use axum::extract::{Query, State};
use serde::Deserialize;
use tsunagu_app::admin::{self, AuditSearch};
use tsunagu_core::{UserId, wareki};

use super::{Chrome, PageResult, render};
use crate::AppState;
use crate::ui::Page;

/// Rows shown at most.
const LIMIT: u32 = 300;

#[derive(Debug, Default, Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    user: String,
    #[serde(default)]
    person: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    until: String,
}

pub struct AuditLine {
    pub at: String,
    pub who: String,
    pub action: String,
    pub label: &'static str,
    pub object: String,
    pub persons: usize,
    pub basis: String,
    pub detail: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    chrome: Chrome,
    q: AuditQuery,
    users: Vec<(String, String)>,
    rows: Vec<AuditLine>,
    /// Problems with the filter, beside the field: (field, message).
    problems: Vec<(&'static str, String)>,
    full: bool,
}

impl AuditPage {
    fn problem(&self, field: &str) -> Option<&str> {
        self.problems
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    }
}

/// What an action code means, for the common ones; the code is always shown beside it.
fn action_label(action: &str) -> &'static str {
    match action {
        "login.succeeded" => "ログイン",
        "login.failed" | "login.totp_failed" => "ログインの失敗",
        "logout" => "ログアウト",
        "person.read" => "相談者の閲覧",
        "person.search" => "相談者の検索",
        "person.registered" => "相談者の登録",
        "person.changed" => "基本情報の変更",
        "person.command" => "同意・世帯・閲覧制限の記録",
        "person.history_read" => "相談者の変更履歴の閲覧",
        "person.duplicates_checked" => "重複の確認",
        "household.read" => "世帯の閲覧",
        "case.read" => "ケースの閲覧",
        "case.opened" => "ケースの開始",
        "case.command" => "ケースの記録",
        "case.list" => "ケース一覧",
        "case.search_records" => "記録の検索",
        "caseload.read" => "担当状況の閲覧",
        "due.read" | "due.counts_read" => "期限一覧",
        "meeting.read" | "meeting.list" => "会議の閲覧",
        "meeting.scheduled" => "会議の予定",
        "meeting.command" => "会議の記録",
        "attachment.download" => "添付書類の取得",
        "audit.read" => "操作の記録の閲覧",
        "password.changed" => "パスワードの変更",
        "password.change_refused" => "パスワード変更の失敗",
        "password.reset" => "パスワードのリセット",
        "totp.enabled" | "totp.enrolment_started" => "二要素認証の設定",
        "totp.reset" => "二要素認証のリセット",
        "session.revoked" | "sessions.revoked" => "ログインの終了",
        "token.created" => "APIトークンの作成",
        "token.revoked" => "APIトークンの無効化",
        "user.created" | "user.changed" | "user.list" => "アカウントの管理",
        "organisation.created" => "機関の追加",
        "settings.changed" => "設定の変更",
        _ => "",
    }
}

fn basis_label(basis: &str) -> String {
    match basis {
        "team" => "支援チーム".to_owned(),
        "consent" => "本人同意".to_owned(),
        "administration" => "管理".to_owned(),
        "meeting" => "支援会議".to_owned(),
        other => other.to_owned(),
    }
}

/// The start of a day in Japan, as an instant.
fn day_start(d: jiff::civil::Date) -> Option<jiff::Timestamp> {
    d.to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::Offset::constant(9)))
        .ok()
        .map(|z| z.timestamp())
}

pub async fn show(
    State(app): State<AppState>,
    Page(auth): Page,
    Query(q): Query<AuditQuery>,
) -> PageResult {
    let mut problems = Vec::new();
    let user: Option<UserId> = match q.user.trim() {
        "" => None,
        raw => raw.parse().ok().or_else(|| {
            problems.push(("user", "職員は一覧から選んでください。".to_owned()));
            None
        }),
    };
    let person = match q.person.trim() {
        "" => None,
        raw => raw.parse().ok().or_else(|| {
            problems.push(("person", "相談者の番号（ID）が読み取れません。".to_owned()));
            None
        }),
    };
    let mut day = |field: &'static str, raw: &str, label: &str| match raw.trim() {
        "" => None,
        raw => match wareki::read(raw) {
            Ok(d) => Some(d),
            Err(p) => {
                problems.push((field, p.message(label)));
                None
            }
        },
    };
    let from = day("from", &q.from, "開始日");
    let until = day("until", &q.until, "終了日");
    let staff = admin::staff(&app, &auth).await?;
    let rows = if problems.is_empty() {
        admin::audit_log(
            &app,
            &auth,
            AuditSearch {
                user,
                session: None,
                person,
                from: from.and_then(day_start),
                until: until.and_then(|d| d.tomorrow().ok()).and_then(day_start),
                limit: Some(LIMIT),
            },
        )
        .await?
    } else {
        crate::access::read_audit(&auth)?;
        Vec::new()
    };
    let name = |id: &Option<String>| {
        id.as_deref().map_or_else(
            || "—".to_owned(),
            |id| {
                staff
                    .iter()
                    .find(|s| s.id.to_string() == id)
                    .map_or_else(|| id.chars().take(8).collect(), |s| s.display_name.clone())
            },
        )
    };
    let full = rows.len() >= LIMIT as usize;
    let lines = rows
        .into_iter()
        .map(|r| {
            let r = r.row;
            let at =
                r.at.parse::<jiff::Timestamp>()
                    .map(|t| {
                        let z = tsunagu_app::in_japan(t);
                        format!("{} {}", wareki::format(z.date()), z.strftime("%H:%M:%S"))
                    })
                    .unwrap_or(r.at.clone());
            AuditLine {
                at,
                who: name(&r.user_id),
                label: action_label(&r.action),
                action: r.action,
                object: match (r.object_type, r.object_id) {
                    (Some(t), Some(id)) => {
                        format!("{t} {}", id.chars().take(8).collect::<String>())
                    }
                    (Some(t), None) => t,
                    _ => String::new(),
                },
                persons: serde_json::from_str::<Vec<serde_json::Value>>(&r.subjects)
                    .map_or(0, |v| v.len()),
                basis: r.basis.as_deref().map(basis_label).unwrap_or_default(),
                detail: r.detail.unwrap_or_default(),
            }
        })
        .collect();
    Ok(render(&AuditPage {
        chrome: Chrome::of(&auth, app.clock.today()),
        users: staff
            .iter()
            .map(|s| (s.id.to_string(), s.display_name.clone()))
            .collect(),
        q,
        rows: lines,
        problems,
        full,
    }))
}
