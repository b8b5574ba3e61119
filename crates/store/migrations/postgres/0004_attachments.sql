-- Documents attached to a case. The description is the case's `attachment_added` event; the
-- content is stored here under the same id, written in the same transaction. Never changed,
-- never deleted.
CREATE TABLE attachment_files (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    case_id TEXT NOT NULL REFERENCES streams(stream_id),
    sha256 TEXT NOT NULL,
    content BYTEA NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX attachment_files_case ON attachment_files(case_id);
CREATE FUNCTION attachment_files_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'attachments are never changed or deleted';
END $$;
CREATE TRIGGER attachment_files_immutable BEFORE UPDATE OR DELETE ON attachment_files
FOR EACH ROW EXECUTE FUNCTION attachment_files_immutable();
