-- The access projection of each case (core::policy::access_rows): how users of an organisation
-- (only `user_id`, when set) stand to the case, and on which days. Lists, due lists, searches
-- and counts filter by it in the query: of the rows matching the reader on the day, the one
-- with the lowest rank is the relation, and core's policy table says which relations may read.
-- Rewritten with the case (and with the person's consents), verified by `tsunagu verify`;
-- filled for existing cases when the store is migrated.
CREATE TABLE case_access (
    case_id TEXT NOT NULL REFERENCES cases(id),
    tenant_id TEXT NOT NULL,
    org_id TEXT NOT NULL,
    user_id TEXT,
    relation TEXT NOT NULL,
    valid_from TEXT,
    valid_until TEXT,
    rank BIGINT NOT NULL
);
CREATE INDEX case_access_case_org ON case_access(case_id, org_id);
CREATE INDEX case_access_org ON case_access(org_id);
