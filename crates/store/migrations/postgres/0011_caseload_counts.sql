-- The lead's caseload: how many of an organisation's cases each worker carries in each stage.
-- Every case write moves its case from one row to another (a sum over `cases`, which `verify`
-- recomputes), so the overview reads one row per worker and stage instead of counting cases.
CREATE TABLE caseload_counts (
    tenant_id TEXT NOT NULL,
    org_id TEXT NOT NULL,
    worker TEXT NOT NULL,
    stage TEXT NOT NULL,
    cases BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, org_id, worker, stage)
);
INSERT INTO caseload_counts (tenant_id, org_id, worker, stage, cases)
SELECT tenant_id, owner_org, assigned_worker, stage, COUNT(*) FROM cases
GROUP BY tenant_id, owner_org, assigned_worker, stage;
-- The counts no longer come from this index.
DROP INDEX cases_owner_worker_stage;
-- Overdue items are counted for a page of workers: each worker's range of the organisation's
-- items (the planner otherwise reads every overdue item of the organisation by date).
CREATE INDEX case_due_owner_worker ON case_due(tenant_id, owner_org, assigned_worker, due_on);
