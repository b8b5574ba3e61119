//! Person search finds a person however the name was typed: hiragana for stored katakana,
//! half-width kana, with or without spaces of either width (issue 13, "search that finds").

use serde_json::json;
use tsunagu_app::persons::{self, Search};

use crate::harness::*;

#[tokio::test]
async fn a_person_is_found_by_name_or_kana_in_any_script_width_and_spacing() {
    for db in TestDb::all().await {
        let town = Town::new(&db).await;
        let worker = town.user("worker").await;
        let hayashi = worker
            .register(json!({"name": "林　優子", "kana": "ハヤシ ユウコ"}))
            .await
            .unwrap();
        let mori = worker
            .register(json!({"name": "森 太郎", "kana": "モリ タロウ"}))
            .await
            .unwrap();
        // As a database from before the search key and its name pairs: migrating fills them
        // as the fold makes them.
        db.exec("UPDATE persons SET search_key = NULL")
            .await
            .unwrap();
        db.exec("DELETE FROM person_grams").await.unwrap();
        db.store.migrate().await.unwrap();
        assert_eq!(db.store.verify().await.unwrap(), Vec::<String>::new());
        let found = |typed: &'static str| {
            let (app, caller) = (worker.app.clone(), worker.caller.clone());
            async move {
                let rows = persons::search(
                    &app,
                    &caller,
                    Search {
                        name: Some(typed.to_owned()),
                        date_of_birth: None,
                        phone: None,
                        limit: None,
                    },
                )
                .await
                .unwrap();
                rows.into_iter()
                    .map(|p| p.id.to_string())
                    .collect::<Vec<_>>()
            }
        };
        for typed in [
            "はやし",
            "ハヤシ",
            "ﾊﾔｼ",
            "はやしゆうこ",
            "はやし　ゆうこ",
            "ハヤシユウコ",
            "林優子",
            "林 優子",
            "林　優子",
            "ゆうこ",
            "林",
            "優",
            "ﾕ",
        ] {
            assert_eq!(
                found(typed).await,
                vec![hayashi.clone()],
                "{}: {typed}",
                db.name
            );
        }
        assert_eq!(found("森").await, vec![mori.clone()], "{}", db.name);
        assert_eq!(found("たろう").await, vec![mori], "{}", db.name);
        // Not across name and kana, and not another person.
        assert!(found("優子ハヤシ").await.is_empty(), "{}", db.name);
        assert!(found("はやし たろう").await.is_empty(), "{}", db.name);
        db.finish().await;
    }
}
