-- Look-alike user names (docs/security.md "Look-alike user names"). Each user's name key is
-- chat::user_name_key of its name (ICU's confusable skeleton of the NFKC case fold), which SQL
-- cannot compute: rows from before this migration hold '' until chatd backfills them at start.
ALTER TABLE users ADD COLUMN name_key TEXT NOT NULL DEFAULT '';

-- Who holds each key. Registration inserts the user and its key in one transaction, and the
-- primary key refuses a second holder, so two concurrent registrations of look-alike names
-- cannot both succeed. Two users that clashed before this migration keep their accounts; the
-- first one backfilled holds the key, and every new look-alike is refused.
CREATE TABLE user_name_keys (
    name_key  TEXT NOT NULL PRIMARY KEY,
    user_name TEXT NOT NULL
) STRICT;

CREATE INDEX users_without_name_key ON users (name) WHERE name_key = '';
