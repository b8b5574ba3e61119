-- What each case contributes to the process figures (`core::stats::process_marks`, R11–R14 of
-- docs/COUNTING.md): each stage it left with the days spent in it, each monitoring (on time,
-- late, unscheduled), each referral with the days until it was confirmed (NULL while open), its
-- closure by pattern. A projection like `case_milestones`: rewritten with the case, checked by
-- `verify`. Beside it, `cases.assessed_issues` keeps the 本人の抱える課題 of the newest
-- assessment (comma-separated codes) for the breakdown of consultations. The cases' states now
-- keep their stage spans and monitorings, so every case is folded again by `Store::migrate`
-- (emptying the column below is what makes it fold them).
CREATE TABLE case_process (
    case_id TEXT NOT NULL REFERENCES cases(id),
    tenant_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    on_date TEXT NOT NULL,
    detail TEXT NOT NULL,
    days BIGINT
);
CREATE INDEX case_process_case ON case_process(case_id);
-- A period's marks of a tenant from the index alone.
CREATE INDEX case_process_period ON case_process(tenant_id, on_date, kind, detail, days);
ALTER TABLE cases ADD COLUMN assessed_issues TEXT;
UPDATE cases SET stage_entered_on = NULL;
