-- The case state now keeps each contact record's day and whether it reached the person
-- (CaseState::contact_log), so a correction of a contact (ContactCorrected) counts as if the
-- record had been right. Stored states from before lack it: every case is folded again from
-- its events when the store is migrated (`Store::migrate` refolds the rows whose
-- stage_entered_on is NULL, and writes the state and every list column from the fold).
UPDATE cases SET stage_entered_on = NULL;
