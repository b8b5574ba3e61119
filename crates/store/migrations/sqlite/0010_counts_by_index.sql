-- The lead's caseload counts an organisation's cases per worker and stage from this index
-- alone (no table rows read); a worker's due list reads only that worker's items.
CREATE INDEX cases_owner_worker_stage ON cases(tenant_id, owner_org, assigned_worker, stage);
CREATE INDEX case_due_worker ON case_due(tenant_id, assigned_worker, due_on);
