//! A signed-in user of the seeded tenant, calling the use cases directly. Commands are written
//! as the JSON the API takes, and views come back as the JSON the API gives, so a rule reads
//! the same here as in the API's documentation.

use serde_json::{Value, json};
use tsunagu_app::cases::{CaseCommandRequest, OpenCaseRequest};
use tsunagu_app::meetings::MeetingCommandRequest;
use tsunagu_app::persons::{PersonCommandRequest, PersonCreate};
use tsunagu_app::{App, Caller, Kind};
use tsunagu_core::{CaseId, MeetingId, OrgId, PersonId};
pub use tsunagu_testkit::*;
use uuid::Uuid;

/// The seeded tenant over one database, with the app the users call.
pub struct Town {
    pub app: App,
    pub seeded: Seeded,
}

impl Town {
    pub async fn new(db: &TestDb) -> Town {
        Town {
            app: App::new(db.store.clone()),
            seeded: seed(&db.store).await,
        }
    }

    /// The user of `role` (see `tsunagu_testkit::ROLES`) as the use cases see them.
    pub async fn user(&self, role: &str) -> User {
        let id = self.seeded.user_id(role);
        let (actor, settings) = actor(&self.app.store, id).await;
        User {
            app: self.app.clone(),
            caller: Caller {
                actor,
                settings,
                session: Some(format!("test-{role}")),
                address: Some("127.0.0.1".into()),
            },
        }
    }
}

pub struct User {
    pub app: App,
    pub caller: Caller,
}

/// A refusal as the API reports it: its kind and stable code.
#[derive(Debug, PartialEq, Eq)]
pub struct Refused {
    pub kind: Kind,
    pub code: String,
    pub message: String,
    /// The input refused, as a path into the command.
    pub field: Option<String>,
}

impl From<tsunagu_app::Error> for Refused {
    fn from(e: tsunagu_app::Error) -> Self {
        Refused {
            kind: e.kind,
            code: e.code,
            message: e.message,
            field: e.field,
        }
    }
}

pub type Answer = Result<Value, Refused>;

fn parse<T: serde::de::DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).unwrap()
}

fn id(s: &str) -> Uuid {
    Uuid::parse_str(s).unwrap()
}

fn value(v: impl serde::Serialize) -> Value {
    serde_json::to_value(v).unwrap()
}

impl User {
    /// The audit entries this user's requests wrote, oldest first.
    pub async fn audit_entries(&self) -> Vec<tsunagu_store::audit::AuditRow> {
        self.app
            .store
            .audit_query(&tsunagu_store::AuditQuery {
                tenant: Some(self.caller.actor.tenant_id),
                user: Some(self.caller.actor.user_id),
                limit: 100_000,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.row)
            .collect()
    }

    pub async fn register(&self, details: Value) -> Result<String, Refused> {
        let req: PersonCreate = parse(json!({ "details": details }));
        let created = tsunagu_app::persons::register(&self.app, &self.caller, req, None).await?;
        Ok(created.id.to_string())
    }

    pub async fn new_person(&self, name: &str) -> String {
        self.register(json!({"name": name, "kana": "テスト", "date_of_birth": "1980-04-01", "phone": "090-1111-2222"}))
            .await
            .unwrap()
    }

    pub async fn open(&self, body: Value) -> Result<String, Refused> {
        let req: OpenCaseRequest = parse(body);
        let created = tsunagu_app::cases::open(&self.app, &self.caller, req, None).await?;
        Ok(created.id.to_string())
    }

    /// A case opened `received` days from today, referred by 税務課 for housing and work.
    pub async fn new_case(&self, person: &str, received: i64) -> String {
        self.open(json!({"person_id": person, "intake": {
            "received_on": day(received), "route": "municipal_department", "referrer": "税務課",
            "presenting_problems": [{"code": "housing", "main": true}, {"code": "job_search"}],
            "urgency": "high"}}))
            .await
            .unwrap()
    }

    pub async fn case(&self, case: &str) -> Answer {
        let v = tsunagu_app::cases::get(&self.app, &self.caller, CaseId(id(case))).await?;
        Ok(value(v))
    }

    /// A command on the case at the version this user reads now.
    pub async fn cmd(&self, case: &str, command: Value) -> Answer {
        let version = match self.case(case).await {
            Ok(c) => c["version"].as_u64().unwrap(),
            Err(_) => 0,
        };
        self.cmd_at(case, version, command).await
    }

    pub async fn cmd_at(&self, case: &str, version: u64, command: Value) -> Answer {
        let req: CaseCommandRequest =
            parse(json!({"expected_version": version, "command": command}));
        let v = tsunagu_app::cases::command(&self.app, &self.caller, CaseId(id(case)), req).await?;
        Ok(value(v))
    }

    pub async fn ok(&self, case: &str, command: Value) -> Value {
        let action = command["action"].clone();
        match self.cmd(case, command).await {
            Ok(v) => v,
            Err(e) => panic!("{action}: {e:?}"),
        }
    }

    pub async fn refused(&self, case: &str, command: Value, code: &str) {
        let action = command["action"].clone();
        let before = self.case(case).await.unwrap()["version"].clone();
        let e = self
            .cmd(case, command)
            .await
            .expect_err(&format!("{action} should be refused with {code}"));
        assert_eq!(e.code, code, "{action}: {e:?}");
        assert!(!e.message.is_empty() && !e.message.is_ascii(), "{e:?}");
        // Nothing was written.
        assert_eq!(self.case(case).await.unwrap()["version"], before);
    }

    pub async fn person(&self, person: &str) -> Answer {
        let v = tsunagu_app::persons::get(&self.app, &self.caller, PersonId(id(person))).await?;
        Ok(value(v))
    }

    pub async fn person_cmd(&self, person: &str, command: Value) -> Answer {
        let version = self.person(person).await?["version"].as_u64().unwrap();
        let req: PersonCommandRequest =
            parse(json!({"expected_version": version, "command": command}));
        let v = tsunagu_app::persons::command(&self.app, &self.caller, PersonId(id(person)), req)
            .await?;
        Ok(value(v))
    }

    /// Records consent to share with `orgs`; returns the consent's id.
    pub async fn consent(
        &self,
        person: &str,
        orgs: &[OrgId],
        given_on: &str,
        until: Option<&str>,
    ) -> String {
        let p = self
            .person_cmd(
                person,
                json!({"action": "record_consent", "organisations": orgs, "purpose": "支援のための情報共有", "given_on": given_on, "valid_until": until}),
            )
            .await
            .unwrap();
        p["consents"].as_array().unwrap().last().unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub async fn meeting(&self, meeting: &str) -> Answer {
        let v = tsunagu_app::meetings::get(&self.app, &self.caller, MeetingId(id(meeting))).await?;
        Ok(value(v))
    }

    pub async fn meeting_cmd(&self, meeting: &str, command: Value) -> Answer {
        let version = self.meeting(meeting).await?["version"].as_u64().unwrap();
        let req: MeetingCommandRequest =
            parse(json!({"expected_version": version, "command": command}));
        let v =
            tsunagu_app::meetings::command(&self.app, &self.caller, MeetingId(id(meeting)), req)
                .await?;
        Ok(value(v))
    }

    /// A coordination meeting on day `on` with the agency attending.
    pub async fn schedule(&self, agency: OrgId, on: i64) -> String {
        let req = parse(
            json!({"kind": "coordination_meeting", "title": "定例支援調整会議", "scheduled_on": day(on)}),
        );
        let m = tsunagu_app::meetings::schedule(&self.app, &self.caller, req, None)
            .await
            .unwrap()
            .id
            .to_string();
        self.meeting_cmd(
            &m,
            json!({"action": "record_attendee", "org_id": agency, "name": "主任"}),
        )
        .await
        .unwrap();
        m
    }

    /// A coordination meeting on day `on` with the agency and the municipality attending, as
    /// a plan's approval needs.
    pub async fn meeting_with_city(&self, w: &Seeded, on: i64) -> String {
        let m = self.schedule(w.agency, on).await;
        self.meeting_cmd(
            &m,
            json!({"action": "record_attendee", "org_id": w.city, "name": "市職員"}),
        )
        .await
        .unwrap();
        m
    }

    /// Puts the case on the meeting's agenda (once) and records the conclusion.
    pub async fn conclude(
        &self,
        meeting: &str,
        case: &str,
        purpose: &str,
        conclusion: Value,
    ) -> Answer {
        let m = self.meeting(meeting).await?;
        let on_agenda = m["state"]["agenda"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["case_id"] == case);
        if !on_agenda {
            self.meeting_cmd(
                meeting,
                json!({"action": "add_agenda_item", "case_id": case, "purpose": purpose}),
            )
            .await?;
        }
        self.meeting_cmd(
            meeting,
            json!({"action": "record_conclusion", "case_id": case, "conclusion": conclusion}),
        )
        .await
    }
}

impl User {
    /// Triage (day -299), an assessment (-290) and screening (-284): the case in planning.
    pub async fn to_planning(&self, case: &str) {
        self.ok(case, json!({"action": "triage", "triaged_on": day(-299), "outcome": {"outcome": "continue"}})).await;
        self.ok(case, json!({"action": "record_assessment", "assessment": {
            "assessed_on": day(-290), "baseline": "家賃を滞納している", "main_issues": "住まいと仕事"}})).await;
        self.ok(case, json!({"action": "screen", "screened_on": day(-284), "outcome": {"outcome": "continue"}})).await;
    }

    /// The plan's first version approved by a coordination meeting with the city held `on`
    /// days from today.
    pub async fn approve_first_plan(&self, w: &Seeded, case: &str, on: i64) {
        let m = self.meeting_with_city(w, on).await;
        self.conclude(
            &m,
            case,
            "plan_review",
            json!({"kind": "plan_approved", "plan_version": 1}),
        )
        .await
        .unwrap();
    }

    /// From planning into support: the plan with `service` drafted (day -280), approved by a
    /// meeting with the city (-270), the city's decision (-265), support started (-260).
    pub async fn to_support(&self, w: &Seeded, city: &User, case: &str, service: &str) {
        self.ok(case, plan(-280, Some(service))).await;
        self.approve_first_plan(w, case, -270).await;
        city.ok(case, json!({"action": "record_support_decision", "service": service, "outcome": "approved", "decided_on": day(-265)})).await;
        self.ok(
            case,
            json!({"action": "start_support", "started_on": day(-260)}),
        )
        .await;
    }
}

/// A plan drafted `days` from today: two goals, two complete items.
pub fn plan(days: i64, statutory: Option<&str>) -> Value {
    json!({"action": "draft_plan", "plan": {
        "drafted_on": day(days),
        "goals": ["住まいを確保する", "就職活動を始める"],
        "items": [
            {"description": "住居確保給付金の申請を支援する", "goal": 0, "provider": "自立相談支援機関", "responsible": "相談 一郎", "deadline": day(days + 30), "statutory_service": statutory},
            {"description": "ハローワークへ同行する", "goal": 1, "provider": "ハローワーク", "responsible": "就労 次郎", "deadline": day(days + 60)}
        ],
        "person_role": "週1回求人を確認する",
        "period_from": day(days), "period_to": day(days + 180)}})
}

impl User {
    pub async fn timeline(&self, case: &str) -> Value {
        value(
            tsunagu_app::cases::timeline(&self.app, &self.caller, CaseId(id(case)))
                .await
                .unwrap(),
        )
    }

    pub async fn assessments(&self, case: &str) -> Value {
        value(
            tsunagu_app::cases::assessments(&self.app, &self.caller, CaseId(id(case)))
                .await
                .unwrap(),
        )
    }

    pub async fn plans(&self, case: &str) -> Value {
        value(
            tsunagu_app::cases::plans(&self.app, &self.caller, CaseId(id(case)))
                .await
                .unwrap(),
        )
    }

    /// The due list on `date` (the caller's own, or their organisation's).
    pub async fn due(&self, date: &str, scope: tsunagu_app::due::Scope) -> Value {
        let date = date.parse().unwrap();
        value(
            tsunagu_app::due::list(&self.app, &self.caller, Some(date), scope)
                .await
                .unwrap(),
        )
    }

    pub async fn due_counts(&self) -> Answer {
        Ok(value(
            tsunagu_app::due::counts(&self.app, &self.caller, None).await?,
        ))
    }

    pub async fn put_settings(&self, settings: Value) -> Result<(), Refused> {
        tsunagu_app::admin::put_settings(&self.app, &self.caller, &parse(settings)).await?;
        Ok(())
    }
}
