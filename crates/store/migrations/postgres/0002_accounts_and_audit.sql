-- Accounts (issue 3): session ids, idle timeout, CSRF tokens, TOTP, scoped API tokens;
-- and the audit trail, a hash chain written in the same transaction as what it records.
ALTER TABLE sessions ADD COLUMN id TEXT;
ALTER TABLE sessions ADD COLUMN last_seen_at TEXT;
ALTER TABLE sessions ADD COLUMN csrf_token TEXT;
ALTER TABLE sessions ADD COLUMN address TEXT;
ALTER TABLE sessions ADD COLUMN totp_setup_only BOOLEAN NOT NULL DEFAULT FALSE;
CREATE UNIQUE INDEX sessions_id ON sessions(id);
CREATE INDEX sessions_user ON sessions(user_id);

ALTER TABLE users ADD COLUMN totp_secret TEXT;
ALTER TABLE users ADD COLUMN totp_confirmed BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN totp_last_step BIGINT;

ALTER TABLE api_tokens ADD COLUMN org_id TEXT;
ALTER TABLE api_tokens ADD COLUMN role TEXT;

CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY,
    at TEXT NOT NULL,
    tenant_id TEXT,
    user_id TEXT,
    org_id TEXT,
    session_id TEXT,
    address TEXT,
    action TEXT NOT NULL,
    object_type TEXT,
    object_id TEXT,
    subjects TEXT NOT NULL,
    basis TEXT,
    detail TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_log_user_at ON audit_log(user_id, at);
CREATE INDEX audit_log_session ON audit_log(session_id);
CREATE INDEX audit_log_tenant_at ON audit_log(tenant_id, at);

-- The chain's head: the last sequence number and hash. Updating it first in every audited
-- transaction serialises the chain.
CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
