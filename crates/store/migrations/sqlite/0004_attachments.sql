-- Documents attached to a case. The description is the case's `attachment_added` event; the
-- content is stored here under the same id, written in the same transaction. Never changed,
-- never deleted.
CREATE TABLE attachment_files (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    case_id TEXT NOT NULL REFERENCES streams(stream_id),
    sha256 TEXT NOT NULL,
    content BLOB NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX attachment_files_case ON attachment_files(case_id);
CREATE TRIGGER attachment_files_no_update BEFORE UPDATE ON attachment_files
BEGIN SELECT RAISE(ABORT, 'attachments are never changed'); END;
CREATE TRIGGER attachment_files_no_delete BEFORE DELETE ON attachment_files
BEGIN SELECT RAISE(ABORT, 'attachments are never deleted'); END;
