//! 重複登録の統合 (issue 13, item 3): a person registered twice is merged into one record with
//! both histories kept and the reason recorded, and the merge can be undone.

use serde_json::{Value, json};
use tsunagu_app::persons::{self, MergeRequest, Search};
use tsunagu_core::PersonId;

use crate::harness::*;

fn pid(s: &str) -> PersonId {
    PersonId(uuid::Uuid::parse_str(s).unwrap())
}

fn reason(s: &str) -> tsunagu_core::LongText {
    tsunagu_core::LongText::parse(s).unwrap()
}

#[tokio::test]
async fn a_duplicate_registration_is_merged_with_both_histories_kept_and_the_merge_undone() {
    for db in TestDb::all().await {
        let t = Town::new(&db).await;
        let worker = t.user("worker").await;
        let stranger = t.user("stranger").await;
        let (app, caller) = (worker.app.clone(), worker.caller.clone());
        let kept = worker
            .register(json!({"name": "統合 一美", "kana": "トウゴウ カズミ", "date_of_birth": "1970-05-05"}))
            .await
            .unwrap();
        let duplicate = worker
            .register(json!({"name": "統合　一美", "kana": "とうごうかずみ", "date_of_birth": "1970-05-05"}))
            .await
            .unwrap();
        let other = worker.new_person("別人 二郎").await;
        let kept_case = worker.new_case(&kept, -30).await;
        let dup_case = worker.new_case(&duplicate, -20).await;
        let found = |name: &'static str| {
            let (app, caller) = (app.clone(), caller.clone());
            async move {
                let mut ids: Vec<String> = persons::search(
                    &app,
                    &caller,
                    Search {
                        name: Some(name.to_owned()),
                        date_of_birth: None,
                        phone: None,
                        limit: None,
                    },
                )
                .await
                .unwrap()
                .into_iter()
                .map(|p| p.id.to_string())
                .collect();
                ids.sort();
                ids
            }
        };
        let mut both = vec![kept.clone(), duplicate.clone()];
        both.sort();
        assert_eq!(found("とうごう").await, both);
        let version = |p: &str| {
            let p = p.to_owned();
            let (app, caller) = (app.clone(), caller.clone());
            async move { persons::get(&app, &caller, pid(&p)).await.unwrap().version }
        };
        // Merges `dup` into `into` (or, `undo`, undoes it) at the version of `into` seen.
        let merge_or_undo = |undo: bool, into: &str, dup: &str, expected: u64, why: &str| {
            let (into, dup, why) = (into.to_owned(), dup.to_owned(), why.to_owned());
            let (app, caller) = (app.clone(), caller.clone());
            async move {
                let req = MergeRequest {
                    expected_version: expected,
                    duplicate: pid(&dup),
                    reason: reason(&why),
                };
                let done = if undo {
                    persons::unmerge(&app, &caller, pid(&into), req).await
                } else {
                    persons::merge(&app, &caller, pid(&into), req).await
                };
                done.map_err(Refused::from)
            }
        };
        let merge = |into: &str, dup: &str, expected: u64, why: &str| {
            merge_or_undo(false, into, dup, expected, why)
        };
        let unmerge = |into: &str, dup: &str, expected: u64, why: &str| {
            merge_or_undo(true, into, dup, expected, why)
        };
        let v = version(&kept).await;
        assert_eq!(
            merge(&kept, &kept, v, "同じ").await.unwrap_err().code,
            "person.merge_self"
        );
        // A stale version of the person kept: someone changed it meanwhile.
        assert_eq!(
            merge(&kept, &duplicate, v + 5, "二重登録")
                .await
                .unwrap_err()
                .code,
            "conflict.stale_version"
        );
        // Someone who cannot see the duplicate cannot merge it.
        let e = persons::merge(
            &stranger.app,
            &stranger.caller,
            pid(&kept),
            MergeRequest {
                expected_version: v,
                duplicate: pid(&duplicate),
                reason: reason("二重登録"),
            },
        )
        .await
        .unwrap_err();
        assert_eq!(e.code, "not_found");

        let view = merge(&kept, &duplicate, v, "同じ生年月日・同じ方と本人に確認した")
            .await
            .unwrap();
        assert_eq!(view.absorbed, vec![pid(&duplicate)]);
        // The duplicate's case is read with the person's.
        let mut cases: Vec<String> = view.cases.iter().map(|c| c.id.to_string()).collect();
        cases.sort();
        let mut expected = vec![kept_case.clone(), dup_case.clone()];
        expected.sort();
        assert_eq!(cases, expected);
        // Search finds only the person kept.
        assert_eq!(found("とうごう").await, vec![kept.clone()]);
        // The duplicate says where it went; nothing more is recorded on it, and no case opens
        // for it.
        let d = persons::get(&app, &caller, pid(&duplicate)).await.unwrap();
        assert_eq!(d.merged_into, Some(pid(&kept)));
        let e = worker
            .person_cmd(
                &duplicate,
                json!({"action": "move_to_household", "household_id": null}),
            )
            .await
            .unwrap_err();
        assert_eq!(e.code, "person.merged");
        let e = worker
            .open(json!({"person_id": duplicate, "intake": {"received_on": day(-1), "route": "self_visit", "urgency": "normal"}}))
            .await
            .unwrap_err();
        assert_eq!(e.code, "person.merged");
        // Its case is still its own and still worked on.
        worker.ok(&dup_case, json!({"action": "record_contact", "kind": "phone", "contacted_on": day(-1), "reached": true, "summary": "電話で近況を聞いた"})).await;
        // Both histories record the merge and its reason.
        for (p, kind) in [(&kept, "absorbed"), (&duplicate, "merged_into")] {
            let h = persons::history(&app, &caller, pid(p)).await.unwrap();
            let last = h.last().unwrap();
            assert_eq!(
                serde_json::to_value(&last.event).unwrap()["type"],
                Value::from(kind)
            );
            assert_eq!(
                last.reason.as_deref(),
                Some("同じ生年月日・同じ方と本人に確認した")
            );
        }
        // A merged person is not merged again, nor merged into; a person with duplicates
        // merged into them is not merged into another.
        let v = version(&other).await;
        assert_eq!(
            merge(&other, &duplicate, v, "x").await.unwrap_err().code,
            "person.merged"
        );
        assert_eq!(
            merge(&other, &kept, v, "x").await.unwrap_err().code,
            "person.merge_chain"
        );
        let vd = version(&duplicate).await;
        assert_eq!(
            merge(&duplicate, &other, vd, "x").await.unwrap_err().code,
            "person.merged"
        );

        // Undone: the duplicate stands on its own again, with its case and everything on it.
        let v = version(&kept).await;
        let view = unmerge(&kept, &duplicate, v, "別人だった（兄弟）")
            .await
            .unwrap();
        assert!(view.absorbed.is_empty());
        assert_eq!(view.cases.len(), 1);
        assert_eq!(found("とうごう").await, both);
        assert_eq!(
            unmerge(&kept, &duplicate, v + 1, "もう一度")
                .await
                .unwrap_err()
                .code,
            "person.not_merged"
        );
        let d = persons::get(&app, &caller, pid(&duplicate)).await.unwrap();
        assert_eq!(d.merged_into, None);
        assert_eq!(d.cases.len(), 1);
        worker
            .person_cmd(
                &duplicate,
                json!({"action": "move_to_household", "household_id": null}),
            )
            .await
            .unwrap();
        // The whole store still agrees with its events.
        assert!(db.store.verify().await.unwrap().is_empty());
    }
}
