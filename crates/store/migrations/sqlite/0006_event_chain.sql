-- Tamper evidence for the record itself: each event row carries
-- hash = SHA-256(previous event's hash ‖ the row's fields) within its stream, the stream keeps
-- the hash of its last event, and the audit entry of each write records the streams' new
-- (version, hash), which the audit chain in turn protects. Events stored before this carry no
-- hash; a stream's chain starts at its first hashed event.
ALTER TABLE events ADD COLUMN hash TEXT;
ALTER TABLE streams ADD COLUMN head_hash TEXT;
ALTER TABLE audit_log ADD COLUMN events TEXT;
