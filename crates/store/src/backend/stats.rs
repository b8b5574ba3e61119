//! The counts behind the national indicators, read from `case_milestones` (migration 0019).

use super::*;
use tsunagu_core::stats::{
    ConsultationFacts, MilestoneKind, PeriodCounts, ProcessKind, ProcessMark,
};

impl Db {
    /// For each tenant (one, or every tenant of the deployment) and each month of the period
    /// (`by_month`), or the period as a whole: how many cases have each kind of milestone in it,
    /// and how many of them one concerning employment support. Plans count each plan; the
    /// others count cases, once however often. `outcomes_only` reads the employment outcomes
    /// alone (a period's consultations and plans are the sums of its months').
    pub async fn milestone_counts(
        &self,
        tenant: Option<TenantId>,
        from: Date,
        until: Date,
        by_month: bool,
        outcomes_only: bool,
    ) -> Result<Vec<(TenantId, Option<String>, PeriodCounts)>, StoreError> {
        // PostgreSQL groups by no constant: the period as a whole is grouped by tenant alone.
        let (month, group) = if by_month {
            (
                "substr(on_date, 1, 7)",
                "tenant_id, substr(on_date, 1, 7), kind",
            )
        } else {
            ("''", "tenant_id, kind")
        };
        // Literals of core's stable codes, never input.
        let kinds = if outcomes_only {
            let kinds: Vec<String> = MilestoneKind::PER_CASE_OVER_PERIOD
                .iter()
                .map(|k| format!("'{}'", k.as_str()))
                .collect();
            format!("AND kind IN ({})", kinds.join(", "))
        } else {
            String::new()
        };
        let sql = format!(
            "SELECT tenant_id, {month} AS month, kind, COUNT(*) AS n, COUNT(DISTINCT case_id) AS cases, \
             CAST(SUM(employment_support) AS BIGINT) AS n_support, \
             COUNT(DISTINCT CASE WHEN employment_support = 1 THEN case_id END) AS cases_support \
             FROM case_milestones WHERE ($1 IS NULL OR tenant_id = $1) AND on_date >= $2 AND on_date <= $3 {kinds} \
             GROUP BY {group} ORDER BY tenant_id, month"
        );
        let rows = query(sqlx::AssertSqlSafe(sql))
            .bind(tenant.map(|t| t.to_string()))
            .bind(from.to_string())
            .bind(until.to_string())
            .fetch_all(self.read.ex())
            .await?;
        let mut out: Vec<(TenantId, Option<String>, PeriodCounts)> = Vec::new();
        for r in rows {
            let t = TenantId(parse_uuid(&r.try_get::<String, _>("tenant_id")?)?);
            let m: String = r.try_get("month")?;
            let m = by_month.then_some(m);
            if out.last().is_none_or(|(lt, lm, _)| *lt != t || *lm != m) {
                out.push((t, m, PeriodCounts::default()));
            }
            let Some((_, _, c)) = out.last_mut() else {
                continue;
            };
            let kind: String = r.try_get("kind")?;
            let count = |col: &str| -> Result<u64, StoreError> {
                Ok(to_u64(r.try_get::<Option<i64>, _>(col)?.unwrap_or(0)))
            };
            match MilestoneKind::parse(&kind) {
                Some(MilestoneKind::ConsultationReceived) => c.new_consultations = count("cases")?,
                Some(MilestoneKind::PlanMade) => {
                    c.plans = count("n")?;
                    c.employment_support_subjects = count("n_support")?;
                }
                Some(MilestoneKind::Employed) => {
                    c.employed = count("cases")?;
                    c.employed_under_support = count("cases_support")?;
                }
                Some(MilestoneKind::IncomeIncreased) => {
                    c.income_increased = count("cases")?;
                    c.income_increased_under_support = count("cases_support")?;
                }
                Some(MilestoneKind::Evaluated) => c.evaluated = count("cases")?,
                Some(MilestoneKind::ImprovementSeen) => c.improved = count("cases")?,
                None => return Err(StoreError::Corrupt(format!("unknown milestone {kind}"))),
            }
        }
        Ok(out)
    }

    /// The facts a breakdown of a tenant's new consultations needs (R9): each consultation
    /// received in the period with its case's 主訴 and 相談経路 and its person's date of birth
    /// and sex (read from the person's record, so a correction shows in the next count).
    pub async fn consultation_facts(
        &self,
        tenant: TenantId,
        from: Date,
        until: Date,
    ) -> Result<Vec<ConsultationFacts>, StoreError> {
        /// The one part of a person's record the breakdown reads.
        #[derive(serde::Deserialize)]
        struct PersonSex {
            details: Details,
        }
        #[derive(serde::Deserialize)]
        struct Details {
            #[serde(default)]
            sex: Option<tsunagu_core::person::Sex>,
        }
        let rows = query(
            "SELECT m.on_date, c.main_problem, c.intake_route, c.assessed_issues, p.date_of_birth, p.state \
             FROM case_milestones m JOIN cases c ON c.id = m.case_id \
             JOIN persons p ON p.id = c.person_id \
             WHERE m.tenant_id = $1 AND m.kind = $2 AND m.on_date >= $3 AND m.on_date <= $4",
        )
        .bind(tenant.to_string())
        .bind(MilestoneKind::ConsultationReceived.as_str())
        .bind(from.to_string())
        .bind(until.to_string())
        .fetch_all(self.read.ex())
        .await?;
        rows.iter()
            .map(|r| {
                let born: Option<String> = r.try_get("date_of_birth")?;
                let person: PersonSex = from_json(&r.try_get::<String, _>("state")?)?;
                Ok(ConsultationFacts {
                    received_on: parse_date(&r.try_get::<String, _>("on_date")?)?,
                    main_problem: r.try_get("main_problem")?,
                    route: r.try_get("intake_route")?,
                    date_of_birth: born.as_deref().map(parse_date).transpose()?,
                    sex: person.details.sex,
                    issues: r
                        .try_get::<Option<String>, _>("assessed_issues")?
                        .map(|codes| {
                            codes
                                .split(',')
                                .filter(|c| !c.is_empty())
                                .map(str::to_owned)
                                .collect()
                        })
                        .unwrap_or_default(),
                })
            })
            .collect()
    }

    /// The process marks of a tenant's cases dated in the period (`case_process`, R11–R14).
    pub async fn process_marks(
        &self,
        tenant: TenantId,
        from: Date,
        until: Date,
    ) -> Result<Vec<ProcessMark>, StoreError> {
        let rows = query(
            "SELECT kind, on_date, detail, days FROM case_process \
             WHERE tenant_id = $1 AND on_date >= $2 AND on_date <= $3",
        )
        .bind(tenant.to_string())
        .bind(from.to_string())
        .bind(until.to_string())
        .fetch_all(self.read.ex())
        .await?;
        rows.iter()
            .filter_map(|r| {
                let kind = r
                    .try_get::<String, _>("kind")
                    .map(|k| ProcessKind::parse(&k));
                match kind {
                    Ok(None) => None,
                    Ok(Some(kind)) => Some((|| {
                        Ok(ProcessMark {
                            kind,
                            on: parse_date(&r.try_get::<String, _>("on_date")?)?,
                            detail: r.try_get("detail")?,
                            days: r
                                .try_get::<Option<i64>, _>("days")?
                                .map(|d| u32::try_from(d).unwrap_or(0)),
                        })
                    })()),
                    Err(e) => Some(Err(e.into())),
                }
            })
            .collect()
    }

    /// The cases of a tenant with a plan approved in the period (the plans reported to the
    /// municipality, seed 001 §8), with their persons, folded as stored.
    pub async fn plan_reports(
        &self,
        tenant: TenantId,
        from: Date,
        until: Date,
    ) -> Result<Vec<crate::ReportedCase>, StoreError> {
        let rows = query(
            "SELECT c.id, c.state AS case_state, p.state AS person_state FROM cases c \
             JOIN persons p ON p.id = c.person_id \
             WHERE c.id IN (SELECT case_id FROM case_milestones WHERE tenant_id = $1 AND kind = $2 \
             AND on_date >= $3 AND on_date <= $4) ORDER BY c.id",
        )
        .bind(tenant.to_string())
        .bind(MilestoneKind::PlanMade.as_str())
        .bind(from.to_string())
        .bind(until.to_string())
        .fetch_all(self.read.ex())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(crate::ReportedCase {
                    case_id: CaseId(parse_uuid(&r.try_get::<String, _>("id")?)?),
                    case: from_json(&r.try_get::<String, _>("case_state")?)?,
                    person: from_json(&r.try_get::<String, _>("person_state")?)?,
                })
            })
            .collect()
    }
}
