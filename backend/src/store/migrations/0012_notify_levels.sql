-- Notification levels (docs/design/storage.md "Notification levels"): the level a user chose for
-- a room, kept only while it differs from the room's default (direct conversations: all; other
-- rooms: mentions). Leaving the room deletes it.
CREATE TABLE notify_levels (
    user_name TEXT NOT NULL,
    room      TEXT NOT NULL,
    level     TEXT NOT NULL CHECK (level IN ('all', 'mentions', 'muted')),
    PRIMARY KEY (user_name, room)
) STRICT, WITHOUT ROWID;
