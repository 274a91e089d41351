-- Room events (docs/design/storage.md "Room events"): edits, deletes and reactions are rows of
-- the room's log like messages (kinds 3-6, target_id naming the message they change), a reply
-- names its thread's root (reply_to), and each visible message keeps its folded current state
-- (edited content, edited_ms, deleted, reply_count, last_reply_ms; its reactions in the
-- reactions table), updated in the transaction that stores the change.
--
-- SQLite cannot widen a CHECK in place: the table is rebuilt as in 0003, with the same ids, the
-- AUTOINCREMENT sequence continued and every index recreated.
CREATE TABLE messages_v7 (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    room          TEXT    NOT NULL REFERENCES rooms (name),
    user_name     TEXT    NOT NULL,
    content       TEXT    NOT NULL,
    sent_at       TEXT    NOT NULL,
    ts_ms         INTEGER NOT NULL,
    client_msg_id TEXT    NOT NULL DEFAULT '',
    -- 0 text, 1 join, 2 leave (visible rows); 3 edit, 4 delete, 5 react, 6 unreact (changes)
    kind          INTEGER NOT NULL DEFAULT 0 CHECK (kind BETWEEN 0 AND 6),
    origin_node   TEXT    NOT NULL DEFAULT '',
    published     INTEGER NOT NULL DEFAULT 1 CHECK (published BETWEEN 0 AND 1),
    target_id     INTEGER NOT NULL DEFAULT 0,  -- a change: the message it changes
    reply_to      INTEGER NOT NULL DEFAULT 0,  -- a reply: its thread's root; a change: the target's
    edited_ms     INTEGER NOT NULL DEFAULT 0,  -- folded: ts_ms of the last edit
    deleted       INTEGER NOT NULL DEFAULT 0 CHECK (deleted BETWEEN 0 AND 1),  -- folded
    reply_count   INTEGER NOT NULL DEFAULT 0,  -- folded: replies not deleted
    last_reply_ms INTEGER NOT NULL DEFAULT 0   -- folded: ts_ms of the newest reply
) STRICT;

INSERT INTO messages_v7
    (id, room, user_name, content, sent_at, ts_ms, client_msg_id, kind, origin_node, published)
SELECT id, room, user_name, content, sent_at, ts_ms, client_msg_id, kind, origin_node, published
FROM messages ORDER BY id;

INSERT INTO sqlite_sequence (name, seq)
SELECT 'messages_v7', seq FROM sqlite_sequence
WHERE name = 'messages' AND NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'messages_v7');
UPDATE sqlite_sequence
SET seq = MAX(seq, (SELECT seq FROM sqlite_sequence WHERE name = 'messages'))
WHERE name = 'messages_v7' AND EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'messages');

DROP TABLE messages;
ALTER TABLE messages_v7 RENAME TO messages;

-- The room's chain (prev_id, after= pages, the writer's newest id of a room): every row.
CREATE INDEX messages_by_room ON messages (room, id);
CREATE UNIQUE INDEX messages_client_msg_id ON messages (user_name, client_msg_id)
    WHERE client_msg_id <> '';
CREATE INDEX messages_unpublished ON messages (origin_node, id) WHERE published = 0;
-- Newest and before= pages read visible rows only: a room with many reactions and edits must
-- not make them skip change rows. Queries repeat `kind < 3` literally so the planner can use it.
CREATE INDEX messages_visible_by_room ON messages (room, id) WHERE kind < 3;
-- A thread's replies, paged by id.
CREATE INDEX messages_replies ON messages (reply_to, id) WHERE reply_to <> 0;
-- The change rows of a message: a delete erases the content of its edits.
CREATE INDEX messages_changes_by_target ON messages (target_id, id) WHERE target_id <> 0;

-- The folded reaction set of each message: one row per (message, emoji, user) present now.
-- change_id is the id of the react row that added it: users are listed, and emoji ordered, by
-- the order they reacted in (ts_ms alone can tie).
CREATE TABLE reactions (
    message_id INTEGER NOT NULL,
    emoji      TEXT    NOT NULL,
    user_name  TEXT    NOT NULL,
    ts_ms      INTEGER NOT NULL,
    change_id  INTEGER NOT NULL,
    PRIMARY KEY (message_id, emoji, user_name)
) STRICT, WITHOUT ROWID;
