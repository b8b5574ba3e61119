//! Tenant settings: the things a municipality decides, kept as data rather than code.

use serde::{Deserialize, Serialize};

/// A service under the law that needs the municipality's support decision (支援決定).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatutoryService {
    /// Stable code used in plans and decisions, e.g. `housing_security_benefit`.
    pub code: String,
    /// Japanese name shown to users.
    pub name: String,
    /// Whether a plan containing it needs the municipality's support decision.
    pub needs_decision: bool,
    /// Has its own quick procedure (住居確保給付金, 一時生活支援事業).
    pub quick_procedure: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TenantSettings {
    /// Months between periodic monitorings (seed 001 §10: monthly by default; 1–3 in some cities).
    pub monitoring_interval_months: u8,
    /// Days after support starts by which the first monitoring is due ("支援直後").
    pub first_monitoring_within_days: u16,
    /// Unanswered attempts to reach the person needed before a suspension (中断).
    pub min_contact_attempts_before_suspension: u8,
    /// Days a suspension must last before the case may be terminated as "contact lost".
    pub suspension_days_before_termination: u16,
    /// Days ahead the due list looks.
    pub due_horizon_days: u16,
    /// Days before a plan period ends when it shows on the due list.
    pub plan_end_warning_days: u16,
    pub statutory_services: Vec<StatutoryService>,
    /// Minutes without a request after which a session ends.
    #[serde(default = "default_idle_minutes")]
    pub session_idle_minutes: u16,
    /// Roles that must log in with a second factor (TOTP). Default: every role.
    #[serde(default = "default_totp_roles")]
    pub totp_required_roles: Vec<crate::Role>,
    /// 主訴 list of the 相談受付・申込票 (national A票 list by default).
    #[serde(default = "default_presenting_problems")]
    pub presenting_problems: Vec<CodeItem>,
    /// 見られた変化: the changes an evaluation (評価シート) may record (the items of the
    /// MHLW-commissioned surveys by default; `docs/COUNTING.md` R8).
    #[serde(default = "default_observed_changes")]
    pub observed_changes: Vec<CodeItem>,
    /// 本人の抱える課題: the checklist of the アセスメントシート (the list of the national
    /// statistics system as far as it is known, by default; `docs/COUNTING.md` R9).
    #[serde(default = "default_assessment_issues")]
    pub assessment_issues: Vec<CodeItem>,
    /// The lists of ■ご本人について (B票): 仕事, 住居, 健康保険, 年金.
    #[serde(default)]
    pub circumstance_lists: CircumstanceLists,
    /// Fields restricted from the lead who prepares a disclosure (開示請求): withheld and named
    /// for review (the default), or included and flagged for review before it is handed over.
    #[serde(default)]
    pub disclosure_restricted: DisclosureRestricted,
    /// Years the audit trail is kept.
    #[serde(default = "default_audit_years")]
    pub audit_retention_years: u8,
    /// Days in one stage (other than support and closure) after which a case shows on the
    /// lead worker's list of cases that are not moving.
    #[serde(default = "default_stuck_days")]
    pub stuck_after_days: u16,
    /// Days a new API token lives.
    #[serde(default = "default_token_days")]
    pub token_days: u16,
    /// 人口: the population the national indicators are given per 100,000 inhabitants of
    /// (none: no per-capita figures).
    #[serde(default)]
    pub population: Option<u32>,
    /// 目安値: the national benchmarks per 100,000 inhabitants and month the indicators are
    /// shown beside.
    #[serde(default)]
    pub benchmarks: Benchmarks,
    /// The column mapping of imported sheets, kept from the last import: each header as it
    /// was compared and the field it filled (`crate::import`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub import_columns: Vec<crate::import::ImportColumn>,
}

/// The national 目安値 per 100,000 inhabitants and month (default: the 平成29年度 values of
/// the MHLW's material, `docs/COUNTING.md`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Benchmarks {
    pub new_consultations: u16,
    pub plans: u16,
    pub employment_support_subjects: u16,
}

impl Default for Benchmarks {
    fn default() -> Self {
        Benchmarks {
            new_consultations: 24,
            plans: 12,
            employment_support_subjects: 7,
        }
    }
}

/// The lists of the B票's ■ご本人について. The defaults are the national form's as far as the
/// reference recovered it: the items it lost (numbered 4, and the rest of 健康保険 and 年金) are
/// filled from common practice and are the tenant's to correct.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CircumstanceLists {
    pub work: Vec<CodeItem>,
    pub housing: Vec<CodeItem>,
    pub health_insurance: Vec<CodeItem>,
    pub pension: Vec<CodeItem>,
}

impl CircumstanceLists {
    /// The list of an item of `Circumstances::items` by its key.
    pub fn of(&self, key: &str) -> &[CodeItem] {
        match key {
            "work" => &self.work,
            "housing" => &self.housing,
            "health_insurance" => &self.health_insurance,
            "pension" => &self.pension,
            _ => &[],
        }
    }

    /// The name of a code of the item `key` (the code itself when the list no longer has it).
    pub fn name<'a>(&'a self, key: &str, code: &'a str) -> &'a str {
        self.of(key)
            .iter()
            .find(|c| c.code == code)
            .map_or(code, |c| c.name.as_str())
    }

    fn all(&self) -> impl Iterator<Item = (&'static str, &[CodeItem])> {
        ["work", "housing", "health_insurance", "pension"]
            .into_iter()
            .map(|k| (k, self.of(k)))
    }
}

fn items(list: &[(&str, &str)]) -> Vec<CodeItem> {
    list.iter()
        .map(|(code, name)| CodeItem {
            code: (*code).to_owned(),
            name: (*name).to_owned(),
        })
        .collect()
}

impl Default for CircumstanceLists {
    fn default() -> Self {
        CircumstanceLists {
            work: items(&[
                ("regular", "正社員・公務員"),
                ("non_regular", "臨時職員・パート・アルバイト・派遣社員"),
                ("self_employed", "自営業・家族従業者・内職"),
                ("training", "就労訓練・福祉的就労"),
                ("pensioner", "年金生活"),
                ("unemployed", "失業・休職中"),
                ("other", "その他"),
            ]),
            housing: items(&[
                ("owned", "持家"),
                ("rented", "借家"),
                ("public_housing", "公営住宅"),
                ("living_with_others", "知人・親族宅"),
                ("company_housing", "会社寮・借上げ住宅"),
                ("rough_sleeping", "野宿"),
                ("other", "その他"),
            ]),
            health_insurance: items(&[
                ("employee", "社会保険"),
                ("national", "国民健康保険"),
                ("late_elderly", "後期高齢者医療"),
                ("public_assistance", "生活保護（医療扶助）"),
                ("none", "無保険"),
                ("other", "その他"),
            ]),
            pension: items(&[
                ("receiving", "受給中"),
                ("enrolled", "加入中"),
                ("exempted", "免除・猶予"),
                ("not_enrolled", "未加入・未納"),
                ("other", "その他"),
            ]),
        }
    }
}

/// What a disclosure does with the fields restricted from the lead who prepares it. (A lead
/// the restriction names always has them included for the person, flagged for review.)
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DisclosureRestricted {
    /// Left out, and named, for a lead the restriction names to prepare the disclosure.
    #[default]
    Withhold,
    /// Included (the person asked for their own records), flagged for review; the lead who
    /// prepares the disclosure reads them, and the audit entry says so.
    Include,
}

/// One entry of a tenant's code list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CodeItem {
    pub code: String,
    pub name: String,
}

fn default_presenting_problems() -> Vec<CodeItem> {
    [
        ("health", "病気や健康、障害のこと"),
        ("housing", "住まいについて"),
        ("income", "収入・生活費のこと"),
        ("rent_loan", "家賃やローンの支払いのこと"),
        ("taxes_utilities", "税金や公共料金等の支払いについて"),
        ("debt", "債務について"),
        ("job_search", "仕事探し、就職について"),
        ("work_trouble", "仕事上の不安やトラブル"),
        ("community", "地域との関係について"),
        ("family", "家族との関係について"),
        ("child_rearing", "子育てのこと"),
        ("care", "介護のこと"),
        ("withdrawal", "ひきこもり・不登校"),
        ("violence_abuse", "DV・虐待"),
        ("no_food", "食べるものがない"),
        ("other", "その他"),
    ]
    .map(|(code, name)| CodeItem {
        code: code.to_owned(),
        name: name.to_owned(),
    })
    .to_vec()
}

fn default_assessment_issues() -> Vec<CodeItem> {
    [
        ("illness", "病気"),
        ("injury", "けが"),
        ("disability_certified", "障害（手帳有）"),
        ("disability_suspected", "障害（疑い）"),
        ("suicidal", "自死企図"),
        (
            "mental_health",
            "その他メンタルヘルスの課題（うつ・不眠・不安・依存症・適応障害など）",
        ),
        ("housing_unstable", "住まい不安定"),
        ("homeless", "ホームレス"),
        ("financial_hardship", "経済的困窮"),
        ("debt", "（多重・過重）債務"),
        ("household_finance", "家計管理の課題"),
        ("job_search_difficulty", "就職活動困難"),
        ("job_retention_difficulty", "就職定着困難"),
        ("disordered_habits", "生活習慣の乱れ"),
        (
            "social_isolation",
            "社会的孤立（ニート・ひきこもりなどを含む）",
        ),
        ("family", "家族関係・家族の問題"),
        ("school_refusal", "不登校"),
        ("delinquency", "非行"),
        ("school_leaver", "中卒・高校中退"),
        ("child_rearing", "子育て"),
        ("care", "介護"),
        ("single_parent", "ひとり親"),
        ("violence_abuse", "DV・虐待"),
        ("foreign_national", "外国籍"),
        ("ex_offender", "刑余者"),
        ("communication", "コミュニケーションが苦手"),
        ("limited_capacity", "本人の能力の制限"),
        ("other", "その他"),
    ]
    .map(|(code, name)| CodeItem {
        code: code.to_owned(),
        name: name.to_owned(),
    })
    .to_vec()
}

fn default_observed_changes() -> Vec<CodeItem> {
    [
        ("housing", "住まいの確保・安定化"),
        ("health", "健康状態の改善"),
        ("relationships", "対人関係・家族関係の改善"),
        ("household_finance", "家計の改善（債務の整理等）"),
        ("daily_life", "生活習慣の改善（食事・睡眠・整容等）"),
        ("motivation", "自立意欲の向上・改善"),
        ("goal", "目標ができた"),
        (
            "self_acceptance",
            "自分のことを肯定的に受け止められるようになった",
        ),
        ("security", "安心感が高まった（精神の安定等）"),
        ("sos", "SOSを出せるようになった"),
        ("disability_certificate", "障害手帳取得"),
        ("public_assistance", "生活保護適用"),
        ("earned_income", "就労収入が増加した"),
        ("other_income", "その他収入が増加した"),
        ("other", "その他"),
    ]
    .map(|(code, name)| CodeItem {
        code: code.to_owned(),
        name: name.to_owned(),
    })
    .to_vec()
}

fn default_idle_minutes() -> u16 {
    30
}
fn default_totp_roles() -> Vec<crate::Role> {
    crate::Role::ALL.to_vec()
}
fn default_audit_years() -> u8 {
    5
}
fn default_stuck_days() -> u16 {
    30
}
fn default_token_days() -> u16 {
    90
}

impl Default for TenantSettings {
    fn default() -> Self {
        let svc = |code: &str, name: &str, quick: bool| StatutoryService {
            code: code.to_owned(),
            name: name.to_owned(),
            needs_decision: true,
            quick_procedure: quick,
        };
        TenantSettings {
            monitoring_interval_months: 1,
            first_monitoring_within_days: 14,
            min_contact_attempts_before_suspension: 2,
            suspension_days_before_termination: 90,
            due_horizon_days: 14,
            plan_end_warning_days: 30,
            statutory_services: vec![
                svc("housing_security_benefit", "住居確保給付金", true),
                svc("employment_preparation", "就労準備支援事業", false),
                svc("employment_training", "就労訓練事業", false),
                svc("temporary_living_support", "一時生活支援事業", true),
                svc("household_finance_improvement", "家計改善支援事業", false),
                svc(
                    "children_learning_support",
                    "子どもの学習・生活支援事業",
                    false,
                ),
            ],
            session_idle_minutes: default_idle_minutes(),
            totp_required_roles: default_totp_roles(),
            audit_retention_years: default_audit_years(),
            stuck_after_days: default_stuck_days(),
            token_days: default_token_days(),
            population: None,
            benchmarks: Benchmarks::default(),
            import_columns: Vec::new(),
            presenting_problems: default_presenting_problems(),
            observed_changes: default_observed_changes(),
            assessment_issues: default_assessment_issues(),
            circumstance_lists: CircumstanceLists::default(),
            disclosure_restricted: DisclosureRestricted::default(),
        }
    }
}

impl TenantSettings {
    /// The name of a 主訴 code (the code itself when the list no longer has it).
    pub fn presenting_problem_name<'a>(&'a self, code: &'a str) -> &'a str {
        self.presenting_problems
            .iter()
            .find(|p| p.code == code)
            .map_or(code, |p| p.name.as_str())
    }

    pub fn statutory_service(&self, code: &str) -> Option<&StatutoryService> {
        self.statutory_services.iter().find(|s| s.code == code)
    }

    /// Checks that settings make sense; returns a Japanese message naming the problem.
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=12).contains(&self.monitoring_interval_months) {
            return Err("モニタリング間隔は1〜12か月で指定してください。".into());
        }
        if self.first_monitoring_within_days == 0 || self.first_monitoring_within_days > 90 {
            return Err("初回モニタリングの期限は1〜90日で指定してください。".into());
        }
        if !(5..=720).contains(&self.session_idle_minutes) {
            return Err("無操作タイムアウトは5〜720分で指定してください。".into());
        }
        if !(1..=30).contains(&self.audit_retention_years) {
            return Err("監査記録の保存年数は1〜30年で指定してください。".into());
        }
        if !(7..=365).contains(&self.stuck_after_days) {
            return Err("停滞ケースとみなす日数は7〜365日で指定してください。".into());
        }
        if !(1..=365).contains(&self.token_days) {
            return Err("APIトークンの有効期間は1〜365日で指定してください。".into());
        }
        let mut codes: Vec<&str> = self
            .statutory_services
            .iter()
            .map(|s| s.code.as_str())
            .collect();
        codes.sort_unstable();
        codes.dedup();
        if codes.len() != self.statutory_services.len() {
            return Err("法定サービスのコードが重複しています。".into());
        }
        if self
            .statutory_services
            .iter()
            .any(|s| s.code.trim().is_empty() || s.name.trim().is_empty())
        {
            return Err("法定サービスのコードと名称は必須です。".into());
        }
        // Codes are stored in records and read by programs: short, half-width, stable.
        let code_ok = |c: &str| {
            !c.is_empty()
                && c.len() <= 40
                && c.chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_')
        };
        let name_ok = |n: &str| !n.trim().is_empty() && n.chars().count() <= 100;
        if self
            .statutory_services
            .iter()
            .any(|s| !code_ok(&s.code) || !name_ok(&s.name))
        {
            return Err(
                "法定サービスのコードは半角の英小文字・数字・_（40文字以内）、名称は100文字以内で指定してください。"
                    .into(),
            );
        }
        if self.presenting_problems.is_empty() {
            return Err("主訴の選択肢を1つ以上指定してください。".into());
        }
        let mut codes: Vec<&str> = self
            .presenting_problems
            .iter()
            .map(|p| p.code.as_str())
            .collect();
        codes.sort_unstable();
        codes.dedup();
        if codes.len() != self.presenting_problems.len() {
            return Err("主訴のコードが重複しています。".into());
        }
        if self
            .presenting_problems
            .iter()
            .any(|p| !code_ok(&p.code) || !name_ok(&p.name))
        {
            return Err(
                "主訴のコードは半角の英小文字・数字・_（40文字以内）、名称は100文字以内で指定してください。"
                    .into(),
            );
        }
        for (key, list) in self.circumstance_lists.all() {
            let mut codes: Vec<&str> = list.iter().map(|p| p.code.as_str()).collect();
            codes.sort_unstable();
            codes.dedup();
            if codes.len() != list.len()
                || list.iter().any(|p| !code_ok(&p.code) || !name_ok(&p.name))
            {
                return Err(format!(
                    "{}の選択肢のコードは重複させず、半角の英小文字・数字・_（40文字以内）、名称は100文字以内で指定してください。",
                    crate::case::Circumstances::default()
                        .items()
                        .iter()
                        .find(|(k, _, _)| *k == key)
                        .map_or(key, |(_, name, _)| *name)
                ));
            }
        }
        let mut issues: Vec<&str> = self
            .assessment_issues
            .iter()
            .map(|p| p.code.as_str())
            .collect();
        issues.sort_unstable();
        issues.dedup();
        if issues.len() != self.assessment_issues.len()
            || self
                .assessment_issues
                .iter()
                .any(|p| !code_ok(&p.code) || !name_ok(&p.name))
        {
            return Err(
                "本人の抱える課題のコードは重複させず、半角の英小文字・数字・_（40文字以内）、名称は100文字以内で指定してください。"
                    .into(),
            );
        }
        let mut changes: Vec<&str> = self
            .observed_changes
            .iter()
            .map(|p| p.code.as_str())
            .collect();
        changes.sort_unstable();
        changes.dedup();
        if changes.len() != self.observed_changes.len()
            || self
                .observed_changes
                .iter()
                .any(|p| !code_ok(&p.code) || !name_ok(&p.name))
        {
            return Err(
                "見られた変化のコードは重複させず、半角の英小文字・数字・_（40文字以内）、名称は100文字以内で指定してください。"
                    .into(),
            );
        }
        Ok(())
    }

    /// The name of a 見られた変化 code (the code itself when the list no longer has it).
    pub fn observed_change_name<'a>(&'a self, code: &'a str) -> &'a str {
        self.observed_changes
            .iter()
            .find(|c| c.code == code)
            .map_or(code, |c| c.name.as_str())
    }

    /// The name of a 本人の抱える課題 code (the code itself when the list no longer has it).
    pub fn assessment_issue_name<'a>(&'a self, code: &'a str) -> &'a str {
        self.assessment_issues
            .iter()
            .find(|c| c.code == code)
            .map_or(code, |c| c.name.as_str())
    }

    /// The codes of `self`'s lists that `next` no longer has: records may hold them, so a
    /// list may gain codes and rename them but not lose them.
    pub fn codes_removed_by(&self, next: &TenantSettings) -> Vec<String> {
        let services = self
            .statutory_services
            .iter()
            .map(|s| &s.code)
            .filter(|c| !next.statutory_services.iter().any(|n| &n.code == *c));
        let problems = self
            .presenting_problems
            .iter()
            .map(|p| &p.code)
            .filter(|c| !next.presenting_problems.iter().any(|n| &n.code == *c));
        let changes = self
            .observed_changes
            .iter()
            .map(|p| &p.code)
            .filter(|c| !next.observed_changes.iter().any(|n| &n.code == *c));
        let issues = self
            .assessment_issues
            .iter()
            .map(|p| &p.code)
            .filter(|c| !next.assessment_issues.iter().any(|n| &n.code == *c));
        let circumstances = self.circumstance_lists.all().flat_map(|(key, list)| {
            list.iter().map(|p| &p.code).filter(move |c| {
                !next
                    .circumstance_lists
                    .of(key)
                    .iter()
                    .any(|n| &n.code == *c)
            })
        });
        services
            .chain(problems)
            .chain(changes)
            .chain(issues)
            .chain(circumstances)
            .cloned()
            .collect()
    }
}
