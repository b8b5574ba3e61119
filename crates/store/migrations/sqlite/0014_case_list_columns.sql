-- The columns the caseload list (支援ケース一覧) filters and sorts by, each a function of the
-- case's folded state like every projection column: written with the row, filled for the rows
-- before this migration by `Store::migrate` (which folds their events again), checked by
-- `verify`.
--   stage_entered_on  the business date the case entered its stage (CaseState::stage_since)
--   last_contact_on   the newest day the person was reached, else the opening day
--   urgency           the intake's 緊急度 (NULL before the intake)
--   main_problem      the intake's main 主訴 code (NULL when none)
--   intake_route      相談経路 (intake, else identification)
ALTER TABLE cases ADD COLUMN stage_entered_on TEXT;
ALTER TABLE cases ADD COLUMN last_contact_on TEXT;
ALTER TABLE cases ADD COLUMN urgency TEXT;
ALTER TABLE cases ADD COLUMN main_problem TEXT;
ALTER TABLE cases ADD COLUMN intake_route TEXT;
-- A page of the list in its default order (longest in the stage first) reads in index order.
CREATE INDEX cases_tenant_entered ON cases(tenant_id, stage_entered_on);
CREATE INDEX cases_owner_entered ON cases(tenant_id, owner_org, stage_entered_on);
