-- Roll-ups of the caseload counts, moved with every case write like the rows they sum, so the
-- lead's overview reads a handful of rows instead of summing one row per worker and stage:
-- worker '*' is the whole organisation (one row per stage), stage 'open' every stage but
-- closed (one row per worker, and the organisation's open total).
INSERT INTO caseload_counts (tenant_id, org_id, worker, stage, cases)
SELECT tenant_id, owner_org, '*', stage, COUNT(*) FROM cases
GROUP BY tenant_id, owner_org, stage;
INSERT INTO caseload_counts (tenant_id, org_id, worker, stage, cases)
SELECT tenant_id, owner_org, assigned_worker, 'open', COUNT(*) FROM cases WHERE stage <> 'closed'
GROUP BY tenant_id, owner_org, assigned_worker;
INSERT INTO caseload_counts (tenant_id, org_id, worker, stage, cases)
SELECT tenant_id, owner_org, '*', 'open', COUNT(*) FROM cases WHERE stage <> 'closed'
GROUP BY tenant_id, owner_org;
-- The workers of an organisation with open cases, without reading their per-stage rows.
CREATE INDEX caseload_counts_stage ON caseload_counts(tenant_id, org_id, stage, worker);
