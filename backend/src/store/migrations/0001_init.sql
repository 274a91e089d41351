-- Initial schema. Applied once, inside a transaction, by the store's migration runner.
-- Never edit an applied migration: add the next numbered file instead.

CREATE TABLE users (
    name          TEXT    NOT NULL PRIMARY KEY,
    password_hash TEXT    NOT NULL,  -- empty for open-mode users
    created_ms    INTEGER NOT NULL
) STRICT;

-- user_name is not a foreign key: open-mode users may have no users row.
CREATE TABLE sessions (
    token_hash TEXT    NOT NULL PRIMARY KEY,  -- hex SHA-256 of the bearer token
    user_name  TEXT    NOT NULL,
    expires_ms INTEGER NOT NULL
) STRICT;

CREATE TABLE rooms (
    name       TEXT    NOT NULL PRIMARY KEY,
    direct     INTEGER NOT NULL DEFAULT 0 CHECK (direct IN (0, 1)),
    created_by TEXT    NOT NULL,
    created_ms INTEGER NOT NULL
) STRICT;

INSERT INTO rooms (name, direct, created_by, created_ms) VALUES ('general', 0, '', 0);

-- user_name is not a foreign key: open-mode and seed-API users have no account.
CREATE TABLE members (
    room      TEXT NOT NULL REFERENCES rooms (name),
    user_name TEXT NOT NULL,
    PRIMARY KEY (room, user_name)
) STRICT, WITHOUT ROWID;

CREATE INDEX members_by_user ON members (user_name, room);

-- AUTOINCREMENT: ids are never reused, so clients' history cursors stay valid forever.
-- user_name is not a foreign key: open-mode and seed-API users have no account.
-- kind: 0 text, 1 join, 2 leave.
CREATE TABLE messages (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    room          TEXT    NOT NULL REFERENCES rooms (name),
    user_name     TEXT    NOT NULL,
    content       TEXT    NOT NULL,
    sent_at       TEXT    NOT NULL,
    ts_ms         INTEGER NOT NULL,
    client_msg_id TEXT    NOT NULL DEFAULT '',
    kind          INTEGER NOT NULL DEFAULT 0 CHECK (kind IN (0, 1, 2))
) STRICT;

CREATE INDEX messages_by_room ON messages (room, id);

CREATE UNIQUE INDEX messages_client_msg_id ON messages (user_name, client_msg_id)
    WHERE client_msg_id <> '';
