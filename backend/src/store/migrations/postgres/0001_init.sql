-- Initial schema (PostgreSQL). Applied once, inside a transaction, by PostgresStore's migration
-- runner under an advisory lock. Never edit an applied migration: add the next numbered file.
-- Versions mirror the SQLite migrations (same number, same meaning).
--
-- Names are COLLATE "C" (byte order, like SQLite's BINARY), so listings sort the same whatever
-- locale the database was created with.

CREATE TABLE users (
    name          TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    password_hash TEXT   NOT NULL,  -- empty for open-mode users
    created_ms    BIGINT NOT NULL
);

-- user_name is not a foreign key: open-mode users may have no users row.
CREATE TABLE sessions (
    token_hash TEXT COLLATE "C" NOT NULL PRIMARY KEY,  -- hex SHA-256 of the bearer token
    user_name  TEXT COLLATE "C" NOT NULL,
    expires_ms BIGINT NOT NULL
);

CREATE TABLE rooms (
    name       TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    direct     BOOLEAN NOT NULL DEFAULT FALSE,
    created_by TEXT    NOT NULL,
    created_ms BIGINT  NOT NULL
);

INSERT INTO rooms (name, direct, created_by, created_ms) VALUES ('general', FALSE, '', 0);

-- user_name is not a foreign key: open-mode and seed-API users have no account.
CREATE TABLE members (
    room      TEXT COLLATE "C" NOT NULL REFERENCES rooms (name),
    user_name TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (room, user_name)
);

CREATE INDEX members_by_user ON members (user_name, room);

-- Ids come from one sequence shared by every node, so they are never reused. Within a room they
-- also increase in commit order because writers lock the room before inserting (see
-- postgres_store.cpp, commit_batch).
-- user_name is not a foreign key: open-mode and seed-API users have no account.
-- kind: 0 text, 1 join, 2 leave.
CREATE TABLE messages (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    room          TEXT COLLATE "C" NOT NULL REFERENCES rooms (name),
    user_name     TEXT COLLATE "C" NOT NULL,
    content       TEXT     NOT NULL,
    sent_at       TEXT     NOT NULL,
    ts_ms         BIGINT   NOT NULL,
    client_msg_id TEXT COLLATE "C" NOT NULL DEFAULT '',
    kind          SMALLINT NOT NULL DEFAULT 0 CHECK (kind IN (0, 1, 2))
);

CREATE INDEX messages_by_room ON messages (room, id);

-- The idempotency key. Appends use ON CONFLICT (user_name, client_msg_id)
-- WHERE client_msg_id <> '', which names exactly this partial index.
CREATE UNIQUE INDEX messages_client_msg_id ON messages (user_name, client_msg_id)
    WHERE client_msg_id <> '';
