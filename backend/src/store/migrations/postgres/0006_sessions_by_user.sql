-- Sessions per user bounded and expired ones purged: the same indexes as the SQLite 0006.
CREATE INDEX sessions_by_user ON sessions (user_name, expires_ms);
CREATE INDEX sessions_by_expiry ON sessions (expires_ms);
