-- Tsunagu schema, PostgreSQL. Events are the record; every other table is a projection or
-- configuration. Dates are ISO 8601 text; timestamps RFC 3339 text in UTC.
CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    settings TEXT NOT NULL,
    is_demo BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TEXT NOT NULL
);

CREATE TABLE organisations (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX organisations_tenant ON organisations(tenant_id);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    org_id TEXT NOT NULL REFERENCES organisations(id),
    login TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    password_hash TEXT,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TEXT NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked_at TEXT
);

CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    user_id TEXT NOT NULL REFERENCES users(id),
    label TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);

CREATE TABLE streams (
    stream_id TEXT PRIMARY KEY,
    stream_type TEXT NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    version BIGINT NOT NULL
);

CREATE TABLE events (
    stream_id TEXT NOT NULL REFERENCES streams(stream_id),
    version BIGINT NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    event_type TEXT NOT NULL,
    payload TEXT NOT NULL,
    actor_user TEXT NOT NULL,
    actor_org TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    reason TEXT,
    PRIMARY KEY (stream_id, version)
);

-- Events are append-only: no update, no delete.
CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'events are append-only'; END $$;
CREATE TRIGGER events_no_update BEFORE UPDATE OR DELETE ON events
FOR EACH ROW EXECUTE FUNCTION events_append_only();

CREATE TABLE idempotency_keys (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    stream_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, key)
);

CREATE TABLE persons (
    id TEXT PRIMARY KEY REFERENCES streams(stream_id),
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    kana TEXT,
    date_of_birth TEXT,
    phone TEXT,
    household_id TEXT NOT NULL,
    registered_by_org TEXT NOT NULL,
    version BIGINT NOT NULL,
    state TEXT NOT NULL
);
CREATE INDEX persons_tenant ON persons(tenant_id);
CREATE INDEX persons_household ON persons(household_id);

CREATE TABLE person_access (
    person_id TEXT NOT NULL REFERENCES persons(id),
    org_id TEXT NOT NULL,
    PRIMARY KEY (person_id, org_id)
);

CREATE TABLE cases (
    id TEXT PRIMARY KEY REFERENCES streams(stream_id),
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    person_id TEXT NOT NULL REFERENCES persons(id),
    stage TEXT NOT NULL,
    owner_org TEXT NOT NULL,
    assigned_worker TEXT NOT NULL,
    opened_on TEXT NOT NULL,
    stage_changed_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version BIGINT NOT NULL,
    state TEXT NOT NULL
);
CREATE INDEX cases_tenant_stage ON cases(tenant_id, stage);
CREATE INDEX cases_worker ON cases(assigned_worker);
CREATE INDEX cases_person ON cases(person_id);

CREATE TABLE case_team (
    case_id TEXT NOT NULL REFERENCES cases(id),
    org_id TEXT NOT NULL,
    PRIMARY KEY (case_id, org_id)
);
CREATE INDEX case_team_org ON case_team(org_id);

CREATE TABLE case_due (
    case_id TEXT NOT NULL REFERENCES cases(id),
    tenant_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    due_on TEXT NOT NULL,
    reference TEXT,
    owner_org TEXT NOT NULL,
    assigned_worker TEXT NOT NULL
);
CREATE INDEX case_due_tenant_date ON case_due(tenant_id, due_on);
CREATE INDEX case_due_case ON case_due(case_id);

CREATE TABLE meetings (
    id TEXT PRIMARY KEY REFERENCES streams(stream_id),
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    kind TEXT NOT NULL,
    scheduled_on TEXT NOT NULL,
    closed_on TEXT,
    version BIGINT NOT NULL,
    state TEXT NOT NULL
);
CREATE INDEX meetings_tenant_date ON meetings(tenant_id, scheduled_on);

CREATE TABLE meeting_members (
    meeting_id TEXT NOT NULL REFERENCES meetings(id),
    org_id TEXT NOT NULL,
    PRIMARY KEY (meeting_id, org_id)
);
