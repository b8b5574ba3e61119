-- What each case contributes to the national indicators (`core::stats::milestones`): the
-- consultation received, each plan a coordination meeting approved, each employment outcome,
-- each on its business day and marked when it concerns employment support (0 or 1). A
-- projection like `case_due`: rewritten with the case, checked by `verify`; the cases from
-- before it are folded again by `Store::migrate` (their list columns are emptied here, which is
-- what makes it fold them), so the plans they made are known.
CREATE TABLE case_milestones (
    case_id TEXT NOT NULL REFERENCES cases(id),
    tenant_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    on_date TEXT NOT NULL,
    employment_support BIGINT NOT NULL,
    PRIMARY KEY (case_id, kind, on_date, employment_support)
);
-- A period's counts, per tenant or across the deployment, from the index alone.
CREATE INDEX case_milestones_period ON case_milestones(tenant_id, on_date, kind, employment_support, case_id);
UPDATE cases SET stage_entered_on = NULL;
