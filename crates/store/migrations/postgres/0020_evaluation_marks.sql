-- Evaluations now count in the statistics (`core::stats`, R8 of docs/COUNTING.md): a case's
-- state keeps each evaluation's day and whether it saw a change, and `case_milestones` holds
-- them. The cases with an evaluation are folded again by `Store::migrate` (emptying their list
-- columns is what makes it fold them; the others have none to add).
UPDATE cases SET stage_entered_on = NULL
WHERE id IN (SELECT stream_id FROM events WHERE event_type = 'evaluation_recorded');
