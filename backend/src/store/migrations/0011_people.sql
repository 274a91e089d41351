-- People directory (docs/design/storage.md "People"): everyone who holds an account, and in open
-- mode every name that signed in or connected, with a display name and when their last
-- connection closed. Accounts keep living in users; this table is what people see of each other.
--
-- name_fold and display_fold are the NFKC case folds of name and display_name (chatd computes
-- them: SQL cannot). Searches are prefix ranges on them, so each reads an index range. Rows
-- backfilled here hold lower(name), an ASCII-only fold, until the user's next sign-in rewrites it.
CREATE TABLE people (
    name         TEXT    NOT NULL PRIMARY KEY,
    name_fold    TEXT    NOT NULL,
    display_name TEXT    NOT NULL DEFAULT '',
    display_fold TEXT    NOT NULL DEFAULT '',
    last_seen_ms INTEGER NOT NULL DEFAULT 0,  -- 0: no connection of theirs has closed yet
    created_ms   INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX people_by_name_fold ON people (name_fold, name);
CREATE INDEX people_by_display_fold ON people (display_fold, name);

INSERT INTO people (name, name_fold, created_ms) SELECT name, lower(name), created_ms FROM users;
