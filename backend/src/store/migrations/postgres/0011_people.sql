-- People directory: the same schema as the SQLite 0011 (see that file).
CREATE TABLE people (
    name         TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    name_fold    TEXT COLLATE "C" NOT NULL,
    display_name TEXT NOT NULL DEFAULT '',
    display_fold TEXT COLLATE "C" NOT NULL DEFAULT '',
    last_seen_ms BIGINT NOT NULL DEFAULT 0,
    created_ms   BIGINT NOT NULL
);

CREATE INDEX people_by_name_fold ON people (name_fold, name);
CREATE INDEX people_by_display_fold ON people (display_fold, name);

-- lower() of a "C" string folds ASCII only, like SQLite's.
INSERT INTO people (name, name_fold, created_ms)
SELECT name, lower(name COLLATE "C"), created_ms FROM users;
