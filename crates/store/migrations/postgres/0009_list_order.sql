-- Lists are ordered by when the case last changed stage: with these, a page of 50 is read in
-- order and stops at 50 instead of sorting every case of the tenant.
CREATE INDEX cases_tenant_changed ON cases(tenant_id, stage_changed_at);
CREATE INDEX cases_tenant_stage_changed ON cases(tenant_id, stage, stage_changed_at);
CREATE INDEX case_due_owner ON case_due(owner_org, due_on);
