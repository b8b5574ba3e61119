//! Synthetic demo data: a city, its departments, an agency, related agencies, workers, and
//! persons with cases in every stage. Every case is driven through the real core decisions, so
//! demo data obeys every rule. Names are made up from common name parts; no real person's data.

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};
use jiff::civil::Date;
use jiff::{Span, Timestamp};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sha2::Digest as _;
use tsunagu_core::case::{
    self, Assessment, Attainment, CaseCommand, CaseConclusion, CaseState, ClosurePattern,
    ContactKind, DecisionOutcome, FollowUpPlan, GoalAttainment, Intake, IntakeRoute, LifeDomains,
    MonitoringKind, MonitoringOutcome, OpenCase, PlanInput, PlanItemInput, PresentingProblem,
    ReferralInput, Termination, TriageOutcome, Urgency,
};
use tsunagu_core::meeting::{
    self, AgendaPurpose, MeetingCommand, MeetingKind, MeetingState, ScheduleMeeting,
};
use tsunagu_core::person::{self, PersonDetails, Sex};
use tsunagu_core::{
    Actor, AttachmentId, CaseId, Context, HouseholdId, LongText, MeetingId, OrgId, OrgKind,
    PersonId, Role, ShortText, TenantId, TenantSettings, UserId,
};
use tsunagu_store::{
    AppendBatch, AttachmentFile, AuditEntry, Organisation, Store, StreamAppend, Tenant, User,
};
use uuid::Uuid;

/// The demo password of every demo account. Demo data only: `demo` refuses real databases.
pub const DEMO_PASSWORD: &str = "tsunagu-demo";

pub const LOGIN_HELP: &str = "Demo logins (password: tsunagu-demo):
  worker     相談支援員 (自立相談支援センター)
  lead       主任相談支援員 (自立相談支援センター)
  employment 就労支援員 (自立相談支援センター)
  city       自治体職員 (社会福祉課)
  hellowork  関係機関職員 (ハローワーク)
  admin      管理者";

const SURNAMES: &[(&str, &str)] = &[
    ("佐藤", "サトウ"),
    ("鈴木", "スズキ"),
    ("高橋", "タカハシ"),
    ("田中", "タナカ"),
    ("伊藤", "イトウ"),
    ("渡辺", "ワタナベ"),
    ("山本", "ヤマモト"),
    ("中村", "ナカムラ"),
    ("小林", "コバヤシ"),
    ("加藤", "カトウ"),
    ("吉田", "ヨシダ"),
    ("山田", "ヤマダ"),
    ("佐々木", "ササキ"),
    ("山口", "ヤマグチ"),
    ("松本", "マツモト"),
    ("井上", "イノウエ"),
    ("木村", "キムラ"),
    ("林", "ハヤシ"),
    ("清水", "シミズ"),
    ("森", "モリ"),
];
const GIVEN: &[(&str, &str, Sex)] = &[
    ("太郎", "タロウ", Sex::Male),
    ("健一", "ケンイチ", Sex::Male),
    ("誠", "マコト", Sex::Male),
    ("大輔", "ダイスケ", Sex::Male),
    ("翔太", "ショウタ", Sex::Male),
    ("浩二", "コウジ", Sex::Male),
    ("花子", "ハナコ", Sex::Female),
    ("恵子", "ケイコ", Sex::Female),
    ("美咲", "ミサキ", Sex::Female),
    ("陽子", "ヨウコ", Sex::Female),
    ("由美", "ユミ", Sex::Female),
    ("優子", "ユウコ", Sex::Female),
];
/// 主訴 codes of the national list (the tenant's default).
const PROBLEMS: &[&str] = &[
    "income",
    "rent_loan",
    "job_search",
    "health",
    "family",
    "debt",
    "withdrawal",
    "housing",
    "no_food",
    "taxes_utilities",
];
const ROUTES: &[IntakeRoute] = &[
    IntakeRoute::SelfVisit,
    IntakeRoute::SelfPhone,
    IntakeRoute::MunicipalDepartment,
    IntakeRoute::RelatedAgency,
    IntakeRoute::FamilyOrAcquaintance,
    IntakeRoute::Outreach,
];

fn t(s: &str) -> anyhow::Result<ShortText> {
    ShortText::parse(s).context("demo text")
}
fn l(s: &str) -> anyhow::Result<LongText> {
    LongText::parse(s).context("demo text")
}
/// A one-page PDF standing for a scanned signed application (synthetic: it says so).
fn demo_pdf(case: CaseId) -> Vec<u8> {
    let text = format!("Tsunagu demo data: synthetic signed application, case {case}");
    let stream = format!("BT /F1 11 Tf 50 780 Td ({text}) Tj ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_owned(),
        format!("<< /Length {} >>\nstream\n{stream}\nendstream", stream.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
    ];
    let mut pdf = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = pdf.len();
    pdf.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for o in offsets {
        pdf.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    pdf.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    pdf
}

fn plus(d: Date, days: i64) -> Date {
    d.checked_add(Span::new().days(days)).unwrap_or(d)
}

struct Demo<'a> {
    store: &'a Store,
    tenant: TenantId,
    settings: TenantSettings,
    today: Date,
    worker: Vec<Actor>,
    city: Actor,
    rng: ChaCha8Rng,
    agency: OrgId,
    partners: Vec<OrgId>,
    meetings: Vec<(MeetingId, Date, u64, MeetingState)>,
    /// The consents of the person whose case is being generated.
    consents: Vec<person::Consent>,
    /// Writes not yet committed: many go into one transaction.
    pending: Vec<AppendBatch>,
    /// The transaction being committed while the next one is made (at most one).
    committing: Option<tsunagu_store::BulkSent>,
    /// Events written so far.
    events: u64,
    /// The last case number given per fiscal year: read from the store's counters when the
    /// generator starts (it runs before any server); the bulk writes move the counters on.
    numbers: std::collections::HashMap<i16, u32>,
}

/// How many writes go into one transaction.
const WRITES_PER_COMMIT: usize = 8_000;

impl Demo<'_> {
    fn ctx<'b>(&'b self, actor: &'b Actor) -> Context<'b> {
        Context {
            today: self.today,
            actor,
            settings: &self.settings,
            consents: &self.consents,
        }
    }

    /// The next case number of a fiscal year. Not taken through `Store::take_case_numbers`:
    /// on SQLite the bulk writer holds the write lock between its transactions, and the
    /// numbered case rows move the counters on in the same transactions as the cases.
    fn case_number(&mut self, fiscal_year: i16) -> case::CaseNumber {
        let last = self.numbers.entry(fiscal_year).or_insert(0);
        *last += 1;
        case::CaseNumber {
            fiscal_year,
            seq: *last,
        }
    }

    /// Queues a write; every `WRITES_PER_COMMIT` writes commit together.
    async fn write(&mut self, batch: AppendBatch) -> anyhow::Result<()> {
        self.events += batch
            .streams
            .iter()
            .map(|s| match s {
                StreamAppend::Case { events, .. } => events.len(),
                StreamAppend::Person { events, .. } => events.len(),
                StreamAppend::Meeting { events, .. } => events.len(),
            } as u64)
            .sum::<u64>();
        self.pending.push(batch);
        if self.pending.len() >= WRITES_PER_COMMIT {
            self.commit_behind().await?;
        }
        Ok(())
    }

    /// Sends the pending writes as the next transaction, then waits for the one sent before
    /// it: the database writes one while the next is decided and prepared (the store runs
    /// them in order, so a write that builds on an earlier one finds it).
    async fn commit_behind(&mut self) -> anyhow::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let sent = self
            .store
            .append_all_sent(std::mem::take(&mut self.pending))
            .await?;
        if let Some(before) = self.committing.replace(sent) {
            before.committed().await?;
        }
        Ok(())
    }

    /// Commits everything written so far.
    async fn flush(&mut self) -> anyhow::Result<()> {
        self.commit_behind().await?;
        if let Some(last) = self.committing.take() {
            last.committed().await?;
        }
        Ok(())
    }

    fn batch(&self, actor: &Actor, streams: Vec<StreamAppend>) -> AppendBatch {
        AppendBatch {
            tenant: self.tenant,
            actor: actor.actor_ref(),
            recorded_at: Timestamp::now(),
            reason: None,
            idempotency: None,
            streams,
            audit: vec![AuditEntry::by(actor, "demo.generated")],
            files: Vec::new(),
        }
    }

    /// A case still in support: its monitorings as they fall due, most kept up (one in seven
    /// is left overdue for the due list).
    async fn monitor_as_due(
        &mut self,
        actor: &Actor,
        id: CaseId,
        state: &mut CaseState,
        version: &mut u64,
    ) -> anyhow::Result<()> {
        while let Some(due) = state.next_monitoring_due_on {
            let on = plus(due, -self.rng.random_range(0..4));
            if on > self.today || self.rng.random_range(0..100) < 15 {
                break;
            }
            self.monitor(actor, id, state, version, on, "生活のリズムが整ってきた。")
                .await?;
        }
        Ok(())
    }

    /// A scheduled monitoring on `on`: support goes on.
    async fn monitor(
        &mut self,
        actor: &Actor,
        id: CaseId,
        state: &mut CaseState,
        version: &mut u64,
        on: Date,
        progress: &str,
    ) -> anyhow::Result<()> {
        self.cmd(
            actor,
            id,
            state,
            version,
            CaseCommand::RecordMonitoring {
                monitored_on: on,
                kind: MonitoringKind::Scheduled,
                progress: l(progress)?,
                outcome: MonitoringOutcome::Continue,
                note: None,
            },
        )
        .await
    }

    async fn cmd(
        &mut self,
        actor: &Actor,
        id: CaseId,
        state: &mut CaseState,
        version: &mut u64,
        cmd: CaseCommand,
    ) -> anyhow::Result<()> {
        let events = case::decide(state, cmd, &self.ctx(actor), Uuid::now_v7())
            .map_err(|r| anyhow::anyhow!("demo step refused: {r}"))?;
        for e in &events {
            state.evolve(e);
        }
        let n = events.len() as u64;
        let b = self.batch(
            actor,
            vec![StreamAppend::Case {
                id,
                expected_version: *version,
                events,
            }],
        );
        self.write(b).await?;
        *version += n;
        Ok(())
    }

    /// The first meeting on or after `day` (created monthly in advance).
    async fn conclude(
        &mut self,
        id: CaseId,
        state: &mut CaseState,
        version: &mut u64,
        after: Date,
        purpose: AgendaPurpose,
        conclusion: CaseConclusion,
    ) -> anyhow::Result<Date> {
        // The agency's lead worker presents cases at the meeting.
        let lead = self.worker[1].clone();
        let actor = &lead;
        // The first meeting day on or after `after`; of the meetings held that day, any one.
        let first = self
            .meetings
            .iter()
            .position(|(_, d, _, _)| *d >= after && *d <= self.today)
            .context("no meeting after that date")?;
        let day = self.meetings[first].1;
        let same_day = self.meetings[first..]
            .iter()
            .take_while(|(_, d, _, _)| *d == day)
            .count();
        let idx = first + self.rng.random_range(0..same_day);
        let (mid, held_on, _, _) = self.meetings[idx].clone();
        let orgs = [
            (self.agency, OrgKind::SupportAgency),
            (self.city.org_id, OrgKind::MunicipalDepartment),
        ]
        .into_iter()
        .collect();
        for command in [
            MeetingCommand::AddAgendaItem {
                case_id: id,
                purpose,
            },
            MeetingCommand::RecordConclusion {
                case_id: id,
                conclusion: conclusion.clone(),
            },
        ] {
            let (_, _, mversion, mstate) = &self.meetings[idx];
            let ctx = self.ctx(actor);
            let (mev, cev) = meeting::decide(mid, mstate, command, Some(state), &orgs, &ctx)
                .map_err(|r| anyhow::anyhow!("demo meeting step refused: {r}"))?;
            let mut streams = vec![StreamAppend::Meeting {
                id: mid,
                expected_version: *mversion,
                events: mev.clone(),
            }];
            let cn = cev.len() as u64;
            if !cev.is_empty() {
                for e in &cev {
                    state.evolve(e);
                }
                streams.push(StreamAppend::Case {
                    id,
                    expected_version: *version,
                    events: cev,
                });
            }
            let b = self.batch(actor, streams);
            self.write(b).await?;
            *version += cn;
            let entry = &mut self.meetings[idx];
            for e in &mev {
                entry.3.evolve(e);
            }
            entry.2 += mev.len() as u64;
        }
        Ok(held_on)
    }

    async fn person_and_case(&mut self) -> anyhow::Result<()> {
        let rng = &mut self.rng;
        let (sn, sk) = SURNAMES[rng.random_range(0..SURNAMES.len())];
        let (gn, gk, sex) = GIVEN[rng.random_range(0..GIVEN.len())];
        let age_days = rng.random_range(18 * 365..80 * 365);
        let outreach = rng.random_bool(0.06);
        let details = PersonDetails {
            name: if outreach {
                t(&format!("{sn}さん（仮）"))?
            } else {
                t(&format!("{sn} {gn}"))?
            },
            name_is_provisional: outreach,
            kana: (!outreach).then(|| t(&format!("{sk} {gk}"))).transpose()?,
            date_of_birth: (!outreach).then(|| plus(self.today, -age_days)),
            sex: Some(sex),
            address: (!outreach)
                .then(|| {
                    t(&format!(
                        "つなぐ市中央{}丁目{}番",
                        rng.random_range(1..9),
                        rng.random_range(1..30)
                    ))
                })
                .transpose()?,
            phone: (!outreach)
                .then(|| {
                    t(&format!(
                        "090-{:04}-{:04}",
                        rng.random_range(0..10000),
                        rng.random_range(0..10000)
                    ))
                })
                .transpose()?,
            relationship: None,
            postal_code: (!outreach)
                .then(|| t(&format!("999-{:04}", rng.random_range(0..10000))))
                .transpose()?,
            mobile: None,
            email: None,
        };
        let actor = self.worker[rng.random_range(0..self.worker.len())].clone();
        let pid = PersonId(Uuid::now_v7());
        self.consents.clear();
        let born_on = details.date_of_birth;
        let events = person::register(details, HouseholdId(Uuid::now_v7()), &self.ctx(&actor))
            .map_err(|r| anyhow::anyhow!("{r}"))?;
        let person_state = person::PersonState::fold(events.iter()).context("register")?;
        let b = self.batch(
            &actor,
            vec![StreamAppend::Person {
                id: pid,
                expected_version: 0,
                events,
            }],
        );
        self.write(b).await?;

        // Where this case stops: spread over every stage.
        let target = self.rng.random_range(0..100u32);
        let d0 = plus(self.today, -self.rng.random_range(20..420));
        let id = CaseId(Uuid::now_v7());
        let route = ROUTES[self.rng.random_range(0..ROUTES.len())];
        let main = PROBLEMS[self.rng.random_range(0..PROBLEMS.len())];
        let other = PROBLEMS[self.rng.random_range(0..PROBLEMS.len())];
        let mut problems = vec![PresentingProblem {
            code: t(main)?,
            main: true,
        }];
        if other != main {
            problems.push(PresentingProblem {
                code: t(other)?,
                main: false,
            });
        }
        let intake = Intake {
            received_on: d0,
            route,
            referrer: matches!(route, IntakeRoute::MunicipalDepartment)
                .then(|| t("税務課"))
                .transpose()?,
            presenting_problems: problems,
            presenting_problem_text: Some(l(&format!("{main}について相談したい。"))?),
            urgency: if self.rng.random_bool(0.1) {
                Urgency::High
            } else {
                Urgency::Normal
            },
            application_received_on: self.rng.random_bool(0.8).then_some(d0),
            // Drawn from the person's id, not the generator, so the rest of the demo stays
            // as it was.
            visitor: pid
                .0
                .as_u128()
                .is_multiple_of(7)
                .then(|| {
                    Ok::<_, anyhow::Error>(case::Visitor {
                        name: None,
                        relation: t("母")?,
                    })
                })
                .transpose()?,
            other_problem_text: None,
            circumstances: {
                let lists = tsunagu_core::settings::CircumstanceLists::default();
                let seed = pid.0.as_u128() >> 8;
                let pick = |list: &[tsunagu_core::settings::CodeItem], shift: u32| {
                    let n = (list.len() - 1) as u128;
                    let item = &list[((seed >> shift) % n) as usize];
                    t(&item.code).map(|code| case::ListAnswer { code, text: None })
                };
                case::Circumstances {
                    work: Some(pick(&lists.work, 0)?),
                    housing: Some(pick(&lists.housing, 8)?),
                    health_insurance: Some(pick(&lists.health_insurance, 16)?),
                    pension: Some(pick(&lists.pension, 24)?),
                }
            },
        };
        let open = if outreach {
            OpenCase {
                person_id: pid,
                identification: Some(case::Identification {
                    identified_on: d0,
                    route: IntakeRoute::Outreach,
                    referrer: Some(t("民生委員")?),
                    note: Some(l("訪問で把握。本人とはまだ十分に話せていない。")?),
                }),
                intake: None,
            }
        } else {
            OpenCase {
                person_id: pid,
                identification: None,
                intake: Some(intake),
            }
        };
        let number = self.case_number(tsunagu_core::wareki::fiscal_year(case::opening_day(
            &open,
            &self.ctx(&actor),
        )));
        let events = case::open_numbered(open, born_on, &self.ctx(&actor), Some(number))
            .map_err(|r| anyhow::anyhow!("{r}"))?;
        let mut state = CaseState::fold(events.iter()).context("open")?;
        let mut version = events.len() as u64;
        let b = self.batch(
            &actor,
            vec![StreamAppend::Case {
                id,
                expected_version: 0,
                events,
            }],
        );
        self.write(b).await?;
        if outreach {
            return Ok(());
        }
        if let Some(received_on) = state
            .intake
            .as_ref()
            .and_then(|i| i.application_received_on)
        {
            let content = demo_pdf(id);
            let sha256 = hex::encode(sha2::Sha256::digest(&content));
            let attachment = case::Attachment {
                id: AttachmentId(Uuid::now_v7()),
                kind: case::AttachmentKind::SignedApplication,
                title: t("相談受付・申込票（署名済）")?,
                filename: t("申込票.pdf")?,
                file_type: case::AttachmentType::Pdf,
                size: content.len() as u64,
                sha256: sha256.clone(),
                received_on,
            };
            let events = case::decide_attachment(&state, attachment.clone(), &self.ctx(&actor))
                .map_err(|r| anyhow::anyhow!("{r}"))?;
            for e in &events {
                state.evolve(e);
            }
            let n = events.len() as u64;
            let mut batch = self.batch(
                &actor,
                vec![StreamAppend::Case {
                    id,
                    expected_version: version,
                    events,
                }],
            );
            batch.files.push(AttachmentFile {
                id: attachment.id,
                case_id: id,
                sha256,
                content,
            });
            self.write(batch).await?;
            version += n;
        }
        let a = &actor;
        let partners = self.partners.clone();
        let consent = person::decide(
            &person_state,
            person::PersonCommand::RecordConsent {
                organisations: partners.clone(),
                purpose: t("支援のための情報共有")?,
                given_on: d0,
                valid_until: None,
                written_form_received: true,
            },
            &self.ctx(a),
            Uuid::now_v7(),
        )
        .map_err(|r| anyhow::anyhow!("{r}"))?;
        for e in &consent {
            if let person::PersonEvent::ConsentRecorded { consent } = e {
                self.consents.push(consent.clone());
            }
        }
        let b = self.batch(
            a,
            vec![StreamAppend::Person {
                id: pid,
                expected_version: 1,
                events: consent,
            }],
        );
        self.write(b).await?;
        if target < 6 {
            return Ok(());
        }
        if target < 10 {
            let outcome = if target < 8 {
                TriageOutcome::InformationOnly {
                    note: l("制度の情報提供で解決する見込み。")?,
                }
            } else {
                TriageOutcome::ReferOut {
                    referral: ReferralInput {
                        to_org: Some(partners[0]),
                        to_name: t("ハローワーク")?,
                        purpose: l("職業相談へつなぐ。")?,
                        referred_on: plus(d0, 1),
                        accompanied: true,
                        follow_up_on: Some(plus(d0, 15)),
                    },
                }
            };
            self.cmd(
                a,
                id,
                &mut state,
                &mut version,
                CaseCommand::Triage {
                    triaged_on: plus(d0, 1),
                    outcome,
                },
            )
            .await?;
            // Most referrals are taken up: the partner confirms within a few weeks.
            let confirmed_on = plus(d0, self.rng.random_range(5..25));
            if let Some(referral) = state.referrals.last()
                && confirmed_on <= self.today
                && self.rng.random_range(0..100) < 75
            {
                let referral_id = referral.id;
                self.cmd(
                    a,
                    id,
                    &mut state,
                    &mut version,
                    CaseCommand::ConfirmReferral {
                        referral_id,
                        confirmed_on,
                        note: Some(l("ハローワークの窓口で相談が始まったと確認した。")?),
                    },
                )
                .await?;
            }
            return Ok(());
        }
        self.cmd(
            a,
            id,
            &mut state,
            &mut version,
            CaseCommand::Triage {
                triaged_on: plus(d0, 1),
                outcome: TriageOutcome::Continue,
            },
        )
        .await?;
        if self.rng.random_bool(0.1) {
            self.cmd(
                a,
                id,
                &mut state,
                &mut version,
                CaseCommand::RecordEmergencySupport {
                    kind: case::EmergencyKind::EmergencySmallLoan,
                    provided_on: plus(d0, 2),
                    note: Some(l("社協の緊急小口資金につないだ。")?),
                },
            )
            .await?;
        }
        for add in &partners {
            self.cmd(
                a,
                id,
                &mut state,
                &mut version,
                CaseCommand::AddTeamMember { org_id: *add },
            )
            .await?;
        }
        if target < 18 {
            return Ok(());
        }
        self.cmd(
            a,
            id,
            &mut state,
            &mut version,
            CaseCommand::RecordAssessment {
                assessment: Assessment {
                    assessed_on: plus(d0, 7),
                    domains: LifeDomains {
                        employment: Some(l("半年前に離職。求職活動はしていない。")?),
                        household_finance: Some(l("家賃を2か月滞納。")?),
                        ..Default::default()
                    },
                    baseline: l("収入がなく、貯金が尽きかけている。")?,
                    background: Some(l("職場の人間関係で体調を崩し離職。")?),
                    main_issues: l("生活費の確保と就労に向けた準備。")?,
                    strengths: Some(l("相談に来る力がある。家族の支えがある。")?),
                    specialist_opinions: None,
                    issues: [
                        Some("financial_hardship"),
                        Some("job_search_difficulty"),
                        (target % 3 == 0).then_some("household_finance"),
                        (target % 4 == 1).then_some("mental_health"),
                        (target % 5 == 2).then_some("housing_unstable"),
                        (target % 7 == 3).then_some("social_isolation"),
                        (target % 6 == 4).then_some("debt"),
                    ]
                    .into_iter()
                    .flatten()
                    .map(tsunagu_core::ShortText::parse)
                    .collect::<Result<_, _>>()?,
                },
            },
        )
        .await?;
        if target < 26 {
            return Ok(());
        }
        self.cmd(
            a,
            id,
            &mut state,
            &mut version,
            CaseCommand::Screen {
                screened_on: plus(d0, 10),
                outcome: TriageOutcome::Continue,
            },
        )
        .await?;
        let statutory = self.rng.random_bool(0.35);
        // Two plans in three make the person a subject of employment support.
        let employment_support = !target.is_multiple_of(3);
        let drafted = plus(d0, 14);
        self.cmd(
            a,
            id,
            &mut state,
            &mut version,
            CaseCommand::DraftPlan {
                plan: PlanInput {
                    drafted_on: drafted,
                    goals: vec![
                        t("生活費の見通しを立てる")?,
                        t("3か月以内に就職活動を始める")?,
                    ],
                    items: vec![
                        PlanItemInput {
                            description: l("家計表を一緒に作る。")?,
                            goal: Some(0),
                            provider: t("自立相談支援センター")?,
                            responsible: Some(t("担当相談支援員")?),
                            deadline: Some(plus(drafted, 30)),
                            statutory_service: None,
                        },
                        PlanItemInput {
                            description: l("ハローワークへ同行する。")?,
                            goal: Some(1),
                            provider: t("ハローワーク")?,
                            responsible: Some(t("就労支援員")?),
                            deadline: Some(plus(drafted, 60)),
                            statutory_service: statutory
                                .then(|| "employment_preparation".to_owned()),
                        },
                    ],
                    person_role: Some(l("週に1回、求人情報を確認する。")?),
                    period_from: drafted,
                    period_to: plus(drafted, 180),
                    monitoring_interval_months: None,
                    employment_support,
                },
            },
        )
        .await?;
        if target < 34 || plus(drafted, 40) > self.today {
            return Ok(());
        }
        let pv = state.plan_versions;
        let approved = self
            .conclude(
                id,
                &mut state,
                &mut version,
                drafted,
                AgendaPurpose::PlanReview,
                CaseConclusion::PlanApproved { plan_version: pv },
            )
            .await?;
        if target < 40 {
            return Ok(());
        }
        let city = self.city.clone();
        if statutory {
            self.cmd(
                &city,
                id,
                &mut state,
                &mut version,
                CaseCommand::RecordSupportDecision {
                    service: "employment_preparation".into(),
                    outcome: DecisionOutcome::Approved,
                    decided_on: plus(approved, 3),
                    notice_sent_on: Some(plus(approved, 5)),
                    note: None,
                },
            )
            .await?;
        }
        let started = plus(approved, 7);
        if started > self.today {
            return Ok(());
        }
        self.cmd(
            a,
            id,
            &mut state,
            &mut version,
            CaseCommand::StartSupport {
                started_on: started,
            },
        )
        .await?;
        // The first monitoring: most by the day it is due, some late.
        let due = state
            .next_monitoring_due_on
            .unwrap_or_else(|| plus(started, 14));
        let monitored = if self.rng.random_range(0..100) < 85 {
            plus(due, -self.rng.random_range(0..5)).max(plus(started, 1))
        } else {
            plus(due, self.rng.random_range(3..20))
        };
        let mut day = started;
        for i in 0..self.rng.random_range(1..5) {
            let next = plus(day, self.rng.random_range(2..6));
            if next >= monitored {
                break;
            }
            day = next;
            if day > self.today {
                return Ok(());
            }
            let kind = [
                ContactKind::Interview,
                ContactKind::Phone,
                ContactKind::Visit,
                ContactKind::Accompaniment,
            ][i % 4];
            self.cmd(
                a,
                id,
                &mut state,
                &mut version,
                CaseCommand::RecordContact {
                    kind,
                    contacted_on: day,
                    reached: true,
                    with_whom: Some(t("本人")?),
                    summary: l("近況を聞いた。求人を一緒に見た。")?,
                    at: None,
                    next_appointment_on: None,
                },
            )
            .await?;
        }
        if target < 60 {
            return self.monitor_as_due(a, id, &mut state, &mut version).await;
        }
        if monitored > self.today {
            return Ok(());
        }
        self.monitor(
            a,
            id,
            &mut state,
            &mut version,
            monitored,
            "家計表ができ、支出が見えるようになった。",
        )
        .await?;
        if employment_support {
            // The employment support worker's work, and for some a job or a higher income.
            let accompanied = plus(monitored, 2);
            if accompanied > self.today {
                return Ok(());
            }
            self.cmd(
                a,
                id,
                &mut state,
                &mut version,
                CaseCommand::RecordEmploymentSupport {
                    kind: case::EmploymentSupportKind::HelloWorkAccompaniment,
                    provided_on: accompanied,
                    note: Some(l("ハローワークへ同行し、求人を3件一緒に見た。")?),
                },
            )
            .await?;
            // Only where support goes on to an evaluation (not where contact is lost next).
            let achieved = plus(monitored, 5);
            let outcome = match if target >= 78 { target % 4 } else { 3 } {
                0 => Some(case::EmploymentOutcome::Employed {
                    form: case::EmploymentForm::PartTime,
                }),
                1 => Some(case::EmploymentOutcome::Employed {
                    form: case::EmploymentForm::General,
                }),
                2 => Some(case::EmploymentOutcome::IncomeIncreased {
                    band: case::IncomeBand::From30kTo50k,
                }),
                _ => None,
            };
            if let Some(outcome) = outcome
                && achieved <= self.today
            {
                self.cmd(
                    a,
                    id,
                    &mut state,
                    &mut version,
                    CaseCommand::RecordEmploymentOutcome {
                        outcome,
                        achieved_on: achieved,
                        note: None,
                    },
                )
                .await?;
            }
        }
        if target < 70 {
            return self.monitor_as_due(a, id, &mut state, &mut version).await;
        }
        if target < 78 {
            // Contact lost: attempts, then suspension.
            for k in 1..=2 {
                let d = plus(monitored, 7 * k);
                if d > self.today {
                    return Ok(());
                }
                self.cmd(
                    a,
                    id,
                    &mut state,
                    &mut version,
                    CaseCommand::RecordContact {
                        kind: ContactKind::Phone,
                        contacted_on: d,
                        reached: false,
                        with_whom: None,
                        summary: l("電話に出ない。留守電を残した。")?,
                        at: None,
                        next_appointment_on: None,
                    },
                )
                .await?;
            }
            let d = plus(monitored, 15);
            if d > self.today {
                return Ok(());
            }
            return self
                .cmd(
                    a,
                    id,
                    &mut state,
                    &mut version,
                    CaseCommand::Suspend {
                        suspended_on: d,
                        reason: l("1か月連絡が取れない。")?,
                    },
                )
                .await;
        }
        let evaluated = plus(monitored, 20);
        if evaluated > self.today {
            return Ok(());
        }
        self.cmd(
            a,
            id,
            &mut state,
            &mut version,
            CaseCommand::RecordEvaluation {
                evaluated_on: evaluated,
                goals: vec![
                    GoalAttainment {
                        goal: 0,
                        attainment: Attainment::Achieved,
                        note: None,
                    },
                    GoalAttainment {
                        goal: 1,
                        attainment: Attainment::PartlyAchieved,
                        note: None,
                    },
                ],
                summary: l("生活費の見通しが立ち、就職活動を始めた。")?,
                next_steps: Some(l("就職が決まれば終結を支援調整会議に諮る。")?),
                // About four evaluations in five see a change (nationally 79–85 %).
                observed_changes: if target % 5 == 0 {
                    Vec::new()
                } else {
                    vec![
                        ShortText::parse("household_finance")?,
                        ShortText::parse("motivation")?,
                    ]
                },
                connection: Some(tsunagu_core::case::ConnectionScores {
                    motivation: 3,
                    self_esteem: 2,
                    relationships: 3,
                    participation: 2,
                    consultation: 4,
                }),
            },
        )
        .await?;
        if target < 86 {
            return Ok(());
        }
        let Ok(approved) = self
            .conclude(
                id,
                &mut state,
                &mut version,
                evaluated,
                AgendaPurpose::Evaluation,
                CaseConclusion::TerminationApproved,
            )
            .await
        else {
            return Ok(());
        };
        self.cmd(
            a,
            id,
            &mut state,
            &mut version,
            CaseCommand::Terminate {
                termination: Termination {
                    terminated_on: approved,
                    pattern: if target < 94 {
                        ClosurePattern::Resolved
                    } else {
                        ClosurePattern::MajorIssuesResolved
                    },
                    person_intention: Some(l("就職が決まったので終わりにしたい。")?),
                    follow_up: Some(FollowUpPlan::Planned {
                        first_check_on: plus(approved, 30),
                        method: l("電話で様子を確認する。")?,
                    }),
                    lead_department: Some(t("社会福祉課")?),
                },
            },
        )
        .await
    }
}

/// Creates a demo tenant with `persons` persons and their cases. Deterministic in shape for a
/// seed (ids and timestamps are fresh).
/// Returns the number of events written; `bar` counts the persons (shared by tenants generated
/// side by side).
pub async fn generate(
    store: &Store,
    persons: u32,
    seed: u64,
    is_demo: bool,
    bar: &ProgressBar,
) -> anyhow::Result<u64> {
    let tenant = TenantId(Uuid::now_v7());
    // Demo logins work without an authenticator app; real tenants require TOTP for every role.
    // A city of about 400 inhabitants per person in consultation (about the national rate of
    // new consultations per 100,000), so the statistics' per-capita figures have a base.
    let settings = TenantSettings {
        totp_required_roles: vec![],
        population: Some(persons.saturating_mul(400)),
        ..TenantSettings::default()
    };
    let setup = || AuditEntry::new("demo.setup").tenant(tenant);
    store
        .create_tenant(
            &Tenant {
                id: tenant,
                name: format!("つなぐ市（デモ {seed}）"),
                settings: settings.clone(),
                is_demo,
            },
            &setup(),
        )
        .await?;
    let mut orgs = Vec::new();
    for (name, kind) in [
        ("社会福祉課", OrgKind::MunicipalDepartment),
        ("税務課", OrgKind::MunicipalDepartment),
        ("自立相談支援センター", OrgKind::SupportAgency),
        ("ハローワーク", OrgKind::RelatedAgency),
        ("社会福祉協議会", OrgKind::RelatedAgency),
        ("地域包括支援センター", OrgKind::RelatedAgency),
    ] {
        let org = Organisation {
            id: OrgId(Uuid::now_v7()),
            tenant_id: tenant,
            name: name.to_owned(),
            kind,
        };
        store.create_org(&org, &setup()).await?;
        orgs.push(org);
    }
    let (city_org, agency, hw) = (orgs[0].id, orgs[2].id, orgs[3].id);
    let hash = tsunagu_app::accounts::hash_password(DEMO_PASSWORD).map_err(anyhow::Error::msg)?;
    // Logins are unique across tenants: `worker` for seed 1, `worker-7` for seed 7 (and the
    // extra workers `worker2`, `worker2-7`, …).
    let suffix = if seed == 1 {
        String::new()
    } else {
        format!("-{seed}")
    };
    let mut actors = Vec::new();
    for (login, name, role, org) in [
        ("worker", "相談 一郎", Role::SupportWorker, agency),
        ("lead", "主任 和子", Role::LeadSupportWorker, agency),
        (
            "employment",
            "就労 次郎",
            Role::EmploymentSupportWorker,
            agency,
        ),
        ("city", "市役 三郎", Role::MunicipalOfficer, city_org),
        ("hellowork", "職安 四郎", Role::RelatedAgencyMember, hw),
        ("admin", "管理 五郎", Role::Administrator, city_org),
    ] {
        let user = User {
            id: UserId(Uuid::now_v7()),
            tenant_id: tenant,
            org_id: org,
            login: format!("{login}{suffix}"),
            display_name: name.to_owned(),
            role,
            password_hash: Some(hash.clone()),
            disabled: false,
            totp_secret: None,
            totp_confirmed: false,
        };
        store.create_user(&user, &setup()).await?;
        let kind = orgs
            .iter()
            .find(|o| o.id == org)
            .map(|o| o.kind)
            .unwrap_or(OrgKind::SupportAgency);
        actors.push(Actor {
            tenant_id: tenant,
            user_id: user.id,
            org_id: org,
            org_kind: kind,
            role,
        });
    }
    // A larger city has more support workers: about one for every 80 persons beyond the first
    // 240, so that each carries a caseload of a realistic size (worker2, worker3, …).
    let mut workers = vec![actors[0].clone(), actors[1].clone(), actors[2].clone()];
    for n in 2..=(persons.saturating_sub(240) / 80 + 1) {
        let user = User {
            id: UserId(Uuid::now_v7()),
            tenant_id: tenant,
            org_id: agency,
            login: format!("worker{n}{suffix}"),
            display_name: format!("相談 {n}号"),
            role: Role::SupportWorker,
            password_hash: Some(hash.clone()),
            disabled: false,
            totp_secret: None,
            totp_confirmed: false,
        };
        store.create_user(&user, &setup()).await?;
        workers.push(Actor {
            tenant_id: tenant,
            user_id: user.id,
            org_id: agency,
            org_kind: OrgKind::SupportAgency,
            role: Role::SupportWorker,
        });
    }
    let today = tsunagu_web::today();
    let mut demo = Demo {
        store,
        tenant,
        settings,
        today,
        worker: workers,
        city: actors[3].clone(),
        rng: ChaCha8Rng::seed_from_u64(seed),
        agency,
        partners: vec![hw, orgs[4].id, city_org],
        meetings: Vec::new(),
        consents: Vec::new(),
        pending: Vec::new(),
        committing: None,
        events: 0,
        numbers: store.case_number_counters(tenant).await?,
    };
    // Coordination meetings every two weeks over the past 15 months, and two ahead; a larger
    // city holds more of them on each day, so a meeting's agenda stays the size of a real one.
    let lead = actors[1].clone();
    let per_day = (persons / 250).max(1);
    let mut day = plus(today, -450);
    let mut held = 0;
    while day <= plus(today, 20) {
        let mid = MeetingId(Uuid::now_v7());
        let ctx = demo.ctx(&lead);
        let mut events = meeting::schedule(
            ScheduleMeeting {
                kind: MeetingKind::CoordinationMeeting,
                title: t("定例支援調整会議")?,
                scheduled_on: day,
            },
            &ctx,
        );
        let mut state = MeetingState::fold(events.iter()).context("meeting")?;
        let orgs_dir = [
            (city_org, OrgKind::MunicipalDepartment),
            (agency, OrgKind::SupportAgency),
        ]
        .into_iter()
        .collect();
        for (org, name) in [(city_org, "市役 三郎"), (agency, "主任 和子")] {
            let (ev, _) = meeting::decide(
                mid,
                &state,
                MeetingCommand::RecordAttendee {
                    org_id: org,
                    name: t(name)?,
                    title: None,
                },
                None,
                &orgs_dir,
                &ctx,
            )
            .map_err(|r| anyhow::anyhow!("{r}"))?;
            for e in &ev {
                state.evolve(e);
            }
            events.extend(ev);
        }
        let n = events.len() as u64;
        let b = demo.batch(
            &lead,
            vec![StreamAppend::Meeting {
                id: mid,
                expected_version: 0,
                events,
            }],
        );
        demo.write(b).await?;
        demo.meetings.push((mid, day, n, state));
        held += 1;
        if held == per_day {
            held = 0;
            day = plus(day, 14);
        }
    }
    let started = std::time::Instant::now();
    for _ in 0..persons {
        demo.person_and_case().await?;
        bar.inc(1);
    }
    demo.flush().await?;
    let secs = started.elapsed().as_secs_f64();
    tracing::info!(
        persons,
        events = demo.events,
        seconds = secs,
        events_per_second = demo.events as f64 / secs.max(1e-9),
        "generated"
    );
    Ok(demo.events)
}

/// A progress bar over `persons` persons in all (hidden when stderr is not a terminal).
pub fn progress_bar(persons: u32) -> ProgressBar {
    let bar = ProgressBar::new(u64::from(persons));
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} persons ({eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}
