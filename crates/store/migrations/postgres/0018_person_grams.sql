-- Person search by name without reading every person an organisation sees: each pair of
-- neighbouring characters of the person's search key (`persons.search_key` with a line break
-- after it, so that every character begins a pair) names the person. A name query of two or
-- more characters looks up its own pairs and keeps the persons that have all of them, one of
-- one character the pairs it begins; the key's `LIKE` then decides. A function of the folded
-- state like every projection row: written with the person, filled for the persons before this
-- migration by `Store::migrate` (the keys are emptied here, so it folds them again), and
-- checked by `verify`. The pairs compare by code point (COLLATE "C"), so that those a character
-- begins are one range of the index.
CREATE TABLE person_grams (
    tenant_id TEXT NOT NULL,
    gram TEXT COLLATE "C" NOT NULL,
    person_id TEXT NOT NULL REFERENCES persons(id),
    PRIMARY KEY (tenant_id, gram, person_id)
);
CREATE INDEX person_grams_person ON person_grams(person_id);
UPDATE persons SET search_key = NULL;
