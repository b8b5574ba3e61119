-- The columns the caseload list (支援ケース一覧) filters and sorts by, each a function of the
-- case's folded state like every projection column: written with the row, filled for the rows
-- before this migration by `Store::migrate` (which folds their events again), checked by
-- `verify`.
--   stage_entered_on  the business date the case entered its stage (CaseState::stage_since)
--   last_contact_on   the newest day the person was reached, else the opening day
--   urgency           the intake's 緊急度 (NULL before the intake)
--   main_problem      the intake's main 主訴 code (NULL when none)
--   intake_route      相談経路 (intake, else identification)
--   case_number       ケース番号 as stored, 2026-0123 (NULL for cases opened before numbering)
--   awaiting_meeting  the agenda purpose the case waits for a coordination meeting for
ALTER TABLE cases ADD COLUMN stage_entered_on TEXT;
ALTER TABLE cases ADD COLUMN last_contact_on TEXT;
ALTER TABLE cases ADD COLUMN urgency TEXT;
ALTER TABLE cases ADD COLUMN main_problem TEXT;
ALTER TABLE cases ADD COLUMN intake_route TEXT;
ALTER TABLE cases ADD COLUMN case_number TEXT;
ALTER TABLE cases ADD COLUMN awaiting_meeting TEXT;
CREATE UNIQUE INDEX cases_number ON cases(tenant_id, case_number);
-- The last case number taken per tenant and fiscal year. A number is taken (the row moved on
-- and committed) before the case is opened with it, so two openings never get the same one; a
-- failed opening leaves a gap. Writing a case with a number keeps the row at or above it
-- (bulk loading, restore), and `verify` checks that.
CREATE TABLE case_numbers (
    tenant_id TEXT NOT NULL,
    fiscal_year BIGINT NOT NULL,
    last BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, fiscal_year)
);
-- A page of the list in its default order (longest in the stage first) reads in index order.
CREATE INDEX cases_tenant_entered ON cases(tenant_id, stage_entered_on);
CREATE INDEX cases_owner_entered ON cases(tenant_id, owner_org, stage_entered_on);
-- A worker's list in the same order, and the count of an organisation's cases in some stages
-- entered before a day (the stuck cases) from the index alone.
CREATE INDEX cases_worker_entered ON cases(tenant_id, assigned_worker, stage_entered_on);
CREATE INDEX cases_owner_stage_entered ON cases(tenant_id, owner_org, stage, stage_entered_on);
