-- Failed logins per account and per client address, so that throttling survives a restart and
-- holds across instances. Only the last 15 minutes matter; older rows are removed as new ones
-- are written.
CREATE TABLE login_failures (
    key TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX login_failures_key_at ON login_failures(key, at);
