//! The case's forms (issue 13, items 10 and 11). The plan editor: goals and items added and
//! removed in place, items attached to goals by choice, the team and its staff suggested, every
//! mistake beside its own row at once, and a refusal of the core beside the item it is about.
//! The other action forms: every mistake at once too, and fields of a choice not taken are not
//! required.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::*;
use reqwest::StatusCode;
use serde_json::json;

/// The value chosen in a select of the page (`None` when nothing is).
fn selected(html: &str, id: &str) -> Option<String> {
    let at = html.find(&format!("id=\"{id}\""))?;
    let select = &html[at..at + html[at..].find("</select>")?];
    let chosen = select.find("\" selected>")?;
    let start = select[..chosen].rfind("value=\"")? + "value=\"".len();
    Some(select[start..chosen].to_owned())
}

/// What a textarea of the page holds.
fn text_in(html: &str, id: &str) -> String {
    let at = html.find(&format!("id=\"{id}\"")).unwrap();
    let rest = &html[at..];
    let start = rest.find('>').unwrap() + 1;
    rest[start..rest.find("</textarea>").unwrap()].to_owned()
}

/// What a text field of the page holds.
fn value_of(html: &str, id: &str) -> String {
    let at = html.find(&format!("id=\"{id}\"")).unwrap();
    let rest = &html[at..];
    let v = rest.find("value=\"").unwrap() + "value=\"".len();
    rest[v..v + rest[v..].find('"').unwrap()].to_owned()
}

#[tokio::test]
async fn the_plan_editor_adds_and_removes_rows_and_puts_every_mistake_beside_its_item() {
    for db in TestDb::all().await {
        let w = world(&db).await;
        let worker = w.login("worker").await;
        let case = worker.planning_case("計画 五郎").await;
        let version = || async {
            worker.get(&format!("/api/cases/{case}")).await.1["version"]
                .as_u64()
                .unwrap()
        };
        let before = version().await;
        let path = format!("/cases/{case}/act/draft_plan");

        // A first plan opens with two goal rows and two item rows; the team and its staff are
        // offered for 提供者 and 担当者.
        let (s, html) = worker.page(&path).await;
        assert_eq!(s, StatusCode::OK);
        for id in [
            "f-goal1",
            "f-goal2",
            "f-item1_description",
            "f-item2_description",
        ] {
            assert!(html.contains(&format!("id=\"{id}\"")), "{id}");
        }
        assert!(!html.contains("id=\"f-item3_description\""));
        assert!(html.contains("list=\"plan-providers\"") && html.contains("list=\"plan-staff\""));
        let (_, me) = worker.get("/api/me").await;
        let name = me["display_name"].as_str().unwrap().to_owned();
        assert!(
            html.contains(&format!("<option value=\"{name}（自立相談支援機関）\">")),
            "the team's staff suggested: {html}"
        );
        assert!(html.contains("<option value=\"自立相談支援機関\">"));
        assert!(html.contains("<option value=\"本人\">"));

        let typed = |extra: &[(&'static str, &str)]| -> Vec<(&'static str, String)> {
            let mut v: Vec<(&'static str, String)> = vec![
                ("expected_version", before.to_string()),
                ("drafted_on", day(-16)),
                ("period_from", day(-16)),
                ("period_to", day(150)),
            ];
            v.extend(extra.iter().map(|(k, x)| (*k, (*x).to_owned())));
            v
        };

        // Adding an item: the page again with a third row, the cursor in it, what was typed
        // kept, nothing saved.
        let (s, at, html) = worker
            .form(
                &path,
                &typed(&[
                    ("goal1", "住まいを確保する"),
                    ("goal2", "就職活動を始める"),
                    ("item1_description", "住居確保給付金の申請を支援する"),
                    ("item1_goal", "2"),
                    ("item2_description", "ハローワークへ同行する"),
                    ("item2_goal", "1"),
                    ("op", "add_item"),
                ]),
            )
            .await;
        assert_eq!((s, at.as_str()), (StatusCode::OK, path.as_str()));
        assert!(html.contains(
            "id=\"f-item3_description\" name=\"item3_description\" rows=\"4\" autofocus"
        ));
        assert_eq!(value_of(&html, "f-goal1"), "住まいを確保する");
        assert_eq!(version().await, before);

        // Removing goal 1: the item that pointed at it loses its goal, the one that pointed at
        // goal 2 follows it to its new number.
        let (s, _, html) = worker
            .form(
                &path,
                &typed(&[
                    ("goal1", "住まいを確保する"),
                    ("goal2", "就職活動を始める"),
                    ("item1_description", "住居確保給付金の申請を支援する"),
                    ("item1_goal", "2"),
                    ("item2_description", "ハローワークへ同行する"),
                    ("item2_goal", "1"),
                    ("op", "remove_goal:1"),
                ]),
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(value_of(&html, "f-goal1"), "就職活動を始める");
        assert!(!html.contains("id=\"f-goal2\""));
        assert_eq!(selected(&html, "f-item1_goal").as_deref(), Some("1"));
        assert_eq!(selected(&html, "f-item2_goal"), None);
        // Removing an item closes the numbers up.
        let (_, _, html) = worker
            .form(
                &path,
                &typed(&[
                    ("goal1", "住まいを確保する"),
                    ("item1_description", "一つ目"),
                    ("item2_description", "二つ目"),
                    ("item3_description", "三つ目"),
                    ("op", "remove_item:2"),
                ]),
            )
            .await;
        assert_eq!(text_in(&html, "f-item1_description"), "一つ目");
        assert_eq!(text_in(&html, "f-item2_description"), "三つ目");
        assert!(!html.contains("id=\"f-item3_description\""));
        assert_eq!(version().await, before);

        // Every mistake at once, each beside its own item: item 1 without a responsible
        // person, item 2 with an unreadable deadline and a blank goal chosen. The blank third
        // row is not an item. Nothing is written.
        let (s, _, html) = worker
            .form(
                &path,
                &typed(&[
                    ("goal1", "住まいを確保する"),
                    ("goal2", ""),
                    ("item1_description", "住居確保給付金の申請を支援する"),
                    ("item1_provider", "自立相談支援機関"),
                    ("item1_deadline", &day(30)),
                    ("item2_description", "ハローワークへ同行する"),
                    ("item2_provider", "ハローワーク"),
                    ("item2_responsible", "就労 次郎"),
                    ("item2_deadline", "あした"),
                    ("item2_goal", "2"),
                    ("item3_description", ""),
                ]),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
        for id in [
            "f-item1_responsible-err",
            "f-item2_deadline-err",
            "f-item2_goal-err",
        ] {
            assert!(html.contains(&format!("id=\"{id}\"")), "{id}: {html}");
        }
        assert!(html.contains("3か所の入力を直してください"), "{html}");
        assert!(
            !html.contains("id=\"f-item3_description\""),
            "the blank row is dropped"
        );
        assert_eq!(version().await, before);

        // The core's refusal about one item stands beside that item: a deadline before the
        // plan was drafted.
        let (s, _, html) = worker
            .form(
                &path,
                &typed(&[
                    ("goal1", "住まいを確保する"),
                    ("item1_description", "住居確保給付金の申請を支援する"),
                    ("item1_provider", "自立相談支援機関"),
                    ("item1_responsible", "相談 一郎"),
                    ("item1_deadline", &day(30)),
                    ("item2_description", "ハローワークへ同行する"),
                    ("item2_provider", "ハローワーク"),
                    ("item2_responsible", "就労 次郎"),
                    ("item2_deadline", &day(-30)),
                ]),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
        assert!(html.contains("plan.item_deadline_before_draft"), "{html}");
        let err = html
            .find("id=\"f-item2_deadline-err\"")
            .expect("beside item 2's deadline");
        assert!(html[err..].starts_with("id=\"f-item2_deadline-err\">プランの2番目の項目の期限"));
        assert_eq!(version().await, before);

        // Saved: a blank goal row between two goals; the item that chose goal row 3 is
        // attached to the plan's second goal.
        let (s, at, html) = worker
            .form(
                &path,
                &typed(&[
                    ("goal1", "住まいを確保する"),
                    ("goal2", ""),
                    ("goal3", "就職活動を始める"),
                    ("item1_description", "住居確保給付金の申請を支援する"),
                    ("item1_goal", "1"),
                    ("item1_provider", "自立相談支援機関"),
                    ("item1_responsible", "相談 一郎"),
                    ("item1_deadline", &day(30)),
                    ("item1_service", "housing_security_benefit"),
                    ("item2_description", ""),
                    ("item3_description", "ハローワークへ同行する"),
                    ("item3_goal", "3"),
                    ("item3_provider", "ハローワーク"),
                    ("item3_responsible", "就労 次郎"),
                    ("item3_deadline", &day(60)),
                ]),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{html}");
        assert_eq!(at, format!("/cases/{case}"), "{html}");
        let (_, c) = worker.get(&format!("/api/cases/{case}")).await;
        let plan = &c["state"]["draft_plan"];
        assert_eq!(
            plan["goals"],
            json!(["住まいを確保する", "就職活動を始める"])
        );
        assert_eq!(plan["items"].as_array().unwrap().len(), 2);
        assert_eq!(plan["items"][0]["goal"], 0);
        assert_eq!(plan["items"][1]["goal"], 1);
        assert_eq!(
            plan["items"][0]["statutory_service"],
            "housing_security_benefit"
        );

        // The next version opens from it, goals chosen by name.
        let (_, html) = worker.page(&path).await;
        assert_eq!(selected(&html, "f-item2_goal").as_deref(), Some("2"));
        assert!(html.contains(">目標2: 就職活動を始める</option>"));
        db.finish().await;
    }
}

#[tokio::test]
async fn an_action_form_reports_every_mistake_at_once_and_only_for_the_choice_taken() {
    for db in TestDb::all().await {
        let w = world(&db).await;
        let worker = w.login("worker").await;
        let case = worker.new_case("誤入力 六郎").await;
        let version = || async {
            worker.get(&format!("/api/cases/{case}")).await.1["version"]
                .as_u64()
                .unwrap()
        };
        let before = version().await;
        let path = format!("/cases/{case}/act/triage");
        // Referring out with no date, an unreadable follow-up date and no destination: three
        // mistakes, each beside its field, in the form's order; nothing written.
        let (s, _, html) = worker
            .form(
                &path,
                &[
                    ("expected_version", before.to_string()),
                    ("triaged_on", String::new()),
                    ("outcome", "refer_out".into()),
                    ("purpose", "職業相談".into()),
                    ("follow_up_on", "来週".into()),
                ],
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
        assert!(html.contains("3か所の入力を直してください"), "{html}");
        let at = |id: &str| {
            html.find(&format!("id=\"{id}-err\""))
                .unwrap_or_else(|| panic!("{id}: {html}"))
        };
        let (day_err, to_err, follow_err) =
            (at("f-triaged_on"), at("f-to_name"), at("f-follow_up_on"));
        assert!(day_err < to_err && to_err < follow_err);
        assert!(html[day_err..].contains("振り分け日を入力してください"));
        // The summary links to each field.
        assert!(html.contains("<a href=\"#f-triaged_on\">"));
        assert!(html.contains("<a href=\"#f-follow_up_on\">"));
        assert_eq!(version().await, before);

        // Continuing here: the referral's fields are not asked for.
        let (s, at, html) = worker
            .form(
                &path,
                &[
                    ("expected_version", before.to_string()),
                    ("triaged_on", day(-19)),
                    ("outcome", "continue".into()),
                    ("follow_up_on", String::new()),
                ],
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{html}");
        assert_eq!(at, format!("/cases/{case}"), "{html}");
        db.finish().await;
    }
}
