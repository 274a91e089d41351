-- Look-alike user names: the same schema as the SQLite 0004 (see that file).
ALTER TABLE users ADD COLUMN name_key TEXT COLLATE "C" NOT NULL DEFAULT '';

CREATE TABLE user_name_keys (
    name_key  TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    user_name TEXT COLLATE "C" NOT NULL
);

CREATE INDEX users_without_name_key ON users (name) WHERE name_key = '';
