//! Import from a municipality's workbook (issue 14, item 9): a workbook with a deliberate error
//! of each kind is reported row by row and imports nothing; the corrected workbook imports every
//! row (after its likely duplicate is confirmed); importing it again adds nothing. On SQLite and
//! PostgreSQL.

use rust_xlsxwriter::{Format, Workbook};
use serde_json::json;
use tsunagu_app::import::{self, ImportReport, ImportRequest};
use tsunagu_app::persons::Search;

use crate::harness::*;

/// A workbook as municipalities keep them: a title, a header over two rows (「本人」 and
/// 「相談」 merged over their columns; two columns both 「氏名」 below), then `rows`.
fn workbook(rows: &[[&str; 9]]) -> Vec<u8> {
    let mut book = Workbook::new();
    let ws = book.add_worksheet();
    let plain = Format::new();
    ws.write_string(0, 0, "相談者一覧（令和8年度）").unwrap();
    ws.merge_range(2, 1, 2, 5, "本人", &plain).unwrap();
    ws.merge_range(2, 6, 2, 7, "相談", &plain).unwrap();
    ws.write_string(2, 8, "紹介者").unwrap();
    for (c, h) in [
        "No",
        "氏名",
        "ふりがな",
        "生年月日",
        "性別",
        "携帯電話",
        "受付日",
        "経路",
        "氏名",
    ]
    .iter()
    .enumerate()
    {
        ws.write_string(3, c as u16, *h).unwrap();
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            if !cell.is_empty() {
                ws.write_string(4 + r as u32, c as u16, *cell).unwrap();
            }
        }
    }
    book.save_to_buffer().unwrap()
}

fn request(bytes: Vec<u8>, confirmed: bool) -> ImportRequest {
    ImportRequest {
        file_name: "C:\\共有\\相談者一覧.xlsx".into(),
        bytes,
        choices: Vec::new(),
        duplicates_confirmed: confirmed,
    }
}

async fn imported_persons(user: &User) -> usize {
    tsunagu_app::persons::search(
        &user.app,
        &user.caller,
        Search {
            name: Some("取込".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .len()
}

fn problems(r: &ImportReport) -> Vec<(u32, Option<&str>, &str)> {
    r.problems
        .iter()
        .map(|p| (p.row, p.column.as_deref(), p.code.as_str()))
        .collect()
}

#[tokio::test]
async fn a_workbook_with_errors_imports_nothing_the_corrected_one_everything_and_again_nothing() {
    for db in TestDb::all().await {
        let t = Town::new(&db).await;
        let lead = t.user("lead").await;
        // Registered before: the file's row 7 is likely this person.
        lead.register(json!({"name": "取込　既存", "date_of_birth": "1970-01-02"}))
            .await
            .unwrap();
        let before = imported_persons(&lead).await;
        assert_eq!(before, 1);

        // Spreadsheet rows 5.. (row 6 left blank).
        let with_errors = workbook(&[
            [
                "1",
                "取込　一郎",
                "とりこみ いちろう",
                "S55.4.1",
                "男",
                "０９０（１２３４）５６７８",
                "R8.5.1",
                "本人（電話）",
                "",
            ],
            ["", "", "", "", "", "", "", "", ""],
            ["3", "取込　既存", "", "昭和45年1月2日", "", "", "", "", ""],
            ["4", "", "とりこみ", "H2.3.4", "女", "", "", "", ""],
            [
                "5",
                "取込　二郎",
                "",
                "55.4.1",
                "おとこ",
                "1234",
                "R8.5.1",
                "どこかから",
                "",
            ],
            ["6", "取込　三郎", "", "R10.1.1", "", "", "", "", ""],
            ["7", "取込　四郎", "", "", "", "", "", "税務課", ""],
            ["8", "取込 一郎", "", "1980/04/01", "", "", "", "", ""],
        ]);
        let report = import::check(
            &lead.app,
            &lead.caller,
            &request(with_errors.clone(), false),
            &(),
        )
        .await
        .unwrap();
        assert_eq!(
            problems(&report),
            vec![
                (8, Some("本人 氏名"), "import.name_missing"),
                (9, Some("本人 生年月日"), "date.era_missing"),
                (9, Some("本人 性別"), "import.sex_unreadable"),
                (9, Some("本人 携帯電話"), "import.phone_unreadable"),
                (9, Some("相談 経路"), "import.route_unreadable"),
                (10, None, "date.in_future"),
                (11, Some("相談 受付日"), "import.received_on_missing"),
                (12, None, "import.duplicate_in_file"),
            ],
            "{:#?}",
            report.problems
        );
        assert!(report.problems.iter().all(|p| !p.message.is_empty()));
        assert_eq!(report.layout.as_ref().unwrap().header_rows, (3, 4));
        assert_eq!(report.rows, 7, "eight rows after the header, one blank");
        let refused = import::run(&lead.app, &lead.caller, &request(with_errors, true), &())
            .await
            .unwrap_err();
        assert_eq!(refused.code, "import.has_problems");
        assert_eq!(imported_persons(&lead).await, before, "nothing imported");

        // The corrected workbook.
        let corrected = workbook(&[
            [
                "1",
                "取込　一郎",
                "とりこみ いちろう",
                "S55.4.1",
                "男",
                "０９０（１２３４）５６７８",
                "R8.5.1",
                "本人（電話）",
                "",
            ],
            ["", "", "", "", "", "", "", "", ""],
            ["3", "取込　既存", "", "昭和45年1月2日", "", "", "", "", ""],
            [
                "4",
                "取込　花子",
                "とりこみ",
                "H2.3.4",
                "女",
                "",
                "",
                "",
                "",
            ],
            [
                "5",
                "取込　二郎",
                "",
                "S55.4.1",
                "男",
                "9012345678",
                "R8.5.1",
                "社協",
                "民生委員　佐藤",
            ],
            ["6", "取込　三郎", "", "R1.5.1", "", "", "", "", ""],
            [
                "7",
                "取込　四郎",
                "",
                "",
                "",
                "",
                "令和8年6月1日",
                "税務課",
                "",
            ],
        ]);
        let report = import::check(
            &lead.app,
            &lead.caller,
            &request(corrected.clone(), false),
            &(),
        )
        .await
        .unwrap();
        assert_eq!(problems(&report), vec![]);
        assert_eq!((report.new_persons, report.new_cases), (6, 3));
        let known: Vec<u32> = report.known_persons.iter().map(|k| k.row).collect();
        assert_eq!(known, vec![7]);
        // Row 9's phone is row 5's, kept without its leading 0: a warning to confirm.
        let warned: Vec<(u32, &str)> = report
            .warnings
            .iter()
            .map(|w| (w.row, w.code.as_str()))
            .collect();
        assert_eq!(warned, vec![(9, "import.same_phone_in_file")]);
        assert_eq!(
            imported_persons(&lead).await,
            before,
            "a check writes nothing"
        );

        let unconfirmed = import::run(
            &lead.app,
            &lead.caller,
            &request(corrected.clone(), false),
            &(),
        )
        .await
        .unwrap_err();
        assert_eq!(unconfirmed.code, "import.duplicates_unconfirmed");
        let done = import::run(
            &lead.app,
            &lead.caller,
            &request(corrected.clone(), true),
            &(),
        )
        .await
        .unwrap();
        assert!(done.imported);
        assert_eq!((done.new_persons, done.new_cases), (6, 3));
        assert_eq!(imported_persons(&lead).await, before + 6);

        // What was written, read back as the pages read it.
        let found = tsunagu_app::persons::search(
            &lead.app,
            &lead.caller,
            Search {
                name: Some("取込一郎".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(found.len(), 1);
        let person = lead.person(&found[0].id.to_string()).await.unwrap();
        assert_eq!(person["details"]["date_of_birth"], "1980-04-01");
        assert_eq!(person["details"]["phone"], "090-1234-5678");
        assert_eq!(person["details"]["sex"], "male");
        assert_eq!(person["cases"].as_array().unwrap().len(), 1);
        let case = person["cases"][0]["id"].as_str().unwrap().to_owned();
        let view = lead.case(&case).await.unwrap();
        assert_eq!(view["state"]["stage"], "intake");
        assert_eq!(view["state"]["intake"]["received_on"], "2026-05-01");
        assert_eq!(view["state"]["intake"]["route"], "self_phone");
        let events = db
            .store
            .events(lead.caller.actor.tenant_id, found[0].id.0)
            .await
            .unwrap();
        let first = serde_json::to_value(&events[0].payload).unwrap();
        assert_eq!(first["imported_from"]["row"], 5);
        assert_eq!(first["imported_from"]["file_name"], "相談者一覧.xlsx");
        assert_eq!(first["imported_from"]["file_sha256"], done.file_sha256);

        // Again: nothing new; every row is named as imported before.
        let again = import::run(&lead.app, &lead.caller, &request(corrected, true), &())
            .await
            .unwrap();
        assert_eq!((again.new_persons, again.new_cases), (0, 0));
        assert_eq!(again.already_imported, vec![5, 7, 8, 9, 10, 11]);
        assert_eq!(imported_persons(&lead).await, before + 6);

        // The mapping is kept for the next file: a header the lead left out stays left out.
        let lead = t.user("lead").await;
        assert!(
            lead.caller
                .settings
                .import_columns
                .iter()
                .any(|c| c.header == "本人氏名"
                    && c.field == Some(tsunagu_core::import::ImportField::Name)),
            "{:?}",
            lead.caller.settings.import_columns
        );

        // Only a lead worker imports.
        let worker = t.user("worker").await;
        let refused = import::check(&worker.app, &worker.caller, &request(vec![1], false), &())
            .await
            .unwrap_err();
        assert_eq!(refused.kind, tsunagu_app::Kind::Forbidden);
    }
}

#[tokio::test]
async fn a_shift_jis_csv_imports_and_a_file_that_is_no_table_is_refused_in_japanese() {
    let db = TestDb::sqlite().await;
    let t = Town::new(&db).await;
    let lead = t.user("lead").await;
    let (csv, _, _) = encoding_rs::SHIFT_JIS
        .encode("氏名,生年月日,電話番号\r\n取込　和子,Ｈ３１．４．３０,03-1234-5678\r\n");
    let done = import::run(
        &lead.app,
        &lead.caller,
        &request(csv.into_owned(), false),
        &(),
    )
    .await
    .unwrap();
    assert_eq!(done.new_persons, 1);
    let refused = import::check(
        &lead.app,
        &lead.caller,
        &request(b"\x00\x01".to_vec(), false),
        &(),
    )
    .await
    .unwrap_err();
    assert_eq!(refused.code, "import.not_a_spreadsheet");
    assert!(refused.message.contains("Excel"));
}

/// A 担当者 column assigns each case to a staff member of the importer's organisation, named by
/// name or login; someone of another organisation is a problem of that row.
#[tokio::test]
async fn a_worker_column_assigns_the_cases_to_the_organisation_s_staff() {
    for db in TestDb::all().await {
        let t = Town::new(&db).await;
        let lead = t.user("lead").await;
        let worker = t.seeded.user_id("worker");
        let stranger = t.seeded.login_name("stranger");
        let file = |second: &str| {
            format!("氏名,相談受付日,担当者\r\n担当取込　一子,R8.4.1,ｗｏｒｋｅｒ\r\n担当取込　二子,R8.4.2,{second}\r\n")
                .into_bytes()
        };
        let report = import::check(
            &lead.app,
            &lead.caller,
            &request(file(&stranger), false),
            &(),
        )
        .await
        .unwrap();
        assert_eq!(
            problems(&report),
            vec![(3, Some("担当者"), "import.worker_unknown")]
        );
        let done = import::run(&lead.app, &lead.caller, &request(file(""), false), &())
            .await
            .unwrap();
        assert_eq!((done.new_persons, done.new_cases), (2, 2));
        let found = tsunagu_app::persons::search(
            &lead.app,
            &lead.caller,
            Search {
                name: Some("担当取込一子".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let person = lead.person(&found[0].id.to_string()).await.unwrap();
        let case = person["cases"][0]["id"].as_str().unwrap().to_owned();
        let view = lead.case(&case).await.unwrap();
        assert_eq!(view["state"]["assigned_worker"], worker.to_string());
    }
}

/// A 世帯番号 column makes one household of the rows that share it: their phone shared is no
/// warning, the persons share a household, and the same file again adds nothing.
#[tokio::test]
async fn rows_with_one_household_number_are_one_household() {
    for db in TestDb::all().await {
        let t = Town::new(&db).await;
        let lead = t.user("lead").await;
        let file = "世帯番号,氏名,続柄,電話番号\r\n\
                    Ｈ－１,世帯取込　父,世帯主,03-1111-2222\r\n\
                    H-1,世帯取込　子,長男,03-1111-2222\r\n\
                    H-2,世帯取込　他,世帯主,03-3333-4444\r\n\
                    ,世帯取込　無,,03-3333-4444\r\n"
            .as_bytes()
            .to_vec();
        let report = import::check(&lead.app, &lead.caller, &request(file.clone(), false), &())
            .await
            .unwrap();
        assert!(report.problems.is_empty(), "{:?}", report.problems);
        // Rows 2 and 3 share a household and a phone: no warning. Row 5 shares row 4's
        // phone without its household: a warning.
        let warned: Vec<u32> = report.warnings.iter().map(|w| w.row).collect();
        assert_eq!(warned, vec![5], "{}", db.name);
        // Row 5's warning confirmed: a different person at the same number.
        let done = import::run(&lead.app, &lead.caller, &request(file.clone(), true), &())
            .await
            .unwrap();
        assert_eq!(done.new_persons, 4);
        let household = |name: &'static str| {
            let lead = &lead;
            async move {
                let found = tsunagu_app::persons::search(
                    &lead.app,
                    &lead.caller,
                    Search {
                        name: Some(name.into()),
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
                let p = lead.person(&found[0].id.to_string()).await.unwrap();
                p["household_id"].as_str().unwrap().to_owned()
            }
        };
        let father = household("世帯取込父").await;
        assert_eq!(father, household("世帯取込子").await);
        assert_ne!(father, household("世帯取込他").await);
        assert_ne!(household("世帯取込他").await, household("世帯取込無").await);
        let again = import::run(&lead.app, &lead.caller, &request(file, true), &())
            .await
            .unwrap();
        assert_eq!(again.new_persons, 0);
        db.finish().await;
    }
}

/// Two leads importing the same file at the same moment: all of it is written once. The one
/// that comes second finds the rows written (nothing new) or is refused as a conflict to retry
/// — never an internal error, never a row twice.
#[tokio::test]
async fn the_same_file_imported_twice_at_once_is_written_once() {
    for db in TestDb::all().await {
        let t = Town::new(&db).await;
        let lead = t.user("lead").await;
        let other = t.user("lead").await;
        let file: Vec<u8> = (1..=40)
            .fold(
                String::from("氏名,生年月日,相談受付日\r\n"),
                |mut s, i| {
                    s.push_str(&format!(
                        "同時取込　{i}子,H2.3.{},R8.4.{}\r\n",
                        i % 28 + 1,
                        i % 28 + 1
                    ));
                    s
                },
            )
            .into_bytes();
        let (first, second) = (request(file.clone(), true), request(file.clone(), true));
        let (a, b) = tokio::join!(
            import::run(&lead.app, &lead.caller, &first, &()),
            import::run(&other.app, &other.caller, &second, &()),
        );
        let mut written = 0;
        for r in [a, b] {
            match r {
                Ok(done) => written += done.new_persons,
                Err(e) => assert!(e.code.starts_with("conflict."), "{}: {e:?}", db.name),
            }
        }
        assert_eq!(written, 40, "{}", db.name);
        // Again, afterwards: nothing new.
        let again = import::run(&lead.app, &lead.caller, &request(file, true), &())
            .await
            .unwrap();
        assert_eq!(again.new_persons, 0);
        db.finish().await;
    }
}
