-- Sessions per user are bounded (the oldest dropped past --max-sessions-per-user) and expired
-- ones purged: both look sessions up by user and by expiry.
CREATE INDEX sessions_by_user ON sessions (user_name, expires_ms);
CREATE INDEX sessions_by_expiry ON sessions (expires_ms);
