//! A4 print views of the national standard forms (../shared/reference/japan-standards.md):
//! 相談受付・申込票, インテーク・アセスメントシート, プラン兼事業等利用申込書, 支援経過記録
//! (経過一覧), 評価シート, and a meeting's 次第 and 議事録. One sheet layout, filled per form;
//! read through the same API handlers (and audit) as the pages.

use askama::Template;
use axum::extract::{Path, State};
use tsunagu_core::case::{CaseEvent, Stage};
use tsunagu_core::person::{PersonDetails, Sex};
use tsunagu_core::policy::Access;
use tsunagu_core::{CaseId, MeetingId, wareki};

use super::case::{Names, domain_values, load, timeline_rows, users_named};
use super::{PageResult, parse_id, render};
use crate::error::ApiError;
use crate::ui::Page;
use crate::{AppState, access};

pub struct Section {
    pub heading: String,
    /// Label and value rows.
    pub rows: Vec<(String, String)>,
    /// A table: column headers and rows.
    pub columns: Vec<String>,
    pub table: Vec<Vec<String>>,
    /// Blank lines to fill in by hand (signature, date).
    pub blanks: Vec<String>,
    /// A list of choices laid out in columns, each with its mark (○, ◎ or none), as the
    /// national form prints its check boxes.
    pub checks: Vec<(String, String)>,
}

impl Section {
    fn new(heading: &str) -> Section {
        Section {
            heading: heading.to_owned(),
            rows: Vec::new(),
            columns: Vec::new(),
            table: Vec::new(),
            blanks: Vec::new(),
            checks: Vec::new(),
        }
    }
    fn row(mut self, label: &str, value: impl Into<String>) -> Section {
        self.rows.push((label.to_owned(), value.into()));
        self
    }
    fn columns(mut self, cols: &[&str]) -> Section {
        self.columns = cols.iter().map(|c| (*c).to_owned()).collect();
        self
    }
    fn blank(mut self, label: &str) -> Section {
        self.blanks.push(label.to_owned());
        self
    }
}

#[derive(Template)]
#[template(path = "print.html")]
struct Sheet {
    title: String,
    /// Header fields: ID, dates, who recorded it.
    meta: Vec<(String, String)>,
    sections: Vec<Section>,
    printed: String,
    back: String,
}

/// A list on the print sheet (支援ケース一覧): the columns that fit A4 of `table`, its rows.
pub(super) fn table_sheet(
    app: &AppState,
    title: &str,
    table: tsunagu_report::csv::Table,
    back: String,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    // Left out on paper: the kana and the day the stage began (the days in it are shown).
    let keep: Vec<usize> = table
        .headers
        .iter()
        .enumerate()
        .filter(|(_, h)| !matches!(h.as_str(), "ふりがな" | "段階に入った日"))
        .map(|(i, _)| i)
        .collect();
    let mut list = Section::new("");
    list.columns = keep.iter().map(|i| table.headers[*i].clone()).collect();
    list.table = table
        .rows
        .iter()
        .map(|r| {
            keep.iter()
                .map(|i| r.get(*i).cloned().unwrap_or_default())
                .collect()
        })
        .collect();
    let sheet = Sheet {
        title: title.to_owned(),
        meta: vec![("件数".to_owned(), format!("{}件", table.rows.len()))],
        sections: vec![list],
        printed: wareki::format(app.clock.today()),
        back,
    };
    render(&sheet).into_response()
}

fn date(d: Option<jiff::civil::Date>) -> String {
    d.map(wareki::format).unwrap_or_default()
}

fn opt(t: &Option<tsunagu_core::LongText>) -> String {
    t.as_ref()
        .map(|x| x.as_str().to_owned())
        .unwrap_or_default()
}

/// The 基本情報 of a sheet; the age as of `on` (the 受付日 on the 相談受付・申込票).
fn basic(d: &PersonDetails, on: jiff::civil::Date) -> Section {
    Section::new("基本情報")
        .row(
            "ふりがな",
            d.kana.as_ref().map(|k| k.as_str()).unwrap_or_default(),
        )
        .row("氏名", d.name.as_str())
        .row(
            "性別",
            match d.sex {
                Some(Sex::Female) => "女性",
                Some(Sex::Male) => "男性",
                Some(Sex::Other) => "その他",
                Some(Sex::NotStated) | None => "",
            },
        )
        .row(
            "生年月日・年齢",
            d.date_of_birth
                .map(|b| {
                    format!(
                        "{}（{}年）　{}歳",
                        wareki::format(b),
                        b.year(),
                        tsunagu_core::person::age(b, on)
                    )
                })
                .unwrap_or_default(),
        )
        .row(
            "住所",
            [
                d.postal_code.as_ref().map(|p| format!("〒{}", p.as_str())),
                d.address.as_ref().map(|a| a.as_str().to_owned()),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join("　"),
        )
        .row(
            "電話",
            [
                d.phone.as_ref().map(|p| p.as_str().to_owned()),
                d.mobile.as_ref().map(|m| format!("携帯 {}", m.as_str())),
                d.email.as_ref().map(|e| format!("E-mail {}", e.as_str())),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join("　"),
        )
}

/// `/cases/{id}/print/{form}`: form = intake | assessment | plan | timeline | evaluation.
pub async fn case_form(
    State(app): State<AppState>,
    Page(auth): Page,
    Path((id, form)): Path<(String, String)>,
) -> PageResult {
    let id: CaseId = parse_id(&id)?;
    if !matches!(
        form.as_str(),
        "intake" | "assessment" | "plan" | "timeline" | "evaluation"
    ) {
        return Err(ApiError::not_found().into());
    }
    let (view, timeline) = load(&app, &auth, id).await?;
    let person = access::person(&app, &auth, view.state.person_id, Access::Read)
        .await?
        .0
        .state
        .details_for(auth.actor.user_id);
    let names = Names::of_users(&app, &auth, users_named(&view.state, &timeline)).await?;
    let s = &view.state;
    let settings = &auth.settings;
    // The case number; a case opened before numbering keeps the start of its id.
    let number = s.number.map_or_else(
        || {
            format!(
                "（番号なし）ID {}",
                id.to_string().chars().take(8).collect::<String>()
            )
        },
        |n| n.label(),
    );
    let mut meta = vec![("ケース番号".to_owned(), number)];
    let today = app.clock.today();
    let (title, sections) = match form.as_str() {
        "intake" => {
            let intake = s.intake.as_ref();
            meta.push(("受付日".into(), date(intake.map(|i| i.received_on))));
            meta.push(("受付者".into(), names.user(s.assigned_worker).to_owned()));
            let mut problems =
                Section::new("ご相談の内容（お困りのこと）　○: 該当　◎: 一番お困りのこと");
            for p in &settings.presenting_problems {
                let mark = intake
                    .and_then(|i| {
                        i.presenting_problems
                            .iter()
                            .find(|x| x.code.as_str() == p.code)
                    })
                    .map_or("□", |x| if x.main { "◎" } else { "○" });
                problems.checks.push((mark.to_owned(), p.name.clone()));
            }
            let detail = Section::new("ご相談されたいこと")
                .row(
                    "本人の言葉",
                    intake
                        .map(|i| opt(&i.presenting_problem_text))
                        .unwrap_or_default(),
                )
                .row(
                    "相談経路",
                    intake.map(|i| i.route.label_ja()).unwrap_or_default(),
                )
                .row(
                    "紹介元",
                    intake
                        .and_then(|i| i.referrer.as_ref().map(|r| r.as_str().to_owned()))
                        .unwrap_or_default(),
                )
                .row(
                    "緊急度",
                    intake.map(|i| i.urgency.label_ja()).unwrap_or_default(),
                )
                .row(
                    "申込票の受領日",
                    date(intake.and_then(|i| i.application_received_on)),
                )
                .row(
                    "「その他」の内容",
                    intake
                        .and_then(|i| i.other_problem_text.as_ref().map(|t| t.as_str().to_owned()))
                        .unwrap_or_default(),
                )
                .row(
                    "来談者",
                    intake.map_or_else(String::new, |i| match &i.visitor {
                        None => "本人".to_owned(),
                        Some(v) => format!(
                            "{}（本人との関係: {}）",
                            v.name.as_ref().map_or("氏名未記入", |n| n.as_str()),
                            v.relation.as_str()
                        ),
                    }),
                );
            // ■ご本人について (B票): each item as answered, with the words of 「その他」, in
            // one row so the sheet stays one page.
            let circumstances = intake.map(|i| i.circumstances.clone()).unwrap_or_default();
            let items = circumstances.items();
            let mut about = Section::new("ご本人について").columns(&items.map(|(_, name, _)| name));
            about.table.push(
                items
                    .iter()
                    .map(|(key, _, answer)| {
                        answer.map_or_else(String::new, |a| {
                            let label = settings.circumstance_lists.name(key, a.code.as_str());
                            match &a.text {
                                Some(t) => format!("{label}（{}）", t.as_str()),
                                None => label.to_owned(),
                            }
                        })
                    })
                    .collect(),
            );
            // Whom the person agreed to share with, as recorded (本人同意 in force today).
            let shared: Vec<String> = view
                .consents
                .iter()
                .filter(|c| c.withdrawn_on.is_none_or(|w| today < w))
                .filter(|c| c.valid_until.is_none_or(|u| today <= u))
                .map(|c| {
                    let orgs: Vec<&str> = c.organisations.iter().map(|o| names.org(*o)).collect();
                    format!(
                        "{}（{}から{}）",
                        orgs.join("、"),
                        wareki::format(c.given_on),
                        c.valid_until.map_or_else(
                            || "期限なし".to_owned(),
                            |u| format!("{}まで", wareki::format(u))
                        )
                    )
                })
                .collect();
            let consent = Section::new("相談申込み欄")
                .row(
                    "",
                    "上記の相談内容等について、自立相談支援の利用を申し込みます。また、申し込みにあたっては、個人情報の取扱いについて説明を受け、相談支援にあたり必要となる関係機関（者）と情報共有することに同意します。",
                )
                .row(
                    "情報共有に同意した機関",
                    if shared.is_empty() {
                        "（記録なし）".to_owned()
                    } else {
                        shared.join("\n")
                    },
                )
                .blank("日付")
                .blank("本人署名");
            (
                "相談受付・申込票",
                vec![
                    basic(&person, intake.map_or(today, |i| i.received_on)),
                    problems,
                    detail,
                    about,
                    consent,
                ],
            )
        }
        "assessment" => {
            let a = s.latest_assessment.as_ref();
            meta.push(("アセスメント日".into(), date(a.map(|a| a.assessed_on))));
            meta.push(("版".into(), format!("第{}版", s.assessment_versions)));
            meta.push(("担当".into(), names.user(s.assigned_worker).to_owned()));
            let mut domains = Section::new("生活の領域ごとの状況");
            if let Some(a) = a {
                for (label, value) in domain_values(&a.domains) {
                    domains = domains.row(label, value);
                }
            }
            let view = Section::new("見立て")
                .row(
                    "現状の査定（ベースライン）",
                    a.map(|a| a.baseline.as_str().to_owned())
                        .unwrap_or_default(),
                )
                .row(
                    "背景の理解",
                    a.map(|a| opt(&a.background)).unwrap_or_default(),
                )
                .row(
                    "主要課題",
                    a.map(|a| a.main_issues.as_str().to_owned())
                        .unwrap_or_default(),
                )
                .row(
                    "ストレングス",
                    a.map(|a| opt(&a.strengths)).unwrap_or_default(),
                )
                .row(
                    "専門家の意見",
                    a.map(|a| opt(&a.specialist_opinions)).unwrap_or_default(),
                );
            // 本人の抱える課題: every item of the tenant's checklist, ticked or not.
            let mut issues = Section::new("本人の抱える課題").columns(&["課題", "該当"]);
            for item in &settings.assessment_issues {
                let ticked = a.is_some_and(|a| a.issues.iter().any(|c| c.as_str() == item.code));
                issues.table.push(vec![
                    item.name.clone(),
                    if ticked { "✓" } else { "" }.to_owned(),
                ]);
            }
            (
                "インテーク・アセスメントシート",
                vec![basic(&person, today), domains, view, issues],
            )
        }
        "plan" => {
            let plan = s.current_plan.as_ref().or(s.draft_plan.as_ref());
            meta.push(("作成日".into(), date(plan.map(|p| p.drafted_on))));
            meta.push((
                "版".into(),
                plan.map(|p| {
                    if p.modified {
                        format!("第{}版（プランの修正）", p.version)
                    } else {
                        format!("第{}版", p.version)
                    }
                })
                .unwrap_or_default(),
            ));
            meta.push(("担当".into(), names.user(s.assigned_worker).to_owned()));
            let mut goals = Section::new("目標").columns(&["番号", "目標"]);
            let mut items = Section::new("支援内容").columns(&[
                "支援内容",
                "目標",
                "提供者",
                "担当者",
                "期限",
                "法に基づく事業",
            ]);
            let mut period = Section::new("プランの期間と手続");
            if let Some(p) = plan {
                for (i, g) in p.goals.iter().enumerate() {
                    goals
                        .table
                        .push(vec![(i + 1).to_string(), g.as_str().to_owned()]);
                }
                for it in &p.items {
                    items.table.push(vec![
                        it.description.as_str().to_owned(),
                        it.goal.map(|g| (g + 1).to_string()).unwrap_or_default(),
                        it.provider.as_str().to_owned(),
                        it.responsible.as_str().to_owned(),
                        wareki::format(it.deadline),
                        it.statutory_service
                            .as_deref()
                            .map(|c| {
                                settings
                                    .statutory_service(c)
                                    .map_or(c, |x| x.name.as_str())
                                    .to_owned()
                            })
                            .unwrap_or_default(),
                    ]);
                }
                period = period
                    .row("本人の役割", opt(&p.person_role))
                    .row(
                        "就労支援対象",
                        if p.employment_support {
                            "該当"
                        } else {
                            "非該当"
                        }
                        .to_owned(),
                    )
                    .row(
                        "期間",
                        format!(
                            "{} 〜 {}",
                            wareki::format(p.period_from),
                            wareki::format(p.period_to)
                        ),
                    )
                    .row(
                        "モニタリング間隔",
                        format!(
                            "{}か月",
                            p.monitoring_interval_months
                                .unwrap_or(settings.monitoring_interval_months)
                        ),
                    )
                    .row("支援調整会議（了承日）", date(p.approved_on))
                    .row(
                        "支援決定",
                        s.decisions
                            .iter()
                            .map(|d| {
                                format!(
                                    "{} {}（{}）",
                                    settings
                                        .statutory_service(&d.service)
                                        .map_or(d.service.as_str(), |x| x.name.as_str()),
                                    d.outcome.label_ja(),
                                    wareki::format(d.decided_on)
                                )
                            })
                            .collect::<Vec<_>>()
                            .join("、"),
                    );
            }
            let sign = Section::new("事業等利用申込み")
                .row(
                    "",
                    "上記のプランに同意し、記載の事業等の利用を申し込みます。",
                )
                .blank("日付")
                .blank("本人署名");
            (
                "プラン兼事業等利用申込書",
                vec![basic(&person, today), goals, items, period, sign],
            )
        }
        "timeline" => {
            meta.push(("担当".into(), names.user(s.assigned_worker).to_owned()));
            meta.push(("段階".into(), s.stage.label_ja().to_owned()));
            let mut list = Section::new("経過一覧").columns(&["日付", "種類", "内容", "記録者"]);
            let mut rows = timeline_rows(&timeline, &names, settings);
            rows.reverse();
            for r in rows {
                // A corrected record prints as corrected, with who corrected it, when and why.
                let mut text = r.text;
                for c in &r.corrections {
                    text.push_str(&format!("（{} {}が訂正。理由: {}）", c.at, c.by, c.reason));
                }
                list.table.push(vec![date(r.on), r.label, text, r.by]);
            }
            let person_name = Section::new("相談者").row("氏名", person.name.as_str());
            ("支援経過記録", vec![person_name, list])
        }
        _ => {
            let latest = timeline.iter().rev().find_map(|t| match &t.event {
                CaseEvent::EvaluationRecorded {
                    evaluated_on,
                    plan_version,
                    goals,
                    summary,
                    next_steps,
                    observed_changes,
                    connection,
                } => Some((
                    *evaluated_on,
                    *plan_version,
                    goals.clone(),
                    summary.as_str().to_owned(),
                    next_steps.as_ref().map(|n| n.as_str().to_owned()),
                    observed_changes.clone(),
                    *connection,
                )),
                _ => None,
            });
            let plan = s.current_plan.as_ref();
            meta.push(("評価日".into(), date(latest.as_ref().map(|l| l.0))));
            meta.push(("担当".into(), names.user(s.assigned_worker).to_owned()));
            let mut goals =
                Section::new("目標の達成状況").columns(&["目標", "達成度", "評価の内容"]);
            let mut summary = Section::new("総合評価");
            if let Some((_, version, attained, text, ..)) = &latest {
                for g in attained {
                    let goal = plan
                        .filter(|p| p.version == *version)
                        .and_then(|p| p.goals.get(g.goal))
                        .map_or_else(|| format!("目標{}", g.goal + 1), |x| x.as_str().to_owned());
                    goals
                        .table
                        .push(vec![goal, g.attainment.label_ja().to_owned(), opt(&g.note)]);
                }
                summary = summary
                    .row("プラン", format!("第{version}版"))
                    .row("支援の状況と成果", text.clone());
            }
            // What the worker wrote; for evaluations recorded before it was asked, what the
            // stage says.
            let written = latest.as_ref().and_then(|l| l.4.clone());
            let next = Section::new("今後の方針")
                .row(
                    "",
                    written.unwrap_or_else(|| {
                        match s.stage {
                            Stage::Closed => "終結",
                            Stage::Evaluation => "支援調整会議で終結または再プランを協議",
                            _ => "",
                        }
                        .to_owned()
                    }),
                )
                .blank("支援調整会議の開催日");
            // 見られた変化: every item of the tenant's list, ticked or not, as the sheet has them.
            let seen: Vec<String> = latest
                .as_ref()
                .map(|l| l.5.iter().map(|c| c.as_str().to_owned()).collect())
                .unwrap_or_default();
            let mut changes = Section::new("見られた変化").columns(&["項目", "変化"]);
            for item in &settings.observed_changes {
                let ticked = if seen.contains(&item.code) { "✓" } else { "" };
                changes
                    .table
                    .push(vec![item.name.clone(), ticked.to_owned()]);
            }
            let mut scores = Section::new("つながり指標（1〜4）").columns(&["項目", "点"]);
            let connection = latest.as_ref().and_then(|l| l.6);
            for (_, label, value) in connection.map(|c| c.items()).unwrap_or_else(|| {
                ["意欲", "自己肯定感", "対人関係", "社会参加", "相談"].map(|l| ("", l, 0))
            }) {
                let v = if value == 0 {
                    String::new()
                } else {
                    value.to_string()
                };
                scores.table.push(vec![label.to_owned(), v]);
            }
            (
                "評価シート",
                vec![basic(&person, today), goals, changes, scores, summary, next],
            )
        }
    };
    Ok(render(&Sheet {
        title: title.to_owned(),
        meta,
        sections,
        printed: wareki::format(app.clock.today()),
        back: format!("/cases/{id}"),
    }))
}

/// `/meetings/{id}/print`: 次第 (agenda, attendees) and 議事録 with the conclusions.
pub async fn meeting(
    State(app): State<AppState>,
    Page(auth): Page,
    Path(id): Path<String>,
) -> PageResult {
    let id: MeetingId = parse_id(&id)?;
    let view = tsunagu_app::meetings::get(&app, &auth, id).await?;
    // Organisations only: a meeting's print names no staff account.
    let names = Names::of_users(&app, &auth, []).await?;
    let st = &view.state;
    let meta = vec![
        ("会議".to_owned(), view.kind_label.to_owned()),
        ("開催日".to_owned(), wareki::format(st.scheduled_on)),
        ("主催".to_owned(), names.org(st.convenor_org).to_owned()),
    ];
    let mut attendees = Section::new("出席者").columns(&["氏名", "所属", "役職"]);
    for a in &st.attendees {
        attendees.table.push(vec![
            a.name.as_str().to_owned(),
            names.org(a.org_id).to_owned(),
            a.title
                .as_ref()
                .map(|t| t.as_str().to_owned())
                .unwrap_or_default(),
        ]);
    }
    let mut agenda = Section::new("次第（議題）").columns(&["番号", "ケース", "目的", "結論"]);
    for (i, item) in st.agenda.iter().enumerate() {
        let name = match access::case(&app, &auth, item.case_id, Access::Read).await {
            Ok(c) => super::shown_name(&c.person, &auth),
            Err(_) => "（閲覧できないケース）".to_owned(),
        };
        agenda.table.push(vec![
            (i + 1).to_string(),
            name,
            item.purpose.label_ja().to_owned(),
            item.conclusions
                .iter()
                .map(super::meeting::conclusion_text)
                .collect::<Vec<_>>()
                .join("、"),
        ]);
    }
    let minutes = Section::new("議事録").row(
        "",
        st.minutes
            .as_ref()
            .map(|m| m.as_str().to_owned())
            .unwrap_or_default(),
    );
    let secrecy = Section::new("取扱い").row(
        "",
        "この記録は会議の構成員限りとし、構成員は会議で知り得た秘密を漏らしてはなりません。",
    );
    Ok(render(&Sheet {
        title: format!("{}　次第・議事録", st.title.as_str()),
        meta,
        sections: vec![attendees, agenda, minutes, secrecy],
        printed: wareki::format(app.clock.today()),
        back: format!("/meetings/{id}"),
    }))
}

/// 開示請求: everything the organisation holds on one person that the lead may read, as one
/// printable document (`/persons/{id}/disclosure`) and as a workbook, a sheet a section
/// (`/persons/{id}/disclosure.xlsx`), both from `app::disclosure` (lead workers; audited).
async fn disclosure_sheet(
    app: &AppState,
    auth: &crate::auth::Auth,
    id: tsunagu_core::PersonId,
) -> Result<Sheet, ApiError> {
    use tsunagu_core::person::PersonField;
    let d = tsunagu_app::disclosure::person(app, auth, id).await?;
    let mut users: Vec<tsunagu_core::UserId> = d.history.iter().map(|h| h.actor.user_id).collect();
    for c in &d.cases {
        users.extend(users_named(&c.case.state, &c.timeline));
    }
    users.sort_by_key(|u| u.0);
    users.dedup();
    let names = Names::of_users(app, auth, users).await?;
    let settings = &auth.settings;
    let p = &d.person;
    let mut sections = vec![
        basic(&p.details, app.clock.today()).row(
            "続柄",
            p.details
                .relationship
                .as_ref()
                .map(|r| r.as_str())
                .unwrap_or_default(),
        ),
    ];
    let field_names = |fields: &[PersonField]| -> String {
        fields
            .iter()
            .map(|f| match f {
                PersonField::Address => "住所・郵便番号",
                PersonField::Phone => "電話番号・携帯電話・メールアドレス",
            })
            .collect::<Vec<_>>()
            .join("、")
    };
    if !d.included_restricted.is_empty() {
        sections.push(
            Section::new("要確認（閲覧制限）")
                .row("記載した制限項目", field_names(&d.included_restricted))
                .row(
                    "確認",
                    "閲覧制限のある項目を、本人への開示のため記載しています。渡す前に、制限の理由（ご本人の安全など）に照らして記載の可否を確認してください。",
                ),
        );
    }
    if !p.redacted.is_empty() {
        let fields = field_names(&p.redacted);
        sections.push(
            Section::new("要確認（閲覧制限）")
                .row("記載していない項目", fields)
                .row(
                    "確認",
                    "閲覧制限のため、作成者には見えない項目です。制限で閲覧を許された主任相談支援員が作成すると、確認の印を付けて記載されます。",
                ),
        );
    }
    let mut consents =
        Section::new("本人同意").columns(&["同意日", "共有先", "目的", "有効期限", "撤回日"]);
    for c in &p.consents {
        consents.table.push(vec![
            wareki::format(c.given_on),
            super::person::org_names(&names.orgs, &c.organisations),
            c.purpose.as_str().to_owned(),
            date(c.valid_until),
            date(c.withdrawn_on),
        ]);
    }
    sections.push(consents);
    let mut history =
        Section::new("登録内容の変更履歴").columns(&["日時", "操作", "内容", "記録者"]);
    for r in super::person_edit::history_rows(&d.history, &names) {
        let changes: Vec<String> = r
            .changes
            .iter()
            .map(|(k, was, now)| {
                if was.is_empty() {
                    format!("{k}: {now}")
                } else {
                    format!("{k}: {was} → {now}")
                }
            })
            .collect();
        history
            .table
            .push(vec![r.at, r.what.to_owned(), changes.join("／"), r.by]);
    }
    sections.push(history);
    for (i, c) in d.cases.iter().enumerate() {
        let s = &c.case.state;
        let number = s
            .number
            .map_or_else(|| format!("ケース{}", i + 1), |n| n.label());
        sections.push(
            Section::new(&format!("ケース {number}"))
                .row("段階", s.stage.label_ja())
                .row("開始日", wareki::format(s.opened_on))
                .row("担当機関", names.org(s.owner_org))
                .row("担当", names.user(s.assigned_worker)),
        );
        let mut list = Section::new(&format!("支援経過・記録（{number}）")).columns(&[
            "日付",
            "種類",
            "内容",
            "記録者",
        ]);
        let mut rows = timeline_rows(&c.timeline, &names, settings);
        rows.reverse();
        for r in rows {
            let mut text = r.text;
            for k in &r.corrections {
                text.push_str(&format!("（{} {}が訂正。理由: {}）", k.at, k.by, k.reason));
            }
            list.table.push(vec![date(r.on), r.label, text, r.by]);
        }
        sections.push(list);
        if !s.attachments.is_empty() {
            let mut files = Section::new(&format!("添付書類（{number}）")).columns(&[
                "書類名",
                "受領日",
                "ファイル",
            ]);
            for a in &s.attachments {
                files.table.push(vec![
                    a.title.as_str().to_owned(),
                    wareki::format(a.received_on),
                    a.filename.as_str().to_owned(),
                ]);
            }
            sections.push(files);
        }
    }
    let today = app.clock.today();
    Ok(Sheet {
        title: "保有個人情報の開示（記録の写し）".into(),
        meta: vec![
            ("対象者".into(), p.details.name.as_str().to_owned()),
            ("作成日".into(), wareki::format(today)),
            ("作成者".into(), auth.user.display_name.clone()),
            ("ケース".into(), format!("{}件", d.cases.len())),
        ],
        sections,
        printed: wareki::format(today),
        back: format!("/persons/{id}"),
    })
}

pub async fn disclosure(
    State(app): State<AppState>,
    Page(auth): Page,
    Path(id): Path<String>,
) -> PageResult {
    let id = parse_id(&id)?;
    Ok(render(&disclosure_sheet(&app, &auth, id).await?))
}

pub async fn disclosure_xlsx(
    State(app): State<AppState>,
    Page(auth): Page,
    Path(id): Path<String>,
) -> Result<axum::response::Response, super::PageError> {
    use tsunagu_report::csv::Table;
    let id = parse_id(&id)?;
    let sheet = disclosure_sheet(&app, &auth, id).await?;
    let mut sheets: Vec<(String, Table)> = vec![(
        "表紙".to_owned(),
        Table {
            headers: vec!["項目".into(), "内容".into()],
            rows: sheet
                .meta
                .iter()
                .map(|(k, v)| vec![k.clone(), v.clone()])
                .collect(),
        },
    )];
    for (i, s) in sheet.sections.iter().enumerate() {
        let table = if s.columns.is_empty() {
            Table {
                headers: vec!["項目".into(), "内容".into()],
                rows: s
                    .rows
                    .iter()
                    .map(|(k, v)| vec![k.clone(), v.clone()])
                    .collect(),
            }
        } else {
            Table {
                headers: s.columns.clone(),
                rows: s.table.clone(),
            }
        };
        // A sheet's name: its number and the start of its heading, without the characters
        // Excel refuses in one.
        let heading: String = s
            .heading
            .chars()
            .filter(|c| !"[]:*?/\\".contains(*c))
            .take(26)
            .collect();
        sheets.push((format!("{} {heading}", i + 1), table));
    }
    let bytes = tsunagu_report::xlsx::write_sheets(&sheets).map_err(|_| ApiError::internal())?;
    Ok(super::download(
        tsunagu_app::FileFormat::Xlsx,
        &format!("disclosure-{id}"),
        bytes,
    ))
}
