-- Read state (docs/design/storage.md "Read state"): each user's last-read message id per room.
-- A mark only moves forward. A member's mark starts at the room's newest id when they join (a
-- room's history is not unread to a newcomer); for general, which every user belongs to without
-- joining, at their first connection. Members from before this migration start at the room's
-- newest id now. Leaving a room deletes the mark.
CREATE TABLE read_marks (
    user_name    TEXT    NOT NULL,
    room         TEXT    NOT NULL,
    last_read_id INTEGER NOT NULL,
    PRIMARY KEY (user_name, room)
) STRICT, WITHOUT ROWID;

INSERT INTO read_marks (user_name, room, last_read_id)
SELECT user_name, room,
       COALESCE((SELECT id FROM messages m WHERE m.room = members.room ORDER BY id DESC LIMIT 1), 0)
FROM members;

-- Unread counts: the Text messages of a room above a mark that are not deleted, with their
-- author (counted only when it is not the reader) in the index, so counting reads no table row.
-- Queries repeat `kind = 0 AND deleted = 0` literally so the planner can use it; kind and deleted
-- are columns too because SQLite reads the predicate's columns back to check them (PostgreSQL
-- does not: its index lacks them).
CREATE INDEX messages_unread ON messages (room, id, user_name, kind, deleted)
    WHERE kind = 0 AND deleted = 0;
