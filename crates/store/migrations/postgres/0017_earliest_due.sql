-- The day of a case's earliest due item (NULL when it has none): a projection column like
-- those of 0014, so that "has an item overdue on a day" is one range of an index instead of a
-- look into `case_due` for every case of an organisation. Filled here from `case_due`, which
-- holds the same items; written with the row from then on; checked by `verify`.
ALTER TABLE cases ADD COLUMN earliest_due_on TEXT;
UPDATE cases SET earliest_due_on = (SELECT MIN(d.due_on) FROM case_due d WHERE d.case_id = cases.id);
CREATE INDEX cases_owner_due ON cases(tenant_id, owner_org, earliest_due_on);
CREATE INDEX cases_worker_due ON cases(tenant_id, assigned_worker, earliest_due_on);
