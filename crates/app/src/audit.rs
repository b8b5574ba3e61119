//! 操作の記録 as people read it: the audit trail's entries (`admin::audit_log`) with the member
//! of staff by name, the action and its basis in words, and the number of persons concerned —
//! the page's rows, and the same rows as a file for an inspection. Auditors and
//! administrators only (`policy::read_audit`); reading and exporting are audited themselves.

use tsunagu_store::{Basis, ChainedRow};

use crate::admin::{self, AuditSearch, Staff};
use crate::{App, Caller, Result};

/// One entry as the page and the file show it.
#[derive(Clone, Debug)]
pub struct AuditLine {
    /// In Japan's time, the day in 和暦: 令和8年12月6日 09:30:00.
    pub at: String,
    pub who: String,
    pub action: String,
    /// What the action means ("" for one without a name: the code says it).
    pub label: &'static str,
    pub object: String,
    /// The persons whose records the action concerned.
    pub persons: usize,
    pub basis: String,
    pub detail: String,
}

/// The most entries a file holds.
pub const FILE_MAX: u32 = 10_000;

/// The entries that match, newest first, as the page shows them (audited `audit.read`).
pub async fn lines(app: &App, caller: &Caller, q: AuditSearch) -> Result<Vec<AuditLine>> {
    let rows = admin::audit_log(app, caller, q).await?;
    let staff = admin::staff(app, caller).await?;
    Ok(rows.into_iter().map(|r| line(r, &staff)).collect())
}

/// The headers of the file.
pub const HEADERS: [&str; 8] = [
    "日時",
    "職員",
    "操作",
    "操作のコード",
    "対象",
    "相談者の数",
    "根拠",
    "詳細",
];

/// The entries that match (at most `FILE_MAX`) as a file for Excel, audited
/// `audit.exported`.
pub async fn file(
    app: &App,
    caller: &Caller,
    mut q: AuditSearch,
    format: crate::FileFormat,
) -> Result<Vec<u8>> {
    q.limit = Some(FILE_MAX);
    let rows = admin::audit_rows(app, caller, q).await?;
    let staff = admin::staff(app, caller).await?;
    let lines: Vec<AuditLine> = rows.into_iter().map(|r| line(r, &staff)).collect();
    let table = tsunagu_report::csv::Table {
        headers: HEADERS.map(str::to_owned).to_vec(),
        rows: lines
            .iter()
            .map(|l| {
                vec![
                    l.at.clone(),
                    l.who.clone(),
                    l.label.to_owned(),
                    l.action.clone(),
                    l.object.clone(),
                    l.persons.to_string(),
                    l.basis.clone(),
                    l.detail.clone(),
                ]
            })
            .collect(),
    };
    app.store
        .audit(&[caller
            .audit("audit.exported")
            .basis(Basis::Administration)
            .detail(format!("results={}, {}", lines.len(), format.extension()))])
        .await?;
    format.write("操作の記録", &table)
}

fn line(r: ChainedRow, staff: &[Staff]) -> AuditLine {
    let r = r.row;
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
    let at =
        r.at.parse::<jiff::Timestamp>()
            .map(|t| {
                let z = crate::in_japan(t);
                format!(
                    "{} {}",
                    tsunagu_core::wareki::format(z.date()),
                    z.strftime("%H:%M:%S")
                )
            })
            .unwrap_or(r.at.clone());
    AuditLine {
        at,
        who: name(&r.user_id),
        label: action_label(&r.action),
        action: r.action,
        object: match (r.object_type, r.object_id) {
            (Some(t), Some(id)) => format!("{t} {}", id.chars().take(8).collect::<String>()),
            (Some(t), None) => t,
            _ => String::new(),
        },
        persons: serde_json::from_str::<Vec<serde_json::Value>>(&r.subjects).map_or(0, |v| v.len()),
        basis: r.basis.as_deref().map(basis_label).unwrap_or_default(),
        detail: r.detail.unwrap_or_default(),
    }
}

/// What an action code means, for the common ones; the code is always shown beside it.
pub fn action_label(action: &str) -> &'static str {
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
        "person.disclosed" => "開示請求の写しの作成",
        "household.read" => "世帯の閲覧",
        "case.read" => "ケースの閲覧",
        "case.opened" => "ケースの開始",
        "case.command" => "ケースの記録",
        "case.list" => "ケース一覧",
        "case.list_exported" => "ケース一覧の保存",
        "case.list_printed" => "ケース一覧の印刷",
        "case.search_records" => "記録の検索",
        "case.search_exported" => "記録の検索結果の保存",
        "caseload.read" => "担当状況の閲覧",
        "due.read" | "due.counts_read" => "期限一覧",
        "due.exported" => "期限一覧の保存",
        "meeting.read" | "meeting.list" => "会議の閲覧",
        "meeting.list_exported" => "会議の一覧の保存",
        "meeting.scheduled" => "会議の予定",
        "meeting.command" => "会議の記録",
        "plan_reports.read" => "報告の閲覧",
        "plan_reports.exported" => "報告の保存",
        "attachment.download" => "添付書類の取得",
        "audit.read" => "操作の記録の閲覧",
        "audit.exported" => "操作の記録の保存",
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
        "settings.import_mapping_kept" => "取り込みの列の保存",
        "import.checked" => "取り込みの確認",
        "import.done" => "取り込み",
        "stats.national_read" | "stats.consultations_read" | "stats.process_read" => "統計の閲覧",
        "stats.national_exported" | "stats.consultations_exported" | "stats.process_exported" => {
            "統計の保存"
        }
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
