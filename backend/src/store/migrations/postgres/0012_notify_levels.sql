-- Notification levels: the same schema as the SQLite 0012 (see that file).
CREATE TABLE notify_levels (
    user_name TEXT COLLATE "C" NOT NULL,
    room      TEXT COLLATE "C" NOT NULL,
    level     TEXT NOT NULL CHECK (level IN ('all', 'mentions', 'muted')),
    PRIMARY KEY (user_name, room)
);
