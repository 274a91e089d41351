-- Mentions (docs/design/storage.md "Mentions"): who a Text message calls on, stored in the
-- message's own commit. On the message, for its frames and history: `mentions`, the members it
-- names as `@name` (space-separated: names hold no space), and `mentions_room`, 1 when it says
-- `@room`. In `mentions`, one row per member to notify (named or called by @room, never the
-- author), so a user's mention count in a room is a range of one index above their read mark.
-- A deleted message's rows stay; counts skip deleted messages.
ALTER TABLE messages ADD COLUMN mentions TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN mentions_room INTEGER NOT NULL DEFAULT 0
    CHECK (mentions_room BETWEEN 0 AND 1);

CREATE TABLE mentions (
    user_name  TEXT    NOT NULL,
    room       TEXT    NOT NULL,
    message_id INTEGER NOT NULL,
    PRIMARY KEY (user_name, room, message_id)
) STRICT, WITHOUT ROWID;

-- The members of a room, for `@room` and its size limit, are the users with a read mark in it
-- (every member has one; in general, every user who has connected): read by room.
CREATE INDEX read_marks_by_room ON read_marks (room, user_name);
