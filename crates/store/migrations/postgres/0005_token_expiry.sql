-- Bearer tokens expire (tenant setting, default 90 days) and record when they were last used.
-- Tokens made before this have no expiry stored; they expire 90 days after creation.
ALTER TABLE api_tokens ADD COLUMN expires_at TEXT;
ALTER TABLE api_tokens ADD COLUMN last_used_at TEXT;
